/**
 * The consumer's side of `check`: is the image I run stale? Its packages come from the SBOM
 * attached to it (verified with the signature and provenance before this is called); the
 * versions apt would install now come from the verified indexes of its suite, -updates and
 * -security. No recipe or lock is involved.
 */
import { fetchVerifiedArchive } from '../archive/verified-archive.js';
import { VerifyError } from '../errors.js';
import type { LockedPackage } from '../lock/lock.js';
import type { ArchiveAccess } from './archive-source.js';
import type { RecipeCheck } from './check.js';
import { parseDebPurl } from './purl.js';
import { bestVersions, packageChanges, summarize } from './resolve.js';

export async function checkImagePackages(image: string, manifestDigest: string, purls: readonly string[], a: ArchiveAccess): Promise<RecipeCheck> {
  const packages = purls.map(parseDebPurl).filter((p) => p !== undefined);
  const suites = [...new Set(packages.map((p) => p.distro))];
  if (suites.length !== 1) {
    throw new VerifyError('SBOM_INVALID', `${image}: the SBOM names ${suites.length === 0 ? 'no Debian packages' : `several suites (${suites.join(', ')})`}`);
  }
  const suite = suites[0]!;
  const architectures = [...new Set(packages.map((p) => p.architecture).filter((x) => x !== 'all'))].sort();
  const host = a.mirror === undefined || a.securityMirror === undefined ? await a.hostMirrors() : undefined;
  const archive = await fetchVerifiedArchive({
    mirror: a.mirror ?? host!.mirror,
    securityMirror: a.securityMirror ?? host!.securityMirror,
    suite,
    components: ['main'],
    architectures: architectures.length > 0 ? architectures : [a.hostArch],
    updates: true,
    cacheDir: a.cacheDir,
    keys: a.keys,
    now: a.now(),
    ...(a.fetchImpl ? { fetchImpl: a.fetchImpl } : {}),
    ...(a.onProgress ? { onProgress: a.onProgress } : {}),
  });
  const locked: LockedPackage[] = packages.map((p) => ({ name: p.name, version: p.version, architecture: p.architecture, source: p.name, sha256: '', suite }));
  const changes = packageChanges(locked, bestVersions(archive.entries()), suite);
  const repository = image.replace(/@sha256:[a-f0-9]{64}$/, '').replace(/:[^:/]+$/, '');
  return {
    recipe: image,
    name: repository.split('/').pop() ?? repository,
    repository,
    status: changes.length === 0 ? 'up-to-date' : 'updates',
    manifestDigest,
    upToDate: changes.length === 0,
    inReleaseOnly: false,
    changedSuites: [],
    changes,
    ...summarize(changes),
  };
}
