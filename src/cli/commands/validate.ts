import { RecipeError } from '../../errors.js';
import { loadRecipeChains } from '../../recipe/load.js';
import { duplicateNameProblems } from '../../recipe/plan.js';
import type { Recipe } from '../../recipe/types.js';
import { printJson, type Command } from '../command.js';
import { expandRecipeArgs, RECIPE_LOAD_HELP, RECIPE_LOAD_OPTIONS, recipeLoadOptions } from './recipe-args.js';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check recipes and print them normalized',
  help: `Usage: imgfactory validate <recipe.ts|dir>... [--json] [--recipe-timeout <seconds>]

Loads each recipe (and its from: parents), validates it, and prints the normalized form.
Exit 0 if every recipe is valid; exit 2 with one line per problem ("file: field: reason").
Two recipes with the same name are an error. Validating a recipe RUNS it (it is a
TypeScript module), in a child process with a time limit; what it prints goes to stderr.

Options:
  ${RECIPE_LOAD_HELP}`,
  options: { ...RECIPE_LOAD_OPTIONS },
  minPositionals: 1,
  async run(ctx) {
    const files = await expandRecipeArgs(ctx.positionals, ctx.cwd);
    const opts = recipeLoadOptions(ctx);
    const valid: Recipe[] = [];
    const problems: string[] = [];
    for (const r of await loadRecipeChains(files, opts)) {
      if (r.error) problems.push(...r.error.message.split('\n'));
      else valid.push(r.chain![r.chain!.length - 1]!);
    }
    problems.push(...duplicateNameProblems(valid, ctx.cwd));
    if (problems.length > 0) {
      throw new RecipeError('RECIPE_INVALID', problems.join('\n'), { details: { problems } });
    }
    if (ctx.json) printJson(ctx.io, valid);
    else for (const r of valid) ctx.io.out(`ok  ${r.name}@${r.version}  ${r.suite}/${r.architectures.join(',')}  ${r.layers.length} layer(s)`);
    return 0;
  },
};
