import { describe, expect, it } from 'vitest';
import { buildArchiveLookup, type ArchivePackage } from '../../src/archive/archive-lookup.js';
import { auditPackages, type AuditInput, type DebFacts } from '../../src/archive/audit.js';
import { parseDpkgStatus } from '../../src/archive/dpkg-status.js';
import type { VerifiedInRelease, VerifiedPackageManifest } from '../../src/archive/package-manifest.js';

const hex = (c: string) => c.repeat(64);
const BASE = 'http://archive.invalid/debian';
const SEC = 'http://security.invalid/debian-security';

function pkg(p: Partial<ArchivePackage> & Pick<ArchivePackage, 'package' | 'version' | 'architecture' | 'sha256'>): ArchivePackage {
  return {
    source: p.package,
    sourceVersion: p.version,
    filename: `pool/main/${p.package[0]}/${p.package}/${p.package}_${p.version}_${p.architecture}.deb`,
    size: 1000,
    suite: 'bookworm',
    component: 'main',
    archiveUrl: BASE,
    ...p,
  };
}

const INRELEASES: VerifiedInRelease[] = [
  { suite: 'bookworm', url: `${BASE}/dists/bookworm/InRelease`, sha256: hex('1'), date: '2026-07-11T10:16:37.000Z', signers: [] },
  { suite: 'bookworm-security', url: `${SEC}/dists/bookworm-security/InRelease`, sha256: hex('2'), date: '2026-11-21T00:53:02.000Z', signers: [] },
];

const PACKAGES: ArchivePackage[] = [
  pkg({ package: 'libc6', version: '2.36-9+deb12u10', architecture: 'amd64', sha256: hex('a'), source: 'glibc' }),
  pkg({ package: 'dpkg', version: '1.21.22', architecture: 'amd64', sha256: hex('b') }),
  pkg({ package: 'debconf', version: '1.5.82', architecture: 'all', sha256: hex('c') }),
  // Same version in the base suite and in -security, as different files.
  pkg({ package: 'openssl', version: '3.0.17-1~deb12u2', architecture: 'amd64', sha256: hex('d') }),
  pkg({
    package: 'openssl',
    version: '3.0.17-1~deb12u2',
    architecture: 'amd64',
    sha256: hex('e'),
    suite: 'bookworm-security',
    archiveUrl: SEC,
    filename: 'pool/updates/main/o/openssl/x.deb',
  }),
  pkg({ package: 'removed', version: '1.0-1', architecture: 'amd64', sha256: hex('f') }),
];

function archive(packages: ArchivePackage[] = PACKAGES): AuditInput['archive'] {
  return { ...buildArchiveLookup(packages), suite: 'bookworm', architectures: ['amd64'], inReleases: INRELEASES };
}

function status(entries: [string, string, string, string?][]): ReturnType<typeof parseDpkgStatus> {
  return parseDpkgStatus(
    entries
      .map(([name, version, arch, state]) => `Package: ${name}\nStatus: install ok ${state ?? 'installed'}\nArchitecture: ${arch}\nVersion: ${version}\n`)
      .join('\n'),
  );
}

const INSTALLED: [string, string, string, string?][] = [
  ['openssl', '3.0.17-1~deb12u2', 'amd64'],
  ['dpkg', '1.21.22', 'amd64'],
  ['libc6', '2.36-9+deb12u10', 'amd64'],
  ['debconf', '1.5.82', 'all'],
];

function codeOf(f: () => unknown): { code?: string; message?: string; details?: Record<string, unknown> } {
  try {
    f();
  } catch (e) {
    return e as { code?: string; message?: string; details?: Record<string, unknown> };
  }
  return {};
}

