// Auth, redirects, retries and size caps of the registry client, through an injected fetch that
// speaks the distribution wire format (no registry process, no root).
import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/errors.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { basicCredentials } from '../../src/registry/credentials.js';
import { createRegistryClient, type RegistryProgress } from '../../src/registry/client.js';
import { retrying } from '../../src/registry/retrying.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | null;
}

type Handler = (req: { method: string; url: URL; headers: Headers }) => Response | Promise<Response>;

/** A fake fetch: records every request (with its Authorization header) and answers with `handler`. */
function fakeFetch(handler: Handler): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init?.headers);
    const method = init?.method ?? 'GET';
    seen.push({ method, url: url.href, authorization: headers.get('authorization') });
    if (init?.signal?.aborted) throw init.signal.reason;
    return handler({ method, url, headers });
  }) as typeof fetch;
  return { fetch: f, seen };
}

const creds = basicCredentials('alice', 's3cret-password', 'test');
const BASIC = `Basic ${Buffer.from('alice:s3cret-password').toString('base64')}`;
const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {}, layers: [] }));
const D = sha256Digest(manifest);
const manifestAnswer = () =>
  new Response(manifest, { status: 200, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': String(manifest.length) } });
const fast = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return e instanceof RegistryError ? e.code : `not a RegistryError: ${String(e)}`;
  }
  return undefined;
}

describe('basic auth', () => {
  it('answers the registry challenge with the credentials, once; a second 401 is REGISTRY_UNAUTHORIZED', async () => {
    let accept = true;
    const { fetch, seen } = fakeFetch(({ headers }) => {
      if (headers.get('authorization') === BASIC && accept) return manifestAnswer();
      return new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } });
    });
    const client = createRegistryClient({ registry: 'reg.test:5000', credentials: creds, fetchImpl: fetch, retry: fast });
    expect((await client.getManifest('a/b', '1')).digest).toBe(D);
    expect(seen.map((s) => s.authorization)).toEqual([null, BASIC]);
    // Now known to be basic: sent up front.
    await client.getManifest('a/b', '1');
    expect(seen.at(-1)!.authorization).toBe(BASIC);
    accept = false;
    const e = await client.getManifest('a/b', '1').catch((x: unknown) => x);
    expect((e as RegistryError).code).toBe('REGISTRY_UNAUTHORIZED');
    expect((e as RegistryError).exitStatus).toBe(5);
    // The password is never in the message.
    expect((e as Error).message).not.toContain('s3cret');
  });

  it('without credentials, a challenge is REGISTRY_UNAUTHORIZED after one request', async () => {
    const { fetch, seen } = fakeFetch(() => new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } }));
    const client = createRegistryClient({ registry: 'reg.test', fetchImpl: fetch, retry: fast });
    expect(await codeOf(client.getManifest('a', '1'))).toBe('REGISTRY_UNAUTHORIZED');
    expect(seen).toHaveLength(1);
  });
});

describe('bearer tokens', () => {
  it('gets a token at the realm the registry named, caches it per scope, and renews a refused one', async () => {
    let tokenNo = 0;
    let valid = 'token-1';
    const { fetch, seen } = fakeFetch(({ url, headers }) => {
      if (url.host === 'auth.test') {
        tokenNo++;
        return Response.json({ token: `token-${tokenNo}`, expires_in: 300 });
      }
      if (headers.get('authorization') === `Bearer ${valid}`) return manifestAnswer();
      return new Response('', {
        status: 401,
        headers: { 'www-authenticate': `Bearer realm="https://auth.test/token",service="reg.test",scope="repository:a/b:pull"` },
      });
    });
    const client = createRegistryClient({ registry: 'reg.test', credentials: creds, fetchImpl: fetch, retry: fast });
    await client.getManifest('a/b', '1');
    await client.getManifest('a/b', '2');
    const tokenRequests = seen.filter((s) => s.url.startsWith('https://auth.test/'));
    expect(tokenRequests).toHaveLength(1);
    const tokenUrl = new URL(tokenRequests[0]!.url);
    expect(tokenUrl.searchParams.get('service')).toBe('reg.test');
    expect(tokenUrl.searchParams.getAll('scope')).toEqual(['repository:a/b:pull']);
    // The basic credentials go to the realm (the registry named it); the registry sees only the token.
    expect(tokenRequests[0]!.authorization).toBe(BASIC);
    expect(seen.filter((s) => s.url.startsWith('https://reg.test/')).map((s) => s.authorization)).toEqual([null, 'Bearer token-1', 'Bearer token-1']);
    // Revoked: the registry refuses token-1, a new one is fetched and used.
    valid = 'token-2';
    await client.getManifest('a/b', '3');
    expect(seen.filter((s) => s.url.startsWith('https://auth.test/'))).toHaveLength(2);
    expect(seen.at(-1)!.authorization).toBe('Bearer token-2');
  });

  it('refuses a realm that would leave TLS: no token request is made', async () => {
    const { fetch, seen } = fakeFetch(
      () => new Response('', { status: 401, headers: { 'www-authenticate': 'Bearer realm="http://auth.test/token",service="x"' } }),
    );
    const client = createRegistryClient({ registry: 'reg.test', credentials: creds, fetchImpl: fetch, retry: fast });
    expect(await codeOf(client.getManifest('a', '1'))).toBe('INSECURE_NOT_ALLOWED');
    expect(seen.filter((s) => s.url.includes('auth.test'))).toEqual([]);
  });
});

