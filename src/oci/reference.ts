/**
 * The docker image reference grammar (distribution/reference, `ParseNormalizedNamed`), once for
 * the whole project: a short name gains the default domain and `library/`, so a signed identity,
 * a push target and the reference a consumer pulls all compare in one canonical form. Callers
 * add their own policy on top (the registry client implies `latest`; signatures never do). Pure.
 */

export interface ImageReference {
  /** Registry host[:port], e.g. `127.0.0.1:5000` (`docker.io` for short names). */
  readonly domain: string;
  /** Repository path without the domain, e.g. `base/debian-minimal` (`library/x` on docker.io). */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

export type ParsedImageReference = { readonly ok: true; readonly ref: ImageReference } | { readonly ok: false; readonly why: string };

/** The implied registry of short names: needed to compare names as containers/image does, never contacted. */
export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = `index.${DEFAULT_DOMAIN}`;
const OFFICIAL_REPO_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

const hostComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainRe = new RegExp(`^(?:${hostComponent}(?:\\.${hostComponent})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`);
const pathComponentRe = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const identifierRe = /^[a-f0-9]{64}$/;

export function parseImageReference(s: string): ParsedImageReference {
  const fail = (why: string): ParsedImageReference => ({ ok: false, why });
  if (s.length === 0) return fail('empty image reference');
  if (/\s/.test(s)) return fail('image reference contains whitespace');
  if (identifierRe.test(s)) return fail('a bare image ID is not a reference');
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) return fail(`invalid digest ${JSON.stringify(digest)}`);
  }
  let tag: string | undefined;
  const colon = rest.indexOf(':', rest.lastIndexOf('/') + 1);
  if (colon !== -1) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) return fail(`invalid tag ${JSON.stringify(tag)}`);
  }
  const { domain, path } = splitDomain(rest);
  if (!domainRe.test(domain)) return fail(`invalid registry host ${JSON.stringify(domain)}`);
  if (path.length === 0) return fail('missing repository name');
  for (const part of path.split('/')) {
    if (!pathComponentRe.test(part)) {
      return fail(/[A-Z]/.test(part) ? 'repository name must be lowercase' : `invalid repository path component ${JSON.stringify(part)}`);
    }
  }
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) return fail(`name longer than ${NAME_TOTAL_LENGTH_MAX} characters`);
  return { ok: true, ref: { domain, path, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) } };
}

/** distribution's rule: the first component is a host when it has a dot or a port, is localhost, or has capitals. */
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
