/** The pure update resolver: apt's choice (highest Debian version over all suites) and its classification. */
import { describe, expect, it } from 'vitest';
import { bestVersions, nonArchiveChanges, packageChanges, sameInReleases, type Candidate } from '../../src/update/resolve.js';
import type { Lock, LockedPackage } from '../../src/lock/lock.js';

const sha = '0'.repeat(64);
const c = (pkg: string, version: string, suite: string, architecture = 'amd64'): Candidate => ({ package: pkg, version, architecture, sha256: sha, suite });
const locked = (name: string, version: string, architecture = 'amd64'): LockedPackage => ({
  name,
  version,
  architecture,
  source: name,
  sha256: sha,
  suite: 'bookworm',
});

describe('update resolver', () => {
  const best = bestVersions([
    c('libc6', '2.36-9+deb12u9', 'bookworm'),
    c('libc6', '2.36-9+deb12u13', 'bookworm-security'),
    c('tzdata', '2024a-0+deb12u1', 'bookworm'),
    c('tzdata', '2025b-0+deb12u1', 'bookworm-updates'),
    c('bash', '5.2.15-2+b7', 'bookworm'),
    c('epoch', '1:1.0-1', 'bookworm'),
    c('epoch', '9.9-1', 'bookworm-updates'),
    c('same', '1.0-2', 'bookworm-updates'),
    c('same', '1.0-2', 'bookworm-security'),
    c('pyall', '3.0-1', 'bookworm', 'all'),
  ]);

  it('picks the highest Debian version and classifies -security', () => {
    const changes = packageChanges(
      [
        locked('libc6', '2.36-9+deb12u9'),
        locked('tzdata', '2024a-0+deb12u1'),
        locked('bash', '5.2.15-2+b7'),
        locked('epoch', '1:1.0-1'),
        locked('same', '1.0-1'),
        locked('pyall', '2.0-1', 'all'),
      ],
      best,
      'bookworm',
    );
    expect(changes).toEqual([
      {
        kind: 'package',
        architecture: 'amd64',
        package: 'libc6',
        oldVersion: '2.36-9+deb12u9',
        newVersion: '2.36-9+deb12u13',
        suite: 'bookworm-security',
        security: true,
        direction: 'upgrade',
      },
      {
        kind: 'package',
        architecture: 'amd64',
        package: 'tzdata',
        oldVersion: '2024a-0+deb12u1',
        newVersion: '2025b-0+deb12u1',
        suite: 'bookworm-updates',
        security: false,
        direction: 'upgrade',
      },
      // the same version in -updates and -security is a security update
      {
        kind: 'package',
        architecture: 'amd64',
        package: 'same',
        oldVersion: '1.0-1',
        newVersion: '1.0-2',
        suite: 'bookworm-security',
        security: true,
        direction: 'upgrade',
      },
      {
        kind: 'package',
        architecture: 'all',
        package: 'pyall',
        oldVersion: '2.0-1',
        newVersion: '3.0-1',
        suite: 'bookworm',
        security: false,
        direction: 'upgrade',
      },
    ]);
  });

  it('an epoch outranks a larger upstream version; withdrawn and vanished packages are reported', () => {
    expect(packageChanges([locked('epoch', '1:1.0-1')], best, 'bookworm')).toEqual([]);
    expect(packageChanges([locked('bash', '5.2.15-3')], best, 'bookworm')).toEqual([
      {
        kind: 'package',
        architecture: 'amd64',
        package: 'bash',
        oldVersion: '5.2.15-3',
        newVersion: '5.2.15-2+b7',
        suite: 'bookworm',
        security: false,
        direction: 'downgrade',
      },
    ]);
    expect(packageChanges([locked('gone', '1')], best, 'bookworm')).toEqual([{ kind: 'vanished', architecture: 'amd64', package: 'gone', oldVersion: '1' }]);
    expect(packageChanges([locked('libc6', '2.36-9+deb12u9', 'arm64')], best, 'bookworm')[0]!.kind).toBe('vanished');
  });

  const lock = {
    recipe: { digest: 'sha256:a' },
    keys: ['K1', 'K2'],
    parent: { name: 'p', manifestDigest: 'sha256:p1' },
    inReleases: [
      { suite: 'bookworm', sha256: 'x' },
      { suite: 'bookworm-security', sha256: 'y' },
    ],
  } as unknown as Lock;

  it('recipe, parent and key changes need no index', () => {
    expect(nonArchiveChanges(lock, { recipeDigest: 'sha256:a', keys: ['K2', 'K1'], parent: { name: 'p', manifestDigest: 'sha256:p1' } })).toEqual([]);
    expect(nonArchiveChanges(lock, { recipeDigest: 'sha256:b', keys: ['K1', 'K3'], parent: { name: 'p', manifestDigest: 'sha256:p2' } })).toEqual([
      { kind: 'recipe', oldDigest: 'sha256:a', newDigest: 'sha256:b' },
      { kind: 'parent', parent: 'p', oldDigest: 'sha256:p1', newDigest: 'sha256:p2' },
      { kind: 'keys', added: ['K3'], removed: ['K2'] },
    ]);
  });

  it('the InRelease fast path needs the same suites with the same bytes', () => {
    expect(
      sameInReleases(lock, [
        { suite: 'bookworm-security', sha256: 'y' },
        { suite: 'bookworm', sha256: 'x' },
      ]),
    ).toBe(true);
    expect(
      sameInReleases(lock, [
        { suite: 'bookworm', sha256: 'x' },
        { suite: 'bookworm-security', sha256: 'z' },
      ]),
    ).toBe(false);
    expect(sameInReleases(lock, [{ suite: 'bookworm', sha256: 'x' }])).toBe(false);
    expect(
      sameInReleases(lock, [
        { suite: 'bookworm', sha256: 'x' },
        { suite: 'bookworm-security', sha256: 'y' },
        { suite: 'bookworm-updates', sha256: 'u' },
      ]),
    ).toBe(false);
  });
});
