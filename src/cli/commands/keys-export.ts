import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../atomic-file.js';
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { exportPublicKey } from '../../pgp/keys.js';
import { boolOpt, printJson, stringOpt, type Command } from '../command.js';

export const keysExportCommand: Command = {
  name: 'keys export',
  summary: 'Print the public key of a key file (for consumers and keys/images/)',
  help: `Usage: imgfactory keys export <key.asc> [--out <file>] [--binary]

Reads a public or private key file and writes only its public key: armored to stdout, or to
<file>. The private key is never needed decrypted and never written.

Options:
  --out <file>   write to <file> instead of stdout
  --binary       binary (a GPG keyring, e.g. for policy.json keyPath) instead of armored`,
  options: {
    out: { type: 'string' },
    binary: { type: 'boolean' },
  },
  minPositionals: 1,
  async run(ctx) {
    const file = resolve(ctx.cwd, ctx.positionals[0]!);
    const bytes = await readFile(file).catch((cause: unknown) => {
      throw new UsageError('BAD_OPTION', `${ctx.positionals[0]}: cannot read it`, { cause });
    });
    const key = await exportPublicKey(new Uint8Array(bytes));
    const binary = boolOpt(ctx, 'binary');
    const out = stringOpt(ctx, 'out');
    if (out === undefined && binary) throw new UsageError('BAD_OPTION', '--binary needs --out <file>');
    if (out !== undefined) {
      const path = resolve(ctx.cwd, out);
      await writeFileAtomic(path, binary ? key.binary : key.armored, 0o644);
      if (ctx.json) printJson(ctx.io, { fingerprint: key.fingerprint, path });
      else ctx.io.out(`${key.fingerprint}  ${path}`);
    } else if (ctx.json) {
      printJson(ctx.io, { fingerprint: key.fingerprint, publicKey: key.armored });
    } else {
      ctx.io.out(key.armored);
    }
    return 0;
  },
};
