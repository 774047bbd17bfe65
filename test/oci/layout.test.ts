/**
 * The layout handle against layouts someone else wrote: every hostile shape is refused with its
 * own code, by the handle and through the CLI (exit 1 or 2, one line, never 3), and nothing it
 * refuses is read (a FIFO would hang a reader that did not check first).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACHMENT_ANNOTATION } from '../../src/oci/attachment-kinds.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { Layout, REF_NAME } from '../../src/oci/layout.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import { runCli } from '../helpers/cli.js';
import { tarLayer, writeTestImage, type TestImage } from '../helpers/oci-image.js';
import { testKey, type TestKey } from '../sign/helpers/keys.js';
import { tempDir } from '../sign/helpers/synthetic-image.js';
import { cp } from 'node:fs/promises';

let root: { path: string; cleanup: () => Promise<void> };
let base: string;
let image: TestImage;
let key: TestKey;
let pub: string;
let secret: string;
let n = 0;

async function copy(): Promise<string> {
  const dir = join(root.path, `case-${++n}`);
  await cp(base, dir, { recursive: true });
  return dir;
}

const blob = (dir: string, digest: string) => join(dir, 'blobs/sha256', digest.slice(7));

async function rewriteIndex(dir: string, edit: (manifests: Record<string, unknown>[]) => Record<string, unknown>[]): Promise<void> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Record<string, unknown>[] };
  await writeFile(join(dir, 'index.json'), JSON.stringify({ ...index, manifests: edit(index.manifests) }));
}

/** verify and sign through the CLI: the exit status, and stderr is one line. */
async function cli(dir: string, extra: string[] = []): Promise<{ verify: number; sign: number; lines: number[] }> {
  const v = await runCli(['verify', dir, '--key', pub, ...extra]);
  const s = await runCli(['sign', dir, '--key', secret, '--identity', 'registry.test/x:1', ...extra], {
    env: { ...process.env, IMGFACTORY_KEY_PASSPHRASE: '' },
  });
  return { verify: v.status, sign: s.status, lines: [v.stderr.trim().split('\n').length, s.stderr.trim().split('\n').length] };
}

beforeAll(async () => {
  root = await tempDir('layout-handle');
  base = join(root.path, 'base');
  image = await writeTestImage(base, { tag: '1', layers: [await tarLayer({ 'etc/hello': 'hi\n' }), await tarLayer({ 'etc/two': '2\n' })] });
  key = await testKey('ed25519');
  pub = join(root.path, 'pub.asc');
  secret = join(root.path, 'key.secret.asc');
  await writeFile(pub, key.publicKeyArmored);
  await writeFile(secret, key.privateKeyArmored);
});
afterAll(() => root?.cleanup());

