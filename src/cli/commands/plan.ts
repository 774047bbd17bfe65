import { hostDebianArch } from '../../oci/platform.js';
import { displayPath, loadRecipeChain } from '../../recipe/load.js';
import { planBuilds } from '../../recipe/plan.js';
import type { Recipe } from '../../recipe/types.js';
import { printJson, type Command } from '../command.js';
import { expandRecipeArgs } from './recipe-args.js';

export const planCommand: Command = {
  name: 'plan',
  summary: 'Print the build order (parents before children)',
  help: `Usage: imgfactory plan <recipe.ts|dir>... [--json]

Loads the recipes and their from: parents and prints the order to build them in. Recipes of
the same level do not depend on each other and may be built in parallel.
--json prints a list usable as a GitHub Actions matrix:
  matrix: { include: \${{ fromJSON(needs.plan.outputs.recipes) }} }`,
  options: {},
  minPositionals: 1,
  async run(ctx) {
    const files = await expandRecipeArgs(ctx.positionals, ctx.cwd);
    const opts = { hostArch: hostDebianArch(process.arch), displayBase: ctx.cwd };
    const cache = new Map<string, Recipe>();
    for (const f of files) await loadRecipeChain(f, opts, cache);
    const steps = planBuilds([...cache.values()]).map((s) => ({
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
        })),
      );
    } else {
      steps.forEach((s, i) =>
        ctx.io.out(`${String(i + 1).padStart(2)}. [level ${s.level}] ${s.recipe}  (${s.name}@${s.version}${s.parent ? `, from ${s.parent}` : ''})`),
      );
    }
    return 0;
  },
};
