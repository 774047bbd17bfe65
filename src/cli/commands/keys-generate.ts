import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { keyFileBaseName, writeKeyPair } from '../../pgp/key-files.js';
import { generateSigningKey, RSA_KEY_BITS } from '../../pgp/keys.js';
import { boolOpt, printJson, stringOpt, type Command, type CommandContext } from '../command.js';

export const PASSPHRASE_ENV = 'IMGFACTORY_KEY_PASSPHRASE';

/** The key passphrase: `--passphrase-file` (first line) or $IMGFACTORY_KEY_PASSPHRASE. Never printed. */
export async function readPassphrase(ctx: CommandContext): Promise<string | undefined> {
  const file = stringOpt(ctx, 'passphrase-file');
  if (file !== undefined) {
    const text = await readFile(resolve(ctx.cwd, file), 'utf8').catch((cause: unknown) => {
      throw new UsageError('BAD_OPTION', `--passphrase-file ${file}: cannot read it`, { cause });
    });
    return text.replace(/\r?\n$/, '');
  }
  const env = ctx.env[PASSPHRASE_ENV];
  return env === undefined || env === '' ? undefined : env;
}

function required(ctx: CommandContext, name: string, command: string): string {
  const v = stringOpt(ctx, name);
  if (v === undefined || v === '') throw new UsageError('MISSING_ARGUMENT', `${command}: --${name} is required`);
  return v;
}

export const keysGenerateCommand: Command = {
  name: 'keys generate',
  summary: 'Generate an OpenPGP image-signing key pair',
  help: `Usage: imgfactory keys generate --name <name> --email <email> --out <dir> [options]

Writes <dir>/<name>.pub.asc and <dir>/<name>.secret.asc (mode 0600). The primary key signs
and there is no signing subkey, as containers/image (podman, skopeo, cri-o) requires.

Options:
  --type ed25519|rsa       key algorithm (default: ed25519; rsa for verifiers without EdDSA)
  --bits 3072|4096         RSA key size (default: 3072)
  --passphrase-file <f>    protect the private key with the passphrase in <f>
                           (default: $${PASSPHRASE_ENV}; unprotected when neither is set)
  --force                  replace existing key files
  --json                   print the fingerprint and file paths as JSON`,
  options: {
    name: { type: 'string' },
    email: { type: 'string' },
    out: { type: 'string' },
    type: { type: 'string' },
    bits: { type: 'string' },
    'passphrase-file': { type: 'string' },
    force: { type: 'boolean' },
  },
  async run(ctx) {
    const name = required(ctx, 'name', 'keys generate');
    const email = required(ctx, 'email', 'keys generate');
    const out = resolve(ctx.cwd, required(ctx, 'out', 'keys generate'));
    const type = stringOpt(ctx, 'type') ?? 'ed25519';
    if (type !== 'ed25519' && type !== 'rsa') throw new UsageError('BAD_OPTION', `--type ${type}: expected ed25519 or rsa`);
    const bitsText = stringOpt(ctx, 'bits');
    if (bitsText !== undefined && type !== 'rsa') throw new UsageError('BAD_OPTION', '--bits applies to --type rsa only');
    const rsaBits = bitsText === undefined ? undefined : Number(bitsText);
    if (rsaBits !== undefined && !(RSA_KEY_BITS as readonly number[]).includes(rsaBits)) {
      throw new UsageError('BAD_OPTION', `--bits ${bitsText}: expected ${RSA_KEY_BITS.join(' or ')}`);
    }
    const passphrase = await readPassphrase(ctx);
    const key = await generateSigningKey({
      name,
      email,
      type,
      ...(rsaBits === undefined ? {} : { rsaBits }),
      ...(passphrase === undefined ? {} : { passphrase }),
    });
    const files = await writeKeyPair({
      outDir: out,
      baseName: keyFileBaseName(name),
      publicKeyArmored: key.publicKeyArmored,
      privateKeyArmored: key.privateKeyArmored,
      force: boolOpt(ctx, 'force'),
    });
    if (passphrase === undefined) {
      ctx.io.err(`warning: the private key is not passphrase-protected (set ${PASSPHRASE_ENV} or --passphrase-file)`);
    }
    if (ctx.json) {
      printJson(ctx.io, { fingerprint: key.fingerprint, type, ...files, encrypted: passphrase !== undefined });
    } else {
      ctx.io.out(`fingerprint  ${key.fingerprint}`);
      ctx.io.out(`public key   ${files.publicKeyPath}`);
      ctx.io.out(`private key  ${files.privateKeyPath} (mode 0600; keep it out of the repository)`);
    }
    return 0;
  },
};
