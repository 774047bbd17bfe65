/** The installed packages a file tree's dpkg database lists (for sides without a verified manifest). Pure. */
import { hasFilesOnDisk, parseDpkgStatus } from '../archive/dpkg-status.js';
import type { TreeEntry } from './file-tree.js';
import type { PackageRecord } from './types.js';

export function packagesFromTree(tree: ReadonlyMap<string, TreeEntry>): PackageRecord[] | undefined {
  const texts: string[] = [];
  for (const [path, e] of tree)
    if (e.content && (path === '/var/lib/dpkg/status' || (path.startsWith('/var/lib/dpkg/status.d/') && !path.endsWith('.md5sums'))))
      texts.push(new TextDecoder().decode(e.content));
  if (texts.length === 0) return undefined;
  const out: PackageRecord[] = [];
  for (const text of texts) {
    for (const e of parseDpkgStatus(text)) {
      if (!hasFilesOnDisk(e) || e.version === undefined) continue;
      out.push({ package: e.package, version: e.version, architecture: e.architecture ?? 'all' });
    }
  }
  return out;
}
