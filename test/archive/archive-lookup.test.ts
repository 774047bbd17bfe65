import { describe, expect, it } from 'vitest';
import { buildArchiveLookup, type ArchivePackage } from '../../src/archive/archive-lookup.js';

describe('buildArchiveLookup', () => {
  const pkg = (name: string, version: string, arch: string, sha256: string, suite = 'bookworm'): ArchivePackage => ({
    package: name,
    version,
    architecture: arch,
    source: name,
    sourceVersion: version,
    filename: `pool/${name}.deb`,
    size: 1,
    sha256,
    suite,
    component: 'main',
    archiveUrl: 'http://archive.invalid/debian',
  });
  const a1 = pkg('a', '1', 'amd64', '1'.repeat(64));
  const a2 = pkg('a', '2', 'amd64', '2'.repeat(64));
  const a2again = pkg('a', '2', 'amd64', '2'.repeat(64), 'bookworm-updates');
  const b = pkg('b', '1', 'all', 'b'.repeat(64));

  it('finds one entry or several, in index order, by name and by hash', () => {
    const lookup = buildArchiveLookup([a1, a2, b, a2again]);
    expect(lookup.find('b', '1', 'all')).toBe(b);
    expect(lookup.findAll('a', '2', 'amd64')).toEqual([a2, a2again]);
    expect(lookup.find('a', '1', 'amd64')).toBe(a1);
    expect(lookup.find('a', '1', 'arm64')).toBeUndefined();
    expect(lookup.find('c', '1', 'all')).toBeUndefined();
    expect(lookup.findBySha256('B'.repeat(64))).toEqual([b]);
    expect(lookup.findBySha256('2'.repeat(64))).toEqual([a2, a2again]);
    expect(lookup.findBySha256('3'.repeat(64))).toEqual([]);
    expect(lookup.entries()).toEqual([a1, a2, b, a2again]);
  });

  it('reads its input once, so a one-shot iterable works as an array does', () => {
    const lookup = buildArchiveLookup(
      (function* () {
        yield a1;
        yield b;
      })(),
    );
    expect(lookup.findBySha256(b.sha256)).toEqual([b]);
    expect(lookup.find('a', '1', 'amd64')).toBe(a1);
    expect(lookup.entries()).toEqual([a1, b]);
  });
});
