import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitStatus, isImgfactoryError, UsageError } from '../../errors.js';
import { Layout } from '../../oci/layout.js';
import type { VerificationKey } from '../../pgp/keys.js';
import { verifyLayout, type VerifyReport } from '../../verify/verify-layout.js';
import { pullImage } from '../../registry/pull.js';
import { DEFAULT_TAG, parseReference } from '../../oci/reference.js';
import { boolOpt, listOpt, printJson, stringOpt, type Command, type CommandContext } from '../command.js';
import { verificationKeysFromFiles } from './key-flags.js';
import { imageSource } from './image-source.js';
import { REGISTRY_OPTIONS, REGISTRY_OPTIONS_HELP, registryClientFromFlags } from './registry-flags.js';

/**
 * Fetch a registry image into a temporary layout, verify it there (and let `verify` use it:
 * check, diff and export read the verified layout), delete it. Uses pull's path, so the digests
 * of everything fetched are checked on the way in.
 */
export async function verifyInRegistry<T = VerifyReport>(
  ctx: CommandContext,
  target: string,
  verify: (layoutDir: string, identity: string) => Promise<T>,
  verifySignature: (layoutDir: string, identity: string) => Promise<unknown>,
  command = 'verify',
): Promise<T> {
  const reference = parseReference(target, { defaultTag: DEFAULT_TAG });
  const client = await registryClientFromFlags(ctx, reference.registry, { command });
  const tmp = await mkdtemp(join(tmpdir(), `imgfactory-${command}-`));
  let report: T | undefined;
  try {
    await pullImage({
      ref: reference,
      client,
      outDir: join(tmp, 'layout'),
      // The signature is judged before any layer is downloaded.
      verifyTrust: async (layoutDir, context) => {
        await verifySignature(layoutDir, context.identity);
      },
      verify: async (layoutDir, context) => {
        report = await verify(layoutDir, context.identity);
      },
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return report!;
}

/** Pull's trust-before-bulk step: the signature alone, on the manifests, before any layer is fetched. */
export function signatureBeforeLayers(keys: readonly VerificationKey[], identity?: string): (layoutDir: string, pulledAs: string) => Promise<unknown> {
  return async (layoutDir, pulledAs) =>
    verifyLayout({ layout: await Layout.open(layoutDir), keys, signatureOnly: true, blobsNotYetFetched: true, identity: identity ?? pulledAs });
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Verify the signature, provenance and SBOM of an image (OCI layout or registry)',
  help: `Usage: imgfactory verify <oci-layout | registry/repo:tag | registry/repo@sha256:…> --key <public.asc>... [options]

The image is a local OCI layout when the argument is oci:<path> or an existing path, and a
registry reference when it is docker://<ref> or names its registry host (host[:port]/repo:tag,
or @sha256:… for a digest). A path that does not exist is an error (exit 2), never a download.

A registry reference is fetched (manifest, blobs, and the signature, SBOM and provenance
attached to it) into a temporary layout, verified there, and deleted; --identity defaults to
the reference itself.

Checks that the manifest, config and every layer match their digests; that a signature by one of the keys names this
manifest digest (and --identity, matched as containers/image does: exact repo:tag, or the
repository when the identity is a digest reference); that the provenance is a DSSE envelope
signed by one of the keys whose subject is this digest; and that the SBOM lists exactly the
packages (purl and sha256) the provenance lists. Exit 0, or 1 with a one-line reason.

Options:
  --key <file>       trusted public key or keyring, armored or binary (repeatable)
  --identity <ref>   the docker reference the image is consumed as (registry/repo:tag)
  --tag <name>       which image, when the layout holds several (its tag in index.json)
  --signature-only   check the signature only
  --json             print the report (or {"verified": false, "code", "reason"})
${REGISTRY_OPTIONS_HELP}`,
  options: {
    key: { type: 'string', multiple: true },
    identity: { type: 'string' },
    tag: { type: 'string' },
    'signature-only': { type: 'boolean' },
    ...REGISTRY_OPTIONS,
  },
  minPositionals: 1,
  async run(ctx) {
    const source = await imageSource(ctx.positionals[0]!, ctx.cwd);
    const keyFiles = listOpt(ctx, 'key');
    if (keyFiles.length === 0) throw new UsageError('MISSING_ARGUMENT', 'verify: give at least one --key <public.asc>');
    const keys = await verificationKeysFromFiles(ctx, keyFiles);
    const tag = stringOpt(ctx, 'tag');
    const verify = async (layoutDir: string, identity: string | undefined, layoutTag: string | undefined) =>
      verifyLayout({
        layout: await Layout.open(layoutDir),
        keys,
        signatureOnly: boolOpt(ctx, 'signature-only'),
        ...(identity === undefined ? {} : { identity }),
        ...(layoutTag === undefined ? {} : { tag: layoutTag }),
      });
    let report: VerifyReport;
    try {
      report =
        source.kind === 'layout'
          ? await verify(source.dir, stringOpt(ctx, 'identity'), tag)
          : // A pulled layout holds the one image pulled: --tag does not apply.
            await verifyInRegistry(
              ctx,
              source.reference,
              (dir, pulledAs) => verify(dir, stringOpt(ctx, 'identity') ?? pulledAs, undefined),
              signatureBeforeLayers(keys, stringOpt(ctx, 'identity')),
            );
    } catch (e) {
      if (ctx.json && isImgfactoryError(e) && e.exitStatus === ExitStatus.verificationFailed)
        printJson(ctx.io, { verified: false, code: e.code, reason: e.message });
      throw e;
    }
    if (ctx.json) {
      printJson(ctx.io, { verified: true, ...report });
      return 0;
    }
    ctx.io.out(`verified ${report.manifestDigest}`);
    for (const s of report.signatures) ctx.io.out(`  signature   ${s.identity} by ${s.signerFingerprint}`);
    if (report.provenance) {
      ctx.io.out(
        `  provenance  by ${report.provenance.signerFingerprint}, builder ${report.provenance.builderId}, ${report.provenance.dependencies} dependencies`,
      );
    }
    if (report.sbom) ctx.io.out(`  sbom        ${report.sbom.format}, ${report.sbom.packages} packages, same as the provenance`);
    return 0;
  },
};
