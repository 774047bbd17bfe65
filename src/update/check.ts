/**
 * `check`: is a recipe's lock still what the archive would give now? Cheapest first: fetch and
 * verify only the InRelease files (exactly as a build does); byte-identical to the lock's ⇒ no
 * package can have changed and no Packages index is downloaded. Otherwise the verified indexes
 * are fetched and every locked package is resolved again (see resolve.ts).
 */
import { fetchVerifiedArchive, fetchVerifiedInReleases } from '../archive/verified-archive.js';
import { readLock, readLockIfPresent, lockPathFor } from '../lock/lock-file.js';
import { recipeFingerprint } from '../lock/recipe-sources.js';
import type { LockedPackage } from '../lock/lock.js';
import { loadRecipe, type LoadOptions } from '../recipe/load.js';
import type { Recipe } from '../recipe/types.js';
import { archiveFor, type ArchiveAccess } from './archive-source.js';
import { bestVersions, nonArchiveChanges, packageChanges, sameInReleases, summarize, type Change } from './resolve.js';

export interface CheckOptions extends ArchiveAccess {
  readonly load: LoadOptions;
  /** Output-affecting build options the lock's digest was made with. */
  readonly bootstrapper: string;
  /** Lock file to compare with (default: beside the recipe). */
  readonly lockFile?: string;
  /** Shares verified InRelease fetches between the recipes of one run (several recipes, one suite). */
  readonly inReleaseMemo?: Map<string, ReturnType<typeof fetchVerifiedInReleases>>;
}

export interface RecipeCheck {
  /** The recipe name, or the registry reference of an image checked from its SBOM. */
  readonly recipe: string;
  /**
   * What `imgfactory report` keys an image by: the recipe name (or the repository's last path
   * component), where it is published (`host[:port]/path`, when it is), and the status.
   */
  readonly name: string;
  readonly repository?: string;
  readonly status: 'up-to-date' | 'updates';
  /** The recipe file and its lock (recipe checks). */
  readonly file?: string;
  readonly lockFile?: string;
  /** The image's manifest digest (registry checks). */
  readonly manifestDigest?: string;
  readonly upToDate: boolean;
  /** Answered from the InRelease files alone: no Packages index was read. */
  readonly inReleaseOnly: boolean;
  /** Suites whose InRelease differs from the lock's (or is new to it). */
  readonly changedSuites: readonly string[];
  readonly changes: readonly Change[];
  readonly updates: number;
  readonly security: number;
}

export async function checkRecipe(recipeFile: string, o: CheckOptions): Promise<RecipeCheck> {
  const recipe = await loadRecipe(recipeFile, o.load);
  return checkLoadedRecipe(recipe, o);
}

export async function checkLoadedRecipe(recipe: Recipe, o: CheckOptions): Promise<RecipeCheck> {
  const lockFile = o.lockFile ?? lockPathFor(recipe.file);
  const lock = await readLock(lockFile, recipe);
  const fingerprint = await recipeFingerprint(recipe, { bootstrapper: o.bootstrapper });
  const parent = recipe.from ? await parentDigest(recipe.from, o) : undefined;
  const changes: Change[] = nonArchiveChanges(lock, {
    recipeDigest: fingerprint.digest,
    keys: o.keys.map((k) => k.fingerprint),
    ...(parent ? { parent } : {}),
  });

  const target = await archiveFor(recipe, o);
  const memoKey = JSON.stringify([target.mirror, target.securityMirror, target.suite, target.updates]);
  let fetching = o.inReleaseMemo?.get(memoKey);
  if (!fetching) {
    fetching = fetchVerifiedInReleases(target);
    o.inReleaseMemo?.set(memoKey, fetching);
  }
  const { inReleases } = await fetching;
  const lockSuites = new Map(lock.inReleases.map((r) => [r.suite, r.sha256]));
  const changedSuites = inReleases.filter((r) => lockSuites.get(r.suite) !== r.sha256).map((r) => r.suite);
  const inReleaseOnly = sameInReleases(lock, inReleases);
  if (!inReleaseOnly) {
    const archive = await fetchVerifiedArchive({ ...target, architectures: Object.keys(lock.architectures) });
    const best = bestVersions(archive.entries());
    // An `all` package is locked under every architecture of a multi-platform image: report it once.
    const locked = new Map<string, LockedPackage>();
    for (const arch of Object.keys(lock.architectures).sort())
      for (const p of lock.architectures[arch]!) locked.set(`${p.name}\0${p.architecture}\0${p.version}`, p);
    changes.push(...packageChanges([...locked.values()], best, recipe.suite));
  }
  const s = summarize(changes);
  return {
    recipe: recipe.name,
    name: recipe.name,
    ...(recipe.publish ? { repository: recipe.publish.repository } : {}),
    status: changes.length === 0 ? 'up-to-date' : 'updates',
    file: recipe.file,
    lockFile,
    upToDate: changes.length === 0,
    inReleaseOnly,
    changedSuites,
    changes,
    ...s,
  };
}

/** The parent's published digest, as its own lock records it (undefined when it has none yet). */
async function parentDigest(parentFile: string, o: CheckOptions): Promise<{ name: string; manifestDigest: string | null } | undefined> {
  const parent = await loadRecipe(parentFile, o.load);
  const lock = await readLockIfPresent(lockPathFor(parent.file), parent);
  if (!lock) return undefined;
  return { name: parent.name, manifestDigest: lock.image?.manifestDigest ?? null };
}
