/** The I/O around pinned keys: read keys/debian/*.asc, write a binary keyring for gpgv-based tools. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../oci/digest.js';
import { fileURLToPath } from 'node:url';
import { ArchiveError } from '../errors.js';
import { writeFileAtomic } from '../atomic-file.js';
import { bootstrapKeyringBytes, parsePinnedKeys, type PinnedKey } from './pinned-keys.js';

/** keys/debian/ of the installed package (the same relative path from src/ and dist/). */
export const DEFAULT_DEBIAN_KEYS_DIR = fileURLToPath(new URL('../../keys/debian/', import.meta.url));

/** Every `*.asc` file of `dir`, in name order. An empty or missing directory is KEYRING_INVALID. */
export async function loadPinnedKeys(dir: string = DEFAULT_DEBIAN_KEYS_DIR): Promise<PinnedKey[]> {
  return (await loadPinnedKeySet(dir)).keys;
}

/** The pinned keys and the files they were read from (path, sha256 of the bytes read): provenance records exactly what was trusted. */
export async function loadPinnedKeySet(dir: string = DEFAULT_DEBIAN_KEYS_DIR): Promise<{ keys: PinnedKey[]; files: { path: string; sha256: string }[] }> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.asc')).sort();
  } catch (cause) {
    throw new ArchiveError('KEYRING_INVALID', `${dir}: cannot read the pinned key directory`, { cause, details: { dir } });
  }
  if (names.length === 0) throw new ArchiveError('KEYRING_INVALID', `${dir}: no *.asc keys to pin`, { details: { dir } });
  const files = await Promise.all(names.map(async (n) => ({ source: join(dir, n), bytes: await readFile(join(dir, n)) })));
  const keys = await parsePinnedKeys(files.map((f) => ({ source: f.source, text: f.bytes.toString('utf8') })));
  return { keys, files: files.map((f) => ({ path: f.source, sha256: sha256Hex(f.bytes) })) };
}

/**
 * Writes the pinned keys as one binary (non-armored) keyring, usable as
 * `debootstrap --keyring=FILE`, `gpgv --keyring FILE` and apt's `Signed-By: FILE`.
 */
export async function writeBootstrapKeyring(keys: readonly PinnedKey[], outFile: string): Promise<void> {
  await writeFileAtomic(outFile, bootstrapKeyringBytes(keys), 0o644);
}
