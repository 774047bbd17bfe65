/** `build --if-changed`: the check a scheduled job runs before deciding to build. */
import { resolve } from 'node:path';
import { LockError } from '../../errors.js';
import { checkRecipe } from '../../update/check.js';
import { printJson, type CommandContext } from '../command.js';
import { createProgress } from '../progress.js';
import { checkOptionsFromFlags } from './update-flags.js';

/** `up-to-date` (already printed) or `build` (a change, or no lock yet). */
export async function ifChanged(ctx: CommandContext): Promise<'up-to-date' | 'build'> {
  const progress = createProgress(ctx.io);
  const options = await checkOptionsFromFlags(ctx, (m) => progress.info(m));
  const file = resolve(ctx.cwd, ctx.positionals[0]!);
  try {
    const r = await checkRecipe(file, options);
    if (r.upToDate) {
      if (ctx.json) printJson(ctx.io, { name: r.recipe, upToDate: true, built: false });
      else ctx.io.out(`${r.recipe}: up to date`);
      return 'up-to-date';
    }
    progress.info(`${r.recipe}: ${r.updates} change(s), ${r.security} security: building`);
  } catch (e) {
    if (!(e instanceof LockError && e.code === 'LOCK_MISSING')) throw e;
    progress.info('no lock yet: building');
  }
  return 'build';
}
