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
export function parseDeb822(text: string, options: Deb822Options = {}): Stanza[] {
  const stanzas: Stanza[] = [];
  let current = new Map<string, string>();
  let lastKey: string | undefined;
  let lineNo = 0;
  let pos = 0;
  const flush = () => {
    if (current.size > 0) stanzas.push(current);
    current = new Map();
    lastKey = undefined;
  };
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = text.length;
    let line = text.slice(pos, end);
    pos = end + 1;
    lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (options.comments && line.startsWith('#')) continue;
    if (line.trim() === '') {
      flush();
      continue;
    }
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      if (lastKey === undefined) throw new Deb822SyntaxError(lineNo, 'continuation line without a field');
      if (lastKey === SKIPPED) continue;
      const rest = line.slice(1);
      const value = rest.trim() === '.' ? '' : rest.trimEnd();
      current.set(lastKey, `${current.get(lastKey) ?? ''}\n${value}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Deb822SyntaxError(lineNo, `expected "Field: value", got ${JSON.stringify(line.slice(0, 60))}`);
    const key = line.slice(0, colon).toLowerCase();
    if (/\s/.test(key)) throw new Deb822SyntaxError(lineNo, `invalid field name ${JSON.stringify(line.slice(0, colon))}`);
    if (options.fields && !options.fields.has(key)) {
      lastKey = SKIPPED;
      continue;
    }
    if (current.has(key)) throw new Deb822SyntaxError(lineNo, `duplicate field ${line.slice(0, colon)}`);
    current.set(key, line.slice(colon + 1).trim());
    lastKey = key;
  }
  flush();
  return stanzas;
}

/** The lines of a multi-line field, without the (usually empty) first line's blanks. */
export function fieldLines(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}
