/**
 * Everything a push sends for one image of an OCI layout: its blobs, its manifests in the
 * order a registry accepts them (children before the index that lists them), and the
 * attachments (signature, SBOM, provenance) whose subject is the image. The layout is input
 * from outside: every document is digest-checked and shape-checked here.
 */
import { lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BuildError, RegistryError } from '../errors.js';
import { isDigest, sha256Digest, type Digest } from '../oci/digest.js';
import { ATTACHMENT, REF_NAME, blobPath, findImageDescriptor, readBlob, readIndex, type AttachmentKind } from '../oci/layout.js';
import { MediaType } from '../oci/mediatypes.js';
import type { Descriptor } from '../oci/types.js';
import type { BlobSource } from './client.js';

export interface GraphBlob {
  readonly digest: Digest;
  readonly size: number;
  readonly mediaType: string;
  readonly source: BlobSource;
}

export interface GraphManifest {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly subject?: Digest;
  /** Config and layers (empty for an index). */
  readonly blobs: readonly GraphBlob[];
  /** Manifests an index lists (empty for an image manifest). */
  readonly children: readonly Descriptor[];
}

export interface GraphAttachment {
  readonly kind: AttachmentKind;
  readonly manifest: GraphManifest;
}

export interface ImageGraph {
  /** The image (manifest or multi-platform index) as tagged in the layout. */
  readonly root: GraphManifest;
  readonly tag: string | undefined;
  /** Manifests to PUT, children before parents; the root is last. */
  readonly manifests: readonly GraphManifest[];
  /** Unique blobs of the image, in manifest order. */
  readonly blobs: readonly GraphBlob[];
  readonly attachments: readonly GraphAttachment[];
}

/** `{}`: the config of artifacts that have none; producers may not have stored it. */
const EMPTY_JSON_DIGEST = sha256Digest('{}');

function layoutError(dir: string, message: string): BuildError {
  return new BuildError('LAYOUT_INVALID', `${dir}: ${message}`);
}

function parseDescriptor(value: unknown, where: string, dir: string): Descriptor {
  const v = value as Partial<Record<keyof Descriptor, unknown>> | null;
  if (typeof v !== 'object' || v === null) throw layoutError(dir, `${where}: not a descriptor`);
  if (typeof v.mediaType !== 'string') throw layoutError(dir, `${where}.mediaType: expected a string`);
  if (!isDigest(v.digest)) throw layoutError(dir, `${where}.digest: expected sha256:<hex>`);
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) throw layoutError(dir, `${where}.size: expected a non-negative integer`);
  return value as Descriptor;
}

function isIndexType(mediaType: string): boolean {
  return mediaType === MediaType.imageIndex || mediaType === MediaType.dockerManifestList;
}

/**
 * Parse and check one manifest or index document from the layout. With `blobsOnDisk: false`
 * (a pull in progress) the blobs it names are not looked for yet.
 */
export async function readGraphManifest(dir: string, desc: Descriptor, options: { blobsOnDisk?: boolean } = {}): Promise<GraphManifest> {
  const bytes = await readBlob(dir, desc.digest);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw layoutError(dir, `manifest ${desc.digest} is not JSON`);
  }
  if (typeof doc !== 'object' || doc === null || doc.schemaVersion !== 2) throw layoutError(dir, `manifest ${desc.digest}: schemaVersion must be 2`);
  const mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : desc.mediaType;
  const where = `manifest ${desc.digest.slice(0, 19)}`;
  const subject = doc.subject === undefined ? undefined : parseDescriptor(doc.subject, `${where}.subject`, dir).digest;
  const common = {
    digest: desc.digest,
    mediaType,
    bytes,
    ...(typeof doc.artifactType === 'string' ? { artifactType: doc.artifactType } : {}),
    ...(typeof doc.annotations === 'object' && doc.annotations !== null ? { annotations: doc.annotations as Record<string, string> } : {}),
    ...(subject ? { subject } : {}),
  };
  if (isIndexType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw layoutError(dir, `${where}.manifests: expected a list`);
    const children = doc.manifests.map((m, i) => parseDescriptor(m, `${where}.manifests[${i}]`, dir));
    return { ...common, blobs: [], children };
  }
  const config = parseDescriptor(doc.config, `${where}.config`, dir);
  if (!Array.isArray(doc.layers)) throw layoutError(dir, `${where}.layers: expected a list`);
  const layers = doc.layers.map((l, i) => parseDescriptor(l, `${where}.layers[${i}]`, dir));
  const blobs: GraphBlob[] = [];
  for (const d of [config, ...layers]) {
    blobs.push(
      options.blobsOnDisk === false
        ? { digest: d.digest, size: d.size, mediaType: d.mediaType, source: { file: blobPath(dir, d.digest) } }
        : await graphBlob(dir, d),
    );
  }
  return { ...common, blobs, children: [] };
}

