/**
 * List the entries of a tar or gzip-compressed tar (a layer blob, a rootfs tarball) with their
 * raw header fields, streaming: for validators and tests.
 *
 * Pax records come from tar-stream, which decodes values as UTF-8: binary values (such as
 * `SCHILY.xattr.security.capability`) are not byte-exact here; extract with GNU tar
 * `--xattrs` or umoci to check those.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { BuildError } from '../errors.js';
import type { Digest } from '../oci/digest.js';

export interface TarEntryInfo {
  readonly name: string;
  readonly type: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly uname: string;
  readonly gname: string;
  /** Whole seconds since the epoch. */
  readonly mtime: number;
  readonly size: number;
  readonly linkname: string | null;
  readonly devmajor: number;
  readonly devminor: number;
  /** Pax extended header records of this entry (empty when none). */
  readonly pax: Readonly<Record<string, string>>;
  /** sha256 of the content, for entries that carry content. */
  readonly contentDigest?: Digest;
}

export async function listTarEntries(file: string): Promise<TarEntryInfo[]> {
  const gzipped = await startsWithGzipMagic(file);
  const ex = extract();
  const source: Readable = createReadStream(file);
  const feeding = gzipped ? pipeline(source, createGunzip(), ex) : pipeline(source, ex);
  const out: TarEntryInfo[] = [];
  try {
    for await (const entry of ex) {
      const h = entry.header;
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of entry) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      out.push({
        name: h.name,
        type: h.type ?? 'file',
        mode: h.mode ?? 0,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        uname: h.uname ?? '',
        gname: h.gname ?? '',
        mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000),
        size: h.size ?? 0,
        linkname: h.linkname ?? null,
        devmajor: h.devmajor ?? 0,
        devminor: h.devminor ?? 0,
        pax: { ...((h as { pax?: Record<string, string> | null }).pax ?? {}) },
        ...(bytes > 0 ? { contentDigest: `sha256:${hash.digest('hex')}` } : {}),
      });
    }
    await feeding;
  } catch (cause) {
    source.destroy();
    await feeding.catch(() => undefined);
    throw new BuildError('IMAGE_INVALID', `${file}: not a readable tar archive (${(cause as Error).message})`, { cause });
  }
  return out;
}

async function startsWithGzipMagic(file: string): Promise<boolean> {
  const fh = await open(file, 'r').catch((cause: unknown) => {
    throw new BuildError('IMAGE_INVALID', `${file}: cannot be read`, { cause });
  });
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await fh.read(magic, 0, 2, 0);
    return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    await fh.close();
  }
}
