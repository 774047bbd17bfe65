/**
 * A loopback stand-in for GitHub's REST API (node:http), for the endpoints `imgfactory report`
 * uses: list repository issues (paginated with a `link` header, filtered by state and labels),
 * create and update an issue, create an issue comment. Responses have the shapes of GitHub's
 * published OpenAPI description: they are typed with `@octokit/openapi-types`, which is
 * generated from it, so a missing required field fails the type check.
 *
 * State lives in memory. Every request is recorded (method, path with query, headers, body)
 * so tests assert on what was sent. `rateLimitNext` makes the next request answer 403 (or 429)
 * with rate-limit headers, once.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { components } from '@octokit/openapi-types';
import { afterAll } from 'vitest';

type Issue = components['schemas']['issue'];
type IssueComment = components['schemas']['issue-comment'];
type Label = components['schemas']['label'];
type SimpleUser = components['schemas']['simple-user'];
type BasicError = components['schemas']['basic-error'];

export interface RecordedRequest {
  readonly method: string;
  /** Path and query as sent, e.g. `/repos/o/r/issues?state=open&page=2`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
}

export interface RateLimitAnswer {
  readonly status?: 403 | 429;
  /** `retry-after` in seconds (secondary rate limit). */
  readonly retryAfter?: number;
  /** `x-ratelimit-reset` this many seconds from now, with `x-ratelimit-remaining: 0`. */
  readonly resetInSeconds?: number;
  /** Answer this many requests in a row with the limit (default 1). */
  readonly times?: number;
}

export interface GithubApiServer {
  /** The API base URL, as GITHUB_API_URL. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  readonly issues: Issue[];
  readonly comments: IssueComment[];
  /** Add an issue directly (no request recorded); returns it. */
  seedIssue(fields: { title: string; body?: string; labels?: string[]; state?: 'open' | 'closed'; pullRequest?: boolean }): Issue;
  rateLimitNext(answer: RateLimitAnswer): void;
  /** Leave the next request unanswered (a stalled API). */
  stallNext(): void;
  /** Requests other than the ones a test made directly, in order: `METHOD path`. */
  lines(): string[];
  close(): Promise<void>;
}

const servers: GithubApiServer[] = [];
afterAll(async () => {
  for (const s of servers.splice(0)) await s.close();
});

function user(base: string, login: string, id: number): SimpleUser {
  return {
    login,
    id,
    node_id: Buffer.from(`04:User${id}`).toString('base64'),
    avatar_url: `${base}/avatars/${login}`,
    gravatar_id: '',
    url: `${base}/users/${login}`,
    html_url: `${base}/${login}`,
    followers_url: `${base}/users/${login}/followers`,
    following_url: `${base}/users/${login}/following{/other_user}`,
    gists_url: `${base}/users/${login}/gists{/gist_id}`,
    starred_url: `${base}/users/${login}/starred{/owner}{/repo}`,
    subscriptions_url: `${base}/users/${login}/subscriptions`,
    organizations_url: `${base}/users/${login}/orgs`,
    repos_url: `${base}/users/${login}/repos`,
    events_url: `${base}/users/${login}/events{/privacy}`,
    received_events_url: `${base}/users/${login}/received_events`,
    type: 'Bot',
    site_admin: false,
  };
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'x-github-api-version-selected': '2022-11-28',
    'x-github-request-id': `LOOPBACK:${Math.random().toString(16).slice(2, 10)}`,
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': '4999',
    'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
    'x-ratelimit-used': '1',
    'x-ratelimit-resource': 'core',
    ...headers,
  });
  res.end(body);
}

