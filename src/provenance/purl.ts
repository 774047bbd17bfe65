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

export interface DebPurlFacts {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
}

/** Read back a `pkg:deb/debian/...` purl (undefined when it is not one, or is malformed). */
export function parseDebPurl(purl: string): DebPurlFacts | undefined {
  const m = /^pkg:deb\/debian\/([^@?#/]+)@([^?#]+)\?([^#]*)$/.exec(purl);
  if (!m) return undefined;
  try {
    const qualifiers = new Map<string, string>();
    for (const pair of m[3]!.split('&')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) return undefined;
      const key = pair.slice(0, eq);
      if (qualifiers.has(key)) return undefined;
      qualifiers.set(key, decodeURIComponent(pair.slice(eq + 1)));
    }
    const architecture = qualifiers.get('arch');
    if (architecture === undefined) return undefined;
    return { name: decodeURIComponent(m[1]!), version: decodeURIComponent(m[2]!), architecture };
  } catch {
    return undefined;
  }
}
