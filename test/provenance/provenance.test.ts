import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/oci/json.js';
import { BUILD_ROOT_ANNOTATION, buildProvenance, parseProvenance } from '../../src/provenance/statement.js';
import { PROVENANCE_INPUT } from '../fixtures/sign/provenance-input.js';
import { FIXTURE_MANIFEST, MIRROR, SECURITY_MIRROR } from '../fixtures/sign/verified-package-manifest.js';

describe('SLSA v1 provenance statement', () => {
  const s = buildProvenance(PROVENANCE_INPUT);

  it('is an in-toto Statement v1 about the manifest digest', () => {
    expect(s._type).toBe('https://in-toto.io/Statement/v1');
    expect(s.predicateType).toBe('https://slsa.dev/provenance/v1');
    expect(s.subject).toEqual([{ name: PROVENANCE_INPUT.subject.name, digest: { sha256: PROVENANCE_INPUT.subject.digest.slice(7) } }]);
  });

  it('records external parameters, builder, invocation and times', () => {
    expect(s.predicate.buildDefinition.externalParameters).toEqual({
      recipe: { path: 'recipes/debian-minimal.ts', sha256: PROVENANCE_INPUT.recipe.sha256.slice(7) },
      suite: 'bookworm',
      architectures: ['amd64'],
      mirror: MIRROR,
      securityMirror: SECURITY_MIRROR,
    });
    expect(s.predicate.runDetails).toEqual({
      builder: { id: PROVENANCE_INPUT.builder.id, version: { imgfactory: '0.1.0' } },
      metadata: { invocationId: PROVENANCE_INPUT.invocationId, startedOn: '2025-05-17T08:00:00Z', finishedOn: '2025-05-17T08:05:00Z' },
    });
    const { invocationId: _, ...local } = PROVENANCE_INPUT;
    expect(buildProvenance(local).predicate.runDetails.metadata).not.toHaveProperty('invocationId');
  });

  it('resolves the recipe, the keys (sorted), every InRelease and every .deb with its sha256', () => {
    const deps = s.predicate.buildDefinition.resolvedDependencies;
    expect(deps[0]).toEqual({ name: 'recipes/debian-minimal.ts', digest: { sha256: PROVENANCE_INPUT.recipe.sha256.slice(7) } });
    expect(deps.slice(1, 3).map((d) => d.name)).toEqual(['keys/debian/bookworm-automatic.asc', 'keys/debian/bookworm-stable.asc']);
    const inReleases = deps.filter((d) => d.name?.endsWith('/InRelease'));
    expect(inReleases.map((d) => d.uri)).toEqual(FIXTURE_MANIFEST.inReleases.map((r) => r.url));
    const debs = deps.filter((d) => d.name?.startsWith('pkg:deb/'));
    expect(debs).toHaveLength(FIXTURE_MANIFEST.packages.length);
    for (const [i, p] of FIXTURE_MANIFEST.packages.entries()) {
      expect(debs[i]).toEqual({
        name: expect.stringContaining(`pkg:deb/debian/${encodeURIComponent(p.package)}@`),
        uri: `${p.archiveUrl}/${p.filename}`,
        digest: { sha256: p.sha256 },
      });
    }
    expect(deps).toHaveLength(1 + 2 + 3 + FIXTURE_MANIFEST.packages.length);
  });

  it('records the build root of an image assembled from a package set, apart from the image and its SBOM', () => {
    const image = { ...FIXTURE_MANIFEST, packages: FIXTURE_MANIFEST.packages.slice(0, 2) };
    const statement = buildProvenance({ ...PROVENANCE_INPUT, packageManifest: image, buildRootPackages: FIXTURE_MANIFEST });
    const debs = statement.predicate.buildDefinition.resolvedDependencies.filter((d) => d.name?.startsWith('pkg:deb/'));
    // Every build-root package once: the image's two unannotated, the rest annotated.
    expect(debs).toHaveLength(FIXTURE_MANIFEST.packages.length);
    expect(debs.filter((d) => d.annotations === undefined)).toHaveLength(2);
    expect(debs.slice(2).every((d) => d.annotations?.[BUILD_ROOT_ANNOTATION.key] === BUILD_ROOT_ANNOTATION.value)).toBe(true);
    const facts = parseProvenance(canonicalJson(statement));
    // The verifier compares `debs` with the SBOM, which lists the image's packages only.
    expect(facts.debs.map((d) => d.sha256)).toEqual(image.packages.map((p) => p.sha256));
    expect(facts.buildRootDebs).toBe(FIXTURE_MANIFEST.packages.length - 2);
  });

  it('parses back (the verifier side) and refuses what is not a statement', () => {
    const facts = parseProvenance(canonicalJson(s));
    expect(facts.subjectDigests).toEqual([PROVENANCE_INPUT.subject.digest]);
    expect(facts.debs).toHaveLength(FIXTURE_MANIFEST.packages.length);
    expect(() => parseProvenance(new TextEncoder().encode('{"_type":"x"}'))).toThrow(expect.objectContaining({ code: 'PROVENANCE_INVALID' }));
    expect(() => parseProvenance(new TextEncoder().encode('nope'))).toThrow(expect.objectContaining({ code: 'PROVENANCE_INVALID' }));
  });
});
