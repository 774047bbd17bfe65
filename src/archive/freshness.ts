/**
 * How old a signed Release may be. `Valid-Until` bounds a Release that carries it; one without
 * it (Debian's base suites and `-updates`) could be replayed forever, so a maximum age counted
 * from its `Date` applies to every Release, as apt's Acquire::Max-ValidTime does (the earlier
 * of the two limits wins). Pure.
 *
 * The default is generous on purpose: a stable release's base suite is re-signed only at point
 * releases, and not at all once the release moves to LTS, which lasts about two more years; a
 * shorter default would refuse supported releases. The `-security` suite carries a Valid-Until
 * of days, which is what catches a frozen mirror when updates are on. A build with
 * `updates: false` or a CI job that wants a tighter bound sets `--max-release-age`.
 */

/** 730 days: the longest a supported Debian release's base suite goes unsigned (LTS). */
export const DEFAULT_MAX_RELEASE_AGE_MS = 730 * 86_400_000;

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * `30d`, `12h`, `2w`, `90m`, `3600s`, or `never` (no maximum age). Returns milliseconds
 * (Infinity for `never`) or undefined when the text is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  if (text === 'never') return Infinity;
  const m = /^(\d{1,6})([smhdw])$/.exec(text);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  return ms > 0 ? ms : undefined;
}

/** When a Release stops being acceptable: the earlier of Valid-Until and Date + maximum age. */
export function releaseExpiry(date: Date, validUntil: Date | undefined, maxAgeMs: number): { at: Date; by: 'valid-until' | 'max-age' } | undefined {
  const byAge = Number.isFinite(maxAgeMs) ? new Date(date.getTime() + maxAgeMs) : undefined;
  if (validUntil && (!byAge || validUntil <= byAge)) return { at: validUntil, by: 'valid-until' };
  return byAge ? { at: byAge, by: 'max-age' } : undefined;
}
