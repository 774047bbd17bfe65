/**
 * File-system errors on the build root, mapped to typed errors that name the image path. A
 * full disk is the host's problem (exit 4, like a failed tool), a path the recipe asks for that
 * the tree cannot hold (a file where a directory must be, a link loop) is the recipe's (exit 2);
 * neither is an internal bug.
 */
import { BuildError, ImgfactoryError, RecipeError } from '../errors.js';

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
