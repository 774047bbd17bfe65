/** A build that installed packages but audited no .deb fails (exit 3) instead of proving nothing. */
import { describe, expect, it } from 'vitest';
import type { VerifiedPackage, VerifiedPackageManifest } from '../../src/archive/package-manifest.js';
import { ExitStatus } from '../../src/errors.js';
import { newlyInstalled, requireAuditedDebs } from '../../src/pipeline/audited-debs.js';

const pkg = (name: string, version = '1.0-1'): VerifiedPackage => ({
  package: name,
  version,
  architecture: 'amd64',
  source: name,
  sourceVersion: version,
  sha256: 'a'.repeat(64),
  size: 1,
  filename: `pool/main/${name[0]}/${name}/${name}_${version}_amd64.deb`,
  archiveUrl: 'http://mirror.invalid/debian',
  suite: 'bookworm',
  component: 'main',
});
const manifest = (...packages: VerifiedPackage[]): VerifiedPackageManifest => ({
  schemaVersion: 1,
  suite: 'bookworm',
  architecture: 'amd64',
  inReleases: [],
  packages,
});
const base = manifest(pkg('bash'), pkg('dpkg'));

describe('requireAuditedDebs', () => {
  it('a bootstrap that installed packages and audited no .deb: DEBS_NOT_AUDITED, exit 3', () => {
    let thrown: unknown;
    try {
      requireAuditedDebs({ recipeName: 'r', architecture: 'amd64', manifest: base, debsAudited: 0 });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ code: 'DEBS_NOT_AUDITED', exitStatus: ExitStatus.internal, details: { installed: 2 } });
  });

  it('a bootstrap with audited .debs passes', () => {
    expect(() => requireAuditedDebs({ recipeName: 'r', architecture: 'amd64', manifest: base, debsAudited: 2 })).not.toThrow();
  });

  it('a child that installed nothing of its own needs no .deb; one that did, does', () => {
    expect(() => requireAuditedDebs({ recipeName: 'c', architecture: 'amd64', manifest: base, inherited: base.packages, debsAudited: 0 })).not.toThrow();
    const child = manifest(pkg('bash'), pkg('dpkg'), pkg('python3-minimal'));
    expect(() => requireAuditedDebs({ recipeName: 'c', architecture: 'amd64', manifest: child, inherited: base.packages, debsAudited: 0 })).toThrow(
      /1 package installed but no downloaded \.deb/,
    );
  });

  it('a parent package at another version counts as installed by the child (an upgrade is a download)', () => {
    expect(newlyInstalled(manifest(pkg('bash', '2.0-1'), pkg('dpkg')), base.packages)).toBe(1);
  });
});
