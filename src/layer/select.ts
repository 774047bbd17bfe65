/**
 * A snapshot narrowed to chosen paths: how an image assembled from a package set is packed
 * from its build root without copying the tree. Pure: it works on the snapshot alone.
 *
 * Each wanted path is resolved the way the chroot would resolve it and the way
 * src/bootstrap/root-path.ts does on disk: every component but the last goes through symlinks
 * (absolute targets re-rooted, `..` clamped at the root), so a link can never reach outside
 * the snapshot. The links passed on the way are kept too (a Debian package lists
 * `/lib/x86_64-linux-gnu/libc.so.6`; on a merged-/usr root the file is under `usr/lib`, and the
 * image needs the `lib -> usr/lib` link for the listed path to work), and so is every parent
 * directory. The last component is never followed: a listed symlink is shipped as a symlink.
 */
import { ancestorsOf } from './path-order.js';
import type { Snapshot } from './types.js';

const MAX_LINKS = 40;

export interface SnapshotSelection {
  readonly snapshot: Snapshot;
  /** Wanted paths (as given) that are not in the snapshot, or that lead through a non-directory or a link loop. */
  readonly missing: readonly string[];
}

/** `snapshot` with only `wanted` (image paths, `/usr/bin/x` or `usr/bin/x`), the links on their way, and their parents. */
export function selectFromSnapshot(snapshot: Snapshot, wanted: Iterable<string>): SnapshotSelection {
  const keep = new Set<string>();
  const missing: string[] = [];
  for (const path of wanted) {
    const resolved = resolveInSnapshot(snapshot, path);
    if (resolved === undefined) {
      missing.push(path);
      continue;
    }
    for (const p of [resolved.path, ...resolved.links]) {
      keep.add(p);
      for (const a of ancestorsOf(p)) keep.add(a);
    }
  }
  // Iterating the original map keeps its canonical order.
  const entries = new Map([...snapshot.entries].filter(([p]) => keep.has(p)));
  return { snapshot: Object.freeze({ root: snapshot.root, entries, skipped: snapshot.skipped }), missing };
}

/**
 * Where `imagePath` is in the snapshot (relative, no leading slash) and the symlinks followed to
 * get there; undefined when it is not there. The root itself resolves to undefined (it is no entry).
 */
export function resolveInSnapshot(snapshot: Snapshot, imagePath: string): { path: string; links: string[] } | undefined {
  let pending = imagePath.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  const links: string[] = [];
  while (pending.length > 0) {
    const [head, ...rest] = pending as [string, ...string[]];
    pending = rest;
    if (head === '..') {
      done.pop(); // `done` holds only directories of the snapshot; at the root it clamps.
      continue;
    }
    const candidate = [...done, head].join('/');
    const entry = snapshot.entries.get(candidate);
    if (entry === undefined) return undefined;
    if (pending.length === 0) return { path: candidate, links };
    if (entry.type === 'symlink') {
      if (links.length >= MAX_LINKS) return undefined;
      links.push(candidate);
      const target = entry.linkTarget ?? '';
      if (target.startsWith('/')) done.length = 0;
      pending = [...target.split('/').filter((c) => c !== '' && c !== '.'), ...pending];
      continue;
    }
    if (entry.type !== 'dir') return undefined;
    done.push(head);
  }
  return undefined;
}
