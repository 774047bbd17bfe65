/**
 * The GitHub Actions workflows are code too: parse them, and check that every `imgfactory
 * <command> --flag` they run exists in the CLI's command table, that the scheduled loop has
 * the shape the README promises (schedule, one concurrency group, least privilege, a quiet
 * day ends in the check job), and that every secret it reads is documented.
 * (actionlint is not packaged in Debian, so this test is the workflow's linter here.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { commands } from '../../src/cli/commands/index.js';
import { REPO_ROOT } from '../helpers/paths.js';

const WORKFLOWS = join(REPO_ROOT, '.github', 'workflows');
const GLOBAL_FLAGS = new Set(['--json', '--debug', '--help']);

/**
 * Commands and flags of the update-detection issue that other branches are adding right
 * now. The lead removes each entry once it is merged, so the check then covers it.
 */
const PENDING: Record<string, readonly string[]> = {
  check: ['--json'], // the whole `check` command
  plan: ['--changed'],
  build: ['--if-changed'],
};

interface Step {
  run?: string;
  env?: Record<string, string>;
  uses?: string;
}
interface Job {
  needs?: string | string[];
  if?: string;
  permissions?: Record<string, string>;
  outputs?: Record<string, string>;
  steps: Step[];
  strategy?: { matrix?: unknown };
}
interface Workflow {
  on: Record<string, unknown>;
  concurrency?: { group?: string; 'cancel-in-progress'?: boolean };
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

function load(file: string): Workflow {
  return parse(readFileSync(join(WORKFLOWS, file), 'utf8')) as Workflow;
}

/** `imgfactory <command> args…` invocations in a shell script, line continuations joined. */
export function invocations(script: string): { command: string; flags: string[] }[] {
  const names = [...commands.map((c) => c.name), ...Object.keys(PENDING)].sort((a, b) => b.split(' ').length - a.split(' ').length);
  const found: { command: string; flags: string[] }[] = [];
  for (const line of script.replace(/\\\n/g, ' ').split('\n')) {
    const m = /(?:^|[\s;&|(])(?:npx\s+)?(?:node\s+)?(?:\S*\/)?(?:bin\/imgfactory\.js|imgfactory)\s+(.*)$/.exec(line);
    if (!m) continue;
    const words = m[1]!.split(/\s+/).filter((w) => w !== '');
    const name = names.find((n) => n.split(' ').every((w, i) => words[i] === w));
    expect(name, `unknown imgfactory command in: ${line.trim()}`).toBeDefined();
    const rest = words.slice(name!.split(' ').length);
    const end = rest.findIndex((w) => /^(>|>>|\||&&|;|2>)/.test(w));
    const flags = (end === -1 ? rest : rest.slice(0, end)).filter((w) => w.startsWith('--')).map((w) => w.split('=')[0]!);
    found.push({ command: name!, flags });
  }
  return found;
}

describe('workflow files', () => {
  const files = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));

  it('finds the workflows, the scheduled one among them', () => {
    expect(files).toContain('scheduled.yml');
  });

  for (const file of files) {
    it(`${file}: every imgfactory command and flag it runs exists`, () => {
      const wf = load(file);
      const seen: string[] = [];
      for (const job of Object.values(wf.jobs)) {
        for (const step of job.steps) {
          if (step.run === undefined) continue;
          for (const { command, flags } of invocations(step.run)) {
            seen.push(command);
            const spec = commands.find((c) => c.name === command);
            for (const flag of flags) {
              const known = GLOBAL_FLAGS.has(flag) || (spec !== undefined && flag.slice(2) in spec.options) || (PENDING[command] ?? []).includes(flag);
              expect(known, `${file}: imgfactory ${command} ${flag} is not an option of the CLI`).toBe(true);
            }
            if (spec === undefined) expect(Object.keys(PENDING), `${file}: imgfactory ${command}`).toContain(command);
          }
        }
      }
      if (file === 'scheduled.yml') expect(seen.length, `${file} runs no imgfactory command`).toBeGreaterThan(0);
    });
  }

  it('the flag check can fail: an unknown flag or command is caught', () => {
    expect(invocations('node bin/imgfactory.js build r.ts --key k \\\n  --push --json > b.json')).toEqual([
      { command: 'build', flags: ['--key', '--push', '--json'] },
    ]);
    expect(() => invocations('imgfactory frobnicate --x')).toThrow();
    const [report] = invocations('node bin/imgfactory.js report --form check.json');
    expect(report!.flags[0]!.slice(2) in commands.find((c) => c.name === 'report')!.options).toBe(false);
  });
});

