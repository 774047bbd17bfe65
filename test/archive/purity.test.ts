/** The pure cores of src/archive take data and return data: no filesystem, processes, network or environment. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

const PURE = [
  'apt-sources.ts',
  'archive-lookup.ts',
  'audit.ts',
  'deb822.ts',
  'debian-version.ts',
  'dpkg-status.ts',
  'inrelease.ts',
  'packages-index.ts',
  'pinned-keys.ts',
  'release.ts',
];

const FORBIDDEN: [RegExp, string][] = [
  [/from ['"](node:)?fs(\/promises)?['"]/, 'fs'],
  [/from ['"](node:)?child_process['"]/, 'child_process'],
  [/from ['"](node:)?(http|https|net)['"]/, 'network modules'],
  [/from ['"][./]*exec\.js['"]/, 'the subprocess runner'],
  [/\bfetch\(/, 'fetch'],
  [/process\.env/, 'process.env'],
  [/new Date\(\)/, 'the clock (now is injected)'],
];

describe('pure modules of src/archive', () => {
  for (const file of PURE) {
    it(`${file} does no I/O`, () => {
      const src = readFileSync(join(REPO_ROOT, 'src/archive', file), 'utf8');
      const imports = src.split('\n').filter((l) => /^import |^} from /.test(l)).join('\n');
      for (const [re, what] of FORBIDDEN) {
        expect(re.test(re.source.startsWith('from') ? imports : src), `${file} uses ${what}`).toBe(false);
      }
    });
  }
});
