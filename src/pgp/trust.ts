/**
 * Deciding what one OpenPGP signature result means against a list of trusted keys, keeping
 * "made by a key we do not trust" apart from "broken". openpgp.js reports a missing key and a
 * bad signature the same way (a rejected promise), so the issuer is looked up first.
 */
import type * as openpgp from 'openpgp';
import { keyFingerprint, type VerificationKey } from './keys.js';

/** One entry of `openpgp.verify(...).signatures` (the type is not exported by openpgp.js). */
export type VerificationResult = Awaited<ReturnType<typeof openpgp.verify>>['signatures'][number];

export type SignatureVerdict =
  | { readonly kind: 'valid'; readonly fingerprint: string }
  | { readonly kind: 'untrusted'; readonly reason: string }
  | { readonly kind: 'invalid'; readonly reason: string };

export interface TrustOptions {
  /** Accept only signatures by a primary key (containers/image simple signing). */
  readonly primaryOnly: boolean;
}

export async function judgeSignature(result: VerificationResult, keys: readonly VerificationKey[], options: TrustOptions): Promise<SignatureVerdict> {
  const issuer = result.keyID;
  const owner = keys.find((k) => k.getKeys(issuer).length > 0);
  if (!owner) return { kind: 'untrusted', reason: `signed by key ID ${issuer.toHex().toUpperCase()}, which is not trusted` };
  const fingerprint = keyFingerprint(owner);
  if (options.primaryOnly && !owner.getKeyID().equals(issuer)) {
    return {
      kind: 'untrusted',
      reason: `signed by subkey ${issuer.toHex().toUpperCase()} of ${fingerprint}; only primary-key signatures are accepted`,
    };
  }
  try {
    await result.verified;
  } catch (e) {
    return { kind: 'invalid', reason: `signature by ${fingerprint} does not verify (${(e as Error).message})` };
  }
  return { kind: 'valid', fingerprint };
}