describe('scheduled.yml', () => {
  const wf = load('scheduled.yml');
  const jobs = wf.jobs;
  const needs = (j: Job) => (j.needs === undefined ? [] : Array.isArray(j.needs) ? j.needs : [j.needs]);

  it('runs on a schedule and by hand, one run at a time, never cancelled half way', () => {
    expect(Object.keys(wf.on).sort()).toEqual(['schedule', 'workflow_dispatch']);
    expect((wf.on.schedule as { cron: string }[])[0]!.cron).toMatch(/^\S+ \S+ \S+ \S+ \S+$/);
    expect(wf.concurrency?.group).toBeTruthy();
    expect(wf.concurrency?.['cancel-in-progress']).toBe(false);
  });

  it('check → plan --changed → build → report', () => {
    expect(needs(jobs.plan!)).toEqual(['check']);
    expect(needs(jobs.build!)).toContain('plan');
    expect(needs(jobs.report!)).toEqual(expect.arrayContaining(['check', 'build']));
    const runs = (j: Job) => j.steps.flatMap((s) => (s.run ? invocations(s.run) : []));
    expect(runs(jobs.check!)).toContainEqual({ command: 'check', flags: ['--json'] });
    expect(runs(jobs.plan!)).toContainEqual({ command: 'plan', flags: ['--changed', '--json'] });
    expect(runs(jobs.build!).map((r) => r.command)).toEqual(['build']);
    expect(runs(jobs.build!)[0]!.flags).toEqual(expect.arrayContaining(['--key', '--push', '--if-changed']));
    expect(runs(jobs.report!).map((r) => r.command)).toEqual(['report']);
    expect(JSON.stringify(jobs.build!.strategy?.matrix)).toContain('needs.plan.outputs.recipes');
  });

  it('a run where nothing changed ends in the check job (exit 100 means updates)', () => {
    const checkStep = jobs.check!.steps.find((s) => s.run?.includes('check recipes/'))!;
    expect(checkStep.run).toMatch(/100\)\s*echo "updates=true"/);
    expect(jobs.check!.outputs?.updates).toBeDefined();
    for (const [name, job] of Object.entries(jobs)) {
      if (name === 'check') continue;
      // Every other job is gated on the check's output, directly or through a job that is.
      const gated =
        job.if?.includes('needs.check.outputs.updates') || needs(job).some((n) => n !== 'check' && jobs[n]!.if?.includes('needs.check.outputs.updates'));
      expect(gated, `${name} runs even when nothing changed`).toBe(true);
    }
  });

  it('least privilege: nothing by default, issues: write only for the report', () => {
    expect(wf.permissions).toEqual({});
    for (const [name, job] of Object.entries(jobs)) {
      expect(job.permissions, `${name} has no permissions block`).toBeDefined();
      const writes = Object.entries(job.permissions!)
        .filter(([, v]) => v === 'write')
        .map(([k]) => k);
      if (name === 'report') expect(writes).toEqual(['issues']);
      else if (name === 'locks') expect(writes).toEqual(['contents']);
      else expect(writes, `${name} may write ${writes.join(', ')}`).toEqual([]);
    }
  });

  it('secrets reach only the steps that use them, and every secret is documented in README', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const secrets = new Set<string>();
    for (const [name, job] of Object.entries(jobs)) {
      expect(JSON.stringify(job.permissions ?? {}) + JSON.stringify((job as { env?: unknown }).env ?? {}), `${name}: job-wide secret`).not.toContain(
        'secrets.',
      );
      for (const step of job.steps) {
        expect(step.run ?? '', 'a secret interpolated into a script (use env)').not.toContain('secrets.');
        for (const v of Object.values(step.env ?? {})) for (const m of v.matchAll(/secrets\.([A-Z0-9_]+)/g)) secrets.add(m[1]!);
      }
    }
    expect([...secrets].sort()).toEqual([
      'GITHUB_TOKEN',
      'IMGFACTORY_KEY_PASSPHRASE',
      'IMGFACTORY_REGISTRY_PASSWORD',
      'IMGFACTORY_REGISTRY_USER',
      'IMGFACTORY_SIGNING_KEY',
    ]);
    for (const s of secrets) if (s !== 'GITHUB_TOKEN') expect(readme, `README does not document ${s}`).toContain(s);
  });
});
