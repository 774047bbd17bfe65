/**
 * Versions that never move, history and rollback, with real parts only: one recipe (a child of
 * debian-minimal) built twice with different package sets by `imgfactory build --key --push`
 * into Debian's docker-registry (TLS, basic auth); `history` reads both back from the registry;
 * `rollback` moves the channel and podman, with the policy from `imgfactory policy`, follows it.
 */
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAttachments } from '../../src/oci/attachments.js';
import type { Digest } from '../../src/oci/digest.js';
import { Layout } from '../../src/oci/layout.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import type { BuildResult } from '../../src/pipeline/build.js';
import { createRegistryClient, type RegistryClient } from '../../src/registry/client.js';
import { basicCredentials } from '../../src/registry/credentials.js';
import type { LocalRegistry } from '../../src/registry/local-registry.js';
import { startLookasideServer } from '../../src/registry/lookaside-server.js';
import { isVersionTag } from '../../src/oci/version-tag.js';
import { runCli } from '../helpers/cli.js';
import { RECIPES_DIR } from '../helpers/paths.js';
import { isolatedPodman, type Podman } from '../helpers/podman.js';
import { startTestRegistry } from '../helpers/registry.js';
import { sharedBuild, signBuiltLayout } from '../helpers/shared-build.js';
import { tempDir } from '../helpers/tmp.js';
import { testKey, type TestKey } from '../sign/helpers/keys.js';

const USER = 'factory';
const PASSWORD = 'versions-e2e-password-not-for-output';
let registry: LocalRegistry;
let client: RegistryClient;
let tmp: string;
let lookasideDir: string;
let ours: TestKey;
let theirs: TestKey;
let podman: Podman;
let minimal: BuildResult;
let repo: string;

const cliEnv = () => ({ ...process.env, IMGFACTORY_REGISTRY_USER: USER, IMGFACTORY_REGISTRY_PASSWORD: PASSWORD });
const tls = () => ['--ca-file', registry.caFile!];
const pub = (who = 'ours') => join(tmp, `${who}.pub.asc`);
const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown> & { code?: string };

interface Published {
  readonly digest: Digest;
  /** From the build's --json summary (what CI hands to `imgfactory report`). */
  readonly summary: { readonly versionTag?: string; readonly rollback?: string };
  readonly versionTag: string;
  readonly layoutDir: string;
}

/**
 * The test recipe, written next to a copy of debian-minimal (a recipe's `from:` stays inside its
 * folder): the same name and version each time, only the package set changes.
 */
async function writeRecipe(dir: string, packages: readonly string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  await cp(join(RECIPES_DIR, 'debian-minimal.ts'), join(dir, 'debian-minimal.ts'));
  await cp(join(RECIPES_DIR, 'lib'), join(dir, 'lib'), { recursive: true });
  const file = join(dir, 'app.ts');
  await writeFile(
    file,
    `import { defineRecipe } from 'imgfactory';
export default defineRecipe({
  name: 'versions-app',
  version: '1.0.0',
  suite: 'bookworm',
  from: './debian-minimal.ts',
  layers: [{ name: 'tools', packages: ${JSON.stringify(packages)} }],
  slim: true,
  publish: { repository: '${repo}', tags: ['stable'] },
});
`,
  );
  return file;
}

/** `imgfactory build --key --push` of the test recipe with `packages`, on the debian-minimal this run built. */
async function buildAndPublish(name: string, packages: readonly string[]): Promise<Published> {
  const dir = join(tmp, name);
  const out = join(dir, 'out');
  // The parent, signed by the build's key, is reused (a build that signs trusts only signed parents).
  await cp(minimal.report.layoutDir, join(out, 'debian-minimal'), { recursive: true });
  await signBuiltLayout(join(out, 'debian-minimal'), minimal, {
    key: ours.signing,
    identities: [`${registry.host}/versions/base:12`],
    creator: 'versions e2e',
    builder: { id: 'https://imgfactory.dev/builder/test', version: '0' },
  });
  const recipe = await writeRecipe(join(dir, 'recipe'), packages);
  const r = await runCli(
    [
      'build',
      recipe,
      '--out',
      out,
      '--work-dir',
      join(dir, 'work'),
      '--key',
      join(tmp, 'ours.secret.asc'),
      '--push',
      ...tls(),
      '--lookaside-dir',
      lookasideDir,
      '--json',
    ],
    { env: cliEnv() },
  );
  expect(r.status, r.stderr).toBe(0);
  const summary = JSON.parse(r.stdout) as {
    digest: Digest;
    layout: string;
    versionTag?: string;
    rollback?: string;
    pushed: { name: string; targets: string[] }[];
  };
  const targets = summary.pushed.find((p) => p.name === 'versions-app')!.targets;
  // The version tag first (write-once), then the channel: both signed at build time.
  expect(targets).toHaveLength(2);
  expect(targets[1]).toBe(`${repo}:stable`);
  const versionTag = targets[0]!.slice(repo.length + 1);
  expect(isVersionTag(versionTag)).toBe(true);
  expect(versionTag).toMatch(/^1\.0\.0-\d{8}\.[0-9a-f]{12}$/);
  expect(summary.digest.slice(7, 19)).toBe(versionTag.slice(-12));
  expect(summary.versionTag).toBe(versionTag);
  return { digest: summary.digest, versionTag, layoutDir: summary.layout, summary };
}

