// Failures between client and registry: cut connections, a killed registry, 5xx and 429.
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/errors.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { createRegistryClient, type RegistryProgress } from '../../src/registry/client.js';
import type { LocalRegistry } from '../../src/registry/local-registry.js';
import { pushImage, type PushProgress } from '../../src/registry/push.js';
import { parseReference } from '../../src/oci/reference.js';
import {
  randomLayer,
  rawLayer,
  skopeo,
  startFaultProxy,
  startTcpProxy,
  startTestRegistry,
  tlsArgs,
  writeTestImage,
  type FaultProxy,
  type TcpProxy,
  testDir,
  type TestImage,
} from '../helpers/registry.js';

const MiB = 1024 * 1024;
const BIG = 20 * MiB;
let registry: LocalRegistry;
let dir: string;
let big: TestImage;
let stoppers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  registry = await startTestRegistry();
  dir = await testDir();
  big = await writeTestImage(join(dir, 'big'), { tag: 'big', layers: [await randomLayer(3000), rawLayer(BIG)] });
});

afterEach(async () => {
  for (const s of stoppers) await s();
  stoppers = [];
});

async function inspectDigest(reg: { host: string } & Parameters<typeof tlsArgs>[0], ref: string): Promise<string> {
  const raw = await skopeo(['inspect', '--raw', ...tlsArgs(reg), `docker://${ref}`]);
  return sha256Digest(Buffer.from(raw.stdout));
}

const registryPort = () => Number(registry.host.split(':')[1]);

describe('chunked upload interrupted', () => {
  it('a connection cut mid-blob (20 MiB in 1 MiB PATCH chunks) is retried and the push completes', async () => {
    const proxy: TcpProxy = await startTcpProxy(registryPort());
    stoppers.push(() => proxy.stop());
    const events: (RegistryProgress | PushProgress)[] = [];
    const client = createRegistryClient({
      registry: proxy.host,
      insecure: true,
      chunkSize: MiB,
      retry: { attempts: 6, baseDelayMs: 50 },
      onProgress: (e) => events.push(e),
    });
    const cut = proxy.cutAfter(8 * MiB);
    const r = await pushImage({ layoutDir: big.layoutDir, targets: [parseReference(`${proxy.host}/cut/big:1`)], client, onProgress: (e) => events.push(e) });
    await cut;
    expect(r.manifestDigest).toBe(big.manifest.digest);
    expect(events.some((e) => e.type === 'retry')).toBe(true);
    expect(events.some((e) => e.type === 'upload-restarted' || e.type === 'upload-resumed')).toBe(true);
    // Bytes were sent again after the cut: more went through the proxy than the image holds.
    expect(proxy.upstreamBytes()).toBeGreaterThan(BIG);
    expect(await inspectDigest(registry, `${registry.host}/cut/big:1`)).toBe(big.manifest.digest);
  });

  it("a 503 on one PATCH resumes from the server's Range: every byte crosses the wire exactly once", async () => {
    const img = await writeTestImage(join(dir, 'resume'), { tag: 'r', layers: [rawLayer(6 * MiB)] });
    let patches = 0;
    const proxy: FaultProxy = await startFaultProxy(registryPort(), [{ match: (m) => m === 'PATCH' && ++patches === 3, times: 1, status: 503 }]);
    stoppers.push(() => proxy.stop());
    const events: RegistryProgress[] = [];
    const client = createRegistryClient({
      registry: proxy.host,
      insecure: true,
      chunkSize: MiB,
      retry: { attempts: 4, baseDelayMs: 20 },
      onProgress: (e) => events.push(e),
    });
    const r = await pushImage({ layoutDir: img.layoutDir, targets: [parseReference(`${proxy.host}/resume/r:1`)], client });
    expect(r.manifestDigest).toBe(img.manifest.digest);
    expect(events.filter((e) => e.type === 'upload-resumed')).toEqual([expect.objectContaining({ offset: 2 * MiB })]);
    expect(events.some((e) => e.type === 'upload-restarted')).toBe(false);
    const accepted = proxy.seen.filter((s) => s.method === 'PATCH' && s.status === 202);
    expect(accepted.reduce((n, s) => n + s.bodyBytes, 0)).toBe(6 * MiB);
    expect(r.bytesUploaded).toBe(6 * MiB + img.config.size);
    expect(await inspectDigest(registry, `${registry.host}/resume/r:1`)).toBe(img.manifest.digest);
  });

  it('a PATCH the registry stored but whose answer was lost: the upload recovers and completes', async () => {
    const img = await writeTestImage(join(dir, 'lost'), { tag: 'l', layers: [rawLayer(5 * MiB)] });
    let patches = 0;
    const proxy = await startFaultProxy(registryPort(), [{ match: (m) => m === 'PATCH' && ++patches === 2, times: 1, status: 502, afterForward: true }]);
    stoppers.push(() => proxy.stop());
    const events: RegistryProgress[] = [];
    const client = createRegistryClient({
      registry: proxy.host,
      insecure: true,
      chunkSize: MiB,
      retry: { attempts: 4, baseDelayMs: 20 },
      onProgress: (e) => events.push(e),
    });
    const r = await pushImage({ layoutDir: img.layoutDir, targets: [parseReference(`${proxy.host}/lost/l:1`)], client });
    expect(r.manifestDigest).toBe(img.manifest.digest);
    // distribution 2.8 refuses a session whose state token lags its data, so this is a clean restart.
    expect(events.some((e) => e.type === 'upload-restarted')).toBe(true);
    expect(await inspectDigest(registry, `${registry.host}/lost/l:1`)).toBe(img.manifest.digest);
  });
});

