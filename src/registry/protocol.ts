/**
 * Small facts of the OCI distribution protocol: upload `Range` headers, error bodies, `Link`
 * pagination, `Location` resolution. Pure.
 */
import { RegistryError } from '../errors.js';

/**
 * Bytes the server holds for an upload session, from its `Range: 0-<last>` header.
 * distribution answers `0-0` for an empty session too; a 1-byte session is then read as 0 and
 * the registry's own offset check rejects the next chunk, so nothing is silently corrupted.
 */
export function uploadOffsetFromRange(range: string | null | undefined): number | undefined {
  if (!range) return undefined;
  const m = /^(?:bytes=)?0-(\d+)$/.exec(range.trim());
  if (!m) return undefined;
  const last = Number(m[1]);
  return last === 0 ? 0 : last + 1;
}

export interface RegistryErrorEntry {
  readonly code: string;
  readonly message: string;
}

/** The `{"errors":[{code,message,detail}]}` body; anything else yields no entries. */
export function parseRegistryErrors(body: string): RegistryErrorEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  const errors = (parsed as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors.flatMap((e: unknown) => {
    const code = (e as { code?: unknown })?.code;
    const message = (e as { message?: unknown })?.message;
    return typeof code === 'string' ? [{ code, message: typeof message === 'string' ? message : '' }] : [];
  });
}

/** One-line summary of a registry error body for messages (bounded, no headers). */
export function describeRegistryErrors(entries: readonly RegistryErrorEntry[]): string {
  const text = entries.map((e) => (e.message ? `${e.code}: ${e.message}` : e.code)).join('; ');
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** Target of `Link: <url>; rel="next"` (tag list pagination). */
export function nextLink(link: string | null | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]*)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * Resolve a `Location` the registry sent against the request URL. A registry reached over TLS
 * may not send us to plain HTTP: that would move credentials and content off TLS without asking.
 */
export function resolveLocation(location: string, requestUrl: string): URL {
  let url: URL;
  try {
    url = new URL(location, requestUrl);
  } catch (cause) {
    throw new RegistryError('REGISTRY_PROTOCOL', `registry sent an unusable Location header`, { cause });
  }
  const from = new URL(requestUrl);
  if (from.protocol === 'https:' && url.protocol !== 'https:') {
    throw new RegistryError('INSECURE_NOT_ALLOWED', `${from.host}: registry redirected from https to ${url.protocol}//${url.host}; refusing to leave TLS`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new RegistryError('REGISTRY_PROTOCOL', `${from.host}: registry sent a Location with scheme ${url.protocol}`);
  }
  return url;
}

/** URL for messages: scheme, host and path only (upload URLs carry session state in the query). */
export function displayUrl(url: string | URL): string {
  const u = typeof url === 'string' ? new URL(url) : url;
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/** Bearer token scopes (`repository:<name>:pull,push`). */
export function repositoryScope(repository: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${repository}:${actions}`;
}

/** Does a granted scope (`repository:a/b:pull,push`) include a wanted one (`repository:a/b:pull`)? */
export function scopeCovers(granted: string, wanted: string): boolean {
  if (granted === wanted) return true;
  const g = /^([^:]+):(.+):([^:]+)$/.exec(granted);
  const w = /^([^:]+):(.+):([^:]+)$/.exec(wanted);
  if (!g || !w || g[1] !== w[1] || g[2] !== w[2]) return false;
  const have = new Set(g[3]!.split(','));
  return have.has('*') || w[3]!.split(',').every((a) => have.has(a));
}
