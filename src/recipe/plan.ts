/**
 * Build order for a set of recipes: parents before children (Kahn's algorithm, ties broken by
 * file path so the order is stable). Pure: takes loaded recipes, returns data.
 */
import { RecipeError } from '../errors.js';
import type { Recipe } from './types.js';

export interface PlanStep {
  readonly file: string;
  readonly name: string;
  readonly version: string;
  readonly suite: string;
  readonly architectures: readonly string[];
  readonly parent: string | null;
  /** 0 for recipes without `from`; parent's level + 1 otherwise. Same level ⇒ may run in parallel. */
  readonly level: number;
}

/** Relative display of a recipe file (pure: the base is an argument). */
function shownFile(file: string, base: string | undefined): string {
  if (base === undefined) return file;
  const prefix = base.endsWith('/') ? base : `${base}/`;
  return file.startsWith(prefix) ? file.slice(prefix.length) : file;
}

/**
 * One line per recipe name used by more than one file. Names are image names: two recipes
 * with one name would build, tag and publish over each other.
 */
export function duplicateNameProblems(recipes: readonly Recipe[], base?: string): string[] {
  const files = new Map<string, string[]>();
  for (const r of recipes) files.set(r.name, [...new Set([...(files.get(r.name) ?? []), r.file])]);
  const out: string[] = [];
  for (const [name, list] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (list.length < 2) continue;
    const shown = list.sort().map((f) => shownFile(f, base));
    out.push(`${shown[1]}: name: "${name}" is also the name of ${shown[0]}${shown.length > 2 ? ` and ${shown.length - 2} more` : ''}`);
  }
  return out;
}

export function planBuilds(recipes: readonly Recipe[], displayBase?: string): PlanStep[] {
  const duplicates = duplicateNameProblems(recipes, displayBase);
  if (duplicates.length > 0) throw new RecipeError('RECIPE_DUPLICATE_NAME', duplicates.join('\n'), { details: { problems: duplicates } });
  const byFile = new Map(recipes.map((r) => [r.file, r]));
  for (const r of recipes) {
    if (r.from !== undefined && !byFile.has(r.from)) {
      throw new RecipeError('RECIPE_NOT_FOUND', `${r.file}: from: parent ${r.from} is not part of the plan`);
    }
  }
  const children = new Map<string, string[]>();
  const indegree = new Map<string, number>();
  for (const r of recipes) {
    indegree.set(r.file, r.from === undefined ? 0 : 1);
    if (r.from !== undefined) children.set(r.from, [...(children.get(r.from) ?? []), r.file]);
  }
  const level = new Map<string, number>();
  const ready = recipes
    .filter((r) => r.from === undefined)
    .map((r) => r.file)
    .sort();
  for (const f of ready) level.set(f, 0);
  const order: PlanStep[] = [];
  while (ready.length > 0) {
    const file = ready.shift()!;
    const r = byFile.get(file)!;
    order.push({
      file,
      name: r.name,
      version: r.version,
      suite: r.suite,
      architectures: r.architectures,
      parent: r.from ?? null,
      level: level.get(file)!,
    });
    for (const child of (children.get(file) ?? []).sort()) {
      indegree.set(child, indegree.get(child)! - 1);
      if (indegree.get(child) === 0) {
        level.set(child, level.get(file)! + 1);
        ready.push(child);
        ready.sort();
      }
    }
  }
  if (order.length !== recipes.length) {
    const stuck = recipes.filter((r) => !level.has(r.file)).map((r) => r.file);
    throw new RecipeError('RECIPE_CYCLE', `${stuck[0]}: from: cycle among ${stuck.join(', ')}`, { details: { cycle: stuck } });
  }
  // Level first, then path: the printed order reads as stages of a build matrix.
  return order.sort((a, b) => a.level - b.level || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}
