/**
 * Where a recipe's archive state comes from, resolved as a build resolves it: mirrors from
 * flags win over the recipe's, which win over the host's apt configuration.
 */
import type { PinnedKey } from '../archive/pinned-keys.js';
import type { Recipe } from '../recipe/types.js';

export interface ArchiveAccess {
  readonly keys: readonly PinnedKey[];
  readonly cacheDir: string;
  readonly mirror?: string;
  readonly securityMirror?: string;
  readonly hostMirrors: () => Promise<{ readonly mirror: string; readonly securityMirror: string }>;
  /** Consult `<suite>-updates` and `<suite>-security` even when the recipe says `updates: false`. */
  readonly includeUpdates?: boolean;
  readonly now: () => Date;
  /** Debian architecture of this host: the default where nothing else names one. */
  readonly hostArch: string;
  readonly fetchImpl?: typeof fetch;
  readonly onProgress?: (message: string) => void;
}

export async function archiveFor(recipe: Recipe, a: ArchiveAccess) {
  const flagOrRecipe = { mirror: a.mirror ?? recipe.mirror, securityMirror: a.securityMirror ?? recipe.securityMirror };
  const host = flagOrRecipe.mirror === undefined || flagOrRecipe.securityMirror === undefined ? await a.hostMirrors() : undefined;
  return {
    mirror: flagOrRecipe.mirror ?? host!.mirror,
    securityMirror: flagOrRecipe.securityMirror ?? host!.securityMirror,
    suite: recipe.suite,
    components: recipe.components,
    updates: recipe.updates || a.includeUpdates === true,
    cacheDir: a.cacheDir,
    keys: a.keys,
    now: a.now(),
    ...(a.fetchImpl ? { fetchImpl: a.fetchImpl } : {}),
    ...(a.onProgress ? { onProgress: a.onProgress } : {}),
  };
}
