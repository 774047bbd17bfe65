import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aptSourcesDeb822, buildAptOptions } from '../../src/bootstrap/apt-config.js';
import { applySlim, copyRecipeFiles } from '../../src/bootstrap/apply-rules.js';
import { mountsUnder } from '../../src/bootstrap/chroot.js';
import { bootstrapArgv } from '../../src/bootstrap/debootstrap.js';
import { resolveInRoot } from '../../src/bootstrap/root-path.js';
import { dpkgSlimConfig, stripPaths } from '../../src/bootstrap/rules.js';

describe('apt configuration', () => {
  const input = {
    mirror: 'http://mirror.invalid/debian',
    securityMirror: 'http://mirror.invalid/debian-security',
    suite: 'bookworm',
    components: ['main'],
    signedBy: '/k.gpg',
  };
  it('lists the suite, -updates and -security with the given keyring', () => {
    const text = aptSourcesDeb822({ ...input, updates: true });
    expect(text).toContain('URIs: http://mirror.invalid/debian\nSuites: bookworm bookworm-updates\n');
    expect(text).toContain('URIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\n');
    expect(text.match(/Signed-By: \/k\.gpg/g)).toHaveLength(2);
  });
  it('lists only the suite without updates', () => {
    expect(aptSourcesDeb822({ ...input, updates: false })).not.toMatch(/updates|security/);
  });
  it('keeps lists, caches and logs out of the image', () => {
    const o = buildAptOptions().join(' ');
    for (const k of ['Dir::State::Lists=/run/', 'Dir::Cache::Archives=/run/', 'Dir::Log=/run/', 'Dir::Cache::pkgcache=']) expect(o).toContain(k);
  });
});

describe('bootstrap argv', () => {
  const b = {
    target: '/w/root',
    suite: 'bookworm',
    mirror: 'http://m.invalid/debian',
    arch: 'amd64',
    variant: 'minbase' as const,
    components: ['main'],
    keyring: '/w/k.gpg',
  };
  it('debootstrap trusts only the given keyring', () => {
    expect(bootstrapArgv({ ...b, bootstrapper: 'debootstrap' })).toEqual([
      'debootstrap',
      '--variant=minbase',
      '--arch=amd64',
      '--components=main',
      '--keyring=/w/k.gpg',
      '--force-check-gpg',
      'bookworm',
      '/w/root',
      'http://m.invalid/debian',
    ]);
  });
  it('mmdebstrap keeps the downloaded .debs for the audit', () => {
    const argv = bootstrapArgv({ ...b, bootstrapper: 'mmdebstrap' });
    for (const skip of ['--skip=download/empty', '--skip=essential/unlink', '--skip=cleanup/apt/cache']) expect(argv).toContain(skip);
  });
});

describe('slim and strip rules', () => {
  it('dpkg excludes docs but keeps copyright files and the kept locales', () => {
    const cfg = dpkgSlimConfig({ docs: true, man: true, keepLocales: ['de'], caches: true });
    expect(cfg).toContain('path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright');
    expect(cfg).toContain('path-include=/usr/share/locale/de/*');
  });
  it('strip removes shells, apt and dpkg tools but never the dpkg status', () => {
    const p = stripPaths({ shell: true, apt: true, dpkgTools: true, paths: ['/opt/x'] });
    expect(p).toEqual(expect.arrayContaining(['bin/sh', 'usr/bin/bash', 'usr/bin/apt-get', 'usr/bin/dpkg', 'opt/x']));
    expect(p.some((x) => x.startsWith('var/lib/dpkg'))).toBe(false);
  });
  it('applySlim deletes docs except copyright', async () => {
    const root = await mkdtemp(join(tmpdir(), 'slim-'));
    await mkdir(join(root, 'usr/share/doc/bash'), { recursive: true });
    await writeFile(join(root, 'usr/share/doc/bash/copyright'), 'c');
    await writeFile(join(root, 'usr/share/doc/bash/README'), 'r');
    await mkdir(join(root, 'usr/share/doc/empty/sub'), { recursive: true });
    await mkdir(join(root, 'etc/dpkg/dpkg.cfg.d'), { recursive: true });
    await applySlim(root, { docs: true, man: false, keepLocales: null, caches: true });
    await expect(readFile(join(root, 'usr/share/doc/bash/copyright'), 'utf8')).resolves.toBe('c');
    await expect(readFile(join(root, 'usr/share/doc/bash/README'))).rejects.toThrow();
    await expect(readFile(join(root, 'usr/share/doc/empty/sub'))).rejects.toThrow(/ENOENT/);
  });
});

describe('paths inside the build root', () => {
  it('resolves absolute symlinks relative to the root, never to the host', async () => {
    const root = await mkdtemp(join(tmpdir(), 'root-'));
    await mkdir(join(root, 'run/x'), { recursive: true });
    await mkdir(join(root, 'etc'));
    await symlink('/run/x/resolv.conf', join(root, 'etc/resolv.conf'));
    await symlink('/etc', join(root, 'evil'));
    expect(await resolveInRoot(root, '/etc/resolv.conf', true)).toBe(join(root, 'run/x/resolv.conf'));
    expect(await resolveInRoot(root, '/etc/resolv.conf')).toBe(join(root, 'etc/resolv.conf'));
    expect(await resolveInRoot(root, '/evil/passwd')).toBe(join(root, 'etc/passwd'));
    expect(await resolveInRoot(root, '/../../etc/passwd')).toBe(join(root, 'etc/passwd'));
  });

  it('refuses recipe files that escape the recipe folder through a symlink', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'recipe-'));
    const root = await mkdtemp(join(tmpdir(), 'root-'));
    await symlink('/etc/hostname', join(dir, 'sneaky'));
    await expect(copyRecipeFiles(root, join(dir, 'r.ts'), [{ src: 'sneaky', dest: '/etc/x', mode: 0o644, uid: 0, gid: 0 }])).rejects.toMatchObject({
      code: 'RECIPE_FILE_ESCAPES',
    });
  });

  it('finds mounts under a root in mountinfo', () => {
    const info = '36 35 0:5 / /w/root/proc rw - proc proc rw\n37 35 0:6 / /w/rootfs2/dev rw - devtmpfs x rw\n';
    expect(mountsUnder(info, '/w/root')).toEqual(['/w/root/proc']);
  });
});
