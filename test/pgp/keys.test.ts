import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec.js';
import { exportPublicKey, generateSigningKey, readSigningKey, readVerificationKeys } from '../../src/pgp/keys.js';
import { gpgHomeWith, type GpgHome } from '../sign/helpers/gpg.js';

describe('generateSigningKey', () => {
  it('Ed25519: a v4 primary key that signs, no subkeys, legacy EdDSA (GnuPG 2.2 / gpgme)', async () => {
    const k = await generateSigningKey({ name: 'Images', email: 'images@imgfactory.invalid', type: 'ed25519' });
    expect(k.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    const key = await openpgp.readKey({ armoredKey: k.publicKeyArmored });
    expect(key.keyPacket.version).toBe(4);
    expect(key.getAlgorithmInfo().algorithm).toBe('eddsaLegacy');
    expect(key.subkeys).toHaveLength(0);
    const signer = await key.getSigningKey();
    expect(signer.getKeyID().equals(key.getKeyID())).toBe(true);
    expect(k.privateKeyArmored).toContain('PRIVATE KEY BLOCK');
  });

  it('RSA 3072; other sizes (2048) refused', async () => {
    const k = await generateSigningKey({ name: 'Images', email: 'images@imgfactory.invalid', type: 'rsa', rsaBits: 3072 });
    const key = await openpgp.readKey({ armoredKey: k.publicKeyArmored });
    expect(key.getAlgorithmInfo()).toMatchObject({ algorithm: 'rsaEncryptSign', bits: 3072 });
    expect(key.subkeys).toHaveLength(0);
    await expect(generateSigningKey({ name: 'a', email: 'a@b.invalid', type: 'rsa', rsaBits: 2048 })).rejects.toMatchObject({
      code: 'KEY_INVALID',
    });
  });

  it('a passphrase protects the private key; wrong or missing passphrase has its own code', async () => {
    const k = await generateSigningKey({ name: 'Images', email: 'i@imgfactory.invalid', type: 'ed25519', passphrase: 'correct horse' });
    expect(k.privateKeyArmored).not.toContain('correct horse');
    await expect(readSigningKey(k.privateKeyArmored)).rejects.toMatchObject({ code: 'KEY_PASSPHRASE_REQUIRED' });
    await expect(readSigningKey(k.privateKeyArmored, 'wrong')).rejects.toMatchObject({ code: 'KEY_PASSPHRASE_WRONG' });
    const key = await readSigningKey(k.privateKeyArmored, 'correct horse');
    expect(key.fingerprint).toBe(k.fingerprint);
  });
});

describe('reading keys', () => {
  it('a public key is not a signing key; garbage is KEY_INVALID', async () => {
    const k = await generateSigningKey({ name: 'a', email: 'a@imgfactory.invalid', type: 'ed25519' });
    await expect(readSigningKey(k.publicKeyArmored)).rejects.toMatchObject({ code: 'KEY_INVALID' });
    await expect(readVerificationKeys(['not a key'])).rejects.toMatchObject({ code: 'KEY_INVALID' });
    await expect(readVerificationKeys([])).rejects.toMatchObject({ code: 'KEY_INVALID' });
  });

  it('verification keys: armored, binary, keyrings of several keys, private keys reduced to public', async () => {
    const a = await generateSigningKey({ name: 'a', email: 'a@imgfactory.invalid', type: 'ed25519' });
    const b = await generateSigningKey({ name: 'b', email: 'b@imgfactory.invalid', type: 'ed25519' });
    const binA = (await exportPublicKey(a.publicKeyArmored)).binary;
    const binB = (await exportPublicKey(b.privateKeyArmored)).binary;
    const ring = new Uint8Array([...binA, ...binB]);
    const keys = await readVerificationKeys([ring, new TextEncoder().encode(a.publicKeyArmored)]);
    expect(keys.map((k) => k.getFingerprint().toUpperCase()).sort()).toEqual([a.fingerprint, b.fingerprint].sort());
    expect(keys.every((k) => !k.isPrivate())).toBe(true);
  });

  it('exportPublicKey never includes secret material', async () => {
    const k = await generateSigningKey({ name: 'a', email: 'a@imgfactory.invalid', type: 'ed25519' });
    const exported = await exportPublicKey(k.privateKeyArmored);
    expect(exported.armored).toContain('PUBLIC KEY BLOCK');
    expect(exported.fingerprint).toBe(k.fingerprint);
    const back = await openpgp.readKey({ binaryKey: exported.binary });
    expect(back.isPrivate()).toBe(false);
  });
});

describe('a GnuPG key whose primary key cannot sign (certify-only primary + signing subkey)', () => {
  let gpg: GpgHome;
  let secret: string;
  beforeAll(async () => {
    gpg = await gpgHomeWith([]);
    const uid = 'Subkey Signer <subkey@imgfactory.invalid>';
    await run(['gpg', '--batch', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'cert', 'never'], { env: gpg.env });
    const { stdout } = await run(['gpg', '--batch', '--with-colons', '--list-keys', uid], { env: gpg.env });
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(stdout)![1]!;
    await run(['gpg', '--batch', '--passphrase', '', '--quick-add-key', fpr, 'ed25519', 'sign', 'never'], { env: gpg.env });
    secret = (await run(['gpg', '--batch', '--armor', '--export-secret-keys', fpr], { env: gpg.env })).stdout;
  });
  afterAll(() => gpg.cleanup());

  it('is refused for signing: KEY_NOT_PRIMARY_SIGNER', async () => {
    await expect(readSigningKey(secret)).rejects.toMatchObject({ code: 'KEY_NOT_PRIMARY_SIGNER' });
  });
});
