/**
 * An OCI image layout on disk (image-spec `image-layout.md`): `oci-layout`, `index.json`,
 * `blobs/sha256/<hex>`, opened once into a handle that every stage shares.
 *
 * A layout is input from outside (a user's directory, a CI cache, a pull in progress), so the
 * handle trusts nothing it has not checked: index.json is parsed strictly when opened, a tag
 * resolves to exactly one image (an attachment entry carrying a tag, or two entries with one
 * tag, is refused as ambiguous), and every blob is read through an fd opened with O_NOFOLLOW,
 * must be a regular file (a FIFO or a link out of the layout is refused before it is read),
 * and is hashed against its name before its bytes are used.
 *
 * Convention for imgfactory layouts: the image manifest (or multi-platform index) is listed in
 * index.json with `org.opencontainers.image.ref.name` = its tag; attachments (signature, SBOM,
 * provenance: src/oci/attachment-kinds.ts) are manifests whose `subject` is the image, listed
 * with the annotation `dev.imgfactory.attachment` = kind and no ref name.
 */
import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { LayoutError } from '../errors.js';
import { tempSibling, writeFileAtomic } from '../atomic-file.js';
import { ATTACHMENT_ANNOTATION, isAttachmentEntry, isAttachmentKind } from './attachment-kinds.js';
import { digestHex, sha256Digest, type Digest } from './digest.js';
import { isIndexMediaType, isManifestMediaType, parseImageConfig, parseOciDocument, platformMatches, type OciDocument } from './document.js';
import { canonicalJson } from './json.js';
import { MediaType } from './mediatypes.js';
import { platformString } from './platform.js';
import type { Descriptor, ImageConfig, Index, Manifest, Platform } from './types.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';
export { ATTACHMENT_ANNOTATION as ATTACHMENT } from './attachment-kinds.js';

/** Documents (index.json, manifests, configs) larger than this are refused unread. */
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;
/** Attachment payloads (an SBOM of a large image) may be bigger than a manifest. */
export const MAX_ATTACHMENT_BYTES = 64 * 1024 * 1024;

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** One platform's image: the tagged entry it was found through, and its checked documents. */
export interface LayoutImage {
  /** The entry tagged in index.json (an image manifest, or the index that lists this one). */
  readonly top: Descriptor;
  readonly tag: string | undefined;
  /** This platform's manifest descriptor (equals `top` for a single-platform image). */
  readonly descriptor: Descriptor;
  readonly manifest: Manifest;
  readonly config: ImageConfig;
}

export interface ImageSelector {
  /** The tag in index.json; undefined: the layout must hold exactly one image. */
  readonly tag?: string;
  /** Which platform of a multi-platform index; undefined: the index must list exactly one. */
  readonly platform?: Platform;
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

export class Layout {
  private constructor(
    readonly dir: string,
    private index: Index,
  ) {}

  /** Open an existing layout; index.json is read and checked once, here. */
  static async open(dir: string): Promise<Layout> {
    const s = await lstat(dir).catch((e: unknown) => {
      if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') throw new LayoutError('LAYOUT_NOT_FOUND', `${dir}: no such OCI layout`);
      throw new LayoutError('LAYOUT_INVALID', `${dir}: cannot be read (${errno(e) ?? String(e)})`, { cause: e });
    });
    if (!s.isDirectory()) throw new LayoutError('LAYOUT_NOT_FOUND', `${dir}: not a directory, so not an OCI layout`);
    const marker = await readRegularFile(join(dir, 'oci-layout'), 4096).catch(() => undefined);
    if (marker === undefined) throw new LayoutError('LAYOUT_INVALID', `${dir}: not an OCI image layout (no oci-layout file)`);
    try {
      if ((JSON.parse(marker.toString('utf8')) as { imageLayoutVersion?: unknown }).imageLayoutVersion !== '1.0.0') throw new Error('version');
    } catch {
      throw new LayoutError('LAYOUT_INVALID', `${dir}/oci-layout: expected {"imageLayoutVersion":"1.0.0"}`);
    }
    for (const sub of ['blobs', join('blobs', 'sha256')]) {
      const st = await lstat(join(dir, sub)).catch(() => undefined);
      if (!st?.isDirectory()) throw new LayoutError('LAYOUT_INVALID', `${dir}/${sub}: missing or not a real directory`);
    }
    const bytes = await readRegularFile(join(dir, 'index.json'), MAX_DOCUMENT_BYTES).catch((e: unknown) => {
      if (e instanceof LayoutError) throw e;
      throw new LayoutError('LAYOUT_INVALID', `${dir}: not an OCI image layout (no index.json)`, { cause: e });
    });
    return new Layout(dir, checkIndexJson(bytes, dir));
  }

