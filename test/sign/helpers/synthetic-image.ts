/**
 * A tiny real OCI image in a temporary layout: one gzip tar layer (tar-stream + node:zlib), a
 * config and a manifest, tagged in index.json. No debootstrap: enough for skopeo and for us.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { sha256Digest, type Digest } from '../../../src/oci/digest.js';
import { canonicalJson } from '../../../src/oci/json.js';
import { addToIndex, initLayout, REF_NAME, writeBlob, writeJsonBlob } from '../../../src/oci/layout.js';
import { MediaType } from '../../../src/oci/mediatypes.js';
import type { Descriptor, ImageConfig, Manifest } from '../../../src/oci/types.js';

export async function tempDir(prefix: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `imgfactory-${prefix}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  for (const [name, content] of Object.entries(files).sort()) {
    p.entry({ name, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) }, content);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface SyntheticImage {
  readonly descriptor: Descriptor;
  readonly manifest: Manifest;
  readonly manifestBytes: Uint8Array;
  readonly digest: Digest;
}

/** Write a one-layer image into `dir` (created as a layout if needed), tagged `ref`. */
export async function writeSyntheticImage(dir: string, options: { ref?: string; content?: string } = {}): Promise<SyntheticImage> {
  await initLayout(dir);
  const tar = await tarOf({ 'etc/hello.txt': options.content ?? 'hello from imgfactory\n' });
  const gz = gzipSync(tar, { level: 9 });
  // Fixed gzip header mtime/OS so the same content always gives the same digest.
  gz.writeUInt32LE(0, 4);
  gz[9] = 255;
  const layer = await writeBlob(dir, gz, MediaType.layerTarGzip);
  const config: ImageConfig = {
    created: '1970-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] },
  };
  const configDesc = await writeJsonBlob(dir, config, MediaType.imageConfig);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: configDesc,
    layers: [layer],
  };
  const manifestBytes = canonicalJson(manifest);
  const written = await writeBlob(dir, manifestBytes, MediaType.imageManifest);
  const descriptor: Descriptor = { ...written, annotations: { [REF_NAME]: options.ref ?? 'latest' } };
  await addToIndex(dir, descriptor);
  return { descriptor, manifest, manifestBytes, digest: written.digest };
}