/**
 * A blob to push, as a regular file inside the layout: a link (the blob itself, or the
 * `blobs/sha256` directory) could point anywhere on the host, so it is refused (exit 1) rather
 * than followed. The bytes are hashed again when the upload opens the file.
 */
async function graphBlob(dir: string, d: Descriptor): Promise<GraphBlob> {
  const file = blobPath(dir, d.digest);
  for (const parent of [dirname(dirname(file)), dirname(file)]) {
    const p = await lstat(parent).catch(() => undefined);
    if (p?.isSymbolicLink()) throw refused(`${parent}: is a symbolic link; blobs must be inside the layout`, d.digest);
  }
  const s = await lstat(file).catch(() => undefined);
  if (!s) {
    if (d.digest === EMPTY_JSON_DIGEST) return { digest: d.digest, size: 2, mediaType: d.mediaType, source: { bytes: Buffer.from('{}') } };
    throw layoutError(dir, `blob ${d.digest} is missing`);
  }
  if (s.isSymbolicLink()) throw refused(`${file}: is a symbolic link; blobs must be inside the layout`, d.digest);
  if (!s.isFile()) throw refused(`${file}: not a regular file`, d.digest);
  if (s.size !== d.size) throw refused(`${file}: ${s.size} bytes, its descriptor says ${d.size}`, d.digest);
  return { digest: d.digest, size: d.size, mediaType: d.mediaType, source: { file } };
}

function refused(message: string, digest: Digest): RegistryError {
  return new RegistryError('BLOB_DIGEST_MISMATCH', `${message}; nothing was uploaded`, { details: { digest } });
}

function uniqueBlobs(manifests: readonly GraphManifest[]): GraphBlob[] {
  const seen = new Map<Digest, GraphBlob>();
  for (const m of manifests) for (const b of m.blobs) if (!seen.has(b.digest)) seen.set(b.digest, b);
  return [...seen.values()];
}

/** The image tagged `ref` in the layout (the only image when `ref` is undefined), ready to push. */
export async function readImageGraph(dir: string, ref?: string): Promise<ImageGraph> {
  const top = await findImageDescriptor(dir, ref);
  const root = await readGraphManifest(dir, top);
  const manifests: GraphManifest[] = [];
  for (const child of root.children) {
    const m = await readGraphManifest(dir, child);
    if (m.children.length > 0) throw layoutError(dir, `nested index ${child.digest} is not supported`);
    manifests.push(m);
  }
  manifests.push(root);
  const subjects = new Set<Digest>(manifests.map((m) => m.digest));
  const attachments: GraphAttachment[] = [];
  for (const entry of (await readIndex(dir)).manifests) {
    const kind = entry.annotations?.[ATTACHMENT];
    if (kind === undefined) continue;
    if (kind !== 'signature' && kind !== 'sbom' && kind !== 'provenance') throw layoutError(dir, `index.json: unknown attachment kind ${JSON.stringify(kind)}`);
    const manifest = await readGraphManifest(dir, entry);
    if (manifest.subject === undefined || !subjects.has(manifest.subject)) continue;
    if (manifest.children.length > 0) throw layoutError(dir, `attachment ${entry.digest} is an index; expected a manifest`);
    attachments.push({ kind, manifest });
  }
  return { root, tag: top.annotations?.[REF_NAME], manifests, blobs: uniqueBlobs(manifests), attachments };
}

export function attachmentBlobs(attachments: readonly GraphAttachment[]): GraphBlob[] {
  return uniqueBlobs(attachments.map((a) => a.manifest));
}