  /** Create a layout (or add to an empty directory); an existing index.json is kept. */
  static async create(dir: string): Promise<Layout> {
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    await writeFileAtomic(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const existing = await readRegularFile(join(dir, 'index.json'), MAX_DOCUMENT_BYTES).catch(() => undefined);
    if (existing) return new Layout(dir, checkIndexJson(existing, dir));
    const layout = new Layout(dir, { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [] });
    await layout.setEntries([]);
    return layout;
  }

  /** Every entry of index.json, images and attachments. */
  get entries(): readonly Descriptor[] {
    return this.index.manifests;
  }

  /** The image entries (not attachments). */
  get images(): readonly Descriptor[] {
    return this.index.manifests.filter((m) => !isAttachmentEntry(m));
  }

  blobPath(digest: Digest): string {
    return join(this.dir, 'blobs', 'sha256', digestHex(digest));
  }

  /**
   * The one image entry for `tag` (exactly one image in the layout when no tag is given), the
   * entry skopeo and umoci resolve too: duplicates are refused rather than guessed between.
   */
  resolve(tag?: string): Descriptor {
    if (tag === undefined) {
      const images = this.images;
      if (images.length === 0) throw new LayoutError('LAYOUT_TAG_NOT_FOUND', `${this.dir}: the layout holds no image`);
      if (images.length > 1) {
        const tags = images.map((m) => m.annotations?.[REF_NAME] ?? m.digest).join(', ');
        throw new LayoutError('LAYOUT_AMBIGUOUS', `${this.dir}: holds ${images.length} images (${tags}); name one with --tag`);
      }
      return images[0]!;
    }
    const tagged = this.index.manifests.filter((m) => m.annotations?.[REF_NAME] === tag);
    if (tagged.length === 0) throw new LayoutError('LAYOUT_TAG_NOT_FOUND', `${this.dir}: no image tagged ${JSON.stringify(tag)}`);
    if (tagged.length > 1) throw new LayoutError('LAYOUT_AMBIGUOUS', `${this.dir}: ${tagged.length} entries are tagged ${JSON.stringify(tag)}`);
    return tagged[0]!;
  }

  /** A small blob, whole, checked against its digest (and its descriptor's size when given). */
  async readBlob(digest: Digest, options: { readonly size?: number; readonly maxBytes?: number } = {}): Promise<Buffer> {
    const max = options.maxBytes ?? MAX_DOCUMENT_BYTES;
    if (options.size !== undefined && options.size > max) {
      throw new LayoutError('LAYOUT_DOCUMENT_TOO_LARGE', `${this.dir}: blob ${digest} is ${options.size} bytes, more than the ${max} allowed`);
    }
    const bytes = await readRegularFile(this.blobPath(digest), max).catch((e: unknown) => {
      throw this.blobReadError(digest, e);
    });
    if (options.size !== undefined && bytes.length !== options.size) {
      throw new LayoutError('LAYOUT_BLOB_CORRUPT', `${this.dir}: blob ${digest} has ${bytes.length} bytes, its descriptor says ${options.size}`);
    }
    if (sha256Digest(bytes) !== digest) throw new LayoutError('LAYOUT_BLOB_CORRUPT', `${this.dir}: blob ${digest} does not match its digest`);
    return bytes;
  }

  /** A manifest or index, parsed and checked. */
  async readDocument(desc: Descriptor): Promise<OciDocument> {
    const bytes = await this.readBlob(desc.digest, { size: desc.size });
    return parseOciDocument(bytes, `${this.dir}: ${desc.digest}`, desc.mediaType);
  }

  /**
   * Stream a (large) blob; the digest and size are checked when the stream ends, and the last
   * chunk is only yielded after that check, so a consumer that reads to the end never acts on a
   * blob that turned out to be corrupt.
   */
  async *openBlob(desc: Descriptor, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const handle = await openRegular(this.blobPath(desc.digest)).catch((e: unknown) => {
      throw this.blobReadError(desc.digest, e);
    });
    const hash = createHash('sha256');
    let size = 0;
    let pending: Buffer | undefined;
    try {
      for await (const chunk of handle.createReadStream({ autoClose: false, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
        signal?.throwIfAborted();
        hash.update(chunk);
        size += chunk.length;
        if (size > desc.size)
          throw new LayoutError('LAYOUT_BLOB_CORRUPT', `${this.dir}: blob ${desc.digest} is longer than its descriptor's ${desc.size} bytes`);
        if (pending) yield pending;
        pending = chunk;
      }
    } finally {
      await handle.close();
    }
    if (size !== desc.size || `sha256:${hash.digest('hex')}` !== desc.digest) {
      throw new LayoutError('LAYOUT_BLOB_CORRUPT', `${this.dir}: blob ${desc.digest} does not match its descriptor (${size} bytes read)`);
    }
    if (pending) yield pending;
  }

  /** A blob is present, a regular file of its descriptor's size; not hashed (see checkBlob). */
  async statBlob(desc: Descriptor): Promise<void> {
    const handle = await openRegular(this.blobPath(desc.digest)).catch((e: unknown) => {
      throw this.blobReadError(desc.digest, e);
    });
    try {
      const { size } = await handle.stat();
      if (size !== desc.size) {
        throw new LayoutError('LAYOUT_BLOB_CORRUPT', `${this.dir}: blob ${desc.digest} has ${size} bytes, its descriptor says ${desc.size}`);
      }
    } finally {
      await handle.close();
    }
  }

  /** Hash a blob on disk against its descriptor, streaming. */
  async checkBlob(desc: Descriptor, signal?: AbortSignal): Promise<void> {
    for await (const _ of this.openBlob(desc, signal));
  }

  /**
   * One platform's image. A tag naming an index picks the platform asked for (or the only one);
   * configs and manifests are parsed and checked, layer blobs are not read (see checkImageBlobs).
   */
  async image(selector: ImageSelector = {}): Promise<LayoutImage> {
    const top = this.resolve(selector.tag);
    const doc = await this.readDocument(top);
    if (doc.kind === 'manifest') {
      if (selector.platform) {
        const config = await this.readConfig(doc.manifest);
        if (!platformMatches({ architecture: config.architecture, os: config.os, ...(config.variant ? { variant: config.variant } : {}) }, selector.platform)) {
          throw new LayoutError(
            'LAYOUT_PLATFORM_NOT_FOUND',
            `${this.dir}: ${tagName(top)} is ${config.os}/${config.architecture}, not ${platformString(selector.platform)}`,
          );
        }
        return { top, tag: top.annotations?.[REF_NAME], descriptor: top, manifest: doc.manifest, config };
      }
      return { top, tag: top.annotations?.[REF_NAME], descriptor: top, manifest: doc.manifest, config: await this.readConfig(doc.manifest) };
    }
    const candidates = selector.platform ? doc.index.manifests.filter((m) => platformMatches(m.platform, selector.platform!)) : doc.index.manifests;
    if (candidates.length !== 1) {
      const listed = doc.index.manifests.map((m) => (m.platform ? platformString(m.platform) : '?')).join(', ');
      throw new LayoutError(
        'LAYOUT_PLATFORM_NOT_FOUND',
        selector.platform
          ? `${this.dir}: ${tagName(top)} has ${candidates.length === 0 ? 'no' : 'several'} ${platformString(selector.platform)} images (platforms: ${listed})`
          : `${this.dir}: ${tagName(top)} is an index of ${listed}; name a platform`,
      );
    }
    return this.platformImage(top, candidates[0]!);
  }

  /** Every platform image of a tagged entry (one for a single-platform image). */
  async platformImages(top: Descriptor): Promise<LayoutImage[]> {
    const doc = await this.readDocument(top);
    if (doc.kind === 'manifest')
      return [{ top, tag: top.annotations?.[REF_NAME], descriptor: top, manifest: doc.manifest, config: await this.readConfig(doc.manifest) }];
    const out: LayoutImage[] = [];
    for (const child of doc.index.manifests) out.push(await this.platformImage(top, child));
    return out;
  }

  /** Hash the config and every layer of an image against its manifest (streaming). */
  async checkImageBlobs(image: LayoutImage, signal?: AbortSignal): Promise<void> {
    await this.readBlob(image.manifest.config.digest, { size: image.manifest.config.size });
    for (const layer of image.manifest.layers) await this.checkBlob(layer, signal);
  }

  private async platformImage(top: Descriptor, child: Descriptor): Promise<LayoutImage> {
    if (!isManifestMediaType(child.mediaType)) {
      throw new LayoutError('LAYOUT_INVALID', `${this.dir}: ${child.digest} in index ${top.digest} is ${child.mediaType}; nested indexes are not supported`);
    }
    const doc = await this.readDocument(child);
    if (doc.kind !== 'manifest') throw new LayoutError('LAYOUT_INVALID', `${this.dir}: ${child.digest} is not an image manifest`);
    return { top, tag: top.annotations?.[REF_NAME], descriptor: child, manifest: doc.manifest, config: await this.readConfig(doc.manifest) };
  }

  private async readConfig(manifest: Manifest): Promise<ImageConfig> {
    const bytes = await this.readBlob(manifest.config.digest, { size: manifest.config.size });
    return parseImageConfig(bytes, `${this.dir}: config ${manifest.config.digest}`, manifest.layers.length);
  }

  private blobReadError(digest: Digest, e: unknown): LayoutError {
    if (e instanceof LayoutError) return new LayoutError(e.code, `${this.dir}: blob ${digest}: ${e.message}`);
    if (errno(e) === 'ENOENT') return new LayoutError('LAYOUT_BLOB_MISSING', `${this.dir}: blob ${digest} is missing`);
    if (errno(e) === 'ELOOP') return new LayoutError('LAYOUT_INVALID', `${this.dir}: blob ${digest} is a symbolic link; blobs must be regular files`);
    return new LayoutError('LAYOUT_INVALID', `${this.dir}: blob ${digest} cannot be read (${errno(e) ?? String(e)})`, { cause: e });
  }

  // ---- writing ------------------------------------------------------------------------------

  async writeBlob(bytes: Uint8Array, mediaType: string): Promise<Descriptor> {
    const digest = sha256Digest(bytes);
    await writeFileAtomic(this.blobPath(digest), bytes);
    return { mediaType, digest, size: bytes.byteLength };
  }

  /** A JSON document, canonically serialized. */
  async writeJson(value: unknown, mediaType: string): Promise<Descriptor> {
    return this.writeBlob(canonicalJson(value), mediaType);
  }

  /** Copy in a blob file whose digest its producer computed (a layer just packed, a verified parent's). */
  async importBlobFile(file: string, digest: Digest): Promise<void> {
    const path = this.blobPath(digest);
    if (
      await lstat(path).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return;
    const tmp = tempSibling(path);
    try {
      await copyFile(file, tmp);
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /** Replace index.json (atomically) with these entries. */
  async setEntries(manifests: readonly Descriptor[]): Promise<void> {
    const index: Index = { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [...manifests] };
    await writeFileAtomic(join(this.dir, 'index.json'), JSON.stringify(index, null, 2) + '\n');
    this.index = index;
  }

  /** Tag an image: the tag moves to `desc`; no other entry keeps it. */
  async tag(desc: Descriptor, tag: string): Promise<Descriptor> {
    const tagged: Descriptor = { ...desc, annotations: { ...(desc.annotations ?? {}), [REF_NAME]: tag } };
    const kept = this.index.manifests.filter((m) => m.annotations?.[REF_NAME] !== tag && !(m.digest === desc.digest && !isAttachmentEntry(m)));
    await this.setEntries([...kept, tagged]);
    return tagged;
  }
}

function tagName(d: Descriptor): string {
  const t = d.annotations?.[REF_NAME];
  return t === undefined ? d.digest : `tag ${JSON.stringify(t)}`;
}

/** index.json, parsed strictly: every entry a well-formed manifest/index descriptor, no ambiguity. */
function checkIndexJson(bytes: Uint8Array, dir: string): Index {
  const doc = parseOciDocument(bytes, `${dir}/index.json`, undefined);
  if (doc.kind !== 'index') throw new LayoutError('LAYOUT_INVALID', `${dir}/index.json is not an OCI image index`);
  const seenTags = new Set<string>();
  for (const [i, m] of doc.index.manifests.entries()) {
    const where = `${dir}/index.json: manifests[${i}]`;
    if (!isManifestMediaType(m.mediaType) && !isIndexMediaType(m.mediaType)) {
      throw new LayoutError('LAYOUT_INVALID', `${where} has mediaType ${m.mediaType}, not a manifest or index`);
    }
    const tag = m.annotations?.[REF_NAME];
    const kind = m.annotations?.[ATTACHMENT_ANNOTATION];
    if (kind !== undefined && !isAttachmentKind(kind)) throw new LayoutError('LAYOUT_INVALID', `${where}: unknown attachment kind ${JSON.stringify(kind)}`);
    if (tag !== undefined && kind !== undefined) {
      // skopeo and umoci would resolve this tag to the attachment; imgfactory to nothing. Refuse.
      throw new LayoutError('LAYOUT_AMBIGUOUS', `${where} is tagged ${JSON.stringify(tag)} but labelled a ${kind} attachment`);
    }
    if (tag !== undefined) {
      if (seenTags.has(tag)) throw new LayoutError('LAYOUT_AMBIGUOUS', `${dir}/index.json: two entries are tagged ${JSON.stringify(tag)}`);
      seenTags.add(tag);
    }
  }
  return doc.index;
}

/** Open a regular file without following a final symlink and without blocking on a FIFO. */
async function openRegular(path: string): Promise<FileHandle> {
  const handle = await open(path, OPEN_FLAGS);
  let st: Stats;
  try {
    st = await handle.stat();
  } catch (e) {
    await handle.close();
    throw e;
  }
  if (!st.isFile()) {
    await handle.close();
    throw new LayoutError('LAYOUT_INVALID', `${path} is not a regular file`);
  }
  return handle;
}

async function readRegularFile(path: string, maxBytes: number): Promise<Buffer> {
  const handle = await openRegular(path);
  try {
    const { size } = await handle.stat();
    if (size > maxBytes) throw new LayoutError('LAYOUT_DOCUMENT_TOO_LARGE', `${path} is ${size} bytes, more than the ${maxBytes} allowed`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Is `dir` absent or an empty directory (a safe place to create a layout)? */
export async function assertFreshOutput(dir: string): Promise<void> {
  const entries = await readdir(dir).catch((e: unknown) => {
    if (errno(e) === 'ENOENT') return [];
    throw new LayoutError('OUTPUT_EXISTS', `${dir}: exists and is not a directory`);
  });
  if (entries.length > 0) throw new LayoutError('OUTPUT_EXISTS', `${dir}: already exists and is not empty`);
}
