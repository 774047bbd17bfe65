/**
 * README "Environment": the proxy variables reach imgfactory's own downloads (archive files and
 * registry requests), not only debootstrap and apt. The hosts are under `.invalid`, which no
 * resolver answers: a request can only arrive through the proxy, and the proxy below records
 * each absolute URI it is asked for (answering 404 itself, as an origin would).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { proxyFor, proxySettings } from '../../src/cli/proxy.js';
import { generateSigningKey } from '../../src/pgp/keys.js';
import { runCli } from '../helpers/cli.js';

let proxy: Server;
let proxyUrl: string;
let seen: string[] = [];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgfactory-proxy-'));
  proxy = createServer((req, res) => {
    // Through a tunnel the request line is relative: the Host header names the origin.
    const url = req.url ?? '';
    seen.push(url.startsWith('/') ? `http://${req.headers.host}${url}` : url);
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not here\n');
  });
  // undici's ProxyAgent tunnels with CONNECT, also for http:// origins: accept the tunnel and
  // answer inside it as the origin.
  proxy.on('connect', (req, socket: Socket) => {
    seen.push(`CONNECT ${req.url}`);
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    proxy.emit('connection', socket);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => proxy.close(r));
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  seen = [];
});

const archiveArgs = ['archive', 'verify', '--suite', 'bookworm', '--no-updates', '--mirror', 'http://archive.invalid/debian'];
const baseEnv = () => ({ PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: join(dir, 'cache') });

describe("proxy variables reach imgfactory's own HTTP", () => {
  it('archive downloads go through http_proxy', async () => {
    const r = await runCli([...archiveArgs, '--security-mirror', 'http://security.invalid/debian-security'], {
      env: { ...baseEnv(), http_proxy: proxyUrl },
    });
    expect(seen.slice(0, 2)).toEqual(['CONNECT archive.invalid:80', 'http://archive.invalid/debian/dists/bookworm/InRelease']);
    expect(r.status).toBe(5); // the "origin" said 404: a fetch failure, after the retries
  }, 30_000);

  it('HTTP_PROXY (upper case) works too; registry requests go through it', async () => {
    const key = join(dir, 'pub.asc');
    await writeFile(key, (await generateSigningKey({ name: 'Proxy', email: 'proxy@imgfactory.invalid', type: 'ed25519' })).publicKeyArmored);
    const r = await runCli(['pull', 'registry.invalid:5000/base/x:1', '--insecure', '--key', key, '--out', join(dir, 'out')], {
      env: { ...baseEnv(), HTTP_PROXY: proxyUrl },
    });
    expect(seen[0]).toBe('CONNECT registry.invalid:5000');
    expect(seen[1]).toMatch(/^http:\/\/registry\.invalid:5000\/v2\//);
    expect(r.status).toBe(5);
  }, 30_000);

  it('no_proxy keeps a host direct: nothing reaches the proxy', async () => {
    const r = await runCli([...archiveArgs, '--security-mirror', 'http://security.invalid/debian-security'], {
      env: { ...baseEnv(), http_proxy: proxyUrl, no_proxy: 'archive.invalid,security.invalid' },
    });
    expect(seen).toEqual([]);
    expect(r.status).toBe(5); // .invalid does not resolve
  }, 30_000);

  it('without proxy variables nothing reaches the proxy', async () => {
    const r = await runCli([...archiveArgs, '--security-mirror', 'http://security.invalid/debian-security'], { env: baseEnv() });
    expect(seen).toEqual([]);
    expect(r.status).toBe(5);
  }, 30_000);
});

describe('a malformed proxy variable', () => {
  it.each([
    ['https_proxy', 'socks5://user:s3cret@p:1080', 'only http:// and https:// proxies are supported'],
    ['HTTP_PROXY', 'http://user:s3cret@', 'not a valid proxy URL'],
  ])('%s=%s: exit 2 naming the variable, the value (and its password) not echoed, nothing fetched', async (variable, value, reason) => {
    const r = await runCli([...archiveArgs, '--security-mirror', 'http://security.invalid/debian-security', '--json'], {
      env: { ...baseEnv(), [variable]: value },
    });
    expect(r.status).toBe(2);
    const error = JSON.parse(r.stdout) as { code: string; reason: string };
    expect(error).toMatchObject({ code: 'BAD_ENVIRONMENT', reason: `${variable}: ${reason}` });
    expect(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('error:')),
    ).toEqual([`error: ${variable}: ${reason}`]);
    expect(r.stdout + r.stderr).not.toContain('s3cret');
    expect(seen).toEqual([]);
  });

  it('a proxy without a scheme is http:// (as curl reads it)', () => {
    expect(proxySettings({ http_proxy: 'p.corp:3128' })?.httpProxy).toBe('http://p.corp:3128');
  });
});

describe('proxySettings and proxyFor', () => {
  it('reads lower case before upper case; https falls back to http_proxy; loopback stays direct', () => {
    expect(proxySettings({})).toBeUndefined();
    expect(proxySettings({ HTTPS_PROXY: 'http://p:3128', https_proxy: 'http://q:3128', NO_PROXY: '.corp' })).toEqual({
      httpProxy: '',
      httpsProxy: 'http://q:3128',
      noProxy: ['.corp', 'localhost', '127.0.0.1', '[::1]'],
    });
    expect(proxySettings({ http_proxy: 'http://p:3128' })?.httpsProxy).toBe('http://p:3128');
  });

  it('no_proxy: names with their subdomains, .suffix, *.suffix, :port, *', () => {
    const s = proxySettings({ http_proxy: 'http://p:3128', no_proxy: 'mirror.corp, .internal,*.lan,reg.example:5000' })!;
    const via = (u: string) => proxyFor(new URL(u), s);
    expect(via('http://mirror.corp/debian')).toBeUndefined();
    expect(via('http://a.mirror.corp/debian')).toBeUndefined();
    expect(via('http://notmirror.corp/debian')).toBe('http://p:3128');
    expect(via('https://x.internal/')).toBeUndefined();
    expect(via('http://box.lan/')).toBeUndefined();
    expect(via('https://reg.example:5000/v2/')).toBeUndefined();
    expect(via('https://reg.example:5001/v2/')).toBe('http://p:3128');
    expect(via('http://127.0.0.1:5000/v2/')).toBeUndefined();
    expect(via('http://[::1]:5000/v2/')).toBeUndefined();
    expect(via('http://localhost:5000/v2/')).toBeUndefined();
    expect(proxyFor(new URL('http://anything/'), proxySettings({ http_proxy: 'http://p:1', no_proxy: '*' })!)).toBeUndefined();
  });
});
