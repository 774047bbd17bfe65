/** The pure cores of src/layer take data and return data: no filesystem, processes, network or environment. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

const PURE = ['diff.ts', 'getfattr-dump.ts', 'path-order.ts', 'tar-header.ts', 'tar-plan.ts', 'types.ts'];

const FORBIDDEN: [RegExp, string][] = [
  [/from ['"](node:)?fs(\/promises)?['"]/, 'fs'],
  [/from ['"](node:)?child_process['"]/, 'child_process'],
  [/from ['"](node:)?(http|https|net|stream|zlib)['"]/, 'streams or network modules'],
  [/from ['"][./]*exec\.js['"]/, 'the subprocess runner'],
  [/from ['"]\.\/(snapshot|pack|read-tar|gzip)\.js['"]/, 'an I/O module of src/layer'],
  [/\bfetch\(/, 'fetch'],
  [/process\.env/, 'process.env'],
  [/new Date\(\)|Date\.now\(\)/, 'the clock'],
];

describe('pure modules of src/layer', () => {
  for (const file of PURE) {
    it(`${file} does no I/O`, () => {
      const src = readFileSync(join(REPO_ROOT, 'src/layer', file), 'utf8');
      const imports = src.split('\n').filter((l) => /^import |^} from /.test(l)).join('\n');
      for (const [re, what] of FORBIDDEN) {
        expect(re.test(re.source.startsWith('from') ? imports : src), `${file} uses ${what}`).toBe(false);
      }
    });
  }
});
