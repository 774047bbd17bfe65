import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { parseReference } from '../../oci/reference.js';
import { interrupted } from '../../registry/retrying.js';
import { rollbackChannel } from '../../versions/rollback.js';
import { printJson, stringOpt, type Command } from '../command.js';
import { abortOnSignals } from '../abort-signals.js';
import { signingKeyFromFile, verificationKeysFromFiles } from './key-flags.js';
import { REGISTRY_OPTIONS, REGISTRY_OPTIONS_HELP, registryClientFromFlags } from './registry-flags.js';
import { signatureCreator } from './sign.js';

export const rollbackCommand: Command = {
  name: 'rollback',
  summary: 'Point a channel tag back at an earlier signed version',
  help: `Usage: imgfactory rollback <registry/repository:channel> --to <version-tag | sha256:…> --key <public.asc> [options]

Checks that the target is signed by --key for the channel's own reference (every publish
signs each channel tag, so no signing key is needed) and that its provenance and SBOM verify,
then moves the channel tag, and only it, to the target's exact manifest. Version tags never
move. A target never signed for the channel is refused (exit 1) unless --sign-key adds that
signature (as a registry attachment, and in --lookaside-dir when given). A target whose
signature or provenance fails is refused (exit 1); nothing moves. Run \`imgfactory history\`
to list the versions.

Options:
  --to <version | digest>     the version tag or manifest digest to roll back to (required)
  --key <public.asc>          OpenPGP public key the target must be signed with (required)
  --sign-key <secret.asc>     sign the target for the channel when it was never signed for it
                              (passphrase from $IMGFACTORY_KEY_PASSPHRASE or --passphrase-file)
  --passphrase-file <file>    file holding the signing key's passphrase
  --lookaside-dir <dir>       with --sign-key: also store the new signature there
${REGISTRY_OPTIONS_HELP}`,
  options: {
    to: { type: 'string' },
    key: { type: 'string' },
    'sign-key': { type: 'string' },
    'passphrase-file': { type: 'string' },
    'lookaside-dir': { type: 'string' },
    ...REGISTRY_OPTIONS,
  },
  minPositionals: 1,
  async run(ctx) {
    const to = stringOpt(ctx, 'to');
    const keyFile = stringOpt(ctx, 'key');
    if (!to) throw new UsageError('MISSING_ARGUMENT', 'rollback: --to <version-tag | digest> is required');
    if (!keyFile) throw new UsageError('MISSING_ARGUMENT', 'rollback: --key <public.asc> is required');
    const channel = parseReference(ctx.positionals[0]!);
    const keys = await verificationKeysFromFiles(ctx, [keyFile]);
    const signKeyFile = stringOpt(ctx, 'sign-key');
    const signKey = signKeyFile ? await signingKeyFromFile(ctx, signKeyFile) : undefined;
    const lookasideDir = stringOpt(ctx, 'lookaside-dir');
    if (lookasideDir && !signKey) throw new UsageError('BAD_OPTION', 'rollback: --lookaside-dir only applies with --sign-key');
    const { signal, dispose } = abortOnSignals(ctx.io);
    try {
      const client = await registryClientFromFlags(ctx, channel.registry, { command: 'rollback', signal });
      const result = await rollbackChannel({
        client,
        channel,
        to,
        keys,
        ...(signKey ? { signKey, creator: signatureCreator() } : {}),
        ...(lookasideDir ? { lookasideDir: resolve(ctx.cwd, lookasideDir) } : {}),
        onProgress: (m) => ctx.io.err(`rollback: ${m}`),
      });
      if (ctx.json) printJson(ctx.io, result);
      else {
        ctx.io.out(`${result.channel} ${result.digest}${result.moved ? ` (was ${result.previous ?? 'absent'})` : ' (already there, nothing moved)'}`);
        if (result.signed) ctx.io.err(`rollback: signed ${result.digest} for ${result.channel}`);
      }
      return 0;
    } catch (e) {
      if (signal.aborted) throw interrupted('rollback: stopped; the channel tag moves last, so it did not move', signal);
      throw e;
    } finally {
      dispose();
    }
  },
};
