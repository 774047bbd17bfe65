/**
 * The containers/image lookaside signature store ("sigstore" in older releases):
 * `<base>/<repository path>@sha256=<hex>/signature-<N>`, N from 1, where the repository path is
 * the repository without its registry host (docker/registries_d.go, `reference.Path`).
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { SignError } from '../errors.js';
import { isDigest, digestHex, type Digest } from '../oci/digest.js';
import { parseDockerReference, referenceName, tryParseDockerReference } from './docker-reference.js';

/** Path of the signature directory, relative to the lookaside base. Pure. */
export function lookasideDirectory(repository: string, manifestDigest: Digest): string {
  const ref = tryParseDockerReference(repository);
  if (!ref) throw new SignError('IDENTITY_INVALID', `${repository}: not a docker repository reference`);
  if (!isDigest(manifestDigest)) throw new TypeError(`not a sha256 digest: ${manifestDigest}`);
  return `${ref.path}@sha256=${digestHex(manifestDigest)}`;
}

/** Relative path of the N-th (1-based) signature. Pure. */
export function lookasideSignaturePath(repository: string, manifestDigest: Digest, n: number): string {
  return `${lookasideDirectory(repository, manifestDigest)}/signature-${n}`;
}

export interface WriteLookasideOptions {
  /** Lookaside base directory (what the registries.d `lookaside:` URL serves). */
  readonly dir: string;
  /** Repository, with or without tag: `127.0.0.1:5000/base/debian-minimal`. */
  readonly repository: string;
  readonly manifestDigest: Digest;
  readonly signatures: readonly Uint8Array[];
}

/**
 * Replace the signatures stored for this repository and digest. The new set is written to a
 * temporary directory and renamed into place, so a reader never sees a partial set.
 */
export async function writeLookaside(options: WriteLookasideOptions): Promise<string[]> {
  const relative = lookasideDirectory(options.repository, options.manifestDigest);
  const target = join(options.dir, relative);
  const suffix = randomBytes(4).toString('hex');
  const tmp = `${target}.tmp-${suffix}`;
  const old = `${target}.old-${suffix}`;
  await mkdir(dirname(target), { recursive: true });
  await mkdir(tmp);
  try {
    const files: string[] = [];
    for (const [i, sig] of options.signatures.entries()) {
      const name = `signature-${i + 1}`;
      await writeFile(join(tmp, name), sig);
      files.push(join(target, name));
    }
    const hadOld = await rename(target, old).then(
      () => true,
      (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return false;
        throw e;
      },
    );
    await rename(tmp, target);
    if (hadOld) await rm(old, { recursive: true, force: true });
    return files;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Signatures grouped by repository (identities are `repo:tag`): one lookaside directory per
 * repository and digest holds the signatures of all its tags. Pure.
 */
export function signaturesByRepository(
  signatures: readonly { readonly identity: string; readonly signature: Uint8Array }[],
): Map<string, Uint8Array[]> {
  const out = new Map<string, Uint8Array[]>();
  for (const s of signatures) {
    const repo = referenceName(parseDockerReference(s.identity));
    out.set(repo, [...(out.get(repo) ?? []), s.signature]);
  }
  return out;
}