function error(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const e: BasicError = { message, documentation_url: 'https://docs.github.com/rest', status: String(status) };
  sendJson(res, status, e, headers);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  if (chunks.length === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface GithubApiOptions {
  readonly token: string;
  readonly owner: string;
  readonly repo: string;
  /** Drop `labels` on issue creation, as GitHub does silently for a caller without push access. */
  readonly dropLabels?: boolean;
  /** Quote the request's Authorization header in error messages (a badly behaved proxy). */
  readonly echoCredentials?: boolean;
}

export async function startGithubApi(options: GithubApiOptions): Promise<GithubApiServer> {
  const requests: RecordedRequest[] = [];
  const issues: Issue[] = [];
  const comments: IssueComment[] = [];
  const labels = new Map<string, Label>();
  const pendingLimits: RateLimitAnswer[] = [];
  let stall = 0;
  let nextId = 1000;
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const stamp = () => new Date((clock += 1000)).toISOString();
  let base = '';
  const repoPath = `/repos/${options.owner}/${options.repo}`;
  const bot = () => user(base, 'github-actions[bot]', 41898282);

  const label = (name: string): Label => {
    let l = labels.get(name);
    if (!l) {
      const id = nextId++;
      l = {
        id,
        node_id: Buffer.from(`LA_${id}`).toString('base64'),
        url: `${base}${repoPath}/labels/${encodeURIComponent(name)}`,
        name,
        description: null,
        color: 'ededed',
        default: false,
      };
      labels.set(name, l);
    }
    return l;
  };

  const newIssue = (fields: { title: string; body?: string | null; labels?: string[]; state?: 'open' | 'closed'; pullRequest?: boolean }): Issue => {
    const number = issues.length + 1;
    const url = `${base}${repoPath}/issues/${number}`;
    const created = stamp();
    const issue: Issue = {
      id: nextId++,
      node_id: Buffer.from(`I_${number}`).toString('base64'),
      url,
      repository_url: `${base}${repoPath}`,
      labels_url: `${url}/labels{/name}`,
      comments_url: `${url}/comments`,
      events_url: `${url}/events`,
      html_url: `http://github.invalid/${options.owner}/${options.repo}/issues/${number}`,
      number,
      state: fields.state ?? 'open',
      state_reason: fields.state === 'closed' ? 'completed' : null,
      title: fields.title,
      body: fields.body ?? null,
      user: bot(),
      labels: (fields.labels ?? []).map(label),
      assignee: null,
      assignees: [],
      milestone: null,
      locked: false,
      active_lock_reason: null,
      comments: 0,
      closed_at: fields.state === 'closed' ? created : null,
      created_at: created,
      updated_at: created,
      author_association: 'NONE',
      ...(fields.pullRequest
        ? { pull_request: { url: `${base}${repoPath}/pulls/${number}`, html_url: null, diff_url: null, patch_url: null, merged_at: null } }
        : {}),
    };
    issues.push(issue);
    return issue;
  };

  const labelName = (l: Issue['labels'][number]) => (typeof l === 'string' ? l : l.name);

  const listIssues = (res: ServerResponse, url: URL) => {
    const state = url.searchParams.get('state') ?? 'open';
    const wanted = (url.searchParams.get('labels') ?? '').split(',').filter((s) => s !== '');
    const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? '30')));
    const page = Math.max(1, Number(url.searchParams.get('page') ?? '1'));
    const direction = url.searchParams.get('direction') ?? 'desc';
    const matching = issues
      .filter((i) => state === 'all' || i.state === state)
      .filter((i) => wanted.every((w) => i.labels.some((l) => labelName(l) === w)))
      .sort((a, b) => (direction === 'asc' ? a.number - b.number : b.number - a.number));
    const lastPage = Math.max(1, Math.ceil(matching.length / perPage));
    const pageUrl = (p: number) => {
      const u = new URL(url.href);
      u.searchParams.set('page', String(p));
      return `<${base}${u.pathname}${u.search}>`;
    };
    const links: string[] = [];
    if (page > 1) links.push(`${pageUrl(page - 1)}; rel="prev"`);
    if (page < lastPage) links.push(`${pageUrl(page + 1)}; rel="next"`, `${pageUrl(lastPage)}; rel="last"`);
    if (page > 1) links.push(`${pageUrl(1)}; rel="first"`);
    sendJson(res, 200, matching.slice((page - 1) * perPage, page * perPage), links.length > 0 ? { link: links.join(', ') } : {});
  };

  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://loopback');
      requests.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, headers: { ...req.headers }, body });

      if (stall > 0) {
        stall -= 1;
        return; // no answer; closeAllConnections ends it
      }
      const limit = pendingLimits[0];
      if (limit) {
        if ((limit.times ?? 1) <= 1) pendingLimits.shift();
        else pendingLimits[0] = { ...limit, times: (limit.times ?? 1) - 1 };
        const headers: Record<string, string> = { 'x-ratelimit-remaining': '0', 'x-ratelimit-used': '5000' };
        if (limit.retryAfter !== undefined) headers['retry-after'] = String(limit.retryAfter);
        headers['x-ratelimit-reset'] = String(Math.floor(Date.now() / 1000) + (limit.resetInSeconds ?? 3600));
        if (limit.resetInSeconds === undefined) headers['x-ratelimit-remaining'] = '10';
        error(res, limit.status ?? 403, 'API rate limit exceeded for installation. (loopback)', headers);
        return;
      }

      const auth = req.headers.authorization ?? '';
      const echo = options.echoCredentials ? ` (you sent "${auth}")` : '';
      if (auth !== `token ${options.token}` && auth !== `Bearer ${options.token}`) {
        error(res, 401, `Bad credentials${echo}`);
        return;
      }
      if (!url.pathname.startsWith(`${repoPath}/`) && url.pathname !== repoPath) {
        error(res, 404, `Not Found${echo}`);
        return;
      }
      const rest = url.pathname.slice(repoPath.length);
      const input = (body ?? {}) as Record<string, unknown>;
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && rest === '/issues') return listIssues(res, url);
      if (req.method === 'POST' && rest === '/issues') {
        if (typeof input.title !== 'string' || input.title === '') return error(res, 422, 'Invalid request.\n\n"title" wasn\'t supplied.');
        const issue = newIssue({
          title: input.title,
          body: typeof input.body === 'string' ? input.body : null,
          labels: Array.isArray(input.labels) && !options.dropLabels ? input.labels.map(String) : [],
        });
        return sendJson(res, 201, issue, { location: issue.url });
      }
      if ((m = /^\/issues\/(\d+)$/.exec(rest)) && req.method === 'PATCH') {
        const issue = issues.find((i) => i.number === Number(m![1]));
        if (!issue) return error(res, 404, 'Not Found');
        if (typeof input.title === 'string') issue.title = input.title;
        if (typeof input.body === 'string' || input.body === null) issue.body = input.body as string | null;
        if (Array.isArray(input.labels)) issue.labels = input.labels.map((l) => label(String(l)));
        if (input.state === 'closed' || input.state === 'open') {
          if (input.state === 'closed' && issue.state !== 'closed') {
            issue.closed_at = stamp();
            issue.closed_by = bot();
          }
          if (input.state === 'open') issue.closed_at = null;
          issue.state = input.state;
          issue.state_reason = input.state === 'closed' ? ((input.state_reason as Issue['state_reason']) ?? 'completed') : 'reopened';
        }
        issue.updated_at = stamp();
        return sendJson(res, 200, issue);
      }
      if ((m = /^\/issues\/(\d+)\/comments$/.exec(rest)) && req.method === 'POST') {
        const issue = issues.find((i) => i.number === Number(m![1]));
        if (!issue) return error(res, 404, 'Not Found');
        if (typeof input.body !== 'string' || input.body === '') return error(res, 422, 'Invalid request.\n\n"body" wasn\'t supplied.');
        const id = nextId++;
        const created = stamp();
        const comment: IssueComment = {
          id,
          node_id: Buffer.from(`IC_${id}`).toString('base64'),
          url: `${base}${repoPath}/issues/comments/${id}`,
          html_url: `${issue.html_url}#issuecomment-${id}`,
          body: input.body,
          user: bot(),
          created_at: created,
          updated_at: created,
          issue_url: issue.url,
          author_association: 'NONE',
        };
        comments.push(comment);
        issue.comments += 1;
        return sendJson(res, 201, comment);
      }
      error(res, 404, 'Not Found');
    })().catch((e: unknown) => {
      res.statusCode = 500;
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const api: GithubApiServer = {
    url: base,
    requests,
    issues,
    comments,
    seedIssue: (fields) => newIssue(fields),
    rateLimitNext: (answer) => pendingLimits.push(answer),
    stallNext: () => {
      stall += 1;
    },
    lines: () => requests.map((r) => `${r.method} ${r.path}`),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(api);
  return api;
}
