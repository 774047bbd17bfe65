/**
 * Debian's docker-registry (distribution 2.8) on a free loopback port, plain HTTP, no auth:
 * enough to show podman/skopeo consumers finding our lookaside signatures.
 */
import { createServer } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';

export interface TestRegistry {
  /** `127.0.0.1:<port>` */
  readonly host: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilServing(host: string, child: ResultPromise): Promise<void> {
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  for (let i = 0; i < 200; i++) {
    if (exited) throw new Error('docker-registry exited during startup');
    const ok = await fetch(`http://${host}/v2/`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer on ${host}`);
}

export async function startRegistry(dir: string): Promise<TestRegistry> {
  await mkdir(join(dir, 'storage'), { recursive: true });
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'storage')}`,
      'http:',
      `  addr: ${host}`,
      '',
    ].join('\n'),
  );
  const child = execa('docker-registry', ['serve', config], { reject: false, stdio: 'ignore' });
  try {
    await waitUntilServing(host, child);
  } catch (e) {
    child.kill('SIGTERM');
    await child;
    throw e;
  }
  return {
    host,
    async stop() {
      child.kill('SIGTERM');
      await child;
    },
  };
}
