/**
 * The whole promise, with real parts only: images built by imgfactory, signed, pushed over TLS
 * with basic auth to Debian's docker-registry; podman configured by `imgfactory policy`
 * (default reject) accepts them and runs them, and refuses the same image unsigned or signed
 * by another key; so does `imgfactory pull`.
 */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuildResult } from '../../src/pipeline/build.js';
import type { LocalRegistry } from '../../src/registry/local-registry.js';
import { hashFile } from '../../src/oci/hash-file.js';
import { Layout } from '../../src/oci/layout.js';
import { basicCredentials } from '../../src/registry/credentials.js';
import { publishImage } from '../../src/registry/publish.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { isolatedPodman, type Podman } from '../helpers/podman.js';
import { skopeo, startTestRegistry, tlsArgs } from '../helpers/registry.js';
import { sharedBuild, signBuiltLayout } from '../helpers/shared-build.js';
import { tempDir } from '../helpers/tmp.js';
import { testKey, type TestKey } from '../sign/helpers/keys.js';
import { startLookasideServer } from '../../src/registry/lookaside-server.js';

const USER = 'factory';
const PASSWORD = 'correct-horse-battery-staple-e2e';
let registry: LocalRegistry;
let tmp: string;
let lookasideDir: string;
let lookasideUrl: string;
let ours: TestKey;
let theirs: TestKey;
let podman: Podman;
let consumerHome: string;
let minimal: BuildResult;
let python: BuildResult;

/** Copy a built layout and sign it for `identity` with `key`. */
async function signedCopy(build: BuildResult, key: TestKey, identity: string): Promise<string> {
  const dir = join(tmp, `${build.recipe.name}-${key.fingerprint.slice(-8)}-${identity.split(':').pop()}`);
  await cp(build.report.layoutDir, dir, { recursive: true });
  await signBuiltLayout(dir, build, {
    key: key.signing,
    identities: [identity],
    creator: 'imgfactory e2e',
    builder: { id: 'https://imgfactory.dev/builder/test', version: '0' },
  });
  return dir;
}

function publish(layoutDir: string, ref: string, target: string, mountFrom: string[] = []) {
  return publishImage({
    layoutDir,
    ref,
    targets: [target],
    env: {},
    caFile: registry.caFile!,
    credentials: basicCredentials(USER, PASSWORD, 'test'),
    lookasideDir,
    mountFrom,
  });
}

function podmanPull(ref: string) {
  return podman.run(['pull', '-q', '--cert-dir', registry.certDir!, '--creds', `${USER}:${PASSWORD}`, ref], { reject: false });
}

const cliEnv = () => ({ ...process.env, IMGFACTORY_REGISTRY_USER: USER, IMGFACTORY_REGISTRY_PASSWORD: PASSWORD });

beforeAll(async () => {
  tmp = await tempDir('imgfactory-e2e-');
  [minimal, python] = [await sharedBuild('debian-minimal'), await sharedBuild('python3')];
  registry = await startTestRegistry({ tls: true, auth: { user: USER, password: PASSWORD } });
  lookasideDir = join(tmp, 'lookaside');
  await mkdir(lookasideDir);
  const server = await startLookasideServer(lookasideDir);
  lookasideUrl = server.url;
  ours = await testKey('ed25519', 'imgfactory e2e ours');
  theirs = await testKey('ed25519', 'imgfactory e2e theirs');
  await writeFile(join(tmp, 'ours.pub.asc'), ours.publicKeyArmored);

  // The consumer: podman whose policy.json and registries.d come from `imgfactory policy`.
  podman = await isolatedPodman(join(tmp, 'podman'));
  consumerHome = join(tmp, 'consumer');
  const policy = await runCli([
    'policy',
    '--key',
    join(tmp, 'ours.pub.asc'),
    '--registry',
    registry.host,
    '--lookaside',
    lookasideUrl,
    '--out',
    join(consumerHome, '.config/containers'),
  ]);
  expect(policy.status, policy.stderr).toBe(0);
  podman.env.HOME = consumerHome;
  return () => server.stop();
}, 30 * 60_000);

