// discard() keeps the connection for the next request when the answer is small and complete,
// and never waits on a body that is large, of unknown length, or stalled.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpFetch } from '../../src/registry/http-fetch.js';
import { discard } from '../../src/registry/response-body.js';

let server: Server;
let base: string;
let connections = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    const small = JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
    if (req.url === '/small') return void res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(small) }).end(small);
    if (req.url === '/empty') return void res.writeHead(202, { 'content-length': '0' }).end();
    if (req.url === '/large') return void res.writeHead(200, { 'content-length': String(1 << 20) }).end(Buffer.alloc(1 << 20));
    if (req.url === '/chunked') return void res.writeHead(200).end('no length declared');
    // Declares 10 bytes, sends 2, and never the rest.
    if (req.url === '/stalled') return void res.writeHead(200, { 'content-length': '10' }).write('ab');
    res.writeHead(500).end();
  });
  server.on('connection', () => connections++);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
});

/** Connections the server saw for `paths` fetched one after another, each discarded. */
async function connectionsFor(paths: readonly string[]): Promise<number> {
  // A fresh count on a fresh pool: close what earlier tests kept alive.
  server.closeAllConnections();
  await new Promise((ok) => setTimeout(ok, 50));
  const before = connections;
  for (const p of paths) await discard(await httpFetch(`${base}${p}`));
  return connections - before;
}

describe('discard', () => {
  it('reads a small answer to its end, so the next request reuses the connection', async () => {
    expect(await connectionsFor(['/small', '/empty', '/small', '/empty'])).toBe(1);
  });

  it('cancels a large answer, or one of unknown length: the connection is dropped, not drained', async () => {
    expect(await connectionsFor(['/large', '/small'])).toBe(2);
    expect(await connectionsFor(['/chunked', '/small'])).toBe(2);
  });

  it('gives up on a small answer that stalls (no hang), and drops its connection', async () => {
    // The test's own timeout is the bound: discard waits about a second, then cancels.
    expect(await connectionsFor(['/stalled', '/small'])).toBe(2);
  });
});
