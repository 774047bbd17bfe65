/**
 * A multi-platform image: the signature covers the index digest (what containers/image checks
 * when a tag names an index), and the provenance must name the index and every platform image
 * it lists, or verification refuses it.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImageConfig } from '../../src/image/config.js';
import { writeImage, type WrittenImage } from '../../src/image/write-image.js';
import { Layout } from '../../src/oci/layout.js';
import { ociPlatform } from '../../src/oci/platform.js';
import { attestLayout, type AttestLayoutOptions } from '../../src/provenance/attest-layout.js';
import { readVerificationKeys, type VerificationKey } from '../../src/pgp/keys.js';
import { readPlatformSignatures, signLayout } from '../../src/sign/sign-layout.js';
import { verifyImageSignature } from '../../src/sign/simple-signing.js';
import { writeLookasideFromLayout } from '../../src/registry/lookaside.js';
import { parseReference } from '../../src/oci/reference.js';
import { verifyLayout } from '../../src/verify/verify-layout.js';
import { PROVENANCE_INPUT } from '../fixtures/sign/provenance-input.js';
import { tarLayer } from '../helpers/oci-image.js';
import { tempDir } from '../helpers/tmp.js';
import { testKey, type TestKey } from '../sign/helpers/keys.js';

const IDENTITY = '127.0.0.1:5000/base/debian-minimal:12';

/** The subject digest of an attachment manifest in the layout. */
function attachmentSubject(dir: string, digest: string): string | undefined {
  const doc = JSON.parse(readFileSync(join(dir, 'blobs/sha256', digest.slice(7)), 'utf8')) as { subject?: { digest: string } };
  return doc.subject?.digest;
}

let key: TestKey;
let trusted: VerificationKey[];

/** A two-platform layout (amd64, arm64), signed; attested by `attest`. */
async function indexLayout(attest: (layout: Layout, written: WrittenImage) => Promise<void>): Promise<{ dir: string; written: WrittenImage }> {
  const dir = await tempDir();
  const layout = await Layout.create(join(dir, 'layout'));
  const images = [];
  for (const arch of ['amd64', 'arm64']) {
    const layer = await tarLayer({ 'etc/arch': `${arch}\n` });
    const path = join(dir, `${arch}.tar.gz`);
    await writeFile(path, layer.bytes);
    const layers = [{ ...layer.descriptor, diffId: layer.diffId, uncompressedSize: 0, path }];
    const config = buildImageConfig({
      debianArch: arch,
      config: { env: {}, ports: [], labels: {} },
      created: '2025-01-01T00:00:00Z',
      layers: [{ diffId: layer.diffId, createdBy: 'test' }],
    });
    images.push({ debianArch: arch, config, layers });
  }
  const written = await writeImage(layout, images, '12.0.0', {});
  await signLayout({ layout, image: written.descriptor, key: key.signing, identities: [IDENTITY], creator: 'test', now: new Date() });
  await attest(layout, written);
  return { dir: layout.dir, written };
}

function attestOptions(layout: Layout, written: WrittenImage): AttestLayoutOptions {
  const { packageManifest, subject, ...rest } = PROVENANCE_INPUT;
  return {
    layout,
    image: written.descriptor,
    key: key.signing,
    packageManifest,
    provenanceInput: { ...rest, architectures: ['amd64', 'arm64'], subject: { name: subject.name } },
  };
}

beforeAll(async () => {
  key = await testKey('ed25519');
  trusted = await readVerificationKeys([key.publicKeyArmored]);
});

describe('a multi-platform index', () => {
  it('is signed as a whole and attested for the index and each platform image', async () => {
    const { dir, written } = await indexLayout(async (layout, w) => {
      const result = await attestLayout({ ...attestOptions(layout, w), platformManifests: w.manifests.map((m) => m.descriptor) });
      expect(result.statement.subject.map((s) => `sha256:${s.digest.sha256}`)).toEqual([w.descriptor.digest, ...w.manifests.map((m) => m.descriptor.digest)]);
    });
    expect(written.descriptor.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(written.manifests.map((m) => m.debianArch)).toEqual(['amd64', 'arm64']);
    const layout = await Layout.open(dir);
    const arm = await layout.image({ tag: '12.0.0', platform: ociPlatform('arm64') });
    expect(arm.config.architecture).toBe('arm64');
    expect(arm.descriptor.digest).toBe(written.manifests[1]!.descriptor.digest);
    const report = await verifyLayout({ layout, keys: trusted, identity: IDENTITY });
    expect(report.manifestDigest).toBe(written.descriptor.digest);
    expect(report.signatures.map((s) => s.identity)).toEqual([IDENTITY]);
    // The index, two manifests, two configs, two layers.
    expect(report.blobsChecked).toBe(7);
  });

  it('signs each platform manifest too (containers/image checks the instance it picks), and the lookaside store gets all three', async () => {
    const { dir, written } = await indexLayout(async () => {});
    const layout = await Layout.open(dir);
    const platforms = await readPlatformSignatures(layout);
    expect(platforms.map((p) => p.manifestDigest)).toEqual(written.manifests.map((m) => m.descriptor.digest));
    for (const p of platforms) {
      expect(p.signatures.map((s) => s.identity)).toEqual([IDENTITY]);
      const v = await verifyImageSignature(Buffer.from(p.signatures[0]!.signature), trusted, { manifestDigest: p.manifestDigest, identity: IDENTITY });
      expect(v.payload.identity).toBe(IDENTITY);
    }
    const lookasideDir = join(dir, '..', 'lookaside');
    const result = await writeLookasideFromLayout({ layoutDir: dir, lookasideDir, targets: [parseReference(IDENTITY)] });
    const digests = [written.descriptor.digest, ...written.manifests.map((m) => m.descriptor.digest)];
    expect([...result.written].sort()).toEqual(digests.map((d) => `base/debian-minimal@sha256=${d.slice(7)}/signature-1`).sort());
    expect(result.unsigned).toEqual([]);
  });

  it('refuses an index whose platform manifest lost its signature: SIGNATURE_MISSING (podman would refuse it)', async () => {
    const { dir, written } = await indexLayout(async (layout, w) => {
      await attestLayout({ ...attestOptions(layout, w), platformManifests: w.manifests.map((m) => m.descriptor) });
    });
    const layout = await Layout.open(dir);
    const arm = written.manifests[1]!.descriptor.digest;
    const armSignature = (await readPlatformSignatures(layout)).find((p) => p.manifestDigest === arm);
    expect(armSignature).toBeDefined();
    const entries = layout.entries.filter((e) => !(e.annotations?.['dev.imgfactory.attachment'] === 'signature' && attachmentSubject(dir, e.digest) === arm));
    expect(entries.length).toBe(layout.entries.length - 1);
    await layout.setEntries(entries);
    await expect(verifyLayout({ layout: await Layout.open(dir), keys: trusted })).rejects.toMatchObject({ code: 'SIGNATURE_MISSING' });
  });

  it('refuses provenance that names the index but not every platform image: PROVENANCE_SUBJECT_MISMATCH', async () => {
    const { dir, written } = await indexLayout(async (layout, w) => {
      await attestLayout({ ...attestOptions(layout, w), platformManifests: [w.manifests[0]!.descriptor] });
    });
    await expect(verifyLayout({ layout: await Layout.open(dir), keys: trusted })).rejects.toMatchObject({
      code: 'PROVENANCE_SUBJECT_MISMATCH',
      details: { uncovered: [written.manifests[1]!.descriptor.digest] },
    });
  });
});
