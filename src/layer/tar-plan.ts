/**
 * The ordered list of tar entries for a layer or a flattened rootfs, with canonical headers.
 * Pure: the packer only adds file contents.
 *
 * Order: canonical path order (path-order.ts), except that inside each directory the opaque
 * marker and then the `.wh.` whiteouts come before every sibling, as image-spec layer.md asks
 * ("whiteout files appear before sibling directory entries"); appliers that process entries
 * in order (containerd, containers/storage) then never remove what this layer adds.
 *
 * Hardlinks: the first path of an inode in that order is a regular entry, the later ones are
 * Link entries naming it, so every hardlink resolves inside the same tar.
 */
import { BuildError, UsageError } from '../errors.js';
import { baseName, compareCanonicalPaths, parentPath } from './path-order.js';
import type { TarHeader } from './tar-header.js';
import { inodeKey, type LayerChanges, type Snapshot, type SnapshotEntry } from './types.js';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export interface PlannedEntry {
  readonly header: TarHeader;
  /** The snapshot entry whose file content follows the header (regular files with content). */
  readonly content?: SnapshotEntry;
}

// Sort-key prefixes below every real name byte (names cannot contain NUL): opaque marker,
// then whiteouts, then ordinary children.
const OPAQUE_KEY = '\u0000\u0000';
const WHITEOUT_KEY = '\u0000';

/** Entries for a layer: the whole tree when `changes` is absent (a base layer). */
export function planLayerEntries(snapshot: Snapshot, changes: LayerChanges | undefined, sourceDateEpoch: number): PlannedEntry[] {
  checkEpoch(sourceDateEpoch);
  const paths = changes ? changes.entries : [...snapshot.entries.keys()];
  const items: Array<{ key: string; entry?: SnapshotEntry; marker?: string }> = [];
  for (const path of paths) {
    const entry = snapshot.entries.get(path);
    if (!entry) throw new BuildError('LAYER_PATH_INVALID', `${path}: in the layer changes but not in the snapshot`);
    items.push({ key: path, entry });
  }
  for (const dir of changes?.opaque ?? []) {
    items.push({ key: `${dir}/${OPAQUE_KEY}`, marker: `${dir}/${OPAQUE_MARKER}` });
  }
  for (const path of changes?.deleted ?? []) {
    const parent = parentPath(path);
    const name = `${WHITEOUT_PREFIX}${baseName(path)}`;
    items.push({
      key: parent === '' ? `${WHITEOUT_KEY}${name}` : `${parent}/${WHITEOUT_KEY}${name}`,
      marker: parent === '' ? name : `${parent}/${name}`,
    });
  }
  items.sort((x, y) => compareCanonicalPaths(x.key, y.key));
  return toPlanned(items, sourceDateEpoch);
}

/** Entries for a flattened root filesystem tarball: every path, no whiteouts. */
export function planRootfsEntries(snapshot: Snapshot, sourceDateEpoch: number): PlannedEntry[] {
  return planLayerEntries(snapshot, undefined, sourceDateEpoch);
}

function toPlanned(items: ReadonlyArray<{ key: string; entry?: SnapshotEntry; marker?: string }>, sourceDateEpoch: number): PlannedEntry[] {
  const firstLink = new Map<string, string>();
  const out: PlannedEntry[] = [];
  for (const item of items) {
    if (item.marker !== undefined) {
      out.push({ header: whiteoutHeader(item.marker, sourceDateEpoch) });
      continue;
    }
    const e = item.entry!;
    if (baseName(e.path).startsWith(WHITEOUT_PREFIX)) {
      throw new BuildError('LAYER_PATH_INVALID', `${e.path}: names starting with ${WHITEOUT_PREFIX} are OCI whiteout markers and cannot be in an image`);
    }
    const common = { mode: e.mode, uid: e.uid, gid: e.gid, mtime: clampMtime(e.mtimeNs, sourceDateEpoch) };
    if (e.type !== 'dir' && e.nlink > 1) {
      const key = inodeKey(e);
      const first = firstLink.get(key);
      if (first !== undefined) {
        out.push({ header: { ...common, name: e.path, type: 'link', size: 0, linkname: first } });
        continue;
      }
      firstLink.set(key, e.path);
    }
    out.push(entryFor(e, common));
  }
  return out;
}

function entryFor(e: SnapshotEntry, common: Pick<TarHeader, 'mode' | 'uid' | 'gid' | 'mtime'>): PlannedEntry {
  const xattrs = Object.keys(e.xattrs).length > 0 ? { xattrs: e.xattrs } : {};
  switch (e.type) {
    case 'file':
      return { header: { ...common, ...xattrs, name: e.path, type: 'file', size: e.size }, ...(e.size > 0 ? { content: e } : {}) };
    case 'dir':
      return { header: { ...common, ...xattrs, name: `${e.path}/`, type: 'dir', size: 0 } };
    case 'symlink':
      return { header: { ...common, ...xattrs, name: e.path, type: 'symlink', size: 0, linkname: e.linkTarget ?? '' } };
    case 'char':
    case 'block':
      return {
        header: {
          ...common,
          ...xattrs,
          name: e.path,
          type: e.type,
          size: 0,
          devmajor: e.rdev?.major ?? 0,
          devminor: e.rdev?.minor ?? 0,
        },
      };
    case 'fifo':
      return { header: { ...common, ...xattrs, name: e.path, type: 'fifo', size: 0 } };
  }
}

function whiteoutHeader(name: string, sourceDateEpoch: number): TarHeader {
  return { name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: sourceDateEpoch };
}

/** Whole seconds, never later than SOURCE_DATE_EPOCH, never before the epoch. */
export function clampMtime(mtimeNs: bigint, sourceDateEpoch: number): number {
  const secs = mtimeNs >= 0n ? mtimeNs / 1_000_000_000n : (mtimeNs - 999_999_999n) / 1_000_000_000n;
  return Math.max(0, Math.min(Number(secs), sourceDateEpoch));
}

function checkEpoch(sde: number): void {
  if (!Number.isSafeInteger(sde) || sde < 0) {
    throw new UsageError('BAD_OPTION', `SOURCE_DATE_EPOCH ${sde} is not a non-negative whole number of seconds`);
  }
}
