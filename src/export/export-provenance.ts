/**
 * The provenance of an export: an in-toto Statement v1 with an SLSA v1 predicate whose subjects
 * are the exported files (by sha256) and whose one resolved dependency is the verified image
 * (by the digest its signature covers). The image's own provenance lists every .deb, so a
 * machine container traces back to the same verified package manifest. No clock: the same
 * export gives the same statement. Pure.
 */
import { digestHex, type Digest } from '../oci/digest.js';
import { SLSA_PROVENANCE_V1, STATEMENT_TYPE } from '../provenance/statement.js';
import type { ChecksumEntry } from './checksums.js';

export const EXPORT_BUILD_TYPE = 'https://imgfactory.dev/buildtypes/machine-export/v1';

export type ExportFormat = 'nspawn' | 'lxc' | 'rootfs';

export interface ExportProvenanceInput {
  readonly files: readonly ChecksumEntry[];
  readonly format: ExportFormat;
  readonly name: string;
  /** Where the image came from as the user named it (a registry reference or "oci-layout"). */
  readonly source: string;
  readonly signedDigest: Digest;
  readonly manifestDigest: Digest;
  /** Fingerprints of the keys that signed the image and its provenance. */
  readonly imageSigners: readonly string[];
  readonly builder: { readonly id: string; readonly version: string };
}

export function exportProvenance(input: ExportProvenanceInput) {
  const image = [{ name: 'image', uri: input.source, digest: { sha256: digestHex(input.signedDigest) } }];
  const platform = input.manifestDigest === input.signedDigest ? [] : [{ name: 'image-manifest', digest: { sha256: digestHex(input.manifestDigest) } }];
  return {
    _type: STATEMENT_TYPE,
    subject: [...input.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((f) => ({ name: f.name, digest: { sha256: f.sha256 } })),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: EXPORT_BUILD_TYPE,
        externalParameters: { format: input.format, name: input.name, image: input.source },
        internalParameters: { imageSigners: [...input.imageSigners].sort() },
        resolvedDependencies: [...image, ...platform],
      },
      runDetails: { builder: { id: input.builder.id, version: { imgfactory: input.builder.version } }, metadata: {} },
    },
  } as const;
}
