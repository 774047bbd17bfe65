/** Registry push/pull: the OCI distribution client, credentials, lookaside signatures, local registry. */
export * from './challenge.js';
export * from './credentials.js';
export * from './retry.js';
export * from './protocol.js';
export * from './client.js';
export * from './image-graph.js';
export * from './referrers.js';
export * from './push.js';
export * from './pull.js';
export * from './lookaside.js';
export * from './lookaside-server.js';
export * from './local-registry.js';
export * from './publish.js';
export * from './progress.js';