describe('publish and consume', () => {
  let signedMinimal: string;

  it('pushes a signed debian-minimal; pushing it again uploads nothing', async () => {
    const target = `${registry.host}/base/debian-minimal:12`;
    signedMinimal = await signedCopy(minimal, ours, target);
    const first = await publish(signedMinimal, minimal.report.ref, target);
    expect(first.manifestDigest).toBe(minimal.report.manifestDigest);
    expect(first.blobsUploaded).toBeGreaterThan(0);
    expect(first.attachmentsPushed).toBe(3);
    const again = await publish(signedMinimal, minimal.report.ref, target);
    expect(again.blobsUploaded).toBe(0);
    expect(again.bytesUploaded).toBe(0);
  });

  it('python3 into another repository uploads only its own layer (the base is mounted)', async () => {
    const target = `${registry.host}/base/python3:3.11`;
    const dir = await signedCopy(python, ours, target);
    const r = await publish(dir, python.report.ref, target, [`${registry.host}/base/debian-minimal`]);
    const baseLayers = minimal.report.platforms[0]!.layers.length;
    // Every base layer is mounted (the attachments' shared empty config may be too), never uploaded.
    expect(r.blobsMounted).toBeGreaterThanOrEqual(baseLayers);
    const ownLayers = python.report.platforms[0]!.layers.filter((l) => !l.inherited).length;
    const ownBytes = python.report.platforms[0]!.layers.filter((l) => !l.inherited).reduce((a, l) => a + l.size, 0);
    // Its own layer(s) and its config; attachment blobs are counted separately by the push.
    expect(r.bytesUploaded).toBeLessThan(ownBytes + 1_000_000);
    expect(r.bytesUploaded).toBeGreaterThanOrEqual(ownBytes);
    expect(ownLayers).toBe(1);
  });

  it(
    'podman with the generated policy pulls the signed image and runs it',
    async () => {
      const ref = `${registry.host}/base/debian-minimal:12`;
      const pull = await podmanPull(ref);
      expect(pull.exitCode, pull.stderr).toBe(0);
      const out = await podman.run(['run', '--rm', ref, 'sh', '-c', 'cat /etc/debian_version; id -un']);
      expect(out.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^12\.\d+$/), 'app']);
    },
    10 * 60_000,
  );

  it('imgfactory pull verifies, then writes the layout', async () => {
    const out = join(tmp, 'pulled');
    const r = await runCli(
      ['pull', `${registry.host}/base/debian-minimal:12`, '--key', join(tmp, 'ours.pub.asc'), '--ca-file', registry.caFile!, '--out', out],
      { env: cliEnv() },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(minimal.report.manifestDigest);
    // --out holds the image itself: the tag names the built manifest, and every blob it needs is
    // there, a regular file whose sha256 is its name, the same bytes as the build's.
    const pulled = await Layout.open(out);
    const image = await pulled.image({ tag: '12' });
    expect(image.descriptor.digest).toBe(minimal.report.manifestDigest);
    const built = await Layout.open(minimal.report.layoutDir);
    const blobs = [image.manifest.config, ...image.manifest.layers];
    expect(blobs.length).toBeGreaterThan(1);
    for (const d of blobs) {
      const got = await hashFile(pulled.blobPath(d.digest));
      expect(`sha256:${got.sha256}`, d.digest).toBe(d.digest);
      expect(got).toEqual(await hashFile(built.blobPath(d.digest)));
    }
    const kinds = pulled.entries.map((d) => d.annotations?.['dev.imgfactory.attachment']).filter((k) => k !== undefined);
    expect(new Set(kinds)).toEqual(new Set(['signature', 'sbom', 'provenance']));
  });

  it('imgfactory verify checks an image straight from the registry', async () => {
    await writeFile(join(tmp, 'theirs.pub.asc'), theirs.publicKeyArmored);
    const ref = `${registry.host}/base/debian-minimal:12`;
    const ok = await runCli(['verify', ref, '--key', join(tmp, 'ours.pub.asc'), '--ca-file', registry.caFile!, '--json'], { env: cliEnv() });
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ verified: true, manifestDigest: minimal.report.manifestDigest, sbom: { format: 'spdx' } });
    const no = await runCli(['verify', ref, '--key', join(tmp, 'theirs.pub.asc'), '--ca-file', registry.caFile!], { env: cliEnv() });
    expect(no.status).toBe(1);
    expect(no.stderr.trim().split('\n')).toHaveLength(1);
  });

  it(
    'the same image pushed unsigned (by skopeo, under another tag) is refused by podman and imgfactory pull',
    async () => {
      const unsigned = `${registry.host}/base/debian-minimal:unsigned`;
      await skopeo([
        'copy',
        '--quiet',
        ...tlsArgs(registry, 'dest'),
        '--dest-creds',
        `${USER}:${PASSWORD}`,
        `oci:${minimal.report.layoutDir}:${minimal.report.ref}`,
        `docker://${unsigned}`,
      ]);
      const pull = await podmanPull(unsigned);
      expect(pull.exitCode).not.toBe(0);
      expect(pull.stderr).toMatch(/signature/i);
      const out = join(tmp, 'pulled-unsigned');
      const r = await runCli(['pull', unsigned, '--key', join(tmp, 'ours.pub.asc'), '--ca-file', registry.caFile!, '--out', out], { env: cliEnv() });
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      await expect(import('node:fs/promises').then((fs) => fs.stat(out))).rejects.toThrow();
    },
    10 * 60_000,
  );

  it(
    'the same image signed by another key is refused by podman and imgfactory pull',
    async () => {
      const target = `${registry.host}/base/debian-minimal:theirs`;
      const dir = await signedCopy(minimal, theirs, target);
      await publish(dir, minimal.report.ref, target);
      const pull = await podmanPull(target);
      expect(pull.exitCode).not.toBe(0);
      expect(pull.stderr).toMatch(/signature/i);
      const r = await runCli(['pull', target, '--key', join(tmp, 'ours.pub.asc'), '--ca-file', registry.caFile!, '--out', join(tmp, 'pulled-theirs')], {
        env: cliEnv(),
      });
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      // The digest now carries two parties' signatures and attestations: ours still verifies for :12.
      const ok = await runCli(
        [
          'pull',
          `${registry.host}/base/debian-minimal:12`,
          '--key',
          join(tmp, 'ours.pub.asc'),
          '--ca-file',
          registry.caFile!,
          '--out',
          join(tmp, 'pulled-12-again'),
        ],
        { env: cliEnv() },
      );
      expect(ok.status, ok.stderr).toBe(0);
    },
    10 * 60_000,
  );

  it(
    'build --key --push: a signed build goes straight to the registry and verifies there',
    async () => {
      // python3 on the debian-minimal this run already built, signed with our key: a signed
      // build reuses a parent only when the signing key vouches for it (else it rebuilds it).
      const out = join(tmp, 'build-push-out');
      await cp(minimal.report.layoutDir, join(out, 'debian-minimal'), { recursive: true });
      await signBuiltLayout(join(out, 'debian-minimal'), minimal, {
        key: ours.signing,
        identities: [`${registry.host}/base/debian-minimal:12`],
        creator: 'imgfactory e2e',
        builder: { id: 'https://imgfactory.dev/builder/test', version: '0' },
      });
      await writeFile(join(tmp, 'ours.secret.asc'), ours.privateKeyArmored);
      const target = `${registry.host}/base/python3:e2e`;
      const refused = await runCli(['build', join(REPO_ROOT, 'recipes/python3.ts'), '--out', out, '--push'], { env: cliEnv() });
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(/--push needs --key/);
      const r = await runCli(
        [
          'build',
          join(REPO_ROOT, 'recipes/python3.ts'),
          '--no-lock',
          '--out',
          out,
          '--work-dir',
          join(tmp, 'build-push-work'),
          '--key',
          join(tmp, 'ours.secret.asc'),
          '--identity',
          target,
          '--push',
          '--ca-file',
          registry.caFile!,
          '--lookaside-dir',
          lookasideDir,
          '--json',
        ],
        { env: cliEnv() },
      );
      expect(r.status, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout);
      expect(summary.pushed).toEqual([expect.objectContaining({ name: 'python3', targets: [target] })]);
      expect(summary.platforms[0].layers.slice(0, 2).map((l: { digest: string }) => l.digest)).toEqual(
        minimal.report.platforms[0]!.layers.map((l) => l.digest),
      );
      const v = await runCli(['verify', target, '--key', join(tmp, 'ours.pub.asc'), '--ca-file', registry.caFile!], { env: cliEnv() });
      expect(v.status, v.stderr).toBe(0);
      expect(v.stdout).toContain(summary.digest);
    },
    10 * 60_000,
  );

  it('a wrong registry password is one line, non-zero, and never printed', async () => {
    const r = await runCli(['push', signedMinimal, `${registry.host}/base/debian-minimal:12`, '--ca-file', registry.caFile!], {
      env: { ...process.env, IMGFACTORY_REGISTRY_USER: USER, IMGFACTORY_REGISTRY_PASSWORD: 'wrong-password-e2e-secret' },
    });
    expect(r.status).toBe(5);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout + r.stderr).not.toContain('wrong-password-e2e-secret');
  });
});
