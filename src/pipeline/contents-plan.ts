/**
 * What an image assembled from a package set consists of (recipe `contents`), as data. Pure:
 * the build root's dpkg database and account files come in as text, the image's paths and
 * files go out. The I/O that reads and writes them is src/pipeline/contents.ts.
 */
import { hasFilesOnDisk, parseDpkgStatus } from '../archive/dpkg-status.js';
import type { RecipeContents, RecipeFile, RecipeUser } from '../recipe/types.js';

/** Where the image's dpkg database lives: one status stanza per package, as distroless images have it. */
export const STATUS_D = '/var/lib/dpkg/status.d';

/** The paths of a dpkg file list (`/var/lib/dpkg/info/<pkg>.list`), without the `/.` root entry. */
export function dpkgListPaths(list: string): string[] {
  return list.split('\n').filter((l) => l !== '' && l !== '/.');
}

/** The files dpkg may keep for `pkg` in its info directory (`list`, `md5sums`): plain, or qualified by architecture for `Multi-Arch: same` packages. */
export function dpkgInfoNames(pkg: string, architecture: string, kind: 'list' | 'md5sums'): string[] {
  return [`${pkg}.${kind}`, `${pkg}:${architecture}.${kind}`];
}

/**
 * A package's md5sums (`<md5>  <path relative to />` per line) narrowed to the files that are
 * in the image: slim kept dpkg from unpacking some, and a scanner checking files against the
 * list must not be told about files that were never there.
 */
export function md5sumsFor(text: string, present: (path: string) => boolean): string {
  return text
    .split('\n')
    .filter((l) => {
      const m = /^[0-9a-f]{32} {2}(.+)$/.exec(l);
      return m !== null && present(`/${m[1]}`);
    })
    .map((l) => `${l}\n`)
    .join('');
}

export interface InstalledStanza {
  readonly package: string;
  readonly architecture: string;
  /** The stanza exactly as dpkg wrote it, ending in one newline. */
  readonly text: string;
}

/**
 * The status stanza of each of `packages` that has files on disk, in the order given; the
 * packages that have none are returned in `notInstalled`. The stanzas are copied verbatim so
 * that a scanner reads in the image what dpkg recorded in the build root.
 */
export function stanzasFor(statusText: string, packages: readonly string[]): { stanzas: InstalledStanza[]; notInstalled: string[] } {
  const raw = statusText.split(/\n\s*\n/).filter((s) => s.trim() !== '');
  const entries = parseDpkgStatus(statusText);
  // parseDeb822 and the split above see the same stanzas: one per blank-line-separated block.
  if (raw.length !== entries.length) throw new Error(`dpkg status: ${raw.length} blocks but ${entries.length} stanzas`);
  const byName = new Map<string, InstalledStanza>();
  entries.forEach((e, i) => {
    if (hasFilesOnDisk(e) && e.state === 'installed' && !byName.has(e.package))
      byName.set(e.package, { package: e.package, architecture: e.architecture!, text: `${raw[i]!.trim()}\n` });
  });
  const stanzas: InstalledStanza[] = [];
  const notInstalled: string[] = [];
  for (const p of packages) {
    const s = byName.get(p);
    if (s) stanzas.push(s);
    else notInstalled.push(p);
  }
  return { stanzas, notInstalled };
}

/**
 * passwd and group for the image: root, nobody/nogroup and the recipe's users with their
 * groups, as distroless ships them. The build root's other system accounts (daemon, bin, …)
 * belong to packages the image does not contain.
 */
export function imageAccounts(db: { passwd: string; group: string }, users: readonly RecipeUser[]): { passwd: string; group: string } {
  const userNames = new Set(['root', 'nobody', ...users.map((u) => u.name)]);
  const gids = new Set([0, 65534, ...users.map((u) => u.gid)]);
  const groupNames = new Set(users.flatMap((u) => u.groups));
  const keep = (text: string, wanted: (fields: string[]) => boolean) =>
    text
      .split('\n')
      .filter((l) => l !== '' && wanted(l.split(':')))
      .map((l) => `${l}\n`)
      .join('');
  return {
    passwd: keep(db.passwd, (f) => userNames.has(f[0]!)),
    group: keep(db.group, (f) => gids.has(Number(f[2])) || groupNames.has(f[0]!)),
  };
}

export interface ContentsPlan {
  /** Image paths the layer is packed from (their parents and the links on their way are added by the selection). */
  readonly paths: readonly string[];
  /** `status.d/<pkg>` and `<pkg>.md5sums` files to write into the build root before it is snapshotted. */
  readonly statusFiles: ReadonlyMap<string, string>;
}

/**
 * Everything the image receives: the listed packages' files, the declared generated files, the
 * recipe's `files` and users' homes, and the per-package status files.
 */
export function planContents(input: {
  readonly contents: RecipeContents;
  readonly stanzas: readonly InstalledStanza[];
  /** package → the paths of its dpkg file list. */
  readonly lists: ReadonlyMap<string, readonly string[]>;
  /** package → its md5sums narrowed to the image (see md5sumsFor); packages without one are absent. */
  readonly md5sums: ReadonlyMap<string, string>;
  readonly files: readonly RecipeFile[];
  readonly users: readonly RecipeUser[];
}): ContentsPlan {
  // `<pkg>.md5sums` beside each stanza, as distroless has them: scanners map files to packages with it.
  const statusFiles = new Map<string, string>();
  for (const s of input.stanzas) {
    statusFiles.set(`${STATUS_D}/${s.package}`, s.text);
    const sums = input.md5sums.get(s.package);
    if (sums !== undefined) statusFiles.set(`${STATUS_D}/${s.package}.md5sums`, sums);
  }
  const paths = [
    ...input.contents.packages.flatMap((p) => input.lists.get(p) ?? []),
    ...input.contents.generated,
    ...input.files.map((f) => f.dest),
    ...input.users.map((u) => u.home),
    STATUS_D,
    ...statusFiles.keys(),
  ];
  return { paths: [...new Set(paths)], statusFiles };
}
