/**
 * The "lookaside" signature store of containers/image (podman, skopeo, cri-o): signature N of
 * manifest sha256:<hex> in repository <path> lives at `<base>/<path>@sha256=<hex>/signature-N`,
 * N from 1. <path> is the docker reference's path without the registry host
 * (`127.0.0.1:5000/base/debian-minimal:12` → `base/debian-minimal`).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import { digestHex, type Digest } from '../oci/digest.js';
import { findImageDescriptor, listAttachments, readBlob, readJsonBlob } from '../oci/layout.js';
import { MediaType } from '../oci/mediatypes.js';
import type { Manifest } from '../oci/types.js';
import { formatReference, parseReference, sameNamedTag, type Reference } from './reference.js';

export const SIGNATURE_IDENTITY_ANNOTATION = 'dev.imgfactory.signature.identity';

/** Directory of a manifest's signatures, relative to the lookaside base. Pure. */
export function lookasideSignatureDir(ref: Pick<Reference, 'repository'>, manifestDigest: Digest): string {
  return `${ref.repository}@sha256=${digestHex(manifestDigest)}`;
}

/** `<path>@sha256=<hex>/signature-<index>` (index from 1). Pure. */
export function lookasidePath(ref: Pick<Reference, 'repository'>, manifestDigest: Digest, index: number): string {
  if (!Number.isInteger(index) || index < 1) throw new RangeError(`signature index starts at 1, got ${index}`);
  return `${lookasideSignatureDir(ref, manifestDigest)}/signature-${index}`;
}

export interface LookasideSignature {
  readonly identity: Reference;
  readonly manifestDigest: Digest;
  readonly bytes: Buffer;
}

/** Every simple-signing signature attached to the image in the layout, with the identity it signs. */
export async function readSignaturesForLookaside(layoutDir: string, ref?: string): Promise<LookasideSignature[]> {
  const image = await findImageDescriptor(layoutDir, ref);
  const out: LookasideSignature[] = [];
  for (const att of await listAttachments(layoutDir, image.digest, 'signature')) {
    const manifest = await readJsonBlob<Manifest>(layoutDir, att.digest);
    for (const layer of manifest.layers ?? []) {
      if (layer.mediaType !== MediaType.simpleSigningLayer) continue;
      const identity = layer.annotations?.[SIGNATURE_IDENTITY_ANNOTATION];
      if (identity === undefined) {
        throw new BuildError('LAYOUT_INVALID', `${layoutDir}: signature layer ${layer.digest} has no ${SIGNATURE_IDENTITY_ANNOTATION} annotation`);
      }
      let parsed: Reference;
      try {
        parsed = parseReference(identity);
      } catch (cause) {
        throw new BuildError('LAYOUT_INVALID', `${layoutDir}: signature identity ${JSON.stringify(identity)} is not an image reference`, { cause });
      }
      out.push({ identity: parsed, manifestDigest: image.digest, bytes: await readBlob(layoutDir, layer.digest) });
    }
  }
  return out;
}

async function readExisting(dir: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let n = 1; ; n++) {
    try {
      out.push(await readFile(join(dir, `signature-${n}`)));
    } catch {
      return out;
    }
  }
}

export interface WriteLookasideFromLayoutOptions {
  readonly layoutDir: string;
  readonly lookasideDir: string;
  readonly targets: readonly Reference[];
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
  const signatures = await readSignaturesForLookaside(options.layoutDir, options.ref);
  const byDir = new Map<string, Buffer[]>();
  const unsigned: string[] = [];
  for (const target of options.targets) {
    const matching = signatures.filter((s) => sameNamedTag(s.identity, target));
    if (matching.length === 0) {
      unsigned.push(formatReference(target));
      continue;
    }
    for (const s of matching) {
      const rel = lookasideSignatureDir(target, s.manifestDigest);
      byDir.set(rel, [...(byDir.get(rel) ?? []), s.bytes]);
    }
  }
  const written: string[] = [];
  for (const [rel, added] of byDir) {
    const dir = join(options.lookasideDir, rel);
    await mkdir(dir, { recursive: true });
    const existing = await readExisting(dir);
    const all = [...existing];
    for (const b of added) if (!all.some((e) => e.equals(b))) all.push(b);
    for (let i = existing.length; i < all.length; i++) {
      const name = `signature-${i + 1}`;
      const tmp = join(dir, `.${name}.tmp-${randomBytes(4).toString('hex')}`);
      await writeFile(tmp, all[i]!);
      await rename(tmp, join(dir, name));
      written.push(`${rel}/${name}`);
    }
  }
  return { written, unsigned };
}
