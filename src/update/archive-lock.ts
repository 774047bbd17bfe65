/**
 * `lock --from-archive`: a lock made without a build, from the verified indexes alone. It
 * records the version apt would pick now for each package the recipe names (not their
 * dependencies: resolving those is debootstrap's and apt's job during a build). Useful to
 * watch a package set before the first build, and to test checks against a small archive.
 */
import { fetchVerifiedArchive } from '../archive/verified-archive.js';
import { RecipeError } from '../errors.js';
import { lockFromPackages } from '../lock/build-lock.js';
import type { Lock, LockedPackage } from '../lock/lock.js';
import { recipeFingerprint } from '../lock/recipe-sources.js';
import type { Recipe } from '../recipe/types.js';
import { imgfactoryVersion } from '../version.js';
import { archiveFor, type ArchiveAccess } from './archive-source.js';
import { bestVersions, lookupBest } from './resolve.js';

export async function lockFromArchive(recipe: Recipe, a: ArchiveAccess & { readonly bootstrapper: string }): Promise<Lock> {
  const target = await archiveFor(recipe, a);
  const archive = await fetchVerifiedArchive({ ...target, architectures: recipe.architectures });
  const best = bestVersions(archive.entries());
  const names = [...new Set([...recipe.layers.flatMap((l) => l.packages), ...(recipe.contents?.packages ?? [])])].sort();
  const architectures: Record<string, LockedPackage[]> = {};
  for (const arch of recipe.architectures) {
    architectures[arch] = names.map((name) => {
      const b = lookupBest(best, name, arch) ?? lookupBest(best, name, 'all');
      if (!b) {
        throw new RecipeError('RECIPE_INVALID', `${recipe.name}: package ${name} (${arch}) is in no verified index of ${recipe.suite}`, {
          details: { package: name, architecture: arch },
        });
      }
      const e = b.entry;
      return { name, version: b.version, architecture: e.architecture, source: e.source ?? name, sha256: e.sha256, suite: b.suites[0]! };
    });
  }
  return lockFromPackages(
    {
      recipe,
      fingerprint: await recipeFingerprint(recipe, { bootstrapper: a.bootstrapper }),
      imgfactoryVersion: imgfactoryVersion(),
      sourceDateEpoch: Math.floor(archive.newestReleaseDate.getTime() / 1000),
      keyFingerprints: a.keys.map((k) => k.fingerprint),
      inReleases: archive.inReleases,
      parent: null,
      image: null,
    },
    architectures,
  );
}
