/**
 * Sign the image in an OCI layout: one simple-signing signature per identity (each
 * repository:tag it will be published as), stored as the layout's signature attachment.
 */
import { LayoutError, SignError } from '../errors.js';
import { readAttachments, writeAttachment } from '../oci/attachments.js';
import type { Digest } from '../oci/digest.js';
import { Layout } from '../oci/layout.js';
import { MediaType } from '../oci/mediatypes.js';
import type { Descriptor } from '../oci/types.js';
import { isNameOnly, referenceString, tryParseReference } from '../oci/reference.js';
import type { SigningKey } from '../pgp/keys.js';
import { buildSignaturePayload } from './payload.js';
import { signPayload } from './simple-signing.js';

/** Layer annotation naming the docker reference a signature layer vouches for. */
export const SIGNATURE_IDENTITY = 'dev.imgfactory.signature.identity';

/**
 * The canonical form of an identity to sign, as containers/image normalizes it (a short name
 * gains the default registry and `library/`).
 * A bare repository is refused: containers/image never accepts a signature without a tag or digest.
 */
export function normalizeIdentity(identity: string): string {
  const ref = tryParseReference(identity);
  if (!ref) throw new SignError('IDENTITY_INVALID', `${identity}: not a docker reference (registry/repository:tag)`);
  if (isNameOnly(ref)) throw new SignError('IDENTITY_INVALID', `${identity}: an identity needs a tag or digest`);
  return referenceString(ref);
}

export interface SignLayoutOptions {
  readonly layout: Layout;
  readonly key: SigningKey;
  readonly identities: readonly string[];
  /** `optional.creator` of the payload, e.g. `imgfactory 0.1.0`. */
  readonly creator: string;
  /**
   * `optional.timestamp` of the payload. The OpenPGP signature itself carries the real signing
   * time: a key cannot sign before it was created, and SOURCE_DATE_EPOCH usually predates it.
   */
  readonly now: Date;
  /** Which image when the layout holds several (its tag in index.json). */
  readonly tag?: string;
  /**
   * The image entry as its writer just produced it (a build hands this on): it is signed
   * without being read back. Without it, the tagged image is resolved and every blob of it is
   * hashed first, so a layout from outside is never signed unchecked.
   */
  readonly image?: Descriptor;
}

export interface LayoutSignature {
  readonly identity: string;
  readonly signature: Uint8Array;
}

export interface SignLayoutResult {
  readonly manifestDigest: Digest;
  readonly attachment: Descriptor;
  readonly signatures: readonly LayoutSignature[];
}

export async function signLayout(options: SignLayoutOptions): Promise<SignLayoutResult> {
  const identities = [...new Set(options.identities.map(normalizeIdentity))];
  if (identities.length === 0) throw new SignError('IDENTITY_INVALID', 'nothing to sign: give at least one identity');
  const image = options.image ?? (await checkedImage(options.layout, options.tag));
  const timestamp = Math.floor(options.now.getTime() / 1000);
  const sign = async (digest: Digest): Promise<LayoutSignature[]> => {
    const out: LayoutSignature[] = [];
    for (const identity of identities) {
      const payload = buildSignaturePayload({ manifestDigest: digest, identity, creator: options.creator, timestamp });
      out.push({ identity, signature: await signPayload(payload, options.key) });
    }
    return out;
  };
  const attach = (subject: Descriptor, sigs: readonly LayoutSignature[]) =>
    writeAttachment(options.layout, {
      subject,
      kind: 'signature',
      artifactType: MediaType.simpleSigning,
      layers: sigs.map((s) => ({
        bytes: s.signature,
        mediaType: MediaType.simpleSigningLayer,
        annotations: { [SIGNATURE_IDENTITY]: s.identity },
      })),
    });
  // An index is signed, and so is each platform manifest it lists, for the same references:
  // containers/image checks the index's signature when a tag names it and then, once it has
  // picked a platform, that instance's own (copy.Image's per-instance policy check).
  const doc = await options.layout.readDocument(image);
  if (doc.kind === 'index') for (const child of doc.index.manifests) await attach(child, await sign(child.digest));
  const signatures = await sign(image.digest);
  const attachment = await attach(image, signatures);
  return { manifestDigest: image.digest, attachment, signatures };
}

/**
 * The signatures stored in a layout for its image, with the identity each names (for the push:
 * lookaside files and the registry artifact). Digests are re-checked; no cryptographic check.
 */
export async function readLayoutSignatures(layout: Layout, tag?: string): Promise<{ manifestDigest: Digest; signatures: LayoutSignature[] }> {
  const image = layout.resolve(tag);
  const attachments = await readAttachments(layout, image.digest, 'signature', (message) => new LayoutError('LAYOUT_INVALID', message));
  const signatures = attachments.flatMap((a) =>
    a.layers.flatMap((l) => {
      const identity = l.descriptor.annotations?.[SIGNATURE_IDENTITY];
      return l.descriptor.mediaType === MediaType.simpleSigningLayer && identity !== undefined ? [{ identity, signature: new Uint8Array(l.bytes) }] : [];
    }),
  );
  return { manifestDigest: image.digest, signatures };
}

/**
 * The signatures of a tagged index's platform manifests (empty for a single image), each set
 * with the digest it signs: containers/image looks them up once it has picked a platform.
 */
export async function readPlatformSignatures(layout: Layout, tag?: string): Promise<{ manifestDigest: Digest; signatures: LayoutSignature[] }[]> {
  const top = layout.resolve(tag);
  const doc = await layout.readDocument(top);
  if (doc.kind !== 'index') return [];
  const out: { manifestDigest: Digest; signatures: LayoutSignature[] }[] = [];
  for (const child of doc.index.manifests) {
    const attachments = await readAttachments(layout, child.digest, 'signature', (message) => new LayoutError('LAYOUT_INVALID', message));
    const signatures = attachments.flatMap((a) =>
      a.layers.flatMap((l) => {
        const identity = l.descriptor.annotations?.[SIGNATURE_IDENTITY];
        return l.descriptor.mediaType === MediaType.simpleSigningLayer && identity !== undefined ? [{ identity, signature: new Uint8Array(l.bytes) }] : [];
      }),
    );
    if (signatures.length > 0) out.push({ manifestDigest: child.digest, signatures });
  }
  return out;
}

/** The tagged image, with its manifests, configs and every layer hashed against their digests. */
export async function checkedImage(layout: Layout, tag?: string, signal?: AbortSignal): Promise<Descriptor> {
  const top = layout.resolve(tag);
  for (const image of await layout.platformImages(top)) await layout.checkImageBlobs(image, signal);
  return top;
}
