/**
 * Write-once version tags: `<recipe version>-<YYYYMMDD>.<12 hex of the manifest digest>`, the
 * date being the build's SOURCE_DATE_EPOCH (UTC). Why content-addressed instead of a counter:
 * the tag is known the moment the image is written, so the build signs it offline, before any
 * registry is contacted; two CI jobs can never race for the same `.n`; a reproducible rebuild
 * of the same inputs yields the same tag (re-publishing is a no-op by construction); and the
 * date still sorts versions of one recipe version by day. Channel tags (`12`, `bookworm`) are
 * every other tag. Pure.
 */
import { digestHex, type Digest } from './digest.js';

/** Hex digits of the manifest digest kept in the tag (as `docker images` shows short ids). */
export const VERSION_DIGEST_CHARS = 12;

const VERSION_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]*-(\d{8})\.([0-9a-f]{12})$/;
/** The OCI fallback tag listing an image's attachments (`sha256-<hex>`): never a version or channel. */
const REFERRERS_TAG = /^sha256-[0-9a-f]{64}$/;

/** The UTC day of a SOURCE_DATE_EPOCH as YYYYMMDD. */
export function versionDay(sourceDateEpoch: number): string {
  if (!Number.isInteger(sourceDateEpoch) || sourceDateEpoch < 0)
    throw new RangeError(`SOURCE_DATE_EPOCH must be a whole number of seconds, got ${sourceDateEpoch}`);
  return new Date(sourceDateEpoch * 1000).toISOString().slice(0, 10).replaceAll('-', '');
}

/**
 * The version tag of an image. Characters a tag cannot hold (`+`, `~`, `:` of Debian-style
 * versions) become `_`, and the recipe part is cut so the whole fits the 128-character limit.
 */
export function versionTag(recipeVersion: string, sourceDateEpoch: number, manifestDigest: Digest): string {
  const suffix = `-${versionDay(sourceDateEpoch)}.${digestHex(manifestDigest).slice(0, VERSION_DIGEST_CHARS)}`;
  let head = recipeVersion.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 128 - suffix.length);
  if (!/^[A-Za-z0-9_]/.test(head)) head = `v${head}`.slice(0, 128 - suffix.length);
  return `${head}${suffix}`;
}

export function isVersionTag(tag: string): boolean {
  return VERSION_TAG.test(tag);
}

export function isReferrersTag(tag: string): boolean {
  return REFERRERS_TAG.test(tag);
}

/** Whether a version tag names this digest (its hex part is the digest's prefix). */
export function versionTagMatchesDigest(tag: string, digest: Digest): boolean {
  const m = VERSION_TAG.exec(tag);
  return m !== null && digestHex(digest).startsWith(m[2]!);
}

export type TagKind = 'version' | 'channel' | 'referrers';

export function tagKind(tag: string): TagKind {
  if (isReferrersTag(tag)) return 'referrers';
  return isVersionTag(tag) ? 'version' : 'channel';
}
