// A hostile registry (a fault-injecting proxy in front of the real docker-registry): redirects
// that must not receive credentials, challenges from the wrong party, oversize documents sent
// chunked, garbage in the referrers list; and pull's order: trust before bulk.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError, VerifyError } from '../../src/errors.js';
import { sha256Digest, type Digest } from '../../src/oci/digest.js';
import { canonicalJson } from '../../src/oci/json.js';
import { readAttachments } from '../../src/oci/attachments.js';
import { ATTACHMENT, Layout } from '../../src/oci/layout.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import { parseReference, referrersTag } from '../../src/oci/reference.js';
import { createRegistryClient } from '../../src/registry/client.js';
import { basicCredentials } from '../../src/registry/credentials.js';
import type { LocalRegistry } from '../../src/registry/local-registry.js';
import { pullImage, type PullVerifyContext } from '../../src/registry/pull.js';
import { pushImage } from '../../src/registry/push.js';
import { readVerificationKeys } from '../../src/pgp/keys.js';
import { signLayout } from '../../src/sign/sign-layout.js';
import { verifyLayout } from '../../src/verify/verify-layout.js';
import { startHostileRegistry, type HostileRegistry } from '../helpers/hostile-registry.js';
import { randomLayer, startTestRegistry, testDir, writeTestAttachments, writeTestImage, type TestImage } from '../helpers/registry.js';
import { testKey } from '../sign/helpers/keys.js';

const blobPath = (dir: string, digest: string): string => join(dir, 'blobs/sha256', digest.slice('sha256:'.length));

const USER = 'puller';
const PASSWORD = 'Hx7-never-leaves-the-registry';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
let registry: LocalRegistry;
let hostile: HostileRegistry;
let dir: string;
let image: TestImage;
let layerDigests: Digest[];
let outs = 0;

const creds = basicCredentials(USER, PASSWORD, 'test');
const direct = () => createRegistryClient({ registry: registry.host, insecure: true, credentials: creds });
const viaProxy = (extra: { maxManifestBytes?: number } = {}) =>
  createRegistryClient({ registry: hostile.host, insecure: true, credentials: creds, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 }, ...extra });
const ref = (tag = '1') => parseReference(`${hostile.host}/hostile/img:${tag}`);
const out = () => join(dir, `out-${++outs}`);

async function requireSignature(layoutDir: string, ctx: PullVerifyContext): Promise<void> {
  if ((await readAttachments(await Layout.open(layoutDir), ctx.manifestDigest, 'signature', () => undefined)).length === 0)
    throw new VerifyError('SIGNATURE_MISSING', 'not signed');
}

async function leftovers(): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.includes('.pull-'));
}

beforeAll(async () => {
  registry = await startTestRegistry({ auth: { user: USER, password: PASSWORD } });
  hostile = await startHostileRegistry(registry, BASIC);
  dir = await testDir();
  const layers = [await randomLayer(50_000), await randomLayer(20_000)];
  layerDigests = layers.map((l) => l.descriptor.digest);
  image = await writeTestImage(join(dir, 'src'), { tag: '1', layers });
  await writeTestAttachments(image, [`${hostile.host}/hostile/img:1`]);
  await pushImage({ layoutDir: image.layoutDir, targets: [parseReference(`${registry.host}/hostile/img:1`)], client: direct() });
});

afterAll(async () => {
  await hostile?.stop();
});

describe('credentials never leave the registry', () => {
  it('blob GETs redirected to storage on another port: the pull works, storage sees no Authorization', async () => {
    hostile.blobMode = 'redirect';
    hostile.received.length = 0;
    try {
      const r = await pullImage({ ref: ref(), client: viaProxy(), outDir: out(), verify: requireSignature });
      expect(r.manifestDigest).toBe(image.manifest.digest);
    } finally {
      hostile.blobMode = 'forward';
    }
    const storage = hostile.received.filter((x) => x.server === 'storage');
    // Config, two layers, and the attachments' blobs all came from storage...
    expect(storage.length).toBeGreaterThanOrEqual(3);
    // ...and not one of those requests carried a credential, while the registry itself did get them.
    expect(storage.map((x) => x.authorization)).toEqual(storage.map(() => undefined));
    expect(hostile.received.some((x) => x.server === 'proxy' && x.authorization === BASIC)).toBe(true);
  });

  it("storage's own Bearer challenge is refused: no credentials to storage, nothing to its realm, nothing written", async () => {
    hostile.blobMode = 'redirect-challenge';
    hostile.received.length = 0;
    const dest = out();
    try {
      const e = (await pullImage({ ref: ref(), client: viaProxy(), outDir: dest, verify: requireSignature }).catch((x: unknown) => x)) as RegistryError;
      expect(e).toBeInstanceOf(RegistryError);
      expect(e.code).toBe('REGISTRY_UNAUTHORIZED');
      expect(e.exitStatus).toBe(5);
    } finally {
      hostile.blobMode = 'forward';
    }
    expect(hostile.received.filter((x) => x.server === 'evil')).toEqual([]);
    expect(hostile.received.filter((x) => x.server === 'storage').every((x) => x.authorization === undefined)).toBe(true);
    await expect(stat(dest)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await leftovers()).toEqual([]);
  });
});

