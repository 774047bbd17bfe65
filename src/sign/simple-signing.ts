/**
 * containers/image "simple signing": the payload wrapped in a binary OpenPGP signed message
 * (one-pass signature, literal data, signature) made by the primary key. The verifier takes
 * the signature bytes and trusted keys and returns the payload or throws; it fetches nothing.
 */
import * as openpgp from 'openpgp';
import { SignError, VerifyError } from '../errors.js';
import { matchesRepoDigestOrExact } from '../oci/reference.js';
import type { SigningKey, VerificationKey } from '../pgp/keys.js';
import { parseSignaturePayload, type SignaturePayload } from './payload.js';
import { judgeSignature, type VerificationResult } from '../pgp/trust.js';

export async function signPayload(payload: Uint8Array, key: SigningKey, date?: Date): Promise<Uint8Array> {
  try {
    const message = await openpgp.createMessage({ binary: payload, format: 'binary', ...(date ? { date } : {}) });
    return await openpgp.sign({
      message,
      signingKeys: key.privateKey,
      signingKeyIDs: [key.privateKey.getKeyID()],
      format: 'binary',
      ...(date ? { date } : {}),
    });
  } catch (cause) {
    throw new SignError('SIGN_FAILED', `signing with ${key.fingerprint} failed (${(cause as Error).message})`, { cause });
  }
}

export interface ExpectedSignature {
  readonly manifestDigest: string;
  /** The docker reference being pulled; omit to accept any identity the signature names. */
  readonly identity?: string;
}

export interface VerifiedImageSignature {
  readonly payload: SignaturePayload;
  readonly signerFingerprint: string;
}

export async function verifyImageSignature(
  signature: Uint8Array,
  keys: readonly VerificationKey[],
  expected: ExpectedSignature,
): Promise<VerifiedImageSignature> {
  let data: Uint8Array;
  let results: VerificationResult[];
  try {
    const message = await openpgp.readMessage({ binaryMessage: signature });
    const verified = await openpgp.verify({ message, verificationKeys: [...keys], format: 'binary' });
    data = verified.data;
    results = verified.signatures;
  } catch (cause) {
    throw new VerifyError('SIGNATURE_INVALID', `not an OpenPGP signed message (${(cause as Error).message})`, { cause });
  }
  // containers/image (gpgme) refuses anything but exactly one signature.
  if (results.length !== 1) {
    throw new VerifyError('SIGNATURE_INVALID', `expected exactly one OpenPGP signature, found ${results.length}`);
  }
  const verdict = await judgeSignature(results[0]!, keys, { primaryOnly: true });
  if (verdict.kind === 'untrusted') throw new VerifyError('SIGNATURE_UNTRUSTED_KEY', verdict.reason);
  if (verdict.kind === 'invalid') throw new VerifyError('SIGNATURE_INVALID', verdict.reason);
  const payload = parseSignaturePayload(data);
  if (payload.manifestDigest !== expected.manifestDigest) {
    throw new VerifyError('SIGNATURE_DIGEST_MISMATCH', `signature is for manifest ${payload.manifestDigest}, not ${expected.manifestDigest}`, {
      details: { signed: payload.manifestDigest, expected: expected.manifestDigest },
    });
  }
  if (expected.identity !== undefined && !matchesRepoDigestOrExact(expected.identity, payload.identity)) {
    throw new VerifyError('SIGNATURE_IDENTITY_MISMATCH', `signature is for ${payload.identity}, not ${expected.identity}`, {
      details: { signed: payload.identity, expected: expected.identity },
    });
  }
  return { payload, signerFingerprint: verdict.fingerprint };
}
