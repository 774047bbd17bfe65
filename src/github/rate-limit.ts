/**
 * How long GitHub asks us to wait before the next request. Pure: the caller passes the clock.
 *
 * GitHub answers a rate-limited request with 403 or 429. For the secondary limits it sends
 * `retry-after` (seconds); for the primary limit it sends `x-ratelimit-remaining: 0` and
 * `x-ratelimit-reset` (epoch seconds). A secondary limit without either header means "wait at
 * least a minute". A 403 with none of these is a real permission error and is not retried.
 */
import { parseRetryAfter } from '../registry/retry.js';

/** Secondary rate limit without a header: GitHub's documentation says wait at least a minute. */
export const SECONDARY_LIMIT_WAIT_MS = 60_000;

export type HeaderLookup = (name: string) => string | undefined;

export function rateLimitWaitMs(status: number, header: HeaderLookup, nowMs: number): number | undefined {
  if (status !== 403 && status !== 429) return undefined;
  const retryAfter = parseRetryAfter(header('retry-after'), nowMs);
  if (retryAfter !== undefined) return retryAfter;
  const reset = header('x-ratelimit-reset');
  if (header('x-ratelimit-remaining') === '0' && reset !== undefined && /^\d+$/.test(reset.trim())) {
    return Math.max(0, Number(reset.trim()) * 1000 - nowMs);
  }
  return status === 429 ? SECONDARY_LIMIT_WAIT_MS : undefined;
}
