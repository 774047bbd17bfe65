import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { REPO_ROOT } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
  await writeFile(
    join(dir, 'wrongtype.ts'),
    `export default { name: 'w', version: '1.0.0', suite: 'bookworm', layers: [{ name: 'a' }, { name: 'b', packages: [7] }] };\n`,
  );
  await writeFile(join(dir, 'unknownkey.ts'), `export default { name: 'u', version: '1.0.0', suite: 'bookworm', entrypiont: ['/x'] };\n`);
  await writeFile(join(dir, 'badsemver.ts'), `export default { name: 'v', version: 'v1', suite: 'bookworm' };\n`);
  await writeFile(join(dir, 'p.ts'), `export default { name: 'p', version: '1.0.0', suite: 'bookworm', from: './q.ts' };\n`);
  await writeFile(join(dir, 'q.ts'), `export default { name: 'q', version: '1.0.0', suite: 'bookworm', from: './p.ts' };\n`);
});

describe('imgfactory validate', () => {
  it('accepts every shipped recipe', async () => {
    const r = await runCli(['validate', 'recipes'], { cwd: REPO_ROOT });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/debian-minimal@/);
  });

  it('prints the normalized recipes with --json', async () => {
    const r = await runCli(['validate', 'recipes/python3.ts', '--json'], { cwd: REPO_ROOT });
    expect(r.status).toBe(0);
    const [py] = JSON.parse(r.stdout);
    expect(py.name).toBe('python3');
    expect(py.from).toBe(join(REPO_ROOT, 'recipes/debian-minimal.ts'));
  });

  it.each([
    ['wrongtype.ts', 'wrongtype.ts: layers[1].packages[0]: expected string, received number'],
    ['unknownkey.ts', 'unknownkey.ts: entrypiont: unknown key'],
    ['badsemver.ts', 'badsemver.ts: version: expected a semantic version (e.g. 1.2.3)'],
    ['p.ts', 'from: cycle'],
  ])('%s exits 2 with one line naming file and field, no stack', async (file, expected) => {
    const r = await runCli(['validate', file], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(expected);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('reports every invalid recipe, one line per problem', async () => {
    const r = await runCli(['validate', 'wrongtype.ts', 'unknownkey.ts', 'badsemver.ts'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(3);
  });
});

describe('imgfactory plan', () => {
  it('orders debian-minimal before python3 as a matrix list', async () => {
    const r = await runCli(['plan', 'recipes/', '--json'], { cwd: REPO_ROOT });
    expect(r.status).toBe(0);
    const steps = JSON.parse(r.stdout) as { recipe: string; level: number; parent: string | null }[];
    const names = steps.map((s) => s.recipe);
    expect(names.indexOf('recipes/debian-minimal.ts')).toBeLessThan(names.indexOf('recipes/python3.ts'));
    expect(steps.find((s) => s.recipe === 'recipes/python3.ts')).toMatchObject({ level: 1, parent: 'recipes/debian-minimal.ts' });
  });

  it('refuses a cycle with exit 2', async () => {
    const r = await runCli(['plan', 'p.ts', 'q.ts'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/from: cycle/);
  });
});

describe('CLI basics', () => {
  it('unknown commands and flags are usage errors (exit 2)', async () => {
    expect((await runCli(['frobnicate'])).status).toBe(2);
    const r = await runCli(['validate', '--frob', 'x']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: validate: /);
  });

  it("--help on every command exits 0 and prints that command's usage with each of its options", async () => {
    const { commands } = await import('../../src/cli/commands/index.js');
    for (const c of commands) {
      const r = await runCli([...c.name.split(' '), '--help']);
      expect(r.status, c.name).toBe(0);
      expect(r.stdout, c.name).toMatch(new RegExp(`^Usage: imgfactory ${c.name} `));
      for (const option of Object.keys(c.options)) expect(r.stdout, `imgfactory ${c.name} --help lacks --${option}`).toMatch(new RegExp(`--${option}\\b`));
      for (const global of ['--json', '--debug']) expect(r.stdout, `imgfactory ${c.name} --help`).toContain(global);
    }
  });

  it('--help without a command lists every command', async () => {
    const { commands } = await import('../../src/cli/commands/index.js');
    const r = await runCli(['--help']);
    expect(r.status).toBe(0);
    for (const c of commands) expect(r.stdout, c.name).toContain(c.name);
  });

  it("exit 3 is for imgfactory's own faults: an untyped exception or an internal invariant, one line", async () => {
    const { reportError } = await import('../../src/cli/main.js');
    const { BuildError } = await import('../../src/errors.js');
    const lines: string[] = [];
    const io = { out: () => undefined, err: (t: string) => void lines.push(t) };
    expect(reportError(new TypeError('cannot read properties of undefined'), io, false)).toBe(3);
    expect(lines).toEqual(['error: internal: cannot read properties of undefined (run with --debug for the stack trace)']);
    lines.length = 0;
    expect(reportError(new BuildError('DEBS_NOT_AUDITED', 'r (amd64): 3 packages installed but no downloaded .deb found to audit'), io, false)).toBe(3);
    expect(lines).toHaveLength(1);
  });

  it('the installed bin prints its version', async () => {
    const r = await execa('node', [join(REPO_ROOT, 'bin/imgfactory.js'), '--version']);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('--bootstrapper', () => {
  it.each(['check', 'lock'])('%s: an unknown bootstrapper exits 2 with one line before anything is fetched or written', async (command) => {
    const r = await runCli([command, join(REPO_ROOT, 'recipes/debian-minimal.ts'), '--bootstrapper', 'nope$(touch x)', '--cache-dir', join(dir, 'no-cache')], {
      cwd: dir,
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual(['error: --bootstrapper: expected mmdebstrap or debootstrap, got "nope$(touch x)"']);
    expect(await readdir(dir)).not.toContain('no-cache');
    expect(await readdir(join(REPO_ROOT, 'recipes'))).not.toContain('debian-minimal.lock.json');
  });
});

describe('--mirror and --security-mirror', () => {
  // A newline would make the rest a second `deb` line in the sources the bootstrapper and the image trust.
  const injected = 'http://mirror.invalid/debian\ndeb [trusted=yes] http://evil.invalid/debian bookworm main';
  it.each([
    ['build', '--mirror', 'build: --mirror: may not contain whitespace or control characters'],
    ['check', '--security-mirror', '--security-mirror: may not contain whitespace or control characters'],
    ['lock', '--mirror', '--mirror: may not contain whitespace or control characters'],
    ['archive verify', '--mirror', 'archive verify: --mirror: may not contain whitespace or control characters'],
  ])('%s %s with a second line in it exits 2 with one line naming the flag, before anything is fetched or written', async (command, flag, message) => {
    const argv = command === 'archive verify' ? ['archive', 'verify', '--suite', 'bookworm'] : [command, join(REPO_ROOT, 'recipes/debian-minimal.ts')];
    const r = await runCli([...argv, flag, injected, ...(command === 'build' ? ['--out', join(dir, 'no-out')] : ['--cache-dir', join(dir, 'no-cache')])], {
      cwd: dir,
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([`error: ${message}`]);
    expect(await readdir(dir)).not.toContain('no-cache');
    expect(await readdir(dir)).not.toContain('no-out');
    expect(await readdir(join(REPO_ROOT, 'recipes'))).not.toContain('debian-minimal.lock.json');
  });

  it('refuses a URL that is not http(s)', async () => {
    const r = await runCli(['check', join(REPO_ROOT, 'recipes/debian-minimal.ts'), '--mirror', 'ftp://mirror.invalid/debian'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('error: --mirror: expected an http:// or https:// URL');
  });
});
