/**
 * The archive client: InRelease → verified Release → size- and SHA256-checked Packages indexes,
 * for `<suite>` and optionally `<suite>-updates` and `<suite>-security`. Everything it returns
 * was proven against a signature by a pinned key; every cached file is one it verified.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ArchiveError, ExecError } from '../errors.js';
import type { VerifiedInRelease } from './package-manifest.js';
import { buildArchiveLookup, type ArchiveLookup, type ArchivePackage } from './archive-lookup.js';
import { sha256Hex } from '../oci/digest.js';
import { readCached, storeVerified } from './content-cache.js';
import { fetchBytes, type HttpOptions } from './http.js';
import { verifyInRelease, type VerifiedRelease } from './inrelease.js';
import { PackagesIndexReader, type PackageEntry } from './packages-index.js';
import type { PinnedKey } from './pinned-keys.js';
import type { ReleaseFileEntry } from './release.js';
import { xzDecompress } from './xz.js';

export interface FetchVerifiedArchiveOptions {
  /** Ctrl-C: stops every download. */
  readonly signal?: AbortSignal;
  /** Serves `<suite>` and `<suite>-updates`. */
  readonly mirror: string;
  /** Serves `<suite>-security`. */
  readonly securityMirror: string;
  readonly suite: string;
  readonly components: readonly string[];
  readonly architectures: readonly string[];
  /** Also fetch `<suite>-updates` (mirror) and `<suite>-security` (security mirror). */
  readonly updates: boolean;
  readonly cacheDir: string;
  readonly keys: readonly PinnedKey[];
  readonly now: Date;
  readonly fetchImpl?: typeof fetch;
  readonly retries?: number;
  readonly retryDelayMs?: number;
  readonly maxClockSkewMs?: number;
  /** Maximum Release age from its Date (see freshness.ts; default 730 days, Infinity for none). */
  readonly maxReleaseAgeMs?: number;
  /** The codename `suite` must resolve to; required when `suite` is an alias such as `stable`. */
  readonly expectedCodename?: string;
  /** Progress lines for a human (stderr). */
  readonly onProgress?: (message: string) => void;
}

export interface VerifiedIndex {
  readonly suite: string;
  readonly component: string;
  readonly architecture: string;
  readonly archiveUrl: string;
  /** Relative to `dists/<suite>/`, e.g. `main/binary-amd64/Packages.gz`. */
  readonly path: string;
  readonly url: string;
  /** sha256 hex and size of the (compressed) file, as the Release lists them. */
  readonly sha256: string;
  readonly size: number;
  readonly packageCount: number;
}

export interface VerifiedArchive extends ArchiveLookup {
  /** The base suite asked for (`bookworm`). */
  readonly suite: string;
  readonly components: readonly string[];
  readonly architectures: readonly string[];
  readonly inReleases: readonly VerifiedInRelease[];
  /** The full verified Release of each suite, in the same order as `inReleases`. */
  readonly releases: readonly VerifiedRelease[];
  readonly indexes: readonly VerifiedIndex[];
  /** The newest Release `Date`: the default SOURCE_DATE_EPOCH of a build from this archive state. */
  readonly newestReleaseDate: Date;
  readonly cacheDir: string;
  /** How this archive was fetched, so pool files come the same way. */
  readonly http: HttpOptions;
}

/** Debian's largest InRelease is a few hundred KB; a server sending more is not serving one. */
const MAX_INRELEASE_BYTES = 16 * 1024 * 1024;

interface SuiteSource {
  readonly suite: string;
  readonly archiveUrl: string;
  /** `<codename>`, `<codename>-updates`, `<codename>-security` when the caller pinned one. */
  readonly expectedCodename?: string;
}

export function archiveSuites(o: Pick<FetchVerifiedArchiveOptions, 'mirror' | 'securityMirror' | 'suite' | 'updates' | 'expectedCodename'>): SuiteSource[] {
  const mirror = trimSlash(o.mirror);
  const pin = (suffix: string) => (o.expectedCodename === undefined ? {} : { expectedCodename: `${o.expectedCodename}${suffix}` });
  const suites: SuiteSource[] = [{ suite: o.suite, archiveUrl: mirror, ...pin('') }];
  if (o.updates) {
    suites.push({ suite: `${o.suite}-updates`, archiveUrl: mirror, ...pin('-updates') });
    suites.push({ suite: `${o.suite}-security`, archiveUrl: trimSlash(o.securityMirror), ...pin('-security') });
  }
  return suites;
}

