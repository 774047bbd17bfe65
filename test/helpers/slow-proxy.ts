/**
 * A loopback TCP proxy that passes at most `bytesPerTick` bytes per direction every 20 ms, so
 * a transfer through it takes long enough to interrupt part-way. Counts bytes each way.
 */
import { createServer, connect, type Socket } from 'node:net';

export interface SlowProxy {
  readonly host: string;
  /** Client → server bytes forwarded so far. */
  sent(): number;
  /** Server → client bytes forwarded so far. */
  received(): number;
  stop(): Promise<void>;
}

export async function startSlowProxy(targetPort: number, bytesPerTick: number): Promise<SlowProxy> {
  const sockets = new Set<Socket>();
  let up = 0;
  let down = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const queues: { to: Socket; chunks: Buffer[]; count: (n: number) => void; ended: boolean }[] = [
      { to: upstream, chunks: [], count: (n) => (up += n), ended: false },
      { to: client, chunks: [], count: (n) => (down += n), ended: false },
    ];
    // A side that finished sending is closed towards the other only once its queue drained.
    client.on('end', () => (queues[0]!.ended = true));
    upstream.on('end', () => (queues[1]!.ended = true));
    // Backpressure: a side is not read while 64 KiB of it wait, as on a slow link.
    const queued = (q: { chunks: Buffer[] }) => q.chunks.reduce((n, c) => n + c.length, 0);
    client.on('data', (c: Buffer) => {
      queues[0]!.chunks.push(c);
      if (queued(queues[0]!) > 64 * 1024) client.pause();
    });
    upstream.on('data', (c: Buffer) => {
      queues[1]!.chunks.push(c);
      if (queued(queues[1]!) > 64 * 1024) upstream.pause();
    });
    const timer = setInterval(() => {
      for (const q of queues) {
        let budget = bytesPerTick;
        while (budget > 0 && q.chunks.length > 0) {
          const c = q.chunks[0]!;
          const part = c.subarray(0, budget);
          if (part.length === c.length) q.chunks.shift();
          else q.chunks[0] = c.subarray(part.length);
          budget -= part.length;
          q.count(part.length);
          if (!q.to.destroyed) q.to.write(part);
        }
        if (q.ended && q.chunks.length === 0 && !q.to.destroyed) q.to.end();
      }
      if (queued(queues[0]!) <= 64 * 1024) client.resume();
      if (queued(queues[1]!) <= 64 * 1024) upstream.resume();
    }, 20);
    timers.add(timer);
    const end = () => {
      clearInterval(timer);
      timers.delete(timer);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('error', end).on('close', () => {
      if (queues[1]!.chunks.length === 0) end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    sent: () => up,
    received: () => down,
    stop: () =>
      new Promise<void>((ok) => {
        for (const t of timers) clearInterval(t);
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}
