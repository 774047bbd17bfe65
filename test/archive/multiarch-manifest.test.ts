/** Several architectures in one image: each proven against its own indexes, one manifest for all. */
import { describe, expect, it } from 'vitest';
import { buildArchiveLookup, lookupForArchitecture, type ArchivePackage } from '../../src/archive/archive-lookup.js';
import { mergePackageManifests, splitPackageManifest, type VerifiedPackage, type VerifiedPackageManifest } from '../../src/archive/package-manifest.js';
import { FIXTURE_MANIFEST } from '../fixtures/sign/verified-package-manifest.js';

/** The fixture's packages as built for `arch` (arch-specific ones renamed and rehashed, `all` ones unchanged). */
function forArch(arch: string): VerifiedPackageManifest {
  return {
    ...FIXTURE_MANIFEST,
    architecture: arch,
    packages: FIXTURE_MANIFEST.packages.map((p) =>
      p.architecture === 'all'
        ? p
        : {
            ...p,
            architecture: arch,
            sha256: `${arch === 'amd64' ? 'a' : 'b'}${p.sha256.slice(1)}`,
            filename: p.filename.replace('_amd64.deb', `_${arch}.deb`),
          },
    ),
  };
}

const archPkg = (p: VerifiedPackage): ArchivePackage => ({ ...p, description: '', depends: '' }) as unknown as ArchivePackage;

describe('mergePackageManifests / splitPackageManifest', () => {
  it('merges both platforms (an `all` package once) and splits back into each', () => {
    const amd64 = forArch('amd64');
    const arm64 = forArch('arm64');
    const all = FIXTURE_MANIFEST.packages.filter((p) => p.architecture === 'all').length;
    const specific = FIXTURE_MANIFEST.packages.length - all;
    expect(specific).toBeGreaterThan(0);
    const merged = mergePackageManifests([amd64, arm64]);
    expect(merged.architectures).toEqual(['amd64', 'arm64']);
    expect(merged.packages).toHaveLength(all + 2 * specific);
    expect(merged.packages.filter((p) => p.architecture === 'arm64')).toHaveLength(specific);
    expect(merged.inReleases).toHaveLength(FIXTURE_MANIFEST.inReleases.length);
    const [a, b] = splitPackageManifest(merged);
    expect(a!.architecture).toBe('amd64');
    expect(a!.packages.map((p) => p.sha256).sort()).toEqual(amd64.packages.map((p) => p.sha256).sort());
    expect(b!.packages.map((p) => p.sha256).sort()).toEqual(arm64.packages.map((p) => p.sha256).sort());
  });

  it('leaves a single-platform manifest as it is', () => {
    expect(mergePackageManifests([FIXTURE_MANIFEST])).toBe(FIXTURE_MANIFEST);
    expect(splitPackageManifest(FIXTURE_MANIFEST)).toEqual([FIXTURE_MANIFEST]);
  });
});

describe('lookupForArchitecture', () => {
  it('proves an arm64 root with arm64 and `all` entries only', () => {
    const lookup = buildArchiveLookup([...forArch('amd64').packages, ...forArch('arm64').packages].map(archPkg));
    const arm = lookupForArchitecture(lookup, 'arm64');
    const amdOnly = forArch('amd64').packages.find((p) => p.architecture === 'amd64')!;
    const armOnly = forArch('arm64').packages.find((p) => p.architecture === 'arm64')!;
    const indep = FIXTURE_MANIFEST.packages.find((p) => p.architecture === 'all');
    expect(arm.findBySha256(amdOnly.sha256)).toEqual([]);
    expect(lookup.findBySha256(amdOnly.sha256)).toHaveLength(1);
    expect(arm.findAll(amdOnly.package, amdOnly.version, 'amd64')).toEqual([]);
    expect(arm.find(armOnly.package, armOnly.version, 'arm64')?.sha256).toBe(armOnly.sha256);
    if (indep) expect(arm.findBySha256(indep.sha256).length).toBeGreaterThan(0);
    expect(arm.entries().every((p) => p.architecture === 'arm64' || p.architecture === 'all')).toBe(true);
  });
});