describe('registry killed in the middle of a blob upload', () => {
  it('the push fails, no tag appears; after a restart a new push completes', async () => {
    const reg = await startTestRegistry({ httpSecret: 'fixed-secret-for-restart' });
    let killing: Promise<void> | undefined;
    const client = createRegistryClient({
      registry: reg.host,
      insecure: true,
      chunkSize: MiB,
      retry: { attempts: 2, baseDelayMs: 50 },
      onProgress: (e) => {
        if (e.type === 'blob-progress' && e.size === BIG && e.sent >= 5 * MiB && !killing) killing = reg.kill();
      },
    });
    const target = parseReference(`${reg.host}/killed/big:1`);
    const err = await pushImage({ layoutDir: big.layoutDir, targets: [target], client }).catch((e: unknown) => e);
    await killing;
    expect(killing).toBeDefined();
    expect(err).toBeInstanceOf(RegistryError);
    expect(['REGISTRY_UNREACHABLE', 'BLOB_UPLOAD_FAILED']).toContain((err as RegistryError).code);

    await reg.restart();
    const fresh = createRegistryClient({ registry: reg.host, insecure: true, chunkSize: 4 * MiB });
    expect(await fresh.listTags('killed/big')).toEqual([]);
    const r = await pushImage({ layoutDir: big.layoutDir, targets: [target], client: fresh });
    expect(r.manifestDigest).toBe(big.manifest.digest);
    expect(await fresh.listTags('killed/big')).toEqual(['1']);
    expect(await inspectDigest(reg, `${reg.host}/killed/big:1`)).toBe(big.manifest.digest);
  });

  it('killed and restarted while the push is retrying: the same push resumes and completes', async () => {
    const reg = await startTestRegistry({ httpSecret: 'fixed-secret-for-restart' });
    let restarting: Promise<void> | undefined;
    const events: RegistryProgress[] = [];
    const client = createRegistryClient({
      registry: reg.host,
      insecure: true,
      chunkSize: MiB,
      retry: { attempts: 12, baseDelayMs: 200, maxDelayMs: 2000 },
      onProgress: (e) => {
        events.push(e);
        if (e.type === 'blob-progress' && e.size === BIG && e.sent >= 5 * MiB && !restarting) restarting = reg.restart();
      },
    });
    const r = await pushImage({ layoutDir: big.layoutDir, targets: [parseReference(`${reg.host}/restarted/big:1`)], client });
    await restarting;
    expect(r.manifestDigest).toBe(big.manifest.digest);
    expect(events.some((e) => e.type === 'retry')).toBe(true);
    expect(events.some((e) => e.type === 'upload-restarted' || e.type === 'upload-resumed')).toBe(true);
    expect(await inspectDigest(reg, `${reg.host}/restarted/big:1`)).toBe(big.manifest.digest);
  });
});

