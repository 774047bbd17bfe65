/** snapshot → change the tree for real → snapshot → diff → pack → read the layer back. */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diffSnapshots } from '../../src/layer/diff.js';
import { packLayer } from '../../src/layer/pack.js';
import { listTarEntries, type TarEntryInfo } from '../../src/layer/read-tar.js';
import { snapshotTree } from '../../src/layer/snapshot.js';
import type { LayerChanges } from '../../src/layer/types.js';
import { SDE, describe as names, removeTempDirs, sh, tempDir } from './helpers.js';

afterAll(removeTempDirs);

interface Outcome {
  changes: LayerChanges;
  entries: TarEntryInfo[];
  byName: Map<string, TarEntryInfo>;
}

/** Build `base`, snapshot, run `change`, snapshot, and pack the diff layer. */
async function layerFor(base: string, change: string): Promise<Outcome> {
  const root = await tempDir();
  const out = await tempDir();
  await sh(base, root);
  const before = await snapshotTree(root);
  await sh(change, root);
  const after = await snapshotTree(root);
  const changes = diffSnapshots(before, after);
  const layer = await packLayer({ root, snapshot: after, changes, sourceDateEpoch: SDE, outFile: join(out, 'diff.tgz') });
  const entries = await listTarEntries(layer.path);
  return { changes, entries, byName: new Map(entries.map((e) => [e.name, e])) };
}

const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

describe('diff layers on real trees', () => {
  it('an unchanged tree gives an empty layer', async () => {
    const r = await layerFor('mkdir etc && echo a > etc/a', 'true');
    expect(r.entries).toEqual([]);
  });

  it('an added file', async () => {
    const r = await layerFor('mkdir etc && echo a > etc/a', 'echo b > etc/b');
    expect(r.changes.added).toEqual(['etc/b']);
    expect(names(r.entries)).toEqual(['etc/', 'etc/b']);
    expect(r.byName.get('etc/b')?.contentDigest).toBe(sha('b\n'));
  });

  it('a file rewritten in place with the same size and mtime (touch -r)', async () => {
    const r = await layerFor(
      'mkdir etc && echo aaaa > etc/f && touch -d @1600000000 etc/ref && touch -r etc/ref etc/f',
      'printf "bbbb\\n" | dd of=etc/f conv=notrunc status=none && touch -r etc/ref etc/f',
    );
    expect(r.changes.modified).toEqual(['etc/f']);
    expect(names(r.entries)).toEqual(['etc/', 'etc/f']);
    expect(r.byName.get('etc/f')?.contentDigest).toBe(sha('bbbb\n'));
    expect(r.byName.get('etc/f')?.mtime).toBe(1_600_000_000);
  });

  it('a deleted file becomes a .wh. whiteout', async () => {
    const r = await layerFor('mkdir etc && echo a > etc/a && echo b > etc/b', 'rm etc/a');
    expect(r.changes.deleted).toEqual(['etc/a']);
    expect(names(r.entries)).toEqual(['etc/', 'etc/.wh.a']);
    const wh = r.byName.get('etc/.wh.a')!;
    expect([wh.type, wh.size]).toEqual(['file', 0]);
  });

  it('a deleted directory becomes one whiteout, not one per child', async () => {
    const r = await layerFor('mkdir -p d/x/y top/z && touch d/x/y/z d/x/w d/keep top/z/f', 'rm -rf d/x top');
    expect(r.changes.deleted).toEqual(['d/x', 'top']);
    expect(names(r.entries)).toEqual(['.wh.top', 'd/', 'd/.wh.x']);
  });

  it('a directory replaced by a file, and a file replaced by a directory', async () => {
    const r = await layerFor('mkdir p && touch p/child && echo f > q', 'rm -rf p && echo file > p && rm q && mkdir q && echo c > q/c');
    expect(r.changes.deleted).toEqual(['p']);
    expect(r.changes.opaque).toEqual(['q']);
    expect(names(r.entries)).toEqual(['.wh.p', 'p', 'q/', 'q/.wh..wh..opq', 'q/c']);
    expect(r.byName.get('p')?.type).toBe('file');
  });

  it('a directory deleted and re-created is opaque and carries all its contents', async () => {
    const r = await layerFor(
      'mkdir -p o/sub && touch o/old o/sub/deep && echo k > o/keep',
      // The new directory exists before the old one goes, so it cannot reuse the inode.
      'mkdir o.new && echo k > o.new/keep && echo n > o.new/n && rm -rf o && mv o.new o',
    );
    expect(r.changes.opaque).toEqual(['o']);
    expect(r.changes.deleted).toEqual([]);
    expect(names(r.entries)).toEqual(['o/', 'o/.wh..wh..opq', 'o/keep', 'o/n']);
  });

  it('a chmod-only change', async () => {
    const r = await layerFor('mkdir etc && echo s > etc/shadow && chmod 0644 etc/shadow', 'chmod 0640 etc/shadow');
    expect(r.changes.modified).toEqual(['etc/shadow']);
    // The unchanged parent directory rides along so the layer alone has the right parents.
    expect(names(r.entries)).toEqual(['etc/', 'etc/shadow']);
    expect(r.byName.get('etc/shadow')?.mode).toBe(0o640);
  });

  it('a symlink retargeted', async () => {
    const r = await layerFor('mkdir bin && ln -s a bin/l', 'ln -sfn b bin/l');
    expect(names(r.entries)).toEqual(['bin/', 'bin/l -> b']);
  });

  it('a new hardlink to an unchanged file carries both links', async () => {
    const r = await layerFor('mkdir bin sbin && echo tool > bin/tool && echo other > bin/other', 'ln bin/tool sbin/tool');
    expect(names(r.entries)).toEqual(['bin/', 'bin/tool', 'sbin/', 'sbin/tool => bin/tool']);
    expect(r.byName.get('bin/tool')?.contentDigest).toBe(sha('tool\n'));
  });

  it('an xattr-only change: security.capability via setcap, user.* via setfattr', async () => {
    const r = await layerFor(
      'mkdir bin etc && echo x > bin/ping && echo y > etc/conf',
      'setcap cap_net_raw+ep bin/ping && setfattr -n user.origin -v debian etc/conf',
    );
    expect(r.changes.modified).toEqual(['bin/ping', 'etc/conf']);
    expect(names(r.entries)).toEqual(['bin/', 'bin/ping', 'etc/', 'etc/conf']);
    expect(Object.keys(r.byName.get('bin/ping')!.pax)).toEqual(['SCHILY.xattr.security.capability']);
    expect(r.byName.get('etc/conf')!.pax).toEqual({ 'SCHILY.xattr.user.origin': 'debian' });
  });
});
