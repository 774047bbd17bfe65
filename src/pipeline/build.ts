/**
 * `build`: recipe → verified archive → root filesystem and layers → audit → OCI layout.
 * The output appears all at once (src/pipeline/output.ts): a failed or interrupted build leaves
 * no half-written image and no mounts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { auditRootfs, fetchVerifiedArchive, loadPinnedKeySet, writeAptLists, writeBootstrapKeyring, type VerifiedArchive } from '../archive/index.js';
import { DebCache, type DebCacheOptions } from '../archive/deb-cache.js';
import { requireAuditedDebs } from './audited-debs.js';
import type { PinnedKey } from '../archive/pinned-keys.js';
import { mergePackageManifests, type VerifiedPackageManifest } from '../archive/package-manifest.js';
import { lookupForArchitecture } from '../archive/archive-lookup.js';
import { bootstrapEnv, DEFAULT_BOOTSTRAPPER, type Bootstrapper } from '../bootstrap/debootstrap.js';
import { ensureArchitecturesRunnable, type BinfmtHost } from '../bootstrap/foreign-arch.js';
import { BuildError, UsageError } from '../errors.js';
import { mirrorUrlProblem } from '../archive/mirror-url.js';
import { buildImageConfig } from '../image/config.js';
import { imageAnnotations } from '../image/manifest.js';
import { writeImage, type PlatformImage } from '../image/write-image.js';
import { packRootfsTar } from '../layer/index.js';
import { Layout } from '../oci/layout.js';
import type { LayerInfo } from '../oci/types.js';
import { loadRecipeChain } from '../recipe/load.js';
import type { Recipe } from '../recipe/types.js';
import { signAndAttest, type SigningOptions } from './attest.js';
import { readReport, replaceDir, writeBuildFiles, type BuildLayerSummary, type BuildReport } from '../image/build-output.js';
import { parentRejection, verifyParent, type VerifiedParent } from './parent.js';
import { buildRootfs } from './rootfs.js';
import { BaseLayerCache } from './base-cache.js';
import { diskFullOr } from '../bootstrap/fs-error.js';
import { StageClock, type OnBuildEvent } from './stages.js';

export { PACKAGES_FILE, REPORT_FILE, type BuildLayerSummary, type BuildReport } from '../image/build-output.js';

export interface BuildOptions {
  readonly recipeFile: string;
  /** Images go to `<outDir>/<recipe name>/`. */
  readonly outDir: string;
  /** Root filesystems are assembled under here (needs room for a few hundred MB). */
  readonly workDir: string;
  readonly keysDir: string;
  readonly archiveCacheDir: string;
  /** The verified package cache (src/archive/deb-cache.ts); absent ⇒ every .deb is downloaded. */
  readonly debCache?: DebCacheOptions;
  /** The base-layer cache directory (src/pipeline/base-cache.ts); absent ⇒ every build bootstraps. */
  readonly baseCacheDir?: string;
  readonly hostArch: string;
  /**
   * Build only these of the recipe's architectures (`--arch`, for local work); each must be one
   * the recipe lists. Parents built on the way are restricted alike.
   */
  readonly architectures?: readonly string[];
  /** Where foreign architectures' qemu binfmt_misc entries are looked for (default: the kernel's). */
  readonly binfmtHost?: BinfmtHost;
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

export interface BuildResult {
  readonly report: BuildReport;
  readonly packageManifest: VerifiedPackageManifest;
  readonly recipe: Recipe;
  /** Reports of parents built on the way (root first). */
  readonly parents: readonly BuildReport[];
}

/** One verified archive per distinct source, shared by a recipe chain (parents are checked against it too). */
type ArchiveFor = (
  recipe: Recipe,
) => Promise<{ archive: VerifiedArchive; mirror: string; securityMirror: string; keys: PinnedKey[]; keyFiles: { path: string; sha256: string }[] }>;

