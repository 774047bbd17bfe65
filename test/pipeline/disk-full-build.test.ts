/**
 * A real build of debian-minimal whose work directory is a small tmpfs: it runs out of space
 * (in debootstrap's download or unpack). The build must fail with a typed error (not exit 3),
 * leave no output directory or temporary output, nothing mounted under the work dir, and an
 * empty work dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountsUnder } from '../../src/bootstrap/chroot.js';
import { ImgfactoryError } from '../../src/errors.js';
import { buildRecipe } from '../../src/pipeline/build.js';
import { RECIPES_DIR } from '../helpers/paths.js';
import { testBuildOptions } from '../helpers/shared-build.js';

let base: string;
let work: string;
let out: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'imgf-diskfull-build-'));
  work = join(base, 'work');
  out = join(base, 'out');
  await mkdir(work);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96m', 'tmpfs', work]);
});

afterAll(async () => {
  execFileSync('umount', ['--lazy', work]);
  await rm(base, { recursive: true, force: true });
});

describe('disk full during a build', () => {
  it('fails with one typed line, exit 4, and leaves no output, no temp output, no mounts', async () => {
    const err = await buildRecipe(testBuildOptions(join(RECIPES_DIR, 'debian-minimal.ts'), out, { workDir: work })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ImgfactoryError);
    expect((err as ImgfactoryError).exitStatus).toBe(4);
    expect((err as ImgfactoryError).code, (err as Error).message).toBe('DISK_FULL');
    expect((err as Error).message.split('\n')).toHaveLength(1);
    expect(await readdir(out).catch(() => [])).toEqual([]);
    expect(await readdir(work)).toEqual([]);
    expect(mountsUnder(await readFile('/proc/self/mountinfo', 'utf8'), work).filter((m) => m !== work)).toEqual([]);
  }, 600_000);
});