describe('credentials never leave the registry', () => {
  it('a redirect to another host or port gets no Authorization header, basic or bearer', async () => {
    const blob = Buffer.from('blob bytes');
    const blobDigest = sha256Digest(blob);
    for (const scheme of ['basic', 'bearer'] as const) {
      const { fetch, seen } = fakeFetch(({ url, headers }) => {
        if (url.host === 'auth.test') return Response.json({ token: 'tok' });
        if (url.host === 'reg.test:5000') {
          const ok = scheme === 'basic' ? headers.get('authorization') === BASIC : headers.get('authorization') === 'Bearer tok';
          if (!ok) {
            const challenge = scheme === 'basic' ? 'Basic realm="r"' : 'Bearer realm="https://auth.test/token",service="s"';
            return new Response('', { status: 401, headers: { 'www-authenticate': challenge } });
          }
          // Same host, other port: another origin.
          return new Response('', { status: 307, headers: { location: 'https://reg.test:9000/storage/blob?sig=1' } });
        }
        return new Response(blob, { status: 200, headers: { 'content-length': String(blob.length) } });
      });
      const client = createRegistryClient({ registry: 'reg.test:5000', credentials: creds, fetchImpl: fetch, retry: fast });
      const { mkdtemp, readFile, rm } = await import('node:fs/promises');
      const { join } = await import('node:path');
      const { tmpdir } = await import('node:os');
      const dir = await mkdtemp(join(tmpdir(), 'imgfactory-transport-'));
      try {
        await client.downloadBlob('a/b', blobDigest, blob.length, join(dir, 'blob'));
        expect((await readFile(join(dir, 'blob'))).equals(blob)).toBe(true);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const storage = seen.filter((s) => s.url.startsWith('https://reg.test:9000/'));
      expect(storage).toHaveLength(1);
      expect(storage[0]!.authorization).toBeNull();
    }
  });

  it("a redirect target's own challenge is not answered: no credentials, no request to its realm", async () => {
    const { fetch, seen } = fakeFetch(({ url, headers }) => {
      if (url.host === 'reg.test') {
        if (headers.get('authorization') !== BASIC) return new Response('', { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } });
        return new Response('', { status: 302, headers: { location: 'https://storage.test/blob' } });
      }
      if (url.host === 'storage.test') {
        return new Response('', { status: 401, headers: { 'www-authenticate': 'Bearer realm="https://evil.test/token",service="x"' } });
      }
      return Response.json({ token: 'stolen' });
    });
    const client = createRegistryClient({ registry: 'reg.test', credentials: creds, fetchImpl: fetch, retry: fast });
    expect(await codeOf(client.getManifest('a', '1'))).toBe('REGISTRY_UNAUTHORIZED');
    expect(seen.filter((s) => s.url.includes('evil.test'))).toEqual([]);
    expect(seen.filter((s) => s.url.includes('storage.test')).map((s) => s.authorization)).toEqual([null]);
    // The registry did not become "bearer" because of someone else's challenge: basic still goes to it.
    await codeOf(client.getManifest('a', '1'));
    expect(seen.filter((s) => s.url.startsWith('https://reg.test/')).at(-1)!.authorization).toBe(BASIC);
  });

  it('refuses a redirect from https to plain http', async () => {
    const { fetch, seen } = fakeFetch(({ url }) =>
      url.protocol === 'https:' ? new Response('', { status: 307, headers: { location: 'http://reg.test/v2/a/manifests/1' } }) : manifestAnswer(),
    );
    const client = createRegistryClient({ registry: 'reg.test', credentials: creds, fetchImpl: fetch, retry: fast });
    expect(await codeOf(client.getManifest('a', '1'))).toBe('INSECURE_NOT_ALLOWED');
    expect(seen).toHaveLength(1);
  });
});

