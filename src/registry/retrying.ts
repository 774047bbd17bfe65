/**
 * The one retry loop of the registry client (go-containerregistry's `transport/retry.go` in
 * spirit): run a task, and when it fails with an error marked temporary, wait (backoff with
 * jitter, or the server's Retry-After) and run it again, up to the policy's attempts. The
 * AbortSignal stops both the task and the wait: an interrupted push or pull ends at once.
 */
import { RegistryError } from '../errors.js';
import { retryDelayMs, type RetryPolicy } from './retry.js';

export interface RetryEvent {
  readonly what: string;
  readonly attempt: number;
  readonly delayMs: number;
  readonly reason: string;
}

export interface RetryingOptions {
  readonly what: string;
  readonly policy: RetryPolicy;
  readonly signal?: AbortSignal | undefined;
  /** Worth another try? (Default: a RegistryError whose details say `temporary`.) */
  readonly isTemporary?: (e: unknown) => boolean;
  readonly onRetry?: (event: RetryEvent) => void;
  /** Injected for tests; defaults to Math.random. */
  readonly random?: () => number;
}

/** The error every registry operation ends with when its AbortSignal fires (exit 130). */
export function interrupted(what: string, signal: AbortSignal): RegistryError {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
  return new RegistryError('REGISTRY_INTERRUPTED', `${what}: interrupted (${reason})`, { cause: signal.reason });
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw interrupted(what, signal);
}

/** Resolves after `ms`, or rejects with REGISTRY_INTERRUPTED as soon as `signal` fires. */
export function abortableSleep(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(interrupted(what, signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(interrupted(what, signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function isTemporaryRegistryError(e: unknown): boolean {
  return e instanceof RegistryError && e.details.temporary === true;
}

/** Short cause for retry events: the socket error code, else the HTTP status, else our code. */
export function failureReason(e: unknown): string {
  if (!(e instanceof RegistryError)) return 'error';
  if (typeof e.details.code === 'string') return e.details.code;
  if (typeof e.details.status === 'number') return `HTTP ${e.details.status}`;
  return e.code;
}

/**
 * Run `task(attempt)` until it succeeds, fails permanently, or the attempts are used up. A
 * RegistryError may carry `details.retryAfterMs` (from a Retry-After header) to set the wait.
 */
export async function retrying<T>(task: (attempt: number) => Promise<T>, options: RetryingOptions): Promise<T> {
  const isTemporary = options.isTemporary ?? isTemporaryRegistryError;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    throwIfAborted(options.signal, options.what);
    try {
      return await task(attempt);
    } catch (e) {
      if (options.signal?.aborted) throw interrupted(options.what, options.signal);
      if (!isTemporary(e) || attempt >= options.policy.attempts) throw e;
      const retryAfter = e instanceof RegistryError && typeof e.details.retryAfterMs === 'number' ? e.details.retryAfterMs : undefined;
      const delayMs = retryDelayMs(attempt, options.policy, retryAfter, random());
      options.onRetry?.({ what: options.what, attempt, delayMs, reason: failureReason(e) });
      await abortableSleep(delayMs, options.signal, options.what);
    }
  }
}
