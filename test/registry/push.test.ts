// Push to a real docker-registry (plain HTTP on loopback) and check with skopeo what landed.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Digest } from '../../src/oci/digest.js';
import { Layout } from '../../src/oci/layout.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import type { Index, Manifest } from '../../src/oci/types.js';
import { createRegistryClient } from '../../src/registry/client.js';
import type { LocalRegistry } from '../../src/registry/local-registry.js';
import { publishImage } from '../../src/registry/publish.js';
import { pushImage, type PushProgress } from '../../src/registry/push.js';
import { parseReference, referrersTag } from '../../src/oci/reference.js';
import {
  randomLayer,
  skopeo,
  startFaultProxy,
  startTestRegistry,
  tlsArgs,
  writeTestAttachments,
  writeTestImage,
  testDir,
  type LayerBlob,
  type TestImage,
} from '../helpers/registry.js';

let registry: LocalRegistry;
let dir: string;
let base: TestImage;
let baseLayers: LayerBlob[];

beforeAll(async () => {
  registry = await startTestRegistry({ accessLog: true });
  dir = await testDir();
  baseLayers = [await randomLayer(200_000), await randomLayer(50_000)];
  base = await writeTestImage(join(dir, 'base'), { tag: '12', layers: baseLayers });
  await writeTestAttachments(base, [`${registry.host}/base/debian-minimal:12`]);
});

const client = () => createRegistryClient({ registry: registry.host, insecure: true });

