/** Reading --key files at the CLI edge: the signing key (with its passphrase) and trusted public keys. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { readSigningKey, readVerificationKeys, type SigningKey, type VerificationKey } from '../../pgp/keys.js';
import type { CommandContext } from '../command.js';
import { readPassphrase } from './keys-generate.js';

async function readKeyFile(ctx: CommandContext, file: string): Promise<Uint8Array> {
  const bytes = await readFile(resolve(ctx.cwd, file)).catch((cause: unknown) => {
    throw new UsageError('BAD_OPTION', `--key ${file}: cannot read it`, { cause });
  });
  return new Uint8Array(bytes);
}

/** A private key file, unlocked with $IMGFACTORY_KEY_PASSPHRASE or --passphrase-file. */
export async function signingKeyFromFile(ctx: CommandContext, file: string): Promise<SigningKey> {
  return readSigningKey(await readKeyFile(ctx, file), await readPassphrase(ctx));
}

/** Public keys or keyrings, armored or binary. */
export async function verificationKeysFromFiles(ctx: CommandContext, files: readonly string[]): Promise<VerificationKey[]> {
  return readVerificationKeys(await Promise.all(files.map((f) => readKeyFile(ctx, f))));
}
