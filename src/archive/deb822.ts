/**
 * Debian control-file syntax (deb822): the one format behind Release, Packages, dpkg status
 * and apt's .sources files. Pure: text in, stanzas out.
 */

/** One paragraph. Field names are case-insensitive in Debian, so keys are lower-cased. */
export type Stanza = ReadonlyMap<string, string>;

/** A syntax error with the 1-based line it was found on; callers rethrow it with their own code. */
export class Deb822SyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'Deb822SyntaxError';
  }
}

export interface Deb822Options {
  /** apt's .sources files allow `#` comment lines; Packages and status files do not have them. */
  readonly comments?: boolean;
  /**
   * Keep only these fields (lower-case names); the others are checked for syntax and dropped.
   * (Deb822RecordReader does the same faster, for the Packages index.)
   */
  readonly fields?: ReadonlySet<string>;
}

/** Stands for a field dropped by `fields`, so its continuation lines are dropped too. */
const SKIPPED = '\0skipped';

/**
 * Parses deb822 text into stanzas. A multi-line value keeps its first line, then one line per
 * continuation with the leading space removed (a lone `.` stands for an empty line), joined with `\n`.
 */
export function parseDeb822(text: string | Uint8Array, options: Deb822Options = {}): Stanza[] {
  const reader = new Deb822Reader(options);
  return [...reader.push(typeof text === 'string' ? Buffer.from(text, 'utf8') : text), ...reader.end()];
}

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const COLON = 0x3a;
const HASH = 0x23;

/**
 * The same parser fed with bytes piece by piece (as a decompressor yields them): a 50 MB
 * Packages index is never held whole, nor turned into one string, and every kept value is a
 * fresh small string (a slice of a huge string would keep all of it alive as long as the value).
 */
export class Deb822Reader {
  private carry: Buffer | undefined;
  private current = new Map<string, string>();
  private lastKey: string | undefined;
  private lineNo = 0;

  constructor(private readonly options: Deb822Options = {}) {}

  /** The stanzas completed by this chunk (a line split across chunks waits for the next). */
  push(chunk: Uint8Array): Stanza[] {
    const view = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const bytes = this.carry === undefined ? view : Buffer.concat([this.carry, view]);
    const out: Stanza[] = [];
    let pos = 0;
    for (let end = bytes.indexOf(LF, pos); end !== -1; end = bytes.indexOf(LF, pos)) {
      this.line(bytes, pos, end, out);
      pos = end + 1;
    }
    // Copied: a view would keep the whole chunk alive.
    this.carry = pos < bytes.length ? Buffer.from(bytes.subarray(pos)) : undefined;
    return out;
  }

  /** The last line (when the input does not end in a newline) and the last stanza. */
  end(): Stanza[] {
    const out: Stanza[] = [];
    const rest = this.carry ?? Buffer.alloc(0);
    this.carry = undefined;
    this.line(rest, 0, rest.length, out);
    if (this.current.size > 0) out.push(this.current);
    this.current = new Map();
    return out;
  }

  private line(bytes: Buffer, start: number, end: number, out: Stanza[]): void {
    const decode = (from: number, to: number): string => bytes.toString('utf8', from, to);
    const lineNo = ++this.lineNo;
    if (end > start && bytes[end - 1] === CR) end--;
    if (this.options.comments && bytes[start] === HASH) return;
    if (isBlank(bytes, start, end)) {
      if (this.current.size > 0) out.push(this.current);
      this.current = new Map();
      this.lastKey = undefined;
      return;
    }
    const first = bytes[start];
    if (first === SPACE || first === TAB) {
      if (this.lastKey === undefined) throw new Deb822SyntaxError(lineNo, 'continuation line without a field');
      if (this.lastKey === SKIPPED) return;
      const rest = decode(start + 1, end);
      const value = rest.trim() === '.' ? '' : rest.trimEnd();
      this.current.set(this.lastKey, `${this.current.get(this.lastKey) ?? ''}\n${value}`);
      return;
    }
    const colon = bytes.indexOf(COLON, start);
    if (colon === -1 || colon >= end || colon === start) {
      throw new Deb822SyntaxError(lineNo, `expected "Field: value", got ${JSON.stringify(decode(start, end).slice(0, 60))}`);
    }
    const rawKey = decode(start, colon);
    const key = rawKey.toLowerCase();
    if (/\s/.test(key)) throw new Deb822SyntaxError(lineNo, `invalid field name ${JSON.stringify(rawKey)}`);
    if (this.options.fields && !this.options.fields.has(key)) {
      this.lastKey = SKIPPED;
      return;
    }
    if (this.current.has(key)) throw new Deb822SyntaxError(lineNo, `duplicate field ${rawKey}`);
    this.current.set(key, decode(colon + 1, end).trim());
    this.lastKey = key;
  }
}

