/** A Debian Packages index: one stanza per binary package in the pool. Pure. */
import { ArchiveError } from '../errors.js';
import { Deb822RecordReader, Deb822SyntaxError, type Deb822Record } from './deb822.js';

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

/** The fields an entry is made of, in the order of the record slots below. */
const INDEX_FIELDS = ['package', 'version', 'architecture', 'source', 'filename', 'size', 'sha256'] as const;
const PACKAGE = 0;
const VERSION = 1;
const ARCHITECTURE = 2;
const SOURCE = 3;
const FILENAME = 4;
const SIZE = 5;
const SHA256 = 6;

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
  private readonly reader = new Deb822RecordReader(INDEX_FIELDS);
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

  private add(read: () => Deb822Record[]): void {
    let stanzas: Deb822Record[];
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

function toEntry(s: Deb822Record, i: number, name: string, interned: Map<string, string>): PackageEntry {
  const pkg = required(s, PACKAGE, i, name);
  const version = required(s, VERSION, i, name);
  const size = required(s, SIZE, i, name);
  const sha256 = required(s, SHA256, i, name);
  if (!/^\d+$/.test(size)) throw malformed(name, `${pkg}: bad Size ${JSON.stringify(size)}`);
  if (!isSha256Hex(sha256)) throw malformed(name, `${pkg}: bad SHA256`);
  const architecture = required(s, ARCHITECTURE, i, name);
  const { source, sourceVersion } = parseSourceField(s[SOURCE], pkg, version);
  let arch = interned.get(architecture);
  if (arch === undefined) interned.set(architecture, (arch = architecture));
  return {
    package: pkg,
    version,
    architecture: arch,
    // Most binaries share their source's name and version: the same strings, not equal copies.
    source: source === pkg ? pkg : source,
    sourceVersion: sourceVersion === version ? version : sourceVersion,
    filename: required(s, FILENAME, i, name),
    size: Number(size),
    sha256: sha256.toLowerCase(),
  };
}

function required(s: Deb822Record, slot: number, i: number, name: string): string {
  const v = s[slot];
  if (v === undefined || v === '') throw malformed(name, `stanza ${i + 1} (${s[PACKAGE] ?? '?'}) has no ${INDEX_FIELDS[slot]} field`);
  return v;
}

/** `/^[0-9a-fA-F]{64}$/` without the regex: it ran for every one of 63,000 entries. */
function isSha256Hex(v: string): boolean {
  if (v.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = v.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))) return false;
  }
  return true;
}

function malformed(name: string, why: string): ArchiveError {
  return new ArchiveError('INDEX_MALFORMED', `${name}: ${why}`, { details: { file: name } });
}
