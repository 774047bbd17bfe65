/** The lock model: canonical text, strict parsing, the recipe digest's inputs. */
import { describe, expect, it } from 'vitest';
import { LOCK_VERSION, parseLock, serializeLock, type Lock } from '../../src/lock/lock.js';
import { recipeDigest, relativeImports } from '../../src/lock/recipe-digest.js';

const hex = (c: string) => c.repeat(64);
const lock: Lock = {
  lockVersion: LOCK_VERSION,
  recipe: {
    name: 'r',
    version: '1',
    digest: `sha256:${hex('a')}`,
    sources: [
      { path: 'r.ts', sha256: hex('b') },
      { path: 'lib/c.ts', sha256: hex('c') },
    ],
    options: { bootstrapper: 'debootstrap' },
  },
  imgfactoryVersion: '0.1.0',
  sourceDateEpoch: 1700000000,
  origin: 'build',
  suite: 'bookworm',
  components: ['main'],
  updates: true,
  keys: ['B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8', '4D64FEC119C2029067D6E791F8D2585B8783D481'],
  parent: null,
  image: { manifestDigest: `sha256:${hex('d')}` },
  inReleases: [
    { suite: 'bookworm', sha256: hex('e'), date: '2026-11-01T00:00:00.000Z', validUntil: null, signers: ['B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8'] },
  ],
  architectures: {
    amd64: [
      { name: 'zlib1g', version: '1:1.2.13.dfsg-1', architecture: 'amd64', source: 'zlib', sha256: hex('1'), suite: 'bookworm' },
      { name: 'bash', version: '5.2.15-2+b7', architecture: 'amd64', source: 'bash', sha256: hex('2'), suite: 'bookworm' },
    ],
  },
};

describe('lock files', () => {
  it('serialize → parse → serialize is byte-identical, sorted, one package per line', () => {
    const text = serializeLock(lock);
    expect(serializeLock(parseLock(text, 'x.lock.json'))).toBe(text);
    const pkgLines = text.split('\n').filter((l) => l.includes('"sha256"') && l.includes('"name"'));
    expect(pkgLines.map((l) => JSON.parse(l.trim().replace(/,$/, '')).name)).toEqual(['bash', 'zlib1g']);
    expect(text.indexOf('lib/c.ts')).toBeLessThan(text.indexOf('"r.ts"'));
    expect(JSON.parse(text).keys).toEqual([...lock.keys].sort());
  });

  it('a version bump changes exactly one line', () => {
    const bumped: Lock = {
      ...lock,
      architectures: { amd64: [lock.architectures.amd64![0]!, { ...lock.architectures.amd64![1]!, version: '5.2.15-2+b8' }] },
    };
    const a = serializeLock(lock).split('\n');
    const b = serializeLock(bumped).split('\n');
    expect(a.length).toBe(b.length);
    expect(a.filter((l, i) => l !== b[i])).toHaveLength(1);
  });

  it('rejects what is not a lock with LOCK_INVALID', () => {
    const bad = (t: string) => {
      try {
        parseLock(t, 'x');
      } catch (e) {
        return (e as { code: string }).code;
      }
      return 'parsed';
    };
    expect(bad('{')).toBe('LOCK_INVALID');
    expect(bad('[]')).toBe('LOCK_INVALID');
    expect(bad(serializeLock(lock).replace('"lockVersion": 1', '"lockVersion": 2'))).toBe('LOCK_INVALID');
    expect(bad(serializeLock(lock).replace(hex('1'), 'nothex'))).toBe('LOCK_INVALID');
    expect(bad(serializeLock(lock).replace('"origin": "build"', '"origin": "build", "extra": 1'))).toBe('LOCK_INVALID');
  });
});

describe('recipe digest', () => {
  it('finds relative imports only', () => {
    const src = `import { defineRecipe } from 'imgfactory';\nimport { a } from './lib/a.js';\nexport { b } from "../b.js";\nimport './side.js';\nconst c = await import('./lazy.js');\nimport fs from 'node:fs';`;
    expect(relativeImports(src)).toEqual(['../b.js', './lazy.js', './lib/a.js', './side.js']);
  });

  it('depends on every source byte and option, not on their order', () => {
    const s = [
      { path: 'a.ts', sha256: hex('1') },
      { path: 'b.ts', sha256: hex('2') },
    ];
    const d = recipeDigest(s, { bootstrapper: 'debootstrap' });
    expect(recipeDigest([...s].reverse(), { bootstrapper: 'debootstrap' })).toBe(d);
    expect(recipeDigest([s[0]!, { ...s[1]!, sha256: hex('3') }], { bootstrapper: 'debootstrap' })).not.toBe(d);
    expect(recipeDigest(s, { bootstrapper: 'mmdebstrap' })).not.toBe(d);
    expect(recipeDigest(s.slice(1), { bootstrapper: 'debootstrap' })).not.toBe(d);
  });
});
