import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ExitStatus, UsageError } from '../../errors.js';
import { verifyLayoutAndSbom } from '../../verify/verify-layout.js';
import { checkRecipe, type CheckOptions, type RecipeCheck } from '../../update/check.js';
import { checkImagePackages } from '../../update/check-image.js';
import type { Change } from '../../update/resolve.js';
import { displayPath } from '../../recipe/load.js';
import { listOpt, printJson, stringOpt, type Command, type CommandContext } from '../command.js';
import { verificationKeysFromFiles } from './key-flags.js';
import { REGISTRY_OPTIONS, REGISTRY_OPTIONS_HELP } from './registry-flags.js';
import { namesRegistryHost } from './image-source.js';
import { signatureBeforeLayers, verifyInRegistry } from './verify.js';
import { Layout } from '../../oci/layout.js';
import { createProgress } from '../progress.js';
import { expandRecipeArgs } from './recipe-args.js';
import { checkOptionsFromFlags, UPDATE_OPTIONS, UPDATE_OPTIONS_HELP } from './update-flags.js';

export const checkCommand: Command = {
  name: 'check',
  summary: 'Tell whether images have updates (security ones marked), from the signed indexes alone',
  help: `Usage: imgfactory check <recipe.ts|dir|registry/repo:tag>... [options] [--json]

For each recipe, compares its lock (<recipe>.lock.json, written by build and by
\`imgfactory lock\`) with the archive now. First only the InRelease files are fetched and
verified, exactly as a build verifies them (every signature, Valid-Until); when each one is
byte-identical to the lock's, the recipe is up to date and no Packages index is downloaded.
Otherwise the verified indexes are read and every locked package is resolved to the version
apt would install now (the highest over <suite>, -updates and -security). A newer version
from <suite>-security is a security update. Also reported: packages gone from the archive,
a changed recipe (its file, its imports, the files it copies), a parent whose published
digest moved, changed pinned keys.

A registry reference is the consumer's question "is the image I run stale?": the image is
fetched as \`verify\` fetches it, its signature, provenance and SBOM are verified with --key,
and the packages its SBOM lists are compared with the current indexes of its suite,
-updates and -security. No recipe or lock is needed.

Exit status: 0 every image up to date, 100 updates exist (like dnf check-update),
1 the archive failed verification, 2 a missing, corrupt or foreign lock, 5 network.

Options:
${UPDATE_OPTIONS_HELP}
  --lock <file>             lock file to compare with (one recipe only; default: beside it)
  --key <public.asc>        registry references: the key the image must be signed with
                            (repeatable)
  --identity <ref>          registry references: the identity the signature must name
                            (default: the reference as given)
${REGISTRY_OPTIONS_HELP}
  --json                    one object per recipe with every change`,
  options: { ...UPDATE_OPTIONS, ...REGISTRY_OPTIONS, lock: { type: 'string' }, key: { type: 'string', multiple: true }, identity: { type: 'string' } },
  minPositionals: 1,
  async run(ctx) {
    const progress = createProgress(ctx.io, !ctx.json);
    const options = await checkOptionsFromFlags(ctx, (m) => progress.info(m));
    const local: string[] = [];
    const images: string[] = [];
    // The one rule of src/cli/commands/image-source.ts: an existing path is local, a reference
    // that names its registry host (or docker://…) is a registry image, anything else is a
    // missing recipe, never a download.
    for (const arg of ctx.positionals) {
      if (arg.startsWith('docker://')) images.push(arg.slice('docker://'.length));
      else if (
        await stat(resolve(ctx.cwd, arg)).then(
          () => true,
          () => false,
        )
      )
        local.push(arg);
      else if (namesRegistryHost(arg) && !arg.endsWith('.ts')) images.push(arg);
      else local.push(arg); // reported as RECIPE_NOT_FOUND by expandRecipeArgs
    }
    const files = await expandRecipeArgs(local, ctx.cwd);
    const lockFile = stringOpt(ctx, 'lock');
    const results: RecipeCheck[] = [];
    for (const file of files) {
      progress.stage('check', displayPath(file, ctx.cwd));
      results.push(await checkRecipe(file, { ...options, ...(lockFile && files.length === 1 ? { lockFile } : {}) }));
    }
    for (const image of images) {
      progress.stage('check', image);
      results.push(await checkRegistryImage(ctx, image, options));
    }
    printCheck(ctx, results);
    return results.every((r) => r.upToDate) ? ExitStatus.ok : ExitStatus.updatesAvailable;
  },
};

/** Fetch as verify does, verify signature + provenance + SBOM with --key, then compare the SBOM's packages. */
async function checkRegistryImage(ctx: CommandContext, image: string, options: CheckOptions): Promise<RecipeCheck> {
  const keyFiles = listOpt(ctx, 'key');
  if (keyFiles.length === 0) throw new UsageError('MISSING_ARGUMENT', `check ${image}: a registry image needs --key <public.asc> to verify it with`);
  const keys = await verificationKeysFromFiles(ctx, keyFiles);
  const identity = stringOpt(ctx, 'identity');
  const { manifestDigest, purls } = await verifyInRegistry(
    ctx,
    image,
    async (dir, pulledAs) => {
      const { report, sbom } = await verifyLayoutAndSbom({ layout: await Layout.open(dir), keys, identity: identity ?? pulledAs });
      // The SBOM verifyLayout matched against the signed provenance, not just any attached one.
      return { manifestDigest: report.manifestDigest, purls: (sbom?.packages ?? []).map((p) => p.purl) };
    },
    signatureBeforeLayers(keys, identity),
  );
  return checkImagePackages(image, manifestDigest, purls, options);
}

export function printCheck(ctx: CommandContext, results: readonly RecipeCheck[]): void {
  if (ctx.json) {
    printJson(ctx.io, {
      upToDate: results.every((r) => r.upToDate),
      images: results.map((r) => ({
        ...r,
        ...(r.file ? { file: displayPath(r.file, ctx.cwd) } : {}),
        ...(r.lockFile ? { lockFile: displayPath(r.lockFile, ctx.cwd) } : {}),
      })),
    });
    return;
  }
  for (const r of results) {
    ctx.io.out(r.upToDate ? `${r.recipe}: up to date` : `${r.recipe}: ${r.updates} update${r.updates === 1 ? '' : 's'}, ${r.security} security`);
    const rows = r.changes.map(changeRow);
    if (rows.length === 0) continue;
    const header = ['CHANGE', 'WHAT', 'FROM', 'TO', 'SUITE'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    for (const row of [header, ...rows])
      ctx.io.out(
        `  ${row
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}`,
      );
  }
}

function changeRow(c: Change): string[] {
  switch (c.kind) {
    case 'package':
      return [c.security ? 'security' : c.direction, `${c.package}:${c.architecture}`, c.oldVersion, c.newVersion, c.suite];
    case 'vanished':
      return ['vanished', `${c.package}:${c.architecture}`, c.oldVersion, '-', '-'];
    case 'recipe':
      return ['recipe', 'recipe digest', c.oldDigest.slice(0, 19), c.newDigest.slice(0, 19), '-'];
    case 'parent':
      return ['parent', c.parent, (c.oldDigest ?? 'none').slice(0, 19), (c.newDigest ?? 'none').slice(0, 19), '-'];
    case 'keys':
      return ['keys', 'pinned archive keys', c.removed.join(',') || '-', c.added.join(',') || '-', '-'];
  }
}
