/** OCI manifest and index builders. Pure: descriptors in, documents out. */
import { MediaType } from '../oci/mediatypes.js';
import type { Descriptor, Index, Manifest, Platform } from '../oci/types.js';

export const Annotation = {
  version: 'org.opencontainers.image.version',
  created: 'org.opencontainers.image.created',
  title: 'org.opencontainers.image.title',
  description: 'org.opencontainers.image.description',
  baseName: 'org.opencontainers.image.base.name',
  baseDigest: 'org.opencontainers.image.base.digest',
  refName: 'org.opencontainers.image.ref.name',
} as const;

export interface ImageAnnotations {
  readonly title: string;
  readonly version: string;
  readonly created: string;
  readonly description?: string;
  readonly baseName?: string;
  readonly baseDigest?: string;
}

export function imageAnnotations(a: ImageAnnotations): Record<string, string> {
  const out: Record<string, string> = {};
  if (a.baseDigest !== undefined) out[Annotation.baseDigest] = a.baseDigest;
  if (a.baseName !== undefined) out[Annotation.baseName] = a.baseName;
  out[Annotation.created] = a.created;
  if (a.description !== undefined) out[Annotation.description] = a.description;
  out[Annotation.title] = a.title;
  out[Annotation.version] = a.version;
  return out;
}

export function buildManifest(config: Descriptor, layers: readonly Descriptor[], annotations: Record<string, string>): Manifest {
  return {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    annotations,
  };
}

export function buildIndex(manifests: readonly { descriptor: Descriptor; platform: Platform }[], annotations: Record<string, string>): Index {
  return {
    schemaVersion: 2,
    mediaType: MediaType.imageIndex,
    manifests: manifests.map((m) => ({
      mediaType: m.descriptor.mediaType,
      digest: m.descriptor.digest,
      size: m.descriptor.size,
      platform: m.platform,
    })),
    annotations,
  };
}
