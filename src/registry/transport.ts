/**
 * The registry transport: one HTTP exchange as the API calls see it, built from small layers
 * (go-containerregistry stacks round-trippers the same way): TLS trust (a private CA), redirects
 * followed by hand, authentication (auth.ts), and the one retry loop (retrying.ts) for
 * idempotent requests. Every request takes the caller's AbortSignal.
 *
 * The credential rule lives here: an Authorization header is attached only to requests whose
 * URL has the registry's own origin (scheme, host and port), and only a 401 from that origin is
 * answered with credentials. A redirect to blob storage on another host or port gets a bare
 * request; a 401 from there is an error, never a reason to send credentials anywhere.
 */
import { readFile } from 'node:fs/promises';
import { RegistryError, type RegistryErrorCode } from '../errors.js';
import { DEFAULT_REGISTRY } from '../oci/reference.js';
import { createAuthenticator, type Authenticator } from './auth.js';
import type { Credentials } from './credentials.js';
import { describeRegistryErrors, parseRegistryErrors, resolveLocation } from './protocol.js';
import { DEFAULT_RETRY, isPermanentNetworkError, isRetryableStatus, networkErrorCode, parseRetryAfter, type RetryPolicy } from './retry.js';
import { interrupted, retrying, type RetryEvent } from './retrying.js';
import { discard, readText } from './response-body.js';
import { fetchIsProxied } from './fetch-route.js';
import { httpFetch, type HttpFetchInit } from './http-fetch.js';
import { caDispatcher } from './tls.js';

export interface TransportOptions {
  /** `host[:port]`, as in image references. */
  readonly registry: string;
  /** Plain HTTP. Only when asked: never a silent fallback from TLS. */
  readonly insecure?: boolean;
  /** PEM of the CA that signed the registry's certificate (instead of the system store). */
  readonly ca?: string | Buffer;
  readonly caFile?: string;
  readonly credentials?: Credentials;
  readonly fetchImpl?: typeof fetch;
  readonly retry?: Partial<RetryPolicy>;
  /** Per-request limit for everything but blob bodies. */
  readonly timeoutMs?: number;
  readonly onRetry?: (event: RetryEvent) => void;
  /** Injected for tests: the backoff's random source. */
  readonly random?: () => number;
}

export interface TransportRequest {
  readonly method: string;
  readonly url: URL;
  /** Bearer scopes this request needs. */
  readonly scopes: readonly string[];
  readonly headers?: Record<string, string>;
  /**
   * Bytes, or a maker of a fresh stream for each time the request goes out (a redirect or a
   * 401 sends it again; a stream can be read only once). A stream goes out chunked, as it is read.
   */
  readonly body?: Uint8Array | (() => ReadableStream<Uint8Array>);
  /** Idempotent: transient failures (5xx, 429, resets) are retried here. */
  readonly retry: boolean;
  /** For messages: "HEAD blob sha256:…". */
  readonly what: string;
  /** 0: no overall limit (blob bodies). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

export interface Transport {
  readonly registry: string;
  /** `https://host:port` (or http:// when insecure). */
  readonly baseUrl: string;
  readonly policy: RetryPolicy;
  url(this: void, path: string): URL;
  /** Send with auth, redirects and (for `retry` requests) retries; the caller owns the response body. */
  send(req: TransportRequest): Promise<Response>;
  /** A typed error for a response the caller did not expect; reads and drops the body. */
  unexpected(res: Response, what: string, code: RegistryErrorCode): Promise<RegistryError>;
  /** A typed error for a failed fetch (reset, refused, TLS, timeout, abort). */
  networkError(e: unknown, what: string, signal?: AbortSignal): RegistryError;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_REDIRECTS = 5;
const USER_AGENT = 'imgfactory';

/** docker.io is an alias; its API lives elsewhere. */
function apiHost(registry: string): string {
  return registry === DEFAULT_REGISTRY ? 'registry-1.docker.io' : registry;
}

export function createTransport(options: TransportOptions): Transport {
  const registry = options.registry;
  const baseUrl = `${options.insecure ? 'http' : 'https'}://${apiHost(registry)}`;
  const origin = new URL(baseUrl).origin;
  // node:http unless a fetch is injected or a proxy routes fetch (http-fetch.ts says why).
  const viaHttp = () => options.fetchImpl === undefined && !fetchIsProxied();
  const fetchImpl: typeof fetch = (input, init) => (viaHttp() ? httpFetch(input as URL, init) : (options.fetchImpl ?? fetch)(input, init));
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  let caPromise: Promise<string | Buffer | undefined> | undefined;
  let dispatcher: RequestInit['dispatcher'];
  /** The CA to trust, for node:https or as fetch's TLS dispatcher; read once. */
  const fetchInit = async (): Promise<HttpFetchInit> => {
    if (options.insecure) return {};
    const ca = await (caPromise ??= (async () => {
      if (options.ca !== undefined || options.caFile === undefined) return options.ca;
      const file = options.caFile;
      return readFile(file).catch((cause: unknown) => {
        throw new RegistryError('REGISTRY_UNREACHABLE', `${file}: cannot read the CA file`, { cause });
      });
    })());
    if (ca === undefined) return {};
    if (viaHttp()) return { ca };
    return { dispatcher: (dispatcher ??= caDispatcher(ca)) };
  };

  const auth: Authenticator = createAuthenticator({
    registry,
    baseUrl,
    credentials: options.credentials,
    fetchImpl,
    fetchInit,
    timeoutMs,
    userAgent: USER_AGENT,
  });

  function networkError(e: unknown, what: string, signal?: AbortSignal): RegistryError {
    if (e instanceof RegistryError) return e;
    if (signal?.aborted) return interrupted(`${registry}: ${what}`, signal);
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

  /** One exchange, redirects followed by hand so TLS and credentials stay in check. */
  async function exchange(req: TransportRequest): Promise<{ res: Response; sent: string | undefined; atRegistry: boolean }> {
    let target = req.url;
    let method = req.method;
    let body = req.body;
    const init0 = await fetchInit();
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...req.headers };
      const atRegistry = target.origin === origin;
      // Credentials go only to the registry itself, never to a storage backend it redirects to.
      const sent = atRegistry ? await auth.header(req.scopes, req.signal) : undefined;
      if (sent) headers.Authorization = sent;
      const limitMs = req.timeoutMs ?? timeoutMs;
      const signals = [...(req.signal ? [req.signal] : []), ...(limitMs > 0 ? [AbortSignal.timeout(limitMs)] : [])];
      const init: HttpFetchInit & { duplex?: 'half' } = {
        ...init0,
        method,
        headers,
        redirect: 'manual',
        ...(typeof body === 'function' ? { body: body(), duplex: 'half' } : body !== undefined ? { body } : {}),
        ...(signals.length > 0 ? { signal: signals.length === 1 ? signals[0]! : AbortSignal.any(signals) } : {}),
      };
      let res: Response;
      try {
        res = await fetchImpl(target, init);
      } catch (e) {
        throw networkError(e, req.what, req.signal);
      }
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
      return { res, sent, atRegistry };
    }
  }

