/** Image signing (containers/image simple signing), keys, layout verification, consumer policy. */
export * from './payload.js';
export * from './keys.js';
export * from './key-files.js';
export * from './simple-signing.js';
export * from './lookaside.js';
export * from './attachments.js';
export * from './sign-layout.js';
export * from './verify-layout.js';
export * from './policy.js';
export * from './policy-files.js';
export type { SignatureVerdict } from './trust.js';
