/**
 * The base-layer cache in real builds (debootstrap against the host's mirror): a cold build
 * stores its base layer; the same recipe again reuses it (no bootstrap) with the same image
 * digest; a recipe adding one package builds its layer on the reused base, byte for byte what
 * it builds on a fresh bootstrap; a cached layer whose bytes changed is not used.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRecipe, type BuildResult } from '../../src/pipeline/build.js';
import type { BuildEvent } from '../../src/pipeline/stages.js';
import { RECIPES_DIR, SHARED_CACHE_DIR } from '../helpers/paths.js';
import { testBuildOptions } from '../helpers/shared-build.js';

const MINUTES = 60_000;
const baseCacheDir = join(SHARED_CACHE_DIR, 'base-cache-test');
const debCache = { dir: join(SHARED_CACHE_DIR, 'base-cache-test-debs'), maxBytes: 2 * 1024 ** 3 };
const minimal = join(RECIPES_DIR, 'debian-minimal.ts');
// Beside the real recipes, so its relative imports resolve; removed in afterAll.
const plus = join(RECIPES_DIR, '.test-base-cache-plus.ts');
const out = (name: string) => join(SHARED_CACHE_DIR, `base-cache-out-${name}`);

let cold: BuildResult;
let warm: BuildResult;
let plusAfterTamper: BuildResult;
let plusWarm: BuildResult;
const tamperEvents: BuildEvent[] = [];
let cachedBlob: string;

const ran = (r: BuildResult, stage: string) => r.report.stages.some((s) => s.stage === stage);
const base = (r: BuildResult) => r.report.platforms[0]!.layers[0]!;

beforeAll(async () => {
  await rm(baseCacheDir, { recursive: true, force: true });
  await writeFile(
    plus,
    (await readFile(minimal, 'utf8'))
      .replace("name: 'debian-minimal'", "name: 'debian-minimal-plus'")
      .replace('layers: [userLayer()]', "layers: [{ name: 'netbase', packages: ['netbase'] }, userLayer()]"),
  );
  cold = await buildRecipe(testBuildOptions(minimal, out('cold'), { debCache, baseCacheDir }));
  warm = await buildRecipe(testBuildOptions(minimal, out('warm'), { debCache, baseCacheDir }));
  // Tamper for real: one byte of the cached base layer, in place.
  cachedBlob = join(baseCacheDir, base(warm).reused!.key, 'layer.tar.gz');
  const bytes = await readFile(cachedBlob);
  bytes.writeUInt8(bytes.readUInt8(bytes.length >> 1) ^ 0x01, bytes.length >> 1);
  await writeFile(cachedBlob, bytes);
  // The same base inputs: it would reuse the entry, but the entry no longer matches its digest.
  plusAfterTamper = await buildRecipe(testBuildOptions(plus, out('plus-tampered'), { debCache, baseCacheDir, onEvent: (e) => tamperEvents.push(e) }));
  plusWarm = await buildRecipe(testBuildOptions(plus, out('plus-warm'), { debCache, baseCacheDir }));
}, 40 * MINUTES);

afterAll(async () => {
  await rm(plus, { force: true });
});

describe('base-layer cache', () => {
  it('the cold build bootstraps and stores its base layer; the second build reuses it, with the same digest', () => {
    expect(ran(cold, 'bootstrap')).toBe(true);
    expect(base(cold).reused).toBeUndefined();
    expect(ran(warm, 'bootstrap')).toBe(false);
    expect(base(warm).reused?.key).toMatch(/^[0-9a-f]{64}$/);
    expect(base(warm).digest).toBe(base(cold).digest);
    expect(warm.report.manifestDigest).toBe(cold.report.manifestDigest);
    // Every package is still audited against the verified indexes, as after a bootstrap.
    expect(warm.packageManifest.packages).toEqual(cold.packageManifest.packages);
  });

  it('a cached layer whose bytes changed is not used: the build bootstraps and stores verified bytes again', async () => {
    expect(ran(plusAfterTamper, 'bootstrap')).toBe(true);
    expect(base(plusAfterTamper).reused).toBeUndefined();
    expect(tamperEvents.some((e) => e.stage === 'base-cache' && /no cached base layer/.test(e.message ?? ''))).toBe(true);
    expect(base(plusAfterTamper).digest).toBe(base(cold).digest);
    const { createHash } = await import('node:crypto');
    expect(
      `sha256:${createHash('sha256')
        .update(await readFile(cachedBlob))
        .digest('hex')}`,
    ).toBe(base(cold).digest);
  });

  it('one more package: its layer is built on the reused base, byte for byte as on a fresh bootstrap', () => {
    expect(ran(plusWarm, 'bootstrap')).toBe(false);
    expect(base(plusWarm).reused?.key).toBe(base(warm).reused?.key);
    expect(plusWarm.report.manifestDigest).toBe(plusAfterTamper.report.manifestDigest);
    expect(plusWarm.packageManifest.packages.map((p) => p.package)).toContain('netbase');
    const seconds = (r: BuildResult) => r.report.stages.reduce((a, s) => a + s.seconds, 0);
    // Timings are reported, not asserted: the machine's load decides them.
    console.log(
      `debian-minimal cold ${seconds(cold).toFixed(1)} s, warm ${seconds(warm).toFixed(1)} s; plus netbase on the cached base ${seconds(plusWarm).toFixed(1)} s`,
    );
  });
});
