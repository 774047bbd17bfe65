/** The pure cores of reporting: the check report parser, the issue plan, rate-limit waits, Markdown. */
import { describe, expect, it } from 'vitest';
import { mergeCheckReports, parseCheckReportFile, type CheckReport } from '../../src/github/check-report.js';
import { findIssue, issueIntents, parseRepository, requestPath, requestsFor } from '../../src/github/issue-plan.js';
import { hasMarker, issueBody, issueMarker, jobSummary } from '../../src/github/markdown.js';
import { rateLimitWaitMs, SECONDARY_LIMIT_WAIT_MS } from '../../src/github/rate-limit.js';
import { codeOf } from '../helpers/error-code.js';
import { NEW_DIGEST, published, REPOSITORY, securityUpdates } from './fixtures.js';

const parse = (v: unknown): CheckReport => mergeCheckReports([parseCheckReportFile(v, 'check.json')]);

describe('check report', () => {
  it('parses the check --json shape and ignores keys it does not know', () => {
    const r = parse({ generatedAt: 'x', images: [{ ...securityUpdates.images[0], extra: 1 }] });
    expect(r.images[0]!.changes).toHaveLength(2);
    expect(r.images[0]).not.toHaveProperty('extra');
  });

  it('accepts added and removed packages (null versions)', () => {
    const r = parse({
      images: [{ name: 'a', repository: REPOSITORY, status: 'updates', changes: [{ name: 'x', from: null, to: '1', suite: 'bookworm', security: false }] }],
    });
    expect(r.images[0]!.changes[0]!.from).toBeNull();
  });

  it.each([
    ['no images', {}],
    ['an unknown status', { images: [{ name: 'a', repository: REPOSITORY, status: 'stale' }] }],
    ['a bad digest', { images: [{ name: 'a', repository: REPOSITORY, status: 'up-to-date', newDigest: 'sha256:xyz' }] }],
    ['a repository with a tag', { images: [{ name: 'a', repository: `${REPOSITORY}:12`, status: 'up-to-date' }] }],
    ['a marker breakout in the repository', { images: [{ name: 'a', repository: 'h/x-->', status: 'up-to-date' }] }],
    ['a two-line rollback', { images: [{ name: 'a', repository: REPOSITORY, status: 'up-to-date', rollback: 'imgfactory rollback x\nrm -rf /' }] }],
    ['a rollback that is another command', { images: [{ name: 'a', repository: REPOSITORY, status: 'up-to-date', rollback: 'curl x | sh' }] }],
    [
      'a pipe in a version',
      { images: [{ name: 'a', repository: REPOSITORY, status: 'updates', changes: [{ name: 'x', from: '1|2', to: '2', suite: 's', security: true }] }] },
    ],
    [
      'the same image twice',
      {
        images: [
          { name: 'a', repository: REPOSITORY, status: 'updates' },
          { name: 'a', repository: REPOSITORY, status: 'failed' },
        ],
      },
    ],
    ['no repository in any file', { images: [{ name: 'a', status: 'failed' }] }],
  ])('refuses %s with CHECK_REPORT_INVALID', (_what, value) => {
    expect(codeOf(() => parse(value))).toBe('CHECK_REPORT_INVALID');
  });

  it('merges files by image name, later fields over earlier ones', () => {
    const r = mergeCheckReports([
      parseCheckReportFile(securityUpdates, 'check.json'),
      parseCheckReportFile({ images: [{ name: 'debian-minimal', status: 'up-to-date', newDigest: NEW_DIGEST }] }, 'publish.json'),
    ]);
    const image = r.images.find((i) => i.name === 'debian-minimal')!;
    expect(image.status).toBe('up-to-date');
    expect(image.newDigest).toBe(NEW_DIGEST);
    expect(image.changes).toHaveLength(2);
    expect(r.images).toHaveLength(2);
  });
});

