/**
 * layout → registry. Order matters for consumers that may look at any moment: blobs first
 * (HEAD, then cross-repository mount, then upload), manifests by digest, attachments and their
 * referrers fallback index, and the image tags last of all, only once every repository holds
 * everything. A failure anywhere before that leaves no tag pointing at a partial image.
 */
import { RegistryError } from '../errors.js';
import { throwIfAborted } from './retrying.js';
import { canonicalJson } from '../oci/json.js';
import { MediaType } from '../oci/mediatypes.js';
import type { Digest } from '../oci/digest.js';
import type { RegistryClient } from './client.js';
import { attachmentBlobs, readImageGraph, type GraphBlob, type GraphManifest, type ImageGraph } from './image-graph.js';
import { parseReference, referenceString, referrersTag, withDigest, withTag, type ImageReference } from '../oci/reference.js';
import { mergeReferrers, parseReferrersIndex, referrerDescriptor } from './referrers.js';

export type PushProgress =
  | {
      readonly type: 'blob';
      readonly action: 'skipped' | 'mounted' | 'uploaded';
      readonly repository: string;
      readonly digest: Digest;
      readonly size: number;
      readonly from?: string;
    }
  | { readonly type: 'manifest'; readonly repository: string; readonly reference: string; readonly digest: Digest }
  | { readonly type: 'tag'; readonly reference: string; readonly digest: Digest };

export interface PushImageOptions {
  readonly layoutDir: string;
  /** The image's tag in the layout (`org.opencontainers.image.ref.name`); optional when it holds one image. */
  readonly ref?: string;
  /** Where to push; several repositories and registries are fine. */
  readonly targets: readonly ImageReference[];
  /** One client, or one per registry. */
  readonly client: RegistryClient | ((registry: string) => RegistryClient);
  /** Repositories (same registry as the target) that may already hold the base layers. */
  readonly mountFrom?: readonly string[];
  readonly onProgress?: (event: PushProgress) => void;
  /** Checked before the tags move: once it fires, no tag moves. */
  readonly signal?: AbortSignal;
  /**
   * Settles when the push may write (a pre-flight check still running). Reads (HEADs) go ahead
   * meanwhile; no mount, upload, manifest or tag is sent before it resolves, and if it rejects
   * the push fails with its error.
   */
  readonly mayWrite?: Promise<unknown>;
  /**
   * The image as the caller already read it from `layoutDir` (publish reads it first, to start
   * its checks with the digest): not read again.
   */
  readonly graph?: ImageGraph;
}

export interface PushResult {
  readonly manifestDigest: Digest;
  readonly mediaType: string;
  readonly blobsUploaded: number;
  readonly blobsSkipped: number;
  readonly blobsMounted: number;
  /** Bytes sent in blob uploads (a restarted upload counts what was sent again). */
  readonly bytesUploaded: number;
  /** Attachment manifests pushed, summed over repositories. */
  readonly attachmentsPushed: number;
  /** Fully qualified references now pointing at the image. */
  readonly tagged: readonly string[];
}

interface Counters {
  uploaded: number;
  skipped: number;
  mounted: number;
  bytes: number;
}

/** `a/b` stays a repository; `host:5000/a/b` names one in a registry (only used if it matches). */
function mountSource(entry: string, registry: string): string | undefined {
  const first = entry.split('/')[0] ?? '';
  if (entry.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    const ref = parseReference(entry);
    return ref.registry === registry ? ref.repository : undefined;
  }
  return entry;
}

/**
 * Each blob on its own, all side by side (the client bounds concurrency): is it there (HEAD),
 * can it be mounted, else upload it. A blob the registry already holds is not read at all (an
 * unchanged re-push reads no blob). An uploaded blob is hashed as it is sent and committed only
 * if it matches its digest (blob-upload.ts); one that does not stops the push before any
 * manifest or tag is written, with the layout's own error when the layout's file is at fault.
 */
