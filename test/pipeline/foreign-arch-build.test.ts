/**
 * The build's first step for a foreign architecture: before the archive is fetched or a
 * directory made, the kernel must be able to run it (here a host whose binfmt_misc folders are
 * empty test folders), and `--arch` must name one of the recipe's architectures.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRecipe, type BuildOptions } from '../../src/pipeline/build.js';
import { tempDir } from '../helpers/tmp.js';

let dir: string;
let recipeFile: string;

function options(overrides: Partial<BuildOptions>): BuildOptions {
  return {
    recipeFile,
    outDir: join(dir, 'out'),
    workDir: join(dir, 'work'),
    keysDir: join(dir, 'keys'),
    archiveCacheDir: join(dir, 'archive-cache'),
    hostArch: 'amd64',
    hostMirrors: () => Promise.reject(new Error('the archive must not be asked')),
    binfmtHost: { binfmtDir: join(dir, 'binfmt_misc'), binfmtsDir: join(dir, 'binfmts'), binfmtDDir: join(dir, 'binfmt.d') },
    ...overrides,
  };
}

const absent = (p: string) =>
  access(p).then(
    () => false,
    () => true,
  );

beforeAll(async () => {
  dir = await tempDir();
  for (const d of ['binfmt_misc', 'binfmts', 'binfmt.d']) await mkdir(join(dir, d));
  recipeFile = join(dir, 'multi.ts');
  await writeFile(recipeFile, `export default { name: 'multi', version: '1.0.0', suite: 'bookworm', architectures: ['amd64', 'arm64'] };\n`);
});

describe('a multi-architecture build', () => {
  it('stops before anything is fetched or written when arm64 cannot run here: FOREIGN_ARCH_UNSUPPORTED', async () => {
    await expect(buildRecipe(options({}))).rejects.toMatchObject({ code: 'FOREIGN_ARCH_UNSUPPORTED', exitStatus: 4 });
    expect(await absent(join(dir, 'out'))).toBe(true);
    expect(await absent(join(dir, 'work'))).toBe(true);
  });

  it('with --arch amd64 needs no emulator (and gets as far as the archive)', async () => {
    await expect(buildRecipe(options({ architectures: ['amd64'] }))).rejects.toThrow('the archive must not be asked');
  });

  it('refuses --rootfs for two architectures (one tarball holds one tree) before anything is fetched or written', async () => {
    const rootfsTar = join(dir, 'rootfs.tar');
    await expect(buildRecipe(options({ rootfsTar }))).rejects.toMatchObject({
      code: 'BAD_OPTION',
      exitStatus: 2,
      message: expect.stringMatching(/^--rootfs writes one architecture's root filesystem; multi builds amd64, arm64: add --arch/),
    });
    expect(await absent(rootfsTar)).toBe(true);
    expect(await absent(join(dir, 'out'))).toBe(true);
    expect(await absent(join(dir, 'work'))).toBe(true);
    // Narrowed to one architecture, --rootfs is fine: the build goes on to the archive.
    await expect(buildRecipe(options({ rootfsTar, architectures: ['arm64'] }))).rejects.toMatchObject({ code: 'FOREIGN_ARCH_UNSUPPORTED' });
  });

  it('refuses a mirror option that is more than one URL before the recipe is even read', async () => {
    await expect(
      buildRecipe(
        options({
          recipeFile: join(dir, 'absent.ts'),
          securityMirror: 'http://m.invalid/debian-security\ndeb [trusted=yes] http://evil.invalid/ bookworm main',
        }),
      ),
    ).rejects.toMatchObject({
      code: 'BAD_OPTION',
      exitStatus: 2,
      details: { option: 'securityMirror' },
    });
    expect(await absent(join(dir, 'out'))).toBe(true);
  });

  it('refuses --arch naming an architecture the recipe does not list: BAD_OPTION', async () => {
    await expect(buildRecipe(options({ architectures: ['armhf'] }))).rejects.toMatchObject({
      code: 'BAD_OPTION',
      exitStatus: 2,
      details: { unknown: ['armhf'], architectures: ['amd64', 'arm64'] },
    });
  });
});
