/**
 * Verify an image in an OCI layout and everything attached to it, in the order a consumer
 * cares: the image is what its digests say (manifests, configs and every layer hashed), the
 * signatures are by a trusted key for this digest (and identity), the provenance is signed and
 * about this digest, and the SBOM lists exactly the packages the provenance does. Throws at the
 * first failure (VerifyError, or LayoutError for a layout that is not what it claims).
 */
import { VerifyError } from '../errors.js';
import { readAttachments, type Attachment } from '../oci/attachments.js';
import type { Digest } from '../oci/digest.js';
import type { Layout } from '../oci/layout.js';
import { MediaType } from '../oci/mediatypes.js';
import { parseCycloneDxSbom } from '../provenance/cyclonedx.js';
import { verifyDsse } from '../provenance/dsse.js';
import { parseSpdxSbom, type SbomFacts } from '../provenance/spdx.js';
import { IN_TOTO_PAYLOAD_TYPE, parseProvenance, type ProvenanceFacts } from '../provenance/statement.js';
import type { VerificationKey } from '../pgp/keys.js';
import { verifyImageSignature } from '../sign/simple-signing.js';

export interface VerifyLayoutOptions {
  readonly layout: Layout;
  readonly keys: readonly VerificationKey[];
  /** The docker reference the image is consumed as; omit to accept each signature's own identity. */
  readonly identity?: string;
  /** Which image when the layout holds several (its tag in index.json). */
  readonly tag?: string;
  /** Check the signature only (no SBOM or provenance required); blobs are still hashed. */
  readonly signatureOnly?: boolean;
  /**
   * Pull's trust-before-bulk step: only the manifests have been fetched, so configs and layers
   * are not looked for yet (the manifests still are checked). The final verify hashes them all.
   */
  readonly blobsNotYetFetched?: boolean;
  readonly signal?: AbortSignal;
}

export interface VerifyReport {
  readonly manifestDigest: Digest;
  /** Manifests, configs and layers hashed against their digests. */
  readonly blobsChecked: number;
  readonly signatures: readonly {
    readonly identity: string;
    readonly signerFingerprint: string;
    readonly creator?: string;
    readonly timestamp?: number;
  }[];
  readonly provenance?: {
    readonly signerFingerprint: string;
    readonly builderId: string;
    readonly dependencies: number;
    readonly packages: number;
  };
  readonly sbom?: { readonly format: 'spdx' | 'cyclonedx'; readonly packages: number };
}

export async function verifyLayout(options: VerifyLayoutOptions): Promise<VerifyReport> {
  return (await verifyLayoutAndSbom(options)).report;
}

/**
 * verifyLayout, also handing back the SBOM that matched the verified provenance (the one a
 * caller may then trust: another party may have attached an SBOM of its own beside it).
 */
export async function verifyLayoutAndSbom(options: VerifyLayoutOptions): Promise<{ report: VerifyReport; sbom?: SbomFacts }> {
  const { layout } = options;
  const image = layout.resolve(options.tag);
  // A signature vouches for the manifest digest, and through it for every blob: check them all
  // before reporting anything as verified.
  let blobsChecked = 1;
  if (options.blobsNotYetFetched) {
    await layout.readDocument(image);
  } else {
    for (const p of await layout.platformImages(image)) {
      await layout.checkImageBlobs(p, options.signal);
      blobsChecked += (p.descriptor === image ? 0 : 1) + 1 + p.manifest.layers.length;
    }
  }
  const signatures = await verifySignatures(layout, image.digest, options);
  const top = await layout.readDocument(image);
  const platformDigests = top.kind === 'index' ? top.index.manifests.map((m) => m.digest) : [];
  // containers/image checks the signature of the platform manifest it picks as well as the
  // index's: an index is only as usable as its least-signed platform, so each must verify too.
  for (const digest of platformDigests) await verifySignatures(layout, digest, options);
  if (options.signatureOnly) return { report: { manifestDigest: image.digest, blobsChecked, signatures } };
  // An index is signed as a whole; its provenance must also name every platform image it lists.
  const provenance = await verifyProvenance(layout, image.digest, options.keys, platformDigests);
  const sbom = matchingSbom(await readSboms(layout, image.digest), provenance.facts, image.digest);
  return {
    report: {
      manifestDigest: image.digest,
      blobsChecked,
      signatures,
      provenance: {
        signerFingerprint: provenance.signerFingerprint,
        builderId: provenance.facts.builderId,
        dependencies: provenance.facts.dependencies,
        packages: provenance.facts.debs.length,
      },
      sbom: { format: sbom.format, packages: sbom.packages.length },
    },
    sbom,
  };
}

