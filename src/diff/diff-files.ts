/** Two file trees → added, removed, changed (with which attributes changed). Pure. */
import type { FileEntry } from './types.js';

export type FileAttribute = 'type' | 'content' | 'size' | 'mode' | 'owner' | 'link' | 'device';

export interface FileChange {
  readonly path: string;
  readonly changed: readonly FileAttribute[];
  readonly before: FileEntry;
  readonly after: FileEntry;
}

export interface FilesDiff {
  readonly added: readonly FileEntry[];
  readonly removed: readonly FileEntry[];
  readonly changed: readonly FileChange[];
}

export function diffFiles(a: ReadonlyMap<string, FileEntry>, b: ReadonlyMap<string, FileEntry>): FilesDiff {
  const added: FileEntry[] = [];
  const removed: FileEntry[] = [];
  const changed: FileChange[] = [];
  for (const [path, before] of a) {
    const after = b.get(path);
    if (!after) {
      removed.push(before);
      continue;
    }
    const what = fileAttributeChanges(before, after);
    if (what.length > 0) changed.push({ path, changed: what, before, after });
  }
  for (const [path, after] of b) if (!a.has(path)) added.push(after);
  const byPath = (x: { path: string }, y: { path: string }) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0);
  return { added: added.sort(byPath), removed: removed.sort(byPath), changed: changed.sort(byPath) };
}

export function fileAttributeChanges(x: FileEntry, y: FileEntry): FileAttribute[] {
  const out: FileAttribute[] = [];
  if (x.type !== y.type) out.push('type');
  if (x.type === 'file' && y.type === 'file') {
    if (x.sha256 !== y.sha256) out.push('content');
    if (x.size !== y.size) out.push('size');
  }
  if (x.mode !== y.mode) out.push('mode');
  if (x.uid !== y.uid || x.gid !== y.gid) out.push('owner');
  if ((x.linkname ?? null) !== (y.linkname ?? null)) out.push('link');
  if ((x.device ?? null) !== (y.device ?? null)) out.push('device');
  return out;
}

export function isEmptyFilesDiff(d: FilesDiff): boolean {
  return d.added.length === 0 && d.removed.length === 0 && d.changed.length === 0;
}