describe('pull checks trust before bulk', () => {
  it('the signature is judged before any layer is requested; refused, no layer is fetched at all', async () => {
    hostile.received.length = 0;
    let sawLayers: boolean[] = [];
    const dest = out();
    const e = await pullImage({
      ref: ref(),
      client: viaProxy(),
      outDir: dest,
      verifyTrust: async (layoutDir, ctx) => {
        await requireSignature(layoutDir, ctx);
        sawLayers = await Promise.all(
          layerDigests.map((d) =>
            stat(blobPath(layoutDir, d)).then(
              () => true,
              () => false,
            ),
          ),
        );
        throw new VerifyError('SIGNATURE_UNTRUSTED_KEY', 'refused by the test');
      },
      verify: async () => {
        throw new Error('must not be reached');
      },
    }).catch((x: unknown) => x);
    expect((e as VerifyError).code).toBe('SIGNATURE_UNTRUSTED_KEY');
    expect(sawLayers).toEqual([false, false]);
    const blobGets = hostile.received.filter((x) => x.server === 'proxy' && x.method === 'GET' && x.path.includes('/blobs/'));
    for (const d of layerDigests) expect(blobGets.some((x) => x.path.endsWith(d))).toBe(false);
    await expect(stat(dest)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await leftovers()).toEqual([]);
  });

  it('an oversize manifest sent chunked without Content-Length is refused after the cap, not read to its end', async () => {
    const total = 64 * 1024 * 1024;
    hostile.fabricated.set('/v2/hostile/img/manifests/huge', { kind: 'endless', total });
    const before = hostile.endlessBytesSent();
    const dest = out();
    const e = (await pullImage({ ref: ref('huge'), client: viaProxy({ maxManifestBytes: 1024 * 1024 }), outDir: dest, verify: requireSignature }).catch(
      (x: unknown) => x,
    )) as RegistryError;
    expect(e.code).toBe('REGISTRY_PROTOCOL');
    expect(e.details.limit).toBe(1024 * 1024);
    // The client hung up: the server got nowhere near the end (socket buffers allow some slack).
    expect(hostile.endlessBytesSent() - before).toBeLessThan(total / 2);
    await expect(stat(dest)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await leftovers()).toEqual([]);
  });

  it("other parties' attachments and garbage beside ours neither block the pull nor cost unbounded requests", async () => {
    // The real referrers list (ours), followed by what anyone with push access could add.
    const real = JSON.parse((await direct().getManifest('hostile/img', referrersTag(image.manifest.digest))).bytes.toString('utf8')) as {
      manifests: { digest: string }[];
    };
    const junk = (i: number, annotations: Record<string, string>, artifactType?: string) => ({
      mediaType: MediaType.imageManifest,
      digest: sha256Digest(`junk-${i}`),
      size: 100,
      ...(artifactType ? { artifactType } : {}),
      annotations,
    });
    // An attachment of another party whose layer claims to be 1 GiB: it must not be downloaded.
    const hugeLayer = { mediaType: MediaType.simpleSigningLayer, digest: sha256Digest('never served'), size: 1024 ** 3 };
    const bigDoc = Buffer.from(
      canonicalJson({
        schemaVersion: 2,
        mediaType: MediaType.imageManifest,
        artifactType: MediaType.simpleSigning,
        config: { mediaType: MediaType.emptyJson, digest: sha256Digest('{}'), size: 2 },
        layers: [hugeLayer],
        subject: { mediaType: MediaType.imageManifest, digest: image.manifest.digest, size: image.manifest.size },
      }),
    );
    const bigDigest = sha256Digest(bigDoc);
    hostile.fabricated.set(`/v2/hostile/img/manifests/${bigDigest}`, { kind: 'body', body: bigDoc, contentType: MediaType.imageManifest });
    const list = {
      schemaVersion: 2,
      mediaType: MediaType.imageIndex,
      manifests: [
        ...real.manifests,
        {
          mediaType: MediaType.imageManifest,
          digest: bigDigest,
          size: bigDoc.length,
          artifactType: MediaType.simpleSigning,
          annotations: { [ATTACHMENT]: 'signature' },
        },
        ...Array.from({ length: 200 }, (_, i) => junk(i, { 'vendor.other': 'x' }, 'application/vnd.other.thing')),
        ...Array.from({ length: 50 }, (_, i) => junk(1000 + i, { [ATTACHMENT]: 'signature' })),
      ],
    };
    const tagPath = `/v2/hostile/img/manifests/${referrersTag(image.manifest.digest)}`;
    hostile.fabricated.set(tagPath, { kind: 'body', body: Buffer.from(canonicalJson(list)), contentType: MediaType.imageIndex });
    hostile.received.length = 0;
    try {
      const r = await pullImage({ ref: ref(), client: viaProxy(), outDir: out(), verify: requireSignature, maxReferrers: 16 });
      expect(r.manifestDigest).toBe(image.manifest.digest);
      expect(r.attachments).toBe(3);
    } finally {
      hostile.fabricated.delete(tagPath);
    }
    const manifestGets = hostile.received.filter((x) => x.server === 'proxy' && x.method === 'GET' && /\/manifests\/sha256:/.test(x.path));
    // At most 16 entries of a known kind followed; the 200 of unknown kind never.
    expect(manifestGets.length).toBeLessThanOrEqual(16);
    for (let i = 0; i < 200; i++) expect(manifestGets.some((x) => x.path.endsWith(sha256Digest(`junk-${i}`)))).toBe(false);
    expect(hostile.received.some((x) => x.path.endsWith(hugeLayer.digest))).toBe(false);
  });
});

