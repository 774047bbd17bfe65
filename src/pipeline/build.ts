/**
 * `build`: recipe → verified archive → root filesystem and layers → audit → OCI layout.
 * The output appears all at once: everything is written under a temporary directory beside
 * `out/<name>` and renamed into place only after the audit passed; a failed or interrupted
 * build leaves no half-written image and no mounts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { auditRootfs, fetchVerifiedArchive, loadPinnedKeys, writeBootstrapKeyring, type VerifiedArchive } from '../archive/index.js';
import type { VerifiedPackageManifest } from '../archive/package-manifest.js';
import { bootstrapEnv, type Bootstrapper } from '../bootstrap/debootstrap.js';
import { BuildError, UsageError } from '../errors.js';
import { buildImageConfig } from '../image/config.js';
import { imageAnnotations } from '../image/manifest.js';
import { writeImage, type PlatformImage } from '../image/write-image.js';
import { packRootfsTar } from '../layer/index.js';
import type { Digest } from '../oci/digest.js';
import * as layout from '../oci/layout.js';
import type { LayerInfo } from '../oci/types.js';
import { loadRecipeChain } from '../recipe/load.js';
import type { Recipe } from '../recipe/types.js';
import { signAndAttest, type SigningOptions } from './attest.js';
import { buildRootfs } from './rootfs.js';
import { diskFullOr } from '../bootstrap/fs-error.js';
import { StageClock, type OnBuildEvent, type StageTiming } from './stages.js';

export interface BuildOptions {
  readonly recipeFile: string;
  /** Images go to `<outDir>/<recipe name>/`. */
  readonly outDir: string;
  /** Root filesystems are assembled under here (needs room for a few hundred MB). */
  readonly workDir: string;
  readonly keysDir: string;
  readonly archiveCacheDir: string;
  readonly hostArch: string;
  /** Mirrors from flags; they win over the recipe's, which win over the host's apt configuration. */
  readonly mirror?: string;
  readonly securityMirror?: string;
  /** The host's apt mirrors, asked only when neither flags nor recipe name one. */
  readonly hostMirrors: () => Promise<{ readonly mirror: string; readonly securityMirror: string }>;
  /** Clamp for every timestamp; default: the newest verified Release `Date`. */
  readonly sourceDateEpoch?: number;
  readonly bootstrapper?: Bootstrapper;
  /** Also write the flattened root filesystem as a deterministic tarball here. */
  readonly rootfsTar?: string;
  /** Build the `from:` parent even when out/<parent> exists. */
  readonly rebuildParents?: boolean;
  readonly keepWork?: boolean;
  /** Sign the image and attach SBOM + provenance (parents built on the way too, with their publish identities). */
  readonly signing?: SigningOptions;
  readonly now?: () => Date;
  /** The host environment, read once by the caller; only PATH and proxies reach the tools. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
  readonly onEvent?: OnBuildEvent;
}

export interface BuildLayerSummary {
  readonly digest: Digest;
  readonly diffId: Digest;
  readonly size: number;
  readonly uncompressedSize: number;
  readonly createdBy: string;
  /** Taken unchanged from the parent image. */
  readonly inherited: boolean;
}

export interface BuildReport {
  readonly schemaVersion: 1;
  readonly recipe: { readonly name: string; readonly version: string; readonly file: string; readonly sha256: string };
  readonly layoutDir: string;
  readonly ref: string;
  readonly manifestDigest: Digest;
  readonly platforms: readonly { readonly architecture: string; readonly manifestDigest: Digest; readonly layers: readonly BuildLayerSummary[] }[];
  readonly packageCount: number;
  readonly sourceDateEpoch: number;
  readonly mirror: string;
  readonly securityMirror: string;
  /** Blob bytes depend on the gzip implementation: Node's bundled zlib. */
  readonly toolchain: { readonly node: string; readonly zlib: string };
  readonly parent?: { readonly name: string; readonly manifestDigest: Digest };
  /** Present when the build signed the image. */
  readonly signed?: { readonly signer: string; readonly identities: readonly string[] };
  readonly startedOn: string;
  readonly finishedOn: string;
  readonly stages: readonly StageTiming[];
}

export const PACKAGES_FILE = 'packages.json';
export const REPORT_FILE = 'build.json';

export interface BuildResult {
  readonly report: BuildReport;
  readonly packageManifest: VerifiedPackageManifest;
  readonly recipe: Recipe;
  /** Reports of parents built on the way (root first). */
  readonly parents: readonly BuildReport[];
}

async function readReport(dir: string): Promise<BuildReport | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, REPORT_FILE), 'utf8')) as BuildReport;
  } catch {
    return undefined;
  }
}

