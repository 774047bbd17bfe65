/**
 * One published image, judged from the registry alone: its manifest and attachments (never its
 * layers) are fetched into a temporary layout through the pull path, the signature must be by a
 * trusted key for `identity`, the provenance must be signed, intact and about this digest, and
 * the SBOM must agree with it. Only then are the attachments' contents reported.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VerifyError } from '../errors.js';
import { readAttachments } from '../oci/attachments.js';
import type { Digest } from '../oci/digest.js';
import { Layout } from '../oci/layout.js';
import { MediaType } from '../oci/mediatypes.js';
import type { ImageReference } from '../oci/reference.js';
import type { VerificationKey } from '../pgp/keys.js';
import { parseCycloneDxSbom } from '../provenance/cyclonedx.js';
import { verifyDsse } from '../provenance/dsse.js';
import { parseSpdxSbom, type SbomFacts } from '../provenance/spdx.js';
import { IN_TOTO_PAYLOAD_TYPE, parseProvenance } from '../provenance/statement.js';
import type { RegistryClient } from '../registry/client.js';
import { pullImage } from '../registry/pull.js';
import { compareSbomWithProvenance, verifyLayout, type VerifyReport } from '../verify/verify-layout.js';
import { provenanceDetails, versionPackages, type ProvenanceDetails, type VersionPackage } from './changes.js';

export interface VerifiedVersion {
  readonly digest: Digest;
  readonly signatures: VerifyReport['signatures'];
  readonly recipe: ProvenanceDetails['recipe'];
  /** When the build finished (signed provenance). */
  readonly builtOn?: string;
  readonly packages: readonly VersionPackage[];
}

export interface ReadVersionOptions {
  readonly client: RegistryClient;
  /** The image as named in the registry (a tag or a digest). */
  readonly ref: ImageReference;
  readonly keys: readonly VerificationKey[];
  /** The reference a signature must name; default: the image's own tag (or repository, by digest). */
  readonly identity?: string;
}

/** Carries the verdict out of pull's trust step, which then stops the pull before any layer. */
/** Ends the pull once the version is judged: history and rollback read no layers. */
class Judged extends Error {
  constructor(readonly version: VerifiedVersion) {
    super('judged');
  }
}

export async function readVerifiedVersion(options: ReadVersionOptions): Promise<VerifiedVersion> {
  const scratch = await mkdtemp(join(tmpdir(), 'imgfactory-version-'));
  try {
    await pullImage({
      ref: options.ref,
      client: options.client,
      outDir: join(scratch, 'layout'),
      verifyTrust: async (layoutDir, context) => {
        const layout = await Layout.open(layoutDir);
        const report = await verifyLayout({ layout, keys: options.keys, identity: options.identity ?? context.identity, blobsNotYetFetched: true });
        throw new Judged(await attachedFacts(layout, report, options.keys));
      },
      // Never reached: the trust step always ends the pull (history and rollback need no layers).
      verify: async () => {
        throw new VerifyError('SIGNATURE_MISSING', `${options.ref.repository}: image was not judged`);
      },
    });
  } catch (e) {
    if (e instanceof Judged) return e.version;
    throw e;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  throw new VerifyError('SIGNATURE_MISSING', `${options.ref.repository}: image was not judged`);
}

/**
 * The provenance and SBOM that verifyLayout accepted, read again for their contents: the first
 * provenance whose DSSE signature verifies with a trusted key and which is about this digest,
 * and the SBOM that agrees with it (another party may have attached documents of its own).
 */
async function attachedFacts(layout: Layout, report: VerifyReport, keys: readonly VerificationKey[]): Promise<VerifiedVersion> {
  const digest = report.manifestDigest;
  const sboms: SbomFacts[] = [];
  for (const s of await readAttachments(layout, digest, 'sbom', () => undefined)) {
    const doc = s.layers[0];
    if (!doc || s.layers.length !== 1) continue;
    try {
      const parsed = JSON.parse(doc.bytes.toString('utf8')) as unknown;
      sboms.push(doc.descriptor.mediaType === MediaType.cyclonedxJson ? parseCycloneDxSbom(parsed) : parseSpdxSbom(parsed));
    } catch {
      // Not ours to report: verifyLayout already found one that agrees.
    }
  }
  for (const a of await readAttachments(layout, digest, 'provenance', () => undefined)) {
    const layer = a.layers.find((l) => l.descriptor.mediaType === MediaType.dsseEnvelope);
    if (!layer) continue;
    let payload: Uint8Array;
    try {
      const verified = await verifyDsse(JSON.parse(layer.bytes.toString('utf8')) as unknown, keys);
      if (verified.payloadType !== IN_TOTO_PAYLOAD_TYPE) continue;
      payload = verified.payload;
    } catch {
      continue;
    }
    let facts: ReturnType<typeof parseProvenance>;
    let details: ProvenanceDetails;
    try {
      facts = parseProvenance(payload);
      details = provenanceDetails(payload);
    } catch {
      continue;
    }
    if (!facts.subjectDigests.includes(digest)) continue;
    const sbom = sboms.find((candidate) => {
      try {
        compareSbomWithProvenance(candidate, facts, digest);
        return true;
      } catch {
        return false;
      }
    });
    if (!sbom) continue;
    return {
      digest,
      signatures: report.signatures,
      recipe: details.recipe,
      ...(details.finishedOn ? { builtOn: details.finishedOn } : {}),
      packages: versionPackages(sbom, details),
    };
  }
  throw new VerifyError('PROVENANCE_MISSING', `${layout.dir}: no verified provenance with a matching SBOM for ${digest}`);
}
