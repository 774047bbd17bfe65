/**
 * A `from:` parent found in `out/<name>/` is reused only after it is checked as if it came
 * from outside (it may: a CI cache, a shared volume, an earlier run someone tampered with).
 * The layout is read from the folder it was found in, never from a path its own build.json
 * names; its manifest, config and every layer are hashed against their digests; every package
 * its packages.json lists must be in the verified indexes of this build, with the same sha256;
 * and when the build signs, the parent must carry a valid signature, provenance and SBOM by
 * the signing key. A parent that fails is not used (the caller rebuilds it).
 */
import type { VerifiedArchive } from '../archive/verified-archive.js';
import type { VerifiedPackageManifest } from '../archive/package-manifest.js';
import { AuditError, isImgfactoryError } from '../errors.js';
import { Layout, type LayoutImage } from '../oci/layout.js';
import { ociPlatform } from '../oci/platform.js';
import type { VerificationKey } from '../pgp/keys.js';
import type { Recipe } from '../recipe/types.js';
import { verifyLayout } from '../verify/verify-layout.js';
import { readPackageManifest, type BuildReport } from '../image/build-output.js';

export interface VerifiedParent {
  readonly recipe: Recipe;
  readonly report: BuildReport;
  /** The folder the parent was found in (its layout). */
  readonly dir: string;
  readonly layout: Layout;
  /** The parent's image for each architecture being built. */
  readonly images: ReadonlyMap<string, LayoutImage>;
  readonly packages: VerifiedPackageManifest;
}

export interface VerifyParentOptions {
  readonly architectures: readonly string[];
  readonly archive: Pick<VerifiedArchive, 'findAll'>;
  /** When the build signs: the parent must be signed and attested by one of these keys. */
  readonly trustedKeys?: readonly VerificationKey[];
  readonly signal?: AbortSignal;
}

export async function verifyParent(dir: string, recipe: Recipe, report: BuildReport, options: VerifyParentOptions): Promise<VerifiedParent> {
  const layout = await Layout.open(dir);
  const images = new Map<string, LayoutImage>();
  for (const arch of options.architectures) {
    const image = await layout.image({ tag: report.ref, platform: ociPlatform(arch) });
    await layout.checkImageBlobs(image, options.signal);
    images.set(arch, image);
  }
  const packages = await readPackageManifest(dir).catch((cause: unknown) => {
    throw new AuditError('AUDIT_PARENT_UNPROVEN', `${dir}: packages.json cannot be read`, { cause });
  });
  const unproven = (Array.isArray(packages.packages) ? packages.packages : [])
    .filter((p) => !options.archive.findAll(p.package, p.version, p.architecture).some((c) => c.sha256 === p.sha256))
    .map((p) => `${p.package} ${p.version} ${p.architecture}`);
  if (!Array.isArray(packages.packages) || packages.packages.length === 0 || unproven.length > 0) {
    throw new AuditError(
      'AUDIT_PARENT_UNPROVEN',
      unproven.length > 0
        ? `${dir}: ${unproven.length} package(s) of the parent are not in the verified indexes: ${unproven.slice(0, 5).join('; ')}`
        : `${dir}: packages.json lists no packages`,
      { details: { unproven } },
    );
  }
  if (options.trustedKeys) await verifyLayout({ layout, keys: options.trustedKeys, tag: report.ref });
  return { recipe, report, dir, layout, images, packages };
}

/** Why a parent cannot be reused, for the progress line; rethrows what is not a verdict (a bug, an interrupt). */
export function parentRejection(e: unknown): string {
  if (isImgfactoryError(e) && e.exitStatus !== 3 && e.exitStatus !== 130) return `${e.code}: ${e.message}`;
  throw e;
}
