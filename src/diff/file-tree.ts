/**
 * A file tree assembled from tar layers, as a container runtime would see it: each layer's
 * whiteouts (`.wh.<name>`, and `.wh..wh..opq` for an opaque directory) remove what lower
 * layers put there, then the layer's own entries are laid over it. Pure: entries in, map out.
 */
import type { FileEntry } from './types.js';

/** A tree entry; `content` is kept only for the few files the diff reads (the dpkg database). */
export interface TreeEntry extends FileEntry {
  readonly content?: Uint8Array;
}

/** One entry of a layer tar, normalized (see normalizeTarPath). */
export type LayerEntry =
  | { readonly kind: 'entry'; readonly entry: TreeEntry }
  /** A hard link: takes the content, mode and owner of `target` (already in this or a lower layer). */
  | { readonly kind: 'hardlink'; readonly path: string; readonly target: string }
  | { readonly kind: 'whiteout'; readonly path: string }
  | { readonly kind: 'opaque'; readonly dir: string };

/** `./usr/bin/` → `/usr/bin`; the root itself → undefined. */
export function normalizeTarPath(name: string): string | undefined {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0) return undefined;
  return `/${parts.join('/')}`;
}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** Classifies an already-normalized path: a whiteout marker, an opaque marker, or a plain entry. */
export function whiteoutOf(path: string): LayerEntry | undefined {
  const slash = path.lastIndexOf('/');
  const dir = path.slice(0, slash);
  const base = path.slice(slash + 1);
  if (base === OPAQUE) return { kind: 'opaque', dir: dir === '' ? '/' : dir };
  if (base.startsWith(WHITEOUT)) return { kind: 'whiteout', path: `${dir}/${base.slice(WHITEOUT.length)}` };
  return undefined;
}

/** Lays one layer over `tree` (mutated: the tree is built incrementally while streaming). */
export function applyLayer(tree: Map<string, TreeEntry>, layer: readonly LayerEntry[]): void {
  for (const e of layer) {
    if (e.kind === 'opaque') removeUnder(tree, e.dir);
    else if (e.kind === 'whiteout') {
      tree.delete(e.path);
      removeUnder(tree, e.path);
    }
  }
  for (const e of layer) {
    if (e.kind === 'entry') {
      // A file replacing a directory hides everything the lower layers had beneath it.
      const lower = tree.get(e.entry.path);
      if (lower?.type === 'directory' && e.entry.type !== 'directory') removeUnder(tree, e.entry.path);
      tree.set(e.entry.path, e.entry);
    } else if (e.kind === 'hardlink') {
      const target = tree.get(e.target);
      if (target) tree.set(e.path, { ...target, path: e.path });
    }
  }
}

function removeUnder(tree: Map<string, TreeEntry>, dir: string): void {
  const prefix = dir === '/' ? '/' : `${dir}/`;
  for (const k of [...tree.keys()]) if (k.startsWith(prefix)) tree.delete(k);
}

/** The paths whose content the diff keeps: dpkg's status database (both layouts dpkg and distroless use). */
export function keepsContent(path: string): boolean {
  return path === '/var/lib/dpkg/status' || path.startsWith('/var/lib/dpkg/status.d/');
}
