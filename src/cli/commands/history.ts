import { UsageError } from '../../errors.js';
import { parseReference } from '../../oci/reference.js';
import { interrupted } from '../../registry/retrying.js';
import { readHistory, type History, type HistoryEntry } from '../../versions/history.js';
import { printJson, stringOpt, type Command, type Io } from '../command.js';
import { abortOnSignals } from '../abort-signals.js';
import { verificationKeysFromFiles } from './key-flags.js';
import { REGISTRY_OPTIONS, REGISTRY_OPTIONS_HELP, registryClientFromFlags } from './registry-flags.js';

function changeLine(e: HistoryEntry): string[] {
  if (!e.changes) return e.verified ? ['    first version'] : [];
  const c = e.changes;
  const lines = [`    since ${c.from}: ${c.packages.length} package change(s), ${c.securityUpdates} security${c.recipeChanged ? ', recipe changed' : ''}`];
  for (const p of c.packages) {
    const what =
      p.kind === 'added'
        ? `+ ${p.name} ${p.to}`
        : p.kind === 'removed'
          ? `- ${p.name} ${p.from}`
          : `  ${p.name} ${p.from} -> ${p.to}${p.kind === 'downgraded' ? ' (downgrade)' : ''}`;
    lines.push(`      ${what}${p.security ? ' [security]' : ''}`);
  }
  return lines;
}

function printHistory(io: Io, h: History): void {
  io.out(`${h.repository}: ${h.versions.length} version(s)`);
  for (const e of h.versions) {
    const where = e.channels.length > 0 ? `  <- ${e.channels.join(', ')}` : '';
    if (!e.verified) {
      io.out(`  ${e.tag}  ${e.digest}  NOT VERIFIED (${e.error?.code ?? 'unknown'})${where}`);
      continue;
    }
    io.out(`  ${e.tag}  ${e.digest}  ${e.date ?? '?'}  ${e.packages} packages${where}`);
    for (const l of changeLine(e)) io.out(l);
  }
  const versioned = new Set(h.versions.map((v) => v.digest));
  for (const [tag, digest] of Object.entries(h.channels)) {
    if (!versioned.has(digest)) io.out(`  channel ${tag} -> ${digest} (no version tag names it)`);
  }
}

export const historyCommand: Command = {
  name: 'history',
  summary: 'List the published versions of a repository, newest first, with what changed',
  help: `Usage: imgfactory history <registry/repository> --key <public.asc> [--json] [options]

Reads the repository's tags: version tags (<recipe version>-<YYYYMMDD>.<digest prefix>, written
once by each publish) and channel tags (the recipe's publish.tags, which move). For every
version, its signature for its own version tag is checked against --key, then its provenance
and SBOM (fetched as attachments; no layer is downloaded), and it is compared with the next
older version: packages added, removed, upgraded (flagged [security] when the new .deb came
from the security mirror named in the signed provenance) and whether the recipe changed.
Shows which channel tags point at each version. A version that fails its checks is listed
as NOT VERIFIED and the command exits 1.

Options:
  --key <public.asc>     OpenPGP public key the versions must be signed with (required)
${REGISTRY_OPTIONS_HELP}`,
  options: { key: { type: 'string' }, ...REGISTRY_OPTIONS },
  minPositionals: 1,
  async run(ctx) {
    const keyFile = stringOpt(ctx, 'key');
    if (!keyFile) throw new UsageError('MISSING_ARGUMENT', 'history: --key <public.asc> is required (attachments are only read from signed versions)');
    const ref = parseReference(ctx.positionals[0]!);
    const keys = await verificationKeysFromFiles(ctx, [keyFile]);
    const { signal, dispose } = abortOnSignals(ctx.io);
    try {
      const client = await registryClientFromFlags(ctx, ref.registry, { command: 'history', signal });
      const history = await readHistory({ client, repository: ref, keys, onProgress: (m) => ctx.io.err(`history: ${m}`) });
      if (ctx.json) printJson(ctx.io, history);
      else printHistory(ctx.io, history);
      return history.versions.every((v) => v.verified) ? 0 : 1;
    } catch (e) {
      if (signal.aborted) throw interrupted('history: stopped', signal);
      throw e;
    } finally {
      dispose();
    }
  },
};
