/**
 * registry → layout, verified before anything is written: the image, its blobs (each
 * digest-checked while streaming) and its attachments (found through the referrers tag
 * fallback) go into a temporary layout next to the destination; the caller's `verify` judges
 * that layout, and only if it accepts is the layout renamed into place.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LayoutError, RegistryError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { ATTACHMENT_ANNOTATION as ATTACHMENT, attachmentKindOf } from '../oci/attachment-kinds.js';
import { assertFreshOutput, Layout, REF_NAME } from '../oci/layout.js';
import type { Descriptor } from '../oci/types.js';
import type { FetchedManifest, RegistryClient } from './client.js';
import { readGraphManifest, type GraphManifest } from './image-graph.js';
import { formatReference, manifestReference, referrersTag, type Reference } from './reference.js';
import { parseReferrersIndex } from './referrers.js';

export interface PullVerifyContext {
  readonly reference: Reference;
  /** The docker reference a signature must name: `registry/repository[:tag]`. */
  readonly identity: string;
  readonly manifestDigest: Digest;
}

export interface PullImageOptions {
  readonly ref: Reference;
  readonly client: RegistryClient;
  readonly outDir: string;
  /** Throws to refuse the image; the temporary layout is then deleted and outDir never appears. */
  readonly verify: (layoutDir: string, context: PullVerifyContext) => Promise<void>;
  readonly onProgress?: (event: { readonly type: 'blob'; readonly digest: Digest; readonly size: number }) => void;
}

export interface PullResult {
  readonly manifestDigest: Digest;
  readonly mediaType: string;
  readonly blobs: number;
  readonly bytes: number;
  readonly attachments: number;
  readonly outDir: string;
}

export async function pullImage(options: PullImageOptions): Promise<PullResult> {
  const { ref, client, outDir } = options;
  const repository = ref.repository;
  await assertFreshOutput(outDir);
  const tmp = join(dirname(outDir), `.${basename(outDir)}.pull-${randomBytes(4).toString('hex')}`);
  let blobs = 0;
  let bytes = 0;
  try {
    const layout = await Layout.create(tmp);
    const store = async (m: FetchedManifest): Promise<GraphManifest> => {
      await writeFile(layout.blobPath(m.digest), m.bytes);
      return readGraphManifestLenient(layout, { mediaType: m.mediaType, digest: m.digest, size: m.bytes.byteLength });
    };
    const download = async (manifests: readonly GraphManifest[]) => {
      const seen = new Set<Digest>();
      const wanted = manifests.flatMap((m) => m.blobs).filter((b) => !seen.has(b.digest) && seen.add(b.digest));
      // Wait for every transfer before reporting a failure, so none still writes into the
      // temporary layout while it is being removed.
      const results = await Promise.allSettled(
        wanted.map(async (b) => {
          await client.downloadBlob(repository, b.digest, b.size, layout.blobPath(b.digest));
          blobs++;
          bytes += b.size;
          options.onProgress?.({ type: 'blob', digest: b.digest, size: b.size });
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    };

    const top = await client.getManifest(repository, manifestReference(ref));
    const root = await store(top);
    const manifests = [root];
    for (const child of root.children) {
      manifests.push(await store(await client.getManifest(repository, child.digest)));
    }
    await download(manifests);

    const attachments: Descriptor[] = [];
    const listed = await client.findManifest(repository, referrersTag(top.digest));
    if (listed) {
      const index = parseReferrersIndex(listed.bytes, `${client.registry}/${repository}:${referrersTag(top.digest)}`);
      for (const d of index.manifests) {
        const kind = attachmentKindOf(d);
        if (kind === undefined) continue;
        const fetched = await client.getManifest(repository, d.digest);
        const m = await store(fetched);
        // Anyone with push access can edit a fallback tag: keep only entries that really point here.
        if (m.subject !== top.digest || m.children.length > 0) continue;
        await download([m]);
        attachments.push({ mediaType: fetched.mediaType, digest: fetched.digest, size: fetched.bytes.byteLength, annotations: { [ATTACHMENT]: kind } });
      }
    }

    await layout.setEntries([
      {
        mediaType: top.mediaType,
        digest: top.digest,
        size: top.bytes.byteLength,
        ...(ref.tag !== undefined ? { annotations: { [REF_NAME]: ref.tag } } : {}),
      },
      ...attachments,
    ]);

    const identity = formatReference({ registry: ref.registry, repository, ...(ref.tag !== undefined ? { tag: ref.tag } : {}) });
    await options.verify(tmp, { reference: ref, identity, manifestDigest: top.digest });

    try {
      await rmdir(outDir);
    } catch {
      // Absent: the usual case.
    }
    await rename(tmp, outDir);
    return { manifestDigest: top.digest, mediaType: top.mediaType, blobs, bytes, attachments: attachments.length, outDir };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
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
