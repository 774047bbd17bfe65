import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RecipeError } from '../../errors.js';

/** Recipe arguments: files as given, directories expanded to their `*.ts` files (sorted). */
export async function expandRecipeArgs(args: readonly string[], cwd: string): Promise<string[]> {
  const out: string[] = [];
  for (const a of args) {
    const p = resolve(cwd, a);
    const s = await stat(p).catch(() => undefined);
    if (!s) throw new RecipeError('RECIPE_NOT_FOUND', `${a}: no such file or directory`);
    if (s.isDirectory()) {
      const names = (await readdir(p)).filter((n) => n.endsWith('.ts') && !n.endsWith('.d.ts')).sort();
      out.push(...names.map((n) => join(p, n)));
    } else out.push(p);
  }
  return [...new Set(out)];
}
