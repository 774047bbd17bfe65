/**
 * Registry credentials: from imgfactory's environment variables, or from the Docker client
 * configuration (`auths`, `credHelpers`, `credsStore` through `docker-credential-<helper> get`).
 * The secret is a non-enumerable property, so logging or JSON-serializing credentials by
 * accident prints no password.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ExecError, RegistryError } from '../errors.js';
import { run } from '../exec.js';
import { DEFAULT_REGISTRY } from '../oci/reference.js';

export interface Credentials {
  /** `<token>` marks an identity (refresh) token, as Docker credential helpers do. */
  readonly username: string;
  /** Non-enumerable: absent from JSON.stringify and console.log. */
  readonly secret: string;
  readonly identityToken: boolean;
  /** Where they came from, for messages: `environment`, `~/.docker/config.json auths`, `credHelper pass`. */
  readonly source: string;
}

export const ENV_USER = 'IMGFACTORY_REGISTRY_USER';
export const ENV_PASSWORD = 'IMGFACTORY_REGISTRY_PASSWORD';

const IDENTITY_TOKEN_USER = '<token>';
/** Docker Hub credentials are stored under its legacy index URL. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

export function basicCredentials(username: string, password: string, source: string): Credentials {
  return makeCredentials(username, password, false, source);
}

function makeCredentials(username: string, secret: string, identityToken: boolean, source: string): Credentials {
  const c = { username, identityToken, source };
  Object.defineProperty(c, 'secret', { value: secret, enumerable: false });
  return Object.freeze(c) as Credentials;
}

export interface DockerAuthEntry {
  readonly auth?: string;
  readonly username?: string;
  readonly password?: string;
  readonly identitytoken?: string;
}

export interface DockerConfig {
  readonly auths: Readonly<Record<string, DockerAuthEntry>>;
  readonly credHelpers: Readonly<Record<string, string>>;
  readonly credsStore?: string;
}

/** Parse `config.json` (input from outside: only the fields used, each type-checked). */
export function parseDockerConfig(value: unknown, file: string): DockerConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RegistryError('CREDENTIALS_UNAVAILABLE', `${file}: not a JSON object`);
  }
  const v = value as Record<string, unknown>;
  const auths: Record<string, DockerAuthEntry> = {};
  if (v.auths !== undefined) {
    if (typeof v.auths !== 'object' || v.auths === null) throw new RegistryError('CREDENTIALS_UNAVAILABLE', `${file}: auths: expected an object`);
    for (const [key, entry] of Object.entries(v.auths as Record<string, unknown>)) {
      if (typeof entry !== 'object' || entry === null) continue;
      const e = entry as Record<string, unknown>;
      const str = (k: string) => (typeof e[k] === 'string' && e[k] !== '' ? (e[k] as string) : undefined);
      auths[key] = { auth: str('auth'), username: str('username'), password: str('password'), identitytoken: str('identitytoken') };
    }
  }
  const credHelpers: Record<string, string> = {};
  if (v.credHelpers !== undefined) {
    if (typeof v.credHelpers !== 'object' || v.credHelpers === null) {
      throw new RegistryError('CREDENTIALS_UNAVAILABLE', `${file}: credHelpers: expected an object`);
    }
    for (const [key, helper] of Object.entries(v.credHelpers as Record<string, unknown>)) {
      if (typeof helper === 'string' && helper !== '') credHelpers[key] = helper;
    }
  }
  const credsStore = typeof v.credsStore === 'string' && v.credsStore !== '' ? v.credsStore : undefined;
  return { auths, credHelpers, ...(credsStore ? { credsStore } : {}) };
}

/** `https://host:5000/v2/` and `host:5000` name the same registry in config.json. */
export function normalizeConfigKey(key: string): string {
  const withoutScheme = key.replace(/^[a-z]+:\/\//i, '');
  const host = withoutScheme.split('/')[0] ?? '';
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DEFAULT_REGISTRY : host;
}

function lookup<T>(table: Readonly<Record<string, T>>, registry: string): T | undefined {
  if (table[registry] !== undefined) return table[registry];
  for (const [key, value] of Object.entries(table)) if (normalizeConfigKey(key) === registry) return value;
  return undefined;
}

/** Credentials written inline in `auths` (base64 `auth`, or username/password, or identitytoken). */
export function inlineAuth(config: DockerConfig, registry: string, file: string): Credentials | undefined {
  const entry = lookup(config.auths, registry);
  if (!entry) return undefined;
  const source = `${file} auths`;
  if (entry.identitytoken) return makeCredentials(entry.username ?? IDENTITY_TOKEN_USER, entry.identitytoken, true, source);
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const sep = decoded.indexOf(':');
    if (sep <= 0) throw new RegistryError('CREDENTIALS_UNAVAILABLE', `${file}: auths.${registry}.auth is not base64 of user:password`);
    return makeCredentials(decoded.slice(0, sep), decoded.slice(sep + 1), false, source);
  }
  if (entry.username && entry.password) return makeCredentials(entry.username, entry.password, false, source);
  return undefined;
}

