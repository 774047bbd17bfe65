/**
 * Every read `diff` makes of an OCI image layout, in one place: the image's config, its layer
 * blobs in order, and the verified package manifest a build writes beside it. Built on the
 * Layout handle: blobs are streamed through its digest check.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { splitPackageManifest, type VerifiedPackageManifest } from '../archive/package-manifest.js';
import { DiffError, isImgfactoryError } from '../errors.js';
import { Layout, type LayoutImage } from '../oci/layout.js';
import type { Descriptor } from '../oci/types.js';
import { PACKAGES_FILE } from '../image/build-output.js';
import { DEBIAN_ARCHITECTURES, ociPlatform } from '../oci/platform.js';
import type { ConfigRecord, PackageRecord } from './types.js';

export interface LayoutImageSide {
  readonly architecture: string;
  readonly manifestDigest: string;
  readonly config: ConfigRecord;
  /** Layer descriptors, lowest first: stream them with `layout.openBlob` (digest-checked). */
  readonly layers: readonly Descriptor[];
  readonly layout: Layout;
  /** From packages.json (the build's verified manifest), when the layout has one. */
  readonly packages?: readonly PackageRecord[];
}

/**
 * `architecture` (OCI name) picks the platform of a multi-platform index; without it an index of
 * several platforms is refused (LAYOUT_AMBIGUOUS, named in the DiffError).
 */
export async function readLayoutImage(dir: string, tag?: string, architecture?: string): Promise<LayoutImageSide> {
  let image: LayoutImage;
  let opened: Layout;
  try {
    opened = await Layout.open(dir);
    image = await opened.image({ ...(tag === undefined ? {} : { tag }), ...(architecture === undefined ? {} : { platform: { os: 'linux', architecture } }) });
  } catch (cause) {
    if (isImgfactoryError(cause) || (cause as NodeJS.ErrnoException).code !== undefined) {
      throw new DiffError('DIFF_SOURCE_INVALID', `${dir}: not a readable OCI image layout (${(cause as Error).message.split('\n')[0]})`, {
        cause,
        details: { side: dir },
      });
    }
    throw cause;
  }
  const c = image.config.config ?? {};
  const packages = await readFile(join(dir, PACKAGES_FILE), 'utf8').then(
    (t) =>
      // A multi-platform build lists every platform's packages: keep this platform's (and `all`).
      platformPackages(JSON.parse(t) as VerifiedPackageManifest, image.config.architecture).map((p) => ({
        package: p.package,
        version: p.version,
        architecture: p.architecture,
        suite: p.suite,
      })),
    () => undefined,
  );
  return {
    architecture: image.config.architecture,
    manifestDigest: image.descriptor.digest,
    config: {
      ...(c.User !== undefined ? { user: c.User } : {}),
      env: c.Env ?? [],
      ...(c.Entrypoint ? { entrypoint: c.Entrypoint } : {}),
      ...(c.Cmd ? { cmd: c.Cmd } : {}),
      ...(c.WorkingDir !== undefined ? { workdir: c.WorkingDir } : {}),
      labels: c.Labels ?? {},
    },
    layers: image.manifest.layers,
    layout: opened,
    ...(packages ? { packages } : {}),
  };
}

/** The packages of the platform whose OCI architecture is `ociArch` (Debian and OCI names agree for amd64, arm64, s390x, riscv64). */
function platformPackages(manifest: VerifiedPackageManifest, ociArch: string): VerifiedPackageManifest['packages'] {
  const parts = splitPackageManifest(manifest);
  return (parts.find((m) => DEBIAN_ARCHITECTURES.includes(m.architecture) && ociPlatform(m.architecture).architecture === ociArch) ?? parts[0]!).packages;
}
