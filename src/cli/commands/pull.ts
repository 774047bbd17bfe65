import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { Layout } from '../../oci/layout.js';
import { DEFAULT_TAG, parseReference } from '../../oci/reference.js';
import { pullImage, type PullVerifyContext } from '../../registry/pull.js';
import { formatBytes } from '../../registry/progress.js';
import { interrupted } from '../../registry/retrying.js';
import type { VerificationKey } from '../../pgp/keys.js';
import { verifyLayout } from '../../verify/verify-layout.js';
import { printJson, stringOpt, type Command } from '../command.js';
import { abortOnSignals } from '../abort-signals.js';
import { verificationKeysFromFiles } from './key-flags.js';
import { REGISTRY_OPTIONS, REGISTRY_OPTIONS_HELP, registryClientFromFlags } from './registry-flags.js';

/**
 * The one place where pull decides whether a downloaded layout may be written: first the
 * signature must match the reference pulled (before any layer is fetched), then the
 * provenance and SBOM must verify and agree.
 */
async function verifyPulledSignature(layoutDir: string, keys: readonly VerificationKey[], context: PullVerifyContext): Promise<void> {
  // Only the manifests are here yet: the layers come after this check, and the final verify hashes them.
  await verifyLayout({ layout: await Layout.open(layoutDir), keys, identity: context.identity, signatureOnly: true, blobsNotYetFetched: true });
}

async function verifyPulledLayout(layoutDir: string, keys: readonly VerificationKey[], context: PullVerifyContext): Promise<void> {
  await verifyLayout({ layout: await Layout.open(layoutDir), keys, identity: context.identity });
}

export const pullCommand: Command = {
  name: 'pull',
  summary: 'Pull a signed image into an OCI layout, verifying it first',
  help: `Usage: imgfactory pull <registry/repo:tag | registry/repo@sha256:…> --key <public.asc> --out <oci-layout> [options]

Downloads the image manifest and its attachments (signature, SBOM, provenance, found through
the referrers fallback tag) into a temporary layout and verifies the signature against --key
before any layer is fetched; then the layers (digest-checked), then the provenance and SBOM.
Only then is the layout moved to --out. Unsigned or badly signed images are refused and
nothing is written. By digest, a signature for any tag of the same repository is accepted (as
containers/image does); by tag, the signature must name exactly that tag. Ctrl-C removes the
temporary layout and exits 130.

Options:
  --key <public.asc>     OpenPGP public key the image must be signed with (required)
  --out <dir>            destination OCI layout (must not exist, or be empty)
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
    const ref = parseReference(ctx.positionals[0]!, { defaultTag: DEFAULT_TAG });
    const keys = await verificationKeysFromFiles(ctx, [keyFile]);
    const { signal, dispose } = abortOnSignals(ctx.io);
    try {
      const client = await registryClientFromFlags(ctx, ref.registry, { command: 'pull', signal });
      const result = await pullImage({
        ref,
        client,
        outDir: resolve(ctx.cwd, out),
        verifyTrust: (layoutDir, context) => verifyPulledSignature(layoutDir, keys, context),
        verify: (layoutDir, context) => verifyPulledLayout(layoutDir, keys, context),
        onProgress: (e) => {
          if (!ctx.json) ctx.io.err(`pull: ${e.digest.slice(0, 19)} (${formatBytes(e.size)})`);
        },
      });
      if (ctx.json) printJson(ctx.io, result);
      else
        ctx.io.out(`${result.outDir}: ${result.manifestDigest} (${result.blobs} blob(s), ${formatBytes(result.bytes)}, ${result.attachments} attachment(s))`);
      return 0;
    } catch (e) {
      // Whatever the interrupted step reported, the outcome is an interrupt (exit 130).
      if (signal.aborted) throw interrupted('pull: the temporary layout was removed, nothing was written', signal);
      throw e;
    } finally {
      dispose();
    }
  },
};
