/**
 * Writing a built image into an OCI image layout: layer blobs, config, manifest (and an index
 * for several architectures), tagged with the recipe version in index.json.
 */
import { MediaType } from '../oci/mediatypes.js';
import * as layout from '../oci/layout.js';
import { ociPlatform } from '../oci/platform.js';
import type { Descriptor, ImageConfig, LayerInfo } from '../oci/types.js';
import { buildIndex, buildManifest } from './manifest.js';

export interface PlatformImage {
  readonly debianArch: string;
  readonly config: ImageConfig;
  /** Layers in order; `path` of reused parent layers points into the parent's layout. */
  readonly layers: readonly LayerInfo[];
}

export interface WrittenImage {
  /** The top-level descriptor tagged in index.json (manifest, or index when multi-arch). */
  readonly descriptor: Descriptor;
  readonly manifests: readonly { debianArch: string; descriptor: Descriptor }[];
}

export async function writeImage(dir: string, images: readonly PlatformImage[], ref: string, annotations: Record<string, string>): Promise<WrittenImage> {
  await layout.initLayout(dir);
  const manifests: { debianArch: string; descriptor: Descriptor }[] = [];
  for (const img of images) {
    for (const l of img.layers) if (!(await layout.hasBlob(dir, l.digest))) await layout.importBlobFile(dir, l.path, l.digest);
    const config = await layout.writeJsonBlob(dir, img.config, MediaType.imageConfig);
    const manifest = buildManifest(
      config,
      img.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      annotations,
    );
    manifests.push({ debianArch: img.debianArch, descriptor: await layout.writeJsonBlob(dir, manifest, MediaType.imageManifest) });
  }
  let top: Descriptor;
  if (manifests.length === 1) {
    top = manifests[0]!.descriptor;
  } else {
    const index = buildIndex(
      manifests.map((m) => ({ descriptor: m.descriptor, platform: ociPlatform(m.debianArch) })),
      annotations,
    );
    top = await layout.writeJsonBlob(dir, index, MediaType.imageIndex);
  }
  const tagged: Descriptor = { ...top, annotations: { [layout.REF_NAME]: ref } };
  await layout.addToIndex(dir, tagged);
  return { descriptor: tagged, manifests };
}
