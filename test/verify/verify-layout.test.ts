/**
 * `verifyLayout` end to end on a real (tiny) signed and attested layout, and every way of
 * tampering with it the issue lists: each must be refused with its own code.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Digest, type Digest } from '../../src/oci/digest.js';
import { canonicalJson } from '../../src/oci/json.js';
import { Layout } from '../../src/oci/layout.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import type { Descriptor, Manifest } from '../../src/oci/types.js';
import { attestLayout, type AttestLayoutOptions } from '../../src/provenance/attest-layout.js';
import { signDsse } from '../../src/provenance/dsse.js';
import { buildSpdxSbom } from '../../src/provenance/spdx.js';
import { buildProvenance, IN_TOTO_PAYLOAD_TYPE } from '../../src/provenance/statement.js';
import { writeAttachment } from '../../src/oci/attachments.js';
import { readVerificationKeys, type VerificationKey } from '../../src/pgp/keys.js';
import { buildSignaturePayload } from '../../src/sign/payload.js';
import { SIGNATURE_IDENTITY, signLayout } from '../../src/sign/sign-layout.js';
import { signPayload } from '../../src/sign/simple-signing.js';
import { verifyLayout } from '../../src/verify/verify-layout.js';
import { PROVENANCE_INPUT } from '../fixtures/sign/provenance-input.js';
import { FIXTURE_MANIFEST } from '../fixtures/sign/verified-package-manifest.js';
import { testKey, type TestKey } from '../sign/helpers/keys.js';
import { tempDir, writeSyntheticImage } from '../sign/helpers/synthetic-image.js';

const REPO = '127.0.0.1:5000/base/debian-minimal';
const IDENTITY = `${REPO}:12`;

let key: TestKey;
let other: TestKey;
let trusted: VerificationKey[];
let root: { path: string; cleanup: () => Promise<void> };
let base: string;
let imageDigest: Digest;
let imageDescriptor: Descriptor;
let cases = 0;

async function attestOptions(layoutDir: string, signer: TestKey = key): Promise<AttestLayoutOptions> {
  const { packageManifest, subject, ...rest } = PROVENANCE_INPUT;
  const layout = await Layout.open(layoutDir);
  return { layout, image: layout.resolve(), key: signer.signing, packageManifest, provenanceInput: { ...rest, subject: { name: subject.name } } };
}

/** A fresh copy of the signed, attested layout to tamper with. */
async function copyOfBase(): Promise<string> {
  const dir = join(root.path, `case-${++cases}`);
  await cp(base, dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  key = await testKey('ed25519');
  other = await testKey('ed25519', 'not trusted');
  trusted = await readVerificationKeys([key.publicKeyArmored]);
  root = await tempDir('verify-layout');
  base = join(root.path, 'base');
  const image = await writeSyntheticImage(base, { ref: '12' });
  imageDigest = image.digest;
  imageDescriptor = image.descriptor;
  await signLayout({ layout: await Layout.open(base), key: key.signing, identities: [IDENTITY, `${REPO}:bookworm`], creator: 'test', now: new Date() });
  await attestLayout(await attestOptions(base));
});
afterAll(() => root?.cleanup());

describe('verifyLayout accepts', () => {
  it('the signed and attested image: signatures, provenance, SBOM (same packages)', async () => {
    const report = await verifyLayout({ layout: await Layout.open(base), keys: trusted, identity: IDENTITY });
    expect(report).toEqual({
      manifestDigest: imageDigest,
      blobsChecked: 3,
      signatures: [{ identity: IDENTITY, signerFingerprint: key.fingerprint, creator: 'test', timestamp: expect.any(Number) }],
      provenance: {
        signerFingerprint: key.fingerprint,
        builderId: PROVENANCE_INPUT.builder.id,
        dependencies: 1 + 2 + 3 + FIXTURE_MANIFEST.packages.length,
        packages: FIXTURE_MANIFEST.packages.length,
      },
      sbom: { format: 'spdx', packages: FIXTURE_MANIFEST.packages.length },
    });
    const all = await verifyLayout({ layout: await Layout.open(base), keys: trusted });
    expect(all.signatures.map((s) => s.identity)).toEqual([IDENTITY, `${REPO}:bookworm`]);
    const byDigest = await verifyLayout({ layout: await Layout.open(base), keys: trusted, identity: `${REPO}@${imageDigest}` });
    expect(byDigest.signatures).toHaveLength(2);
  });

  it('a CycloneDX SBOM just as well; re-attesting replaces the SBOM and provenance', async () => {
    const dir = await copyOfBase();
    await attestLayout({ ...(await attestOptions(dir)), sbomFormat: 'cyclonedx' });
    const index = await Layout.open(dir);
    expect(index.entries.filter((m) => m.annotations?.['dev.imgfactory.attachment'] === 'sbom')).toHaveLength(1);
    expect(index.entries.filter((m) => m.annotations?.['dev.imgfactory.attachment'] === 'provenance')).toHaveLength(1);
    await expect(verifyLayout({ layout: await Layout.open(dir), keys: trusted })).resolves.toMatchObject({ sbom: { format: 'cyclonedx' } });
  });
});

