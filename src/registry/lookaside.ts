/**
 * Writing a layout's signatures to the containers/image lookaside store for the references it
 * is pushed as. The store's layout and writing live in src/sign/lookaside.ts; this matches
 * signatures to push targets.
 */
import { relative } from 'node:path';
import type { Digest } from '../oci/digest.js';
import { lookasideSignaturePath, writeLookaside } from '../sign/lookaside.js';
import { Layout } from '../oci/layout.js';
import { readLayoutSignatures, readPlatformSignatures, SIGNATURE_IDENTITY } from '../sign/sign-layout.js';
import { matchesRepoDigestOrExact, referenceString, repositoryName, withTag, type ImageReference } from '../oci/reference.js';

/** The annotation naming the reference a signature layer signs (defined by the sign module). */
export const SIGNATURE_IDENTITY_ANNOTATION = SIGNATURE_IDENTITY;

/** `<path>@sha256=<hex>/signature-<index>` (index from 1), relative to the lookaside base. Pure. */
export function lookasidePath(ref: Pick<ImageReference, 'registry' | 'repository'>, manifestDigest: Digest, index: number): string {
  if (!Number.isInteger(index) || index < 1) throw new RangeError(`signature index starts at 1, got ${index}`);
  return lookasideSignaturePath(repositoryName(ref), manifestDigest, index);
}

export interface WriteLookasideFromLayoutOptions {
  readonly layoutDir: string;
  readonly lookasideDir: string;
  readonly targets: readonly ImageReference[];
  /** The image's tag in the layout, when it holds several. */
  readonly ref?: string;
}

export interface WriteLookasideFromLayoutResult {
  /** Files written, relative to lookasideDir. */
  readonly written: readonly string[];
  /** Targets no signature in the layout names (consumers enforcing signatures will refuse them). */
  readonly unsigned: readonly string[];
}

/**
 * For each target whose reference equals a signature's identity, store that signature in the
 * lookaside layout. Signatures already there are kept (a re-push adds nothing twice); each file
 * is written to a temporary name and renamed into place.
 */
export async function writeLookasideFromLayout(options: WriteLookasideFromLayoutOptions): Promise<WriteLookasideFromLayoutResult> {
  const layout = await Layout.open(options.layoutDir);
  const { manifestDigest, signatures } = await readLayoutSignatures(layout, options.ref);
  // An index's platform manifests carry their own signatures (containers/image checks both).
  const platforms = await readPlatformSignatures(layout, options.ref);
  const unsigned: string[] = [];
  const byRepository = new Map<string, Uint8Array[]>();
  for (const target of options.targets) {
    // containers/image's rule: a tag must be signed exactly; a digest reference needs the repository.
    const intended = referenceString(target.tag !== undefined ? withTag(target, target.tag) : target);
    const matching = signatures.filter((s) => matchesRepoDigestOrExact(intended, s.identity));
    if (matching.length === 0) {
      unsigned.push(referenceString(target));
      continue;
    }
    const repository = repositoryName(target);
    byRepository.set(repository, [...(byRepository.get(repository) ?? []), ...matching.map((s) => s.signature)]);
  }
  const written: string[] = [];
  for (const [repository, sigs] of byRepository) {
    const files = await writeLookaside({ dir: options.lookasideDir, repository, manifestDigest, signatures: sigs });
    written.push(...files.map((f) => relative(options.lookasideDir, f)));
  }
  for (const platform of platforms) {
    for (const target of options.targets) {
      const intended = referenceString(target.tag !== undefined ? withTag(target, target.tag) : target);
      const matching = platform.signatures.filter((s) => matchesRepoDigestOrExact(intended, s.identity)).map((s) => s.signature);
      if (matching.length === 0) continue;
      const files = await writeLookaside({
        dir: options.lookasideDir,
        repository: repositoryName(target),
        manifestDigest: platform.manifestDigest,
        signatures: matching,
      });
      written.push(...files.map((f) => relative(options.lookasideDir, f)));
    }
  }
  return { written, unsigned };
}
