/**
 * A `from:` parent in out/ is input from outside (a CI cache, a shared volume): it is reused only
 * after its blobs, its package list and (when signing) its signature check out, and a poisoned
 * one is rebuilt, never trusted. The rebuild reproduces the same bytes, so the child's digest
 * does not depend on whether the cache was good.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fetchVerifiedArchive, hostArchiveMirrors, loadPinnedKeys, DEFAULT_DEBIAN_KEYS_DIR, type VerifiedArchive } from '../../src/archive/index.js';
import type { VerifiedPackageManifest } from '../../src/archive/package-manifest.js';
import { Layout } from '../../src/oci/layout.js';
import { buildRecipe, PACKAGES_FILE, type BuildResult } from '../../src/pipeline/build.js';
import { verifyParent } from '../../src/pipeline/parent.js';
import { readVerificationKeys } from '../../src/pgp/keys.js';
import { RECIPES_DIR, SHARED_CACHE_DIR } from '../helpers/paths.js';
import { sharedBuild, testBuildOptions } from '../helpers/shared-build.js';
import { tempDir } from '../helpers/tmp.js';
import { testKey } from '../sign/helpers/keys.js';

const MINUTES = 60_000;
let minimal: BuildResult;
let archive: VerifiedArchive;
let tmp: string;
let n = 0;

async function copyOfParent(): Promise<string> {
  const out = join(tmp, `out-${++n}`);
  await cp(minimal.report.layoutDir, join(out, 'debian-minimal'), { recursive: true });
  return join(out, 'debian-minimal');
}

beforeAll(async () => {
  tmp = await tempDir('imgfactory-parent-');
  minimal = await sharedBuild('debian-minimal');
  const mirrors = await hostArchiveMirrors();
  archive = await fetchVerifiedArchive({
    ...mirrors,
    suite: minimal.recipe.suite,
    components: minimal.recipe.components,
    architectures: minimal.recipe.architectures,
    updates: minimal.recipe.updates,
    cacheDir: join(SHARED_CACHE_DIR, 'archive-cache'),
    keys: await loadPinnedKeys(DEFAULT_DEBIAN_KEYS_DIR),
    now: new Date(),
  });
}, 20 * MINUTES);

const options = () => ({ architectures: minimal.recipe.architectures, archive });

describe('verifyParent', () => {
  it('accepts the parent as built', async () => {
    const dir = await copyOfParent();
    const parent = await verifyParent(dir, minimal.recipe, minimal.report, options());
    expect(parent.images.get(minimal.recipe.architectures[0]!)?.descriptor.digest).toBe(minimal.report.manifestDigest);
    expect(parent.packages.packages).toHaveLength(minimal.packageManifest.packages.length);
  });

  it('a package list naming a package the indexes do not prove: AUDIT_PARENT_UNPROVEN', async () => {
    const dir = await copyOfParent();
    const packages = JSON.parse(await readFile(join(dir, PACKAGES_FILE), 'utf8')) as VerifiedPackageManifest;
    const smuggled = { ...packages.packages[0]!, package: 'backdoor', version: '6.6.6' };
    await writeFile(join(dir, PACKAGES_FILE), JSON.stringify({ ...packages, packages: [...packages.packages, smuggled] }));
    await expect(verifyParent(dir, minimal.recipe, minimal.report, options())).rejects.toMatchObject({ code: 'AUDIT_PARENT_UNPROVEN' });
    // A proven name and version with another sha256 is no better.
    await writeFile(
      join(dir, PACKAGES_FILE),
      JSON.stringify({ ...packages, packages: packages.packages.map((p, i) => (i === 3 ? { ...p, sha256: '0'.repeat(64) } : p)) }),
    );
    await expect(verifyParent(dir, minimal.recipe, minimal.report, options())).rejects.toMatchObject({ code: 'AUDIT_PARENT_UNPROVEN' });
  });

  it('a layer changed on disk: LAYOUT_BLOB_CORRUPT', async () => {
    const dir = await copyOfParent();
    const layout = await Layout.open(dir);
    const layer = (await layout.image({ tag: minimal.report.ref })).manifest.layers[0]!;
    const bytes = await readFile(layout.blobPath(layer.digest));
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x01;
    await writeFile(layout.blobPath(layer.digest), bytes);
    await expect(verifyParent(dir, minimal.recipe, minimal.report, options())).rejects.toMatchObject({ code: 'LAYOUT_BLOB_CORRUPT' });
  });

  it('when the build signs, an unsigned parent is not trusted: SIGNATURE_MISSING', async () => {
    const dir = await copyOfParent();
    const key = await testKey('ed25519');
    await expect(
      verifyParent(dir, minimal.recipe, minimal.report, { ...options(), trustedKeys: await readVerificationKeys([key.publicKeyArmored]) }),
    ).rejects.toMatchObject({ code: 'SIGNATURE_MISSING' });
  });
});

describe('build with a poisoned parent in out/', () => {
  it(
    'does not reuse it: the parent is rebuilt, and the child comes out byte-identical',
    async () => {
      const python = await sharedBuild('python3');
      const dir = await copyOfParent();
      const packages = JSON.parse(await readFile(join(dir, PACKAGES_FILE), 'utf8')) as VerifiedPackageManifest;
      await writeFile(
        join(dir, PACKAGES_FILE),
        JSON.stringify({ ...packages, packages: [...packages.packages, { ...packages.packages[0]!, package: 'backdoor', version: '6.6.6' }] }),
      );
      const events: string[] = [];
      const result = await buildRecipe({
        ...testBuildOptions(join(RECIPES_DIR, 'python3.ts'), join(dir, '..')),
        sourceDateEpoch: python.report.sourceDateEpoch,
        onEvent: (e) => {
          if (e.stage === 'parent') events.push(e.message ?? '');
        },
      });
      expect(events.some((m) => m.includes('not reusing') && m.includes('AUDIT_PARENT_UNPROVEN'))).toBe(true);
      expect(result.parents.map((p) => p.recipe.name)).toEqual(['debian-minimal']);
      expect(result.packageManifest.packages.some((p) => p.package === 'backdoor')).toBe(false);
      expect(result.report.manifestDigest).toBe(python.report.manifestDigest);
    },
    20 * MINUTES,
  );
});
