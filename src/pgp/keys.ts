/**
 * OpenPGP keys for image signing. Generated keys have a primary key that certifies and signs
 * and no subkeys: released containers/image compares the signer's fingerprint with the primary
 * fingerprints in the consumer's keyring, so a signature by a subkey is refused. v4 keys only
 * (GnuPG 2.2 and gpgme in Debian bookworm read neither v6 keys nor the RFC 9580 Ed25519
 * algorithm), hence Ed25519 as the legacy EdDSA algorithm.
 */
import * as openpgp from 'openpgp';
import { SignError } from '../errors.js';

export type SigningKeyType = 'ed25519' | 'rsa';
export const RSA_KEY_BITS = [3072, 4096] as const;

export interface GenerateSigningKeyOptions {
  readonly name: string;
  readonly email: string;
  readonly type: SigningKeyType;
  /** 3072 (default) or 4096, for `rsa`. */
  readonly rsaBits?: number;
  /** Encrypts the private key when given and not empty. */
  readonly passphrase?: string;
  /** Key creation time (default now). */
  readonly date?: Date;
}

export interface GeneratedSigningKey {
  readonly publicKeyArmored: string;
  readonly privateKeyArmored: string;
  /** Primary key fingerprint, upper-case hex as gpg and skopeo print it. */
  readonly fingerprint: string;
}

/** A decrypted private key whose primary key is able to sign. */
export interface SigningKey {
  readonly privateKey: openpgp.PrivateKey;
  readonly fingerprint: string;
}

export type VerificationKey = openpgp.PublicKey;

/** Upper-case hex fingerprint of a key's primary key. */
export function keyFingerprint(key: openpgp.Key): string {
  return key.getFingerprint().toUpperCase();
}

export async function generateSigningKey(options: GenerateSigningKeyOptions): Promise<GeneratedSigningKey> {
  if (options.name.trim() === '' || options.email.trim() === '') {
    throw new SignError('KEY_INVALID', 'a signing key needs a name and an email');
  }
  const rsaBits = options.rsaBits ?? 3072;
  if (options.type === 'rsa' && !(RSA_KEY_BITS as readonly number[]).includes(rsaBits)) {
    throw new SignError('KEY_INVALID', `RSA keys must have ${RSA_KEY_BITS.join(' or ')} bits, not ${rsaBits}`);
  }
  const passphrase = options.passphrase === '' ? undefined : options.passphrase;
  const common = {
    userIDs: [{ name: options.name, email: options.email }],
    subkeys: [],
    format: 'armored' as const,
    config: { v6Keys: false },
    ...(passphrase === undefined ? {} : { passphrase }),
    ...(options.date === undefined ? {} : { date: options.date }),
  };
  const generated =
    options.type === 'rsa'
      ? await openpgp.generateKey({ ...common, type: 'rsa', rsaBits })
      : await openpgp.generateKey({ ...common, type: 'ecc', curve: 'curve25519Legacy' });
  const publicKey = await openpgp.readKey({ armoredKey: generated.publicKey });
  return {
    publicKeyArmored: generated.publicKey,
    privateKeyArmored: generated.privateKey,
    fingerprint: keyFingerprint(publicKey),
  };
}

function isArmored(bytes: Uint8Array): boolean {
  const head = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart();
  return head.startsWith('-----BEGIN PGP');
}

function asText(input: string | Uint8Array): string | Uint8Array {
  return typeof input === 'string' ? input : isArmored(input) ? new TextDecoder().decode(input) : input;
}

/** Read (and decrypt) a private key; its primary key must be able to sign. */
export async function readSigningKey(input: string | Uint8Array, passphrase?: string): Promise<SigningKey> {
  const data = asText(input);
  let key: openpgp.PrivateKey;
  try {
    key = typeof data === 'string' ? await openpgp.readPrivateKey({ armoredKey: data }) : await openpgp.readPrivateKey({ binaryKey: data });
  } catch (cause) {
    throw new SignError('KEY_INVALID', `not an OpenPGP private key (${(cause as Error).message})`, { cause });
  }
  if (!key.isDecrypted()) {
    if (passphrase === undefined || passphrase === '') {
      throw new SignError('KEY_PASSPHRASE_REQUIRED', `key ${keyFingerprint(key)} is protected by a passphrase`);
    }
    try {
      key = await openpgp.decryptKey({ privateKey: key, passphrase });
    } catch (cause) {
      throw new SignError('KEY_PASSPHRASE_WRONG', `wrong passphrase for key ${keyFingerprint(key)}`, { cause });
    }
  }
  try {
    await key.getSigningKey(key.getKeyID());
  } catch (cause) {
    throw new SignError(
      'KEY_NOT_PRIMARY_SIGNER',
      `the primary key of ${keyFingerprint(key)} cannot sign (containers/image accepts primary-key signatures only)`,
      { cause },
    );
  }
  return { privateKey: key, fingerprint: keyFingerprint(key) };
}

/** Public keys to verify with; each input may hold a keyring of several keys, armored or binary. */
export async function readVerificationKeys(inputs: readonly (string | Uint8Array)[]): Promise<VerificationKey[]> {
  const out = new Map<string, VerificationKey>();
  for (const [i, input] of inputs.entries()) {
    const data = asText(input);
    let keys: openpgp.Key[];
    try {
      keys = typeof data === 'string' ? await openpgp.readKeys({ armoredKeys: data }) : await openpgp.readKeys({ binaryKeys: data });
    } catch (cause) {
      throw new SignError('KEY_INVALID', `verification key #${i + 1} is not an OpenPGP key (${(cause as Error).message})`, {
        cause,
      });
    }
    for (const k of keys) out.set(keyFingerprint(k), k.toPublic());
  }
  if (out.size === 0) throw new SignError('KEY_INVALID', 'no verification keys given');
  return [...out.values()];
}

/** The public half of a key (public or private input), armored and binary. */
export async function exportPublicKey(input: string | Uint8Array): Promise<{ armored: string; binary: Uint8Array; fingerprint: string }> {
  const [key] = await readVerificationKeys([input]);
  if (!key) throw new SignError('KEY_INVALID', 'no key found');
  return { armored: key.armor(), binary: key.write(), fingerprint: keyFingerprint(key) };
}
