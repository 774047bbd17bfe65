/** snapshotTree on real trees, and the typed errors of snapshot and pack. */
import { createServer } from 'node:net';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec.js';
import { packLayer } from '../../src/layer/pack.js';
import { snapshotTree } from '../../src/layer/snapshot.js';
import { SDE, removeTempDirs, sh, tempDir } from './helpers.js';

afterAll(removeTempDirs);

describe('snapshotTree', () => {
  it('records type, mode bits, owners, link targets, device numbers, link counts and xattrs', async () => {
    const root = await tempDir();
    await sh(
      `mkdir -p d && chmod 1777 d && echo hi > f && chown 12:34 f && chmod 6755 f && ln f d/hard && ln -s ../f d/sym
       mkfifo p && mknod b b 7 200 && setfattr -n user.k -v v f && setfattr -n user.dir -v 1 d`,
      root,
    );
    const s = await snapshotTree(root);
    expect([...s.entries.keys()]).toEqual(['b', 'd', 'd/hard', 'd/sym', 'f', 'p']);
    const f = s.entries.get('f')!;
    expect([f.type, f.mode, f.uid, f.gid, f.size, f.nlink]).toEqual(['file', 0o6755, 12, 34, 3, 2]);
    expect(f.xattrs).toEqual({ 'user.k': 'dg==' });
    expect(s.entries.get('d/hard')!.ino).toBe(f.ino);
    expect(s.entries.get('d')).toMatchObject({ type: 'dir', mode: 0o1777, xattrs: { 'user.dir': 'MQ==' } });
    expect(s.entries.get('d/sym')).toMatchObject({ type: 'symlink', linkTarget: '../f' });
    expect(s.entries.get('b')).toMatchObject({ type: 'block', rdev: { major: 7, minor: 200 } });
    expect(s.entries.get('p')?.type).toBe('fifo');
  });

  it("never reports a symlink target's attributes as the link's own", async () => {
    const root = await tempDir();
    await sh('echo x > target && setfattr -n user.t -v 1 target && ln -s target link', root);
    const s = await snapshotTree(root);
    expect(s.entries.get('target')?.xattrs).toEqual({ 'user.t': 'MQ==' });
    expect(s.entries.get('link')?.xattrs).toEqual({});
  });

  it('leaves out SELinux labels, which describe the build host', async () => {
    const root = await tempDir();
    await sh('echo x > f && setfattr -n security.selinux -v system_u:object_r:bin_t:s0 f && setfattr -n user.k -v v f', root);
    expect((await snapshotTree(root)).entries.get('f')?.xattrs).toEqual({ 'user.k': 'dg==' });
  });

  it('skips sockets and reports them', async () => {
    const root = await tempDir();
    await sh('mkdir run && touch run/keep', root);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(root, 'run', 'daemon.sock'), resolve));
    try {
      const s = await snapshotTree(root);
      expect([...s.entries.keys()]).toEqual(['run', 'run/keep']);
      expect(s.skipped).toEqual([{ path: 'run/daemon.sock', reason: 'socket' }]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('keeps excluded directories but not their contents', async () => {
    const root = await tempDir();
    await sh(
      `mkdir -p proc/1 var/cache/apt/archives && touch proc/1/status var/cache/apt/archives/x.deb var/cache/keep
       setfattr -n user.k -v v var/cache/keep`,
      root,
    );
    const s = await snapshotTree(root, { exclude: ['/proc/', 'var/cache/apt/archives'] });
    expect([...s.entries.keys()]).toEqual(['proc', 'var', 'var/cache', 'var/cache/apt', 'var/cache/apt/archives', 'var/cache/keep']);
    // getfattr is pointed past the excluded top-level directory but still reads the rest.
    expect(s.entries.get('var/cache/keep')?.xattrs).toEqual({ 'user.k': 'dg==' });
    await expect(snapshotTree(root, { exclude: ['../etc'] })).rejects.toMatchObject({ code: 'LAYER_PATH_INVALID' });
  });

  it('does not cross into another mount, at the top level or deeper', async () => {
    const root = await tempDir();
    await sh('mkdir -p mnt a/mnt && touch a/keep', root);
    const mounts = [join(root, 'mnt'), join(root, 'a', 'mnt')];
    for (const m of mounts) await run(['mount', '-t', 'tmpfs', 'tmpfs', m], { failCode: 'MOUNT_FAILED' });
    try {
      await sh('touch mnt/inside a/mnt/inside', root);
      const s = await snapshotTree(root);
      expect([...s.entries.keys()]).toEqual(['a', 'a/keep', 'a/mnt', 'mnt']);
      expect(s.skipped).toEqual([
        { path: 'a/mnt', reason: 'other-filesystem' },
        { path: 'mnt', reason: 'other-filesystem' },
      ]);
    } finally {
      for (const m of mounts) await run(['umount', m]);
    }
  });

  it('rejects a missing root and names that are not UTF-8', async () => {
    const root = await tempDir();
    await expect(snapshotTree(join(root, 'nope'))).rejects.toMatchObject({ code: 'LAYER_PATH_INVALID' });
    await sh("touch $'bad-\\xff-name'", root);
    await expect(snapshotTree(root)).rejects.toMatchObject({ code: 'LAYER_PATH_INVALID' });
  });
});

describe('packLayer errors', () => {
  async function setup(script: string) {
    const root = await tempDir();
    const out = await tempDir();
    await sh(script, root);
    return { root, out, snapshot: await snapshotTree(root) };
  }

  it.each([
    ['grew', 'echo more >> etc/file'],
    ['was rewritten with the same size', 'printf "CONTENT\\n" | dd of=etc/file conv=notrunc status=none'],
    ['was replaced', 'mv etc/file etc/old && echo content > etc/file'],
    ['was deleted', 'rm etc/file'],
  ])('fails with LAYER_FILE_CHANGED when a file %s after the snapshot, leaving nothing behind', async (_what, change) => {
    const { root, out, snapshot } = await setup('mkdir etc && echo content > etc/file');
    await sh(change, root);
    const outFile = join(out, 'layer.tgz');
    await expect(packLayer({ root, snapshot, sourceDateEpoch: SDE, outFile })).rejects.toMatchObject({
      code: 'LAYER_FILE_CHANGED',
    });
    expect(await readdir(out)).toEqual([]);
  });

  it('refuses a file whose name is an OCI whiteout marker', async () => {
    const { root, out, snapshot } = await setup('mkdir etc && touch etc/.wh.sneaky');
    await expect(packLayer({ root, snapshot, sourceDateEpoch: SDE, outFile: join(out, 'l.tgz') })).rejects.toMatchObject({
      code: 'LAYER_PATH_INVALID',
    });
    expect(await readdir(out)).toEqual([]);
  });
});
