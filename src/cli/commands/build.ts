import { resolve } from 'node:path';
import { defaultCacheDir } from '../cache-dirs.js';
import { ciInvocation } from '../ci-invocation.js';
import { DEFAULT_DEBIAN_KEYS_DIR, hostArchiveMirrors } from '../../archive/index.js';
import { DEFAULT_DEB_CACHE_MAX_BYTES, type DebCacheOptions } from '../../archive/deb-cache.js';
import { BuildError, UsageError } from '../../errors.js';
import { hostDebianArch } from '../../oci/platform.js';
import { buildRecipe, type BuildResult } from '../../pipeline/build.js';
import type { SigningOptions } from '../../pipeline/attest.js';
import { publishBuild } from '../../pipeline/publish-build.js';
import { formatRegistryProgress } from '../../registry/progress.js';
import { SBOM_FORMATS, type SbomFormat } from '../../provenance/attest-layout.js';
import { boolOpt, listOpt, printJson, stringOpt, type Command, type CommandContext } from '../command.js';
import { imgfactoryVersion } from '../../version.js';
import { signingKeyFromFile } from './key-flags.js';
import { signatureCreator } from './sign.js';
import { createProgress } from '../progress.js';
import { abortOnSignals } from '../abort-signals.js';
import { writeBuildLocks } from '../../lock/write-build-locks.js';
import { ifChanged } from './build-if-changed.js';
import { publishedVersion } from '../../versions/publish-summary.js';
import { parseBootstrapper } from '../../bootstrap/debootstrap.js';
import { mirrorFlags } from './mirror-flags.js';

function debCacheFromFlags(ctx: CommandContext): DebCacheOptions {
  const size = stringOpt(ctx, 'deb-cache-size');
  if (size !== undefined && !/^\d+$/.test(size)) throw new UsageError('BAD_OPTION', `--deb-cache-size: expected MiB (0 turns the cache off), got "${size}"`);
  const dir = stringOpt(ctx, 'deb-cache-dir');
  return {
    dir: dir === undefined ? defaultCacheDir(ctx.env, 'debs') : resolve(ctx.cwd, dir),
    maxBytes: size === undefined ? DEFAULT_DEB_CACHE_MAX_BYTES : Number(size) * 1024 * 1024,
  };
}

function baseCacheFromFlags(ctx: CommandContext): { baseCacheDir?: string } {
  if (boolOpt(ctx, 'no-base-cache')) return {};
  const dir = stringOpt(ctx, 'base-cache-dir');
  return { baseCacheDir: dir === undefined ? defaultCacheDir(ctx.env, 'base-layers') : resolve(ctx.cwd, dir) };
}

export function parseSourceDateEpoch(value: string | undefined, from: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError('BAD_OPTION', `${from}: expected seconds since the epoch, got "${value}"`);
  return Number(value);
}

export function buildSummary(r: BuildResult) {
  const p = r.report;
  return {
    name: p.recipe.name,
    version: p.recipe.version,
    layout: p.layoutDir,
    ref: p.ref,
    digest: p.manifestDigest,
    packages: p.packageCount,
    sourceDateEpoch: p.sourceDateEpoch,
    platforms: p.platforms,
    parents: r.parents.map((x) => ({ name: x.recipe.name, digest: x.manifestDigest })),
    stages: p.stages,
  };
}

async function signingFromFlags(ctx: CommandContext): Promise<SigningOptions | undefined> {
  const keyFile = stringOpt(ctx, 'key');
  const identities = listOpt(ctx, 'identity');
  const sbomFormat = stringOpt(ctx, 'sbom-format') ?? 'spdx';
  if (!SBOM_FORMATS.includes(sbomFormat as SbomFormat)) {
    throw new UsageError('BAD_OPTION', `--sbom-format: expected ${SBOM_FORMATS.join(' or ')}, got "${sbomFormat}"`);
  }
  if (keyFile === undefined) {
    if (identities.length > 0) throw new UsageError('MISSING_ARGUMENT', '--identity needs --key <secret.asc>');
    return undefined;
  }
  const key = await signingKeyFromFile(ctx, keyFile);
  const ci = ciInvocation(ctx.env);
  return {
    key,
    identities,
    sbomFormat: sbomFormat as SbomFormat,
    creator: signatureCreator(),
    builder: { id: ci.builderId, version: imgfactoryVersion() },
    ...(ci.invocationId ? { invocationId: ci.invocationId } : {}),
    displayBase: ctx.cwd,
  };
}

