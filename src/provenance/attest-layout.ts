/**
 * Attach an SBOM and signed provenance to the image in an OCI layout. The SBOM is not signed
 * on its own: verification checks it against the signed provenance (same packages, same hashes).
 */
import type { VerifiedPackageManifest } from '../archive/package-manifest.js';
import { SignError } from '../errors.js';
import { writeAttachment } from '../oci/attachments.js';
import type { Digest } from '../oci/digest.js';
import { canonicalJson } from '../oci/json.js';
import type { Layout } from '../oci/layout.js';
import { MediaType } from '../oci/mediatypes.js';
import type { Descriptor } from '../oci/types.js';
import type { SigningKey } from '../pgp/keys.js';
import { buildCycloneDxSbom } from './cyclonedx.js';
import { signDsse } from './dsse.js';
import { buildSpdxSbom } from './spdx.js';
import { buildProvenance, IN_TOTO_PAYLOAD_TYPE, SLSA_PROVENANCE_V1, type ProvenanceInput, type ProvenanceStatement } from './statement.js';

export type SbomFormat = 'spdx' | 'cyclonedx';
export const SBOM_FORMATS: readonly SbomFormat[] = ['spdx', 'cyclonedx'];

/** Layer annotation with the in-toto predicate type, as other attestation tools set it. */
export const PREDICATE_TYPE_ANNOTATION = 'in-toto.io/predicate-type';

export interface AttestLayoutOptions {
  readonly layout: Layout;
  /** The image entry to attest (as its writer produced it, or as resolved and checked by the caller). */
  readonly image: Descriptor;
  /** When `image` is an index: its platform manifests, also subjects of the provenance. */
  readonly platformManifests?: readonly Descriptor[];
  readonly key: SigningKey;
  readonly packageManifest: VerifiedPackageManifest;
  /** Everything but the package manifest; the subject digest, when given, must be the layout's image. */
  readonly provenanceInput: Omit<ProvenanceInput, 'packageManifest' | 'subject'> & {
    readonly subject: { readonly name: string; readonly digest?: Digest };
  };
  readonly sbomFormat?: SbomFormat;
}

export interface AttestLayoutResult {
  readonly manifestDigest: Digest;
  readonly sbom: Descriptor;
  readonly provenance: Descriptor;
  readonly statement: ProvenanceStatement;
}

export async function attestLayout(options: AttestLayoutOptions): Promise<AttestLayoutResult> {
  const image = options.image;
  const { subject, ...rest } = options.provenanceInput;
  if (subject.digest !== undefined && subject.digest !== image.digest) {
    throw new SignError('SIGN_FAILED', `provenance subject ${subject.digest} is not the layout's image ${image.digest}`);
  }
  const statement = buildProvenance({
    ...rest,
    subject: { name: subject.name, digest: image.digest },
    ...(options.platformManifests ? { platformDigests: options.platformManifests.map((m) => m.digest) } : {}),
    packageManifest: options.packageManifest,
  });
  const sbomImage = { name: subject.name, manifestDigest: image.digest };
  const format = options.sbomFormat ?? 'spdx';
  const sbomMediaType = format === 'spdx' ? MediaType.spdxJson : MediaType.cyclonedxJson;
  const sbomDocument =
    format === 'spdx'
      ? buildSpdxSbom(options.packageManifest, sbomImage, rest.finishedOn, rest.builder.version)
      : buildCycloneDxSbom(options.packageManifest, sbomImage, rest.finishedOn, rest.builder.version);
  const sbom = await writeAttachment(options.layout, {
    subject: image,
    kind: 'sbom',
    artifactType: sbomMediaType,
    layers: [{ bytes: canonicalJson(sbomDocument), mediaType: sbomMediaType }],
  });
  const envelope = await signDsse(IN_TOTO_PAYLOAD_TYPE, canonicalJson(statement), options.key);
  const provenance = await writeAttachment(options.layout, {
    subject: image,
    kind: 'provenance',
    artifactType: MediaType.inTotoProvenance,
    layers: [
      {
        bytes: canonicalJson(envelope),
        mediaType: MediaType.dsseEnvelope,
        annotations: { [PREDICATE_TYPE_ANNOTATION]: SLSA_PROVENANCE_V1 },
      },
    ],
  });
  return { manifestDigest: image.digest, sbom, provenance, statement };
}
