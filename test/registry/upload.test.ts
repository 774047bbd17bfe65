// Resumable upload through an injected fetch: what is committed is exactly what was hashed.
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/errors.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { createRegistryClient } from '../../src/registry/client.js';

interface Seen {
  readonly method: string;
  readonly url: URL;
  readonly bytes: number;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgfactory-upload-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A registry that accepts a chunked upload session; `onPatch` runs before each PATCH is answered. */
function uploadRegistry(onPatch: (n: number) => Promise<void> = async () => {}): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  let received = 0;
  let patches = 0;
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const method = init?.method ?? 'GET';
    // A streamed body is read to its end, as a registry does, before the answer.
    const raw = init?.body as Uint8Array | ReadableStream<Uint8Array> | undefined;
    const body = raw instanceof ReadableStream ? new Uint8Array(await new Response(raw).arrayBuffer()) : raw;
    seen.push({ method, url, bytes: body?.byteLength ?? 0 });
    if (method === 'HEAD') return new Response(null, { status: 404 });
    if (method === 'POST') return new Response(null, { status: 202, headers: { location: '/v2/a/blobs/uploads/s1?state=x' } });
    if (method === 'PATCH') {
      await onPatch(++patches);
      received += body!.byteLength;
      return new Response(null, { status: 202, headers: { location: '/v2/a/blobs/uploads/s1?state=y', range: `0-${received - 1}` } });
    }
    if (method === 'PUT') return new Response(null, { status: 201 });
    if (method === 'DELETE') return new Response(null, { status: 204 });
    return new Response(null, { status: 500 });
  }) as typeof fetch;
  return { fetch: f, seen };
}

const chunk = 64 * 1024;

describe('blob upload', () => {
  it('sends a file in chunks and commits it with its digest (the control case)', async () => {
    const bytes = Buffer.alloc(3 * chunk + 100, 7);
    const file = join(dir, 'ok');
    await writeFile(file, bytes);
    const { fetch, seen } = uploadRegistry();
    const client = createRegistryClient({ registry: 'reg.test', fetchImpl: fetch, chunkSize: chunk });
    const r = await client.uploadBlob('a', { file }, sha256Digest(bytes), bytes.length);
    expect(r.bytesSent).toBe(bytes.length);
    const patches = seen.filter((s) => s.method === 'PATCH');
    expect(patches.map((s) => s.bytes)).toEqual([chunk, chunk, chunk, 100]);
    const put = seen.filter((s) => s.method === 'PUT');
    expect(put).toHaveLength(1);
    expect(put[0]!.url.searchParams.get('digest')).toBe(sha256Digest(bytes));
  });

  it('a file changed during the upload is never committed: BLOB_DIGEST_MISMATCH, the session cancelled', async () => {
    const bytes = Buffer.alloc(3 * chunk + 100, 1);
    const file = join(dir, 'changing');
    await writeFile(file, bytes);
    const { fetch, seen } = uploadRegistry(async (n) => {
      // After the first chunk went out, someone rewrites the rest of the file (same size).
      if (n === 1) await writeFile(file, Buffer.alloc(bytes.length, 2));
    });
    const client = createRegistryClient({ registry: 'reg.test', fetchImpl: fetch, chunkSize: chunk });
    const e = (await client.uploadBlob('a', { file }, sha256Digest(bytes), bytes.length).catch((x: unknown) => x)) as RegistryError;
    expect(e).toBeInstanceOf(RegistryError);
    expect(e.code).toBe('BLOB_DIGEST_MISMATCH');
    expect(e.exitStatus).toBe(1);
    expect(seen.filter((s) => s.method === 'PUT')).toEqual([]);
    expect(seen.filter((s) => s.method === 'DELETE')).toHaveLength(1);
  });

  it('a small blob whose bytes do not match is refused before the PUT', async () => {
    const bytes = Buffer.from('small blob');
    const file = join(dir, 'small');
    await writeFile(file, Buffer.from('SMALL BLOB'));
    const { fetch, seen } = uploadRegistry();
    const client = createRegistryClient({ registry: 'reg.test', fetchImpl: fetch, chunkSize: chunk });
    const e = (await client.uploadBlob('a', { file }, sha256Digest(bytes), bytes.length).catch((x: unknown) => x)) as RegistryError;
    expect(e.code).toBe('BLOB_DIGEST_MISMATCH');
    expect(seen.filter((s) => s.method === 'PUT')).toEqual([]);
  });

  it('a source that is a symbolic link is not opened: nothing is sent at all', async () => {
    const bytes = Buffer.from('linked');
    const target = join(dir, 'target');
    await writeFile(target, bytes);
    const link = join(dir, 'link');
    await symlink(target, link);
    const { fetch, seen } = uploadRegistry();
    const client = createRegistryClient({ registry: 'reg.test', fetchImpl: fetch, chunkSize: chunk });
    const e = (await client.uploadBlob('a', { file: link }, sha256Digest(bytes), bytes.length).catch((x: unknown) => x)) as RegistryError;
    expect(e.code).toBe('BLOB_DIGEST_MISMATCH');
    expect(seen).toEqual([]);
  });
});
