/**
 * Deterministic tar headers: POSIX ustar, plus a pax extended header ('x') only when a value
 * does not fit ustar (path or link target longer than 100 bytes or not ASCII, uid/gid/size/
 * mtime too large) or the entry has extended attributes (`SCHILY.xattr.<name>`, raw bytes as
 * GNU tar, Go's archive/tar and umoci read them). Never atime/ctime, never uname/gname.
 *
 * Written here rather than with tar-stream's pack: tar-stream 3 encodes pax values as UTF-8
 * strings, which corrupts binary attributes such as `security.capability` (a 0x80 byte becomes
 * C2 80), and silently writes 7777777 for a uid above 2097151.
 */
import { BuildError } from '../errors.js';

export type TarEntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  /** The entry name as stored: no leading './' or '/', directories end with '/'. */
  readonly name: string;
  readonly type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Content bytes that follow the header (files only, 0 otherwise). */
  readonly size: number;
  /** Whole seconds since the epoch, already clamped by the caller. */
  readonly mtime: number;
  /** Symlink target, or the earlier entry name a hardlink points at. */
  readonly linkname?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
  /** Extended attributes, name → base64 value. */
  readonly xattrs?: Readonly<Record<string, string>>;
}

export const BLOCK_SIZE = 512;

const TYPEFLAG: Record<TarEntryType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

/** The header block(s) for one entry: [pax header + pax records] + ustar header. */
export function encodeTarHeader(h: TarHeader): Buffer {
  validate(h);
  const pax: Array<[string, Buffer]> = [];
  const nameBytes = Buffer.from(h.name, 'utf8');
  if (nameBytes.length > 100 || !isAscii(h.name)) pax.push(['path', nameBytes]);
  const linkname = h.linkname ?? '';
  if (Buffer.byteLength(linkname) > 100 || !isAscii(linkname)) pax.push(['linkpath', Buffer.from(linkname, 'utf8')]);
  if (h.uid > MAX_OCTAL_7) pax.push(['uid', Buffer.from(String(h.uid))]);
  if (h.gid > MAX_OCTAL_7) pax.push(['gid', Buffer.from(String(h.gid))]);
  if (h.size > MAX_OCTAL_11) pax.push(['size', Buffer.from(String(h.size))]);
  if (h.mtime > MAX_OCTAL_11) pax.push(['mtime', Buffer.from(String(h.mtime))]);
  for (const [name, value] of Object.entries(h.xattrs ?? {})) {
    pax.push([`SCHILY.xattr.${name}`, Buffer.from(value, 'base64')]);
  }
  pax.sort((x, y) => Buffer.compare(Buffer.from(x[0]), Buffer.from(y[0])));

  const ustar = ustarBlock({
    name: fallbackName(h.name),
    typeflag: TYPEFLAG[h.type],
    mode: h.mode,
    uid: h.uid > MAX_OCTAL_7 ? 0 : h.uid,
    gid: h.gid > MAX_OCTAL_7 ? 0 : h.gid,
    size: h.size > MAX_OCTAL_11 ? 0 : h.size,
    mtime: h.mtime > MAX_OCTAL_11 ? 0 : h.mtime,
    linkname: fallbackName(linkname),
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (pax.length === 0) return ustar;

  const records = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
  const paxHeader = ustarBlock({
    name: fallbackName(`PaxHeaders/${h.name.replace(/\/$/, '').split('/').pop() ?? ''}`),
    typeflag: 'x',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: records.length,
    mtime: Math.min(h.mtime, MAX_OCTAL_11),
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  return Buffer.concat([paxHeader, records, Buffer.alloc(paddingFor(records.length)), ustar]);
}

/** Zero bytes after `size` content bytes up to the next block boundary. */
export function paddingFor(size: number): number {
  const rem = size % BLOCK_SIZE;
  return rem === 0 ? 0 : BLOCK_SIZE - rem;
}

/** Two zero blocks end a tar archive. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(2 * BLOCK_SIZE);
}

/** `"<len> <key>=<value>\n"`, where len counts the whole record including its own digits. */
export function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let len = body.length + String(body.length).length;
  if (String(len).length !== String(body.length).length) len = body.length + String(len).length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

interface UstarFields {
  name: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

function ustarBlock(f: UstarFields): Buffer {
  const b = Buffer.alloc(BLOCK_SIZE);
  b.write(f.name, 0, 100, 'ascii');
  writeOctal(b, 100, 8, f.mode);
  writeOctal(b, 108, 8, f.uid);
  writeOctal(b, 116, 8, f.gid);
  writeOctal(b, 124, 12, f.size);
  writeOctal(b, 136, 12, f.mtime);
  b.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  b.write(f.typeflag, 156, 1, 'ascii');
  b.write(f.linkname, 157, 100, 'ascii');
  b.write('ustar\u000000', 257, 8, 'ascii');
  // uname (265) and gname (297) stay empty: numeric ids only, nothing from the build host.
  writeOctal(b, 329, 8, f.devmajor);
  writeOctal(b, 337, 8, f.devminor);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return b;
}

/** Zero-padded octal, NUL-terminated, filling the field. */
function writeOctal(b: Buffer, offset: number, width: number, value: number): void {
  b.write(`${value.toString(8).padStart(width - 1, '0')}\u0000`, offset, width, 'ascii');
}

/** What goes in a 100-byte ustar field when the real value is in a pax record. */
function fallbackName(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '_').slice(0, 100);
}

function isAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

function validate(h: TarHeader): void {
  const bad = (why: string) => new BuildError('LAYER_UNSUPPORTED_FILE', `${h.name}: ${why}`, { details: { name: h.name } });
  if (h.name === '' || h.name.startsWith('/') || h.name.startsWith('./') || h.name.includes('\u0000')) {
    throw new BuildError('LAYER_PATH_INVALID', `tar entry name ${JSON.stringify(h.name)} is not a clean relative path`);
  }
  if (h.linkname?.includes('\u0000')) throw bad('link target contains NUL');
  if (!isUint(h.mode) || h.mode > 0o7777) throw bad(`mode ${h.mode} out of range`);
  for (const [field, v] of [
    ['uid', h.uid],
    ['gid', h.gid],
    ['size', h.size],
    ['mtime', h.mtime],
  ] as const) {
    if (!isUint(v)) throw bad(`${field} ${v} is not a non-negative integer`);
  }
  if (h.size !== 0 && h.type !== 'file') throw bad(`a ${h.type} entry cannot carry ${h.size} content bytes`);
  for (const v of [h.devmajor ?? 0, h.devminor ?? 0]) {
    if (!isUint(v) || v > MAX_OCTAL_7) throw bad(`device number ${v} does not fit a tar header`);
  }
}

function isUint(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}
