/**
 * Signing a real built image: what consumers check (skopeo), and what the SBOM claims against
 * what is really installed in the image.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasFilesOnDisk, parseDpkgStatus } from '../../src/archive/index.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import { VerifyError } from '../../src/errors.js';
import { readAttachments } from '../../src/oci/attachments.js';
import { Layout } from '../../src/oci/layout.js';
import type { BuildResult } from '../../src/pipeline/build.js';
import { readVerificationKeys } from '../../src/pgp/keys.js';
import { readLayoutSignatures } from '../../src/sign/sign-layout.js';
import { verifyLayout } from '../../src/verify/verify-layout.js';
import { sharedBuild, signBuiltLayout } from '../helpers/shared-build.js';
import { tempDir } from '../helpers/tmp.js';
import { gpgHomeWith, skopeoStandaloneVerify, type GpgHome } from '../sign/helpers/gpg.js';
import { testKey, type TestKey } from '../sign/helpers/keys.js';

const IDENTITY = '127.0.0.1:5000/base/debian-minimal:12';
let built: BuildResult;
let dir: string;
let key: TestKey;
let gpg: GpgHome;

beforeAll(async () => {
  built = await sharedBuild('debian-minimal');
  const tmp = await tempDir('imgfactory-signed-');
  dir = join(tmp, 'layout');
  await cp(built.report.layoutDir, dir, { recursive: true });
  key = await testKey('ed25519');
  gpg = await gpgHomeWith([key.publicKeyArmored]);
  await signBuiltLayout(dir, built, {
    key: key.signing,
    identities: [IDENTITY],
    creator: 'imgfactory test',
    builder: { id: 'https://imgfactory.dev/builder/test', version: '0.0.0' },
  });
}, 20 * 60_000);

afterAll(async () => gpg?.cleanup());

describe('a signed real image', () => {
  it('verifies: signature, provenance and SBOM agree on the manifest digest', async () => {
    const report = await verifyLayout({ layout: await Layout.open(dir), keys: await readVerificationKeys([key.publicKeyArmored]), identity: IDENTITY });
    expect(report.manifestDigest).toBe(built.report.manifestDigest);
    expect(report.sbom).toEqual({ format: 'spdx', packages: built.packageManifest.packages.length });
    expect(report.provenance?.packages).toBe(built.packageManifest.packages.length);
  });

  it("skopeo standalone-verify accepts the signature of the image's real manifest", async () => {
    const layout = await Layout.open(dir);
    const image = layout.resolve(built.report.ref);
    const manifestFile = join(dir, 'manifest.json');
    await writeFile(manifestFile, await layout.readBlob(image.digest));
    const [sig] = (await readLayoutSignatures(layout, built.report.ref)).signatures;
    const sigFile = join(dir, 'signature-1');
    await writeFile(sigFile, sig!.signature);
    const r = await skopeoStandaloneVerify(gpg, { manifest: manifestFile, reference: IDENTITY, fingerprint: key.fingerprint, signature: sigFile });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`Signature verified, digest ${built.report.manifestDigest}`);
    const other = await skopeoStandaloneVerify(gpg, {
      manifest: manifestFile,
      reference: '127.0.0.1:5000/base/debian-minimal:13',
      fingerprint: key.fingerprint,
      signature: sigFile,
    });
    expect(other.exitCode).toBe(1);
  });

  it("the SPDX document lists exactly the packages of the image's dpkg status", async () => {
    const layout = await Layout.open(dir);
    const image = layout.resolve(built.report.ref);
    const [sbom] = await readAttachments(layout, image.digest, 'sbom', (m) => new VerifyError('SBOM_INVALID', m));
    expect(sbom!.manifest.artifactType).toBe(MediaType.spdxJson);
    const spdx = JSON.parse(sbom!.layers[0]!.bytes.toString('utf8')) as {
      spdxVersion: string;
      packages: { name: string; versionInfo: string; externalRefs?: { referenceType: string; referenceLocator: string }[] }[];
    };
    expect(spdx.spdxVersion).toBe('SPDX-2.3');
    const purls = spdx.packages.flatMap((p) => (p.externalRefs ?? []).filter((r) => r.referenceType === 'purl').map((r) => r.referenceLocator));
    const fromSbom = purls
      .filter((p) => p.startsWith('pkg:deb/'))
      .map((p) => decodeURIComponent(p.replace(/^pkg:deb\/debian\/([^@]+)@([^?]+)\?arch=([^&]+).*$/, '$1:$3=$2')))
      .sort();

    const bundle = join(dir, '..', 'bundle');
    await execa('umoci', ['unpack', '--image', `${dir}:${built.report.ref}`, bundle]);
    const status = parseDpkgStatus(await readFile(join(bundle, 'rootfs/var/lib/dpkg/status'), 'utf8'));
    const installed = status
      .filter(hasFilesOnDisk)
      .map((e) => `${e.package}:${e.architecture}=${e.version}`)
      .sort();
    expect(installed.length).toBeGreaterThan(50);
    expect(fromSbom).toEqual(installed);
  });
});
