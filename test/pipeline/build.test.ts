/**
 * The main job, for real: debootstrap against the host's mirror, layers, audit, OCI layout;
 * then the layout is handed to the consumers' own tools (skopeo, umoci, podman).
 */
import { mkdir, readFile, readdir, stat, writeFile, cp } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VerifiedPackageManifest } from '../../src/archive/package-manifest.js';
import { hasFilesOnDisk, parseDpkgStatus } from '../../src/archive/index.js';
import { Layout } from '../../src/oci/layout.js';
import { buildRecipe, PACKAGES_FILE, type BuildResult } from '../../src/pipeline/build.js';
import { RECIPES_DIR, REPO_ROOT, SHARED_CACHE_DIR } from '../helpers/paths.js';
import { isolatedPodman, type Podman } from '../helpers/podman.js';
import { sharedBuild, testBuildOptions } from '../helpers/shared-build.js';
import { tempDir } from '../helpers/tmp.js';

const MINUTES = 60_000;
let minimal: BuildResult;
let podman: Podman;
let tmp: string;

beforeAll(async () => {
  tmp = await tempDir('imgfactory-build-');
  podman = await isolatedPodman(join(tmp, 'podman'));
  minimal = await sharedBuild('debian-minimal');
}, 20 * MINUTES);

async function unpack(layoutDir: string, ref: string): Promise<string> {
  const bundle = join(tmp, `bundle-${Math.random().toString(36).slice(2)}`);
  await execa('umoci', ['unpack', '--image', `${layoutDir}:${ref}`, bundle]);
  return join(bundle, 'rootfs');
}

describe('build recipes/debian-minimal.ts', () => {
  it('writes an OCI layout that skopeo inspects, tagged with the recipe version', async () => {
    const { report } = minimal;
    const r = await execa('skopeo', ['inspect', `oci:${report.layoutDir}:${report.ref}`]);
    const info = JSON.parse(r.stdout);
    expect(info.Digest).toBe(report.manifestDigest);
    expect(info.Architecture).toBe('amd64');
    expect(info.Labels['org.opencontainers.image.title']).toBe('debian-minimal');
    const image = await (await Layout.open(report.layoutDir)).image({ tag: report.ref });
    expect(image.config.config?.User).toBe('app');
    expect(image.config.history?.map((h) => h.created_by)).toHaveLength(image.manifest.layers.length);
    expect(image.manifest.annotations?.['org.opencontainers.image.version']).toBe('12.0.0');
    // every blob present and matching its digest
    await (await Layout.open(report.layoutDir)).checkImageBlobs(image);
  });

  it('umoci unpacks it; the tree is slim, scrubbed and has the app user', async () => {
    const rootfs = await unpack(minimal.report.layoutDir, minimal.report.ref);
    expect(await readFile(join(rootfs, 'etc/debian_version'), 'utf8')).toMatch(/^12\./);
    expect(await readFile(join(rootfs, 'etc/passwd'), 'utf8')).toMatch(/^app:x:1000:1000::\/home\/app:\/bin\/sh$/m);
    expect((await stat(join(rootfs, 'home/app'))).uid).toBe(1000);
    // minbase has no systemd, so no machine-id; where a package creates one it is emptied.
    expect(await readFile(join(rootfs, 'etc/machine-id'), 'utf8').catch(() => '')).toBe('');
    await expect(stat(join(rootfs, 'etc/hostname'))).rejects.toThrow();
    await expect(stat(join(rootfs, 'usr/share/man/man1'))).rejects.toThrow();
    // apt ships lists/partial itself; no index files may remain.
    expect(await readdir(join(rootfs, 'var/lib/apt/lists'))).toEqual(['partial']);
    expect(await readdir(join(rootfs, 'var/lib/apt/lists/partial'))).toEqual([]);
    expect(await readdir(join(rootfs, 'run'))).toEqual([]);
    expect(await readdir(join(rootfs, 'var/log'))).not.toContain('dpkg.log');
    // copyright files survive slimming
    expect((await stat(join(rootfs, 'usr/share/doc/bash/copyright'))).isFile()).toBe(true);
    // shadow: no build-day drift beyond SOURCE_DATE_EPOCH
    const day = Math.floor(minimal.report.sourceDateEpoch / 86400);
    for (const line of (await readFile(join(rootfs, 'etc/shadow'), 'utf8')).trim().split('\n')) {
      const f = line.split(':')[2];
      if (f) expect(Number(f)).toBeLessThanOrEqual(day);
    }
  });

  it('the verified package manifest lists exactly the dpkg status packages', async () => {
    const rootfs = await unpack(minimal.report.layoutDir, minimal.report.ref);
    const status = parseDpkgStatus(await readFile(join(rootfs, 'var/lib/dpkg/status'), 'utf8'));
    const installed = status
      .filter(hasFilesOnDisk)
      .map((e) => `${e.package}:${e.architecture}=${e.version}`)
      .sort();
    const manifest = JSON.parse(await readFile(join(minimal.report.layoutDir, PACKAGES_FILE), 'utf8')) as VerifiedPackageManifest;
    expect(manifest.packages.map((p) => `${p.package}:${p.architecture}=${p.version}`).sort()).toEqual(installed);
    expect(manifest.inReleases.map((r) => r.suite).sort()).toEqual(['bookworm', 'bookworm-security', 'bookworm-updates']);
    for (const p of manifest.packages) expect(p.sha256).toMatch(/^[a-f0-9]{64}$/);
  });

  it(
    'podman runs it as the non-root user; apt-get works',
    async () => {
      const { layoutDir, ref } = minimal.report;
      await podman.run(['pull', '-q', `oci:${layoutDir}:${ref}`]);
      const image = `oci:${layoutDir}:${ref}`;
      const id = (await podman.run(['images', '-q'])).stdout.trim().split('\n')[0]!;
      expect(id, `no image after pulling ${image}`).toMatch(/^[0-9a-f]+$/);
      const out = await podman.run(['run', '--rm', '--network', 'host', id, 'sh', '-c', 'cat /etc/debian_version; id -u; id -un; pwd']);
      const [version, uid, user, cwd] = out.stdout.trim().split('\n');
      expect(version).toMatch(/^12\.\d+$/);
      expect([uid, user, cwd]).toEqual(['1000', 'app', '/home/app']);
      // apt works for the image's users: sources trust the keyring the image ships.
      const apt = await podman.run([
        'run',
        '--rm',
        '--network',
        'host',
        '--user',
        '0',
        id,
        'sh',
        '-c',
        'apt-get update -qq && apt-get install -y -qq --no-install-recommends --simulate hello | tail -1',
      ]);
      expect(apt.stdout).toMatch(/Conf hello/);
    },
    10 * MINUTES,
  );
});

