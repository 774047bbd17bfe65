import { defaultCacheDir } from '../cache-dirs.js';
import { resolve } from 'node:path';
import { parseDuration } from '../../archive/freshness.js';
import { hostArchiveMirrors } from '../../archive/host-mirror.js';
import { securitySibling } from '../../archive/apt-sources.js';
import { DEFAULT_DEBIAN_KEYS_DIR, loadPinnedKeys } from '../../archive/keyring.js';
import { fetchVerifiedArchive, type VerifiedArchive } from '../../archive/verified-archive.js';
import { UsageError } from '../../errors.js';
import { hostDebianArch } from '../../oci/platform.js';
import { boolOpt, listOpt, printJson, stringOpt, type Command, type CommandContext, type OptionSpec } from '../command.js';
import { createProgress } from '../progress.js';
import { mirrorFlags } from './mirror-flags.js';

/** The options `archive verify` and `audit` share: which archive, which indexes, which keys. */
export const ARCHIVE_OPTIONS: OptionSpec = {
  suite: { type: 'string' },
  arch: { type: 'string', multiple: true },
  components: { type: 'string', multiple: true },
  mirror: { type: 'string' },
  'security-mirror': { type: 'string' },
  'no-updates': { type: 'boolean' },
  'cache-dir': { type: 'string' },
  'keys-dir': { type: 'string' },
  'max-release-age': { type: 'string' },
  codename: { type: 'string' },
};

export const ARCHIVE_OPTIONS_HELP = `  --suite <s>               suite or codename (bookworm, trixie, stable); required
  --arch <a>                architecture, repeatable (default: the host's)
  --components <c,...>      components (default: main)
  --mirror <url>            archive mirror (default: the host's apt sources)
  --security-mirror <url>   security archive (default: from apt sources, or <mirror>-security)
  --no-updates              only <suite>, not <suite>-updates and <suite>-security
  --cache-dir <dir>         verified-file cache (default: $XDG_CACHE_HOME/imgfactory/archive)
  --keys-dir <dir>          pinned archive keys (default: the package's keys/debian)
  --codename <c>            the codename --suite must be (required when --suite is an alias like stable)
  --max-release-age <d>     refuse a Release whose Date is older (30d, 12h, 2w, never; default 730d)`;

const NAME_RE = /^[a-z0-9][a-z0-9.+\-/]*$/;

/** Reads the shared options and the environment once, loads the keys, fetches and verifies. */
export async function verifiedArchiveFromOptions(ctx: CommandContext, command: string): Promise<VerifiedArchive> {
  const suite = stringOpt(ctx, 'suite');
  if (!suite) throw new UsageError('MISSING_ARGUMENT', `${command}: --suite is required`);
  const architectures = listOpt(ctx, 'arch').flatMap(splitList);
  if (architectures.length === 0) architectures.push(hostDebianArch(process.arch));
  const components = listOpt(ctx, 'components').flatMap(splitList);
  if (components.length === 0) components.push('main');
  for (const [what, v] of [['suite', suite], ...architectures.map((a) => ['arch', a]), ...components.map((c) => ['component', c])] as const) {
    if (!NAME_RE.test(v) || v.split('/').includes('..')) throw new UsageError('BAD_OPTION', `${command}: bad ${what} ${JSON.stringify(v)}`);
  }
  const codename = stringOpt(ctx, 'codename');
  if (codename !== undefined && !/^[a-z][a-z0-9-]{0,63}$/.test(codename))
    throw new UsageError('BAD_OPTION', `${command}: bad codename ${JSON.stringify(codename.slice(0, 64))}`);
  const maxAgeText = stringOpt(ctx, 'max-release-age');
  const maxReleaseAgeMs = maxAgeText === undefined ? undefined : parseDuration(maxAgeText);
  if (maxAgeText !== undefined && maxReleaseAgeMs === undefined) {
    throw new UsageError(
      'BAD_OPTION',
      `${command}: --max-release-age: expected a duration like 30d, 12h, 2w or never, got ${JSON.stringify(maxAgeText.slice(0, 40))}`,
    );
  }
  const flags = mirrorFlags(ctx, command);
  const { mirror, securityMirror } = await resolveMirrors(flags.mirror, flags.securityMirror);
  const keysDir = stringOpt(ctx, 'keys-dir');
  const keys = await loadPinnedKeys(keysDir === undefined ? DEFAULT_DEBIAN_KEYS_DIR : resolve(ctx.cwd, keysDir));
  const cacheDirOpt = stringOpt(ctx, 'cache-dir');
  const progress = createProgress(ctx.io, !ctx.json);
  progress.stage('archive', `${suite} from ${mirror}`);
  return fetchVerifiedArchive({
    mirror,
    securityMirror,
    suite,
    components,
    architectures,
    updates: !boolOpt(ctx, 'no-updates'),
    cacheDir: cacheDirOpt === undefined ? defaultCacheDir(ctx.env, 'archive') : resolve(ctx.cwd, cacheDirOpt),
    keys,
    now: new Date(),
    ...(maxReleaseAgeMs === undefined ? {} : { maxReleaseAgeMs }),
    ...(codename === undefined ? {} : { expectedCodename: codename }),
    onProgress: (m) => progress.info(m),
  });
}

