/** The pure cores on typed data: getfattr parser, path order, diff rules, tar plan. */
import { describe, expect, it } from 'vitest';
import { diffSnapshots } from '../../src/layer/diff.js';
import { parseGetfattrDump } from '../../src/layer/getfattr-dump.js';
import { compareCanonicalPaths } from '../../src/layer/path-order.js';
import { clampMtime, planLayerEntries } from '../../src/layer/tar-plan.js';
import type { Snapshot, SnapshotEntry } from '../../src/layer/types.js';
import { splitDeviceNumber } from '../../src/layer/snapshot.js';

let nextIno = 100n;
function e(path: string, type: SnapshotEntry['type'] = 'file', over: Partial<SnapshotEntry> = {}): SnapshotEntry {
  return {
    path,
    type,
    mode: type === 'dir' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtimeNs: 1_000_000_000_000_000_000n,
    ctimeNs: 1_000_000_000_000_000_000n,
    dev: 1n,
    ino: nextIno++,
    nlink: 1,
    xattrs: {},
    ...over,
  };
}
function snap(...entries: SnapshotEntry[]): Snapshot {
  const sorted = [...entries].sort((a, b) => compareCanonicalPaths(a.path, b.path));
  return { root: '/x', entries: new Map(sorted.map((x) => [x.path, x])), skipped: [] };
}

describe('parseGetfattrDump', () => {
  it('reads blocks, base64 values, empty values and octal escapes in paths and names', () => {
    const text = [
      '# file: /r/nl\\012x',
      'user.a=0seA==',
      '',
      '# file: /r/back\\134slash',
      'security.capability=0sAQAAAgAgAIAAAAAAAAAAAAAAAAA=',
      'user.empty=0s',
      'user.we\\075ird=0sMQ==',
      'user.bare',
      '',
      '# file: /r/ünï',
      'user.z=0seg==',
      'user.a=0sYQ==',
      '',
    ].join('\n');
    const dump = parseGetfattrDump(text);
    expect([...dump.keys()]).toEqual(['/r/nl\nx', '/r/back\\slash', '/r/ünï']);
    expect(dump.get('/r/back\\slash')).toEqual({
      'security.capability': 'AQAAAgAgAIAAAAAAAAAAAAAAAAA=',
      'user.bare': '',
      'user.empty': '',
      'user.we=ird': 'MQ==',
    });
    expect(Object.keys(dump.get('/r/ünï')!)).toEqual(['user.a', 'user.z']);
  });

  it('rejects output it does not understand', () => {
    expect(() => parseGetfattrDump('user.a=0seA==\n')).toThrow(expect.objectContaining({ code: 'COMMAND_FAILED' }));
    expect(() => parseGetfattrDump('# file: /a\nuser.a="text"\n')).toThrow(expect.objectContaining({ code: 'COMMAND_FAILED' }));
  });
});

describe('canonical path order', () => {
  it('puts each directory directly before its own subtree, names compared as UTF-8 bytes', () => {
    const paths = ['a-b', 'a/b', 'a', 'B', 'a/b/c', 'é', 'z', '\u{1F600}', '\uFB01'];
    expect([...paths].sort(compareCanonicalPaths)).toEqual(['B', 'a', 'a/b', 'a/b/c', 'a-b', 'z', 'é', '\uFB01', '\u{1F600}']);
    const bytes = [...paths].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    // Same as raw byte order except that '/' sorts first.
    expect(bytes.indexOf('a-b')).toBeLessThan(bytes.indexOf('a/b'));
  });
});