describe('reproducibility', () => {
  it(
    'a second build from another working directory gives the same manifest digest',
    async () => {
      // Another cwd, out dir and work dir; same recipe and archive state (pin SOURCE_DATE_EPOCH to the
      // first build's so an archive publish between the two builds cannot make this flaky).
      const elsewhere = join(tmp, 'elsewhere');
      await mkdir(elsewhere);
      await cp(RECIPES_DIR, join(elsewhere, 'recipes'), { recursive: true });
      const second = await buildRecipe(
        testBuildOptions(join(elsewhere, 'recipes/debian-minimal.ts'), join(elsewhere, 'out'), {
          workDir: join(elsewhere, 'work'),
          sourceDateEpoch: minimal.report.sourceDateEpoch,
        }),
      );
      expect(second.report.platforms[0]!.layers.map((l) => l.digest)).toEqual(minimal.report.platforms[0]!.layers.map((l) => l.digest));
      expect(second.report.manifestDigest).toBe(minimal.report.manifestDigest);
    },
    20 * MINUTES,
  );
});

describe('from: and strip', () => {
  it(
    'python3 reuses debian-minimal layers byte for byte and adds its own',
    async () => {
      const py = await sharedBuild('python3');
      const base = minimal.report.platforms[0]!.layers.map((l) => l.digest);
      const layers = py.report.platforms[0]!.layers;
      expect(layers.slice(0, base.length).map((l) => l.digest)).toEqual(base);
      expect(layers.length).toBeGreaterThan(base.length);
      const image = await (await Layout.open(py.report.layoutDir)).image({ tag: py.report.ref });
      expect(image.manifest.annotations?.['org.opencontainers.image.base.digest']).toBe(minimal.report.manifestDigest);
      const rootfs = await unpack(py.report.layoutDir, py.report.ref);
      expect((await stat(join(rootfs, 'usr/bin/python3'))).isFile() || (await stat(join(rootfs, 'usr/bin/python3'))).isSymbolicLink()).toBe(true);
      expect(py.packageManifest.packages.some((p) => p.package === 'python3-minimal')).toBe(true);
    },
    20 * MINUTES,
  );

  it(
    'static has no shell and no apt, keeps CA certificates, tzdata and the dpkg status',
    async () => {
      const st = await sharedBuild('static');
      const rootfs = await unpack(st.report.layoutDir, st.report.ref);
      for (const p of ['bin/sh', 'usr/bin/sh', 'usr/bin/bash', 'usr/bin/dash', 'usr/bin/apt-get', 'usr/bin/dpkg']) {
        await expect(stat(join(rootfs, p)), p).rejects.toThrow();
      }
      expect((await stat(join(rootfs, 'etc/ssl/certs/ca-certificates.crt'))).size).toBeGreaterThan(1000);
      expect((await stat(join(rootfs, 'usr/share/zoneinfo/UTC'))).isFile()).toBe(true);
      expect(await readFile(join(rootfs, 'var/lib/dpkg/status.d/tzdata'), 'utf8')).toMatch(/^Package: tzdata$/m);
      expect(await readFile(join(rootfs, 'etc/passwd'), 'utf8')).toMatch(/^nonroot:x:65532:65532:/m);
      // One layer: no lower layer carries a shell under a whiteout.
      expect(st.report.platforms[0]!.layers).toHaveLength(1);
    },
    20 * MINUTES,
  );
});