export function helperServerUrl(registry: string): string {
  return registry === DEFAULT_REGISTRY ? DOCKER_HUB_KEY : registry;
}

/** Parse a credential helper's `get` answer: `{"ServerURL":…,"Username":…,"Secret":…}`. */
export function parseHelperOutput(stdout: string, helper: string): Credentials | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    // Never echo the output: it may hold the secret.
    throw new RegistryError('CREDENTIALS_UNAVAILABLE', `docker-credential-${helper} get: output is not JSON`);
  }
  const p = parsed as { Username?: unknown; Secret?: unknown };
  if (typeof p.Secret !== 'string' || p.Secret === '') return undefined;
  const username = typeof p.Username === 'string' ? p.Username : '';
  return makeCredentials(username, p.Secret, username === IDENTITY_TOKEN_USER, `credential helper ${helper}`);
}

async function fromHelper(helper: string, registry: string, env: Readonly<Record<string, string | undefined>>, file: string): Promise<Credentials | undefined> {
  if (!/^[A-Za-z0-9_.-]+$/.test(helper)) {
    throw new RegistryError('CREDENTIALS_UNAVAILABLE', `${file}: invalid credential helper name ${JSON.stringify(helper)}`);
  }
  let result;
  try {
    result = await run([`docker-credential-${helper}`, 'get'], {
      input: helperServerUrl(registry),
      // Helpers such as pass or secretservice need the caller's whole environment (GNUPGHOME, DBUS…).
      env: { ...env },
      extendEnv: false,
      okExitCodes: [1],
      timeoutMs: 30_000,
    });
  } catch (cause) {
    const missing = cause instanceof ExecError && cause.code === 'TOOL_MISSING';
    throw new RegistryError(
      'CREDENTIALS_UNAVAILABLE',
      missing ? `docker-credential-${helper} (named in ${file}) is not installed` : `docker-credential-${helper} get failed for ${registry}`,
      { details: { helper, registry } },
    );
  }
  if (result.exitCode !== 0) {
    // Helpers say "credentials not found in native keychain" on exit 1: no credentials, not an error.
    if (/not found/i.test(result.stdout + result.stderr)) return undefined;
    throw new RegistryError('CREDENTIALS_UNAVAILABLE', `docker-credential-${helper} get failed for ${registry}`, {
      details: { helper, registry, exitCode: result.exitCode },
    });
  }
  return parseHelperOutput(result.stdout, helper);
}

export interface ResolveCredentialsOptions {
  /** `host[:port]` as in the image reference. */
  readonly registry: string;
  /** The environment, read once by the caller. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Defaults to `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
  readonly dockerConfigPath?: string;
}

/**
 * Credentials for one registry, or undefined for anonymous access. Order: the
 * IMGFACTORY_REGISTRY_USER/PASSWORD pair; then config.json's credHelpers entry for the
 * registry, its credsStore, and its inline auths (the order the Docker client uses).
 */
export async function resolveCredentials(options: ResolveCredentialsOptions): Promise<Credentials | undefined> {
  const { registry, env } = options;
  const user = env[ENV_USER];
  const password = env[ENV_PASSWORD];
  if (user !== undefined || password !== undefined) {
    if (!user || !password) {
      throw new RegistryError('CREDENTIALS_UNAVAILABLE', `set both ${ENV_USER} and ${ENV_PASSWORD}, or neither`);
    }
    return makeCredentials(user, password, false, 'environment');
  }
  const file = options.dockerConfigPath ?? join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RegistryError('CREDENTIALS_UNAVAILABLE', `${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RegistryError('CREDENTIALS_UNAVAILABLE', `${file}: not valid JSON`);
  }
  const config = parseDockerConfig(json, file);
  const helper = lookup(config.credHelpers, registry);
  if (helper) return fromHelper(helper, registry, env, file);
  if (config.credsStore) {
    const stored = await fromHelper(config.credsStore, registry, env, file);
    if (stored) return stored;
  }
  return inlineAuth(config, registry, file);
}
