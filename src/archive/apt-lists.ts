/**
 * The verified indexes, laid out as apt's own lists directory. The bootstrap and every apt step
 * in the build root then choose packages from exactly the bytes the build verified against
 * keys/ and later audits against, instead of fetching the indexes a second time: one download
 * less per suite, and no window in which the mirror can publish between the build's
 * verification and apt's own fetch (which would make the audit refuse an honest package).
 *
 * apt trusts a lists directory it did not fill itself; that is the point of writing it only
 * from the content cache, where every file is addressed by the hash a signature proved.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { ArchiveError } from '../errors.js';
import { readCached } from './content-cache.js';
import type { VerifiedArchive } from './verified-archive.js';
import { xzDecompress } from './xz.js';

/** Characters apt's URItoFileName escapes (besides controls, space and non-ASCII bytes). */
const APT_QUOTED = new Set('\\|{}[]<>"^~_=!@#$%^&*');

/**
 * apt's name for the file it keeps for `url` in its lists directory (apt-pkg URItoFileName):
 * the URL without scheme, user or password, with unsafe bytes as lower-case `%xx` and `/` as `_`.
 * `http://h.invalid:8080/deb~ian/dists/bookworm/InRelease` →
 * `h.invalid:8080_deb%7eian_dists_bookworm_InRelease`.
 */
export function aptListFileName(url: string): string {
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(url);
  let rest = scheme ? url.slice(scheme[0].length) : url;
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const at = authority.lastIndexOf('@');
  if (at !== -1) rest = rest.slice(at + 1);
  // An IPv6 host loses its brackets in apt's URI: `[::1]:3142` → `::1:3142`.
  const close = rest.startsWith('[') ? rest.indexOf(']') : -1;
  if (close !== -1) rest = rest.slice(1, close) + rest.slice(close + 1);
  let out = '';
  // apt reads percent-escapes in a source's URI as the bytes they stand for, then quotes bytes.
  for (const byte of percentDecode(rest)) {
    const c = String.fromCharCode(byte);
    if (byte <= 0x20 || byte >= 0x7f || APT_QUOTED.has(c)) out += `%${byte.toString(16).padStart(2, '0')}`;
    else out += c === '/' ? '_' : c;
  }
  return out;
}

function percentDecode(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const hex = bytes[i] === 0x25 && i + 2 < bytes.length ? bytes.toString('latin1', i + 1, i + 3) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(bytes[i]!);
  }
  return Buffer.from(out);
}

export interface AptListFile {
  /** The file's name in apt's lists directory. */
  readonly name: string;
  /** The verified (as published, possibly compressed) file in the archive cache. */
  readonly sha256: string;
  readonly compression: 'gz' | 'xz' | 'none';
}

/**
 * The lists of one architecture: every suite's InRelease and its Packages indexes for `arch`.
 * Pure. Indexes are written uncompressed, as apt keeps them itself: the build's apt runs parse
 * them once per command with no package cache, and gunzip on every run would cost more than
 * the disk.
 */
export function aptListFiles(archive: Pick<VerifiedArchive, 'inReleases' | 'indexes'>, arch: string): AptListFile[] {
  const files: AptListFile[] = archive.inReleases.map((r) => ({ name: aptListFileName(r.url), sha256: r.sha256, compression: 'none' as const }));
  for (const index of archive.indexes) {
    if (index.architecture !== arch) continue;
    const compression = index.path.endsWith('.gz') ? 'gz' : index.path.endsWith('.xz') ? 'xz' : 'none';
    const plainUrl = compression === 'none' ? index.url : index.url.slice(0, -3);
    files.push({ name: aptListFileName(plainUrl), sha256: index.sha256, compression });
  }
  return files;
}

/**
 * Writes `aptListFiles(archive, arch)` into `dir` (created; anything in it before is removed),
 * each from the archive cache, whose read re-checks the hash.
 */
export async function writeAptLists(archive: Pick<VerifiedArchive, 'inReleases' | 'indexes' | 'cacheDir'>, arch: string, dir: string): Promise<AptListFile[]> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'partial'), { recursive: true });
  const files = aptListFiles(archive, arch);
  await Promise.all(
    files.map(async (f) => {
      const bytes = await readCached(archive.cacheDir, f.sha256);
      if (bytes === undefined) {
        // Verified a moment ago by this build; gone or changed since (a concurrent cache clean, the disk).
        throw new ArchiveError('INDEX_HASH_MISMATCH', `${f.name}: the verified copy in ${archive.cacheDir} is missing or no longer matches its hash`, {
          details: { file: f.name, expectedSha256: f.sha256 },
        });
      }
      const out = join(dir, f.name);
      if (f.compression === 'xz') await pipeline(Readable.from(xzDecompress(bytes)), createWriteStream(out, { mode: 0o644 }));
      else if (f.compression === 'gz') await pipeline(Readable.from([bytes]), createGunzip({ chunkSize: 1 << 20 }), createWriteStream(out, { mode: 0o644 }));
      else await writeFile(out, bytes, { mode: 0o644 });
    }),
  );
  return files;
}