describe('verifyLayout refuses', () => {
  it('a signature from another key: SIGNATURE_UNTRUSTED_KEY', async () => {
    const dir = await copyOfBase();
    await signLayout({ layout: await Layout.open(dir), key: other.signing, identities: [IDENTITY], creator: 'test', now: new Date() });
    await expect(verifyLayout({ layout: await Layout.open(dir), keys: trusted, identity: IDENTITY })).rejects.toMatchObject({
      code: 'SIGNATURE_UNTRUSTED_KEY',
    });
  });

  it('a signature for another digest attached to this image: SIGNATURE_DIGEST_MISMATCH', async () => {
    const dir = await copyOfBase();
    const payload = buildSignaturePayload({ manifestDigest: sha256Digest('another image'), identity: IDENTITY, creator: 't', timestamp: 1 });
    await writeAttachment(await Layout.open(dir), {
      subject: imageDescriptor,
      kind: 'signature',
      artifactType: MediaType.simpleSigning,
      layers: [{ bytes: await signPayload(payload, key.signing), mediaType: MediaType.simpleSigningLayer, annotations: { [SIGNATURE_IDENTITY]: IDENTITY } }],
    });
    await expect(verifyLayout({ layout: await Layout.open(dir), keys: trusted, identity: IDENTITY })).rejects.toMatchObject({
      code: 'SIGNATURE_DIGEST_MISMATCH',
    });
  });

  it('a manifest changed in place (one byte): LAYOUT_BLOB_CORRUPT', async () => {
    const dir = await copyOfBase();
    const path = join(dir, 'blobs/sha256', imageDigest.slice(7));
    const bytes = await readFile(path);
    bytes[bytes.indexOf('"schemaVersion":2') + '"schemaVersion":'.length] = '3'.charCodeAt(0);
    await writeFile(path, bytes);
    await expect(verifyLayout({ layout: await Layout.open(dir), keys: trusted, identity: IDENTITY })).rejects.toMatchObject({
      code: 'LAYOUT_BLOB_CORRUPT',
    });
  });

  it('a changed manifest re-stored under its new digest, attachments re-pointed: SIGNATURE_DIGEST_MISMATCH', async () => {
    const dir = await copyOfBase();
    const manifest = JSON.parse(await readFile(join(dir, 'blobs/sha256', imageDigest.slice(7)), 'utf8')) as Manifest;
    const layout = await Layout.open(dir);
    const changed = await layout.writeBlob(canonicalJson({ ...manifest, annotations: { evil: 'yes' } }), MediaType.imageManifest);
    const manifests: Descriptor[] = [];
    for (const m of layout.entries) {
      if (m.digest === imageDigest) {
        manifests.push({ ...m, digest: changed.digest, size: changed.size });
        continue;
      }
      // An attacker can re-point the (unsigned) attachment manifests at the new image.
      const att = JSON.parse(await readFile(join(dir, 'blobs/sha256', m.digest.slice(7)), 'utf8')) as Manifest;
      const moved = await layout.writeBlob(canonicalJson({ ...att, subject: { ...att.subject!, digest: changed.digest, size: changed.size } }), m.mediaType);
      manifests.push({ ...m, digest: moved.digest, size: moved.size });
    }
    await layout.setEntries(manifests);
    expect((await Layout.open(dir)).resolve().digest).toBe(changed.digest);
    await expect(verifyLayout({ layout: await Layout.open(dir), keys: trusted, identity: IDENTITY })).rejects.toMatchObject({
      code: 'SIGNATURE_DIGEST_MISMATCH',
    });
  });

  it('a signature with another identity: SIGNATURE_IDENTITY_MISMATCH', async () => {
    await expect(verifyLayout({ layout: await Layout.open(base), keys: trusted, identity: `${REPO}:13` })).rejects.toMatchObject({
      code: 'SIGNATURE_IDENTITY_MISMATCH',
    });
    await expect(verifyLayout({ layout: await Layout.open(base), keys: trusted, identity: `127.0.0.1:5000/base/other@${imageDigest}` })).rejects.toMatchObject({
      code: 'SIGNATURE_IDENTITY_MISMATCH',
    });
  });

  it('a signed provenance whose subject is another digest: PROVENANCE_SUBJECT_MISMATCH', async () => {
    const dir = await copyOfBase();
    const statement = buildProvenance({ ...PROVENANCE_INPUT, subject: { name: REPO, digest: sha256Digest('another image') } });
    const envelope = await signDsse(IN_TOTO_PAYLOAD_TYPE, canonicalJson(statement), key.signing);
    await writeAttachment(await Layout.open(dir), {
      subject: imageDescriptor,
      kind: 'provenance',
      artifactType: MediaType.inTotoProvenance,
      layers: [{ bytes: canonicalJson(envelope), mediaType: MediaType.dsseEnvelope }],
    });
    await expect(verifyLayout({ layout: await Layout.open(dir), keys: trusted })).rejects.toMatchObject({ code: 'PROVENANCE_SUBJECT_MISMATCH' });
  });

  async function provenanceEnvelope(dir: string): Promise<{ layer: Descriptor; bytes: Buffer }> {
    const entry = (await Layout.open(dir)).entries.find((m) => m.annotations?.['dev.imgfactory.attachment'] === 'provenance')!;
    const att = JSON.parse(await readFile(join(dir, 'blobs/sha256', entry.digest.slice(7)), 'utf8')) as Manifest;
    const layer = att.layers[0]!;
    return { layer, bytes: await readFile(join(dir, 'blobs/sha256', layer.digest.slice(7))) };
  }

  it('a DSSE envelope with a flipped byte, stored under its new digest: DSSE_SIGNATURE_INVALID', async () => {
    const dir = await copyOfBase();
    const { layer, bytes } = await provenanceEnvelope(dir);
    const at = bytes.indexOf('"payload":"') + '"payload":"'.length + 100;
    bytes[at] = bytes[at]! ^ 0x01;
    await writeAttachment(await Layout.open(dir), {
      subject: imageDescriptor,
      kind: 'provenance',
      artifactType: MediaType.inTotoProvenance,
      layers: [{ bytes, mediaType: layer.mediaType }],
    });
    await expect(verifyLayout({ layout: await Layout.open(dir), keys: trusted })).rejects.toMatchObject({ code: 'DSSE_SIGNATURE_INVALID' });
  });

  it('a DSSE envelope with a byte flipped in place: DSSE_SIGNATURE_INVALID', async () => {
    const dir = await copyOfBase();
    const { layer, bytes } = await provenanceEnvelope(dir);
    const at = bytes.indexOf('"sig":"') + '"sig":"'.length + 40;
    bytes[at] = bytes[at]! ^ 0x01;
    await writeFile(join(dir, 'blobs/sha256', layer.digest.slice(7)), bytes);
    await expect(verifyLayout({ layout: await Layout.open(dir), keys: trusted })).rejects.toMatchObject({ code: 'DSSE_SIGNATURE_INVALID' });
  });

  it('provenance signed by another key: DSSE_UNTRUSTED_KEY', async () => {
    const dir = await copyOfBase();
    await attestLayout(await attestOptions(dir, other));
    await expect(verifyLayout({ layout: await Layout.open(dir), keys: trusted })).rejects.toMatchObject({ code: 'DSSE_UNTRUSTED_KEY' });
  });

  it('an SBOM that lists other packages than the provenance: SBOM_PROVENANCE_MISMATCH', async () => {
    for (const change of ['drop', 'hash'] as const) {
      const dir = await copyOfBase();
      const packages =
        change === 'drop'
          ? FIXTURE_MANIFEST.packages.slice(1)
          : FIXTURE_MANIFEST.packages.map((p, i) => (i === 2 ? { ...p, sha256: sha256Digest('other deb').slice(7) } : p));
      const sbom = buildSpdxSbom({ ...FIXTURE_MANIFEST, packages }, { name: REPO, manifestDigest: imageDigest }, PROVENANCE_INPUT.finishedOn);
      await writeAttachment(await Layout.open(dir), {
        subject: imageDescriptor,
        kind: 'sbom',
        artifactType: MediaType.spdxJson,
        layers: [{ bytes: canonicalJson(sbom), mediaType: MediaType.spdxJson }],
      });
      await expect(verifyLayout({ layout: await Layout.open(dir), keys: trusted })).rejects.toMatchObject({ code: 'SBOM_PROVENANCE_MISMATCH' });
    }
  });

  it('an SBOM about another image: SBOM_SUBJECT_MISMATCH', async () => {
    const dir = await copyOfBase();
    const sbom = buildSpdxSbom(FIXTURE_MANIFEST, { name: REPO, manifestDigest: sha256Digest('x') }, PROVENANCE_INPUT.finishedOn);
    await writeAttachment(await Layout.open(dir), {
      subject: imageDescriptor,
      kind: 'sbom',
      artifactType: MediaType.spdxJson,
      layers: [{ bytes: canonicalJson(sbom), mediaType: MediaType.spdxJson }],
    });
    await expect(verifyLayout({ layout: await Layout.open(dir), keys: trusted })).rejects.toMatchObject({ code: 'SBOM_SUBJECT_MISMATCH' });
  });

  it('missing pieces: SIGNATURE_MISSING, PROVENANCE_MISSING (a signature alone passes with signatureOnly)', async () => {
    const unsigned = join(root.path, 'unsigned');
    await writeSyntheticImage(unsigned);
    await expect(verifyLayout({ layout: await Layout.open(unsigned), keys: trusted })).rejects.toMatchObject({ code: 'SIGNATURE_MISSING' });
    await signLayout({ layout: await Layout.open(unsigned), key: key.signing, identities: [IDENTITY], creator: 't', now: new Date() });
    await expect(verifyLayout({ layout: await Layout.open(unsigned), keys: trusted })).rejects.toMatchObject({ code: 'PROVENANCE_MISSING' });
    await expect(verifyLayout({ layout: await Layout.open(unsigned), keys: trusted, signatureOnly: true })).resolves.toMatchObject({
      signatures: [{ identity: IDENTITY }],
    });
  });
});
