/**
 * The check report: what `imgfactory check --json` says about each image, optionally
 * completed by what a publish did (new digest, version tag, rollback command). It is the
 * input of `imgfactory report`. Pure: parsed from `unknown` at the boundary, typed after.
 *
 * Several files can be given; entries are matched by image name and later files fill in or
 * override fields of earlier ones, so a scheduled job can pass the check's report first and
 * then one small file per published image (`{ name, status: "up-to-date", newDigest, ... }`).
 * Unknown keys are ignored so that `check --json` can grow without breaking this reader.
 */
import { z } from 'zod';
import { GithubError } from '../errors.js';

export const IMAGE_STATUSES = ['up-to-date', 'updates', 'failed'] as const;
export type ImageStatus = (typeof IMAGE_STATUSES)[number];

/** One package that differs between what the image has and what the archive offers now. */
export interface PackageChange {
  readonly name: string;
  /** The installed version; null for a package the rebuild adds. */
  readonly from: string | null;
  /** The version apt would install now; null for a package that vanished from the archive. */
  readonly to: string | null;
  /** The suite the new version comes from, e.g. `bookworm-security`. */
  readonly suite: string;
  readonly security: boolean;
}

export interface ImageReport {
  /** The recipe's name, e.g. `debian-minimal`. */
  readonly name: string;
  /** Where it is published, `host[:port]/path`: the issue marker, so it must not change. */
  readonly repository: string;
  readonly status: ImageStatus;
  readonly changes: readonly PackageChange[];
  /** Why a check or rebuild failed (status `failed`). */
  readonly error?: string;
  /** The manifest digest a rebuild published. */
  readonly newDigest?: string;
  /** The write-once version tag of that publish. */
  readonly versionTag?: string;
  /** The exact `imgfactory rollback …` command that returns the channel to the previous version. */
  readonly rollback?: string;
}

export interface CheckReport {
  readonly images: readonly ImageReport[];
}

// Everything below ends up in Markdown (issues, the job summary): the patterns keep each
// value to the characters its kind allows, so nothing can break out of a table cell or
// the hidden marker comment.
const debianName = z.string().regex(/^[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?$/, { message: 'expected a Debian package name' });
const debianVersion = z.string().regex(/^[A-Za-z0-9.+~:-]+$/, { message: 'expected a Debian version' });
const packageChange = z.object({
  name: debianName,
  from: debianVersion.nullable(),
  to: debianVersion.nullable(),
  suite: z.string().regex(/^[a-z][a-z0-9-]*$/, { message: 'expected a suite name' }),
  security: z.boolean(),
});

const imageEntry = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, { message: 'expected a recipe name' }),
  repository: z
    .string()
    .regex(/^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)+$/, { message: 'expected host[:port]/path without tag or digest' })
    .optional(),
  status: z.enum(IMAGE_STATUSES),
  changes: z.array(packageChange).optional(),
  error: z.string().max(4000).optional(),
  newDigest: z
    .string()
    .regex(/^sha256:[a-f0-9]{64}$/, { message: 'expected sha256:<64 hex>' })
    .optional(),
  versionTag: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/, { message: 'expected an OCI tag' })
    .optional(),
  rollback: z
    .string()
    .max(1000)
    .regex(/^imgfactory rollback [^\n\r`]+$/, { message: 'expected one line starting with "imgfactory rollback"' })
    .optional(),
});
type ImageEntry = z.infer<typeof imageEntry>;

const reportFile = z.object({ images: z.array(imageEntry) });

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : `${i === 0 ? '' : '.'}${String(seg)}`)).join('') || '(top level)';
}

/** Parse one report file's JSON value; `source` names it in the error. */
export function parseCheckReportFile(value: unknown, source: string): readonly ImageEntry[] {
  const result = reportFile.safeParse(value);
  if (!result.success) {
    const first = result.error.issues[0]!;
    throw new GithubError('CHECK_REPORT_INVALID', `${source}: ${fieldPath(first.path)}: ${first.message}`, {
      details: { source, problems: result.error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`) },
    });
  }
  const names = new Set<string>();
  for (const image of result.data.images) {
    if (names.has(image.name)) throw new GithubError('CHECK_REPORT_INVALID', `${source}: image "${image.name}" is listed twice`, { details: { source } });
    names.add(image.name);
  }
  return result.data.images;
}

/**
 * Merge report files in order: an image's fields from a later file replace those of an
 * earlier one. Every merged image must name its repository.
 */
export function mergeCheckReports(files: readonly (readonly ImageEntry[])[]): CheckReport {
  const merged = new Map<string, ImageEntry>();
  for (const entries of files) {
    for (const entry of entries) merged.set(entry.name, { ...merged.get(entry.name), ...definedFields(entry) });
  }
  const images: ImageReport[] = [];
  for (const entry of merged.values()) {
    if (entry.repository === undefined) {
      throw new GithubError('CHECK_REPORT_INVALID', `image "${entry.name}": no repository in any report file`, { details: { image: entry.name } });
    }
    images.push({ ...entry, repository: entry.repository, changes: entry.changes ?? [] });
  }
  return { images };
}

function definedFields(entry: ImageEntry): ImageEntry {
  return Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined)) as ImageEntry;
}

export function securityChanges(image: ImageReport): readonly PackageChange[] {
  return image.changes.filter((c) => c.security);
}
