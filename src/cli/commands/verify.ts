import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError, VerifyError } from '../../errors.js';
import { verifyLayout, type VerifyReport } from '../../sign/verify-layout.js';
import { pullImage } from '../../registry/pull.js';
import { parseReference } from '../../registry/reference.js';
import { boolOpt, listOpt, printJson, stringOpt, type Command, type CommandContext } from '../command.js';
import { verificationKeysFromFiles } from './key-flags.js';
import { REGISTRY_OPTIONS, REGISTRY_OPTIONS_HELP, registryClientFromFlags } from './registry-flags.js';

/**
 * Fetch a registry image into a temporary layout, verify it there, delete it. Uses pull's path,
 * so the digests of everything fetched are checked on the way in.
 */
export async function verifyInRegistry<T = VerifyReport>(
  ctx: CommandContext,
  target: string,
  verify: (layoutDir: string, identity: string) => Promise<T>,
): Promise<T> {
  const reference = parseReference(target);
  const client = await registryClientFromFlags(ctx, reference.registry);
  const tmp = await mkdtemp(join(tmpdir(), 'imgfactory-verify-'));
  let report: T | undefined;
  try {
    await pullImage({
      ref: reference,
      client,
      outDir: join(tmp, 'layout'),
      verify: async (layoutDir, context) => {
        report = await verify(layoutDir, context.identity);
      },
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return report!;
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Verify the signature, provenance and SBOM of an image (OCI layout or registry)',
  help: `Usage: imgfactory verify <oci-layout | registry/repo:tag> --key <public.asc>... [options]

A registry reference is fetched (manifest, blobs, and the signature, SBOM and provenance
attached to it) into a temporary layout, verified there, and deleted; --identity defaults to
the reference itself.

Checks that the manifest matches its digest; that a signature by one of the keys names this
manifest digest (and --identity, matched as containers/image does: exact repo:tag, or the
repository when the identity is a digest reference); that the provenance is a DSSE envelope
signed by one of the keys whose subject is this digest; and that the SBOM lists exactly the
packages (purl and sha256) the provenance lists. Exit 0, or 1 with a one-line reason.

Options:
  --key <file>       trusted public key or keyring, armored or binary (repeatable)
  --identity <ref>   the docker reference the image is consumed as (registry/repo:tag)
  --ref <name>       which image, when the layout holds several
  --signature-only   check the signature only
  --json             print the report (or {"verified": false, "code", "reason"})
${REGISTRY_OPTIONS_HELP}`,
  options: {
    key: { type: 'string', multiple: true },
    identity: { type: 'string' },
    ref: { type: 'string' },
    'signature-only': { type: 'boolean' },
    ...REGISTRY_OPTIONS,
  },
  minPositionals: 1,
  async run(ctx) {
    const target = ctx.positionals[0]!;
    const localDir = resolve(ctx.cwd, target);
    const isDir = await stat(localDir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    const keyFiles = listOpt(ctx, 'key');
    if (keyFiles.length === 0) throw new UsageError('MISSING_ARGUMENT', 'verify: give at least one --key <public.asc>');
    const keys = await verificationKeysFromFiles(ctx, keyFiles);
    const ref = stringOpt(ctx, 'ref');
    const verify = (layoutDir: string, identity: string | undefined) =>
      verifyLayout({
        layoutDir,
        keys,
        signatureOnly: boolOpt(ctx, 'signature-only'),
        ...(identity === undefined ? {} : { identity }),
        // --ref picks among several images of a local layout; a pulled layout holds one.
        ...(ref === undefined || !isDir ? {} : { ref }),
      });
    let report: VerifyReport;
    try {
      report = isDir
        ? await verify(localDir, stringOpt(ctx, 'identity'))
        : await verifyInRegistry(ctx, target, (dir, pulledAs) => verify(dir, stringOpt(ctx, 'identity') ?? pulledAs));
    } catch (e) {
      if (ctx.json && e instanceof VerifyError) printJson(ctx.io, { verified: false, code: e.code, reason: e.message });
      throw e;
    }
    if (ctx.json) {
      printJson(ctx.io, { verified: true, ...report });
      return 0;
    }
    ctx.io.out(`verified ${report.manifestDigest}`);
    for (const s of report.signatures) ctx.io.out(`  signature   ${s.identity} by ${s.signerFingerprint}`);
    if (report.provenance) {
      ctx.io.out(`  provenance  by ${report.provenance.signerFingerprint}, builder ${report.provenance.builderId}, ${report.provenance.dependencies} dependencies`);
    }
    if (report.sbom) ctx.io.out(`  sbom        ${report.sbom.format}, ${report.sbom.packages} packages, same as the provenance`);
    return 0;
  },
};
