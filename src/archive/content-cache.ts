/**
 * The on-disk archive cache, addressed by content: `<cacheDir>/sha256/<hex>`. Only bytes already
 * verified against a signed hash are stored, so every file's name is its hash; a file that no
 * longer matches its name (disk corruption, tampering) is deleted and treated as a miss.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { FileSystemError, fileSystemError } from '../errors.js';
import { sha256Hex } from '../oci/digest.js';

export function cachedFilePath(cacheDir: string, sha256: string): string {
  return join(cacheDir, 'sha256', sha256);
}

export async function readCached(cacheDir: string, sha256: string): Promise<Uint8Array | undefined> {
  const file = cachedFilePath(cacheDir, sha256);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    return undefined;
  }
  if (sha256Hex(bytes) === sha256) return bytes;
  await rm(file, { force: true });
  return undefined;
}

/** Stores verified bytes under their hash (temp file, then rename). */
export async function storeVerified(cacheDir: string, sha256: string, bytes: Uint8Array): Promise<void> {
  if (sha256Hex(bytes) !== sha256) throw new Error(`cache: refusing to store bytes under a hash they do not have (${sha256})`);
  const file = cachedFilePath(cacheDir, sha256);
  try {
    await writeFileAtomic(file, bytes);
  } catch (e) {
    // A full disk or a denied cache directory is the user's machine, not a bug: typed, with the
    // cache file named (a write error from a file handle carries no path of its own).
    const typed = fileSystemError(e);
    if (!typed) throw e;
    throw new FileSystemError(typed.code, `${file}: cannot write the archive cache (${typed.message})`, { cause: e, details: { path: file } });
  }
}
