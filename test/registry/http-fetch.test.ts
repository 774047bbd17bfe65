// The node:http stand-in for fetch keeps the parts of fetch's contract the transport relies on.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpFetch } from '../../src/registry/http-fetch.js';
import { networkErrorCode } from '../../src/registry/retry.js';

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/redirect') return void res.writeHead(307, { location: '/elsewhere' }).end();
    if (req.url === '/slow') return void setTimeout(() => res.writeHead(200).end('late'), 2_000);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-got': String(body.byteLength),
        'x-chunked': String(req.headers['transfer-encoding'] === 'chunked'),
      });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ method: req.method, body: body.toString('utf8') }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
});

describe('httpFetch', () => {
  it('sends bytes or a stream (chunked), answers status, headers and a readable body', async () => {
    const put = await httpFetch(new URL(`${base}/x`), { method: 'PUT', body: Buffer.from('hello') });
    expect(put.status).toBe(200);
    expect(put.headers.get('X-Got')).toBe('5');
    expect(await put.json()).toEqual({ method: 'PUT', body: 'hello' });
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(Buffer.from('a'.repeat(1000)));
        c.enqueue(Buffer.from('b'));
        c.close();
      },
    });
    const patch = await httpFetch(`${base}/x`, { method: 'PATCH', body: stream });
    expect(patch.headers.get('x-got')).toBe('1001');
    expect(patch.headers.get('x-chunked')).toBe('true');
    expect(patch.headers.has('x-missing')).toBe(false);
    const reader = patch.body!.getReader();
    const { value } = await reader.read();
    expect(JSON.parse(Buffer.from(value).toString('utf8'))).toMatchObject({ method: 'PATCH' });
  });

  it('HEAD has no body; a redirect is handed back, not followed', async () => {
    const head = await httpFetch(`${base}/x`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
    const r = await httpFetch(`${base}/redirect`);
    expect(r.status).toBe(307);
    expect(r.headers.get('location')).toBe('/elsewhere');
  });

  it('a refused connection is TypeError("fetch failed") with the code as cause; an abort rejects with the reason', async () => {
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', () => ok()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((ok) => closed.close(() => ok()));
    const e = await httpFetch(`http://127.0.0.1:${port}/`).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TypeError);
    expect(networkErrorCode(e)).toBe('ECONNREFUSED');
    const timedOut = await httpFetch(`${base}/slow`, { signal: AbortSignal.timeout(100) }).catch((x: unknown) => x);
    expect((timedOut as Error).name).toBe('TimeoutError');
  });
});