async function pushBlobs(
  client: RegistryClient,
  repository: string,
  blobs: readonly GraphBlob[],
  mountFrom: readonly string[],
  checkBlob: (b: GraphBlob) => Promise<void>,
  counters: Counters,
  progress: (e: PushProgress) => void,
  mayWrite: Promise<unknown>,
): Promise<void> {
  // After a failure no new request starts, and the push waits for those in flight so nothing
  // keeps running once it has reported the error.
  let failed = false;
  const pushOne = async (b: GraphBlob): Promise<void> => {
    if (await client.hasBlob(repository, b.digest)) {
      counters.skipped++;
      progress({ type: 'blob', action: 'skipped', repository, digest: b.digest, size: b.size });
      return;
    }
    await mayWrite;
    for (const from of mountFrom) {
      if (failed) return;
      if (await client.mountBlob(repository, from, b.digest)) {
        counters.mounted++;
        progress({ type: 'blob', action: 'mounted', repository, digest: b.digest, size: b.size, from });
        return;
      }
    }
    if (failed) return;
    let bytesSent: number;
    try {
      ({ bytesSent } = await client.uploadBlob(repository, b.source, b.digest, b.size));
    } catch (e) {
      // The bytes did not match: if the layout's file is corrupt, say so (LAYOUT_BLOB_CORRUPT).
      if (e instanceof RegistryError && e.code === 'BLOB_DIGEST_MISMATCH') await checkBlob(b);
      throw e;
    }
    counters.uploaded++;
    counters.bytes += bytesSent;
    progress({ type: 'blob', action: 'uploaded', repository, digest: b.digest, size: b.size });
  };
  const results = await Promise.allSettled(
    blobs.map(async (b) => {
      if (failed) return;
      try {
        await pushOne(b);
      } catch (e) {
        failed = true;
        throw e;
      }
    }),
  );
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

async function putByDigest(client: RegistryClient, repository: string, m: GraphManifest, progress: (e: PushProgress) => void): Promise<void> {
  await client.putManifest(repository, m.digest, m.bytes, m.mediaType);
  progress({ type: 'manifest', repository, reference: m.digest, digest: m.digest });
}

export async function pushImage(options: PushImageOptions): Promise<PushResult> {
  const { layoutDir, targets } = options;
  const progress = options.onProgress ?? (() => {});
  const clientFor = typeof options.client === 'function' ? options.client : () => options.client as RegistryClient;
  if (targets.length === 0) throw new RegistryError('REFERENCE_INVALID', 'push: no target reference given');
  const mayWrite = options.mayWrite ?? Promise.resolve();
  // Rejections are awaited where writes start; until then, not an unhandled one.
  mayWrite.catch(() => {});
  const graph = options.graph ?? (await readImageGraph(layoutDir, options.ref, { checkBlobs: false }));
  const root = graph.root;
  for (const t of targets) {
    if (t.digest !== undefined && t.digest !== root.digest) {
      throw new RegistryError('REFERENCE_INVALID', `${referenceString(t)}: the image in ${layoutDir} is ${root.digest}`);
    }
  }

  // One content push per repository, however many tags point into it.
  const repositories = new Map<string, { registry: string; repository: string }>();
  for (const t of targets) repositories.set(`${t.registry}/${t.repository}`, { registry: t.registry, repository: t.repository });

  // Push commits only what it has hashed: uploadBlob hashes the bytes it sends (attachments'
  // blobs too) and sends the committing PUT only when they are the digest.

  const counters: Counters = { uploaded: 0, skipped: 0, mounted: 0, bytes: 0 };
  let attachmentsPushed = 0;
  const done = new Map<string, string[]>();
  const extraBlobs = attachmentBlobs(graph.attachments);

  for (const { registry, repository } of repositories.values()) {
    const client = clientFor(registry);
    const mountFrom = [
      ...(options.mountFrom ?? []).map((m) => mountSource(m, registry)).filter((m): m is string => m !== undefined),
      // A repository filled earlier in this push is the cheapest source of all.
      ...(done.get(registry) ?? []),
    ].filter((m, i, all) => m !== repository && all.indexOf(m) === i);

    await pushBlobs(client, repository, graph.blobs, mountFrom, graph.checkBlob, counters, progress, mayWrite);
    // Every blob may have been there already: no manifest either before the go-ahead.
    await mayWrite;
    for (const m of graph.manifests) await putByDigest(client, repository, m, progress);

    if (graph.attachments.length > 0) {
      await pushBlobs(client, repository, extraBlobs, mountFrom, graph.checkBlob, counters, progress, mayWrite);
      for (const a of graph.attachments) {
        await putByDigest(client, repository, a.manifest, progress);
        attachmentsPushed++;
      }
      // Attachments of a platform manifest inside an index get their own referrers tag.
      const bySubject = new Map<Digest, typeof graph.attachments>();
      for (const a of graph.attachments) bySubject.set(a.manifest.subject!, [...(bySubject.get(a.manifest.subject!) ?? []), a]);
      for (const [subject, list] of bySubject) {
        const tag = referrersTag(subject);
        const existing = await client.findManifest(repository, tag);
        const current = existing ? parseReferrersIndex(existing.bytes, `${registry}/${repository}:${tag}`) : undefined;
        const merged = mergeReferrers(
          current,
          list.map((a) =>
            referrerDescriptor({
              kind: a.kind,
              digest: a.manifest.digest,
              size: a.manifest.bytes.byteLength,
              mediaType: a.manifest.mediaType,
              artifactType: a.manifest.artifactType,
              configMediaType: a.manifest.blobs[0]?.mediaType,
              annotations: a.manifest.annotations,
            }),
          ),
        );
        const bytes = canonicalJson(merged);
        if (!existing || Buffer.compare(existing.bytes, Buffer.from(bytes)) !== 0) {
          const digest = await client.putManifest(repository, tag, bytes, MediaType.imageIndex);
          progress({ type: 'manifest', repository, reference: tag, digest });
        }
      }
    }
    done.set(registry, [...(done.get(registry) ?? []), repository]);
  }

  const tagged = await moveTags(clientFor, targets, root, progress, options.signal);
  return {
    manifestDigest: root.digest,
    mediaType: root.mediaType,
    blobsUploaded: counters.uploaded,
    blobsSkipped: counters.skipped,
    blobsMounted: counters.mounted,
    bytesUploaded: counters.bytes,
    attachmentsPushed,
    tagged,
  };
}

/**
 * Point every requested tag at the image, or none: once the first tag moves, an interrupt no
 * longer stops the (short) loop, and if the registry refuses one tag, those already moved are
 * put back to the manifest they held before. (A tag that did not exist before cannot be
 * removed again through the distribution API; it then names the complete, pushed image.)
 */
async function moveTags(
  clientFor: (registry: string) => RegistryClient,
  targets: readonly ImageReference[],
  root: GraphManifest,
  progress: (e: PushProgress) => void,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const tagTargets = targets.filter((t) => t.tag !== undefined).map((t) => withTag(t, t.tag!));
  const before = new Map<string, Awaited<ReturnType<RegistryClient['findManifest']>>>();
  for (const t of tagTargets) before.set(referenceString(t), await clientFor(t.registry).findManifest(t.repository, t.tag!));
  throwIfAborted(signal, 'push');
  const moved: ImageReference[] = [];
  try {
    for (const t of tagTargets) {
      const previous = before.get(referenceString(t));
      if (previous?.digest !== root.digest) await clientFor(t.registry).putManifest(t.repository, t.tag!, root.bytes, root.mediaType, { interruptible: false });
      moved.push(t);
      progress({ type: 'tag', reference: referenceString(t), digest: root.digest });
    }
  } catch (e) {
    for (const t of moved) {
      const previous = before.get(referenceString(t));
      if (previous && previous.digest !== root.digest) {
        await clientFor(t.registry)
          .putManifest(t.repository, t.tag!, previous.bytes, previous.mediaType, { interruptible: false })
          .catch(() => {});
      }
    }
    throw e;
  }
  return targets.map((t) => referenceString(t.tag !== undefined ? withTag(t, t.tag) : withDigest(t, root.digest)));
}
