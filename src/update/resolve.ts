/**
 * The update resolver: for every locked package, the version apt would install now (the
 * highest Debian version over the suite, `-updates` and `-security`), and what else makes an
 * image stale (recipe, parent, pinned keys). Pure: verified index entries and a lock in,
 * a list of changes out. A newer version is a **security** update when `<suite>-security`
 * carries it: the classification comes from signed indexes only.
 */
import { compareDebianVersions } from '../archive/debian-version.js';
import type { Lock, LockedPackage } from '../lock/lock.js';

/** The fields of a verified index entry the resolver needs (an ArchivePackage has them all). */
export interface Candidate {
  readonly package: string;
  readonly version: string;
  readonly architecture: string;
  readonly source?: string;
  readonly sha256: string;
  readonly suite: string;
}

export interface PackageUpdate {
  readonly kind: 'package';
  readonly architecture: string;
  readonly package: string;
  readonly oldVersion: string;
  readonly newVersion: string;
  /** The suite the new version comes from (the security suite when it is one of several). */
  readonly suite: string;
  readonly security: boolean;
  /** `downgrade`: the locked version was withdrawn and only an older one remains. */
  readonly direction: 'upgrade' | 'downgrade';
}

export type Change =
  | PackageUpdate
  | { readonly kind: 'vanished'; readonly architecture: string; readonly package: string; readonly oldVersion: string }
  | { readonly kind: 'recipe'; readonly oldDigest: string; readonly newDigest: string }
  | { readonly kind: 'parent'; readonly parent: string; readonly oldDigest: string | null; readonly newDigest: string | null }
  | { readonly kind: 'keys'; readonly added: readonly string[]; readonly removed: readonly string[] };

export interface Best {
  readonly version: string;
  /** Every suite that carries this version, in index order. */
  readonly suites: readonly string[];
  readonly entry: Candidate;
}

const key = (name: string, arch: string) => `${name}\0${arch}`;

/** The version apt would pick for each name+architecture: the highest, whatever suite it is in. */
export function bestVersions(candidates: Iterable<Candidate>): Map<string, Best> {
  const best = new Map<string, Best>();
  for (const c of candidates) {
    const k = key(c.package, c.architecture);
    const cur = best.get(k);
    const order = cur === undefined ? 1 : compareDebianVersions(c.version, cur.version);
    if (order > 0) best.set(k, { version: c.version, suites: [c.suite], entry: c });
    else if (order === 0 && !cur!.suites.includes(c.suite)) best.set(k, { ...cur!, suites: [...cur!.suites, c.suite] });
  }
  return best;
}

export function lookupBest(best: ReadonlyMap<string, Best>, name: string, arch: string): Best | undefined {
  return best.get(key(name, arch));
}

/** Package changes of one architecture's locked packages against the best versions now. */
export function packageChanges(locked: readonly LockedPackage[], best: ReadonlyMap<string, Best>, baseSuite: string): Change[] {
  const security = `${baseSuite}-security`;
  const out: Change[] = [];
  for (const p of locked) {
    const b = best.get(key(p.name, p.architecture));
    if (!b) {
      out.push({ kind: 'vanished', architecture: p.architecture, package: p.name, oldVersion: p.version });
      continue;
    }
    const order = compareDebianVersions(b.version, p.version);
    if (order === 0) continue;
    const isSecurity = b.suites.includes(security);
    out.push({
      kind: 'package',
      architecture: p.architecture,
      package: p.name,
      oldVersion: p.version,
      newVersion: b.version,
      suite: isSecurity ? security : b.suites[0]!,
      security: isSecurity,
      direction: order > 0 ? 'upgrade' : 'downgrade',
    });
  }
  return out;
}

/** Changes that need no index: the recipe, the parent's published digest, the pinned keys. */
export function nonArchiveChanges(
  lock: Lock,
  now: { readonly recipeDigest: string; readonly keys: readonly string[]; readonly parent?: { readonly name: string; readonly manifestDigest: string | null } },
): Change[] {
  const out: Change[] = [];
  if (lock.recipe.digest !== now.recipeDigest) out.push({ kind: 'recipe', oldDigest: lock.recipe.digest, newDigest: now.recipeDigest });
  if (now.parent && (lock.parent?.manifestDigest ?? null) !== now.parent.manifestDigest) {
    out.push({ kind: 'parent', parent: now.parent.name, oldDigest: lock.parent?.manifestDigest ?? null, newDigest: now.parent.manifestDigest });
  }
  const added = now.keys.filter((k) => !lock.keys.includes(k)).sort();
  const removed = lock.keys.filter((k) => !now.keys.includes(k)).sort();
  if (added.length > 0 || removed.length > 0) out.push({ kind: 'keys', added, removed });
  return out;
}

/** True when the suites and InRelease bytes now are exactly those of the lock. */
export function sameInReleases(lock: Lock, now: readonly { readonly suite: string; readonly sha256: string }[]): boolean {
  const a = lock.inReleases.map((r) => `${r.suite} ${r.sha256}`).sort();
  const b = now.map((r) => `${r.suite} ${r.sha256}`).sort();
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function summarize(changes: readonly Change[]): { readonly updates: number; readonly security: number } {
  return {
    updates: changes.length,
    security: changes.filter((c) => c.kind === 'package' && c.security).length,
  };
}
