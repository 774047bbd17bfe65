import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasFilesOnDisk, parseDpkgStatus } from '../../src/archive/dpkg-status.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { buildCycloneDxSbom, parseCycloneDxSbom } from '../../src/provenance/cyclonedx.js';
import { debPurl } from '../../src/provenance/purl.js';
import { buildSpdxSbom, parseSpdxSbom } from '../../src/provenance/spdx.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { FIXTURE_MANIFEST } from '../fixtures/sign/verified-package-manifest.js';

const IMAGE = { name: '127.0.0.1:5000/base/debian-minimal', manifestDigest: sha256Digest('manifest') };
const CREATED = '2025-05-17T08:00:00.123Z';

function purlParts(purl: string) {
  const m = /^pkg:deb\/debian\/([^@]+)@([^?]+)\?arch=([^&]+)&distro=(.+)$/.exec(purl);
  if (!m) throw new Error(`not a deb purl: ${purl}`);
  return { name: decodeURIComponent(m[1]!), version: decodeURIComponent(m[2]!), arch: m[3]!, distro: m[4]! };
}

describe('purl', () => {
  it('percent-encodes name and version (keeping the epoch colon readable)', () => {
    expect(debPurl({ package: 'libstdc++6', version: '12.2.0-14+deb12u1', architecture: 'amd64' }, 'bookworm')).toBe(
      'pkg:deb/debian/libstdc%2B%2B6@12.2.0-14%2Bdeb12u1?arch=amd64&distro=bookworm',
    );
    expect(debPurl({ package: 'login', version: '1:4.13+dfsg1-1', architecture: 'amd64' }, 'bookworm')).toBe(
      'pkg:deb/debian/login@1:4.13%2Bdfsg1-1?arch=amd64&distro=bookworm',
    );
  });
});

describe('SPDX 2.3 SBOM', () => {
  const doc = buildSpdxSbom(FIXTURE_MANIFEST, IMAGE, CREATED, '0.1.0');

  it("lists exactly the packages of the image's dpkg status (name, version, architecture)", async () => {
    const status = parseDpkgStatus(await readFile(join(REPO_ROOT, 'test/fixtures/sign/dpkg-status'), 'utf8'));
    const onDisk = status
      .filter(hasFilesOnDisk)
      .map((e) => `${e.package}:${e.architecture}=${e.version}`)
      .sort();
    expect(status.length).toBeGreaterThan(onDisk.length); // the fixture has a purged entry to leave out
    const listed = doc.packages
      .filter((p) => p.SPDXID !== 'SPDXRef-Image')
      .map((p) => {
        const purl = purlParts(p.externalRefs[0]!.referenceLocator);
        expect(purl.name).toBe(p.name);
        expect(purl.version).toBe(p.versionInfo);
        return `${p.name}:${purl.arch}=${p.versionInfo}`;
      })
      .sort();
    expect(listed).toEqual(onDisk);
  });

  it('describes the image, which contains every package; each package has sha256, pool URI, source', () => {
    expect(doc).toMatchObject({ spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT' });
    expect(doc.creationInfo).toEqual({ created: '2025-05-17T08:00:00Z', creators: ['Tool: imgfactory-0.1.0'] });
    expect(doc.relationships[0]).toEqual({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Image' });
    const image = doc.packages[0]!;
    expect(image).toMatchObject({ SPDXID: 'SPDXRef-Image', primaryPackagePurpose: 'CONTAINER', versionInfo: IMAGE.manifestDigest });
    expect(image.checksums).toEqual([{ algorithm: 'SHA256', checksumValue: IMAGE.manifestDigest.slice(7) }]);
    const contained = doc.relationships.filter((r) => r.relationshipType === 'CONTAINS').map((r) => r.relatedSpdxElement);
    expect(contained).toEqual(doc.packages.slice(1).map((p) => p.SPDXID));
    const ids = doc.packages.map((p) => p.SPDXID);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
    const libssl = doc.packages.find((p) => p.name === 'libssl3')!;
    const fixture = FIXTURE_MANIFEST.packages.find((p) => p.package === 'libssl3')!;
    expect(libssl).toMatchObject({
      versionInfo: fixture.version,
      downloadLocation: `${fixture.archiveUrl}/${fixture.filename}`,
      checksums: [{ algorithm: 'SHA256', checksumValue: fixture.sha256 }],
      sourceInfo: 'built package from: openssl 3.0.16-1~deb12u1',
    });
  });

  it('is deterministic and parses back to the same packages', () => {
    expect(JSON.stringify(buildSpdxSbom(FIXTURE_MANIFEST, IMAGE, CREATED, '0.1.0'))).toBe(JSON.stringify(doc));
    const facts = parseSpdxSbom(JSON.parse(JSON.stringify(doc)));
    expect(facts.describedDigest).toBe(IMAGE.manifestDigest);
    expect(facts.packages).toHaveLength(FIXTURE_MANIFEST.packages.length);
  });

  it('parseSpdxSbom refuses documents it cannot use: SBOM_INVALID', () => {
    expect(() => parseSpdxSbom({ spdxVersion: 'SPDX-2.2' })).toThrow(expect.objectContaining({ code: 'SBOM_INVALID' }));
    const noPurl = JSON.parse(JSON.stringify(doc)) as { packages: { externalRefs: unknown[] }[] };
    noPurl.packages[2]!.externalRefs = [];
    expect(() => parseSpdxSbom(noPurl)).toThrow(expect.objectContaining({ code: 'SBOM_INVALID' }));
  });
});

describe('CycloneDX 1.5 SBOM', () => {
  const bom = buildCycloneDxSbom(FIXTURE_MANIFEST, IMAGE, CREATED, '0.1.0');

  it('has the image as metadata.component and every package as a component with purl, sha256, source', () => {
    expect(bom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 });
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(bom.metadata.component).toMatchObject({ type: 'container', version: IMAGE.manifestDigest });
    expect(bom.components.map((c) => c.name)).toEqual(FIXTURE_MANIFEST.packages.map((p) => p.package));
    const login = bom.components.find((c) => c.name === 'login')!;
    expect(login.purl).toBe('pkg:deb/debian/login@1:4.13%2Bdfsg1-1%2Bdeb12u1?arch=amd64&distro=bookworm');
    expect(login.properties).toContainEqual({ name: 'imgfactory:deb:source', value: 'shadow' });
    expect(bom.dependencies[0]!.dependsOn).toHaveLength(FIXTURE_MANIFEST.packages.length);
    const facts = parseCycloneDxSbom(JSON.parse(JSON.stringify(bom)));
    expect(facts.describedDigest).toBe(IMAGE.manifestDigest);
    expect(facts.packages.map((p) => p.sha256)).toEqual(FIXTURE_MANIFEST.packages.map((p) => p.sha256));
  });
});
