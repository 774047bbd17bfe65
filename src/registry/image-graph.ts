/**
 * Everything a push sends for one image of an OCI layout: its blobs, its manifests in the
 * order a registry accepts them (children before the index that lists them), and the
 * attachments (signature, SBOM, provenance) whose subject is the image. The layout is input
 * from outside: every document is digest-checked and shape-checked here.
 */
import { LayoutError } from '../errors.js';
import { attachmentKindOf, type AttachmentKind } from '../oci/attachment-kinds.js';
import { sha256Digest, type Digest } from '../oci/digest.js';
import { parseOciDocument } from '../oci/document.js';
import { Layout, REF_NAME } from '../oci/layout.js';
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
  /**
   * Hash one of the graph's blobs against its digest (LAYOUT_BLOB_CORRUPT otherwise). Already
   * done for every blob unless the graph was read with `checkBlobs: false`.
   */
  readonly checkBlob: (blob: GraphBlob) => Promise<void>;
}

/** `{}`: the config of artifacts that have none; producers may not have stored it. */
const EMPTY_JSON_DIGEST = sha256Digest('{}');

function layoutError(dir: string, message: string): LayoutError {
  return new LayoutError('LAYOUT_INVALID', `${dir}: ${message}`);
}

/**
 * Parse and check one manifest or index document from the layout. With `blobsOnDisk: false`
 * (a pull in progress) the blobs it names are not looked for yet.
 */
export async function readGraphManifest(
  layout: Layout,
  desc: Descriptor,
  options: { blobsOnDisk?: boolean; checkBlobs?: boolean } = {},
): Promise<GraphManifest> {
  const bytes = await layout.readBlob(desc.digest, { size: desc.size });
  const doc = parseOciDocument(bytes, `${layout.dir}: ${desc.digest}`, desc.mediaType);
  const d = doc.kind === 'index' ? doc.index : doc.manifest;
  const common = {
    digest: desc.digest,
    mediaType: d.mediaType,
    bytes,
    ...(d.artifactType !== undefined ? { artifactType: d.artifactType } : {}),
    ...(d.annotations !== undefined ? { annotations: d.annotations } : {}),
    ...(d.subject ? { subject: d.subject.digest } : {}),
  };
  if (doc.kind === 'index') return { ...common, blobs: [], children: doc.index.manifests };
  // Hashed side by side: one blob's reads overlap another's hashing (order kept by Promise.all).
  const blobs: GraphBlob[] = await Promise.all(
    [doc.manifest.config, ...doc.manifest.layers].map((b) =>
      options.blobsOnDisk === false
        ? Promise.resolve({ digest: b.digest, size: b.size, mediaType: b.mediaType, source: { file: layout.blobPath(b.digest) } })
        : graphBlob(layout, b, options.checkBlobs ?? true),
    ),
  );
  return { ...common, blobs, children: [] };
}

async function graphBlob(layout: Layout, d: Descriptor, check: boolean): Promise<GraphBlob> {
  try {
    // Only hashed bytes leave the machine: every blob is checked before the push may send it
    // (here, or by the push itself once it knows which blobs the registry lacks).
    if (check) await layout.checkBlob(d);
    else await layout.statBlob(d);
  } catch (e) {
    if (d.digest === EMPTY_JSON_DIGEST && e instanceof LayoutError && e.code === 'LAYOUT_BLOB_MISSING') {
      return { digest: d.digest, size: 2, mediaType: d.mediaType, source: { bytes: Buffer.from('{}') } };
    }
    throw e;
  }
  return { digest: d.digest, size: d.size, mediaType: d.mediaType, source: { file: layout.blobPath(d.digest) } };
}

function uniqueBlobs(manifests: readonly GraphManifest[]): GraphBlob[] {
  const seen = new Map<Digest, GraphBlob>();
  for (const m of manifests) for (const b of m.blobs) if (!seen.has(b.digest)) seen.set(b.digest, b);
  return [...seen.values()];
}

/**
 * The image tagged `ref` in the layout (the only image when `ref` is undefined), ready to push.
 * With `checkBlobs: false`, blobs are only looked for (present, of their size), and hashed
 * later through `checkBlob`: a push then reads none of the blobs the registry already holds.
 */
export async function readImageGraph(dir: string, ref?: string, options: { checkBlobs?: boolean } = {}): Promise<ImageGraph> {
  const layout = await Layout.open(dir);
  const top = layout.resolve(ref);
  const read = (desc: Descriptor) => readGraphManifest(layout, desc, { checkBlobs: options.checkBlobs ?? true });
  const root = await read(top);
  const manifests: GraphManifest[] = [];
  for (const child of root.children) {
    const m = await read(child);
    if (m.children.length > 0) throw layoutError(dir, `nested index ${child.digest} is not supported`);
    manifests.push(m);
  }
  manifests.push(root);
  const subjects = new Set<Digest>(manifests.map((m) => m.digest));
  const attachments: GraphAttachment[] = [];
  for (const entry of layout.entries) {
    const kind = attachmentKindOf(entry);
    if (kind === undefined || entry.annotations?.[REF_NAME] !== undefined) continue;
    const manifest = await read(entry);
    if (manifest.subject === undefined || !subjects.has(manifest.subject)) continue;
    if (manifest.children.length > 0) throw layoutError(dir, `attachment ${entry.digest} is an index; expected a manifest`);
    attachments.push({ kind, manifest });
  }
  const checkBlob = async (b: GraphBlob): Promise<void> => {
    if ('file' in b.source) await layout.checkBlob({ digest: b.digest, size: b.size, mediaType: b.mediaType });
  };
  return { root, tag: top.annotations?.[REF_NAME], manifests, blobs: uniqueBlobs(manifests), attachments, checkBlob };
}

export function attachmentBlobs(attachments: readonly GraphAttachment[]): GraphBlob[] {
  return uniqueBlobs(attachments.map((a) => a.manifest));
}
