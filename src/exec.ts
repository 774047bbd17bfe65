/**
 * The one subprocess runner. argv arrays only (never a re-split command string); failures
 * carry the tail of stderr so a one-line CLI error is still actionable.
 */
import { spawn } from 'node:child_process';
import { ExecError, type ExecErrorCode } from './errors.js';

export interface RunOptions {
  /** Error code to raise when the command exits non-zero. */
  failCode?: ExecErrorCode;
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Replace the environment instead of extending it (keeps builds hermetic). */
  extendEnv?: boolean;
  input?: string | Buffer;
  /** Called with each stderr/stdout line as it arrives, for progress output. */
  onLine?: (line: string) => void;
  timeoutMs?: number;
  /** Exit codes that are not failures (e.g. diff-like tools). */
  okExitCodes?: number[];
  signal?: AbortSignal;
  /**
   * Run in a process group of its own, and on `signal` stop the whole group: a tool that works
   * through children (mmdebstrap's workers, dpkg in the chroot) finishes its current step when
   * only the leader is told, which kept an interrupted build alive for half a minute.
   */
  processGroup?: boolean;
}

/** After SIGTERM, how long a process group gets to clean up (unmount) before SIGKILL. */
const GROUP_GRACE_MS = 5000;

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const STDERR_TAIL_LINES = 6;

export function stderrTail(stderr: string, lines = STDERR_TAIL_LINES): string {
  return stderr.trim().split('\n').slice(-lines).join(' | ');
}

export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new ExecError('COMMAND_FAILED', 'empty command');
  const ok = new Set([0, ...(options.okExitCodes ?? [])]);
  // Loaded on first use: execa and its dependencies cost every CLI start ~0.05 s, and commands
  // such as push never run a tool.
  const { execa } = await import('execa');
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: options.extendEnv ?? true,
    input: options.input,
    reject: false,
    stripFinalNewline: false,
    timeout: options.timeoutMs,
    cancelSignal: options.signal,
    lines: false,
    all: false,
    detached: options.processGroup ?? false,
  });
  const group = options.processGroup && options.signal && child.pid !== undefined ? stopGroupOnAbort(child.pid, options.signal) : undefined;
  if (options.onLine) {
    const onLine = options.onLine;
    const relay = (stream: NodeJS.ReadableStream | null) => {
      let pending = '';
      stream?.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const parts = pending.split(/\r?\n/);
        pending = parts.pop() ?? '';
        for (const p of parts) if (p.trim()) onLine(p);
      });
    };
    relay(child.stdout);
    relay(child.stderr);
  }
  const result = await child.finally(() => group?.leaderExited());
  if (result.failed && (result.exitCode === undefined || !ok.has(result.exitCode))) {
    if ((result as { code?: string }).code === 'ENOENT') throw toolMissing(file, argv);
    const why = result.timedOut ? `timed out after ${options.timeoutMs} ms` : result.isCanceled ? 'cancelled' : `exit ${result.exitCode ?? result.signal}`;
    // Some tools (debootstrap) report their errors on stdout.
    const tail = stderrTail(String(result.stderr ?? '')) || stderrTail(String(result.stdout ?? ''));
    throw toolFailed(argv, options.failCode, why, tail, result.exitCode);
  }
  return {
    exitCode: result.exitCode ?? 0,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
  };
}

/**
 * Runs `argv` with `input` on its stdin and yields its stdout as Buffers as they arrive, for
 * output too large to hold whole (a decompressed Packages index). The bytes are passed on
 * untouched: `run()` decodes stdout as UTF-8, which turns every invalid byte into U+FFFD.
 *
 * spawn rather than execa: the stdout Readable read with `for await` gives backpressure (the
 * tool blocks on a full pipe while the consumer parses) and a plain place, the generator's
 * `finally`, to kill the child when the consumer stops early. Fails like `run()`: TOOL_MISSING
 * when the tool is not installed, `failCode` with the tail of stderr when it exits non-zero.
 */
export async function* streamStdout(
  argv: readonly string[],
  options: { input: Uint8Array; failCode?: ExecErrorCode },
): AsyncGenerator<Buffer, void, undefined> {
  const [file, ...args] = argv;
  if (!file) throw new ExecError('COMMAND_FAILED', 'empty command');
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: NodeJS.ErrnoException }>((resolve) => {
    child.once('error', (error) => resolve({ error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  // Only the tail is ever reported; a tool that writes megabytes of warnings must not grow this.
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_KEEP_CHARS);
  });
  // A tool that stops reading (xz on corrupt input, a missing tool) closes the pipe under the
  // write: EPIPE here says nothing its exit status does not say better.
  child.stdin.on('error', () => {});
  child.stdin.end(options.input);
  let done = false;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) yield chunk;
    const result = await exited;
    done = true;
    if ('error' in result) {
      if (result.error.code === 'ENOENT') throw toolMissing(file, argv);
      throw new ExecError(options.failCode ?? 'COMMAND_FAILED', `${file} failed (${result.error.message})`, {
        cause: result.error,
        details: { argv: [...argv] },
      });
    }
    if (result.code !== 0) throw toolFailed(argv, options.failCode, `exit ${result.code ?? result.signal}`, stderrTail(stderr), result.code);
  } finally {
    if (!done) {
      // The consumer stopped early (a parse error mid-stream) or reading failed: nothing will
      // drain the pipe, so the child would wait on it forever.
      child.stdout.destroy();
      child.stderr.destroy();
      child.kill('SIGKILL');
      await exited;
    }
  }
}

const STDERR_KEEP_CHARS = 16 * 1024;

/** A tool that ran and failed: one line with why and the tail of what it said. */
function toolFailed(argv: readonly string[], failCode: ExecErrorCode | undefined, why: string, tail: string, exitCode: number | null | undefined): ExecError {
  return new ExecError(failCode ?? 'COMMAND_FAILED', `${argv[0]} failed (${why})${tail ? `: ${tail}` : ''}`, {
    details: { argv: [...argv], exitCode, stderrTail: tail },
  });
}

function toolMissing(file: string, argv: readonly string[]): ExecError {
  return new ExecError('TOOL_MISSING', `${file} is not installed (apt-get install ${toolPackage(file)})`, {
    details: { argv: [...argv] },
  });
}

/**
 * On `signal`, SIGTERM to the process group `pgid`, SIGKILL after GROUP_GRACE_MS. Once its
 * leader has exited, what is left of a stopped group is a straggler and is killed at once.
 */
function stopGroupOnAbort(pgid: number, signal: AbortSignal): { leaderExited(): void } {
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pgid, sig);
    } catch {
      // the whole group is gone already
    }
  };
  let force: NodeJS.Timeout | undefined;
  const stop = () => {
    kill('SIGTERM');
    force = setTimeout(() => kill('SIGKILL'), GROUP_GRACE_MS);
  };
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  return {
    leaderExited() {
      signal.removeEventListener('abort', stop);
      if (force === undefined) return;
      clearTimeout(force);
      kill('SIGKILL');
    },
  };
}

/** Debian package that ships a tool, for a helpful "not installed" message. */
function toolPackage(file: string): string {
  const known: Record<string, string> = {
    debootstrap: 'debootstrap',
    mmdebstrap: 'mmdebstrap',
    skopeo: 'skopeo',
    podman: 'podman',
    umoci: 'umoci',
    gpg: 'gnupg',
    'docker-registry': 'docker-registry',
    htpasswd: 'apache2-utils',
    openssl: 'openssl',
    getfattr: 'attr',
    setcap: 'libcap2-bin',
    chroot: 'coreutils',
  };
  return known[file] ?? file;
}
