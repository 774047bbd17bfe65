import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeTarHeader, endOfArchive, paddingFor, paxRecord, type TarHeader } from '../../src/layer/tar-header.js';
import { gnuTar, removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const base: TarHeader = { name: 'etc/hostname', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_700_000_000 };

function field(block: Buffer, offset: number, length: number): string {
  const raw = block.subarray(offset, offset + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? length : nul).toString('latin1');
}

/** Parse the pax records that follow a pax header block, byte-exact. */
function paxRecords(buf: Buffer): Map<string, Buffer> {
  const size = parseInt(field(buf, 124, 12), 8);
  let data = buf.subarray(512, 512 + size);
  const out = new Map<string, Buffer>();
  while (data.length > 0) {
    const sp = data.indexOf(0x20);
    const len = parseInt(data.subarray(0, sp).toString('ascii'), 10);
    const rec = data.subarray(sp + 1, len - 1);
    const eq = rec.indexOf(0x3d);
    out.set(rec.subarray(0, eq).toString('utf8'), Buffer.from(rec.subarray(eq + 1)));
    expect(data[len - 1]).toBe(0x0a);
    data = data.subarray(len);
  }
  return out;
}

describe('encodeTarHeader', () => {
  it('writes one ustar block with numeric owners, no user/group names and a valid checksum', () => {
    const b = encodeTarHeader({ ...base, mode: 0o4755, uid: 1000, gid: 100, size: 5 });
    expect(b.length).toBe(512);
    expect(field(b, 0, 100)).toBe('etc/hostname');
    expect(field(b, 100, 8)).toBe('0004755');
    expect(field(b, 108, 8)).toBe('0001750');
    expect(field(b, 116, 8)).toBe('0000144');
    expect(field(b, 124, 12)).toBe('00000000005');
    expect(field(b, 136, 12)).toBe((1_700_000_000).toString(8));
    expect(String.fromCharCode(b[156]!)).toBe('0');
    expect(b.subarray(257, 265).toString('latin1')).toBe('ustar\u000000');
    expect(b.subarray(265, 329).every((x) => x === 0)).toBe(true); // uname + gname
    const stored = parseInt(field(b, 148, 8), 8);
    const copy = Buffer.from(b);
    copy.fill(0x20, 148, 156);
    expect(stored).toBe(copy.reduce((s, x) => s + x, 0));
  });

  it('keeps short ASCII names in ustar and moves long or non-ASCII names into a pax path record', () => {
    expect(encodeTarHeader({ ...base, name: 'a'.repeat(100) }).length).toBe(512);
    const long = `${'d'.repeat(80)}/${'f'.repeat(80)}`;
    const b = encodeTarHeader({ ...base, name: long });
    expect(String.fromCharCode(b[156]!)).toBe('x');
    expect(paxRecords(b).get('path')?.toString('utf8')).toBe(long);
    const ustar = b.subarray(b.length - 512);
    expect(String.fromCharCode(ustar[156]!)).toBe('0');
    expect(
      paxRecords(encodeTarHeader({ ...base, name: 'usr/share/zoneinfo/ünï' }))
        .get('path')
        ?.toString('utf8'),
    ).toBe('usr/share/zoneinfo/ünï');
  });

  it('stores extended attribute values byte-exact (binary security.capability survives)', () => {
    const cap = Buffer.from('0100000200200080000000000000000000000000', 'hex');
    const b = encodeTarHeader({ ...base, xattrs: { 'security.capability': cap.toString('base64'), 'user.a': 'eA==' } });
    const pax = paxRecords(b);
    expect(pax.get('SCHILY.xattr.security.capability')?.equals(cap)).toBe(true);
    expect(pax.get('SCHILY.xattr.user.a')?.toString()).toBe('x');
    expect([...pax.keys()]).not.toContain('atime');
    expect([...pax.keys()]).not.toContain('ctime');
  });

  it('uses pax records for uids and gids that do not fit 7 octal digits', () => {
    const b = encodeTarHeader({ ...base, uid: 3_000_000, gid: 2_097_151 });
    const pax = paxRecords(b);
    expect(pax.get('uid')?.toString()).toBe('3000000');
    expect(pax.has('gid')).toBe(false);
  });

  it('sizes pax records including their own length digits', () => {
    // " k=" + value + "\n" is 98 bytes: "100 " would make 101, so the length is 101.
    const rec = paxRecord('k', Buffer.alloc(94, 0x61));
    expect(rec.toString('latin1').startsWith('101 k=')).toBe(true);
    expect(rec.length).toBe(101);
    expect(paxRecord('path', Buffer.from('a')).toString()).toBe('9 path=a\n');
    // " path=ab\n" is 9 bytes: "9 " would make 10, which needs two digits, so 11.
    expect(paxRecord('path', Buffer.from('ab')).toString()).toBe('11 path=ab\n');
  });

  it('rejects what a tar header cannot say', () => {
    expect(() => encodeTarHeader({ ...base, name: '/etc/passwd' })).toThrow(expect.objectContaining({ code: 'LAYER_PATH_INVALID' }));
    expect(() => encodeTarHeader({ ...base, name: './etc' })).toThrow(expect.objectContaining({ code: 'LAYER_PATH_INVALID' }));
    expect(() => encodeTarHeader({ ...base, mode: 0o10644 })).toThrow(expect.objectContaining({ code: 'LAYER_UNSUPPORTED_FILE' }));
    expect(() => encodeTarHeader({ ...base, type: 'dir', size: 3 })).toThrow(expect.objectContaining({ code: 'LAYER_UNSUPPORTED_FILE' }));
  });

  it('produces archives GNU tar reads back field for field', async () => {
    const dir = await tempDir();
    const content = Buffer.from('hello\n');
    const parts = [
      encodeTarHeader({ ...base, name: 'etc/', type: 'dir', mode: 0o755 }),
      encodeTarHeader({ ...base, size: content.length, uid: 3_000_000, gid: 42 }),
      content,
      Buffer.alloc(paddingFor(content.length)),
      encodeTarHeader({ ...base, name: `etc/${'n'.repeat(120)}`, type: 'symlink', linkname: `../${'t'.repeat(120)}`, mode: 0o777 }),
      encodeTarHeader({ ...base, name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 }),
      endOfArchive(),
    ];
    const file = join(dir, 'x.tar');
    await writeFile(file, Buffer.concat(parts));
    const listing = await gnuTar(['--numeric-owner', '--utc', '-tvf', file]);
    expect(listing.trim().split('\n')).toEqual([
      'drwxr-xr-x 0/0               0 2023-11-14 22:13 etc/',
      '-rw-r--r-- 3000000/42        6 2023-11-14 22:13 etc/hostname',
      `lrwxrwxrwx 0/0               0 2023-11-14 22:13 etc/${'n'.repeat(120)} -> ../${'t'.repeat(120)}`,
      'crw-rw-rw- 0/0             1,3 2023-11-14 22:13 dev/null',
    ]);
  });
});
