/** The pure cores of recipe `contents`: path selection in a snapshot, dpkg lists and stanzas, accounts. */
import { describe, expect, it } from 'vitest';
import { compareCanonicalPaths } from '../../src/layer/path-order.js';
import { resolveInSnapshot, selectFromSnapshot } from '../../src/layer/select.js';
import type { Snapshot, SnapshotEntry } from '../../src/layer/types.js';
import { dpkgListPaths, imageAccounts, md5sumsFor, planContents, STATUS_D, stanzasFor } from '../../src/pipeline/contents-plan.js';
import { selectContents } from '../../src/pipeline/contents.js';
import type { RecipeUser } from '../../src/recipe/types.js';

let ino = 1n;
function e(path: string, type: SnapshotEntry['type'] = 'file', linkTarget?: string): SnapshotEntry {
  return {
    path,
    type,
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: 0,
    mtimeNs: 0n,
    ctimeNs: 0n,
    dev: 1n,
    ino: ino++,
    nlink: 1,
    xattrs: {},
    ...(linkTarget === undefined ? {} : { linkTarget }),
  };
}
function snap(...entries: SnapshotEntry[]): Snapshot {
  const sorted = [...entries].sort((a, b) => compareCanonicalPaths(a.path, b.path));
  return { root: '/x', entries: new Map(sorted.map((x) => [x.path, x])), skipped: [] };
}

// A merged-/usr root: lib -> usr/lib, lib64 -> /usr/lib64 (absolute), plus things not wanted.
const root = snap(
  e('lib', 'symlink', 'usr/lib'),
  e('lib64', 'symlink', '/usr/lib64'),
  e('usr', 'dir'),
  e('usr/lib', 'dir'),
  e('usr/lib/x86_64-linux-gnu', 'dir'),
  e('usr/lib/x86_64-linux-gnu/libc.so.6'),
  e('usr/lib/x86_64-linux-gnu/libm.so.6'),
  e('usr/lib64', 'dir'),
  e('usr/lib64/ld-linux-x86-64.so.2', 'symlink', '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'),
  e('usr/bin', 'dir'),
  e('usr/bin/dash'),
  e('etc', 'dir'),
  e('etc/escape', 'symlink', '../../../..'),
  e('etc/libs', 'symlink', '/usr/lib'),
  e('etc/loop', 'symlink', 'loop'),
  e('etc/passwd'),
);

describe('selectFromSnapshot', () => {
  it('keeps wanted paths, the links passed on the way and every parent, in canonical order', () => {
    const { snapshot, missing } = selectFromSnapshot(root, ['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2', '/etc/passwd']);
    expect(missing).toEqual([]);
    expect([...snapshot.entries.keys()]).toEqual([
      'etc',
      'etc/passwd',
      'lib',
      'lib64',
      'usr',
      'usr/lib',
      'usr/lib/x86_64-linux-gnu',
      'usr/lib/x86_64-linux-gnu/libc.so.6',
      'usr/lib64',
      'usr/lib64/ld-linux-x86-64.so.2',
    ]);
    // Nothing not asked for: no shell, no other library.
    expect(snapshot.entries.has('usr/bin/dash')).toBe(false);
    expect(snapshot.entries.has('usr/lib/x86_64-linux-gnu/libm.so.6')).toBe(false);
  });

  it('never follows the last component: a listed link is shipped as a link, not its target', () => {
    const { snapshot } = selectFromSnapshot(root, ['/usr/lib64/ld-linux-x86-64.so.2']);
    expect(snapshot.entries.get('usr/lib64/ld-linux-x86-64.so.2')?.type).toBe('symlink');
    expect(snapshot.entries.has('usr/lib/x86_64-linux-gnu')).toBe(false);
  });

  it('reports what is not there, and links that lead out of the root stay inside it', () => {
    const { missing } = selectFromSnapshot(root, ['/etc/shadow', '/etc/passwd/x', '/etc/loop/x', '/etc/escape/usr/bin/dash']);
    expect(missing).toEqual(['/etc/shadow', '/etc/passwd/x', '/etc/loop/x']);
    // `../../../..` is clamped at the root, so the path resolves to usr/bin/dash in the snapshot.
    expect(resolveInSnapshot(root, '/etc/escape/usr/bin/dash')).toEqual({ path: 'usr/bin/dash', links: ['etc/escape'] });
    expect(resolveInSnapshot(root, '/../../usr/bin/dash')).toEqual({ path: 'usr/bin/dash', links: [] });
    // An absolute target below the top level starts again at the root, not at the link's directory.
    expect(resolveInSnapshot(root, '/etc/libs/x86_64-linux-gnu/libc.so.6')).toEqual({ path: 'usr/lib/x86_64-linux-gnu/libc.so.6', links: ['etc/libs'] });
  });
});

const STATUS = `Package: base-files
Status: install ok installed
Architecture: amd64
Version: 12.4+deb12u7
Description: Debian base system miscellaneous files
 This package contains the basic filesystem hierarchy.
 .
 More text.

Package: gone
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: never
Status: purge ok not-installed
Architecture: amd64

Package: libc6
Status: install ok installed
Multi-Arch: same
Architecture: amd64
Version: 2.36-9+deb12u8
`;

