/**
 * Loading recipe modules. Recipes are TypeScript, run in-process with jiti: it needs no
 * loader hooks registered process-wide, can alias `imgfactory` to this very copy of the library
 * (so a recipe outside this package still resolves `defineRecipe`), and can bypass its module
 * cache so a changed recipe is re-read. Input arrives as `unknown` and is parsed by zod here.
 */
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJiti } from 'jiti';
import type { z } from 'zod';
import { RecipeError } from '../errors.js';
import { sha256Hex } from '../oci/digest.js';
import { normalizeRecipe } from './normalize.js';
import { recipeSchema } from './schema.js';
import type { Recipe } from './types.js';

export interface LoadOptions {
  /** Debian architecture of the build host (default for `architectures`). */
  readonly hostArch: string;
  /** Base for relative file names in error messages (default: process.cwd() at the CLI). */
  readonly displayBase?: string;
}

const recipeEntry = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './public.ts' : './public.js', import.meta.url));

const jiti = createJiti(import.meta.url, {
  alias: { imgfactory: recipeEntry },
  moduleCache: false,
  fsCache: false,
  interopDefault: false,
});

export function displayPath(file: string, base = process.cwd()): string {
  const rel = relative(base, file);
  return rel.startsWith('..') ? file : rel;
}

/** `layers[1].packages[0]` from a zod path. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out || '(recipe)';
}

function issueLines(shown: string, issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${shown}: ${formatFieldPath([...issue.path, key])}: unknown key`);
      continue;
    }
    if (issue.code === 'invalid_union') {
      // Report the branch that got furthest, not "invalid input".
      const best = issue.errors.slice().sort((a, b) => deepest(b) - deepest(a))[0];
      if (best && best.length > 0) {
        lines.push(
          ...issueLines(
            shown,
            best.map((i) => ({ ...i, path: [...issue.path, ...i.path] })),
          ),
        );
        continue;
      }
    }
    const msg = issue.message.replace(/^Invalid input: /, '');
    lines.push(`${shown}: ${formatFieldPath(issue.path)}: ${msg}`);
  }
  return lines;
}

function deepest(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length + (i.code === 'invalid_type' ? 0 : 1)));
}

/** Validate an already-imported recipe value. Pure apart from the hashing of its bytes. */
export function parseRecipe(value: unknown, file: string, fileSha256: string, options: LoadOptions): Recipe {
  const shown = displayPath(file, options.displayBase);
  const result = recipeSchema.safeParse(value);
  if (!result.success) {
    const problems = issueLines(shown, result.error.issues);
    throw new RecipeError('RECIPE_INVALID', problems.join('\n'), { details: { file: shown, problems } });
  }
  return normalizeRecipe(result.data, { file, fileSha256, hostArch: options.hostArch });
}

/** Import and validate one recipe module (its parent is not loaded: see loadRecipeChain). */
export async function loadRecipe(path: string, options: LoadOptions): Promise<Recipe> {
  const file = resolve(path);
  const shown = displayPath(file, options.displayBase);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    throw new RecipeError('RECIPE_NOT_FOUND', `${shown}: cannot read recipe (${(cause as NodeJS.ErrnoException).code ?? cause})`, { cause });
  }
  let mod: unknown;
  try {
    mod = await jiti.import(file);
  } catch (cause) {
    const first = String((cause as Error)?.message ?? cause).split('\n')[0];
    throw new RecipeError('RECIPE_LOAD_FAILED', `${shown}: ${first}`, { cause, details: { file: shown } });
  }
  const value = (mod as { default?: unknown } | undefined)?.default;
  if (value === undefined) {
    throw new RecipeError('RECIPE_NO_DEFAULT_EXPORT', `${shown}: no default export (expected \`export default defineRecipe({...})\`)`, {
      details: { file: shown },
    });
  }
  return parseRecipe(value, file, sha256Hex(bytes), options);
}

/**
 * A recipe and its ancestors, root first. `from:` cycles are reported with the chain, naming
 * the `from` field of the recipe that closes the loop.
 */
export async function loadRecipeChain(path: string, options: LoadOptions, cache = new Map<string, Recipe>()): Promise<Recipe[]> {
  const chain: Recipe[] = [];
  const seen: string[] = [];
  let next: string | undefined = resolve(path);
  while (next !== undefined) {
    if (seen.includes(next)) {
      const loop = [...seen.slice(seen.indexOf(next)), next].map((f) => displayPath(f, options.displayBase));
      const closer = displayPath(seen[seen.length - 1]!, options.displayBase);
      throw new RecipeError('RECIPE_CYCLE', `${closer}: from: cycle ${loop.join(' → ')}`, { details: { cycle: loop } });
    }
    seen.push(next);
    let recipe = cache.get(next);
    if (!recipe) {
      recipe = await loadRecipe(next, options);
      cache.set(next, recipe);
    }
    chain.unshift(recipe);
    next = recipe.from;
  }
  return chain;
}
