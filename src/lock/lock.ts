/**
 * The lock file of a recipe (`<recipe>.lock.json`): what the last build (or `imgfactory lock`)
 * was made from, and what the next `check` compares against. Pure: a zod parser at the
 * boundary and one canonical serializer, so two locks of the same state are byte-identical
 * and a diff of two locks in a pull request shows one line per changed package.
 */
import { z } from 'zod';
import { LockError } from '../errors.js';

export const LOCK_VERSION = 1;

export interface LockedSource {
  /** Relative to the recipe's folder, `/`-separated. */
  readonly path: string;
  readonly sha256: string;
}

export interface LockedRecipe {
  readonly name: string;
  readonly version: string;
  /** `sha256:<hex>` over the sources and the options (see recipe-digest.ts). */
  readonly digest: string;
  /** The recipe file, every module it imports and every file it copies in. */
  readonly sources: readonly LockedSource[];
  /** Build options that change the output (not part of the recipe file). */
  readonly options: Readonly<Record<string, string>>;
}

export interface LockedInRelease {
  readonly suite: string;
  /** sha256 hex of the InRelease bytes: equal bytes ⇒ equal indexes, nothing to download. */
  readonly sha256: string;
  readonly date: string;
  readonly validUntil: string | null;
  /** Fingerprints of the pinned keys whose signatures verified. */
  readonly signers: readonly string[];
}

export interface LockedPackage {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly source: string;
  /** sha256 hex of the .deb, from the verified index. */
  readonly sha256: string;
  /** The suite whose index proved this version: base, `-updates` or `-security`. */
  readonly suite: string;
}

export interface Lock {
  readonly lockVersion: typeof LOCK_VERSION;
  readonly recipe: LockedRecipe;
  readonly imgfactoryVersion: string;
  readonly sourceDateEpoch: number;
  /** `build`: from a build's verified package manifest; `archive`: the recipe's named packages resolved from the indexes. */
  readonly origin: 'build' | 'archive';
  readonly suite: string;
  readonly components: readonly string[];
  readonly updates: boolean;
  /** Fingerprints of the pinned archive keys the state was verified with, sorted. */
  readonly keys: readonly string[];
  readonly parent: { readonly name: string; readonly manifestDigest: string } | null;
  readonly image: { readonly manifestDigest: string } | null;
  readonly inReleases: readonly LockedInRelease[];
  /** Per Debian architecture, sorted by package name then architecture. */
  readonly architectures: Readonly<Record<string, readonly LockedPackage[]>>;
}

const hex64 = z.string().regex(/^[a-f0-9]{64}$/);
const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/);
const name = z.string().min(1).max(256);

const lockSchema = z
  .object({
    lockVersion: z.literal(LOCK_VERSION),
    recipe: z.strictObject({
      name,
      version: z.string().min(1),
      digest,
      sources: z.array(z.strictObject({ path: z.string().min(1), sha256: hex64 })),
      options: z.record(z.string(), z.string()),
    }),
    imgfactoryVersion: z.string(),
    sourceDateEpoch: z.number().int().nonnegative(),
    origin: z.enum(['build', 'archive']),
    suite: name,
    components: z.array(name).min(1),
    updates: z.boolean(),
    keys: z.array(z.string().regex(/^[A-F0-9]{16,64}$/)),
    parent: z.strictObject({ name, manifestDigest: digest }).nullable(),
    image: z.strictObject({ manifestDigest: digest }).nullable(),
    inReleases: z
      .array(
        z.strictObject({
          suite: name,
          sha256: hex64,
          date: z.string(),
          validUntil: z.string().nullable(),
          signers: z.array(z.string()),
        }),
      )
      .min(1),
    architectures: z.record(name, z.array(z.strictObject({ name, version: z.string().min(1), architecture: name, source: name, sha256: hex64, suite: name }))),
  })
  .strict();

/** Parses lock text; anything that is not a lock of this version is LOCK_INVALID naming the first problem. */
export function parseLock(text: string, file: string): Lock {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new LockError('LOCK_INVALID', `${file}: not JSON (${(cause as Error).message})`, { cause, details: { file } });
  }
  const r = lockSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.map(String).join('.') || '(lock)';
    throw new LockError('LOCK_INVALID', `${file}: ${where}: ${issue.message}`, { details: { file, path: where } });
  }
  return r.data;
}

/**
 * The one canonical text of a lock: fixed key order, two-space indent, and each package on
 * a line of its own, so a version bump is a one-line change in a review.
 */
export function serializeLock(lock: Lock): string {
  const j = (v: unknown) => JSON.stringify(v);
  const lines: string[] = ['{'];
  const field = (key: string, value: string, last = false) => lines.push(`  ${j(key)}: ${value}${last ? '' : ','}`);
  field('lockVersion', j(lock.lockVersion));
  lines.push('  "recipe": {');
  lines.push(`    "name": ${j(lock.recipe.name)},`);
  lines.push(`    "version": ${j(lock.recipe.version)},`);
  lines.push(`    "digest": ${j(lock.recipe.digest)},`);
  lines.push(
    `    "sources": ${listBlock(
      sortedBy(lock.recipe.sources, (s) => s.path).map((s) => j({ path: s.path, sha256: s.sha256 })),
      '    ',
    )},`,
  );
  lines.push(`    "options": ${j(sortedRecord(lock.recipe.options))}`);
  lines.push('  },');
  field('imgfactoryVersion', j(lock.imgfactoryVersion));
  field('sourceDateEpoch', j(lock.sourceDateEpoch));
  field('origin', j(lock.origin));
  field('suite', j(lock.suite));
  field('components', j(lock.components));
  field('updates', j(lock.updates));
  field('keys', j([...lock.keys].sort()));
  field('parent', j(lock.parent === null ? null : { name: lock.parent.name, manifestDigest: lock.parent.manifestDigest }));
  field('image', j(lock.image === null ? null : { manifestDigest: lock.image.manifestDigest }));
  const inReleases = lock.inReleases.map((r) =>
    j({ suite: r.suite, sha256: r.sha256, date: r.date, validUntil: r.validUntil, signers: [...r.signers].sort() }),
  );
  field('inReleases', listBlock(inReleases, '  '));
  const archs = Object.keys(lock.architectures).sort();
  lines.push('  "architectures": {');
  archs.forEach((arch, i) => {
    const pkgs = sortPackages(lock.architectures[arch]!).map((p) =>
      j({ name: p.name, version: p.version, architecture: p.architecture, source: p.source, sha256: p.sha256, suite: p.suite }),
    );
    lines.push(`    ${j(arch)}: ${listBlock(pkgs, '    ')}${i === archs.length - 1 ? '' : ','}`);
  });
  lines.push('  }');
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

export function sortPackages(pkgs: readonly LockedPackage[]): LockedPackage[] {
  return [...pkgs].sort((a, b) => cmp(a.name, b.name) || cmp(a.architecture, b.architecture));
}

function listBlock(items: readonly string[], indent: string): string {
  if (items.length === 0) return '[]';
  return `[\n${items.map((it, i) => `${indent}  ${it}${i === items.length - 1 ? '' : ','}`).join('\n')}\n${indent}]`;
}

function sortedBy<T>(xs: readonly T[], key: (x: T) => string): T[] {
  return [...xs].sort((a, b) => cmp(key(a), key(b)));
}

function sortedRecord(r: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(r)
      .sort()
      .map((k) => [k, r[k]!]),
  );
}

/** Code-point order: the same on every machine and locale. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
