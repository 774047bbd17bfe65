/** OpenPGP key material shared by signing, attestation and verification. */
export * from './keys.js';
export * from './key-files.js';
export type { SignatureVerdict } from './trust.js';