describe('pull by digest (containers/image identity rule)', () => {
  it('a signature for repo:tag verifies a pull of repo@digest; one for another repository does not', async () => {
    const key = await testKey('ed25519');
    const keys = await readVerificationKeys([key.publicKeyArmored]);
    const signed = await writeTestImage(join(dir, 'by-digest'), { tag: '7', layers: [await randomLayer(3000)] });
    await signLayout({
      layout: await Layout.open(signed.layoutDir),
      key: key.signing,
      identities: [`${registry.host}/digest/img:7`],
      creator: 'test',
      now: new Date(),
    });
    await pushImage({
      layoutDir: signed.layoutDir,
      targets: [parseReference(`${registry.host}/digest/img:7`), parseReference(`${registry.host}/digest/copy:7`)],
      client: direct(),
    });
    const signatureOnly = async (layoutDir: string, ctx: PullVerifyContext) => {
      await verifyLayout({ layout: await Layout.open(layoutDir), keys, identity: ctx.identity, signatureOnly: true, blobsNotYetFetched: true });
    };
    const byDigest = parseReference(`${registry.host}/digest/img@${signed.manifest.digest}`);
    let identity = '';
    const r = await pullImage({
      ref: byDigest,
      client: direct(),
      outDir: out(),
      verifyTrust: signatureOnly,
      verify: async (l, ctx) => {
        identity = ctx.identity;
        await signatureOnly(l, ctx);
      },
    });
    expect(r.manifestDigest).toBe(signed.manifest.digest);
    expect(identity).toBe(`${registry.host}/digest/img@${signed.manifest.digest}`);
    // The same bytes in another repository: the signature names digest/img, so it is refused.
    const other = await pullImage({
      ref: parseReference(`${registry.host}/digest/copy@${signed.manifest.digest}`),
      client: direct(),
      outDir: out(),
      verifyTrust: signatureOnly,
      verify: signatureOnly,
    }).catch((x: unknown) => x);
    expect((other as VerifyError).code).toBe('SIGNATURE_IDENTITY_MISMATCH');
    // A digest the registry answers with other bytes is caught before anything is trusted.
    const wrong = await pullImage({
      ref: parseReference(`${registry.host}/digest/img@${sha256Digest('nope')}`),
      client: direct(),
      outDir: out(),
      verify: signatureOnly,
    }).catch((x: unknown) => x);
    expect((wrong as RegistryError).code).toBe('REGISTRY_NOT_FOUND');
  });
});
