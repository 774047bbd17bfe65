import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { Layout } from '../../oci/layout.js';
import type { VerificationKey } from '../../pgp/keys.js';
import { verificationKeysFromFiles } from './key-flags.js';
import { verifyLayout } from '../../verify/verify-layout.js';
import { pullImage, type PullVerifyContext } from '../../registry/pull.js';
import { parseReference } from '../../registry/reference.js';
import { formatBytes } from '../../registry/progress.js';
import { printJson, stringOpt, type Command } from '../command.js';
import { REGISTRY_OPTIONS, REGISTRY_OPTIONS_HELP, registryClientFromFlags } from './registry-flags.js';

/**
 * The one place where pull decides whether a downloaded layout may be written: the signature
 * must match the reference pulled, and the provenance and SBOM must verify and agree.
 */
async function verifyPulledLayout(layoutDir: string, keys: readonly VerificationKey[], context: PullVerifyContext): Promise<void> {
  await verifyLayout({ layout: await Layout.open(layoutDir), keys, identity: context.identity });
}

export const pullCommand: Command = {
  name: 'pull',
  summary: 'Pull a signed image into an OCI layout, verifying it first',
  help: `Usage: imgfactory pull <registry/repo:tag> --key <public.asc> --out <oci-layout> [options]

Downloads the image, its blobs (digest-checked) and its attachments (signature, SBOM,
provenance, found through the referrers fallback tag) into a temporary layout, verifies the
signature and provenance against --key, and only then moves the layout to --out. Unsigned or
badly signed images are refused and nothing is written.

Options:
  --key <public.asc>   OpenPGP public key the image must be signed with (required)
  --out <dir>          destination OCI layout (must not exist, or be empty)
${REGISTRY_OPTIONS_HELP}`,
  options: {
    key: { type: 'string' },
    out: { type: 'string' },
    ...REGISTRY_OPTIONS,
  },
  minPositionals: 1,
  async run(ctx) {
    const keyFile = stringOpt(ctx, 'key');
    const out = stringOpt(ctx, 'out');
    if (!keyFile) throw new UsageError('MISSING_ARGUMENT', 'pull: --key <public.asc> is required (unsigned images are never pulled)');
    if (!out) throw new UsageError('MISSING_ARGUMENT', 'pull: --out <oci-layout> is required');
    const ref = parseReference(ctx.positionals[0]!);
    const keys = await verificationKeysFromFiles(ctx, [keyFile]);
    const client = await registryClientFromFlags(ctx, ref.registry);
    const result = await pullImage({
      ref,
      client,
      outDir: resolve(ctx.cwd, out),
      verify: (layoutDir, context) => verifyPulledLayout(layoutDir, keys, context),
    });
    if (ctx.json) printJson(ctx.io, result);
    else ctx.io.out(`${result.outDir}: ${result.manifestDigest} (${result.blobs} blob(s), ${formatBytes(result.bytes)}, ${result.attachments} attachment(s))`);
    return 0;
  },
};
