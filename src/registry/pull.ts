/**
 * registry → layout, trust before bulk: the image manifest and its attachments (found through
 * the referrers tag fallback) go into a temporary layout next to the destination, and the
 * caller's `verifyTrust` judges them (the signature) before a single layer is downloaded; then
 * the layers (each digest-checked while streaming), then the caller's full `verify`, and only
 * if both accept is the layout renamed into place. Every document has a size cap, and what a
 * referrers list offers beside our attachments is followed only so far: other parties'
 * attachments or garbage neither block the pull nor cost unbounded downloads.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileSystemError, fileSystemError, LayoutError, RegistryError } from '../errors.js';
import { ATTACHMENT_ANNOTATION, attachmentKindOf } from '../oci/attachment-kinds.js';
import type { Digest } from '../oci/digest.js';
import { assertFreshOutput, Layout, REF_NAME } from '../oci/layout.js';
import { manifestReference, referenceString, referrersTag, withDigest, withTag, type ImageReference } from '../oci/reference.js';
import type { Descriptor } from '../oci/types.js';
import type { FetchedManifest, RegistryClient } from './client.js';
import { readGraphManifest, type GraphBlob, type GraphManifest } from './image-graph.js';
import { parseReferrersIndex } from './referrers.js';

export interface PullVerifyContext {
  readonly reference: ImageReference;
  /**
   * The docker reference a signature must match: `registry/repository:tag`, or
   * `registry/repository@digest` when pulled by digest (containers/image then matches the repository).
   */
  readonly identity: string;
  readonly manifestDigest: Digest;
}

export interface PullImageOptions {
  readonly ref: ImageReference;
  readonly client: RegistryClient;
  readonly outDir: string;
  /**
   * Judges the manifest and attachments (the signature) before any layer is downloaded; throws
   * to refuse the image. The layout it sees has no layer blobs yet.
   */
  readonly verifyTrust?: (layoutDir: string, context: PullVerifyContext) => Promise<void>;
  /** Judges the complete layout; throws to refuse. The temporary layout is then deleted and outDir never appears. */
  readonly verify: (layoutDir: string, context: PullVerifyContext) => Promise<void>;
  /** One event per blob of the image (config, layers), downloaded after `verifyTrust` accepted it. */
  readonly onProgress?: (event: { readonly type: 'blob'; readonly digest: Digest; readonly size: number }) => void;
  /** Referrers entries of a known kind followed at most (default 16). */
  readonly maxReferrers?: number;
  /** Largest blob of an attachment (signature, SBOM, provenance) downloaded (default 16 MiB). */
  readonly maxAttachmentBlobBytes?: number;
}

export interface PullResult {
  readonly manifestDigest: Digest;
  readonly mediaType: string;
  readonly blobs: number;
  readonly bytes: number;
  readonly attachments: number;
  readonly outDir: string;
}

const DEFAULT_MAX_REFERRERS = 16;
const DEFAULT_MAX_ATTACHMENT_BLOB_BYTES = 16 * 1024 * 1024;

/** A local file-system failure (disk full, no permission) on the destination, as one typed line. */
function writeFailure(e: unknown, where: string): unknown {
  const typed = fileSystemError(e);
  if (!typed) return e;
  return new FileSystemError(typed.code, `${where}: cannot write the pulled image (${typed.message}); nothing was left behind`, { cause: e });
}

/** The reference a signature is matched against: the tag when there is one, else the digest. */
export function pullIdentity(ref: ImageReference, manifestDigest: Digest): string {
  return referenceString(ref.tag !== undefined ? withTag(ref, ref.tag) : withDigest(ref, ref.digest ?? manifestDigest));
}

