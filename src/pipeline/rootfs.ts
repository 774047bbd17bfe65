/**
 * Building one architecture's root filesystem, step by step, and packing a layer after each:
 * base (bootstrap or the parent's unpacked layers) → each recipe layer → strip. A recipe with
 * `contents` packs one layer at the end instead, selected from the finished root (contents.ts).
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { addUsers, applySlim, applyStrip, copyRecipeFiles, removePaths, scrubRoot } from '../bootstrap/apply-rules.js';
import { aptSourcesDeb822, BUILD_APT_DIR, BUILD_DEB_DIR, BUILD_KEYRING, buildAptOptions, IMAGE_KEYRING, POLICY_RC_D } from '../bootstrap/apt-config.js';
import { withChroot, type Chroot } from '../bootstrap/chroot.js';
import { bootstrapIncludesUpdates, runBootstrap, type Bootstrapper } from '../bootstrap/debootstrap.js';
import { diskFullOr } from '../bootstrap/fs-error.js';
import { copyIntoRoot, ensureDirInRoot, readFileInRoot, writeFileInRoot } from '../bootstrap/root-path.js';
import { LAYER_EXCLUDES } from '../bootstrap/rules.js';
import { downloadedDebs } from '../archive/audit-rootfs.js';
import { parseDpkgStatus, type DpkgStatusEntry } from '../archive/dpkg-status.js';
import { linkStagedDebs } from '../archive/deb-cache.js';
import { run } from '../exec.js';
import { diffSnapshots, packLayer, snapshotTree, type Snapshot } from '../layer/index.js';
import type { LayerInfo } from '../oci/types.js';
import type { Recipe, RecipeLayer } from '../recipe/types.js';
import type { StageClock } from './stages.js';
import { prepareContents, selectContents } from './contents.js';
import { baseLayerKey, type BaseLayerCache } from './base-cache.js';
import { MediaType } from '../oci/mediatypes.js';
import { imgfactoryVersion } from '../version.js';

export interface BuiltLayer extends LayerInfo {
  readonly createdBy: string;
  /** Taken from the base-layer cache (src/pipeline/base-cache.ts) under this key. */
  readonly reused?: { readonly key: string };
}

export interface RootfsInput {
  readonly recipe: Recipe;
  readonly arch: string;
  readonly root: string;
  /** Where layer blobs are written. */
  readonly blobDir: string;
  readonly mirror: string;
  readonly securityMirror: string;
  /** Binary keyring from keys/ (host path). */
  readonly keyring: string;
  readonly bootstrapper: Bootstrapper;
  /** Verified .debs from the package cache (absolute path; see src/archive/deb-cache.ts). */
  readonly debCacheDir?: string;
  /**
   * The directory of apt's lists for this architecture, written from the verified indexes on the
   * first call (src/archive/apt-lists.ts): mmdebstrap and every apt step install from them; no apt
   * in the build fetches an index.
   */
  readonly aptLists: () => Promise<string>;
  readonly sourceDateEpoch: number;
  /** The parent's image layout and tag: unpacked as the starting tree instead of bootstrapping. */
  readonly parent?: { readonly layoutDir: string; readonly ref: string };
  /** Environment for the bootstrap tools (see bootstrapEnv). */
  readonly toolEnv: Record<string, string>;
  readonly clock: StageClock;
  readonly signal?: AbortSignal;
  /** Reuse (and fill) the base-layer cache; `archiveState` is the verified InReleases' SHA-256s. */
  readonly baseCache?: { readonly cache: BaseLayerCache; readonly archiveState: readonly string[] };
}

export interface RootfsResult {
  readonly layers: readonly BuiltLayer[];
  readonly finalSnapshot: Snapshot;
  /** Every .deb fetched during the build (for the audit). */
  readonly debFiles: readonly string[];
  /**
   * Where the image's dpkg database is in the root: `status.d` for recipe `contents` (the
   * image is a selection; `status` describes the build root); otherwise undefined, whichever
   * the root has (a child of an assembled parent has only `status.d`).
   */
  readonly imageDatabase?: 'status.d';
  /** The packages of a base layer taken from the cache: audited, .debs included, before it was stored. */
  readonly reusedBasePackages?: readonly DpkgStatusEntry[];
  /** Puts the freshly built base layer into the base-layer cache (call after the audit). */
  readonly storeBase?: () => Promise<void>;
}

