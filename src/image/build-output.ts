/**
 * What a build leaves in `out/<name>/`: the OCI layout, `packages.json` (the verified package
 * manifest) and `build.json` (the report), all appearing at once: written under a temporary
 * directory beside the destination and swapped in with renames only.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VerifiedPackageManifest } from '../archive/package-manifest.js';
import type { Digest } from '../oci/digest.js';
import type { StageTiming } from '../pipeline/stages.js';

export const PACKAGES_FILE = 'packages.json';
export const REPORT_FILE = 'build.json';

export interface BuildLayerSummary {
  readonly digest: Digest;
  readonly diffId: Digest;
  readonly size: number;
  readonly uncompressedSize: number;
  readonly createdBy: string;
  /** Taken unchanged from the parent image. */
  readonly inherited: boolean;
  /** Taken from the base-layer cache under this key instead of being built (re-hashed first). */
  readonly reused?: { readonly key: string };
}

export interface BuildReport {
  readonly schemaVersion: 1;
  readonly recipe: { readonly name: string; readonly version: string; readonly file: string; readonly sha256: string };
  readonly layoutDir: string;
  /** The image's tag in the layout (the recipe version). */
  readonly ref: string;
  readonly manifestDigest: Digest;
  readonly platforms: readonly { readonly architecture: string; readonly manifestDigest: Digest; readonly layers: readonly BuildLayerSummary[] }[];
  readonly packageCount: number;
  /** Downloaded .deb files the audit hashed and found in a verified index (all architectures; with the deb cache, every staged file). */
  readonly debsAudited: number;
  readonly sourceDateEpoch: number;
  readonly mirror: string;
  readonly securityMirror: string;
  /** Blob bytes depend on the gzip implementation: Node's bundled zlib. */
  readonly toolchain: { readonly node: string; readonly zlib: string };
  readonly parent?: { readonly name: string; readonly manifestDigest: Digest };
  /** Present when the build signed the image. */
  readonly signed?: { readonly signer: string; readonly identities: readonly string[] };
  readonly startedOn: string;
  readonly finishedOn: string;
  readonly stages: readonly StageTiming[];
}

/** The report a previous build left in `dir`, or undefined (absent or unreadable: not reusable). */
export async function readReport(dir: string): Promise<BuildReport | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, REPORT_FILE), 'utf8')) as BuildReport;
  } catch {
    return undefined;
  }
}

export async function readPackageManifest(dir: string): Promise<VerifiedPackageManifest> {
  return JSON.parse(await readFile(join(dir, PACKAGES_FILE), 'utf8')) as VerifiedPackageManifest;
}

export async function writeBuildFiles(dir: string, report: BuildReport, packages: VerifiedPackageManifest): Promise<void> {
  await writeFile(join(dir, PACKAGES_FILE), `${JSON.stringify(packages, null, 2)}\n`);
  await writeFile(join(dir, REPORT_FILE), `${JSON.stringify(report, null, 2)}\n`);
}

/** Swap `from` into `to` with renames only, so `to` is never half-written. */
export async function replaceDir(from: string, to: string): Promise<void> {
  const old = `${to}.old-${randomBytes(4).toString('hex')}`;
  const hadOld = await rename(to, old).then(
    () => true,
    () => false,
  );
  await rename(from, to);
  if (hadOld) await rm(old, { recursive: true, force: true });
}
