import { resolve } from 'node:path';
import { isImgfactoryError, UsageError } from '../../errors.js';
import { EXPORT_FORMATS, exportImage, type ExportFormat, type ExportOptions, type ExportReport } from '../../export/index.js';
import { imgfactoryVersion } from '../../version.js';
import { createProgress } from '../progress.js';
import { listOpt, printJson, stringOpt, type Command, type CommandContext } from '../command.js';
import { abortOnSignals } from '../abort-signals.js';
import { ciInvocation } from '../ci-invocation.js';
import { signingKeyFromFile, verificationKeysFromFiles } from './key-flags.js';
import { imageSource } from './image-source.js';
import { REGISTRY_OPTIONS, REGISTRY_OPTIONS_HELP } from './registry-flags.js';
import { signatureBeforeLayers, verifyInRegistry } from './verify.js';

/** A registry image is pulled (digest-checked, signature first) into a temporary layout, exported from there, deleted. */
function exportFromRegistry(ctx: CommandContext, target: string, options: Omit<ExportOptions, 'layoutDir'>): Promise<ExportReport> {
  return verifyInRegistry(
    ctx,
    target,
    (layoutDir, pulledAs) => exportImage({ ...options, layoutDir, identity: options.identity ?? pulledAs, source: target }),
    signatureBeforeLayers(options.keys, options.identity),
    'export',
  );
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'Export a signed image as a systemd-nspawn or LXC machine container, or a rootfs tarball, signed',
  help: `Usage: imgfactory export <oci-layout | registry/repo:tag> --format <nspawn|lxc|rootfs>
         --key <public.asc> --sign-key <secret.asc> --out <dir> [options]

Verifies the image first, exactly as \`imgfactory verify\` does (signature by --key, provenance,
SBOM, and every layer blob by its digest); an unsigned image, or one signed by another key, is
refused and nothing is written. Then flattens the layers (whiteouts applied; owners, modes,
xattrs and hard links kept) into a deterministic tarball and writes into --out:

  nspawn   <name>.tar.gz + <name>.nspawn   for importctl/machinectl import-tar, systemd-nspawn
  lxc      rootfs.tar.xz + meta.tar.xz     for lxc-create -t local -- -f rootfs.tar.xz -m meta.tar.xz
  rootfs   <name>.tar                      a plain root filesystem tarball

plus SHA256SUMS, SHA256SUMS.gpg (binary detached signature by --sign-key, the files
systemd-importd checks) and ${'provenance.intoto.json'} (a DSSE envelope: an in-toto statement
whose subjects are the exported files and whose dependency is the image digest).
Check them with standard tools: gpgv --keyring <consumer.gpg> SHA256SUMS.gpg SHA256SUMS
&& sha256sum -c SHA256SUMS. The same image gives byte-identical files.

Options:
  --format <f>             nspawn, lxc or rootfs (required)
  --key <public.asc>       key the image must be signed with (repeatable; required)
  --sign-key <secret.asc>  the factory key that signs SHA256SUMS and the export provenance
                           (passphrase from $IMGFACTORY_KEY_PASSPHRASE or --passphrase-file)
  --passphrase-file <f>    file holding the signing key's passphrase
  --out <dir>              destination (must not exist, or be empty)
  --name <name>            machine name (default: the image's org.opencontainers.image.title)
  --identity <ref>         docker reference the signature must name (registry images: the reference)
  --tag <name>             which image, when the layout holds several (its tag in index.json)
  --arch <arch>            OCI architecture, when the image is a multi-arch index
  --json                   print the report (or {"exported": false, "code", "reason"})
${REGISTRY_OPTIONS_HELP}`,
  options: {
    format: { type: 'string' },
    key: { type: 'string', multiple: true },
    'sign-key': { type: 'string' },
    'passphrase-file': { type: 'string' },
    out: { type: 'string' },
    name: { type: 'string' },
    identity: { type: 'string' },
    tag: { type: 'string' },
    arch: { type: 'string' },
    ...REGISTRY_OPTIONS,
  },
  minPositionals: 1,
  async run(ctx) {
    const target = ctx.positionals[0]!;
    const format = stringOpt(ctx, 'format');
    if (format === undefined || !EXPORT_FORMATS.includes(format as ExportFormat)) {
      throw new UsageError('BAD_OPTION', `export: --format must be ${EXPORT_FORMATS.join(', ')}`);
    }
    const keyFiles = listOpt(ctx, 'key');
    if (keyFiles.length === 0) throw new UsageError('MISSING_ARGUMENT', 'export: give at least one --key <public.asc> (unsigned images are never exported)');
    const signKeyFile = stringOpt(ctx, 'sign-key');
    if (!signKeyFile) throw new UsageError('MISSING_ARGUMENT', 'export: --sign-key <secret.asc> is required (the exported files are signed)');
    const out = stringOpt(ctx, 'out');
    if (!out) throw new UsageError('MISSING_ARGUMENT', 'export: --out <dir> is required');
    const keys = await verificationKeysFromFiles(ctx, keyFiles);
    const signingKey = await signingKeyFromFile(ctx, signKeyFile);
    const progress = createProgress(ctx.io, !ctx.json);
    const { signal, dispose } = abortOnSignals(ctx.io);
    const name = stringOpt(ctx, 'name');
    const identity = stringOpt(ctx, 'identity');
    const tag = stringOpt(ctx, 'tag');
    const arch = stringOpt(ctx, 'arch');
    const options: Omit<ExportOptions, 'layoutDir'> = {
      keys,
      format: format as ExportFormat,
      outDir: resolve(ctx.cwd, out),
      signingKey,
      builder: { id: ciInvocation(ctx.env).builderId, version: imgfactoryVersion() },
      onProgress: (m) => progress.stage('export', m),
      signal,
      ...(name === undefined ? {} : { name }),
      ...(identity === undefined ? {} : { identity }),
      ...(arch === undefined ? {} : { architecture: arch }),
    };
    const source = await imageSource(target, ctx.cwd);
    let report: ExportReport;
    try {
      report =
        source.kind === 'layout'
          ? await exportImage({ ...options, layoutDir: source.dir, ...(tag === undefined ? {} : { tag }) })
          : await exportFromRegistry(ctx, source.reference, options);
    } catch (e) {
      // CI reads why on stdout; the one-line error still goes to stderr.
      if (ctx.json && isImgfactoryError(e)) printJson(ctx.io, { exported: false, code: e.code, reason: e.message });
      throw e;
    } finally {
      dispose();
    }
    if (ctx.json) {
      printJson(ctx.io, report);
      return 0;
    }
    ctx.io.out(`exported ${report.signedDigest} as ${report.format} "${report.name}" into ${report.outDir}`);
    for (const f of report.files) ctx.io.out(`  ${f.sha256}  ${f.name}`);
    ctx.io.out(`  signed SHA256SUMS (${report.signature}) and ${report.provenance} with ${report.signerFingerprint}`);
    for (const o of report.omitted) ctx.io.err(`warning: ${report.format} cannot express ${o}; left out`);
    return 0;
  },
};
