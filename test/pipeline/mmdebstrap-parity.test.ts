/**
 * The bootstrapper changes speed, not content: debian-minimal built with mmdebstrap (the default:
 * one pass with -updates and -security from the build's verified lists, merged /usr by its hooks)
 * lists the same packages, at the same versions, as the `--bootstrapper debootstrap` build
 * (bootstrap, then dist-upgrade). Real builds against the host's mirror.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VerifiedPackageManifest } from '../../src/archive/package-manifest.js';
import type { BuildReport } from '../../src/image/build-output.js';
import { RECIPES_DIR, REPO_ROOT, SHARED_CACHE_DIR } from '../helpers/paths.js';
import { sharedBuild } from '../helpers/shared-build.js';

const MINUTES = 60_000;
interface Built {
  readonly report: BuildReport;
  readonly packageManifest: VerifiedPackageManifest;
}
let viaDebootstrap: Built;
let viaMmdebstrap: Built;

const packageSet = (r: Built) => r.packageManifest.packages.map((p) => `${p.package} ${p.version} ${p.architecture}`).sort();

beforeAll(async () => {
  viaMmdebstrap = await sharedBuild('debian-minimal');
  // The default bootstrapper made the shared build.
  expect(viaMmdebstrap.report.platforms[0]!.layers[0]!.createdBy).toMatch(/^imgfactory bootstrap: mmdebstrap /);
  // Through the CLI flag users pass, as a process.
  const out = join(SHARED_CACHE_DIR, 'debootstrap-out');
  const r = await execa(
    process.execPath,
    [
      join(REPO_ROOT, 'bin/imgfactory.js'),
      'build',
      join(RECIPES_DIR, 'debian-minimal.ts'),
      '--bootstrapper',
      'debootstrap',
      '--out',
      out,
      '--work-dir',
      join(SHARED_CACHE_DIR, 'work'),
      '--deb-cache-dir',
      join(SHARED_CACHE_DIR, 'deb-cache-test'),
      '--no-lock',
    ],
    { reject: false },
  );
  expect(r.exitCode, r.stderr).toBe(0);
  const dir = join(out, 'debian-minimal');
  viaDebootstrap = {
    report: JSON.parse(await readFile(join(dir, 'build.json'), 'utf8')) as BuildReport,
    packageManifest: JSON.parse(await readFile(join(dir, 'packages.json'), 'utf8')) as VerifiedPackageManifest,
  };
}, 40 * MINUTES);

describe('mmdebstrap parity', () => {
  it('lists the same packages at the same versions as debootstrap', () => {
    expect(packageSet(viaMmdebstrap)).toEqual(packageSet(viaDebootstrap));
    expect(packageSet(viaMmdebstrap)).toEqual(expect.arrayContaining([expect.stringMatching(/^usr-is-merged /)]));
    expect(packageSet(viaMmdebstrap).some((p) => p.startsWith('usrmerge ') || p.startsWith('perl '))).toBe(false);
  });

  it('ran one bootstrap pass: no separate upgrade stage', () => {
    const stages = viaMmdebstrap.report.stages.map((s) => s.stage);
    expect(stages).toContain('bootstrap');
    expect(stages).not.toContain('upgrade');
    expect(viaDebootstrap.report.stages.map((s) => s.stage)).toContain('upgrade');
    // The mmdebstrap build audited the .debs it downloaded (or took from the cache) too.
    expect(viaMmdebstrap.report.debsAudited).toBeGreaterThanOrEqual(viaMmdebstrap.packageManifest.packages.length);
    expect(viaDebootstrap.report.platforms[0]!.layers[0]!.createdBy).toMatch(/^imgfactory bootstrap: debootstrap /);
  });
});
