/**
 * Make sure the kernel runs a foreign architecture's programs through qemu-user-static before a
 * build writes anything: read the binfmt_misc entry, try to register it when it is missing
 * (mount binfmt_misc, `update-binfmts --enable`, or the systemd binfmt.d line), and otherwise
 * fail with one line naming the package to install. The judgement is pure (binfmt.ts); the
 * directories are parameters so a test can point them at a host where registration cannot work.
 */
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecError } from '../errors.js';
import { run } from '../exec.js';
import { binfmtProblem, parseBinfmtEntry, qemuCpu, runsNatively, type BinfmtEntry } from './binfmt.js';

export const QEMU_PACKAGE = 'qemu-user-static';

export interface BinfmtHost {
  /** The kernel's binfmt_misc file system (default /proc/sys/fs/binfmt_misc). */
  readonly binfmtDir: string;
  /** binfmt-support's format files, for `update-binfmts --enable` (default /usr/share/binfmts). */
  readonly binfmtsDir: string;
  /** systemd-binfmt's registration lines (default /usr/lib/binfmt.d). */
  readonly binfmtDDir: string;
  /** Tool environment (PATH). */
  readonly env?: Record<string, string>;
}

export const DEFAULT_BINFMT_HOST: BinfmtHost = {
  binfmtDir: '/proc/sys/fs/binfmt_misc',
  binfmtsDir: '/usr/share/binfmts',
  binfmtDDir: '/usr/lib/binfmt.d',
};

async function readEntry(host: BinfmtHost, name: string): Promise<BinfmtEntry | undefined> {
  const text = await readFile(join(host.binfmtDir, name), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseBinfmtEntry(text);
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** Every registration route that might work, each tried once; failures only end in the final check. */
async function tryRegister(host: BinfmtHost, name: string): Promise<void> {
  const quiet = { env: host.env ?? {}, extendEnv: false, okExitCodes: [1, 2, 32] };
  // Mount only the kernel's own place for it: an injected directory is somebody's test fixture.
  if (host.binfmtDir === DEFAULT_BINFMT_HOST.binfmtDir && !(await exists(join(host.binfmtDir, 'register')))) {
    await run(['mount', '-t', 'binfmt_misc', 'binfmt_misc', host.binfmtDir], quiet).catch(() => undefined);
  }
  const entry = await readEntry(host, name);
  if (entry && !entry.enabled && entry.interpreter && (await exists(entry.interpreter))) {
    await writeFile(join(host.binfmtDir, name), '1').catch(() => undefined);
    if (!binfmtProblem(await readEntry(host, name), name)) return;
  }
  if (entry) return; // registered but unusable (no F flag): re-registering needs it removed first, which is the admin's call
  if (await exists(join(host.binfmtsDir, name))) {
    await run(['update-binfmts', '--importdir', host.binfmtsDir, '--enable', name], quiet).catch(() => undefined);
    if (await readEntry(host, name)) return;
  }
  const line = await readFile(join(host.binfmtDDir, `${name}.conf`), 'utf8').catch(() => undefined);
  const rule = line?.split('\n').find((l) => l.startsWith(`:${name}:`));
  if (rule) await writeFile(join(host.binfmtDir, 'register'), rule).catch(() => undefined);
}

/**
 * Throws ExecError('FOREIGN_ARCH_UNSUPPORTED') (exit 4) unless every architecture either runs
 * natively or has a usable qemu binfmt_misc entry (registered here when it can be).
 */
export async function ensureArchitecturesRunnable(architectures: readonly string[], hostArch: string, host: BinfmtHost = DEFAULT_BINFMT_HOST): Promise<void> {
  for (const arch of architectures) {
    if (runsNatively(arch, hostArch)) continue;
    const cpu = qemuCpu(arch);
    if (!cpu) throw new ExecError('FOREIGN_ARCH_UNSUPPORTED', `cannot build ${arch} on this ${hostArch} host: qemu has no emulator for it`);
    const name = `qemu-${cpu}`;
    if (!binfmtProblem(await readEntry(host, name), name)) continue;
    await tryRegister(host, name);
    const problem = binfmtProblem(await readEntry(host, name), name);
    if (problem) {
      throw new ExecError(
        'FOREIGN_ARCH_UNSUPPORTED',
        `cannot build ${arch} on this ${hostArch} host: ${problem}; install ${QEMU_PACKAGE} and binfmt-support (apt-get install ${QEMU_PACKAGE} binfmt-support)`,
        { details: { architecture: arch, binfmtEntry: name, package: QEMU_PACKAGE } },
      );
    }
  }
}
