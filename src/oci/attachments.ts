/**
 * Artifacts attached to an image in an OCI layout (signatures, SBOM, provenance): an OCI 1.1
 * image manifest with `artifactType`, the empty config, the payload as layers and `subject` =
 * the image. Listed in index.json with the attachment annotation = kind; one attachment per kind
 * and subject in a layout we write (a new one replaces the old), any number in one we read (a
 * registry's referrers hold every party's).
 */
import { ImgfactoryError } from '../errors.js';
import { ATTACHMENT_ANNOTATION, type AttachmentKind } from './attachment-kinds.js';
import type { Digest } from './digest.js';
import { MAX_ATTACHMENT_BYTES, type Layout } from './layout.js';
import { MediaType } from './mediatypes.js';
import type { Descriptor, Manifest } from './types.js';

export const EMPTY_CONFIG: Descriptor = {
  mediaType: MediaType.emptyJson,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};

export interface AttachmentLayerInput {
  readonly bytes: Uint8Array;
  readonly mediaType: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface WriteAttachmentOptions {
  readonly subject: Descriptor;
  readonly kind: AttachmentKind;
  readonly artifactType: string;
  readonly layers: readonly AttachmentLayerInput[];
}

/** The attachment manifest (pure): deterministic for the same inputs. */
export function attachmentManifest(subject: Descriptor, artifactType: string, layers: readonly Descriptor[]): Manifest {
  return {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    artifactType,
    config: EMPTY_CONFIG,
    layers,
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  };
}

export async function writeAttachment(layout: Layout, options: WriteAttachmentOptions): Promise<Descriptor> {
  await layout.writeJson({}, MediaType.emptyJson);
  const layers: Descriptor[] = [];
  for (const layer of options.layers) {
    const d = await layout.writeBlob(layer.bytes, layer.mediaType);
    layers.push(layer.annotations ? { ...d, annotations: layer.annotations } : d);
  }
  const written = await layout.writeJson(attachmentManifest(options.subject, options.artifactType, layers), MediaType.imageManifest);
  const entry: Descriptor = { ...written, artifactType: options.artifactType, annotations: { [ATTACHMENT_ANNOTATION]: options.kind } };
  const kept: Descriptor[] = [];
  for (const m of layout.entries) {
    if (m.digest === entry.digest) continue;
    // The previous attachment of this kind for this subject is replaced; a damaged one of this
    // kind is dropped too, since it could never verify again.
    if (m.annotations?.[ATTACHMENT_ANNOTATION] === options.kind) {
      const subject = await attachmentSubject(layout, m);
      if (subject === undefined || subject === options.subject.digest) continue;
    }
    kept.push(m);
  }
  await layout.setEntries([...kept, entry]);
  return entry;
}

async function attachmentSubject(layout: Layout, entry: Descriptor): Promise<Digest | undefined> {
  try {
    const doc = await layout.readDocument(entry);
    return doc.kind === 'manifest' ? doc.manifest.subject?.digest : undefined;
  } catch {
    return undefined;
  }
}

export interface Attachment {
  readonly descriptor: Descriptor;
  readonly manifest: Manifest;
  readonly layers: readonly { readonly descriptor: Descriptor; readonly bytes: Buffer }[];
}

/**
 * Attachments of `kind` whose subject is `subject`, every blob re-checked against its digest
 * and size. `corrupt` turns a damaged attachment into the caller's error (undefined: skip it).
 */
export async function readAttachments(
  layout: Layout,
  subject: Digest,
  kind: AttachmentKind,
  corrupt: (message: string) => ImgfactoryError | undefined,
): Promise<Attachment[]> {
  const out: Attachment[] = [];
  const fail = (message: string): void => {
    const e = corrupt(message);
    if (e) throw e;
  };
  for (const descriptor of layout.entries) {
    if (descriptor.annotations?.[ATTACHMENT_ANNOTATION] !== kind) continue;
    let manifest: Manifest;
    try {
      const doc = await layout.readDocument(descriptor);
      if (doc.kind !== 'manifest') throw new Error('an index');
      manifest = doc.manifest;
    } catch (e) {
      fail(`${layout.dir}: ${kind} manifest ${descriptor.digest} is unusable: ${(e as Error).message}`);
      continue;
    }
    if (manifest.subject?.digest !== subject) continue;
    const layers: { descriptor: Descriptor; bytes: Buffer }[] = [];
    let damaged = false;
    for (const layer of manifest.layers) {
      try {
        layers.push({ descriptor: layer, bytes: await layout.readBlob(layer.digest, { size: layer.size, maxBytes: MAX_ATTACHMENT_BYTES }) });
      } catch (e) {
        damaged = true;
        fail(`${layout.dir}: ${kind} blob ${layer.digest} is unusable: ${(e as Error).message}`);
      }
    }
    if (!damaged) out.push({ descriptor, manifest, layers });
  }
  return out;
}
