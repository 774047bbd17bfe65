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
  readonly architecture: string;
  readonly inReleases: readonly VerifiedInRelease[];
  /** Sorted by package name, then architecture. */
  readonly packages: readonly VerifiedPackage[];
}
