/**
 * `lock` and `check` against a controlled archive made with Debian's own tools (dpkg-deb,
 * apt-ftparchive, gpg) and served on loopback: a new version in -security between two checks
 * is one security update; an unchanged InRelease downloads no Packages index; an expired or
 * tampered InRelease fails the check like a build, never "up to date".
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { hostArchiveMirrors } from '../../src/archive/host-mirror.js';
import { loadPinnedKeys } from '../../src/archive/keyring.js';
import { hostDebianArch } from '../../src/oci/platform.js';
import { checkRecipe, type CheckOptions } from '../../src/update/check.js';
import { runCli } from '../helpers/cli.js';
import { startTestArchive, type TestArchive } from '../helpers/test-archive.js';
import { tempDir } from '../helpers/tmp.js';

const ARCH = hostDebianArch(process.arch);
const SUITE = 'testsuite';
let dir: string;
let archive: TestArchive;
let recipeFile: string;
let flags: string[];

const recipeText = (packages: string[]) => `import { defineRecipe } from 'imgfactory';
export default defineRecipe({
  name: 'controlled',
  version: '1.0.0',
  suite: '${SUITE}',
  variant: 'minbase',
  layers: [{ name: 'apps', packages: ${JSON.stringify(packages)} }],
});
`;

beforeAll(async () => {
  dir = await tempDir('imgf-update-ctl-');
  archive = await startTestArchive(dir, ARCH);
  await archive.publish(SUITE, [
    { name: 'hello-a', version: '1.0-1', architecture: ARCH },
    { name: 'hello-b', version: '2.0-1', architecture: 'all', source: 'hello' },
    { name: 'hello-c', version: '0.5-1', architecture: ARCH },
  ]);
  await archive.publish(`${SUITE}-updates`, []);
  await archive.publish(`${SUITE}-security`, []);
  recipeFile = join(dir, 'controlled.ts');
  await writeFile(recipeFile, recipeText(['hello-a', 'hello-b']));
  flags = ['--mirror', archive.url, '--security-mirror', archive.url, '--keys-dir', archive.keysDir, '--cache-dir', join(dir, 'cache')];
}, 120_000);
afterAll(async () => {
  await archive?.close();
});

/** The CLI's error output: progress lines are timestamped, an error is one `error:` line. */
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => !/^\[\s*[\d.]+s\]/.test(l) && l.trim() !== '');

async function libraryCheck(): Promise<CheckOptions> {
  return {
    load: { hostArch: ARCH },
    bootstrapper: 'debootstrap',
    keys: await loadPinnedKeys(archive.keysDir),
    cacheDir: join(dir, 'cache'),
    mirror: archive.url,
    securityMirror: archive.url,
    hostMirrors: () => hostArchiveMirrors(),
    now: () => new Date(),
    hostArch: ARCH,
  };
}

async function codeOfCheck(): Promise<string | undefined> {
  return checkRecipe(recipeFile, await libraryCheck()).then(
    () => undefined,
    (e: { code?: string }) => e.code,
  );
}

