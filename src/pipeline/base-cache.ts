/**
 * The base-layer cache: the bootstrap layer of a recipe (bootstrap + updates, packed), kept
 * across builds under a key made of everything that determines its bytes. A later build with
 * the same key unpacks the cached layer instead of bootstrapping, and builds its own layers on
 * top; the layer's bytes (so the image digest) are those of the build that stored it.
 *
 * The key:
 * - the archive state: the SHA-256 of every verified InRelease (base suite, -updates,
 *   -security). Identical InRelease files mean identical Packages indexes, hence the same
 *   packages a bootstrap would install, to the byte; any change in the archive changes the key.
 * - the recipe's base inputs (suite, variant, components, updates, slim rules), the
 *   architecture, the mirrors (written into the image's apt sources), the pinned keyring's bytes,
 *   the bootstrapper, SOURCE_DATE_EPOCH, the excluded paths;
 * - imgfactory's version and the Node/zlib versions (the compressed bytes are zlib's).
 *
 * Use: the blob is re-hashed against its recorded digest before it is unpacked; a mismatch
 * deletes the entry (the build bootstraps, as on any miss). The build's audit then proves every
 * installed package against the verified indexes exactly as after a bootstrap.
 * Size: at most BASE_CACHE_MAX_ENTRIES entries, least recently used out first.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { tempSibling, writeFileAtomic } from '../atomic-file.js';
import type { Digest } from '../oci/digest.js';
import type { LayerInfo } from '../oci/types.js';
import { hashFile as hashOciFile } from '../oci/hash-file.js';

/** A few suites × bootstrappers × architectures; each entry is one compressed base layer (~30 MB for minbase). */
export const BASE_CACHE_MAX_ENTRIES = 8;

export interface BaseLayerKeyInput {
  readonly inReleaseSha256s: readonly string[];
  readonly suite: string;
  readonly variant: string;
  readonly components: readonly string[];
  readonly updates: boolean;
  readonly slim: unknown;
  readonly arch: string;
  readonly mirror: string;
  readonly securityMirror: string;
  readonly keyringSha256: string;
  readonly bootstrapper: string;
  readonly sourceDateEpoch: number;
  readonly excludes: readonly string[];
  readonly imgfactoryVersion: string;
  readonly node: string;
  readonly zlib: string;
}

/** Hex SHA-256 of the inputs, as canonical JSON (keys sorted). Pure. */
export function baseLayerKey(input: BaseLayerKeyInput): string {
  return createHash('sha256').update(stableJson(input)).digest('hex');
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export interface CachedBaseLayer {
  readonly key: string;
  readonly digest: Digest;
  readonly diffId: Digest;
  readonly size: number;
  readonly uncompressedSize: number;
  readonly createdBy: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

export class BaseLayerCache {
  constructor(readonly dir: string) {}

  private entryDir(key: string): string {
    return join(this.dir, key);
  }

  /**
   * The entry for `key`, its blob re-hashed and copied to `blobFile`; undefined on a miss or
   * when the blob no longer matches (the entry is then deleted).
   */
  async take(key: string, blobFile: string): Promise<CachedBaseLayer | undefined> {
    const dir = this.entryDir(key);
    const meta = await readFile(join(dir, 'layer.json'), 'utf8')
      .then((t) => JSON.parse(t) as CachedBaseLayer)
      .catch(() => undefined);
    if (!meta || meta.key !== key) return undefined;
    await copyFile(join(dir, 'layer.tar.gz'), blobFile).catch(() => undefined);
    // The copy is what the build uses, so the copy is what is hashed.
    const got = await hashFile(blobFile);
    if (got === undefined || `sha256:${got.sha256}` !== meta.digest || got.size !== meta.size) {
      await rm(blobFile, { force: true });
      await rm(dir, { recursive: true, force: true });
      return undefined;
    }
    const now = new Date();
    await utimes(join(dir, 'layer.json'), now, now).catch(() => {});
    return meta;
  }

  /** Stores a freshly packed base layer under `key`, then prunes to the bound. */
  async store(key: string, layer: LayerInfo & { readonly createdBy: string }): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const staging = tempSibling(this.entryDir(key));
    try {
      await mkdir(staging);
      await copyFile(layer.path, join(staging, 'layer.tar.gz'));
      const meta: CachedBaseLayer = {
        key,
        digest: layer.digest,
        diffId: layer.diffId,
        size: layer.size,
        uncompressedSize: layer.uncompressedSize,
        createdBy: layer.createdBy,
      };
      await writeFileAtomic(join(staging, 'layer.json'), JSON.stringify(meta, null, 2));
      await rm(this.entryDir(key), { recursive: true, force: true });
      await rename(staging, this.entryDir(key));
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    await this.prune();
  }

  async prune(): Promise<void> {
    const names = (await readdir(this.dir).catch(() => [] as string[])).filter((n) => HEX64.test(n));
    const entries: { name: string; used: number }[] = [];
    for (const name of names) {
      const st = await stat(join(this.dir, name, 'layer.json')).catch(() => undefined);
      entries.push({ name, used: st?.mtimeMs ?? 0 });
    }
    entries.sort((a, b) => b.used - a.used || (a.name < b.name ? -1 : 1));
    for (const e of entries.slice(BASE_CACHE_MAX_ENTRIES)) await rm(join(this.dir, e.name), { recursive: true, force: true });
  }
}

/** A file's SHA-256, or undefined when it cannot be read (a missing or unreadable entry is a miss). */
function hashFile(file: string): Promise<{ sha256: string; size: number } | undefined> {
  return hashOciFile(file).catch(() => undefined);
}
