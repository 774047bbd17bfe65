/**
 * Update detection and diff against real parts: the host's Debian mirror (bookworm,
 * bookworm-updates, bookworm-security), real debootstrap builds of debian-minimal and python3
 * (shared with the other test files of the run), umoci to unpack an image, GNU tar.
 */
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareDebianVersions } from '../../src/archive/debian-version.js';
import { diffImages } from '../../src/diff/diff-images.js';
import { run } from '../../src/exec.js';
import { runCli } from '../helpers/cli.js';
import { RECIPES_DIR, SHARED_CACHE_DIR } from '../helpers/paths.js';
import { sharedBuild, SHARED_OUT } from '../helpers/shared-build.js';
import { DEFAULT_DEBIAN_KEYS_DIR } from '../../src/archive/keyring.js';
import { writeBuildLocks } from '../../src/lock/write-build-locks.js';
import { hostDebianArch } from '../../src/oci/platform.js';
import { REPORT_FILE, type BuildReport } from '../../src/pipeline/build.js';
import { loadRecipe } from '../../src/recipe/load.js';
import { tempDir } from '../helpers/tmp.js';
import { DEFAULT_BOOTSTRAPPER } from '../../src/bootstrap/debootstrap.js';

const CACHE = ['--cache-dir', join(SHARED_CACHE_DIR, 'archive-cache')];
/** Packages that bookworm's point releases, -updates and -security keep revising (which ones have a newer version today is the archive's business). */
const WATCHED = ['bash', 'ca-certificates', 'libc6', 'libexpat1', 'libgnutls30', 'libssl3', 'libsystemd0', 'openssl', 'perl-base', 'tzdata', 'zlib1g'];
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => !/^\[\s*[\d.]+s\]/.test(l) && l.trim() !== '');

let minimalDir: string;
let python3Dir: string;

beforeAll(async () => {
  const python3 = await sharedBuild('python3');
  python3Dir = python3.report.layoutDir;
  minimalDir = join(SHARED_OUT, 'debian-minimal');
}, 60 * 60_000);

describe('diff of real builds', () => {
  it('debian-minimal → python3 names python3 and its files, and the config changes', async () => {
    const d = await diffImages(minimalDir, python3Dir);
    expect(d.a.packagesFrom).toBe('verified-manifest');
    const added = d.packages.added.map((p) => p.package);
    expect(added).toContain('python3-minimal');
    expect(added).toContain('python3.11-minimal');
    expect(d.packages.removed).toEqual([]);
    expect(d.packages.upgraded).toEqual([]);
    const addedFiles = d.files.added.map((f) => f.path);
    expect(addedFiles).toContain('/usr/bin/python3.11');
    expect(addedFiles).toContain('/usr/lib/python3.11/os.py');
    // Besides python's own files only dpkg's and the dynamic linker's bookkeeping changed.
    for (const c of d.files.changed) expect(['/etc/ld.so.cache', '/var/lib/dpkg/status', '/var/lib/apt/extended_states']).toContain(c.path);
    expect(d.files.changed.map((c) => c.path)).toContain('/var/lib/dpkg/status');
    expect(d.config).toContainEqual({ field: 'cmd', before: ['/bin/bash'], after: ['/usr/bin/python3'] });
    expect(d.config).toContainEqual({ field: 'env', key: 'PYTHONDONTWRITEBYTECODE', before: null, after: '1' });
  });

  it('an image against its own unpacked rootfs (umoci) and rootfs tarball (GNU tar) is empty; a changed file is named', async () => {
    const dir = await tempDir('imgf-diff-rootfs-');
    const bundle = join(dir, 'bundle');
    await run(['umoci', 'unpack', '--image', `${minimalDir}:12.0.0`, bundle]);
    const rootfs = join(bundle, 'rootfs');

    let r = await runCli(['diff', minimalDir, rootfs, '--json']);
    expect(r.status).toBe(0);
    let d = JSON.parse(r.stdout);
    expect(d.files).toEqual({ added: [], removed: [], changed: [] });
    expect(d.packages).toEqual({ added: [], removed: [], upgraded: [], downgraded: [] });
    expect(d.b.packagesFrom).toBe('dpkg-status');

    const tarball = join(dir, 'rootfs.tar');
    await run(['tar', '--numeric-owner', '-C', rootfs, '-cf', tarball, '.']);
    d = await diffImages(minimalDir, tarball);
    expect(d.files).toEqual({ added: [], removed: [], changed: [] });

    await writeFile(join(rootfs, 'etc/motd'), 'drifted\n', { flag: 'a' });
    await chmod(join(rootfs, 'etc/debian_version'), 0o666);
    await mkdir(join(rootfs, 'opt/new'));
    r = await runCli(['diff', minimalDir, rootfs, '--json']);
    expect(r.status).toBe(0);
    d = JSON.parse(r.stdout);
    expect(d.files.changed.map((c: { path: string; changed: string[] }) => [c.path, c.changed])).toEqual([
      ['/etc/debian_version', ['mode']],
      ['/etc/motd', ['content', 'size']],
    ]);
    expect(d.files.added.map((f: { path: string }) => f.path)).toEqual(['/opt/new']);
    expect(d.files.removed).toEqual([]);

    // A root filesystem of another architecture (its dpkg database says so) is refused.
    const status = join(rootfs, 'var/lib/dpkg/status');
    const text = await readFile(status, 'utf8');
    const arch = d.a.architecture as string;
    await writeFile(status, text.replaceAll(`Architecture: ${arch}`, `Architecture: ${arch === 'arm64' ? 'amd64' : 'arm64'}`));
    r = await runCli(['diff', minimalDir, rootfs]);
    expect(r.status).toBe(2);
    expect(errorLines(r.stderr)).toHaveLength(1);
    await expect(diffImages(minimalDir, rootfs)).rejects.toMatchObject({ code: 'DIFF_ARCH_MISMATCH' });
  });

  it('a side that is no image, rootfs or tarball is DIFF_SOURCE_INVALID, exit 2', async () => {
    const dir = await tempDir('imgf-diff-bad-');
    await writeFile(join(dir, 'not-a.tar'), 'hello');
    const r = await runCli(['diff', minimalDir, join(dir, 'not-a.tar')]);
    expect(r.status).toBe(2);
    expect(errorLines(r.stderr)).toHaveLength(1);
    await expect(diffImages(minimalDir, join(dir, 'missing'))).rejects.toMatchObject({ code: 'DIFF_SOURCE_INVALID' });
  });
});