/** Build a recipe (and, when needed, its `from:` parents first). */
export async function buildRecipe(options: BuildOptions): Promise<BuildResult> {
  // Mirror URLs end up in one-line formats (sources lines, the image's debian.sources): one URL, nothing else.
  for (const [name, value] of [
    ['mirror', options.mirror],
    ['securityMirror', options.securityMirror],
  ] as const) {
    const problem = value === undefined ? undefined : mirrorUrlProblem(value);
    if (problem) throw new UsageError('BAD_OPTION', `build: ${name}: ${problem}`, { details: { option: name } });
  }
  const chain = restrictArchitectures(await loadRecipeChain(options.recipeFile, { hostArch: options.hostArch }), options.architectures);
  // One tarball holds one tree: rather than write one architecture's and say nothing of the rest.
  const target = chain.at(-1)!;
  if (options.rootfsTar !== undefined && target.architectures.length > 1) {
    throw new UsageError(
      'BAD_OPTION',
      `--rootfs writes one architecture's root filesystem; ${target.name} builds ${target.architectures.join(', ')}: add --arch <one of them>`,
    );
  }
  // Before anything is fetched or written: every architecture of the chain must run on this host.
  await ensureArchitecturesRunnable([...new Set(chain.flatMap((r) => r.architectures))], options.hostArch, options.binfmtHost);
  const archiveFor = memoizedArchive(options);
  const parents: BuildReport[] = [];
  let parent: VerifiedParent | undefined;
  for (const [i, recipe] of chain.entries()) {
    const isTarget = i === chain.length - 1;
    const child = chain[i + 1];
    if (!isTarget && !options.rebuildParents) {
      const reused = await reusableParent(recipe, child!, archiveFor, options);
      if (reused) {
        parent = reused;
        continue;
      }
    }
    const result = await buildOne(recipe, parent, archiveFor, {
      ...options,
      rootfsTar: isTarget ? options.rootfsTar : undefined,
      // --identity names the target; parents are signed for the references they publish.
      signing: options.signing && !isTarget ? { ...options.signing, identities: undefined } : options.signing,
    });
    if (isTarget) return { ...result, parents };
    parents.push(result.report);
    const dir = join(options.outDir, recipe.name);
    parent = await verifyParent(dir, recipe, result.report, {
      architectures: child!.architectures,
      archive: (await archiveFor(recipe)).archive,
      signal: options.signal,
    });
  }
  throw new BuildError('IMAGE_INVALID', 'empty recipe chain');
}

/** The chain with each recipe limited to `only` (every one must be listed by the target recipe). */
function restrictArchitectures(chain: readonly Recipe[], only: readonly string[] | undefined): Recipe[] {
  if (!only || only.length === 0) return [...chain];
  const target = chain.at(-1)!;
  const unknown = only.filter((a) => !target.architectures.includes(a));
  if (unknown.length > 0) {
    throw new UsageError('BAD_OPTION', `--arch ${unknown.join(',')}: ${target.name} builds ${target.architectures.join(', ')} only`, {
      details: { option: '--arch', unknown, architectures: target.architectures },
    });
  }
  return chain.map((r) => ({ ...r, architectures: r.architectures.filter((a) => only.includes(a)) }));
}

/** A parent built earlier from the same recipe bytes, verified before it is trusted (src/pipeline/parent.ts). */
async function reusableParent(recipe: Recipe, child: Recipe, archiveFor: ArchiveFor, options: BuildOptions): Promise<VerifiedParent | undefined> {
  const dir = join(options.outDir, recipe.name);
  const report = await readReport(dir);
  // Its layers must stay byte-identical for the child: only a build of the same recipe bytes will do.
  if (!report || report.recipe?.sha256 !== recipe.fileSha256) return undefined;
  try {
    const { archive } = await archiveFor(recipe);
    const parent = await verifyParent(dir, recipe, report, {
      architectures: child.architectures,
      archive,
      ...(options.signing ? { trustedKeys: [options.signing.key.privateKey.toPublic()] } : {}),
      signal: options.signal,
    });
    options.onEvent?.({
      stage: 'parent',
      message: `reusing ${dir} (${report.manifestDigest}): blobs, packages${options.signing ? ' and signature' : ''} verified`,
    });
    return parent;
  } catch (e) {
    options.onEvent?.({ stage: 'parent', message: `not reusing ${dir}: ${parentRejection(e)}; rebuilding it` });
    return undefined;
  }
}

