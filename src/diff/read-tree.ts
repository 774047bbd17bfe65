/**
 * The I/O of `diff`'s file side: a file tree from tar streams (image layers, a rootfs tarball),
 * hashed while streaming and never unpacked to disk, or from a root filesystem directory,
 * read with lstat (links are never followed out of the root).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, open, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';

const ReadableFrom = (it: AsyncIterable<Buffer>): Readable => Readable.from(it, { objectMode: false });
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { DiffError, isImgfactoryError } from '../errors.js';
import { hashFile } from '../oci/hash-file.js';
import { applyLayer, keepsContent, normalizeTarPath, whiteoutOf, type LayerEntry, type TreeEntry } from './file-tree.js';
import type { FileType } from './types.js';

const TAR_TYPES: Record<string, FileType> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'directory',
  symlink: 'symlink',
  'character-device': 'char',
  'block-device': 'block',
  fifo: 'fifo',
};

/**
 * A tar to lay over the tree: a file (a rootfs tarball, gzip detected by its magic) or an image
 * layer streamed from its layout through the layout's digest check.
 */
export type TarSource = string | { readonly name: string; readonly gzipped: boolean; readonly open: () => AsyncIterable<Buffer> };

/** Lays the tars (gzip or plain) over each other in order, applying whiteouts. */
export async function treeFromTars(sources: readonly TarSource[], signal?: AbortSignal): Promise<Map<string, TreeEntry>> {
  const tree = new Map<string, TreeEntry>();
  for (const source of sources) {
    signal?.throwIfAborted();
    applyLayer(tree, await readLayer(source, signal));
  }
  return tree;
}

async function readLayer(tar: TarSource, signal?: AbortSignal): Promise<LayerEntry[]> {
  const gzipped = typeof tar === 'string' ? await startsWithGzip(tar) : tar.gzipped;
  const ex = extract();
  const source: Readable = typeof tar === 'string' ? createReadStream(tar) : ReadableFrom(tar.open());
  const feeding = gzipped ? pipeline(source, createGunzip(), ex, { signal }) : pipeline(source, ex, { signal });
  const out: LayerEntry[] = [];
  try {
    for await (const entry of ex) {
      const h = entry.header;
      const path = normalizeTarPath(h.name);
      const hash = createHash('sha256');
      const kept: Buffer[] = [];
      const keep = path !== undefined && keepsContent(path);
      let size = 0;
      for await (const chunk of entry) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
        if (keep) kept.push(chunk as Buffer);
      }
      if (path === undefined) continue;
      const marker = whiteoutOf(path);
      if (marker) {
        out.push(marker);
        continue;
      }
      const type = h.type ?? 'file';
      if (type === 'link') {
        const target = normalizeTarPath(h.linkname ?? '');
        if (target) out.push({ kind: 'hardlink', path, target });
        continue;
      }
      const t = TAR_TYPES[type];
      if (!t) continue; // pax/GNU meta headers are consumed by tar-stream; anything else carries no file
      out.push({
        kind: 'entry',
        entry: {
          path,
          type: t,
          mode: (h.mode ?? 0) & 0o7777,
          uid: h.uid ?? 0,
          gid: h.gid ?? 0,
          size: t === 'file' ? size : 0,
          ...(t === 'file' ? { sha256: hash.digest('hex') } : {}),
          ...(t === 'symlink' ? { linkname: h.linkname ?? '' } : {}),
          ...(t === 'char' || t === 'block' ? { device: `${h.devmajor ?? 0}:${h.devminor ?? 0}` } : {}),
          ...(keep ? { content: Buffer.concat(kept) } : {}),
        },
      });
    }
    await feeding;
  } catch (cause) {
    source.destroy();
    await feeding.catch(() => undefined);
    // A layer that fails its digest check is the layout's error (exit 1), not a bad diff side.
    if (signal?.aborted || isImgfactoryError(cause)) throw cause;
    const file = typeof tar === 'string' ? tar : tar.name;
    throw new DiffError('DIFF_SOURCE_INVALID', `${file}: not a readable tar archive (${(cause as Error).message})`, { cause, details: { file } });
  }
  return out;
}

async function startsWithGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r').catch((cause: unknown) => {
    throw new DiffError('DIFF_SOURCE_INVALID', `${file}: cannot be read`, { cause, details: { file } });
  });
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await fh.read(magic, 0, 2, 0);
    return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Device numbers from st_rdev as glibc's major()/minor() split them. */
function deviceOf(rdev: number): string {
  const major = Number((BigInt(rdev) >> 8n) & 0xfffn) | Number((BigInt(rdev) >> 32n) & ~0xfffn);
  const minor = Number(BigInt(rdev) & 0xffn) | Number((BigInt(rdev) >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** Every entry under `root` (not `root` itself), by lstat: a link is recorded, never followed. */
export async function treeFromDirectory(root: string, signal?: AbortSignal): Promise<Map<string, TreeEntry>> {
  const tree = new Map<string, TreeEntry>();
  const files: TreeEntry[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    signal?.throwIfAborted();
    for (const name of (await readdir(dir)).sort()) {
      const abs = join(dir, name);
      const path = `${rel}/${name}`;
      const st = await lstat(abs);
      const base = { path, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: 0 };
      if (st.isDirectory()) {
        tree.set(path, { ...base, type: 'directory' });
        await walk(abs, path);
      } else if (st.isSymbolicLink()) tree.set(path, { ...base, type: 'symlink', linkname: await readlink(abs) });
      else if (st.isFile()) {
        const e: TreeEntry = { ...base, type: 'file', size: st.size };
        tree.set(path, e);
        files.push(e);
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        tree.set(path, { ...base, type: st.isCharacterDevice() ? 'char' : 'block', device: deviceOf(st.rdev) });
      } else if (st.isFIFO()) tree.set(path, { ...base, type: 'fifo' });
      // sockets are not image content: skipped, as tar skips them
    }
  };
  await walk(root, '');
  // Hash with a few files in flight: one at a time leaves the disk idle between small files.
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      signal?.throwIfAborted();
      const e = files[next++]!;
      const abs = join(root, e.path);
      const { sha256 } = await hashFile(abs);
      tree.set(e.path, { ...e, sha256, ...(keepsContent(e.path) ? { content: await readFile(abs) } : {}) });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return tree;
}
