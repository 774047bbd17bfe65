/**
 * debian-minimal for amd64 and arm64 (arm64 under qemu-user-static through binfmt_misc), as one
 * OCI image index: built and pushed signed by `imgfactory build --push`, pulled and verified by
 * `imgfactory pull`/`verify`, run by podman under the policy `imgfactory policy` writes (it checks
 * the signature on the index digest when a tag names an index), on each platform. Rebuilt, the
 * index digest is the same; `--arch amd64` alone gives the index's amd64 image, byte for byte.
 * A foreign architecture the kernel cannot run is refused before anything is written, exit 4.
 */
import { cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { Layout } from '../../src/oci/layout.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import { ociPlatform } from '../../src/oci/platform.js';
import type { LocalRegistry } from '../../src/registry/local-registry.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT, RECIPES_DIR, SHARED_CACHE_DIR } from '../helpers/paths.js';
import { isolatedPodman, type Podman } from '../helpers/podman.js';
import { startTestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/tmp.js';
import { testKey, type TestKey } from '../sign/helpers/keys.js';
import { startLookasideServer } from '../../src/registry/lookaside-server.js';
import { readPlatformSignatures } from '../../src/sign/sign-layout.js';

let tmp: string;
let recipe: string;
let registry: LocalRegistry;
let key: TestKey;
let podman: Podman;
let lookasideDir: string;

interface BuildJson {
  digest: string;
  platforms: { architecture: string; manifestDigest: string }[];
}

/** `imgfactory build` of the two-architecture recipe with the shared package cache (warm after the first build). */
async function build(out: string, extra: string[] = []): Promise<BuildJson> {
  const r = await runCli([
    'build',
    recipe,
    '--out',
    out,
    '--work-dir',
    join(SHARED_CACHE_DIR, 'work'),
    '--deb-cache-dir',
    join(SHARED_CACHE_DIR, 'deb-cache-multiarch'),
    '--json',
    ...extra,
  ]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as BuildJson;
}

let first: BuildJson;
const repo = () => `${registry.host}/base/debian-minimal`;

beforeAll(async () => {
  tmp = await tempDir('imgfactory-multiarch-');
  registry = await startTestRegistry({ tls: true });
  // The shipped recipe, with architectures added and the test registry as its publish target.
  await cp(RECIPES_DIR, join(tmp, 'recipes'), { recursive: true });
  recipe = join(tmp, 'recipes/debian-minimal.ts');
  const shipped = await readFile(recipe, 'utf8');
  const multi = shipped
    .replace("  variant: 'minbase',\n", "  variant: 'minbase',\n  architectures: ['amd64', 'arm64'],\n")
    .replace(/repository: '[^']+'/, () => `repository: '${repo()}'`);
  expect(multi).toContain("architectures: ['amd64', 'arm64']");
  expect(multi).toContain(repo());
  await writeFile(recipe, multi);
  key = await testKey('ed25519', 'imgfactory multiarch');
  await writeFile(join(tmp, 'secret.asc'), key.privateKeyArmored);
  await writeFile(join(tmp, 'public.asc'), key.publicKeyArmored);
  lookasideDir = join(tmp, 'lookaside');
  await mkdir(lookasideDir);
  const server = await startLookasideServer(lookasideDir);
  podman = await isolatedPodman(join(tmp, 'podman'));
  const policy = await runCli([
    'policy',
    '--key',
    join(tmp, 'public.asc'),
    '--registry',
    registry.host,
    '--lookaside',
    server.url,
    '--out',
    join(tmp, 'consumer/.config/containers'),
  ]);
  expect(policy.status, policy.stderr).toBe(0);
  podman.env.HOME = join(tmp, 'consumer');
  return () => server.stop();
}, 5 * 60_000);

describe('a two-architecture debian-minimal', () => {
  it(
    'builds both platforms into one signed index and pushes it',
    async () => {
      first = await build(join(tmp, 'out-1'), ['--key', join(tmp, 'secret.asc'), '--push', '--ca-file', registry.caFile!, '--lookaside-dir', lookasideDir]);
      expect(first.platforms.map((p) => p.architecture)).toEqual(['amd64', 'arm64']);
      const layout = await Layout.open(join(tmp, 'out-1/debian-minimal'));
      const top = layout.resolve('12.0.0');
      expect(top.mediaType).toBe(MediaType.imageIndex);
      expect(top.digest).toBe(first.digest);
      for (const p of first.platforms) {
        const image = await layout.image({ tag: '12.0.0', platform: ociPlatform(p.architecture) });
        expect(image.descriptor.digest).toBe(p.manifestDigest);
        expect(image.config.architecture).toBe(p.architecture);
      }
      // The signature in the lookaside store is for the index digest.
      const sigDirs = await readdir(join(lookasideDir, 'base'));
      expect(sigDirs).toContain(`debian-minimal@sha256=${first.digest.slice(7)}`);
      for (const p of first.platforms) expect(sigDirs).toContain(`debian-minimal@sha256=${p.manifestDigest.slice(7)}`);
      // Every architecture of the lock has its own audited packages.
      const lock = JSON.parse(await readFile(join(tmp, 'recipes/debian-minimal.lock.json'), 'utf8')) as {
        architectures: Record<string, { architecture: string }[]>;
      };
      expect(Object.keys(lock.architectures)).toEqual(['amd64', 'arm64']);
      expect(lock.architectures.arm64!.some((p) => p.architecture === 'arm64')).toBe(true);
      expect(lock.architectures.arm64!.every((p) => p.architecture === 'arm64' || p.architecture === 'all')).toBe(true);
    },
    40 * 60_000,
  );

  it('is pulled (signature on the index checked first) and verified: provenance names every platform image', async () => {
    const out = join(tmp, 'pulled');
    const pulled = await runCli(['pull', `${repo()}:12`, '--key', join(tmp, 'public.asc'), '--ca-file', registry.caFile!, '--out', out]);
    expect(pulled.status, pulled.stderr).toBe(0);
    const layout = await Layout.open(out);
    expect((await layout.platformImages(layout.resolve())).map((i) => i.config.architecture)).toEqual(['amd64', 'arm64']);
    // Each platform manifest came with its own signature (what podman checks after the index's).
    expect((await readPlatformSignatures(layout)).map((p) => p.manifestDigest)).toEqual(first.platforms.map((p) => p.manifestDigest));
    const verified = await runCli(['verify', out, '--key', join(tmp, 'public.asc'), '--identity', `${repo()}:12`, '--json']);
    expect(verified.status, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ manifestDigest: first.digest });
    const other = await testKey('ed25519', 'not ours');
    await writeFile(join(tmp, 'other.asc'), other.publicKeyArmored);
    const refused = await runCli(['pull', `${repo()}:12`, '--key', join(tmp, 'other.asc'), '--ca-file', registry.caFile!, '--out', join(tmp, 'refused')]);
    expect(refused.status).toBe(1);
  });

  it(
    'runs under podman with the generated policy on each platform: aarch64 and x86_64',
    async () => {
      for (const [platform, machine] of [
        ['linux/arm64', 'aarch64'],
        ['linux/amd64', 'x86_64'],
      ] as const) {
        const pull = await podman.run(['pull', '-q', '--platform', platform, '--cert-dir', registry.certDir!, `${repo()}:12`], { reject: false });
        expect(pull.exitCode, pull.stderr).toBe(0);
        const id = pull.stdout.trim().split('\n').at(-1)!;
        const run = await podman.run(['run', '--rm', id, 'uname', '-m']);
        expect(run.stdout.trim()).toBe(machine);
      }
    },
    10 * 60_000,
  );

  it(
    'builds again to the same index digest; --arch amd64 alone gives its amd64 image',
    async () => {
      // A real second bootstrap of both architectures, not a base-layer cache hit.
      const again = await build(join(tmp, 'out-2'), ['--no-lock', '--no-base-cache']);
      expect(again.digest).toBe(first.digest);
      expect(again.platforms).toEqual(first.platforms);
      const amd64 = await build(join(tmp, 'out-3'), ['--arch', 'amd64']);
      expect(amd64.digest).toBe(first.platforms.find((p) => p.architecture === 'amd64')!.manifestDigest);
      // A partial build never moves the lock of the whole recipe.
      const lock = JSON.parse(await readFile(join(tmp, 'recipes/debian-minimal.lock.json'), 'utf8')) as { architectures: object };
      expect(Object.keys(lock.architectures)).toEqual(['amd64', 'arm64']);
    },
    40 * 60_000,
  );

  it('refuses a foreign architecture the kernel cannot run: one line naming qemu-user-static, exit 4, nothing written', async () => {
    // In a private mount namespace binfmt_misc is an empty tmpfs (with a `register` file, so the
    // build does not mount the real one there): the host's registration is never touched.
    const out = join(tmp, 'never-out');
    const work = join(tmp, 'never-work');
    const script = 'mount --make-rprivate / && mount -t tmpfs none /proc/sys/fs/binfmt_misc && touch /proc/sys/fs/binfmt_misc/register && exec "$@"';
    const r = await execa(
      'unshare',
      ['-m', 'sh', '-c', script, 'sh', process.execPath, join(REPO_ROOT, 'bin/imgfactory.js'), 'build', recipe, '--out', out, '--work-dir', work],
      { reject: false },
    );
    expect(r.exitCode, r.stderr).toBe(4);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/arm64.*qemu-user-static/);
    await expect(readdir(out)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readdir(work)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
