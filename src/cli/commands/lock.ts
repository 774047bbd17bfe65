import { join, resolve } from 'node:path';
import { lockFromBuild, lockPathFor, writeLock } from '../../lock/lock-file.js';
import { hostDebianArch } from '../../oci/platform.js';
import { displayPath, loadRecipe } from '../../recipe/load.js';
import { lockFromArchive } from '../../update/archive-lock.js';
import { boolOpt, printJson, stringOpt, type Command } from '../command.js';
import { createProgress } from '../progress.js';
import { expandRecipeArgs } from './recipe-args.js';
import { checkOptionsFromFlags, UPDATE_OPTIONS, UPDATE_OPTIONS_HELP } from './update-flags.js';

export const lockCommand: Command = {
  name: 'lock',
  summary: "Write a recipe's lock file (<recipe>.lock.json) from its build or from the archive",
  help: `Usage: imgfactory lock <recipe.ts|dir>... [options] [--json]

Writes <recipe>.lock.json beside each recipe: the recipe digest (its file, every module it
imports, every file it copies in, and output-affecting options), the imgfactory version,
SOURCE_DATE_EPOCH, every InRelease (suite, sha256, Date, Valid-Until, signers) and, per
architecture, every package (name, version, architecture, source, sha256, suite). Every
successful build writes it too; \`check\` compares against it.

By default the lock is taken from the build in <out>/<recipe name> (its verified package
manifest). With --from-archive no build is needed: the packages the recipe names are
resolved to the versions apt would pick now from the verified indexes (their dependencies
are not followed).

Options:
  --out <dir>               where the builds are (default: ./out)
  --from-archive            lock the recipe's named packages from the verified indexes
${UPDATE_OPTIONS_HELP}
  --json                    print the written lock files`,
  options: { ...UPDATE_OPTIONS, out: { type: 'string' }, 'from-archive': { type: 'boolean' } },
  minPositionals: 1,
  async run(ctx) {
    const progress = createProgress(ctx.io, !ctx.json);
    const options = await checkOptionsFromFlags(ctx, (m) => progress.info(m));
    const outDir = resolve(ctx.cwd, stringOpt(ctx, 'out') ?? 'out');
    const written: { recipe: string; lockFile: string; packages: number }[] = [];
    for (const file of await expandRecipeArgs(ctx.positionals, ctx.cwd)) {
      const recipe = await loadRecipe(file, { hostArch: hostDebianArch(process.arch), displayBase: ctx.cwd });
      progress.stage('lock', recipe.name);
      const lock = boolOpt(ctx, 'from-archive')
        ? await lockFromArchive(recipe, options)
        : await lockFromBuild({
            recipe,
            layoutDir: join(outDir, recipe.name),
            keyFingerprints: options.keys.map((k) => k.fingerprint),
            output: { bootstrapper: options.bootstrapper },
          });
      const lockFile = lockPathFor(recipe.file);
      await writeLock(lockFile, lock);
      written.push({
        recipe: recipe.name,
        lockFile: displayPath(lockFile, ctx.cwd),
        packages: Object.values(lock.architectures).reduce((n, p) => n + p.length, 0),
      });
    }
    if (ctx.json) printJson(ctx.io, written);
    else for (const w of written) ctx.io.out(`${w.recipe}: ${w.lockFile} (${w.packages} packages)`);
    return 0;
  },
};
