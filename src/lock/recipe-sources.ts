/**
 * Collects the files a recipe's output depends on: the recipe module, the modules it imports
 * (walked through relative imports, `.js` specifiers resolved to the `.ts` file as jiti does),
 * and the files its layers copy in. Paths are relative to the recipe's folder so a lock is the
 * same on every checkout.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { sha256Hex } from '../oci/digest.js';
import type { Recipe } from '../recipe/types.js';
import { LockError } from '../errors.js';
import type { LockedSource } from './lock.js';
import { recipeDigest, relativeImports } from './recipe-digest.js';

/** Build options that change the image bytes; everything else (mirror, out dir) does not. */
export interface OutputOptions {
  readonly bootstrapper: string;
}

export interface RecipeFingerprint {
  readonly digest: string;
  readonly sources: readonly LockedSource[];
  readonly options: Readonly<Record<string, string>>;
}

export async function recipeFingerprint(recipe: Recipe, output: OutputOptions): Promise<RecipeFingerprint> {
  const base = dirname(recipe.file);
  const found = new Map<string, string>();
  const queue = [recipe.file];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (found.has(file)) continue;
    const bytes = await readSource(file, recipe.file);
    found.set(file, sha256Hex(bytes));
    if (!/\.[cm]?[jt]s$/.test(file)) continue;
    for (const spec of relativeImports(bytes.toString('utf8'))) {
      const target = await resolveModule(resolve(dirname(file), spec));
      if (target) queue.push(target);
    }
  }
  for (const layer of recipe.layers) for (const f of layer.files) queue.push(resolve(base, f.src));
  for (const file of queue) if (!found.has(file)) found.set(file, sha256Hex(await readSource(file, recipe.file)));
  const sources = [...found].map(([file, sha256]) => ({ path: relative(base, file).split(sep).join('/'), sha256 }));
  const options = { bootstrapper: output.bootstrapper };
  return { digest: recipeDigest(sources, options), sources, options };
}

async function readSource(file: string, recipeFile: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (cause) {
    throw new LockError('LOCK_INVALID', `${recipeFile}: cannot read ${file}, which the recipe uses`, { cause, details: { file } });
  }
}

/** What jiti loads for a specifier: `x.js` may be `x.ts`; a bare `x` may be `x.ts` or `x/index.ts`. */
async function resolveModule(path: string): Promise<string | undefined> {
  const candidates = [path.replace(/\.js$/, '.ts'), path, `${path}.ts`, `${path}.js`, join(path, 'index.ts'), join(path, 'index.js')];
  for (const c of candidates) {
    if (
      await readFile(c).then(
        () => true,
        () => false,
      )
    )
      return c;
  }
  return undefined;
}
