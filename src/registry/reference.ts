/**
 * Docker image references (`registry/repository:tag@digest`), parsed by the rules of
 * distribution's reference grammar. Pure: no I/O.
 */
import { RegistryError } from '../errors.js';
import { digestHex, isDigest, type Digest } from '../oci/digest.js';

export interface Reference {
  /** `host[:port]` as written (`docker.io` when the reference names no registry). */
  readonly registry: string;
  /** Path inside the registry, e.g. `base/debian-minimal` (`library/x` on docker.io). */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const HOST_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${HOST_COMPONENT}(?:\\.${HOST_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`);
const MAX_NAME_LENGTH = 255;

function invalid(input: string, why: string): RegistryError {
  return new RegistryError('REFERENCE_INVALID', `${JSON.stringify(input)}: ${why}`, { details: { reference: input } });
}

/**
 * `localhost:5000/x` → registry `localhost:5000`; `debian:12` → `docker.io/library/debian:12`.
 * Without tag or digest the tag is `latest`; with only a digest no tag is implied.
 */
export function parseReference(input: string): Reference {
  if (input.length === 0) throw invalid(input, 'empty image reference');
  if (/\s/.test(input)) throw invalid(input, 'image reference contains whitespace');
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw invalid(input, 'digest must be sha256:<64 lowercase hex>');
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `invalid tag ${JSON.stringify(tag)}`);
  }
  let registry = DEFAULT_REGISTRY;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  // distribution's rule: the first component is a host when it has a dot, a port or is localhost.
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    if (!DOMAIN.test(first)) throw invalid(input, `invalid registry host ${JSON.stringify(first)}`);
    registry = first;
    rest = rest.slice(slash + 1);
  }
  if (registry === DEFAULT_REGISTRY && !rest.includes('/')) rest = `library/${rest}`;
  if (rest.length === 0) throw invalid(input, 'missing repository name');
  for (const part of rest.split('/')) {
    if (!PATH_COMPONENT.test(part)) {
      throw invalid(
        input,
        /[A-Z]/.test(part) ? 'repository name must be lowercase' : `invalid repository path component ${JSON.stringify(part)}`,
      );
    }
  }
  if (`${registry}/${rest}`.length > MAX_NAME_LENGTH) throw invalid(input, `name longer than ${MAX_NAME_LENGTH} characters`);
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { registry, repository: rest, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** `registry/repository[:tag][@digest]`, fully qualified. */
export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** `registry/repository`. */
export function repositoryName(ref: Pick<Reference, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The tag or digest used in `/v2/<name>/manifests/<reference>` (digest wins: it is exact). */
export function manifestReference(ref: Reference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** OCI 1.1 referrers tag schema: the tag that lists the artifacts attached to `subject`. */
export function referrersTag(subject: Digest): string {
  return `sha256-${digestHex(subject)}`;
}

/** Same image name and tag (digests ignored): how a signature's identity is matched to a target. */
export function sameNamedTag(a: Reference, b: Reference): boolean {
  return a.registry === b.registry && a.repository === b.repository && a.tag === b.tag;
}
