import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Digest } from '../../src/oci/digest.js';
import { readVerificationKeys, type VerificationKey } from '../../src/pgp/keys.js';
import { buildSignaturePayload } from '../../src/sign/payload.js';
import { signPayload, verifyImageSignature } from '../../src/sign/simple-signing.js';
import { gpgHomeWith, gpgSignaturePacketKeyIds } from './helpers/gpg.js';
import { testKey, type TestKey } from './helpers/keys.js';
import { tempDir } from './helpers/synthetic-image.js';

const DIGEST = sha256Digest('a manifest');
const OTHER_DIGEST = sha256Digest('another manifest');
const IDENTITY = '127.0.0.1:5000/base/debian-minimal:12';

function payload(over: Partial<{ manifestDigest: string; identity: string }> = {}): Uint8Array {
  return buildSignaturePayload({ manifestDigest: DIGEST, identity: IDENTITY, creator: 'imgfactory test', timestamp: 1700000000, ...over });
}

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out[at] = out[at]! ^ 0x01;
  return out;
}

describe.each(['ed25519', 'rsa'] as const)('simple signing with %s', (type) => {
  let key: TestKey;
  let other: TestKey;
  let trusted: VerificationKey[];
  beforeAll(async () => {
    key = await testKey(type);
    other = await testKey('ed25519', 'someone else');
    trusted = await readVerificationKeys([key.publicKeyArmored]);
  });

  it('signs and verifies: payload, signer fingerprint', async () => {
    const sig = await signPayload(payload(), key.signing);
    const v = await verifyImageSignature(sig, trusted, { manifestDigest: DIGEST, identity: IDENTITY });
    expect(v.signerFingerprint).toBe(key.fingerprint);
    expect(v.payload).toEqual({ manifestDigest: DIGEST, identity: IDENTITY, creator: 'imgfactory test', timestamp: 1700000000 });
  });

  it('is a binary signed message (one-pass signature, literal data, signature) issued by the primary key', async () => {
    const sig = await signPayload(payload(), key.signing);
    expect(sig[0]).not.toBe('-'.charCodeAt(0));
    const gpg = await gpgHomeWith([]);
    const dir = await tempDir('packets');
    try {
      const file = join(dir.path, 'signature-1');
      await writeFile(file, sig);
      const ids = await gpgSignaturePacketKeyIds(gpg, file);
      const primaryKeyId = key.signing.privateKey.getKeyID().toHex().toUpperCase();
      expect(primaryKeyId).toBe(key.fingerprint.slice(-16));
      expect(ids).toEqual({ onePass: [primaryKeyId], signature: [primaryKeyId] });
    } finally {
      await gpg.cleanup();
      await dir.cleanup();
    }
  });

  it('refuses a signature by another key: SIGNATURE_UNTRUSTED_KEY (not INVALID)', async () => {
    const sig = await signPayload(payload(), other.signing);
    await expect(verifyImageSignature(sig, trusted, { manifestDigest: DIGEST })).rejects.toMatchObject({
      code: 'SIGNATURE_UNTRUSTED_KEY',
    });
  });

  it('refuses a signature for another digest: SIGNATURE_DIGEST_MISMATCH', async () => {
    const sig = await signPayload(payload({ manifestDigest: OTHER_DIGEST }), key.signing);
    await expect(verifyImageSignature(sig, trusted, { manifestDigest: DIGEST, identity: IDENTITY })).rejects.toMatchObject({
      code: 'SIGNATURE_DIGEST_MISMATCH',
    });
  });

  it('refuses a signature with another identity: SIGNATURE_IDENTITY_MISMATCH', async () => {
    const sig = await signPayload(payload({ identity: '127.0.0.1:5000/base/debian-minimal:13' }), key.signing);
    await expect(verifyImageSignature(sig, trusted, { manifestDigest: DIGEST, identity: IDENTITY })).rejects.toMatchObject({
      code: 'SIGNATURE_IDENTITY_MISMATCH',
    });
    // Pulled by digest, only the repository has to match.
    const byDigest = `127.0.0.1:5000/base/debian-minimal@${DIGEST}`;
    await expect(verifyImageSignature(sig, trusted, { manifestDigest: DIGEST, identity: byDigest })).resolves.toBeDefined();
  });

  it('refuses a flipped byte in the signed payload or in the signature: SIGNATURE_INVALID', async () => {
    const p = payload();
    const sig = await signPayload(p, key.signing);
    const literalAt = Buffer.from(sig).indexOf(Buffer.from(p));
    expect(literalAt).toBeGreaterThan(0);
    await expect(verifyImageSignature(flip(sig, literalAt + p.byteLength - 5), trusted, { manifestDigest: DIGEST })).rejects.toMatchObject({
      code: 'SIGNATURE_INVALID',
    });
    await expect(verifyImageSignature(flip(sig, sig.byteLength - 3), trusted, { manifestDigest: DIGEST })).rejects.toMatchObject({
      code: 'SIGNATURE_INVALID',
    });
    await expect(verifyImageSignature(new TextEncoder().encode('garbage'), trusted, { manifestDigest: DIGEST })).rejects.toMatchObject({
      code: 'SIGNATURE_INVALID',
    });
  });

  it('refuses a well-signed payload that is not a simple-signing payload: SIGNATURE_PAYLOAD_INVALID', async () => {
    const sig = await signPayload(new TextEncoder().encode('{"critical":{}}'), key.signing);
    await expect(verifyImageSignature(sig, trusted, { manifestDigest: DIGEST })).rejects.toMatchObject({
      code: 'SIGNATURE_PAYLOAD_INVALID',
    });
  });
});
