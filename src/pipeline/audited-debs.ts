/**
 * The audit proves two things: every installed package is in a verified index, and every .deb
 * the build downloaded is too. The second half reads the .debs from the build's download
 * directory; if that were the wrong directory, it would find none and prove nothing, silently.
 * A build that installed packages of its own must therefore have audited at least one .deb.
 * Pure: counts in, a BuildError out.
 */
import type { VerifiedPackageManifest } from '../archive/package-manifest.js';
import { BuildError } from '../errors.js';

export interface InheritedPackage {
  readonly package: string;
  readonly version?: string;
  readonly architecture?: string;
}

export interface AuditedDebsInput {
  readonly recipeName: string;
  readonly architecture: string;
  /** The audit's result for this architecture's root. */
  readonly manifest: VerifiedPackageManifest;
  /**
   * Packages that reached the root already audited: the parent's (downloaded and audited when
   * the parent was built) or a reused base layer's (audited before it entered the base-layer cache).
   */
  readonly inherited?: readonly InheritedPackage[];
  /** How many downloaded .deb files the audit hashed. */
  readonly debsAudited: number;
}

/** Packages this build installed itself (not the parent's, at the parent's version). */
export function newlyInstalled(manifest: VerifiedPackageManifest, inherited?: readonly InheritedPackage[]): number {
  const fromParent = new Set((inherited ?? []).map((p) => `${p.package}\0${p.version}\0${p.architecture}`));
  return manifest.packages.filter((p) => !fromParent.has(`${p.package}\0${p.version}\0${p.architecture}`)).length;
}

/** Throws DEBS_NOT_AUDITED (exit 3: imgfactory looked in the wrong place) when packages were installed but no .deb was audited. */
export function requireAuditedDebs(input: AuditedDebsInput): void {
  const installed = newlyInstalled(input.manifest, input.inherited);
  if (installed > 0 && input.debsAudited === 0) {
    throw new BuildError(
      'DEBS_NOT_AUDITED',
      `${input.recipeName} (${input.architecture}): ${installed} package${installed === 1 ? '' : 's'} installed but no downloaded .deb found to audit`,
      { details: { installed, debsAudited: 0 } },
    );
  }
}