function memoizedArchive(options: BuildOptions): ArchiveFor {
  const cache = new Map<string, ReturnType<ArchiveFor>>();
  return (recipe) => {
    const mirror = options.mirror ?? recipe.mirror;
    const securityMirror = options.securityMirror ?? recipe.securityMirror;
    const key = JSON.stringify([mirror, securityMirror, recipe.suite, recipe.components, recipe.architectures, recipe.updates]);
    let p = cache.get(key);
    if (!p) {
      p = (async () => {
        const host = mirror === undefined || securityMirror === undefined ? await options.hostMirrors() : undefined;
        const resolved = { mirror: mirror ?? host!.mirror, securityMirror: securityMirror ?? host!.securityMirror };
        const { keys, files } = await loadPinnedKeySet(options.keysDir);
        const archive = await fetchVerifiedArchive({
          ...resolved,
          suite: recipe.suite,
          components: recipe.components,
          architectures: recipe.architectures,
          updates: recipe.updates,
          cacheDir: options.archiveCacheDir,
          keys,
          now: (options.now ?? (() => new Date()))(),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        return { archive, ...resolved, keys, keyFiles: files };
      })();
      cache.set(key, p);
    }
    return p;
  };
}

async function buildOne(
  recipe: Recipe,
  parent: VerifiedParent | undefined,
  archiveFor: ArchiveFor,
  options: BuildOptions,
): Promise<Omit<BuildResult, 'parents'>> {
  const now = options.now ?? (() => new Date());
  const startedOn = now().toISOString();
  const clock = new StageClock(options.onEvent);
  if (recipe.architectures.length === 0) throw new UsageError('BAD_OPTION', `${recipe.name}: no architecture left to build`);
  if (parent && parent.recipe.suite !== recipe.suite) {
    throw new UsageError('BAD_OPTION', `${recipe.name}: suite ${recipe.suite} differs from its parent's (${parent.recipe.suite})`);
  }
  const { archive, mirror, securityMirror, keys, keyFiles } = await clock.time('archive', `verifying ${recipe.suite} indexes against keys/`, () =>
    archiveFor(recipe),
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
    const debCache = options.debCache && options.debCache.maxBytes > 0 ? new DebCache(options.debCache) : undefined;
    const images: PlatformImage[] = [];
    const platformLayers: BuildLayerSummary[][] = [];
    const platformManifests: VerifiedPackageManifest[] = [];
    const buildRootManifests: VerifiedPackageManifest[] = [];
    let debsAudited = 0;
    // One cache for every architecture; the verified InReleases are part of each entry's key.
    const baseCache = options.baseCacheDir
      ? { cache: new BaseLayerCache(options.baseCacheDir), archiveState: archive.inReleases.map((r) => r.sha256) }
      : undefined;
    for (const arch of recipe.architectures) {
      const root = join(work, `rootfs-${arch}`);
      await mkdir(root);
      // One staging folder per architecture: debootstrap also downloads into it, and everything
      // in it is offered to this root, so another architecture's .debs must never be there.
      const debCacheDir = join(work, `debs-${arch}`);
      const archLookup = lookupForArchitecture(archive, arch);
      if (debCache) {
        const staged = await clock.time('deb-cache', `re-hashing cached ${arch} .debs the verified indexes list`, () =>
          debCache.stage(debCacheDir, archLookup, options.signal),
        );
        clock.event({
          stage: 'deb-cache',
          message: `${staged.staged} verified .debs (${(staged.stagedBytes / 1e6).toFixed(1)} MB) from the cache${staged.corrupt.length > 0 ? `; ${staged.corrupt.length} corrupt, deleted and downloaded again` : ''}`,
        });
      }
      // apt in this build reads the verified indexes themselves (no second fetch, no mirror race),
      // written when first needed: a build whose base layer comes from the cache and that installs
      // nothing never runs apt.
      const aptListsDir = join(work, `apt-lists-${arch}`);
      let aptListsWritten: Promise<string> | undefined;
      const aptLists = () =>
        (aptListsWritten ??= clock.time('apt-lists', `${arch} lists from the verified indexes`, async () => {
          await writeAptLists(archive, arch, aptListsDir);
          return aptListsDir;
        }));
      const parentImage = parent?.images.get(arch);
      if (parent && !parentImage) throw new BuildError('PARENT_NOT_BUILT', `${recipe.name}: the parent ${parent.recipe.name} has no ${arch} image`);
      const built = await buildRootfs({
        recipe,
        arch,
        root,
        blobDir,
        mirror,
        securityMirror,
        keyring,
        bootstrapper: options.bootstrapper ?? DEFAULT_BOOTSTRAPPER,
        aptLists,
        ...(debCache ? { debCacheDir } : {}),
        sourceDateEpoch,
        parent: parent ? { layoutDir: parent.dir, ref: parent.report.ref } : undefined,
        toolEnv: bootstrapEnv(options.env ?? {}),
        clock,
        signal: options.signal,
        ...(baseCache ? { baseCache } : {}),
      });
      // Each architecture is proven against its own indexes (and the `all` packages) only.
      const archArchive = { ...archive, ...archLookup, architectures: [arch] };
      const audit = (database: 'status' | 'status.d' | undefined) =>
        auditRootfs({
          rootfs: root,
          archive: archArchive,
          debFiles: built.debFiles,
          ...(database ? { database } : {}),
          ...(parent ? { inherited: parent.packages } : {}),
        });
      platformManifests.push(
        await clock.time('audit', `proving every installed ${arch} package against the verified ${arch} indexes`, () => audit(built.imageDatabase)),
      );
      // An image assembled from a package set: the build root's other packages shaped it too.
      const buildRootManifest = built.imageDatabase === 'status.d' ? await clock.time('audit-build-root', undefined, () => audit('status')) : undefined;
      if (buildRootManifest) buildRootManifests.push(buildRootManifest);
      requireAuditedDebs({
        recipeName: recipe.name,
        architecture: arch,
        manifest: buildRootManifest ?? platformManifests[platformManifests.length - 1]!,
        debsAudited: built.debFiles.length,
        ...(parent ? { inherited: parent.packages.packages } : built.reusedBasePackages ? { inherited: built.reusedBasePackages } : {}),
      });
      debsAudited += built.debFiles.length;
      // A cache that cannot be written (full disk, a concurrent build's entry) costs the next
      // build a bootstrap, not this build its image.
      if (built.storeBase)
        await clock.time('base-cache-store', undefined, () =>
          built.storeBase!().catch((e: unknown) =>
            clock.event({ stage: 'base-cache-store', message: `base layer not cached: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` }),
          ),
        );
      // After the audit: only .debs proven against the verified indexes enter the cache.
      if (debCache) await clock.time('deb-cache-store', undefined, () => debCache.ingest(built.debFiles, archive, options.signal));
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
            path: parent!.layout.blobPath(d.digest),
            createdBy: parentImage.config.history?.[i]?.created_by ?? '',
          }))
        : [];
      const allLayers: (LayerInfo & { createdBy: string; reused?: { key: string } })[] = [...inheritedLayers, ...built.layers];
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
          ...(l.reused ? { reused: l.reused } : {}),
        })),
      );
    }

    const packageManifest = mergePackageManifests(platformManifests);
    const layout = await Layout.create(tmpOut);
    const written = await clock.time('image', `writing OCI layout`, () =>
      writeImage(
        layout,
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
            layout,
            image: written.descriptor,
            platformManifests: written.manifests.map((m) => m.descriptor),
            recipe,
            packageManifest,
            ...(buildRootManifests.length > 0 ? { buildRootManifest: mergePackageManifests(buildRootManifests) } : {}),
            pinnedKeyFiles: keyFiles,
            mirror,
            securityMirror,
            startedOn,
            finishedOn,
            now: now(),
            sourceDateEpoch,
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
      packageCount: packageManifest.packages.length,
      debsAudited,
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
    await writeBuildFiles(tmpOut, report, packageManifest);
    await replaceDir(tmpOut, finalDir);
    return { report, packageManifest: packageManifest, recipe };
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
