export * from './digest.js';
export * from './mediatypes.js';
export * from './types.js';
export * from './platform.js';
export { canonicalJson } from './json.js';
export * as layout from './layout.js';
export * from './reference.js';
