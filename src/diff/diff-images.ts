/**
 * `diff`: two images, root filesystems or rootfs tarballs → packages (added, removed,
 * upgraded), files (added, removed, changed) and config. Layers are streamed with whiteouts
 * applied; nothing is unpacked to disk.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DiffError } from '../errors.js';
import { architectureOfPackages } from './architecture.js';
import { diffConfig, type ConfigFieldChange } from './diff-config.js';
import { diffFiles, type FilesDiff } from './diff-files.js';
import { diffPackages, type PackagesDiff } from './diff-packages.js';
import type { TreeEntry } from './file-tree.js';
import { readLayoutImage } from './image-source.js';
import { packagesFromTree } from './packages-from-tree.js';
import { treeFromDirectory, treeFromTars } from './read-tree.js';
import type { FileEntry, SideFacts } from './types.js';

export type SideKind = 'layout' | 'rootfs-dir' | 'rootfs-tar';

export interface ImageDiff {
  readonly a: SideFacts;
  readonly b: SideFacts;
  readonly packages: PackagesDiff;
  readonly files: FilesDiff;
  /** null when either side has no image config (a root filesystem). */
  readonly config: readonly ConfigFieldChange[] | null;
}

/** What a path names: an OCI layout (has `oci-layout`), another directory (a rootfs), or a file (a rootfs tarball). */
export async function sideKind(path: string): Promise<SideKind> {
  const s = await stat(path).catch(() => undefined);
  if (!s)
    throw new DiffError('DIFF_SOURCE_INVALID', `${path}: no such file or directory (registry references: pull the image first)`, { details: { side: path } });
  if (s.isFile()) return 'rootfs-tar';
  if (!s.isDirectory()) throw new DiffError('DIFF_SOURCE_INVALID', `${path}: not a directory or a tar file`, { details: { side: path } });
  return (await stat(join(path, 'oci-layout')).then(
    () => true,
    () => false,
  ))
    ? 'layout'
    : 'rootfs-dir';
}

/** `architecture` (OCI name) picks an image side's platform when the layout holds an index. */
export async function openSide(path: string, signal?: AbortSignal, platformArch?: string): Promise<{ facts: SideFacts; tree: Map<string, TreeEntry> }> {
  const kind = await sideKind(path);
  if (kind === 'layout') {
    const img = await readLayoutImage(path, undefined, platformArch);
    const tree = await treeFromTars(
      img.layers.map((l) => ({ name: l.digest, gzipped: l.mediaType.endsWith('+gzip'), open: () => img.layout.openBlob(l, signal) })),
      signal,
    );
    const fromManifest = img.packages;
    const packages = fromManifest ?? packagesFromTree(tree) ?? [];
    return {
      facts: {
        kind,
        name: path,
        architecture: img.architecture,
        config: img.config,
        packagesFrom: fromManifest ? 'verified-manifest' : packages.length > 0 ? 'dpkg-status' : 'none',
        packages,
      },
      tree,
    };
  }
  const tree = kind === 'rootfs-tar' ? await treeFromTars([path], signal) : await treeFromDirectory(path, signal);
  const packages = packagesFromTree(tree);
  const architecture = packages ? architectureOfPackages(packages) : undefined;
  return {
    facts: { kind, name: path, ...(architecture ? { architecture } : {}), packagesFrom: packages ? 'dpkg-status' : 'none', packages: packages ?? [] },
    tree,
  };
}

export async function diffImages(
  aPath: string,
  bPath: string,
  options: { readonly signal?: AbortSignal; readonly architecture?: string } = {},
): Promise<ImageDiff> {
  const a = await openSide(aPath, options.signal, options.architecture);
  const b = await openSide(bPath, options.signal, options.architecture);
  if (a.facts.architecture && b.facts.architecture && a.facts.architecture !== b.facts.architecture) {
    throw new DiffError('DIFF_ARCH_MISMATCH', `${aPath} is ${a.facts.architecture}, ${bPath} is ${b.facts.architecture}: compare images of one architecture`, {
      details: { a: a.facts.architecture, b: b.facts.architecture },
    });
  }
  return {
    a: a.facts,
    b: b.facts,
    packages: diffPackages(a.facts.packages, b.facts.packages),
    files: stripContent(diffFiles(a.tree, b.tree)),
    config: a.facts.config && b.facts.config ? diffConfig(a.facts.config, b.facts.config) : null,
  };
}

function stripContent(d: FilesDiff): FilesDiff {
  const plain = (e: FileEntry): FileEntry => {
    const { content: _content, ...rest } = e as TreeEntry;
    return rest;
  };
  return {
    added: d.added.map(plain),
    removed: d.removed.map(plain),
    changed: d.changed.map((c) => ({ ...c, before: plain(c.before), after: plain(c.after) })),
  };
}
