/** The pure cores of `diff`: whiteouts, file attributes, package versions, config fields, purls. */
import { describe, expect, it } from 'vitest';
import { diffConfig } from '../../src/diff/diff-config.js';
import { diffFiles } from '../../src/diff/diff-files.js';
import { diffPackages } from '../../src/diff/diff-packages.js';
import { applyLayer, normalizeTarPath, whiteoutOf, type LayerEntry, type TreeEntry } from '../../src/diff/file-tree.js';
import { parseDebPurl } from '../../src/update/purl.js';

const file = (path: string, sha = 'a', extra: Partial<TreeEntry> = {}): LayerEntry => ({
  kind: 'entry',
  entry: { path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1, sha256: sha.repeat(64), ...extra },
});
const dir = (path: string): LayerEntry => ({ kind: 'entry', entry: { path, type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0 } });
const marker = (path: string) => whiteoutOf(path)!;

describe('layers with whiteouts', () => {
  it('normalizes tar names', () => {
    expect(normalizeTarPath('./usr/bin/')).toBe('/usr/bin');
    expect(normalizeTarPath('etc/passwd')).toBe('/etc/passwd');
    expect(normalizeTarPath('./')).toBeUndefined();
    expect(whiteoutOf('/etc/.wh.motd')).toEqual({ kind: 'whiteout', path: '/etc/motd' });
    expect(whiteoutOf('/opt/.wh..wh..opq')).toEqual({ kind: 'opaque', dir: '/opt' });
    expect(whiteoutOf('/etc/motd')).toBeUndefined();
  });

  it('a whiteout removes a file or a whole directory; an opaque directory hides lower content; hard links copy their target', () => {
    const tree = new Map<string, TreeEntry>();
    applyLayer(tree, [dir('/etc'), file('/etc/motd'), file('/etc/keep'), dir('/opt'), file('/opt/a'), dir('/var'), dir('/var/x'), file('/var/x/y')]);
    applyLayer(tree, [
      marker('/etc/.wh.motd'),
      marker('/opt/.wh..wh..opq'),
      file('/opt/b', 'b'),
      marker('/var/.wh.x'),
      { kind: 'hardlink', path: '/etc/link', target: '/etc/keep' },
    ]);
    expect([...tree.keys()].sort()).toEqual(['/etc', '/etc/keep', '/etc/link', '/opt', '/opt/b', '/var']);
    expect(tree.get('/etc/link')!.sha256).toBe(tree.get('/etc/keep')!.sha256);
  });

  it('a file replacing a directory hides what was beneath it', () => {
    const tree = new Map<string, TreeEntry>();
    applyLayer(tree, [dir('/srv'), file('/srv/old')]);
    applyLayer(tree, [file('/srv', 'c')]);
    expect([...tree.keys()]).toEqual(['/srv']);
  });
});

describe('file diff', () => {
  it('names added, removed and changed files with the attributes that changed', () => {
    const e = (x: LayerEntry) => (x as { entry: TreeEntry }).entry;
    const a = new Map([
      ['/a', e(file('/a'))],
      ['/b', e(file('/b'))],
      ['/c', e(file('/c'))],
      ['/l', { path: '/l', type: 'symlink' as const, mode: 0o777, uid: 0, gid: 0, size: 0, linkname: 'x' }],
    ]);
    const b = new Map([
      ['/a', e(file('/a'))],
      ['/c', e(file('/c', 'd', { mode: 0o600, uid: 1000, size: 2 }))],
      ['/d', e(file('/d'))],
      ['/l', { path: '/l', type: 'symlink' as const, mode: 0o777, uid: 0, gid: 0, size: 0, linkname: 'y' }],
    ]);
    const d = diffFiles(a, b);
    expect(d.added.map((x) => x.path)).toEqual(['/d']);
    expect(d.removed.map((x) => x.path)).toEqual(['/b']);
    expect(d.changed.map((x) => [x.path, x.changed])).toEqual([
      ['/c', ['content', 'size', 'mode', 'owner']],
      ['/l', ['link']],
    ]);
  });
});

describe('package diff', () => {
  it('added, removed, upgraded (with security from the suite), downgraded, in Debian version order', () => {
    const d = diffPackages(
      [
        { package: 'bash', version: '5.2.15-2+b2', architecture: 'amd64' },
        { package: 'gone', version: '1', architecture: 'all' },
        { package: 'zlib1g', version: '1:1.2.13.dfsg-1', architecture: 'amd64' },
        { package: 'old', version: '2.0', architecture: 'amd64' },
      ],
      [
        { package: 'bash', version: '5.2.15-2+b7', architecture: 'amd64', suite: 'bookworm' },
        { package: 'zlib1g', version: '1:1.2.13.dfsg-1+deb12u1', architecture: 'amd64', suite: 'bookworm-security' },
        { package: 'old', version: '1.9', architecture: 'amd64' },
        { package: 'new', version: '1', architecture: 'amd64' },
      ],
    );
    expect(d.added.map((p) => p.package)).toEqual(['new']);
    expect(d.removed.map((p) => p.package)).toEqual(['gone']);
    expect(d.upgraded).toEqual([
      { package: 'bash', architecture: 'amd64', oldVersion: '5.2.15-2+b2', newVersion: '5.2.15-2+b7', suite: 'bookworm', security: false },
      {
        package: 'zlib1g',
        architecture: 'amd64',
        oldVersion: '1:1.2.13.dfsg-1',
        newVersion: '1:1.2.13.dfsg-1+deb12u1',
        suite: 'bookworm-security',
        security: true,
      },
    ]);
    expect(d.downgraded.map((p) => p.package)).toEqual(['old']);
  });
});

describe('config diff and purls', () => {
  it('compares user, env by variable, cmd and labels by key', () => {
    const changes = diffConfig(
      { user: 'app', env: ['LANG=C.UTF-8', 'PATH=/usr/bin'], cmd: ['/bin/bash'], labels: { a: '1', b: '2' } },
      { user: 'app', env: ['LANG=C.UTF-8', 'PATH=/usr/bin:/bin', 'X=a=b'], cmd: ['/usr/bin/python3'], labels: { a: '1' } },
    );
    expect(changes).toEqual([
      { field: 'cmd', before: ['/bin/bash'], after: ['/usr/bin/python3'] },
      { field: 'env', key: 'PATH', before: '/usr/bin', after: '/usr/bin:/bin' },
      { field: 'env', key: 'X', before: null, after: 'a=b' },
      { field: 'label', key: 'b', before: '2', after: null },
    ]);
  });

  it('reads Debian purls as imgfactory writes them, and ignores others', () => {
    expect(parseDebPurl('pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1%2Bdeb12u1?arch=amd64&distro=bookworm')).toEqual({
      name: 'zlib1g',
      version: '1:1.2.13.dfsg-1+deb12u1',
      architecture: 'amd64',
      distro: 'bookworm',
    });
    expect(parseDebPurl('pkg:oci/debian-minimal@sha256%3Aabc')).toBeUndefined();
    expect(parseDebPurl('pkg:deb/debian/bash@5?arch=amd64')).toBeUndefined();
  });
});
