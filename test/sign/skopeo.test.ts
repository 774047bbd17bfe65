/**
 * Debian's skopeo (containers/image + gpgme) is the judge: it must accept our signatures and
 * refuse exactly what `verifyImageSignature` refuses.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { readVerificationKeys, type VerificationKey } from '../../src/pgp/keys.js';
import { buildSignaturePayload } from '../../src/sign/payload.js';
import { signPayload, verifyImageSignature } from '../../src/sign/simple-signing.js';
import { gpgHomeWith, skopeoStandaloneVerify, type GpgHome } from './helpers/gpg.js';
import { testKey, type TestKey } from './helpers/keys.js';
import { tempDir, writeSyntheticImage, type SyntheticImage } from './helpers/synthetic-image.js';

const IDENTITY = '127.0.0.1:5000/base/debian-minimal:12';

describe.each(['ed25519', 'rsa'] as const)('skopeo standalone-verify and verifyImageSignature, %s key', (type) => {
  let key: TestKey;
  let other: TestKey;
  let gpg: GpgHome;
  let dir: { path: string; cleanup: () => Promise<void> };
  let image: SyntheticImage;
  let manifestFile: string;
  let trusted: VerificationKey[];

  beforeAll(async () => {
    key = await testKey(type);
    other = await testKey(type, 'another signer');
    // Both keys are known to gpg; only `key` is expected, as a policy keyring would say.
    gpg = await gpgHomeWith([key.publicKeyArmored, other.publicKeyArmored]);
    dir = await tempDir('skopeo');
    image = await writeSyntheticImage(join(dir.path, 'layout'));
    manifestFile = join(dir.path, 'manifest.json');
    await writeFile(manifestFile, image.manifestBytes);
    trusted = await readVerificationKeys([key.publicKeyArmored]);
  });
  afterAll(async () => {
    await gpg?.cleanup();
    await dir?.cleanup();
  });

  async function signatureFile(name: string, over: { manifestDigest?: string; identity?: string; signer?: TestKey } = {}) {
    const payload = buildSignaturePayload({
      manifestDigest: over.manifestDigest ?? image.digest,
      identity: over.identity ?? IDENTITY,
      creator: 'imgfactory test',
      timestamp: Math.floor(Date.now() / 1000),
    });
    const sig = await signPayload(payload, (over.signer ?? key).signing);
    const file = join(dir.path, name);
    await writeFile(file, sig);
    return { file, sig };
  }

  it('accepts our signature ("Signature verified")', async () => {
    const { file, sig } = await signatureFile('good');
    const r = await skopeoStandaloneVerify(gpg, { manifest: manifestFile, reference: IDENTITY, fingerprint: key.fingerprint, signature: file });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`Signature verified, digest ${image.digest}`);
    await expect(verifyImageSignature(sig, trusted, { manifestDigest: image.digest, identity: IDENTITY })).resolves.toMatchObject({
      signerFingerprint: key.fingerprint,
    });
  });

  it('both refuse a signature from another key', async () => {
    const { file, sig } = await signatureFile('other-key', { signer: other });
    const r = await skopeoStandaloneVerify(gpg, { manifest: manifestFile, reference: IDENTITY, fingerprint: key.fingerprint, signature: file });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('does not match expected fingerprint');
    await expect(verifyImageSignature(sig, trusted, { manifestDigest: image.digest, identity: IDENTITY })).rejects.toMatchObject({
      code: 'SIGNATURE_UNTRUSTED_KEY',
    });
  });

  it('both refuse a signature for another digest', async () => {
    const { file, sig } = await signatureFile('other-digest', { manifestDigest: sha256Digest('some other manifest') });
    const r = await skopeoStandaloneVerify(gpg, { manifest: manifestFile, reference: IDENTITY, fingerprint: key.fingerprint, signature: file });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Signature for docker digest .* does not match/);
    await expect(verifyImageSignature(sig, trusted, { manifestDigest: image.digest, identity: IDENTITY })).rejects.toMatchObject({
      code: 'SIGNATURE_DIGEST_MISMATCH',
    });
  });

  it('both refuse a changed manifest (one byte)', async () => {
    const { file, sig } = await signatureFile('for-changed');
    const changed = Buffer.from(await readFile(manifestFile));
    const at = changed.indexOf('"schemaVersion":2') + '"schemaVersion":'.length;
    changed[at] = '3'.charCodeAt(0);
    const changedFile = join(dir.path, 'manifest-changed.json');
    await writeFile(changedFile, changed);
    const r = await skopeoStandaloneVerify(gpg, { manifest: changedFile, reference: IDENTITY, fingerprint: key.fingerprint, signature: file });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/Signature for docker digest .* does not match/);
    await expect(verifyImageSignature(sig, trusted, { manifestDigest: sha256Digest(changed), identity: IDENTITY })).rejects.toMatchObject({
      code: 'SIGNATURE_DIGEST_MISMATCH',
    });
  });

  it('both refuse a signature with another identity', async () => {
    const { file, sig } = await signatureFile('other-identity', { identity: '127.0.0.1:5000/base/debian-minimal:13' });
    const r = await skopeoStandaloneVerify(gpg, { manifest: manifestFile, reference: IDENTITY, fingerprint: key.fingerprint, signature: file });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`Docker reference 127.0.0.1:5000/base/debian-minimal:13 does not match ${IDENTITY}`);
    await expect(verifyImageSignature(sig, trusted, { manifestDigest: image.digest, identity: IDENTITY })).rejects.toMatchObject({
      code: 'SIGNATURE_IDENTITY_MISMATCH',
    });
  });
});

describe('a signature made by a signing subkey (what gpg does by default)', () => {
  let gpg: GpgHome;
  let dir: { path: string; cleanup: () => Promise<void> };
  afterAll(async () => {
    await gpg?.cleanup();
    await dir?.cleanup();
  });

  it('is refused by skopeo and by verifyImageSignature (SIGNATURE_UNTRUSTED_KEY)', async () => {
    gpg = await gpgHomeWith([]);
    dir = await tempDir('subkey');
    const uid = 'Subkey Signer <subkey@imgfactory.invalid>';
    await run(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'cert', 'never'], { env: gpg.env });
    const listed = await run(['gpg', '--batch', '--with-colons', '--list-keys', uid], { env: gpg.env });
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(listed.stdout)![1]!;
    await run(['gpg', '--batch', '--passphrase', '', '--quick-add-key', fpr, 'ed25519', 'sign', 'never'], { env: gpg.env });
    const image = await writeSyntheticImage(join(dir.path, 'layout'));
    const manifestFile = join(dir.path, 'manifest.json');
    await writeFile(manifestFile, image.manifestBytes);
    const payloadFile = join(dir.path, 'payload.json');
    await writeFile(payloadFile, buildSignaturePayload({ manifestDigest: image.digest, identity: IDENTITY, creator: 'gpg', timestamp: 1700000000 }));
    const sigFile = join(dir.path, 'signature-1');
    await run(['gpg', '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--local-user', fpr, '--output', sigFile, '--sign', payloadFile], {
      env: gpg.env,
    });
    const r = await skopeoStandaloneVerify(gpg, { manifest: manifestFile, reference: IDENTITY, fingerprint: fpr, signature: sigFile });
    expect(r.exitCode).toBe(1);
    // gpgme reports the subkey's fingerprint, which is not the trusted (primary) one.
    expect(r.stderr).toContain(`does not match expected fingerprint ${fpr}`);
    const publicKey = (await run(['gpg', '--batch', '--armor', '--export', fpr], { env: gpg.env })).stdout;
    const trusted = await readVerificationKeys([publicKey]);
    await expect(
      verifyImageSignature(new Uint8Array(await readFile(sigFile)), trusted, { manifestDigest: image.digest, identity: IDENTITY }),
    ).rejects.toMatchObject({ code: 'SIGNATURE_UNTRUSTED_KEY' });
  });
});