export async function fetchVerifiedArchive(options: FetchVerifiedArchiveOptions): Promise<VerifiedArchive> {
  if (options.components.length === 0 || options.architectures.length === 0) {
    throw new TypeError('fetchVerifiedArchive: at least one component and one architecture are needed');
  }
  const http = httpOptions(options);
  // allSettled: when one suite fails, the others finish before the error surfaces, so no
  // download is still writing into the cache after this function has returned.
  const settled = await Promise.allSettled(archiveSuites(options).map((s) => fetchSuite(s, options, http)));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const fetched = settled.map((r) => (r as PromiseFulfilledResult<FetchedSuite>).value);
  const releases = fetched.map((f) => f.release);
  return {
    ...buildArchiveLookup(fetched.flatMap((f) => f.packages).flat()),
    suite: options.suite,
    components: [...options.components],
    architectures: [...options.architectures],
    inReleases: fetched.map((f) => f.inRelease),
    releases,
    indexes: fetched.flatMap((f) => f.indexes),
    newestReleaseDate: new Date(Math.max(...releases.map((r) => r.date.getTime()))),
    cacheDir: options.cacheDir,
    http,
  };
}

interface FetchedSuite {
  readonly inRelease: VerifiedInRelease;
  readonly release: VerifiedRelease;
  readonly indexes: VerifiedIndex[];
  readonly packages: ArchivePackage[][];
}

/**
 * Only the InRelease files of the suites, fetched and verified exactly as a build does (every
 * signature judged, Valid-Until enforced): the cheap first step of an update check, which
 * stops here when every one is byte-identical to the lock's.
 */
export async function fetchVerifiedInReleases(
  options: Omit<FetchVerifiedArchiveOptions, 'components' | 'architectures'>,
): Promise<{ readonly inReleases: readonly VerifiedInRelease[]; readonly releases: readonly VerifiedRelease[] }> {
  const http = httpOptions(options);
  const settled = await Promise.allSettled(archiveSuites(options).map((s) => fetchInRelease(s, options, http)));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const fetched = settled.map((r) => (r as PromiseFulfilledResult<{ inRelease: VerifiedInRelease; release: VerifiedRelease }>).value);
  return { inReleases: fetched.map((f) => f.inRelease), releases: fetched.map((f) => f.release) };
}

function httpOptions(o: Pick<FetchVerifiedArchiveOptions, 'fetchImpl' | 'retries' | 'retryDelayMs' | 'signal'>): HttpOptions {
  return {
    ...(o.fetchImpl ? { fetchImpl: o.fetchImpl } : {}),
    ...(o.retries === undefined ? {} : { retries: o.retries }),
    ...(o.retryDelayMs === undefined ? {} : { retryDelayMs: o.retryDelayMs }),
    ...(o.signal ? { signal: o.signal } : {}),
  };
}

async function fetchInRelease(
  source: SuiteSource,
  o: Pick<FetchVerifiedArchiveOptions, 'keys' | 'now' | 'maxClockSkewMs' | 'maxReleaseAgeMs' | 'cacheDir' | 'onProgress'>,
  http: HttpOptions,
): Promise<{ inRelease: VerifiedInRelease; release: VerifiedRelease }> {
  const { suite, archiveUrl } = source;
  const inReleaseUrl = `${archiveUrl}/dists/${suite}/InRelease`;
  const bytes = await fetchBytes(inReleaseUrl, http, { maxBytes: MAX_INRELEASE_BYTES });
  const release = await verifyInRelease(bytes, o.keys, {
    suite,
    now: o.now,
    name: inReleaseUrl,
    ...(o.maxClockSkewMs === undefined ? {} : { maxClockSkewMs: o.maxClockSkewMs }),
    ...(o.maxReleaseAgeMs === undefined ? {} : { maxReleaseAgeMs: o.maxReleaseAgeMs }),
    ...(source.expectedCodename === undefined ? {} : { expectedCodename: source.expectedCodename }),
  });
  await storeVerified(o.cacheDir, release.sha256, bytes);
  o.onProgress?.(`${suite}: InRelease verified (${release.signers.map((s) => s.signingKeyId).join(', ')})`);
  const inRelease: VerifiedInRelease = {
    suite,
    url: inReleaseUrl,
    sha256: release.sha256,
    date: release.date.toISOString(),
    ...(release.validUntil ? { validUntil: release.validUntil.toISOString() } : {}),
    signers: release.signers.map((s) => ({ fingerprint: s.fingerprint, userId: s.userId })),
  };
  return { inRelease, release };
}

