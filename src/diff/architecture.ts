/** The Debian architecture a package list was built for: that of dpkg (or libc6), else undefined. Pure. */
import type { PackageRecord } from './types.js';

export function architectureOfPackages(packages: readonly PackageRecord[]): string | undefined {
  for (const anchor of ['dpkg', 'libc6', 'base-files']) {
    const p = packages.find((x) => x.package === anchor && x.architecture !== 'all');
    if (p) return p.architecture;
  }
  return undefined;
}
