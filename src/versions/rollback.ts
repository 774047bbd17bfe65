/**
 * `imgfactory rollback`: point a channel tag back at an earlier version. The target must be
 * signed by a trusted key for the channel's own reference (publish signs every channel tag, so
 * this needs no key), and its provenance and SBOM must verify; then the channel tag, and only
 * it, is PUT with the target's exact manifest bytes. A target never signed for the channel is
 * refused unless a signing key is given, which adds that signature (registry attachment, and
 * the lookaside store when one is named) before the tag moves: never silently.
 */
import { VersionError, VerifyError } from '../errors.js';
import { attachmentManifest, EMPTY_CONFIG } from '../oci/attachments.js';
import { isDigest, sha256Digest, type Digest } from '../oci/digest.js';
import { canonicalJson } from '../oci/json.js';
import { MediaType } from '../oci/mediatypes.js';
import { referenceString, referrersTag, repositoryName, withDigest, withTag, type ImageReference } from '../oci/reference.js';
import type { SigningKey, VerificationKey } from '../pgp/keys.js';
import type { RegistryClient } from '../registry/client.js';
import { mergeReferrers, parseReferrersIndex, referrerDescriptor } from '../registry/referrers.js';
import { writeLookaside } from '../sign/lookaside.js';
import { buildSignaturePayload } from '../sign/payload.js';
import { SIGNATURE_IDENTITY } from '../sign/sign-layout.js';
import { signPayload } from '../sign/simple-signing.js';
import { readVerifiedVersion, type VerifiedVersion } from './registry-version.js';
import { tagKind } from '../oci/version-tag.js';

export interface RollbackOptions {
  readonly client: RegistryClient;
  /** `registry/repository:channel`. */
  readonly channel: ImageReference;
  /** A version tag of the same repository, or a manifest digest. */
  readonly to: string;
  readonly keys: readonly VerificationKey[];
  /** Adds a signature for the channel when the target has none (with the keys above trusting it). */
  readonly signKey?: SigningKey;
  /** With signKey: also store the new signature here (containers/image lookaside layout). */
  readonly lookasideDir?: string;
  /** `optional.creator` of a signature added with signKey. */
  readonly creator?: string;
  readonly now?: Date;
  readonly onProgress?: (message: string) => void;
}

export interface RollbackResult {
  readonly channel: string;
  readonly digest: Digest;
  /** The digest the channel named before (undefined: it did not exist). */
  readonly previous?: Digest;
  /** False when the channel already pointed at the target. */
  readonly moved: boolean;
  /** True when a signature for the channel was added with signKey. */
  readonly signed: boolean;
  readonly lookasideWritten: readonly string[];
  readonly packages: number;
}

