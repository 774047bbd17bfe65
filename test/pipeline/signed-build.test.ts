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
import { ciInvocation } from '../../src/cli/ci-invocation.js';
import { loadPinnedKeySet, DEFAULT_DEBIAN_KEYS_DIR } from '../../src/archive/index.js';
import { hashFile } from '../../src/oci/hash-file.js';
import { verifyDsse } from '../../src/provenance/dsse.js';
import { debUri } from '../../src/provenance/purl.js';
import { PACKAGES_FILE } from '../../src/pipeline/build.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { relative } from 'node:path';
import { gpgHomeWith, skopeoStandaloneVerify, type GpgHome } from '../sign/helpers/gpg.js';
import { testKey, type TestKey } from '../sign/helpers/keys.js';

const IDENTITY = '127.0.0.1:5000/base/debian-minimal:12';
const GITHUB_ENV = {
  GITHUB_SERVER_URL: 'https://github.invalid',
  GITHUB_REPOSITORY: 'org/images',
  GITHUB_RUN_ID: '4242',
  GITHUB_RUN_ATTEMPT: '2',
  GITHUB_WORKFLOW_REF: 'org/images/.github/workflows/scheduled.yml@refs/heads/main',
};
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
  // The builder and invocation as `build --key` derives them from a GitHub Actions run.
  const ci = ciInvocation(GITHUB_ENV);
  await signBuiltLayout(dir, built, {
    key: key.signing,
    identities: [IDENTITY],
    creator: 'imgfactory test',
    builder: { id: ci.builderId, version: '0.0.0' },
    ...(ci.invocationId ? { invocationId: ci.invocationId } : {}),
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

describe('the provenance of a real build, field by field', () => {
  interface Dependency {
    name?: string;
    uri?: string;
    digest?: { sha256?: string };
  }
  let statement: {
    subject: { name: string; digest: { sha256: string } }[];
    predicate: {
      buildDefinition: { externalParameters: Record<string, unknown>; resolvedDependencies: Dependency[] };
      runDetails: { builder: { id: string }; metadata: { invocationId?: string; startedOn: string; finishedOn: string } };
    };
  };
  let deps: Dependency[];

  beforeAll(async () => {
    const layout = await Layout.open(dir);
    const image = layout.resolve(built.report.ref);
    const [prov] = await readAttachments(layout, image.digest, 'provenance', (m) => new VerifyError('PROVENANCE_INVALID', m));
    const verified = await verifyDsse(JSON.parse(prov!.layers[0]!.bytes.toString('utf8')), await readVerificationKeys([key.publicKeyArmored]));
    statement = JSON.parse(Buffer.from(verified.payload).toString('utf8')) as typeof statement;
    deps = statement.predicate.buildDefinition.resolvedDependencies;
  });

  it('names the built manifest as its subject', () => {
    expect(statement.subject).toEqual([{ name: IDENTITY.replace(/:12$/, ''), digest: { sha256: built.report.manifestDigest.slice(7) } }]);
  });

  it('the recipe: its path and the sha256 of its bytes on disk', async () => {
    const recipeSha = (await hashFile(built.recipe.file)).sha256;
    expect(recipeSha).toBe(built.report.recipe.sha256);
    expect(statement.predicate.buildDefinition.externalParameters.recipe).toEqual({ path: relative(REPO_ROOT, built.recipe.file), sha256: recipeSha });
    expect(deps[0]).toEqual({ name: relative(REPO_ROOT, built.recipe.file), digest: { sha256: recipeSha } });
  });

  it('every pinned key file under keys/debian, with the sha256 of its bytes', async () => {
    const { files } = await loadPinnedKeySet(DEFAULT_DEBIAN_KEYS_DIR);
    expect(files.length).toBeGreaterThan(0);
    const expected = await Promise.all(files.map(async (f) => ({ name: relative(REPO_ROOT, f.path), digest: { sha256: (await hashFile(f.path)).sha256 } })));
    const keys = deps.filter((d) => d.name?.startsWith('keys/'));
    expect(keys).toEqual(expected.sort((a, b) => (a.name < b.name ? -1 : 1)));
  });

  it('every InRelease of packages.json (suite, URI, digest)', async () => {
    const manifest = JSON.parse(await readFile(join(built.report.layoutDir, PACKAGES_FILE), 'utf8')) as typeof built.packageManifest;
    expect(manifest.inReleases.map((r) => r.suite).sort()).toEqual(['bookworm', 'bookworm-security', 'bookworm-updates']);
    const inReleases = deps.filter((d) => d.name?.endsWith('/InRelease'));
    expect(inReleases).toEqual(manifest.inReleases.map((r) => ({ name: `${r.suite}/InRelease`, uri: r.url, digest: { sha256: r.sha256 } })));
    for (const r of inReleases) expect(r.uri).toMatch(/^https?:\/\/.+\/dists\/bookworm(-updates|-security)?\/InRelease$/);
  });

  it('every .deb of packages.json, by pool URI and sha256, and nothing else', async () => {
    const manifest = JSON.parse(await readFile(join(built.report.layoutDir, PACKAGES_FILE), 'utf8')) as typeof built.packageManifest;
    const debs = deps
      .filter((d) => d.uri?.endsWith('.deb'))
      .map((d) => `${d.uri} ${d.digest?.sha256}`)
      .sort();
    const expected = manifest.packages.map((p) => `${debUri(p)} ${p.sha256}`).sort();
    expect(debs).toEqual(expected);
    expect(debs).toHaveLength(built.report.packageCount);
    // recipe + keys + InReleases + debs: no other dependency slipped in.
    const { files } = await loadPinnedKeySet(DEFAULT_DEBIAN_KEYS_DIR);
    expect(deps).toHaveLength(1 + files.length + manifest.inReleases.length + manifest.packages.length);
  });

  it('the GitHub Actions run: builder.id is the workflow at its ref, invocationId the run attempt', () => {
    expect(statement.predicate.runDetails.builder.id).toBe('https://github.invalid/org/images/.github/workflows/scheduled.yml@refs/heads/main');
    expect(statement.predicate.runDetails.metadata.invocationId).toBe('https://github.invalid/org/images/actions/runs/4242/attempts/2');
  });

  it("suite, architectures and mirrors are the build report's", () => {
    expect(statement.predicate.buildDefinition.externalParameters).toMatchObject({
      suite: 'bookworm',
      architectures: [built.report.platforms[0]!.architecture],
      mirror: built.report.mirror,
      securityMirror: built.report.securityMirror,
    });
  });
});
