/**
 * The embedded private registry: Debian's docker-registry (distribution 2.8) on a loopback
 * port, filesystem storage in a temporary directory, optionally htpasswd (bcrypt) basic auth
 * and TLS with a CA generated on the spot. Used by `imgfactory registry serve`, the README
 * demo and the tests.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecError, RegistryError } from '../errors.js';
import { run, stderrTail } from '../exec.js';
import { caDispatcher } from './tls.js';

export interface LocalRegistryOptions {
  readonly tls?: boolean;
  readonly auth?: { readonly user: string; readonly password: string };
  /** Kept on stop() when given; a fresh temporary directory otherwise. */
  readonly storageDir?: string;
  /** Loopback port; a free one when omitted. */
  readonly port?: number;
  /** Signs upload-session state: fixed so sessions survive restart(). Random per registry when omitted. */
  readonly httpSecret?: string;
  /** Write the registry's access log (one line per request) to logLines(). */
  readonly accessLog?: boolean;
}

export interface LocalRegistry {
  /** `127.0.0.1:PORT`: the registry part of image references. */
  readonly host: string;
  readonly url: string;
  /** PEM file of the generated CA (TLS only). */
  readonly caFile?: string;
  readonly caPem?: string;
  /** A directory holding only `ca.crt`, for skopeo/podman `--cert-dir`. */
  readonly certDir?: string;
  readonly storageDir: string;
  /** Recent output of the registry process (bounded). */
  logLines(): readonly string[];
  /** Stop the process abruptly (SIGTERM: distribution exits at once without a drain timeout); storage is kept. */
  kill(): Promise<void>;
  /** Start again on the same port with the same storage and secret. */
  restart(): Promise<void>;
  /** Stop and delete the temporary files (and storage, unless the caller supplied it). */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;
const MAX_LOG_LINES = 2000;

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Fail early and clearly when the port is taken: otherwise the readiness probe could be
 * answered by whatever already listens there, and a dead registry would be reported as running.
 */
async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE' || e.code === 'EACCES'
          ? new RegistryError(
              'REGISTRY_PORT_IN_USE',
              `127.0.0.1:${port}: ${e.code === 'EACCES' ? 'not allowed to listen on this port' : 'the port is already in use'}`,
              {
                details: { port },
              },
            )
          : e,
      ),
    );
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
  });
}

