/**
 * Parser for `getfattr -d -m - -e base64 --absolute-names` output (Debian package `attr`):
 *
 *   # file: /abs/path
 *   security.capability=0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=
 *   user.note=0sYmFy
 *   <blank line>
 *
 * getfattr escapes bytes it will not print raw (newline, backslash, '=' in attribute names) as
 * `\ooo` octal; names are decoded back to the exact UTF-8 string.
 */
import { ExecError } from '../errors.js';

/** Absolute path → (attribute name → base64 value). */
export type XattrDump = ReadonlyMap<string, Readonly<Record<string, string>>>;

const FILE_PREFIX = '# file: ';
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export function parseGetfattrDump(text: string): XattrDump {
  const out = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line === '') {
      current = undefined;
      continue;
    }
    if (line.startsWith(FILE_PREFIX)) {
      const path = unescapeOctal(line.slice(FILE_PREFIX.length));
      current = {};
      out.set(path, current);
      continue;
    }
    if (current === undefined) throw malformed(lineNo, 'attribute outside a "# file:" block');
    const eq = line.indexOf('=');
    const name = unescapeOctal(eq < 0 ? line : line.slice(0, eq));
    const raw = eq < 0 ? '' : line.slice(eq + 1);
    let value: string;
    if (raw === '') value = '';
    else if (raw.startsWith('0s') && BASE64_RE.test(raw.slice(2))) value = raw.slice(2);
    else throw malformed(lineNo, `value of ${name} is not base64 ("0s…")`);
    current[name] = value;
  }
  const sorted = new Map<string, Readonly<Record<string, string>>>();
  for (const [path, attrs] of out) sorted.set(path, sortRecord(attrs));
  return sorted;
}

/** Names in byte order so that equal attribute sets compare (and serialize) equal. */
export function sortRecord(attrs: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  const names = Object.keys(attrs).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const out: Record<string, string> = {};
  for (const n of names) out[n] = attrs[n]!;
  return Object.freeze(out);
}

/** Turn `\ooo` escapes back into bytes, keep everything else as its UTF-8 bytes. */
function unescapeOctal(s: string): string {
  if (!s.includes('\\')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length;) {
    if (s[i] === '\\' && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8) & 0xff);
      i += 4;
      continue;
    }
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
    i += ch.length;
  }
  return Buffer.from(bytes).toString('utf8');
}

function malformed(lineNo: number, why: string): ExecError {
  return new ExecError('COMMAND_FAILED', `getfattr output line ${lineNo}: ${why}`, { details: { line: lineNo } });
}
