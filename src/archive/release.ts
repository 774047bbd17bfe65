/** A Debian Release file (the signed text of InRelease): suite identity, dates, and index hashes. Pure. */
import { ArchiveError } from '../errors.js';
import { Deb822SyntaxError, fieldLines, parseDeb822 } from './deb822.js';

export interface ReleaseFileEntry {
  /** Path relative to `dists/<suite>/`, e.g. `main/binary-amd64/Packages.gz`. */
  readonly path: string;
  readonly size: number;
  /** Lower-case hex. */
  readonly sha256: string;
}

export interface Release {
  readonly origin?: string;
  readonly label?: string;
  /** Archive-relative name such as `stable` or `oldstable-security`. */
  readonly suite?: string;
  /** Release name such as `bookworm` or `bookworm-security`. */
  readonly codename?: string;
  readonly version?: string;
  readonly date: Date;
  readonly validUntil?: Date;
  readonly architectures: readonly string[];
  readonly components: readonly string[];
  readonly acquireByHash: boolean;
  /** The SHA256 section, by path. Release files without SHA256 are refused (MD5/SHA1 are not proof). */
  readonly files: ReadonlyMap<string, ReleaseFileEntry>;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const RFC2822_RE = /^(?:[A-Z][a-z]{2}, +)?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (UTC|GMT|Z|[+-]\d{4})$/;

/** The date format of Release `Date`/`Valid-Until` (RFC 2822, as dak writes it). */
export function parseReleaseDate(value: string): Date | undefined {
  const m = RFC2822_RE.exec(value.trim());
  if (!m) return undefined;
  const [, day, mon, year, hh, mm, ss, zone] = m as unknown as [string, string, string, string, string, string, string, string];
  const month = MONTHS.indexOf(mon);
  if (month === -1) return undefined;
  let offsetMinutes = 0;
  if (zone.startsWith('+') || zone.startsWith('-')) {
    const sign = zone.startsWith('-') ? -1 : 1;
    offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
  }
  const ms = Date.UTC(Number(year), month, Number(day), Number(hh), Number(mm), Number(ss)) - offsetMinutes * 60_000;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function malformed(name: string, why: string): ArchiveError {
  return new ArchiveError('INRELEASE_MALFORMED', `${name}: ${why}`, { details: { file: name } });
}

/** Parses Release text. `name` (e.g. the InRelease URL) only labels error messages. */
export function parseRelease(text: string, name = 'Release'): Release {
  let stanzas;
  try {
    stanzas = parseDeb822(text);
  } catch (e) {
    if (e instanceof Deb822SyntaxError) throw malformed(name, e.message);
    throw e;
  }
  const f = stanzas[0];
  if (!f || stanzas.length !== 1) throw malformed(name, `expected one Release paragraph, found ${stanzas.length}`);
  const dateText = f.get('date');
  if (dateText === undefined) throw malformed(name, 'no Date field');
  const date = parseReleaseDate(dateText);
  if (!date) throw malformed(name, `unreadable Date ${JSON.stringify(dateText)}`);
  const validUntilText = f.get('valid-until');
  const validUntil = validUntilText === undefined ? undefined : parseReleaseDate(validUntilText);
  if (validUntilText !== undefined && !validUntil) throw malformed(name, `unreadable Valid-Until ${JSON.stringify(validUntilText)}`);
  const sha = f.get('sha256');
  if (sha === undefined) throw malformed(name, 'no SHA256 file list');
  const files = new Map<string, ReleaseFileEntry>();
  for (const line of fieldLines(sha)) {
    const parts = line.split(/\s+/);
    const [hash, size, path] = parts;
    if (parts.length !== 3 || !hash || !size || !path || !/^[0-9a-fA-F]{64}$/.test(hash) || !/^\d+$/.test(size)) {
      throw malformed(name, `bad SHA256 line ${JSON.stringify(line.slice(0, 100))}`);
    }
    files.set(path, { path, size: Number(size), sha256: hash.toLowerCase() });
  }
  const words = (v: string | undefined) => (v ?? '').split(/\s+/).filter(Boolean);
  return {
    ...optional('origin', f.get('origin')),
    ...optional('label', f.get('label')),
    ...optional('suite', f.get('suite')),
    ...optional('codename', f.get('codename')),
    ...optional('version', f.get('version')),
    date,
    ...(validUntil ? { validUntil } : {}),
    architectures: words(f.get('architectures')),
    components: words(f.get('components')),
    acquireByHash: (f.get('acquire-by-hash') ?? '').toLowerCase() === 'yes',
    files,
  };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
