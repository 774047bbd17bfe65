/**
 * Docker references as containers/image reads them (distribution/reference
 * `ParseNormalizedNamed`): a short name gains the default registry and `library/`, so a signed identity
 * and the reference a consumer pulls compare in the same canonical form. Pure.
 */

export interface DockerReference {
  /** Registry host[:port], e.g. `127.0.0.1:5000`. */
  readonly domain: string;
  /** Repository path without the domain, e.g. `base/debian-minimal`. */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** containers/image's implied registry for short names: needed to compare names as it does, never contacted. */
export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = `index.${DEFAULT_DOMAIN}`;
const OFFICIAL_REPO_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainRe = new RegExp(`^${domainComponent}(?:\\.${domainComponent})*(?::[0-9]+)?$`);
const pathComponentRe = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const identifierRe = /^[a-f0-9]{64}$/;

/** Parse and normalize; returns undefined when `s` is not a valid reference. */
export function tryParseDockerReference(s: string): DockerReference | undefined {
  if (identifierRe.test(s)) return undefined;
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon !== -1) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) return undefined;
  }
  const { domain, path } = splitDomain(rest);
  if (path !== path.toLowerCase()) return undefined;
  if (!domainRe.test(domain)) return undefined;
  if (!path.split('/').every((c) => pathComponentRe.test(c))) return undefined;
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) return undefined;
  return { domain, path, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

export function parseDockerReference(s: string): DockerReference {
  const ref = tryParseDockerReference(s);
  if (!ref) throw new TypeError(`not a docker reference: ${JSON.stringify(s)}`);
  return ref;
}

function splitDomain(name: string): { domain: string; path: string } {
  const i = name.indexOf('/');
  const first = i === -1 ? '' : name.slice(0, i);
  let domain: string;
  let path: string;
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    path = name;
  } else {
    domain = first;
    path = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  return { domain, path };
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
