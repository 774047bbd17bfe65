/**
 * Pure cores, I/O at the edges (CONVENTIONS.md): these modules take data and return data. They
 * use no filesystem, processes, network, streams, environment or clock, and import (other than
 * `import type`) only modules of this same list, so purity holds transitively.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/paths.js';

const PURE = [
  'errors.ts',
  'oci/digest.ts',
  'oci/json.ts',
  'oci/mediatypes.ts',
  'oci/platform.ts',
  'oci/reference.ts',
  'oci/types.ts',
  'recipe/define.ts',
  'recipe/normalize.ts',
  'recipe/plan.ts',
  'recipe/public.ts',
  'recipe/schema.ts',
  'recipe/types.ts',
  'archive/apt-sources.ts',
  'archive/archive-lookup.ts',
  'archive/audit.ts',
  'archive/deb822.ts',
  'archive/debian-version.ts',
  'archive/dpkg-status.ts',
  'archive/inrelease.ts',
  'archive/packages-index.ts',
  'archive/pinned-keys.ts',
  'archive/release.ts',
  'archive/package-manifest.ts',
  'bootstrap/apt-config.ts',
  'bootstrap/rules.ts',
  'bootstrap/users.ts',
  'layer/diff.ts',
  'layer/getfattr-dump.ts',
  'layer/path-order.ts',
  'layer/tar-header.ts',
  'layer/tar-plan.ts',
  'layer/types.ts',
  'image/config.ts',
  'image/manifest.ts',
  'sign/payload.ts',
  'sign/strict-json.ts',
  'provenance/purl.ts',
  'provenance/statement.ts',
  'provenance/spdx.ts',
  'provenance/cyclonedx.ts',
  'registry/challenge.ts',
  'registry/protocol.ts',
  'registry/retry.ts',
  'github/check-report.ts',
  'github/markdown.ts',
  'github/issue-plan.ts',
  'github/rate-limit.ts',
  'oci/document.ts',
  'oci/attachment-kinds.ts',
];

const FORBIDDEN: [RegExp, string][] = [
  [/from ['"](node:)?fs(\/promises)?['"]/, 'fs'],
  [/from ['"](node:)?child_process['"]/, 'child_process'],
  [/from ['"](node:)?(http|https|net|stream|stream\/promises|zlib)['"]/, 'streams or network modules'],
  [/\bfetch\(/, 'fetch'],
  [/process\.env/, 'process.env'],
  [/new Date\(\)|Date\.now\(\)/, 'the clock'],
];

function valueImports(src: string): string[] {
  // `import type …` and `export type …` are erased; everything else is a run-time dependency.
  const statements = src.match(/^(?:import|export)\s[^;]*?from\s+['"][^'"]+['"]/gms) ?? [];
  return statements.filter((s) => !/^(?:import|export)\s+type\s/.test(s)).map((s) => s.match(/from\s+['"]([^'"]+)['"]/)![1]!);
}

describe('pure modules', () => {
  for (const file of PURE) {
    it(`src/${file} does no I/O and imports only pure modules`, () => {
      const src = readFileSync(join(REPO_ROOT, 'src', file), 'utf8');
      for (const [re, what] of FORBIDDEN) expect(re.test(src), `src/${file} uses ${what}`).toBe(false);
      for (const spec of valueImports(src)) {
        if (!spec.startsWith('.')) continue;
        const target = relative(join(REPO_ROOT, 'src'), normalize(join(REPO_ROOT, 'src', dirname(file), spec))).replace(/\.js$/, '.ts');
        expect(PURE, `src/${file} imports ${target}, which is not pure`).toContain(target);
      }
    });
  }
});