export async function pullImage(options: PullImageOptions): Promise<PullResult> {
  const { ref, client, outDir } = options;
  const repository = ref.repository;
  const maxReferrers = options.maxReferrers ?? DEFAULT_MAX_REFERRERS;
  const maxAttachmentBlob = options.maxAttachmentBlobBytes ?? DEFAULT_MAX_ATTACHMENT_BLOB_BYTES;
  await assertFreshOutput(outDir);
  const tmp = join(dirname(outDir), `.${basename(outDir)}.pull-${randomBytes(4).toString('hex')}`);
  let blobs = 0;
  let bytes = 0;
  try {
    let layout: Layout;
    try {
      layout = await Layout.create(tmp);
    } catch (e) {
      throw writeFailure(e, dirname(outDir));
    }
    const store = async (m: FetchedManifest): Promise<GraphManifest> => {
      try {
        await writeFile(layout.blobPath(m.digest), m.bytes);
      } catch (e) {
        throw writeFailure(e, outDir);
      }
      return readGraphManifestLenient(layout, { mediaType: m.mediaType, digest: m.digest, size: m.bytes.byteLength });
    };
    /** `report`: progress events for the image's own blobs (fetched once trust is settled). */
    const download = async (wanted: readonly GraphBlob[], report = false) => {
      const seen = new Set<Digest>();
      const unique = wanted.filter((b) => !seen.has(b.digest) && seen.add(b.digest));
      // Wait for every transfer before reporting a failure, so none still writes into the
      // temporary layout while it is being removed.
      const results = await Promise.allSettled(
        unique.map(async (b) => {
          await client.downloadBlob(repository, b.digest, b.size, layout.blobPath(b.digest));
          blobs++;
          bytes += b.size;
          if (report) options.onProgress?.({ type: 'blob', digest: b.digest, size: b.size });
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw writeFailure(failed.reason, outDir);
    };

    // 1. The image: its manifest (and those an index lists). Small, capped documents.
    const top = await client.getManifest(repository, manifestReference(ref));
    const root = await store(top);
    const manifests = [root];
    for (const child of root.children) {
      manifests.push(await store(await client.getManifest(repository, child.digest)));
    }

    // 2. Its attachments, as far as they are ours to judge.
    // A skipped attachment's document is not kept in the layout.
    const forget = (digest: Digest) => rm(layout.blobPath(digest), { force: true });
    const attachments = await pullAttachments(client, repository, top.digest, { store, forget, download }, maxReferrers, maxAttachmentBlob);
    // An index's platform manifests have signatures of their own (containers/image checks the
    // one it picks): keep them, so the pulled layout can be pushed on as consumers need it.
    for (const child of root.children) {
      attachments.push(...(await pullAttachments(client, repository, child.digest, { store, forget, download }, maxReferrers, maxAttachmentBlob)));
    }

    const context: PullVerifyContext = { reference: ref, identity: pullIdentity(ref, top.digest), manifestDigest: top.digest };
    try {
      await layout.setEntries([
        {
          mediaType: top.mediaType,
          digest: top.digest,
          size: top.bytes.byteLength,
          ...(ref.tag !== undefined ? { annotations: { [REF_NAME]: ref.tag } } : {}),
        },
        ...attachments,
      ]);
    } catch (e) {
      throw writeFailure(e, outDir);
    }

    // 3. Trust before bulk: the signature is judged before any layer is fetched.
    await options.verifyTrust?.(tmp, context);

    // 4. The layers, then the whole.
    await download(
      manifests.flatMap((m) => m.blobs),
      true,
    );
    await options.verify(tmp, context);

    try {
      await rmdir(outDir);
    } catch {
      // Absent: the usual case.
    }
    try {
      await rename(tmp, outDir);
    } catch (e) {
      throw writeFailure(e, outDir);
    }
    return { manifestDigest: top.digest, mediaType: top.mediaType, blobs, bytes, attachments: attachments.length, outDir };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The attachments listed for `subject` that really point at it, each with its blobs. Anyone
 * with push access can edit a fallback tag, so an entry that is unreadable, too big, about
 * another image or of a kind we do not use is skipped rather than fatal, and at most
 * `maxReferrers` entries are followed. Missing attachments are the verifier's to refuse.
 */
async function pullAttachments(
  client: RegistryClient,
  repository: string,
  subject: Digest,
  /** Where fetched documents and blobs go: the temporary layout of this pull. */
  sink: {
    readonly store: (m: FetchedManifest) => Promise<GraphManifest>;
    readonly forget: (digest: Digest) => Promise<void>;
    readonly download: (blobs: readonly GraphBlob[]) => Promise<void>;
  },
  maxReferrers: number,
  maxBlobBytes: number,
): Promise<Descriptor[]> {
  const tag = referrersTag(subject);
  let listed: FetchedManifest | undefined;
  try {
    listed = await client.findManifest(repository, tag);
  } catch (e) {
    if (!skippable(e)) throw e;
    return [];
  }
  if (!listed) return [];
  let entries: readonly Descriptor[];
  try {
    entries = parseReferrersIndex(listed.bytes, `${client.registry}/${repository}:${tag}`).manifests;
  } catch (e) {
    if (!skippable(e)) throw e;
    return [];
  }
  const out: Descriptor[] = [];
  let followed = 0;
  for (const d of entries) {
    const kind = attachmentKindOf(d);
    if (kind === undefined) continue;
    if (followed++ >= maxReferrers) break;
    if (d.digest === subject || out.some((o) => o.digest === d.digest)) continue;
    try {
      const fetched = await client.getManifest(repository, d.digest);
      const m = await sink.store(fetched);
      if (m.subject !== subject || m.children.length > 0 || m.blobs.some((b) => b.size > maxBlobBytes)) {
        await sink.forget(fetched.digest);
        continue;
      }
      await sink.download(m.blobs);
      out.push({ mediaType: fetched.mediaType, digest: fetched.digest, size: fetched.bytes.byteLength, annotations: { [ATTACHMENT_ANNOTATION]: kind } });
    } catch (e) {
      if (!skippable(e)) throw e;
      await sink.forget(d.digest);
    }
  }
  return out;
}

/** A hostile or broken attachment is skipped; an interrupt, an auth failure or a local disk problem is not. */
function skippable(e: unknown): boolean {
  return (
    e instanceof RegistryError &&
    e.code !== 'REGISTRY_INTERRUPTED' &&
    e.code !== 'REGISTRY_UNAUTHORIZED' &&
    e.code !== 'REGISTRY_DENIED' &&
    e.code !== 'REGISTRY_UNREACHABLE'
  );
}

/** Registry manifests are checked like layout ones, but their blobs are not on disk yet. */
async function readGraphManifestLenient(layout: Layout, desc: Descriptor): Promise<GraphManifest> {
  try {
    return await readGraphManifest(layout, desc, { blobsOnDisk: false });
  } catch (e) {
    if (e instanceof LayoutError) {
      throw new RegistryError('REGISTRY_PROTOCOL', `registry manifest ${desc.digest}: ${e.message.replace(`${layout.dir}: `, '')}`, { cause: e });
    }
    throw e;
  }
}