const NO_SLOT = -1;
const SKIP_SLOT = -2;

/** One stanza as `Deb822RecordReader` gives it: `record[i]` is the value of `fields[i]`, or undefined. */
export type Deb822Record = (string | undefined)[];

/**
 * Deb822Reader with `fields`, for the one hot caller: a 50 MB Packages index of which seven
 * fields per stanza are kept, and most lines are descriptions. It reads the same bytes to the same values and
 * throws the same errors at the same lines, but matches field names on the bytes (no string per
 * dropped field name, no regex per line), decodes only kept values, and fills a fixed record
 * instead of a Map. `fields` are lower-case ASCII names.
 */
export class Deb822RecordReader {
  private carry: Buffer | undefined;
  private current: Deb822Record;
  /** How many of `current`'s slots are set: a stanza of dropped fields only is no stanza. */
  private kept = 0;
  /** The slot continuation lines extend, SKIP_SLOT after a dropped field, NO_SLOT before any field. */
  private last = NO_SLOT;
  private lineNo = 0;
  private readonly names: readonly Uint8Array[];
  private readonly slots: ReadonlyMap<string, number>;

  constructor(private readonly fields: readonly string[]) {
    for (const f of fields) {
      if (!/^[\x21-\x39\x3b-\x7e]+$/.test(f) || f !== f.toLowerCase()) throw new TypeError(`Deb822RecordReader: bad field name ${JSON.stringify(f)}`);
    }
    this.names = fields.map((f) => Buffer.from(f, 'latin1'));
    this.slots = new Map(fields.map((f, i) => [f, i]));
    this.current = this.empty();
  }

  /** The stanzas completed by this chunk (a line split across chunks waits for the next). */
  push(chunk: Uint8Array): Deb822Record[] {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: Deb822Record[] = [];
    let pos = 0;
    if (this.carry !== undefined) {
      // Only the line that straddles the chunks is copied, not the whole chunk.
      const lf = bytes.indexOf(LF);
      if (lf === -1) {
        this.carry = Buffer.concat([this.carry, bytes]);
        return out;
      }
      const line = Buffer.concat([this.carry, bytes.subarray(0, lf)]);
      this.carry = undefined;
      this.line(line, 0, line.length, out);
      pos = lf + 1;
    }
    for (let end = bytes.indexOf(LF, pos); end !== -1; end = bytes.indexOf(LF, pos)) {
      this.line(bytes, pos, end, out);
      pos = end + 1;
    }
    // Copied: a view would keep the whole chunk alive.
    this.carry = pos < bytes.length ? Buffer.from(bytes.subarray(pos)) : undefined;
    return out;
  }

  /** The last line (when the input does not end in a newline) and the last stanza. */
  end(): Deb822Record[] {
    const out: Deb822Record[] = [];
    const rest = this.carry ?? Buffer.alloc(0);
    this.carry = undefined;
    this.line(rest, 0, rest.length, out);
    this.endStanza(out);
    return out;
  }

  private empty(): Deb822Record {
    return this.fields.map(() => undefined);
  }

  private endStanza(out: Deb822Record[]): void {
    if (this.kept > 0) {
      out.push(this.current);
      this.current = this.empty();
      this.kept = 0;
    }
    this.last = NO_SLOT;
  }

