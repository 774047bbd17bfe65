/** What GNU tar sees in a packed layer, and what it extracts from it. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packLayer } from '../../src/layer/pack.js';
import { listTarEntries, type TarEntryInfo } from '../../src/layer/read-tar.js';
import { snapshotTree } from '../../src/layer/snapshot.js';
import type { LayerInfo } from '../../src/oci/types.js';
import { SDE, buildRichTree, gnuTar, removeTempDirs, sh, tempDir } from './helpers.js';

afterAll(removeTempDirs);

let root: string;
let layer: LayerInfo;
let entries: TarEntryInfo[];
const LONG_DIR = `usr/share/${'d'.repeat(60)}`;
const LONG_FILE = `${LONG_DIR}/${'f'.repeat(60)}`;

beforeAll(async () => {
  root = await tempDir();
  const out = await tempDir();
  await buildRichTree(root, 'a');
  layer = await packLayer({ root, snapshot: await snapshotTree(root), sourceDateEpoch: SDE, outFile: join(out, 'l.tgz') });
  entries = await listTarEntries(layer.path);
});

describe('layer tar headers', () => {
  it('GNU tar lists every entry with numeric owners, exact modes and clamped mtimes', async () => {
    const listing = await gnuTar(['--numeric-owner', '-tvvf', layer.path]);
    const rows = listing
      .trim()
      .split('\n')
      .map((l) => l.replace(/ +/g, ' '));
    const at = '2023-11-14 22:13'; // SDE in UTC
    expect(rows).toEqual([
      `drwxr-xr-x 0/0 0 ${at} etc/`,
      `-rw-r--r-- 0/0 0 ${at} etc/empty`,
      `-rw-r--r-- 0/0 7 ${at} etc/hostname`,
      `-rw-r--r-- 0/0 3 2017-07-14 02:40 etc/old`,
      `-rw-r--r-- 1000/1001 5 ${at} etc/owned`,
      `-rw-r--r-- 0/0 26 ${at} etc/passwd`,
      `-rw-r--r-- 0/0 4 ${at} etc/zoneinfo-\\303\\274n\\303\\257`,
      `drwxr-xr-x 0/0 0 ${at} usr/`,
      `drwxr-xr-x 0/0 0 ${at} usr/bin/`,
      `-rw-r--r-- 0/0 70000 ${at} usr/bin/big`,
      `-rwsr-xr-x 0/0 10 ${at} usr/bin/tool`,
      `drwxr-xr-x 0/0 0 ${at} usr/sbin/`,
      `hrwsr-xr-x 0/0 0 ${at} usr/sbin/tool-hardlink link to usr/bin/tool`,
      `lrwxrwxrwx 0/0 0 ${at} usr/sbin/tool-symlink -> ../bin/tool`,
      `drwxr-xr-x 0/0 0 ${at} usr/share/`,
      `drwxr-xr-x 0/0 0 ${at} ${LONG_DIR}/`,
      `-rw-r--r-- 0/0 4 ${at} ${LONG_FILE}`,
      `drwxr-xr-x 0/0 0 ${at} var/`,
      `drwxrwxrwt 0/0 0 ${at} var/empty/`,
      `prw-r--r-- 0/0 0 ${at} var/fifo`,
      `crw-rw-rw- 0/0 1,3 ${at} var/null`,
    ]);
  });

  it('GNU tar --xattrs shows the capability and user attributes', async () => {
    // (--utc would hide the xattr detail lines in GNU tar 1.34; helpers set TZ=UTC instead.)
    const listing = await gnuTar(['--xattrs', '--xattrs-include=*', '-tvvf', layer.path]);
    expect(listing).toMatch(/^-rw-r--r--\* 0\/0 +7 [^\n]* etc\/hostname\n {2}x: +10 user\.note$/m);
    expect(listing).toMatch(/^-rwsr-xr-x\* 0\/0 +10 [^\n]* usr\/bin\/tool\n {2}x: +20 security\.capability$/m);
  });

  it('has empty uname/gname, no atime/ctime records and names without ./ or /', () => {
    expect(entries.every((e) => e.uname === '' && e.gname === '')).toBe(true);
    const paxKeys = new Set(entries.flatMap((e) => Object.keys(e.pax)));
    expect([...paxKeys].sort()).toEqual(['SCHILY.xattr.security.capability', 'SCHILY.xattr.user.note', 'path']);
    expect(entries.every((e) => !e.name.startsWith('./') && !e.name.startsWith('/'))).toBe(true);
    expect(entries.filter((e) => e.type === 'directory').every((e) => e.name.endsWith('/'))).toBe(true);
    expect(entries.every((e) => e.mtime <= SDE)).toBe(true);
  });

  it('extracts with GNU tar to the same files, owners, modes, links and attributes', async () => {
    const x = await tempDir();
    await gnuTar(['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', layer.path, '-C', x]);
    const describeTree = (dir: string) =>
      sh(
        `find . -mindepth 1 ! -type d -printf '%P %y %m %U:%G %s %l\\n' | LC_ALL=C sort
         find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2
         stat -c '%n %t:%T' var/null
         stat -c '%i' usr/bin/tool usr/sbin/tool-hardlink | uniq | wc -l
         getfattr -d -m - -e hex etc/hostname usr/bin/tool usr/sbin/tool-symlink 2>/dev/null`,
        dir,
      );
    const extracted = await describeTree(x);
    expect(extracted).toBe(await describeTree(root));
    expect(extracted).toContain('security.capability=0x0100000200200080');
    expect(extracted).toMatch(/^1$/m); // the hardlink is one inode after extraction
  });
});
