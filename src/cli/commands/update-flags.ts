/** The flags `lock`, `check`, `plan --changed` and `build --if-changed` share: which archive, which keys. */
import { resolve } from 'node:path';
import { hostArchiveMirrors } from '../../archive/host-mirror.js';
import { DEFAULT_DEBIAN_KEYS_DIR, loadPinnedKeys } from '../../archive/keyring.js';
import { hostDebianArch } from '../../oci/platform.js';
import type { CheckOptions } from '../../update/check.js';
import { boolOpt, stringOpt, type CommandContext, type OptionSpec } from '../command.js';
import { defaultCacheDir } from '../cache-dirs.js';
import { parseBootstrapper } from '../../bootstrap/debootstrap.js';
import { mirrorFlags } from './mirror-flags.js';

export const UPDATE_OPTIONS: OptionSpec = {
  mirror: { type: 'string' },
  'security-mirror': { type: 'string' },
  'keys-dir': { type: 'string' },
  'cache-dir': { type: 'string' },
  updates: { type: 'boolean' },
  bootstrapper: { type: 'string' },
};

export const UPDATE_OPTIONS_HELP = `  --mirror <url>            Debian mirror (default: the recipe's, else the host's apt sources)
  --security-mirror <url>   security mirror (default: likewise)
  --keys-dir <dir>          pinned archive keys (default: the package's keys/debian)
  --cache-dir <dir>         verified-file cache (default: $XDG_CACHE_HOME/imgfactory/archive)
  --updates                 also consult <suite>-updates and <suite>-security when the
                            recipe says updates: false
  --bootstrapper <name>     the bootstrapper builds use (default: mmdebstrap); part of the
                            recipe digest`;

export async function checkOptionsFromFlags(ctx: CommandContext, onProgress?: (m: string) => void): Promise<CheckOptions> {
  const flags = mirrorFlags(ctx);
  const bootstrapper = parseBootstrapper(stringOpt(ctx, 'bootstrapper'));
  const keysDir = stringOpt(ctx, 'keys-dir');
  const cacheDir = stringOpt(ctx, 'cache-dir');
  const mirror = flags.mirror?.replace(/\/+$/, '');
  const securityMirror = flags.securityMirror?.replace(/\/+$/, '');
  return {
    load: { hostArch: hostDebianArch(process.arch), displayBase: ctx.cwd },
    bootstrapper,
    keys: await loadPinnedKeys(keysDir === undefined ? DEFAULT_DEBIAN_KEYS_DIR : resolve(ctx.cwd, keysDir)),
    cacheDir: cacheDir === undefined ? defaultCacheDir(ctx.env, 'archive') : resolve(ctx.cwd, cacheDir),
    ...(mirror ? { mirror } : {}),
    ...(securityMirror ? { securityMirror } : {}),
    hostMirrors: () => hostArchiveMirrors(),
    includeUpdates: boolOpt(ctx, 'updates'),
    now: () => new Date(),
    hostArch: hostDebianArch(process.arch),
    inReleaseMemo: new Map(),
    ...(onProgress ? { onProgress } : {}),
  };
}
