/**
 * An OCI distribution client over Node's fetch: blobs (HEAD, cross-repository mount,
 * monolithic or chunked upload that resumes from the server's Range, verified download),
 * manifests (with the OCI Accept list), tags. Anonymous, Basic and Bearer-token auth; retries
 * with backoff on 5xx, 429 (Retry-After), resets and timeouts. Authorization headers and
 * credentials never appear in errors or progress events.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { RegistryError, type RegistryErrorCode } from '../errors.js';
import { isDigest, sha256Digest, type Digest } from '../oci/digest.js';
import { MANIFEST_ACCEPT } from '../oci/mediatypes.js';
import { parseWwwAuthenticate, type AuthChallenge } from './challenge.js';
import type { Credentials } from './credentials.js';
import { createLimiter } from './limit.js';
import {
  describeRegistryErrors,
  displayUrl,
  nextLink,
  parseRegistryErrors,
  repositoryScope,
  resolveLocation,
  scopeCovers,
  uploadOffsetFromRange,
} from './protocol.js';
import { DEFAULT_REGISTRY } from './reference.js';
import {
  DEFAULT_RETRY,
  isPermanentNetworkError,
  isRetryableStatus,
  networkErrorCode,
  parseRetryAfter,
  retryDelayMs,
  type RetryPolicy,
} from './retry.js';
import { caDispatcher, type FetchDispatcher } from './tls.js';

/** Bytes to upload: in memory, or a file read chunk by chunk (so an upload can resume). */
export type BlobSource = { readonly bytes: Uint8Array } | { readonly file: string };

export type RegistryProgress =
  | { readonly type: 'blob-progress'; readonly repository: string; readonly digest: Digest; readonly sent: number; readonly size: number }
  | { readonly type: 'upload-resumed'; readonly repository: string; readonly digest: Digest; readonly offset: number }
  | { readonly type: 'upload-restarted'; readonly repository: string; readonly digest: Digest }
  | { readonly type: 'retry'; readonly what: string; readonly attempt: number; readonly delayMs: number; readonly reason: string };

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
  /** Blobs up to this size go up in one PUT; larger ones in PATCH chunks of this size. */
  readonly chunkSize?: number;
  /** Per-request limit for everything but blob bodies. */
  readonly timeoutMs?: number;
  readonly onProgress?: (event: RegistryProgress) => void;
}

export interface ManifestHead {
  readonly digest: Digest | undefined;
  readonly mediaType: string;
  readonly size: number;
}

export interface FetchedManifest {
  readonly bytes: Buffer;
  readonly digest: Digest;
  readonly mediaType: string;
}

export interface RegistryClient {
  readonly registry: string;
  /** `https://host:port` (or http:// when insecure). */
  readonly baseUrl: string;
  /** GET /v2/: reachability and credentials. */
  ping(): Promise<void>;
  hasBlob(repository: string, digest: Digest): Promise<boolean>;
  /** Cross-repository mount; false when the registry started an upload instead. */
  mountBlob(repository: string, from: string, digest: Digest): Promise<boolean>;
  uploadBlob(repository: string, source: BlobSource, digest: Digest, size: number): Promise<{ readonly bytesSent: number }>;
  /** Stream a blob to `file`, checking size and digest on the way; nothing is left on failure. */
  downloadBlob(repository: string, digest: Digest, size: number, file: string): Promise<void>;
  /** A small blob (config, attestation) into memory, digest-checked. */
  fetchBlob(repository: string, digest: Digest, maxBytes?: number): Promise<Buffer>;
  headManifest(repository: string, reference: string): Promise<ManifestHead | undefined>;
  getManifest(repository: string, reference: string): Promise<FetchedManifest>;
  /** Undefined when the registry has no such manifest. */
  findManifest(repository: string, reference: string): Promise<FetchedManifest | undefined>;
  putManifest(repository: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<Digest>;
  /** [] when the repository does not exist. */
  listTags(repository: string): Promise<string[]>;
}

const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const USER_AGENT = 'imgfactory';

interface Req {
  readonly method: string;
  readonly url: URL;
  /** Bearer scopes this request needs. */
  readonly scopes: readonly string[];
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array;
  /** Idempotent: transient failures are retried here. */
  readonly retry: boolean;
  /** For messages: "HEAD blob sha256:…". */
  readonly what: string;
  /** 0: no overall limit (blob bodies). */
  readonly timeoutMs?: number;
}

interface CachedToken {
  readonly token: string;
  readonly expiresAt: number;
}

/** Marks failures worth another try (the upload loop restarts or resumes on these). */
function temporary(e: unknown): boolean {
  return e instanceof RegistryError && e.details.temporary === true;
}

/** Short cause for retry events: the socket error code, else the HTTP status, else our code. */
function failureReason(e: RegistryError): string {
  if (typeof e.details.code === 'string') return e.details.code;
  if (typeof e.details.status === 'number') return `HTTP ${e.details.status}`;
  return e.code;
}

/** docker.io is an alias; its API lives elsewhere. */
function apiHost(registry: string): string {
  return registry === DEFAULT_REGISTRY ? 'registry-1.docker.io' : registry;
}

async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // The connection is being dropped anyway.
  }
}

