/**
 * Artifacts attached to an image in an OCI layout (signatures, SBOM, provenance): an OCI 1.1
 * image manifest with `artifactType`, the empty config, the payload as layers and `subject` =
 * the image. Listed in index.json with `dev.imgfactory.attachment` = kind; one attachment per
 * kind and subject (writing a new one replaces the old).
 */
import { readFile } from 'node:fs/promises';
import { ImgfactoryError } from '../errors.js';
import { isDigest, sha256Digest, type Digest } from '../oci/digest.js';
import { ATTACHMENT, blobPath, readIndex, writeBlob, writeIndex, writeJsonBlob, type AttachmentKind } from '../oci/layout.js';
import { MediaType } from '../oci/mediatypes.js';
import type { Descriptor, Manifest } from '../oci/types.js';

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

/** Build the attachment manifest (pure): deterministic for the same inputs. */
export function attachmentManifest(
  subject: Descriptor,
  artifactType: string,
  layers: readonly Descriptor[],
): Manifest {
  return {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    artifactType,
    config: EMPTY_CONFIG,
    layers,
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  };
}

export async function writeAttachment(dir: string, options: WriteAttachmentOptions): Promise<Descriptor> {
  await writeJsonBlob(dir, {}, MediaType.emptyJson);
  const layers: Descriptor[] = [];
  for (const layer of options.layers) {
    const d = await writeBlob(dir, layer.bytes, layer.mediaType);
    layers.push(layer.annotations ? { ...d, annotations: layer.annotations } : d);
  }
  const manifest = attachmentManifest(options.subject, options.artifactType, layers);
  const written = await writeJsonBlob(dir, manifest, MediaType.imageManifest);
  const entry: Descriptor = {
    ...written,
    artifactType: options.artifactType,
    annotations: { [ATTACHMENT]: options.kind },
  };
  const index = await readIndex(dir);
  const kept: Descriptor[] = [];
  for (const m of index.manifests) {
    if (m.digest === entry.digest) continue;
    // A damaged attachment of this kind is dropped too: it could never verify again.
    if (m.annotations?.[ATTACHMENT] === options.kind) {
      const subject = await attachmentSubject(dir, m.digest);
      if (subject === undefined || subject === options.subject.digest) continue;
    }
    kept.push(m);
  }
  await writeIndex(dir, { ...index, manifests: [...kept, entry] });
  return entry;
}

async function attachmentSubject(dir: string, digest: Digest): Promise<string | undefined> {
  const bytes = await readCheckedBlob(dir, digest);
  if (!bytes) return undefined;
  try {
    return (JSON.parse(bytes.toString('utf8')) as Manifest).subject?.digest;
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
 * Attachments of `kind` whose subject is `subject`, every blob re-checked against its digest.
 * `corrupt` turns a damaged blob into the caller's error (undefined: skip the attachment).
 */
export async function readAttachments(
  dir: string,
  subject: Digest,
  kind: AttachmentKind,
  corrupt: (message: string) => ImgfactoryError | undefined,
): Promise<Attachment[]> {
  const index = await readIndex(dir);
  const out: Attachment[] = [];
  for (const descriptor of index.manifests) {
    if (descriptor.annotations?.[ATTACHMENT] !== kind) continue;
    const manifestBytes = await readCheckedBlob(dir, descriptor.digest);
    if (!manifestBytes) {
      const e = corrupt(`${dir}: ${kind} manifest ${descriptor.digest} is missing or does not match its digest`);
      if (e) throw e;
      continue;
    }
    let manifest: Manifest;
    try {
      manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
    } catch {
      const e = corrupt(`${dir}: ${kind} manifest ${descriptor.digest} is not JSON`);
      if (e) throw e;
      continue;
    }
    if (manifest.subject?.digest !== subject) continue;
    const layers: { descriptor: Descriptor; bytes: Buffer }[] = [];
    for (const layer of Array.isArray(manifest.layers) ? manifest.layers : []) {
      const bytes = isDigest(layer.digest) ? await readCheckedBlob(dir, layer.digest) : undefined;
      if (!bytes) {
        const e = corrupt(`${dir}: ${kind} blob ${String(layer.digest)} is missing or does not match its digest`);
        if (e) throw e;
        continue;
      }
      layers.push({ descriptor: layer, bytes });
    }
    out.push({ descriptor, manifest, layers });
  }
  return out;
}

/** The blob's bytes, or undefined when it is missing or its content does not hash to its name. */
export async function readCheckedBlob(dir: string, digest: Digest): Promise<Buffer | undefined> {
  const bytes = await readFile(blobPath(dir, digest)).catch(() => undefined);
  if (!bytes || sha256Digest(bytes) !== digest) return undefined;
  return bytes;
}
