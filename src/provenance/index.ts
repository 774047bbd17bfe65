/** SBOM (SPDX 2.3, CycloneDX 1.5), SLSA v1 provenance and DSSE envelopes. */
export * from './purl.js';
export * from './statement.js';
export * from './dsse.js';
export * from './spdx.js';
export * from './cyclonedx.js';
export * from './attest-layout.js';