describe('auditPackages', () => {
  it('proves every installed package, arch:all included, sorted by name, base suite by default', () => {
    const m = auditPackages({ rootfs: '/r', status: status(INSTALLED), debs: [], archive: archive() });
    expect(m.schemaVersion).toBe(1);
    expect(m.suite).toBe('bookworm');
    expect(m.architecture).toBe('amd64');
    expect(m.inReleases).toEqual(INRELEASES);
    expect(m.packages.map((p) => p.package)).toEqual(['debconf', 'dpkg', 'libc6', 'openssl']);
    expect(m.packages.find((p) => p.package === 'openssl')).toMatchObject({ suite: 'bookworm', sha256: hex('d') });
    expect(m.packages.find((p) => p.package === 'libc6')).toEqual({
      package: 'libc6',
      version: '2.36-9+deb12u10',
      architecture: 'amd64',
      source: 'glibc',
      sourceVersion: '2.36-9+deb12u10',
      sha256: hex('a'),
      size: 1000,
      filename: 'pool/main/l/libc6/libc6_2.36-9+deb12u10_amd64.deb',
      archiveUrl: BASE,
      suite: 'bookworm',
      component: 'main',
    });
  });

  it('prefers the suite whose file is the downloaded .deb', () => {
    const debs: DebFacts[] = [{ file: '/r/var/cache/apt/archives/openssl.deb', sha256: hex('e'), size: 1000 }];
    const m = auditPackages({ rootfs: '/r', status: status(INSTALLED), debs, archive: archive() });
    expect(m.packages.find((p) => p.package === 'openssl')).toMatchObject({ suite: 'bookworm-security', sha256: hex('e'), archiveUrl: SEC });
  });

  it('needs proof for config-files entries too, and skips not-installed ones', () => {
    const s = parseDpkgStatus(
      'Package: removed\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0-1\n\nPackage: gone\nStatus: purge ok not-installed\n',
    );
    const m = auditPackages({ rootfs: '/r', status: s, debs: [], archive: archive() });
    expect(m.packages.map((p) => p.package)).toEqual(['removed']);
    const unproven = parseDpkgStatus('Package: removed\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 0.9-1\n');
    expect(codeOf(() => auditPackages({ rootfs: '/r', status: unproven, debs: [], archive: archive() })).code).toBe('AUDIT_PACKAGE_UNPROVEN');
  });

  it('AUDIT_PACKAGE_UNPROVEN: a version, an architecture or a name that no index has', () => {
    for (const bad of [
      ['libc6', '2.36-9+deb12u11', 'amd64'],
      ['libc6', '2.36-9+deb12u10', 'i386'],
      ['debconf', '1.5.82', 'amd64'],
      ['not-in-debian', '1.0', 'amd64'],
    ] as [string, string, string][]) {
      const e = codeOf(() => auditPackages({ rootfs: '/r', status: status([...INSTALLED, bad]), debs: [], archive: archive() }));
      expect(e.code, bad.join(' ')).toBe('AUDIT_PACKAGE_UNPROVEN');
      expect(e.message).toContain(`${bad[0]} ${bad[1]} ${bad[2]}`);
      expect(e.message!.split('\n')).toHaveLength(1);
    }
  });

  it('lists several problems in one line and all of them in details', () => {
    const many = ['a', 'b', 'c', 'd', 'e'].map((n): [string, string, string] => [n, '1', 'amd64']);
    const e = codeOf(() => auditPackages({ rootfs: '/r', status: status(many), debs: [], archive: archive() }));
    expect(e.code).toBe('AUDIT_PACKAGE_UNPROVEN');
    expect(e.message).toContain('5 installed packages');
    expect(e.message).toContain('and 2 more');
    expect(e.details!.problems).toHaveLength(5);
  });

  it('AUDIT_DEB_HASH_MISMATCH: a downloaded .deb whose identity is indexed with another hash', () => {
    const debs: DebFacts[] = [
      { file: '/r/x/libc6.deb', sha256: hex('9'), size: 1000, identity: { package: 'libc6', version: '2.36-9+deb12u10', architecture: 'amd64' } },
    ];
    const e = codeOf(() => auditPackages({ rootfs: '/r', status: status(INSTALLED), debs, archive: archive() }));
    expect(e.code).toBe('AUDIT_DEB_HASH_MISMATCH');
    expect(e.message).toContain('/r/x/libc6.deb');
  });

  it('AUDIT_DEB_UNPROVEN: a downloaded .deb that no index knows at all', () => {
    const debs: DebFacts[] = [
      { file: '/r/x/evil.deb', sha256: hex('9'), size: 5, identity: { package: 'evil', version: '1', architecture: 'amd64' } },
      { file: '/r/x/noname', sha256: hex('8'), size: 5 },
    ];
    const e = codeOf(() => auditPackages({ rootfs: '/r', status: status(INSTALLED), debs, archive: archive() }));
    expect(e.code).toBe('AUDIT_DEB_UNPROVEN');
    expect(e.details!.problems).toHaveLength(2);
  });

  it("accepts packages proven by the parent image's manifest, and carries its InRelease along", () => {
    const parentInRelease: VerifiedInRelease = {
      suite: 'bookworm',
      url: `${BASE}/dists/bookworm/InRelease`,
      sha256: hex('0'),
      date: '2026-03-14T00:00:00.000Z',
      signers: [],
    };
    const oldLibc = { ...pkg({ package: 'libc6', version: '2.36-9+deb12u9', architecture: 'amd64', sha256: hex('7') }) };
    const parent: VerifiedPackageManifest = { schemaVersion: 1, suite: 'bookworm', architecture: 'amd64', inReleases: [parentInRelease], packages: [oldLibc] };
    const s = status([
      ['libc6', '2.36-9+deb12u9', 'amd64'],
      ['dpkg', '1.21.22', 'amd64'],
    ]);
    expect(codeOf(() => auditPackages({ rootfs: '/r', status: s, debs: [], archive: archive() })).code).toBe('AUDIT_PACKAGE_UNPROVEN');
    const m = auditPackages({ rootfs: '/r', status: s, debs: [], archive: archive(), inherited: parent });
    expect(m.packages.find((p) => p.package === 'libc6')).toEqual(oldLibc);
    expect(m.inReleases.map((r) => r.sha256)).toEqual([hex('1'), hex('2'), hex('0')]);
  });
});
