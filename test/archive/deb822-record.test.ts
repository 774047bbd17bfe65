import { describe, expect, it } from 'vitest';
import { Deb822Reader, Deb822RecordReader, Deb822SyntaxError, type Deb822Record } from '../../src/archive/deb822.js';
import { parsePackagesIndex } from '../../src/archive/packages-index.js';
import { codeOf } from '../helpers/error-code.js';

const FIELDS = ['package', 'version', 'size', 'sha256'] as const;

/** What the record reader makes of `bytes` fed in pieces of `step` after a first cut at `cut`: its records, or its error. */
function records(bytes: Buffer, cut = bytes.length, step = bytes.length): Deb822Record[] | string {
  const reader = new Deb822RecordReader(FIELDS);
  try {
    const got = [...reader.push(bytes.subarray(0, cut))];
    for (let i = cut; i < bytes.length; i += step) got.push(...reader.push(bytes.subarray(i, i + step)));
    return [...got, ...reader.end()];
  } catch (e) {
    if (e instanceof Deb822SyntaxError) return e.message;
    throw e;
  }
}

/** The same through the general Map reader with `fields`: the meaning the fast path must keep. */
function reference(bytes: Buffer): Deb822Record[] | string {
  const reader = new Deb822Reader({ fields: new Set(FIELDS) });
  try {
    return [...reader.push(bytes), ...reader.end()].map((m) => FIELDS.map((f) => m.get(f)));
  } catch (e) {
    if (e instanceof Deb822SyntaxError) return e.message;
    throw e;
  }
}

const read = (text: string) => records(Buffer.from(text, 'utf8'));

describe('Deb822RecordReader', () => {
  it('matches field names in any case', () => {
    expect(read('PACKAGE: a\nversion: 1\nSiZe: 2\nSha256: ff\n')).toEqual([['a', '1', '2', 'ff']]);
  });

  it('keeps a wanted name only whole: Size is not Sizes or Siz, SHA256 is not SHA2560 or SHA25', () => {
    expect(read('Package: a\nSizes: 9\nSiz: 8\nSHA2560: x\nSHA25: y\nSize: 2\n')).toEqual([['a', undefined, '2', undefined]]);
    // Were a prefix enough, these would be duplicates of Size and SHA256.
    expect(read('Size: 2\nSizes: 9\nSHA256: x\nSHA2560: y\n')).toEqual([[undefined, undefined, '2', 'x']]);
  });

  it('cuts the name at the first colon and keeps the rest of the value whole', () => {
    expect(read('Package: a\nVersion: 2:1.0-1:x\nSize:3\n')).toEqual([['a', '2:1.0-1:x', '3', undefined]]);
  });

  it('drops the continuation lines of a dropped field, even ones that read like wanted fields', () => {
    const text = 'Package: a\nDescription: short\n Package: evil\n Size: 999\n .\n\tVersion: 6\nSize: 1\n';
    expect(read(text)).toEqual([['a', undefined, '1', undefined]]);
  });

  it('joins the continuation lines of a kept field', () => {
    expect(read('Package: a\nVersion: 1\n b \n .\n')).toEqual([['a', '1\nb\n', undefined, undefined]]);
  });

  it('trims values as String.trim does, Unicode blanks at the edges included', () => {
    expect(read('Package:\t a \t\r\nVersion: \u00a01\u00a0\nSize: \u3000\n')).toEqual([['a', '1', '', undefined]]);
  });

  it('reads a name outside ASCII as the general reader does', () => {
    // U+212A KELVIN SIGN lower-cases to "k".
    expect(read('Pac\u212Aage: a\n')).toEqual([['a', undefined, undefined, undefined]]);
    expect(read('Package: a\nOther\u00a0Name: x\n')).toBe('line 2: invalid field name "Other\u00a0Name"');
  });

  it('gives no record for a stanza of dropped fields only', () => {
    expect(read('Description: x\n y\n\nPackage: a\n\n\n')).toEqual([['a', undefined, undefined, undefined]]);
  });

  it('refuses what the general reader refuses, at the same line', () => {
    expect(read(' orphan\n')).toBe('line 1: continuation line without a field');
    expect(read('Package: a\n\n more\n')).toBe('line 3: continuation line without a field');
    expect(read('Package: a\nnot a field\n')).toBe('line 2: expected "Field: value", got "not a field"');
    expect(read('Package: a\n: empty name\n')).toBe('line 2: expected "Field: value", got ": empty name"');
    expect(read('Package: a\nSIZE: 1\nsize: 2\n')).toBe('line 3: duplicate field size');
    // A dropped field's name is checked too.
    expect(read('Package: a\nDescr iption: x\n')).toBe('line 2: invalid field name "Descr iption"');
    expect(read('Package: a\nDescr\tiption: x\n')).toBe('line 2: invalid field name "Descr\\tiption"');
    // Dropped fields are not checked for duplicates (Deb822Reader never was).
    expect(read('Package: a\nTag: 1\nTag: 2\n')).toEqual([['a', undefined, undefined, undefined]]);
  });

  it('reads every input as Deb822Reader with the same fields does, however the bytes are split', () => {
    const inputs = [
      'Package: a\r\nDescription: short\n Package: b\n .\n more\n\n\nPackage: \u00e9\nVersion: 2:1\nSize: 5\nSHA256: ab\n',
      'package: a\nSizes: 1\nSize: 2\n \t\r\n\r\nPACKAGE: b\n\tcontinued\nsha256:  x y  \n',
      'Package: a\nDescription: x\n\nSHA2560: 1\n\n',
      'Package: a\nversion: 1\nVERSION: 2\n',
      'Package: a\n\n  \n continued\n',
      'Package: a\nno colon here',
      'Pac\u212Aage: a\nOther\u00a0: b\n',
      'Package: a\nSize: \u00a0 1 \u00a0',
    ];
    for (const text of inputs) {
      const bytes = Buffer.from(text, 'utf8');
      const want = reference(bytes);
      for (let cut = 0; cut <= bytes.length; cut++) {
        for (const step of [1, 3, 64]) expect(records(bytes, cut, step), JSON.stringify({ text, cut, step })).toEqual(want);
      }
    }
  });

  it('takes only lower-case ASCII field names', () => {
    expect(() => new Deb822RecordReader(['Package'])).toThrow(TypeError);
    expect(() => new Deb822RecordReader(['a:b'])).toThrow(TypeError);
    expect(() => new Deb822RecordReader(['\u00e9'])).toThrow(TypeError);
  });
});

