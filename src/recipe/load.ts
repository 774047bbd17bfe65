/**
 * Loading recipe modules. Recipes are TypeScript and are code: each one runs in a child
 * process (evaluate.ts) with a time limit, and only its default export comes back, as JSON.
 * That data arrives here as `unknown` and is parsed by zod; nothing else from the recipe is trusted.
 */
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import type { z } from 'zod';
import { RecipeError } from '../errors.js';
import { sha256Hex } from '../oci/digest.js';
import { evaluateRecipeModule } from './evaluate.js';
import { normalizeRecipe } from './normalize.js';
import { recipeSchema } from './schema.js';
import type { Recipe } from './types.js';

export interface LoadOptions {
  /** Debian architecture of the build host (default for `architectures`). */
  readonly hostArch: string;
  /** Base for relative file names in error messages (default: process.cwd() at the CLI). */
  readonly displayBase?: string;
  /** Time a recipe module has to load and finish (default DEFAULT_RECIPE_TIMEOUT_MS, 30 s). */
  readonly timeoutMs?: number;
  /** Lines a recipe printed while loading (never the CLI's stdout). Default: dropped. */
  readonly onRecipeOutput?: (file: string, line: string) => void;
  readonly signal?: AbortSignal;
}

export function displayPath(file: string, base = process.cwd()): string {
  const rel = relative(base, file);
  return rel.startsWith('..') ? file : rel;
}

/**
 * `layers[1].packages[0]` from a zod path. A key that is not a plain word (a label key with a
 * newline, say) is shown JSON-quoted, so every problem stays on one line.
 */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const key = String(seg);
      const shown = /[\u0000-\u001f\u007f\u2028\u2029]/.test(key) || key.length > 200 ? JSON.stringify(key.slice(0, 200)) : key;
      out += out === '' ? shown : `.${shown}`;
    }
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
    const msg = issue.message
      .replace(/^Invalid input: /, '')
      .replace(/\s+/g, ' ')
      .slice(0, 300);
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
    throw new RecipeError('RECIPE_NOT_FOUND', `${shown}: cannot read recipe (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`, { cause });
  }
  const evaluated = await evaluateRecipeModule(file, {
    shown,
    timeoutMs: options.timeoutMs,
    onOutput: options.onRecipeOutput && ((line) => options.onRecipeOutput!(shown, line)),
    signal: options.signal,
  });
  if (evaluated.kind === 'no-default-export') {
    throw new RecipeError('RECIPE_NO_DEFAULT_EXPORT', `${shown}: no default export (expected \`export default defineRecipe({...})\`)`, {
      details: { file: shown },
    });
  }
  const value = evaluated.value;
  return parseRecipe(value, file, sha256Hex(bytes), options);
}

/**
 * A recipe and its ancestors, root first. `from:` cycles are reported with the chain, naming
 * the `from` field of the recipe that closes the loop.
 */
export async function loadRecipeChain(path: string, options: LoadOptions, cache = new Map<string, Promise<Recipe>>()): Promise<Recipe[]> {
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
    // A promise per file: chains loaded concurrently share one evaluation of a common parent.
    let pending = cache.get(next);
    if (!pending) {
      pending = loadRecipe(next, options);
      pending.catch(() => undefined); // awaited below; a concurrent sharer must not see an unhandled rejection
      cache.set(next, pending);
    }
    const recipe: Recipe = await pending;
    if (chain[0] && recipe.contents) refuseAptOnAssembled(chain[0], recipe, options.displayBase);
    chain.unshift(recipe);
    next = recipe.from;
  }
  return chain;
}

/**
 * A parent assembled from a package set (`contents`) has no apt and no dpkg: a child may add
 * files and users on top of it, but cannot install or purge packages there.
 */
function refuseAptOnAssembled(child: Recipe, parent: Recipe, displayBase: string | undefined): void {
  const problems = child.layers.flatMap((l, i) => [
    ...(l.packages.length > 0 ? [`layers[${i}].packages`] : []),
    ...(l.remove.packages.length > 0 ? [`layers[${i}].remove.packages`] : []),
  ]);
  if (problems.length === 0) return;
  const lines = problems.map(
    (field) =>
      `${displayPath(child.file, displayBase)}: ${field}: ${parent.name} is assembled from a package set (contents) and has no apt or dpkg to install with`,
  );
  throw new RecipeError('RECIPE_INVALID', lines.join('\n'), { details: { problems: lines } });
}

/**
 * Several recipe arguments at once, each with its chain, evaluated a few at a time (each
 * recipe is a child process). Returns, per file, the chain or the RecipeError it failed with.
 */
export async function loadRecipeChains(
  files: readonly string[],
  options: LoadOptions,
  concurrency = 4,
): Promise<{ file: string; chain?: Recipe[]; error?: RecipeError }[]> {
  const cache = new Map<string, Promise<Recipe>>();
  const results: { file: string; chain?: Recipe[]; error?: RecipeError }[] = files.map((file) => ({ file }));
  let nextIndex = 0;
  const worker = async () => {
    while (nextIndex < files.length) {
      const i = nextIndex++;
      try {
        results[i]!.chain = await loadRecipeChain(files[i]!, options, cache);
      } catch (e) {
        if (!(e instanceof RecipeError)) throw e;
        results[i]!.error = e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return results;
}
