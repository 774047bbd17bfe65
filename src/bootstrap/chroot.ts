/**
 * Commands inside the build root. /proc, /dev and /dev/pts are mounted for the duration of
 * `withChroot` and always unmounted: on success, on error, and on abort (the CLI turns SIGINT
 * and SIGTERM into an abort, which kills the child and unwinds through the finally block).
 */
import { run, type RunOptions } from '../exec.js';
import { ExecError, type ExecErrorCode } from '../errors.js';
import { ensureDirInRoot } from './root-path.js';

const MOUNTS: readonly { target: string; argv: (dst: string) => string[] }[] = [
  { target: 'proc', argv: (dst) => ['mount', '-t', 'proc', 'proc', dst] },
  { target: 'dev', argv: (dst) => ['mount', '--bind', '/dev', dst] },
  { target: 'dev/pts', argv: (dst) => ['mount', '--bind', '/dev/pts', dst] },
];

/** Environment for commands in the chroot: nothing from the host. */
export const CHROOT_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LC_ALL: 'C',
  LANG: 'C',
  HOME: '/root',
  DEBIAN_FRONTEND: 'noninteractive',
  DEBCONF_NONINTERACTIVE_SEEN: 'true',
  // Python packages' postinst compiles bytecode; none of it belongs in the image.
  PYTHONDONTWRITEBYTECODE: '1',
};

export interface Chroot {
  readonly root: string;
  run(argv: readonly string[], options?: { failCode?: ExecErrorCode; onLine?: (l: string) => void }): Promise<void>;
}

export async function withChroot<T>(root: string, signal: AbortSignal | undefined, fn: (c: Chroot) => Promise<T>): Promise<T> {
  const mounted: string[] = [];
  try {
    for (const m of MOUNTS) {
      // mount(8) follows links in its target: resolve inside the root so /proc or /dev made a
      // link by a package can never put a mount over a directory of the host.
      const dst = await ensureDirInRoot(root, m.target);
      await run(m.argv(dst), { failCode: 'MOUNT_FAILED' });
      mounted.push(dst);
    }
    return await fn({
      root,
      async run(argv, options = {}) {
        const opts: RunOptions = {
          failCode: options.failCode ?? 'CHROOT_FAILED',
          env: CHROOT_ENV,
          extendEnv: false,
          onLine: options.onLine,
          signal,
        };
        await run(['chroot', root, ...argv], opts);
      },
    });
  } finally {
    await unmountAll(mounted.reverse());
  }
}

async function unmountAll(paths: readonly string[]): Promise<void> {
  const failed: string[] = [];
  for (const p of paths) {
    try {
      await run(['umount', p], { failCode: 'MOUNT_FAILED' });
    } catch {
      // Busy (a process still holds it): detach lazily so nothing stays mounted under the work dir.
      try {
        await run(['umount', '--lazy', p], { failCode: 'MOUNT_FAILED' });
      } catch {
        failed.push(p);
      }
    }
  }
  if (failed.length > 0) throw new ExecError('MOUNT_FAILED', `could not unmount ${failed.join(', ')}`);
}

/** Mount points under `root` (from /proc/self/mountinfo): used to refuse snapshotting a mounted tree. */
export function mountsUnder(mountinfo: string, root: string): string[] {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined && (p === root || p.startsWith(prefix)))
    .map((p) => p.replace(/\\040/g, ' '));
}
