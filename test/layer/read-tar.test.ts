/** listTarEntries reads what packLayer writes, and refuses tampered archives. */
import { copyFile, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packLayer, packRootfsTar } from '../../src/layer/pack.js';
import { listTarEntries } from '../../src/layer/read-tar.js';
import { snapshotTree } from '../../src/layer/snapshot.js';
import type { LayerInfo } from '../../src/oci/types.js';
import { SDE, removeTempDirs, sh, tempDir } from './helpers.js';

afterAll(removeTempDirs);

let out: string;
let layer: LayerInfo;
let plainTar: string;

async function flipByte(src: string, dest: string, at: (size: number) => number): Promise<void> {
  await copyFile(src, dest);
  const fh = await open(dest, 'r+');
  const { size } = await fh.stat();
  const pos = at(size);
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, pos);
  b[0] = b[0]! ^ 0xff;
  await fh.write(b, 0, 1, pos);
  await fh.close();
}

beforeAll(async () => {
  const root = await tempDir();
  out = await tempDir();
  await sh('mkdir etc && seq 1 20000 > etc/numbers && ln -s numbers etc/link', root);
  const snapshot = await snapshotTree(root);
  layer = await packLayer({ root, snapshot, sourceDateEpoch: SDE, outFile: join(out, 'l.tgz') });
  plainTar = (await packRootfsTar({ root, snapshot, sourceDateEpoch: SDE, outFile: join(out, 'r.tar') })).path;
});

describe('listTarEntries', () => {
  it('reads gzip and plain tars alike', async () => {
    const gz = await listTarEntries(layer.path);
    expect(gz.map((e) => [e.name, e.type, e.linkname])).toEqual([
      ['etc/', 'directory', null],
      ['etc/link', 'symlink', 'numbers'],
      ['etc/numbers', 'file', null],
    ]);
    expect(await listTarEntries(plainTar)).toEqual(gz);
  });

  it('refuses a layer with one flipped byte in the compressed stream', async () => {
    const bad = join(out, 'bad.tgz');
    await flipByte(layer.path, bad, (size) => Math.floor(size / 2));
    await expect(listTarEntries(bad)).rejects.toMatchObject({ code: 'IMAGE_INVALID' });
  });

  it('refuses a tar with one flipped byte in a header', async () => {
    const bad = join(out, 'bad.tar');
    await flipByte(plainTar, bad, () => 10); // inside the first entry's name
    await expect(listTarEntries(bad)).rejects.toMatchObject({ code: 'IMAGE_INVALID' });
  });

  it('refuses a truncated archive and a missing file', async () => {
    const cut = join(out, 'cut.tar');
    const fh = await open(plainTar, 'r');
    const head = Buffer.alloc(700);
    await fh.read(head, 0, 700, 0);
    await fh.close();
    await writeFile(cut, head);
    await expect(listTarEntries(cut)).rejects.toMatchObject({ code: 'IMAGE_INVALID' });
    await expect(listTarEntries(join(out, 'absent.tar'))).rejects.toMatchObject({ code: 'IMAGE_INVALID' });
  });
});
