import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/errors.js';
import { formatReference, parseReference, referrersTag, sameNamedTag } from '../../src/registry/reference.js';

const D = `sha256:${'0123456789abcdef'.repeat(4)}` as const;

describe('parseReference', () => {
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
  ])('%s', (input, expected) => {
    expect(parseReference(input)).toEqual(expected);
  });

  it.each([
    ['', 'empty'],
    ['127.0.0.1:5000/Base/x:1', 'uppercase repository'],
    ['127.0.0.1:5000/a:', 'empty tag'],
    ['127.0.0.1:5000/a:-x', 'tag starting with -'],
    [`127.0.0.1:5000/a@sha256:${'A'.repeat(64)}`, 'uppercase digest'],
    ['127.0.0.1:5000/a@sha512:abc', 'other digest algorithm'],
    ['127.0.0.1:5000/', 'no repository'],
    ['127.0.0.1:5000/a//b', 'empty path component'],
    ['127.0.0.1:5000/a b', 'whitespace'],
    ['127.0.0.1:5000/-a', 'component starting with -'],
    [`h/${'a'.repeat(260)}`, 'too long'],
    ['ho_st:5000/a', 'invalid host'],
  ])('%s is REFERENCE_INVALID (%s)', (input) => {
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
  });

  it('formats back to the fully qualified form', () => {
    expect(formatReference(parseReference('debian:12'))).toBe('docker.io/library/debian:12');
    expect(formatReference(parseReference(`127.0.0.1:5000/a@${D}`))).toBe(`127.0.0.1:5000/a@${D}`);
    expect(formatReference(parseReference('127.0.0.1:5000/a/b:1'))).toBe('127.0.0.1:5000/a/b:1');
  });

  it('names the referrers fallback tag after the subject digest', () => {
    expect(referrersTag(D)).toBe(`sha256-${'0123456789abcdef'.repeat(4)}`);
    expect(() => parseReference(`127.0.0.1:5000/a:${referrersTag(D)}`)).not.toThrow();
  });

  it('matches identities by name and tag', () => {
    expect(sameNamedTag(parseReference('127.0.0.1:5000/a:1'), parseReference(`127.0.0.1:5000/a:1@${D}`))).toBe(true);
    expect(sameNamedTag(parseReference('127.0.0.1:5000/a:1'), parseReference('127.0.0.1:5000/a:2'))).toBe(false);
    expect(sameNamedTag(parseReference('127.0.0.1:5000/a:1'), parseReference('127.0.0.1:5001/a:1'))).toBe(false);
  });
});
