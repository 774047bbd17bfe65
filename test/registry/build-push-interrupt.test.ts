/**
 * Ctrl-C during `build --push` (issue 12): the real CLI process (bin/imgfactory.js, built by
 * `npm test` before vitest runs) builds a small minbase recipe with real debootstrap, signs it,
 * and pushes it through a slow loopback proxy in front of the real registry; SIGINT arrives once
 * the layers are on the wire. One real build: the push is what is interrupted, not the build.
 */
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryClient } from '../../src/registry/client.js';
import type { LocalRegistry } from '../../src/registry/local-registry.js';
import { RECIPES_DIR, REPO_ROOT, SHARED_CACHE_DIR } from '../helpers/paths.js';
import { startTestRegistry, testDir } from '../helpers/registry.js';
import { startSlowProxy, type SlowProxy } from '../helpers/slow-proxy.js';
import { testKey } from '../sign/helpers/keys.js';

let registry: LocalRegistry;
let slow: SlowProxy;
let dir: string;

/** Resolves once `f()` is true (polling), or fails the test after `ms`. */
async function until(f: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  await stat(join(REPO_ROOT, 'dist/cli/main.js'));
  registry = await startTestRegistry();
  // ~1.5 MB/s: the ~30 MB of layers take about 20 s.
  slow = await startSlowProxy(Number(registry.host.split(':')[1]), 32 * 1024);
  dir = await testDir('imgf-build-push-int-');
});

afterAll(async () => {
  await slow?.stop();
});

describe('interrupted build --push', () => {
  it(
    'SIGINT once the push is uploading: exit 130 within 2.5 s, no tag for the identity, out/ whole or absent',
    async () => {
      await mkdir(join(dir, 'lib'));
      await copyFile(join(RECIPES_DIR, 'lib/common.ts'), join(dir, 'lib/common.ts'));
      const recipe = join(dir, 'tiny.ts');
      await writeFile(
        recipe,
        `import { defineRecipe } from 'imgfactory';
import { appUser, userLayer } from './lib/common.js';

export default defineRecipe({
  name: 'tiny',
  version: '1.0.0',
  suite: 'bookworm',
  variant: 'minbase',
  layers: [userLayer()],
  slim: true,
  config: { user: appUser.name, workdir: appUser.home, cmd: ['/bin/bash'] },
});
`,
      );
      const key = await testKey('ed25519');
      const keyFile = join(dir, 'secret.asc');
      await writeFile(keyFile, key.privateKeyArmored, { mode: 0o600 });
      const repo = 'gaps/tiny';
      const identity = `${slow.host}/${repo}:1`;
      const out = join(dir, 'out');

      const child = execa(
        'node',
        [
          join(REPO_ROOT, 'bin/imgfactory.js'),
          'build',
          recipe,
          '--out',
          out,
          '--work-dir',
          join(SHARED_CACHE_DIR, 'work-build-push'),
          '--key',
          keyFile,
          '--identity',
          identity,
          '--push',
          '--insecure',
        ],
        // The archive cache of this test run, so the indexes are not fetched again.
        { reject: false, env: { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: join(SHARED_CACHE_DIR, 'xdg-cache') }, extendEnv: false },
      );
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const before = slow.sent();
      // The build takes minutes; then the push progress line, then the layers going through.
      await until(() => /^\[\s*[\d.]+s\] push: /m.test(stderr) || child.exitCode !== null, 40 * 60_000, 'the push to start');
      await until(() => slow.sent() - before > 1024 * 1024 || child.exitCode !== null, 60_000, 'the layer upload');
      if (child.exitCode !== null) throw new Error(`build ended before the interrupt: ${stderr}`);
      const at = Date.now();
      child.kill('SIGINT');
      const r = await child;
      const took = Date.now() - at;
      expect(took).toBeLessThan(2500);
      expect(r.exitCode).toBe(130);
      expect(String(r.stderr).match(/^error: .*$/gm)).toHaveLength(1);
      expect(String(r.stderr)).toMatch(/^error: .*interrupted/m);
      expect(String(r.stdout)).toBe('');

      // No tag for the identity: the registry never got a manifest under that name.
      const client = createRegistryClient({ registry: registry.host, insecure: true });
      expect(await client.findManifest(repo, '1')).toBeUndefined();

      // out/ holds the whole signed layout the build finished before the push, or nothing:
      // no temporary file, and every blob the index reaches is there with its digest.
      const files = await readdir(out, { recursive: true });
      expect(files.filter((f) => /(^|\/)\.|\.tmp$|\.partial$/.test(f))).toEqual([]);
      const layoutDir = join(out, 'tiny');
      const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      expect(index.manifests.length).toBeGreaterThan(0);
      const pub = join(dir, 'public.asc');
      await writeFile(pub, key.publicKeyArmored);
      const verify = await execa('node', [join(REPO_ROOT, 'bin/imgfactory.js'), 'verify', layoutDir, '--key', pub, '--identity', identity], { reject: false });
      expect(verify.exitCode, String(verify.stderr)).toBe(0);
    },
    45 * 60_000,
  );
});
