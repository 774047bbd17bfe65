/**
 * Resumable blob upload: POST a session, then one PUT (small blobs) or PATCH chunks and a
 * closing PUT; after a transient failure, ask the registry where the session stands and go on
 * from its offset, or start over.
 *
 * Push commits only what it has hashed: a file source is opened without following links and must
 * be a regular file of the descriptor's size. A small blob is read and hashed before its one PUT;
 * a larger one is streamed from the file in PATCHes and hashed as it is read for sending, and the
 * closing PUT (which is what makes a blob exist in the registry) goes out only when that hash is
 * the digest asked for. Otherwise the session is cancelled: bytes were sent, but nothing exists.
 */
import { createHash, type Hash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { RegistryError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { parseRegistryErrors, repositoryScope, resolveLocation, uploadOffsetFromRange } from './protocol.js';
import { isRetryableStatus } from './retry.js';
import { retrying, type RetryEvent } from './retrying.js';
import { discard, readText } from './response-body.js';
import type { Transport } from './transport.js';

/** Bytes to upload: in memory, or a file read chunk by chunk (so an upload can resume). */
export type BlobSource = { readonly bytes: Uint8Array } | { readonly file: string };

export type UploadProgress =
  | { readonly type: 'blob-progress'; readonly repository: string; readonly digest: Digest; readonly sent: number; readonly size: number }
  | { readonly type: 'upload-resumed'; readonly repository: string; readonly digest: Digest; readonly offset: number }
  | { readonly type: 'upload-restarted'; readonly repository: string; readonly digest: Digest };

export interface UploadOptions {
  readonly transport: Transport;
  readonly repository: string;
  readonly source: BlobSource;
  readonly digest: Digest;
  readonly size: number;
  /** Largest PATCH; blobs up to this and MONOLITHIC_MAX go up in one PUT. */
  readonly chunkSize: number;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: (event: UploadProgress | ({ readonly type: 'retry' } & RetryEvent)) => void;
  /** Does the registry hold the blob already (HEAD, not retried)? */
  readonly exists: () => Promise<boolean>;
}

const short = (d: Digest) => d.slice(0, 19);

/**
 * Blobs up to this size (and the chunk size) go up in one PUT, read and hashed before it; larger
 * ones are streamed in PATCHes, which costs one more round trip but neither holds the blob in
 * memory nor reads it before sending.
 */
const MONOLITHIC_MAX = 1024 * 1024;
/** Read, hashed and handed to the request this much at a time. */
const STREAM_PIECE = 1024 * 1024;

interface SourceReader {
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

function mismatch(where: string, digest: Digest): RegistryError {
  return new RegistryError('BLOB_DIGEST_MISMATCH', `${where}: content does not match its digest ${short(digest)}; nothing was uploaded`, {
    details: { digest },
  });
}

/**
 * Open the source: a regular file (no link) of the descriptor's size. With `prehash`, also prove
 * its bytes are `digest` before returning (push checks every blob this way before sending any).
 */
export async function openCheckedSource(source: BlobSource, digest: Digest, size: number, prehash = true): Promise<SourceReader> {
  if ('bytes' in source) {
    const bytes = source.bytes;
    if (bytes.byteLength !== size || `sha256:${createHash('sha256').update(bytes).digest('hex')}` !== digest) throw mismatch('in-memory blob', digest);
    return { read: async (offset, length) => bytes.subarray(offset, offset + length), close: async () => {} };
  }
  const file = source.file;
  let fh: FileHandle;
  try {
    // O_NOFOLLOW: a blob that is a link (perhaps out of the layout) is refused, not followed.
    fh = await open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new RegistryError(
      'BLOB_DIGEST_MISMATCH',
      `${file}: ${code === 'ELOOP' ? 'is a symbolic link' : `cannot be read (${code ?? 'error'})`}; nothing was uploaded`,
      {
        cause,
        details: { digest },
      },
    );
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new RegistryError('BLOB_DIGEST_MISMATCH', `${file}: not a regular file; nothing was uploaded`, { details: { digest } });
    if (st.size !== size)
      throw new RegistryError('BLOB_DIGEST_MISMATCH', `${file}: ${st.size} bytes, its descriptor says ${size}; nothing was uploaded`, { details: { digest } });
    const reader: SourceReader = {
      async read(offset, length) {
        const buf = Buffer.allocUnsafe(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
          if (bytesRead === 0) throw mismatch(file, digest);
          got += bytesRead;
        }
        return buf;
      },
      close: () => fh.close(),
    };
    if (!prehash) return reader;
    const hash = createHash('sha256');
    const step = 1024 * 1024;
    for (let offset = 0; offset < size; offset += step) hash.update(await reader.read(offset, Math.min(step, size - offset)));
    if (`sha256:${hash.digest('hex')}` !== digest) throw mismatch(file, digest);
    return reader;
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** Upload one blob; resolves with the bytes sent (a restarted upload counts what it sent again). */
export async function uploadBlob(options: UploadOptions): Promise<{ readonly bytesSent: number }> {
  const { transport, repository, digest, size, chunkSize, signal } = options;
  const registry = transport.registry;
  const progress = options.onProgress ?? (() => {});
  const scopes = [repositoryScope(repository, 'pull,push')];
  const what = `upload ${short(digest)} to ${repository}`;

  function uploadError(res: Response, entries: string[], step: string): RegistryError {
    if (entries.includes('DIGEST_INVALID')) {
      return new RegistryError('BLOB_DIGEST_MISMATCH', `${registry}: ${step}: the registry computed a different digest (the local blob is corrupt)`, {
        details: { registry, status: res.status },
      });
    }
    // A lost or invalidated session: the upload loop starts a new one.
    const sessionLost = entries.includes('BLOB_UPLOAD_UNKNOWN') || entries.includes('BLOB_UPLOAD_INVALID') || res.status === 416;
    return new RegistryError('BLOB_UPLOAD_FAILED', `${registry}: ${step}: HTTP ${res.status}${entries.length ? ` (${entries.join(', ')})` : ''}`, {
      details: { registry, status: res.status, errors: entries, temporary: sessionLost || isRetryableStatus(res.status) },
    });
  }

  async function startUpload(): Promise<URL> {
    const step = `start upload to ${repository}`;
    // Not retried inside: the upload loop below is the one retry policy for the whole upload.
    const res = await transport.send({ method: 'POST', url: transport.url(`/v2/${repository}/blobs/uploads/`), scopes, retry: false, what: step, signal });
    if (res.status !== 202) throw await transport.unexpected(res, step, 'BLOB_UPLOAD_FAILED');
    await discard(res);
    const location = res.headers.get('location');
    if (!location) throw new RegistryError('REGISTRY_PROTOCOL', `${registry}: ${step}: no Location in the answer`);
    return resolveLocation(location, `${transport.baseUrl}/v2/`);
  }

  /**
   * One PATCH of bytes offset..offset+length, streamed from the source: no copy of the chunk is
   * held, and the file is read, hashed and sent piece by piece, side by side with the registry
   * writing what it got.
   */
  async function patchChunk(session: URL, offset: number, length: number): Promise<{ session: URL; offset: number }> {
    const step = `upload ${short(digest)} bytes ${offset}-${offset + length - 1}`;
    let failure: unknown;
    const body = () => {
      let pos = offset;
      // highWaterMark 0: a piece is read (and hashed) only when the request asks for it.
      return new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            if (pos >= offset + length) {
              controller.close();
              return;
            }
            try {
              const piece = await reader.read(pos, Math.min(STREAM_PIECE, offset + length - pos));
              if (pos === hashed) {
                hash.update(piece);
                hashed += piece.byteLength;
              }
              pos += piece.byteLength;
              controller.enqueue(piece);
            } catch (e) {
              // Surfaced as fetch's network error; remembered so the upload reports it as it is.
              failure = e;
              controller.error(e);
            }
          },
        },
        { highWaterMark: 0 },
      );
    };
    let res: Response;
    try {
      res = await transport.send({
        method: 'PATCH',
        url: session,
        scopes,
        retry: false,
        what: step,
        body,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + length - 1}` },
        timeoutMs: 0,
        signal,
      });
    } catch (e) {
      throw failure ?? e;
    }
    if (res.status !== 202)
      throw uploadError(
        res,
        parseRegistryErrors(await readText(res)).map((e) => e.code),
        step,
      );
    await discard(res);
    const location = res.headers.get('location');
    const next = location ? resolveLocation(location, session.href) : session;
    const serverOffset = uploadOffsetFromRange(res.headers.get('range'));
    const expected = offset + length;
    if (serverOffset !== undefined && serverOffset !== expected) {
      throw new RegistryError('BLOB_UPLOAD_FAILED', `${registry}: ${step}: registry holds ${serverOffset} bytes, expected ${expected}`, {
        details: { registry, temporary: true },
      });
    }
    return { session: next, offset: expected };
  }

  async function finishUpload(session: URL, body: Uint8Array): Promise<void> {
    const step = `finish upload of ${short(digest)}`;
    const target = new URL(session.href);
    target.searchParams.set('digest', digest);
    const res = await transport.send({
      method: 'PUT',
      url: target,
      scopes,
      retry: false,
      what: step,
      body,
      headers: { 'Content-Type': 'application/octet-stream' },
      timeoutMs: 0,
      signal,
    });
    if (res.status !== 201 && res.status !== 204)
      throw uploadError(
        res,
        parseRegistryErrors(await readText(res)).map((e) => e.code),
        step,
      );
    await discard(res);
  }

  async function cancelSession(session: URL): Promise<void> {
    await transport
      .send({ method: 'DELETE', url: session, scopes, retry: false, what: 'cancel upload', timeoutMs: 2_000 })
      .then(discard)
      .catch(() => {});
  }

  /** Where an interrupted session stands, or undefined if the registry dropped it. */
  async function uploadStatus(session: URL): Promise<{ session: URL; offset: number } | undefined> {
    const res = await transport.send({ method: 'GET', url: session, scopes, retry: false, what: 'upload status', signal });
    await discard(res);
    if (res.status !== 204) return undefined;
    const offset = uploadOffsetFromRange(res.headers.get('range'));
    if (offset === undefined) return undefined;
    const location = res.headers.get('location');
    return { session: location ? resolveLocation(location, session.href) : session, offset };
  }

  // Not hashed up front: the running hash below covers the bytes actually sent, and decides
  // whether the upload is committed.
  const reader = await openCheckedSource(options.source, digest, size, false);
  const monolithic = size <= Math.min(chunkSize, MONOLITHIC_MAX);
  let sent = 0;
  let session: URL | undefined;
  let offset = 0;
  /** Hash of bytes 0..hashed of what was sent, in order. */
  let hash: Hash = createHash('sha256');
  let hashed = 0;
  /** Bring the running hash to `to` (re-reading from the start after a resume elsewhere). */
  const hashUpTo = async (to: number) => {
    if (to < hashed) {
      hash = createHash('sha256');
      hashed = 0;
    }
    while (hashed < to) {
      const n = Math.min(STREAM_PIECE, to - hashed);
      hash.update(await reader.read(hashed, n));
      hashed += n;
    }
  };
  const checkSent = async () => {
    await hashUpTo(size);
    if (`sha256:${hash.copy().digest('hex')}` !== digest) {
      if (session) await cancelSession(session);
      throw mismatch(`${registry}: ${what}: the source changed during the upload`, digest);
    }
  };

  try {
    return await retrying(
      async (attempt) => {
        if (attempt > 1) {
          // The last request may have completed on the server even though we lost the answer.
          if (await options.exists()) return { bytesSent: sent };
          const status = session ? await uploadStatus(session) : undefined;
          if (status && status.offset <= size && !monolithic) {
            ({ session, offset } = status);
            progress({ type: 'upload-resumed', repository, digest, offset });
          } else {
            session = undefined;
            progress({ type: 'upload-restarted', repository, digest });
          }
        }
        if (!session) {
          session = await startUpload();
          offset = 0;
        }
        try {
          if (monolithic) {
            const body = await reader.read(0, size);
            hash = createHash('sha256').update(body);
            hashed = size;
            await checkSent();
            await finishUpload(session, body);
            sent += size;
            progress({ type: 'blob-progress', repository, digest, sent: size, size });
          } else {
            // The stream hashes from where the hash stands; after a resume elsewhere, bring it there.
            await hashUpTo(offset);
            while (offset < size) {
              const length = Math.min(chunkSize, size - offset);
              ({ session, offset } = await patchChunk(session, offset, length));
              sent += length;
              progress({ type: 'blob-progress', repository, digest, sent: offset, size });
            }
            await checkSent();
            await finishUpload(session, new Uint8Array(0));
          }
          return { bytesSent: sent };
        } catch (e) {
          if (signal?.aborted && session) await cancelSession(session);
          throw e instanceof RegistryError ? e : transport.networkError(e, what, signal);
        }
      },
      {
        what,
        policy: transport.policy,
        signal,
        onRetry: (event) => progress({ type: 'retry', ...event }),
      },
    );
  } catch (e) {
    if (!(e instanceof RegistryError)) throw e;
    if (['BLOB_DIGEST_MISMATCH', 'REGISTRY_UNAUTHORIZED', 'REGISTRY_DENIED', 'REGISTRY_INTERRUPTED'].includes(e.code)) throw e;
    throw new RegistryError(e.code === 'REGISTRY_UNREACHABLE' ? 'REGISTRY_UNREACHABLE' : 'BLOB_UPLOAD_FAILED', e.message, {
      cause: e,
      details: { ...e.details, repository, digest },
    });
  } finally {
    await reader.close();
  }
}
