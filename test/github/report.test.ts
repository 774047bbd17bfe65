/**
 * `imgfactory report` against a loopback stand-in for GitHub's REST API that speaks its wire
 * format (test/helpers/github-api.ts). Assertions are on the requests the server received and
 * on its state, and on exit statuses and error codes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { createGithubClient } from '../../src/github/client.js';
import { issueMarker } from '../../src/github/markdown.js';
import { readCheckReports, reportToGithub } from '../../src/github/report.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { startGithubApi, type GithubApiServer } from '../helpers/github-api.js';
import { tempDir } from '../helpers/tmp.js';
import { NEW_DIGEST, published, REPOSITORY, ROLLBACK, securityUpdates, writeReport } from './fixtures.js';

// Recognisable, so that any leak into output is found by a plain substring search.
const TOKEN = 'ghs_LEAKCANARY0123456789abcdefghijklmnopqrs';
const OWNER = 'acme';
const REPO = 'images';

let api: GithubApiServer;
let dir: string;
let summaryFile: string;
const printed: string[] = [];

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: api.url,
    GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
    GITHUB_STEP_SUMMARY: summaryFile,
    ...extra,
  };
}

async function report(args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<CliResult> {
  const r = await runCli(['report', ...args], { cwd: dir, env: env(extraEnv) });
  printed.push(r.stdout, r.stderr);
  return r;
}

function writes(): string[] {
  return api.lines().filter((l) => !l.startsWith('GET '));
}

beforeEach(async () => {
  api = await startGithubApi({ token: TOKEN, owner: OWNER, repo: REPO });
  dir = await tempDir('imgfactory-report-test-');
  summaryFile = join(dir, 'step-summary.md');
  await writeFile(summaryFile, '');
});

describe('imgfactory report', () => {
  it('opens one issue for pending security updates, then edits it in place on the next run', async () => {
    const check = await writeReport(dir, 'check.json', securityUpdates);
    const first = await report(['--from', check]);
    expect(first.status).toBe(0);
    expect(writes()).toEqual([`POST /repos/${OWNER}/${REPO}/issues`]);
    const create = api.requests.find((r) => r.method === 'POST')!;
    expect(create.headers.authorization).toBe(`token ${TOKEN}`);
    const sent = create.body as { title: string; body: string; labels: string[] };
    expect(sent.labels).toEqual(['imgfactory']);
    expect(sent.body.split('\n')[0]).toBe(issueMarker(REPOSITORY));
    expect(sent.body).toContain('| libc6 | 2.36-9+deb12u7 | 2.36-9+deb12u9 | bookworm-security | **yes** |');
    // static is up to date: no issue for it.
    expect(api.issues).toHaveLength(1);

    api.requests.length = 0;
    const second = await report(['--from', check]);
    expect(second.status).toBe(0);
    expect(api.lines()[0]).toMatch(new RegExp(`^GET /repos/${OWNER}/${REPO}/issues\\?`));
    const listQuery = new URL(api.requests[0]!.path, 'http://x').searchParams;
    expect(listQuery.get('state')).toBe('open');
    expect(listQuery.get('labels')).toBe('imgfactory');
    expect(writes()).toEqual([`PATCH /repos/${OWNER}/${REPO}/issues/1`]);
    expect(api.issues).toHaveLength(1);
    expect(api.issues[0]!.state).toBe('open');
    expect(second.stdout).toMatch(/debian-minimal: updates, issue #1 updated/);
  });

  it('a failed rebuild opens an issue with the error; a later failure edits the same issue', async () => {
    const failed = (error: string) => ({ images: [{ name: 'python3', repository: 'registry.test:5000/base/python3', status: 'failed', error }] });
    expect((await report(['--from', await writeReport(dir, 'a.json', failed('debootstrap exited 1'))])).status).toBe(0);
    expect((await report(['--from', await writeReport(dir, 'b.json', failed('apt exited 100 ``` oops'))])).status).toBe(0);
    expect(api.issues).toHaveLength(1);
    expect(api.issues[0]!.body).toContain('apt exited 100 ``` oops');
    expect(api.issues[0]!.body).toContain('````text'); // fenced longer than the backticks inside
    expect(writes()).toEqual([`POST /repos/${OWNER}/${REPO}/issues`, `PATCH /repos/${OWNER}/${REPO}/issues/1`]);
  });

  it('closes the issue with a comment naming the new digest once the rebuild is published', async () => {
    await report(['--from', await writeReport(dir, 'check.json', securityUpdates)]);
    api.requests.length = 0;
    const result = await report(['--from', await writeReport(dir, 'published.json', published)]);
    expect(result.status).toBe(0);
    expect(writes()).toEqual([`POST /repos/${OWNER}/${REPO}/issues/1/comments`, `PATCH /repos/${OWNER}/${REPO}/issues/1`]);
    expect(api.comments).toHaveLength(1);
    expect(api.comments[0]!.body).toContain(`${REPOSITORY}@${NEW_DIGEST}`);
    expect(api.comments[0]!.body).toContain(ROLLBACK);
    expect(api.issues[0]!.state).toBe('closed');
    expect(api.issues[0]!.state_reason).toBe('completed');

    // Published again (nothing open any more): nothing to close, nothing opened.
    api.requests.length = 0;
    expect((await report(['--from', join(dir, 'published.json')])).status).toBe(0);
    expect(writes()).toEqual([]);
  });

  it('closes a failure issue once the check passes again, without a rebuild', async () => {
    const failed = { images: [{ name: 'python3', repository: 'registry.test:5000/base/python3', status: 'failed', error: 'mirror timed out' }] };
    await report(['--from', await writeReport(dir, 'failed.json', failed)]);
    api.requests.length = 0;
    const passes = { images: [{ name: 'python3', repository: 'registry.test:5000/base/python3', status: 'up-to-date' }] };
    expect((await report(['--from', await writeReport(dir, 'passes.json', passes)])).status).toBe(0);
    expect(writes()).toEqual([`POST /repos/${OWNER}/${REPO}/issues/1/comments`, `PATCH /repos/${OWNER}/${REPO}/issues/1`]);
    expect(api.issues[0]!.state).toBe('closed');
  });

  it('merges --from files: the check first, then the publish of one image', async () => {
    const check = await writeReport(dir, 'check.json', securityUpdates);
    await report(['--from', check]);
    const fragment = await writeReport(dir, 'publish.json', {
      images: [{ name: 'debian-minimal', status: 'up-to-date', newDigest: NEW_DIGEST, versionTag: '12.0.0-20261202.1', rollback: ROLLBACK }],
    });
    await writeFile(summaryFile, '');
    expect((await report(['--from', check, '--from', fragment])).status).toBe(0);
    expect(api.issues[0]!.state).toBe('closed');
    const summary = await readFile(summaryFile, 'utf8');
    // The change table comes from the check, the digest from the publish.
    expect(summary).toContain('| libc6 | 2.36-9+deb12u7 | 2.36-9+deb12u9 | bookworm-security | **yes** |');
    expect(summary).toContain(NEW_DIGEST);
  });

  it('finds the marked issue on page 2 of the open issues', async () => {
    const marked = api.seedIssue({ title: 'old report', body: `${issueMarker(REPOSITORY)}\n\nold`, labels: ['imgfactory'] });
    // A pull request and an issue that only quotes the marker further down never count.
    api.seedIssue({ title: 'pr', body: issueMarker(REPOSITORY), labels: ['imgfactory'], pullRequest: true });
    api.seedIssue({ title: 'quote', body: `see:\n${issueMarker(REPOSITORY)}`, labels: ['imgfactory'] });
    for (let i = 0; i < 120; i++) api.seedIssue({ title: `other ${i}`, body: issueMarker(`registry.test:5000/other/${i}`), labels: ['imgfactory'] });
    expect((await report(['--from', await writeReport(dir, 'check.json', securityUpdates)])).status).toBe(0);
    const pages = api.lines().filter((l) => l.startsWith('GET '));
    expect(pages).toHaveLength(2);
    expect(new URL(pages[1]!.slice(4), 'http://x').searchParams.get('page')).toBe('2');
    expect(writes()).toEqual([`PATCH /repos/${OWNER}/${REPO}/issues/${marked.number}`]);
    expect(api.issues).toHaveLength(123);
  });

  it('waits out a 403 rate limit for the retry-after delay, then retries', async () => {
    api.rateLimitNext({ status: 403, retryAfter: 1 });
    const started = Date.now();
    const r = await report(['--from', await writeReport(dir, 'check.json', securityUpdates)]);
    expect(r.status).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(
      api
        .lines()
        .slice(0, 2)
        .map((l) => l.split('?')[0]),
    ).toEqual([`GET /repos/${OWNER}/${REPO}/issues`, `GET /repos/${OWNER}/${REPO}/issues`]);
    expect(api.issues).toHaveLength(1);
    expect(r.stderr).toMatch(/rate limited/);
  });

  it('waits until x-ratelimit-reset on a 429, then retries', async () => {
    api.rateLimitNext({ status: 429, resetInSeconds: 2 });
    const started = Date.now();
    const r = await report(['--from', await writeReport(dir, 'check.json', securityUpdates)]);
    expect(r.status).toBe(0);
    // The reset header has one-second resolution: two seconds ahead is more than one from now.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(api.requests).toHaveLength(3);
    expect(api.issues).toHaveLength(1);
  });

  it('gives up with GITHUB_RATE_LIMITED (exit 5) when the limit asks to wait too long', async () => {
    api.rateLimitNext({ status: 403, resetInSeconds: 3600 });
    const started = Date.now();
    const r = await report(['--from', await writeReport(dir, 'check.json', securityUpdates), '--debug']);
    expect(r.status).toBe(5);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.stderr).toContain('[GITHUB_RATE_LIMITED]');
    expect(writes()).toEqual([]);

    api.rateLimitNext({ status: 403, retryAfter: 1, times: 3 });
    const client = createGithubClient({ token: TOKEN, baseUrl: api.url, maxRateLimitRetries: 2 });
    const check = await readCheckReports([join(dir, 'check.json')]);
    await expect(reportToGithub({ report: check, repository: { owner: OWNER, repo: REPO }, client, dryRun: false })).rejects.toMatchObject({
      code: 'GITHUB_RATE_LIMITED',
      exitStatus: 5,
    });
  });

  it('writes the job summary even when GitHub then refuses', async () => {
    const r = await report(['--from', await writeReport(dir, 'check.json', securityUpdates)], { GITHUB_TOKEN: 'ghs_wrong' });
    expect(r.status).toBe(5);
    expect(await readFile(summaryFile, 'utf8')).toContain('### debian-minimal: 2 updates, 1 security');
  });

  it('appends the job summary: up to date, the change table, digest, version tag and rollback command', async () => {
    await writeFile(summaryFile, '## an earlier step\n');
    await report(['--from', await writeReport(dir, 'check.json', securityUpdates)]);
    await report(['--from', await writeReport(dir, 'published.json', published)]);
    const summary = await readFile(summaryFile, 'utf8');
    expect(summary.startsWith('## an earlier step\n')).toBe(true);
    expect(summary).toContain('### static: up to date');
    expect(summary).toContain('### debian-minimal: 2 updates, 1 security');
    expect(summary).toContain('| package | installed | available | suite | security |');
    expect(summary).toContain('| tzdata | 2024a-0+deb12u1 | 2025b-0+deb12u1 | bookworm-updates | no |');
    expect(summary).toContain('### debian-minimal: rebuilt and published');
    expect(summary).toContain(`New digest: \`${REPOSITORY}@${NEW_DIGEST}\``);
    expect(summary).toContain(`Version tag: \`${REPOSITORY}:12.0.0-20261202.1\``);
    expect(summary).toContain(`\`\`\`sh\n${ROLLBACK}\n\`\`\``);
  });

  it('--dry-run sends nothing and prints each request with method, path and body', async () => {
    const r = await report(['--from', await writeReport(dir, 'check.json', securityUpdates), '--dry-run', '--json'], { GITHUB_TOKEN: undefined });
    expect(r.status).toBe(0);
    expect(api.requests).toHaveLength(0);
    expect(await readFile(summaryFile, 'utf8')).toBe('');
    const out = JSON.parse(r.stdout) as { dryRun: boolean; requests: { method: string; path: string; body: { body?: string } }[] };
    expect(out.dryRun).toBe(true);
    expect(out.requests.map((q) => `${q.method} ${q.path.split('?')[0]}`)).toEqual([
      `GET /repos/${OWNER}/${REPO}/issues`,
      `POST /repos/${OWNER}/${REPO}/issues`,
      `PATCH /repos/${OWNER}/${REPO}/issues/{issue_number}`,
      // static is up to date: an issue of its, if one is open, would be closed.
      `POST /repos/${OWNER}/${REPO}/issues/{issue_number}/comments`,
      `PATCH /repos/${OWNER}/${REPO}/issues/{issue_number}`,
    ]);
    expect(out.requests[1]!.body.body).toContain(issueMarker(REPOSITORY));

    const human = await report(['--from', join(dir, 'check.json'), '--dry-run']);
    expect(human.status).toBe(0);
    expect(api.requests).toHaveLength(0);
    expect(human.stdout).toContain(`POST /repos/${OWNER}/${REPO}/issues`);
  });

  it('bad input is a one-line error with the documented exit status', async () => {
    const check = await writeReport(dir, 'check.json', securityUpdates);
    const noToken = await report(['--from', check], { GITHUB_TOKEN: undefined });
    expect(noToken.status).toBe(2);
    const noRepo = await report(['--from', check], { GITHUB_REPOSITORY: undefined });
    expect(noRepo.status).toBe(2);
    expect((await report(['--from', check, '--repo', 'not a repo'])).status).toBe(2);
    expect((await report([])).status).toBe(2);
    const bad = await writeReport(dir, 'bad.json', { images: [{ name: 'x', repository: REPOSITORY, status: 'stale' }] });
    const invalid = await report(['--from', bad]);
    expect(invalid.status).toBe(2);
    expect(invalid.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    await writeFile(join(dir, 'notjson.json'), '{');
    expect((await report(['--from', join(dir, 'notjson.json')])).status).toBe(2);
    expect((await report(['--from', join(dir, 'missing.json')])).status).toBe(2);
    // A Markdown-breaking value never reaches GitHub.
    const injected = structuredClone(securityUpdates);
    injected.images[0]!.changes[0]!.to = '1.0 | evil';
    expect((await report(['--from', await writeReport(dir, 'inj.json', injected)])).status).toBe(2);
    expect(api.requests).toHaveLength(0);

    const wrongToken = await report(['--from', check], { GITHUB_TOKEN: 'ghs_wrong' });
    expect(wrongToken.status).toBe(5);
    // Progress lines go to stderr too; the error itself is one line.
    expect(wrongToken.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    const notFound = await report(['--from', check, '--repo', 'acme/elsewhere']);
    expect(notFound.status).toBe(5);
    const closedPort = await report(['--from', check], { GITHUB_API_URL: 'http://127.0.0.1:9' });
    expect(closedPort.status).toBe(5);
    expect((await report(['--from', check], { GITHUB_API_URL: 'api.github.invalid' })).status).toBe(2);
    const before = api.requests.length;
    const unwritable = await report(['--from', check], { GITHUB_STEP_SUMMARY: join(dir, 'no-such-dir', 'summary.md') });
    expect(unwritable.status).toBe(2);
    expect(api.requests.length).toBe(before); // refused before anything was sent
  });

  it('a stalled API ends in GITHUB_UNREACHABLE after the request timeout, not a hung job', async () => {
    api.stallNext();
    const check = await readCheckReports([await writeReport(dir, 'check.json', securityUpdates)]);
    const client = createGithubClient({ token: TOKEN, baseUrl: api.url, requestTimeoutMs: 300 });
    const started = Date.now();
    await expect(reportToGithub({ report: check, repository: { owner: OWNER, repo: REPO }, client, dryRun: false })).rejects.toMatchObject({
      code: 'GITHUB_UNREACHABLE',
      exitStatus: 5,
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(writes()).toEqual([]);

    // Each try has its own timeout: a retry after a rate-limit wait longer than it still works.
    api.rateLimitNext({ status: 403, retryAfter: 1 });
    const patient = createGithubClient({ token: TOKEN, baseUrl: api.url, requestTimeoutMs: 500 });
    const done = await reportToGithub({ report: check, repository: { owner: OWNER, repo: REPO }, client: patient, dryRun: false });
    expect(done.images.find((i) => i.name === 'debian-minimal')!.action).toBe('created');
  });

  it('error codes reach library callers', async () => {
    const check = await readCheckReports([await writeReport(dir, 'check.json', securityUpdates)]);
    const run = (token: string, repo = REPO) =>
      reportToGithub({ report: check, repository: { owner: OWNER, repo }, client: createGithubClient({ token, baseUrl: api.url }), dryRun: false });
    await expect(run('ghs_wrong')).rejects.toMatchObject({ code: 'GITHUB_UNAUTHORIZED', exitStatus: 5 });
    await expect(run(TOKEN, 'elsewhere')).rejects.toMatchObject({ code: 'GITHUB_NOT_FOUND', exitStatus: 5 });
    await expect(reportToGithub({ report: check, repository: { owner: OWNER, repo: REPO }, dryRun: false })).rejects.toMatchObject({
      code: 'GITHUB_TOKEN_MISSING',
      exitStatus: 2,
    });
  });

  it('refuses to go on when GitHub drops the label (the next run could not find the issue)', async () => {
    await api.close();
    api = await startGithubApi({ token: TOKEN, owner: OWNER, repo: REPO, dropLabels: true });
    const r = await report(['--from', await writeReport(dir, 'check.json', securityUpdates), '--debug']);
    expect(r.status).toBe(5);
    expect(r.stderr).toContain('[GITHUB_LABEL_NOT_SET]');
  });

  it('an interrupt during a rate-limit wait stops at once with REPORT_INTERRUPTED (exit 130)', async () => {
    api.rateLimitNext({ status: 403, retryAfter: 30 });
    const controller = new AbortController();
    const check = await readCheckReports([await writeReport(dir, 'check.json', securityUpdates)]);
    const client = createGithubClient({ token: TOKEN, baseUrl: api.url, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('SIGINT')), 200);
    const started = Date.now();
    await expect(
      reportToGithub({ report: check, repository: { owner: OWNER, repo: REPO }, client, dryRun: false, signal: controller.signal }),
    ).rejects.toMatchObject({ code: 'REPORT_INTERRUPTED', exitStatus: 130 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(writes()).toEqual([]);
  });

  it('never prints the token, on success, on errors, or with --debug', async () => {
    const check = await writeReport(dir, 'check.json', securityUpdates);
    await report(['--from', check, '--debug']);
    await report(['--from', check, '--json', '--debug']);
    await report(['--from', check, '--dry-run', '--debug']);
    await report(['--from', await writeReport(dir, 'published.json', published), '--debug']);
    api.rateLimitNext({ status: 403, retryAfter: 1 });
    await report(['--from', check, '--debug']);
    api.rateLimitNext({ status: 403, resetInSeconds: 3600 });
    await report(['--from', check, '--debug']);
    await report(['--from', check, '--debug', '--repo', 'acme/elsewhere']);
    await report(['--from', check, '--debug'], { GITHUB_API_URL: 'http://127.0.0.1:9' });
    // A server (or proxy) that quotes the credentials back in its error message.
    await api.close();
    api = await startGithubApi({ token: TOKEN, owner: OWNER, repo: REPO, echoCredentials: true });
    const echoed = await report(['--from', check, '--debug', '--repo', 'acme/elsewhere']);
    expect(echoed.status).toBe(5);
    expect(echoed.stderr).toContain('you sent "token ***"');
    // The server saw the token (so it really was sent) ...
    expect(api.requests.some((r) => r.headers.authorization === `token ${TOKEN}`)).toBe(true);
    // ... and nothing printed, written to the summary or posted to GitHub contains it.
    const everything = [...printed, await readFile(summaryFile, 'utf8'), ...api.requests.map((r) => JSON.stringify(r.body ?? ''))].join('\n');
    expect(everything.length).toBeGreaterThan(1000);
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(TOKEN.slice(4, 20));
  });
});
