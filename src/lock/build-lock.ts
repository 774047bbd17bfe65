/**
 * Builds a lock from verified facts only: a build's verified package manifest (every package
 * proven against a signed index) or packages picked from verified indexes. Pure.
 */
import type { VerifiedInRelease, VerifiedPackageManifest } from '../archive/package-manifest.js';
import type { Recipe } from '../recipe/types.js';
import { LOCK_VERSION, sortPackages, type Lock, type LockedPackage } from './lock.js';
import type { RecipeFingerprint } from './recipe-sources.js';

export interface LockFacts {
  readonly recipe: Recipe;
  readonly fingerprint: RecipeFingerprint;
  readonly imgfactoryVersion: string;
  readonly sourceDateEpoch: number;
  readonly keyFingerprints: readonly string[];
  readonly inReleases: readonly VerifiedInRelease[];
  readonly parent: { readonly name: string; readonly manifestDigest: string } | null;
  readonly image: { readonly manifestDigest: string } | null;
}

export function lockFromManifests(facts: LockFacts, manifests: readonly VerifiedPackageManifest[]): Lock {
  const architectures: Record<string, LockedPackage[]> = {};
  for (const m of manifests) {
    architectures[m.architecture] = sortPackages(
      m.packages.map((p) => ({ name: p.package, version: p.version, architecture: p.architecture, source: p.source, sha256: p.sha256, suite: p.suite })),
    );
  }
  return assemble(facts, 'build', architectures);
}

export function lockFromPackages(facts: LockFacts, architectures: Readonly<Record<string, readonly LockedPackage[]>>): Lock {
  return assemble(facts, 'archive', Object.fromEntries(Object.entries(architectures).map(([a, p]) => [a, sortPackages(p)])));
}

function assemble(facts: LockFacts, origin: Lock['origin'], architectures: Record<string, readonly LockedPackage[]>): Lock {
  const { recipe, fingerprint } = facts;
  return {
    lockVersion: LOCK_VERSION,
    recipe: { name: recipe.name, version: recipe.version, digest: fingerprint.digest, sources: fingerprint.sources, options: fingerprint.options },
    imgfactoryVersion: facts.imgfactoryVersion,
    sourceDateEpoch: facts.sourceDateEpoch,
    origin,
    suite: recipe.suite,
    components: [...recipe.components],
    updates: recipe.updates,
    keys: [...facts.keyFingerprints].sort(),
    parent: facts.parent,
    image: facts.image,
    inReleases: facts.inReleases.map((r) => ({
      suite: r.suite,
      sha256: r.sha256,
      date: r.date,
      validUntil: r.validUntil ?? null,
      signers: r.signers.map((s) => s.fingerprint).sort(),
    })),
    architectures,
  };
}
