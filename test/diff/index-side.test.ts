/** diff on multi-architecture layouts: `--arch` picks one platform of each index, with its own packages. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mergePackageManifests } from '../../src/archive/package-manifest.js';
import { diffImages } from '../../src/diff/diff-images.js';
import { PACKAGES_FILE } from '../../src/image/build-output.js';
import { buildImageConfig } from '../../src/image/config.js';
import { writeImage } from '../../src/image/write-image.js';
import { Layout } from '../../src/oci/layout.js';
import { FIXTURE_MANIFEST } from '../fixtures/sign/verified-package-manifest.js';
import { tarLayer } from '../helpers/oci-image.js';
import { tempDir } from '../helpers/tmp.js';

let a: string;
let b: string;

/** A two-platform layout whose files and packages say which architecture (and which side) they are. */
async function twoPlatformLayout(name: string, armVersion: string): Promise<string> {
  const dir = join(await tempDir(), name);
  const layout = await Layout.create(dir);
  const images = [];
  const manifests = [];
  for (const arch of ['amd64', 'arm64']) {
    const layer = await tarLayer({ 'etc/arch': `${arch}\n`, 'etc/side': arch === 'arm64' ? `${name}\n` : 'same\n' });
    const path = join(dir, `..`, `${arch}.tar.gz`);
    await writeFile(path, layer.bytes);
    const config = buildImageConfig({
      debianArch: arch,
      config: { env: {}, ports: [], labels: {} },
      created: '2025-01-01T00:00:00Z',
      layers: [{ diffId: layer.diffId, createdBy: 'test' }],
    });
    images.push({ debianArch: arch, config, layers: [{ ...layer.descriptor, diffId: layer.diffId, uncompressedSize: 0, path }] });
    const bash = FIXTURE_MANIFEST.packages.find((p) => p.package === 'bash')!;
    manifests.push({
      ...FIXTURE_MANIFEST,
      architecture: arch,
      packages: [{ ...bash, architecture: arch, version: arch === 'arm64' ? armVersion : bash.version }],
    });
  }
  await writeImage(layout, images, '1.0.0', {});
  await writeFile(join(dir, PACKAGES_FILE), JSON.stringify(mergePackageManifests(manifests)));
  return dir;
}

beforeAll(async () => {
  a = await twoPlatformLayout('a', '5.2.15-2+b7');
  b = await twoPlatformLayout('b', '5.2.15-2+b8');
});

describe('diff of two indexes', () => {
  it('needs --arch to pick a platform: DIFF_SOURCE_INVALID naming the platforms', async () => {
    await expect(diffImages(a, b)).rejects.toMatchObject({ code: 'DIFF_SOURCE_INVALID', message: expect.stringContaining('linux/arm64') as unknown });
  });

  it('compares the arm64 images: their files and their arm64 packages only', async () => {
    const d = await diffImages(a, b, { architecture: 'arm64' });
    expect(d.files.changed.map((f) => f.path)).toEqual(['/etc/side']);
    expect(d.packages.upgraded).toEqual([
      expect.objectContaining({ package: 'bash', architecture: 'arm64', oldVersion: '5.2.15-2+b7', newVersion: '5.2.15-2+b8' }),
    ]);
    expect(d.packages.added).toEqual([]);
    expect(d.packages.removed).toEqual([]);
  });

  it('compares the amd64 images: nothing differs', async () => {
    const d = await diffImages(a, b, { architecture: 'amd64' });
    expect(d.files.changed).toEqual([]);
    expect(d.packages.upgraded).toEqual([]);
  });
});
