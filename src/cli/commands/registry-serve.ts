import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { startLocalRegistry } from '../../registry/local-registry.js';
import { startLookasideServer } from '../../registry/lookaside-server.js';
import { boolOpt, printJson, stringOpt, type Command } from '../command.js';

/** Resolves on the first SIGINT or SIGTERM; the handlers are removed again afterwards. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      done(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export const registryServeCommand: Command = {
  name: 'registry serve',
  summary: 'Run a local private registry and lookaside signature server until interrupted',
  help: `Usage: imgfactory registry serve [--tls] [--user <u> --password-file <f>] [--port <n>] [options]

Starts Debian's docker-registry on 127.0.0.1 (temporary storage unless --storage-dir) and a
static server for a lookaside signature directory, prints their addresses, and runs until
SIGINT or SIGTERM.

Options:
  --tls                  serve HTTPS with a CA generated now (its path is printed)
  --user <u>             require basic auth (htpasswd, bcrypt) for this user ...
  --password-file <f>    ... with the password in this file
  --port <n>             registry port (default: a free one)
  --storage-dir <dir>    keep the registry's storage there
  --lookaside-dir <dir>  directory to serve as the lookaside store (default: a temporary one)

Fails (exit 5) when the port is already in use, and removes what it created.`,
  options: {
    tls: { type: 'boolean' },
    user: { type: 'string' },
    'password-file': { type: 'string' },
    port: { type: 'string' },
    'storage-dir': { type: 'string' },
    'lookaside-dir': { type: 'string' },
  },
  async run(ctx) {
    const user = stringOpt(ctx, 'user');
    const passwordFile = stringOpt(ctx, 'password-file');
    if ((user === undefined) !== (passwordFile === undefined)) {
      throw new UsageError('MISSING_ARGUMENT', 'registry serve: --user and --password-file go together');
    }
    const portText = stringOpt(ctx, 'port');
    const port = portText === undefined ? undefined : Number(portText);
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new UsageError('BAD_OPTION', `registry serve: --port ${portText}: expected 1-65535`);
    }
    let password: string | undefined;
    if (passwordFile !== undefined) {
      password = (
        await readFile(resolve(ctx.cwd, passwordFile), 'utf8').catch(() => {
          throw new UsageError('BAD_OPTION', `registry serve: --password-file ${passwordFile}: cannot read the file`);
        })
      ).replace(/\r?\n$/, '');
      if (!password) throw new UsageError('BAD_OPTION', `registry serve: --password-file ${passwordFile} is empty`);
    }
    const storage = stringOpt(ctx, 'storage-dir');
    const lookasideOpt = stringOpt(ctx, 'lookaside-dir');
    // What this command creates is removed again if it cannot start (a busy port, say).
    const created: string[] = [];
    const createDir = async (dir: string) => {
      const first = await mkdir(dir, { recursive: true });
      if (first !== undefined) created.push(first);
    };
    const lookasideDir = lookasideOpt ? resolve(ctx.cwd, lookasideOpt) : await mkdtemp(join(tmpdir(), 'imgfactory-lookaside-'));
    if (!lookasideOpt) created.push(lookasideDir);
    let registry;
    let lookaside;
    try {
      await createDir(lookasideDir);
      if (storage) await createDir(resolve(ctx.cwd, storage));
      registry = await startLocalRegistry({
        ...(boolOpt(ctx, 'tls') ? { tls: true } : {}),
        ...(user && password ? { auth: { user, password } } : {}),
        ...(storage ? { storageDir: resolve(ctx.cwd, storage) } : {}),
        ...(port ? { port } : {}),
      });
      lookaside = await startLookasideServer(lookasideDir);
    } catch (e) {
      await registry?.stop();
      for (const dir of created.reverse()) await rm(dir, { recursive: true, force: true });
      throw e;
    }
    const info = {
      host: registry.host,
      url: registry.url,
      ...(registry.caFile ? { caFile: registry.caFile, certDir: registry.certDir } : {}),
      storageDir: registry.storageDir,
      lookasideUrl: lookaside.url,
      lookasideDir,
    };
    if (ctx.json) printJson(ctx.io, info);
    else {
      ctx.io.out(`registry   ${registry.url}   (image references: ${registry.host}/<repository>:<tag>)`);
      if (registry.caFile) ctx.io.out(`ca         ${registry.caFile}   (skopeo/podman: --cert-dir ${registry.certDir}; imgfactory: --ca-file)`);
      if (!registry.caFile) ctx.io.out(`           plain HTTP: pass --insecure to imgfactory, --tls-verify=false to skopeo/podman`);
      ctx.io.out(`storage    ${registry.storageDir}`);
      ctx.io.out(`lookaside  ${lookaside.url}   serving ${lookasideDir}   (imgfactory push --lookaside-dir ${lookasideDir})`);
      ctx.io.out(`registries.d:  docker: { "${registry.host}": { lookaside: "${lookaside.url}" } }`);
    }
    ctx.io.err('registry serve: running; stop with Ctrl-C (SIGINT) or SIGTERM');
    const signal = await untilSignal();
    ctx.io.err(`registry serve: ${signal}, stopping`);
    await lookaside.stop();
    await registry.stop();
    if (!lookasideOpt) await rm(lookasideDir, { recursive: true, force: true });
    return 0;
  },
};
