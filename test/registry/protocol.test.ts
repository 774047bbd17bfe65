// Pure pieces of the client: auth challenges, upload ranges, retry policy, scopes, referrers merge.
import { describe, expect, it } from 'vitest';
import { parseWwwAuthenticate } from '../../src/registry/challenge.js';
import { createLimiter } from '../../src/registry/limit.js';
import { nextLink, parseRegistryErrors, resolveLocation, scopeCovers, uploadOffsetFromRange } from '../../src/registry/protocol.js';
import { mergeReferrers, parseReferrersIndex, referrerDescriptor } from '../../src/registry/referrers.js';
import { isPermanentNetworkError, isRetryableStatus, parseRetryAfter, retryDelayMs } from '../../src/registry/retry.js';
import { formatRegistryProgress } from '../../src/registry/progress.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import type { Digest } from '../../src/oci/digest.js';

const d = (c: string) => `sha256:${c.repeat(64)}` as Digest;

describe('WWW-Authenticate', () => {
  it('parses Bearer with quoted params, commas inside quotes and several challenges', () => {
    expect(
      parseWwwAuthenticate('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push", Basic realm="x y"'),
    ).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } },
      { scheme: 'basic', params: { realm: 'x y' } },
    ]);
    expect(parseWwwAuthenticate('Basic realm="imgfactory"')).toEqual([{ scheme: 'basic', params: { realm: 'imgfactory' } }]);
    expect(parseWwwAuthenticate('Bearer realm=unquoted,error="invalid_token"')).toEqual([
      { scheme: 'bearer', params: { realm: 'unquoted', error: 'invalid_token' } },
    ]);
    expect(parseWwwAuthenticate(null)).toEqual([]);
    expect(parseWwwAuthenticate('Bearer realm="a\\"b"')[0]!.params.realm).toBe('a"b');
  });
});

describe('upload Range', () => {
  it('reads the server offset; 0-0 is an empty session', () => {
    expect(uploadOffsetFromRange('0-0')).toBe(0);
    expect(uploadOffsetFromRange('0-1048575')).toBe(1048576);
    expect(uploadOffsetFromRange('bytes=0-99')).toBe(100);
    expect(uploadOffsetFromRange('5-9')).toBeUndefined();
    expect(uploadOffsetFromRange(null)).toBeUndefined();
  });
});

describe('retry policy', () => {
  const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
  it('retries overload and gateway statuses, not client errors', () => {
    for (const s of [429, 500, 502, 503, 504, 408]) expect(isRetryableStatus(s)).toBe(true);
    for (const s of [400, 401, 403, 404, 409, 501]) expect(isRetryableStatus(s)).toBe(false);
  });
  it('honours Retry-After seconds and dates, capped', () => {
    expect(parseRetryAfter('3', 0)).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(retryDelayMs(1, policy, 3000, 0.5)).toBe(1000);
    expect(retryDelayMs(1, policy, 200, 0.5)).toBe(200);
  });
  it('backs off exponentially with jitter between half and all of the ceiling', () => {
    expect(retryDelayMs(1, policy, undefined, 0)).toBe(50);
    expect(retryDelayMs(1, policy, undefined, 1)).toBe(100);
    expect(retryDelayMs(3, policy, undefined, 1)).toBe(400);
    expect(retryDelayMs(10, policy, undefined, 1)).toBe(1000);
  });
  it('treats TLS trust failures and unknown hosts as permanent, resets as transient', () => {
    const wrap = (code: string) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });
    expect(isPermanentNetworkError(wrap('UNABLE_TO_VERIFY_LEAF_SIGNATURE'))).toBe(true);
    expect(isPermanentNetworkError(wrap('ERR_SSL_WRONG_VERSION_NUMBER'))).toBe(true);
    expect(isPermanentNetworkError(wrap('ENOTFOUND'))).toBe(true);
    expect(isPermanentNetworkError(wrap('ECONNRESET'))).toBe(false);
    expect(isPermanentNetworkError(wrap('ECONNREFUSED'))).toBe(false);
  });
});