describe('the audit gates the build', () => {
  it(
    'a layer that smuggles a package into the dpkg status fails the audit and writes no image',
    async () => {
      const dir = join(tmp, 'smuggle');
      await mkdir(join(dir, 'files'), { recursive: true });
      await cp(RECIPES_DIR, join(dir, 'recipes'), { recursive: true });
      const rootfs = await unpack(minimal.report.layoutDir, minimal.report.ref);
      const status = await readFile(join(rootfs, 'var/lib/dpkg/status'), 'utf8');
      await writeFile(
        join(dir, 'recipes/status'),
        `${status.trimEnd()}\n\nPackage: totally-legit\nStatus: install ok installed\nPriority: optional\nSection: misc\nMaintainer: x <x@example.invalid>\nArchitecture: amd64\nVersion: 6.6.6\nDescription: not from Debian\n`,
      );
      await writeFile(
        join(dir, 'recipes/smuggle.ts'),
        `export default { name: 'smuggle', version: '1.0.0', suite: 'bookworm', from: './debian-minimal.ts',\n` +
          `  layers: [{ name: 'evil', files: [{ src: 'status', dest: '/var/lib/dpkg/status' }] }] };\n`,
      );
      // Reuse the shared debian-minimal as the parent.
      await cp(join(SHARED_CACHE_DIR, 'out', 'debian-minimal'), join(dir, 'out', 'debian-minimal'), { recursive: true });
      const report = JSON.parse(await readFile(join(dir, 'out/debian-minimal/build.json'), 'utf8'));
      report.layoutDir = join(dir, 'out/debian-minimal');
      report.recipe.sha256 = minimal.recipe.fileSha256;
      await writeFile(join(dir, 'out/debian-minimal/build.json'), JSON.stringify(report));
      await expect(buildRecipe(testBuildOptions(join(dir, 'recipes/smuggle.ts'), join(dir, 'out'), { workDir: join(dir, 'work') }))).rejects.toMatchObject({
        code: 'AUDIT_PACKAGE_UNPROVEN',
      });
      expect((await readdir(join(dir, 'out'))).sort()).toEqual(['debian-minimal']);
      // and nothing is left mounted under the work dir
      expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(join(dir, 'work'));
    },
    20 * MINUTES,
  );
});

describe('interrupted builds', () => {
  it(
    'SIGTERM inside the chroot: exit 130, nothing mounted, nothing written',
    async () => {
      const dir = join(tmp, 'interrupted');
      const child = execa(
        'node',
        [join(REPO_ROOT, 'bin/imgfactory.js'), 'build', join(RECIPES_DIR, 'debian-minimal.ts'), '--out', join(dir, 'out'), '--work-dir', join(dir, 'work')],
        {
          reject: false,
          env: { ...process.env, IMGFACTORY_TEST_RUN_DIR: undefined },
        },
      );
      // Wait until /proc is mounted in the build root (the upgrade runs in the chroot), then stop it.
      let sawMount = false;
      for (let i = 0; i < 600 && child.exitCode === null; i++) {
        if ((await readFile('/proc/self/mountinfo', 'utf8')).includes(join(dir, 'work'))) {
          sawMount = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(sawMount).toBe(true);
      child.kill('SIGTERM');
      const r = await child;
      expect(r.exitCode).toBe(130);
      expect(String(r.stderr)).toMatch(/^error: interrupted by SIGTERM/m);
      expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(join(dir, 'work'));
      expect(await readdir(join(dir, 'out')).catch(() => [])).toEqual([]);
      expect(await readdir(join(dir, 'work'))).toEqual([]);
    },
    10 * MINUTES,
  );
});
