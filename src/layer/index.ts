/** The layer engine: snapshot a tree, diff two snapshots, pack a deterministic layer tar. */
export * from './types.js';
export { snapshotTree, splitDeviceNumber, HOST_XATTRS, type SnapshotOptions } from './snapshot.js';
export { diffSnapshots, entryDiffers } from './diff.js';
export { packLayer, packRootfsTar, type PackLayerOptions, type PackRootfsOptions, type RootfsTarInfo } from './pack.js';
export { listTarEntries, type TarEntryInfo } from './read-tar.js';
export { planLayerEntries, planRootfsEntries, clampMtime, WHITEOUT_PREFIX, OPAQUE_MARKER, type PlannedEntry } from './tar-plan.js';
export { encodeTarHeader, type TarHeader, type TarEntryType } from './tar-header.js';
export { parseGetfattrDump, type XattrDump } from './getfattr-dump.js';
export { compareCanonicalPaths } from './path-order.js';
export { DEFAULT_GZIP_LEVEL, GZIP_OS_UNKNOWN } from './gzip.js';
export { parallelGzip, PARALLEL_GZIP_BLOCK_SIZE } from './parallel-gzip.js';
export { selectFromSnapshot, resolveInSnapshot, type SnapshotSelection } from './select.js';