async function fetchSuite(source: SuiteSource, o: FetchVerifiedArchiveOptions, http: HttpOptions): Promise<FetchedSuite> {
  const { suite, archiveUrl } = source;
  const { inRelease, release } = await fetchInRelease(source, o, http);
  const inReleaseUrl = inRelease.url;

  const indexes: VerifiedIndex[] = [];
  const packages: ArchivePackage[][] = [];
  for (const component of o.components) {
    for (const architecture of o.architectures) {
      const entry = chooseIndexFile(release, component, architecture, inReleaseUrl);
      const url = `${archiveUrl}/dists/${suite}/${entry.path}`;
      const compressed = await verifiedIndexBytes(url, entry, o.cacheDir, http);
      const list: ArchivePackage[] = await readIndex(compressed, entry, release, url, { suite, component, archiveUrl });
      packages.push(list);
      indexes.push({ suite, component, architecture, archiveUrl, path: entry.path, url, sha256: entry.sha256, size: entry.size, packageCount: list.length });
      o.onProgress?.(`${suite}: ${entry.path} verified, ${list.length} packages`);
    }
  }
  return { inRelease, release, indexes, packages };
}

/** Node reads gzip itself; xz goes through xz-utils. Debian's security and updates suites publish only .xz. */
const INDEX_COMPRESSIONS = ['.gz', '.xz', ''] as const;

function chooseIndexFile(release: VerifiedRelease, component: string, arch: string, inReleaseUrl: string): ReleaseFileEntry {
  const base = `${component}/binary-${arch}/Packages`;
  for (const ext of INDEX_COMPRESSIONS) {
    const entry = release.files.get(`${base}${ext}`);
    if (entry) return entry;
  }
  throw new ArchiveError('RELEASE_MISSING_ENTRY', `${inReleaseUrl}: the signed Release lists no ${base} index`, {
    details: { file: inReleaseUrl, path: base },
  });
}

async function verifiedIndexBytes(url: string, entry: ReleaseFileEntry, cacheDir: string, http: HttpOptions): Promise<Uint8Array> {
  const cached = await readCached(cacheDir, entry.sha256);
  if (cached) return cached;
  const bytes = await fetchBytes(url, http, { maxBytes: entry.size });
  if (bytes.length !== entry.size) {
    throw new ArchiveError('INDEX_SIZE_MISMATCH', `${url}: ${bytes.length} bytes, the signed Release says ${entry.size}`, {
      details: { file: url, size: bytes.length, expectedSize: entry.size },
    });
  }
  const sha256 = sha256Hex(bytes);
  if (sha256 !== entry.sha256) {
    throw new ArchiveError('INDEX_HASH_MISMATCH', `${url}: SHA256 ${sha256} is not the signed ${entry.sha256}`, {
      details: { file: url, sha256, expectedSha256: entry.sha256 },
    });
  }
  await storeVerified(cacheDir, sha256, bytes);
  return bytes;
}

/**
 * Decompresses and parses a verified index, checking the decompressed bytes against the
 * Release's uncompressed entry when it has one. Both gzip and xz indexes are parsed and hashed as
 * they decompress: a 45 MB Packages file is never in memory whole, and the bytes checked are the
 * bytes the Release signed, whatever their encoding.
 */
async function readIndex<Extra extends object>(
  bytes: Uint8Array,
  entry: ReleaseFileEntry,
  release: VerifiedRelease,
  url: string,
  extra: Extra,
): Promise<(PackageEntry & Extra)[]> {
  const reader = new PackagesIndexReader(url, extra);
  const hash = createHash('sha256');
  let size = 0;
  const take = (chunk: Uint8Array): void => {
    hash.update(chunk);
    size += chunk.length;
    reader.push(chunk);
  };
  try {
    if (entry.path.endsWith('.gz')) {
      // 1 MiB pieces rather than zlib's 16 KiB: a fifth of the stream's per-chunk overhead on the
      // main thread for the 50 MB main index, and still only one piece held at a time.
      for await (const chunk of Readable.from([bytes]).pipe(createGunzip({ chunkSize: 1 << 20 })) as AsyncIterable<Buffer>) take(chunk);
    } else if (entry.path.endsWith('.xz')) {
      for await (const chunk of xzDecompress(bytes)) take(chunk);
    } else {
      take(bytes);
    }
  } catch (cause) {
    if (cause instanceof ExecError && cause.code === 'TOOL_MISSING') throw cause;
    if (cause instanceof ArchiveError) throw cause;
    throw new ArchiveError('INDEX_MALFORMED', `${url}: does not decompress (${(cause as Error).message.split('\n')[0]})`, {
      cause,
      details: { file: url },
    });
  }
  const packages = reader.end();
  const plainEntry = release.files.get(entry.path.replace(/\.(gz|xz)$/, ''));
  if (plainEntry && plainEntry !== entry) {
    const sha256 = hash.digest('hex');
    if (size !== plainEntry.size || sha256 !== plainEntry.sha256) {
      throw new ArchiveError('INDEX_HASH_MISMATCH', `${url}: decompressed content does not match the signed ${plainEntry.path}`, {
        details: { file: url, sha256, expectedSha256: plainEntry.sha256 },
      });
    }
  }
  return packages;
}

function trimSlash(u: string): string {
  return u.replace(/\/+$/, '');
}
