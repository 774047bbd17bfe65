/** Verification of an image and everything attached to it, against trusted keys. */
export * from './verify-layout.js';
