/**
 * Parallel gzip: a valid gzip member (Node's gunzip and GNU gzip read it back), bytes that depend
 * only on the input — not on how it is split into writes — and a checked-in digest for a fixed input.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, parallelGzip, PARALLEL_GZIP_BLOCK_SIZE, tableCrc32 } from '../../src/layer/parallel-gzip.js';

/** 1 MiB + 12345 bytes of mixed text and noise from a fixed LCG: several blocks, a ragged last one. */
function fixedInput(size = 1024 * 1024 + 12345): Buffer {
  const out = Buffer.alloc(size);
  let x = 0x2545f491;
  const words = ['usr/', 'lib/', 'share/', 'doc/', 'debian', 'copyright', '0644', 'root', '\0\0\0\0'];
  let i = 0;
  while (i < size) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    if (x % 5 === 0) {
      out[i++] = x >>> 24; // noise
    } else {
      for (const c of Buffer.from(words[(x >>> 8) % words.length]!)) if (i < size) out[i++] = c;
    }
  }
  return out;
}

async function gzipOf(input: Buffer, pieces: number, level = 6): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let at = 0; at < input.length; at += pieces) parts.push(input.subarray(at, at + pieces));
  const out: Buffer[] = [];
  await pipeline(Readable.from(parts), parallelGzip(level), async (source: AsyncIterable<Buffer>) => {
    for await (const b of source) out.push(b);
  });
  return Buffer.concat(out);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// The output for the fixed input under Node 20's bundled zlib, level 6. If this changes, every
// layer digest changes: update it only together with a note in BENCHMARKS.md / the changelog.
const FIXED_INPUT_GZIP_SHA256 = 'c99343eebd40e3b735107512ff829cfff51730bcd7ad02729bd2f0b99dc59b41';

describe('parallelGzip', () => {
  const input = fixedInput();

  it('round-trips through gunzip and GNU gzip -t / -dc', async () => {
    const gz = await gzipOf(input, 65536);
    expect(input.length).toBeGreaterThan(4 * PARALLEL_GZIP_BLOCK_SIZE);
    expect(gunzipSync(gz).equals(input)).toBe(true);
    expect(spawnSync('gzip', ['-t'], { input: gz }).status).toBe(0);
    const dc = spawnSync('gzip', ['-dc'], { input: gz, maxBuffer: 1 << 26 });
    expect(dc.status).toBe(0);
    expect(sha256(dc.stdout)).toBe(sha256(input));
  });

  it('gives the same bytes however the input is split into writes', async () => {
    const a = await gzipOf(input, 65536);
    const b = await gzipOf(input, 7919);
    const c = await gzipOf(input, input.length);
    expect(sha256(b)).toBe(sha256(a));
    expect(sha256(c)).toBe(sha256(a));
  });

  it('equals the checked-in digest for the fixed input', async () => {
    expect(sha256(await gzipOf(input, 100_000))).toBe(FIXED_INPUT_GZIP_SHA256);
  });

  it('writes one fixed header and a trailer with the CRC-32 and length', async () => {
    const gz = await gzipOf(input, 65536);
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 255]);
    expect(gz.readUInt32LE(gz.length - 8)).toBe(tableCrc32(input));
    expect(gz.readUInt32LE(gz.length - 4)).toBe(input.length);
  });

  it('compresses within 3% of single-threaded zlib at the same level', async () => {
    // The blocks are primed with the previous block's tail, so little is lost at the seams
    // (on a real 114 MB tar of /usr/lib/python3 the output was 0.03% smaller than gzipSync's).
    const gz = await gzipOf(input, 65536);
    const ref = gzipSync(input, { level: 6 });
    expect(gz.length / ref.length).toBeLessThan(1.03);
  });

  it('turns empty input into a valid empty gzip member', async () => {
    const gz = await gzipOf(Buffer.alloc(0), 1);
    expect(gunzipSync(gz).length).toBe(0);
    expect(spawnSync('gzip', ['-t'], { input: gz }).status).toBe(0);
  });

  it('detects a flipped byte (gzip -t fails)', async () => {
    const gz = Buffer.from(await gzipOf(input, 65536));
    const at = gz.length >> 1;
    gz.writeUInt8(gz.readUInt8(at) ^ 0x40, at);
    expect(spawnSync('gzip', ['-t'], { input: gz }).status).not.toBe(0);
  });

  it('the table CRC-32 agrees with the native one', () => {
    expect(tableCrc32(input)).toBe(crc32(input));
    expect(tableCrc32(input.subarray(5000), tableCrc32(input.subarray(0, 5000)))).toBe(crc32(input));
    expect(tableCrc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('stays bounded: with nobody reading its output, it stops taking input after a few blocks', async () => {
    let produced = 0;
    const chunk = fixedInput(256 * 1024);
    const source = new Readable({
      read() {
        if (produced >= 256 * 1024 * 1024) return void this.push(null);
        produced += chunk.length;
        this.push(chunk);
      },
    });
    const gz = parallelGzip(6);
    source.pipe(gz);
    await new Promise((r) => setTimeout(r, 1500));
    // A handful of blocks in flight plus the streams' own buffers, not the 256 MiB on offer.
    expect(produced).toBeLessThan(16 * 1024 * 1024);
    expect(produced).toBeGreaterThan(0);
    source.unpipe(gz);
    source.destroy();
    gz.destroy();
  });

  it('rejects a level outside 1..9 as a usage error', () => {
    expect(() => parallelGzip(0)).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
  });
});
