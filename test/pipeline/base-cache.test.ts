/** The base-layer cache's key and store, without a build: what changes the key, re-hash on take, the bound. */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BASE_CACHE_MAX_ENTRIES, BaseLayerCache, baseLayerKey, type BaseLayerKeyInput } from '../../src/pipeline/base-cache.js';
import type { Digest } from '../../src/oci/digest.js';
import type { LayerInfo } from '../../src/oci/types.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const tmp = async () => {
  const d = await mkdtemp(join(tmpdir(), 'base-cache-'));
  dirs.push(d);
  return d;
};

const input: BaseLayerKeyInput = {
  inReleaseSha256s: ['a'.repeat(64), 'b'.repeat(64)],
  suite: 'bookworm',
  variant: 'minbase',
  components: ['main'],
  updates: true,
  slim: null,
  arch: 'amd64',
  mirror: 'http://mirror.invalid/debian',
  securityMirror: 'http://security.invalid/debian-security',
  keyringSha256: 'c'.repeat(64),
  bootstrapper: 'debootstrap',
  sourceDateEpoch: 1700000000,
  excludes: ['dev', 'proc'],
  imgfactoryVersion: '0.1.0',
  node: '20.0.0',
  zlib: '1.3',
};

async function layerFile(dir: string, content: string): Promise<LayerInfo & { createdBy: string }> {
  const path = join(dir, `${content}.tar.gz`);
  const bytes = Buffer.from(content);
  await writeFile(path, bytes);
  const digest: Digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  return { path, digest, diffId: digest, size: bytes.length, uncompressedSize: bytes.length, mediaType: 'x', createdBy: `made ${content}` };
}

describe('baseLayerKey', () => {
  it('changes with every input, and not with key order', () => {
    const key = baseLayerKey(input);
    const changed: Partial<BaseLayerKeyInput>[] = [
      { inReleaseSha256s: ['a'.repeat(64), 'd'.repeat(64)] },
      { suite: 'trixie' },
      { variant: 'buildd' },
      { components: ['main', 'contrib'] },
      { updates: false },
      { slim: { paths: ['/usr/share/doc'] } },
      { arch: 'arm64' },
      { mirror: 'http://other.invalid/debian' },
      { securityMirror: 'http://other.invalid/s' },
      { keyringSha256: 'e'.repeat(64) },
      { bootstrapper: 'mmdebstrap' },
      { sourceDateEpoch: 1700000001 },
      { excludes: ['dev'] },
      { imgfactoryVersion: '0.2.0' },
      { node: '22.0.0' },
      { zlib: '1.2' },
    ];
    for (const c of changed) expect(baseLayerKey({ ...input, ...c }), JSON.stringify(c)).not.toBe(key);
    const reordered = Object.fromEntries(Object.entries(input).reverse()) as unknown as BaseLayerKeyInput;
    expect(baseLayerKey(reordered)).toBe(key);
  });
});

describe('BaseLayerCache', () => {
  it('gives back what was stored, re-hashed; a changed byte makes it a miss and deletes the entry', async () => {
    const dir = await tmp();
    const cache = new BaseLayerCache(join(dir, 'cache'));
    const layer = await layerFile(dir, 'base-layer-bytes');
    await cache.store('1'.repeat(64), layer);
    const hit = await cache.take('1'.repeat(64), join(dir, 'copy-1'));
    expect(hit).toMatchObject({ digest: layer.digest, createdBy: 'made base-layer-bytes' });
    expect(await readFile(join(dir, 'copy-1'), 'utf8')).toBe('base-layer-bytes');
    expect(await cache.take('2'.repeat(64), join(dir, 'copy-2'))).toBeUndefined();

    await writeFile(join(dir, 'cache', '1'.repeat(64), 'layer.tar.gz'), 'base-layer-bytez');
    expect(await cache.take('1'.repeat(64), join(dir, 'copy-3'))).toBeUndefined();
    expect(await readdir(join(dir, 'cache'))).toEqual([]);
    await expect(readFile(join(dir, 'copy-3'))).rejects.toThrow();
  });

  it(`keeps at most ${BASE_CACHE_MAX_ENTRIES} entries, the least recently used out first`, async () => {
    const dir = await tmp();
    const cache = new BaseLayerCache(join(dir, 'cache'));
    const keys = Array.from({ length: BASE_CACHE_MAX_ENTRIES + 1 }, (_, i) => i.toString(16).padStart(64, '0'));
    const { utimes } = await import('node:fs/promises');
    for (const [i, key] of keys.slice(0, BASE_CACHE_MAX_ENTRIES).entries()) {
      await cache.store(key, await layerFile(dir, `layer-${i}`));
      // Minutes apart: the order must not depend on the file system's timestamp granularity.
      const t = new Date(Date.now() - (keys.length - i) * 60_000);
      await utimes(join(dir, 'cache', key, 'layer.json'), t, t);
    }
    // Using the oldest makes it the most recent; the next store then drops the second oldest.
    expect(await cache.take(keys[0]!, join(dir, 'used'))).toBeDefined();
    await cache.store(keys.at(-1)!, await layerFile(dir, 'layer-new'));
    const left = await readdir(join(dir, 'cache'));
    expect(left).toHaveLength(BASE_CACHE_MAX_ENTRIES);
    expect(left).toContain(keys[0]);
    expect(left).toContain(keys.at(-1));
    expect(left).not.toContain(keys[1]);
  });
});
