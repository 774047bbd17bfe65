/**
 * A tiny real OCI image in a temporary layout: one gzip tar layer (tar-stream + node:zlib), a
 * config and a manifest, tagged in index.json. No debootstrap: enough for skopeo and for us.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Digest } from '../../../src/oci/digest.js';
import { REF_NAME } from '../../../src/oci/layout.js';
import type { Descriptor, Manifest } from '../../../src/oci/types.js';
import { tarLayer, writeTestImage } from '../../helpers/oci-image.js';

export async function tempDir(prefix: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `imgfactory-${prefix}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export interface SyntheticImage {
  readonly descriptor: Descriptor;
  readonly manifest: Manifest;
  readonly manifestBytes: Uint8Array;
  readonly digest: Digest;
}

/** Write a one-layer image into `dir` (created as a layout if needed), tagged `ref`. */
export async function writeSyntheticImage(dir: string, options: { ref?: string; content?: string } = {}): Promise<SyntheticImage> {
  const layer = await tarLayer({ 'etc/hello.txt': options.content ?? 'hello from imgfactory\n' });
  const image = await writeTestImage(dir, { tag: options.ref ?? 'latest', layers: [layer], cmd: ['/bin/sh'] });
  return {
    descriptor: { ...image.manifest, annotations: { [REF_NAME]: image.tag } },
    manifest: image.manifestDocument,
    manifestBytes: new Uint8Array(image.manifestBytes),
    digest: image.manifest.digest,
  };
}
