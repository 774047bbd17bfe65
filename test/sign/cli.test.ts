/** The five commands through the real CLI entry point (in-process, captured output). */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestLayout } from '../../src/provenance/attest-layout.js';
import { Layout } from '../../src/oci/layout.js';
import { keyFingerprint, readSigningKey, readVerificationKeys } from '../../src/pgp/keys.js';
import { runCli } from '../helpers/cli.js';
import { PROVENANCE_INPUT } from '../fixtures/sign/provenance-input.js';
import { tempDir, writeSyntheticImage } from './helpers/synthetic-image.js';

const PASSPHRASE = 'pass phrase that must never be printed';
const REPO = '127.0.0.1:5000/base/debian-minimal';

let dir: { path: string; cleanup: () => Promise<void> };
const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH, ...extra });
let keysDir: string;
let secret: string;
let pub: string;
/** Fingerprints that `keys generate` printed, to hold `keys export` and `policy` to them. */
let generatedFingerprint: string;
let rsaFingerprint: string;

beforeAll(async () => {
  dir = await tempDir('cli');
  keysDir = join(dir.path, 'keys');
  secret = join(keysDir, 'base-images.secret.asc');
  pub = join(keysDir, 'base-images.pub.asc');
});
afterAll(() => dir?.cleanup());

