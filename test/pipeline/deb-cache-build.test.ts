/**
 * The verified package cache in real builds (debootstrap against the host's mirror): a cold build
 * fills it; a byte flipped in one cached .deb is caught before use, that .deb is fetched again
 * and installed from verified bytes, and the rebuild gives the same image digest.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DebCache } from '../../src/archive/deb-cache.js';
import { buildRecipe, type BuildResult } from '../../src/pipeline/build.js';
import type { BuildEvent } from '../../src/pipeline/stages.js';
import { RECIPES_DIR, SHARED_CACHE_DIR } from '../helpers/paths.js';
import { testBuildOptions } from '../helpers/shared-build.js';

const MINUTES = 60_000;
const cacheDir = join(SHARED_CACHE_DIR, 'deb-cache-test');
const debCache = { dir: cacheDir, maxBytes: 2 * 1024 ** 3 };
const recipe = join(RECIPES_DIR, 'debian-minimal.ts');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let cold: BuildResult;
let warm: BuildResult;
let victim: { package: string; sha256: string };
const warmEvents: BuildEvent[] = [];

beforeAll(async () => {
  await rm(cacheDir, { recursive: true, force: true });
  cold = await buildRecipe(testBuildOptions(recipe, join(SHARED_CACHE_DIR, 'deb-cache-out-cold'), { debCache }));
  const libc = cold.packageManifest.packages.find((p) => p.package === 'libc6')!;
  victim = { package: libc.package, sha256: libc.sha256 };
  // Tamper for real: one byte of the cached libc6 .deb, in place.
  const file = new DebCache(debCache).entryPath(victim.sha256);
  const bytes = await readFile(file);
  bytes.writeUInt8(bytes.readUInt8(bytes.length >> 1) ^ 0x01, bytes.length >> 1);
  await writeFile(file, bytes);
  expect(sha256(await readFile(file))).not.toBe(victim.sha256);
  warm = await buildRecipe(testBuildOptions(recipe, join(SHARED_CACHE_DIR, 'deb-cache-out-warm'), { debCache, onEvent: (e) => warmEvents.push(e) }));
}, 40 * MINUTES);

describe('verified package cache', () => {
  it('the cold build stored every installed package’s .deb under its verified hash', async () => {
    const cache = new DebCache(debCache);
    for (const p of cold.packageManifest.packages) {
      if (p.sha256 === victim.sha256) continue;
      expect(sha256(await readFile(cache.entryPath(p.sha256))), p.package).toBe(p.sha256);
    }
  });

  it('the changed .deb was refetched: the cache holds verified bytes again and libc6 was installed from them', async () => {
    const bytes = await readFile(new DebCache(debCache).entryPath(victim.sha256));
    expect(sha256(bytes)).toBe(victim.sha256);
    const installed = warm.packageManifest.packages.find((p) => p.package === victim.package);
    expect(installed?.sha256).toBe(victim.sha256);
  });

  it('the warm bootstrap downloaded only the changed .deb (debootstrap took the rest from the cache)', () => {
    const installed = new Set(warm.packageManifest.packages.map((p) => p.package));
    const retrieved = warmEvents
      .filter((e) => e.stage === 'bootstrap' && e.toolLine !== undefined)
      .map((e) => /^I: Retrieving (\S+)/.exec(e.toolLine!)?.[1])
      .filter((n): n is string => n !== undefined && installed.has(n));
    expect(retrieved).toEqual([victim.package]);
  });

  it('the warm build used the cache and gives the same image digest', () => {
    expect(warm.report.stages.map((s) => s.stage)).toContain('deb-cache');
    expect(warmEvents.some((e) => e.stage === 'deb-cache')).toBe(true);
    expect(warm.report.manifestDigest).toBe(cold.report.manifestDigest);
    const seconds = (r: BuildResult) => r.report.stages.find((s) => s.stage === 'bootstrap')?.seconds ?? NaN;
    // Timings are reported, not asserted: the machine's load decides them.
    console.log(`bootstrap: cold ${seconds(cold).toFixed(1)} s, warm ${seconds(warm).toFixed(1)} s`);
  });
});
