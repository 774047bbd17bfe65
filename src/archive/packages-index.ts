/** A Debian Packages index: one stanza per binary package in the pool. Pure. */
import { ArchiveError } from '../errors.js';
import { Deb822SyntaxError, parseDeb822 } from './deb822.js';

export interface PackageEntry {
  readonly package: string;
  readonly version: string;
  /** `amd64`, …, or `all`. */
  readonly architecture: string;
  /** Source package name; the binary name when the index has no Source field. */
  readonly source: string;
  /** From `Source: name (version)` when the binary was rebuilt (binNMU); else the binary's version. */
  readonly sourceVersion: string;
  /** Pool path relative to the archive root. */
  readonly filename: string;
  readonly size: number;
  /** Lower-case hex. */
  readonly sha256: string;
}

const INDEX_FIELDS: ReadonlySet<string> = new Set(['package', 'version', 'architecture', 'source', 'filename', 'size', 'sha256']);

const SOURCE_RE = /^(\S+)(?:\s+\((\S+)\))?$/;

/** `Source: bash` or `Source: inetutils (2:2.4-2+deb12u3)`. */
export function parseSourceField(value: string | undefined, pkg: string, version: string): { source: string; sourceVersion: string } {
  if (value === undefined || value === '') return { source: pkg, sourceVersion: version };
  const m = SOURCE_RE.exec(value.trim());
  if (!m?.[1]) return { source: pkg, sourceVersion: version };
  return { source: m[1], sourceVersion: m[2] ?? version };
}

/** Parses a Packages file. `name` only labels error messages (e.g. `main/binary-amd64/Packages.xz`). */
export function parsePackagesIndex(text: string, name = 'Packages'): PackageEntry[] {
  let stanzas;
  try {
    stanzas = parseDeb822(text, { fields: INDEX_FIELDS });
  } catch (e) {
    if (e instanceof Deb822SyntaxError) throw malformed(name, e.message);
    throw e;
  }
  return stanzas.map((s, i) => {
    const field = (key: string): string => {
      const v = s.get(key);
      if (v === undefined || v === '') throw malformed(name, `stanza ${i + 1} (${s.get('package') ?? '?'}) has no ${key} field`);
      return v;
    };
    const pkg = field('package');
    const version = field('version');
    const size = field('size');
    const sha256 = field('sha256');
    if (!/^\d+$/.test(size)) throw malformed(name, `${pkg}: bad Size ${JSON.stringify(size)}`);
    if (!/^[0-9a-fA-F]{64}$/.test(sha256)) throw malformed(name, `${pkg}: bad SHA256`);
    return {
      package: pkg,
      version,
      architecture: field('architecture'),
      ...parseSourceField(s.get('source'), pkg, version),
      filename: field('filename'),
      size: Number(size),
      sha256: sha256.toLowerCase(),
    };
  });
}

function malformed(name: string, why: string): ArchiveError {
  return new ArchiveError('INDEX_MALFORMED', `${name}: ${why}`, { details: { file: name } });
}
