/**
 * CycloneDX 1.5 JSON SBOM, the alternative to SPDX (`--sbom-format cyclonedx`): the image is
 * `metadata.component` (type container) and depends on every Debian package component. Pure.
 */
import type { VerifiedPackageManifest } from '../archive/package-manifest.js';
import { VerifyError } from '../errors.js';
import { digestHex, isDigest } from '../oci/digest.js';
import { debPurl, debUri } from './purl.js';
import { checkSbomPackage, imagePurl, stableUuid, type SbomFacts, type SbomImage } from './spdx.js';
import { utcTimestamp } from './statement.js';

interface CycloneDxHash {
  readonly alg: 'SHA-256';
  readonly content: string;
}

export interface CycloneDxComponent {
  readonly type: 'container' | 'library';
  readonly 'bom-ref': string;
  readonly name: string;
  readonly version: string;
  readonly purl: string;
  readonly hashes: readonly CycloneDxHash[];
  readonly supplier?: { readonly name: string };
  readonly externalReferences?: readonly { readonly type: 'distribution'; readonly url: string }[];
  readonly properties?: readonly { readonly name: string; readonly value: string }[];
}

export interface CycloneDxDocument {
  readonly bomFormat: 'CycloneDX';
  readonly specVersion: '1.5';
  readonly serialNumber: string;
  readonly version: 1;
  readonly metadata: {
    readonly timestamp: string;
    readonly tools: { readonly components: readonly { readonly type: 'application'; readonly name: string; readonly version: string }[] };
    readonly component: CycloneDxComponent;
  };
  readonly components: readonly CycloneDxComponent[];
  readonly dependencies: readonly { readonly ref: string; readonly dependsOn: readonly string[] }[];
}

export function buildCycloneDxSbom(manifest: VerifiedPackageManifest, image: SbomImage, created: string, toolVersion = 'unknown'): CycloneDxDocument {
  if (!isDigest(image.manifestDigest)) throw new TypeError(`not a sha256 digest: ${image.manifestDigest}`);
  const hex = digestHex(image.manifestDigest);
  const timestamp = utcTimestamp(created);
  const imageRef = imagePurl(image);
  const components: CycloneDxComponent[] = manifest.packages.map((p) => {
    const purl = debPurl(p, manifest.suite);
    return {
      type: 'library',
      'bom-ref': purl,
      name: p.package,
      version: p.version,
      purl,
      hashes: [{ alg: 'SHA-256', content: p.sha256 }],
      supplier: { name: 'Debian' },
      externalReferences: [{ type: 'distribution', url: debUri(p) }],
      properties: [
        { name: 'imgfactory:deb:source', value: p.source },
        { name: 'imgfactory:deb:sourceVersion', value: p.sourceVersion },
        { name: 'imgfactory:deb:suite', value: p.suite },
      ],
    };
  });
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${stableUuid(hex, timestamp, 'cyclonedx')}`,
    version: 1,
    metadata: {
      timestamp,
      tools: { components: [{ type: 'application', name: 'imgfactory', version: toolVersion }] },
      component: {
        type: 'container',
        'bom-ref': imageRef,
        name: image.name,
        version: image.manifestDigest,
        purl: imageRef,
        hashes: [{ alg: 'SHA-256', content: hex }],
      },
    },
    components,
    dependencies: [{ ref: imageRef, dependsOn: components.map((c) => c['bom-ref']) }],
  };
}

/** Read a CycloneDX document from outside; throws SBOM_INVALID. */
export function parseCycloneDxSbom(value: unknown): SbomFacts {
  const fail = (why: string): never => {
    throw new VerifyError('SBOM_INVALID', `CycloneDX SBOM: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const doc = value as Record<string, unknown>;
  if (doc.bomFormat !== 'CycloneDX' || doc.specVersion !== '1.5') fail('not a CycloneDX 1.5 document');
  const sha256sOf = (c: Record<string, unknown>): unknown[] =>
    Array.isArray(c.hashes) ? (c.hashes as Record<string, unknown>[]).filter((x) => x?.alg === 'SHA-256').map((x) => x.content) : [];
  const meta = doc.metadata as Record<string, unknown> | undefined;
  const component = meta?.component as Record<string, unknown> | undefined;
  if (typeof component !== 'object' || component === null) return fail('metadata.component is missing');
  const imageShas = sha256sOf(component);
  if (imageShas.length !== 1 || typeof imageShas[0] !== 'string') fail('metadata.component needs exactly one SHA-256');
  if (!Array.isArray(doc.components)) return fail('components missing');
  const packages = (doc.components as unknown[]).map((raw, i) => {
    if (typeof raw !== 'object' || raw === null) return fail(`components[${i}] is not an object`);
    const c = raw as Record<string, unknown>;
    // Nested components would be packages a scanner sees and this check does not.
    if (c.components !== undefined) fail(`components[${i}] has nested components`);
    return checkSbomPackage(`CycloneDX SBOM: components[${i}] (${String(c.name)})`, {
      name: c.name,
      version: c.version,
      purls: c.purl === undefined ? [] : [c.purl],
      sha256s: sha256sOf(c),
    });
  });
  return { format: 'cyclonedx', describedDigest: `sha256:${imageShas[0] as string}`, packages };
}
