/** imgfactory's library API. The CLI (src/cli) is a thin layer over these functions. */
export * from './recipe/index.js';
export * from './errors.js';
export * from './oci/index.js';
