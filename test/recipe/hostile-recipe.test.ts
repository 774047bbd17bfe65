/**
 * Recipes are code; the CLI must survive them. Each hostile behaviour runs through the real
 * loader (a child process) and through the CLI's main(): the exit status, a clean stdout (or
 * only JSON with --json) and a one-line error are asserted.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadRecipe } from '../../src/recipe/load.js';
import { tempDir } from '../helpers/tmp.js';

let dir: string;
const VALID = `{ name: 'ok', version: '1.0.0', suite: 'bookworm' }`;

async function recipe(name: string, body: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, body);
  return file;
}

async function cli(args: string[]): Promise<{ status: number; out: string; err: string[] }> {
  let out = '';
  const err: string[] = [];
  const status = await main(args, {
    io: { out: (t) => void (out += t.endsWith('\n') ? t : `${t}\n`), err: (t) => void err.push(...t.split('\n').filter(Boolean)) },
    cwd: dir,
  });
  return { status, out, err };
}

const errorLines = (err: string[]) => err.filter((l) => l.startsWith('error:'));

beforeAll(async () => {
  dir = await tempDir();
});

describe('a hostile recipe cannot take the CLI down', () => {
  it('console.log, process.stdout.write and fs.writeSync(1) never reach stdout: plan --json prints only JSON', async () => {
    await recipe(
      'chatty.ts',
      `import { writeSync } from 'node:fs';\nconsole.log('hello from the recipe');\nprocess.stdout.write('raw stdout\\n');\nwriteSync(1, 'fd one\\n');\nconsole.error('to stderr');\nexport default ${VALID};\n`,
    );
    const r = await cli(['plan', '--json', 'chatty.ts']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject([{ name: 'ok', recipe: 'chatty.ts' }]);
    expect(r.err).toContain('recipe chatty.ts: hello from the recipe');
    expect(r.err).toContain('recipe chatty.ts: fd one');
  });

  const failing: [string, string, string][] = [
    ['process.exit at the top level', 'exits.ts', `process.exit(0);\nexport default ${VALID};\n`],
    ['process.exit(3) later, from a timer', 'exits-later.ts', `setTimeout(() => process.exit(3), 20);\nexport default ${VALID};\n`],
    ['a throw in a timer after the export', 'timer-throws.ts', `setTimeout(() => { throw new Error('boom from a timer'); }, 20);\nexport default ${VALID};\n`],
    ['an unhandled rejection', 'rejects.ts', `Promise.reject(new Error('nobody catches me'));\nexport default ${VALID};\n`],
    [
      'a default export that is not plain data',
      'getter.ts',
      `export default { get name() { throw new Error('getter'); }, version: '1.0.0', suite: 'bookworm' };\n`,
    ],
    [
      'a BigInt in the export',
      'bigint.ts',
      `export default { name: 'b', version: '1.0.0', suite: 'bookworm', layers: [{ name: 'x', users: [{ name: 'u', uid: 10n }] }] };\n`,
    ],
    ['a top-level await that never settles (nothing left running)', 'never.ts', `export default await new Promise(() => {});\n`],
  ];
  for (const [what, name, body] of failing) {
    it(`${what}: exit 2, one error line, stdout holds only the --json error document`, async () => {
      const f = await recipe(name, body);
      await expect(loadRecipe(f, { hostArch: 'amd64', displayBase: dir })).rejects.toMatchObject({ code: 'RECIPE_LOAD_FAILED', exitStatus: 2 });
      const r = await cli(['plan', '--json', name]);
      expect(r.status).toBe(2);
      // Nothing the recipe printed reaches stdout: only the CLI's one JSON error document.
      expect(JSON.parse(r.out)).toMatchObject({ ok: false, exitStatus: 2 });
      expect(errorLines(r.err)).toHaveLength(1);
      expect(errorLines(r.err)[0]).toMatch(new RegExp(`^error: ${name.replace('.', '\\.')}: `));
      expect(r.err.join('\n')).not.toMatch(/\n\s+at /);
    });
  }

  it('an interval left running: RECIPE_TIMEOUT after the time limit, exit 2, no hang', async () => {
    const f = await recipe('interval.ts', `setInterval(() => {}, 1000);\nexport default ${VALID};\n`);
    const t0 = Date.now();
    await expect(loadRecipe(f, { hostArch: 'amd64', displayBase: dir, timeoutMs: 1500 })).rejects.toMatchObject({ code: 'RECIPE_TIMEOUT', exitStatus: 2 });
    expect(Date.now() - t0).toBeLessThan(15_000);
    const r = await cli(['validate', '--recipe-timeout', '1.5', 'interval.ts']);
    expect(r.status).toBe(2);
    expect(r.out).toBe('');
    expect(errorLines(r.err)).toHaveLength(1);
  });

  it('a busy loop that never returns is killed at the time limit', async () => {
    const f = await recipe('spin.ts', `while (true) {}\nexport default ${VALID};\n`);
    await expect(loadRecipe(f, { hostArch: 'amd64', displayBase: dir, timeoutMs: 1500 })).rejects.toMatchObject({ code: 'RECIPE_TIMEOUT' });
  });

  it('the recipe does not see the signing passphrase or registry password of the CLI', async () => {
    const f = await recipe(
      'peek.ts',
      `export default { name: 'peek', version: '1.0.0', suite: 'bookworm', description: [process.env.IMGFACTORY_KEY_PASSPHRASE, process.env.IMGFACTORY_REGISTRY_PASSWORD, process.env.PATH ? 'path' : ''].join('|') };\n`,
    );
    process.env.IMGFACTORY_KEY_PASSPHRASE = 'hunter2';
    process.env.IMGFACTORY_REGISTRY_PASSWORD = 'letmein';
    try {
      const r = await loadRecipe(f, { hostArch: 'amd64', displayBase: dir });
      expect(r.description).toBe('||path');
    } finally {
      delete process.env.IMGFACTORY_KEY_PASSPHRASE;
      delete process.env.IMGFACTORY_REGISTRY_PASSWORD;
    }
  });

  it('--recipe-timeout must be a number of seconds (usage error)', async () => {
    const r = await cli(['validate', '--recipe-timeout', 'soon', 'peek.ts']);
    expect(r.status).toBe(2);
    expect(errorLines(r.err)).toHaveLength(1);
  });
});
