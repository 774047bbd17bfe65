/**
 * Generated input: a few hundred recipes mutated from a valid one (deterministic seed), and
 * CLI misuse cases, run through validation and the CLI. Whatever the input: no stack trace
 * without --debug, never exit 3 (a user's mistake is never an internal error), no hang, every
 * error a single line, stdout empty or (with --json) JSON.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { commands } from '../../src/cli/commands/index.js';
import { ImgfactoryError } from '../../src/errors.js';
import { parseRecipe } from '../../src/recipe/load.js';
import { tempDir } from '../helpers/tmp.js';

/** mulberry32: a tiny deterministic PRNG, so a failure reproduces from the seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 0x1f2e3d4c;
const VALID = {
  name: 'gen',
  version: '1.2.3',
  suite: 'bookworm',
  architectures: ['amd64'],
  components: ['main'],
  layers: [
    {
      name: 'tools',
      packages: ['curl'],
      files: [{ src: 'motd', dest: '/etc/motd', mode: '0644', owner: 'app:app' }],
      users: [{ name: 'app', uid: 1000, home: '/home/app', shell: '/bin/sh', groups: ['audio'] }],
      remove: { packages: ['less'], paths: ['/usr/share/doc/x'] },
    },
  ],
  config: { user: 'app', workdir: '/home/app', env: { A: 'b' }, cmd: ['/bin/sh'], labels: { k: 'v' }, ports: [8080, '53/udp'] },
  slim: { docs: true, locales: ['de'] },
  strip: { paths: ['/usr/bin/x'] },
  publish: { repository: 'localhost:5000/base/gen', tags: ['1', 'latest'] },
};

const HOSTILE: unknown[] = [
  0,
  -1,
  1.5,
  65535,
  65536,
  2 ** 31,
  2 ** 53 + 1,
  1e308,
  -1e308,
  true,
  false,
  null,
  [],
  {},
  [[]],
  { a: 1 },
  '',
  ' ',
  ':',
  'a:b:c',
  'x\ny',
  'x\u0000y',
  '\r\n',
  '..',
  '../../..',
  '/..',
  '/etc/../../x',
  '/a/./b',
  '//',
  '/',
  'a'.repeat(10_000),
  '/'.repeat(5000),
  'ünïcödé',
  '🙂',
  '\u202ereversed',
  'e\u0301',
  '\u2028',
  '%00',
  '${HOME}',
  '$(id)',
  'root',
  'nobody',
  '0:0',
  '70000:1',
  'http://x\nSigned-By: /k',
  'file:///etc',
  'javascript:alert(1)',
  '0777',
  '07777',
  '10000',
  'SIGKILL',
  '80/tcp',
  '0/tcp',
  'stable',
  'sid',
  'v1.0.0',
  '1.0.0-rc.1+build',
  '__proto__',
  'constructor',
];

/** Every path to a value in an object (arrays by index). */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

function mutate(rand: () => number): unknown {
  const recipe = structuredClone(VALID) as Record<string, unknown>;
  const all = paths(recipe).filter((p) => p.length > 0);
  const edits = 1 + Math.floor(rand() * 3);
  for (let n = 0; n < edits; n++) {
    const path = all[Math.floor(rand() * all.length)]!;
    let parent: Record<string | number, unknown> = recipe;
    for (const seg of path.slice(0, -1)) {
      const next = parent[seg];
      if (!next || typeof next !== 'object') break;
      parent = next as Record<string | number, unknown>;
    }
    const last = path[path.length - 1]!;
    const roll = rand();
    if (roll < 0.15) delete parent[last];
    else if (roll < 0.25 && !Array.isArray(parent))
      parent[`${String(last)}x`] = 1; // an unknown key
    else if (roll < 0.3 && !Array.isArray(parent))
      parent[HOSTILE[Math.floor(rand() * HOSTILE.length)] as string] = 'v'; // a hostile key
    else parent[last] = structuredClone(HOSTILE[Math.floor(rand() * HOSTILE.length)]);
  }
  return recipe;
}

const noStack = (lines: string[]) => lines.every((l) => !/^\s+at\s/.test(l) && !l.includes('internal:'));

describe('generated recipes through validation', () => {
  it('400 mutated recipes: each is accepted or refused with a typed exit-2 error, one line per problem', () => {
    const rand = prng(SEED);
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const value = mutate(rand);
      try {
        parseRecipe(value, '/r/gen.ts', 'ab', { hostArch: 'amd64', displayBase: '/r' });
      } catch (e) {
        refused++;
        expect(e, `case ${i}: ${JSON.stringify(value).slice(0, 300)}`).toBeInstanceOf(ImgfactoryError);
        expect((e as ImgfactoryError).exitStatus, `case ${i}`).toBe(2);
        for (const line of (e as ImgfactoryError).details.problems as string[]) {
          expect(line, `case ${i}`).not.toMatch(/[\n\r\u0000]/);
          expect(line.startsWith('gen.ts: '), `case ${i}: ${line}`).toBe(true);
        }
      }
    }
    // The generator must actually produce bad input (and some good): otherwise the test proves nothing.
    expect(refused).toBeGreaterThan(300);
  });
});

