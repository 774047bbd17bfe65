/**
 * Gzip with every header byte fixed: zlib writes mtime 0 and no file name already; the OS byte
 * (RFC 1952 offset 9) is whatever zlib was compiled for (3 on Linux, other values elsewhere), so
 * it is overwritten with 255 ("unknown"), the value Go's compress/gzip writes (containerd,
 * buildkit, go-containerregistry layers carry it too).
 *
 * The compressed bytes are those of the zlib that Node bundles: stable for one Node build (and
 * independent of how the input is chunked), not across zlib implementations. The diffId (the
 * uncompressed tar) is what is stable everywhere.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { constants, createGzip, type Gzip } from 'node:zlib';
import { UsageError } from '../errors.js';

export const GZIP_OS_BYTE_OFFSET = 9;
export const GZIP_OS_UNKNOWN = 255;

/**
 * Level 6, zlib's own default (also Go's and GNU gzip's). Measured on copies of /usr/lib and
 * /usr/share/doc (260 MB and 700 MB): level 9 took 2.3–3.9× the CPU time for blobs 0.4–0.5% smaller.
 */
export const DEFAULT_GZIP_LEVEL = 6;

/** The two pipeline stages: compress, then pin the OS byte. */
export function deterministicGzip(level: number = DEFAULT_GZIP_LEVEL): [Gzip, Transform] {
  if (!Number.isInteger(level) || level < 1 || level > 9) {
    throw new UsageError('BAD_OPTION', `gzip level ${level} is not 1..9`);
  }
  const gzip = createGzip({
    level,
    // Spelled out: each of these changes the compressed bytes.
    windowBits: 15,
    memLevel: 8,
    strategy: constants.Z_DEFAULT_STRATEGY,
  });
  return [gzip, pinGzipOsByte()];
}

function pinGzipOsByte(): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      const at = GZIP_OS_BYTE_OFFSET - offset;
      offset += chunk.length;
      if (at >= 0 && at < chunk.length) {
        const copy = Buffer.from(chunk);
        copy[at] = GZIP_OS_UNKNOWN;
        done(null, copy);
        return;
      }
      done(null, chunk);
    },
  });
}
