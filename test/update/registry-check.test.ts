/**
 * `check <registry/repo:tag>`: the consumer's side. A signed debian-minimal build (signature,
 * SBOM and provenance, made by the real signing path) in a real docker-registry on loopback;
 * check fetches it as verify does, verifies it with --key, and compares the SBOM's packages
 * with the host mirror's current indexes.
 */
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VerifiedPackageManifest } from '../../src/archive/package-manifest.js';
import type { LocalRegistry } from '../../src/registry/local-registry.js';
import { runCli } from '../helpers/cli.js';
import { SHARED_CACHE_DIR } from '../helpers/paths.js';
import { startTestRegistry } from '../helpers/registry.js';
import { sharedBuild, signBuiltLayout } from '../helpers/shared-build.js';
import { tempDir } from '../helpers/tmp.js';
import { testKey, type TestKey } from '../sign/helpers/keys.js';

const CACHE = ['--cache-dir', join(SHARED_CACHE_DIR, 'archive-cache')];
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => !/^\[\s*[\d.]+s\]/.test(l) && l.trim() !== '');
let registry: LocalRegistry;
let key: TestKey;
let pubFile: string;
let stale: { package: string; version: string };
let builtLayout: string;

beforeAll(async () => {
  const built = await sharedBuild('debian-minimal');
  builtLayout = built.report.layoutDir;
  registry = await startTestRegistry();
  key = await testKey('ed25519');
  const dir = await tempDir('imgf-registry-check-');
  pubFile = join(dir, 'pub.asc');
  await writeFile(pubFile, key.publicKeyArmored);

  // Two images of the same build: one attested with its real package manifest, one whose
  // attestations record an older version of one package (as an image built before a fix).
  const real = built.packageManifest;
  const target = real.packages.find((p) => p.suite.endsWith('-security')) ?? real.packages[0]!;
  stale = { package: target.package, version: target.version };
  const olderManifest: VerifiedPackageManifest = { ...real, packages: real.packages.map((p) => (p === target ? { ...p, version: '0~imgfactory.test' } : p)) };
  for (const [name, manifest] of [
    ['current', real],
    ['older', olderManifest],
  ] as const) {
    const layoutDir = join(dir, name);
    await cp(built.report.layoutDir, layoutDir, { recursive: true });
    const identity = `${registry.host}/check/${name}:12`;
    await signBuiltLayout(
      layoutDir,
      { ...built, packageManifest: manifest },
      { key: key.signing, identities: [identity], creator: 'imgfactory test', builder: { id: 'https://imgfactory.dev/builder/test', version: '0.0.0' } },
    );
    const r = await runCli(['push', layoutDir, identity, '--insecure']);
    expect(r.status, r.stderr).toBe(0);
  }
  // Signed, but with no SBOM or provenance attached.
  const bare = join(dir, 'bare');
  await cp(built.report.layoutDir, bare, { recursive: true });
  const secret = join(dir, 'secret.asc');
  await writeFile(secret, key.privateKeyArmored);
  expect((await runCli(['sign', bare, '--key', secret, '--identity', `${registry.host}/check/bare:12`])).status).toBe(0);
  expect((await runCli(['push', bare, `${registry.host}/check/bare:12`, '--insecure'])).status).toBe(0);
}, 60 * 60_000);

describe('check of a registry image', () => {
  it('an image whose SBOM records an older version than the archive now has: that update, exit 100', async () => {
    const r = await runCli(['check', `${registry.host}/check/older:12`, '--key', pubFile, '--insecure', '--json', ...CACHE]);
    expect(r.status, r.stderr).toBe(100);
    const img = JSON.parse(r.stdout).images[0];
    expect(img.recipe).toBe(`${registry.host}/check/older:12`);
    expect(img.manifestDigest).toMatch(/^sha256:/);
    const change = img.changes.find((c: { package: string }) => c.package === stale.package);
    expect(change).toMatchObject({ kind: 'package', oldVersion: '0~imgfactory.test', newVersion: stale.version, direction: 'upgrade' });
    expect(change.security).toBe(change.suite.endsWith('-security'));
  });

  it('the same build attested with its real manifest is up to date unless the archive moved since the build', async () => {
    const r = await runCli(['check', `${registry.host}/check/current:12`, '--key', pubFile, '--insecure', '--json', ...CACHE]);
    expect([0, 100]).toContain(r.status);
    const img = JSON.parse(r.stdout).images[0];
    // Whatever moved, the deliberately older package of the other image is not reported here.
    expect(img.changes.find((c: { oldVersion?: string }) => c.oldVersion === '0~imgfactory.test')).toBeUndefined();
    expect(r.status === 0).toBe(img.changes.length === 0);
  });

  it('an image without SBOM and provenance, an image signed by another key, and no --key: one line, exit 1 / 2', async () => {
    let r = await runCli(['check', `${registry.host}/check/bare:12`, '--key', pubFile, '--insecure', ...CACHE]);
    expect(r.status).toBe(1);
    expect(errorLines(r.stderr)).toHaveLength(1);
    const other = await testKey('ed25519', 'another');
    const otherFile = join(await tempDir('imgf-other-key-'), 'other.asc');
    await writeFile(otherFile, other.publicKeyArmored);
    r = await runCli(['check', `${registry.host}/check/older:12`, '--key', otherFile, '--insecure', ...CACHE]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    r = await runCli(['check', `${registry.host}/check/older:12`, '--insecure', ...CACHE]);
    expect(r.status).toBe(2);
    expect(errorLines(r.stderr)).toHaveLength(1);
  });

  it('diff of the registry image against the layout it was pushed from is empty; without --key it is refused', async () => {
    const r = await runCli(['diff', `${registry.host}/check/current:12`, builtLayout, '--key', pubFile, '--insecure', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.files).toEqual({ added: [], removed: [], changed: [] });
    expect(d.packages).toEqual({ added: [], removed: [], upgraded: [], downgraded: [] });
    expect(d.config).toEqual([]);
    const refused = await runCli(['diff', `${registry.host}/check/current:12`, builtLayout, '--insecure']);
    expect(refused.status).toBe(2);
    expect(errorLines(refused.stderr)).toHaveLength(1);
  });
});
