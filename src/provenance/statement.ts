/**
 * SLSA v1 provenance as an in-toto Statement v1: what was built (the image manifest digest),
 * from what (recipe, pinned keys, every InRelease and every .deb, each with its sha256), how
 * (suite, architectures, mirrors) and by whom (builder id and version, CI run). Pure.
 */
import { z } from 'zod';
import type { VerifiedPackageManifest } from '../archive/package-manifest.js';
import { VerifyError } from '../errors.js';
import { digestHex, isDigest, type Digest } from '../oci/digest.js';
import { debPurl, debUri } from './purl.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const BUILD_TYPE = 'https://imgfactory.dev/buildtypes/debian-image/v1';

export interface ProvenanceInput {
  readonly subject: { readonly name: string; readonly digest: Digest };
  /**
   * For a multi-platform index: each platform's manifest digest, recorded as further subjects
   * under the same name, so the statement covers the index and every image it lists.
   */
  readonly platformDigests?: readonly Digest[];
  /** Recipe path as the user named it (relative to the repository) and sha256 hex of its bytes. */
  readonly recipe: { readonly path: string; readonly sha256: string };
  readonly suite: string;
  readonly architectures: readonly string[];
  readonly mirror: string;
  readonly securityMirror?: string;
  readonly pinnedKeys: readonly { readonly path: string; readonly sha256: string }[];
  readonly packageManifest: VerifiedPackageManifest;
  readonly builder: { readonly id: string; readonly version: string };
  /** The CI run (e.g. GitHub Actions run URL) when there is one. */
  readonly invocationId?: string;
  readonly startedOn: string;
  readonly finishedOn: string;
  /**
   * An image assembled from a package set (recipe `contents`) is selected out of a build root
   * that held more packages (dpkg, apt, the maintainer scripts' interpreters): every one of them
   * is recorded too, annotated BUILD_ROOT_ANNOTATION, apart from the image's own packages.
   */
  readonly buildRootPackages?: VerifiedPackageManifest;
}

/** The annotation (key and value) on a resolved dependency that was in the build root but is not in the image. */
export const BUILD_ROOT_ANNOTATION = { key: 'imgfactory.dev/role', value: 'build-root' } as const;

export interface ResourceDescriptor {
  readonly name?: string;
  readonly uri?: string;
  readonly digest?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ProvenanceStatement {
  readonly _type: typeof STATEMENT_TYPE;
  readonly subject: readonly { readonly name: string; readonly digest: { readonly sha256: string } }[];
  readonly predicateType: typeof SLSA_PROVENANCE_V1;
  readonly predicate: {
    readonly buildDefinition: {
      readonly buildType: string;
      readonly externalParameters: {
        readonly recipe: { readonly path: string; readonly sha256: string };
        readonly suite: string;
        readonly architectures: readonly string[];
        readonly mirror: string;
        readonly securityMirror?: string;
      };
      readonly resolvedDependencies: readonly ResourceDescriptor[];
    };
    readonly runDetails: {
      readonly builder: { readonly id: string; readonly version: Readonly<Record<string, string>> };
      readonly metadata: { readonly invocationId?: string; readonly startedOn: string; readonly finishedOn: string };
    };
  };
}

const HEX64 = /^[a-f0-9]{64}$/;

/** sha256 hex from `hex` or `sha256:hex`. */
function requireSha256Hex(value: string, what: string): string {
  const hex = value.startsWith('sha256:') ? value.slice(7) : value;
  if (!HEX64.test(hex)) throw new TypeError(`${what}: not a sha256 hex digest: ${JSON.stringify(value)}`);
  return hex;
}

/** RFC 3339 UTC without fractions, the form SLSA and SPDX examples use. */
export function utcTimestamp(value: string): string {
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) throw new TypeError(`not a timestamp: ${JSON.stringify(value)}`);
  return t.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function buildProvenance(input: ProvenanceInput): ProvenanceStatement {
  if (!isDigest(input.subject.digest)) throw new TypeError(`subject digest is not sha256: ${input.subject.digest}`);
  const m = input.packageManifest;
  const resolvedDependencies: ResourceDescriptor[] = [
    { name: input.recipe.path, digest: { sha256: requireSha256Hex(input.recipe.sha256, input.recipe.path) } },
    ...[...input.pinnedKeys]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((k) => ({ name: k.path, digest: { sha256: requireSha256Hex(k.sha256, k.path) } })),
    ...m.inReleases.map((r) => ({ name: `${r.suite}/InRelease`, uri: r.url, digest: { sha256: requireSha256Hex(r.sha256, r.url) } })),
    ...m.packages.map((p) => ({
      name: debPurl(p, m.suite),
      uri: debUri(p),
      digest: { sha256: requireSha256Hex(p.sha256, p.filename) },
    })),
  ];
  const b = input.buildRootPackages;
  if (b) {
    const inImage = new Set(m.packages.map((p) => debPurl(p, m.suite)));
    for (const p of b.packages) {
      const name = debPurl(p, b.suite);
      if (inImage.has(name)) continue;
      resolvedDependencies.push({
        name,
        uri: debUri(p),
        digest: { sha256: requireSha256Hex(p.sha256, p.filename) },
        annotations: { [BUILD_ROOT_ANNOTATION.key]: BUILD_ROOT_ANNOTATION.value },
      });
    }
  }
  return {
    _type: STATEMENT_TYPE,
    subject: [input.subject.digest, ...(input.platformDigests ?? [])].map((d) => {
      if (!isDigest(d)) throw new TypeError(`subject digest is not sha256: ${d}`);
      return { name: input.subject.name, digest: { sha256: digestHex(d) } };
    }),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          recipe: { path: input.recipe.path, sha256: requireSha256Hex(input.recipe.sha256, input.recipe.path) },
          suite: input.suite,
          architectures: [...input.architectures],
          mirror: input.mirror,
          ...(input.securityMirror === undefined ? {} : { securityMirror: input.securityMirror }),
        },
        resolvedDependencies,
      },
      runDetails: {
        builder: { id: input.builder.id, version: { imgfactory: input.builder.version } },
        metadata: {
          ...(input.invocationId === undefined ? {} : { invocationId: input.invocationId }),
          startedOn: utcTimestamp(input.startedOn),
          finishedOn: utcTimestamp(input.finishedOn),
        },
      },
    },
  };
}

