// The lookaside path layout, proven against containers/image itself: skopeo signs with real gpg
// and writes its own staging store; ours must put the same bytes at the same path, and skopeo
// with a signedBy policy must accept the image from our store served over HTTP.
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecError } from '../../src/errors.js';
import { run } from '../../src/exec.js';
import { digestHex } from '../../src/oci/digest.js';
import type { LocalRegistry } from '../../src/registry/local-registry.js';
import { lookasidePath, writeLookasideFromLayout } from '../../src/registry/lookaside.js';
import { startLookasideServer } from '../../src/registry/lookaside-server.js';
import { parseReference } from '../../src/oci/reference.js';
import { randomLayer, skopeo, startTestRegistry, writeTestAttachments, writeTestImage, testDir, type TestImage } from '../helpers/registry.js';

let registry: LocalRegistry;
let dir: string;
let gnupgHome: string;
let keyFile: string;
let image: TestImage;
let skopeoSignature: { rel: string; bytes: Buffer };

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else out.push(relative(root, join(d, e.name)));
    }
  };
  await walk(root);
  return out.sort();
}

async function registriesD(name: string, yaml: string): Promise<string> {
  const d = join(dir, name);
  await mkdir(d, { recursive: true });
  await writeFile(join(d, 'imgfactory.yaml'), yaml);
  return d;
}

// Registered at the top level: vitest does not run hooks registered inside beforeAll.
afterAll(() => run(['gpgconf', '--kill', 'all'], { env: { GNUPGHOME: gnupgHome } }).catch(() => undefined));

beforeAll(async () => {
  registry = await startTestRegistry();
  dir = await testDir();
  gnupgHome = join(dir, 'gnupg');
  await mkdir(gnupgHome, { mode: 0o700 });
  const gpgEnv = { GNUPGHOME: gnupgHome };
  // RSA: accepted by both of containers/image's OpenPGP backends; signing with the primary key.
  await run(
    [
      'gpg',
      '--batch',
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--quick-gen-key',
      'imgfactory test <test@imgfactory.invalid>',
      'rsa2048',
      'sign',
      '1d',
    ],
    { env: gpgEnv },
  );
  const colons = await run(['gpg', '--batch', '--with-colons', '--list-keys'], { env: gpgEnv });
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(colons.stdout)![1]!;
  keyFile = join(dir, 'key.asc');
  await writeFile(keyFile, (await run(['gpg', '--batch', '--armor', '--export', fpr], { env: gpgEnv })).stdout);

  image = await writeTestImage(join(dir, 'img'), { tag: '1', layers: [await randomLayer(20_000)] });
  const staging = join(dir, 'staging');
  const rd = await registriesD('rd-staging', `docker:\n  ${registry.host}:\n    lookaside-staging: file://${staging}\n`);
  await skopeo(
    [
      '--insecure-policy',
      '--registries.d',
      rd,
      'copy',
      '--preserve-digests',
      '--dest-tls-verify=false',
      '--sign-by',
      fpr,
      `oci:${image.layoutDir}:1`,
      `docker://${registry.host}/signed/img:1`,
    ],
    { env: { ...process.env, GNUPGHOME: gnupgHome } },
  );
  const files = await listFiles(staging);
  expect(files).toHaveLength(1);
  skopeoSignature = { rel: files[0]!, bytes: await readFile(join(staging, files[0]!)) };
});

describe('lookaside store', () => {
  it('lookasidePath is the docker reference path without the registry host', () => {
    const ref = parseReference('127.0.0.1:5000/base/debian-minimal:12');
    const d = `sha256:${'ab'.repeat(32)}` as const;
    expect(lookasidePath(ref, d, 1)).toBe(`base/debian-minimal@sha256=${'ab'.repeat(32)}/signature-1`);
    expect(lookasidePath(parseReference('debian:12'), d, 2)).toBe(`library/debian@sha256=${'ab'.repeat(32)}/signature-2`);
  });

  it('writes the signature at exactly the path skopeo (containers/image) writes, byte for byte', async () => {
    expect(skopeoSignature.rel).toBe(`signed/img@sha256=${digestHex(image.manifest.digest)}/signature-1`);
    await writeTestAttachments(image, [`${registry.host}/signed/img:1`], [skopeoSignature.bytes]);
    const out = join(dir, 'ours');
    const r = await writeLookasideFromLayout({ layoutDir: image.layoutDir, lookasideDir: out, targets: [parseReference(`${registry.host}/signed/img:1`)] });
    expect(r.written).toEqual([skopeoSignature.rel]);
    expect(r.unsigned).toEqual([]);
    expect(await listFiles(out)).toEqual([skopeoSignature.rel]);
    expect((await readFile(join(out, skopeoSignature.rel))).equals(skopeoSignature.bytes)).toBe(true);

    // Idempotent: writing again adds nothing; a target no signature names is reported, not written.
    const again = await writeLookasideFromLayout({
      layoutDir: image.layoutDir,
      lookasideDir: out,
      targets: [parseReference(`${registry.host}/signed/img:1`), parseReference(`${registry.host}/signed/img:other`)],
    });
    expect(again.written).toEqual([]);
    expect(again.unsigned).toEqual([`${registry.host}/signed/img:other`]);
    expect(await listFiles(out)).toEqual([skopeoSignature.rel]);
  });

  it('skopeo with a signedBy policy accepts the image from our store over HTTP, and refuses without it or tampered', async () => {
    const policy = join(dir, 'policy.json');
    await writeFile(
      policy,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: { [registry.host]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: keyFile }] },
          oci: { '': [{ type: 'insecureAcceptAnything' }] },
        },
      }),
    );
    const copy = async (lookasideDir: string, dest: string) => {
      const server = await startLookasideServer(lookasideDir);
      try {
        const rd = await registriesD(`rd-${dest}`, `docker:\n  ${registry.host}:\n    lookaside: ${server.url}\n`);
        return await skopeo([
          '--policy',
          policy,
          '--registries.d',
          rd,
          'copy',
          '--remove-signatures',
          '--src-tls-verify=false',
          `docker://${registry.host}/signed/img:1`,
          `oci:${join(dir, dest)}:x`,
        ]);
      } finally {
        await server.stop();
      }
    };
    const ours = join(dir, 'ours');
    const ok = await copy(ours, 'pulled');
    expect(ok.exitCode).toBe(0);

    const empty = join(dir, 'empty-lookaside');
    await mkdir(empty);
    const noSig = await copy(empty, 'refused-1').catch((e: unknown) => e);
    expect(noSig).toBeInstanceOf(ExecError);
    expect((noSig as ExecError).message).toMatch(/Source image rejected: A signature was required, but no signature exists/);

    const tampered = join(dir, 'tampered-lookaside');
    await cp(ours, tampered, { recursive: true });
    const sig = join(tampered, skopeoSignature.rel);
    const bytes = await readFile(sig);
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0x01;
    await writeFile(sig, bytes);
    const bad = await copy(tampered, 'refused-2').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ExecError);
    // skopeo found the file and rejected its content; gpgme's wording depends on the packet the
    // flipped bit lands in (bad signature, no signature in the packets, no data).
    expect((bad as ExecError).message).toMatch(/Source image rejected: /);
    expect((bad as ExecError).message).not.toMatch(/no signature exists/);
  });
});