describe('retries on 5xx and 429', () => {
  it('retries HEAD 503s, a POST 500 and a manifest PUT 429 (honouring Retry-After) and completes', async () => {
    const img = await writeTestImage(join(dir, 'flaky'), { tag: 'f', layers: [await randomLayer(2000)] });
    const proxy = await startFaultProxy(registryPort(), [
      { match: (m, p) => m === 'HEAD' && p.includes('/blobs/'), times: 2, status: 503 },
      { match: (m, p) => m === 'POST' && p.endsWith('/blobs/uploads/'), times: 1, status: 500 },
      { match: (m, p) => m === 'PUT' && p.includes('/manifests/'), times: 1, status: 429, headers: { 'Retry-After': '1' } },
    ]);
    stoppers.push(() => proxy.stop());
    const events: RegistryProgress[] = [];
    const client = createRegistryClient({ registry: proxy.host, insecure: true, retry: { attempts: 4, baseDelayMs: 20 }, onProgress: (e) => events.push(e) });
    const r = await pushImage({ layoutDir: img.layoutDir, targets: [parseReference(`${proxy.host}/flaky/f:1`)], client });
    expect(r.manifestDigest).toBe(img.manifest.digest);
    const retries = events.filter((e): e is Extract<RegistryProgress, { type: 'retry' }> => e.type === 'retry');
    expect(retries.map((e) => e.reason).sort()).toEqual(['HTTP 429', 'HTTP 500', 'HTTP 503', 'HTTP 503']);
    expect(retries.find((e) => e.reason === 'HTTP 429')?.delayMs).toBe(1000);
    expect(await inspectDigest(registry, `${registry.host}/flaky/f:1`)).toBe(img.manifest.digest);
  });

  it('retries a request that timed out', async () => {
    const img = await writeTestImage(join(dir, 'slow'), { tag: 's', layers: [await randomLayer(2000)] });
    const proxy = await startFaultProxy(registryPort(), [
      { match: (m, p) => m === 'PUT' && p.includes('/manifests/sha256:'), times: 1, status: 0, hang: true },
    ]);
    stoppers.push(() => proxy.stop());
    const events: RegistryProgress[] = [];
    const client = createRegistryClient({
      registry: proxy.host,
      insecure: true,
      timeoutMs: 500,
      retry: { attempts: 3, baseDelayMs: 10 },
      onProgress: (e) => events.push(e),
    });
    const r = await pushImage({ layoutDir: img.layoutDir, targets: [parseReference(`${proxy.host}/slow/s:1`)], client });
    expect(r.manifestDigest).toBe(img.manifest.digest);
    expect(events.filter((e) => e.type === 'retry').map((e) => (e as { reason: string }).reason)).toEqual(['ETIMEDOUT']);
  });

  it('keeps blob transfers within the concurrency bound', async () => {
    const layers = await Promise.all(Array.from({ length: 8 }, () => randomLayer(100_000)));
    const img = await writeTestImage(join(dir, 'wide'), { tag: 'w', layers });
    const proxy = await startFaultProxy(registryPort(), []);
    stoppers.push(() => proxy.stop());
    const client = createRegistryClient({ registry: proxy.host, insecure: true, concurrency: 2 });
    const r = await pushImage({ layoutDir: img.layoutDir, targets: [parseReference(`${proxy.host}/wide/w:1`)], client });
    expect(r.blobsUploaded).toBe(9);
    expect(proxy.maxInFlight()).toBe(2);
  });

  it('gives up after the configured attempts with a typed error, and tags nothing', async () => {
    const img = await writeTestImage(join(dir, 'down'), { tag: 'd', layers: [await randomLayer(2000)] });
    const proxy = await startFaultProxy(registryPort(), [{ match: (m, p) => m === 'PUT' && p.includes('/manifests/'), times: 1000, status: 503 }]);
    stoppers.push(() => proxy.stop());
    let retries = 0;
    const client = createRegistryClient({
      registry: proxy.host,
      insecure: true,
      retry: { attempts: 3, baseDelayMs: 10 },
      onProgress: (e) => e.type === 'retry' && retries++,
    });
    const err = await pushImage({ layoutDir: img.layoutDir, targets: [parseReference(`${proxy.host}/down/d:1`)], client }).catch((e: unknown) => e);
    expect((err as RegistryError).code).toBe('MANIFEST_PUT_FAILED');
    expect((err as RegistryError).details.status).toBe(503);
    expect(retries).toBe(2);
    const direct = createRegistryClient({ registry: registry.host, insecure: true });
    expect(await direct.listTags('down/d')).toEqual([]);
  });
});
