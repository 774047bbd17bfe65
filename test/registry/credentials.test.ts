// Credentials from the environment and from a Docker config, including real credential helpers
// (small executables on PATH that speak the docker-credential-helpers protocol).
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveCredentials } from '../../src/registry/credentials.js';
import { testDir } from '../helpers/registry.js';

let dir: string;
let bin: string;
const HOST = '127.0.0.1:5999';

async function config(name: string, value: unknown): Promise<string> {
  const d = join(dir, name);
  await mkdir(d, { recursive: true });
  await writeFile(join(d, 'config.json'), typeof value === 'string' ? value : JSON.stringify(value));
  return d;
}

beforeAll(async () => {
  dir = await testDir();
  bin = join(dir, 'bin');
  await mkdir(bin);
  // Answers for HOST only, records what it was asked, like docker-credential-pass would.
  await writeFile(
    join(bin, 'docker-credential-imgtest'),
    `#!/bin/sh
[ "$1" = get ] || exit 2
read server
printf '%s' "$server" > "${dir}/asked"
if [ "$server" = "${HOST}" ]; then
  printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper-Secret-1"}' "$server"
else
  echo "credentials not found in native keychain"; exit 1
fi
`,
  );
  await writeFile(join(bin, 'docker-credential-broken'), '#!/bin/sh\necho "leaked-Secret-9 oops" >&2\nexit 3\n');
  await writeFile(join(bin, 'docker-credential-token'), '#!/bin/sh\nread s\nprintf \'{"Username":"<token>","Secret":"refresh-123"}\'\n');
  for (const f of ['docker-credential-imgtest', 'docker-credential-broken', 'docker-credential-token']) await chmod(join(bin, f), 0o755);
});

const env = (extra: Record<string, string> = {}) => ({ PATH: `${bin}:${process.env.PATH}`, HOME: join(dir, 'nohome'), ...extra });

describe('resolveCredentials', () => {
  it('takes IMGFACTORY_REGISTRY_USER/PASSWORD first; the secret does not serialize', async () => {
    const c = await resolveCredentials({ registry: HOST, env: env({ IMGFACTORY_REGISTRY_USER: 'u', IMGFACTORY_REGISTRY_PASSWORD: 'env-Secret-2' }) });
    expect(c).toMatchObject({ username: 'u', secret: 'env-Secret-2', source: 'environment', identityToken: false });
    expect(JSON.stringify(c)).not.toContain('env-Secret-2');
    expect(inspect(c)).not.toContain('env-Secret-2');
  });

  it('refuses half an environment pair', async () => {
    await expect(resolveCredentials({ registry: HOST, env: env({ IMGFACTORY_REGISTRY_USER: 'u' }) })).rejects.toMatchObject({
      code: 'CREDENTIALS_UNAVAILABLE',
    });
  });

  it('no config file → anonymous', async () => {
    expect(await resolveCredentials({ registry: HOST, env: env() })).toBeUndefined();
  });

  it('reads base64 auth, username/password and identity tokens from auths (keys with scheme and path match)', async () => {
    const d = await config('auths', {
      auths: {
        [`https://${HOST}/v2/`]: { auth: Buffer.from('alice:pa:ss').toString('base64') },
        'other.example': { username: 'bob', password: 'pw' },
        'tok.example': { identitytoken: 'refresh-xyz' },
      },
    });
    expect(await resolveCredentials({ registry: HOST, env: env({ DOCKER_CONFIG: d }) })).toMatchObject({ username: 'alice', secret: 'pa:ss' });
    expect(await resolveCredentials({ registry: 'other.example', env: env(), dockerConfigPath: join(d, 'config.json') })).toMatchObject({
      username: 'bob',
      secret: 'pw',
    });
    expect(await resolveCredentials({ registry: 'tok.example', env: env({ DOCKER_CONFIG: d }) })).toMatchObject({ identityToken: true, secret: 'refresh-xyz' });
    expect(await resolveCredentials({ registry: 'none.example', env: env({ DOCKER_CONFIG: d }) })).toBeUndefined();
  });

  it('runs the credHelpers entry with the server on stdin', async () => {
    const d = await config('helpers', { credHelpers: { [HOST]: 'imgtest' }, auths: { [HOST]: { auth: Buffer.from('file:user').toString('base64') } } });
    const c = await resolveCredentials({ registry: HOST, env: env({ DOCKER_CONFIG: d }) });
    expect(c).toMatchObject({ username: 'helper-user', secret: 'helper-Secret-1', source: 'credential helper imgtest' });
    expect(await readFile(join(dir, 'asked'), 'utf8')).toBe(HOST);
  });

  it('uses credsStore, falling back to inline auths when the store has nothing', async () => {
    const d = await config('store', { credsStore: 'imgtest', auths: { 'fallback.example': { auth: Buffer.from('inline:pw').toString('base64') } } });
    expect(await resolveCredentials({ registry: HOST, env: env({ DOCKER_CONFIG: d }) })).toMatchObject({ username: 'helper-user' });
    expect(await resolveCredentials({ registry: 'fallback.example', env: env({ DOCKER_CONFIG: d }) })).toMatchObject({ username: 'inline' });
    expect(await resolveCredentials({ registry: 'nothing.example', env: env({ DOCKER_CONFIG: d }) })).toBeUndefined();
  });

  it('reads an identity token from a helper', async () => {
    const d = await config('tokhelper', { credHelpers: { 'tok.example': 'token' } });
    expect(await resolveCredentials({ registry: 'tok.example', env: env({ DOCKER_CONFIG: d }) })).toMatchObject({ identityToken: true, secret: 'refresh-123' });
  });

  it('a missing or failing helper → CREDENTIALS_UNAVAILABLE, without echoing its output', async () => {
    const d = await config('bad', { credHelpers: { [HOST]: 'missing', 'b.example': 'broken' } });
    await expect(resolveCredentials({ registry: HOST, env: env({ DOCKER_CONFIG: d }) })).rejects.toMatchObject({
      code: 'CREDENTIALS_UNAVAILABLE',
      message: expect.stringContaining('docker-credential-missing'),
    });
    const e = await resolveCredentials({ registry: 'b.example', env: env({ DOCKER_CONFIG: d }) }).catch((x: unknown) => x as Error);
    expect(e).toMatchObject({ code: 'CREDENTIALS_UNAVAILABLE' });
    expect(`${(e as Error).message} ${JSON.stringify((e as { details?: unknown }).details)}`).not.toContain('leaked-Secret-9');
  });

  it('malformed config.json → CREDENTIALS_UNAVAILABLE naming the file', async () => {
    const d = await config('malformed', '{ not json');
    await expect(resolveCredentials({ registry: HOST, env: env({ DOCKER_CONFIG: d }) })).rejects.toMatchObject({
      code: 'CREDENTIALS_UNAVAILABLE',
      message: expect.stringContaining(join(d, 'config.json')),
    });
  });
});
