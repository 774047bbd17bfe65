/**
 * The audit's judgement: every package dpkg has on disk, and every .deb the bootstrap fetched,
 * matched against verified indexes. Pure: facts in, the verified package manifest out, or an
 * AuditError listing what has no proof.
 */
import { AuditError, type AuditErrorCode } from '../errors.js';
import type { ArchiveLookup, ArchivePackage } from './archive-lookup.js';
import { hasFilesOnDisk, type DpkgStatusEntry } from './dpkg-status.js';
import type { VerifiedInRelease, VerifiedPackage, VerifiedPackageManifest } from './package-manifest.js';

export interface DebIdentity {
  readonly package: string;
  readonly version: string;
  readonly architecture: string;
}

/** A downloaded .deb as found on disk. */
export interface DebFacts {
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
  /** From its control fields (or its file name): only needed when its hash proves nothing. */
  readonly identity?: DebIdentity;
}

export interface AuditInput {
  /** Labels messages: the rootfs path. */
  readonly rootfs: string;
  readonly status: readonly DpkgStatusEntry[];
  readonly debs: readonly DebFacts[];
  readonly archive: ArchiveLookup & { readonly suite: string; readonly architectures: readonly string[]; readonly inReleases: readonly VerifiedInRelease[] };
  /**
   * The parent image's manifest, for a rootfs built on top of it: its packages were proven when
   * the parent was built and may since have left the indexes (superseded by a newer version).
   */
  readonly inherited?: VerifiedPackageManifest;
}

const SHOWN_PROBLEMS = 3;

export function auditPackages(input: AuditInput): VerifiedPackageManifest {
  const { archive } = input;
  const debHashes = new Set<string>();
  const hashMismatch: string[] = [];
  const debUnproven: string[] = [];
  for (const deb of input.debs) {
    if (archive.findBySha256(deb.sha256).length > 0) {
      debHashes.add(deb.sha256);
      continue;
    }
    const id = deb.identity;
    const known = id ? archive.findAll(id.package, id.version, id.architecture) : [];
    if (id && known.length > 0)
      hashMismatch.push(`${deb.file} (${id.package} ${id.version} ${id.architecture}: sha256 ${deb.sha256}, index says ${known[0]!.sha256})`);
    else debUnproven.push(`${deb.file}${id ? ` (${id.package} ${id.version} ${id.architecture})` : ''}`);
  }

  const inherited = new Map<string, VerifiedPackage>();
  for (const p of input.inherited?.packages ?? []) inherited.set(nva(p.package, p.version, p.architecture), p);
  let usedInherited = false;

  const unproven: string[] = [];
  const packages: VerifiedPackage[] = [];
  for (const e of input.status) {
    if (!hasFilesOnDisk(e)) continue;
    const version = e.version!;
    const arch = e.architecture!;
    const candidates = archive.findAll(e.package, version, arch);
    if (candidates.length === 0) {
      const fromParent = inherited.get(nva(e.package, version, arch));
      if (fromParent) {
        packages.push(fromParent);
        usedInherited = true;
      } else unproven.push(`${e.package} ${version} ${arch}`);
      continue;
    }
    // The same version may be in the base suite and in -security: the downloaded .deb says which
    // file was installed; without one, the base suite is the canonical home.
    const chosen = candidates.find((c) => debHashes.has(c.sha256)) ?? candidates[0]!;
    packages.push(verifiedPackage(chosen));
  }

  fail('AUDIT_DEB_HASH_MISMATCH', hashMismatch, (n) => `${input.rootfs}: ${n} downloaded .deb${s(n)} differ${n === 1 ? 's' : ''} from the verified index`);
  fail('AUDIT_PACKAGE_UNPROVEN', unproven, (n) => `${input.rootfs}/var/lib/dpkg/status: ${n} installed package${s(n)} not in any verified index`);
  fail('AUDIT_DEB_UNPROVEN', debUnproven, (n) => `${input.rootfs}: ${n} downloaded .deb${s(n)} not in any verified index`);

  packages.sort((a, b) => cmp(a.package, b.package) || cmp(a.architecture, b.architecture));
  const dpkg = input.status.find((e) => e.package === 'dpkg' && e.architecture && e.architecture !== 'all');
  return {
    schemaVersion: 1,
    suite: archive.suite,
    architecture: dpkg?.architecture ?? archive.architectures[0] ?? 'unknown',
    inReleases: usedInherited ? mergeInReleases(archive.inReleases, input.inherited!.inReleases) : archive.inReleases,
    packages,
  };
}

function verifiedPackage(p: ArchivePackage): VerifiedPackage {
  return {
    package: p.package,
    version: p.version,
    architecture: p.architecture,
    source: p.source,
    sourceVersion: p.sourceVersion,
    sha256: p.sha256,
    size: p.size,
    filename: p.filename,
    archiveUrl: p.archiveUrl,
    suite: p.suite,
    component: p.component,
  };
}

/** The archive's InRelease files, then the parent's that are not among them. */
function mergeInReleases(own: readonly VerifiedInRelease[], parent: readonly VerifiedInRelease[]): VerifiedInRelease[] {
  const seen = new Set(own.map((r) => r.sha256));
  return [...own, ...parent.filter((r) => !seen.has(r.sha256))];
}

function fail(code: AuditErrorCode, problems: readonly string[], headline: (n: number) => string): void {
  if (problems.length === 0) return;
  const shown = problems.slice(0, SHOWN_PROBLEMS).join('; ');
  const more = problems.length > SHOWN_PROBLEMS ? `; and ${problems.length - SHOWN_PROBLEMS} more` : '';
  throw new AuditError(code, `${headline(problems.length)}: ${shown}${more}`, { details: { problems: [...problems] } });
}

const nva = (name: string, version: string, arch: string) => `${name}\0${version}\0${arch}`;
const s = (n: number) => (n === 1 ? '' : 's');
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
