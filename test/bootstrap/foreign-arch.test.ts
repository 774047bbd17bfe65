import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binfmtProblem, parseBinfmtEntry, qemuCpu, runsNatively } from '../../src/bootstrap/binfmt.js';
import { ensureArchitecturesRunnable, type BinfmtHost } from '../../src/bootstrap/foreign-arch.js';
import { ExitStatus } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';

/** As the kernel prints /proc/sys/fs/binfmt_misc/qemu-aarch64 with qemu-user-static registered. */
const REGISTERED = `enabled
interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
flags: PF
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
`;

/** A host whose binfmt_misc, binfmt-support and binfmt.d directories are empty test folders. */
async function fakeHost(): Promise<BinfmtHost> {
  const root = await tempDir();
  const host = { binfmtDir: join(root, 'binfmt_misc'), binfmtsDir: join(root, 'binfmts'), binfmtDDir: join(root, 'binfmt.d'), env: { PATH: '/usr/bin:/bin' } };
  for (const d of [host.binfmtDir, host.binfmtsDir, host.binfmtDDir]) await mkdir(d);
  return host;
}

describe('binfmt_misc entries (pure)', () => {
  it('parses the kernel format', () => {
    expect(parseBinfmtEntry(REGISTERED)).toEqual({ enabled: true, interpreter: '/usr/libexec/qemu-binfmt/aarch64-binfmt-P', flags: 'PF' });
    expect(parseBinfmtEntry('disabled\ninterpreter /x\nflags: \n')).toEqual({ enabled: false, interpreter: '/x', flags: '' });
  });

  it('accepts an enabled entry with the F flag only', () => {
    expect(binfmtProblem(parseBinfmtEntry(REGISTERED), 'qemu-aarch64')).toBeUndefined();
    expect(binfmtProblem(undefined, 'qemu-aarch64')).toMatch(/no binfmt_misc entry/);
    expect(binfmtProblem(parseBinfmtEntry(REGISTERED.replace('enabled', 'disabled')), 'qemu-aarch64')).toMatch(/disabled/);
    expect(binfmtProblem(parseBinfmtEntry(REGISTERED.replace('flags: PF', 'flags: P')), 'qemu-aarch64')).toMatch(/F \(fix-binary\)/);
  });

  it('knows which architectures need no interpreter and what qemu calls the others', () => {
    expect(runsNatively('amd64', 'amd64')).toBe(true);
    expect(runsNatively('i386', 'amd64')).toBe(true);
    expect(runsNatively('arm64', 'amd64')).toBe(false);
    expect(runsNatively('amd64', 'arm64')).toBe(false);
    expect(qemuCpu('arm64')).toBe('aarch64');
    expect(qemuCpu('armhf')).toBe('arm');
    expect(qemuCpu('ppc64el')).toBe('ppc64le');
  });
});

describe('ensureArchitecturesRunnable', () => {
  it('passes a host architecture without reading binfmt_misc at all', async () => {
    const host = { binfmtDir: '/nonexistent', binfmtsDir: '/nonexistent', binfmtDDir: '/nonexistent' };
    await expect(ensureArchitecturesRunnable(['amd64', 'i386'], 'amd64', host)).resolves.toBeUndefined();
  });

  it('passes a foreign architecture whose qemu entry is registered with F', async () => {
    const host = await fakeHost();
    await writeFile(join(host.binfmtDir, 'qemu-aarch64'), REGISTERED);
    await expect(ensureArchitecturesRunnable(['amd64', 'arm64'], 'amd64', host)).resolves.toBeUndefined();
  });

  it('refuses a foreign architecture it cannot register: one line naming qemu-user-static, exit 4', async () => {
    const host = await fakeHost();
    const e: unknown = await ensureArchitecturesRunnable(['amd64', 'arm64'], 'amd64', host).catch((x: unknown) => x);
    expect(e).toMatchObject({
      code: 'FOREIGN_ARCH_UNSUPPORTED',
      exitStatus: ExitStatus.externalTool,
      details: { architecture: 'arm64', package: 'qemu-user-static' },
    });
    const message = (e as Error).message;
    expect(message).toContain('qemu-user-static');
    expect(message).toContain('arm64');
    expect(message).not.toContain('\n');
  });

  it('refuses an entry without the F flag (it cannot work inside a chroot)', async () => {
    const host = await fakeHost();
    await writeFile(join(host.binfmtDir, 'qemu-aarch64'), REGISTERED.replace('flags: PF', 'flags: P'));
    await expect(ensureArchitecturesRunnable(['arm64'], 'amd64', host)).rejects.toMatchObject({
      code: 'FOREIGN_ARCH_UNSUPPORTED',
      message: expect.stringContaining('F (fix-binary)') as unknown,
    });
  });

  it("tries systemd's binfmt.d line when nothing else registers it", async () => {
    const host = await fakeHost();
    const rule = ':qemu-aarch64:M::\\x7f\\x45\\x4c\\x46:\\xff\\xff\\xff\\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OPF';
    await writeFile(join(host.binfmtDDir, 'qemu-aarch64.conf'), `# comment\n${rule}\n`);
    await writeFile(join(host.binfmtDir, 'register'), '');
    // The "kernel" here is a folder: the rule lands in register but registers nothing, so the check still fails.
    await expect(ensureArchitecturesRunnable(['arm64'], 'amd64', host)).rejects.toMatchObject({ code: 'FOREIGN_ARCH_UNSUPPORTED' });
    expect(await readFile(join(host.binfmtDir, 'register'), 'utf8')).toBe(rule);
  });

  it('refuses an architecture qemu cannot emulate', async () => {
    await expect(ensureArchitecturesRunnable(['vax'], 'amd64', await fakeHost())).rejects.toMatchObject({
      code: 'FOREIGN_ARCH_UNSUPPORTED',
      message: expect.stringContaining('no emulator') as unknown,
    });
  });
});