/**
 * Several parties may sign and attest the same digest (a registry's referrers hold them all), so
 * every check below looks at all attachments of its kind and is satisfied by the ones made with
 * the trusted keys; the rest are ignored, as containers/image ignores signatures it cannot use.
 */
function some(found: readonly Attachment[], missing: VerifyError): readonly Attachment[] {
  if (found.length === 0) throw missing;
  return found;
}

async function verifySignatures(layout: Layout, digest: Digest, options: VerifyLayoutOptions): Promise<VerifyReport['signatures']> {
  const dir = layout.dir;
  const corrupt = (message: string) => new VerifyError('SIGNATURE_INVALID', message);
  const attachments = some(
    await readAttachments(layout, digest, 'signature', corrupt),
    new VerifyError('SIGNATURE_MISSING', `${dir}: image ${digest} has no signature`),
  );
  for (const a of attachments) {
    if (a.manifest.artifactType !== MediaType.simpleSigning) {
      throw new VerifyError('SIGNATURE_INVALID', `${dir}: signature attachment has artifactType ${String(a.manifest.artifactType)}`);
    }
  }
  const layers = attachments.flatMap((a) => a.layers.filter((l) => l.descriptor.mediaType === MediaType.simpleSigningLayer));
  if (layers.length === 0) throw new VerifyError('SIGNATURE_MISSING', `${dir}: signature attachment holds no signatures`);
  const verified: { identity: string; signerFingerprint: string; creator?: string; timestamp?: number }[] = [];
  const failures: VerifyError[] = [];
  for (const layer of layers) {
    try {
      const v = await verifyImageSignature(layer.bytes, options.keys, {
        manifestDigest: digest,
        ...(options.identity === undefined ? {} : { identity: options.identity }),
      });
      verified.push({ identity: v.payload.identity, signerFingerprint: v.signerFingerprint, ...optionalFields(v.payload) });
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e;
      failures.push(e);
    }
  }
  if (options.identity === undefined) {
    // Without an identity to look for, every signature must hold, except those by keys we were
    // not asked to trust (another party's); at least one must be ours.
    const broken = failures.find((f) => f.code !== 'SIGNATURE_UNTRUSTED_KEY');
    if (broken) throw broken;
    if (verified.length === 0) throw failures[0]!;
    return verified;
  }
  // With one, a single good signature for it is enough (as a containers/image signedBy policy).
  if (verified.length > 0) return verified;
  throw failures.find((f) => f.code !== 'SIGNATURE_IDENTITY_MISMATCH') ?? failures[0]!;
}

function optionalFields(p: { creator?: string; timestamp?: number }): { creator?: string; timestamp?: number } {
  return { ...(p.creator === undefined ? {} : { creator: p.creator }), ...(p.timestamp === undefined ? {} : { timestamp: p.timestamp }) };
}

async function verifyProvenance(
  layout: Layout,
  digest: Digest,
  keys: readonly VerificationKey[],
  platformDigests: readonly Digest[],
): Promise<{ facts: ProvenanceFacts; signerFingerprint: string }> {
  const dir = layout.dir;
  const corrupt = (message: string) => new VerifyError('DSSE_SIGNATURE_INVALID', message);
  const attachments = some(
    await readAttachments(layout, digest, 'provenance', corrupt),
    new VerifyError('PROVENANCE_MISSING', `${dir}: image ${digest} has no provenance`),
  );
  const failures: VerifyError[] = [];
  for (const attachment of attachments) {
    try {
      return await verifyOneProvenance(layout.dir, digest, keys, attachment, platformDigests);
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e;
      failures.push(e);
    }
  }
  // Report a broken or mismatched provenance before one that is merely by another key.
  throw failures.find((f) => f.code !== 'DSSE_UNTRUSTED_KEY') ?? failures[0]!;
}

