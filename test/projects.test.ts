/**
 * The unit/integration split (test/projects.ts) stays true: a test file that starts the real
 * things must be listed as integration, or `npm run test:unit` would fail as a non-root user.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/paths.js';
import { INTEGRATION_TESTS } from './projects.js';

/**
 * Calls that reach root, the mirror, a registry or a container tool; the third member, where
 * there is one, shows the file points that call at a loopback stand-in of its own instead.
 */
const INTEGRATION_MARKERS: readonly [RegExp, string, RegExp?][] = [
  [/\b(sharedBuild|testBuildOptions|buildRecipe|buildRootfs|runBootstrap)\(/, 'a debootstrap build'],
  [/\bSHARED_CACHE_DIR\b/, 'the shared build cache'],
  [/\bfetchVerifiedArchive\(/, "the host's mirror", /\bstartTestArchive\(/],
  [/\bstartTamperProxy\(/, "the host's mirror"],
  [/\bstartTestRegistry\(/, 'the test registry'],
  [/\b(skopeo|skopeoStandaloneVerify|isolatedPodman)\(/, 'skopeo or podman'],
  [/\bbuildRichTree\(|\b(mknod|chown|setcap|umoci)\b/, 'root-only file operations or umoci'],
  [/process\.getuid\(\)/, 'a check for root'],
];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : testFiles(path);
    return e.name.endsWith('.test.ts') ? [relative(REPO_ROOT, path)] : [];
  });
}

describe('test projects', () => {
  const files = testFiles(join(REPO_ROOT, 'test'));

  it('every listed integration test exists', () => {
    for (const file of INTEGRATION_TESTS) expect(existsSync(join(REPO_ROOT, file)), `${file} is listed in test/projects.ts`).toBe(true);
  });

  for (const file of files) {
    if (INTEGRATION_TESTS.includes(file) || file === 'test/projects.test.ts') continue;
    it(`${file} is a unit test (uses nothing that needs root, the network or container tools)`, () => {
      const src = readFileSync(join(REPO_ROOT, file), 'utf8');
      for (const [re, what, standIn] of INTEGRATION_MARKERS) {
        const uses = re.test(src) && !(standIn?.test(src) ?? false);
        expect(uses, `${file} uses ${what}: add it to INTEGRATION_TESTS in test/projects.ts`).toBe(false);
      }
    });
  }
});
