import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DOMAIN,
  matchesRepoDigestOrExact,
  referenceName,
  referenceString,
  tryParseDockerReference,
} from '../../src/sign/docker-reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('docker references (distribution/reference ParseNormalizedNamed)', () => {
  it.each([
    ['busybox', `${DEFAULT_DOMAIN}/library/busybox`],
    ['busybox:1.36', `${DEFAULT_DOMAIN}/library/busybox:1.36`],
    [`index.${DEFAULT_DOMAIN}/foo/bar:x`, `${DEFAULT_DOMAIN}/foo/bar:x`],
    ['127.0.0.1:5000/base/debian-minimal:12', '127.0.0.1:5000/base/debian-minimal:12'],
    ['localhost/x:1', 'localhost/x:1'],
    ['localhost:5000/base/x', 'localhost:5000/base/x'],
    ['registry.example:443/a/b/c@' + D, 'registry.example:443/a/b/c@' + D],
    ['reg.invalid/a/b:t@' + D, 'reg.invalid/a/b:t@' + D],
  ])('%s → %s', (input, canonical) => {
    const ref = tryParseDockerReference(input);
    expect(ref && referenceString(ref)).toBe(canonical);
  });

  it.each(['', 'Busybox', 'reg.io/UPPER/x', 'x:', 'x@sha256:12', 'a'.repeat(64), 'reg.io/a//b', 'reg.io/-a', `x:${'t'.repeat(129)}`])(
    'refuses %j',
    (input) => expect(tryParseDockerReference(input)).toBeUndefined(),
  );

  it('keeps the registry host out of the repository path', () => {
    const ref = tryParseDockerReference('127.0.0.1:5000/base/debian-minimal:12')!;
    expect(ref.path).toBe('base/debian-minimal');
    expect(referenceName(ref)).toBe('127.0.0.1:5000/base/debian-minimal');
  });
});

describe('matchRepoDigestOrExact', () => {
  const repo = '127.0.0.1:5000/base/debian-minimal';
  it('by tag: the signed reference must be exactly that repo:tag', () => {
    expect(matchesRepoDigestOrExact(`${repo}:12`, `${repo}:12`)).toBe(true);
    expect(matchesRepoDigestOrExact(`${repo}:12`, `${repo}:bookworm`)).toBe(false);
    expect(matchesRepoDigestOrExact(`${repo}:12`, `127.0.0.1:5000/base/other:12`)).toBe(false);
    expect(matchesRepoDigestOrExact('busybox:1', `${DEFAULT_DOMAIN}/library/busybox:1`)).toBe(true);
  });
  it('by digest: the repository must match, whatever the signed tag', () => {
    expect(matchesRepoDigestOrExact(`${repo}@${D}`, `${repo}:12`)).toBe(true);
    expect(matchesRepoDigestOrExact(`${repo}@${D}`, `127.0.0.1:5000/base/other:12`)).toBe(false);
  });
  it('a signed bare repository matches nothing', () => {
    expect(matchesRepoDigestOrExact(`${repo}:12`, repo)).toBe(false);
    expect(matchesRepoDigestOrExact(`${repo}@${D}`, repo)).toBe(false);
  });
});
