/**
 * Two package lists → added, removed, upgraded, downgraded. A version the newer side proved
 * from `<suite>-security` is marked security (only sides with a verified manifest know the
 * suite). Pure.
 */
import { compareDebianVersions } from '../archive/debian-version.js';
import type { PackageRecord } from './types.js';

export interface PackageVersionChange {
  readonly package: string;
  readonly architecture: string;
  readonly oldVersion: string;
  readonly newVersion: string;
  readonly suite?: string;
  readonly security: boolean;
}

export interface PackagesDiff {
  readonly added: readonly PackageRecord[];
  readonly removed: readonly PackageRecord[];
  readonly upgraded: readonly PackageVersionChange[];
  readonly downgraded: readonly PackageVersionChange[];
}

const key = (p: PackageRecord) => `${p.package}:${p.architecture}`;

export function diffPackages(a: readonly PackageRecord[], b: readonly PackageRecord[]): PackagesDiff {
  const before = new Map(a.map((p) => [key(p), p]));
  const after = new Map(b.map((p) => [key(p), p]));
  const added: PackageRecord[] = [];
  const removed: PackageRecord[] = [];
  const upgraded: PackageVersionChange[] = [];
  const downgraded: PackageVersionChange[] = [];
  for (const [k, old] of before) {
    const now = after.get(k);
    if (!now) {
      removed.push(old);
      continue;
    }
    const order = compareDebianVersions(now.version, old.version);
    if (order === 0) continue;
    const change: PackageVersionChange = {
      package: now.package,
      architecture: now.architecture,
      oldVersion: old.version,
      newVersion: now.version,
      ...(now.suite ? { suite: now.suite } : {}),
      security: now.suite?.endsWith('-security') ?? false,
    };
    (order > 0 ? upgraded : downgraded).push(change);
  }
  for (const [k, now] of after) if (!before.has(k)) added.push(now);
  const byName = (x: { package: string; architecture: string }, y: { package: string; architecture: string }) =>
    x.package < y.package ? -1 : x.package > y.package ? 1 : x.architecture < y.architecture ? -1 : x.architecture > y.architecture ? 1 : 0;
  return { added: added.sort(byName), removed: removed.sort(byName), upgraded: upgraded.sort(byName), downgraded: downgraded.sort(byName) };
}
