import { describe, expect, it } from 'vitest';
import { mirrorUrlProblem } from '../../src/archive/mirror-url.js';

describe('mirrorUrlProblem', () => {
  it.each([
    'http://mirror.invalid/debian',
    'https://mirror.invalid/debian/',
    'http://127.0.0.1:8080/debian',
    'http://[::1]:3142/debian',
    'http://user:secret@mirror.invalid/debian',
    'http://mirror.invalid',
  ])('accepts %s', (url) => {
    expect(mirrorUrlProblem(url)).toBeUndefined();
  });

  it.each([
    ['http://mirror.invalid/debian\ndeb [trusted=yes] http://evil.invalid/ bookworm main', 'may not contain whitespace or control characters'],
    ['http://mirror.invalid/debian\rx', 'may not contain whitespace or control characters'],
    ['http://mirror.invalid/de bian', 'may not contain whitespace or control characters'],
    ['http://mirror.invalid/debian\t', 'may not contain whitespace or control characters'],
    ['http://mirror.invalid/debian\u0000', 'may not contain whitespace or control characters'],
    ['http://mirror.invalid/debian\u007f', 'may not contain whitespace or control characters'],
    ['http://mirror.invalid/debian\u00a0', 'may not contain whitespace or control characters'],
    ['ftp://mirror.invalid/debian', 'expected an http:// or https:// URL'],
    ['file:///srv/debian', 'expected an http:// or https:// URL'],
    ['http:///debian', 'expected an http:// or https:// URL'],
    ['mirror.invalid/debian', 'expected an http:// or https:// URL'],
    ['http://[::1/debian', 'expected an http:// or https:// URL'],
    [`http://mirror.invalid/${'a'.repeat(2048)}`, 'longer than 2048 characters'],
  ])('refuses %j', (url, problem) => {
    expect(mirrorUrlProblem(url)).toBe(problem);
  });
});