const snapshot = (root: string) => snapshotTree(root, { exclude: LAYER_EXCLUDES });

/** `buildOnly`: only the build's own apt setup under /run (the image's part is in a reused base layer already). */
async function writeBuildAptConfig(input: RootfsInput, buildOnly = false): Promise<void> {
  const { root, recipe } = input;
  for (const sub of ['sources.list.d', 'lists/partial', 'archives/partial', 'log']) await ensureDirInRoot(root, `${BUILD_APT_DIR}/${sub}`);
  await writeFileInRoot(root, `${BUILD_APT_DIR}/empty.list`, '', 0o644);
  await writeFileInRoot(root, BUILD_KEYRING, await readFile(input.keyring), 0o644);
  const sources = { mirror: input.mirror, securityMirror: input.securityMirror, suite: recipe.suite, components: recipe.components, updates: recipe.updates };
  await writeFileInRoot(root, `${BUILD_APT_DIR}/sources.list.d/build.sources`, aptSourcesDeb822({ ...sources, signedBy: BUILD_KEYRING }), 0o644);
  if (buildOnly) return;
  // The image's own sources trust the distribution keyring the image ships (package debian-archive-keyring).
  await writeFileInRoot(root, '/etc/apt/sources.list.d/debian.sources', aptSourcesDeb822({ ...sources, signedBy: IMAGE_KEYRING }), 0o644);
  await removePaths(root, ['/etc/apt/sources.list']);
}

/**
 * A chroot session with services disabled and the host's DNS configuration; the scrub before
 * each snapshot removes both again, so neither reaches a layer.
 */
async function inChroot<T>(root: string, signal: AbortSignal | undefined, fn: (c: Chroot) => Promise<T>): Promise<T> {
  await writeFileInRoot(root, '/usr/sbin/policy-rc.d', POLICY_RC_D, 0o755);
  await removePaths(root, ['/etc/resolv.conf']);
  await writeFileInRoot(root, '/etc/resolv.conf', await readFile('/etc/resolv.conf').catch(() => ''), 0o644);
  return withChroot(root, signal, fn);
}

function apt(c: Chroot, args: string[], onLine: (l: string) => void): Promise<void> {
  return c.run(['apt-get', ...buildAptOptions(), ...args], { failCode: 'APT_FAILED', onLine });
}

/** Move the .debs debootstrap left in the image's apt cache to the build-only archive dir. */
async function collectBootstrapDebs(root: string): Promise<void> {
  const from = await ensureDirInRoot(root, '/var/cache/apt/archives');
  const to = await ensureDirInRoot(root, BUILD_DEB_DIR);
  for (const name of await readdir(from).catch(() => [] as string[])) {
    if (name.endsWith('.deb')) await rename(join(from, name), join(to, name));
  }
}

function describeLayer(l: RecipeLayer): string {
  const parts: string[] = [];
  if (l.packages.length > 0) parts.push(`apt-get install ${l.packages.join(' ')}`);
  if (l.users.length > 0) parts.push(`users ${l.users.map((u) => `${u.name}(${u.uid}:${u.gid})`).join(' ')}`);
  if (l.files.length > 0) parts.push(`files ${l.files.map((f) => f.dest).join(' ')}`);
  if (l.remove.packages.length > 0) parts.push(`purge ${l.remove.packages.join(' ')}`);
  if (l.remove.paths.length > 0) parts.push(`rm ${l.remove.paths.join(' ')}`);
  return `imgfactory layer ${l.name}: ${parts.join('; ') || 'no changes'}`;
}

