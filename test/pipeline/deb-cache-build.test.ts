/**
 * The verified package cache in real builds, with each bootstrapper, against the host's mirror
 * through a loopback proxy that records every request: a cold build fills the cache; a byte
 * flipped in one cached .deb is caught before use, that .deb alone is fetched again and
 * installed from verified bytes, and the rebuild gives the same image digest.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArchiveMirrors } from '../../src/archive/index.js';
import { DebCache } from '../../src/archive/deb-cache.js';
import type { Bootstrapper } from '../../src/bootstrap/debootstrap.js';
import { buildRecipe, type BuildResult } from '../../src/pipeline/build.js';
import type { BuildEvent } from '../../src/pipeline/stages.js';
import { RECIPES_DIR, SHARED_CACHE_DIR } from '../helpers/paths.js';
import { testBuildOptions } from '../helpers/shared-build.js';
import { startTamperProxy, type TamperProxy } from '../helpers/tamper-proxy.js';

const MINUTES = 60_000;
const recipe = join(RECIPES_DIR, 'debian-minimal.ts');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.each(['mmdebstrap', 'debootstrap'] as const)('verified package cache (%s)', (bootstrapper: Bootstrapper) => {
  const cacheDir = join(SHARED_CACHE_DIR, `deb-cache-test-${bootstrapper}`);
  const debCache = { dir: cacheDir, maxBytes: 2 * 1024 ** 3 };
  let cold: BuildResult;
  let warm: BuildResult;
  let victim: { package: string; sha256: string; filename: string };
  const warmEvents: BuildEvent[] = [];
  let main: TamperProxy;
  let security: TamperProxy;
  /** The .debs the warm build fetched from the mirror. */
  let warmDebRequests: string[];
  /** The index files (under dists/) the warm build asked the mirrors for. */
  let warmIndexRequests: string[];

  beforeAll(async () => {
    await rm(cacheDir, { recursive: true, force: true });
    // Both builds see the same mirror URLs, so the images they write can be the same.
    const upstream = await hostArchiveMirrors();
    main = await startTamperProxy(upstream.mirror);
    security = await startTamperProxy(upstream.securityMirror);
    const options = (out: string, extra: object) =>
      testBuildOptions(recipe, join(SHARED_CACHE_DIR, out), {
        debCache,
        bootstrapper,
        hostMirrors: () => Promise.resolve({ mirror: main.url, securityMirror: security.url }),
        ...extra,
      });
    cold = await buildRecipe(options(`deb-cache-out-cold-${bootstrapper}`, {}));
    const libc = cold.packageManifest.packages.find((p) => p.package === 'libc6')!;
    victim = { package: libc.package, sha256: libc.sha256, filename: libc.filename };
    // Tamper for real: one byte of the cached libc6 .deb, in place.
    const file = new DebCache(debCache).entryPath(victim.sha256);
    const bytes = await readFile(file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length >> 1) ^ 0x01, bytes.length >> 1);
    await writeFile(file, bytes);
    expect(sha256(await readFile(file))).not.toBe(victim.sha256);
    const before = [main.requests.length, security.requests.length] as const;
    warm = await buildRecipe(options(`deb-cache-out-warm-${bootstrapper}`, { onEvent: (e: BuildEvent) => warmEvents.push(e) }));
    // apt writes `+` in a version as %2b; the index's Filename has it plain.
    warmIndexRequests = [...main.requests.slice(before[0]), ...security.requests.slice(before[1])].filter((p) => p.startsWith('/dists/'));
    warmDebRequests = [...main.requests.slice(before[0]), ...security.requests.slice(before[1])]
      .filter((p) => p.endsWith('.deb'))
      .map((p) => decodeURIComponent(p));
    expect(main.requests.length).toBeGreaterThan(before[0]);
  }, 40 * MINUTES);

  afterAll(async () => {
    await main?.close();
    await security?.close();
  });

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

  it('the warm build fetched only the changed .deb from the mirror; the rest came from the cache', () => {
    expect(warmDebRequests).toEqual([`/${victim.filename}`]);
  });

  it('no apt in the build fetched an index: apt read the lists written from the verified ones', () => {
    // imgfactory itself asks for each InRelease once (its Packages indexes are in its cache);
    // `apt-get update` would have asked again. debootstrap, which has no such input, fetches
    // the base suite's own Release and Packages and checks them against the same keyring.
    const ours = ['/dists/bookworm-security/InRelease', '/dists/bookworm-updates/InRelease', '/dists/bookworm/InRelease'];
    const sorted = [...warmIndexRequests].sort();
    if (bootstrapper === 'mmdebstrap') expect(sorted).toEqual(ours);
    else expect(sorted.filter((p) => !p.startsWith('/dists/bookworm/'))).toEqual(ours.slice(0, 2));
    expect(sorted).toContain('/dists/bookworm/InRelease');
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
