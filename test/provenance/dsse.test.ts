import { beforeAll, describe, expect, it } from 'vitest';
import { readVerificationKeys, type VerificationKey } from '../../src/pgp/keys.js';
import { parseDsseEnvelope, preAuthEncoding, signDsse, verifyDsse } from '../../src/provenance/dsse.js';
import { testKey, type TestKey } from '../sign/helpers/keys.js';

const TYPE = 'application/vnd.in-toto+json';
const body = new TextEncoder().encode('{"_type":"https://in-toto.io/Statement/v1"}');

describe('DSSE pre-authentication encoding', () => {
  it('is "DSSEv1 <len> <type> <len> <body>" in bytes (spec example)', () => {
    expect(Buffer.from(preAuthEncoding('http://example.com/HelloWorld', new TextEncoder().encode('hello world'))).toString()).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
    expect(preAuthEncoding('t', new Uint8Array([0xc3, 0xa9])).byteLength).toBe('DSSEv1 1 t 2 '.length + 2);
  });
});

describe('DSSE envelopes signed with OpenPGP', () => {
  let key: TestKey;
  let other: TestKey;
  let trusted: VerificationKey[];
  beforeAll(async () => {
    key = await testKey('ed25519');
    other = await testKey('rsa', 'other');
    trusted = await readVerificationKeys([key.publicKeyArmored]);
  });

  it('signs over the PAE; keyid is the fingerprint; verifies', async () => {
    const env = await signDsse(TYPE, body, key.signing);
    expect(env.payloadType).toBe(TYPE);
    expect(Buffer.from(env.payload, 'base64')).toEqual(Buffer.from(body));
    expect(env.signatures).toEqual([{ keyid: key.fingerprint, sig: expect.any(String) }]);
    const v = await verifyDsse(JSON.parse(JSON.stringify(env)), trusted);
    expect(v).toEqual({ payloadType: TYPE, payload: new Uint8Array(body), signerFingerprint: key.fingerprint });
    await expect(verifyDsse(new TextEncoder().encode(JSON.stringify(env)), trusted)).resolves.toMatchObject({ payloadType: TYPE });
  });

  it('the signature covers the type too: another payloadType fails', async () => {
    const env = await signDsse(TYPE, body, key.signing);
    await expect(verifyDsse({ ...env, payloadType: 'text/plain' }, trusted)).rejects.toMatchObject({ code: 'DSSE_SIGNATURE_INVALID' });
  });

  it('a flipped byte anywhere in the envelope is DSSE_SIGNATURE_INVALID', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify(await signDsse(TYPE, body, key.signing)));
    const payloadAt = Buffer.from(bytes).indexOf('"payload":"') + '"payload":"'.length + 4;
    const sigAt = Buffer.from(bytes).indexOf('"sig":"') + '"sig":"'.length + 60;
    for (const at of [payloadAt, sigAt, 1]) {
      const tampered = new Uint8Array(bytes);
      tampered[at] = tampered[at]! ^ 0x01;
      await expect(verifyDsse(tampered, trusted)).rejects.toMatchObject({ code: 'DSSE_SIGNATURE_INVALID' });
    }
  });

  it('a good envelope by another key is DSSE_UNTRUSTED_KEY', async () => {
    const env = await signDsse(TYPE, body, other.signing);
    await expect(verifyDsse(env, trusted)).rejects.toMatchObject({ code: 'DSSE_UNTRUSTED_KEY' });
  });

  it('one trusted signature among several is enough', async () => {
    const a = await signDsse(TYPE, body, other.signing);
    const b = await signDsse(TYPE, body, key.signing);
    await expect(verifyDsse({ ...a, signatures: [...a.signatures, ...b.signatures] }, trusted)).resolves.toMatchObject({
      signerFingerprint: key.fingerprint,
    });
  });

  it('malformed envelopes are refused', () => {
    expect(() => parseDsseEnvelope({ payloadType: TYPE, payload: 'e30=', signatures: [] })).toThrow(
      expect.objectContaining({ code: 'DSSE_SIGNATURE_INVALID' }),
    );
    expect(() => parseDsseEnvelope(new TextEncoder().encode('{'))).toThrow(expect.objectContaining({ code: 'DSSE_SIGNATURE_INVALID' }));
  });
});