describe('parsePackagesIndex on the fast path', () => {
  const sha = 'ab'.repeat(32);
  it('reads mixed-case names, look-alike fields and colons in values', () => {
    const index = [
      'PACKAGE: a',
      'Description: x',
      ' Package: evil',
      ' SHA256: ' + 'cd'.repeat(32),
      'version: 1:2.0-1',
      'Architecture: all',
      'Sizes: 1',
      'SIZE: 10',
      'SHA2560: 12',
      `sha256: ${sha.toUpperCase()}`,
      'Filename: pool/main/a/a_2.0-1_all.deb',
      '',
    ].join('\n');
    expect(parsePackagesIndex(index)).toEqual([
      {
        package: 'a',
        version: '1:2.0-1',
        architecture: 'all',
        source: 'a',
        sourceVersion: '1:2.0-1',
        filename: 'pool/main/a/a_2.0-1_all.deb',
        size: 10,
        sha256: sha,
      },
    ]);
  });

  it('refuses a SHA256 that is not 64 hex digits', () => {
    const entry = (h: string) => `Package: a\nVersion: 1\nArchitecture: all\nFilename: f\nSize: 1\nSHA256: ${h}\n`;
    expect(codeOf(() => parsePackagesIndex(entry(sha)))).toBeUndefined();
    expect(codeOf(() => parsePackagesIndex(entry(`${sha}0`)))).toBe('INDEX_MALFORMED');
    expect(codeOf(() => parsePackagesIndex(entry(`${sha.slice(1)}g`)))).toBe('INDEX_MALFORMED');
    expect(codeOf(() => parsePackagesIndex(entry(`${sha.slice(1)}/`)))).toBe('INDEX_MALFORMED');
    expect(codeOf(() => parsePackagesIndex(entry(`${sha.slice(1)}G`)))).toBe('INDEX_MALFORMED');
  });
});