describe('pushImage', () => {
  it('pushes the image; skopeo reads the same manifest digest and copies it out', async () => {
    const events: PushProgress[] = [];
    const target = parseReference(`${registry.host}/base/debian-minimal:12`);
    const r = await pushImage({ layoutDir: base.layoutDir, targets: [target], client: client(), onProgress: (e) => events.push(e) });
    expect(r.manifestDigest).toBe(base.manifest.digest);
    // config + 2 layers + the attachments' empty config + 3 attachment layers
    expect(r.blobsUploaded).toBe(7);
    expect(r.blobsSkipped).toBe(0);
    expect(r.attachmentsPushed).toBe(3);
    expect(r.tagged).toEqual([`${registry.host}/base/debian-minimal:12`]);
    // The tag is the very last thing written.
    expect(events.at(-1)).toMatchObject({ type: 'tag' });
    expect(events.filter((e) => e.type === 'tag')).toHaveLength(1);

    const raw = await skopeo(['inspect', '--raw', ...tlsArgs(registry), `docker://${registry.host}/base/debian-minimal:12`]);
    expect(sha256Digest(Buffer.from(raw.stdout))).toBe(base.manifest.digest);
    expect(Buffer.from(raw.stdout).equals(base.manifestBytes)).toBe(true);

    const out = join(dir, 'copied');
    await skopeo(['copy', ...tlsArgs(registry, 'src'), `docker://${registry.host}/base/debian-minimal:12`, `oci:${out}:x`]);
    const copied = await Layout.open(out);
    expect(copied.entries[0]!.digest).toBe(base.manifest.digest);
    for (const l of baseLayers) expect((await readFile(copied.blobPath(l.descriptor.digest))).equals(l.bytes)).toBe(true);
  });

  it('lists signature, SBOM and provenance under the referrers fallback tag, subject = the image', async () => {
    const c = client();
    const tag = referrersTag(base.manifest.digest);
    const raw = await skopeo(['inspect', '--raw', ...tlsArgs(registry), `docker://${registry.host}/base/debian-minimal:${tag}`]);
    const index = JSON.parse(raw.stdout) as Index;
    expect(index.mediaType).toBe(MediaType.imageIndex);
    expect(index.manifests.map((m) => m.annotations?.['dev.imgfactory.attachment']).sort()).toEqual(['provenance', 'sbom', 'signature']);
    expect(index.manifests.find((m) => m.annotations?.['dev.imgfactory.attachment'] === 'signature')?.artifactType).toBe(MediaType.simpleSigning);
    for (const d of index.manifests) {
      const m = await c.getManifest('base/debian-minimal', d.digest);
      const manifest = JSON.parse(m.bytes.toString('utf8')) as Manifest;
      // distribution stores OCI 1.1 fields unchanged.
      expect(manifest.subject?.digest).toBe(base.manifest.digest);
      expect(manifest.artifactType).toBe(d.artifactType);
      expect(m.digest).toBe(d.digest);
    }
  });

  it('pushing the unchanged image again uploads 0 blobs and leaves the fallback index as it was', async () => {
    const c = client();
    const before = await c.getManifest('base/debian-minimal', referrersTag(base.manifest.digest));
    const r = await pushImage({ layoutDir: base.layoutDir, targets: [parseReference(`${registry.host}/base/debian-minimal:12`)], client: c });
    expect(r.blobsUploaded).toBe(0);
    expect(r.bytesUploaded).toBe(0);
    expect(r.blobsMounted).toBe(0);
    expect(r.blobsSkipped).toBe(7);
    const after = await c.getManifest('base/debian-minimal', referrersTag(base.manifest.digest));
    expect(after.digest).toBe(before.digest);
  });

  it('a child image in another repository mounts the base layers and uploads only its own', async () => {
    const own = await randomLayer(30_000);
    const child = await writeTestImage(join(dir, 'child'), { tag: '1', layers: [...baseLayers, own] });
    const logBefore = registry.logLines().length;
    const r = await pushImage({
      layoutDir: child.layoutDir,
      targets: [parseReference(`${registry.host}/apps/python3:1`)],
      client: client(),
      mountFrom: ['base/debian-minimal'],
    });
    expect(r.blobsMounted).toBe(2);
    expect(r.blobsUploaded).toBe(2); // its config and its own layer
    expect(r.bytesUploaded).toBe(own.descriptor.size + child.config.size);
    expect(r.attachmentsPushed).toBe(0);
    // The registry's access log shows the two cross-repository mounts (201 Created).
    const mounts = registry
      .logLines()
      .slice(logBefore)
      .filter((l) => /POST \/v2\/apps\/python3\/blobs\/uploads\/\?(?=.*mount=)(?=.*from=base%2Fdebian-minimal).* 201 /.test(l));
    expect(mounts).toHaveLength(2);
    const raw = await skopeo(['inspect', '--raw', ...tlsArgs(registry), `docker://${registry.host}/apps/python3:1`]);
    expect(sha256Digest(Buffer.from(raw.stdout))).toBe(child.manifest.digest);
  });

  it('pushes to two repositories in one go: the second mounts everything from the first; tags come last', async () => {
    const img = await writeTestImage(join(dir, 'two'), { tag: 't', layers: [await randomLayer(10_000)] });
    const events: PushProgress[] = [];
    const r = await pushImage({
      layoutDir: img.layoutDir,
      targets: [parseReference(`${registry.host}/multi/a:1`), parseReference(`${registry.host}/multi/a:latest`), parseReference(`${registry.host}/multi/b:1`)],
      client: client(),
      onProgress: (e) => events.push(e),
    });
    expect(r.blobsUploaded).toBe(2);
    expect(r.blobsMounted).toBe(2);
    const firstTag = events.findIndex((e) => e.type === 'tag');
    expect(events.slice(firstTag).every((e) => e.type === 'tag')).toBe(true);
    expect(events.filter((e) => e.type === 'tag')).toHaveLength(3);
    expect((await client().listTags('multi/a')).sort()).toEqual(['1', 'latest']);
  });

  it('pushes a multi-platform index: platform manifests first, then the index; attachments keyed to the index', async () => {
    const layout = join(dir, 'multi-arch');
    const amd = await writeTestImage(layout, { tag: 'amd64-only', layers: [await randomLayer(4000)] });
    const arm = await writeTestImage(join(dir, 'arm-tmp'), { tag: 'arm', layers: [await randomLayer(4000)] });
    const multi = await Layout.open(layout);
    for (const l of arm.layers) await multi.writeBlob(l.bytes, l.descriptor.mediaType);
    await multi.writeBlob(await readFile((await Layout.open(arm.layoutDir)).blobPath(arm.config.digest)), MediaType.imageConfig);
    await multi.writeBlob(arm.manifestBytes, MediaType.imageManifest);
    const index: Index = {
      schemaVersion: 2,
      mediaType: MediaType.imageIndex,
      manifests: [
        { ...amd.manifest, platform: { architecture: 'amd64', os: 'linux' } },
        { ...arm.manifest, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
      ],
    };
    const indexBytes = Buffer.from(JSON.stringify(index));
    const indexDesc = await multi.writeBlob(indexBytes, MediaType.imageIndex);
    await multi.tag(indexDesc, 'multi');
    const fakeImage = { ...amd, manifest: indexDesc, tag: 'multi' };
    await writeTestAttachments(fakeImage, [`${registry.host}/multi/arch:1`]);

    const r = await pushImage({ layoutDir: layout, ref: 'multi', targets: [parseReference(`${registry.host}/multi/arch:1`)], client: client() });
    expect(r.manifestDigest).toBe(indexDesc.digest);
    expect(r.mediaType).toBe(MediaType.imageIndex);
    const raw = await skopeo(['inspect', '--raw', ...tlsArgs(registry), `docker://${registry.host}/multi/arch:1`]);
    expect(sha256Digest(Buffer.from(raw.stdout))).toBe(indexDesc.digest);
    const armRaw = await skopeo(['inspect', '--raw', ...tlsArgs(registry), `docker://${registry.host}/multi/arch@${arm.manifest.digest}`]);
    expect(Buffer.from(armRaw.stdout).equals(arm.manifestBytes)).toBe(true);
    const referrers = await client().getManifest('multi/arch', referrersTag(indexDesc.digest));
    expect((JSON.parse(referrers.bytes.toString('utf8')) as Index).manifests).toHaveLength(3);
  });

  it('refuses a layout whose blob was tampered with: LAYOUT_BLOB_CORRUPT, the blob never committed, nothing tagged', async () => {
    const layer = await randomLayer(5000);
    const img = await writeTestImage(join(dir, 'tampered'), { tag: 'x', layers: [layer] });
    const file = (await Layout.open(img.layoutDir)).blobPath(layer.descriptor.digest);
    const bytes = await readFile(file);
    bytes[100] = bytes[100]! ^ 0xff;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, bytes);
    await expect(pushImage({ layoutDir: img.layoutDir, targets: [parseReference(`${registry.host}/tampered/x:1`)], client: client() })).rejects.toMatchObject({
      code: 'LAYOUT_BLOB_CORRUPT',
    });
    expect(await client().listTags('tampered/x')).toEqual([]);
    // Hashed before its one PUT: the registry never holds the tampered layer, nor the manifest.
    expect(await client().hasBlob('tampered/x', layer.descriptor.digest)).toBe(false);
    expect(await client().findManifest('tampered/x', img.manifest.digest)).toBeUndefined();
  });

  it('a large blob flipped on disk is streamed unhashed-before, yet never committed: LAYOUT_BLOB_CORRUPT, no tag', async () => {
    // Above the one-PUT size and in several PATCHes: hashed only as it is sent.
    const layer = await randomLayer(3 * 1024 * 1024);
    const img = await writeTestImage(join(dir, 'tampered-large'), { tag: 'x', layers: [layer] });
    const file = (await Layout.open(img.layoutDir)).blobPath(layer.descriptor.digest);
    const bytes = await readFile(file);
    expect(bytes.byteLength).toBeGreaterThan(2 * 1024 * 1024);
    bytes[bytes.byteLength - 10] = bytes[bytes.byteLength - 10]! ^ 0xff;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, bytes);
    const target = parseReference(`${registry.host}/tampered/large:1`);
    const streaming = createRegistryClient({ registry: registry.host, insecure: true, chunkSize: 1024 * 1024 });
    await expect(pushImage({ layoutDir: img.layoutDir, targets: [target], client: streaming })).rejects.toMatchObject({ code: 'LAYOUT_BLOB_CORRUPT' });
    expect(await client().listTags('tampered/large')).toEqual([]);
    expect(await client().hasBlob('tampered/large', layer.descriptor.digest)).toBe(false);
    expect(await client().findManifest('tampered/large', img.manifest.digest)).toBeUndefined();
    // The PATCHes did go out; the session was cancelled instead of committed.
    const log = registry.logLines().join('\n');
    expect(log).toMatch(/PATCH \/v2\/tampered\/large\/blobs\/uploads\//);
    expect(log).toMatch(/DELETE \/v2\/tampered\/large\/blobs\/uploads\//);
    expect(log).not.toContain(`digest=${encodeURIComponent(layer.descriptor.digest)}`);
  });

  it('an unchanged re-push reads no blob: one changed on disk since is neither hashed nor sent', async () => {
    const layer = await randomLayer(5000);
    const img = await writeTestImage(join(dir, 'repush'), { tag: 'x', layers: [layer] });
    const target = parseReference(`${registry.host}/repush/x:1`);
    await pushImage({ layoutDir: img.layoutDir, targets: [target], client: client() });
    const file = (await Layout.open(img.layoutDir)).blobPath(layer.descriptor.digest);
    const bytes = await readFile(file);
    bytes[100] = bytes[100]! ^ 0xff;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, bytes);
    const again = await pushImage({ layoutDir: img.layoutDir, targets: [target], client: client() });
    expect(again).toMatchObject({ blobsUploaded: 0, blobsSkipped: 2, bytesUploaded: 0 });
    // The registry keeps the bytes it verified on the first push.
    const out = join(dir, 'repush-copy');
    await skopeo(['copy', ...tlsArgs(registry, 'src'), `docker://${registry.host}/repush/x:1`, `oci:${out}:x`]);
    expect((await readFile((await Layout.open(out)).blobPath(layer.descriptor.digest))).equals(layer.bytes)).toBe(true);
  });

  it('a version tag holding another image refuses the publish: its HEADs may run meanwhile, nothing is written', async () => {
    const versionTag = '12-20260101.0123456789ab';
    const first = await writeTestImage(join(dir, 'v-first'), { tag: 'x', layers: [await randomLayer(4000)] });
    const second = await writeTestImage(join(dir, 'v-second'), { tag: 'x', layers: [await randomLayer(300_000), await randomLayer(4000)] });
    const target = `${registry.host}/versions/taken:${versionTag}`;
    await publishImage({ layoutDir: first.layoutDir, targets: [target], env: {}, insecure: true });
    await expect(
      publishImage({ layoutDir: second.layoutDir, targets: [target, `${registry.host}/versions/taken:stable`], env: {}, insecure: true }),
    ).rejects.toMatchObject({
      code: 'VERSION_TAG_TAKEN',
    });
    for (const d of [second.config.digest, ...second.layers.map((l) => l.descriptor.digest), second.manifest.digest]) {
      expect(await client().hasBlob('versions/taken', d)).toBe(false);
    }
    expect(await client().listTags('versions/taken')).toEqual([versionTag]);
  });

  it('with a lookaside directory too, a taken version tag is refused before any signature or blob is written', async () => {
    const versionTag = '12-20260101.0123456789ac';
    const first = await writeTestImage(join(dir, 'vl-first'), { tag: 'x', layers: [await randomLayer(4000)] });
    const second = await writeTestImage(join(dir, 'vl-second'), { tag: 'x', layers: [await randomLayer(4000)] });
    const target = `${registry.host}/versions/taken-lookaside:${versionTag}`;
    await publishImage({ layoutDir: first.layoutDir, targets: [target], env: {}, insecure: true });
    const lookasideDir = join(dir, 'vl-lookaside');
    await expect(publishImage({ layoutDir: second.layoutDir, targets: [target], env: {}, insecure: true, lookasideDir })).rejects.toMatchObject({
      code: 'VERSION_TAG_TAKEN',
    });
    expect(await readdir(lookasideDir).catch(() => [])).toEqual([]);
    for (const d of [second.config.digest, ...second.layers.map((l) => l.descriptor.digest), second.manifest.digest]) {
      expect(await client().hasBlob('versions/taken-lookaside', d)).toBe(false);
    }
    expect(await client().listTags('versions/taken-lookaside')).toEqual([versionTag]);
  });

  it('several tags move together: when the registry refuses one, the tags already moved are put back', async () => {
    const old = await writeTestImage(join(dir, 'tags-old'), { tag: 'x', layers: [await randomLayer(3000)] });
    const fresh = await writeTestImage(join(dir, 'tags-new'), { tag: 'x', layers: [await randomLayer(3000)] });
    await pushImage({
      layoutDir: old.layoutDir,
      targets: [parseReference(`${registry.host}/tags/app:1`), parseReference(`${registry.host}/tags/app:2`)],
      client: client(),
    });
    const proxy = await startFaultProxy(Number(registry.host.split(':')[1]), [
      { match: (m, p) => m === 'PUT' && p.endsWith('/manifests/2'), times: 100, status: 400 },
    ]);
    try {
      const via = createRegistryClient({ registry: proxy.host, insecure: true, retry: { attempts: 2, baseDelayMs: 1 } });
      const e = await pushImage({
        layoutDir: fresh.layoutDir,
        targets: [parseReference(`${proxy.host}/tags/app:1`), parseReference(`${proxy.host}/tags/app:2`)],
        client: via,
      }).catch((x: unknown) => x);
      expect((e as { code?: string }).code).toBe('MANIFEST_PUT_FAILED');
      // Tag 1 was moved to the new image first, then put back.
      expect(proxy.seen.filter((x) => x.method === 'PUT' && x.path.endsWith('/manifests/1')).length).toBe(2);
    } finally {
      await proxy.stop();
    }
    expect((await client().getManifest('tags/app', '1')).digest).toBe(old.manifest.digest);
    expect((await client().getManifest('tags/app', '2')).digest).toBe(old.manifest.digest);
  });
});
