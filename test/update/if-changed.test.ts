/**
 * Update detection on a real build (issue 9): a debian-minimal-like recipe built from the base
 * suite only (updates: false) by the CLI against the host's mirror, checked against the real
 * bookworm-updates and bookworm-security; then the recipe takes updates, `build --if-changed`
 * rebuilds, and the check is clean. Two real debootstrap builds: the slowest test of its kind.
 */
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareDebianVersions } from '../../src/archive/debian-version.js';
import { runCli } from '../helpers/cli.js';
import { RECIPES_DIR, SHARED_CACHE_DIR } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const CACHE = ['--cache-dir', join(SHARED_CACHE_DIR, 'archive-cache')];

interface PackageChange {
  kind: string;
  package: string;
  oldVersion: string;
  newVersion: string;
  suite: string;
  security: boolean;
  direction: string;
}

/** Every file under `dir` with its size and mtime: what "writes nothing" is measured against. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name);
    const s = await stat(p);
    out.push(`${p} ${s.size} ${s.mtimeMs}`);
  }
  return out.sort();
}

/** The lock's packages of its one architecture, by name. */
function lockedPackages(lock: { architectures: Record<string, { name: string; version: string; suite: string }[]> }) {
  const archs = Object.values(lock.architectures);
  expect(archs).toHaveLength(1);
  return new Map(archs[0]!.map((p) => [p.name, p]));
}

describe('build --if-changed and check on a real build', () => {
  it(
    'a base-suite build is reported stale against -updates/-security; with updates: true it is rebuilt, then up to date',
    async () => {
      const dir = await tempDir('imgf-if-changed-');
      await mkdir(join(dir, 'lib'));
      await copyFile(join(RECIPES_DIR, 'lib/common.ts'), join(dir, 'lib/common.ts'));
      const recipe = join(dir, 'minimal-stale.ts');
      // recipes/debian-minimal.ts without publish:, and with the updates switch under test.
      const text = (updates: boolean) => `import { defineRecipe } from 'imgfactory';
import { appUser, labels, userLayer } from './lib/common.js';

export default defineRecipe({
  name: 'minimal-stale',
  version: '1.0.0',
  suite: 'bookworm',
  variant: 'minbase',
  updates: ${updates},
  layers: [userLayer()],
  slim: true,
  config: { user: appUser.name, workdir: appUser.home, env: { LANG: 'C.UTF-8' }, cmd: ['/bin/bash'], labels: labels('minimal-stale') },
});
`;
      const out = join(dir, 'out');
      const build = ['build', recipe, '--out', out, '--work-dir', join(SHARED_CACHE_DIR, 'work')];
      await writeFile(recipe, text(false));
      let r = await runCli(build);
      expect(r.status, r.stderr).toBe(0);
      const lockFile = join(dir, 'minimal-stale.lock.json');
      let lock = JSON.parse(await readFile(lockFile, 'utf8'));
      expect(lock.origin).toBe('build');
      expect(lock.inReleases.map((x: { suite: string }) => x.suite)).toEqual(['bookworm']);

      // The base suite alone: nothing newer. With -updates and -security: the real newer versions.
      r = await runCli(['check', recipe, '--json', ...CACHE]);
      expect(r.status, r.stderr).toBe(0);
      r = await runCli(['check', recipe, '--updates', '--json', ...CACHE]);
      expect(r.status, r.stderr).toBe(100);
      const img = JSON.parse(r.stdout).images[0];
      const changes = img.changes as PackageChange[];
      expect(changes.length).toBeGreaterThan(0);
      const locked = lockedPackages(lock);
      for (const c of changes) {
        expect(c).toMatchObject({ kind: 'package', direction: 'upgrade' });
        // Each change is about a package this build really installed, at the version it installed.
        expect(locked.get(c.package)).toMatchObject({ version: c.oldVersion, suite: 'bookworm' });
        expect(compareDebianVersions(c.newVersion, c.oldVersion)).toBeGreaterThan(0);
        expect(['bookworm-updates', 'bookworm-security']).toContain(c.suite);
        expect(c.security).toBe(c.suite === 'bookworm-security');
      }
      expect(changes.some((c) => c.security)).toBe(true);
      expect(img.security).toBe(changes.filter((c) => c.security).length);

      // The recipe now takes updates: its digest changed, so --if-changed builds.
      await writeFile(recipe, text(true));
      r = await runCli([...build, '--if-changed']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(/up to date/);
      lock = JSON.parse(await readFile(lockFile, 'utf8'));
      expect(lock.inReleases.map((x: { suite: string }) => x.suite)).toEqual(['bookworm', 'bookworm-updates', 'bookworm-security']);
      const rebuilt = lockedPackages(lock);
      // The newer versions the check named are what the rebuild installed.
      for (const c of changes) expect(rebuilt.get(c.package)).toMatchObject({ version: c.newVersion, suite: c.suite });
      r = await runCli(['check', recipe, '--json', ...CACHE]);
      expect(r.status, r.stdout).toBe(0);
      expect(JSON.parse(r.stdout).images[0].changes).toEqual([]);

      // Nothing changed: --if-changed says so and writes nothing (no layout, no lock, no report).
      const before = await snapshot(dir);
      r = await runCli([...build, '--if-changed']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^minimal-stale: up to date$/m);
      expect(await snapshot(dir)).toEqual(before);
    },
    60 * 60_000,
  );
});
