/**
 * The README's command table is a promise: every command it names exists, every flag it shows
 * is one that command accepts, and every command the CLI has is in the table. A renamed flag
 * or a new command fails here instead of drifting silently.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { REPO_ROOT } from '../helpers/paths.js';

const GLOBAL_FLAGS = ['--json', '--debug', '--help', '--version'];

/** `| \`imgfactory <command> …\` | … |` rows: the first cell of each. */
function tableRows(): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  return readme
    .split('\n')
    .filter((l) => l.startsWith('| `imgfactory '))
    .map((l) => /^\| `imgfactory ([^`]+)`/.exec(l)![1]!.replace(/\\\|/g, '|'));
}

function commandOf(cell: string): (typeof commands)[number] | undefined {
  const words = cell.split(/\s+/);
  return [...commands].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length).find((c) => c.name.split(' ').every((w, i) => words[i] === w));
}

describe('README command table', () => {
  const rows = tableRows();

  it('has rows to check', () => {
    expect(rows.length).toBeGreaterThan(15);
  });

  it('names only commands that exist, with flags they accept', () => {
    for (const cell of rows) {
      // `keys generate / export` names two commands in one row.
      const variants = cell.includes(' / ') ? cell.split(' / ').map((v, i) => (i === 0 ? v : `${cell.split(' ')[0]} ${v}`)) : [cell];
      for (const v of variants) {
        const command = commandOf(v);
        expect(command, `README names an unknown command: imgfactory ${v}`).toBeDefined();
        for (const flag of v.match(/--[a-z][a-z0-9-]*/g) ?? []) {
          const known = GLOBAL_FLAGS.includes(flag) || Object.hasOwn(command!.options, flag.slice(2));
          expect(known, `imgfactory ${command!.name} has no ${flag} (README: ${cell})`).toBe(true);
        }
      }
    }
  });

  it('lists every command the CLI has', () => {
    const named = new Set(
      rows
        .flatMap((cell) => (cell.includes(' / ') ? cell.split(' / ').map((v, i) => (i === 0 ? v : `${cell.split(' ')[0]} ${v}`)) : [cell]))
        .map((v) => commandOf(v)?.name),
    );
    for (const c of commands) expect(named.has(c.name), `README's command table lacks imgfactory ${c.name}`).toBe(true);
  });

  it('every command documents its own options in --help', () => {
    for (const c of commands) {
      for (const name of Object.keys(c.options)) expect(c.help, `imgfactory ${c.name} --help does not mention --${name}`).toContain(`--${name}`);
    }
  });
});

/** `| \`<command>\` | \`--a\` \`--b\` |` rows of the "Every option of every command" table. */
function optionRows(): Map<string, string[]> {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('| command | options |');
  const rows = new Map<string, string[]>();
  if (start < 0) return rows;
  for (const line of readme.slice(start).split('\n').slice(2)) {
    const m = /^\| `([a-z ]+)` \| (.*) \|$/.exec(line);
    if (!m) break;
    rows.set(m[1]!, m[2]! === '—' ? [] : [...m[2]!.matchAll(/`--([a-z0-9-]+)`/g)].map((x) => x[1]!));
  }
  return rows;
}

describe('README option table', () => {
  const rows = optionRows();

  it('has a row for every command, and only for commands', () => {
    expect([...rows.keys()].sort()).toEqual(commands.map((c) => c.name).sort());
  });

  it("each row lists exactly that command's options, which its --help explains", () => {
    for (const c of commands) {
      expect([...(rows.get(c.name) ?? [])].sort(), `README option row for imgfactory ${c.name}`).toEqual(Object.keys(c.options).sort());
      for (const o of Object.keys(c.options)) expect(c.help, `imgfactory ${c.name} --help`).toMatch(new RegExp(`--${o}\\b`));
    }
  });
});
