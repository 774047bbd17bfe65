import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RecipeError, UsageError } from '../../errors.js';
import { hostDebianArch } from '../../oci/platform.js';
import { DEFAULT_RECIPE_TIMEOUT_MS } from '../../recipe/evaluate.js';
import type { LoadOptions } from '../../recipe/load.js';
import { stringOpt, type CommandContext, type OptionSpec } from '../command.js';

/** Recipe arguments: files as given, directories expanded to their `*.ts` files (sorted). */
export async function expandRecipeArgs(args: readonly string[], cwd: string): Promise<string[]> {
  const out: string[] = [];
  for (const a of args) {
    const p = resolve(cwd, a);
    const s = await stat(p).catch(() => undefined);
    // JSON-quoted when odd, so a name with a newline still gives a one-line error.
    if (!s) throw new RecipeError('RECIPE_NOT_FOUND', `${/^[\x21-\x7e]{1,300}$/.test(a) ? a : JSON.stringify(a.slice(0, 300))}: no such file or directory`);
    if (s.isDirectory()) {
      const names = (await readdir(p)).filter((n) => n.endsWith('.ts') && !n.endsWith('.d.ts')).sort();
      out.push(...names.map((n) => join(p, n)));
    } else out.push(p);
  }
  return [...new Set(out)];
}

/** Options shared by the commands that load recipes. */
export const RECIPE_LOAD_OPTIONS: OptionSpec = {
  'recipe-timeout': { type: 'string' },
};

export const RECIPE_LOAD_HELP = `--recipe-timeout <seconds>  time each recipe module has to load and finish (default ${DEFAULT_RECIPE_TIMEOUT_MS / 1000})`;

/**
 * How the CLI loads recipes: each recipe runs in a child process with a time limit; what it
 * prints goes to stderr, prefixed with its file, never to stdout.
 */
export function recipeLoadOptions(ctx: CommandContext): LoadOptions {
  const raw = stringOpt(ctx, 'recipe-timeout');
  let timeoutMs = DEFAULT_RECIPE_TIMEOUT_MS;
  if (raw !== undefined) {
    const seconds = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || !(seconds > 0) || seconds > 3600) {
      throw new UsageError('BAD_OPTION', `--recipe-timeout: expected seconds between 0 and 3600, got ${JSON.stringify(raw.slice(0, 40))}`);
    }
    timeoutMs = Math.round(seconds * 1000);
  }
  return {
    hostArch: hostDebianArch(process.arch),
    displayBase: ctx.cwd,
    timeoutMs,
    onRecipeOutput: (file, line) => ctx.io.err(`recipe ${file}: ${line}`),
  };
}
