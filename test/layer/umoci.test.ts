/**
 * Interop proof: a base layer and a diff layer, put in an OCI image layout and unpacked by
 * umoci, give exactly the tree the layers were made from (whiteouts and opaque dirs applied).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec.js';
import { diffSnapshots } from '../../src/layer/diff.js';
import { packLayer } from '../../src/layer/pack.js';
import { snapshotTree } from '../../src/layer/snapshot.js';
import { SDE, ociLayout, removeTempDirs, sh, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const BASE = `
mkdir -p etc bin sbin usr/lib/app/plugins var/lib/old/deep opt/gone home/user
echo debian > etc/hostname
echo aaaa > etc/motd && touch -d @1600000000 etc/motd.ref && touch -r etc/motd.ref etc/motd
echo 'root:x:0:0' > etc/passwd
echo secret > etc/shadow && chmod 0644 etc/shadow
printf '#!/bin/sh\\n' > bin/ping && chmod 0755 bin/ping
echo busybox > bin/busybox
ln -s busybox bin/sh
echo v1 > usr/lib/app/plugins/a.so && echo v1 > usr/lib/app/plugins/b.so
echo old > var/lib/old/deep/file && echo x > var/lib/old/top
echo opt > opt/gone/file
echo filedir > home/user/becomes-dir
mkdir home/user/becomes-file && echo c > home/user/becomes-file/c
mknod dev-null c 1 3
chown -R 1000:1000 home/user
`;

const CHANGE = `
rm etc/passwd
printf 'bbbb\\n' | dd of=etc/motd conv=notrunc status=none && touch -r etc/motd.ref etc/motd
chmod 0640 etc/shadow
setcap cap_net_raw+ep bin/ping
setfattr -n user.origin -v imgfactory etc/hostname
ln -sfn ../sbin/other bin/sh
ln bin/busybox sbin/busybox-link
rm -rf var/lib/old/deep opt/gone
mkdir usr/lib/app/plugins.new && echo v2 > usr/lib/app/plugins.new/c.so && rm -rf usr/lib/app/plugins && mv usr/lib/app/plugins.new usr/lib/app/plugins
rm home/user/becomes-dir && mkdir home/user/becomes-dir && echo in > home/user/becomes-dir/in
rm -rf home/user/becomes-file && echo now-a-file > home/user/becomes-file
mkfifo run-fifo
`;

/** An independent description of a tree: find, sha256sum, getfattr (not our snapshot code). */
async function describeTree(dir: string): Promise<string> {
  return sh(
    `find . -mindepth 1 -printf '%P %y %m %U:%G %l\\n' | LC_ALL=C sort
     find . -type f -printf '%P %s\\n' -exec sha256sum {} \\; | LC_ALL=C sort
     find . -mindepth 1 ! -type d -printf '%P %TY-%Tm-%Td\\n' | LC_ALL=C sort
     find . ! -type d -links +1 -printf '%i %P\\n' | LC_ALL=C sort | awk '{print $2}' | paste -sd' '
     stat -c '%n %t:%T' dev-null
     for f in $(find . -mindepth 1 | LC_ALL=C sort); do getfattr -h -d -m - -e hex "$f" 2>/dev/null | grep -v '^#' || true; echo "$f"; done`,
    dir,
  );
}

describe('umoci unpacks base + diff layers to the expected tree', () => {
  it('applies whiteouts, opaque directories, hardlinks, xattrs and modes', async () => {
    const root = await tempDir();
    const work = await tempDir();
    await sh(BASE, root);
    const s0 = await snapshotTree(root);
    const base = await packLayer({ root, snapshot: s0, sourceDateEpoch: SDE, outFile: join(work, 'base.tgz') });
    await sh(CHANGE, root);
    const s1 = await snapshotTree(root);
    const changes = diffSnapshots(s0, s1);
    expect(changes.deleted).toEqual(['etc/passwd', 'home/user/becomes-file', 'opt/gone', 'var/lib/old/deep']);
    expect(changes.opaque).toEqual(['home/user/becomes-dir', 'usr/lib/app/plugins']);
    const diff = await packLayer({ root, snapshot: s1, changes, sourceDateEpoch: SDE, outFile: join(work, 'diff.tgz') });

    const layout = join(work, 'layout');
    await ociLayout(layout, [base, diff]);
    const bundle = join(work, 'bundle');
    await run(['umoci', 'unpack', '--image', `${layout}:t`, bundle], { failCode: 'COMMAND_FAILED' });
    const unpacked = join(bundle, 'rootfs');

    // Every mtime in the tree is after SDE except etc/motd's, so clamp the source side first.
    await sh(`find . -mindepth 1 ! -type d -newermt @${SDE} -exec touch -h -d @${SDE} {} +`, root);
    const expected = await describeTree(root);
    const actual = await describeTree(unpacked);
    expect(actual).toBe(expected);
    // Spot checks that the description covers what matters.
    expect(actual).not.toContain('etc/passwd');
    expect(actual).not.toContain('plugins/a.so');
    expect(actual).toContain('usr/lib/app/plugins/c.so');
    expect(actual).toContain('security.capability=0x01000002002000000000000000000000');
    expect(actual).toMatch(/^bin\/busybox sbin\/busybox-link$/m);
    expect(actual).toContain('home/user/becomes-file f 644 0:0');
  });
});
