import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/errors.js';
import {
  DEFAULT_REGISTRY,
  DEFAULT_TAG,
  matchesRepoDigestOrExact,
  parseReference,
  referenceString,
  referrersTag,
  repositoryName,
  tryParseReference,
  withDigest,
  withTag,
} from '../../src/oci/reference.js';

const D = `sha256:${'0123456789abcdef'.repeat(4)}` as const;
const latest = { defaultTag: DEFAULT_TAG };

describe('one reference type: parse', () => {
  it.each([
    ['127.0.0.1:5000/base/debian-minimal:12', { registry: '127.0.0.1:5000', repository: 'base/debian-minimal', tag: '12' }],
    ['localhost:5000/x', { registry: 'localhost:5000', repository: 'x', tag: 'latest' }],
    ['localhost/x/y', { registry: 'localhost', repository: 'x/y', tag: 'latest' }],
    ['registry.example.org/team/app:v1.2.3', { registry: 'registry.example.org', repository: 'team/app', tag: 'v1.2.3' }],
    ['debian:12', { registry: 'docker.io', repository: 'library/debian', tag: '12' }],
    ['debian', { registry: 'docker.io', repository: 'library/debian', tag: 'latest' }],
    ['someone/tool', { registry: 'docker.io', repository: 'someone/tool', tag: 'latest' }],
    [`127.0.0.1:5000/a/b@${D}`, { registry: '127.0.0.1:5000', repository: 'a/b', digest: D }],
    [`127.0.0.1:5000/a/b:1@${D}`, { registry: '127.0.0.1:5000', repository: 'a/b', tag: '1', digest: D }],
    ['[::1]:5000/a:1', { registry: '[::1]:5000', repository: 'a', tag: '1' }],
    ['host:5000/a__b/c-d/e.f:x_Y-1.0', { registry: 'host:5000', repository: 'a__b/c-d/e.f', tag: 'x_Y-1.0' }],
  ])('%s (registry default tag)', (input, expected) => {
    expect(parseReference(input, latest)).toEqual(expected);
  });

  it('implies no tag unless asked (signatures never do)', () => {
    expect(parseReference('127.0.0.1:5000/a')).toEqual({ registry: '127.0.0.1:5000', repository: 'a' });
    expect(parseReference(`127.0.0.1:5000/a@${D}`, latest)).toEqual({ registry: '127.0.0.1:5000', repository: 'a', digest: D });
  });

  it.each([
    ['', 'empty'],
    ['127.0.0.1:5000/Base/x:1', 'uppercase repository'],
    ['127.0.0.1:5000/a:', 'empty tag'],
    ['127.0.0.1:5000/a:-x', 'tag starting with -'],
    [`127.0.0.1:5000/a@sha256:${'A'.repeat(64)}`, 'uppercase digest'],
    ['127.0.0.1:5000/a@sha512:abc', 'other digest algorithm'],
    ['x@sha256:12', 'short digest'],
    ['a'.repeat(64), 'bare image ID'],
    ['127.0.0.1:5000/', 'no repository'],
    ['127.0.0.1:5000/a//b', 'empty path component'],
    ['127.0.0.1:5000/a b', 'whitespace'],
    ['127.0.0.1:5000/-a', 'component starting with -'],
    [`h/${'a'.repeat(260)}`, 'too long'],
    [`x:${'t'.repeat(129)}`, 'tag too long'],
    ['ho_st:5000/a', 'invalid host'],
  ])('%j is REFERENCE_INVALID (%s)', (input) => {
    expect(tryParseReference(input)).toBeUndefined();
    const e = (() => {
      try {
        parseReference(input);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as RegistryError).code).toBe('REFERENCE_INVALID');
    expect((e as RegistryError).exitStatus).toBe(2);
  });
});

describe('one reference type: print', () => {
  it.each([
    ['busybox', `${DEFAULT_REGISTRY}/library/busybox`],
    ['busybox:1.36', `${DEFAULT_REGISTRY}/library/busybox:1.36`],
    [`index.${DEFAULT_REGISTRY}/foo/bar:x`, `${DEFAULT_REGISTRY}/foo/bar:x`],
    ['127.0.0.1:5000/base/debian-minimal:12', '127.0.0.1:5000/base/debian-minimal:12'],
    ['localhost/x:1', 'localhost/x:1'],
    ['registry.example:443/a/b/c@' + D, 'registry.example:443/a/b/c@' + D],
    ['reg.invalid/a/b:t@' + D, 'reg.invalid/a/b:t@' + D],
  ])('%s → %s (canonical, and a fixed point)', (input, canonical) => {
    const printed = referenceString(parseReference(input));
    expect(printed).toBe(canonical);
    expect(referenceString(parseReference(printed))).toBe(printed);
  });

  it('names the repository, the tagged and the digested forms', () => {
    const ref = parseReference(`127.0.0.1:5000/base/x:12@${D}`);
    expect(repositoryName(ref)).toBe('127.0.0.1:5000/base/x');
    expect(referenceString(withTag(ref, 'bookworm'))).toBe('127.0.0.1:5000/base/x:bookworm');
    expect(referenceString(withDigest(ref, D))).toBe(`127.0.0.1:5000/base/x@${D}`);
  });

  it('names the referrers fallback tag after the subject digest', () => {
    expect(referrersTag(D)).toBe(`sha256-${'0123456789abcdef'.repeat(4)}`);
    expect(() => parseReference(`127.0.0.1:5000/a:${referrersTag(D)}`)).not.toThrow();
  });
});

describe('identity rule (containers/image matchRepoDigestOrExact)', () => {
  const repo = '127.0.0.1:5000/base/debian-minimal';
  it('by tag: the signed reference must be exactly that repo:tag', () => {
    expect(matchesRepoDigestOrExact(`${repo}:12`, `${repo}:12`)).toBe(true);
    expect(matchesRepoDigestOrExact(`${repo}:12`, `${repo}:bookworm`)).toBe(false);
    expect(matchesRepoDigestOrExact(`${repo}:12`, `127.0.0.1:5000/base/other:12`)).toBe(false);
    expect(matchesRepoDigestOrExact('busybox:1', `${DEFAULT_REGISTRY}/library/busybox:1`)).toBe(true);
  });
  it('by digest: the repository must match, whatever the signed tag', () => {
    expect(matchesRepoDigestOrExact(`${repo}@${D}`, `${repo}:12`)).toBe(true);
    expect(matchesRepoDigestOrExact(`${repo}@${D}`, `127.0.0.1:5000/base/other:12`)).toBe(false);
    expect(matchesRepoDigestOrExact(`${repo}@${D}`, `127.0.0.1:5001/base/debian-minimal:12`)).toBe(false);
  });
  it('a signed bare repository matches nothing', () => {
    expect(matchesRepoDigestOrExact(`${repo}:12`, repo)).toBe(false);
    expect(matchesRepoDigestOrExact(`${repo}@${D}`, repo)).toBe(false);
  });
});
