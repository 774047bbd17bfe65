/**
 * The GitHub REST client: @octokit/rest with imgfactory's rate-limit wait and error mapping
 * wrapped around every request (octokit's `request` hook), so that pagination, retries and
 * errors go through one place.
 *
 * The token is a secret: it goes into octokit's `auth` and nowhere else. Errors carry the
 * route, the status and GitHub's message with the token cut out (a proxy or a stand-in
 * server could echo it), never octokit's error object, whose request it would print.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Octokit } from '@octokit/rest';
import { GithubError, type GithubErrorCode } from '../errors.js';
import { imgfactoryVersion } from '../version.js';
import { rateLimitWaitMs } from './rate-limit.js';

export interface GithubClientOptions {
  /** The API token (a dry run sends nothing and needs no client). */
  readonly token: string;
  /** REST API base, `GITHUB_API_URL` (GitHub Enterprise: `https://host/api/v3`). */
  readonly baseUrl?: string;
  readonly signal?: AbortSignal;
  /** The longest single wait a rate limit may ask for before we give up (default 5 minutes). */
  readonly maxRateLimitWaitMs?: number;
  /** How many rate-limited answers one request may get before we give up (default 3). */
  readonly maxRateLimitRetries?: number;
  /** How long one request may go unanswered (default 60 s): a stalled API must not hang CI. */
  readonly requestTimeoutMs?: number;
  /** Progress lines (e.g. "rate limited, waiting 3 s"). */
  readonly progress?: (line: string) => void;
  /** Each request and its status, for --debug. */
  readonly debug?: (line: string) => void;
  /** For tests: the clock. */
  readonly now?: () => number;
}

export const DEFAULT_API_URL = 'https://api.github.com';
const DEFAULT_MAX_WAIT_MS = 5 * 60_000;
const DEFAULT_MAX_RETRIES = 3;
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

export type GithubClient = Octokit;

export function redact(text: string, secret: string): string {
  return secret.length === 0 ? text : text.split(secret).join('***');
}

interface HttpErrorLike {
  status: number;
  response?: { headers: Record<string, string | number | undefined>; data?: unknown };
}

function isHttpError(e: unknown): e is HttpErrorLike {
  return e instanceof Error && e.name === 'HttpError' && typeof (e as { status?: unknown }).status === 'number';
}

function codeForStatus(status: number): GithubErrorCode {
  if (status === 401) return 'GITHUB_UNAUTHORIZED';
  if (status === 403) return 'GITHUB_FORBIDDEN';
  if (status === 404) return 'GITHUB_NOT_FOUND';
  if (status === 410 || status === 422) return 'GITHUB_REJECTED';
  if (status === 429) return 'GITHUB_RATE_LIMITED';
  if (status >= 500) return 'GITHUB_UNREACHABLE';
  return 'GITHUB_PROTOCOL';
}

function githubMessage(data: unknown): string | undefined {
  const m = (data as { message?: unknown } | undefined)?.message;
  return typeof m === 'string' ? m.split('\n')[0]!.slice(0, 300) : undefined;
}

function interrupted(route: string): GithubError {
  return new GithubError('REPORT_INTERRUPTED', `interrupted during ${route}`, { details: { route } });
}

export function createGithubClient(options: GithubClientOptions): GithubClient {
  const { token } = options;
  const now = options.now ?? Date.now;
  const maxWait = options.maxRateLimitWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const maxRetries = options.maxRateLimitRetries ?? DEFAULT_MAX_RETRIES;
  const quiet = () => {};
  const octokit = new Octokit({
    auth: token,
    baseUrl: (options.baseUrl ?? DEFAULT_API_URL).replace(/\/+$/, ''),
    userAgent: `imgfactory/${imgfactoryVersion()}`,
    request: options.signal === undefined ? {} : { signal: options.signal },
    log: {
      debug: quiet,
      info: quiet,
      // Deprecation notices; octokit's own failed-request lines duplicate our one-line errors.
      warn: (m: string) => options.progress?.(`github: ${redact(String(m), token)}`),
      error: (m: string) => options.debug?.(`github: ${redact(String(m), token)}`),
    },
  });

  octokit.hook.wrap('request', async (request, requestOptions) => {
    // `GET /repos/o/r/issues`: the path as sent, without the query or the API base.
    const { method, url } = octokit.request.endpoint(requestOptions);
    const route = `${method} ${new URL(url, 'http://base.invalid').pathname}`;
    // The caller's own cancellation, kept apart from each try's timeout (set below).
    const cancel = [options.signal, requestOptions.request?.signal].filter((s): s is AbortSignal => s !== undefined);
    const cancelled = () => cancel.some((s) => s.aborted);
    for (let attempt = 0; ; attempt++) {
      const timeout = AbortSignal.timeout(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
      const signal = AbortSignal.any([...cancel, timeout]);
      try {
        // before-after-hook binds the options object once for the whole chain: a copy passed
        // to `request` would be ignored, so the signal is set on it in place.
        requestOptions.request = { ...requestOptions.request, signal };
        const response = await request(requestOptions);
        options.debug?.(redact(`github: ${route} → ${response.status}`, token));
        return response;
      } catch (e) {
        if (cancelled()) throw interrupted(route);
        if (timeout.aborted) {
          throw new GithubError(
            'GITHUB_UNREACHABLE',
            `GitHub API: ${route}: no answer within ${Math.ceil((options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS) / 1000)} s`,
            {
              details: { route },
            },
          );
        }
        if (!isHttpError(e)) {
          // Only octokit and fetch run inside `request`: whatever else they throw is the
          // network's or the server's doing, not a bug here.
          throw new GithubError('GITHUB_UNREACHABLE', redact(`GitHub API: ${route}: ${String((e as Error)?.message ?? e).split('\n')[0]}`, token), {
            details: { route },
          });
        }
        const status = e.status;
        const headers = e.response?.headers ?? {};
        const header = (name: string) => {
          const v = headers[name];
          return v === undefined ? undefined : String(v);
        };
        options.debug?.(redact(`github: ${route} → ${status}`, token));
        const waitMs = e.response === undefined ? undefined : rateLimitWaitMs(status, header, now());
        if (waitMs !== undefined) {
          if (attempt >= maxRetries || waitMs > maxWait) {
            throw new GithubError(
              'GITHUB_RATE_LIMITED',
              `GitHub API: ${route}: rate limited; GitHub asks to wait ${Math.ceil(waitMs / 1000)} s` +
                (waitMs > maxWait ? `, more than the ${Math.ceil(maxWait / 1000)} s allowed` : ` after ${attempt + 1} tries`),
              { details: { status, route, waitMs, attempts: attempt + 1 } },
            );
          }
          options.progress?.(`github: rate limited on ${route}, waiting ${Math.ceil(waitMs / 1000)} s`);
          await sleep(waitMs, undefined, { signal: AbortSignal.any(cancel) }).catch(() => {
            throw interrupted(route);
          });
          continue;
        }
        if (e.response === undefined) {
          throw new GithubError('GITHUB_UNREACHABLE', redact(`GitHub API: ${route}: no answer (${(e as unknown as Error).message.split('\n')[0]})`, token), {
            details: { route },
          });
        }
        const said = githubMessage(e.response.data);
        throw new GithubError(codeForStatus(status), redact(`GitHub API: ${route}: HTTP ${status}${said === undefined ? '' : `: ${said}`}`, token), {
          details: { status, route, requestId: header('x-github-request-id') },
        });
      }
    }
  });
  return octokit;
}
