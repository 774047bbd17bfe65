/**
 * A loopback HTTP proxy in front of a real archive: GET <proxy>/<path> is forwarded to
 * <upstream>/<path>, and a matching rule changes the answer (flip a byte, replace the body,
 * answer 404/500, cut the connection part-way). Upstream bodies are kept in memory so repeated
 * requests in one test file download each file once.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TamperRule {
  /** Applies to requests whose path ends with this. */
  readonly pathEndsWith: string;
  /** Replace the upstream body (e.g. flip one byte). */
  readonly mutate?: (body: Buffer) => Buffer | Promise<Buffer>;
  /** Answer with this status instead of forwarding. */
  readonly status?: 404 | 500;
  /** Send the full Content-Length but only this many body bytes, then cut the connection. */
  readonly truncate?: number;
  /** Apply to the first N matching requests only (then forward unchanged). */
  readonly times?: number;
}

export interface TamperProxy {
  /** `http://127.0.0.1:<port>`: use as the mirror URL. */
  readonly url: string;
  /** Replaced freely between tests. */
  rules: TamperRule[];
  /** Paths requested so far, in order. */
  readonly requests: string[];
  /** How many requests ended with `suffix`. */
  hits(suffix: string): number;
  close(): Promise<void>;
}

/** Flips the lowest bit of the byte at `offset` (negative: from the end). */
export function flipByte(buf: Buffer, offset: number): Buffer {
  const out = Buffer.from(buf);
  const i = offset < 0 ? out.length + offset : offset;
  if (i < 0 || i >= out.length) throw new RangeError(`flipByte: offset ${offset} outside ${out.length} bytes`);
  out[i] = out[i]! ^ 0x01;
  return out;
}

export async function startTamperProxy(upstream: string, rules: TamperRule[] = []): Promise<TamperProxy> {
  const base = upstream.replace(/\/+$/, '');
  const bodies = new Map<string, Promise<{ status: number; body: Buffer }>>();
  const applied = new Map<TamperRule, number>();
  const requests: string[] = [];

  const fetchUpstream = (path: string) => {
    let p = bodies.get(path);
    if (!p) {
      p = (async () => {
        const r = await fetch(`${base}${path}`, { headers: { 'accept-encoding': 'identity' } });
        return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
      })();
      // Only successful answers are kept: a failed upstream fetch is retried next time.
      p.then((v) => v.status !== 200 && bodies.delete(path)).catch(() => bodies.delete(path));
      bodies.set(path, p);
    }
    return p;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push(path);
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    const rule = proxy.rules.find((r) => path.endsWith(r.pathEndsWith) && (r.times === undefined || (applied.get(r) ?? 0) < r.times));
    if (rule) applied.set(rule, (applied.get(rule) ?? 0) + 1);
    if (rule?.status) {
      res.writeHead(rule.status, { 'content-type': 'text/plain' }).end(`tamper-proxy: ${rule.status}\n`);
      return;
    }
    const up = await fetchUpstream(path);
    if (up.status !== 200) {
      res.writeHead(up.status, { 'content-type': 'text/plain' }).end();
      return;
    }
    const body = rule?.mutate ? await rule.mutate(up.body) : up.body;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    if (rule?.truncate !== undefined) {
      res.write(body.subarray(0, rule.truncate), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`tamper-proxy: ${String(e)}\n`);
      else res.socket?.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const proxy: TamperProxy = {
    url: `http://127.0.0.1:${port}`,
    rules,
    requests,
    hits: (suffix) => requests.filter((p) => p.endsWith(suffix)).length,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
  return proxy;
}
