/**
 * A fault-injecting loopback proxy in front of a real docker-registry, playing a hostile or
 * broken registry: it can redirect blob GETs to a "storage" server on another loopback port
 * (which serves the real blob, or answers with its own Bearer challenge naming an "evil" token
 * realm), serve made-up documents at chosen paths (for example an endless chunked manifest
 * without Content-Length), and records the Authorization header of every request each of the
 * three servers received. Everything else is forwarded to the registry unchanged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalRegistry } from '../../src/registry/local-registry.js';

export interface Received {
  readonly server: 'proxy' | 'storage' | 'evil';
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
}

export type Fabricated =
  | { readonly kind: 'body'; readonly body: Buffer; readonly contentType: string }
  /** Chunked, no Content-Length, `total` bytes of spaces (or until the client hangs up). */
  | { readonly kind: 'endless'; readonly total: number };

export interface HostileRegistry {
  /** `127.0.0.1:<port>` of the proxy: the registry part of references (plain HTTP). */
  readonly host: string;
  readonly received: Received[];
  /** Path (without query) → what to answer instead of the registry. */
  readonly fabricated: Map<string, Fabricated>;
  /** Where blob GETs go: the registry itself, storage serving the blob, or storage asking for a token. */
  blobMode: 'forward' | 'redirect' | 'redirect-challenge';
  /** Bytes sent for `endless` answers so far. */
  endlessBytesSent(): number;
  stop(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  return (server.address() as AddressInfo).port;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** `upstreamAuth`: the Authorization the storage backend itself uses to read blobs (its own access, not the client's). */
export async function startHostileRegistry(registry: LocalRegistry, upstreamAuth?: string): Promise<HostileRegistry> {
  const received: Received[] = [];
  const fabricated = new Map<string, Fabricated>();
  let endlessSent = 0;
  const record = (server: Received['server'], req: IncomingMessage) =>
    received.push({ server, method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]!, authorization: req.headers.authorization });

  const evil = createServer((req, res) => {
    record('evil', req);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'evil-token' }));
  });
  const evilPort = await listen(evil);

  const forward = async (method: string, path: string, headers: Record<string, string>, body: Buffer | undefined): Promise<Response> =>
    fetch(`${registry.url}${path}`, { method, headers, ...(body && body.length > 0 ? { body } : {}), redirect: 'manual' });

  const storage = createServer((req, res) => {
    record('storage', req);
    void (async () => {
      if (hostile.blobMode === 'redirect-challenge') {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${evilPort}/token",service="storage"` }).end();
        return;
      }
      const up = await forward('GET', (req.url ?? '/').replace(/^\/storage/, ''), upstreamAuth ? { authorization: upstreamAuth } : {}, undefined);
      res.writeHead(up.status, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.from(await up.arrayBuffer()));
    })().catch(() => res.destroy());
  });
  const storagePort = await listen(storage);

  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    record('proxy', req);
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    const made = fabricated.get(path);
    if (made?.kind === 'body') {
      res.writeHead(200, { 'content-type': made.contentType, 'content-length': String(made.body.length), 'docker-content-digest': '' });
      res.end(req.method === 'HEAD' ? undefined : made.body);
      return;
    }
    if (made?.kind === 'endless') {
      // No Content-Length: Node sends it chunked.
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (endlessSent < made.total) {
          endlessSent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
      return;
    }
    if (hostile.blobMode !== 'forward' && req.method === 'GET' && /\/blobs\/sha256:[a-f0-9]{64}$/.test(path)) {
      res.writeHead(307, { location: `http://127.0.0.1:${storagePort}/storage${path}` }).end();
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'accept', 'content-type', 'content-range']) {
      const v = req.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    const up = await forward(req.method ?? 'GET', url, headers, await readBody(req));
    const out: Record<string, string> = {};
    up.headers.forEach((v, k) => {
      if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(k)) out[k] = v.replaceAll(new URL(registry.url).host, hostile.host);
    });
    const body = Buffer.from(await up.arrayBuffer());
    const length = req.method === 'HEAD' ? (up.headers.get('content-length') ?? '0') : String(body.length);
    res.writeHead(up.status, { ...out, 'content-length': length });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const proxy = createServer((req, res) => {
    answer(req, res).catch(() => res.destroy());
  });
  const proxyPort = await listen(proxy);

  const close = (s: Server) =>
    new Promise<void>((ok) => {
      s.closeAllConnections();
      s.close(() => ok());
    });
  const hostile: HostileRegistry = {
    host: `127.0.0.1:${proxyPort}`,
    received,
    fabricated,
    blobMode: 'forward',
    endlessBytesSent: () => endlessSent,
    stop: async () => {
      await Promise.all([close(proxy), close(storage), close(evil)]);
    },
  };
  return hostile;
}
