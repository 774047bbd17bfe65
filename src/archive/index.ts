/** Debian archive trust: pinned keys, verified indexes, and the audit of a root filesystem. */
export * from './apt-sources.js';
export * from './archive-lookup.js';
export * from './audit.js';
export * from './audit-rootfs.js';
export * from './content-cache.js';
export * from './debian-version.js';
export * from './dpkg-status.js';
export * from './host-mirror.js';
export * from './http.js';
export * from './inrelease.js';
export * from './keyring.js';
export * from './package-manifest.js';
export * from './packages-index.js';
export * from './pinned-keys.js';
export * from './pool-file.js';
export * from './release.js';
export * from './verified-archive.js';
