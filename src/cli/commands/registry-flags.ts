/**
 * The registry connection flags, the same on every command that talks to a registry (push,
 * pull, verify, build --push): --ca-file, --insecure, --username with --password-stdin.
 */
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { createRegistryClient, type RegistryClient } from '../../registry/client.js';
import { basicCredentials, ENV_USER, resolveCredentials, type Credentials } from '../../registry/credentials.js';
import { boolOpt, stringOpt, type CommandContext, type OptionSpec } from '../command.js';

export const REGISTRY_OPTIONS: OptionSpec = {
  'ca-file': { type: 'string' },
  insecure: { type: 'boolean' },
  username: { type: 'string' },
  'password-stdin': { type: 'boolean' },
};

export const REGISTRY_OPTIONS_HELP = `  --ca-file <pem>        trust this CA for the registry's TLS certificate
  --insecure             plain HTTP (never used unless asked)
  --username <user>      with --password-stdin: credentials for every registry named
  --password-stdin       read the password for --username from stdin
Credentials: --username/--password-stdin, else IMGFACTORY_REGISTRY_USER/IMGFACTORY_REGISTRY_PASSWORD,
else ~/.docker/config.json (auths, credHelpers, credsStore), else anonymous.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Credentials given on the command line (--username + --password-stdin), if any. */
export async function credentialsFromFlags(ctx: CommandContext, command: string): Promise<Credentials | undefined> {
  if (boolOpt(ctx, 'password-stdin')) {
    const user = stringOpt(ctx, 'username') ?? ctx.env[ENV_USER];
    if (!user) throw new UsageError('MISSING_ARGUMENT', `${command}: --password-stdin needs --username (or ${ENV_USER})`);
    const password = await readStdin();
    if (!password) throw new UsageError('MISSING_ARGUMENT', `${command}: --password-stdin: no password on stdin`);
    return basicCredentials(user, password, '--password-stdin');
  }
  if (stringOpt(ctx, 'username') !== undefined) throw new UsageError('BAD_OPTION', `${command}: --username needs --password-stdin`);
  return undefined;
}

export interface RegistryConnection {
  readonly insecure?: boolean;
  readonly caFile?: string;
  readonly credentials?: Credentials;
}

export async function registryConnectionFromFlags(ctx: CommandContext, command: string): Promise<RegistryConnection> {
  const caFile = stringOpt(ctx, 'ca-file');
  const credentials = await credentialsFromFlags(ctx, command);
  return {
    ...(boolOpt(ctx, 'insecure') ? { insecure: true } : {}),
    ...(caFile ? { caFile: resolve(ctx.cwd, caFile) } : {}),
    ...(credentials ? { credentials } : {}),
  };
}

export async function registryClientFromFlags(
  ctx: CommandContext,
  registry: string,
  options: { readonly command: string; readonly signal?: AbortSignal },
): Promise<RegistryClient> {
  const connection = await registryConnectionFromFlags(ctx, options.command);
  const credentials = connection.credentials ?? (await resolveCredentials({ registry, env: ctx.env }));
  return createRegistryClient({
    registry,
    ...connection,
    ...(credentials ? { credentials } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
