/**
 * imgfactory's library API. The CLI (src/cli) is a thin layer over these functions; a CI
 * script can import the same ones. Areas are namespaced where their names would collide.
 */
export * from './recipe/index.js';
export * from './errors.js';
export * from './oci/index.js';
export * as archive from './archive/index.js';
export * as pgp from './pgp/index.js';
export * as sign from './sign/index.js';
export * as verify from './verify/index.js';
export * as provenance from './provenance/index.js';
export * as layer from './layer/index.js';
export * as registry from './registry/index.js';
export * as machine from './export/index.js';
export { buildRecipe, type BuildOptions, type BuildReport, type BuildResult, PACKAGES_FILE, REPORT_FILE } from './pipeline/build.js';
export { signAndAttest, publishIdentities, type SigningOptions } from './pipeline/attest.js';
export { publishBuild, type PublishSettings } from './pipeline/publish-build.js';
export { imgfactoryVersion } from './version.js';
export * as github from './github/index.js';
