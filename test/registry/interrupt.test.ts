// The real CLI process (bin/imgfactory.js, built by `npm test` before vitest runs) gets a real
// SIGINT/SIGTERM mid-transfer, through a slow loopback proxy in front of the real registry.
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReference } from '../../src/oci/reference.js';
import { createRegistryClient } from '../../src/registry/client.js';
import type { LocalRegistry } from '../../src/registry/local-registry.js';
import { pushImage } from '../../src/registry/push.js';
import { Layout } from '../../src/oci/layout.js';
import { signLayout } from '../../src/sign/sign-layout.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { rawLayer, startTestRegistry, testDir, writeTestImage, type TestImage } from '../helpers/registry.js';
import { startSlowProxy, type SlowProxy } from '../helpers/slow-proxy.js';
import { testKey } from '../sign/helpers/keys.js';

let registry: LocalRegistry;
let slow: SlowProxy;
let dir: string;
let keyFile: string;
let oldImage: TestImage;
let bigImage: TestImage;
/** Large enough that kernel socket buffers cannot hold it all: an upload that went on would show. */
const BIG = 16 * 1024 * 1024;

const client = () => createRegistryClient({ registry: registry.host, insecure: true });

function cli(args: string[]): ResultPromise<{ reject: false; env: Record<string, string | undefined>; extendEnv: false }> {
  return execa('node', [join(REPO_ROOT, 'bin/imgfactory.js'), ...args], {
    reject: false,
    env: { PATH: process.env.PATH, HOME: dir },
    extendEnv: false,
  });
}

/** Resolves once `f()` is true (polling), or fails the test after `ms`. */
async function until(f: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function tagDigest(repository: string, tag: string): Promise<string | undefined> {
  return (await client().findManifest(repository, tag))?.digest;
}

beforeAll(async () => {
  await stat(join(REPO_ROOT, 'dist/cli/main.js'));
  registry = await startTestRegistry();
  // ~1.5 MB/s: the big layer takes about 10 s.
  slow = await startSlowProxy(Number(registry.host.split(':')[1]), 32 * 1024);
  dir = await testDir();
  const key = await testKey('ed25519');
  keyFile = join(dir, 'key.asc');
  await writeFile(keyFile, key.publicKeyArmored);
  oldImage = await writeTestImage(join(dir, 'old'), { tag: '1', layers: [rawLayer(1000)] });
  await pushImage({ layoutDir: oldImage.layoutDir, targets: [parseReference(`${registry.host}/int/img:1`)], client: client() });
  bigImage = await writeTestImage(join(dir, 'big'), { tag: '1', layers: [rawLayer(BIG)] });
  // Signed for both names it is pulled as below.
  await signLayout({
    layout: await Layout.open(bigImage.layoutDir),
    key: key.signing,
    identities: [`${slow.host}/int/pull:1`, `${registry.host}/int/pull:1`],
    creator: 'test',
    now: new Date(),
  });
  await pushImage({ layoutDir: bigImage.layoutDir, targets: [parseReference(`${registry.host}/int/pull:1`)], client: client() });
});

afterAll(async () => {
  await slow?.stop();
});

describe('interrupts', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s during push: the upload stops within 2 s, exit 130, no tag moved (of several)',
    async (signal) => {
      const repo = 'int/img';
      const tags = signal === 'SIGINT' ? ['1', 'two'] : ['1', 'three'];
      const before = slow.sent();
      const child = cli(['push', bigImage.layoutDir, ...tags.map((t) => `${slow.host}/${repo}:${t}`), '--insecure']);
      await until(() => slow.sent() - before > 512 * 1024 || child.exitCode !== null, 60_000, 'the upload to start');
      if (child.exitCode !== null) throw new Error(`push ended early: ${String((await child).stderr)}`);
      const at = Date.now();
      child.kill(signal);
      const r = await child;
      expect(Date.now() - at).toBeLessThan(2500);
      expect(r.exitCode).toBe(130);
      expect(String(r.stderr)).toMatch(/^error: .*interrupted/m);
      // The upload really stopped: once what the kernel had buffered has drained, the traffic
      // ends short of the blob, and the registry never got the blob.
      for (let a = -1, i = 0; a !== slow.sent() && i < 30; i++) {
        a = slow.sent();
        await new Promise((res) => setTimeout(res, 300));
      }
      expect(slow.sent() - before).toBeLessThan(BIG);
      expect(await client().hasBlob(repo, bigImage.layers[0]!.descriptor.digest)).toBe(false);
      expect(await tagDigest(repo, '1')).toBe(oldImage.manifest.digest);
      expect(await tagDigest(repo, tags[1]!)).toBeUndefined();
      expect((await client().listTags(repo)).sort()).toEqual(['1']);
    },
    90_000,
  );

  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s during pull (layers downloading): exit 130, temporary layout removed, nothing written',
    async (signal) => {
      const parent = join(dir, `pull-${signal}`);
      const { mkdir } = await import('node:fs/promises');
      await mkdir(parent);
      const before = slow.received();
      const child = cli(['pull', `${slow.host}/int/pull:1`, '--key', keyFile, '--out', join(parent, 'out'), '--insecure']);
      // The signature was verified before the layers started; wait until a good part of them came.
      await until(() => slow.received() - before > 1024 * 1024 || child.exitCode !== null, 60_000, 'the layer download');
      expect(child.exitCode).toBeNull();
      child.kill(signal);
      const r = await child;
      expect(r.exitCode).toBe(130);
      expect(
        String(r.stderr)
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('error:')),
      ).toHaveLength(1);
      expect(await readdir(parent)).toEqual([]);
    },
    90_000,
  );

  it('left alone, the same pull gets past the layers to the full verification (so the interrupt is what stopped it)', async () => {
    const out = join(dir, 'pull-complete');
    const r = await cli(['pull', `${registry.host}/int/pull:1`, '--key', keyFile, '--out', out, '--insecure']);
    // The test image has no provenance: the full verify refuses it, but only after the layers came.
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(/^error: .*provenance/im);
    expect(await readdir(dir).then((n) => n.filter((x) => x.includes('.pull-')))).toEqual([]);
  }, 90_000);
});
