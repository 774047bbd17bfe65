/**
 * xz-utils, the one way imgfactory decompresses .xz: Debian's -updates and -security suites
 * publish their Packages indexes only as .xz, and Node has no xz of its own.
 */
import { streamStdout } from '../exec.js';

/**
 * The decompressed bytes of `compressed`, exactly as xz writes them, piece by piece: a Packages
 * index is parsed and hashed as it arrives and never held whole. Stopping early (a `break`, a
 * throw in the consuming loop) kills xz. A corrupt stream fails with ExecError
 * `COMMAND_FAILED` carrying xz's own words; no xz is `TOOL_MISSING`.
 */
export function xzDecompress(compressed: Uint8Array): AsyncGenerator<Buffer, void, undefined> {
  return streamStdout(['xz', '--decompress', '--stdout'], { input: compressed });
}
