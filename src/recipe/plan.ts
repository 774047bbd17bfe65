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

export function planBuilds(recipes: readonly Recipe[]): PlanStep[] {
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
