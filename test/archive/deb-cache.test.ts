/**
 * The verified package cache on a real directory: only files a verified index lists go in,
 * every use re-hashes, a changed byte deletes the entry instead of staging it, LRU bounds it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildArchiveLookup, type ArchivePackage } from '../../src/archive/archive-lookup.js';
import { aptDebFileName, DebCache, linkStagedDebs } from '../../src/archive/deb-cache.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function temp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'imgf-debcache-'));
  dirs.push(d);
  return d;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function entry(name: string, version: string, bytes: Buffer): ArchivePackage {
  return {
    package: name,
    version,
    architecture: 'amd64',
    source: name,
    sourceVersion: version,
    sha256: sha(bytes),
    size: bytes.length,
    filename: `pool/main/${name[0]}/${name}/${name}_${version}_amd64.deb`,
    suite: 'bookworm',
    component: 'main',
    archiveUrl: 'http://127.0.0.1:9/debian',
  };
}

/** Three "debs" in a build's apt cache, two of which the verified index lists. */
async function fixture() {
  const work = await temp();
  const debs = { a: randomBytes(5000), b: randomBytes(7000), stray: randomBytes(3000) };
  const files: string[] = [];
  for (const [n, bytes] of Object.entries(debs)) {
    const f = join(work, `${n}.deb`);
    await writeFile(f, bytes);
    files.push(f);
  }
  const archive = buildArchiveLookup([entry('liba', '1:2.0-1', debs.a), entry('libb', '3.1-2', debs.b)]);
  return { work, debs, files, archive };
}

describe('DebCache', () => {
  it('stores only what the verified index lists, under its SHA-256', async () => {
    const { debs, files, archive } = await fixture();
    const cache = new DebCache({ dir: await temp(), maxBytes: 1 << 30 });
    expect(await cache.ingest(files, archive)).toBe(2);
    expect((await readFile(cache.entryPath(sha(debs.a)))).equals(debs.a)).toBe(true);
    await expect(stat(cache.entryPath(sha(debs.stray)))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await cache.ingest(files, archive)).toBe(0); // already there
  });

  it('stages verified files under the names apt and debootstrap use', async () => {
    const { debs, files, archive } = await fixture();
    const cache = new DebCache({ dir: await temp(), maxBytes: 1 << 30 });
    await cache.ingest(files, archive);
    const dest = await temp();
    const r = await cache.stage(dest, archive);
    expect(r).toMatchObject({ staged: 2, corrupt: [] });
    expect((await readdir(dest)).sort()).toEqual(['liba_1%3a2.0-1_amd64.deb', 'libb_3.1-2_amd64.deb']);
    expect((await readFile(join(dest, 'libb_3.1-2_amd64.deb'))).equals(debs.b)).toBe(true);
  });

  it('deletes an entry whose bytes were changed instead of staging it', async () => {
    const { debs, files, archive } = await fixture();
    const cache = new DebCache({ dir: await temp(), maxBytes: 1 << 30 });
    await cache.ingest(files, archive);
    const victim = cache.entryPath(sha(debs.a));
    const bytes = await readFile(victim);
    bytes.writeUInt8(bytes.readUInt8(100) ^ 1, 100);
    await writeFile(victim, bytes);
    const dest = await temp();
    const r = await cache.stage(dest, archive);
    expect(r.corrupt).toEqual([sha(debs.a)]);
    expect(r.staged).toBe(1);
    expect(await readdir(dest)).toEqual(['libb_3.1-2_amd64.deb']);
    await expect(stat(victim)).rejects.toMatchObject({ code: 'ENOENT' });
    // The good copy (downloaded again by the next build) is accepted once more.
    expect(await cache.ingest([files[0]!], archive)).toBe(1);
  });

  it('skips entries the current index does not list (another suite), keeping them', async () => {
    const { debs, files, archive } = await fixture();
    const cache = new DebCache({ dir: await temp(), maxBytes: 1 << 30 });
    await cache.ingest(files, archive);
    const other = buildArchiveLookup([entry('libb', '3.1-2', debs.b)]);
    const r = await cache.stage(await temp(), other);
    expect(r.staged).toBe(1);
    expect((await stat(cache.entryPath(sha(debs.a)))).size).toBe(debs.a.length);
  });

  it('drops the least recently used entries beyond its bound', async () => {
    const { debs, files, archive } = await fixture();
    const dir = await temp();
    await new DebCache({ dir, maxBytes: 1 << 30 }).ingest(files, archive);
    // a used long ago, b recently: a bound that fits one keeps b.
    await utimes(join(dir, 'sha256', sha(debs.a)), new Date(1e12), new Date(1e12));
    const small = new DebCache({ dir, maxBytes: 8000 });
    expect(await small.prune()).toEqual({ removed: 1, bytes: debs.b.length });
    expect(await readdir(join(dir, 'sha256'))).toEqual([sha(debs.b)]);
  });

  it('is off with a bound of 0', async () => {
    const { files, archive } = await fixture();
    const cache = new DebCache({ dir: await temp(), maxBytes: 0 });
    expect(await cache.ingest(files, archive)).toBe(0);
    expect((await cache.stage(await temp(), archive)).staged).toBe(0);
  });

  it('links staged files into apt’s cache without replacing files already there', async () => {
    const staged = await temp();
    const dest = await temp();
    await writeFile(join(staged, 'x_1_amd64.deb'), 'staged');
    await writeFile(join(staged, 'y_1_amd64.deb'), 'staged');
    await writeFile(join(dest, 'y_1_amd64.deb'), 'downloaded');
    expect(await linkStagedDebs(staged, dest)).toBe(1);
    expect(await readFile(join(dest, 'y_1_amd64.deb'), 'utf8')).toBe('downloaded');
    expect(await readFile(join(dest, 'x_1_amd64.deb'), 'utf8')).toBe('staged');
  });

  it('names files as apt does (epoch colon as %3a)', () => {
    expect(aptDebFileName({ package: 'libc6', version: '2.36-9+deb12u4', architecture: 'amd64' })).toBe('libc6_2.36-9+deb12u4_amd64.deb');
    expect(aptDebFileName({ package: 'perl-base', version: '1:5.36', architecture: 'amd64' })).toBe('perl-base_1%3a5.36_amd64.deb');
  });
});
