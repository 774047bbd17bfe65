/**
 * Resolving image paths against the build root the way the chroot would: symlinks inside the
 * root are followed *relative to the root*, so an absolute link like /etc/resolv.conf → /run/x
 * can never make imgfactory read, write or delete a file of the build host.
 */
import { lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { BuildError } from '../errors.js';

const MAX_LINKS = 40;

/**
 * Host path for `imagePath` inside `root`. Every component but the last is resolved through
 * symlinks; the last one is followed only when `followLast` is set.
 */
export async function resolveInRoot(root: string, imagePath: string, followLast = false): Promise<string> {
  let pending = posix.normalize(`/${imagePath}`).split('/').filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const [head, ...rest] = pending;
    pending = rest;
    if (head === '..') {
      done.pop();
      continue;
    }
    if (head === '.') continue;
    const candidate = join(root, ...done, head!);
    const isLast = pending.length === 0;
    const st = await lstat(candidate).catch(() => undefined);
    if (st?.isSymbolicLink() && (!isLast || followLast)) {
      if (++hops > MAX_LINKS) throw new BuildError('LAYER_PATH_INVALID', `too many symlinks resolving ${imagePath}`);
      const target = await readlink(candidate);
      const parts = target.split('/').filter(Boolean);
      if (target.startsWith('/')) done.length = 0;
      pending = [...parts, ...pending];
      continue;
    }
    done.push(head!);
  }
  return join(root, ...done);
}
