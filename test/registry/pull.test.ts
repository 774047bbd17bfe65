// Pull into a temporary layout, verify, and only then write the destination.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RegistryError, VerifyError } from '../../src/errors.js';
import { digestHex } from '../../src/oci/digest.js';
import { canonicalJson } from '../../src/oci/json.js';
import { readAttachments } from '../../src/oci/attachments.js';
import { Layout } from '../../src/oci/layout.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import { createRegistryClient } from '../../src/registry/client.js';
import type { LocalRegistry } from '../../src/registry/local-registry.js';
import { pullImage, type PullVerifyContext } from '../../src/registry/pull.js';
import { pushImage } from '../../src/registry/push.js';
import { parseReference, referrersTag } from '../../src/oci/reference.js';
import { generateSigningKey } from '../../src/pgp/keys.js';
import { runCli } from '../helpers/cli.js';
import { randomLayer, startTestRegistry, writeTestAttachments, writeTestImage, testDir, type TestImage } from '../helpers/registry.js';

let registry: LocalRegistry;
let dir: string;
let signed: TestImage;
let unsigned: TestImage;

const client = () => createRegistryClient({ registry: registry.host, insecure: true });

/** A stand-in for the sign module's verifier: demands a signature attachment on the image. */
async function requireSignature(layoutDir: string, ctx: PullVerifyContext): Promise<void> {
  const sigs = await readAttachments(await Layout.open(layoutDir), ctx.manifestDigest, 'signature', () => undefined);
  if (sigs.length === 0) throw new VerifyError('SIGNATURE_MISSING', `${ctx.identity}: not signed`);
}

async function leftovers(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.includes('.pull-'));
}

beforeAll(async () => {
  registry = await startTestRegistry();
  dir = await testDir();
  signed = await writeTestImage(join(dir, 'signed-src'), { tag: '1', layers: [await randomLayer(30_000), await randomLayer(10_000)] });
  await writeTestAttachments(signed, [`${registry.host}/pull/signed:1`]);
  await pushImage({ layoutDir: signed.layoutDir, targets: [parseReference(`${registry.host}/pull/signed:1`)], client: client() });
  unsigned = await writeTestImage(join(dir, 'unsigned-src'), { tag: '1', layers: [await randomLayer(5_000)] });
  await pushImage({ layoutDir: unsigned.layoutDir, targets: [parseReference(`${registry.host}/pull/unsigned:1`)], client: client() });
});

