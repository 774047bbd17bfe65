/**
 * What a version is made of and what changed from the one before, from the two documents a
 * publish attaches (already verified by the caller): the SLSA provenance (recipe sha256, every
 * .deb with the URI it was fetched from) and the SBOM (package names and versions). A package
 * counts as a security update when its new .deb came from the security mirror the signed
 * provenance names: the classification rests on signed data only. Pure.
 */
import { compareDebianVersions } from '../archive/debian-version.js';
import { VerifyError } from '../errors.js';
import type { SbomFacts } from '../provenance/spdx.js';

export interface VersionPackage {
  readonly name: string;
  readonly version: string;
  /** Fetched from the security mirror. */
  readonly security: boolean;
}

export interface ProvenanceDetails {
  readonly recipe: { readonly path: string; readonly sha256: string };
  readonly securityMirror?: string;
  /** purl → the URI its .deb came from. */
  readonly debUris: ReadonlyMap<string, string>;
  readonly finishedOn?: string;
}

export type PackageChangeKind = 'added' | 'removed' | 'upgraded' | 'downgraded';

export interface PackageChange {
  readonly name: string;
  readonly kind: PackageChangeKind;
  readonly from?: string;
  readonly to?: string;
  /** The new version came from the security mirror. */
  readonly security: boolean;
}

export interface VersionChanges {
  readonly recipeChanged: boolean;
  readonly packages: readonly PackageChange[];
  readonly securityUpdates: number;
}

const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** The parts of a (verified) in-toto statement that history reports. */
export function provenanceDetails(payload: Uint8Array): ProvenanceDetails {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw new VerifyError('PROVENANCE_INVALID', 'provenance: payload is not JSON');
  }
  const predicate = asRecord(asRecord(doc)?.predicate);
  const definition = asRecord(predicate?.buildDefinition);
  const params = asRecord(definition?.externalParameters);
  const recipe = asRecord(params?.recipe);
  if (typeof recipe?.path !== 'string' || typeof recipe.sha256 !== 'string') {
    throw new VerifyError('PROVENANCE_INVALID', 'provenance: externalParameters.recipe (path, sha256) missing');
  }
  const debUris = new Map<string, string>();
  const deps = Array.isArray(definition?.resolvedDependencies) ? definition.resolvedDependencies : [];
  for (const d of deps) {
    const dep = asRecord(d);
    if (typeof dep?.name === 'string' && dep.name.startsWith('pkg:deb/') && typeof dep.uri === 'string') debUris.set(dep.name, dep.uri);
  }
  const metadata = asRecord(asRecord(predicate?.runDetails)?.metadata);
  return {
    recipe: { path: recipe.path, sha256: recipe.sha256 },
    ...(typeof params?.securityMirror === 'string' ? { securityMirror: params.securityMirror } : {}),
    debUris,
    ...(typeof metadata?.finishedOn === 'string' ? { finishedOn: metadata.finishedOn } : {}),
  };
}

/** A mirror URL as a prefix that cannot match a sibling path (`…/debian-security` vs `…/debian-security2`). */
function mirrorPrefix(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

export function versionPackages(sbom: SbomFacts, provenance: ProvenanceDetails): VersionPackage[] {
  const security = provenance.securityMirror === undefined ? undefined : mirrorPrefix(provenance.securityMirror);
  return sbom.packages
    .map((p) => ({ name: p.name, version: p.version, security: security !== undefined && (provenance.debUris.get(p.purl)?.startsWith(security) ?? false) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : compareDebianVersions(a.version, b.version)));
}

/** Package by package, in name order: what `current` has that `previous` had not, and back. */
export function packageChanges(previous: readonly VersionPackage[], current: readonly VersionPackage[]): PackageChange[] {
  const before = new Map(previous.map((p) => [p.name, p] as const));
  const after = new Map(current.map((p) => [p.name, p] as const));
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const out: PackageChange[] = [];
  for (const name of names) {
    const a = before.get(name);
    const b = after.get(name);
    if (a && !b) out.push({ name, kind: 'removed', from: a.version, security: false });
    else if (!a && b) out.push({ name, kind: 'added', to: b.version, security: b.security });
    else if (a && b && a.version !== b.version) {
      out.push({
        name,
        kind: compareDebianVersions(b.version, a.version) > 0 ? 'upgraded' : 'downgraded',
        from: a.version,
        to: b.version,
        security: b.security,
      });
    }
  }
  return out;
}

export function versionChanges(
  previous: { readonly recipeSha256: string; readonly packages: readonly VersionPackage[] },
  current: { readonly recipeSha256: string; readonly packages: readonly VersionPackage[] },
): VersionChanges {
  const packages = packageChanges(previous.packages, current.packages);
  return {
    recipeChanged: previous.recipeSha256 !== current.recipeSha256,
    packages,
    securityUpdates: packages.filter((p) => p.security && p.kind !== 'removed').length,
  };
}
