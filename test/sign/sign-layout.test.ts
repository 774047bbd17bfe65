import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sha256Digest } from '../../src/oci/digest.js';
import { ATTACHMENT, Layout } from '../../src/oci/layout.js';
import { parseManifest } from '../../src/oci/document.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import { DEFAULT_REGISTRY as DEFAULT_DOMAIN } from '../../src/oci/reference.js';
import { readVerificationKeys } from '../../src/pgp/keys.js';
import { lookasideSignaturePath, signaturesByRepository, writeLookaside } from '../../src/sign/lookaside.js';
import { readLayoutSignatures, SIGNATURE_IDENTITY, signLayout } from '../../src/sign/sign-layout.js';
import { verifyImageSignature } from '../../src/sign/simple-signing.js';
import { testKey, type TestKey } from './helpers/keys.js';
import { tempDir, writeSyntheticImage, type SyntheticImage } from './helpers/synthetic-image.js';

const REPO = '127.0.0.1:5000/base/debian-minimal';
const NOW = new Date('2025-05-17T08:00:00Z');

let key: TestKey;
beforeAll(async () => {
  key = await testKey('ed25519');
});

describe('signLayout', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let image: SyntheticImage;
  beforeEach(async () => {
    dir = await tempDir('sign-layout');
    image = await writeSyntheticImage(dir.path, { ref: '12' });
  });
  afterEach(() => dir.cleanup());

  it('writes one signature per identity as an OCI artifact whose subject is the image', async () => {
    const result = await signLayout({
      layout: await Layout.open(dir.path),
      key: key.signing,
      identities: [`${REPO}:12`, `${REPO}:bookworm`],
      creator: 'imgfactory test',
      now: NOW,
    });
    expect(result.manifestDigest).toBe(image.digest);
    const index = await Layout.open(dir.path);
    const entries = index.entries.filter((m) => m.annotations?.[ATTACHMENT] === 'signature');
    expect(entries).toEqual([
      {
        mediaType: MediaType.imageManifest,
        digest: result.attachment.digest,
        size: result.attachment.size,
        artifactType: MediaType.simpleSigning,
        annotations: { [ATTACHMENT]: 'signature' },
      },
    ]);
    const manifest = parseManifest(await index.readBlob(result.attachment.digest), 'attachment');
    expect(manifest).toMatchObject({
      schemaVersion: 2,
      mediaType: MediaType.imageManifest,
      artifactType: MediaType.simpleSigning,
      config: {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
        size: 2,
      },
      subject: { mediaType: MediaType.imageManifest, digest: image.digest, size: image.manifestBytes.byteLength },
    });
    expect(await readFile(join(dir.path, 'blobs/sha256/44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'), 'utf8')).toBe('{}');
    expect(manifest.layers.map((l) => [l.mediaType, l.annotations?.[SIGNATURE_IDENTITY]])).toEqual([
      [MediaType.simpleSigningLayer, `${REPO}:12`],
      [MediaType.simpleSigningLayer, `${REPO}:bookworm`],
    ]);
    const trusted = await readVerificationKeys([key.publicKeyArmored]);
    for (const layer of manifest.layers) {
      const sig = new Uint8Array(await readFile(join(dir.path, 'blobs/sha256', layer.digest.slice(7))));
      const v = await verifyImageSignature(sig, trusted, { manifestDigest: image.digest, identity: layer.annotations![SIGNATURE_IDENTITY]! });
      expect(v.payload.timestamp).toBe(NOW.getTime() / 1000);
      expect(v.payload.creator).toBe('imgfactory test');
    }
    // The attachment manifest is canonical JSON: its bytes are exactly its digest's preimage.
    const raw = await readFile(join(dir.path, 'blobs/sha256', result.attachment.digest.slice(7)));
    expect(raw.toString()).toBe(JSON.stringify(JSON.parse(raw.toString())));
  });

  it('readLayoutSignatures gives the push what it needs: digest, identity and bytes of each signature', async () => {
    const written = await signLayout({
      layout: await Layout.open(dir.path),
      key: key.signing,
      identities: [`${REPO}:12`, `${REPO}:bookworm`, 'reg.invalid/x:1'],
      creator: 'c',
      now: NOW,
    });
    const read = await readLayoutSignatures(await Layout.open(dir.path));
    expect(read.manifestDigest).toBe(image.digest);
    expect(read.signatures).toEqual(written.signatures.map((s) => ({ identity: s.identity, signature: new Uint8Array(s.signature) })));
    const grouped = signaturesByRepository(read.signatures);
    expect([...grouped.keys()]).toEqual([REPO, 'reg.invalid/x']);
    expect(grouped.get(REPO)).toHaveLength(2);
  });

  it('re-signing replaces the previous signature attachment (no duplicates)', async () => {
    await signLayout({ layout: await Layout.open(dir.path), key: key.signing, identities: [`${REPO}:12`], creator: 'c', now: NOW });
    const second = await signLayout({ layout: await Layout.open(dir.path), key: key.signing, identities: [`${REPO}:13`], creator: 'c', now: NOW });
    const entries = (await Layout.open(dir.path)).entries.filter((m) => m.annotations?.[ATTACHMENT] === 'signature');
    expect(entries.map((e) => e.digest)).toEqual([second.attachment.digest]);
    expect((await Layout.open(dir.path)).entries).toHaveLength(2);
  });

  it('normalizes identities and refuses ones without a tag: IDENTITY_INVALID', async () => {
    const r = await signLayout({ layout: await Layout.open(dir.path), key: key.signing, identities: ['busybox:1', 'busybox:1'], creator: 'c', now: NOW });
    expect(r.signatures.map((s) => s.identity)).toEqual([`${DEFAULT_DOMAIN}/library/busybox:1`]);
    await expect(signLayout({ layout: await Layout.open(dir.path), key: key.signing, identities: [REPO], creator: 'c', now: NOW })).rejects.toMatchObject({
      code: 'IDENTITY_INVALID',
    });
    await expect(signLayout({ layout: await Layout.open(dir.path), key: key.signing, identities: [], creator: 'c', now: NOW })).rejects.toMatchObject({
      code: 'IDENTITY_INVALID',
    });
  });
});

