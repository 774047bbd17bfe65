/**
 * When a registry request is worth repeating, and how long to wait first. Pure: the caller
 * passes the clock and the random source.
 */

export interface RetryPolicy {
  /** Total tries, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 };

/** Statuses that say "not now" rather than "no": overload, gateway trouble, rate limits. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * `Retry-After` as delta-seconds or an HTTP date, in milliseconds from `nowMs`; undefined when
 * absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * Delay before try number `attempt + 1` (attempt counts from 1): the server's Retry-After when
 * given (capped), else exponential backoff with "full jitter" so many clients do not retry in step.
 */
export function retryDelayMs(attempt: number, policy: RetryPolicy, retryAfterMs: number | undefined, random: number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

/** Network-level failure codes that will not go away by retrying (TLS trust, unknown host). */
const PERMANENT_NETWORK_CODES = new Set([
  'ENOTFOUND',
  'CERT_HAS_EXPIRED',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'EPROTO',
  'ERR_INVALID_URL',
]);

/** The innermost `code` of a fetch failure (`TypeError: fetch failed` wraps the socket error). */
export function networkErrorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  let code: string | undefined;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string') code = c;
    const name = (cur as { name?: unknown }).name;
    if (code === undefined && (name === 'TimeoutError' || name === 'AbortError')) code = 'ETIMEDOUT';
    cur = (cur as { cause?: unknown }).cause;
  }
  return code;
}

export function isPermanentNetworkError(e: unknown): boolean {
  const code = networkErrorCode(e);
  return code !== undefined && (PERMANENT_NETWORK_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'));
}