export const buildCommand: Command = {
  name: 'build',
  summary: 'Build a recipe into a reproducible OCI image layout (needs root)',
  help: `Usage: imgfactory build <recipe.ts> [options]

Bootstraps the recipe's suite from the Debian archive, verifies the archive's signatures
against keys/debian, builds each recipe layer, audits every installed package against the
verified indexes, and writes an OCI image layout to <out>/<recipe name>/ (tagged with the
recipe version) with packages.json (the verified package manifest) and build.json beside it.
A recipe with from: builds on its parent's image (built first if out/<parent> is missing).

Options:
  --out <dir>                 output directory (default: ./out)
  --work-dir <dir>            where root filesystems are assembled (default: /var/tmp/imgfactory)
  --mirror <url>              Debian mirror (default: the recipe's, else the host's apt sources)
  --security-mirror <url>     security mirror (default: likewise)
  --bootstrapper <name>       mmdebstrap (default) or debootstrap
  --arch <a>                  build only this one of the recipe's architectures (repeatable or
                              comma-separated; for local work: no lock is written, no --push)
  --source-date-epoch <s>     clamp timestamps (default: $SOURCE_DATE_EPOCH, else the newest
                              verified Release Date)
  --rootfs <file.tar>         also write the flattened root filesystem as a tarball (unsigned;
                              \`imgfactory export --format rootfs\` writes a signed one); one
                              architecture's: with a multi-arch recipe, add --arch
  --keys-dir <dir>            pinned archive keys (default: the package's keys/debian)
  --deb-cache-dir <dir>       verified package cache: .debs by the SHA-256 of the signed index,
                              re-hashed before each use (default: $XDG_CACHE_HOME/imgfactory/debs)
  --deb-cache-size <MiB>      bound of the package cache, least recently used out first
                              (default: 2048; 0 turns the cache off)
  --base-cache-dir <dir>      base-layer cache: the bootstrap layer kept under a key of every
                              input that makes its bytes (archive InReleases, mirrors, keys,
                              bootstrapper, epoch, ...), re-hashed before reuse; at most 8
                              entries (default: $XDG_CACHE_HOME/imgfactory/base-layers)
  --no-base-cache             always bootstrap (neither use nor fill the base-layer cache)
  --rebuild-parents           rebuild from: parents even when already built
  --keep-work                 keep the work directory (for debugging)
  --key <secret.asc>          sign the image and attach an SBOM and SLSA provenance (passphrase
                              from $IMGFACTORY_KEY_PASSPHRASE or --passphrase-file)
  --identity <registry/repo:tag>
                              reference to sign (repeatable; default: the recipe's publish tags
                              plus its write-once version tag <version>-<YYYYMMDD>.<digest>)
  --sbom-format <f>           spdx (default) or cyclonedx
  --passphrase-file <file>    file holding the signing key's passphrase
  --push                      push the signed image (and parents built on the way) to the
                              signed identities; needs --key. Credentials: docker config or
                              $IMGFACTORY_REGISTRY_USER / $IMGFACTORY_REGISTRY_PASSWORD
  --lookaside-dir <dir>       with --push: also write signatures to this lookaside store
  --ca-file <pem>             with --push: trust this CA for the registry's TLS certificate
  --insecure                  with --push: plain HTTP to the registry (never used unless asked)
  --if-changed                check first (see imgfactory check): when the lock is up to date,
                              print "up to date", write nothing and exit 0; otherwise build
  --json                      print a summary (digest, layers, sizes, seconds per stage)

Every successful build writes <recipe>.lock.json beside the recipe (and beside each parent
built on the way): see imgfactory lock. --no-lock skips that (a scratch build of a recipe
whose lock should not move).`,
  options: {
    out: { type: 'string' },
    'work-dir': { type: 'string' },
    mirror: { type: 'string' },
    'security-mirror': { type: 'string' },
    bootstrapper: { type: 'string' },
    arch: { type: 'string', multiple: true },
    'source-date-epoch': { type: 'string' },
    rootfs: { type: 'string' },
    'keys-dir': { type: 'string' },
    'deb-cache-dir': { type: 'string' },
    'deb-cache-size': { type: 'string' },
    'base-cache-dir': { type: 'string' },
    'no-base-cache': { type: 'boolean' },
    'rebuild-parents': { type: 'boolean' },
    'keep-work': { type: 'boolean' },
    key: { type: 'string' },
    identity: { type: 'string', multiple: true },
    'sbom-format': { type: 'string' },
    'passphrase-file': { type: 'string' },
    push: { type: 'boolean' },
    'lookaside-dir': { type: 'string' },
    'ca-file': { type: 'string' },
    insecure: { type: 'boolean' },
    'if-changed': { type: 'boolean' },
    'no-lock': { type: 'boolean' },
  },
  minPositionals: 1,
  async run(ctx) {
    // Before the root check: a scheduled job's "nothing changed" needs no privileges.
    if (boolOpt(ctx, 'if-changed') && (await ifChanged(ctx)) === 'up-to-date') return 0;
    // A flag that is wrong says so with or without privileges.
    const mirrors = mirrorFlags(ctx, 'build');
    if (process.getuid?.() !== 0) {
      throw new UsageError('NOT_ROOT', 'build needs root (the bootstrapper, chroot and mounts): run it with sudo');
    }
    const bootstrapper = parseBootstrapper(stringOpt(ctx, 'bootstrapper'));
    const sde =
      parseSourceDateEpoch(stringOpt(ctx, 'source-date-epoch'), '--source-date-epoch') ?? parseSourceDateEpoch(ctx.env.SOURCE_DATE_EPOCH, 'SOURCE_DATE_EPOCH');
    const signing = await signingFromFlags(ctx);
    const push = boolOpt(ctx, 'push');
    const onlyArchitectures = listOpt(ctx, 'arch').flatMap((a) =>
      a
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    );
    if (onlyArchitectures.length > 0 && push) {
      throw new UsageError('BAD_OPTION', '--arch builds part of the recipe: push the full build (without --arch) instead');
    }
    if (push && !signing) throw new UsageError('MISSING_ARGUMENT', '--push needs --key: imgfactory never pushes an unsigned image');
    const progress = createProgress(ctx.io);
    const { signal, dispose } = abortOnSignals(ctx.io);
    try {
      const rootfs = stringOpt(ctx, 'rootfs');
      const result = await buildRecipe({
        recipeFile: resolve(ctx.cwd, ctx.positionals[0]!),
        outDir: resolve(ctx.cwd, stringOpt(ctx, 'out') ?? 'out'),
        workDir: resolve(ctx.cwd, stringOpt(ctx, 'work-dir') ?? '/var/tmp/imgfactory'),
        keysDir: resolve(ctx.cwd, stringOpt(ctx, 'keys-dir') ?? DEFAULT_DEBIAN_KEYS_DIR),
        archiveCacheDir: defaultCacheDir(ctx.env, 'archive'),
        debCache: debCacheFromFlags(ctx),
        ...baseCacheFromFlags(ctx),
        hostArch: hostDebianArch(process.arch),
        ...(onlyArchitectures.length > 0 ? { architectures: onlyArchitectures } : {}),
        ...mirrors,
        hostMirrors: () => hostArchiveMirrors(),
        sourceDateEpoch: sde,
        bootstrapper,
        rootfsTar: rootfs === undefined ? undefined : resolve(ctx.cwd, rootfs),
        rebuildParents: boolOpt(ctx, 'rebuild-parents'),
        keepWork: boolOpt(ctx, 'keep-work'),
        signing,
        env: ctx.env,
        signal,
        onEvent: (e) => {
          if (e.toolLine !== undefined) {
            if (boolOpt(ctx, 'debug')) progress.info(e.toolLine);
          } else progress.stage(e.stage, e.message);
        },
      });
      // A lock records every architecture of the recipe: a partial (--arch) build must not move it.
      const lockFiles =
        boolOpt(ctx, 'no-lock') || onlyArchitectures.length > 0
          ? []
          : await writeBuildLocks(result, {
              keysDir: resolve(ctx.cwd, stringOpt(ctx, 'keys-dir') ?? DEFAULT_DEBIAN_KEYS_DIR),
              hostArch: hostDebianArch(process.arch),
              output: { bootstrapper },
            });
      for (const f of lockFiles) progress.info(`lock written: ${f}`);
      const lookasideDir = stringOpt(ctx, 'lookaside-dir');
      const caFile = stringOpt(ctx, 'ca-file');
      const published = push
        ? await publishBuild(result, {
            env: ctx.env,
            ...(lookasideDir ? { lookasideDir: resolve(ctx.cwd, lookasideDir) } : {}),
            ...(caFile ? { caFile: resolve(ctx.cwd, caFile) } : {}),
            ...(boolOpt(ctx, 'insecure') ? { insecure: true } : {}),
            signal,
            // Its own stage name: these lines come from the push, not from whatever ran last.
            onProgress: (e) => {
              const line = formatRegistryProgress(e);
              if (line !== undefined) progress.stage('push', line);
            },
          })
        : [];
      const s = {
        ...buildSummary(result),
        // The target's version tag and rollback command, for CI (scheduled.yml's report fragment).
        ...(published.length > 0
          ? publishedVersion(published.at(-1)!.result.tagged, published.at(-1)!.result.versions.channelsBefore, published.at(-1)!.result.manifestDigest)
          : {}),
        pushed: published.map((p) => ({
          name: p.name,
          targets: p.targets,
          blobsUploaded: p.result.blobsUploaded,
          blobsMounted: p.result.blobsMounted,
          blobsSkipped: p.result.blobsSkipped,
          bytesUploaded: p.result.bytesUploaded,
        })),
      };
      if (ctx.json) printJson(ctx.io, s);
      else {
        ctx.io.out(`${s.name}@${s.version}: ${s.digest}`);
        ctx.io.out(`  layout   ${s.layout} (tag ${s.ref})`);
        ctx.io.out(`  packages ${s.packages} (all proven against signed indexes)`);
        if (result.report.signed) ctx.io.out(`  signed   ${result.report.signed.identities.join(', ')} by ${result.report.signed.signer}`);
        for (const p of s.pushed) {
          ctx.io.out(`  pushed   ${p.targets.join(', ')} (${p.blobsUploaded} blobs uploaded, ${p.blobsMounted} mounted, ${p.blobsSkipped} already there)`);
        }
        if (s.versionTag) ctx.io.out(`  version  ${s.versionTag} (write-once)`);
        if (s.rollback) ctx.io.out(`  undo     ${s.rollback}`);
        for (const p of s.platforms) {
          for (const l of p.layers) {
            ctx.io.out(
              `  layer    ${l.digest.slice(7, 19)} ${(l.size / 1e6).toFixed(1).padStart(6)} MB${l.inherited ? ' (from parent)' : ''}  ${l.createdBy.slice(0, 70)}`,
            );
          }
        }
      }
      return 0;
    } catch (e) {
      if (signal.aborted) {
        throw new BuildError(
          'BUILD_INTERRUPTED',
          `interrupted by ${String((signal.reason as Error)?.message ?? 'a signal')}; mounts and temporary files were cleaned up, nothing was written`,
          { cause: e },
        );
      }
      throw e;
    } finally {
      dispose();
    }
  },
};
