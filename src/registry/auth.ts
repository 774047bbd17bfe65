/**
 * Registry authentication (go-containerregistry's `transport/bearer.go` in spirit): which
 * Authorization header a request to the registry carries, and what to do with the registry's
 * 401 challenge. Basic sends the credentials themselves; Bearer trades them at the token realm
 * for a short-lived, scoped token, cached per scope set.
 *
 * Where credentials may go is decided here and in the transport, nowhere else: the transport
 * asks for a header only for requests to the registry's own origin, and hands us a challenge
 * only when the registry's own origin sent it. So a token realm is used only when the registry
 * named it, and a storage backend the registry redirects to never sees a credential.
 */
import { RegistryError } from '../errors.js';
import { parseWwwAuthenticate, type AuthChallenge } from './challenge.js';
import type { Credentials } from './credentials.js';
import { displayUrl, resolveLocation, scopeCovers } from './protocol.js';
import { isRetryableStatus } from './retry.js';
import { interrupted } from './retrying.js';

export interface AuthenticatorOptions {
  /** `host[:port]`, for messages. */
  readonly registry: string;
  /** The registry's base URL (`https://host:port`): realms are resolved against it. */
  readonly baseUrl: string;
  readonly credentials?: Credentials | undefined;
  readonly fetchImpl: typeof fetch;
  /** Extra fetch options (the TLS dispatcher). */
  readonly fetchInit?: () => Promise<RequestInit>;
  readonly timeoutMs: number;
  readonly userAgent: string;
  /** Injected for tests. */
  readonly now?: () => number;
}

export interface Authenticator {
  /** The Authorization header for a request to the registry needing `scopes`, if any is known yet. */
  header(scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined>;
  /**
   * The registry answered 401 with `wwwAuthenticate` to a request that carried `sent` (the
   * header we sent, if any). Learn the scheme (and get a token) so the request can be repeated;
   * throws REGISTRY_UNAUTHORIZED when repeating cannot help.
   */
  challenged(wwwAuthenticate: string | null, scopes: readonly string[], sent: string | undefined, signal?: AbortSignal): Promise<void>;
  /** The error for a second 401 in a row: what we sent was refused. */
  rejected(): RegistryError;
}

interface CachedToken {
  readonly token: string;
  readonly expiresAt: number;
}

/** A token endpoint's answer is a small JSON document; more than this is not one. */
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { registry, credentials } = options;
  const now = options.now ?? Date.now;
  let scheme: 'basic' | 'bearer' | undefined;
  /** realm and service of the registry's Bearer challenge (its per-request scope dropped). */
  let bearer: AuthChallenge | undefined;
  /** Keyed by the space-joined sorted scopes the token was issued for. */
  const tokens = new Map<string, CachedToken>();
  const inflight = new Map<string, Promise<void>>();
  const scopeKey = (scopes: readonly string[]) => [...new Set(scopes)].sort().join(' ');

  const unauthorized = (message: string) => new RegistryError('REGISTRY_UNAUTHORIZED', `${registry}: ${message}`, { details: { registry } });
  const rejected = () =>
    unauthorized(
      credentials ? `authentication failed (credentials from ${credentials.source} were rejected)` : 'authentication required and no credentials were found',
    );

  function basicHeader(): string {
    const c = credentials!;
    return `Basic ${Buffer.from(`${c.username}:${c.secret}`).toString('base64')}`;
  }

  /** A cached, unexpired token whose scopes cover `scopes` (pull,push also serves pull). */
  function cachedToken(scopes: readonly string[]): string | undefined {
    const t0 = now();
    for (const [key, t] of tokens) {
      if (t.expiresAt <= t0) {
        tokens.delete(key);
        continue;
      }
      const granted = key.split(' ');
      if (scopes.every((want) => granted.some((have) => scopeCovers(have, want)))) return t.token;
    }
    return undefined;
  }