export async function rollbackChannel(options: RollbackOptions): Promise<RollbackResult> {
  const { client, channel, keys } = options;
  const { registry, repository } = channel;
  const progress = options.onProgress ?? (() => {});
  if (channel.tag === undefined || channel.digest !== undefined) {
    throw new VersionError('VERSION_TAG_IMMUTABLE', `${referenceString(channel)}: name the channel tag to move (registry/repository:channel)`);
  }
  const channelTag = channel.tag;
  if (tagKind(channelTag) !== 'channel') {
    throw new VersionError('VERSION_TAG_IMMUTABLE', `${channelTag} is a version tag (or a referrers tag): versions never move, only channel tags do`);
  }
  const channelName = referenceString(withTag(channel, channelTag));

  // Pin the target to a digest first: every later step judges and moves that exact manifest.
  const target = await client.findManifest(repository, options.to);
  if (!target || (!isDigest(options.to) && tagKind(options.to) !== 'version')) {
    throw new VersionError(
      'VERSION_NOT_FOUND',
      `${registry}/${repository}: no version ${options.to} (give a version tag from \`imgfactory history\` or a digest)`,
      {
        details: { repository: `${registry}/${repository}`, to: options.to },
      },
    );
  }
  const byDigest = withDigest(channel, target.digest);

  progress(`verifying ${target.digest} for ${channelName}`);
  let version: VerifiedVersion;
  let signed = false;
  let lookasideWritten: string[] = [];
  try {
    version = await readVerifiedVersion({ client, ref: byDigest, keys, identity: channelName });
  } catch (e) {
    if (!(e instanceof VerifyError) || e.code !== 'SIGNATURE_IDENTITY_MISMATCH') throw e;
    // Signed by a trusted key, but never for this channel.
    if (!options.signKey) {
      throw new VersionError(
        'ROLLBACK_NOT_SIGNED_FOR_CHANNEL',
        `${target.digest} was never signed for ${channelName}: consumers would refuse it; give --sign-key to sign it for the channel`,
        { cause: e, details: { channel: channelName, digest: target.digest } },
      );
    }
    // Still only a trusted, intact image earns the new signature: its own signature (for the
    // version tag, or any tag of the repository when named by digest) and provenance must hold.
    const own = isDigest(options.to) ? referenceString(byDigest) : referenceString(withTag(channel, options.to));
    version = await readVerifiedVersion({ client, ref: byDigest, keys, identity: own });
    progress(`signing ${target.digest} for ${channelName}`);
    lookasideWritten = await addChannelSignature(client, channel, channelName, target, options);
    signed = true;
  }

  // The bytes PUT are the ones whose digest was verified (the client checks GET by digest).
  const verifiedManifest = await client.getManifest(repository, version.digest);
  const before = await client.findManifest(repository, channelTag);
  const moved = before?.digest !== version.digest;
  if (moved) {
    progress(`moving ${channelName} to ${version.digest}`);
    await client.putManifest(repository, channelTag, verifiedManifest.bytes, verifiedManifest.mediaType, { interruptible: false });
  }
  return {
    channel: channelName,
    digest: version.digest,
    ...(before ? { previous: before.digest } : {}),
    moved,
    signed,
    lookasideWritten,
    packages: version.packages.length,
  };
}

/** One more signature attachment for the image (and its referrers entry), plus the lookaside file. */
async function addChannelSignature(
  client: RegistryClient,
  channel: ImageReference,
  identity: string,
  target: { readonly digest: Digest; readonly bytes: Buffer; readonly mediaType: string },
  options: RollbackOptions,
): Promise<string[]> {
  const { repository } = channel;
  const now = options.now ?? new Date();
  const payload = buildSignaturePayload({
    manifestDigest: target.digest,
    identity,
    creator: options.creator ?? 'imgfactory',
    timestamp: Math.floor(now.getTime() / 1000),
  });
  const signature = await signPayload(payload, options.signKey!);
  const written = options.lookasideDir
    ? await writeLookaside({ dir: options.lookasideDir, repository: repositoryName(channel), manifestDigest: target.digest, signatures: [signature] })
    : [];

  const empty = new TextEncoder().encode('{}');
  const layer = {
    mediaType: MediaType.simpleSigningLayer,
    digest: sha256Digest(signature),
    size: signature.byteLength,
    annotations: { [SIGNATURE_IDENTITY]: identity },
  };
  const manifest = attachmentManifest({ mediaType: target.mediaType, digest: target.digest, size: target.bytes.byteLength }, MediaType.simpleSigning, [layer]);
  const manifestBytes = canonicalJson(manifest);
  const manifestDigest = sha256Digest(manifestBytes);
  for (const [bytes, digest] of [
    [empty, EMPTY_CONFIG.digest],
    [signature, layer.digest],
  ] as const) {
    if (!(await client.hasBlob(repository, digest))) await client.uploadBlob(repository, { bytes }, digest, bytes.byteLength);
  }
  await client.putManifest(repository, manifestDigest, manifestBytes, MediaType.imageManifest);
  const tag = referrersTag(target.digest);
  const existing = await client.findManifest(repository, tag);
  const merged = mergeReferrers(existing ? parseReferrersIndex(existing.bytes, `${client.registry}/${repository}:${tag}`) : undefined, [
    referrerDescriptor({
      kind: 'signature',
      digest: manifestDigest,
      size: manifestBytes.byteLength,
      mediaType: MediaType.imageManifest,
      artifactType: MediaType.simpleSigning,
    }),
  ]);
  await client.putManifest(repository, tag, canonicalJson(merged), MediaType.imageIndex);
  return written;
}
