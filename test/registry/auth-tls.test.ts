// TLS with a generated CA, htpasswd (bcrypt) basic auth, bearer tokens; credentials never printed.
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/errors.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { createRegistryClient } from '../../src/registry/client.js';
import { basicCredentials } from '../../src/registry/credentials.js';
import type { LocalRegistry } from '../../src/registry/local-registry.js';
import { pushImage } from '../../src/registry/push.js';
import { parseReference } from '../../src/oci/reference.js';
import { runCli } from '../helpers/cli.js';
import { randomLayer, skopeo, startTestRegistry, tlsArgs, writeTestAttachments, writeTestImage, testDir, type TestImage } from '../helpers/registry.js';

const USER = 'ci-pusher';
const PASSWORD = 'Zq3-very-secret-Pw9';
let registry: LocalRegistry;
let dir: string;
let image: TestImage;

beforeAll(async () => {
  registry = await startTestRegistry({ tls: true, auth: { user: USER, password: PASSWORD } });
  dir = await testDir();
  image = await writeTestImage(join(dir, 'img'), { tag: '1', layers: [await randomLayer(40_000)] });
  await writeTestAttachments(image, [`${registry.host}/secure/img:1`]);
});

/** Environment for the CLI with nothing inherited that could supply other credentials. */
function cliEnv(extra: Record<string, string>): Record<string, string | undefined> {
  return { PATH: process.env.PATH, HOME: dir, ...extra };
}