describe('protocol details', () => {
  it('refuses a Location that leaves TLS', () => {
    expect(() => resolveLocation('http://evil.example/x', 'https://r.example/v2/')).toThrow(expect.objectContaining({ code: 'INSECURE_NOT_ALLOWED' }));
    expect(resolveLocation('/v2/a/blobs/uploads/1?_state=x', 'https://r.example/v2/').href).toBe('https://r.example/v2/a/blobs/uploads/1?_state=x');
    expect(resolveLocation('http://127.0.0.1:5000/v2/x', 'http://127.0.0.1:5000/v2/').protocol).toBe('http:');
  });
  it('reads registry error bodies and Link pagination', () => {
    expect(parseRegistryErrors('{"errors":[{"code":"DIGEST_INVALID","message":"bad"}]}')).toEqual([{ code: 'DIGEST_INVALID', message: 'bad' }]);
    expect(parseRegistryErrors('<html>')).toEqual([]);
    expect(nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"')).toBe('/v2/a/tags/list?n=2&last=b');
    expect(nextLink(null)).toBeUndefined();
  });
  it('lets a pull,push token serve pull but not another repository', () => {
    expect(scopeCovers('repository:a/b:pull,push', 'repository:a/b:pull')).toBe(true);
    expect(scopeCovers('repository:a/b:pull', 'repository:a/b:pull,push')).toBe(false);
    expect(scopeCovers('repository:a/b:pull,push', 'repository:a/c:pull')).toBe(false);
    expect(scopeCovers('repository:a/b:*', 'repository:a/b:pull,push')).toBe(true);
  });
  it('prints progress without secrets and skips per-chunk noise for small blobs', () => {
    expect(formatRegistryProgress({ type: 'blob', action: 'mounted', repository: 'b', digest: d('a'), size: 2048, from: 'a' })).toBe(
      `b: mounted ${d('a').slice(0, 19)} from a (2.0 KiB)`,
    );
    expect(formatRegistryProgress({ type: 'blob-progress', repository: 'b', digest: d('a'), size: 100, sent: 50 })).toBeUndefined();
  });
});

describe('referrers fallback index', () => {
  const sig = referrerDescriptor({ kind: 'signature', digest: d('1'), size: 10, mediaType: MediaType.imageManifest, artifactType: MediaType.simpleSigning });
  const sbom = referrerDescriptor({ kind: 'sbom', digest: d('2'), size: 11, mediaType: MediaType.imageManifest, configMediaType: MediaType.spdxJson });
  const foreign = { mediaType: MediaType.imageManifest, digest: d('3'), size: 12, artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json' };

  it('describes an artifact with its artifactType (config media type as fallback) and kind', () => {
    expect(sig).toEqual({
      mediaType: MediaType.imageManifest,
      digest: d('1'),
      size: 10,
      artifactType: MediaType.simpleSigning,
      annotations: { 'dev.imgfactory.attachment': 'signature' },
    });
    expect(sbom.artifactType).toBe(MediaType.spdxJson);
  });
  it('keeps what other tools listed, replaces in place, appends new entries', () => {
    const first = mergeReferrers({ schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [foreign, sig] }, [sig, sbom]);
    expect(first.manifests.map((m) => m.digest)).toEqual([d('3'), d('1'), d('2')]);
    expect(mergeReferrers(first, [sig, sbom])).toEqual(first);
    expect(mergeReferrers(undefined, [sig]).manifests).toEqual([sig]);
  });
  it('rejects a fallback tag that holds something other than an index', () => {
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.imageManifest, config: {}, layers: [] }));
    expect(() => parseReferrersIndex(bytes, 'x')).toThrow(expect.objectContaining({ code: 'REGISTRY_PROTOCOL' }));
    expect(() => parseReferrersIndex(Buffer.from('{'), 'x')).toThrow(expect.objectContaining({ code: 'REGISTRY_PROTOCOL' }));
  });
});

describe('createLimiter', () => {
  it('never runs more than n tasks at once and runs them all', async () => {
    const limit = createLimiter(2);
    let active = 0;
    let peak = 0;
    const done: number[] = [];
    await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        limit(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setImmediate(r));
          active--;
          done.push(i);
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(done.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