describe('diffSnapshots', () => {
  it('whiteouts only the top of a deleted subtree', () => {
    const before = snap(e('a', 'dir'), e('a/b', 'dir'), e('a/b/c'), e('a/d'), e('keep'));
    const after = snap(before.entries.get('a')!, before.entries.get('keep')!);
    const c = diffSnapshots(before, after);
    expect(c.deleted).toEqual(['a/b', 'a/d']);
    expect(c.entries).toEqual(['a']); // parent of the whiteouts
    expect(planLayerEntries(after, c, 0).map((p) => p.header.name)).toEqual(['a/', 'a/.wh.b', 'a/.wh.d']);
  });

  it('marks a re-created directory opaque and re-adds everything under it', () => {
    const old = e('d', 'dir');
    const before = snap(old, e('d/gone'), e('d/same', 'file', { ino: 7n }), e('d/sub', 'dir'), e('d/sub/x'));
    const same = before.entries.get('d/same')!;
    const after = snap(e('d', 'dir'), same, e('d/new'));
    const c = diffSnapshots(before, after);
    expect(c.opaque).toEqual(['d']);
    expect(c.deleted).toEqual([]);
    expect(c.entries).toEqual(['d', 'd/new', 'd/same']);
    expect(planLayerEntries(after, c, 0).map((p) => p.header.name)).toEqual(['d/', 'd/.wh..wh..opq', 'd/new', 'd/same']);
  });

  it('replacing a directory by a file whiteouts the directory and adds the file', () => {
    const before = snap(e('p', 'dir'), e('p/child'));
    const after = snap(e('p', 'file', { size: 3 }));
    const c = diffSnapshots(before, after);
    expect(c.deleted).toEqual(['p']);
    expect(c.modified).toEqual(['p']);
    expect(planLayerEntries(after, c, 0).map((p) => p.header.name)).toEqual(['.wh.p', 'p']);
  });

  it('puts whiteouts before their siblings and the opaque marker right after its directory', () => {
    const before = snap(e('d', 'dir'), e('d/-x'), e('d/a'), e('d/a-old'), e('e', 'dir'), e('e/x'));
    const d = before.entries.get('d')!;
    const after = snap({ ...d, mtimeNs: 5n }, e('d/-y'), e('d/a'), e('e', 'dir'), e('e/y'));
    const names = planLayerEntries(after, diffSnapshots(before, after), 0).map((p) => p.header.name);
    expect(names).toEqual(['d/', 'd/.wh.-x', 'd/.wh.a-old', 'd/-y', 'd/a', 'e/', 'e/.wh..wh..opq', 'e/y']);
  });

  it('pulls unchanged hardlink peers into the layer and links the later ones to the first', () => {
    const f = e('z/file', 'file', { nlink: 2, ino: 9n, size: 4 });
    const before = snap(e('z', 'dir'), { ...f, nlink: 1 });
    const after = snap(e('a', 'dir'), e('a/link', 'file', { nlink: 2, ino: 9n, size: 4 }), before.entries.get('z')!, f);
    const c = diffSnapshots(before, after);
    expect(c.entries).toEqual(['a', 'a/link', 'z', 'z/file']);
    const plan = planLayerEntries(after, c, 0);
    expect(plan.map((p) => [p.header.name, p.header.type, p.header.linkname ?? ''])).toEqual([
      ['a/', 'dir', ''],
      ['a/link', 'file', ''],
      ['z/', 'dir', ''],
      ['z/file', 'link', 'a/link'],
    ]);
    expect(plan[1]!.content?.path).toBe('a/link');
  });

  it('counts chmod, xattr, ctime and inode changes, and nothing else, as modifications', () => {
    const f = e('f', 'file', { size: 1 });
    const before = snap(f, e('g'), e('h'), e('i'), e('j'));
    const g = before.entries.get('g')!;
    const h = before.entries.get('h')!;
    const i = before.entries.get('i')!;
    const after = snap(
      f,
      { ...g, mode: 0o600 },
      { ...h, xattrs: { 'user.k': 'dg==' } },
      { ...i, ctimeNs: i.ctimeNs + 1n },
      { ...before.entries.get('j')!, ino: 1n },
    );
    expect(diffSnapshots(before, after).modified).toEqual(['g', 'h', 'i', 'j']);
    expect(diffSnapshots(after, after).entries).toEqual([]);
  });
});

describe('planLayerEntries', () => {
  it('clamps mtimes to SOURCE_DATE_EPOCH in whole seconds and keeps earlier ones', () => {
    expect(clampMtime(1_600_000_000_999_999_999n, 1_700_000_000)).toBe(1_600_000_000);
    expect(clampMtime(1_800_000_000_000_000_000n, 1_700_000_000)).toBe(1_700_000_000);
    expect(clampMtime(-5n, 1_700_000_000)).toBe(0);
  });

  it('refuses names that are OCI whiteout markers and changes that do not match the snapshot', () => {
    expect(() => planLayerEntries(snap(e('.wh.x')), undefined, 0)).toThrow(expect.objectContaining({ code: 'LAYER_PATH_INVALID' }));
    const s = snap(e('a'));
    expect(() => planLayerEntries(s, { added: [], modified: [], deleted: [], opaque: [], entries: ['b'] }, 0)).toThrow(
      expect.objectContaining({ code: 'LAYER_PATH_INVALID' }),
    );
    expect(() => planLayerEntries(s, undefined, 1.5)).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
  });

  it('splits Linux device numbers like glibc', () => {
    expect(splitDeviceNumber(0x0103n)).toEqual({ major: 1, minor: 3 });
    // major 259, minor 300000 (large minors use the high bits)
    const major = 259n;
    const minor = 300000n;
    const dev = (minor & 0xffn) | ((major & 0xfffn) << 8n) | ((minor & ~0xffn) << 12n) | ((major & ~0xfffn) << 32n);
    expect(splitDeviceNumber(dev)).toEqual({ major: 259, minor: 300000 });
  });
});
