/**
 * Compare two snapshots of the same tree and say what one layer must carry (OCI image-spec
 * layer.md "Determining Changes" / "Whiteouts"). Pure: data in, data out.
 */
import { ancestorsOf, parentPath } from './path-order.js';
import { inodeKey, type LayerChanges, type Snapshot, type SnapshotEntry } from './types.js';

export function diffSnapshots(before: Snapshot, after: Snapshot): LayerChanges {
  const added: string[] = [];
  const modified: string[] = [];
  const opaque = new Set<string>();
  const include = new Set<string>();

  // `after` is in canonical order, so a directory is classified before anything under it.
  for (const [path, a] of after.entries) {
    const b = before.entries.get(path);
    const hidden = hasAncestorIn(path, opaque);
    if (b === undefined) {
      added.push(path);
      include.add(path);
    } else if (entryDiffers(b, a)) {
      modified.push(path);
      include.add(path);
    } else if (hidden) {
      // An opaque directory hides every lower entry under it: unchanged ones must be re-added.
      include.add(path);
    }
    if (a.type === 'dir' && b !== undefined && !hidden) {
      const recreated = b.type === 'dir' && (b.ino !== a.ino || b.dev !== a.dev);
      if (recreated || b.type !== 'dir') opaque.add(path);
    }
  }

  // Whiteouts: only the top of a removed subtree; nothing under an opaque directory.
  const deleted: string[] = [];
  const covered = new Set<string>(opaque);
  for (const [path, b] of before.entries) {
    if (hasAncestorIn(path, covered)) continue;
    const a = after.entries.get(path);
    if (a === undefined || (b.type === 'dir' && a.type !== 'dir')) {
      deleted.push(path);
      covered.add(path);
    }
  }

  for (const path of hardlinkPeers(after, include)) include.add(path);
  for (const path of [...include, ...deleted, ...opaque]) {
    for (const dir of ancestorsOf(path)) include.add(dir);
  }
  for (const path of opaque) include.add(path);

  const entries = [...after.entries.keys()].filter((p) => include.has(p));
  return Object.freeze({
    added: Object.freeze(added),
    modified: Object.freeze(modified),
    deleted: Object.freeze(deleted),
    opaque: Object.freeze([...after.entries.keys()].filter((p) => opaque.has(p))),
    entries: Object.freeze(entries),
  });
}

/**
 * Any field difference counts: ctime and inode number catch a rewrite that kept size and mtime
 * (`touch -r`), and a new hardlink (the link count change moves ctime).
 */
export function entryDiffers(b: SnapshotEntry, a: SnapshotEntry): boolean {
  return (
    b.type !== a.type ||
    b.mode !== a.mode ||
    b.uid !== a.uid ||
    b.gid !== a.gid ||
    b.size !== a.size ||
    b.mtimeNs !== a.mtimeNs ||
    b.ctimeNs !== a.ctimeNs ||
    b.ino !== a.ino ||
    b.linkTarget !== a.linkTarget ||
    b.rdev?.major !== a.rdev?.major ||
    b.rdev?.minor !== a.rdev?.minor ||
    !sameXattrs(b.xattrs, a.xattrs)
  );
}

function sameXattrs(x: Readonly<Record<string, string>>, y: Readonly<Record<string, string>>): boolean {
  const xk = Object.keys(x);
  if (xk.length !== Object.keys(y).length) return false;
  return xk.every((k) => Object.prototype.hasOwnProperty.call(y, k) && x[k] === y[k]);
}

/** Unchanged links of every hardlinked inode that has a path in the layer. */
function hardlinkPeers(after: Snapshot, include: ReadonlySet<string>): string[] {
  const groups = new Map<string, string[]>();
  for (const [path, e] of after.entries) {
    if (e.type === 'dir' || e.nlink < 2) continue;
    const key = inodeKey(e);
    const g = groups.get(key);
    if (g) g.push(path);
    else groups.set(key, [path]);
  }
  const out: string[] = [];
  for (const paths of groups.values()) {
    if (paths.length > 1 && paths.some((p) => include.has(p))) out.push(...paths.filter((p) => !include.has(p)));
  }
  return out;
}

function hasAncestorIn(path: string, set: ReadonlySet<string>): boolean {
  if (set.size === 0) return false;
  for (let p = parentPath(path); p !== ''; p = parentPath(p)) if (set.has(p)) return true;
  return false;
}
