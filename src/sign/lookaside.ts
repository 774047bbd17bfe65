/**
 * The containers/image lookaside signature store ("sigstore" in older releases):
 * `<base>/<repository path>@sha256=<hex>/signature-<N>`, N from 1, where the repository path is
 * the repository without its registry host (docker/registries_d.go, `reference.Path`).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { SignError } from '../errors.js';
import { isDigest, digestHex, type Digest } from '../oci/digest.js';
import { parseReference, repositoryName, tryParseReference } from '../oci/reference.js';

/** Path of the signature directory, relative to the lookaside base. Pure. */
export function lookasideDirectory(repository: string, manifestDigest: Digest): string {
  const ref = tryParseReference(repository);
  if (!ref) throw new SignError('IDENTITY_INVALID', `${repository}: not a docker repository reference`);
  if (!isDigest(manifestDigest)) throw new TypeError(`not a sha256 digest: ${manifestDigest}`);
  return `${ref.repository}@sha256=${digestHex(manifestDigest)}`;
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

/** The signatures stored for this repository and digest, in order (signature-1, -2, …). */
export async function readLookaside(dir: string, repository: string, manifestDigest: Digest): Promise<Uint8Array[]> {
  const sigDir = join(dir, lookasideDirectory(repository, manifestDigest));
  const out: Uint8Array[] = [];
  for (let n = 1; ; n++) {
    try {
      out.push(new Uint8Array(await readFile(join(sigDir, `signature-${n}`))));
    } catch {
      return out;
    }
  }
}

/**
 * Add signatures for this repository and digest, keeping those already stored: one store is
 * shared by every tag and every signer of a digest, so replacing the set would drop another
 * tag's or another party's signature. A signature already present is not added twice. Each new
 * file is written under a temporary name and renamed, so readers never see a partial file.
 * Returns the files written.
 */
export async function writeLookaside(options: WriteLookasideOptions): Promise<string[]> {
  const sigDir = join(options.dir, lookasideDirectory(options.repository, options.manifestDigest));
  await mkdir(sigDir, { recursive: true });
  const stored = await readLookaside(options.dir, options.repository, options.manifestDigest);
  const files: string[] = [];
  for (const sig of options.signatures) {
    if (stored.some((s) => Buffer.from(s).equals(Buffer.from(sig)))) continue;
    stored.push(sig);
    const file = join(sigDir, `signature-${stored.length}`);
    await writeFileAtomic(file, sig);
    files.push(file);
  }
  return files;
}

/**
 * Signatures grouped by repository (identities are `repo:tag`): one lookaside directory per
 * repository and digest holds the signatures of all its tags. Pure.
 */
export function signaturesByRepository(signatures: readonly { readonly identity: string; readonly signature: Uint8Array }[]): Map<string, Uint8Array[]> {
  const out = new Map<string, Uint8Array[]>();
  for (const s of signatures) {
    const repo = repositoryName(parseReference(s.identity));
    out.set(repo, [...(out.get(repo) ?? []), s.signature]);
  }
  return out;
}
