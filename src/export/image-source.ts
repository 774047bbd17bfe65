/**
 * The one place the export reads an OCI layout: the image's manifest, its config and its layer
 * blobs. Everything is digest-checked as it is read (manifest and config whole, layers while
 * streaming: the compressed digest and the diffId both), so the flattening never acts on bytes
 * the signature does not cover. Built on the Layout handle.
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ExportError, isImgfactoryError, LayoutError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { Layout, type LayoutImage } from '../oci/layout.js';
import { MediaType } from '../oci/mediatypes.js';
import type { ImageConfig } from '../oci/types.js';

export interface ExportLayer {
  readonly digest: Digest;
  readonly diffId: Digest;
  /** Hash the stored blob whole (before anything is decompressed); throws LAYER_DIGEST_MISMATCH. */
  check(): Promise<void>;
  /** The uncompressed tar, checked against both digests as it streams (fails at its end otherwise). */
  open(): AsyncIterable<Buffer>;
}

export interface ExportImage {
  /** The digest the signature covers (the image manifest, or the multi-arch index). */
  readonly signedDigest: Digest;
  /** The platform manifest whose layers are exported. */
  readonly manifestDigest: Digest;
  readonly config: ImageConfig;
  readonly layers: readonly ExportLayer[];
}

const GZIP_TYPES: readonly string[] = [MediaType.layerTarGzip, 'application/vnd.docker.image.rootfs.diff.tar.gzip'];
const TAR_TYPES: readonly string[] = [MediaType.layerTar, 'application/vnd.docker.image.rootfs.diff.tar'];

/** Pass bytes through unchanged, hashing them; fail at the end when the digest differs. */
function checkDigest(expected: Digest, what: string): Transform {
  const hash: Hash = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      const got = `sha256:${hash.digest('hex')}`;
      done(got === expected ? null : new ExportError('LAYER_DIGEST_MISMATCH', `${what} is ${got}, not ${expected}`));
    },
  });
}

/**
 * Pipe the stages; any stage's failure ends the last one with a typed error (a missing blob or
 * broken gzip is the image's fault, never an internal error).
 */
function chain(what: string, first: Readable, ...rest: Transform[]): Readable {
  const typed = (e: unknown) => (isImgfactoryError(e) ? e : new ExportError('LAYER_INVALID', `${what}: ${(e as Error).message}`, { cause: e }));
  let out: Readable = first;
  for (const t of rest) {
    const from = out;
    from.on('error', (e) => t.destroy(typed(e)));
    out = from.pipe(t);
  }
  const last = out;
  if (rest.length === 0) return last;
  // Errors raised by the last stage itself (flush of a digest check, or zlib) get a type too.
  const tail = new Transform({ transform: (chunk, _enc, done) => done(null, chunk) });
  last.on('error', (e) => tail.destroy(typed(e)));
  return last.pipe(tail);
}

/**
 * The image the export reads: `tag` picks among several in the layout; for a multi-arch index,
 * `architecture` (OCI name) picks the platform, needed only when there are several.
 */
export async function readExportImage(layoutDir: string, tag?: string, architecture?: string): Promise<ExportImage> {
  const layout = await Layout.open(layoutDir);
  let image: LayoutImage;
  try {
    image = await layout.image({ ...(tag === undefined ? {} : { tag }), ...(architecture === undefined ? {} : { platform: { os: 'linux', architecture } }) });
  } catch (e) {
    if (e instanceof LayoutError && e.code === 'LAYOUT_PLATFORM_NOT_FOUND') {
      throw new ExportError('PLATFORM_AMBIGUOUS', `${e.message}; name one with --arch`, { cause: e });
    }
    throw e;
  }
  const diffIds = image.config.rootfs.diff_ids;
  const layers = image.manifest.layers.map((layer, i): ExportLayer => {
    const gzip = GZIP_TYPES.includes(layer.mediaType);
    if (!gzip && !TAR_TYPES.includes(layer.mediaType)) {
      throw new ExportError('LAYER_UNSUPPORTED', `layer ${layer.digest} has media type ${layer.mediaType}; export reads tar and tar+gzip layers`);
    }
    const diffId = diffIds[i]!;
    const typed = (e: unknown): unknown =>
      e instanceof LayoutError && e.code === 'LAYOUT_BLOB_CORRUPT' ? new ExportError('LAYER_DIGEST_MISMATCH', e.message, { cause: e }) : e;
    return {
      digest: layer.digest,
      diffId,
      check: async () => {
        await layout.checkBlob(layer).catch((e: unknown) => {
          throw typed(e);
        });
      },
      open: () => {
        // The layout checks the compressed digest as it streams; the diffId is checked here.
        const blob = Readable.from(
          (async function* () {
            try {
              yield* layout.openBlob(layer);
            } catch (e) {
              throw typed(e);
            }
          })(),
        );
        const what = `layer ${layer.digest}`;
        return gzip
          ? chain(what, blob, createGunzip(), checkDigest(diffId, `uncompressed layer ${layer.digest}`))
          : chain(what, blob, checkDigest(diffId, `uncompressed layer ${layer.digest}`));
      },
    };
  });
  return { signedDigest: image.top.digest, manifestDigest: image.descriptor.digest, config: image.config, layers };
}
