/** The audit's I/O: read a root filesystem's dpkg database and hash the downloaded .debs. */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { AuditError } from '../errors.js';
import { hashFile } from '../oci/hash-file.js';
import { run } from '../exec.js';
import { auditPackages, type AuditInput, type DebFacts, type DebIdentity } from './audit.js';
import { parseDeb822 } from './deb822.js';
import { parseDpkgStatus, type DpkgStatusEntry } from './dpkg-status.js';
import type { VerifiedPackageManifest } from './package-manifest.js';

export interface AuditRootfsOptions {
  readonly rootfs: string;
  readonly archive: AuditInput['archive'];
  /** Typically `<rootfs>/var/cache/apt/archives/*.deb` (see `downloadedDebs`). */
  readonly debFiles: readonly string[];
  /** The parent image's manifest when the rootfs was built on top of it (see AuditInput). */
  readonly inherited?: VerifiedPackageManifest;
  /**
   * Which dpkg database to read: `status`, or `status.d` (one stanza per file, as distroless
   * images have it). Default: `status` when it exists, else `status.d`.
   */
  readonly database?: 'status' | 'status.d';
}

export async function auditRootfs(options: AuditRootfsOptions): Promise<VerifiedPackageManifest> {
  const status = await readDpkgDatabase(options.rootfs, options.database);
  const debs: DebFacts[] = [];
  for (const file of options.debFiles) {
    const { sha256, size } = await hashFile(file);
    const proven = options.archive.findBySha256(sha256).length > 0;
    debs.push({ file, sha256, size, ...(proven ? {} : withIdentity(await debIdentity(file))) });
  }
  return auditPackages({
    rootfs: options.rootfs,
    status,
    debs,
    archive: options.archive,
    ...(options.inherited ? { inherited: options.inherited } : {}),
  });
}

/**
 * The installed packages a root's dpkg database lists: `var/lib/dpkg/status`, or every file of
 * `var/lib/dpkg/status.d/` (distroless keeps one stanza per package there, and `<pkg>.md5sums`
 * beside it, which is not a status file). The files are read in name order.
 */
export async function readDpkgDatabase(rootfs: string, database?: 'status' | 'status.d'): Promise<DpkgStatusEntry[]> {
  const statusFile = join(rootfs, 'var/lib/dpkg/status');
  const statusDir = join(rootfs, 'var/lib/dpkg/status.d');
  const which = database ?? ((await lstat(statusFile).catch(() => undefined)) ? 'status' : 'status.d');
  const read = async (file: string) => {
    try {
      return parseDpkgStatus(await readFile(file, 'utf8'), file);
    } catch (cause) {
      if (cause instanceof AuditError) throw cause;
      throw new AuditError('AUDIT_STATUS_UNREADABLE', `${file}: cannot read the dpkg database`, { cause, details: { file } });
    }
  };
  if (which === 'status') return read(statusFile);
  let names: string[];
  try {
    names = (await readdir(statusDir)).filter((n) => !n.endsWith('.md5sums')).sort();
  } catch (cause) {
    throw new AuditError('AUDIT_STATUS_UNREADABLE', `${statusFile}: cannot read the dpkg database (nor ${statusDir})`, { cause, details: { file: statusDir } });
  }
  const entries: DpkgStatusEntry[] = [];
  for (const n of names) entries.push(...(await read(join(statusDir, n))));
  return entries;
}

/**
 * The .debs apt and debootstrap left in the root's apt cache, sorted: by default
 * `var/cache/apt/archives`; imgfactory's builds keep theirs under `run/imgfactory/archives`.
 */
export async function downloadedDebs(rootfs: string, cacheDir = 'var/cache/apt/archives'): Promise<string[]> {
  const dir = join(rootfs, cacheDir);
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith('.deb'))
    .sort()
    .map((n) => join(dir, n));
}

function withIdentity(id: DebIdentity | undefined): { identity?: DebIdentity } {
  return id ? { identity: id } : {};
}

/** Which package a .deb claims to be: its control fields, or apt's `name_version_arch.deb` file name. */
async function debIdentity(file: string): Promise<DebIdentity | undefined> {
  try {
    const { stdout } = await run(['dpkg-deb', '--field', file, 'Package', 'Version', 'Architecture']);
    const f = parseDeb822(stdout)[0];
    const pkg = f?.get('package');
    const version = f?.get('version');
    const architecture = f?.get('architecture');
    if (pkg && version && architecture) return { package: pkg, version, architecture };
  } catch {
    // A damaged or foreign file: its name is the remaining clue.
  }
  return identityFromFileName(file);
}

export function identityFromFileName(file: string): DebIdentity | undefined {
  const m = /^([^_]+)_([^_]+)_([^_]+)\.deb$/.exec(basename(file));
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  return { package: m[1], version: m[2].replace(/%3a/gi, ':'), architecture: m[3] };
}
