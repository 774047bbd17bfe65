/** Progress lines on stderr: `[  12.3s] stage: message`. Quiet under --json unless asked. */
import type { Io } from './command.js';

export interface Progress {
  stage(name: string, message?: string): void;
  info(message: string): void;
  elapsedSeconds(): number;
}

export function createProgress(io: Io, enabled = true, now: () => number = () => performance.now()): Progress {
  const start = now();
  let current = '';
  const stamp = () => `[${((now() - start) / 1000).toFixed(1).padStart(6)}s]`;
  return {
    stage(name, message) {
      current = name;
      if (enabled) io.err(`${stamp()} ${name}${message ? `: ${message}` : ''}`);
    },
    info(message) {
      if (enabled) io.err(`${stamp()} ${current ? `${current}: ` : ''}${message}`);
    },
    elapsedSeconds: () => (now() - start) / 1000,
  };
}