async function resolveMirrors(mirror: string | undefined, securityMirror: string | undefined) {
  if (mirror !== undefined) return { mirror: mirror.replace(/\/+$/, ''), securityMirror: securityMirror ?? securitySibling(mirror) };
  const host = await hostArchiveMirrors();
  return { mirror: host.mirror, securityMirror: securityMirror ?? host.securityMirror };
}

function splitList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** What `archive verify` reports: per InRelease, its signers, date and indexes. */
export function archiveReport(archive: VerifiedArchive) {
  return {
    suite: archive.suite,
    newestReleaseDate: archive.newestReleaseDate.toISOString(),
    packageCount: archive.indexes.reduce((n, i) => n + i.packageCount, 0),
    inReleases: archive.releases.map((r, i) => {
      const ir = archive.inReleases[i]!;
      return {
        suite: ir.suite,
        url: ir.url,
        sha256: ir.sha256,
        date: ir.date,
        validUntil: ir.validUntil ?? null,
        signers: r.signers,
        ignoredSignatures: r.ignoredSignatures,
        indexes: archive.indexes
          .filter((x) => x.suite === ir.suite)
          .map((x) => ({ path: x.path, url: x.url, sha256: x.sha256, size: x.size, packageCount: x.packageCount })),
      };
    }),
  };
}

export const archiveVerifyCommand: Command = {
  name: 'archive verify',
  summary: "Verify a suite's InRelease signatures and Packages indexes against keys/",
  help: `Usage: imgfactory archive verify --suite <s> [options] [--json]

Fetches dists/<suite>/InRelease (and <suite>-updates, <suite>-security), verifies every
signature against the pinned keys in keys/debian, then checks each Packages index's size and
SHA256 against the signed Release. Prints the key that signed each InRelease, its Date, and
the number of packages per index. Exit 1 with a one-line reason on any verification failure,
5 when the archive cannot be reached.

Options:
${ARCHIVE_OPTIONS_HELP}`,
  options: ARCHIVE_OPTIONS,
  async run(ctx) {
    const archive = await verifiedArchiveFromOptions(ctx, 'archive verify');
    const report = archiveReport(archive);
    if (ctx.json) {
      printJson(ctx.io, report);
      return 0;
    }
    for (const r of report.inReleases) {
      ctx.io.out(`${r.suite}  ${r.url}`);
      ctx.io.out(`  Date ${r.date}${r.validUntil ? `, Valid-Until ${r.validUntil}` : ''}, InRelease sha256 ${r.sha256}`);
      for (const s of r.signers) ctx.io.out(`  signed by ${s.fingerprint} ${s.userId} (key ${s.signingKeyId})`);
      for (const s of r.ignoredSignatures) {
        ctx.io.out(`  ignored signature by ${s.keyId} (${s.reason === 'unknown-key' ? 'key not pinned' : 'pinned key revoked or expired'})`);
      }
      for (const x of r.indexes) ctx.io.out(`  ${x.path}  ${x.packageCount} packages  sha256 ${x.sha256}`);
    }
    ctx.io.out(`ok: ${report.inReleases.length} InRelease verified, ${report.packageCount} packages in ${archive.indexes.length} indexes`);
    return 0;
  },
};
