// The CLI under faults a careless user or a hostile layout brings: blobs that are links or do
// not match, a busy port for `registry serve`, a full disk under `pull --out`; and the registry
// flags being the same on every command.
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { REGISTRY_OPTIONS } from '../../src/cli/commands/registry-flags.js';
import { Layout } from '../../src/oci/layout.js';
import { parseReference } from '../../src/oci/reference.js';
import { createRegistryClient } from '../../src/registry/client.js';
import type { LocalRegistry } from '../../src/registry/local-registry.js';
import { pushImage } from '../../src/registry/push.js';
import { signLayout } from '../../src/sign/sign-layout.js';
import { runCli } from '../helpers/cli.js';
import { randomLayer, rawLayer, startTestRegistry, testDir, writeTestImage, type TestImage } from '../helpers/registry.js';
import { testKey } from '../sign/helpers/keys.js';

const blobPath = (dir: string, digest: string): string => join(dir, 'blobs/sha256', digest.slice('sha256:'.length));

let registry: LocalRegistry;
let dir: string;
const client = () => createRegistryClient({ registry: registry.host, insecure: true });
const env = () => ({ PATH: process.env.PATH, HOME: dir });
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('error:'));

/** None of the image's blobs is in the repository, and it has no tags. */
async function nothingUploaded(repository: string, image: TestImage): Promise<void> {
  for (const d of [image.manifest.digest, ...image.layers.map((l) => l.descriptor.digest)]) {
    expect(await client().hasBlob(repository, d)).toBe(false);
  }
  expect(await client().listTags(repository)).toEqual([]);
}

beforeAll(async () => {
  registry = await startTestRegistry();
  dir = await testDir();
});

