/**
 * Prints one plain closing line, `Tests: N passed, N failed, N skipped`, after vitest's own
 * summary: a form CI systems read without knowing vitest.
 */
import type { Reporter } from 'vitest/reporters';

interface TaskLike {
  readonly type: string;
  readonly mode?: string;
  readonly result?: { readonly state?: string };
  readonly tasks?: readonly TaskLike[];
}

function count(tasks: readonly TaskLike[], totals: { passed: number; failed: number; skipped: number }): void {
  for (const t of tasks) {
    if (t.tasks) count(t.tasks, totals);
    if (t.type !== 'test') continue;
    const state = t.result?.state;
    if (state === 'pass') totals.passed++;
    else if (state === 'fail') totals.failed++;
    else totals.skipped++;
  }
}

export default class SummaryReporter implements Reporter {
  onFinished(files: readonly TaskLike[] = [], errors: readonly unknown[] = []): void {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    count(files, totals);
    // A file that failed to load has no tests; count it as a failure so the line never hides it.
    const broken = files.filter((f) => f.result?.state === 'fail' && !(f.tasks ?? []).length).length + errors.length;
    process.stdout.write(`Tests: ${totals.passed} passed, ${totals.failed + broken} failed, ${totals.skipped} skipped\n`);
  }
}
