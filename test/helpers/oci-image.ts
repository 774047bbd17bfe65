/**
 * Small real OCI images for tests: gzip tar layers made with tar-stream + node:zlib (fixed gzip
 * header, so equal content gives equal digests), a config and a manifest, tagged in index.json.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { sha256Digest, type Digest } from '../../src/oci/digest.js';
import { Layout } from '../../src/oci/layout.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import type { Descriptor, ImageConfig, Manifest } from '../../src/oci/types.js';

export interface LayerBlob {
  readonly descriptor: Descriptor;
  readonly diffId: Digest;
  readonly bytes: Buffer;
}

/** A gzip tar layer holding `files` (sorted, root-owned, mtime 0). */
export async function tarLayer(files: Readonly<Record<string, string | Buffer>>): Promise<LayerBlob> {
  const p = pack();
  for (const [name, content] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) {
    p.entry({ name, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) }, content);
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(Buffer.from(c as Uint8Array));
  const tar = Buffer.concat(chunks);
  const bytes = gzipSync(tar, { level: 9 });
  bytes.writeUInt32LE(0, 4);
  bytes[9] = 255;
  return { descriptor: { mediaType: MediaType.layerTarGzip, digest: sha256Digest(bytes), size: bytes.byteLength }, diffId: sha256Digest(tar), bytes };
}

/** A real gzip-compressed tar holding one file of `size` random bytes. */
export function randomLayer(size: number, name = `file-${randomBytes(4).toString('hex')}`): Promise<LayerBlob> {
  return tarLayer({ [name]: randomBytes(size) });
}

/** Incompressible bytes posing as a layer (registries do not look inside): for big uploads. */
export function rawLayer(size: number): LayerBlob {
  const bytes = randomBytes(size);
  return { descriptor: { mediaType: MediaType.layerTarGzip, digest: sha256Digest(bytes), size }, diffId: sha256Digest(bytes), bytes };
}

export interface TestImage {
  readonly layoutDir: string;
  readonly tag: string;
  readonly manifest: Descriptor;
  readonly manifestBytes: Buffer;
  readonly manifestDocument: Manifest;
  readonly layers: readonly LayerBlob[];
  readonly config: Descriptor;
}

export interface TestImageOptions {
  readonly tag?: string;
  readonly layers: readonly LayerBlob[];
  readonly cmd?: readonly string[];
}

/** Write an image (config + manifest over `layers`) into the OCI layout at `layoutDir` (created if needed). */
export async function writeTestImage(layoutDir: string, options: TestImageOptions): Promise<TestImage> {
  const tag = options.tag ?? 'test';
  const layout = await Layout.create(layoutDir);
  for (const l of options.layers) await layout.writeBlob(l.bytes, l.descriptor.mediaType);
  const config: ImageConfig = {
    created: '1970-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: [...(options.cmd ?? ['/bin/true'])] },
    rootfs: { type: 'layers', diff_ids: options.layers.map((l) => l.diffId) },
  };
  const configDesc = await layout.writeJson(config, MediaType.imageConfig);
  const manifestDocument: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: configDesc,
    layers: options.layers.map((l) => l.descriptor),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifestDocument));
  const desc = await layout.writeBlob(manifestBytes, MediaType.imageManifest);
  await layout.tag(desc, tag);
  return { layoutDir, tag, manifest: desc, manifestBytes, manifestDocument, layers: options.layers, config: configDesc };
}
