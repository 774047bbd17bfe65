/**
 * SPDX 2.3 JSON SBOM from the verified package manifest: the image is the described element
 * and CONTAINS every installed Debian package, each with its purl, version, the sha256 of its
 * .deb, its pool URI and its source package. Pure.
 */
import type { VerifiedPackageManifest } from '../archive/package-manifest.js';
import { VerifyError } from '../errors.js';
import { digestHex, isDigest, type Digest } from '../oci/digest.js';
import { debPurl, debUri, parseDebPurl } from './purl.js';
import { utcTimestamp } from './statement.js';
import { sha256Hex } from '../oci/digest.js';

export interface SbomImage {
  /** Image name, e.g. `127.0.0.1:5000/base/debian-minimal` or `debian-minimal`. */
  readonly name: string;
  readonly manifestDigest: Digest;
}

export interface SpdxPackage {
  readonly SPDXID: string;
  readonly name: string;
  readonly versionInfo: string;
  readonly supplier?: string;
  readonly downloadLocation: string;
  readonly filesAnalyzed: false;
  readonly checksums: readonly { readonly algorithm: 'SHA256'; readonly checksumValue: string }[];
  readonly sourceInfo?: string;
  readonly licenseConcluded: 'NOASSERTION';
  readonly licenseDeclared: 'NOASSERTION';
  readonly copyrightText: 'NOASSERTION';
  readonly externalRefs: readonly {
    readonly referenceCategory: 'PACKAGE-MANAGER';
    readonly referenceType: 'purl';
    readonly referenceLocator: string;
  }[];
  readonly primaryPackagePurpose?: 'CONTAINER' | 'OPERATING-SYSTEM' | 'LIBRARY' | 'APPLICATION';
}

export interface SpdxDocument {
  readonly spdxVersion: 'SPDX-2.3';
  readonly dataLicense: 'CC0-1.0';
  readonly SPDXID: 'SPDXRef-DOCUMENT';
  readonly name: string;
  readonly documentNamespace: string;
  readonly creationInfo: { readonly created: string; readonly creators: readonly string[] };
  readonly packages: readonly SpdxPackage[];
  readonly relationships: readonly {
    readonly spdxElementId: string;
    readonly relationshipType: 'DESCRIBES' | 'CONTAINS';
    readonly relatedSpdxElement: string;
  }[];
}

const IMAGE_ID = 'SPDXRef-Image';

/** A deterministic UUID-shaped id from arbitrary strings (no randomness: same input, same SBOM). */
export function stableUuid(...parts: string[]): string {
  const h = sha256Hex(parts.join('\0'));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** `pkg:oci` purl of the image (purl-spec oci type). */
export function imagePurl(image: SbomImage): string {
  const bare = image.name.replace(/@.*$/, '').replace(/:[^/:]*$/, '');
  const last = bare.split('/').pop() ?? bare;
  const repositoryUrl = bare.includes('/') ? `?repository_url=${encodeURIComponent(bare)}` : '';
  return `pkg:oci/${encodeURIComponent(last.toLowerCase())}@${encodeURIComponent(image.manifestDigest)}${repositoryUrl}`;
}

function spdxId(base: string, taken: Set<string>): string {
  const clean = `SPDXRef-Package-${base.replace(/[^A-Za-z0-9.-]+/g, '-')}`;
  let id = clean;
  for (let n = 2; taken.has(id); n++) id = `${clean}-${n}`;
  taken.add(id);
  return id;
}

export function buildSpdxSbom(manifest: VerifiedPackageManifest, image: SbomImage, created: string, toolVersion = 'unknown'): SpdxDocument {
  if (!isDigest(image.manifestDigest)) throw new TypeError(`not a sha256 digest: ${image.manifestDigest}`);
  const hex = digestHex(image.manifestDigest);
  const createdUtc = utcTimestamp(created);
  const taken = new Set<string>([IMAGE_ID]);
  const imagePackage: SpdxPackage = {
    SPDXID: IMAGE_ID,
    name: image.name,
    versionInfo: image.manifestDigest,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    checksums: [{ algorithm: 'SHA256', checksumValue: hex }],
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: imagePurl(image) }],
    primaryPackagePurpose: 'CONTAINER',
  };
  const debs: SpdxPackage[] = manifest.packages.map((p) => ({
    SPDXID: spdxId(`deb-${p.package}-${p.architecture}`, taken),
    name: p.package,
    versionInfo: p.version,
    supplier: 'Organization: Debian',
    downloadLocation: debUri(p),
    filesAnalyzed: false,
    checksums: [{ algorithm: 'SHA256', checksumValue: p.sha256 }],
    sourceInfo: `built package from: ${p.source} ${p.sourceVersion}`,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: debPurl(p, manifest.suite) }],
  }));
  const slug = image.name.replace(/[^A-Za-z0-9.-]+/g, '-');
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${image.name}@${image.manifestDigest}`,
    documentNamespace: `https://imgfactory.dev/spdx/${slug}-${stableUuid(hex, createdUtc)}`,
    creationInfo: { created: createdUtc, creators: [`Tool: imgfactory-${toolVersion}`] },
    packages: [imagePackage, ...debs],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: IMAGE_ID },
      ...debs.map((d) => ({ spdxElementId: IMAGE_ID, relationshipType: 'CONTAINS' as const, relatedSpdxElement: d.SPDXID })),
    ],
  };
}