/** Build a recipe (and, when needed, its `from:` parents first). */
export async function buildRecipe(options: BuildOptions): Promise<BuildResult> {
  const chain = await loadRecipeChain(options.recipeFile, { hostArch: options.hostArch });
  const parents: BuildReport[] = [];
  let parent: { recipe: Recipe; report: BuildReport } | undefined;
  for (const [i, recipe] of chain.entries()) {
    const isTarget = i === chain.length - 1;
    if (!isTarget) {
      const existing = await readReport(join(options.outDir, recipe.name));
      // Reuse a parent built from the same recipe bytes: its layers must stay byte-identical.
      if (existing && existing.recipe.sha256 === recipe.fileSha256 && !options.rebuildParents) {
        options.onEvent?.({ stage: 'parent', message: `reusing ${existing.layoutDir} (${existing.manifestDigest})` });
        parent = { recipe, report: existing };
        continue;
      }
    }
    const result = await buildOne(recipe, parent, {
      ...options,
      rootfsTar: isTarget ? options.rootfsTar : undefined,
      // --identity names the target; parents are signed for the references they publish.
      signing: options.signing && !isTarget ? { ...options.signing, identities: undefined } : options.signing,
    });
    if (isTarget) return { ...result, parents };
    parents.push(result.report);
    parent = { recipe, report: result.report };
  }
  throw new BuildError('IMAGE_INVALID', 'empty recipe chain');
}

