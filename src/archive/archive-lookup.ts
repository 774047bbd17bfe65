/** Lookups over verified Packages indexes: by name+version+architecture and by .deb hash. Pure. */
import type { PackageEntry } from './packages-index.js';

/** An index entry together with where it was proven. */
export interface ArchivePackage extends PackageEntry {
  /** `bookworm`, `bookworm-updates`, `bookworm-security`. */
  readonly suite: string;
  readonly component: string;
  /** Archive base URL: the pool file is `<archiveUrl>/<filename>`. */
  readonly archiveUrl: string;
}

export interface ArchiveLookup {
  /** The first match in index order (base suite, then updates, then security). */
  find(name: string, version: string, arch: string): ArchivePackage | undefined;
  /** Every match, in index order: the same version can be in several suites. */
  findAll(name: string, version: string, arch: string): readonly ArchivePackage[];
  findBySha256(sha256: string): readonly ArchivePackage[];
  /** Every entry, in index order. */
  entries(): readonly ArchivePackage[];
}

/** `packages` in priority order; an identical entry repeated in a later index is kept (it is more proof, not a conflict). */
export function buildArchiveLookup(packages: Iterable<ArchivePackage>): ArchiveLookup {
  const all: ArchivePackage[] = [];
  // Keyed by the entries' own strings (no new key string per package: 66,000 of them in bookworm).
  const byName = new Map<string, ArchivePackage[]>();
  const bySha = new Map<string, ArchivePackage[]>();
  const add = (m: Map<string, ArchivePackage[]>, k: string, p: ArchivePackage) => {
    const list = m.get(k);
    if (list) list.push(p);
    else m.set(k, [p]);
  };
  for (const p of packages) {
    all.push(p);
    add(byName, p.package, p);
    add(bySha, p.sha256, p);
  }
  const findAll = (name: string, version: string, arch: string): readonly ArchivePackage[] =>
    (byName.get(name) ?? []).filter((p) => p.version === version && p.architecture === arch);
  return {
    find: (name, version, arch) => findAll(name, version, arch)[0],
    findAll,
    findBySha256: (sha256) => bySha.get(sha256.toLowerCase()) ?? [],
    entries: () => all,
  };
}

/**
 * The part of a lookup one architecture's root filesystem may be proven against: its own
 * indexes and the architecture-independent packages. An arm64 root is never "proven" by an
 * amd64 package that happens to share name and version. Pure.
 */
export function lookupForArchitecture(lookup: ArchiveLookup, arch: string): ArchiveLookup {
  const fits = (p: ArchivePackage) => p.architecture === arch || p.architecture === 'all';
  const entries = lookup.entries().filter(fits);
  return {
    find: (name, version, a) => lookup.findAll(name, version, a).find(fits),
    findAll: (name, version, a) => lookup.findAll(name, version, a).filter(fits),
    findBySha256: (sha256) => lookup.findBySha256(sha256).filter(fits),
    entries: () => entries,
  };
}
