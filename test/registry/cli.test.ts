// `imgfactory registry serve` and `imgfactory push` end to end, in-process.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { lookasidePath } from '../../src/registry/lookaside.js';
import { parseReference } from '../../src/oci/reference.js';
import { execa } from 'execa';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { randomLayer, skopeo, writeTestAttachments, writeTestImage, testDir } from '../helpers/registry.js';

let dir: string;

beforeAll(async () => {
  dir = await testDir();
});

async function until<T>(probe: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('imgfactory registry serve + push', () => {
  it('serves TLS + basic auth and a lookaside store; push writes signatures there; SIGTERM stops both', async () => {
    const passwordFile = join(dir, 'password');
    const password = 'serve-Pw-4471';
    await writeFile(passwordFile, `${password}\n`);
    const lookasideDir = join(dir, 'lookaside');
    let stdout = '';
    let stderr = '';
    const serving = main(['registry', 'serve', '--tls', '--user', 'demo', '--password-file', passwordFile, '--lookaside-dir', lookasideDir, '--json'], {
      io: { out: (t) => (stdout += `${t}\n`), err: (t) => (stderr += `${t}\n`) },
      env: { PATH: process.env.PATH },
      cwd: dir,
    });
    const info = await until(() => {
      try {
        return JSON.parse(stdout) as { host: string; url: string; caFile: string; certDir: string; lookasideUrl: string; lookasideDir: string };
      } catch {
        return undefined;
      }
    }, 'registry serve to print its addresses');
    expect(info.lookasideDir).toBe(lookasideDir);
    expect(stdout + stderr).not.toContain(password);

    const image = await writeTestImage(join(dir, 'img'), { tag: '1', layers: [await randomLayer(10_000)] });
    const target = `${info.host}/demo/app:1`;
    await writeTestAttachments(image, [target]);
    const env = { PATH: process.env.PATH, HOME: dir, IMGFACTORY_REGISTRY_USER: 'demo', IMGFACTORY_REGISTRY_PASSWORD: password };
    const first = await runCli(['push', image.layoutDir, target, '--ca-file', info.caFile, '--lookaside-dir', lookasideDir], { env });
    expect(first.status).toBe(0);
    expect(first.stdout).toBe(`${target} ${image.manifest.digest}\n`);
    expect(first.stderr).toContain(`lookaside: wrote ${lookasidePath(parseReference(target), image.manifest.digest, 1)}`);
    expect(first.stdout + first.stderr).not.toContain(password);

    // The lookaside server hands out what push wrote.
    const sigUrl = `${info.lookasideUrl}/${lookasidePath(parseReference(target), image.manifest.digest, 1)}`;
    const res = await fetch(sigUrl);
    expect(res.status).toBe(200);
    const served = Buffer.from(await res.arrayBuffer());
    expect(served.equals(await readFile(join(lookasideDir, lookasidePath(parseReference(target), image.manifest.digest, 1))))).toBe(true);

    const again = await runCli(['push', image.layoutDir, target, '--ca-file', info.caFile, '--lookaside-dir', lookasideDir, '--json'], { env });
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ blobsUploaded: 0, manifestDigest: image.manifest.digest, lookaside: { written: [] } });

    const inspected = await skopeo(['inspect', '--raw', '--cert-dir', info.certDir, '--creds', `demo:${password}`, `docker://${target}`]);
    expect(JSON.parse(inspected.stdout).layers[0].digest).toBe(image.layers[0]!.descriptor.digest);

    process.emit('SIGTERM', 'SIGTERM');
    expect(await serving).toBe(0);
    const ca = await readFile(info.caFile, 'utf8').catch(() => undefined);
    expect(ca).toBeUndefined(); // temporary files removed
    // A running TLS registry would answer plain HTTP with a 400; a stopped one refuses the connection.
    await expect(fetch(`http://${info.host}/v2/`)).rejects.toThrow();
    await expect(fetch(`${info.lookasideUrl}/`)).rejects.toThrow();
  });

  it('an external tool that is missing is exit 4, one line naming the package to install', async () => {
    // The CLI as a process with a PATH that holds no docker-registry: the tool, not the input, failed.
    const r = await execa(process.execPath, [join(REPO_ROOT, 'bin/imgfactory.js'), 'registry', 'serve'], {
      reject: false,
      env: { PATH: join(dir, 'empty-path'), HOME: dir },
      extendEnv: false,
    });
    expect(r.exitCode, r.stderr).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('apt-get install docker-registry');
  });

  it('rejects a bad --port and a --user without --password-file (exit 2)', async () => {
    expect((await runCli(['registry', 'serve', '--port', '70000'])).status).toBe(2);
    expect((await runCli(['registry', 'serve', '--user', 'x'])).status).toBe(2);
  });

  it('push rejects an invalid reference with REFERENCE_INVALID (exit 2) before touching the network', async () => {
    const r = await runCli(['push', join(dir, 'img'), '127.0.0.1:1/Upper/Case:1', '--insecure', '--debug']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('[REFERENCE_INVALID]');
  });
});
