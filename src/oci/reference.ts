/**
 * Image references, once for the whole project: one type, one parser (distribution/reference's
 * `ParseNormalizedNamed` grammar), one printer. A short name gains the default registry and
 * `library/`, so a signed identity, a push target and the reference a consumer pulls all
 * compare in one canonical string; signatures bind to exactly that string. Pure.
 */
import { RegistryError } from '../errors.js';
import { digestHex, type Digest } from './digest.js';

export interface ImageReference {
  /** Registry `host[:port]`, e.g. `127.0.0.1:5000` (`docker.io` for short names). */
  readonly registry: string;
  /** Repository path inside the registry, e.g. `base/debian-minimal` (`library/x` on docker.io). */
  readonly repository: string;
  readonly tag?: string;
  /** Only sha256: the one algorithm imgfactory produces and asks registries for. */
  readonly digest?: Digest;
}

export type ParsedImageReference = { readonly ok: true; readonly ref: ImageReference } | { readonly ok: false; readonly why: string };

/** The implied registry of short names: needed to compare names as containers/image does, never contacted. */
export const DEFAULT_REGISTRY = 'docker.io';
/** What a registry is asked for when a reference names neither tag nor digest. */
export const DEFAULT_TAG = 'latest';
const LEGACY_DEFAULT_REGISTRY = `index.${DEFAULT_REGISTRY}`;
const OFFICIAL_REPO_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

const hostComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const registryRe = new RegExp(`^(?:${hostComponent}(?:\\.${hostComponent})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`);
const pathComponentRe = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^sha256:[a-f0-9]{64}$/;
const identifierRe = /^[a-f0-9]{64}$/;

export function parseImageReference(s: string): ParsedImageReference {
  const fail = (why: string): ParsedImageReference => ({ ok: false, why });
  if (s.length === 0) return fail('empty image reference');
  if (/\s/.test(s)) return fail('image reference contains whitespace');
  if (identifierRe.test(s)) return fail('a bare image ID is not a reference');
  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    const d = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(d)) return fail(`invalid digest ${JSON.stringify(d)} (expected sha256:<64 lowercase hex>)`);
    digest = d as Digest;
  }
  let tag: string | undefined;
  const colon = rest.indexOf(':', rest.lastIndexOf('/') + 1);
  if (colon !== -1) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) return fail(`invalid tag ${JSON.stringify(tag)}`);
  }
  const { registry, repository } = splitRegistry(rest);
  if (!registryRe.test(registry)) return fail(`invalid registry host ${JSON.stringify(registry)}`);
  if (repository.length === 0) return fail('missing repository name');
  for (const part of repository.split('/')) {
    if (!pathComponentRe.test(part)) {
      return fail(/[A-Z]/.test(part) ? 'repository name must be lowercase' : `invalid repository path component ${JSON.stringify(part)}`);
    }
  }
  if (registry.length + 1 + repository.length > NAME_TOTAL_LENGTH_MAX) return fail(`name longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  return { ok: true, ref: { registry, repository, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) } };
}

/** distribution's rule: the first component is a host when it has a dot or a port, is localhost, or has capitals. */
function splitRegistry(name: string): { registry: string; repository: string } {
  const i = name.indexOf('/');
  const first = i === -1 ? '' : name.slice(0, i);
  let registry: string;
  let repository: string;
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    registry = DEFAULT_REGISTRY;
    repository = name;
  } else {
    registry = first;
    repository = name.slice(i + 1);
  }
  if (registry === LEGACY_DEFAULT_REGISTRY) registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = OFFICIAL_REPO_PREFIX + repository;
  return { registry, repository };
}

/** undefined when `s` is not a valid reference. */
export function tryParseReference(s: string): ImageReference | undefined {
  const parsed = parseImageReference(s);
  return parsed.ok ? parsed.ref : undefined;
}

/**
 * Parse a reference given by a user (exit 2 on bad input). With `defaultTag`, a reference that
 * names neither tag nor digest gets that tag (what a registry client asks for); signatures never
 * imply one.
 */
export function parseReference(s: string, options: { readonly defaultTag?: string } = {}): ImageReference {
  const parsed = parseImageReference(s);
  if (!parsed.ok) throw new RegistryError('REFERENCE_INVALID', `${JSON.stringify(s)}: ${parsed.why}`, { details: { reference: s } });
  const ref = parsed.ref;
  return options.defaultTag !== undefined && isNameOnly(ref) ? withTag(ref, options.defaultTag) : ref;
}

/** `registry/repository`: the repository, without tag or digest. */
export function repositoryName(ref: Pick<ImageReference, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The canonical string, as containers/image prints and compares it: `registry/repository[:tag][@digest]`. */
export function referenceString(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

/** The same repository with this tag (and no digest). */
export function withTag(ref: Pick<ImageReference, 'registry' | 'repository'>, tag: string): ImageReference {
  return { registry: ref.registry, repository: ref.repository, tag };
}

/** The same repository at this digest (and no tag). */
export function withDigest(ref: Pick<ImageReference, 'registry' | 'repository'>, digest: Digest): ImageReference {
  return { registry: ref.registry, repository: ref.repository, digest };
}

export function isNameOnly(ref: ImageReference): boolean {
  return ref.tag === undefined && ref.digest === undefined;
}

/** The tag or digest used in `/v2/<name>/manifests/<reference>` (the digest wins: it is exact). */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** OCI 1.1 referrers tag schema: the tag that lists the artifacts attached to `subject`. */
export function referrersTag(subject: Digest): string {
  return `sha256-${digestHex(subject)}`;
}

/**
 * containers/image `matchRepoDigestOrExact`, the default `signedIdentity` of a `signedBy`
 * requirement: consumed by tag, the signed reference must be exactly that repo:tag; consumed by
 * digest, the repository must match (the digest itself is checked against the signature payload).
 */
export function matchesRepoDigestOrExact(intended: string, signed: string): boolean {
  const want = tryParseReference(intended);
  const got = tryParseReference(signed);
  if (!want || !got || isNameOnly(got)) return false;
  if (want.tag !== undefined) return referenceString(got) === referenceString(want);
  if (want.digest !== undefined) return repositoryName(got) === repositoryName(want);
  return false;
}
