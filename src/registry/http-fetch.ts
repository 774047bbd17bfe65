/**
 * The part of fetch the registry transport uses, over node:http and node:https. Node's fetch is
 * undici, which Node loads and compiles on first use (with a WebAssembly HTTP parser): 0.05-0.2 s
 * of every registry command's start, more than an unchanged push's whole exchange with the
 * registry. Proxies are undici dispatchers, so while one routes fetch (cli/proxy.ts), the
 * transport uses fetch itself.
 *
 * Same contract as fetch for what the transport relies on: redirects are not followed, a failed
 * exchange rejects with TypeError('fetch failed', { cause }), an aborted one with the signal's
 * reason, and the body is a web ReadableStream (null for HEAD and bodiless statuses).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';

/** fetch's init, plus the CA to trust instead of the system store (https only). */
export type HttpFetchInit = RequestInit & { readonly ca?: string | Buffer };

// Keep-alive: HEADs and uploads reuse connections. Idle sockets do not keep the process alive.
const httpAgent = new HttpAgent({ keepAlive: true });

// node:https brings TLS with it: loaded when a first https URL needs it, not by every plain-HTTP
// command's start.
let https: Promise<{ readonly request: typeof httpRequest; readonly agent: HttpsAgent }> | undefined;
const loadHttps = () => (https ??= import('node:https').then((m) => ({ request: m.request, agent: new m.Agent({ keepAlive: true }) })));

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

function responseOf(res: IncomingMessage, method: string): Response {
  const status = res.statusCode ?? 0;
  const headerValue = (name: string): string | null => {
    const v = res.headers[name.toLowerCase()];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(', ') : v;
  };
  let body: ReadableStream<Uint8Array> | null;
  if (method === 'HEAD' || NULL_BODY_STATUSES.has(status)) {
    res.resume();
    body = null;
  } else {
    body = Readable.toWeb(res) as ReadableStream<Uint8Array>;
  }
  const bytes = async (): Promise<Buffer> => {
    if (!body) return Buffer.alloc(0);
    const chunks: Uint8Array[] = [];
    for await (const c of body as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
    return Buffer.concat(chunks);
  };
  const response = {
    status,
    ok: status >= 200 && status < 300,
    headers: { get: headerValue, has: (name: string) => headerValue(name) !== null },
    body,
    text: async () => (await bytes()).toString('utf8'),
    json: async () => JSON.parse((await bytes()).toString('utf8')) as unknown,
    arrayBuffer: async () => {
      const b = await bytes();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    },
  };
  return response as unknown as Response;
}

export async function httpFetch(input: string | URL, init: HttpFetchInit = {}): Promise<Response> {
  const url = new URL(input);
  const method = init.method ?? 'GET';
  const signal = init.signal ?? undefined;
  const tls = url.protocol === 'https:';
  if (!tls && url.protocol !== 'http:') throw new TypeError('fetch failed', { cause: new Error(`unsupported scheme ${url.protocol}`) });
  const { request, agent } = tls ? await loadHttps() : { request: httpRequest, agent: httpAgent };
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) {
      // As fetch: the signal's reason (an AbortError or TimeoutError DOMException).
      reject(signal.reason as Error);
      return;
    }
    const headers = { ...(init.headers as Record<string, string> | undefined) };
    const options = {
      method,
      headers,
      agent,
      ...(tls && init.ca !== undefined ? { ca: init.ca } : {}),
    };
    let settled = false;
    let response: IncomingMessage | undefined;
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      reject(signal?.aborted ? (signal.reason as Error) : new TypeError('fetch failed', { cause: e }));
    };
    const onAbort = () => {
      // Before the answer: the request fails; after it: its body stream does.
      req.destroy(signal!.reason as Error);
      response?.destroy(signal!.reason as Error);
      fail(signal!.reason);
    };
    const req = request(url, options, (res) => {
      response = res;
      settled = true;
      res.once('close', () => signal?.removeEventListener('abort', onAbort));
      resolve(responseOf(res, method));
    });
    req.on('error', fail);
    signal?.addEventListener('abort', onAbort, { once: true });
    const body = init.body;
    if (body === undefined || body === null) req.end();
    else if (body instanceof Uint8Array) req.end(body);
    else if (body instanceof ReadableStream) {
      const source = Readable.fromWeb(body as ReadableStream<Uint8Array>);
      source.on('error', (e) => req.destroy(e));
      source.pipe(req);
    } else {
      req.destroy();
      fail(new Error('unsupported request body'));
    }
  });
}
