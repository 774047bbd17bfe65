import { RecipeError } from '../../errors.js';
import { hostDebianArch } from '../../oci/platform.js';
import { loadRecipeChain } from '../../recipe/load.js';
import type { Recipe } from '../../recipe/types.js';
import { printJson, type Command } from '../command.js';
import { expandRecipeArgs } from './recipe-args.js';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'Check recipes and print them normalized',
  help: `Usage: imgfactory validate <recipe.ts|dir>... [--json]

Loads each recipe (and its from: parents), validates it, and prints the normalized form.
Exit 0 if every recipe is valid; exit 2 with one line per problem ("file: field: reason").`,
  options: {},
  minPositionals: 1,
  async run(ctx) {
    const files = await expandRecipeArgs(ctx.positionals, ctx.cwd);
    const opts = { hostArch: hostDebianArch(process.arch), displayBase: ctx.cwd };
    const valid: Recipe[] = [];
    const problems: string[] = [];
    const cache = new Map<string, Recipe>();
    for (const f of files) {
      try {
        const chain = await loadRecipeChain(f, opts, cache);
        valid.push(chain[chain.length - 1]!);
      } catch (e) {
        if (!(e instanceof RecipeError)) throw e;
        problems.push(...e.message.split('\n'));
      }
    }
    if (problems.length > 0) {
      throw new RecipeError('RECIPE_INVALID', problems.join('\n'), { details: { problems } });
    }
    if (ctx.json) printJson(ctx.io, valid);
    else for (const r of valid) ctx.io.out(`ok  ${r.name}@${r.version}  ${r.suite}/${r.architectures.join(',')}  ${r.layers.length} layer(s)`);
    return 0;
  },
};