describe('lookaside store', () => {
  const digest = sha256Digest('m');
  it('path: repository without the registry host, @sha256=<hex>, signature-N from 1', () => {
    expect(lookasideSignaturePath(REPO, digest, 1)).toBe(`base/debian-minimal@sha256=${digest.slice(7)}/signature-1`);
    expect(lookasideSignaturePath(`${REPO}:12`, digest, 2)).toBe(`base/debian-minimal@sha256=${digest.slice(7)}/signature-2`);
    expect(lookasideSignaturePath('busybox', digest, 1)).toBe(`library/busybox@sha256=${digest.slice(7)}/signature-1`);
  });

  it('writeLookaside adds to the set for that digest, keeping what is stored and never duplicating', async () => {
    const dir = await tempDir('lookaside');
    try {
      const a = new TextEncoder().encode('a');
      const b = new TextEncoder().encode('b');
      await writeLookaside({ dir: dir.path, repository: REPO, manifestDigest: digest, signatures: [a, b] });
      const sigDir = join(dir.path, `base/debian-minimal@sha256=${digest.slice(7)}`);
      expect((await readdir(sigDir)).sort()).toEqual(['signature-1', 'signature-2']);
      const c = new TextEncoder().encode('c');
      expect(await writeLookaside({ dir: dir.path, repository: REPO, manifestDigest: digest, signatures: [b, c] })).toEqual([join(sigDir, 'signature-3')]);
      expect((await readdir(sigDir)).sort()).toEqual(['signature-1', 'signature-2', 'signature-3']);
      expect(await readFile(join(sigDir, 'signature-1'), 'utf8')).toBe('a');
      expect(await readFile(join(sigDir, 'signature-3'), 'utf8')).toBe('c');
      expect(await readdir(join(dir.path, 'base'))).toEqual([`debian-minimal@sha256=${digest.slice(7)}`]);
    } finally {
      await dir.cleanup();
    }
  });
});
