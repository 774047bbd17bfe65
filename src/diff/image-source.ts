/**
 * Every read `diff` makes of an OCI image layout, in one place: the image's config, its layer
 * blobs in order, and the verified package manifest a build writes beside it. Built on today's
 * src/oci/layout.ts so a new layout model replaces this one file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VerifiedPackageManifest } from '../archive/package-manifest.js';
import { DiffError, isImgfactoryError, VerifyError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { Manifest } from '../oci/types.js';
import { parseCycloneDxSbom } from '../provenance/cyclonedx.js';
import { parseSpdxSbom } from '../provenance/spdx.js';
import * as layout from '../oci/layout.js';
import { PACKAGES_FILE } from '../pipeline/build.js';
import type { ConfigRecord, PackageRecord } from './types.js';

export interface LayoutImageSide {
  readonly architecture: string;
  readonly manifestDigest: string;
  readonly config: ConfigRecord;
  /** Layer blob files, lowest first. */
  readonly layerFiles: readonly string[];
  /** From packages.json (the build's verified manifest), when the layout has one. */
  readonly packages?: readonly PackageRecord[];
}

export async function readLayoutImage(dir: string, ref?: string): Promise<LayoutImageSide> {
  let image: layout.LayoutImage;
  try {
    image = await layout.readImage(dir, ref);
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
    (t) => (JSON.parse(t) as VerifiedPackageManifest).packages.map((p) => ({ package: p.package, version: p.version, architecture: p.architecture, suite: p.suite })),
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
    layerFiles: image.manifest.layers.map((l) => layout.blobPath(dir, l.digest)),
    ...(packages ? { packages } : {}),
  };
}

/**
 * The package URLs of the SBOM attached to the image `manifestDigest` in the layout. Call it
 * after verifyLayout accepted the layout: that is what makes the SBOM trusted.
 */
export async function readSbomPurls(dir: string, manifestDigest: string): Promise<string[]> {
  const [sbom] = await layout.listAttachments(dir, manifestDigest as Digest, 'sbom');
  if (!sbom) throw new VerifyError('SBOM_MISSING', `${dir}: no SBOM is attached to ${manifestDigest}`);
  const manifest = await layout.readJsonBlob<Manifest>(dir, sbom.digest);
  const blob = manifest.layers[0];
  if (!blob) throw new VerifyError('SBOM_INVALID', `${dir}: the SBOM artifact ${sbom.digest} has no blob`);
  const doc: unknown = JSON.parse((await layout.readBlob(dir, blob.digest)).toString('utf8'));
  const facts = (doc as { bomFormat?: unknown }).bomFormat === 'CycloneDX' ? parseCycloneDxSbom(doc) : parseSpdxSbom(doc);
  return facts.packages.map((p) => p.purl);
}
