/**
 * The verified package cache: .debs kept across builds (of any recipe), each stored under the
 * SHA-256 a signed index gave it, `<dir>/sha256/<hex>`.
 *
 * - In: only files whose hash a verified index lists (after the build's audit), copied in
 *   under that hash.
 * - Out: before a build, every cached file the current verified archive lists is re-hashed and,
 *   when it still matches its name, linked into a staging directory under the name apt and
 *   debootstrap give it (`name_version_arch.deb`). A file that no longer matches (disk
 *   corruption, tampering) is deleted, so the bootstrapper or apt downloads it afresh; it never
 *   reaches dpkg. debootstrap and apt check the staged files against their own signed lists
 *   again, and the audit proves every .deb once more.
 * - Size: bounded; least recently used first out (a use sets the file's mtime).
 */
import { copyFile, link, mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { tempSibling } from '../atomic-file.js';
import type { ArchiveLookup, ArchivePackage } from './archive-lookup.js';
import { hashFile as hashOciFile } from '../oci/hash-file.js';

/** 2 GiB: a few suites' worth of minbase plus the usual extras, small next to a CI runner's disk. */
export const DEFAULT_DEB_CACHE_MAX_BYTES = 2 * 1024 ** 3;

const HEX64 = /^[0-9a-f]{64}$/;

export interface DebCacheOptions {
  readonly dir: string;
  /** Upper bound on the bytes kept; 0 disables the cache. */
  readonly maxBytes: number;
}

export interface StageResult {
  /** Files linked into the staging directory. */
  readonly staged: number;
  readonly stagedBytes: number;
  /** Cache entries that no longer matched their hash: deleted. */
  readonly corrupt: readonly string[];
}

/** apt's and debootstrap's name for a downloaded .deb (an epoch's colon is written %3a). */
export function aptDebFileName(p: Pick<ArchivePackage, 'package' | 'version' | 'architecture'>): string {
  return `${p.package}_${p.version.replace(/:/g, '%3a')}_${p.architecture}.deb`;
}

export class DebCache {
  constructor(private readonly options: DebCacheOptions) {}

  get enabled(): boolean {
    return this.options.maxBytes > 0;
  }

  entryPath(sha256: string): string {
    return join(this.options.dir, 'sha256', sha256);
  }

  /**
   * Links (or copies) every cached .deb that `archive` lists into `dest`, re-hashing each on the
   * way: a mismatch deletes the entry instead.
   */
  async stage(dest: string, archive: ArchiveLookup, signal?: AbortSignal): Promise<StageResult> {
    await mkdir(dest, { recursive: true });
    const corrupt: string[] = [];
    let staged = 0;
    let stagedBytes = 0;
    if (!this.enabled) return { staged, stagedBytes, corrupt };
    for (const hex of await this.hashes()) {
      signal?.throwIfAborted();
      const entry = archive.findBySha256(hex)[0];
      if (!entry) continue; // another suite's or a superseded version: kept until LRU drops it
      const file = this.entryPath(hex);
      const got = await hashFileOrUndefined(file);
      if (got === undefined) continue; // pruned by a concurrent build
      if (got.sha256 !== hex || got.size !== entry.size) {
        await rm(file, { force: true });
        corrupt.push(hex);
        continue;
      }
      const now = new Date();
      await utimes(file, now, now);
      const target = join(dest, aptDebFileName(entry));
      await rm(target, { force: true });
      // A hard link costs nothing; across filesystems, a copy. Either way the bytes were just
      // hashed; debootstrap and apt check them against their signed lists before use, and
      // should anything in the build write through the link, the next build's re-hash finds it.
      const linked = await link(file, target)
        .catch(() => copyFile(file, target))
        .then(
          () => true,
          () => false,
        ); // pruned by a concurrent build meanwhile: download it
      if (!linked) continue;
      staged++;
      stagedBytes += got.size;
    }
    return { staged, stagedBytes, corrupt };
  }

  /**
   * Copies into the cache each of `files` whose SHA-256 `archive` lists (the others are left
   * out), then prunes to the size bound. Returns how many were added.
   */
  async ingest(files: readonly string[], archive: ArchiveLookup, signal?: AbortSignal): Promise<number> {
    if (!this.enabled) return 0;
    await mkdir(join(this.options.dir, 'sha256'), { recursive: true });
    const known = new Set(await this.hashes());
    let added = 0;
    for (const file of files) {
      signal?.throwIfAborted();
      const tmp = tempSibling(this.entryPath('incoming'));
      try {
        // Copy first, then hash the copy: what is stored is exactly what was proven.
        await copyFile(file, tmp);
        const got = await hashFileOrUndefined(tmp);
        if (got === undefined || known.has(got.sha256)) continue;
        const entry = archive.findBySha256(got.sha256)[0];
        if (!entry || entry.size !== got.size) continue;
        await rename(tmp, this.entryPath(got.sha256));
        known.add(got.sha256);
        added++;
      } finally {
        await rm(tmp, { force: true });
      }
    }
    await this.prune();
    return added;
  }

  /** Deletes least recently used entries until the cache fits its bound. */
  async prune(): Promise<{ removed: number; bytes: number }> {
    const entries: { file: string; size: number; used: number }[] = [];
    for (const hex of await this.hashes()) {
      const file = this.entryPath(hex);
      const st = await stat(file).catch(() => undefined);
      if (st) entries.push({ file, size: st.size, used: st.mtimeMs });
    }
    let bytes = entries.reduce((a, e) => a + e.size, 0);
    entries.sort((a, b) => a.used - b.used || (a.file < b.file ? -1 : 1));
    let removed = 0;
    for (const e of entries) {
      if (bytes <= this.options.maxBytes) break;
      await rm(e.file, { force: true });
      bytes -= e.size;
      removed++;
    }
    return { removed, bytes };
  }

  private async hashes(): Promise<string[]> {
    const names = await readdir(join(this.options.dir, 'sha256')).catch(() => [] as string[]);
    return names.filter((n) => HEX64.test(n)).sort();
  }
}

/** A file's SHA-256, or undefined when it cannot be read (a missing or unreadable entry is a miss). */
function hashFileOrUndefined(file: string): Promise<{ sha256: string; size: number } | undefined> {
  return hashOciFile(file).catch(() => undefined);
}

/** Links each staged .deb into `dest` (apt's archive cache) unless a file of that name is there. */
export async function linkStagedDebs(staged: string, dest: string): Promise<number> {
  await mkdir(dest, { recursive: true });
  const present = new Set(await readdir(dest));
  let n = 0;
  for (const name of await readdir(staged).catch(() => [] as string[])) {
    if (!name.endsWith('.deb') || present.has(name)) continue;
    await link(join(staged, name), join(dest, name)).catch(() => copyFile(join(staged, name), join(dest, name)));
    n++;
  }
  return n;
}
