/**
 * The Debian archive keys imgfactory trusts: the ones committed under keys/debian/, never the
 * host's keyring. Pure: armored texts in, parsed keys out.
 */
import * as openpgp from 'openpgp';
import { ArchiveError } from '../errors.js';

export interface PinnedKey {
  /** Where the key came from (a file name), for messages. */
  readonly source: string;
  /** Primary key fingerprint, upper-case hex. */
  readonly fingerprint: string;
  /** Primary user ID, e.g. `Debian Archive Automatic Signing Key (12/bookworm) <ftpmaster@debian.org>`. */
  readonly userId: string;
  readonly key: openpgp.PublicKey;
}

export interface ArmoredKeyText {
  readonly source: string;
  readonly text: string;
}

/**
 * Parses armored public keys (one or more per text). A private key, an unreadable block, a
 * text with no key, or the same fingerprint twice is a KEYRING_INVALID error naming its source.
 */
export async function parsePinnedKeys(armoredTexts: readonly (ArmoredKeyText | string)[]): Promise<PinnedKey[]> {
  const out: PinnedKey[] = [];
  const seen = new Set<string>();
  for (const [i, entry] of armoredTexts.entries()) {
    const { source, text } = typeof entry === 'string' ? { source: `key #${i + 1}`, text: entry } : entry;
    let keys: openpgp.Key[];
    try {
      keys = await openpgp.readKeys({ armoredKeys: text });
    } catch (cause) {
      throw new ArchiveError('KEYRING_INVALID', `${source}: not an armored OpenPGP public key (${firstLine(cause)})`, {
        cause,
        details: { source },
      });
    }
    if (keys.length === 0) throw new ArchiveError('KEYRING_INVALID', `${source}: contains no key`, { details: { source } });
    for (const key of keys) {
      if (key.isPrivate()) {
        throw new ArchiveError('KEYRING_INVALID', `${source}: holds a private key; pin public keys only`, { details: { source } });
      }
      const fingerprint = key.getFingerprint().toUpperCase();
      if (seen.has(fingerprint)) {
        throw new ArchiveError('KEYRING_INVALID', `${source}: key ${fingerprint} is pinned twice`, { details: { source, fingerprint } });
      }
      seen.add(fingerprint);
      out.push({ source, fingerprint, userId: primaryUserId(key), key });
    }
  }
  return out;
}

/** The pinned key holding the (sub)key that made a signature, if any. */
export function findPinnedKey(keys: readonly PinnedKey[], keyID: openpgp.KeyID): PinnedKey | undefined {
  return keys.find((k) => k.key.getKeys(keyID).length > 0);
}

/** Binary transferable public keys, concatenated: the keyring format gpgv and apt's Signed-By read. */
export function bootstrapKeyringBytes(keys: readonly PinnedKey[]): Uint8Array {
  if (keys.length === 0) throw new ArchiveError('KEYRING_INVALID', 'no pinned keys to write into a keyring');
  const parts = keys.map((k) => k.key.write());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Debian's archive keys carry one user ID each; the first is the one to name. */
function primaryUserId(key: openpgp.Key): string {
  return key.getUserIDs()[0] ?? '(no user ID)';
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}