  private line(b: Buffer, start: number, end: number, out: Deb822Record[]): void {
    const lineNo = ++this.lineNo;
    if (end > start && b[end - 1] === CR) end--;
    const first = b[start];
    // Only a line that starts with a blank (or is empty) can be blank: field lines skip the scan.
    if ((start === end || first === SPACE || first === TAB || first === CR) && isBlank(b, start, end)) {
      this.endStanza(out);
      return;
    }
    if (first === SPACE || first === TAB) {
      const slot = this.last;
      if (slot === SKIP_SLOT) return;
      if (slot === NO_SLOT) throw new Deb822SyntaxError(lineNo, 'continuation line without a field');
      const rest = b.toString('utf8', start + 1, end);
      const value = rest.trim() === '.' ? '' : rest.trimEnd();
      this.current[slot] = `${this.current[slot] ?? ''}\n${value}`;
      return;
    }
    // The name up to the colon, in one pass: where it ends, whether it holds a blank or a non-ASCII byte.
    let colon = start;
    let blank = false;
    let ascii = true;
    for (; colon < end; colon++) {
      const c = b[colon]!;
      if (c > COLON && c < 0x80) continue; // letters: the common case first
      if (c === COLON) break;
      if (c === SPACE || (c >= TAB && c <= CR)) blank = true;
      else if (c >= 0x80) ascii = false;
    }
    if (colon === end || colon === start) {
      throw new Deb822SyntaxError(lineNo, `expected "Field: value", got ${JSON.stringify(b.toString('utf8', start, end).slice(0, 60))}`);
    }
    let slot: number;
    if (ascii) {
      if (blank) throw new Deb822SyntaxError(lineNo, `invalid field name ${JSON.stringify(b.toString('latin1', start, colon))}`);
      slot = this.slotOf(b, start, colon);
    } else {
      // Outside ASCII, lower-casing and "is a blank" are Unicode's: decided on the string, as Deb822Reader does.
      const rawKey = b.toString('utf8', start, colon);
      const key = rawKey.toLowerCase();
      if (/\s/.test(key)) throw new Deb822SyntaxError(lineNo, `invalid field name ${JSON.stringify(rawKey)}`);
      slot = this.slots.get(key) ?? SKIP_SLOT;
    }
    this.last = slot;
    if (slot === SKIP_SLOT) return;
    if (this.current[slot] !== undefined) throw new Deb822SyntaxError(lineNo, `duplicate field ${b.toString('utf8', start, colon)}`);
    this.current[slot] = trimmedValue(b, colon + 1, end);
    this.kept++;
  }

  /** The slot of the ASCII name `b[start, stop)`, compared case-insensitively without decoding it. */
  private slotOf(b: Buffer, start: number, stop: number): number {
    const length = stop - start;
    const names = this.names;
    next: for (let slot = 0; slot < names.length; slot++) {
      const name = names[slot]!;
      if (name.length !== length) continue;
      for (let i = 0; i < length; i++) {
        let c = b[start + i]!;
        if (c >= 0x41 && c <= 0x5a) c += 0x20;
        if (c !== name[i]) continue next;
      }
      return slot;
    }
    return SKIP_SLOT;
  }
}

/**
 * `decode(from, to).trim()`: ASCII blanks are cut on the bytes (they are never part of a UTF-8
 * sequence); trim() runs only when a non-ASCII character at an edge may be a Unicode blank.
 */
function trimmedValue(b: Buffer, from: number, to: number): string {
  while (from < to && isAsciiBlank(b[from]!)) from++;
  while (to > from && isAsciiBlank(b[to - 1]!)) to--;
  const value = b.toString('utf8', from, to);
  return from < to && (b[from]! >= 0x80 || b[to - 1]! >= 0x80) ? value.trim() : value;
}

/** What `\s` and trim() take for blank in ASCII: tab, LF, VT, FF, CR, space. */
function isAsciiBlank(c: number): boolean {
  return c === SPACE || (c >= TAB && c <= CR);
}

/** Only spaces and tabs (what `trim() === ''` meant for these ASCII formats). */
function isBlank(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b !== SPACE && b !== TAB && b !== CR) return false;
  }
  return true;
}

/** The lines of a multi-line field, without the (usually empty) first line's blanks. */
export function fieldLines(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}
