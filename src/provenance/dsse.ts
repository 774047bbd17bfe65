/**
 * DSSE envelopes (github.com/secure-systems-lab/dsse, protocol v1): the signature covers the
 * pre-authentication encoding "DSSEv1 <len(type)> <type> <len(body)> <body>", never the raw
 * payload, so a payload cannot be replayed under another type. Signatures are detached binary
 * OpenPGP signatures by the primary key; `keyid` is its fingerprint.
 */
import * as openpgp from 'openpgp';
import { SignError, VerifyError } from '../errors.js';
import type { SigningKey, VerificationKey } from '../pgp/keys.js';
import { judgeSignature, type VerificationResult } from '../pgp/trust.js';

export interface DsseSignature {
  readonly keyid: string;
  readonly sig: string;
}

export interface DsseEnvelope {
  readonly payloadType: string;
  /** Standard base64 of the payload bytes. */
  readonly payload: string;
  readonly signatures: readonly DsseSignature[];
}

export interface VerifiedDsse {
  readonly payloadType: string;
  readonly payload: Uint8Array;
  readonly signerFingerprint: string;
}

/** DSSE v1 pre-authentication encoding. Pure. */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = new TextEncoder().encode(payloadType);
  const head = new TextEncoder().encode(`DSSEv1 ${type.byteLength} `);
  const mid = new TextEncoder().encode(` ${payload.byteLength} `);
  const out = new Uint8Array(head.byteLength + type.byteLength + mid.byteLength + payload.byteLength);
  out.set(head, 0);
  out.set(type, head.byteLength);
  out.set(mid, head.byteLength + type.byteLength);
  out.set(payload, head.byteLength + type.byteLength + mid.byteLength);
  return out;
}

export async function signDsse(payloadType: string, payload: Uint8Array, key: SigningKey): Promise<DsseEnvelope> {
  let sig: Uint8Array;
  try {
    sig = await openpgp.sign({
      message: await openpgp.createMessage({ binary: preAuthEncoding(payloadType, payload) }),
      signingKeys: key.privateKey,
      signingKeyIDs: [key.privateKey.getKeyID()],
      detached: true,
      format: 'binary',
    });
  } catch (cause) {
    throw new SignError('SIGN_FAILED', `DSSE signing with ${key.fingerprint} failed (${(cause as Error).message})`, { cause });
  }
  return {
    payloadType,
    payload: Buffer.from(payload).toString('base64'),
    signatures: [{ keyid: key.fingerprint, sig: Buffer.from(sig).toString('base64') }],
  };
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]*={0,2}|[A-Za-z0-9_-]*={0,2})$/;

/** DSSE allows standard or URL-safe base64, padded or not; anything else is damage. */
function decodeBase64(s: string, what: string): Uint8Array {
  if (!BASE64_RE.test(s) || s.replace(/=+$/, '').length % 4 === 1) {
    throw new VerifyError('DSSE_SIGNATURE_INVALID', `DSSE envelope: ${what} is not base64`);
  }
  return new Uint8Array(Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

/** Parse an envelope from outside (JSON bytes or an already parsed value). */
export function parseDsseEnvelope(input: unknown): DsseEnvelope {
  const fail = (why: string): never => {
    throw new VerifyError('DSSE_SIGNATURE_INVALID', `DSSE envelope: ${why}`);
  };
  let value = input;
  if (input instanceof Uint8Array) {
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(input));
    } catch {
      return fail('not JSON');
    }
  }
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const { payloadType, payload, signatures } = value as Record<string, unknown>;
  if (typeof payloadType !== 'string') fail('payloadType is not a string');
  if (typeof payload !== 'string') fail('payload is not a string');
  if (!Array.isArray(signatures) || signatures.length === 0) fail('no signatures');
  const sigs = (signatures as unknown[]).map((s) => {
    if (typeof s !== 'object' || s === null) return fail('signature is not an object');
    const { keyid, sig } = s as Record<string, unknown>;
    if (typeof sig !== 'string') return fail('sig is not a string');
    if (keyid !== undefined && typeof keyid !== 'string') return fail('keyid is not a string');
    return { keyid: keyid ?? '', sig };
  });
  return { payloadType: payloadType as string, payload: payload as string, signatures: sigs };
}

/**
 * Accept the envelope when one of its signatures verifies with a trusted key. Broken
 * (DSSE_SIGNATURE_INVALID) is kept apart from well formed but by an unknown key (DSSE_UNTRUSTED_KEY).
 */
export async function verifyDsse(envelope: unknown, keys: readonly VerificationKey[]): Promise<VerifiedDsse> {
  const env = parseDsseEnvelope(envelope);
  const payload = decodeBase64(env.payload, 'payload');
  const pae = preAuthEncoding(env.payloadType, payload);
  const problems: { kind: 'untrusted' | 'invalid'; reason: string }[] = [];
  for (const s of env.signatures) {
    let results: VerificationResult[];
    try {
      const signature = await openpgp.readSignature({ binarySignature: decodeBase64(s.sig, 'sig') });
      const verified = await openpgp.verify({
        message: await openpgp.createMessage({ binary: pae }),
        signature,
        verificationKeys: [...keys],
        format: 'binary',
      });
      results = verified.signatures;
    } catch (cause) {
      if (cause instanceof VerifyError) throw cause;
      problems.push({ kind: 'invalid', reason: `unreadable OpenPGP signature (${(cause as Error).message})` });
      continue;
    }
    if (results.length !== 1) {
      problems.push({ kind: 'invalid', reason: `expected one OpenPGP signature per DSSE signature, found ${results.length}` });
      continue;
    }
    const verdict = await judgeSignature(results[0]!, keys, { primaryOnly: false });
    if (verdict.kind === 'valid') {
      return { payloadType: env.payloadType, payload, signerFingerprint: verdict.fingerprint };
    }
    problems.push(verdict);
  }
  const broken = problems.find((p) => p.kind === 'invalid');
  if (broken) throw new VerifyError('DSSE_SIGNATURE_INVALID', `DSSE envelope: ${broken.reason}`);
  throw new VerifyError('DSSE_UNTRUSTED_KEY', `DSSE envelope: ${problems[0]?.reason ?? 'no trusted signature'}`);
}
