/**
 * The bootstrapper changes speed, not content: debian-minimal built with mmdebstrap (one pass with
 * -updates and -security, merged /usr by its hooks) lists the same packages, at the same versions,
 * as the debootstrap build (bootstrap, then dist-upgrade). Real builds against the host's mirror.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRecipe, type BuildResult } from '../../src/pipeline/build.js';
import { RECIPES_DIR, SHARED_CACHE_DIR } from '../helpers/paths.js';
import { sharedBuild, testBuildOptions } from '../helpers/shared-build.js';

const MINUTES = 60_000;
let viaDebootstrap: BuildResult;
let viaMmdebstrap: BuildResult;

const packageSet = (r: BuildResult) => r.packageManifest.packages.map((p) => `${p.package} ${p.version} ${p.architecture}`).sort();

beforeAll(async () => {
  viaDebootstrap = await sharedBuild('debian-minimal');
  viaMmdebstrap = await buildRecipe(
    testBuildOptions(join(RECIPES_DIR, 'debian-minimal.ts'), join(SHARED_CACHE_DIR, 'mmdebstrap-out'), {
      bootstrapper: 'mmdebstrap',
      debCache: { dir: join(SHARED_CACHE_DIR, 'deb-cache-test'), maxBytes: 2 * 1024 ** 3 },
    }),
  );
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
  });
});
