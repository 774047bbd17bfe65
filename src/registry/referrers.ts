/**
 * The OCI 1.1 referrers tag fallback: a registry without the referrers API lists the artifacts
 * attached to an image in an image index tagged `sha256-<hex of the subject>`. Pure.
 */
import { RegistryError } from '../errors.js';
import { isDigest, type Digest } from '../oci/digest.js';
import { ATTACHMENT_ANNOTATION as ATTACHMENT, type AttachmentKind } from '../oci/attachment-kinds.js';
import { MediaType } from '../oci/mediatypes.js';
import type { Descriptor, Index } from '../oci/types.js';

export interface ReferrerSource {
  readonly kind: AttachmentKind;
  readonly digest: Digest;
  readonly size: number;
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly configMediaType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * The descriptor a referrers list carries for an artifact: its artifactType (the config media
 * type when the manifest has none) and its annotations, plus imgfactory's attachment kind so a
 * pull can restore the layout convention.
 */
export function referrerDescriptor(a: ReferrerSource): Descriptor {
  const artifactType = a.artifactType ?? a.configMediaType;
  return {
    mediaType: a.mediaType,
    digest: a.digest,
    size: a.size,
    ...(artifactType ? { artifactType } : {}),
    annotations: { ...a.annotations, [ATTACHMENT]: a.kind },
  };
}

/** Parse the index a registry holds under the fallback tag (input from outside). */
export function parseReferrersIndex(bytes: Uint8Array, where: string): Index {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new RegistryError('REGISTRY_PROTOCOL', `${where}: referrers tag does not hold JSON`);
  }
  const d = doc as Partial<Index> | null;
  if (
    d === null ||
    typeof d !== 'object' ||
    d.schemaVersion !== 2 ||
    (d.mediaType !== undefined && d.mediaType !== MediaType.imageIndex) ||
    !Array.isArray(d.manifests)
  ) {
    throw new RegistryError('REGISTRY_PROTOCOL', `${where}: referrers tag does not hold an OCI image index`);
  }
  for (const m of d.manifests) {
    if (typeof m !== 'object' || m === null || !isDigest(m.digest) || typeof m.mediaType !== 'string' || typeof m.size !== 'number') {
      throw new RegistryError('REGISTRY_PROTOCOL', `${where}: referrers index has a malformed descriptor`);
    }
  }
  return d as Index;
}

/**
 * What the fallback tag should hold after adding `added`: entries already there stay in place
 * (replaced when the same digest is added again, so a re-push yields identical bytes), new
 * ones are appended.
 */
export function mergeReferrers(existing: Index | undefined, added: readonly Descriptor[]): Index {
  const byDigest = new Map(added.map((d) => [d.digest, d] as const));
  const kept = (existing?.manifests ?? []).map((m) => byDigest.get(m.digest) ?? m);
  const present = new Set(kept.map((m) => m.digest));
  const appended = added.filter((d) => !present.has(d.digest));
  return { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [...kept, ...appended] };
}