async function verifyOneProvenance(
  dir: string,
  digest: Digest,
  keys: readonly VerificationKey[],
  attachment: Attachment,
  platformDigests: readonly Digest[],
): Promise<{ facts: ProvenanceFacts; signerFingerprint: string }> {
  const layer = attachment.layers.find((l) => l.descriptor.mediaType === MediaType.dsseEnvelope);
  if (!layer) throw new VerifyError('PROVENANCE_MISSING', `${dir}: provenance attachment holds no DSSE envelope`);
  const envelope = await verifyDsse(new Uint8Array(layer.bytes), keys);
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new VerifyError('PROVENANCE_INVALID', `provenance payloadType is ${envelope.payloadType}, not ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  const facts = parseProvenance(envelope.payload);
  if (!facts.subjectDigests.includes(digest)) {
    throw new VerifyError('PROVENANCE_SUBJECT_MISMATCH', `provenance is about ${facts.subjectDigests.join(', ') || 'no sha256 subject'}, not ${digest}`, {
      details: { subjects: facts.subjectDigests, expected: digest },
    });
  }
  const uncovered = platformDigests.filter((d) => !facts.subjectDigests.includes(d));
  if (uncovered.length > 0) {
    throw new VerifyError(
      'PROVENANCE_SUBJECT_MISMATCH',
      `provenance of index ${digest} does not name its platform image${uncovered.length === 1 ? '' : 's'} ${uncovered.join(', ')}`,
      {
        details: { subjects: facts.subjectDigests, uncovered },
      },
    );
  }
  return { facts, signerFingerprint: envelope.signerFingerprint };
}

/** The SBOM that agrees with the verified provenance (another party may have attached its own). */
function matchingSbom(sboms: readonly SbomFacts[], provenance: ProvenanceFacts, digest: Digest): SbomFacts {
  let first: unknown;
  for (const sbom of sboms) {
    try {
      compareSbomWithProvenance(sbom, provenance, digest);
      return sbom;
    } catch (e) {
      first ??= e;
    }
  }
  throw first;
}

async function readSboms(layout: Layout, digest: Digest): Promise<SbomFacts[]> {
  const dir = layout.dir;
  const corrupt = (message: string) => new VerifyError('SBOM_INVALID', message);
  const attachments = some(await readAttachments(layout, digest, 'sbom', corrupt), new VerifyError('SBOM_MISSING', `${dir}: image ${digest} has no SBOM`));
  return attachments.map((attachment) => parseSbomAttachment(dir, attachment));
}

function parseSbomAttachment(dir: string, attachment: Attachment): SbomFacts {
  if (attachment.layers.length !== 1)
    throw new VerifyError('SBOM_INVALID', `${dir}: an SBOM attachment must hold exactly one document, found ${attachment.layers.length}`);
  const layer = attachment.layers[0]!;
  let doc: unknown;
  try {
    doc = JSON.parse(layer.bytes.toString('utf8'));
  } catch {
    throw new VerifyError('SBOM_INVALID', `${dir}: SBOM is not JSON`);
  }
  switch (layer.descriptor.mediaType) {
    case MediaType.spdxJson:
      return parseSpdxSbom(doc);
    case MediaType.cyclonedxJson:
      return parseCycloneDxSbom(doc);
    default:
      throw new VerifyError('SBOM_INVALID', `${dir}: unknown SBOM media type ${layer.descriptor.mediaType}`);
  }
}

/** Same multiset of (purl, sha256) in both documents; the SBOM must describe this image. Pure. */
export function compareSbomWithProvenance(sbom: SbomFacts, provenance: ProvenanceFacts, digest: Digest): void {
  if (sbom.describedDigest !== digest) {
    throw new VerifyError('SBOM_SUBJECT_MISMATCH', `SBOM describes ${sbom.describedDigest ?? 'no digest'}, not ${digest}`);
  }
  const key = (p: { purl: string; sha256: string }) => `${p.purl} ${p.sha256}`;
  const inSbom = sbom.packages.map(key).sort();
  const inProvenance = provenance.debs.map(key).sort();
  const onlySbom = inSbom.filter((k) => !inProvenance.includes(k));
  const onlyProvenance = inProvenance.filter((k) => !inSbom.includes(k));
  if (inSbom.join('\n') !== inProvenance.join('\n')) {
    const first = onlySbom[0] ? `${onlySbom[0]} only in the SBOM` : onlyProvenance[0] ? `${onlyProvenance[0]} only in the provenance` : 'duplicate entries';
    throw new VerifyError('SBOM_PROVENANCE_MISMATCH', `SBOM (${inSbom.length} packages) and provenance (${inProvenance.length}) differ: ${first}`, {
      details: { onlySbom, onlyProvenance },
    });
  }
}