describe('Layout.open and resolve', () => {
  it('opens a good layout once; resolves the tag; hashes every blob', async () => {
    const layout = await Layout.open(base);
    expect(layout.resolve('1').digest).toBe(image.manifest.digest);
    expect(layout.resolve().digest).toBe(image.manifest.digest);
    const img = await layout.image({ tag: '1', platform: { os: 'linux', architecture: 'amd64' } });
    expect(img.manifest.layers).toHaveLength(2);
    await expect(layout.checkImageBlobs(img)).resolves.toBeUndefined();
    // The CLI harness itself works: a good copy signs (exit 0) and then verifies its signature.
    const dir = await copy();
    const r = await cli(dir);
    expect(r.sign).toBe(0);
    expect((await runCli(['verify', dir, '--key', pub, '--signature-only'])).status).toBe(0);
  });

  it('a missing path, or a file, is LAYOUT_NOT_FOUND (exit 2)', async () => {
    await expect(Layout.open(join(root.path, 'nope'))).rejects.toMatchObject({ code: 'LAYOUT_NOT_FOUND' });
    await writeFile(join(root.path, 'a-file'), 'x');
    await expect(Layout.open(join(root.path, 'a-file'))).rejects.toMatchObject({ code: 'LAYOUT_NOT_FOUND' });
    const r = await cli(join(root.path, 'nope'));
    expect(r).toEqual({ verify: 2, sign: 2, lines: [1, 1] });
  });

  it('an empty directory or one without oci-layout is LAYOUT_INVALID (exit 1), not an internal error', async () => {
    const empty = join(root.path, 'empty');
    await mkdir(empty);
    await expect(Layout.open(empty)).rejects.toMatchObject({ code: 'LAYOUT_INVALID' });
    expect(await cli(empty)).toEqual({ verify: 1, sign: 1, lines: [1, 1] });
  });

  it('index.json that is not JSON, or lists a non-manifest, is LAYOUT_INVALID', async () => {
    const dir = await copy();
    await writeFile(join(dir, 'index.json'), '{"schemaVersion":2,"manifests":[');
    await expect(Layout.open(dir)).rejects.toMatchObject({ code: 'LAYOUT_INVALID' });
    expect(await cli(dir)).toEqual({ verify: 1, sign: 1, lines: [1, 1] });
    const dir2 = await copy();
    await rewriteIndex(dir2, (m) => [...m, { mediaType: MediaType.layerTarGzip, digest: image.layers[0]!.descriptor.digest, size: 1 }]);
    await expect(Layout.open(dir2)).rejects.toMatchObject({ code: 'LAYOUT_INVALID' });
  });

  it('an attachment entry that carries the tag is ambiguous: LAYOUT_AMBIGUOUS, refused by verify and sign', async () => {
    const dir = await copy();
    await rewriteIndex(dir, (m) => [{ ...m[0], annotations: { [ATTACHMENT_ANNOTATION]: 'signature', [REF_NAME]: '1' } }]);
    await expect(Layout.open(dir)).rejects.toMatchObject({ code: 'LAYOUT_AMBIGUOUS' });
    expect(await cli(dir, ['--tag', '1'])).toEqual({ verify: 1, sign: 1, lines: [1, 1] });
  });

  it('two entries with one tag are ambiguous; an unknown tag is LAYOUT_TAG_NOT_FOUND (exit 2)', async () => {
    const dir = await copy();
    const other = await writeTestImage(join(root.path, 'other'), { tag: '1', layers: [await tarLayer({ x: 'y' })] });
    await rewriteIndex(dir, (m) => [...m, other.manifest as unknown as Record<string, unknown>].map((e) => ({ ...e, annotations: { [REF_NAME]: '1' } })));
    await expect(Layout.open(dir)).rejects.toMatchObject({ code: 'LAYOUT_AMBIGUOUS' });
    const ok = await Layout.open(base);
    expect(() => ok.resolve('2')).toThrow(expect.objectContaining({ code: 'LAYOUT_TAG_NOT_FOUND' }));
    expect(await cli(base, ['--tag', '2'])).toEqual({ verify: 2, sign: 2, lines: [1, 1] });
  });

  it('a manifest that is not JSON is refused, though its digest matches', async () => {
    const dir = await copy();
    const bytes = Buffer.from('not json at all');
    const digest = sha256Digest(bytes);
    await writeFile(blob(dir, digest), bytes);
    await rewriteIndex(dir, () => [{ mediaType: MediaType.imageManifest, digest, size: bytes.length, annotations: { [REF_NAME]: '1' } }]);
    const layout = await Layout.open(dir);
    await expect(layout.image({ tag: '1' })).rejects.toMatchObject({ code: 'LAYOUT_INVALID' });
    expect(await cli(dir)).toEqual({ verify: 1, sign: 1, lines: [1, 1] });
  });
});