async function baseKeyFor(input: RootfsInput): Promise<string> {
  const { recipe } = input;
  return baseLayerKey({
    inReleaseSha256s: input.baseCache!.archiveState,
    suite: recipe.suite,
    variant: recipe.variant,
    components: recipe.components,
    updates: recipe.updates,
    slim: recipe.slim ?? null,
    arch: input.arch,
    mirror: input.mirror,
    securityMirror: input.securityMirror,
    keyringSha256: createHash('sha256')
      .update(await readFile(input.keyring))
      .digest('hex'),
    bootstrapper: input.bootstrapper,
    sourceDateEpoch: input.sourceDateEpoch,
    excludes: LAYER_EXCLUDES,
    imgfactoryVersion: imgfactoryVersion(),
    node: process.versions.node,
    zlib: process.versions.zlib ?? 'unknown',
  });
}

/** A cache hit, re-hashed, unpacked into the (empty) root; undefined on a miss. */
async function reuseBase(input: RootfsInput, key: string, blobFile: string): Promise<BuiltLayer | undefined> {
  const hit = await input.baseCache!.cache.take(key, blobFile);
  if (!hit) {
    input.clock.event({ stage: 'base-cache', message: `no cached base layer for key ${key.slice(0, 16)}; bootstrapping` });
    return undefined;
  }
  await input.clock.time('base-cache', `reusing base layer ${hit.digest} (key ${key.slice(0, 16)}, re-hashed)`, () =>
    run(
      [
        'tar',
        '--extract',
        '--gzip',
        '--file',
        blobFile,
        '--directory',
        input.root,
        '--numeric-owner',
        '--same-owner',
        '--same-permissions',
        '--xattrs',
        '--xattrs-include=*',
      ],
      {
        failCode: 'COMMAND_FAILED',
        ...(input.signal ? { signal: input.signal } : {}),
      },
    ),
  );
  return {
    digest: hit.digest,
    diffId: hit.diffId,
    size: hit.size,
    uncompressedSize: hit.uncompressedSize,
    mediaType: MediaType.layerTarGzip,
    path: blobFile,
    createdBy: hit.createdBy,
    reused: { key },
  };
}

/**
 * In place of `apt-get update`: the verified lists in `listsDir` (src/archive/apt-lists.ts),
 * copied into the build-only lists directory of `root`. The directory and each file are
 * resolved inside the root and written as new files: a link already there (left by a parent
 * image, say) is replaced, never written through.
 */
export async function seedAptLists(root: string, listsDir: string): Promise<void> {
  for (const name of await readdir(listsDir)) {
    if (name.includes('_')) await copyIntoRoot(root, join(listsDir, name), `${BUILD_APT_DIR}/lists/${name}`, { uid: 0, gid: 0 }, 0o644);
  }
}

export async function buildRootfs(input: RootfsInput): Promise<RootfsResult> {
  try {
    return await buildRootfsSteps(input);
  } catch (e) {
    throw await diskFullOr(e, input.root);
  }
}