describe('dpkg lists and status stanzas', () => {
  it('reads a file list without its /. entry', () => {
    expect(dpkgListPaths('/.\n/etc\n/etc/debian_version\n')).toEqual(['/etc', '/etc/debian_version']);
  });

  it('copies the installed stanzas verbatim, in the order asked, and names the ones not installed', () => {
    const { stanzas, notInstalled } = stanzasFor(STATUS, ['libc6', 'base-files', 'gone', 'never', 'absent']);
    expect(stanzas.map((s) => [s.package, s.architecture])).toEqual([
      ['libc6', 'amd64'],
      ['base-files', 'amd64'],
    ]);
    expect(stanzas[1]!.text).toBe(`${STATUS.split('\n\n')[0]}\n`);
    expect(notInstalled).toEqual(['gone', 'never', 'absent']);
  });
});

const nonroot: RecipeUser = { name: 'nonroot', uid: 65532, gid: 65532, home: '/home/nonroot', shell: '/sbin/nologin', groups: ['tty'] };

describe('md5sumsFor', () => {
  it('keeps the lines of files that are in the image, nothing malformed', () => {
    const text = [
      'd41d8cd98f00b204e9800998ecf8427e  usr/share/doc/libc6/copyright',
      '0123456789abcdef0123456789abcdef  usr/share/doc/libc6/changelog.gz',
      'not a line',
      '0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libc.so.6',
      '',
    ].join('\n');
    const present = new Set(['/usr/share/doc/libc6/copyright', '/lib/x86_64-linux-gnu/libc.so.6']);
    expect(md5sumsFor(text, (p) => present.has(p))).toBe(
      'd41d8cd98f00b204e9800998ecf8427e  usr/share/doc/libc6/copyright\n0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libc.so.6\n',
    );
  });
});

describe('imageAccounts', () => {
  it('keeps root, nobody and the recipe users with their groups, nothing else', () => {
    const passwd =
      'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n';
    const group = 'root:x:0:\ndaemon:x:1:\ntty:x:5:nonroot\nshadow:x:42:\nnogroup:x:65534:\nnonroot:x:65532:\n';
    const out = imageAccounts({ passwd, group }, [nonroot]);
    expect(out.passwd).toBe(
      'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n',
    );
    expect(out.group).toBe('root:x:0:\ntty:x:5:nonroot\nnogroup:x:65534:\nnonroot:x:65532:\n');
  });
});

describe('planContents', () => {
  it('is the lists of the listed packages, generated files, recipe files, homes and one status file per package', () => {
    const { stanzas } = stanzasFor(STATUS, ['base-files', 'libc6']);
    const plan = planContents({
      contents: { packages: ['base-files', 'libc6'], generated: ['/etc/passwd'] },
      stanzas,
      lists: new Map([
        ['base-files', ['/etc', '/etc/debian_version']],
        ['libc6', ['/etc', '/lib/x86_64-linux-gnu/libc.so.6']],
        ['dpkg', ['/usr/bin/dpkg']],
      ]),
      md5sums: new Map([['base-files', 'd41d8cd98f00b204e9800998ecf8427e  etc/debian_version\n']]),
      files: [{ src: 'hello', dest: '/usr/local/bin/hello', mode: 0o755, uid: 0, gid: 0 }],
      users: [nonroot],
    });
    expect(plan.paths).toEqual([
      '/etc',
      '/etc/debian_version',
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/etc/passwd',
      '/usr/local/bin/hello',
      '/home/nonroot',
      STATUS_D,
      `${STATUS_D}/base-files`,
      `${STATUS_D}/base-files.md5sums`,
      `${STATUS_D}/libc6`,
    ]);
    expect(plan.statusFiles.get(`${STATUS_D}/base-files.md5sums`)).toBe('d41d8cd98f00b204e9800998ecf8427e  etc/debian_version\n');
    expect(plan.statusFiles.get(`${STATUS_D}/libc6`)).toMatch(/^Package: libc6\n[\s\S]*Version: 2.36-9\+deb12u8\n$/);
  });
});

describe('selectContents', () => {
  it('lets a listed path be absent (slim kept dpkg from unpacking it) but not a declared generated file, naming the field', () => {
    const contents = { packages: ['libc6'], generated: ['/etc/passwd', '/etc/ssl/certs/ca-certificates.crt'] };
    const plan = {
      paths: ['/lib/x86_64-linux-gnu/libc.so.6', '/usr/share/doc/libc6/changelog.gz', ...contents.generated],
      statusFiles: new Map<string, string>(),
    };
    let error: unknown;
    try {
      selectContents(root, contents, plan);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'RECIPE_CONTENTS_MISSING', exitStatus: 2, details: { field: 'contents.generated[1]' } });
    expect((error as Error).message).toBe('contents.generated[1]: /etc/ssl/certs/ca-certificates.crt was not created in the build root');

    const ok = selectContents(root, { ...contents, generated: ['/etc/passwd'] }, { ...plan, paths: plan.paths.slice(0, 3) });
    expect([...ok.entries.keys()]).toContain('usr/lib/x86_64-linux-gnu/libc.so.6');
  });
});
