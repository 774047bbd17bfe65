import { diffImages, type ImageDiff } from '../../diff/diff-images.js';
import { DiffError, UsageError } from '../../errors.js';
import { verifyLayout } from '../../verify/verify-layout.js';
import { listOpt, printJson, stringOpt, type Command, type CommandContext } from '../command.js';
import { createProgress } from '../progress.js';
import { abortOnSignals } from '../abort-signals.js';
import { verificationKeysFromFiles } from './key-flags.js';
import { REGISTRY_OPTIONS, REGISTRY_OPTIONS_HELP } from './registry-flags.js';
import { imageSource } from './image-source.js';
import { signatureBeforeLayers, verifyInRegistry } from './verify.js';
import { Layout } from '../../oci/layout.js';

export const diffCommand: Command = {
  name: 'diff',
  summary: 'Show what differs between two images or root filesystems: packages, files, config',
  help: `Usage: imgfactory diff <a> <b> [--key <public.asc>] [--arch <a>] [--json]

Each side is an OCI image layout (a directory with oci-layout, e.g. out/<name>), a registry
reference (fetched as verify fetches it into a temporary layout; its signature is checked
with --key first), a root filesystem directory (an LXC/systemd-nspawn root, an unpacked
image) or a rootfs tarball (podman export, build --rootfs). Prints:
  packages  added, removed, upgraded/downgraded (old → new, and the suite and "security"
            when the side has a verified package manifest; else from its dpkg database)
  files     added, removed, changed (content, size, mode, owner, link target), read by
            streaming the layers with whiteouts applied; nothing is unpacked to disk
  config    user, env, entrypoint, cmd, workdir, labels (image sides only)
Use it to see what a rebuild changed, or to find drift in a deployed root filesystem.
Two sides of different architectures are refused (exit 2). Exit 0 when the comparison ran,
whether or not anything differs.

Options:
  --key <public.asc>   registry sides: the key their signature must verify with (repeatable)
  --arch <arch>        OCI architecture to compare, when a side is a multi-arch index
${REGISTRY_OPTIONS_HELP}`,
  options: { key: { type: 'string', multiple: true }, arch: { type: 'string' }, ...REGISTRY_OPTIONS },
  minPositionals: 2,
  async run(ctx) {
    const progress = createProgress(ctx.io, !ctx.json);
    const { signal, dispose } = abortOnSignals(ctx.io);
    try {
      progress.stage('diff', `${ctx.positionals[0]} → ${ctx.positionals[1]}`);
      const [a, b] = [ctx.positionals[0]!, ctx.positionals[1]!];
      const arch = stringOpt(ctx, 'arch');
      const d = await withSide(ctx, a, (pa) => withSide(ctx, b, (pb) => diffImages(pa, pb, { signal, ...(arch === undefined ? {} : { architecture: arch }) })));
      printDiff(ctx, d);
      return 0;
    } finally {
      dispose();
    }
  },
};

/**
 * Runs `fn` on a local path, or on a registry image fetched into a temporary layout that lives
 * only while `fn` runs. A registry image's signature is checked first, as pull does.
 */
async function withSide<T>(ctx: CommandContext, arg: string, fn: (path: string) => Promise<T>): Promise<T> {
  const source = await imageSource(arg, ctx.cwd).catch((cause: unknown) => {
    throw new DiffError('DIFF_SOURCE_INVALID', `${arg}: no such image layout, root filesystem or tarball, and not a registry reference (host/repo:tag)`, {
      cause,
      details: { side: arg },
    });
  });
  if (source.kind === 'layout') return fn(source.dir);
  const keyFiles = listOpt(ctx, 'key');
  if (keyFiles.length === 0) throw new UsageError('MISSING_ARGUMENT', `diff ${arg}: a registry image needs --key <public.asc> to verify it with`);
  const keys = await verificationKeysFromFiles(ctx, keyFiles);
  return verifyInRegistry(
    ctx,
    source.reference,
    async (dir, identity) => {
      // Every blob is hashed here before diff reads a byte of it; the signature names this image.
      await verifyLayout({ layout: await Layout.open(dir), keys, identity, signatureOnly: true });
      return fn(dir);
    },
    signatureBeforeLayers(keys),
  );
}

function printDiff(ctx: CommandContext, d: ImageDiff): void {
  if (ctx.json) {
    printJson(ctx.io, d);
    return;
  }
  const out = (s: string) => ctx.io.out(s);
  const p = d.packages;
  out(`packages: ${p.added.length} added, ${p.removed.length} removed, ${p.upgraded.length} upgraded, ${p.downgraded.length} downgraded`);
  for (const x of p.added) out(`  + ${x.package}:${x.architecture} ${x.version}${x.suite ? ` (${x.suite})` : ''}`);
  for (const x of p.removed) out(`  - ${x.package}:${x.architecture} ${x.version}`);
  for (const x of [...p.upgraded, ...p.downgraded]) {
    out(`  ~ ${x.package}:${x.architecture} ${x.oldVersion} → ${x.newVersion}${x.suite ? ` (${x.suite}${x.security ? ', security' : ''})` : ''}`);
  }
  const f = d.files;
  out(`files: ${f.added.length} added, ${f.removed.length} removed, ${f.changed.length} changed`);
  for (const x of f.added) out(`  + ${x.path}`);
  for (const x of f.removed) out(`  - ${x.path}`);
  for (const x of f.changed) out(`  ~ ${x.path} (${x.changed.join(', ')})`);
  if (d.config === null) out('config: not compared (a side is a root filesystem)');
  else {
    out(`config: ${d.config.length} changed`);
    for (const c of d.config) out(`  ~ ${c.field}${c.key ? ` ${c.key}` : ''}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`);
  }
}
