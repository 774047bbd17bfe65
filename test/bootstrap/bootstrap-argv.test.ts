/** Bootstrapper argv for the package cache, merged /usr and the one-pass update (pure builders). */
import { describe, expect, it } from 'vitest';
import { bootstrapArgv, bootstrapIncludesUpdates, MMDEBSTRAP_MERGED_USR_HOOKS } from '../../src/bootstrap/debootstrap.js';

const b = {
  target: '/w/root',
  suite: 'bookworm',
  mirror: 'http://m.invalid/debian',
  arch: 'amd64',
  variant: 'minbase' as const,
  components: ['main', 'contrib'],
  keyring: '/w/k.gpg',
};
const updates = { securityMirror: 'http://s.invalid/debian-security' };

describe('bootstrap argv', () => {
  it('debootstrap takes verified .debs from the staging directory', () => {
    const argv = bootstrapArgv({ ...b, bootstrapper: 'debootstrap', debCacheDir: '/w/debs' });
    expect(argv).toContain('--cache-dir=/w/debs');
    expect(argv.indexOf('--cache-dir=/w/debs')).toBeLessThan(argv.indexOf('bookworm'));
  });

  it('mmdebstrap syncs the staged .debs into its apt cache and uses the merged-/usr hooks', () => {
    const argv = bootstrapArgv({ ...b, bootstrapper: 'mmdebstrap', debCacheDir: '/w/debs' });
    const mkdir = argv.indexOf('--setup-hook=mkdir -p "$1/var/cache/apt/archives/"');
    expect(mkdir).toBeGreaterThan(0);
    expect(argv.indexOf('--setup-hook=sync-in /w/debs /var/cache/apt/archives/')).toBe(mkdir + 1);
    expect(bootstrapArgv({ ...b, bootstrapper: 'mmdebstrap', debCacheDir: '/w/my debs' }).some((a) => a.includes('sync-in'))).toBe(false);
    expect(argv).toContain(`--hook-dir=${MMDEBSTRAP_MERGED_USR_HOOKS}`);
    expect(argv.slice(-3)).toEqual(['bookworm', '/w/root', 'http://m.invalid/debian']);
  });

  it('mmdebstrap installs from the suite, -updates and -security in one pass', () => {
    const argv = bootstrapArgv({ ...b, bootstrapper: 'mmdebstrap', updates });
    expect(argv.slice(-5)).toEqual([
      'bookworm',
      '/w/root',
      'deb http://m.invalid/debian bookworm main contrib',
      'deb http://m.invalid/debian bookworm-updates main contrib',
      'deb http://s.invalid/debian-security bookworm-security main contrib',
    ]);
    expect(bootstrapIncludesUpdates({ bootstrapper: 'mmdebstrap', updates })).toBe(true);
  });

  it('debootstrap takes one source; the build upgrades afterwards', () => {
    expect(bootstrapArgv({ ...b, bootstrapper: 'debootstrap', updates }).slice(-1)).toEqual(['http://m.invalid/debian']);
    expect(bootstrapIncludesUpdates({ bootstrapper: 'debootstrap', updates })).toBe(false);
    expect(bootstrapIncludesUpdates({ bootstrapper: 'mmdebstrap' })).toBe(false);
  });
});
