/**
 * README "Environment": XDG_CACHE_HOME places every cache (one rule for every command), and the
 * GITHUB_* run variables become the provenance's builder and invocation. The cache test runs
 * `archive verify` against a controlled archive on loopback, without --cache-dir.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCacheDir } from '../../src/cli/cache-dirs.js';
import { ciInvocation, LOCAL_BUILDER_ID } from '../../src/cli/ci-invocation.js';
import { hostDebianArch } from '../../src/oci/platform.js';
import { runCli } from '../helpers/cli.js';
import { startTestArchive, type TestArchive } from '../helpers/test-archive.js';
import { tempDir } from '../helpers/tmp.js';

const SUITE = 'envsuite';
let dir: string;
let archive: TestArchive;

beforeAll(async () => {
  dir = await tempDir('imgf-env-');
  archive = await startTestArchive(dir, hostDebianArch(process.arch));
  await archive.publish(SUITE, [{ name: 'hello-a', version: '1.0-1', architecture: 'all' }]);
}, 120_000);
afterAll(async () => {
  await archive?.close();
});

const verifyArgs = () => [
  'archive',
  'verify',
  '--suite',
  SUITE,
  '--no-updates',
  '--mirror',
  archive.url,
  '--security-mirror',
  archive.url,
  '--keys-dir',
  archive.keysDir,
];
const cached = (cacheDir: string) => readdir(join(cacheDir, 'sha256')).catch(() => [] as string[]);

describe('XDG_CACHE_HOME', () => {
  it('archive verify caches verified files under $XDG_CACHE_HOME/imgfactory/archive', async () => {
    const xdg = join(dir, 'xdg');
    const r = await runCli(verifyArgs(), { env: { PATH: process.env.PATH, HOME: join(dir, 'home'), XDG_CACHE_HOME: xdg } });
    expect(r.status, r.stderr).toBe(0);
    expect((await cached(join(xdg, 'imgfactory/archive'))).length).toBeGreaterThan(0);
    expect(await readdir(dir)).not.toContain('home');
  });

  it('without it (or with a relative one, which the XDG specification says to ignore), under $HOME/.cache', async () => {
    const home = join(dir, 'home2');
    const r = await runCli(verifyArgs(), { env: { PATH: process.env.PATH, HOME: home, XDG_CACHE_HOME: 'relative/cache' }, cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect((await cached(join(home, '.cache/imgfactory/archive'))).length).toBeGreaterThan(0);
    expect(await readdir(dir)).not.toContain('relative');
  });

  it('one rule for the archive and the .deb caches', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }, 'archive')).toBe('/x/imgfactory/archive');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }, 'debs')).toBe('/x/imgfactory/debs');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '', HOME: '/h' }, 'debs')).toBe('/h/.cache/imgfactory/debs');
    expect(defaultCacheDir({ HOME: '/h' }, 'archive')).toBe('/h/.cache/imgfactory/archive');
  });
});

describe('GITHUB_* run variables', () => {
  it('builder.id is the workflow file at its ref; the invocation is the run and attempt', () => {
    expect(
      ciInvocation({
        GITHUB_SERVER_URL: 'https://github.invalid',
        GITHUB_REPOSITORY: 'o/r',
        GITHUB_RUN_ID: '7',
        GITHUB_RUN_ATTEMPT: '3',
        GITHUB_WORKFLOW_REF: 'o/r/.github/workflows/build.yml@refs/heads/main',
      }),
    ).toEqual({
      builderId: 'https://github.invalid/o/r/.github/workflows/build.yml@refs/heads/main',
      invocationId: 'https://github.invalid/o/r/actions/runs/7/attempts/3',
    });
  });

  it('without a workflow ref the repository is the builder; without an attempt the run alone', () => {
    expect(ciInvocation({ GITHUB_SERVER_URL: 'https://github.invalid', GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '7' })).toEqual({
      builderId: 'https://github.invalid/o/r',
      invocationId: 'https://github.invalid/o/r/actions/runs/7',
    });
  });

  it('outside a run (or with a partial set): the local builder and no invocation', () => {
    expect(ciInvocation({})).toEqual({ builderId: LOCAL_BUILDER_ID });
    expect(ciInvocation({ GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '7' })).toEqual({ builderId: LOCAL_BUILDER_ID });
  });
});