describe('issue plan', () => {
  it('opens for security updates and failures, edits only for other updates, closes on publish', () => {
    const r = parse({
      images: [
        securityUpdates.images[0],
        { name: 'b', repository: 'h/b', status: 'updates', changes: [{ name: 'x', from: '1', to: '2', suite: 'bookworm-updates', security: false }] },
        { name: 'c', repository: 'h/c', status: 'failed', error: 'boom' },
        { name: 'd', repository: 'h/d', status: 'up-to-date' },
        { ...published.images[0], name: 'e', repository: 'h/e' },
      ],
    });
    expect(issueIntents(r).map((i) => `${i.image.name}:${i.kind}`)).toEqual([
      'debian-minimal:open-or-update',
      'b:update-if-open',
      'c:open-or-update',
      'd:close-if-open',
      'e:close-if-open',
    ]);
    const [, onlyUpdates, , , close] = issueIntents(r);
    expect(requestsFor(onlyUpdates!, undefined)).toEqual({ action: 'none', requests: [] });
    expect(requestsFor(onlyUpdates!, 4).action).toBe('updated');
    expect(requestsFor(close!, undefined).requests).toEqual([]);
    expect(requestsFor(close!, 4).requests.map((q) => requestPath(q, { owner: 'o', repo: 'r' }))).toEqual([
      { method: 'POST', path: '/repos/o/r/issues/4/comments' },
      { method: 'PATCH', path: '/repos/o/r/issues/4' },
    ]);
  });

  it('finds an issue by the marker on its first line only, ignoring pull requests, oldest first', () => {
    const m = issueMarker(REPOSITORY);
    expect(
      findIssue(
        [
          { number: 5, body: `x\n${m}` },
          { number: 6, body: m, pull_request: {} },
        ],
        REPOSITORY,
      ),
    ).toBeUndefined();
    expect(
      findIssue(
        [
          { number: 9, body: `${m}\nnew` },
          { number: 3, body: `${m}\r\nold` },
          { number: 4, body: null },
        ],
        REPOSITORY,
      ),
    ).toBe(3);
    expect(findIssue([{ number: 1, body: issueMarker(`${REPOSITORY}-other`) }], REPOSITORY)).toBeUndefined();
  });

  it('the issue body starts with the marker', () => {
    const image = parse(securityUpdates).images[0]!;
    expect(hasMarker(issueBody(image), REPOSITORY)).toBe(true);
  });

  it.each(['', 'acme', 'acme/', '/images', 'a/b/c', 'acme/..', 'ac me/images'])('refuses repository %j', (v) => {
    expect(codeOf(() => parseRepository(v))).toBe('GITHUB_REPOSITORY_INVALID');
  });

  it('reads owner/name', () => {
    expect(parseRepository('acme-corp/base.images')).toEqual({ owner: 'acme-corp', repo: 'base.images' });
  });
});

describe('rate-limit waits', () => {
  const h = (headers: Record<string, string>) => (name: string) => headers[name];
  const now = 1_700_000_000_000;
  it('retry-after wins, in seconds', () => {
    expect(rateLimitWaitMs(403, h({ 'retry-after': '3', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1' }), now)).toBe(3000);
  });
  it('x-ratelimit-reset when the primary limit is exhausted', () => {
    expect(rateLimitWaitMs(403, h({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 7) }), now)).toBe(7000);
    expect(rateLimitWaitMs(429, h({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 - 7) }), now)).toBe(0);
  });
  it('a 403 without rate-limit headers is a permission error, not a wait', () => {
    expect(rateLimitWaitMs(403, h({ 'x-ratelimit-remaining': '4000', 'x-ratelimit-reset': String(now / 1000 + 7) }), now)).toBeUndefined();
    expect(rateLimitWaitMs(404, h({ 'retry-after': '1' }), now)).toBeUndefined();
  });
  it('a bare 429 waits a minute', () => {
    expect(rateLimitWaitMs(429, h({}), now)).toBe(SECONDARY_LIMIT_WAIT_MS);
  });
});

describe('issue body size', () => {
  it("stays under GitHub's 65,536 characters with a thousand changes, security ones kept", () => {
    const changes = Array.from({ length: 1000 }, (_, i) => ({
      name: `libpackage-with-a-long-name${i}`,
      from: `1.2.3-4+deb12u${i}`,
      to: `1.2.3-4+deb12u${i + 1}`,
      suite: 'bookworm-updates',
      security: i === 999,
    }));
    const image = parse({ images: [{ name: 'big', repository: REPOSITORY, status: 'updates', changes }] }).images[0]!;
    const body = issueBody(image);
    expect(body.length).toBeLessThan(65_536);
    expect(body).toContain('libpackage-with-a-long-name999 |');
    expect(body).toContain('800 more changes');
    expect(jobSummary([image])).toContain('libpackage-with-a-long-name998 |');
  });
});

describe('job summary', () => {
  it('says up to date, or lists the changes', () => {
    const s = jobSummary(parse(securityUpdates).images);
    expect(s).toContain('### static: up to date');
    expect(s).toContain('| libc6 | 2.36-9+deb12u7 | 2.36-9+deb12u9 | bookworm-security | **yes** |');
  });
});
