/**
 * `imgfactory report`: tell GitHub what the check (and the publish) found. Reads the open
 * imgfactory issues once, then opens, edits or closes one issue per image (issue-plan.ts
 * decides), and appends the job summary. A dry run sends nothing: it returns the requests
 * it would send, with `{issue_number}` where the number depends on what is open.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { GithubError } from '../errors.js';
import { mergeCheckReports, parseCheckReportFile, type CheckReport } from './check-report.js';
import type { GithubClient } from './client.js';
import {
  findIssue,
  ISSUE_LABEL,
  issueIntents,
  requestPath,
  requestsFor,
  type IssueAction,
  type OpenIssue,
  type PlannedRequest,
  type Repository,
} from './issue-plan.js';
import { jobSummary } from './markdown.js';

/** Read and merge check report files (later files fill in or override earlier entries). */
export async function readCheckReports(files: readonly string[]): Promise<CheckReport> {
  const parsed = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (cause) {
      throw new GithubError('CHECK_REPORT_INVALID', `${file}: cannot read it (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, {
        details: { source: file },
      });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new GithubError('CHECK_REPORT_INVALID', `${file}: not JSON`, { details: { source: file } });
    }
    parsed.push(parseCheckReportFile(value, file));
  }
  return mergeCheckReports(parsed);
}

export interface SentRequest {
  readonly method: string;
  readonly path: string;
  readonly body: Readonly<Record<string, unknown>>;
  /** Dry run only: the condition under which the request would be sent. */
  readonly when?: string;
}

export interface ImageOutcome {
  readonly name: string;
  readonly repository: string;
  readonly status: string;
  readonly action: IssueAction;
  readonly issue?: number;
}

export interface ReportResult {
  readonly repository: string;
  readonly dryRun: boolean;
  readonly images: readonly ImageOutcome[];
  /** The requests sent (or, in a dry run, that would be sent). */
  readonly requests: readonly SentRequest[];
  /** Where the job summary was appended; undefined when no summary file was given. */
  readonly summaryFile?: string;
  /** The summary's Markdown. */
  readonly summary: string;
}

export interface ReportOptions {
  readonly report: CheckReport;
  readonly repository: Repository;
  /** Absent for a dry run. */
  readonly client?: GithubClient;
  readonly dryRun: boolean;
  /** `$GITHUB_STEP_SUMMARY`: appended to, as Actions expects (other steps write there too). */
  readonly summaryFile?: string;
  readonly signal?: AbortSignal;
  readonly progress?: (line: string) => void;
}

async function listOpenIssues(client: GithubClient, repository: Repository, signal?: AbortSignal): Promise<OpenIssue[]> {
  const issues = await client.paginate('GET /repos/{owner}/{repo}/issues', {
    ...repository,
    state: 'open',
    labels: ISSUE_LABEL,
    per_page: 100,
    ...(signal === undefined ? {} : { request: { signal } }),
  });
  return issues.map((i) => ({ number: i.number, body: i.body ?? null, ...(i.pull_request === undefined ? {} : { pull_request: i.pull_request }) }));
}

async function send(
  client: GithubClient,
  repository: Repository,
  request: PlannedRequest,
  signal?: AbortSignal,
): Promise<{ number?: number; labels?: unknown }> {
  // The route is one of three; its parameters were built by requestsFor, typed there.
  const route: string = request.route;
  const response = await client.request(route, {
    ...repository,
    ...(request.issueNumber === undefined ? {} : { issue_number: request.issueNumber }),
    ...request.body,
    ...(signal === undefined ? {} : { request: { signal } }),
  });
  return response.data as { number?: number; labels?: unknown };
}

function labelNames(labels: unknown): string[] {
  if (!Array.isArray(labels)) return [];
  return labels.map((l) => (typeof l === 'string' ? l : String((l as { name?: unknown }).name ?? '')));
}

export async function reportToGithub(options: ReportOptions): Promise<ReportResult> {
  const { report, repository, dryRun } = options;
  const repoName = `${repository.owner}/${repository.repo}`;
  const summary = jobSummary(report.images);
  const intents = issueIntents(report);
  const sent: SentRequest[] = [];
  const outcomes = new Map<string, ImageOutcome>();
  for (const image of report.images) outcomes.set(image.name, { name: image.name, repository: image.repository, status: image.status, action: 'none' });

  if (dryRun) {
    if (intents.length > 0) {
      sent.push({
        method: 'GET',
        path: `/repos/${repository.owner}/${repository.repo}/issues?state=open&labels=${ISSUE_LABEL}&per_page=100`,
        body: {},
        when: 'always, following the link header to every page',
      });
    }
    for (const intent of intents) {
      const marked = `an open issue starts with the marker of ${intent.image.repository}`;
      for (const r of requestsFor(intent, undefined).requests) sent.push({ ...requestPath(r, repository), body: r.body, when: `no ${marked.slice(3)}` });
      // The number is only known once the issues are listed: the path keeps `{issue_number}`.
      for (const r of requestsFor(intent, 0).requests) {
        sent.push({ ...requestPath({ route: r.route, body: r.body }, repository), body: r.body, when: marked });
      }
    }
    return { repository: repoName, dryRun, images: [...outcomes.values()], requests: sent, summary };
  }

  const client = options.client;
  if (intents.length > 0 && client === undefined) {
    throw new GithubError('GITHUB_TOKEN_MISSING', 'no GitHub token: set GITHUB_TOKEN (or use --dry-run)');
  }
  // The summary first: it is local, so a failure to write it stops the report before anything
  // is sent, and a GitHub failure afterwards still leaves the run's summary in place.
  if (options.summaryFile !== undefined) {
    try {
      await appendFile(options.summaryFile, summary);
    } catch (cause) {
      throw new GithubError('SUMMARY_UNWRITABLE', `job summary ${options.summaryFile}: cannot append (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, {
        details: { file: options.summaryFile },
      });
    }
  }

  if (intents.length > 0 && client !== undefined) {
    options.progress?.(`github: reading open "${ISSUE_LABEL}" issues of ${repoName}`);
    const open = await listOpenIssues(client, repository, options.signal);
    for (const intent of intents) {
      const existing = findIssue(open, intent.image.repository);
      const { action, requests } = requestsFor(intent, existing);
      let number = existing;
      for (const request of requests) {
        const data = await send(client, repository, request, options.signal);
        sent.push({ ...requestPath(request, repository), body: request.body });
        if (request.issueNumber === undefined && typeof data.number === 'number') {
          number = data.number;
          // Without the label the next run would not find this issue and would open another.
          if (!labelNames(data.labels).includes(ISSUE_LABEL)) {
            throw new GithubError(
              'GITHUB_LABEL_NOT_SET',
              `issue #${data.number} was opened without the "${ISSUE_LABEL}" label (the token may lack permission to label); the next run could not find it`,
              { details: { issue: data.number } },
            );
          }
        }
      }
      if (action !== 'none') options.progress?.(`github: ${intent.image.name}: issue #${number} ${action}`);
      outcomes.set(intent.image.name, { ...outcomes.get(intent.image.name)!, action, ...(number === undefined ? {} : { issue: number }) });
    }
  }

  return {
    repository: repoName,
    dryRun,
    images: [...outcomes.values()],
    requests: sent,
    summary,
    ...(options.summaryFile === undefined ? {} : { summaryFile: options.summaryFile }),
  };
}