describe('TLS + basic auth', () => {
  it('pushes over TLS with the generated CA and bcrypt htpasswd credentials; skopeo agrees', async () => {
    const client = createRegistryClient({ registry: registry.host, ca: registry.caPem!, credentials: basicCredentials(USER, PASSWORD, 'test') });
    const r = await pushImage({ layoutDir: image.layoutDir, targets: [parseReference(`${registry.host}/secure/img:1`)], client });
    expect(r.manifestDigest).toBe(image.manifest.digest);
    expect(r.attachmentsPushed).toBe(3);
    const raw = await skopeo(['inspect', '--raw', ...tlsArgs(registry), '--creds', `${USER}:${PASSWORD}`, `docker://${registry.host}/secure/img:1`]);
    expect(sha256Digest(Buffer.from(raw.stdout))).toBe(image.manifest.digest);
  });

  it('does not trust the registry without its CA (no silent fallback), and does not retry a TLS failure', async () => {
    let retries = 0;
    const client = createRegistryClient({
      registry: registry.host,
      credentials: basicCredentials(USER, PASSWORD, 'test'),
      onProgress: (e) => e.type === 'retry' && retries++,
    });
    const err = await client.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe('REGISTRY_UNREACHABLE');
    expect(retries).toBe(0);
  });

  it('no credentials → REGISTRY_UNAUTHORIZED', async () => {
    const client = createRegistryClient({ registry: registry.host, ca: registry.caPem! });
    await expect(client.hasBlob('secure/img', image.manifest.digest)).rejects.toMatchObject({ code: 'REGISTRY_UNAUTHORIZED' });
  });

  it('wrong password → REGISTRY_UNAUTHORIZED; the password is in neither message, details nor inspect output', async () => {
    const wrong = 'wrong-Pw-7731';
    const creds = basicCredentials(USER, wrong, 'test');
    expect(JSON.stringify(creds)).not.toContain(wrong);
    expect(inspect(creds)).not.toContain(wrong);
    const client = createRegistryClient({ registry: registry.host, ca: registry.caPem!, credentials: creds });
    const err = (await client.ping().catch((e: unknown) => e)) as RegistryError;
    expect(err.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(`${err.message} ${JSON.stringify(err.details)} ${inspect(err)}`).not.toContain(wrong);
  });

  it('CLI: wrong password exits 5 with one line on stderr and never prints the password (even with --debug)', async () => {
    const wrong = 'Wr0ng-Secret-Passw0rd';
    for (const extra of [[], ['--debug']]) {
      const r = await runCli(['push', image.layoutDir, `${registry.host}/secure/cli:1`, '--ca-file', registry.caFile!, ...extra], {
        env: cliEnv({ IMGFACTORY_REGISTRY_USER: USER, IMGFACTORY_REGISTRY_PASSWORD: wrong }),
      });
      expect(r.status).toBe(5);
      expect(r.stdout + r.stderr).not.toContain(wrong);
      if (extra.length === 0) {
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/^error: .*authentication failed/);
      } else {
        expect(r.stderr).toContain('[REGISTRY_UNAUTHORIZED]');
      }
    }
    const tags = await createRegistryClient({ registry: registry.host, ca: registry.caPem!, credentials: basicCredentials(USER, PASSWORD, 't') }).listTags(
      'secure/cli',
    );
    expect(tags).toEqual([]);
  });

  it('CLI: credentials from the environment push over TLS; JSON result on stdout; no password anywhere', async () => {
    const r = await runCli(['push', image.layoutDir, `${registry.host}/secure/cli:2`, '--ca-file', registry.caFile!, '--json'], {
      env: cliEnv({ IMGFACTORY_REGISTRY_USER: USER, IMGFACTORY_REGISTRY_PASSWORD: PASSWORD }),
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    const out = JSON.parse(r.stdout);
    expect(out.manifestDigest).toBe(image.manifest.digest);
    expect(out.tagged).toEqual([`${registry.host}/secure/cli:2`]);
  });

  it('CLI: credentials from ~/.docker/config.json auths', async () => {
    const home = join(dir, 'home');
    await mkdir(join(home, '.docker'), { recursive: true });
    await writeFile(
      join(home, '.docker', 'config.json'),
      JSON.stringify({ auths: { [`https://${registry.host}`]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }),
    );
    const r = await runCli(['push', image.layoutDir, `${registry.host}/secure/cli:3`, '--ca-file', registry.caFile!], {
      env: { PATH: process.env.PATH, HOME: home },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${registry.host}/secure/cli:3 ${image.manifest.digest}`);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });
});

describe('bearer tokens', () => {
  // A token service in front of a plain-HTTP registry: /token trades basic credentials for a
  // bearer token bound to the requested scopes; /v2/ requires a token covering the repository.
  let plain: LocalRegistry;
  let port = 0;
  const tokenRequests: string[][] = [];
  const v2Auth: (string | undefined)[] = [];
  const issued = new Map<string, string[]>();
  let server: ReturnType<typeof createServer>;

  beforeAll(async () => {
    plain = await startTestRegistry();
    server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/token') {
        const scopes = u.searchParams.getAll('scope');
        tokenRequests.push(scopes);
        if (req.headers.authorization !== `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`) {
          res.writeHead(401).end();
          return;
        }
        const token = `tok-${issued.size + 1}`;
        issued.set(token, scopes);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
        return;
      }
      v2Auth.push(req.headers.authorization);
      const repo = /^\/v2\/(.+?)\/(?:blobs|manifests|tags)\//.exec(u.pathname)?.[1];
      const token = req.headers.authorization?.replace(/^Bearer /, '');
      const granted = token ? issued.get(token) : undefined;
      const ok = granted !== undefined && (repo === undefined || granted.some((s) => s.startsWith(`repository:${repo}:`)));
      if (!ok) {
        const scope = repo ? `,scope="repository:${repo}:pull,push"` : '';
        res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="test-registry"${scope}` }).end();
        return;
      }
      const headers = { ...req.headers };
      delete headers.authorization;
      const up = httpRequest({ host: '127.0.0.1', port: Number(plain.host.split(':')[1]), method: req.method, path: req.url, headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  it('fetches a token per scope, caches it, and sends basic credentials only to the token realm', async () => {
    const host = `127.0.0.1:${port}`;
    const client = createRegistryClient({ registry: host, insecure: true, credentials: basicCredentials(USER, PASSWORD, 'test') });
    const r = await pushImage({ layoutDir: image.layoutDir, targets: [parseReference(`${host}/tokens/img:1`)], client });
    expect(r.manifestDigest).toBe(image.manifest.digest);
    expect(r.blobsUploaded).toBe(6);
    // One token for the push scope, reused for every blob and manifest request.
    expect(tokenRequests).toEqual([['repository:tokens/img:pull,push']]);
    expect(v2Auth.every((a) => a === undefined || a.startsWith('Bearer '))).toBe(true);
    const raw = await skopeo(['inspect', '--raw', ...tlsArgs(plain), `docker://${plain.host}/tokens/img:1`]);
    expect(sha256Digest(Buffer.from(raw.stdout))).toBe(image.manifest.digest);
  });

  it('a rejected token request → REGISTRY_UNAUTHORIZED without the password', async () => {
    const host = `127.0.0.1:${port}`;
    const client = createRegistryClient({ registry: host, insecure: true, credentials: basicCredentials(USER, 'nope-Secret', 'test') });
    const err = (await client.hasBlob('tokens/other', image.manifest.digest).catch((e: unknown) => e)) as RegistryError;
    expect(err.code).toBe('REGISTRY_UNAUTHORIZED');
    expect(`${err.message} ${JSON.stringify(err.details)}`).not.toContain('nope-Secret');
  });
});
