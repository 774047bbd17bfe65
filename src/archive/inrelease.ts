/**
 * InRelease verification: the trust anchor of everything fetched from the archive. Pure: bytes
 * and pinned keys in, a verified Release out (or a typed error); it fetches nothing.
 *
 * openpgp.js accepts a message when any one signature verifies, so every signature is judged
 * here: at least one must verify with a pinned, currently usable key; a signature by a pinned
 * key that fails to verify rejects the file, as gpgv's BADSIG makes apt do (changed text:
 * INRELEASE_BAD_SIGNATURE; a damaged signature value: INRELEASE_SIGNATURE_CORRUPT); signatures
 * by keys we do not pin (the security archive still adds the previous release's key) and by
 * pinned keys that are revoked or expired are recorded and never counted as trust.
 */
import * as openpgp from 'openpgp';
import { ArchiveError } from '../errors.js';
import { findPinnedKey, type PinnedKey } from './pinned-keys.js';
import { parseRelease, type Release } from './release.js';
import { sha256Hex } from '../oci/digest.js';

export interface InReleaseSigner {
  /** Fingerprint of the pinned primary key. */
  readonly fingerprint: string;
  readonly userId: string;
  /** Key ID of the (sub)key that made the signature, upper-case hex. */
  readonly signingKeyId: string;
  /** Signature creation time, ISO 8601. */
  readonly signedAt: string;
}

export interface IgnoredSignature {
  readonly keyId: string;
  /** `unknown-key`: not in keys/. `key-unusable`: pinned, but revoked, expired or not a signing key now. */
  readonly reason: 'unknown-key' | 'key-unusable';
}

export interface VerifiedRelease extends Release {
  /** sha256 hex of the InRelease bytes as given. */
  readonly sha256: string;
  /** The signed Release text (dash-escaping removed). */
  readonly signedText: string;
  readonly signers: readonly InReleaseSigner[];
  readonly ignoredSignatures: readonly IgnoredSignature[];
}

export interface VerifyInReleaseOptions {
  /** The suite asked for: must equal the Release `Codename` or `Suite`. */
  readonly suite: string;
  /** The current time, injected. */
  readonly now: Date;
  /** Labels error messages (the URL or file name); defaults to `dists/<suite>/InRelease`. */
  readonly name?: string;
  /**
   * How far in the future a `Date` or signature may be before it is refused: host clocks drift
   * by seconds to minutes, a replayed or forged future release by far more.
   */
  readonly maxClockSkewMs?: number;
}

export const DEFAULT_MAX_CLOCK_SKEW_MS = 10 * 60_000;

/**
 * openpgp.js's verdict when the digest prefix matched but the signature value did not verify
 * (openpgp 6). Any other failure by a pinned key is reported as INRELEASE_BAD_SIGNATURE, so a
 * reworded message only changes which of the two refusals is given.
 */
const SIGNATURE_VALUE_FAILED = /^Signature verification failed/;

