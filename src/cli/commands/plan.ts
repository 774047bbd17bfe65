import { RecipeError } from '../../errors.js';
import { displayPath, loadRecipeChains } from '../../recipe/load.js';
import { planBuilds } from '../../recipe/plan.js';
import type { Recipe } from '../../recipe/types.js';
import { boolOpt, printJson, type Command } from '../command.js';
import { createProgress } from '../progress.js';
import { changedRecipes } from './plan-changed.js';
import { expandRecipeArgs, RECIPE_LOAD_HELP, RECIPE_LOAD_OPTIONS, recipeLoadOptions } from './recipe-args.js';
import { checkOptionsFromFlags, UPDATE_OPTIONS, UPDATE_OPTIONS_HELP } from './update-flags.js';

export const planCommand: Command = {
  name: 'plan',
  summary: 'Print the build order (parents before children)',
  help: `Usage: imgfactory plan <recipe.ts|dir>... [--json] [--recipe-timeout <seconds>]

Loads the recipes and their from: parents and prints the order to build them in. Recipes of
the same level do not depend on each other and may be built in parallel. Two recipes with
the same name are an error. Planning RUNS each recipe (see validate --help).
--json prints a list usable as a GitHub Actions matrix (stdout holds only that JSON):
  matrix: { include: \${{ fromJSON(needs.plan.outputs.recipes) }} }

--changed keeps only the recipes that need a rebuild (see imgfactory check: archive updates, a
changed recipe or parent, changed keys, or no lock yet) and the children of those, parents
first; each entry then says why. The update options apply to --changed only.

Options:
  ${RECIPE_LOAD_HELP}
${UPDATE_OPTIONS_HELP}`,
  options: { changed: { type: 'boolean' }, ...RECIPE_LOAD_OPTIONS, ...UPDATE_OPTIONS },
  minPositionals: 1,
  async run(ctx) {
    const files = await expandRecipeArgs(ctx.positionals, ctx.cwd);
    const byFile = new Map<string, Recipe>();
    const problems: string[] = [];
    for (const r of await loadRecipeChains(files, recipeLoadOptions(ctx))) {
      if (r.error) problems.push(...r.error.message.split('\n'));
      else for (const recipe of r.chain!) byFile.set(recipe.file, recipe);
    }
    if (problems.length > 0) throw new RecipeError('RECIPE_INVALID', problems.join('\n'), { details: { problems } });
    let planned = planBuilds([...byFile.values()], ctx.cwd);
    let reasons = new Map<string, string[]>();
    if (boolOpt(ctx, 'changed')) {
      const progress = createProgress(ctx.io, !ctx.json);
      const options = await checkOptionsFromFlags(ctx, (m) => progress.info(m));
      reasons = await changedRecipes(planned, byFile, options, (f) => progress.stage('check', displayPath(f, ctx.cwd)));
      planned = planned.filter((s) => reasons.has(s.file));
    }
    const steps = planned.map((s) => ({
      ...s,
      recipe: displayPath(s.file, ctx.cwd),
      parent: s.parent === null ? null : displayPath(s.parent, ctx.cwd),
    }));
    if (ctx.json) {
      printJson(
        ctx.io,
        steps.map((s) => ({
          recipe: s.recipe,
          name: s.name,
          version: s.version,
          suite: s.suite,
          architectures: s.architectures,
          parent: s.parent,
          level: s.level,
          ...(reasons.has(s.file) ? { reasons: reasons.get(s.file) } : {}),
        })),
      );
    } else {
      steps.forEach((s, i) =>
        ctx.io.out(
          `${String(i + 1).padStart(2)}. [level ${s.level}] ${s.recipe}  (${s.name}@${s.version}${s.parent ? `, from ${s.parent}` : ''})${reasons.has(s.file) ? `  ${reasons.get(s.file)!.join('; ')}` : ''}`,
        ),
      );
    }
    return 0;
  },
};
