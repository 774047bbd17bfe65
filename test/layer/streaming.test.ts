/** Packing never holds a whole file (or layer) in memory. A memory check, not a timing check. */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packLayer } from '../../src/layer/pack.js';
import { listTarEntries } from '../../src/layer/read-tar.js';
import { snapshotTree } from '../../src/layer/snapshot.js';
import { SDE, removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const MB = 1024 * 1024;
const BIG = 200 * MB;

describe('streaming pack', () => {
  it('packs a 200 MB file with far less than 200 MB of extra memory', async () => {
    const root = await tempDir();
    const out = await tempDir();
    // Sparse: reads as 200 MB of zeros without costing disk. A few non-zero bytes at the end
    // make the content digest something a truncated stream could not match.
    const fh = await open(join(root, 'big.img'), 'w');
    await fh.truncate(BIG);
    await fh.write(Buffer.from('end'), 0, 3, BIG - 3);
    await fh.close();

    const snapshot = await snapshotTree(root);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    let layer;
    try {
      layer = await packLayer({ root, snapshot, sourceDateEpoch: SDE, outFile: join(out, 'big.tgz') });
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    const growthMb = (peak - before) / MB;
    expect(growthMb).toBeLessThan(150);
    expect(layer.uncompressedSize).toBe(512 + BIG + 1024);
    expect(layer.size).toBeLessThan(MB); // zeros compress: the blob is far smaller than the file

    const [entry] = await listTarEntries(layer.path);
    const expected = createHash('sha256');
    const zeros = Buffer.alloc(MB);
    for (let i = 0; i < BIG / MB - 1; i++) expected.update(zeros);
    const last = Buffer.alloc(MB);
    last.write('end', MB - 3);
    expected.update(last);
    expect(entry?.size).toBe(BIG);
    expect(entry?.contentDigest).toBe(`sha256:${expected.digest('hex')}`);
    console.log(`rss growth while packing 200 MB: ${growthMb.toFixed(1)} MB`);
  });
});