describe('retries', () => {
  it('retries idempotent requests on 503 and honours Retry-After; reports each retry', async () => {
    let n = 0;
    const { fetch, seen } = fakeFetch(() => (++n < 3 ? new Response('', { status: 503, headers: { 'retry-after': '0' } }) : manifestAnswer()));
    const events: RegistryProgress[] = [];
    const client = createRegistryClient({
      registry: 'reg.test',
      fetchImpl: fetch,
      retry: { attempts: 3, baseDelayMs: 10_000, maxDelayMs: 10_000 },
      onProgress: (e) => events.push(e),
    });
    const started = Date.now();
    expect((await client.getManifest('a', '1')).digest).toBe(D);
    // Retry-After: 0 overrides the 10 s backoff.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(seen).toHaveLength(3);
    expect(events.filter((e) => e.type === 'retry').map((e) => (e.type === 'retry' ? e.reason : ''))).toEqual(['HTTP 503', 'HTTP 503']);
  });

  it("gives up after the policy's attempts with the caller's error code", async () => {
    const { fetch, seen } = fakeFetch(() => new Response('', { status: 500 }));
    const client = createRegistryClient({ registry: 'reg.test', fetchImpl: fetch, retry: fast });
    expect(await codeOf(client.putManifest('a', '1', manifest, 'application/vnd.oci.image.manifest.v1+json'))).toBe('MANIFEST_PUT_FAILED');
    expect(seen).toHaveLength(3);
  });

  it('retries resets but not TLS trust failures', async () => {
    let n = 0;
    const reset = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) });
    const tls = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('cert'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }) });
    const a = fakeFetch(() => {
      if (++n < 2) throw reset;
      return manifestAnswer();
    });
    expect((await createRegistryClient({ registry: 'reg.test', fetchImpl: a.fetch, retry: fast }).getManifest('a', '1')).digest).toBe(D);
    expect(a.seen).toHaveLength(2);
    const b = fakeFetch(() => {
      throw tls;
    });
    expect(await codeOf(createRegistryClient({ registry: 'reg.test', fetchImpl: b.fetch, retry: fast }).getManifest('a', '1'))).toBe('REGISTRY_UNREACHABLE');
    expect(b.seen).toHaveLength(1);
  });

  it('an abort ends a retry wait at once: REGISTRY_INTERRUPTED (exit 130)', async () => {
    const controller = new AbortController();
    const { fetch } = fakeFetch(() => new Response('', { status: 503 }));
    const client = createRegistryClient({
      registry: 'reg.test',
      fetchImpl: fetch,
      retry: { attempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 },
      signal: controller.signal,
    });
    const started = Date.now();
    const p = client.getManifest('a', '1').catch((e: unknown) => e);
    setTimeout(() => controller.abort(new Error('SIGINT')), 50);
    const e = (await p) as RegistryError;
    expect(e.code).toBe('REGISTRY_INTERRUPTED');
    expect(e.exitStatus).toBe(130);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('the retry loop stops at a permanent error and counts attempts', async () => {
    let calls = 0;
    const permanent = new RegistryError('REGISTRY_DENIED', 'no');
    await expect(
      retrying(
        async () => {
          calls++;
          throw permanent;
        },
        { what: 'x', policy: fast },
      ),
    ).rejects.toBe(permanent);
    expect(calls).toBe(1);
  });
});

describe('size caps', () => {
  it('a manifest without Content-Length is read only up to the cap (chunked)', async () => {
    let sent = 0;
    const { fetch } = fakeFetch(() => {
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          // An endless body: only the cap can stop it.
          sent += 64 * 1024;
          controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
        },
      });
      return new Response(stream, { status: 200, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    });
    const client = createRegistryClient({ registry: 'reg.test', fetchImpl: fetch, retry: fast, maxManifestBytes: 256 * 1024 });
    const e = (await client.getManifest('a', '1').catch((x: unknown) => x)) as RegistryError;
    expect(e.code).toBe('REGISTRY_PROTOCOL');
    expect(e.details.limit).toBe(256 * 1024);
    expect(sent).toBeLessThan(1024 * 1024);
  });

  it('a declared Content-Length over the cap is refused before reading', async () => {
    const { fetch } = fakeFetch(() => new Response('{}', { status: 200, headers: { 'content-length': String(10 * 1024 * 1024) } }));
    const client = createRegistryClient({ registry: 'reg.test', fetchImpl: fetch, retry: fast });
    expect(await codeOf(client.getManifest('a', '1'))).toBe('REGISTRY_PROTOCOL');
  });

  it('a manifest that is not the digest asked for is BLOB_DIGEST_MISMATCH (exit 1)', async () => {
    const { fetch } = fakeFetch(() => manifestAnswer());
    const client = createRegistryClient({ registry: 'reg.test', fetchImpl: fetch, retry: fast });
    const e = (await client.getManifest('a', `sha256:${'0'.repeat(64)}`).catch((x: unknown) => x)) as RegistryError;
    expect(e.code).toBe('BLOB_DIGEST_MISMATCH');
    expect(e.exitStatus).toBe(1);
  });
});