async function readText(res: Response, limit = 64 * 1024): Promise<string> {
  try {
    const buf = Buffer.from(await res.arrayBuffer());
    return buf.subarray(0, limit).toString('utf8');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface SourceReader {
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

async function openSource(source: BlobSource): Promise<SourceReader> {
  if ('bytes' in source) {
    const bytes = source.bytes;
    return { read: async (offset, length) => bytes.subarray(offset, offset + length), close: async () => {} };
  }
  const fh: FileHandle = await open(source.file, 'r');
  return {
    async read(offset, length) {
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) throw new RegistryError('BLOB_UPLOAD_FAILED', `${source.file}: shorter than its descriptor size`);
        got += bytesRead;
      }
      return buf;
    },
    close: () => fh.close(),
  };
}

export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const registry = options.registry;
  const baseUrl = `${options.insecure ? 'http' : 'https'}://${apiHost(registry)}`;
  const baseHost = new URL(baseUrl).host;
  const fetchImpl = options.fetchImpl ?? fetch;
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const credentials = options.credentials;
  const progress = options.onProgress ?? (() => {});
  const limit = createLimiter(options.concurrency ?? 4);

  let dispatcherPromise: Promise<FetchDispatcher | undefined> | undefined;
  const dispatcher = () =>
    (dispatcherPromise ??= (async () => {
      if (options.insecure) return undefined;
      let ca = options.ca;
      if (ca === undefined && options.caFile !== undefined) {
        const file = options.caFile;
        ca = await readFile(file).catch((cause: unknown) => {
          throw new RegistryError('REGISTRY_UNREACHABLE', `${file}: cannot read the CA file`, { cause });
        });
      }
      return ca === undefined ? undefined : caDispatcher(ca);
    })());

  let scheme: 'basic' | 'bearer' | undefined;
  /** realm and service of the registry's Bearer challenge (its per-request scope dropped). */
  let bearerRealm: AuthChallenge | undefined;
  /** Keyed by the space-joined sorted scopes the token was issued for. */
  const tokens = new Map<string, CachedToken>();
  const inflight = new Map<string, Promise<void>>();

  const url = (path: string) => new URL(`${baseUrl}${path}`);
  const scopeKey = (scopes: readonly string[]) => [...new Set(scopes)].sort().join(' ');

  function basicHeader(): string {
    const c = credentials!;
    return `Basic ${Buffer.from(`${c.username}:${c.secret}`).toString('base64')}`;
  }

  /** A cached, unexpired token whose scopes cover `scopes` (pull,push also serves pull). */
  function cachedToken(scopes: readonly string[]): string | undefined {
    const now = Date.now();
    for (const [key, t] of tokens) {
      if (t.expiresAt <= now) {
        tokens.delete(key);
        continue;
      }
      const granted = key.split(' ');
      if (scopes.every((want) => granted.some((have) => scopeCovers(have, want)))) return t.token;
    }
    return undefined;
  }

  /** One token request per scope set at a time: concurrent requests share it. */
  async function obtainToken(challenge: AuthChallenge, scopes: readonly string[]): Promise<void> {
    const key = scopeKey(scopes);
    let pending = inflight.get(key);
    if (!pending) {
      pending = fetchToken(challenge, scopes).finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    await pending;
  }

  async function authorizationFor(scopes: readonly string[]): Promise<string | undefined> {
    if (scheme === 'basic' && credentials && !credentials.identityToken) return basicHeader();
    if (scheme === 'bearer') {
      let token = cachedToken(scopes);
      // The realm is known from an earlier challenge: get the token before asking, not after a 401.
      if (token === undefined && bearerRealm) {
        await obtainToken(bearerRealm, scopes);
        token = cachedToken(scopes);
      }
      if (token !== undefined) return `Bearer ${token}`;
    }
    return undefined;
  }

  function unauthorized(message: string): RegistryError {
    return new RegistryError('REGISTRY_UNAUTHORIZED', `${registry}: ${message}`, { details: { registry } });
  }

  function networkError(e: unknown, what: string): RegistryError {
    const code = networkErrorCode(e);
    let reason: string;
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
      reason = 'the registry does not speak TLS here (use --insecure for a plain-HTTP registry)';
    } else if (isPermanentNetworkError(e) && code !== 'ENOTFOUND') {
      reason = `TLS failure ${code} (is the registry's CA given with --ca-file?)`;
    } else if (code === 'ECONNREFUSED') reason = 'connection refused';
    else if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') reason = 'timed out';
    else if (code === 'ENOTFOUND') reason = 'host not found';
    else reason = `connection failed${code ? ` (${code})` : ''}`;
    return new RegistryError('REGISTRY_UNREACHABLE', `${registry}: ${what}: ${reason}`, {
      cause: e,
      details: { registry, code, temporary: !isPermanentNetworkError(e) },
    });
  }

  /** One HTTP exchange, following redirects by hand so TLS and credentials are kept in check. */
  async function exchange(req: Req): Promise<{ res: Response; sentAuth: 'basic' | 'bearer' | undefined; sentToken: string | undefined }> {
    let target = req.url;
    let method = req.method;
    let body = req.body;
    const d = await dispatcher();
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...req.headers };
      let sentAuth: 'basic' | 'bearer' | undefined;
      let sentToken: string | undefined;
      // Credentials go only to the registry itself, never to a storage backend it redirects to.
      if (target.host === baseHost && target.protocol === new URL(baseUrl).protocol) {
        const auth = await authorizationFor(req.scopes);
        if (auth) {
          headers.Authorization = auth;
          sentAuth = auth.startsWith('Basic') ? 'basic' : 'bearer';
          sentToken = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
        }
      }
      const limitMs = req.timeoutMs ?? timeoutMs;
      const init: RequestInit = {
        method,
        headers,
        redirect: 'manual',
        ...(body !== undefined ? { body } : {}),
        ...(limitMs > 0 ? { signal: AbortSignal.timeout(limitMs) } : {}),
        ...(d ? { dispatcher: d } : {}),
      };
      const res = await fetchImpl(target, init);
      if (res.status >= 300 && res.status < 400 && res.status !== 304 && res.headers.has('location')) {
        await discard(res);
        if (hop >= MAX_REDIRECTS) throw new RegistryError('REGISTRY_PROTOCOL', `${registry}: ${req.what}: too many redirects`);
        target = resolveLocation(res.headers.get('location')!, target.href);
        if (res.status === 303) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      return { res, sentAuth, sentToken };
    }
  }

  async function fetchToken(challenge: AuthChallenge, scopes: readonly string[]): Promise<void> {
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryError('REGISTRY_PROTOCOL', `${registry}: Bearer challenge without realm`);
    const tokenUrl = resolveLocation(realm, baseUrl);
    const allScopes = [...new Set([...scopes, ...(challenge.params.scope ? challenge.params.scope.split(' ') : [])])];
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT };
    let init: RequestInit;
    if (credentials?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: USER_AGENT, refresh_token: credentials.secret });
      if (challenge.params.service) form.set('service', challenge.params.service);
      if (allScopes.length > 0) form.set('scope', allScopes.join(' '));
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      init = { method: 'POST', headers, body: form.toString() };
    } else {
      if (challenge.params.service) tokenUrl.searchParams.set('service', challenge.params.service);
      for (const s of allScopes) tokenUrl.searchParams.append('scope', s);
      if (credentials) headers.Authorization = basicHeader();
      init = { method: 'GET', headers };
    }
    const d = await dispatcher();
    let res: Response;
    try {
      res = await fetchImpl(tokenUrl, { ...init, redirect: 'error', signal: AbortSignal.timeout(timeoutMs), ...(d ? { dispatcher: d } : {}) });
    } catch (e) {
      throw networkError(e, `token from ${displayUrl(tokenUrl)}`);
    }
    if (res.status === 401 || res.status === 403) {
      await discard(res);
      throw unauthorized(credentials ? `authentication failed (credentials from ${credentials.source} were rejected)` : 'authentication required and no credentials were found');
    }
    if (!res.ok) {
      await discard(res);
      throw new RegistryError('REGISTRY_PROTOCOL', `${registry}: token endpoint ${displayUrl(tokenUrl)} answered HTTP ${res.status}`, {
        details: { registry, status: res.status, temporary: isRetryableStatus(res.status) },
      });
    }
    const json = (await res.json().catch(() => undefined)) as { token?: unknown; access_token?: unknown; expires_in?: unknown } | undefined;
    const token = typeof json?.token === 'string' ? json.token : typeof json?.access_token === 'string' ? json.access_token : undefined;
    if (!token) throw new RegistryError('REGISTRY_PROTOCOL', `${registry}: token endpoint returned no token`);
    const seconds = typeof json?.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 60;
    // Renew a little early so a token does not expire between cache lookup and use.
    tokens.set(scopeKey(allScopes), { token, expiresAt: Date.now() + Math.max(1, seconds - 10) * 1000 });
  }

  async function authenticate(header: string | null, scopes: readonly string[], sent: 'basic' | 'bearer' | undefined, sentToken: string | undefined): Promise<void> {
    const challenges = parseWwwAuthenticate(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer) {
      scheme = 'bearer';
      const { scope: _scope, ...general } = bearer.params;
      bearerRealm = { scheme: 'bearer', params: general };
      // The token we sent was refused (expired, revoked): forget it, ask for a new one.
      for (const [key, t] of tokens) if (t.token === sentToken) tokens.delete(key);
      await obtainToken(bearer, scopes);
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!credentials) throw unauthorized('authentication required and no credentials were found (set IMGFACTORY_REGISTRY_USER/IMGFACTORY_REGISTRY_PASSWORD or docker login)');
      if (credentials.identityToken) throw unauthorized('registry asks for a password but the stored credential is an identity token');
      if (sent === 'basic') throw unauthorized(`authentication failed (credentials from ${credentials.source} were rejected)`);
      scheme = 'basic';
      return;
    }
    throw unauthorized(`registry requires an unsupported authentication scheme (${challenges.map((c) => c.scheme).join(', ') || 'none offered'})`);
  }

  /** Send with auth and (for idempotent requests) retries; the caller owns the response body. */
  async function send(req: Req): Promise<Response> {
    let attempt = 1;
    let authAttempts = 0;
    for (;;) {
      let res: Response;
      let sentAuth: 'basic' | 'bearer' | undefined;
      let sentToken: string | undefined;
      try {
        ({ res, sentAuth, sentToken } = await exchange(req));
      } catch (e) {
        if (e instanceof RegistryError) throw e;
        const err = networkError(e, req.what);
        if (req.retry && temporary(err) && attempt < policy.attempts) {
          const delayMs = retryDelayMs(attempt, policy, undefined, Math.random());
          progress({ type: 'retry', what: req.what, attempt, delayMs, reason: failureReason(err) });
          await sleep(delayMs);
          attempt++;
          continue;
        }
        throw err;
      }
      if (res.status === 401) {
        await discard(res);
        if (authAttempts >= 1) {
          throw unauthorized(credentials ? `authentication failed (credentials from ${credentials.source} were rejected)` : 'authentication required and no credentials were found');
        }
        authAttempts++;
        await authenticate(res.headers.get('www-authenticate'), req.scopes, sentAuth, sentToken);
        continue;
      }
      if (req.retry && isRetryableStatus(res.status) && attempt < policy.attempts) {
        const delayMs = retryDelayMs(attempt, policy, parseRetryAfter(res.headers.get('retry-after'), Date.now()), Math.random());
        progress({ type: 'retry', what: req.what, attempt, delayMs, reason: `HTTP ${res.status}` });
        await discard(res);
        await sleep(delayMs);
        attempt++;
        continue;
      }
      return res;
    }
  }

  /** A typed error for a response the caller did not expect; reads and drops the body. */
  async function unexpected(res: Response, what: string, code: RegistryErrorCode): Promise<RegistryError> {
    const entries = parseRegistryErrors(await readText(res));
    const summary = describeRegistryErrors(entries);
    const mapped: RegistryErrorCode =
      res.status === 403 ? 'REGISTRY_DENIED' : res.status === 404 && code === 'REGISTRY_PROTOCOL' ? 'REGISTRY_NOT_FOUND' : code;
    return new RegistryError(mapped, `${registry}: ${what}: HTTP ${res.status}${summary ? ` (${summary})` : ''}`, {
      details: { registry, status: res.status, errors: entries.map((e) => e.code), temporary: isRetryableStatus(res.status) },
    });
  }

  const blobScopes = (repository: string, push: boolean) => [repositoryScope(repository, push ? 'pull,push' : 'pull')];
  const short = (d: Digest) => d.slice(0, 19);

  async function hasBlobDirect(repository: string, digest: Digest, retry: boolean): Promise<boolean> {
    const what = `HEAD ${repository} blob ${short(digest)}`;
    const res = await send({ method: 'HEAD', url: url(`/v2/${repository}/blobs/${digest}`), scopes: blobScopes(repository, true), retry, what });
    await discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await unexpected(res, what, 'REGISTRY_PROTOCOL');
  }

  async function startUpload(repository: string): Promise<URL> {
    const what = `start upload to ${repository}`;
    const res = await send({ method: 'POST', url: url(`/v2/${repository}/blobs/uploads/`), scopes: blobScopes(repository, true), retry: true, what });
    if (res.status !== 202) throw await unexpected(res, what, 'BLOB_UPLOAD_FAILED');
    await discard(res);
    const location = res.headers.get('location');
    if (!location) throw new RegistryError('REGISTRY_PROTOCOL', `${registry}: ${what}: no Location in the answer`);
    return resolveLocation(location, `${baseUrl}/v2/`);
  }

  function uploadError(e: RegistryError | undefined, res: Response | undefined, entries: string[], what: string): RegistryError {
    if (entries.includes('DIGEST_INVALID')) {
      return new RegistryError('BLOB_DIGEST_MISMATCH', `${registry}: ${what}: the registry computed a different digest (the local blob is corrupt)`, {
        details: { registry, status: res?.status },
      });
    }
    // A lost or invalidated session: the upload loop starts a new one.
    const sessionLost = entries.includes('BLOB_UPLOAD_UNKNOWN') || entries.includes('BLOB_UPLOAD_INVALID') || res?.status === 416;
    return (
      e ??
      new RegistryError('BLOB_UPLOAD_FAILED', `${registry}: ${what}: HTTP ${res?.status}${entries.length ? ` (${entries.join(', ')})` : ''}`, {
        details: { registry, status: res?.status, errors: entries, temporary: sessionLost || (res !== undefined && isRetryableStatus(res.status)) },
      })
    );
  }

  async function patchChunk(repository: string, session: URL, chunk: Uint8Array, offset: number, digest: Digest): Promise<{ session: URL; offset: number }> {
    const what = `upload ${short(digest)} bytes ${offset}-${offset + chunk.byteLength - 1}`;
    const res = await send({
      method: 'PATCH',
      url: session,
      scopes: blobScopes(repository, true),
      retry: false,
      what,
      body: chunk,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + chunk.byteLength - 1}` },
      timeoutMs: 0,
    });
    if (res.status !== 202) {
      const entries = parseRegistryErrors(await readText(res)).map((e) => e.code);
      throw uploadError(undefined, res, entries, what);
    }
    await discard(res);
    const location = res.headers.get('location');
    const next = location ? resolveLocation(location, session.href) : session;
    const serverOffset = uploadOffsetFromRange(res.headers.get('range'));
    const expected = offset + chunk.byteLength;
    if (serverOffset !== undefined && serverOffset !== expected) {
      throw new RegistryError('BLOB_UPLOAD_FAILED', `${registry}: ${what}: registry holds ${serverOffset} bytes, expected ${expected}`, {
        details: { registry, temporary: true },
      });
    }
    return { session: next, offset: expected };
  }

  async function finishUpload(repository: string, session: URL, digest: Digest, body: Uint8Array): Promise<void> {
    const what = `finish upload of ${short(digest)}`;
    const target = new URL(session.href);
    target.searchParams.set('digest', digest);
    const res = await send({
      method: 'PUT',
      url: target,
      scopes: blobScopes(repository, true),
      retry: false,
      what,
      body,
      headers: { 'Content-Type': 'application/octet-stream' },
      timeoutMs: 0,
    });
    if (res.status !== 201 && res.status !== 204) {
      const entries = parseRegistryErrors(await readText(res)).map((e) => e.code);
      throw uploadError(undefined, res, entries, what);
    }
    await discard(res);
  }

  /** Where an interrupted session stands, or undefined if the registry dropped it. */
  async function uploadStatus(repository: string, session: URL): Promise<{ session: URL; offset: number } | undefined> {
    const res = await send({ method: 'GET', url: session, scopes: blobScopes(repository, true), retry: false, what: `upload status` });
    await discard(res);
    if (res.status !== 204) return undefined;
    const offset = uploadOffsetFromRange(res.headers.get('range'));
    if (offset === undefined) return undefined;
    const location = res.headers.get('location');
    return { session: location ? resolveLocation(location, session.href) : session, offset };
  }

  async function uploadBlobDirect(repository: string, source: BlobSource, digest: Digest, size: number): Promise<{ bytesSent: number }> {
    const reader = await openSource(source);
    let sent = 0;
    let attempt = 1;
    let session: URL | undefined;
    let offset = 0;
    let recovering = false;
    try {
      for (;;) {
        try {
          if (recovering) {
            recovering = false;
            // The last request may have completed on the server even though we lost the answer.
            if (await hasBlobDirect(repository, digest, false)) return { bytesSent: sent };
            const status = session ? await uploadStatus(repository, session) : undefined;
            if (status && status.offset <= size && size > chunkSize) {
              ({ session, offset } = status);
              progress({ type: 'upload-resumed', repository, digest, offset });
            } else {
              session = undefined;
              progress({ type: 'upload-restarted', repository, digest });
            }
          }
          if (!session) {
            session = await startUpload(repository);
            offset = 0;
          }
          if (size <= chunkSize) {
            const body = await reader.read(0, size);
            await finishUpload(repository, session, digest, body);
            sent += size;
            progress({ type: 'blob-progress', repository, digest, sent: size, size });
          } else {
            while (offset < size) {
              const chunk = await reader.read(offset, Math.min(chunkSize, size - offset));
              ({ session, offset } = await patchChunk(repository, session, chunk, offset, digest));
              sent += chunk.byteLength;
              progress({ type: 'blob-progress', repository, digest, sent: offset, size });
            }
            await finishUpload(repository, session, digest, new Uint8Array(0));
          }
          return { bytesSent: sent };
        } catch (e) {
          if (typeof (e as NodeJS.ErrnoException).syscall === 'string') throw e;
          const err = e instanceof RegistryError ? e : networkError(e, `upload ${short(digest)} to ${repository}`);
          if (!temporary(err) || attempt >= policy.attempts) {
            if (err.code === 'BLOB_DIGEST_MISMATCH' || err.code === 'REGISTRY_UNAUTHORIZED' || err.code === 'REGISTRY_DENIED') throw err;
            throw new RegistryError(
              err.code === 'REGISTRY_UNREACHABLE' ? 'REGISTRY_UNREACHABLE' : 'BLOB_UPLOAD_FAILED',
              `${err.message}${attempt > 1 ? ` (gave up after ${attempt} attempts)` : ''}`,
              { cause: err, details: { ...err.details, repository, digest } },
            );
          }
          const delayMs = retryDelayMs(attempt, policy, undefined, Math.random());
          progress({ type: 'retry', what: `upload ${short(digest)} to ${repository}`, attempt, delayMs, reason: failureReason(err) });
          await sleep(delayMs);
          attempt++;
          recovering = true;
        }
      }
    } finally {
      await reader.close();
    }
  }

  async function mountBlobDirect(repository: string, from: string, digest: Digest): Promise<boolean> {
    const what = `mount ${short(digest)} from ${from} into ${repository}`;
    const target = url(`/v2/${repository}/blobs/uploads/`);
    target.searchParams.set('mount', digest);
    target.searchParams.set('from', from);
    const res = await send({
      method: 'POST',
      url: target,
      scopes: [...blobScopes(repository, true), repositoryScope(from, 'pull')],
      retry: true,
      what,
    });
    await discard(res);
    if (res.status === 201) return true;
    if (res.status === 202) {
      // The registry opened an upload session instead; close it so it does not linger.
      const location = res.headers.get('location');
      if (location) {
        await send({ method: 'DELETE', url: resolveLocation(location, target.href), scopes: blobScopes(repository, true), retry: false, what: 'cancel upload' })
          .then(discard)
          .catch(() => {});
      }
      return false;
    }
    return false;
  }

  async function downloadBlobDirect(repository: string, digest: Digest, size: number, file: string): Promise<void> {
    const what = `GET ${repository} blob ${short(digest)}`;
    let attempt = 1;
    for (;;) {
      const part = `${file}.part-${randomBytes(4).toString('hex')}`;
      try {
        const res = await send({ method: 'GET', url: url(`/v2/${repository}/blobs/${digest}`), scopes: blobScopes(repository, false), retry: true, what, timeoutMs: 0 });
        if (res.status !== 200 || !res.body) throw await unexpected(res, what, 'REGISTRY_PROTOCOL');
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
          throw new RegistryError('BLOB_DIGEST_MISMATCH', `${registry}: ${what}: content does not match its digest`, { details: { registry, digest, size: got } });
        }
        await rename(part, file);
        return;
      } catch (e) {
        await rm(part, { force: true });
        // A local file-system failure is not the registry's and will not improve by retrying.
        if (typeof (e as NodeJS.ErrnoException).syscall === 'string') throw e;
        const err = e instanceof RegistryError ? e : networkError(e, what);
        if (!temporary(err) || attempt >= policy.attempts) throw err;
        const delayMs = retryDelayMs(attempt, policy, undefined, Math.random());
        progress({ type: 'retry', what, attempt, delayMs, reason: failureReason(err) });
        await sleep(delayMs);
        attempt++;
      }
    }
  }

  async function fetchBlobDirect(repository: string, digest: Digest, maxBytes: number): Promise<Buffer> {
    const what = `GET ${repository} blob ${short(digest)}`;
    const res = await send({ method: 'GET', url: url(`/v2/${repository}/blobs/${digest}`), scopes: blobScopes(repository, false), retry: true, what });
    if (res.status !== 200) throw await unexpected(res, what, 'REGISTRY_PROTOCOL');
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > maxBytes) {
      await discard(res);
      throw new RegistryError('REGISTRY_PROTOCOL', `${registry}: ${what}: ${declared} bytes is more than the ${maxBytes} expected`);
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    if (sha256Digest(bytes) !== digest) {
      throw new RegistryError('BLOB_DIGEST_MISMATCH', `${registry}: ${what}: content does not match its digest`, { details: { registry, digest } });
    }
    return bytes;
  }

  function mediaTypeOf(res: Response, bytes?: Buffer): string {
    const header = res.headers.get('content-type')?.split(';')[0]?.trim();
    if (header && header !== 'application/json' && header !== 'application/octet-stream') return header;
    if (bytes) {
      try {
        const mt = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
        if (typeof mt === 'string') return mt;
      } catch {
        // Not JSON: the caller's parser reports it.
      }
    }
    return header ?? '';
  }

  async function findManifestDirect(repository: string, reference: string): Promise<FetchedManifest | undefined> {
    const what = `GET ${repository} manifest ${reference}`;
    const res = await send({
      method: 'GET',
      url: url(`/v2/${repository}/manifests/${reference}`),
      scopes: blobScopes(repository, false),
      retry: true,
      what,
      headers: { Accept: MANIFEST_ACCEPT },
    });
    if (res.status === 404) {
      await discard(res);
      return undefined;
    }
    if (res.status !== 200) throw await unexpected(res, what, 'REGISTRY_PROTOCOL');
    if (Number(res.headers.get('content-length') ?? '0') > MAX_MANIFEST_BYTES) {
      await discard(res);
      throw new RegistryError('REGISTRY_PROTOCOL', `${registry}: ${what}: manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    const digest = sha256Digest(bytes);
    if (isDigest(reference) && digest !== reference) {
      throw new RegistryError('BLOB_DIGEST_MISMATCH', `${registry}: ${what}: manifest content does not match the digest asked for`, {
        details: { registry, expected: reference, actual: digest },
      });
    }
    return { bytes, digest, mediaType: mediaTypeOf(res, bytes) };
  }

  const client: RegistryClient = {
    registry,
    baseUrl,

    async ping() {
      const res = await send({ method: 'GET', url: url('/v2/'), scopes: [], retry: true, what: 'GET /v2/' });
      if (res.status !== 200) throw await unexpected(res, 'GET /v2/', 'REGISTRY_PROTOCOL');
      await discard(res);
    },

    hasBlob: (repository, digest) => limit(() => hasBlobDirect(repository, digest, true)),
    mountBlob: (repository, from, digest) => limit(() => mountBlobDirect(repository, from, digest)),
    uploadBlob: (repository, source, digest, size) => limit(() => uploadBlobDirect(repository, source, digest, size)),
    downloadBlob: (repository, digest, size, file) => limit(() => downloadBlobDirect(repository, digest, size, file)),
    fetchBlob: (repository, digest, maxBytes = MAX_MANIFEST_BYTES * 4) => limit(() => fetchBlobDirect(repository, digest, maxBytes)),

    async headManifest(repository, reference) {
      const what = `HEAD ${repository} manifest ${reference}`;
      const res = await send({
        method: 'HEAD',
        url: url(`/v2/${repository}/manifests/${reference}`),
        scopes: blobScopes(repository, false),
        retry: true,
        what,
        headers: { Accept: MANIFEST_ACCEPT },
      });
      await discard(res);
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw await unexpected(res, what, 'REGISTRY_PROTOCOL');
      const d = res.headers.get('docker-content-digest');
      return { digest: isDigest(d) ? d : undefined, mediaType: mediaTypeOf(res), size: Number(res.headers.get('content-length') ?? '0') };
    },

    async getManifest(repository, reference) {
      const m = await findManifestDirect(repository, reference);
      if (!m) {
        throw new RegistryError('REGISTRY_NOT_FOUND', `${registry}/${repository}: no manifest ${reference}`, { details: { registry, repository, reference } });
      }
      return m;
    },

    findManifest: findManifestDirect,

    async putManifest(repository, reference, bytes, mediaType) {
      const what = `PUT ${repository} manifest ${reference}`;
      const digest = sha256Digest(bytes);
      const res = await send({
        method: 'PUT',
        url: url(`/v2/${repository}/manifests/${reference}`),
        scopes: blobScopes(repository, true),
        retry: true,
        what,
        body: bytes,
        headers: { 'Content-Type': mediaType },
      });
      if (res.status !== 201 && res.status !== 200) throw await unexpected(res, what, 'MANIFEST_PUT_FAILED');
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
        const res = await send({ method: 'GET', url: next, scopes: blobScopes(repository, false), retry: true, what });
        if (res.status === 404) {
          await discard(res);
          return tags;
        }
        if (res.status !== 200) throw await unexpected(res, what, 'REGISTRY_PROTOCOL');
        const json = (await res.json().catch(() => undefined)) as { tags?: unknown } | undefined;
        if (Array.isArray(json?.tags)) tags.push(...json.tags.filter((t): t is string => typeof t === 'string'));
        const link = nextLink(res.headers.get('link'));
        next = link ? resolveLocation(link, next.href) : undefined;
      }
      return tags;
    },
  };
  return client;
}