describe('pullImage', () => {
  it('fetches image and attachments, lets verify see them, then writes the layout', async () => {
    const out = join(dir, 'out-signed');
    let seen: PullVerifyContext | undefined;
    const r = await pullImage({
      ref: parseReference(`${registry.host}/pull/signed:1`),
      client: client(),
      outDir: out,
      verify: async (layoutDir, ctx) => {
        seen = ctx;
        // Nothing at the destination while verification runs.
        await expect(stat(out)).rejects.toThrow();
        await requireSignature(layoutDir, ctx);
      },
    });
    expect(seen).toMatchObject({ identity: `${registry.host}/pull/signed:1`, manifestDigest: signed.manifest.digest });
    expect(r.manifestDigest).toBe(signed.manifest.digest);
    expect(r.attachments).toBe(3);
    const pulled = await Layout.open(out);
    const img = await pulled.image({ tag: '1' });
    expect(img.descriptor.digest).toBe(signed.manifest.digest);
    for (const l of signed.layers) expect((await readFile(pulled.blobPath(l.descriptor.digest))).equals(l.bytes)).toBe(true);
    const kinds = pulled.entries
      .map((d) => d.annotations?.['dev.imgfactory.attachment'])
      .filter((k) => k !== undefined)
      .sort();
    expect(kinds).toEqual(['provenance', 'sbom', 'signature']);
    expect(await leftovers()).toEqual([]);
  });

  it('pulls by digest too', async () => {
    const out = join(dir, 'out-digest');
    const r = await pullImage({
      ref: parseReference(`${registry.host}/pull/signed@${signed.manifest.digest}`),
      client: client(),
      outDir: out,
      verify: requireSignature,
    });
    expect(r.manifestDigest).toBe(signed.manifest.digest);
    expect((await Layout.open(out)).entries[0]!.digest).toBe(signed.manifest.digest);
  });

  it('refuses an unsigned image: the verify error comes out and nothing is written', async () => {
    const out = join(dir, 'out-unsigned');
    await expect(
      pullImage({ ref: parseReference(`${registry.host}/pull/unsigned:1`), client: client(), outDir: out, verify: requireSignature }),
    ).rejects.toMatchObject({ code: 'SIGNATURE_MISSING' });
    await expect(stat(out)).rejects.toThrow();
    expect(await leftovers()).toEqual([]);
  });

  it('ignores referrers-tag entries whose subject is another image', async () => {
    // Someone with push access lists the signed image's signature under the unsigned image's tag.
    const c = client();
    const sigDesc = (await Layout.open(signed.layoutDir)).entries.find((m) => m.annotations?.['dev.imgfactory.attachment'] === 'signature')!;
    await pushImage({ layoutDir: signed.layoutDir, targets: [parseReference(`${registry.host}/pull/unsigned:signed-copy`)], client: c });
    const forged = { schemaVersion: 2, mediaType: MediaType.imageIndex, manifests: [{ ...sigDesc }] };
    await c.putManifest('pull/unsigned', referrersTag(unsigned.manifest.digest), canonicalJson(forged), MediaType.imageIndex);
    const out = join(dir, 'out-forged');
    await expect(
      pullImage({ ref: parseReference(`${registry.host}/pull/unsigned:1`), client: c, outDir: out, verify: requireSignature }),
    ).rejects.toMatchObject({ code: 'SIGNATURE_MISSING' });
    await expect(stat(out)).rejects.toThrow();
  });

  it('a blob corrupted in the registry storage → BLOB_DIGEST_MISMATCH, nothing written', async () => {
    const img = await writeTestImage(join(dir, 'corrupt-src'), { tag: '1', layers: [await randomLayer(8_000)] });
    await writeTestAttachments(img, [`${registry.host}/pull/corrupt:1`]);
    await pushImage({ layoutDir: img.layoutDir, targets: [parseReference(`${registry.host}/pull/corrupt:1`)], client: client() });
    const hex = digestHex(img.layers[0]!.descriptor.digest);
    const data = join(registry.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const bytes = await readFile(data);
    bytes[200] = bytes[200]! ^ 0x01;
    await writeFile(data, bytes);
    const out = join(dir, 'out-corrupt');
    const err = await pullImage({ ref: parseReference(`${registry.host}/pull/corrupt:1`), client: client(), outDir: out, verify: requireSignature }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe('BLOB_DIGEST_MISMATCH');
    await expect(stat(out)).rejects.toThrow();
    expect(await leftovers()).toEqual([]);
  });

  it('refuses a destination that already holds files: OUTPUT_EXISTS (exit 2)', async () => {
    await expect(
      pullImage({ ref: parseReference(`${registry.host}/pull/signed:1`), client: client(), outDir: signed.layoutDir, verify: requireSignature }),
    ).rejects.toMatchObject({ code: 'OUTPUT_EXISTS' });
  });
});

describe('imgfactory pull', () => {
  it('requires --key', async () => {
    const r = await runCli(['pull', `${registry.host}/pull/signed:1`, '--out', join(dir, 'cli-nokey'), '--insecure']);
    expect(r.status).toBe(2);
  });

  it('a real key against a signature it did not make: exit 1, one line, nothing written', async () => {
    const key = join(dir, 'real.pub.asc');
    await writeFile(key, (await generateSigningKey({ name: 'Pull Test', email: 'pull@imgfactory.invalid', type: 'ed25519' })).publicKeyArmored);
    const out = join(dir, 'cli-out');
    const r = await runCli(['pull', `${registry.host}/pull/signed:1`, '--key', key, '--out', out, '--insecure', '--json'], {
      env: { PATH: process.env.PATH, HOME: dir },
    });
    // The registry was reached (the signature was fetched and judged), and verification said no.
    expect(r.status, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, exitStatus: 1, code: expect.stringMatching(/^SIGNATURE_/) });
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    await expect(stat(out)).rejects.toThrow();
    expect(await leftovers()).toEqual([]);
  });

  it('an unsigned image is refused: SIGNATURE_MISSING, exit 1, nothing written', async () => {
    const key = join(dir, 'real.pub.asc');
    const out = join(dir, 'cli-out-unsigned');
    const r = await runCli(['pull', `${registry.host}/pull/unsigned:1`, '--key', key, '--out', out, '--insecure', '--json'], {
      env: { PATH: process.env.PATH, HOME: dir },
    });
    expect(r.status, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, code: 'SIGNATURE_MISSING', exitStatus: 1 });
    await expect(stat(out)).rejects.toThrow();
    expect(await leftovers()).toEqual([]);
  });

  it('an unreachable registry: exit 5, nothing written', async () => {
    const key = join(dir, 'real.pub.asc');
    const out = join(dir, 'cli-out-unreachable');
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const r = await runCli(['pull', '127.0.0.1:1/pull/signed:1', '--key', key, '--out', out, '--insecure', '--json'], {
      env: { PATH: process.env.PATH, HOME: dir },
    });
    expect(r.status, r.stderr).toBe(5);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, exitStatus: 5 });
    await expect(stat(out)).rejects.toThrow();
  });

  it('an empty key block is a usage error before any network call: exit 2', async () => {
    const key = join(dir, 'empty.asc');
    await writeFile(key, '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n');
    const r = await runCli(['pull', '127.0.0.1:1/pull/signed:1', '--key', key, '--out', join(dir, 'cli-out-empty'), '--insecure'], {
      env: { PATH: process.env.PATH, HOME: dir },
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