async function buildOne(recipe: Recipe, parent: { recipe: Recipe; report: BuildReport } | undefined, options: BuildOptions): Promise<Omit<BuildResult, 'parents'>> {
  const now = options.now ?? (() => new Date());
  const startedOn = now().toISOString();
  const clock = new StageClock(options.onEvent);
  for (const arch of recipe.architectures) {
    if (arch !== options.hostArch) {
      throw new UsageError('BAD_OPTION', `${recipe.name}: architecture ${arch} differs from the build host (${options.hostArch}); build it on a ${arch} host or in a matrix job`);
    }
  }
  if (parent && parent.recipe.suite !== recipe.suite) {
    throw new UsageError('BAD_OPTION', `${recipe.name}: suite ${recipe.suite} differs from its parent's (${parent.recipe.suite})`);
  }

  const flagOrRecipe = { mirror: options.mirror ?? recipe.mirror, securityMirror: options.securityMirror ?? recipe.securityMirror };
  const host = flagOrRecipe.mirror === undefined || flagOrRecipe.securityMirror === undefined ? await options.hostMirrors() : undefined;
  const mirror = flagOrRecipe.mirror ?? host!.mirror;
  const securityMirror = flagOrRecipe.securityMirror ?? host!.securityMirror;

  const keys = await loadPinnedKeys(options.keysDir);
  const archive: VerifiedArchive = await clock.time('archive', `verifying ${recipe.suite} indexes against keys/`, () =>
    fetchVerifiedArchive({
      mirror,
      securityMirror,
      suite: recipe.suite,
      components: recipe.components,
      architectures: recipe.architectures,
      updates: recipe.updates,
      cacheDir: options.archiveCacheDir,
      keys,
      now: now(),
    }),
  );
  const sourceDateEpoch = options.sourceDateEpoch ?? Math.floor(archive.newestReleaseDate.getTime() / 1000);
  const created = new Date(sourceDateEpoch * 1000).toISOString().replace('.000Z', 'Z');

  await mkdir(options.workDir, { recursive: true });
  const work = await mkdtemp(join(options.workDir, `${recipe.name}-`));
  await mkdir(options.outDir, { recursive: true });
  const finalDir = join(options.outDir, recipe.name);
  const tmpOut = join(options.outDir, `.tmp-${recipe.name}-${randomBytes(4).toString('hex')}`);
  try {
    const keyring = join(work, 'archive-keyring.gpg');
    await writeBootstrapKeyring(keys, keyring);
    const blobDir = join(work, 'blobs');
    await mkdir(blobDir);

    const parentImage = parent ? await layout.readImage(parent.report.layoutDir, parent.report.ref) : undefined;
    const images: PlatformImage[] = [];
    const platformLayers: BuildLayerSummary[][] = [];
    let packageManifest: VerifiedPackageManifest | undefined;
    for (const arch of recipe.architectures) {
      const root = join(work, `rootfs-${arch}`);
      await mkdir(root);
      const built = await buildRootfs({
        recipe,
        arch,
        root,
        blobDir,
        mirror,
        securityMirror,
        keyring,
        bootstrapper: options.bootstrapper ?? 'debootstrap',
        sourceDateEpoch,
        parent: parent ? { layoutDir: parent.report.layoutDir, ref: parent.report.ref } : undefined,
        toolEnv: bootstrapEnv(options.env ?? {}),
        clock,
        signal: options.signal,
      });
      packageManifest = await clock.time('audit', `proving every installed package against the verified indexes`, async () => {
        const parentPackages = parent
          ? (JSON.parse(await readFile(join(parent.report.layoutDir, PACKAGES_FILE), 'utf8')) as VerifiedPackageManifest)
          : undefined;
        return auditRootfs({ rootfs: root, archive, debFiles: built.debFiles, inherited: parentPackages });
      });
      if (options.rootfsTar) {
        await clock.time('rootfs-tar', options.rootfsTar, () =>
          packRootfsTar({ root, snapshot: built.finalSnapshot, sourceDateEpoch, outFile: options.rootfsTar! }),
        );
      }
      const inheritedLayers: (LayerInfo & { createdBy: string })[] = parentImage
        ? parentImage.manifest.layers.map((d, i) => ({
            digest: d.digest,
            diffId: parentImage.config.rootfs.diff_ids[i]!,
            size: d.size,
            uncompressedSize: 0,
            mediaType: d.mediaType,
            path: layout.blobPath(parent!.report.layoutDir, d.digest),
            createdBy: parentImage.config.history?.[i]?.created_by ?? '',
          }))
        : [];
      const allLayers = [...inheritedLayers, ...built.layers];
      const config = buildImageConfig({
        debianArch: arch,
        config: recipe.config,
        created,
        layers: allLayers.map((l) => ({ diffId: l.diffId, createdBy: l.createdBy })),
      });
      images.push({ debianArch: arch, config, layers: allLayers });
      const parentLayers = parent?.report.platforms.find((p) => p.architecture === arch)?.layers ?? [];
      platformLayers.push(
        allLayers.map((l, i) => ({
          digest: l.digest,
          diffId: l.diffId,
          size: l.size,
          uncompressedSize: i < inheritedLayers.length ? (parentLayers[i]?.uncompressedSize ?? 0) : l.uncompressedSize,
          createdBy: l.createdBy,
          inherited: i < inheritedLayers.length,
        })),
      );
    }

    const written = await clock.time('image', `writing OCI layout`, () =>
      writeImage(
        tmpOut,
        images,
        recipe.version,
        imageAnnotations({
          title: recipe.name,
          version: recipe.version,
          created,
          description: recipe.description,
          baseName: parent ? parentReference(parent.recipe) : `debian:${recipe.suite}`,
          baseDigest: parent?.report.manifestDigest,
        }),
      ),
    );
    const finishedOn = now().toISOString();
    const signed = options.signing
      ? await clock.time('sign', 'signature, SBOM and provenance', () =>
          signAndAttest({
            layoutDir: tmpOut,
            ref: recipe.version,
            recipe,
            packageManifest: packageManifest!,
            keysDir: options.keysDir,
            mirror,
            securityMirror,
            startedOn,
            finishedOn,
            now: now(),
            signing: options.signing!,
          }),
        )
      : undefined;
    const report: BuildReport = {
      schemaVersion: 1,
      recipe: { name: recipe.name, version: recipe.version, file: recipe.file, sha256: recipe.fileSha256 },
      layoutDir: finalDir,
      ref: recipe.version,
      manifestDigest: written.descriptor.digest,
      platforms: written.manifests.map((m, i) => ({ architecture: m.debianArch, manifestDigest: m.descriptor.digest, layers: platformLayers[i]! })),
      packageCount: packageManifest!.packages.length,
      sourceDateEpoch,
      mirror,
      securityMirror,
      toolchain: { node: process.version, zlib: process.versions.zlib ?? 'unknown' },
      ...(parent ? { parent: { name: parent.recipe.name, manifestDigest: parent.report.manifestDigest } } : {}),
      ...(signed ? { signed } : {}),
      startedOn,
      finishedOn,
      stages: clock.timings,
    };
    await writeFile(join(tmpOut, PACKAGES_FILE), `${JSON.stringify(packageManifest, null, 2)}\n`);
    await writeFile(join(tmpOut, REPORT_FILE), `${JSON.stringify(report, null, 2)}\n`);
    await replaceDir(tmpOut, finalDir);
    return { report, packageManifest: packageManifest!, recipe };
  } catch (e) {
    throw await diskFullOr(e, work); // ENOSPC anywhere in the build: a typed one-line error, not an internal one
  } finally {
    await rm(tmpOut, { recursive: true, force: true });
    if (!options.keepWork) await rm(work, { recursive: true, force: true });
  }
}

/** The name a child records as its base: the parent's first published reference, else name:version. */
function parentReference(r: Recipe): string {
  return r.publish ? `${r.publish.repository}:${r.publish.tags[0]}` : `${r.name}:${r.version}`;
}

/** Swap `from` into `to` with renames only, so `to` is never half-written. */
async function replaceDir(from: string, to: string): Promise<void> {
  const old = `${to}.old-${randomBytes(4).toString('hex')}`;
  const hadOld = await rename(to, old).then(() => true, () => false);
  await rename(from, to);
  if (hadOld) await rm(old, { recursive: true, force: true });
}