async function tagDigest(tag: string): Promise<Digest | undefined> {
  return (await client.findManifest('versions/app', tag))?.digest;
}

function podmanPullDigest(ref: string) {
  return podman.run(['pull', '-q', '--cert-dir', registry.certDir!, '--creds', `${USER}:${PASSWORD}`, ref], { reject: false }).then(async (pull) => {
    if (pull.exitCode !== 0) return { ok: false as const, stderr: pull.stderr };
    const inspect = await podman.run(['image', 'inspect', '--format', '{{.Digest}}', ref]);
    return { ok: true as const, digest: inspect.stdout.trim() };
  });
}

let v1: Published;
let v2: Published;

beforeAll(async () => {
  tmp = await tempDir('imgfactory-versions-');
  minimal = await sharedBuild('debian-minimal');
  registry = await startTestRegistry({ tls: true, auth: { user: USER, password: PASSWORD } });
  repo = `${registry.host}/versions/app`;
  client = createRegistryClient({ registry: registry.host, caFile: registry.caFile!, credentials: basicCredentials(USER, PASSWORD, 'test') });
  lookasideDir = join(tmp, 'lookaside');
  await mkdir(lookasideDir);
  const server = await startLookasideServer(lookasideDir);
  ours = await testKey('ed25519', 'imgfactory versions ours');
  theirs = await testKey('ed25519', 'imgfactory versions theirs');
  await writeFile(pub('ours'), ours.publicKeyArmored);
  await writeFile(pub('theirs'), theirs.publicKeyArmored);
  await writeFile(join(tmp, 'ours.secret.asc'), ours.privateKeyArmored);
  podman = await isolatedPodman(join(tmp, 'podman'));
  const consumerHome = join(tmp, 'consumer');
  const policy = await runCli([
    'policy',
    '--key',
    pub(),
    '--registry',
    registry.host,
    '--lookaside',
    server.url,
    '--out',
    join(consumerHome, '.config/containers'),
  ]);
  expect(policy.status, policy.stderr).toBe(0);
  podman.env.HOME = consumerHome;

  // v1 and v2: the same recipe rebuilt, v2 with jq added (jq, libjq1, libonig5 are new).
  v1 = await buildAndPublish('v1', ['netbase']);
  v2 = await buildAndPublish('v2', ['netbase', 'jq']);
  return () => server.stop();
}, 40 * 60_000);

