import { describe, expect, it } from 'vitest';
import { VerifyError } from '../../src/errors.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { packageChanges, provenanceDetails, versionChanges, versionPackages, type VersionPackage } from '../../src/versions/changes.js';
import { isReferrersTag, isVersionTag, tagKind, versionDay, versionTag, versionTagMatchesDigest } from '../../src/oci/version-tag.js';

const digest = sha256Digest('image');

describe('version tags', () => {
  it('are <version>-<UTC day of SOURCE_DATE_EPOCH>.<12 hex of the digest>', () => {
    const tag = versionTag('12.0.0', 1764633600, digest); // 2025-12-02T00:00:00Z
    expect(tag).toBe(`12.0.0-20251202.${digest.slice(7, 19)}`);
    expect(isVersionTag(tag)).toBe(true);
    expect(versionTagMatchesDigest(tag, digest)).toBe(true);
    expect(versionTagMatchesDigest(tag, sha256Digest('other'))).toBe(false);
  });
  it('uses UTC: one second before midnight is the previous day', () => {
    expect(versionDay(1764633599)).toBe('20251201');
  });
  it('turns characters a tag cannot hold into _ and stays within 128 characters', () => {
    const tag = versionTag('1:2.3+deb12u1~bpo', 0, digest);
    expect(tag.startsWith('1_2.3_deb12u1_bpo-19700101.')).toBe(true);
    expect(isVersionTag(tag)).toBe(true);
    const long = versionTag('x'.repeat(300), 0, digest);
    expect(long.length).toBe(128);
    expect(isVersionTag(long)).toBe(true);
    expect(isVersionTag(versionTag('.hidden', 0, digest))).toBe(true);
  });
  it('refuses a SOURCE_DATE_EPOCH that is not whole seconds', () => {
    expect(() => versionTag('1', 1.5, digest)).toThrow(RangeError);
    expect(() => versionTag('1', -1, digest)).toThrow(RangeError);
  });
  it('tells version, channel and referrers tags apart', () => {
    expect(tagKind('12')).toBe('channel');
    expect(tagKind('bookworm')).toBe('channel');
    expect(tagKind('latest')).toBe('channel');
    expect(tagKind(`sha256-${'a'.repeat(64)}`)).toBe('referrers');
    expect(isReferrersTag(`sha256-${'a'.repeat(63)}`)).toBe(false);
    expect(tagKind('12.0.0-20251202.0123456789ab')).toBe('version');
    expect(tagKind('12.0.0-20251202.0123456789AB')).toBe('channel');
    expect(tagKind('12.0.0-2025120.0123456789ab')).toBe('channel');
  });
});

const pkg = (name: string, version: string, security = false): VersionPackage => ({ name, version, security });

describe('package changes', () => {
  it('lists added, removed, upgraded and downgraded packages in name order', () => {
    const before = [pkg('bash', '5.2.15-2+b2'), pkg('gone', '1.0'), pkg('libc6', '2.36-9+deb12u7'), pkg('tzdata', '2024b-0+deb12u1')];
    const after = [pkg('bash', '5.2.15-2+b2'), pkg('libc6', '2.36-9+deb12u9', true), pkg('new', '3~rc1'), pkg('tzdata', '2024a-0+deb12u1')];
    expect(packageChanges(before, after)).toEqual([
      { name: 'gone', kind: 'removed', from: '1.0', security: false },
      { name: 'libc6', kind: 'upgraded', from: '2.36-9+deb12u7', to: '2.36-9+deb12u9', security: true },
      { name: 'new', kind: 'added', to: '3~rc1', security: false },
      { name: 'tzdata', kind: 'downgraded', from: '2024b-0+deb12u1', to: '2024a-0+deb12u1', security: false },
    ]);
  });
  it('compares Debian versions, not strings (1.10 > 1.9, ~ sorts first)', () => {
    expect(packageChanges([pkg('a', '1.9')], [pkg('a', '1.10')])[0]!.kind).toBe('upgraded');
    expect(packageChanges([pkg('a', '1.0')], [pkg('a', '1.0~rc1')])[0]!.kind).toBe('downgraded');
  });
  it('counts security updates and notices a recipe change', () => {
    const c = versionChanges({ recipeSha256: 'a', packages: [pkg('x', '1')] }, { recipeSha256: 'b', packages: [pkg('x', '2', true), pkg('y', '1', true)] });
    expect(c.recipeChanged).toBe(true);
    expect(c.securityUpdates).toBe(2);
    expect(versionChanges({ recipeSha256: 'a', packages: [] }, { recipeSha256: 'a', packages: [] })).toEqual({
      recipeChanged: false,
      packages: [],
      securityUpdates: 0,
    });
  });
});

