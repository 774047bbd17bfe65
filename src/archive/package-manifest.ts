/**
 * The verified package manifest: the audit's output, the SBOM's and provenance's input.
 * Every entry was proven against an index whose InRelease signature verified against keys/.
 */

export interface VerifiedPackage {
  /** Binary package name. */
  readonly package: string;
  readonly version: string;
  /** Debian architecture of the package (`all` for arch-independent ones). */
  readonly architecture: string;
  /** Source package name (the binary name when the index has no Source field). */
  readonly source: string;
  readonly sourceVersion: string;
  /** sha256 hex of the .deb, from the verified Packages index. */
  readonly sha256: string;
  /** Size of the .deb in bytes, from the verified Packages index. */
  readonly size: number;
  /** Pool path relative to the archive root, e.g. `pool/main/b/bash/bash_5.2.15-2+b2_amd64.deb`. */
  readonly filename: string;
  /** Archive base URL the index came from (mirror or security mirror). */
  readonly archiveUrl: string;
  /** The suite whose index proved it: `bookworm`, `bookworm-updates`, `bookworm-security`. */
  readonly suite: string;
  readonly component: string;
}

export interface VerifiedInRelease {
  readonly suite: string;
  readonly url: string;
  /** sha256 hex of the InRelease bytes as fetched. */
  readonly sha256: string;
  /** Release `Date`, ISO 8601. */
  readonly date: string;
  readonly validUntil?: string;
  /** Pinned keys whose signatures verified. */
  readonly signers: readonly { readonly fingerprint: string; readonly userId: string }[];
}

export interface VerifiedPackageManifest {
  readonly schemaVersion: 1;
  /** Base suite codename (`bookworm`). */
  readonly suite: string;
  /** The image's architecture (the first one of a multi-platform image). */
  readonly architecture: string;
  /**
   * Every architecture of a multi-platform image, each audited against its own indexes; its
   * packages are those of its architecture plus the `all` ones. Absent: `architecture` alone.
   */
  readonly architectures?: readonly string[];
  readonly inReleases: readonly VerifiedInRelease[];
  /** Sorted by package name, then architecture. */
  readonly packages: readonly VerifiedPackage[];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * One manifest for a multi-platform image: the union of each platform's packages (an `all`
 * package installed in several platforms, same sha256, counts once) and InRelease files. Pure.
 */
export function mergePackageManifests(manifests: readonly VerifiedPackageManifest[]): VerifiedPackageManifest {
  if (manifests.length === 1) return manifests[0]!;
  const first = manifests[0];
  if (!first) throw new TypeError('mergePackageManifests: no manifest');
  const packages = new Map<string, VerifiedPackage>();
  const inReleases = new Map<string, VerifiedInRelease>();
  for (const m of manifests) {
    for (const p of m.packages) packages.set(`${p.package}\0${p.version}\0${p.architecture}\0${p.sha256}`, p);
    for (const r of m.inReleases) if (!inReleases.has(r.sha256)) inReleases.set(r.sha256, r);
  }
  return {
    schemaVersion: 1,
    suite: first.suite,
    architecture: first.architecture,
    architectures: manifests.map((m) => m.architecture),
    inReleases: [...inReleases.values()],
    packages: [...packages.values()].sort((a, b) => cmp(a.package, b.package) || cmp(a.architecture, b.architecture)),
  };
}

/** The per-architecture manifests a merged one stands for (itself when single-platform). Pure. */
export function splitPackageManifest(manifest: VerifiedPackageManifest): VerifiedPackageManifest[] {
  const architectures = manifest.architectures;
  if (!architectures || architectures.length <= 1) return [manifest];
  return architectures.map((architecture) => ({
    schemaVersion: 1,
    suite: manifest.suite,
    architecture,
    inReleases: manifest.inReleases,
    packages: manifest.packages.filter((p) => p.architecture === architecture || p.architecture === 'all'),
  }));
}
