/** Image signing (containers/image simple signing), lookaside storage and consumer policy. */
export * from './payload.js';
export * from './simple-signing.js';
export * from './lookaside.js';
export * from './sign-layout.js';
export * from './policy.js';
export * from './policy-files.js';
