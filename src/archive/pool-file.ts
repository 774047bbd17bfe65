/** Downloading a .deb from the pool, proven against its verified index entry before it is kept. */
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ArchiveError } from '../errors.js';
import type { ArchivePackage } from './archive-lookup.js';
import { tempSibling } from '../atomic-file.js';
import { fetchToFile, type HttpOptions } from './http.js';

export interface FetchedDeb {
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
}

/**
 * Downloads `<archiveUrl>/<filename>` to `destFile`, checking size (DEB_SIZE_MISMATCH) and
 * SHA256 (DEB_HASH_MISMATCH) against the index entry; `destFile` appears only when both match.
 */
export async function fetchVerifiedDeb(archive: { readonly http: HttpOptions }, entry: ArchivePackage, destFile: string): Promise<FetchedDeb> {
  const url = `${entry.archiveUrl}/${entry.filename}`;
  await mkdir(dirname(destFile), { recursive: true });
  const tmp = tempSibling(destFile);
  try {
    const got = await fetchToFile(url, tmp, archive.http, { maxBytes: entry.size });
    if (got.size !== entry.size) {
      throw new ArchiveError('DEB_SIZE_MISMATCH', `${url}: ${got.size} bytes, the verified index says ${entry.size}`, {
        details: { file: url, size: got.size, expectedSize: entry.size },
      });
    }
    if (got.sha256 !== entry.sha256) {
      throw new ArchiveError('DEB_HASH_MISMATCH', `${url}: SHA256 ${got.sha256} is not the verified ${entry.sha256}`, {
        details: { file: url, sha256: got.sha256, expectedSha256: entry.sha256 },
      });
    }
    await rename(tmp, destFile);
    return { file: destFile, sha256: got.sha256, size: got.size };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
