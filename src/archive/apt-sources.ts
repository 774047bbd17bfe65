/**
 * apt's source lists, in both formats (deb822 `.sources` and one-line `.list`), and the choice of
 * the archive mirrors from them. Pure: the host's files are read by host-mirror.ts.
 */
import { ArchiveError } from '../errors.js';
import { Deb822SyntaxError, parseDeb822 } from './deb822.js';

export interface AptSource {
  /** `deb`, `deb-src`. */
  readonly types: readonly string[];
  readonly uris: readonly string[];
  readonly suites: readonly string[];
  readonly components: readonly string[];
  readonly enabled: boolean;
}

export interface ArchiveMirrors {
  /** Serves the plain suite (`bookworm`) and `<suite>-updates`. No trailing slash. */
  readonly mirror: string;
  /** Serves `<suite>-security`. No trailing slash. */
  readonly securityMirror: string;
}

export function parseAptSources(text: string, format: 'deb822' | 'list', name = 'sources'): AptSource[] {
  return format === 'deb822' ? parseDeb822Sources(text, name) : parseListSources(text);
}

function parseDeb822Sources(text: string, name: string): AptSource[] {
  let stanzas;
  try {
    stanzas = parseDeb822(text, { comments: true });
  } catch (e) {
    if (e instanceof Deb822SyntaxError) throw new ArchiveError('MIRROR_UNKNOWN', `${name}: ${e.message}`, { details: { file: name } });
    throw e;
  }
  const words = (v: string | undefined) => (v ?? '').split(/\s+/).filter(Boolean);
  return stanzas
    .filter((s) => s.has('types') || s.has('uris'))
    .map((s) => ({
      types: words(s.get('types')),
      uris: words(s.get('uris')),
      suites: words(s.get('suites')),
      components: words(s.get('components')),
      enabled: (s.get('enabled') ?? 'yes').toLowerCase() !== 'no',
    }));
}

function parseListSources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    // `deb [arch=amd64 signed-by=/k.gpg] URI suite [component...]`: options may contain blanks.
    const m = /^(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m?.[1] || !m[2] || !m[3]) continue;
    out.push({
      types: [m[1]],
      uris: [m[2]],
      suites: [m[3]],
      components: (m[4] ?? '').split(/\s+/).filter(Boolean),
      enabled: true,
    });
  }
  return out;
}

const isSecuritySuite = (s: string) => s.endsWith('-security') || s.endsWith('/updates');
const isPlainSuite = (s: string) => !s.includes('-') && !s.includes('/');

/**
 * The mirror serving a plain suite, and the one serving `<suite>-security`; without a security
 * entry, the `-security` sibling of the mirror's path (`…/debian` → `…/debian-security`).
 * `name` labels the MIRROR_UNKNOWN message.
 */
export function selectArchiveMirrors(sources: readonly AptSource[], name = 'apt sources'): ArchiveMirrors {
  const usable = sources.filter((s) => s.enabled && s.types.includes('deb'));
  const httpUri = (s: AptSource) => s.uris.find((u) => /^https?:\/\//.test(u));
  const plain = usable.find((s) => httpUri(s) && s.suites.some(isPlainSuite));
  const security = usable.find((s) => httpUri(s) && s.suites.some(isSecuritySuite));
  const mirrorUri = plain ? httpUri(plain) : undefined;
  if (!mirrorUri) {
    throw new ArchiveError('MIRROR_UNKNOWN', `${name}: no enabled http(s) "deb" entry for a plain suite; pass --mirror`, {
      details: { file: name },
    });
  }
  const mirror = trimSlash(mirrorUri);
  const securityUri = security ? httpUri(security) : undefined;
  return { mirror, securityMirror: securityUri ? trimSlash(securityUri) : securitySibling(mirror) };
}

/** `…/debian` → `…/debian-security`: where Debian mirrors serve the security archive. */
export function securitySibling(mirror: string): string {
  return `${trimSlash(mirror)}-security`;
}

function trimSlash(u: string): string {
  return u.replace(/\/+$/, '');
}