describe('imgfactory keys', () => {
  it('generate: passphrase from the environment, private key 0600, nothing secret printed', async () => {
    const r = await runCli(['keys', 'generate', '--name', 'Base Images', '--email', 'images@imgfactory.invalid', '--out', keysDir, '--json'], {
      cwd: dir.path,
      env: env({ IMGFACTORY_KEY_PASSPHRASE: PASSPHRASE }),
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { fingerprint: string; privateKeyPath: string; publicKeyPath: string; encrypted: boolean };
    expect(out).toMatchObject({ privateKeyPath: secret, publicKeyPath: pub, encrypted: true, type: 'ed25519' });
    expect((await stat(secret)).mode & 0o777).toBe(0o600);
    expect((await stat(pub)).mode & 0o777).toBe(0o644);
    for (const text of [r.stdout, r.stderr, await readFile(secret, 'utf8'), await readFile(pub, 'utf8')]) expect(text).not.toContain(PASSPHRASE);
    await expect(readSigningKey(await readFile(secret, 'utf8'))).rejects.toMatchObject({ code: 'KEY_PASSPHRASE_REQUIRED' });
    expect((await readSigningKey(await readFile(secret, 'utf8'), PASSPHRASE)).fingerprint).toBe(out.fingerprint);
    generatedFingerprint = out.fingerprint;
  });

  it('generate: refuses to overwrite without --force (exit 2); RSA with a passphrase file; warns when unprotected', async () => {
    const again = await runCli(['keys', 'generate', '--name', 'Base Images', '--email', 'x@imgfactory.invalid', '--out', keysDir], {
      env: env(),
    });
    expect(again.status).toBe(2);
    const passFile = join(dir.path, 'pass');
    await writeFile(passFile, `${PASSPHRASE}\n`);
    const rsa = await runCli(
      [
        'keys',
        'generate',
        '--name',
        'RSA',
        '--email',
        'r@imgfactory.invalid',
        '--out',
        keysDir,
        '--type',
        'rsa',
        '--bits',
        '4096',
        '--passphrase-file',
        passFile,
        '--json',
      ],
      { env: env() },
    );
    expect(rsa.status, rsa.stderr).toBe(0);
    rsaFingerprint = (JSON.parse(rsa.stdout) as { fingerprint: string }).fingerprint;
    expect((await readSigningKey(await readFile(join(keysDir, 'rsa.secret.asc'), 'utf8'), PASSPHRASE)).privateKey.getAlgorithmInfo()).toMatchObject({
      bits: 4096,
    });
    const plain = await runCli(['keys', 'generate', '--name', 'Plain', '--email', 'p@imgfactory.invalid', '--out', keysDir], { env: env() });
    expect(plain.status).toBe(0);
    expect(plain.stderr).toContain('not passphrase-protected');
    const bad = await runCli(['keys', 'generate', '--name', 'X', '--email', 'x@imgfactory.invalid', '--out', keysDir, '--type', 'dsa'], { env: env() });
    expect(bad.status).toBe(2);
  });

  it('export: the public key only, and it is the generated key', async () => {
    const r = await runCli(['keys', 'export', secret], { env: env() });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    expect(r.stdout).not.toContain('PRIVATE');
    const exported = await readVerificationKeys([r.stdout]);
    expect(exported.map((k) => keyFingerprint(k))).toEqual([generatedFingerprint]);
    expect(exported[0]!.isPrivate()).toBe(false);
  });
});

describe('imgfactory sign / verify / policy', () => {
  let layout: string;
  let digest: string;
  beforeAll(async () => {
    layout = join(dir.path, 'layout');
    digest = (await writeSyntheticImage(layout, { ref: '12' })).digest;
  });

  it('sign: one signature per identity, in the layout and the lookaside store', async () => {
    const lookaside = join(dir.path, 'lookaside');
    const r = await runCli(
      ['sign', layout, '--key', secret, '--identity', `${REPO}:12`, '--identity', `${REPO}:bookworm`, '--lookaside-dir', lookaside, '--json'],
      { env: env({ IMGFACTORY_KEY_PASSPHRASE: PASSPHRASE }) },
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { manifestDigest: string; lookaside: string[] };
    expect(out.manifestDigest).toBe(digest);
    const sigDir = join(lookaside, `base/debian-minimal@sha256=${digest.slice(7)}`);
    expect(out.lookaside).toEqual([join(sigDir, 'signature-1'), join(sigDir, 'signature-2')]);
    expect(r.stdout + r.stderr).not.toContain(PASSPHRASE);
  });

  it('sign: a wrong passphrase is a one-line error, exit 2', async () => {
    const r = await runCli(['sign', layout, '--key', secret, '--identity', `${REPO}:12`], { env: env({ IMGFACTORY_KEY_PASSPHRASE: 'Wr0ng-p4ss-xyz' }) });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toContain('Wr0ng-p4ss-xyz');
  });

  it('verify: exit 0; exit 1 with a one-line reason; --json says why', async () => {
    const ok = await runCli(['verify', layout, '--key', pub, '--identity', `${REPO}:12`, '--signature-only'], { env: env() });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`verified ${digest}`);
    const wrongTag = await runCli(['verify', layout, '--key', pub, '--identity', `${REPO}:13`, '--signature-only'], { env: env() });
    expect(wrongTag.status).toBe(1);
    expect(wrongTag.stderr.trim().split('\n')).toHaveLength(1);
    const json = await runCli(['verify', layout, '--key', pub, '--json'], { env: env() });
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ verified: false, code: 'PROVENANCE_MISSING' });
  });

  it('verify: the whole chain once attested', async () => {
    const { packageManifest, subject, ...rest } = PROVENANCE_INPUT;
    const opened = await Layout.open(layout);
    await attestLayout({
      layout: opened,
      image: opened.resolve(),
      key: await readSigningKey(await readFile(secret, 'utf8'), PASSPHRASE),
      packageManifest,
      provenanceInput: { ...rest, subject: { name: subject.name } },
    });
    const r = await runCli(['verify', layout, '--key', pub, '--identity', `${REPO}:bookworm`, '--json'], { env: env() });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verified: true, manifestDigest: digest, sbom: { format: 'spdx' } });
  });

  it('verify: neither a layout directory nor an image reference is a usage error', async () => {
    const r = await runCli(['verify', 'Not An Image!', '--key', pub], { cwd: dir.path, env: env() });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('policy: files for podman/skopeo; a directory lookaside becomes a file:// URL', async () => {
    const out = join(dir.path, 'etc-containers');
    const r = await runCli(['policy', '--key', pub, '--registry', '127.0.0.1:5000', '--lookaside', 'sigs', '--out', out, '--json'], {
      cwd: dir.path,
      env: env(),
    });
    expect(r.status, r.stderr).toBe(0);
    const written = JSON.parse(r.stdout) as { policy: string; registriesD: string; keyring: string };
    expect(JSON.parse(await readFile(written.policy, 'utf8')).default).toEqual([{ type: 'reject' }]);
    expect(await readFile(written.registriesD, 'utf8')).toContain(`lookaside: "file://${join(dir.path, 'sigs')}"`);
    // The keyring podman reads holds exactly the trusted keys: not empty, nothing else.
    const keyring = await readVerificationKeys([new Uint8Array(await readFile(written.keyring))]);
    expect(keyring.map((k) => keyFingerprint(k))).toEqual([generatedFingerprint]);
    expect(keyring.every((k) => !k.isPrivate())).toBe(true);
    const missing = await runCli(['policy', '--key', pub, '--out', out], { env: env() });
    expect(missing.status).toBe(2);
  });

  it('policy: several --key flags give one keyring with each of their fingerprints', async () => {
    const out = join(dir.path, 'etc-containers-two');
    const rsaPub = join(keysDir, 'rsa.pub.asc');
    const r = await runCli(['policy', '--key', pub, '--key', rsaPub, '--registry', '127.0.0.1:5000', '--lookaside', 'sigs', '--out', out, '--json'], {
      cwd: dir.path,
      env: env(),
    });
    expect(r.status, r.stderr).toBe(0);
    const written = JSON.parse(r.stdout) as { keyring: string; fingerprints: string[] };
    expect(written.fingerprints).toEqual([generatedFingerprint, rsaFingerprint]);
    const keyring = await readVerificationKeys([new Uint8Array(await readFile(written.keyring))]);
    expect(keyring.map((k) => keyFingerprint(k)).sort()).toEqual([generatedFingerprint, rsaFingerprint].sort());
  });
});