describe('check against the real archive', () => {
  it('a lock of the base suite only, checked with updates, reports the newer versions from -updates and -security', async () => {
    const dir = await tempDir('imgf-check-real-');
    const recipe = join(dir, 'stale.ts');
    const text = (updates: boolean) => `import { defineRecipe } from 'imgfactory';
export default defineRecipe({
  name: 'stale', version: '1.0.0', suite: 'bookworm', variant: 'minbase', updates: ${updates},
  layers: [{ name: 'pkgs', packages: ${JSON.stringify(WATCHED)} }],
});
`;
    await writeFile(recipe, text(false));
    let r = await runCli(['lock', recipe, '--from-archive', ...CACHE]);
    expect(r.status).toBe(0);
    const lock = JSON.parse(await readFile(join(dir, 'stale.lock.json'), 'utf8'));
    expect(lock.inReleases.map((x: { suite: string }) => x.suite)).toEqual(['bookworm']);

    r = await runCli(['check', recipe, '--json', ...CACHE]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).images[0].inReleaseOnly).toBe(true);

    r = await runCli(['check', recipe, '--updates', '--json', ...CACHE]);
    expect(r.status).toBe(100);
    const img = JSON.parse(r.stdout).images[0];
    const changes = img.changes as {
      kind: string;
      package: string;
      oldVersion: string;
      newVersion: string;
      suite: string;
      security: boolean;
      direction: string;
    }[];
    expect(changes.every((c) => c.kind === 'package' && c.direction === 'upgrade')).toBe(true);
    for (const c of changes) {
      expect(compareDebianVersions(c.newVersion, c.oldVersion)).toBeGreaterThan(0);
      expect(['bookworm-updates', 'bookworm-security']).toContain(c.suite);
      expect(c.security).toBe(c.suite === 'bookworm-security');
    }
    // The lock says which suite proved each version: only base-suite versions were locked.
    expect(lock.architectures[Object.keys(lock.architectures)[0]!].every((p: { suite: string }) => p.suite === 'bookworm')).toBe(true);
    expect(changes.length).toBeGreaterThan(0);
    expect(changes.some((c) => c.security)).toBe(true);
    expect(img.security).toBe(changes.filter((c) => c.security).length);

    // The recipe now takes updates: a recipe change; once re-locked, the check is clean.
    await writeFile(recipe, text(true));
    r = await runCli(['check', recipe, '--json', ...CACHE]);
    expect(r.status).toBe(100);
    expect(JSON.parse(r.stdout).images[0].changes.map((c: { kind: string }) => c.kind)).toContain('recipe');
    expect((await runCli(['lock', recipe, '--from-archive', ...CACHE])).status).toBe(0);
    r = await runCli(['check', recipe, ...CACHE]);
    expect(r.stdout).toMatch(/stale: up to date/);
    expect(r.status).toBe(0);
  });

  it('locks from real builds: plan --changed is empty until debian-minimal changes, then lists it and python3; build --if-changed is a no-op', async () => {
    const dir = await tempDir('imgf-plan-changed-');
    await mkdir(join(dir, 'lib'));
    for (const f of ['debian-minimal.ts', 'python3.ts', 'lib/common.ts']) await copyFile(join(RECIPES_DIR, f), join(dir, f));
    let r = await runCli(['lock', dir, '--out', SHARED_OUT, ...CACHE]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.status).toBe(0);
    const lock = JSON.parse(await readFile(join(dir, 'python3.lock.json'), 'utf8'));
    expect(lock.origin).toBe('build');
    expect(lock.recipe.sources.map((s: { path: string }) => s.path)).toEqual(['lib/common.ts', 'python3.ts']);
    expect(lock.parent.name).toBe('debian-minimal');

    r = await runCli(['plan', dir, '--changed', '--json', ...CACHE]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);

    const out = join(dir, 'out');
    r = await runCli(['build', join(dir, 'debian-minimal.ts'), '--if-changed', '--out', out]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/debian-minimal: up to date/);
    await expect(readFile(join(out, 'debian-minimal', 'index.json'))).rejects.toMatchObject({ code: 'ENOENT' });

    await writeFile(join(dir, 'debian-minimal.ts'), `${await readFile(join(dir, 'debian-minimal.ts'), 'utf8')}// changed\n`);
    r = await runCli(['plan', dir, '--changed', '--json', ...CACHE]);
    expect(r.status).toBe(0);
    const steps = JSON.parse(r.stdout) as { name: string; reasons: string[] }[];
    expect(steps.map((s) => s.name)).toEqual(['debian-minimal', 'python3']);
    expect(steps[1]!.reasons.some((x) => x.includes('debian-minimal'))).toBe(true);

    // A lock taken from a build of other recipe bytes is refused.
    r = await runCli(['lock', join(dir, 'debian-minimal.ts'), '--out', SHARED_OUT, ...CACHE]);
    expect(r.status).toBe(2);
    expect(errorLines(r.stderr)).toHaveLength(1);
  });

  it('the locks a build writes (writeBuildLocks, parents first) are what a later check accepts', async () => {
    const dir = await tempDir('imgf-build-locks-');
    await mkdir(join(dir, 'lib'));
    for (const f of ['debian-minimal.ts', 'python3.ts', 'lib/common.ts']) await copyFile(join(RECIPES_DIR, f), join(dir, f));
    const hostArch = hostDebianArch(process.arch);
    const built = await sharedBuild('python3');
    // The same build, as if these copies (same bytes) had been built with their parent on the way.
    const parent = JSON.parse(await readFile(join(minimalDir, REPORT_FILE), 'utf8')) as BuildReport;
    const files = await writeBuildLocks(
      {
        ...built,
        recipe: await loadRecipe(join(dir, 'python3.ts'), { hostArch }),
        parents: [{ ...parent, recipe: { ...parent.recipe, file: join(dir, 'debian-minimal.ts') } }],
      },
      { keysDir: DEFAULT_DEBIAN_KEYS_DIR, hostArch, output: { bootstrapper: DEFAULT_BOOTSTRAPPER } },
    );
    expect(files).toEqual([join(dir, 'debian-minimal.lock.json'), join(dir, 'python3.lock.json')]);
    const lock = JSON.parse(await readFile(files[1]!, 'utf8'));
    expect(lock.image.manifestDigest).toBe(built.report.manifestDigest);
    expect(lock.architectures[hostArch].length).toBe(built.packageManifest.packages.length);
    const r = await runCli(['check', dir, '--json', ...CACHE]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).images.map((i: { recipe: string; inReleaseOnly: boolean }) => [i.recipe, i.inReleaseOnly])).toEqual([
      ['debian-minimal', true],
      ['python3', true],
    ]);
  });
});
