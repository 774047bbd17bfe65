/**
 * The one table of what can be attached to an image (through `subject`): for each kind, the
 * artifact types that name it and the layer media types its documents use. Layouts, the
 * registry's referrers, push and pull all classify attachments with this table. Pure.
 */
import { MediaType } from './mediatypes.js';
import type { Descriptor } from './types.js';

/** index.json annotation that marks an attachment in an imgfactory layout, with its kind. */
export const ATTACHMENT_ANNOTATION = 'dev.imgfactory.attachment';

export const ATTACHMENT_KINDS = {
  signature: { artifactTypes: [MediaType.simpleSigning], layerMediaTypes: [MediaType.simpleSigningLayer] },
  sbom: { artifactTypes: [MediaType.spdxJson, MediaType.cyclonedxJson], layerMediaTypes: [MediaType.spdxJson, MediaType.cyclonedxJson] },
  provenance: { artifactTypes: [MediaType.inTotoProvenance, MediaType.dsseEnvelope], layerMediaTypes: [MediaType.dsseEnvelope] },
} as const satisfies Record<string, { artifactTypes: readonly string[]; layerMediaTypes: readonly string[] }>;

export type AttachmentKind = keyof typeof ATTACHMENT_KINDS;
export const ATTACHMENT_KIND_NAMES = Object.keys(ATTACHMENT_KINDS) as readonly AttachmentKind[];

export function isAttachmentKind(s: unknown): s is AttachmentKind {
  return typeof s === 'string' && Object.hasOwn(ATTACHMENT_KINDS, s);
}

/** The kind by artifact type (registry referrers carry no imgfactory annotation). */
export function attachmentKindOfArtifactType(artifactType: string | undefined): AttachmentKind | undefined {
  if (artifactType === undefined) return undefined;
  return ATTACHMENT_KIND_NAMES.find((k) => (ATTACHMENT_KINDS[k].artifactTypes as readonly string[]).includes(artifactType));
}

/** The kind of an index entry: our annotation first, then the artifact type. */
export function attachmentKindOf(d: Descriptor): AttachmentKind | undefined {
  const annotated = d.annotations?.[ATTACHMENT_ANNOTATION];
  if (annotated !== undefined) return isAttachmentKind(annotated) ? annotated : undefined;
  return attachmentKindOfArtifactType(d.artifactType);
}

export function isAttachmentEntry(d: Descriptor): boolean {
  return d.annotations?.[ATTACHMENT_ANNOTATION] !== undefined;
}
