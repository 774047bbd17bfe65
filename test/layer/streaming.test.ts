/**
 * Packing never holds a whole file, its tar or its gzip output in memory. A memory check, not a
 * timing check.
 *
 * The file is random bytes, so gzip cannot shrink it: the compressed layer is as large as the
 * file. Buffering the tar stream, the gzip output or the file itself would each add about
 * FILE_MB to the process; the bound is well under that and well over what streaming needs
 * (a few MiB of blocks in flight plus the allocator's slack).
 */
import { createHash, randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packLayer } from '../../src/layer/pack.js';
import { listTarEntries } from '../../src/layer/read-tar.js';
import { snapshotTree } from '../../src/layer/snapshot.js';
import { SDE, removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const MB = 1024 * 1024;
const FILE_MB = 160;
/** Less than half the file: holding any whole copy of it (input, tar or gzip output) fails. */
const BOUND_MB = 64;

describe('streaming pack', () => {
  it(`packs ${FILE_MB} MB of incompressible data with under ${BOUND_MB} MB of extra memory`, async () => {
    const root = await tempDir();
    const out = await tempDir();
    // Written through one reused 1 MiB buffer, so making the file does not itself raise the
    // process's resident size before the measurement starts.
    const expected = createHash('sha256');
    const chunk = Buffer.alloc(MB);
    const fh = await open(join(root, 'random.bin'), 'w');
    for (let i = 0; i < FILE_MB; i++) {
      randomFillSync(chunk);
      expected.update(chunk);
      await fh.write(chunk, 0, MB);
    }
    await fh.close();

    const snapshot = await snapshotTree(root);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    let layer;
    try {
      layer = await packLayer({ root, snapshot, sourceDateEpoch: SDE, outFile: join(out, 'random.tgz') });
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    const growthMb = (peak - before) / MB;
    console.log(`rss growth while packing ${FILE_MB} MB of random data: ${growthMb.toFixed(1)} MB`);

    // The data really did not compress: the blob is at least as large as the file.
    expect(layer.size).toBeGreaterThan(FILE_MB * MB);
    expect(layer.uncompressedSize).toBe(512 + FILE_MB * MB + 1024);
    expect(growthMb).toBeLessThan(BOUND_MB);

    const [entry] = await listTarEntries(layer.path);
    expect(entry?.size).toBe(FILE_MB * MB);
    expect(entry?.contentDigest).toBe(`sha256:${expected.digest('hex')}`);
  }, 120_000);
});
