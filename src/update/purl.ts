/** Debian package URLs back to packages: `pkg:deb/debian/<name>@<version>?arch=<a>&distro=<suite>`. Pure. */

export interface PurlPackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  /** The base suite the image was built from (imgfactory writes the suite codename as `distro`). */
  readonly distro: string;
}

/** undefined for purls that are not Debian binary packages (the image's own `pkg:oci` purl). */
export function parseDebPurl(purl: string): PurlPackage | undefined {
  const m = /^pkg:deb\/debian\/([^@?#]+)@([^?#]+)\?([^#]*)$/.exec(purl);
  if (!m) return undefined;
  const q = new URLSearchParams(m[3]);
  const architecture = q.get('arch');
  const distro = q.get('distro');
  if (!architecture || !distro) return undefined;
  return { name: decodeURIComponent(m[1]!), version: decodeURIComponent(m[2]!), architecture, distro };
}
