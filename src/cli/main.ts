/**
 * The CLI entry point: parse flags, read the environment once, call one command, print.
 * Errors are caught here and only here, printed as one line (the stack with --debug), and
 * mapped to the exit status table in README.
 */
import { inspect, parseArgs } from 'node:util';
import { ExitStatus, fileSystemError, ImgfactoryError, UsageError } from '../errors.js';
import { imgfactoryVersion } from '../version.js';
import type { Command, CommandContext, Io } from './command.js';
import { commandLoaders, type CommandLoader } from './commands/loaders.js';
import { useProxiesFrom } from './proxy.js';

const GLOBAL_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
  json: { type: 'boolean' },
  version: { type: 'boolean', short: 'V' },
} as const;

/** Every command, loaded: only for the overview, which lists their summaries. */
async function allCommands(): Promise<readonly Command[]> {
  return (await import('./commands/index.js')).commands;
}

function topHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'imgfactory: trusted base images from Debian-signed packages',
    '',
    'Usage: imgfactory <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    '  --json     machine-readable output on stdout',
    '  --debug    print the stack trace of an error',
    '  --help     help for a command (imgfactory <command> --help)',
    '  --version  print the version',
    '',
    'Exit status: 0 ok, 1 verification failed, 2 usage or invalid recipe, 3 internal error,',
    '             4 external tool failed, 5 registry or network failure, 130 interrupted.',
  ].join('\n');
}

function findCommand(argv: readonly string[]): { command: CommandLoader; rest: string[] } | undefined {
  // Longest match first: `archive verify` before `archive`.
  const sorted = [...commandLoaders].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  for (const c of sorted) {
    const words = c.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { command: c, rest: argv.slice(words.length) };
  }
  return undefined;
}

function commandHelp(c: Command): string {
  return `${c.help}\n\nGlobal options: --json, --debug, --help, --version`;
}

export interface MainOptions {
  io?: Io;
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
}

const defaultIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  // Whether the command already put a document on stdout: a --json error then adds none.
  let wroteStdout = false;
  const base = options.io ?? defaultIo;
  const io: Io = {
    out: (t) => {
      wroteStdout = true;
      base.out(t);
    },
    err: (t) => base.err(t),
  };
  const debug = argv.includes('--debug');
  const json = argv.includes('--json');
  try {
    if (argv[0] === '--version' || argv[0] === '-V') {
      io.out(imgfactoryVersion());
      return ExitStatus.ok;
    }
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      io.out(topHelp(await allCommands()));
      return argv.length === 0 ? ExitStatus.usage : ExitStatus.ok;
    }
    const found = findCommand(argv);
    if (!found) {
      const group = commandLoaders.filter((c) => c.name.startsWith(`${argv[0]} `));
      if (group.length > 0) {
        io.err(`imgfactory ${argv[0]}: choose one of: ${group.map((c) => c.name).join(', ')}`);
        return ExitStatus.usage;
      }
      throw new UsageError('UNKNOWN_COMMAND', `unknown command "${argv[0]}" (see imgfactory --help)`);
    }
    const { rest } = found;
    const command = await found.command.load();
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...GLOBAL_OPTIONS, ...command.options },
        allowPositionals: true,
        strict: true,
      });
    } catch (cause) {
      throw new UsageError('BAD_OPTION', `${command.name}: ${(cause as Error).message.split('\n')[0]}`, { cause });
    }
    if (parsed.values.version === true) {
      io.out(imgfactoryVersion());
      return ExitStatus.ok;
    }
    if (parsed.values.help === true) {
      io.out(commandHelp(command));
      return ExitStatus.ok;
    }
    if (parsed.positionals.length < (command.minPositionals ?? 0)) {
      throw new UsageError('MISSING_ARGUMENT', `${command.name}: missing argument (see imgfactory ${command.name} --help)`);
    }
    const ctx: CommandContext = {
      values: parsed.values as CommandContext['values'],
      positionals: parsed.positionals,
      io,
      env: options.env ?? process.env,
      cwd: options.cwd ?? process.cwd(),
      json: parsed.values.json === true,
    };
    const restoreDispatcher = await useProxiesFrom(ctx.env);
    try {
      return (await command.run(ctx)) ?? ExitStatus.ok;
    } finally {
      restoreDispatcher();
    }
  } catch (e) {
    const status = reportError(e, io, debug);
    if (json && !wroteStdout) {
      const typed = e instanceof ImgfactoryError ? e : fileSystemError(e);
      io.out(
        JSON.stringify(
          {
            ok: false,
            code: typed?.code ?? 'INTERNAL',
            exitStatus: status,
            reason: typed?.message ?? (e instanceof Error ? e.message.split('\n')[0] : String(e)),
          },
          null,
          2,
        ),
      );
    }
    return status;
  }
}

export function reportError(e: unknown, io: Io, debug: boolean): number {
  const fsError = fileSystemError(e);
  if (fsError) return reportError(fsError, io, debug);
  if (e instanceof ImgfactoryError) {
    for (const line of e.message.split('\n')) io.err(`error: ${line}`);
    if (debug)
      io.err(
        `[${e.code}] ${e.stack ?? ''}${e.cause ? `\ncaused by: ${e.cause instanceof Error ? (e.cause.stack ?? e.cause.message) : inspect(e.cause)}` : ''}`,
      );
    return e.exitStatus;
  }
  const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
  io.err(`error: internal: ${message}${debug ? '' : ' (run with --debug for the stack trace)'}`);
  if (debug && e instanceof Error) io.err(e.stack ?? '');
  return ExitStatus.internal;
}