describe('provenance details', () => {
  const statement = (params: Record<string, unknown>, deps: unknown[]) =>
    new TextEncoder().encode(
      JSON.stringify({
        predicate: {
          buildDefinition: { externalParameters: params, resolvedDependencies: deps },
          runDetails: { metadata: { finishedOn: '2025-12-02T00:00:00Z' } },
        },
      }),
    );
  it('reads the recipe, the security mirror and each .deb URI; flags packages from the security mirror', () => {
    const d = provenanceDetails(
      statement({ recipe: { path: 'recipes/x.ts', sha256: 'ab' }, securityMirror: 'http://m.invalid/debian-security' }, [
        { name: 'pkg:deb/debian/libc6@2.36?arch=amd64&distro=debian-12', uri: 'http://m.invalid/debian-security/pool/l/libc6.deb' },
        { name: 'pkg:deb/debian/bash@5?arch=amd64&distro=debian-12', uri: 'http://m.invalid/debian-security2/pool/b/bash.deb' },
        { name: 'bookworm/InRelease', uri: 'http://m.invalid/debian-security/dists/InRelease' },
      ]),
    );
    expect(d.recipe).toEqual({ path: 'recipes/x.ts', sha256: 'ab' });
    expect(d.finishedOn).toBe('2025-12-02T00:00:00Z');
    expect(d.debUris.size).toBe(2);
    const packages = versionPackages(
      {
        format: 'spdx',
        describedDigest: digest,
        packages: [
          { name: 'libc6', version: '2.36', purl: 'pkg:deb/debian/libc6@2.36?arch=amd64&distro=debian-12', sha256: '' },
          { name: 'bash', version: '5', purl: 'pkg:deb/debian/bash@5?arch=amd64&distro=debian-12', sha256: '' },
        ],
      },
      d,
    );
    // bash's URI only shares a string prefix with the security mirror: not a security package.
    expect(packages).toEqual([pkg('bash', '5', false), pkg('libc6', '2.36', true)]);
  });
  it('refuses a statement without the recipe', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as VerifyError).code;
      }
      return undefined;
    };
    expect(code(() => provenanceDetails(statement({}, [])))).toBe('PROVENANCE_INVALID');
    expect(code(() => provenanceDetails(new TextEncoder().encode('not json')))).toBe('PROVENANCE_INVALID');
  });
});

describe('version errors', () => {
  it('exit 1 when the integrity rule refuses, 2 for what the user named wrongly', async () => {
    const { VersionError } = await import('../../src/errors.js');
    expect(new VersionError('VERSION_TAG_TAKEN', 'x').exitStatus).toBe(1);
    expect(new VersionError('ROLLBACK_NOT_SIGNED_FOR_CHANNEL', 'x').exitStatus).toBe(1);
    expect(new VersionError('VERSION_TAG_IMMUTABLE', 'x').exitStatus).toBe(2);
    expect(new VersionError('VERSION_NOT_FOUND', 'x').exitStatus).toBe(2);
  });
});

describe('publish identities', () => {
  it('sign the version tag first, then every channel tag; without a date, only the channels', async () => {
    const { publishIdentities } = await import('../../src/pipeline/attest.js');
    const recipe = { version: '12.0.0', publish: { repository: 'r.invalid:5000/base/x', tags: ['bookworm', '12'] } } as unknown as Parameters<
      typeof publishIdentities
    >[0];
    expect(publishIdentities(recipe, { sourceDateEpoch: 1764633600, digest })).toEqual([
      `r.invalid:5000/base/x:12.0.0-20251202.${digest.slice(7, 19)}`,
      'r.invalid:5000/base/x:bookworm',
      'r.invalid:5000/base/x:12',
    ]);
    expect(publishIdentities(recipe)).toEqual(['r.invalid:5000/base/x:bookworm', 'r.invalid:5000/base/x:12']);
  });
});

describe('what a publish reports', () => {
  it('names the version tag and the command that returns the first channel that moved', async () => {
    const { publishedVersion } = await import('../../src/versions/publish-summary.js');
    const before = sha256Digest('before');
    const repo = 'r.invalid:5000/base/x';
    const tagged = [`${repo}:12.0.0-20251202.${digest.slice(7, 19)}`, `${repo}:bookworm`, `${repo}:12`];
    expect(publishedVersion(tagged, { [`${repo}:bookworm`]: digest, [`${repo}:12`]: before }, digest)).toEqual({
      versionTag: `12.0.0-20251202.${digest.slice(7, 19)}`,
      rollback: `imgfactory rollback ${repo}:12 --to ${before} --key <public.asc>`,
    });
    // First publish (no channel existed) or nothing moved: nothing to roll back to.
    expect(publishedVersion(tagged, {}, digest)).toEqual({ versionTag: `12.0.0-20251202.${digest.slice(7, 19)}` });
    expect(publishedVersion([`${repo}:12`], { [`${repo}:12`]: digest }, digest)).toEqual({});
  });
});
