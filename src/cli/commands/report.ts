import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { createGithubClient, DEFAULT_API_URL } from '../../github/client.js';
import type { CheckReport } from '../../github/check-report.js';
import { parseRepository, type Repository } from '../../github/issue-plan.js';
import { readCheckReports, reportToGithub } from '../../github/report.js';
import { boolOpt, listOpt, printJson, stringOpt, type Command, type CommandContext } from '../command.js';
import { abortOnSignals } from '../abort-signals.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'Report a check to GitHub: an issue per image that needs attention, and the job summary',
  help: `Usage: imgfactory report --from <check.json>... [--repo owner/name] [--dry-run] [--json]

Reads the report of \`imgfactory check --json\` and tells GitHub about it:
  - one issue per image that has pending security updates or whose rebuild failed, found
    again by a hidden marker on its first line and edited in place, never opened twice;
  - the issue is closed, with a comment naming the new digest, once a rebuild is published
    (an entry with status "up-to-date" and a newDigest), or with a short comment when the
    image is up to date again without one (a failed check that passes again);
  - the job summary ($GITHUB_STEP_SUMMARY, appended): per image up to date, or the package
    changes, the new digest, the version tag and the rollback command.

--from may be repeated: entries are matched by image name, and a later file fills in or
overrides the fields of an earlier one (the check's report first, then one file per
published image with its newDigest, versionTag and rollback).

Options:
  --from <file>     check report JSON (repeatable)
  --repo <o/name>   the GitHub repository (default: $GITHUB_REPOSITORY)
  --dry-run         print the requests it would send (method, path, body); send nothing,
                    write no summary; no token needed
  --json            print the outcome per image and the requests as JSON

Environment: GITHUB_TOKEN (needs issues: write), GITHUB_API_URL (default ${DEFAULT_API_URL};
GitHub Enterprise: https://<host>/api/v3), GITHUB_REPOSITORY, GITHUB_STEP_SUMMARY.

Exit status: 0 reported; 2 no token, no repository or an invalid report; 5 the GitHub API
refused or could not be reached (including a rate limit that asks to wait too long);
130 interrupted.`,
  options: {
    from: { type: 'string', multiple: true },
    repo: { type: 'string' },
    'dry-run': { type: 'boolean' },
  },
  async run(ctx) {
    const files = listOpt(ctx, 'from');
    if (files.length === 0) throw new UsageError('MISSING_ARGUMENT', 'report: give at least one --from <check.json>');
    const dryRun = boolOpt(ctx, 'dry-run');
    const repository = parseRepository(stringOpt(ctx, 'repo') ?? ctx.env.GITHUB_REPOSITORY);
    const report = await readCheckReports(files.map((f) => resolve(ctx.cwd, f)));
    const { signal, dispose } = abortOnSignals(ctx.io);
    try {
      return await send(ctx, { dryRun, repository, report, signal });
    } finally {
      dispose();
    }
  },
};

async function send(
  ctx: CommandContext,
  { dryRun, repository, report, signal }: { dryRun: boolean; repository: Repository; report: CheckReport; signal: AbortSignal },
): Promise<number> {
  const token = ctx.env.GITHUB_TOKEN;
  const baseUrl = ctx.env.GITHUB_API_URL || DEFAULT_API_URL;
  if (!/^https?:\/\/[^/\s]+/.test(baseUrl)) throw new UsageError('BAD_OPTION', `GITHUB_API_URL: expected an http(s) URL, got "${baseUrl}"`);
  const progress = (line: string) => ctx.io.err(line);
  const client =
    dryRun || token === undefined || token === ''
      ? undefined
      : createGithubClient({
          token,
          baseUrl,
          progress,
          signal,
          ...(ctx.values.debug === true ? { debug: progress } : {}),
        });
  const summaryFile = ctx.env.GITHUB_STEP_SUMMARY;
  const result = await reportToGithub({
    report,
    repository,
    dryRun,
    progress,
    signal,
    ...(client === undefined ? {} : { client }),
    ...(dryRun || !summaryFile ? {} : { summaryFile }),
  });
  if (ctx.json) {
    printJson(ctx.io, result);
    return 0;
  }
  if (dryRun) {
    ctx.io.out(`dry run: nothing sent to ${result.repository}`);
    for (const r of result.requests) {
      ctx.io.out(`${r.method} ${r.path}${r.when === undefined ? '' : `   (when ${r.when})`}`);
      if (Object.keys(r.body).length > 0) ctx.io.out(JSON.stringify(r.body, null, 2));
    }
    ctx.io.out(`job summary${summaryFile ? ` (would be appended to ${summaryFile})` : ''}:`);
    ctx.io.out(result.summary);
    return 0;
  }
  for (const image of result.images) {
    const issue = image.issue === undefined ? '' : ` issue #${image.issue}`;
    ctx.io.out(`${image.name}: ${image.status}${image.action === 'none' ? '' : `,${issue} ${image.action}`}`);
  }
  if (result.summaryFile === undefined) ctx.io.err('GITHUB_STEP_SUMMARY is not set: no job summary written');
  return 0;
}
