/**
 * Docker references for signature identities: the grammar is src/oci/reference.ts; this adds
 * the canonical string forms and containers/image's identity matching. Pure.
 */
import { DEFAULT_DOMAIN, parseImageReference, type ImageReference } from '../oci/reference.js';

export type DockerReference = ImageReference;
export { DEFAULT_DOMAIN };

/** Parse and normalize; returns undefined when `s` is not a valid reference. */
export function tryParseDockerReference(s: string): DockerReference | undefined {
  const parsed = parseImageReference(s);
  return parsed.ok ? parsed.ref : undefined;
}

export function parseDockerReference(s: string): DockerReference {
  const parsed = parseImageReference(s);
  if (!parsed.ok) throw new TypeError(`not a docker reference: ${JSON.stringify(s)} (${parsed.why})`);
  return parsed.ref;
}

/** `domain/path`: the repository, without tag or digest. */
export function referenceName(ref: DockerReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The canonical string form, as containers/image prints and compares it. */
export function referenceString(ref: DockerReference): string {
  return `${referenceName(ref)}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

export function isNameOnly(ref: DockerReference): boolean {
  return ref.tag === undefined && ref.digest === undefined;
}

/**
 * containers/image `matchRepoDigestOrExact`, the default `signedIdentity` of a `signedBy`
 * requirement: pulled by tag, the signed reference must be exactly that repo:tag; pulled by
 * digest, the repository must match (the digest itself is checked against the signature payload).
 */
export function matchesRepoDigestOrExact(intended: string, signed: string): boolean {
  const want = tryParseDockerReference(intended);
  const got = tryParseDockerReference(signed);
  if (!want || !got || isNameOnly(got)) return false;
  if (want.tag !== undefined) return referenceString(got) === referenceString(want);
  if (want.digest !== undefined) return referenceName(got) === referenceName(want);
  return false;
}
