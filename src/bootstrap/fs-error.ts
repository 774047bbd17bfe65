/**
 * File-system errors on the build root, mapped to typed errors that name the image path. A
 * full disk is the host's problem (exit 4, like a failed tool), a path the recipe asks for that
 * the tree cannot hold (a file where a directory must be, a link loop) is the recipe's (exit 2);
 * neither is an internal bug.
 */
import { statfs } from 'node:fs/promises';
import { BuildError, ExecError, ImgfactoryError, RecipeError } from '../errors.js';

const RECIPE_CAUSED = new Set(['ENOTDIR', 'EISDIR', 'ELOOP', 'EEXIST', 'ENAMETOOLONG', 'ENOTEMPTY']);

export function fsError(e: unknown, path: string): ImgfactoryError {
  if (e instanceof ImgfactoryError) return e;
  const code = (e as NodeJS.ErrnoException)?.code ?? 'EIO';
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new BuildError('DISK_FULL', `no space left on device writing ${path}`, { cause: e, details: { path, errno: code } });
  }
  if (RECIPE_CAUSED.has(code)) {
    return new RecipeError('RECIPE_PATH_CONFLICT', `${path}: the image's tree cannot hold this path (${code})`, { cause: e, details: { path, errno: code } });
  }
  return new BuildError('HOST_FS_FAILED', `${path}: ${code}`, { cause: e, details: { path, errno: code } });
}

/** Below this many free bytes, a tool's failure on that file system is taken to be the full disk. */
const NEARLY_FULL_BYTES = 1024 * 1024;

/**
 * A full disk reported from anywhere in a build, as one typed error naming the path: a raw
 * ENOSPC from a write, or a tool (debootstrap, apt, umoci) that failed either saying so or
 * while the file system under `where` has no space left (debootstrap reports a download that
 * filled the disk only as "Couldn't download"). Anything else is returned unchanged.
 */
export async function diskFullOr(e: unknown, where: string): Promise<unknown> {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (!(e instanceof ImgfactoryError) && (code === 'ENOSPC' || code === 'EDQUOT')) {
    const path = (e as NodeJS.ErrnoException).path ?? where;
    return new BuildError('DISK_FULL', `no space left on device writing ${path}`, { cause: e, details: { path, errno: code } });
  }
  if (e instanceof ExecError) {
    const tool = e.message.split(' ')[0] ?? 'a tool';
    const says = /No space left on device|ENOSPC/.test(typeof e.details.stderrTail === 'string' ? e.details.stderrTail : e.message);
    const free = says
      ? 0
      : await statfs(where).then(
          (s) => s.bavail * s.bsize,
          () => Infinity,
        );
    if (free < NEARLY_FULL_BYTES) {
      return new BuildError('DISK_FULL', `no space left on device under ${where} (${tool} failed)`, { cause: e, details: { path: where, freeBytes: free } });
    }
  }
  return e;
}
