/**
 * The OCI distribution API calls: blobs (HEAD, cross-repository mount, resumable upload,
 * verified download), manifests (with the OCI Accept list, size-capped), tags. The transport
 * (transport.ts) below it does TLS, redirects, auth and retries; blob-upload.ts does uploads.
 * Authorization headers and credentials never appear in errors or progress events.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { RegistryError } from '../errors.js';
import { isDigest, sha256Digest, type Digest } from '../oci/digest.js';
import { MANIFEST_ACCEPT } from '../oci/mediatypes.js';
import { discard, readCappedBytes } from './response-body.js';
import { uploadBlob, type BlobSource, type UploadProgress } from './blob-upload.js';
import type { Credentials } from './credentials.js';
import { createLimiter } from './limit.js';
import { nextLink, repositoryScope, resolveLocation } from './protocol.js';
import type { RetryPolicy } from './retry.js';
import { retrying, throwIfAborted, type RetryEvent } from './retrying.js';
import { createTransport } from './transport.js';

export type { BlobSource } from './blob-upload.js';

export type RegistryProgress = UploadProgress | ({ readonly type: 'retry' } & RetryEvent);

export interface RegistryClientOptions {
  /** `host[:port]`, as in image references. */
  readonly registry: string;
  /** Plain HTTP. Only when asked: never a silent fallback from TLS. */
  readonly insecure?: boolean;
  /** PEM of the CA that signed the registry's certificate (instead of the system store). */
  readonly ca?: string | Buffer;
  readonly caFile?: string;
  readonly credentials?: Credentials;
  readonly fetchImpl?: typeof fetch;
  /** Blob transfers in flight at once. */
  readonly concurrency?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Largest PATCH of a streamed upload (blobs up to 1 MiB, and this, go up in one PUT). */
  readonly chunkSize?: number;
  /** Per-request limit for everything but blob bodies. */
  readonly timeoutMs?: number;
  /** Stops every request, upload and retry wait of this client (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Largest manifest or attachment document accepted, with or without Content-Length. */
  readonly maxManifestBytes?: number;
  readonly onProgress?: (event: RegistryProgress) => void;
}

export interface FetchedManifest {
  readonly bytes: Buffer;
  readonly digest: Digest;
  readonly mediaType: string;
}

export interface RegistryClient {
  readonly registry: string;
  /** GET /v2/: reachability and credentials. */
  ping(): Promise<void>;
  hasBlob(repository: string, digest: Digest): Promise<boolean>;
  /** Cross-repository mount; false when the registry started an upload instead. */
  mountBlob(repository: string, from: string, digest: Digest): Promise<boolean>;
  /** Upload after proving the source is `digest` (see blob-upload.ts). */
  uploadBlob(repository: string, source: BlobSource, digest: Digest, size: number): Promise<{ readonly bytesSent: number }>;
  /** Stream a blob to `file`, checking size and digest on the way; nothing is left on failure. */
  downloadBlob(repository: string, digest: Digest, size: number, file: string): Promise<void>;
  getManifest(repository: string, reference: string): Promise<FetchedManifest>;
  /** Undefined when the registry has no such manifest. */
  findManifest(repository: string, reference: string): Promise<FetchedManifest | undefined>;
  /** `interruptible: false`: this request runs to its end even after the client's signal fired (tag moves). */
  putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string, options?: { readonly interruptible?: boolean }): Promise<Digest>;
  /** [] when the repository does not exist. */
  listTags(repository: string): Promise<string[]>;
}

/**
 * Largest PATCH of a streamed upload. Each PATCH is a round trip in which docker-registry also
 * saves its hash state: pushing debian-minimal (a 28.8 MB layer) took 1.1-1.3 s with 8 MiB
 * chunks against 0.7-0.9 s in one request (issue 14, BENCHMARKS.md). Chunks are streamed from
 * the file, never held in memory whole.
 */
