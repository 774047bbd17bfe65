/** The values the layer engine passes between snapshot, diff and pack. Plain read-only data. */

export type FileType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

export interface DeviceNumber {
  readonly major: number;
  readonly minor: number;
}

/** One path of a tree as lstat saw it (never following symlinks). */
export interface SnapshotEntry {
  /** Relative, posix, no leading slash: `usr/bin/bash`. */
  readonly path: string;
  readonly type: FileType;
  /** Permission bits including setuid/setgid/sticky (`st_mode & 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** `st_size`: the content length for files, the target length for symlinks. */
  readonly size: number;
  /** Nanoseconds: millisecond floats would miss a rewrite within the same millisecond. */
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly dev: bigint;
  readonly ino: bigint;
  readonly nlink: number;
  /** Symlinks only. */
  readonly linkTarget?: string;
  /** Character and block devices only. */
  readonly rdev?: DeviceNumber;
  /** Extended attributes, name → value as base64, names in byte order. */
  readonly xattrs: Readonly<Record<string, string>>;
}

export interface SkippedPath {
  readonly path: string;
  /**
   * `socket`: the entry itself is left out (tar cannot carry sockets);
   * `other-filesystem`: a directory on another mount, kept but its contents not walked.
   */
  readonly reason: 'socket' | 'other-filesystem';
}

export interface Snapshot {
  /** Absolute real path of the tree's root. */
  readonly root: string;
  /** Every path under the root (not the root itself), in canonical order (see path-order.ts). */
  readonly entries: ReadonlyMap<string, SnapshotEntry>;
  readonly skipped: readonly SkippedPath[];
}

/** What one layer must carry to turn the `before` tree into the `after` tree. */
export interface LayerChanges {
  /** Paths new in `after`. */
  readonly added: readonly string[];
  /** Paths in both trees whose entries differ. */
  readonly modified: readonly string[];
  /**
   * Paths hidden with a `.wh.<name>` whiteout: the top of each deleted subtree (never its
   * children), and directories replaced by a non-directory.
   */
  readonly deleted: readonly string[];
  /** Directories marked `.wh..wh..opq`: deleted and re-created, or replacing a non-directory. */
  readonly opaque: readonly string[];
  /**
   * Every path whose `after` entry goes into the layer, in canonical order: added and modified
   * paths, everything under an opaque directory, the other links of every hardlinked file in the
   * layer (so each hardlink resolves inside the same tar), and the parent directories of all of
   * these and of every whiteout.
   */
  readonly entries: readonly string[];
}

/** Hardlink identity: entries with the same key are one inode. */
export function inodeKey(e: Pick<SnapshotEntry, 'dev' | 'ino'>): string {
  return `${e.dev}:${e.ino}`;
}