describe('blobs are checked before they are trusted', () => {
  it('a layer with one byte flipped: LAYOUT_BLOB_CORRUPT; sign refuses to sign it', async () => {
    const dir = await copy();
    const file = blob(dir, image.layers[1]!.descriptor.digest);
    const bytes = await readFile(file);
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x01;
    await writeFile(file, bytes);
    const layout = await Layout.open(dir);
    await expect(layout.checkImageBlobs(await layout.image())).rejects.toMatchObject({ code: 'LAYOUT_BLOB_CORRUPT' });
    expect(await cli(dir)).toEqual({ verify: 1, sign: 1, lines: [1, 1] });
    // Nothing was signed: the layout holds no signature attachment.
    expect((await Layout.open(dir)).entries.some((e) => e.annotations?.[ATTACHMENT_ANNOTATION] !== undefined)).toBe(false);
  });

  it('a truncated layer and a missing layer: LAYOUT_BLOB_CORRUPT, LAYOUT_BLOB_MISSING', async () => {
    const dir = await copy();
    const file = blob(dir, image.layers[0]!.descriptor.digest);
    await writeFile(file, (await readFile(file)).subarray(0, 10));
    const layout = await Layout.open(dir);
    await expect(layout.checkImageBlobs(await layout.image())).rejects.toMatchObject({ code: 'LAYOUT_BLOB_CORRUPT' });
    await rm(file);
    await expect(layout.checkImageBlobs(await layout.image())).rejects.toMatchObject({ code: 'LAYOUT_BLOB_MISSING' });
    expect(await cli(dir)).toEqual({ verify: 1, sign: 1, lines: [1, 1] });
  });

  it('a blob that is a FIFO is refused without blocking', async () => {
    const dir = await copy();
    const file = blob(dir, image.layers[0]!.descriptor.digest);
    await rm(file);
    execFileSync('mkfifo', [file]);
    const layout = await Layout.open(dir);
    await expect(layout.checkImageBlobs(await layout.image())).rejects.toMatchObject({ code: 'LAYOUT_INVALID' });
    expect(await cli(dir)).toEqual({ verify: 1, sign: 1, lines: [1, 1] });
  }, 10_000);

  it('a blob that is a link (to a copy of the right bytes outside the layout) is refused', async () => {
    const dir = await copy();
    const file = blob(dir, image.layers[0]!.descriptor.digest);
    const outside = join(root.path, `outside-${n}`);
    await writeFile(outside, await readFile(file));
    await rm(file);
    await symlink(outside, file);
    const layout = await Layout.open(dir);
    await expect(layout.checkImageBlobs(await layout.image())).rejects.toMatchObject({ code: 'LAYOUT_INVALID' });
    expect(await cli(dir)).toEqual({ verify: 1, sign: 1, lines: [1, 1] });
  });

  it('blobs/sha256 that is a link out of the layout is refused when the layout is opened', async () => {
    const dir = await copy();
    const elsewhere = join(root.path, `blobs-elsewhere-${n}`);
    await cp(join(dir, 'blobs/sha256'), elsewhere, { recursive: true });
    await rm(join(dir, 'blobs/sha256'), { recursive: true });
    await symlink(elsewhere, join(dir, 'blobs/sha256'));
    await expect(Layout.open(dir)).rejects.toMatchObject({ code: 'LAYOUT_INVALID' });
  });

  it('a document larger than the cap is refused unread', async () => {
    const dir = await copy();
    const big = Buffer.alloc(5 * 1024 * 1024, 0x20);
    big.write('{"schemaVersion":2,"manifests":[]}');
    await writeFile(join(dir, 'index.json'), big);
    await expect(Layout.open(dir)).rejects.toMatchObject({ code: 'LAYOUT_DOCUMENT_TOO_LARGE' });
  });

  it('openBlob yields the last chunk only after the digest checked out', async () => {
    const dir = await copy();
    const desc = image.layers[0]!.descriptor;
    const file = blob(dir, desc.digest);
    const bytes = await readFile(file);
    bytes[0] = bytes[0]! ^ 0xff;
    await writeFile(file, bytes);
    const layout = await Layout.open(dir);
    let got = 0;
    await expect(
      (async () => {
        for await (const c of layout.openBlob(desc)) got += c.length;
      })(),
    ).rejects.toMatchObject({ code: 'LAYOUT_BLOB_CORRUPT' });
    expect(got).toBeLessThan(desc.size);
  });
});

describe('image arguments: a local path and a registry reference are never confused', () => {
  it('a missing path without a registry host is LAYOUT_NOT_FOUND (exit 2), never a download', async () => {
    for (const arg of ['debian-minimal', 'debian:12', 'out/debian-minimal', 'library/debian:12']) {
      const r = await runCli(['verify', arg, '--key', pub], { cwd: root.path });
      expect(r.status, arg).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('oci:<path> is always a layout', async () => {
    const r = await runCli(['verify', `oci:${join(root.path, 'nope')}`, '--key', pub]);
    expect(r.status).toBe(2);
  });
});

describe('the CLI boundary', () => {
  it('--json errors are one JSON document on stdout, with the code and exit status', async () => {
    const r = await runCli(['sign', join(root.path, 'nope'), '--key', secret, '--identity', 'registry.test/x:1', '--json']);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, code: 'LAYOUT_NOT_FOUND', exitStatus: 2 });
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a file-system error on a path the user gave is one line naming the path, exit 2, not internal', async () => {
    // --out under a regular file: mkdir fails with ENOTDIR deep inside the command.
    const r = await runCli(['keys', 'generate', '--name', 't', '--email', 't@example.invalid', '--out', join(root.path, 'a-file', 'keys')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(join(root.path, 'a-file', 'keys'));
    expect(r.stderr).not.toContain('internal');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--version works after a command too', async () => {
    const r = await runCli(['validate', '--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
