// Run the CLI in-process with captured output: commands are plain functions, so tests call main().
import { main } from '../../src/cli/main.js';

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export async function runCli(argv: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const status = await main(argv, {
    io: { out: (t) => (stdout += t.endsWith('\n') ? t : `${t}\n`), err: (t) => (stderr += t.endsWith('\n') ? t : `${t}\n`) },
    cwd: opts.cwd,
    env: opts.env ?? process.env,
  });
  return { status, stdout, stderr };
}
