/**
 * What a publish tells CI (and `imgfactory report`'s job summary): the version tag it wrote and
 * the exact command that returns the channel to what it named before. Pure.
 */
import type { Digest } from '../oci/digest.js';
import { tryParseReference } from '../oci/reference.js';
import { isVersionTag } from '../oci/version-tag.js';

export interface PublishedVersion {
  /** The write-once tag of this publish. */
  readonly versionTag?: string;
  /** `imgfactory rollback <channel> --to <digest before> --key <public.asc>`, when a channel moved away from an earlier image. */
  readonly rollback?: string;
}

export function publishedVersion(tagged: readonly string[], channelsBefore: Readonly<Record<string, Digest>>, digest: Digest): PublishedVersion {
  const tags = tagged.map((t) => ({ ref: t, tag: tryParseReference(t)?.tag }));
  const versionTag = tags.find((t) => t.tag !== undefined && isVersionTag(t.tag))?.tag;
  const moved = tags.find((t) => t.tag !== undefined && !isVersionTag(t.tag) && channelsBefore[t.ref] !== undefined && channelsBefore[t.ref] !== digest);
  return {
    ...(versionTag ? { versionTag } : {}),
    ...(moved ? { rollback: `imgfactory rollback ${moved.ref} --to ${channelsBefore[moved.ref]} --key <public.asc>` } : {}),
  };
}
