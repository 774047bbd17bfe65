/**
 * Golden determinism: the same tree built twice, in different directories, in a different
 * order, at different times, packs to the same bytes.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packLayer, packRootfsTar } from '../../src/layer/pack.js';
import { snapshotTree } from '../../src/layer/snapshot.js';
import type { LayerInfo } from '../../src/oci/types.js';
import { SDE, buildRichTree, removeTempDirs, sh, tempDir } from './helpers.js';

afterAll(removeTempDirs);

let rootA: string;
let rootB: string;
let out: string;
let layerA: LayerInfo;
let layerB: LayerInfo;

beforeAll(async () => {
  rootA = await tempDir('imgf-det-a-');
  rootB = await tempDir('imgf-det-b-other-name-');
  out = await tempDir('imgf-det-out-');
  await buildRichTree(rootA, 'a');
  await buildRichTree(rootB, 'b');
  layerA = await packLayer({ root: rootA, snapshot: await snapshotTree(rootA), sourceDateEpoch: SDE, outFile: join(out, 'a.tgz') });
  layerB = await packLayer({ root: rootB, snapshot: await snapshotTree(rootB), sourceDateEpoch: SDE, outFile: join(out, 'b.tgz') });
});

describe('layer determinism', () => {
  it('the trees really differ in inodes and times', async () => {
    const stat = (root: string) => sh('stat -c "%i %X %Y %Z" etc/hostname', root);
    expect(await stat(rootA)).not.toBe(await stat(rootB));
  });

  it('gives the same digest and diffId for the same tree built differently', () => {
    expect(layerB.diffId).toBe(layerA.diffId);
    expect(layerB.digest).toBe(layerA.digest);
    expect(layerB.size).toBe(layerA.size);
    expect(layerA.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
  });

  it('writes a gzip header with mtime 0, no name and the fixed OS byte 255', async () => {
    const fh = await open(layerA.path, 'r');
    const head = Buffer.alloc(10);
    await fh.read(head, 0, 10, 0);
    await fh.close();
    expect([...head.subarray(0, 4)]).toEqual([0x1f, 0x8b, 0x08, 0x00]); // deflate, no FNAME/FEXTRA/FCOMMENT
    expect(head.readUInt32LE(4)).toBe(0);
    expect(head[8]).toBe(0); // XFL for level 6
    expect(head[9]).toBe(255);
  });

  it('changes when one mode bit changes (the comparison can fail)', async () => {
    await sh('chmod 0640 etc/passwd', rootB);
    const changed = await packLayer({ root: rootB, snapshot: await snapshotTree(rootB), sourceDateEpoch: SDE, outFile: join(out, 'c.tgz') });
    expect(changed.diffId).not.toBe(layerA.diffId);
    await sh('chmod 0644 etc/passwd', rootB);
  });

  it('packs the flattened rootfs as the same tar as the base layer, plain or gzip', async () => {
    const snapA = await snapshotTree(rootA);
    const snapB = await snapshotTree(rootB);
    const plainA = await packRootfsTar({ root: rootA, snapshot: snapA, sourceDateEpoch: SDE, outFile: join(out, 'ra.tar') });
    const plainB = await packRootfsTar({ root: rootB, snapshot: snapB, sourceDateEpoch: SDE, outFile: join(out, 'rb.tar') });
    expect(plainA.digest).toBe(plainB.digest);
    expect(plainA.digest).toBe(layerA.diffId);
    expect(plainA.compression).toBe('none');
    const gz = await packRootfsTar({ root: rootA, snapshot: snapA, sourceDateEpoch: SDE, outFile: join(out, 'ra.tgz'), compress: 'gzip' });
    expect(gz.digest).toBe(layerA.digest);
    expect(gz.diffId).toBe(layerA.diffId);
  });

  it('compresses at the level asked for, and that changes the blob but not the diffId', async () => {
    const l1 = await packLayer({
      root: rootA,
      snapshot: await snapshotTree(rootA),
      sourceDateEpoch: SDE,
      outFile: join(out, 'l1.tgz'),
      gzipLevel: 1,
    });
    expect(l1.diffId).toBe(layerA.diffId);
    expect(l1.digest).not.toBe(layerA.digest);
  });
});
