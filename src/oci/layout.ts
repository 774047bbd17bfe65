/**
 * OCI image layout on disk (image-spec `image-layout.md`): `oci-layout`, `index.json`,
 * `blobs/sha256/<hex>`. Every read re-checks the digest: a layout is input from outside.
 *
 * Convention for imgfactory layouts: the image manifest (or the multi-arch index) is listed in
 * index.json with `org.opencontainers.image.ref.name` = its tag; attached artifacts (signature,
 * SBOM, provenance) are manifests whose `subject` is the image, listed with the annotation
 * `dev.imgfactory.attachment` = `signature` | `sbom` | `provenance` and no ref name.
 */
import { mkdir, readFile, rename, stat, writeFile, copyFile, rm } from 'node:fs/promises';
import { tempSibling, writeFileAtomic } from '../atomic-file.js';
import { join } from 'node:path';
import { BuildError } from '../errors.js';
import { digestHex, isDigest, sha256Digest, type Digest } from './digest.js';
import { hashFile } from './hash-file.js';
import { canonicalJson } from './json.js';
import { MediaType } from './mediatypes.js';
import type { Descriptor, ImageConfig, Index, Manifest } from './types.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';
export const ATTACHMENT = 'dev.imgfactory.attachment';
export type AttachmentKind = 'signature' | 'sbom' | 'provenance';

export function blobPath(dir: string, digest: Digest): string {
  return join(dir, 'blobs', 'sha256', digestHex(digest));
}

export async function initLayout(dir: string): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  try {
    await stat(join(dir, 'index.json'));
  } catch {
    await writeIndex(dir, { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [] });
  }
}

/** Store bytes as a blob; returns a descriptor with the given media type. */
export async function writeBlob(dir: string, bytes: Uint8Array, mediaType: string): Promise<Descriptor> {
  const digest = sha256Digest(bytes);
  await writeFileAtomic(blobPath(dir, digest), bytes);
  return { mediaType, digest, size: bytes.byteLength };
}

/** Store a JSON document canonically serialized. */
export async function writeJsonBlob(dir: string, value: unknown, mediaType: string): Promise<Descriptor> {
  return writeBlob(dir, canonicalJson(value), mediaType);
}

/** Copy a file that is already known (by its producer) to have `digest` into the layout. */
export async function importBlobFile(dir: string, file: string, digest: Digest): Promise<void> {
  const path = blobPath(dir, digest);
  const tmp = tempSibling(path);
  await copyFile(file, tmp);
  await rename(tmp, path);
}

export async function hasBlob(dir: string, digest: Digest): Promise<boolean> {
  try {
    await stat(blobPath(dir, digest));
    return true;
  } catch {
    return false;
  }
}

/** Read a blob fully, verifying its digest (for small blobs: manifests, configs, attestations). */
export async function readBlob(dir: string, digest: Digest): Promise<Buffer> {
  const bytes = await readFile(blobPath(dir, digest)).catch((cause: unknown) => {
    throw new BuildError('LAYOUT_INVALID', `${dir}: blob ${digest} is missing`, { cause });
  });
  if (sha256Digest(bytes) !== digest) {
    throw new BuildError('LAYOUT_INVALID', `${dir}: blob ${digest} does not match its digest`);
  }
  return bytes;
}

/** Stream-hash a blob on disk and compare (for large layer blobs). */
export async function checkBlobFile(dir: string, digest: Digest): Promise<boolean> {
  return `sha256:${(await hashFile(blobPath(dir, digest))).sha256}` === digest;
}

export async function readJsonBlob<T>(dir: string, digest: Digest): Promise<T> {
  return JSON.parse((await readBlob(dir, digest)).toString('utf8')) as T;
}

export async function readIndex(dir: string): Promise<Index> {
  let raw: string;
  try {
    raw = await readFile(join(dir, 'index.json'), 'utf8');
  } catch (cause) {
    throw new BuildError('LAYOUT_INVALID', `${dir} is not an OCI image layout (no index.json)`, { cause });
  }
  const index = JSON.parse(raw) as Index;
  if (index.schemaVersion !== 2 || !Array.isArray(index.manifests)) {
    throw new BuildError('LAYOUT_INVALID', `${dir}/index.json is not an OCI image index`);
  }
  for (const m of index.manifests) {
    if (!isDigest(m.digest)) throw new BuildError('LAYOUT_INVALID', `${dir}/index.json: bad digest ${m.digest}`);
  }
  return index;
}

export async function writeIndex(dir: string, index: Index): Promise<void> {
  await writeFileAtomic(join(dir, 'index.json'), JSON.stringify(index, null, 2) + '\n');
}

/** Add (or replace, by ref name / attachment kind + subject) a descriptor in index.json. */
export async function addToIndex(dir: string, desc: Descriptor): Promise<void> {
  const index = await readIndex(dir);
  const ref = desc.annotations?.[REF_NAME];
  const kept = index.manifests.filter((m) => {
    if (m.digest === desc.digest) return false;
    if (ref !== undefined && m.annotations?.[REF_NAME] === ref) return false;
    return true;
  });
  await writeIndex(dir, { ...index, manifests: [...kept, desc] });
}

export interface LayoutImage {
  /** Descriptor of the top-level manifest (image manifest or multi-arch index). */
  readonly descriptor: Descriptor;
  readonly ref: string | undefined;
  readonly manifest: Manifest;
  readonly config: ImageConfig;
}

/** The tagged image (not attachments) in the layout; `ref` picks among several. */
export async function findImageDescriptor(dir: string, ref?: string): Promise<Descriptor> {
  const index = await readIndex(dir);
  const images = index.manifests.filter((m) => m.annotations?.[ATTACHMENT] === undefined);
  const pick = ref === undefined ? images : images.filter((m) => m.annotations?.[REF_NAME] === ref);
  if (pick.length !== 1) {
    throw new BuildError(
      'LAYOUT_INVALID',
      ref === undefined
        ? `${dir}: expected one image in index.json, found ${pick.length}`
        : `${dir}: no image tagged ${ref}`,
    );
  }
  return pick[0]!;
}

/** Read one single-platform image (manifest + config) from a layout. */
export async function readImage(dir: string, ref?: string): Promise<LayoutImage> {
  let descriptor = await findImageDescriptor(dir, ref);
  const top = descriptor;
  if (descriptor.mediaType === MediaType.imageIndex) {
    // Multi-arch: the caller wants one image; take the first platform (callers needing all use readIndex).
    const inner = await readJsonBlob<Index>(dir, descriptor.digest);
    const first = inner.manifests[0];
    if (!first) throw new BuildError('LAYOUT_INVALID', `${dir}: empty image index`);
    descriptor = first;
  }
  const manifest = await readJsonBlob<Manifest>(dir, descriptor.digest);
  const config = await readJsonBlob<ImageConfig>(dir, manifest.config.digest);
  return { descriptor: top, ref: top.annotations?.[REF_NAME], manifest, config };
}

/** Attachments (signature/SBOM/provenance manifests) whose subject is `subject`. */
export async function listAttachments(dir: string, subject: Digest, kind?: AttachmentKind): Promise<Descriptor[]> {
  const index = await readIndex(dir);
  const out: Descriptor[] = [];
  for (const m of index.manifests) {
    const k = m.annotations?.[ATTACHMENT];
    if (k === undefined || (kind !== undefined && k !== kind)) continue;
    const manifest = await readJsonBlob<Manifest>(dir, m.digest);
    if (manifest.subject?.digest === subject) out.push(m);
  }
  return out;
}

export async function removeLayout(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
