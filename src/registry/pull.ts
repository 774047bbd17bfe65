/**
 * registry → layout, verified before anything is written: the image, its blobs (each
 * digest-checked while streaming) and its attachments (found through the referrers tag
 * fallback) go into a temporary layout next to the destination; the caller's `verify` judges
 * that layout, and only if it accepts is the layout renamed into place.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BuildError, RegistryError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { ATTACHMENT, REF_NAME, blobPath, initLayout, writeIndex, type AttachmentKind } from '../oci/layout.js';
import { MediaType } from '../oci/mediatypes.js';
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

function attachmentKind(d: Descriptor): AttachmentKind | undefined {
  const k = d.annotations?.[ATTACHMENT];
  if (k === 'signature' || k === 'sbom' || k === 'provenance') return k;
  switch (d.artifactType) {
    case MediaType.simpleSigning:
      return 'signature';
    case MediaType.spdxJson:
    case MediaType.cyclonedxJson:
      return 'sbom';
    case MediaType.dsseEnvelope:
    case MediaType.inTotoProvenance:
      return 'provenance';
    default:
      return undefined;
  }
}

async function assertFreshDestination(outDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(outDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new BuildError('LAYOUT_INVALID', `${outDir}: exists and is not a directory`);
  }
  if (entries.length > 0) throw new BuildError('LAYOUT_INVALID', `${outDir}: already exists and is not empty`);
}

export async function pullImage(options: PullImageOptions): Promise<PullResult> {
  const { ref, client, outDir } = options;
  const repository = ref.repository;
  await assertFreshDestination(outDir);
  const tmp = join(dirname(outDir), `.${basename(outDir)}.pull-${randomBytes(4).toString('hex')}`);
  let blobs = 0;
  let bytes = 0;
  try {
    await initLayout(tmp);
    const store = async (m: FetchedManifest): Promise<GraphManifest> => {
      await writeFile(blobPath(tmp, m.digest), m.bytes);
      return readGraphManifestLenient(tmp, { mediaType: m.mediaType, digest: m.digest, size: m.bytes.byteLength });
    };
    const download = async (manifests: readonly GraphManifest[]) => {
      const seen = new Set<Digest>();
      const wanted = manifests.flatMap((m) => m.blobs).filter((b) => !seen.has(b.digest) && seen.add(b.digest));
      // Wait for every transfer before reporting a failure, so none still writes into the
      // temporary layout while it is being removed.
      const results = await Promise.allSettled(
        wanted.map(async (b) => {
          await client.downloadBlob(repository, b.digest, b.size, blobPath(tmp, b.digest));
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
        const kind = attachmentKind(d);
        if (kind === undefined) continue;
        const fetched = await client.getManifest(repository, d.digest);
        const m = await store(fetched);
        // Anyone with push access can edit a fallback tag: keep only entries that really point here.
        if (m.subject !== top.digest || m.children.length > 0) continue;
        await download([m]);
        attachments.push({ mediaType: fetched.mediaType, digest: fetched.digest, size: fetched.bytes.byteLength, annotations: { [ATTACHMENT]: kind } });
      }
    }

    await writeIndex(tmp, {
      schemaVersion: 2,
      mediaType: MediaType.imageIndex,
      manifests: [
        {
          mediaType: top.mediaType,
          digest: top.digest,
          size: top.bytes.byteLength,
          ...(ref.tag !== undefined ? { annotations: { [REF_NAME]: ref.tag } } : {}),
        },
        ...attachments,
      ],
    });

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
async function readGraphManifestLenient(dir: string, desc: Descriptor): Promise<GraphManifest> {
  try {
    return await readGraphManifest(dir, desc, { blobsOnDisk: false });
  } catch (e) {
    if (e instanceof BuildError) {
      throw new RegistryError('REGISTRY_PROTOCOL', `registry manifest ${desc.digest}: ${e.message.replace(`${dir}: `, '')}`, { cause: e });
    }
    throw e;
  }
}
