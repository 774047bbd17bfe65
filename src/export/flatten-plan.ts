/**
 * Which entry of which layer survives in the flattened root filesystem, as image-spec layer.md
 * applies a stack of layers: an upper entry replaces the same path below; `.wh.<name>` deletes
 * `<name>` and its subtree below; `.wh..wh..opq` empties its directory below; a non-directory
 * replaces a directory below with its whole subtree. Pure: takes the entry lists of every layer
 * (read in a first pass) and returns the plan the second pass streams by.
 */
import { ExportError } from '../errors.js';
import { ancestorsOf, baseName, compareCanonicalPaths, parentPath } from '../layer/path-order.js';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from '../layer/tar-plan.js';
import type { TarEntryType } from '../layer/tar-header.js';

/** What the first pass keeps of each entry. */
export interface IndexedEntry {
  readonly path: string;
  readonly type: TarEntryType;
  /** Hard link target (a path of the same layer). */
  readonly linkname?: string;
}

export interface FlattenPlan {
  /** The surviving entries in canonical path order, each with the layer (0 = bottom) it comes from. */
  readonly entries: readonly { readonly path: string; readonly layer: number }[];
  /**
   * Per layer, the paths whose content must be kept aside while skipping them: they are replaced
   * or deleted above, but a surviving hard link of the same layer still names them.
   */
  readonly keep: readonly ReadonlySet<string>[];
  /** Per layer, the paths that survive from it. */
  readonly survivors: readonly ReadonlySet<string>[];
}

type Marker = { kind: 'opaque'; dir: string } | { kind: 'whiteout'; path: string };

function markerOf(path: string): Marker | undefined {
  const name = baseName(path);
  if (name === OPAQUE_MARKER) return { kind: 'opaque', dir: parentPath(path) };
  if (name.startsWith(WHITEOUT_PREFIX)) {
    const parent = parentPath(path);
    const target = name.slice(WHITEOUT_PREFIX.length);
    if (target === '' || target === '.' || target === '..') {
      throw new ExportError('LAYER_INVALID', `layer tar: whiteout ${JSON.stringify(path)} names no entry`);
    }
    return { kind: 'whiteout', path: parent === '' ? target : `${parent}/${target}` };
  }
  return undefined;
}

export function isMarkerPath(path: string): boolean {
  return baseName(path).startsWith(WHITEOUT_PREFIX);
}

export function planFlatten(layers: readonly (readonly IndexedEntry[])[]): FlattenPlan {
  const owner = new Map<string, number>();
  // Paths deleted with their subtree (whiteouts), and paths whose subtree only is hidden
  // (opaque directories, non-directories over directories), for the layers below.
  const gone = new Set<string>();
  const below = new Set<string>();
  const hidden = (path: string) => gone.has(path) || ancestorsOf(path).some((a) => gone.has(a) || below.has(a));

  for (let i = layers.length - 1; i >= 0; i--) {
    const entries = layers[i]!;
    const newGone: string[] = [];
    const newBelow: string[] = [];
    let previous: string | undefined;
    for (const e of entries) {
      const marker = markerOf(e.path);
      if (marker?.kind === 'opaque') {
        newBelow.push(marker.dir);
        continue;
      }
      if (marker?.kind === 'whiteout') {
        newGone.push(marker.path);
        continue;
      }
      if (e.path === '') continue; // the root itself: the importer owns it
      // The second pass merges the layers in one ordered walk, so each must be in canonical order.
      if (previous !== undefined && compareCanonicalPaths(previous, e.path) >= 0) {
        throw new ExportError('LAYER_INVALID', `layer ${i}: ${e.path} is out of canonical order (after ${previous})`);
      }
      previous = e.path;
      if (e.type !== 'dir') newBelow.push(e.path);
      if (owner.has(e.path) || hidden(e.path)) continue;
      owner.set(e.path, i);
    }
    for (const p of newGone) gone.add(p);
    for (const p of newBelow) below.add(p);
  }

  const survivors = layers.map(() => new Set<string>());
  for (const [path, layer] of owner) survivors[layer]!.add(path);
  const keep = layers.map(() => new Set<string>());
  for (const [i, entries] of layers.entries()) {
    for (const e of entries) {
      if (e.type !== 'link' || !survivors[i]!.has(e.path)) continue;
      if (!survivors[i]!.has(e.linkname!)) keep[i]!.add(e.linkname!);
    }
  }
  const entries = [...owner.entries()].map(([path, layer]) => ({ path, layer })).sort((a, b) => compareCanonicalPaths(a.path, b.path));
  return { entries, keep, survivors };
}
