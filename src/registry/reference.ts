/**
 * Image references as the registry client uses them: the shared grammar (src/oci/reference.ts)
 * plus the client's defaults (tag `latest`, sha256 digests). Pure: no I/O.
 */
import { RegistryError } from '../errors.js';
import { digestHex, isDigest, type Digest } from '../oci/digest.js';
import { DEFAULT_DOMAIN, parseImageReference } from '../oci/reference.js';

export interface Reference {
  /** `host[:port]` as written (`docker.io` when the reference names no registry). */
  readonly registry: string;
  /** Path inside the registry, e.g. `base/debian-minimal` (`library/x` on docker.io). */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

export const DEFAULT_REGISTRY = DEFAULT_DOMAIN;
export const DEFAULT_TAG = 'latest';

function invalid(input: string, why: string): RegistryError {
  return new RegistryError('REFERENCE_INVALID', `${JSON.stringify(input)}: ${why}`, { details: { reference: input } });
}

/**
 * `localhost:5000/x` → registry `localhost:5000`; `debian:12` → `docker.io/library/debian:12`
 * (grammar: src/oci/reference.ts). Without tag or digest the tag is `latest`; with only a
 * digest no tag is implied. Registries are asked for sha256 digests only.
 */
export function parseReference(input: string): Reference {
  const parsed = parseImageReference(input);
  if (!parsed.ok) throw invalid(input, parsed.why);
  const { domain, path, tag, digest } = parsed.ref;
  if (digest !== undefined && !isDigest(digest)) throw invalid(input, 'digest must be sha256:<64 lowercase hex>');
  const impliedTag = tag ?? (digest === undefined ? DEFAULT_TAG : undefined);
  return { registry: domain, repository: path, ...(impliedTag !== undefined ? { tag: impliedTag } : {}), ...(digest !== undefined ? { digest } : {}) };
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
