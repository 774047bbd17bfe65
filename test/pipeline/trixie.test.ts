/**
 * The shipped trixie recipe builds, through the CLI process as users run it: real debootstrap of
 * trixie against the host's mirror, verified against the pinned trixie keys. The same run shows
 * what the environment does to a build: SOURCE_DATE_EPOCH clamps the image's dates and is
 * recorded, and with no cache flags both caches go under XDG_CACHE_HOME.
 */
import { cp, mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VerifiedPackageManifest } from '../../src/archive/package-manifest.js';
import type { BuildReport } from '../../src/image/build-output.js';
import { Layout } from '../../src/oci/layout.js';
import { RECIPES_DIR, REPO_ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const MINUTES = 60_000;
/** 2025-01-01T00:00:00Z: before any trixie package file, so every timestamp is clamped to it. */
const SDE = 1_735_689_600;
let tmp: string;
let out: string;
let xdg: string;
let run: { exitCode?: number; stderr: unknown; stdout: unknown };

beforeAll(async () => {
  tmp = await tempDir('imgfactory-trixie-');
  // A copy of recipes/: the build writes its lock file beside the recipe.
  await cp(RECIPES_DIR, join(tmp, 'recipes'), { recursive: true });
  out = join(tmp, 'out');
  xdg = join(tmp, 'xdg');
  await mkdir(xdg);
  run = await execa(
    'node',
    [join(REPO_ROOT, 'bin/imgfactory.js'), 'build', join(tmp, 'recipes/debian-trixie-minimal.ts'), '--out', out, '--work-dir', join(tmp, 'work')],
    { reject: false, env: { ...process.env, SOURCE_DATE_EPOCH: String(SDE), XDG_CACHE_HOME: xdg } },
  );
}, 30 * MINUTES);

describe('build recipes/debian-trixie-minimal.ts (CLI)', () => {
  it('exits 0 and writes a trixie image audited against trixie indexes', async () => {
    expect(run.exitCode, String(run.stderr)).toBe(0);
    const dir = join(out, 'debian-trixie-minimal');
    const manifest = JSON.parse(await readFile(join(dir, 'packages.json'), 'utf8')) as VerifiedPackageManifest;
    expect(manifest.suite).toBe('trixie');
    expect(manifest.inReleases.map((r) => r.suite).sort()).toEqual(['trixie', 'trixie-security', 'trixie-updates']);
    const report = JSON.parse(await readFile(join(dir, 'build.json'), 'utf8')) as BuildReport;
    expect(report.debsAudited).toBeGreaterThanOrEqual(manifest.packages.length);
    const bundle = join(tmp, 'bundle');
    await execa('umoci', ['unpack', '--image', `${dir}:${report.ref}`, bundle]);
    expect(await readFile(join(bundle, 'rootfs/etc/debian_version'), 'utf8')).toMatch(/^13\./);
    expect(await readFile(join(bundle, 'rootfs/etc/passwd'), 'utf8')).toMatch(/^app:x:1000:1000:/m);
  });

  it("SOURCE_DATE_EPOCH from the environment is the build's epoch and the image's creation date", async () => {
    const dir = join(out, 'debian-trixie-minimal');
    const report = JSON.parse(await readFile(join(dir, 'build.json'), 'utf8')) as BuildReport;
    expect(report.sourceDateEpoch).toBe(SDE);
    const image = await (await Layout.open(dir)).image({ tag: report.ref });
    expect(image.config.created).toBe('2025-01-01T00:00:00Z');
    expect(image.manifest.annotations?.['org.opencontainers.image.created']).toBe('2025-01-01T00:00:00Z');
  });

  it('with no cache flags, the archive and .deb caches are under XDG_CACHE_HOME', async () => {
    expect((await readdir(join(xdg, 'imgfactory/archive/sha256'))).length).toBeGreaterThan(0);
    expect((await readdir(join(xdg, 'imgfactory/debs'))).length).toBeGreaterThan(0);
  });
});