describe('generated recipes and misuse through the CLI', () => {
  let dir: string;
  let out: string;
  let err: string[];
  const io = {
    out: (t: string) => void (out += t.endsWith('\n') ? t : `${t}\n`),
    err: (t: string) => void err.push(...t.split('\n')),
  };
  const cli = async (args: string[]) => {
    out = '';
    err = [];
    const status = await main(args, { io, cwd: dir });
    return status;
  };

  beforeAll(async () => {
    dir = await tempDir();
    await mkdir(join(dir, 'gen'));
    await writeFile(join(dir, 'motd'), 'hello\n');
    const rand = prng(SEED ^ 0xabcdef);
    // Recipe modules as authors might break them: mutated data, plus broken syntax and exports.
    for (let i = 0; i < 16; i++) {
      const value = mutate(rand) as Record<string, unknown>;
      if (typeof value === 'object' && value !== null) value.name = `gen-${i}`; // distinct names: duplicate names are their own error
      await writeFile(join(dir, 'gen', `r${String(i).padStart(2, '0')}.ts`), `export default ${JSON.stringify(value)};\n`);
    }
    await writeFile(join(dir, 'gen', 'syntax.ts'), 'export default { name: ');
    await writeFile(join(dir, 'gen', 'noexport.ts'), 'export const x = 1;\n');
    await writeFile(join(dir, 'gen', 'string.ts'), "export default 'just a string';\n");
    await writeFile(join(dir, 'gen', 'fn.ts'), 'export default () => ({});\n');
    await writeFile(join(dir, 'dup-a.ts'), "export default { name: 'same', version: '1.0.0', suite: 'bookworm' };\n");
    await writeFile(join(dir, 'dup-b.ts'), "export default { name: 'same', version: '2.0.0', suite: 'bookworm' };\n");
  });

  it('validate and plan --json of a folder of broken recipes: exit 2, no stack, stdout empty or one JSON error', async () => {
    for (const args of [
      ['validate', 'gen'],
      ['plan', '--json', 'gen'],
    ]) {
      const status = await cli(args);
      expect(status, args.join(' ')).toBe(2);
      expectCleanStdout(args, out);
      expect(noStack(err), err.join('\n')).toBe(true);
      expect(err.filter((l) => l.startsWith('error: ')).length).toBeGreaterThanOrEqual(12);
      expect(
        err.filter((l) => l !== '' && !l.startsWith('error: ') && !l.startsWith('recipe ')),
        err.join('\n'),
      ).toEqual([]);
    }
  }, 180_000);

  /** stdout holds nothing on an error, except with --json: then exactly one JSON error document. */
  function expectCleanStdout(args: readonly string[], stdout: string): void {
    if (!args.includes('--json')) {
      expect(stdout, args.join(' ')).toBe('');
      return;
    }
    expect(JSON.parse(stdout), args.join(' ')).toMatchObject({ ok: false, exitStatus: 2, code: expect.any(String) });
  }

  it('two recipes with one name in a plan or a validate run: exit 2 naming both files', async () => {
    for (const cmd of ['plan', 'validate']) {
      expect(await cli([cmd, 'dup-a.ts', 'dup-b.ts'])).toBe(2);
      expect(out).toBe('');
      const lines = err.filter((l) => l.startsWith('error: '));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/dup-b\.ts.*dup-a\.ts/);
    }
  }, 60_000);

  it('misuse of every command (unknown flag, flag without value, missing argument): exit 2, one error line', async () => {
    const cases: string[][] = [
      [],
      ['--bogus'],
      ['nosuchcommand'],
      ['archive'],
      ['validate', '--recipe-timeout'],
      ['validate', 'missing\nfile.ts'],
      ['plan', '\u0000'],
    ];
    for (const c of commands) {
      const words = c.name.split(' ');
      cases.push([...words, '--no-such-flag']);
      cases.push([...words, '-Z']);
      cases.push([...words, '--json=1']);
      for (const [name, spec] of Object.entries(c.options)) if (spec.type === 'string') cases.push([...words, `--${name}`]);
      if ((c.minPositionals ?? 0) > 0) cases.push(words);
    }
    cases.push(['validate', '--recipe-timeout', '1', '--recipe-timeout', '2']);
    cases.push(['plan', '--json', '--json']);
    expect(cases.length).toBeGreaterThan(60);
    for (const args of cases) {
      const status = await cli(args);
      const what = JSON.stringify(args);
      expect(status, what).toBe(2);
      expect(noStack(err), `${what}\n${err.join('\n')}`).toBe(true);
      if (args.length > 0) {
        expect(
          err.filter((l) => l.startsWith('error: ') || l.startsWith('imgfactory ')),
          `${what}\n${err.join('\n')}`,
        ).toHaveLength(1);
        expectCleanStdout(args, out);
      }
    }
  }, 120_000);

  it('--help works for every command and exits 0', async () => {
    for (const c of commands) {
      expect(await cli([...c.name.split(' '), '--help'])).toBe(0);
      expect(out).toMatch(/^Usage: imgfactory /);
    }
  });
});