export async function verifyInRelease(bytes: Uint8Array, keys: readonly PinnedKey[], options: VerifyInReleaseOptions): Promise<VerifiedRelease> {
  const name = options.name ?? `dists/${options.suite}/InRelease`;
  const details = { file: name, suite: options.suite };
  if (keys.length === 0) throw new ArchiveError('KEYRING_INVALID', `${name}: no pinned keys to verify with`, { details });
  const latestAcceptable = new Date(options.now.getTime() + (options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS));

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new ArchiveError('INRELEASE_MALFORMED', `${name}: not UTF-8 text`, { cause, details });
  }
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: text });
  } catch (cause) {
    throw new ArchiveError('INRELEASE_MALFORMED', `${name}: not an OpenPGP clear-signed message (${firstLine(cause)})`, {
      cause,
      details,
    });
  }
  let result: Awaited<ReturnType<typeof openpgp.verify>>;
  try {
    result = await openpgp.verify({ message, verificationKeys: keys.map((k) => k.key), date: latestAcceptable, expectSigned: false });
  } catch (cause) {
    throw new ArchiveError('INRELEASE_MALFORMED', `${name}: unreadable signature (${firstLine(cause)})`, { cause, details });
  }

  const signers: InReleaseSigner[] = [];
  const ignored: IgnoredSignature[] = [];
  const bad: { keyId: string; why: string; future: boolean; corrupt: boolean }[] = [];
  for (const sig of result.signatures) {
    const keyId = sig.keyID.toHex().toUpperCase();
    const pinned = findPinnedKey(keys, sig.keyID);
    if (!pinned) {
      ignored.push({ keyId, reason: 'unknown-key' });
      continue;
    }
    if (!(await usableNow(pinned, sig.keyID, options.now))) {
      ignored.push({ keyId, reason: 'key-unusable' });
      continue;
    }
    const created = await signatureCreated(sig);
    try {
      await sig.verified;
    } catch (cause) {
      const why = firstLine(cause);
      bad.push({ keyId, why, future: created !== undefined && created > latestAcceptable, corrupt: SIGNATURE_VALUE_FAILED.test(why) });
      continue;
    }
    signers.push({
      fingerprint: pinned.fingerprint,
      userId: pinned.userId,
      signingKeyId: keyId,
      signedAt: (created ?? options.now).toISOString(),
    });
  }

  const future = bad.find((b) => b.future);
  if (future) {
    throw new ArchiveError('RELEASE_DATE_IN_FUTURE', `${name}: signature by ${future.keyId} was made after ${options.now.toISOString()}`, {
      details: { ...details, keyId: future.keyId },
    });
  }
  // The signature packet stores the first two bytes of the digest it signs. If they still match,
  // the signed text is what the key signed and the signature value itself is damaged; if they
  // do not, the text was changed (or the signature's hashed part was).
  const changed = bad.find((b) => !b.corrupt);
  if (changed) {
    throw new ArchiveError('INRELEASE_BAD_SIGNATURE', `${name}: signature by pinned key ${changed.keyId} does not verify (${changed.why})`, {
      details: { ...details, keyId: changed.keyId, reason: changed.why },
    });
  }
  const corrupt = bad[0];
  if (corrupt) {
    throw new ArchiveError('INRELEASE_SIGNATURE_CORRUPT', `${name}: signature by pinned key ${corrupt.keyId} is damaged (${corrupt.why})`, {
      details: { ...details, keyId: corrupt.keyId, reason: corrupt.why },
    });
  }
  if (signers.length === 0) {
    if (ignored.length === 0) {
      throw new ArchiveError('INRELEASE_NO_TRUSTED_SIGNATURE', `${name}: carries no signature`, { details });
    }
    const ids = ignored.map((i) => `${i.keyId} (${i.reason === 'unknown-key' ? 'not pinned' : 'revoked or expired'})`).join(', ');
    throw new ArchiveError('INRELEASE_UNTRUSTED_KEY', `${name}: signed only by keys that are not trusted: ${ids}`, {
      details: { ...details, keyIds: ignored.map((i) => i.keyId) },
    });
  }

  const signedText = message.getText();
  const release = parseRelease(signedText, name);
  if (release.codename !== options.suite && release.suite !== options.suite) {
    throw new ArchiveError('RELEASE_SUITE_MISMATCH', `${name}: is for ${release.codename ?? '?'} (${release.suite ?? '?'}), not ${options.suite}`, {
      details: { ...details, codename: release.codename, releaseSuite: release.suite },
    });
  }
  if (release.date > latestAcceptable) {
    throw new ArchiveError('RELEASE_DATE_IN_FUTURE', `${name}: Date ${release.date.toISOString()} is in the future`, {
      details: { ...details, date: release.date.toISOString() },
    });
  }
  if (release.validUntil && release.validUntil <= options.now) {
    throw new ArchiveError('RELEASE_EXPIRED', `${name}: expired at ${release.validUntil.toISOString()} (Valid-Until)`, {
      details: { ...details, validUntil: release.validUntil.toISOString() },
    });
  }
  return {
    ...release,
    sha256: sha256Hex(bytes),
    signedText,
    signers,
    ignoredSignatures: ignored,
  };
}

/** A revoked or expired key's signatures are never trust, whenever they were made. */
async function usableNow(pinned: PinnedKey, keyID: openpgp.KeyID, now: Date): Promise<boolean> {
  try {
    await pinned.key.getSigningKey(keyID, now);
    return true;
  } catch {
    return false;
  }
}

type SignatureResult = Awaited<ReturnType<typeof openpgp.verify>>['signatures'][number];

async function signatureCreated(sig: SignatureResult): Promise<Date | undefined> {
  try {
    const packet = (await sig.signature).packets[0];
    return packet?.created ?? undefined;
  } catch {
    return undefined;
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}
