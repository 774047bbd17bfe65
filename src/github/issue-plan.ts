/**
 * What the report does on GitHub, decided from the check report and the open issues alone.
 * Pure: the I/O shell (report.ts) lists the issues, calls these functions, and sends the
 * requests they return; `--dry-run` prints the same requests instead.
 *
 * Routes (and why these): the open issues are read with "list repository issues"
 * (`GET /repos/{owner}/{repo}/issues?state=open&labels=imgfactory`), paginated through the
 * `link` header. It counts against the core REST rate limit, not the search API's much
 * smaller one, and it reads the issues themselves, whereas the search index lags behind: an
 * issue opened a moment ago may not be found yet, and the next run would open a duplicate.
 * The label only narrows the pages read; the hidden marker (issueMarker) decides.
 */
import { GithubError } from '../errors.js';
import { securityChanges, type CheckReport, type ImageReport } from './check-report.js';
import { closingComment, hasMarker, issueBody, issueTitle } from './markdown.js';

/** The label every imgfactory issue carries. */
export const ISSUE_LABEL = 'imgfactory';

export interface Repository {
  readonly owner: string;
  readonly repo: string;
}

/** `owner/name`, as GITHUB_REPOSITORY spells it. */
export function parseRepository(value: string | undefined): Repository {
  const m = value === undefined ? null : /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/.exec(value);
  if (!m || m[2] === '.' || m[2] === '..') {
    throw new GithubError(
      'GITHUB_REPOSITORY_INVALID',
      value === undefined || value === '' ? 'no repository: pass --repo owner/name or set GITHUB_REPOSITORY' : `repository "${value}": expected owner/name`,
    );
  }
  return { owner: m[1]!, repo: m[2]! };
}

/** The subset of GitHub's issue object that the plan reads. */
export interface OpenIssue {
  readonly number: number;
  readonly body?: string | null;
  readonly pull_request?: unknown;
}

export type IssueIntent =
  /** Open the image's issue, or edit it in place when one is open. */
  | { readonly kind: 'open-or-update'; readonly image: ImageReport }
  /** Edit the issue if one is open; do not open one (updates, but none of them security). */
  | { readonly kind: 'update-if-open'; readonly image: ImageReport }
  /**
   * Up to date: comment and close the open issue. With a new digest a rebuild was published;
   * without, the failure or the updates went away (a check that failed once passes again).
   */
  | { readonly kind: 'close-if-open'; readonly image: ImageReport };

export function issueIntents(report: CheckReport): IssueIntent[] {
  const intents: IssueIntent[] = [];
  for (const image of report.images) {
    if (image.status === 'failed' || (image.status === 'updates' && securityChanges(image).length > 0)) {
      intents.push({ kind: 'open-or-update', image });
    } else if (image.status === 'updates') {
      intents.push({ kind: 'update-if-open', image });
    } else {
      intents.push({ kind: 'close-if-open', image });
    }
  }
  return intents;
}

/** The open issue that carries the image's marker; the oldest one if a person copied it. */
export function findIssue(issues: readonly OpenIssue[], repository: string): number | undefined {
  const numbers = issues.filter((i) => i.pull_request === undefined && hasMarker(i.body, repository)).map((i) => i.number);
  return numbers.length === 0 ? undefined : Math.min(...numbers);
}

/** One REST call: an octokit route with its parameters (owner and repo filled in on sending). */
export interface PlannedRequest {
  readonly route:
    'POST /repos/{owner}/{repo}/issues' | 'PATCH /repos/{owner}/{repo}/issues/{issue_number}' | 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments';
  readonly issueNumber?: number;
  readonly body: Readonly<Record<string, unknown>>;
}

export type IssueAction = 'created' | 'updated' | 'closed' | 'none';

/** The requests for one intent, given the number of the image's open issue (if any). */
export function requestsFor(intent: IssueIntent, issueNumber: number | undefined): { action: IssueAction; requests: PlannedRequest[] } {
  const { image } = intent;
  if (issueNumber === undefined) {
    if (intent.kind !== 'open-or-update') return { action: 'none', requests: [] };
    return {
      action: 'created',
      requests: [{ route: 'POST /repos/{owner}/{repo}/issues', body: { title: issueTitle(image), body: issueBody(image), labels: [ISSUE_LABEL] } }],
    };
  }
  if (intent.kind === 'close-if-open') {
    return {
      action: 'closed',
      requests: [
        { route: 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments', issueNumber, body: { body: closingComment(intent.image) } },
        { route: 'PATCH /repos/{owner}/{repo}/issues/{issue_number}', issueNumber, body: { state: 'closed', state_reason: 'completed' } },
      ],
    };
  }
  return {
    action: 'updated',
    requests: [{ route: 'PATCH /repos/{owner}/{repo}/issues/{issue_number}', issueNumber, body: { title: issueTitle(image), body: issueBody(image) } }],
  };
}

/** `POST /repos/o/r/issues/7/comments`: the route with its path parameters filled in. */
export function requestPath(request: PlannedRequest, repository: Repository): { method: string; path: string } {
  const [method, template] = request.route.split(' ') as [string, string];
  const path = template
    .replace('{owner}', encodeURIComponent(repository.owner))
    .replace('{repo}', encodeURIComponent(repository.repo))
    .replace('{issue_number}', request.issueNumber === undefined ? '{issue_number}' : String(request.issueNumber));
  return { method, path };
}