  async function fetchToken(challenge: AuthChallenge, scopes: readonly string[], signal: AbortSignal | undefined): Promise<void> {
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryError('REGISTRY_PROTOCOL', `${registry}: Bearer challenge without realm`);
    // resolveLocation refuses a realm that would take the credentials from https to plain http.
    const tokenUrl = resolveLocation(realm, options.baseUrl);
    const allScopes = [...new Set([...scopes, ...(challenge.params.scope ? challenge.params.scope.split(' ') : [])])];
    const headers: Record<string, string> = { 'User-Agent': options.userAgent };
    let init: RequestInit;
    if (credentials?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', client_id: options.userAgent, refresh_token: credentials.secret });
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
    const timeout = AbortSignal.timeout(options.timeoutMs);
    let res: Response;
    try {
      res = await options.fetchImpl(tokenUrl, {
        ...(await options.fetchInit?.()),
        ...init,
        // A redirect would carry the credentials somewhere the registry did not name.
        redirect: 'error',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (cause) {
      if (signal?.aborted) throw interrupted(`token from ${displayUrl(tokenUrl)}`, signal);
      throw new RegistryError('REGISTRY_UNREACHABLE', `${registry}: token from ${displayUrl(tokenUrl)}: connection failed`, {
        cause,
        details: { registry, temporary: true },
      });
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel().catch(() => {});
      throw rejected();
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new RegistryError('REGISTRY_PROTOCOL', `${registry}: token endpoint ${displayUrl(tokenUrl)} answered HTTP ${res.status}`, {
        details: { registry, status: res.status, temporary: isRetryableStatus(res.status) },
      });
    }
    const text = await readCapped(res, MAX_TOKEN_RESPONSE_BYTES);
    let json: { token?: unknown; access_token?: unknown; expires_in?: unknown } | undefined;
    try {
      json = text === undefined ? undefined : (JSON.parse(text) as typeof json);
    } catch {
      json = undefined;
    }
    const token = typeof json?.token === 'string' ? json.token : typeof json?.access_token === 'string' ? json.access_token : undefined;
    if (!token) throw new RegistryError('REGISTRY_PROTOCOL', `${registry}: token endpoint returned no token`);
    const seconds = typeof json?.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 60;
    // Renew a little early so a token does not expire between cache lookup and use.
    tokens.set(scopeKey(allScopes), { token, expiresAt: now() + Math.max(1, seconds - 10) * 1000 });
  }

  /** One token request per scope set at a time: concurrent requests share it. */
  async function obtainToken(challenge: AuthChallenge, scopes: readonly string[], signal: AbortSignal | undefined): Promise<void> {
    const key = scopeKey(scopes);
    let pending = inflight.get(key);
    if (!pending) {
      pending = fetchToken(challenge, scopes, signal).finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    await pending;
  }

  return {
    rejected,
    async header(scopes, signal) {
      if (scheme === 'basic' && credentials && !credentials.identityToken) return basicHeader();
      if (scheme === 'bearer') {
        let token = cachedToken(scopes);
        // The realm is known from an earlier challenge: get the token before asking, not after a 401.
        if (token === undefined && bearer) {
          await obtainToken(bearer, scopes, signal);
          token = cachedToken(scopes);
        }
        if (token !== undefined) return `Bearer ${token}`;
      }
      return undefined;
    },

    async challenged(wwwAuthenticate, scopes, sent, signal) {
      const challenges = parseWwwAuthenticate(wwwAuthenticate);
      const offered = challenges.find((c) => c.scheme === 'bearer');
      if (offered) {
        scheme = 'bearer';
        const { scope: _scope, ...general } = offered.params;
        bearer = { scheme: 'bearer', params: general };
        // The token we sent was refused (expired, revoked): forget it, ask for a new one.
        const sentToken = sent?.startsWith('Bearer ') ? sent.slice('Bearer '.length) : undefined;
        for (const [key, t] of tokens) if (t.token === sentToken) tokens.delete(key);
        await obtainToken(offered, scopes, signal);
        return;
      }
      if (challenges.some((c) => c.scheme === 'basic')) {
        if (!credentials)
          throw unauthorized(
            'authentication required and no credentials were found (set IMGFACTORY_REGISTRY_USER/IMGFACTORY_REGISTRY_PASSWORD or docker login)',
          );
        if (credentials.identityToken) throw unauthorized('registry asks for a password but the stored credential is an identity token');
        if (sent?.startsWith('Basic ')) throw rejected();
        scheme = 'basic';
        return;
      }
      throw unauthorized(`registry requires an unsupported authentication scheme (${challenges.map((c) => c.scheme).join(', ') || 'none offered'})`);
    },
  };
}

/** The body as text, or undefined when it is larger than `limit` (whatever Content-Length says). */
export async function readCapped(res: Response, limit: number): Promise<string | undefined> {
  const bytes = await readCappedBytes(res, limit);
  return bytes?.toString('utf8');
}

/**
 * The body as bytes, or undefined when it is larger than `limit`. The count is taken from the
 * bytes as they arrive, so a chunked answer without Content-Length cannot grow past the cap.
 */
export async function readCappedBytes(res: Response, limit: number): Promise<Buffer | undefined> {
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) {
    await res.body?.cancel().catch(() => {});
    return undefined;
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let got = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    got += value.byteLength;
    if (got > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