describe('check against a controlled archive', () => {
  it('a check without a lock is LOCK_MISSING, exit 2, one line', async () => {
    const r = await runCli(['check', recipeFile, ...flags], { cwd: dir });
    expect(r.status).toBe(2);
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(await codeOfCheck()).toBe('LOCK_MISSING');
  });

  it('lock --from-archive records the verified versions and suites', async () => {
    const r = await runCli(['lock', recipeFile, '--from-archive', ...flags], { cwd: dir });
    expect(r.stderr).not.toContain('error');
    expect(r.status).toBe(0);
    const lock = JSON.parse(await readFile(join(dir, 'controlled.lock.json'), 'utf8'));
    expect(lock.recipe.name).toBe('controlled');
    expect(lock.inReleases.map((x: { suite: string }) => x.suite)).toEqual([SUITE, `${SUITE}-updates`, `${SUITE}-security`]);
    const pkgs = lock.architectures[ARCH];
    expect(pkgs.map((p: { name: string; version: string; suite: string; source: string }) => [p.name, p.version, p.suite, p.source])).toEqual([
      ['hello-a', '1.0-1', SUITE, 'hello-a'],
      ['hello-b', '2.0-1', SUITE, 'hello'],
    ]);
  });

  it('an unchanged archive is up to date from the InRelease files alone: no Packages index requested', async () => {
    archive.requests.length = 0;
    const r = await runCli(['check', recipeFile, ...flags, '--json'], { cwd: dir });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.upToDate).toBe(true);
    expect(out.images[0].inReleaseOnly).toBe(true);
    expect(archive.requests.filter((p) => p.includes('Packages'))).toEqual([]);
    expect(archive.requests.filter((p) => p.endsWith('/InRelease'))).toHaveLength(3);
  });

  it('a newer version published into -security is one security update, exit 100', async () => {
    await archive.publish(`${SUITE}-security`, [{ name: 'hello-a', version: '1.0-1+deb1', architecture: ARCH }]);
    archive.requests.length = 0;
    const r = await runCli(['check', recipeFile, ...flags, '--json'], { cwd: dir });
    expect(r.status).toBe(100);
    const img = JSON.parse(r.stdout).images[0];
    expect(img.upToDate).toBe(false);
    expect(img.changedSuites).toEqual([`${SUITE}-security`]);
    expect(img.changes).toEqual([
      {
        kind: 'package',
        architecture: ARCH,
        package: 'hello-a',
        oldVersion: '1.0-1',
        newVersion: '1.0-1+deb1',
        suite: `${SUITE}-security`,
        security: true,
        direction: 'upgrade',
      },
    ]);
    expect(img.security).toBe(1);
    expect(archive.requests.some((p) => p.includes('Packages'))).toBe(true);

    const human = await runCli(['check', recipeFile, ...flags], { cwd: dir });
    expect(human.status).toBe(100);
    expect(human.stdout).toMatch(/controlled: 1 update, 1 security/);
    expect(human.stdout).toMatch(/security\s+hello-a:\S+\s+1\.0-1\s+1\.0-1\+deb1\s+testsuite-security/);
  });

  it('an update in -updates is not marked security; re-locking makes the check pass again', async () => {
    await archive.publish(`${SUITE}-updates`, [{ name: 'hello-b', version: '2.1-1', architecture: 'all', source: 'hello' }]);
    const r = await runCli(['check', recipeFile, ...flags, '--json'], { cwd: dir });
    expect(r.status).toBe(100);
    const img = JSON.parse(r.stdout).images[0];
    expect(img.changes.map((c: { package: string; suite: string; security: boolean }) => [c.package, c.suite, c.security])).toEqual([
      ['hello-a', `${SUITE}-security`, true],
      ['hello-b', `${SUITE}-updates`, false],
    ]);
    expect((await runCli(['lock', recipeFile, '--from-archive', ...flags], { cwd: dir })).status).toBe(0);
    expect((await runCli(['check', recipeFile, ...flags], { cwd: dir })).status).toBe(0);
  });

  it('a package gone from the archive is reported as vanished', async () => {
    const lockFile = join(dir, 'controlled.lock.json');
    const saved = await readFile(lockFile, 'utf8');
    try {
      // A lock naming a package the archive does not carry (a lock from an older archive state).
      const lock = JSON.parse(saved);
      lock.architectures[ARCH].push({ ...lock.architectures[ARCH][0], name: 'hello-gone' });
      lock.inReleases[0].sha256 = '0'.repeat(64);
      await writeFile(lockFile, JSON.stringify(lock));
      const r = await runCli(['check', recipeFile, ...flags, '--json'], { cwd: dir });
      expect(r.status).toBe(100);
      expect(JSON.parse(r.stdout).images[0].changes).toEqual([{ kind: 'vanished', architecture: ARCH, package: 'hello-gone', oldVersion: '1.0-1+deb1' }]);
    } finally {
      await writeFile(lockFile, saved);
    }
  });

  it('an `all` package locked twice (once per architecture of a multi-platform image) is one change', async () => {
    const lockFile = join(dir, 'controlled.lock.json');
    const saved = await readFile(lockFile, 'utf8');
    try {
      const lock = JSON.parse(saved);
      const b = lock.architectures[ARCH].find((p: { name: string }) => p.name === 'hello-b');
      const stale = { ...b, version: '2.0-1' };
      // A two-architecture lock lists it under each platform; this archive has one architecture,
      // so the one list holds it twice: the check must still report one change.
      lock.architectures[ARCH] = [...lock.architectures[ARCH].filter((p: { name: string }) => p.name !== 'hello-b'), stale, stale];
      lock.inReleases[0].sha256 = '0'.repeat(64);
      await writeFile(lockFile, JSON.stringify(lock));
      const r = await runCli(['check', recipeFile, ...flags, '--json'], { cwd: dir });
      expect(r.status, r.stderr).toBe(100);
      const changes = JSON.parse(r.stdout).images[0].changes as { package: string; oldVersion: string }[];
      expect(changes.filter((c) => c.package === 'hello-b').map((c) => c.oldVersion)).toEqual(['2.0-1']);
    } finally {
      await writeFile(lockFile, saved);
    }
  });

  it('a changed recipe is reported (the digest covers the file), exit 100', async () => {
    const before = await readFile(recipeFile, 'utf8');
    try {
      await writeFile(recipeFile, recipeText(['hello-a', 'hello-b', 'hello-c']));
      const r = await runCli(['check', recipeFile, ...flags, '--json'], { cwd: dir });
      expect(r.status).toBe(100);
      expect(JSON.parse(r.stdout).images[0].changes.map((c: { kind: string }) => c.kind)).toEqual(['recipe']);
    } finally {
      await writeFile(recipeFile, before);
    }
  });

  it('a tampered InRelease fails the check (exit 1), never "up to date"', async () => {
    const file = join(archive.root, 'debian/dists', `${SUITE}-updates`, 'InRelease');
    const original = await readFile(file);
    try {
      const tampered = Buffer.from(original);
      const at = tampered.indexOf('Suite:');
      tampered[at + 1]! ^= 0x20; // "Suite" → "sUite": the signed text changed by one byte
      await writeFile(file, tampered);
      const r = await runCli(['check', recipeFile, ...flags], { cwd: dir });
      expect(r.status).toBe(1);
      expect(r.stdout).not.toContain('up to date');
      expect(errorLines(r.stderr)).toHaveLength(1);
      expect(await codeOfCheck()).toBe('INRELEASE_BAD_SIGNATURE');
    } finally {
      await writeFile(file, original);
    }
  });

  it('an expired Valid-Until fails the check (exit 1), even though the lock has the same suites', async () => {
    const day = 86_400_000;
    await archive.resign(SUITE, { date: new Date(Date.now() - 10 * day), validUntil: new Date(Date.now() - day) });
    const r = await runCli(['check', recipeFile, ...flags], { cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stdout).not.toContain('up to date');
    expect(await codeOfCheck()).toBe('RELEASE_EXPIRED');
    await archive.resign(SUITE, {});
  });

  it('a corrupt lock is LOCK_INVALID and a lock of another recipe LOCK_RECIPE_MISMATCH: exit 2', async () => {
    const lockFile = join(dir, 'controlled.lock.json');
    const saved = await readFile(lockFile, 'utf8');
    try {
      await writeFile(lockFile, saved.slice(0, saved.length / 2));
      let r = await runCli(['check', recipeFile, ...flags], { cwd: dir });
      expect(r.status).toBe(2);
      expect(errorLines(r.stderr)).toHaveLength(1);
      expect(await codeOfCheck()).toBe('LOCK_INVALID');

      await writeFile(lockFile, saved.replace('"name": "controlled"', '"name": "another-recipe"'));
      r = await runCli(['check', recipeFile, ...flags], { cwd: dir });
      expect(r.status).toBe(2);
      expect(await codeOfCheck()).toBe('LOCK_RECIPE_MISMATCH');
    } finally {
      await writeFile(lockFile, saved);
    }
  });
});
