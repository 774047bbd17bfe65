/**
 * policy.json + registries.d as podman/skopeo read them. The end-to-end part pushes a tiny
 * image to Debian's docker-registry and pulls it with skopeo under our policy: only an image
 * whose lookaside signature is by our key, for that repo:tag and digest, gets through.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { exportPublicKey } from '../../src/pgp/keys.js';
import { writeLookaside } from '../../src/sign/lookaside.js';
import { buildPolicy } from '../../src/sign/policy.js';
import { writePolicyFiles, type WrittenPolicyFiles } from '../../src/sign/policy-files.js';
import { Layout } from '../../src/oci/layout.js';
import { signLayout } from '../../src/sign/sign-layout.js';
import { testKey, type TestKey } from './helpers/keys.js';
import type { LocalRegistry } from '../../src/registry/local-registry.js';
import { startTestRegistry } from '../helpers/registry.js';
import { tempDir, writeSyntheticImage } from './helpers/synthetic-image.js';

describe('buildPolicy', () => {
  it('rejects by default and requires our GPG key for the registry scope', () => {
    const files = buildPolicy({ registry: '127.0.0.1:5000', keyPath: '/etc/containers/keys/imgfactory.gpg', lookaside: 'https://sigs.invalid/lookaside' });
    expect(JSON.parse(files.policyJson)).toEqual({
      default: [{ type: 'reject' }],
      transports: {
        docker: { '127.0.0.1:5000': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/etc/containers/keys/imgfactory.gpg' }] },
      },
    });
    expect(files.name).toBe('127.0.0.1-5000');
    expect(files.registriesDFile).toBe('127.0.0.1-5000.yaml');
    expect(files.registriesDYaml).toContain('docker:\n  "127.0.0.1:5000":\n    lookaside: "https://sigs.invalid/lookaside"\n');
  });

  it('local transports only when asked', () => {
    const files = buildPolicy({ registry: 'reg.invalid/base', keyPath: '/k.gpg', lookaside: 'file:///srv/sigs', allowLocalTransports: true });
    expect(Object.keys(files.policy.transports).sort()).toEqual(['containers-storage', 'dir', 'docker', 'docker-archive', 'oci', 'oci-archive']);
    expect(files.policy.transports.oci).toEqual({ '': [{ type: 'insecureAcceptAnything' }] });
  });

  it.each([
    [{ registry: 'http://reg' }],
    [{ registry: 'reg.invalid/UPPER' }],
    [{ lookaside: 'ftp://x/y' }],
    [{ lookaside: 'not a url' }],
    [{ keyPath: 'relative.gpg' }],
    [{ name: '../escape' }],
  ])('refuses bad input %j: BAD_OPTION', (over) => {
    expect(() => buildPolicy({ registry: 'reg.invalid:5000', keyPath: '/k.gpg', lookaside: 'https://s.invalid/', ...over })).toThrow(
      expect.objectContaining({ code: 'BAD_OPTION' }),
    );
  });
});

describe('skopeo with our policy.json and registries.d (real docker-registry)', () => {
  let key: TestKey;
  let other: TestKey;
  let dir: { path: string; cleanup: () => Promise<void> };
  let registry: LocalRegistry;
  let policy: WrittenPolicyFiles;
  let layout: string;
  let digest: string;
  const lookasideDir = () => join(dir.path, 'lookaside');

  const skopeo = (files: WrittenPolicyFiles, args: string[]) =>
    run(['skopeo', '--policy', files.policyPath, '--registries.d', files.registriesDDir, ...args], { okExitCodes: [1] });

  beforeAll(async () => {
    key = await testKey('ed25519');
    other = await testKey('ed25519', 'not trusted');
    dir = await tempDir('policy');
    registry = await startTestRegistry({ storageDir: join(dir.path, 'registry') });
    layout = join(dir.path, 'layout');
    digest = (await writeSyntheticImage(layout, { ref: '12' })).digest;
    policy = await writePolicyFiles({
      outDir: join(dir.path, 'etc'),
      registry: registry.host,
      lookaside: pathToFileURL(lookasideDir()).href,
      keyring: (await exportPublicKey(key.publicKeyArmored)).binary,
      allowLocalTransports: true,
    });
    // Push with our own policy: the source is a local oci: layout, which it accepts.
    for (const tag of ['12', '13']) {
      const r = await skopeo(policy, [
        'copy',
        '--preserve-digests',
        '--dest-tls-verify=false',
        `oci:${layout}:12`,
        `docker://${registry.host}/base/debian-minimal:${tag}`,
      ]);
      expect(r.exitCode, r.stderr).toBe(0);
    }
  });
  // The registry is stopped by startTestRegistry's own afterAll.
  afterAll(async () => {
    await dir?.cleanup();
  });

  async function signInto(signer: TestKey, identity: string) {
    const result = await signLayout({ layout: await Layout.open(layout), key: signer.signing, identities: [identity], creator: 't', now: new Date() });
    await writeLookaside({
      dir: lookasideDir(),
      repository: identity,
      manifestDigest: result.manifestDigest,
      signatures: result.signatures.map((s) => s.signature),
    });
  }

  const pull = (tag: string, to: string) =>
    skopeo(policy, ['copy', '--src-tls-verify=false', `docker://${registry.host}/base/debian-minimal:${tag}`, `dir:${join(dir.path, to)}`]);

  it('writes the files where they say', async () => {
    expect(JSON.parse(await readFile(policy.policyPath, 'utf8')).transports.docker[registry.host][0].keyPath).toBe(policy.keyringPath);
    expect(await readFile(policy.registriesDPath, 'utf8')).toContain(`lookaside: "${pathToFileURL(lookasideDir()).href}"`);
  });

  it('refuses the image before it is signed', async () => {
    const r = await pull('12', 'unsigned');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('Source image rejected: A signature was required, but no signature exists');
  });

  it('accepts it once our lookaside signature for repo:12 is there, and still refuses :13 (other identity)', async () => {
    await signInto(key, `${registry.host}/base/debian-minimal:12`);
    const ok = await pull('12', 'pulled-12');
    expect(ok.exitCode, ok.stderr).toBe(0);
    const pulled = await readFile(join(dir.path, 'pulled-12', 'manifest.json'));
    expect(sha256Digest(pulled)).toBe(digest);
    const r = await pull('13', 'pulled-13');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`Source image rejected: Signature for identity ${registry.host}/base/debian-minimal:12 is not accepted`);
  });

  it('refuses a lookaside signature by another key', async () => {
    // A store holding only the other key's signature (ours from the previous test is removed).
    await rm(join(lookasideDir(), 'base'), { recursive: true, force: true });
    await signInto(other, `${registry.host}/base/debian-minimal:12`);
    const r = await pull('12', 'pulled-other');
    expect(r.exitCode).toBe(1);
    // gpgme knows no such key in the policy keyring: the signature cannot be verified.
    expect(r.stderr).toContain('Source image rejected: Invalid GPG signature');
    expect(r.stderr).toContain(other.fingerprint);
  });

  it('default reject: without --allow-local-transports even a local oci: copy is refused', async () => {
    const strict = await writePolicyFiles({
      outDir: join(dir.path, 'strict'),
      registry: registry.host,
      lookaside: pathToFileURL(lookasideDir()).href,
      keyring: (await exportPublicKey(key.publicKeyArmored)).binary,
    });
    const r = await skopeo(strict, ['copy', `oci:${layout}:12`, `dir:${join(dir.path, 'strict-out')}`]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('is rejected by policy');
  });
});