const DEFAULT_CHUNK_SIZE = 32 * 1024 * 1024;
/** Manifests and attachment documents are small JSON; a registry sending more is hostile or broken. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const short = (d: Digest) => d.slice(0, 19);

export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const registry = options.registry;
  const signal = options.signal;
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const maxManifestBytes = options.maxManifestBytes ?? MAX_MANIFEST_BYTES;
  const progress = options.onProgress ?? (() => {});
  const limit = createLimiter(options.concurrency ?? 4);
  const transport = createTransport({
    registry,
    ...(options.insecure ? { insecure: true } : {}),
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    ...(options.caFile !== undefined ? { caFile: options.caFile } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    onRetry: (e) => progress({ type: 'retry', ...e }),
  });
  const url = transport.url;
  const blobScopes = (repository: string, push: boolean) => [repositoryScope(repository, push ? 'pull,push' : 'pull')];

  async function hasBlobDirect(repository: string, digest: Digest, retry: boolean): Promise<boolean> {
    const what = `HEAD ${repository} blob ${short(digest)}`;
    const res = await transport.send({
      method: 'HEAD',
      url: url(`/v2/${repository}/blobs/${digest}`),
      scopes: blobScopes(repository, true),
      retry,
      what,
      signal,
    });
    await discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await transport.unexpected(res, what, 'REGISTRY_PROTOCOL');
  }

  async function mountBlobDirect(repository: string, from: string, digest: Digest): Promise<boolean> {
    const what = `mount ${short(digest)} from ${from} into ${repository}`;
    const target = url(`/v2/${repository}/blobs/uploads/`);
    target.searchParams.set('mount', digest);
    target.searchParams.set('from', from);
    const res = await transport.send({
      method: 'POST',
      url: target,
      scopes: [...blobScopes(repository, true), repositoryScope(from, 'pull')],
      retry: true,
      what,
      signal,
    });
    await discard(res);
    if (res.status === 201) return true;
    if (res.status === 202) {
      // The registry opened an upload session instead; close it so it does not linger.
      const location = res.headers.get('location');
      if (location) {
        await transport
          .send({
            method: 'DELETE',
            url: resolveLocation(location, target.href),
            scopes: blobScopes(repository, true),
            retry: false,
            what: 'cancel upload',
            signal,
          })
          .then(discard)
          .catch(() => {});
      }
    }
    return false;
  }

  async function downloadBlobDirect(repository: string, digest: Digest, size: number, file: string): Promise<void> {
    const what = `GET ${repository} blob ${short(digest)}`;
    await retrying(
      async () => {
        const part = `${file}.part-${randomBytes(4).toString('hex')}`;
        try {
          // Not retried inside: this loop is the one retry policy for the whole transfer.
          const res = await transport.send({
            method: 'GET',
            url: url(`/v2/${repository}/blobs/${digest}`),
            scopes: blobScopes(repository, false),
            retry: false,
            what,
            timeoutMs: 0,
            signal,
          });
          if (res.status !== 200 || !res.body) throw await transport.unexpected(res, what, 'REGISTRY_PROTOCOL');
          const hash = createHash('sha256');
          let got = 0;
          const out = await open(part, 'wx');
          try {
            for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
              got += chunk.byteLength;
              if (got > size) throw new RegistryError('BLOB_DIGEST_MISMATCH', `${registry}: ${what}: more bytes than the descriptor's ${size}`);
              hash.update(chunk);
              await out.write(chunk);
            }
          } finally {
            await out.close();
          }
          const actual = `sha256:${hash.digest('hex')}`;
          if (got !== size || actual !== digest) {
            throw new RegistryError('BLOB_DIGEST_MISMATCH', `${registry}: ${what}: content does not match its digest`, {
              details: { registry, digest, size: got },
            });
          }
          await rename(part, file);
        } catch (e) {
          await rm(part, { force: true });
          // A local file-system failure (disk full) is not the registry's and is not retried.
          if (e instanceof RegistryError || typeof (e as NodeJS.ErrnoException).syscall === 'string') throw e;
          throw transport.networkError(e, what, signal);
        }
      },
      { what, policy: transport.policy, signal, onRetry: (e) => progress({ type: 'retry', ...e }) },
    );
  }

  function mediaTypeOf(res: Response, bytes: Buffer): string {
    const header = res.headers.get('content-type')?.split(';')[0]?.trim();
    if (header && header !== 'application/json' && header !== 'application/octet-stream') return header;
    try {
      const mt = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
      if (typeof mt === 'string') return mt;
    } catch {
      // Not JSON: the caller's parser reports it.
    }
    return header ?? '';
  }

  async function findManifestDirect(repository: string, reference: string): Promise<FetchedManifest | undefined> {
    const what = `GET ${repository} manifest ${reference}`;
    const res = await transport.send({
      method: 'GET',
      url: url(`/v2/${repository}/manifests/${reference}`),
      scopes: blobScopes(repository, false),
      retry: true,
      what,
      headers: { Accept: MANIFEST_ACCEPT },
      signal,
    });
    if (res.status === 404) {
      await discard(res);
      return undefined;
    }
    if (res.status !== 200) throw await transport.unexpected(res, what, 'REGISTRY_PROTOCOL');
    let bytes: Buffer | undefined;
    try {
      bytes = await readCappedBytes(res, maxManifestBytes);
    } catch (e) {
      throw transport.networkError(e, what, signal);
    }
    if (bytes === undefined) {
      throw new RegistryError('REGISTRY_PROTOCOL', `${registry}: ${what}: manifest larger than ${maxManifestBytes} bytes`, {
        details: { registry, limit: maxManifestBytes },
      });
    }
    const digest = sha256Digest(bytes);
    if (isDigest(reference) && digest !== reference) {
      throw new RegistryError('BLOB_DIGEST_MISMATCH', `${registry}: ${what}: manifest content does not match the digest asked for`, {
        details: { registry, expected: reference, actual: digest },
      });
    }
    return { bytes, digest, mediaType: mediaTypeOf(res, bytes) };
  }

  return {
    registry,

    async ping() {
      const res = await transport.send({ method: 'GET', url: url('/v2/'), scopes: [], retry: true, what: 'GET /v2/', signal });
      if (res.status !== 200) throw await transport.unexpected(res, 'GET /v2/', 'REGISTRY_PROTOCOL');
      await discard(res);
    },

    hasBlob: (repository, digest) => limit(() => hasBlobDirect(repository, digest, true)),
    mountBlob: (repository, from, digest) => limit(() => mountBlobDirect(repository, from, digest)),
    uploadBlob: (repository, source, digest, size) =>
      limit(() => {
        throwIfAborted(signal, `upload ${short(digest)}`);
        return uploadBlob({
          transport,
          repository,
          source,
          digest,
          size,
          chunkSize,
          signal,
          onProgress: progress,
          exists: () => hasBlobDirect(repository, digest, false),
        });
      }),
    downloadBlob: (repository, digest, size, file) => limit(() => downloadBlobDirect(repository, digest, size, file)),

    async getManifest(repository, reference) {
      const m = await findManifestDirect(repository, reference);
      if (!m) {
        throw new RegistryError('REGISTRY_NOT_FOUND', `${registry}/${repository}: no manifest ${reference}`, { details: { registry, repository, reference } });
      }
      return m;
    },

    findManifest: findManifestDirect,

    async putManifest(repository, reference, bytes, mediaType, putOptions) {
      const what = `PUT ${repository} manifest ${reference}`;
      const digest = sha256Digest(bytes);
      const res = await transport.send({
        method: 'PUT',
        url: url(`/v2/${repository}/manifests/${reference}`),
        scopes: blobScopes(repository, true),
        retry: true,
        what,
        body: bytes,
        headers: { 'Content-Type': mediaType },
        signal: putOptions?.interruptible === false ? undefined : signal,
      });
      if (res.status !== 201 && res.status !== 200) throw await transport.unexpected(res, what, 'MANIFEST_PUT_FAILED');
      await discard(res);
      const answered = res.headers.get('docker-content-digest');
      if (answered && answered !== digest) {
        throw new RegistryError('MANIFEST_PUT_FAILED', `${registry}: ${what}: registry stored digest ${answered}, expected ${digest}`, {
          details: { registry, expected: digest, actual: answered },
        });
      }
      return digest;
    },

    async listTags(repository) {
      const tags: string[] = [];
      let next: URL | undefined = url(`/v2/${repository}/tags/list?n=1000`);
      while (next) {
        const what = `GET ${repository} tags`;
        const res = await transport.send({ method: 'GET', url: next, scopes: blobScopes(repository, false), retry: true, what, signal });
        if (res.status === 404) {
          await discard(res);
          return tags;
        }
        if (res.status !== 200) throw await transport.unexpected(res, what, 'REGISTRY_PROTOCOL');
        const json = (await res.json().catch(() => undefined)) as { tags?: unknown } | undefined;
        if (Array.isArray(json?.tags)) tags.push(...json.tags.filter((t): t is string => typeof t === 'string'));
        const link = nextLink(res.headers.get('link'));
        next = link ? resolveLocation(link, next.href) : undefined;
      }
      return tags;
    },
  };
}