/** What verification needs from an SBOM, whatever its format. */
export interface SbomFacts {
  readonly format: 'spdx' | 'cyclonedx';
  /** Digest of the image the SBOM describes. */
  readonly describedDigest: string | undefined;
  /** Every package entry, each with the one purl and the one sha256 it carries. */
  readonly packages: readonly SbomPackage[];
}

export interface SbomPackage {
  readonly name: string;
  readonly version: string;
  readonly purl: string;
  readonly sha256: string;
}

/**
 * One package entry, as a scanner would read it: its name and version must be the ones its
 * purl names (a scanner reads the fields, a verifier the purl; they must not be able to
 * disagree), and it carries exactly one purl and one SHA-256, so no second identity rides along.
 */
export function checkSbomPackage(
  where: string,
  fields: { name: unknown; version: unknown; purls: readonly unknown[]; sha256s: readonly unknown[] },
): SbomPackage {
  const { name, version, purls, sha256s } = fields;
  if (purls.length !== 1 || typeof purls[0] !== 'string') throw new VerifyError('SBOM_INVALID', `${where}: expected exactly one purl, found ${purls.length}`);
  if (sha256s.length !== 1 || typeof sha256s[0] !== 'string' || !/^[0-9a-f]{64}$/.test(sha256s[0])) {
    throw new VerifyError('SBOM_INVALID', `${where}: expected exactly one SHA-256, found ${sha256s.length}`);
  }
  const purl = purls[0];
  const facts = parseDebPurl(purl);
  if (!facts) throw new VerifyError('SBOM_INVALID', `${where}: ${purl} is not a Debian package purl`);
  if (name !== facts.name || version !== facts.version) {
    throw new VerifyError('SBOM_INVALID', `${where}: name/version ${String(name)} ${String(version)} disagree with its purl ${purl}`);
  }
  return { name: facts.name, version: facts.version, purl, sha256: sha256s[0] };
}

/** Read an SPDX document from outside; throws SBOM_INVALID. */
export function parseSpdxSbom(value: unknown): SbomFacts {
  const fail = (why: string): never => {
    throw new VerifyError('SBOM_INVALID', `SPDX SBOM: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const doc = value as Record<string, unknown>;
  if (doc.spdxVersion !== 'SPDX-2.3') fail(`unsupported spdxVersion ${JSON.stringify(doc.spdxVersion)}`);
  if (!Array.isArray(doc.packages) || !Array.isArray(doc.relationships)) return fail('packages or relationships missing');
  const described = (doc.relationships as unknown[]).flatMap((r) => {
    const rel = r as Record<string, unknown>;
    return rel?.spdxElementId === 'SPDXRef-DOCUMENT' && rel.relationshipType === 'DESCRIBES' ? [rel.relatedSpdxElement] : [];
  });
  if (described.length !== 1) fail('expected the document to describe exactly one element');
  const ids = new Set<unknown>();
  let describedDigest: string | undefined;
  const packages: SbomPackage[] = [];
  for (const [i, raw] of (doc.packages as unknown[]).entries()) {
    if (typeof raw !== 'object' || raw === null) return fail(`packages[${i}] is not an object`);
    const p = raw as Record<string, unknown>;
    // An SPDXID seen twice would let a second entry hide behind the first (or behind the image).
    if (typeof p.SPDXID !== 'string' || ids.has(p.SPDXID)) fail(`packages[${i}]: missing or duplicate SPDXID ${JSON.stringify(p.SPDXID)}`);
    ids.add(p.SPDXID);
    const sha256s = Array.isArray(p.checksums)
      ? (p.checksums as Record<string, unknown>[]).filter((c) => c?.algorithm === 'SHA256').map((c) => c.checksumValue)
      : [];
    if (p.SPDXID === described[0]) {
      if (sha256s.length !== 1 || typeof sha256s[0] !== 'string') fail('the described image needs exactly one SHA256 checksum');
      describedDigest = `sha256:${sha256s[0] as string}`;
      continue;
    }
    const purls = Array.isArray(p.externalRefs)
      ? (p.externalRefs as Record<string, unknown>[]).filter((r) => r?.referenceType === 'purl').map((r) => r.referenceLocator)
      : [];
    packages.push(checkSbomPackage(`SPDX SBOM: packages[${i}] (${String(p.name)})`, { name: p.name, version: p.versionInfo, purls, sha256s }));
  }
  if (describedDigest === undefined) fail('the described element is not among the packages');
  return { format: 'spdx', describedDigest, packages };
}