const digestSet = z.record(z.string(), z.string());
const statementSchema = z.object({
  _type: z.literal(STATEMENT_TYPE),
  subject: z.array(z.object({ name: z.string(), digest: digestSet })).min(1),
  predicateType: z.literal(SLSA_PROVENANCE_V1),
  predicate: z.object({
    buildDefinition: z.object({
      buildType: z.string(),
      externalParameters: z.record(z.string(), z.unknown()),
      resolvedDependencies: z
        .array(
          z.object({
            name: z.string().optional(),
            uri: z.string().optional(),
            digest: digestSet.optional(),
            annotations: z.record(z.string(), z.unknown()).optional(),
          }),
        )
        .optional(),
    }),
    runDetails: z.object({
      builder: z.object({ id: z.string() }),
    }),
  }),
});

/** What verification needs from a provenance statement. */
export interface ProvenanceFacts {
  readonly subjectDigests: readonly string[];
  readonly builderId: string;
  readonly dependencies: number;
  /** `purl sha256` of every .deb in the image (the build root's others excluded). */
  readonly debs: readonly { readonly purl: string; readonly sha256: string }[];
  /** How many .debs were in the build root only (recipe `contents`). */
  readonly buildRootDebs: number;
}

/** Parse a statement from outside (DSSE payload bytes); throws PROVENANCE_INVALID. */
export function parseProvenance(payload: Uint8Array): ProvenanceFacts {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw new VerifyError('PROVENANCE_INVALID', 'provenance: payload is not JSON');
  }
  const parsed = statementSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VerifyError('PROVENANCE_INVALID', `provenance: ${issue?.path.join('.') || 'statement'}: ${issue?.message ?? 'invalid'}`);
  }
  const s = parsed.data;
  const deps = s.predicate.buildDefinition.resolvedDependencies ?? [];
  return {
    subjectDigests: s.subject.flatMap((x) => (x.digest.sha256 === undefined ? [] : [`sha256:${x.digest.sha256}`])),
    builderId: s.predicate.runDetails.builder.id,
    dependencies: deps.length,
    // The image's packages only: the build root's others are not in the image, so not in its SBOM.
    debs: deps.flatMap((d) =>
      d.name?.startsWith('pkg:deb/') && d.annotations?.[BUILD_ROOT_ANNOTATION.key] !== BUILD_ROOT_ANNOTATION.value
        ? [{ purl: d.name, sha256: d.digest?.sha256 ?? '' }]
        : [],
    ),
    buildRootDebs: deps.filter((d) => d.name?.startsWith('pkg:deb/') && d.annotations?.[BUILD_ROOT_ANNOTATION.key] === BUILD_ROOT_ANNOTATION.value).length,
  };
}
