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
  const all = [...packages];
  // Each map is built on its first use: an update check reads only entries(), and a build
  // needs the hash map only once its .deb cache is consulted, not before it starts bootstrapping.
  let byName: Map<string, ArchivePackage | ArchivePackage[]> | undefined;
  let bySha: Map<string, ArchivePackage | ArchivePackage[]> | undefined;
  const findAll = (name: string, version: string, arch: string): readonly ArchivePackage[] =>
    listOf((byName ??= indexBy(all, 'package')).get(name)).filter((p) => p.version === version && p.architecture === arch);
  return {
    find: (name, version, arch) => findAll(name, version, arch)[0],
    findAll,
    findBySha256: (sha256) => listOf((bySha ??= indexBy(all, 'sha256')).get(sha256.toLowerCase())),
    entries: () => all,
  };
}

/**
 * Keyed by the entries' own strings (no new key string per package: 66,000 of them in bookworm).
 * Most names and hashes have one entry: it is stored as is, an array only from the second on.
 */
function indexBy(all: readonly ArchivePackage[], key: 'package' | 'sha256'): Map<string, ArchivePackage | ArchivePackage[]> {
  const m = new Map<string, ArchivePackage | ArchivePackage[]>();
  for (const p of all) {
    const k = p[key];
    const found = m.get(k);
    if (found === undefined) m.set(k, p);
    else if (Array.isArray(found)) found.push(p);
    else m.set(k, [found, p]);
  }
  return m;
}

function listOf(found: ArchivePackage | ArchivePackage[] | undefined): readonly ArchivePackage[] {
  return found === undefined ? [] : Array.isArray(found) ? found : [found];
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
