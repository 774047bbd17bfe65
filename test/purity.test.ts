/**
 * Two architecture rules that run.
 *
 * Pure cores, I/O at the edges (README "Layout", ARCHITECTURE.md): the PURE modules take data and return data. They
 * use no filesystem, processes, network, streams, environment or clock, and import (other than
 * `import type`) only modules of this same list, so purity holds transitively.
 *
 * Floors (ARCHITECTURE.md): every file under src/ imports only from its own folder, lower
 * floors, and same-floor folders along a listed edge. The tables are read from ARCHITECTURE.md
 * itself, so the document and the rule cannot drift apart.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
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
  'recipe/system-accounts.ts',
  'recipe/types.ts',
  'archive/apt-sources.ts',
  'archive/archive-lookup.ts',
  'archive/audit.ts',
  'archive/deb822.ts',
  'archive/debian-version.ts',
  'archive/dpkg-status.ts',
  'archive/freshness.ts',
  'archive/inrelease.ts',
  'archive/packages-index.ts',
  'archive/pinned-keys.ts',
  'archive/release.ts',
  'archive/package-manifest.ts',
  'bootstrap/apt-config.ts',
  'bootstrap/binfmt.ts',
  'bootstrap/rules.ts',
  'bootstrap/users.ts',
  'layer/diff.ts',
  'layer/getfattr-dump.ts',
  'layer/path-order.ts',
  'layer/select.ts',
  'layer/tar-header.ts',
  'layer/tar-plan.ts',
  'layer/types.ts',
  'pipeline/contents-plan.ts',
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
  'lock/lock.ts',
  'lock/recipe-digest.ts',
  'lock/build-lock.ts',
  'update/resolve.ts',
  'diff/types.ts',
  'diff/diff-files.ts',
  'diff/diff-packages.ts',
  'diff/diff-config.ts',
  'diff/file-tree.ts',
  'diff/packages-from-tree.ts',
  'diff/architecture.ts',
  'update/purl.ts',
  'export/tar-parse.ts',
  'export/flatten-plan.ts',
  'export/checksums.ts',
  'export/image-user.ts',
  'export/settings-quote.ts',
  'export/nspawn-settings.ts',
  'export/lxc-metadata.ts',
  'export/export-provenance.ts',
  'oci/version-tag.ts',
  'versions/changes.ts',
  'versions/publish-summary.ts',
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
  // `import type …`, `export type …` and `import { type A, type B } …` are erased; everything
  // else (including side-effect imports and dynamic `import('…')`) is a run-time dependency.
  const statements = src.match(/^(?:import|export)\s[^;]*?from\s+['"][^'"]+['"]/gms) ?? [];
  const fromStatements = statements
    .filter((s) => !/^(?:import|export)\s+type\s/.test(s) && !/^import\s*\{(?:\s*type\s+[\w$]+(?:\s+as\s+[\w$]+)?\s*,?)+\s*\}\s*from/.test(s))
    .map((s) => s.match(/from\s+['"]([^'"]+)['"]/)![1]!);
  const sideEffects = [...src.matchAll(/^import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
  const dynamic = [...src.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
  return [...fromStatements, ...sideEffects, ...dynamic];
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

// ---- Floors -------------------------------------------------------------------------------

/**
 * Same-floor imports that break the architecture and are being removed. Each entry must still
 * occur (the test says when one can go), and new ones are not added here: fix the import.
 * sign ↔ provenance: the lead is moving attachments to oci and verification to src/verify.
 */
const KNOWN_FLOOR_VIOLATIONS: readonly (readonly [from: string, to: string])[] = [];

const SRC = join(REPO_ROOT, 'src');