describe('versions, history and rollback', () => {
  it('each publish left a version tag; the channel points at the newest', async () => {
    expect(v1.digest).not.toBe(v2.digest);
    expect(await tagDigest(v1.versionTag)).toBe(v1.digest);
    expect(await tagDigest(v2.versionTag)).toBe(v2.digest);
    expect(await tagDigest('stable')).toBe(v2.digest);
    // The build printed the command that undoes its channel move (for the job summary).
    expect(v1.summary.rollback).toBeUndefined();
    expect(v2.summary.rollback).toBe(`imgfactory rollback ${repo}:stable --to ${v1.digest} --key <public.asc>`);
  });

  it('history lists both versions, newest first, with the package change and where the channel points', async () => {
    const r = await runCli(['history', repo, '--key', pub(), ...tls(), '--json'], { env: cliEnv() });
    expect(r.status, r.stderr).toBe(0);
    const h = json(r.stdout) as unknown as {
      versions: {
        tag: string;
        digest: string;
        verified: boolean;
        packages: number;
        channels: string[];
        changes?: { from: string; recipeChanged: boolean; packages: { name: string; kind: string }[] };
      }[];
      channels: Record<string, string>;
    };
    expect(h.versions.map((v) => v.tag)).toEqual([v2.versionTag, v1.versionTag]);
    expect(h.versions.every((v) => v.verified)).toBe(true);
    expect(h.versions[0]!.channels).toEqual(['stable']);
    expect(h.versions[1]!.channels).toEqual([]);
    expect(h.versions[0]!.packages - h.versions[1]!.packages).toBe(3);
    expect(h.versions[0]!.changes!.from).toBe(v1.versionTag);
    expect(h.versions[0]!.changes!.recipeChanged).toBe(true);
    expect(h.versions[0]!.changes!.packages.map((p) => `${p.kind} ${p.name}`)).toEqual(['added jq', 'added libjq1', 'added libonig5']);
    expect(h.versions[1]!.changes).toBeUndefined();
    expect(h.channels).toEqual({ stable: v2.digest });
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    // The human form names the same facts.
    const text = await runCli(['history', repo, '--key', pub(), ...tls()], { env: cliEnv() });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain(`${v2.versionTag}  ${v2.digest}`);
    expect(text.stdout).toContain('+ jq ');
  });

  it('a different digest on an existing version tag is refused before anything moves; the same digest again is a no-op', async () => {
    const refused = await runCli(['push', v2.layoutDir, `${repo}:${v1.versionTag}`, `${repo}:stable`, ...tls(), '--json'], { env: cliEnv() });
    expect(refused.status).toBe(1);
    expect(json(refused.stdout).code).toBe('VERSION_TAG_TAKEN');
    expect(await tagDigest(v1.versionTag)).toBe(v1.digest);
    expect(await tagDigest('stable')).toBe(v2.digest);
    const again = await runCli(['push', v1.layoutDir, `${repo}:${v1.versionTag}`, ...tls(), '--json'], { env: cliEnv() });
    expect(again.status, again.stderr).toBe(0);
    expect(json(again.stdout)).toMatchObject({ manifestDigest: v1.digest, blobsUploaded: 0, bytesUploaded: 0 });
    expect(await tagDigest(v1.versionTag)).toBe(v1.digest);
  });

  it(
    'rollback to v1: podman with the generated policy pulls the channel and gets v1; imgfactory pull verifies it',
    async () => {
      const before = await podmanPullDigest(`${repo}:stable`);
      expect(before).toEqual({ ok: true, digest: v2.digest });
      const r = await runCli(['rollback', `${repo}:stable`, '--to', v1.versionTag, '--key', pub(), ...tls(), '--json'], { env: cliEnv() });
      expect(r.status, r.stderr).toBe(0);
      expect(json(r.stdout)).toMatchObject({ channel: `${repo}:stable`, digest: v1.digest, previous: v2.digest, moved: true, signed: false });
      expect(await tagDigest('stable')).toBe(v1.digest);
      // Only the channel moved.
      expect(await tagDigest(v1.versionTag)).toBe(v1.digest);
      expect(await tagDigest(v2.versionTag)).toBe(v2.digest);
      expect(await podmanPullDigest(`${repo}:stable`)).toEqual({ ok: true, digest: v1.digest });
      const pulled = await runCli(['pull', `${repo}:stable`, '--key', pub(), ...tls(), '--out', join(tmp, 'pulled-stable'), '--json'], { env: cliEnv() });
      expect(pulled.status, pulled.stderr).toBe(0);
      expect(json(pulled.stdout).manifestDigest).toBe(v1.digest);
      // history shows where the channel points now.
      const h = await runCli(['history', repo, '--key', pub(), ...tls(), '--json'], { env: cliEnv() });
      const versions = (json(h.stdout) as unknown as { versions: { tag: string; channels: string[] }[] }).versions;
      expect(versions.map((v) => [v.tag, v.channels])).toEqual([
        [v2.versionTag, []],
        [v1.versionTag, ['stable']],
      ]);
      // Rolling back to where the channel already is moves nothing.
      const again = await runCli(['rollback', `${repo}:stable`, '--to', v1.digest, '--key', pub(), ...tls(), '--json'], { env: cliEnv() });
      expect(again.status, again.stderr).toBe(0);
      expect(json(again.stdout)).toMatchObject({ moved: false, digest: v1.digest });
    },
    15 * 60_000,
  );

  it('a target signed by another key than the trusted one is refused; nothing moves', async () => {
    const r = await runCli(['rollback', `${repo}:stable`, '--to', v2.versionTag, '--key', pub('theirs'), ...tls(), '--json'], { env: cliEnv() });
    expect(r.status).toBe(1);
    expect(json(r.stdout).code).toBe('SIGNATURE_UNTRUSTED_KEY');
    expect(await tagDigest('stable')).toBe(v1.digest);
  });

  it('version tags never move, and an unknown version is a usage error', async () => {
    const r = await runCli(['rollback', `${repo}:${v1.versionTag}`, '--to', v2.versionTag, '--key', pub(), ...tls(), '--json'], { env: cliEnv() });
    expect(r.status).toBe(2);
    expect(json(r.stdout).code).toBe('VERSION_TAG_IMMUTABLE');
    const missing = await runCli(['rollback', `${repo}:stable`, '--to', '1.0.0-20000101.000000000000', '--key', pub(), ...tls(), '--json'], { env: cliEnv() });
    expect(missing.status).toBe(2);
    expect(json(missing.stdout).code).toBe('VERSION_NOT_FOUND');
    expect(await tagDigest(v1.versionTag)).toBe(v1.digest);
  });

  it(
    'a target never signed for the channel needs --sign-key; with it, the signature is added and consumers follow',
    async () => {
      // debian-minimal signed by our key for a version tag of this repository only.
      const dir = join(tmp, 'minimal-version');
      await cp(minimal.report.layoutDir, dir, { recursive: true });
      const tag = `12.0.0-20000101.${minimal.report.manifestDigest.slice(7, 19)}`;
      await signBuiltLayout(dir, minimal, {
        key: ours.signing,
        identities: [`${repo}:${tag}`],
        creator: 'versions e2e',
        builder: { id: 'https://imgfactory.dev/builder/test', version: '0' },
      });
      const pushed = await runCli(['push', dir, `${repo}:${tag}`, ...tls(), '--lookaside-dir', lookasideDir], { env: cliEnv() });
      expect(pushed.status, pushed.stderr).toBe(0);
      const refused = await runCli(['rollback', `${repo}:stable`, '--to', tag, '--key', pub(), ...tls(), '--json'], { env: cliEnv() });
      expect(refused.status).toBe(1);
      expect(json(refused.stdout).code).toBe('ROLLBACK_NOT_SIGNED_FOR_CHANNEL');
      expect(await tagDigest('stable')).toBe(v1.digest);
      const signed = await runCli(
        [
          'rollback',
          `${repo}:stable`,
          '--to',
          tag,
          '--key',
          pub(),
          '--sign-key',
          join(tmp, 'ours.secret.asc'),
          '--lookaside-dir',
          lookasideDir,
          ...tls(),
          '--json',
        ],
        { env: cliEnv() },
      );
      expect(signed.status, signed.stderr).toBe(0);
      expect(json(signed.stdout)).toMatchObject({ digest: minimal.report.manifestDigest, moved: true, signed: true });
      expect(await podmanPullDigest(`${repo}:stable`)).toEqual({ ok: true, digest: minimal.report.manifestDigest });
      const verified = await runCli(['verify', `${repo}:stable`, '--key', pub(), ...tls()], { env: cliEnv() });
      expect(verified.status, verified.stderr).toBe(0);
    },
    15 * 60_000,
  );

  it('a target whose provenance has a flipped byte (on the registry disk) is refused; nothing moves; history flags it', async () => {
    const layout = await Layout.open(v2.layoutDir);
    const [provenance] = await readAttachments(layout, v2.digest, 'provenance', () => undefined);
    const envelope = provenance!.layers.find((l) => l.descriptor.mediaType === MediaType.dsseEnvelope)!.descriptor.digest;
    const hex = envelope.slice(7);
    const data = join(registry.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const bytes = await readFile(data);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await writeFile(data, bytes);
    const before = await tagDigest('stable');
    const r = await runCli(['rollback', `${repo}:stable`, '--to', v2.versionTag, '--key', pub(), ...tls(), '--json'], { env: cliEnv() });
    expect(r.status).toBe(1);
    // The damaged attachment no longer matches its digest, so no intact provenance is left.
    expect(json(r.stdout).code).toBe('PROVENANCE_MISSING');
    expect(await tagDigest('stable')).toBe(before);
    const h = await runCli(['history', repo, '--key', pub(), ...tls(), '--json'], { env: cliEnv() });
    expect(h.status).toBe(1);
    const entry = (json(h.stdout) as unknown as { versions: { tag: string; verified: boolean; error?: { code: string } }[] }).versions.find(
      (v) => v.tag === v2.versionTag,
    )!;
    expect(entry).toMatchObject({ verified: false, error: { code: 'PROVENANCE_MISSING' } });
  });
});
