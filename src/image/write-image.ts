/**
 * Writing a built image into an OCI image layout: layer blobs, config, manifest (and an index
 * for several architectures), tagged (with the recipe version) in index.json.
 */
import { MediaType } from '../oci/mediatypes.js';
import type { Layout } from '../oci/layout.js';
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

export async function writeImage(layout: Layout, images: readonly PlatformImage[], tag: string, annotations: Record<string, string>): Promise<WrittenImage> {
  const manifests: { debianArch: string; descriptor: Descriptor }[] = [];
  for (const img of images) {
    for (const l of img.layers) await layout.importBlobFile(l.path, l.digest);
    const config = await layout.writeJson(img.config, MediaType.imageConfig);
    const manifest = buildManifest(
      config,
      img.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      annotations,
    );
    manifests.push({ debianArch: img.debianArch, descriptor: await layout.writeJson(manifest, MediaType.imageManifest) });
  }
  let top: Descriptor;
  if (manifests.length === 1) {
    top = manifests[0]!.descriptor;
  } else {
    const index = buildIndex(
      manifests.map((m) => ({ descriptor: m.descriptor, platform: ociPlatform(m.debianArch) })),
      annotations,
    );
    top = await layout.writeJson(index, MediaType.imageIndex);
  }
  return { descriptor: await layout.tag(top, tag), manifests };
}