  /** One try: a 401 from the registry is answered once; a retryable status throws while `mayRetry`. */
  async function sendOnce(req: TransportRequest, mayRetry: boolean): Promise<Response> {
    for (let authAttempts = 0; ; authAttempts++) {
      const { res, sent, atRegistry } = await exchange(req);
      if (res.status === 401) {
        await discard(res);
        if (!atRegistry) {
          // Someone else's challenge (a redirect target): answering it would hand our
          // credentials, or a token realm of its choosing, to a party the registry did not name.
          throw new RegistryError(
            'REGISTRY_UNAUTHORIZED',
            `${registry}: ${req.what}: a redirect target asked for credentials; they are only sent to the registry`,
            {
              details: { registry },
            },
          );
        }
        if (authAttempts >= 1) throw auth.rejected();
        await auth.challenged(res.headers.get('www-authenticate'), req.scopes, sent, req.signal);
        continue;
      }
      if (mayRetry && isRetryableStatus(res.status)) {
        await discard(res);
        const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), Date.now());
        throw new RegistryError('REGISTRY_PROTOCOL', `${registry}: ${req.what}: HTTP ${res.status}`, {
          details: { registry, status: res.status, temporary: true, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) },
        });
      }
      return res;
    }
  }

  async function unexpected(res: Response, what: string, code: RegistryErrorCode): Promise<RegistryError> {
    const entries = parseRegistryErrors(await readText(res));
    const summary = describeRegistryErrors(entries);
    const mapped: RegistryErrorCode = res.status === 403 ? 'REGISTRY_DENIED' : res.status === 404 && code === 'REGISTRY_PROTOCOL' ? 'REGISTRY_NOT_FOUND' : code;
    return new RegistryError(mapped, `${registry}: ${what}: HTTP ${res.status}${summary ? ` (${summary})` : ''}`, {
      details: { registry, status: res.status, errors: entries.map((e) => e.code), temporary: isRetryableStatus(res.status) },
    });
  }

  return {
    registry,
    baseUrl,
    policy,
    url: (path) => new URL(`${baseUrl}${path}`),
    unexpected,
    networkError,
    send(req) {
      if (!req.retry) return sendOnce(req, false);
      // The last try hands a 5xx to the caller, which maps it to its own error code.
      return retrying((attempt) => sendOnce(req, attempt < policy.attempts), {
        what: req.what,
        policy,
        signal: req.signal,
        ...(options.onRetry ? { onRetry: options.onRetry } : {}),
        ...(options.random ? { random: options.random } : {}),
      });
    },
  };
}
