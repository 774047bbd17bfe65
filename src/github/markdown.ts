/**
 * The Markdown imgfactory writes to GitHub: issue titles and bodies, the closing comment and
 * the job summary. Pure: strings in, strings out. Values come from a parsed check report
 * whose patterns already exclude `|`, backticks and newlines from table cells; free text
 * (an error message) goes into a code block fenced longer than any backtick run inside it.
 */
import { securityChanges, type ImageReport, type PackageChange } from './check-report.js';

/**
 * The hidden marker that finds an image's issue again. It is the body's first line: a marker
 * quoted further down (say, inside another image's error text) never counts.
 */
export function issueMarker(repository: string): string {
  return `<!-- imgfactory:image=${repository} -->`;
}

export function hasMarker(body: string | null | undefined, repository: string): boolean {
  if (!body) return false;
  const firstLine = body.split(/\r?\n/, 1)[0]!;
  return firstLine.trim() === issueMarker(repository);
}

function codeBlock(text: string, lang = ''): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}${lang}\n${text}\n${fence}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * GitHub refuses an issue or comment body over 65,536 characters; a point release can change
 * hundreds of packages. Issues show this many rows, security ones first; the summary shows all.
 */
export const ISSUE_TABLE_ROWS = 200;

export function changeTable(changes: readonly PackageChange[], maxRows = Number.POSITIVE_INFINITY): string {
  const ordered = Number.isFinite(maxRows) ? [...changes.filter((c) => c.security), ...changes.filter((c) => !c.security)] : [...changes];
  const rows = ordered
    .slice(0, maxRows)
    .map((c) => `| ${c.name} | ${c.from ?? '(new)'} | ${c.to ?? '(removed)'} | ${c.suite} | ${c.security ? '**yes**' : 'no'} |`);
  const more = ordered.length - rows.length;
  return [
    '| package | installed | available | suite | security |',
    '|---|---|---|---|---|',
    ...rows,
    ...(more > 0 ? ['', `…and ${plural(more, 'more change')} (see the job summary).`] : []),
  ].join('\n');
}

/** One line: what state the image is in. */
export function statusLine(image: ImageReport): string {
  switch (image.status) {
    case 'up-to-date':
      return image.newDigest === undefined ? 'up to date' : 'rebuilt and published';
    case 'updates': {
      const security = securityChanges(image).length;
      return `${plural(image.changes.length, 'update')}, ${security} security`;
    }
    case 'failed':
      return 'check or rebuild failed';
  }
}

export function issueTitle(image: ImageReport): string {
  if (image.status === 'failed') return `imgfactory: ${image.name}: rebuild failed`;
  const security = securityChanges(image).length;
  return `imgfactory: ${image.name}: ${plural(security, 'pending security update')}`;
}

function publishedLines(image: ImageReport): string[] {
  const lines: string[] = [];
  if (image.newDigest !== undefined) lines.push(`New digest: \`${image.repository}@${image.newDigest}\``);
  if (image.versionTag !== undefined) lines.push(`Version tag: \`${image.repository}:${image.versionTag}\``);
  if (image.rollback !== undefined) lines.push('', 'To go back to the previous version:', '', codeBlock(image.rollback, 'sh'));
  return lines;
}

export function issueBody(image: ImageReport): string {
  const lines = [issueMarker(image.repository), ''];
  if (image.status === 'failed') {
    lines.push(`The last check or rebuild of **${image.name}** (\`${image.repository}\`) failed.`);
    if (image.error !== undefined) lines.push('', codeBlock(image.error, 'text'));
  } else {
    const security = securityChanges(image).length;
    lines.push(`**${image.name}** (\`${image.repository}\`) has ${plural(image.changes.length, 'pending update')}, ${security} of them security.`);
  }
  if (image.changes.length > 0) lines.push('', changeTable(image.changes, ISSUE_TABLE_ROWS));
  lines.push('', '_Kept up to date by `imgfactory report`; closed when a rebuild is published. Keep the first line: it is how the next run finds this issue._');
  return lines.join('\n');
}

/** The comment posted when the issue is closed: the published rebuild, or why it is no longer needed. */
export function closingComment(image: ImageReport): string {
  if (image.newDigest === undefined) return `**${image.name}** is up to date: nothing pending and nothing failing any more.`;
  return [`Rebuilt and published **${image.name}**.`, '', ...publishedLines(image)].join('\n');
}

/** The job summary section for all images (appended to $GITHUB_STEP_SUMMARY). */
export function jobSummary(images: readonly ImageReport[]): string {
  const lines = ['## imgfactory: image status', ''];
  for (const image of images) {
    lines.push(`### ${image.name}: ${statusLine(image)}`, '', `Repository: \`${image.repository}\``);
    if (image.status === 'failed' && image.error !== undefined) lines.push('', codeBlock(image.error, 'text'));
    if (image.changes.length > 0) lines.push('', changeTable(image.changes));
    const published = publishedLines(image);
    if (published.length > 0) lines.push('', ...published);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
