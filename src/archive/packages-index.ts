/** A Debian Packages index: one stanza per binary package in the pool. Pure. */
import { ArchiveError } from '../errors.js';
import { Deb822Reader, Deb822SyntaxError, type Stanza } from './deb822.js';

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

/**
 * Parses a Packages file. `name` only labels error messages (e.g. `main/binary-amd64/Packages.xz`).
 */
export function parsePackagesIndex(input: string | Uint8Array, name = 'Packages'): PackageEntry[] {
  const reader = new PackagesIndexReader(name);
  reader.push(typeof input === 'string' ? Buffer.from(input, 'utf8') : input);
  return reader.end();
}

/**
 * The same, fed piece by piece (from a decompressing stream): each stanza becomes a compact
 * entry as soon as it is complete, so neither the index nor its stanzas are held whole.
 */
export class PackagesIndexReader<Extra extends object = object> {
  private readonly reader = new Deb822Reader({ fields: INDEX_FIELDS });
  private readonly entries: (PackageEntry & Extra)[] = [];
  /** `amd64`/`all` and the like: one string each instead of one per entry. */
  private readonly interned = new Map<string, string>();

  /** `extra` is copied into every entry (where the index was proven), built once rather than spread over a copy. */
  constructor(
    private readonly name: string,
    private readonly extra: Extra = {} as Extra,
  ) {}

  push(chunk: Uint8Array): void {
    this.add(() => this.reader.push(chunk));
  }

  end(): (PackageEntry & Extra)[] {
    this.add(() => this.reader.end());
    return this.entries;
  }

  private add(read: () => Stanza[]): void {
    let stanzas: Stanza[];
    try {
      stanzas = read();
    } catch (e) {
      if (e instanceof Deb822SyntaxError) throw malformed(this.name, e.message);
      throw e;
    }
    for (const s of stanzas) {
      const e = toEntry(s, this.entries.length, this.name, this.interned);
      this.entries.push(Object.assign(e, this.extra));
    }
  }
}

function toEntry(s: Stanza, i: number, name: string, interned: Map<string, string>): PackageEntry {
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
  const architecture = field('architecture');
  const { source, sourceVersion } = parseSourceField(s.get('source'), pkg, version);
  const intern = (v: string): string => interned.get(v) ?? (interned.set(v, v), v);
  return {
    package: pkg,
    version,
    architecture: intern(architecture),
    // Most binaries share their source's name and version: the same strings, not equal copies.
    source: source === pkg ? pkg : source,
    sourceVersion: sourceVersion === version ? version : sourceVersion,
    filename: field('filename'),
    size: Number(size),
    sha256: sha256.toLowerCase(),
  };
}

function malformed(name: string, why: string): ArchiveError {
  return new ArchiveError('INDEX_MALFORMED', `${name}: ${why}`, { details: { file: name } });
}
