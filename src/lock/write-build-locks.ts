/**
 * After a successful build: rewrite the lock of the recipe and of every parent built on the way,
 * from what each build wrote beside its layout (the verified package manifest and report).
 */
import { loadPinnedKeys } from '../archive/keyring.js';
import type { BuildReport, BuildResult } from '../pipeline/build.js';
import { loadRecipe } from '../recipe/load.js';
import { lockFromBuild, lockPathFor, writeLock } from './lock-file.js';
import type { OutputOptions } from './recipe-sources.js';

export interface WriteBuildLocksOptions {
  readonly keysDir: string;
  readonly hostArch: string;
  readonly output: OutputOptions;
}

/** The lock files written, parents first. */
export async function writeBuildLocks(result: BuildResult, o: WriteBuildLocksOptions): Promise<string[]> {
  const keyFingerprints = (await loadPinnedKeys(o.keysDir)).map((k) => k.fingerprint);
  const written: string[] = [];
  const one = async (report: BuildReport, recipe = result.recipe) => {
    const lock = await lockFromBuild({ recipe, layoutDir: report.layoutDir, keyFingerprints, output: o.output });
    const file = lockPathFor(recipe.file);
    await writeLock(file, lock);
    written.push(file);
  };
  for (const p of result.parents) await one(p, await loadRecipe(p.recipe.file, { hostArch: o.hostArch }));
  await one(result.report);
  return written;
}
