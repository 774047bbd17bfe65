/**
 * Parse tar header blocks of an image layer byte-exactly: ustar (with prefix), pax extended
 * headers ('x'), GNU long names ('L', 'K'). Pure.
 *
 * Written here rather than with tar-stream's extract: tar-stream decodes pax values as UTF-8,
 * which corrupts binary extended attributes (`SCHILY.xattr.security.capability`), and the export
 * must carry them into the flattened tarball unchanged.
 */
import { ExportError } from '../errors.js';
import type { TarEntryType } from '../layer/tar-header.js';

export const BLOCK = 512;

/** One entry of a layer, with every field the flattened tarball keeps. */
export interface LayerEntry {
  /** Clean relative path: no leading './' or '/', no trailing '/', no '..' component. */
  readonly path: string;
  readonly type: TarEntryType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Content bytes that follow the header. */
  readonly size: number;
  readonly mtime: number;
  readonly linkname?: string;
  readonly devmajor: number;
  readonly devminor: number;
  /** Extended attributes, name → base64 of the raw value. */
  readonly xattrs: Readonly<Record<string, string>>;
}

/** A header block before pax/GNU overrides are applied. */
export interface UstarHeader {
  readonly name: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: number;
  readonly typeflag: string;
  readonly linkname: string;
  readonly devmajor: number;
  readonly devminor: number;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\u0000': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

function invalid(why: string): ExportError {
  return new ExportError('LAYER_INVALID', `layer tar: ${why}`);
}

/** True for the all-zero block that ends an archive. */
export function isZeroBlock(block: Uint8Array): boolean {
  for (const b of block) if (b !== 0) return false;
  return true;
}

function cString(block: Uint8Array, offset: number, length: number): Buffer {
  const field = Buffer.from(block.subarray(offset, offset + length));
  const end = field.indexOf(0);
  return end < 0 ? field : field.subarray(0, end);
}

/** Octal (NUL/space padded) or GNU base-256 (high bit of the first byte set). */
function numeric(block: Uint8Array, offset: number, length: number, what: string): number {
  const field = block.subarray(offset, offset + length);
  if ((field[0]! & 0x80) !== 0) {
    let value = BigInt(field[0]! & 0x7f);
    for (const byte of field.subarray(1)) value = (value << 8n) | BigInt(byte);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${what} too large`);
    return Number(value);
  }
  const text = Buffer.from(field)
    .toString('latin1')
    .replace(/[\u0000 ]+$/, '')
    .replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw invalid(`${what} field ${JSON.stringify(text)} is not octal`);
  return parseInt(text, 8);
}

/** Decode one 512-byte header block, checking its checksum. */
export function parseUstarBlock(block: Uint8Array): UstarHeader {
  if (block.length !== BLOCK) throw invalid('truncated header');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  if (numeric(block, 148, 8, 'checksum') !== sum) throw invalid('header checksum mismatch');
  const magic = Buffer.from(block.subarray(257, 263)).toString('latin1');
  const name = cString(block, 0, 100);
  const prefix = magic.startsWith('ustar') ? cString(block, 345, 155) : Buffer.alloc(0);
  const fullName = prefix.length > 0 ? Buffer.concat([prefix, Buffer.from('/'), name]) : name;
  return {
    name: fullName.toString('utf8'),
    mode: numeric(block, 100, 8, 'mode'),
    uid: numeric(block, 108, 8, 'uid'),
    gid: numeric(block, 116, 8, 'gid'),
    size: numeric(block, 124, 12, 'size'),
    mtime: numeric(block, 136, 12, 'mtime'),
    typeflag: String.fromCharCode(block[156]!),
    linkname: cString(block, 157, 100).toString('utf8'),
    devmajor: numeric(block, 329, 8, 'devmajor'),
    devminor: numeric(block, 337, 8, 'devminor'),
  };
}

/** `"<len> <key>=<value>\n"` records; values stay raw bytes. */
export function parsePaxRecords(data: Uint8Array): Map<string, Buffer> {
  const buf = Buffer.from(data);
  const out = new Map<string, Buffer>();
  let at = 0;
  while (at < buf.length) {
    if (buf[at] === 0) break; // padding
    const space = buf.indexOf(0x20, at);
    if (space < 0) throw invalid('malformed pax record');
    const len = Number(buf.subarray(at, space).toString('latin1'));
    if (!Number.isSafeInteger(len) || len <= space - at || at + len > buf.length || buf[at + len - 1] !== 0x0a) {
      throw invalid('malformed pax record length');
    }
    const record = buf.subarray(space + 1, at + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw invalid('pax record without "="');
    out.set(record.subarray(0, eq).toString('utf8'), Buffer.from(record.subarray(eq + 1)));
    at += len;
  }
  return out;
}

/** Strip './' and '/' at the start and '/' at the end; refuse '..' (the result is extracted as root). */
export function cleanPath(name: string): string {
  let p = name;
  while (p.startsWith('./')) p = p.slice(2);
  p = p.replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === '.') return '';
  if (p.includes('\u0000') || p.split('/').some((c) => c === '..' || c === '.' || c === '')) {
    if (p !== '') throw invalid(`entry name ${JSON.stringify(name)} is not a clean relative path`);
  }
  return p;
}

function paxNumber(value: Buffer, what: string): number {
  // mtime may carry a fraction; whole seconds are what the flattened tarball keeps.
  const text = value.toString('latin1');
  if (!/^\d+(\.\d+)?$/.test(text)) throw invalid(`pax ${what} ${JSON.stringify(text)} is not a number`);
  const n = Math.floor(Number(text));
  if (!Number.isSafeInteger(n)) throw invalid(`pax ${what} too large`);
  return n;
}

/** The entry a header describes once its pax records and GNU long names are applied. */
export function resolveEntry(header: UstarHeader, pax: ReadonlyMap<string, Buffer>, longName?: string, longLink?: string): LayerEntry {
  const type = TYPES[header.typeflag];
  if (type === undefined) throw invalid(`unsupported entry type ${JSON.stringify(header.typeflag)} for ${header.name}`);
  const name = pax.get('path')?.toString('utf8') ?? longName ?? header.name;
  const rawLink = pax.get('linkpath')?.toString('utf8') ?? longLink ?? header.linkname;
  const xattrs: Record<string, string> = {};
  for (const [key, value] of [...pax.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (key.startsWith('SCHILY.xattr.')) xattrs[key.slice('SCHILY.xattr.'.length)] = value.toString('base64');
  }
  const num = (key: string, fallback: number) => {
    const v = pax.get(key);
    return v === undefined ? fallback : paxNumber(v, key);
  };
  const size = num('size', header.size);
  const path = cleanPath(name);
  if (type === 'link' || type === 'symlink') {
    if (rawLink === '') throw invalid(`${path}: ${type} without a target`);
  }
  return {
    path,
    type,
    mode: header.mode & 0o7777,
    uid: num('uid', header.uid),
    gid: num('gid', header.gid),
    size: type === 'file' ? size : 0,
    mtime: num('mtime', header.mtime),
    ...(type === 'link' ? { linkname: cleanPath(rawLink) } : type === 'symlink' ? { linkname: rawLink } : {}),
    devmajor: header.devmajor,
    devminor: header.devminor,
    xattrs,
  };
}

/** How many content bytes follow the header (whatever the type), so a reader can skip them. */
export function contentSize(header: UstarHeader, pax: ReadonlyMap<string, Buffer>): number {
  const v = pax.get('size');
  return v === undefined ? header.size : paxNumber(v, 'size');
}

export function paddingAfter(size: number): number {
  const rem = size % BLOCK;
  return rem === 0 ? 0 : BLOCK - rem;
}
