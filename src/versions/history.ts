/**
 * `imgfactory history`: every version of a repository, newest first, from the registry alone:
 * the tag list splits into version tags, channel tags and referrers tags; each version's
 * signature (for its own version tag) is checked before its attachments are believed, and each
 * is compared with the next older one.
 */
import { LayoutError, RegistryError, VerifyError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { withTag, type ImageReference } from '../oci/reference.js';
import type { VerificationKey } from '../pgp/keys.js';
import type { RegistryClient } from '../registry/client.js';
import { versionChanges, type VersionChanges } from './changes.js';
import { readVerifiedVersion, type VerifiedVersion } from './registry-version.js';
import { tagKind } from '../oci/version-tag.js';

export interface HistoryEntry {
  readonly tag: string;
  readonly digest: Digest;
  /** Channel tags that point at this version now. */
  readonly channels: readonly string[];
  /** Verified facts, or why the version could not be verified (its attachments are then not reported). */
  readonly verified: boolean;
  readonly error?: { readonly code: string; readonly message: string };
  /** Build finish time from the signed provenance. */
  readonly date?: string;
  /** Signing time of the version tag's signature (seconds since the epoch). */
  readonly signedAt?: number;
  readonly packages?: number;
  readonly recipeSha256?: string;
  /** Against the next older verified version (absent for the oldest). */
  readonly changes?: VersionChanges & { readonly from: string };
}

export interface History {
  readonly repository: string;
  readonly versions: readonly HistoryEntry[];
  /** Every channel tag and the digest it names (also those pointing at no version). */
  readonly channels: Readonly<Record<string, Digest>>;
}

export interface ReadHistoryOptions {
  readonly client: RegistryClient;
  /** registry/repository (a tag or digest on it is ignored). */
  readonly repository: Pick<ImageReference, 'registry' | 'repository'>;
  readonly keys: readonly VerificationKey[];
  readonly onProgress?: (message: string) => void;
}

interface Loaded {
  readonly tag: string;
  readonly digest: Digest;
  readonly version?: VerifiedVersion;
  readonly error?: { code: string; message: string };
}

/** Newest first: build time, then signing time, then tag (all descending). Pure. */
export function newestFirst(a: Loaded, b: Loaded): number {
  const key = (x: Loaded) => [x.version?.builtOn ?? '', signedAt(x) ?? 0, x.tag] as const;
  const [ab, as, at] = key(a);
  const [bb, bs, bt] = key(b);
  if (ab !== bb) return ab < bb ? 1 : -1;
  if (as !== bs) return bs - as;
  return at < bt ? 1 : at > bt ? -1 : 0;
}

function signedAt(x: Loaded): number | undefined {
  const times = (x.version?.signatures ?? []).map((s) => s.timestamp).filter((t): t is number => t !== undefined);
  return times.length > 0 ? Math.max(...times) : undefined;
}

/** The version's own documents are wrong (unsigned, tampered, malformed), as opposed to the registry or the machine failing. */
function versionAtFault(e: unknown): e is VerifyError | LayoutError | RegistryError {
  if (e instanceof VerifyError || e instanceof LayoutError) return true;
  return e instanceof RegistryError && (e.code === 'REGISTRY_PROTOCOL' || e.code === 'REGISTRY_NOT_FOUND' || e.code === 'BLOB_DIGEST_MISMATCH');
}

export async function readHistory(options: ReadHistoryOptions): Promise<History> {
  const { client, keys } = options;
  const { registry, repository } = options.repository;
  const tags = (await client.listTags(repository)).sort();
  const channels: Record<string, Digest> = {};
  const versionTags: string[] = [];
  for (const tag of tags) {
    const kind = tagKind(tag);
    if (kind === 'version') versionTags.push(tag);
    else if (kind === 'channel') {
      const m = await client.findManifest(repository, tag);
      if (m) channels[tag] = m.digest;
    }
  }
  const loaded: Loaded[] = [];
  for (const tag of versionTags) {
    options.onProgress?.(`verifying ${tag}`);
    const ref = withTag({ registry, repository }, tag);
    try {
      const version = await readVerifiedVersion({ client, ref, keys });
      loaded.push({ tag, digest: version.digest, version });
    } catch (e) {
      // A version that fails its checks is listed as such; a dead registry or Ctrl-C ends it all.
      if (!versionAtFault(e)) throw e;
      const m = await client.findManifest(repository, tag);
      if (!m) continue; // deleted while we looked
      loaded.push({ tag, digest: m.digest, error: { code: e.code, message: e.message } });
    }
  }
  loaded.sort(newestFirst);
  const verifiedOnly = loaded.filter((l) => l.version !== undefined);
  const versions: HistoryEntry[] = loaded.map((l) => {
    const pointing = Object.entries(channels)
      .filter(([, d]) => d === l.digest)
      .map(([t]) => t);
    if (!l.version) return { tag: l.tag, digest: l.digest, channels: pointing, verified: false, ...(l.error ? { error: l.error } : {}) };
    const v = l.version;
    const older = verifiedOnly[verifiedOnly.indexOf(l) + 1]?.version;
    const olderTag = verifiedOnly[verifiedOnly.indexOf(l) + 1]?.tag;
    const at = signedAt(l);
    return {
      tag: l.tag,
      digest: l.digest,
      channels: pointing,
      verified: true,
      ...(v.builtOn ? { date: v.builtOn } : {}),
      ...(at !== undefined ? { signedAt: at } : {}),
      packages: v.packages.length,
      recipeSha256: v.recipe.sha256,
      ...(older && olderTag
        ? {
            changes: {
              from: olderTag,
              ...versionChanges({ recipeSha256: older.recipe.sha256, packages: older.packages }, { recipeSha256: v.recipe.sha256, packages: v.packages }),
            },
          }
        : {}),
    };
  });
  return { repository: `${registry}/${repository}`, versions, channels };
}
