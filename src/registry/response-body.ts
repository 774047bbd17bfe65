/**
 * Reading registry response bodies within bounds: drop one, read an error body for its
 * message, or read a document with a size cap that holds whether or not Content-Length is sent.
 */

/** Answers up to this size are read to their end by discard(); larger ones are cancelled. */
const DRAIN_MAX_BYTES = 64 * 1024;
/** How long discard() waits for a small answer's last byte before it drops the connection. */
const DRAIN_MAX_MS = 1000;

/**
 * Be done with an answer whose body nobody needs. A small one (the empty 202 of an upload
 * step, a JSON error) is read to its end, which hands the kept-alive connection back for the
 * next request: cancelling drops it, and the next request pays a new connection (a TLS
 * handshake on https). A body larger than DRAIN_MAX_BYTES, of unknown length, or slower than
 * DRAIN_MAX_MS is cancelled, so a hostile registry cannot hold the push here.
 */
export async function discard(res: Response): Promise<void> {
  const body = res.body;
  if (!body) return;
  const declared = res.headers.get('content-length');
  if (declared === null || !(Number(declared) <= DRAIN_MAX_BYTES)) {
    await body.cancel().catch(() => {});
    return;
  }
  const reader = body.getReader();
  const timer = setTimeout(() => void reader.cancel().catch(() => {}), DRAIN_MAX_MS);
  try {
    for (let got = 0; ;) {
      const { done, value } = await reader.read();
      if (done) return;
      got += value.byteLength;
      if (got > DRAIN_MAX_BYTES) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // The connection is being dropped anyway.
  } finally {
    clearTimeout(timer);
  }
}

/** The first `limit` bytes of an (error) body as text; the rest is never read. */
export async function readText(res: Response, limit = 64 * 1024): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let got = 0;
  const reader = res.body.getReader();
  try {
    while (got < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      got += value.byteLength;
    }
  } catch {
    // A broken error body: say what we have.
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

export async function readCapped(res: Response, limit: number): Promise<string | undefined> {
  const bytes = await readCappedBytes(res, limit);
  return bytes?.toString('utf8');
}

/**
 * The body as bytes, or undefined when it is larger than `limit`. The count is taken from the
 * bytes as they arrive, so a chunked answer without Content-Length cannot grow past the cap.
 */
export async function readCappedBytes(res: Response, limit: number): Promise<Buffer | undefined> {
  const declared = res.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) {
    await res.body?.cancel().catch(() => {});
    return undefined;
  }
  if (!res.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let got = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    got += value.byteLength;
    if (got > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
