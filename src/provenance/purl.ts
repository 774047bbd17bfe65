/**
 * Package URLs (github.com/package-url/purl-spec) for Debian binary packages:
 * `pkg:deb/debian/<name>@<version>?arch=<arch>&distro=<suite>`. SBOM and provenance both name
 * packages with this one function, so the two documents can be compared entry by entry. Pure.
 */
import type { VerifiedPackage } from '../archive/package-manifest.js';

/** Percent-encode as purl implementations do, leaving `:` (epochs) readable. */
function encode(s: string): string {
  return encodeURIComponent(s).replace(/%3A/gi, ':');
}

export function debPurl(pkg: Pick<VerifiedPackage, 'package' | 'version' | 'architecture'>, distro: string): string {
  return `pkg:deb/debian/${encode(pkg.package)}@${encode(pkg.version)}?arch=${encode(pkg.architecture)}&distro=${encode(distro)}`;
}

/** Pool URI of a package's .deb. */
export function debUri(pkg: Pick<VerifiedPackage, 'archiveUrl' | 'filename'>): string {
  return `${pkg.archiveUrl.replace(/\/+$/, '')}/${pkg.filename.replace(/^\/+/, '')}`;
}
