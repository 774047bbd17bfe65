/** Bootstrapper argv for the package cache, merged /usr and the one-pass update (pure builders). */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootstrapArgv, bootstrapIncludesUpdates, MMDEBSTRAP_MERGED_USR_HOOKS, shellQuote } from '../../src/bootstrap/debootstrap.js';

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

  it('mmdebstrap copies the staged .debs and the verified lists in setup hooks, skips its own update, and uses the merged-/usr hooks', async () => {
    // The hooks run as mmdebstrap runs a shell hook (`sh -c HOOK exec ROOT`), with directory
    // names a shell would split or expand: the copies must still land where apt looks.
    const dir = await mkdtemp(join(tmpdir(), 'imgfactory-hooks-'));
    try {
      const debs = join(dir, "my debs $(touch pwned) 'q'");
      const lists = join(dir, 'lists *');
      const root = join(dir, 'root dir');
      await mkdir(debs, { recursive: true });
      await mkdir(lists, { recursive: true });
      await mkdir(root);
      await writeFile(join(debs, 'a_1_amd64.deb'), 'a');
      await writeFile(join(debs, 'notes.txt'), 'not a deb');
      await writeFile(join(lists, 'h.invalid_debian_dists_bookworm_InRelease'), 'r');
      const argv = bootstrapArgv({ ...b, bootstrapper: 'mmdebstrap', debCacheDir: debs, aptListsDir: lists });
      expect(argv).toContain('--skip=update');
      const hooks = argv.filter((a) => a.startsWith('--setup-hook=')).map((a) => a.slice('--setup-hook='.length));
      expect(hooks).toHaveLength(2);
      for (const hook of hooks) execFileSync('sh', ['-c', hook, 'exec', root], { cwd: dir });
      expect(await readdir(join(root, 'var/cache/apt/archives'))).toEqual(['a_1_amd64.deb', 'partial']);
      expect(await readdir(join(root, 'var/lib/apt/lists'))).toEqual(['h.invalid_debian_dists_bookworm_InRelease', 'partial']);
      expect(await readdir(dir)).not.toContain('pwned');
      expect(argv).toContain(`--hook-dir=${MMDEBSTRAP_MERGED_USR_HOOKS}`);
      expect(argv.slice(-3)).toEqual(['bookworm', '/w/root', 'http://m.invalid/debian']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('without verified lists mmdebstrap runs its own update', () => {
    const argv = bootstrapArgv({ ...b, bootstrapper: 'mmdebstrap' });
    expect(argv).not.toContain('--skip=update');
    expect(argv.some((a) => a.startsWith('--setup-hook='))).toBe(false);
  });

  it('shellQuote makes one word of anything', () => {
    for (const s of ['', 'plain', "it's", "'; rm -rf / #", '$(x) `y` "z" \\n *']) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(s)}`]).toString()).toBe(s);
    }
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
