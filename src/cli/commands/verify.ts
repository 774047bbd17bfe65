import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError, VerifyError } from '../../errors.js';
import { readVerificationKeys } from '../../sign/keys.js';
import { verifyLayout } from '../../sign/verify-layout.js';
import { boolOpt, listOpt, printJson, stringOpt, type Command } from '../command.js';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Verify the signature, provenance and SBOM of an image in an OCI layout',
  help: `Usage: imgfactory verify <oci-layout> --key <public.asc>... [options]

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
  --json             print the report (or {"verified": false, "code", "reason"})`,
  options: {
    key: { type: 'string', multiple: true },
    identity: { type: 'string' },
    ref: { type: 'string' },
    'signature-only': { type: 'boolean' },
  },
  minPositionals: 1,
  async run(ctx) {
    const target = ctx.positionals[0]!;
    const layoutDir = resolve(ctx.cwd, target);
    const isDir = await stat(layoutDir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) {
      throw new UsageError(
        'USAGE',
        `verify: ${target} is not an OCI layout directory (registry references are verified after pull: skopeo copy docker://… oci:<dir>)`,
      );
    }
    const keyFiles = listOpt(ctx, 'key');
    if (keyFiles.length === 0) throw new UsageError('MISSING_ARGUMENT', 'verify: give at least one --key <public.asc>');
    const keys = await readVerificationKeys(
      await Promise.all(
        keyFiles.map((f) =>
          readFile(resolve(ctx.cwd, f)).then(
            (b) => new Uint8Array(b),
            (cause: unknown) => {
              throw new UsageError('BAD_OPTION', `--key ${f}: cannot read it`, { cause });
            },
          ),
        ),
      ),
    );
    const identity = stringOpt(ctx, 'identity');
    const ref = stringOpt(ctx, 'ref');
    let report;
    try {
      report = await verifyLayout({
        layoutDir,
        keys,
        signatureOnly: boolOpt(ctx, 'signature-only'),
        ...(identity === undefined ? {} : { identity }),
        ...(ref === undefined ? {} : { ref }),
      });
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
