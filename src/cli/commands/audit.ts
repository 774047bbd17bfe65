import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { auditRootfs, downloadedDebs } from '../../archive/audit-rootfs.js';
import { UsageError } from '../../errors.js';
import { printJson, type Command } from '../command.js';
import { ARCHIVE_OPTIONS, ARCHIVE_OPTIONS_HELP, verifiedArchiveFromOptions } from './archive-verify.js';

export const auditCommand: Command = {
  name: 'audit',
  summary: 'Prove every installed package of a root filesystem against verified indexes',
  help: `Usage: imgfactory audit <rootfs-dir> --suite <s> [options] [--json]

Reads <rootfs>/var/lib/dpkg/status (or, when there is none, every stanza file of a
distroless image's var/lib/dpkg/status.d/) and proves every package with files on disk (name,
version, architecture) is in a Packages index verified against keys/debian, and that every
.deb in <rootfs>/var/cache/apt/archives has the SHA256 its index entry gives. Prints the
verified package manifest with --json. Exit 1 naming what has no proof.

Options:
${ARCHIVE_OPTIONS_HELP}`,
  options: ARCHIVE_OPTIONS,
  minPositionals: 1,
  async run(ctx) {
    const rootfs = resolve(ctx.cwd, ctx.positionals[0]!);
    const s = await stat(rootfs).catch(() => undefined);
    if (!s?.isDirectory()) throw new UsageError('BAD_OPTION', `audit: ${ctx.positionals[0]}: not a directory`);
    const archive = await verifiedArchiveFromOptions(ctx, 'audit');
    const debFiles = await downloadedDebs(rootfs);
    const manifest = await auditRootfs({ rootfs, archive, debFiles });
    if (ctx.json) {
      printJson(ctx.io, manifest);
      return 0;
    }
    const bySuite = new Map<string, number>();
    for (const p of manifest.packages) bySuite.set(p.suite, (bySuite.get(p.suite) ?? 0) + 1);
    const counts = [...bySuite].map(([suite, n]) => `${n} from ${suite}`).join(', ');
    ctx.io.out(`ok: ${rootfs}: ${manifest.packages.length} packages proven (${counts}), ${debFiles.length} downloaded .deb files matched`);
    return 0;
  },
};
