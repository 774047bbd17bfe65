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
   * A full Packages file is 50 MB of mostly descriptions, and the index needs eight fields.
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
