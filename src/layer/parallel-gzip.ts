/**
 * Parallel, deterministic gzip, the way pigz does it: the input is cut into fixed-size blocks,
 * each block is raw-deflated on its own (primed with the last 32 KiB of the block before as a
 * preset dictionary, so compression barely suffers) and ended with a sync flush, which leaves it
 * byte-aligned; the last block is finished. The blocks are concatenated behind one gzip header,
 * followed by the CRC-32 and length of the whole input: one ordinary gzip member that any gunzip
 * reads.
 *
 * The output depends only on the input bytes, the block size and the level — not on how the
 * input arrives in pieces, the number of cores or the order in which blocks finish: each block is
 * a pure function of its own bytes and the previous block's tail, and blocks are written in order.
 * The compressed bytes are those of the zlib that Node bundles (stable for one Node major).
 *
 * Parallelism: node's asynchronous zlib calls run on libuv's thread pool (4 threads by default),
 * so several blocks compress at once while the main thread reads files and hashes. Measured on a
 * 2-core machine: see BENCHMARKS.md. Memory is bounded: at most MAX_IN_FLIGHT blocks are queued;
 * the stream applies backpressure until the oldest one is written.
 */
import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import { UsageError } from '../errors.js';
import { GZIP_OS_UNKNOWN } from './gzip.js';

/** pigz's default block size: large enough that the sync-flush marks cost ~0.01%. */
export const PARALLEL_GZIP_BLOCK_SIZE = 128 * 1024;
/** Deflate's window: the most a back-reference can reach, so the most a dictionary can help. */
const DICTIONARY_SIZE = 32 * 1024;
/** Enough blocks queued to keep every pool thread busy, and a hard bound on memory (~2 MiB). */
const MAX_IN_FLIGHT = Math.max(4, 2 * availableParallelism());

interface Block {
  /** Resolves to this block's raw deflate bytes. */
  readonly deflated: Promise<Buffer>;
}

/** A Transform: uncompressed bytes in, one deterministic gzip member out. */
export function parallelGzip(level: number, blockSize: number = PARALLEL_GZIP_BLOCK_SIZE): Transform {
  if (!Number.isInteger(level) || level < 1 || level > 9) {
    throw new UsageError('BAD_OPTION', `gzip level ${level} is not 1..9`);
  }
  if (!Number.isInteger(blockSize) || blockSize < DICTIONARY_SIZE) {
    throw new UsageError('BAD_OPTION', `gzip block size ${blockSize} is below ${DICTIONARY_SIZE}`);
  }
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let previousTail: Buffer | undefined;
  const inFlight: Block[] = [];
  let crc = 0;
  let totalBytes = 0;
  let headerWritten = false;

  const submit = (block: Buffer, last: boolean): void => {
    crc = crc32(block, crc);
    totalBytes += block.length;
    const dictionary = previousTail;
    previousTail = Buffer.from(block.subarray(Math.max(0, block.length - DICTIONARY_SIZE)));
    const deflated = deflateBlock(block, level, dictionary, last);
    // Awaited in order below; if the stream is destroyed first, a failure must not surface as
    // an unhandled rejection.
    deflated.catch(() => {});
    inFlight.push({ deflated });
  };

  const takeBlock = (size: number): Buffer => {
    const whole = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    const block = whole.subarray(0, size);
    const rest = whole.subarray(size);
    pending.length = 0;
    pendingBytes = rest.length;
    if (rest.length > 0) pending.push(rest);
    return block;
  };

  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      if (!headerWritten) {
        this.push(gzipHeader(level));
        headerWritten = true;
      }
      pending.push(chunk);
      pendingBytes += chunk.length;
      // Strictly more than one block: the final block must be the one flushed with Z_FINISH,
      // and we cannot know a block is final until the input ends.
      const drain = async (): Promise<void> => {
        while (pendingBytes > blockSize) submit(takeBlock(blockSize), false);
        while (inFlight.length >= MAX_IN_FLIGHT) this.push(await inFlight.shift()!.deflated);
      };
      drain().then(() => done(), done);
    },
    flush(done: TransformCallback) {
      const finish = async (): Promise<void> => {
        if (!headerWritten) this.push(gzipHeader(level));
        while (pendingBytes > blockSize) submit(takeBlock(blockSize), false);
        submit(takeBlock(pendingBytes), true);
        while (inFlight.length > 0) this.push(await inFlight.shift()!.deflated);
        const trailer = Buffer.alloc(8);
        trailer.writeUInt32LE(crc >>> 0, 0);
        trailer.writeUInt32LE(totalBytes % 2 ** 32, 4);
        this.push(trailer);
      };
      finish().then(() => done(), done);
    },
  });
}

function deflateBlock(block: Buffer, level: number, dictionary: Buffer | undefined, last: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zlib.deflateRaw(
      block,
      {
        level,
        // Spelled out: each of these changes the compressed bytes.
        windowBits: 15,
        memLevel: 8,
        strategy: zlib.constants.Z_DEFAULT_STRATEGY,
        // A sync flush ends the block on a byte boundary without the final-block bit, so the
        // next block's bytes can simply follow.
        finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
        // One pool round trip per block in the common case, rather than one per 16 KiB of output.
        chunkSize: PARALLEL_GZIP_BLOCK_SIZE,
        ...(dictionary === undefined ? {} : { dictionary }),
      },
      (err, out) => (err ? reject(err) : resolve(out)),
    );
  });
}

/** RFC 1952 header: no name, mtime 0, XFL as zlib sets it for the level, OS "unknown". */
function gzipHeader(level: number): Buffer {
  const xfl = level === 9 ? 2 : level === 1 ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, xfl, GZIP_OS_UNKNOWN]);
}

type Crc32 = (data: Uint8Array, value?: number) => number;
/** zlib.crc32 exists from Node 20.15; before that, a table (a checksum, not cryptography). */
const nativeCrc32 = (zlib as unknown as { crc32?: Crc32 }).crc32;

export function crc32(data: Uint8Array, value = 0): number {
  return nativeCrc32 !== undefined ? nativeCrc32(data, value) : tableCrc32(data, value);
}

let table: Uint32Array | undefined;

export function tableCrc32(data: Uint8Array, value = 0): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
