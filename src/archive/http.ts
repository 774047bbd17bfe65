/**
 * HTTP GET for archive files, with retries. It only moves bytes: whether they are the right
 * bytes is decided by the callers against signed hashes.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArchiveError } from '../errors.js';

export interface HttpOptions {
  /** Defaults to the global fetch. */
  readonly fetchImpl?: typeof fetch;
  /** Further attempts after the first on a network error, a truncated body or a non-2xx status. */
  readonly retries?: number;
  /** Delay before the first retry, doubled for each later one. */
  readonly retryDelayMs?: number;
  /** Stops the request, the body and the wait between retries (the abort is never retried). */
  readonly signal?: AbortSignal;
}

export const DEFAULT_RETRIES = 3;
export const DEFAULT_RETRY_DELAY_MS = 500;

export interface FetchLimits {
  /**
   * Stop reading after this many bytes (plus one, so the caller's size check fails): the
   * expected size is known from a signed index, and a server sending more is wrong.
   */
  readonly maxBytes?: number;
}

interface Attempt {
  readonly kind: 'status' | 'network' | 'truncated';
  readonly message: string;
  readonly status?: number;
}

class AttemptFailed extends Error {
  constructor(readonly attempt: Attempt) {
    super(attempt.message);
  }
}

/** The body as bytes. FETCH_FAILED (status, network) or FETCH_TRUNCATED once the retries are spent. */
export async function fetchBytes(url: string, http: HttpOptions = {}, limits: FetchLimits = {}): Promise<Uint8Array> {
  return withRetries(url, http, async (response) => {
    const chunks: Uint8Array[] = [];
    const size = await readBody(response, limits, (c) => {
      chunks.push(c);
    });
    return concat(chunks, size);
  });
}

/** Streams the body into `file` (created or emptied on each attempt); returns its size and sha256 hex. */
export async function fetchToFile(url: string, file: string, http: HttpOptions = {}, limits: FetchLimits = {}): Promise<{ size: number; sha256: string }> {
  return withRetries(url, http, async (response) => {
    const hash = createHash('sha256');
    const fh = await open(file, 'w');
    try {
      const size = await readBody(response, limits, async (c) => {
        hash.update(c);
        await fh.write(c);
      });
      return { size, sha256: hash.digest('hex') };
    } finally {
      await fh.close();
    }
  });
}

async function withRetries<T>(url: string, http: HttpOptions, consume: (r: Response) => Promise<T>): Promise<T> {
  const fetchImpl = http.fetchImpl ?? fetch;
  const retries = http.retries ?? DEFAULT_RETRIES;
  const baseDelay = http.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  let last: Attempt | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    http.signal?.throwIfAborted();
    if (attempt > 0) await sleep(Math.min(baseDelay * 2 ** (attempt - 1), 30_000), undefined, http.signal ? { signal: http.signal } : {});
    let response: Response;
    try {
      // identity: a transparently decompressed body would not match the signed sizes and hashes.
      response = await fetchImpl(url, { headers: { 'accept-encoding': 'identity' }, redirect: 'follow', ...(http.signal ? { signal: http.signal } : {}) });
    } catch (cause) {
      http.signal?.throwIfAborted();
      last = { kind: 'network', message: causeText(cause) };
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      last = { kind: 'status', status: response.status, message: `HTTP ${response.status}` };
      continue;
    }
    try {
      return await consume(response);
    } catch (e) {
      http.signal?.throwIfAborted();
      if (!(e instanceof AttemptFailed)) throw e;
      last = e.attempt;
    }
  }
  const tries = `${retries + 1} attempt${retries === 0 ? '' : 's'}`;
  const what = last?.message ?? 'no attempt made';
  throw new ArchiveError(last?.kind === 'truncated' ? 'FETCH_TRUNCATED' : 'FETCH_FAILED', `${url}: ${what} (after ${tries})`, {
    details: { url, attempts: retries + 1, ...(last?.status === undefined ? {} : { status: last.status }) },
  });
}

async function readBody(response: Response, limits: FetchLimits, onChunk: (c: Uint8Array) => void | Promise<void>): Promise<number> {
  const lengthHeader = response.headers.get('content-length');
  const expected = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  const max = limits.maxBytes;
  let received = 0;
  const reader = response.body?.getReader();
  if (reader) {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        let chunk = value;
        if (max !== undefined && received + chunk.length > max + 1) chunk = chunk.subarray(0, max + 1 - received);
        received += chunk.length;
        await onChunk(chunk);
        if (max !== undefined && received > max) {
          await reader.cancel().catch(() => undefined);
          return received;
        }
      }
    } catch (cause) {
      if (expected !== undefined && received < expected) {
        throw new AttemptFailed({ kind: 'truncated', message: `truncated: got ${received} of ${expected} bytes` });
      }
      throw new AttemptFailed({ kind: 'network', message: causeText(cause) });
    }
  }
  if (expected !== undefined && received < expected) {
    throw new AttemptFailed({ kind: 'truncated', message: `truncated: got ${received} of ${expected} bytes` });
  }
  return received;
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function causeText(e: unknown): string {
  const err = e as { message?: string; cause?: { message?: string; code?: string } };
  const base = err?.message ?? String(e);
  const inner = err?.cause?.code ?? err?.cause?.message;
  return inner ? `${base} (${inner})` : base;
}