async function buildRootfsSteps(input: RootfsInput): Promise<RootfsResult> {
  const { recipe, root, clock, signal } = input;
  const toolLine = (stage: string) => (line: string) => clock.event({ stage, toolLine: line });
  const layers: BuiltLayer[] = [];
  let layerNo = 0;
  const pack = async (before: Snapshot | undefined, createdBy: string, select = (s: Snapshot) => s): Promise<Snapshot> => {
    await scrubRoot(root, input.sourceDateEpoch);
    const after = select(await snapshot(root));
    const info = await packLayer({
      root,
      snapshot: after,
      changes: before === undefined ? undefined : diffSnapshots(before, after),
      sourceDateEpoch: input.sourceDateEpoch,
      outFile: join(input.blobDir, `layer-${input.arch}-${layerNo++}.tar.gz`),
    });
    layers.push({ ...info, createdBy });
    clock.event({
      stage: 'layer',
      message: `${createdBy.slice(0, 60)}: ${(info.size / 1e6).toFixed(1)} MB compressed, ${(info.uncompressedSize / 1e6).toFixed(1)} MB unpacked`,
    });
    return after;
  };

  // A recipe that strips collapses its own steps into one layer, so nothing it deletes (a shell,
  // apt) survives in a lower layer underneath a whiteout; one assembled from a package set
  // (contents) is a single layer selected from the finished build root.
  const squash = recipe.strip !== null || recipe.contents !== null;
  let current: Snapshot | undefined;

  // The base-layer cache (src/pipeline/base-cache.ts): a hit replaces bootstrap, upgrade and base pack.
  let storeBase: (() => Promise<void>) | undefined;
  const baseKey = !input.parent && !squash && input.baseCache ? await baseKeyFor(input) : undefined;
  const reusedBase = baseKey === undefined ? undefined : await reuseBase(input, baseKey, join(input.blobDir, `layer-${input.arch}-${layerNo}.tar.gz`));
  let reusedBasePackages: DpkgStatusEntry[] | undefined;
  // mmdebstrap installs from -updates and -security in its one pass; debootstrap needs an upgrade.
  const separateUpgrade = recipe.updates && !bootstrapIncludesUpdates({ bootstrapper: input.bootstrapper, updates: { securityMirror: input.securityMirror } });

  if (reusedBase) {
    layerNo++;
    layers.push(reusedBase);
    reusedBasePackages = parseDpkgStatus((await readFileInRoot(root, '/var/lib/dpkg/status')) ?? '');
    // The build's apt setup lives under /run (not in any layer) and is written before the
    // snapshot, as a bootstrap's is, so the next layer's changes are the same as after one.
    await writeBuildAptConfig(input, true);
    if (input.debCacheDir !== undefined) await linkStagedDebs(input.debCacheDir, await ensureDirInRoot(root, BUILD_DEB_DIR));
  } else if (input.parent) {
    await clock.time('unpack-parent', `${input.parent.layoutDir}:${input.parent.ref}`, () =>
      run(['umoci', 'raw', 'unpack', '--image', `${input.parent!.layoutDir}:${input.parent!.ref}`, root], { failCode: 'COMMAND_FAILED', signal }),
    );
    current = await snapshot(root);
  } else {
    // debootstrap takes no lists (it fetches and checks its own); its upgrade step reads them later.
    const aptListsDir = input.bootstrapper === 'mmdebstrap' ? await input.aptLists() : undefined;
    await clock.time('bootstrap', `${input.bootstrapper} --variant=${recipe.variant} ${recipe.suite} (${input.arch})`, () =>
      runBootstrap(
        {
          bootstrapper: input.bootstrapper,
          target: root,
          suite: recipe.suite,
          mirror: input.mirror,
          arch: input.arch,
          variant: recipe.variant,
          components: recipe.components,
          keyring: input.keyring,
          ...(aptListsDir === undefined ? {} : { aptListsDir }),
          ...(input.debCacheDir === undefined ? {} : { debCacheDir: input.debCacheDir }),
          ...(recipe.updates ? { updates: { securityMirror: input.securityMirror } } : {}),
        },
        input.toolEnv,
        toolLine('bootstrap'),
        signal,
      ),
    );
    await collectBootstrapDebs(root);
  }
  const snapshotBase = current;

  // A parent assembled from a package set (contents) has no dpkg or apt (the recipe loader
  // refuses packages on it): its child only adds files and users, and no apt or dpkg
  // configuration lands in its layer. (A reused base layer has its configuration already.)
  const hasDpkg = (await readFileInRoot(root, '/var/lib/dpkg/status')) !== undefined;
  if (!reusedBase && hasDpkg) {
    await writeBuildAptConfig(input);
    // apt's own hash check against its signed lists applies to these as to any cached file.
    // The directory is resolved inside the root (a link there cannot send the .debs elsewhere).
    if (input.debCacheDir !== undefined) await linkStagedDebs(input.debCacheDir, await ensureDirInRoot(root, BUILD_DEB_DIR));
    if (recipe.slim) await applySlim(root, recipe.slim);
  }
  let listsSeeded = false;
  const seedLists = async () => {
    if (listsSeeded) return;
    await seedAptLists(root, await input.aptLists());
    listsSeeded = true;
  };

  if (reusedBase) {
    // The tree as a bootstrap leaves it when the base is packed.
    await scrubRoot(root, input.sourceDateEpoch);
    current = await snapshot(root);
  }
  if (!input.parent && !reusedBase) {
    if (separateUpgrade) {
      await clock.time('upgrade', `${recipe.suite}-updates, ${recipe.suite}-security`, () =>
        inChroot(root, signal, async (c) => {
          await seedLists();
          await apt(c, ['-y', 'dist-upgrade'], toolLine('upgrade'));
        }),
      );
    }
    if (!squash)
      current = await clock.time('layer:base', undefined, () =>
        pack(
          undefined,
          `imgfactory bootstrap: ${input.bootstrapper} --variant=${recipe.variant} ${recipe.suite}${recipe.updates ? ' + updates + security' : ''}`,
        ),
      );
    const base = layers[0];
    // Stored by the caller after the audit: only a base whose packages were proven is kept.
    if (baseKey !== undefined && base) storeBase = () => input.baseCache!.cache.store(baseKey, base);
  }

  const contents = recipe.contents;
  if (contents) {
    await clock.time('contents', `apt-get install ${contents.packages.join(' ')}`, () =>
      inChroot(root, signal, async (c) => {
        await seedLists();
        await apt(c, ['-y', 'install', ...contents.packages], toolLine('contents'));
      }),
    );
  }

  for (const l of recipe.layers) {
    const step = async () => {
      if (l.packages.length > 0 || l.remove.packages.length > 0) {
        await inChroot(root, signal, async (c) => {
          await seedLists();
          if (l.packages.length > 0) await apt(c, ['-y', 'install', ...l.packages], toolLine(`layer:${l.name}`));
          if (l.remove.packages.length > 0) {
            await apt(c, ['-y', 'purge', ...l.remove.packages], toolLine(`layer:${l.name}`));
            await apt(c, ['-y', '--purge', 'autoremove'], toolLine(`layer:${l.name}`));
          }
        });
      }
      await addUsers(root, l.users);
      await copyRecipeFiles(root, recipe.file, l.files);
      await removePaths(root, l.remove.paths);
      if (!squash) current = await pack(current, describeLayer(l));
    };
    await clock.time(`layer:${l.name}`, undefined, step);
  }

  if (contents) {
    await clock.time(
      'assemble',
      `selecting ${contents.packages.length} packages' files and ${contents.generated.length} generated files; one layer`,
      async () => {
        const plan = await prepareContents(root, { ...recipe, contents });
        current = await pack(
          undefined,
          `imgfactory ${recipe.name}: packages ${contents.packages.join(' ')}${contents.generated.length > 0 ? `; generated ${contents.generated.join(' ')}` : ''}${recipe.layers.length > 0 ? `; layers ${recipe.layers.map((l) => l.name).join(', ')}` : ''}`,
          (full) => selectContents(full, contents, plan),
        );
      },
    );
  } else if (squash) {
    await clock.time('strip', 'removing shell, package tools; one layer', async () => {
      await applyStrip(root, recipe.strip!);
      current = await pack(snapshotBase, `imgfactory ${recipe.name}: ${recipe.layers.map((l) => l.name).join(', ') || 'base'} + strip (squashed)`);
    });
  } else if (layers.length === 0) {
    // A child recipe with no layers of its own still needs its apt/slim changes recorded.
    current = await pack(current, `imgfactory ${recipe.name}: configuration`);
  }

  return {
    layers,
    finalSnapshot: current!,
    debFiles: await downloadedDebs(root, BUILD_DEB_DIR),
    ...(contents ? { imageDatabase: 'status.d' as const } : {}),
    ...(storeBase ? { storeBase } : {}),
    ...(reusedBasePackages ? { reusedBasePackages } : {}),
  };
}
