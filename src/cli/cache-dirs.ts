/**
 * Where imgfactory keeps its caches when no flag names a directory: one rule for every command,
 * the XDG Base Directory one. `$XDG_CACHE_HOME/imgfactory/<kind>` when XDG_CACHE_HOME is an
 * absolute path (the specification says to ignore an empty or relative one), else
 * `$HOME/.cache/imgfactory/<kind>`. Pure: the environment is passed in.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export type CacheKind = 'archive' | 'debs' | 'base-layers';

export function defaultCacheDir(env: Readonly<Record<string, string | undefined>>, kind: CacheKind): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.cache');
  return join(base, 'imgfactory', kind);
}
