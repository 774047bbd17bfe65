/**
 * A binary detached OpenPGP signature by the primary key, the form systemd-importd checks
 * (`gpg --verify SHA256SUMS.gpg SHA256SUMS` against its import keyring) and `gpgv` reads.
 */
import * as openpgp from 'openpgp';
import { SignError } from '../errors.js';
import type { SigningKey } from '../pgp/keys.js';

export async function signDetached(data: Uint8Array, key: SigningKey): Promise<Uint8Array> {
  try {
    return await openpgp.sign({
      message: await openpgp.createMessage({ binary: data }),
      signingKeys: key.privateKey,
      signingKeyIDs: [key.privateKey.getKeyID()],
      detached: true,
      format: 'binary',
    });
  } catch (cause) {
    throw new SignError('SIGN_FAILED', `signing with ${key.fingerprint} failed (${(cause as Error).message})`, { cause });
  }
}
