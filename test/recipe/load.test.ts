import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RecipeError } from '../../src/errors.js';
import { loadRecipe, loadRecipeChain, loadRecipeChains } from '../../src/recipe/load.js';
import type { Recipe } from '../../src/recipe/types.js';
import { planBuilds } from '../../src/recipe/plan.js';
import { RECIPES_DIR } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const opts = (dir: string) => ({ hostArch: 'arm64', displayBase: dir });
let dir: string;

async function recipe(name: string, body: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, body);
  return file;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RecipeError);
    return (e as RecipeError).code;
  }
  return 'ACCEPTED';
}

beforeAll(async () => {
  // A folder outside this package: `imgfactory` must still resolve to this copy of the library.
  dir = await tempDir();
  await mkdir(join(dir, 'lib'));
});

describe('loadRecipe', () => {
  it('loads a TypeScript recipe that imports defineRecipe and shares code between recipes', async () => {
    await recipe('lib/base.ts', `export const suite = 'trixie' as const;\nexport const pkgs = (...p: string[]) => p.sort();\n`);
    const f = await recipe(
      'ok.ts',
      `import { defineRecipe } from 'imgfactory';\nimport { suite, pkgs } from './lib/base.js';\n` +
        `export default defineRecipe({ name: 'ok', version: '0.1.0', suite, layers: [{ name: 'tools', packages: pkgs('less', 'curl') }] });\n`,
    );
    const r = await loadRecipe(f, opts(dir));
    expect(r.suite).toBe('trixie');
    expect(r.architectures).toEqual(['arm64']);
    expect(r.layers[0]!.packages).toEqual(['curl', 'less']);
    expect(r.fileSha256).toMatch(/^[a-f0-9]{64}$/);
  });

  it('re-reads a recipe that changed on disk (no stale module cache)', async () => {
    const f = await recipe('changing.ts', `export default { name: 'c', version: '1.0.0', suite: 'bookworm' };\n`);
    expect((await loadRecipe(f, opts(dir))).version).toBe('1.0.0');
    await writeFile(f, `export default { name: 'c', version: '2.0.0', suite: 'bookworm' };\n`);
    expect((await loadRecipe(f, opts(dir))).version).toBe('2.0.0');
  });

  it('reports a syntax error as RECIPE_LOAD_FAILED naming the file', async () => {
    const f = await recipe('syntax.ts', `export default defineRecipe({ name: 'x', \n`);
    await expect(loadRecipe(f, opts(dir))).rejects.toMatchObject({ code: 'RECIPE_LOAD_FAILED', message: expect.stringMatching(/^syntax\.ts: /) });
  });

  it('reports a recipe that throws as RECIPE_LOAD_FAILED with the thrown message', async () => {
    const f = await recipe('throws.ts', `throw new Error('no suite configured');\n`);
    await expect(loadRecipe(f, opts(dir))).rejects.toMatchObject({
      code: 'RECIPE_LOAD_FAILED',
      message: 'throws.ts: no suite configured',
    });
  });

  it('reports a recipe without a default export', async () => {
    const f = await recipe('nothing.ts', `export const recipe = { name: 'x' };\n`);
    expect(await codeOf(loadRecipe(f, opts(dir)))).toBe('RECIPE_NO_DEFAULT_EXPORT');
  });

  it('reports a missing file', async () => {
    expect(await codeOf(loadRecipe(join(dir, 'absent.ts'), opts(dir)))).toBe('RECIPE_NOT_FOUND');
  });
});

describe('from: chains and plan', () => {
  it('loads parents root first', async () => {
    await recipe('a.ts', `export default { name: 'a', version: '1.0.0', suite: 'bookworm' };\n`);
    await recipe('b.ts', `export default { name: 'b', version: '1.0.0', suite: 'bookworm', from: './a.ts' };\n`);
    const c = await recipe('c.ts', `export default { name: 'c', version: '1.0.0', suite: 'bookworm', from: './b.ts' };\n`);
    expect((await loadRecipeChain(c, opts(dir))).map((r) => r.name)).toEqual(['a', 'b', 'c']);
  });

  it('refuses packages on a parent assembled from a package set (it has no apt), naming the field; files are fine', async () => {
    await recipe('assembled.ts', `export default { name: 'assembled', version: '1.0.0', suite: 'bookworm', contents: { packages: ['tzdata'] } };\n`);
    const bad = await recipe(
      'on-assembled.ts',
      `export default { name: 'on-assembled', version: '1.0.0', suite: 'bookworm', from: './assembled.ts',\n` +
        `  layers: [{ name: 'a', users: [{ name: 'app', uid: 1000 }] }, { name: 'b', packages: ['curl'] }] };\n`,
    );
    await expect(loadRecipeChain(bad, opts(dir))).rejects.toMatchObject({
      code: 'RECIPE_INVALID',
      message: 'on-assembled.ts: layers[1].packages: assembled is assembled from a package set (contents) and has no apt or dpkg to install with',
    });
    const ok = await recipe(
      'files-on-assembled.ts',
      `export default { name: 'files-on-assembled', version: '1.0.0', suite: 'bookworm', from: './assembled.ts', layers: [{ name: 'a', users: [{ name: 'app', uid: 1000 }] }] };\n`,
    );
    expect((await loadRecipeChain(ok, opts(dir))).map((r) => r.name)).toEqual(['assembled', 'files-on-assembled']);
  });

  it('detects a from: cycle and names the file and field', async () => {
    await recipe('x.ts', `export default { name: 'x', version: '1.0.0', suite: 'bookworm', from: './y.ts' };\n`);
    const y = await recipe('y.ts', `export default { name: 'y', version: '1.0.0', suite: 'bookworm', from: './x.ts' };\n`);
    await expect(loadRecipeChain(y, opts(dir))).rejects.toMatchObject({
      code: 'RECIPE_CYCLE',
      message: 'x.ts: from: cycle y.ts → x.ts → y.ts',
    });
  });

  it('detects a recipe that is its own parent', async () => {
    const s = await recipe('self.ts', `export default { name: 's', version: '1.0.0', suite: 'bookworm', from: './self.ts' };\n`);
    expect(await codeOf(loadRecipeChain(s, opts(dir)))).toBe('RECIPE_CYCLE');
  });

  it('orders parents before children, by level then path', async () => {
    const cache = new Map<string, Promise<Recipe>>();
    for (const f of ['c.ts', 'a.ts', 'b.ts']) await loadRecipeChain(join(dir, f), opts(dir), cache);
    await loadRecipeChain(join(dir, 'ok.ts'), opts(dir), cache);
    const plan = planBuilds(await Promise.all(cache.values()));
    expect(plan.map((s) => [s.name, s.level])).toEqual([
      ['a', 0],
      ['ok', 0],
      ['b', 1],
      ['c', 2],
    ]);
  });

  it('plans the shipped recipes with debian-minimal before python3', async () => {
    const loaded = await loadRecipeChains(
      ['python3.ts', 'debian-minimal.ts', 'static.ts', 'base.ts', 'debian-trixie-minimal.ts'].map((f) => join(RECIPES_DIR, f)),
      opts(RECIPES_DIR),
    );
    const byFile = new Map(loaded.flatMap((l) => l.chain!).map((r) => [r.file, r]));
    const names = planBuilds([...byFile.values()]).map((s) => s.name);
    expect(names.indexOf('debian-minimal')).toBeLessThan(names.indexOf('python3'));
    expect(names).toHaveLength(5);
  });
});
