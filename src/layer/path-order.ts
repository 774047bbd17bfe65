/**
 * The canonical order of paths in a layer: depth-first, each directory's names compared as
 * UTF-8 bytes. Equivalently: full paths compared byte-wise with '/' ranked below every other
 * byte, so a directory is always followed directly by its own subtree (what GNU tar
 * `--sort=name` produces), and the order never depends on the host's locale or readdir order.
 */

const SLASH = 0x2f;

/**
 * Rank of one UTF-16 code unit so that comparing ranks gives UTF-8 byte order: '/' lowest,
 * surrogates (code points above U+FFFF) above U+E000..U+FFFF, as they are in UTF-8.
 */
function rank(unit: number): number {
  if (unit === SLASH) return -1;
  if (unit < 0xd800) return unit;
  if (unit <= 0xdfff) return unit + 0x2000;
  return unit - 0x800;
}

export function compareCanonicalPaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

/** `usr/bin/bash` → `usr/bin`; a top-level name → `''` (the root). */
export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Every proper ancestor of `path`, nearest first, excluding the root. */
export function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  for (let p = parentPath(path); p !== ''; p = parentPath(p)) out.push(p);
  return out;
}