/** The rows between `<!-- name:begin` and `<!-- name:end -->` in ARCHITECTURE.md, as cells. */
function tableRows(doc: string, name: string): string[][] {
  const block = doc.match(new RegExp(`<!-- ${name}:begin[^>]*-->([\\s\\S]*?)<!-- ${name}:end -->`));
  if (!block) throw new Error(`ARCHITECTURE.md has no ${name} table`);
  return block[1]!
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
    .slice(1) // header row
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

const ticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

function readFloors(): { floorOf: Map<string, number>; edges: Set<string> } {
  const doc = readFileSync(join(REPO_ROOT, 'ARCHITECTURE.md'), 'utf8');
  const floorOf = new Map<string, number>();
  for (const [floor, units] of tableRows(doc, 'floors')) {
    const level = Number(floor!.match(/^\d+/)?.[0]);
    for (const unit of ticked(units!)) floorOf.set(unit, level);
  }
  const edges = new Set<string>();
  for (const [from, to] of tableRows(doc, 'edges')) for (const a of ticked(from!)) for (const b of ticked(to!)) edges.add(`${a} -> ${b}`);
  return { floorOf, edges };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [relative(SRC, join(dir, e.name))] : [],
  );
}

/** The folder a file of src/ belongs to, or for a top-level file its name (`errors`). */
function unitOf(fileInSrc: string): string {
  const parts = fileInSrc.split(sep);
  return parts.length > 1 ? parts[0]! : parts[0]!.replace(/\.ts$/, '');
}

/** Every import between units that no floor or edge allows: `from -> to (file imports spec)`. */
function floorViolations(floorOf: ReadonlyMap<string, number>, edges: ReadonlySet<string>): { edge: string; where: string }[] {
  const found: { edge: string; where: string }[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = unitOf(file);
    for (const spec of valueImports(readFileSync(join(SRC, file), 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = relative(SRC, normalize(join(SRC, dirname(file), spec)));
      if (target.startsWith('..')) continue; // outside src/ (package.json via a relative path)
      const to = unitOf(target);
      if (to === from) continue;
      const [a, b] = [floorOf.get(from), floorOf.get(to)];
      if (a === undefined || b === undefined) continue; // reported by the placement test
      if (b < a || (b === a && edges.has(`${from} -> ${to}`))) continue;
      found.push({ edge: `${from} -> ${to}`, where: `src/${file} imports ${spec}` });
    }
  }
  return found;
}

describe('floors (ARCHITECTURE.md)', () => {
  const { floorOf, edges } = readFloors();
  const violations = floorViolations(floorOf, edges);
  const known = new Set(KNOWN_FLOOR_VIOLATIONS.map(([a, b]) => `${a} -> ${b}`));

  it('ARCHITECTURE.md places the floors and edges in tables this test can read', () => {
    expect(floorOf.get('cli')).toBeGreaterThan(floorOf.get('pipeline')!);
    expect(floorOf.get('pipeline')).toBeGreaterThan(floorOf.get('sign')!);
    expect(floorOf.get('sign')).toBeGreaterThan(floorOf.get('oci')!);
    expect(floorOf.get('oci')).toBeGreaterThan(floorOf.get('errors')!);
    for (const edge of edges) {
      const [a, b] = edge.split(' -> ') as [string, string];
      expect(floorOf.get(a), `edge ${edge}: ${a} has no floor`).toBeDefined();
      expect(floorOf.get(a), `edge ${edge} joins two floors; only same-floor edges need listing`).toBe(floorOf.get(b));
    }
  });

  it('sign and provenance may not import each other, even by a listed edge', () => {
    expect(edges.has('sign -> provenance') || edges.has('provenance -> sign')).toBe(false);
  });

  it('every folder and top-level file of src/ has a floor', () => {
    const unplaced = [...new Set(sourceFiles(SRC).map(unitOf))].filter((u) => !floorOf.has(u));
    expect(unplaced, 'add these to the floors table in ARCHITECTURE.md').toEqual([]);
  });

  it('nothing imports a higher floor or an unlisted same-floor folder', () => {
    const unexpected = violations.filter((v) => !known.has(v.edge)).map((v) => `${v.edge}: ${v.where}`);
    expect(unexpected).toEqual([]);
  });

  it('every known violation still occurs (remove it from KNOWN_FLOOR_VIOLATIONS once fixed)', () => {
    const seen = new Set(violations.map((v) => v.edge));
    expect([...known].filter((edge) => !seen.has(edge))).toEqual([]);
  });
});
