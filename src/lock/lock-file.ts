/**
 * Lock files on disk: `recipes/<name>.ts` → `recipes/<name>.lock.json`, beside the recipe so a
 * pull request that changes one shows both. Written atomically; read and validated once.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { splitPackageManifest, type VerifiedPackageManifest } from '../archive/package-manifest.js';
import { LockError } from '../errors.js';
import { PACKAGES_FILE, REPORT_FILE, type BuildReport } from '../image/build-output.js';
import type { Recipe } from '../recipe/types.js';
import { imgfactoryVersion } from '../version.js';
import { lockFromManifests } from './build-lock.js';
import { parseLock, serializeLock, type Lock } from './lock.js';
import { recipeFingerprint, type OutputOptions } from './recipe-sources.js';

export function lockPathFor(recipeFile: string): string {
  return `${recipeFile.replace(/\.[cm]?[jt]s$/, '')}.lock.json`;
}

/** The lock of `recipe`: LOCK_MISSING when there is none, LOCK_RECIPE_MISMATCH when it is another recipe's. */
export async function readLock(file: string, recipe: Pick<Recipe, 'name'>): Promise<Lock> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new LockError('LOCK_MISSING', `${file}: no lock file (run \`imgfactory lock\` or build the recipe)`, { cause, details: { file } });
  }
  const lock = parseLock(text, file);
  if (lock.recipe.name !== recipe.name) {
    throw new LockError('LOCK_RECIPE_MISMATCH', `${file}: is the lock of recipe ${lock.recipe.name}, not ${recipe.name}`, {
      details: { file, lockRecipe: lock.recipe.name, recipe: recipe.name },
    });
  }
  return lock;
}

/** The lock of `recipe` when it exists, else undefined (an invalid lock is still an error). */
export async function readLockIfPresent(file: string, recipe: Pick<Recipe, 'name'>): Promise<Lock | undefined> {
  try {
    return await readLock(file, recipe);
  } catch (e) {
    if (e instanceof LockError && e.code === 'LOCK_MISSING') return undefined;
    throw e;
  }
}

export async function writeLock(file: string, lock: Lock): Promise<void> {
  await writeFileAtomic(file, serializeLock(lock));
}

export interface LockFromBuildOptions {
  readonly recipe: Recipe;
  /** The build's OCI layout directory (out/<name>), holding build.json and packages.json. */
  readonly layoutDir: string;
  readonly keyFingerprints: readonly string[];
  readonly output: OutputOptions;
}

/**
 * The lock of a finished build, from the verified package manifest and report the build wrote
 * beside its layout. A layout built from other recipe bytes is refused: its packages would be
 * recorded under the wrong recipe digest.
 */
export async function lockFromBuild(o: LockFromBuildOptions): Promise<Lock> {
  let report: BuildReport;
  let manifest: VerifiedPackageManifest;
  try {
    report = JSON.parse(await readFile(join(o.layoutDir, REPORT_FILE), 'utf8')) as BuildReport;
    manifest = JSON.parse(await readFile(join(o.layoutDir, PACKAGES_FILE), 'utf8')) as VerifiedPackageManifest;
  } catch (cause) {
    throw new LockError('LOCK_NO_BUILD', `${o.layoutDir}: no build of ${o.recipe.name} here (build it, or use \`lock --from-archive\`)`, {
      cause,
      details: { layoutDir: o.layoutDir },
    });
  }
  if (report.recipe.sha256 !== o.recipe.fileSha256) {
    throw new LockError('LOCK_NO_BUILD', `${o.layoutDir}: was built from other bytes of ${o.recipe.name}'s recipe; build it again`, {
      details: { layoutDir: o.layoutDir },
    });
  }
  const fingerprint = await recipeFingerprint(o.recipe, o.output);
  return lockFromManifests(
    {
      recipe: o.recipe,
      fingerprint,
      imgfactoryVersion: imgfactoryVersion(),
      sourceDateEpoch: report.sourceDateEpoch,
      keyFingerprints: o.keyFingerprints,
      inReleases: manifest.inReleases,
      parent: report.parent ?? null,
      image: { manifestDigest: report.manifestDigest },
    },
    splitPackageManifest(manifest),
  );
}
