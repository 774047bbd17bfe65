/** `plan --changed`: which planned recipes need a rebuild, and why. */
import { LockError } from '../../errors.js';
import type { planBuilds } from '../../recipe/plan.js';
import type { Recipe } from '../../recipe/types.js';
import { checkLoadedRecipe, type CheckOptions } from '../../update/check.js';

/** Recipe file → reasons, for the recipes to rebuild: changed ones and, transitively, their children. */
export async function changedRecipes(
  steps: ReturnType<typeof planBuilds>,
  recipes: ReadonlyMap<string, Recipe>,
  options: CheckOptions,
  onRecipe?: (file: string) => void,
): Promise<Map<string, string[]>> {
  const reasons = new Map<string, string[]>();
  // Steps come parents first, so a parent's verdict is known before its children are looked at.
  for (const step of steps) {
    onRecipe?.(step.file);
    const why: string[] = [];
    try {
      const r = await checkLoadedRecipe(recipes.get(step.file)!, options);
      if (!r.upToDate) why.push(`${r.updates} update${r.updates === 1 ? '' : 's'}, ${r.security} security`);
    } catch (e) {
      if (!(e instanceof LockError && e.code === 'LOCK_MISSING')) throw e;
      why.push('no lock');
    }
    if (step.parent !== null && reasons.has(step.parent)) why.push(`parent ${recipes.get(step.parent)?.name ?? step.parent} is rebuilt`);
    if (why.length > 0) reasons.set(step.file, why);
  }
  return reasons;
}