/** A CA and a server certificate for 127.0.0.1/localhost, made with openssl. */
async function generateTls(dir: string): Promise<{ caFile: string; certFile: string; keyFile: string; certDir: string }> {
  await mkdir(dir, { recursive: true });
  const p = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(
    [
      'openssl',
      'req',
      '-x509',
      ...ec,
      '-keyout',
      p('ca.key'),
      '-out',
      p('ca.crt'),
      '-days',
      '30',
      '-subj',
      '/CN=imgfactory local registry CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    { failCode: 'COMMAND_FAILED' },
  );
  await run(['openssl', 'req', '-new', ...ec, '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=localhost'], { failCode: 'COMMAND_FAILED' });
  await writeFile(
    p('server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
  );
  await run(
    [
      'openssl',
      'x509',
      '-req',
      '-in',
      p('server.csr'),
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p('server.crt'),
      '-days',
      '30',
      '-extfile',
      p('server.ext'),
    ],
    { failCode: 'COMMAND_FAILED' },
  );
  // containers/image reads every *.key in a --cert-dir as a client key: give it the CA alone.
  const certDir = join(dir, 'certs');
  await mkdir(certDir, { recursive: true });
  await copyFile(p('ca.crt'), join(certDir, 'ca.crt'));
  return { caFile: join(certDir, 'ca.crt'), certFile: p('server.crt'), keyFile: p('server.key'), certDir };
}

/** An htpasswd line with a bcrypt hash; the password goes through stdin, never argv. */
async function htpasswdLine(user: string, password: string): Promise<string> {
  const { stdout } = await run(['htpasswd', '-B', '-i', '-n', user], { input: password, failCode: 'COMMAND_FAILED' });
  const line = stdout.trim();
  if (!line.startsWith(`${user}:$2`)) throw new ExecError('COMMAND_FAILED', 'htpasswd did not produce a bcrypt entry');
  return `${line}\n`;
}

export async function startLocalRegistry(options: LocalRegistryOptions = {}): Promise<LocalRegistry> {
  if (options.port !== undefined) await assertPortFree(options.port);
  const workDir = await mkdtemp(join(tmpdir(), 'imgfactory-registry-'));
  try {
    const storageDir = options.storageDir ?? join(workDir, 'storage');
    await mkdir(storageDir, { recursive: true });
    const port = options.port ?? (await freeLoopbackPort());
    const host = `127.0.0.1:${port}`;
    const tls = options.tls ? await generateTls(join(workDir, 'tls')) : undefined;
    const caPem = tls ? await readFile(tls.caFile, 'utf8') : undefined;
    let htpasswdFile: string | undefined;
    if (options.auth) {
      htpasswdFile = join(workDir, 'htpasswd');
      await writeFile(htpasswdFile, await htpasswdLine(options.auth.user, options.auth.password), { mode: 0o600 });
    }
    // JSON is YAML: no YAML writer needed for distribution's config.yml.
    const config = {
      version: '0.1',
      log: { level: 'warn', formatter: 'text', accesslog: { disabled: !options.accessLog } },
      storage: {
        filesystem: { rootdirectory: storageDir },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: {
        addr: host,
        secret: options.httpSecret ?? randomBytes(24).toString('hex'),
        ...(tls ? { tls: { certificate: tls.certFile, key: tls.keyFile } } : {}),
      },
      ...(htpasswdFile ? { auth: { htpasswd: { realm: 'imgfactory', path: htpasswdFile } } } : {}),
    };
    const configFile = join(workDir, 'config.yml');
    await writeFile(configFile, JSON.stringify(config, null, 2), { mode: 0o600 });

    const url = `${tls ? 'https' : 'http'}://${host}`;
    const dispatcher = caPem ? caDispatcher(caPem) : undefined;
    const lines: string[] = [];
    let proc: { abort: AbortController; done: Promise<void>; exited: boolean } | undefined;

    const start = async () => {
      const abort = new AbortController();
      const state = { abort, exited: false, done: Promise.resolve() };
      state.done = run(['docker-registry', 'serve', configFile], {
        signal: abort.signal,
        // No inherited REGISTRY_* variables: they would override the generated configuration.
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        extendEnv: false,
        onLine: (line) => {
          lines.push(line);
          if (lines.length > MAX_LOG_LINES) lines.splice(0, lines.length - MAX_LOG_LINES);
        },
      }).then(
        () => {
          state.exited = true;
        },
        (e: unknown) => {
          state.exited = true;
          if (!abort.signal.aborted) lines.push(`imgfactory: docker-registry ended: ${(e as Error).message}`);
        },
      );
      proc = state;
      const deadline = Date.now() + READY_TIMEOUT_MS;
      for (;;) {
        if (state.exited) throw startupFailure();
        try {
          const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2000), ...(dispatcher ? { dispatcher } : {}) });
          await res.body?.cancel();
          if (res.status === 200 || res.status === 401) {
            // Something answered; make sure it is our process (a bind failure ends it at once).
            await new Promise((r) => setTimeout(r, 150));
            if (state.exited) throw startupFailure();
            return;
          }
        } catch (e) {
          if (e instanceof ExecError || e instanceof RegistryError) throw e;
          // Not listening yet.
        }
        if (Date.now() > deadline) {
          abort.abort();
          await state.done;
          throw new ExecError('COMMAND_FAILED', `docker-registry did not answer on ${url}/v2/ within ${READY_TIMEOUT_MS / 1000}s`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    function startupFailure(): Error {
      const log = lines.join('\n');
      if (/address already in use/i.test(log)) {
        return new RegistryError('REGISTRY_PORT_IN_USE', `${host}: the port is already in use`, { details: { port } });
      }
      return new ExecError('COMMAND_FAILED', `docker-registry exited during startup: ${stderrTail(log, 3)}`);
    }

    const kill = async () => {
      const p = proc;
      proc = undefined;
      if (!p) return;
      p.abort.abort();
      await p.done;
    };

    await start();
    return {
      host,
      url,
      ...(tls ? { caFile: tls.caFile, certDir: tls.certDir, caPem } : {}),
      storageDir,
      logLines: () => [...lines],
      kill,
      async restart() {
        await kill();
        await start();
      },
      async stop() {
        await kill();
        await rm(workDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await rm(workDir, { recursive: true, force: true });
    throw e;
  }
}