describe('push uploads only what it has hashed', () => {
  it('a normal push labels its progress push: (the control case)', async () => {
    const image = await writeTestImage(join(dir, 'ok'), { tag: '1', layers: [await randomLayer(5000)] });
    const r = await runCli(['push', image.layoutDir, `${registry.host}/faults/ok:1`, '--insecure'], { env: env() });
    expect(r.status).toBe(0);
    const progress = r.stderr.split('\n').filter((l) => l.includes('sha256:'));
    expect(progress.length).toBeGreaterThan(0);
    for (const l of progress) expect(l).toMatch(/^push: /);
  });

  it('a layer blob that is a symbolic link out of the layout (even to the right bytes): exit 1, nothing uploaded', async () => {
    const image = await writeTestImage(join(dir, 'link'), { tag: '1', layers: [await randomLayer(5000), await randomLayer(7000)] });
    const file = blobPath(image.layoutDir, image.layers[1]!.descriptor.digest);
    const outside = join(dir, 'outside-blob');
    await writeFile(outside, await readFile(file));
    await rm(file);
    await symlink(outside, file);
    const r = await runCli(['push', image.layoutDir, `${registry.host}/faults/link:1`, '--insecure'], { env: env() });
    expect(r.status).toBe(1);
    expect(errorLines(r.stderr)).toHaveLength(1);
    await nothingUploaded('faults/link', image);
  });

  it('a blobs/sha256 directory that is a link: exit 1, nothing uploaded', async () => {
    const image = await writeTestImage(join(dir, 'linkdir'), { tag: '1', layers: [await randomLayer(3000)] });
    const blobs = join(image.layoutDir, 'blobs', 'sha256');
    const moved = join(dir, 'moved-blobs');
    execFileSync('mv', [blobs, moved]);
    await symlink(moved, blobs);
    const r = await runCli(['push', image.layoutDir, `${registry.host}/faults/linkdir:1`, '--insecure'], { env: env() });
    expect(r.status).toBe(1);
    await nothingUploaded('faults/linkdir', image);
  });

  it('one byte flipped in the second layer: exit 1, that layer never stored, no manifest, no tag', async () => {
    const image = await writeTestImage(join(dir, 'flip'), { tag: '1', layers: [await randomLayer(5000), await randomLayer(9000)] });
    const file = blobPath(image.layoutDir, image.layers[1]!.descriptor.digest);
    const bytes = await readFile(file);
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0x01;
    await writeFile(file, bytes);
    const r = await runCli(['push', image.layoutDir, `${registry.host}/faults/flip:1`, `${registry.host}/faults/flip:2`, '--insecure', '--debug'], {
      env: env(),
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('[LAYOUT_BLOB_CORRUPT]');
    // Blobs go up side by side, each hashed as it is sent: the intact ones may be stored (content
    // that is what its digest says), the flipped one never is, nor anything that names it.
    expect(await client().hasBlob('faults/flip', image.layers[1]!.descriptor.digest)).toBe(false);
    expect(await client().hasBlob('faults/flip', image.manifest.digest)).toBe(false);
    expect(await client().listTags('faults/flip')).toEqual([]);
  });
});

describe('registry serve on a busy port', () => {
  it('fails with exit 5 and one line, instead of trusting whatever answers there; removes what it created', async () => {
    // An impostor that answers every request with 200, as a registry's /v2/ would.
    const impostor: Server = createServer((_req, res) => res.writeHead(200).end('{}'));
    await new Promise<void>((ok) => impostor.listen(0, '127.0.0.1', () => ok()));
    const port = (impostor.address() as AddressInfo).port;
    try {
      const lookaside = join(dir, 'serve', 'lookaside');
      const storage = join(dir, 'serve', 'storage');
      const result = await Promise.race([
        runCli(['registry', 'serve', '--port', String(port), '--lookaside-dir', lookaside, '--storage-dir', storage], { env: env(), cwd: dir }),
        new Promise<'still running'>((ok) => setTimeout(() => ok('still running'), 20_000)),
      ]);
      expect(result).not.toBe('still running');
      const r = result as Exclude<typeof result, string>;
      expect(r.status).toBe(5);
      expect(errorLines(r.stderr)).toHaveLength(1);
      expect(r.stdout).toBe('');
      await expect(stat(join(dir, 'serve'))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await new Promise<void>((ok) => impostor.close(() => ok()));
    }
  });
});

describe('pull onto a full disk', () => {
  it('a small tmpfs as the --out parent: one error line, not exit 3, and no partial file left', async () => {
    const key = await testKey('ed25519');
    const keyFile = join(dir, 'pull-key.asc');
    await writeFile(keyFile, key.publicKeyArmored);
    const image = await writeTestImage(join(dir, 'full'), { tag: '1', layers: [rawLayer(3 * 1024 * 1024)] });
    await signLayout({
      layout: await Layout.open(image.layoutDir),
      key: key.signing,
      identities: [`${registry.host}/faults/full:1`],
      creator: 'test',
      now: new Date(),
    });
    await pushImage({ layoutDir: image.layoutDir, targets: [parseReference(`${registry.host}/faults/full:1`)], client: client() });
    const small = join(dir, 'small');
    await mkdir(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
    try {
      const r = await runCli(['pull', `${registry.host}/faults/full:1`, '--key', keyFile, '--out', join(small, 'out'), '--insecure', '--debug'], {
        env: env(),
      });
      expect(r.status).toBe(4);
      expect(r.stderr).toContain('[DISK_FULL]');
      expect(r.stderr).toContain('ENOSPC');
      expect(errorLines(r.stderr)).toHaveLength(1);
      expect(await readdir(small)).toEqual([]);
    } finally {
      execFileSync('umount', [small]);
    }
  }, 60_000);
});

describe('the same option has the same flag on every registry command', () => {
  const byName = (name: string) => commands.find((c) => c.name === name)!;
  it.each(['push', 'pull', 'verify'])('%s takes and documents every registry connection flag', (name) => {
    const c = byName(name);
    for (const flag of Object.keys(REGISTRY_OPTIONS)) {
      expect(c.options[flag]).toEqual(REGISTRY_OPTIONS[flag]);
      expect(c.help).toContain(`--${flag}`);
    }
  });
  it.each(['push', 'build', 'registry serve'])('%s names the lookaside directory --lookaside-dir', (name) => {
    expect(byName(name).options['lookaside-dir']).toEqual({ type: 'string' });
    expect(byName(name).help).toContain('--lookaside-dir');
  });
});
