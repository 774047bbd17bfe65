/**
 * The one way the build touches its root: every image path is resolved here the way the
 * chroot would resolve it — symlinks inside the root are followed *relative to the root*
 * (absolute targets re-rooted, `..` clamped at the root) — and the file operations below open
 * the final component with O_NOFOLLOW and act on the file descriptor. Debian's root has
 * absolute links (`/var/run -> /run`), and packages may ship more: without this, a recipe user
 * with `home: '/var/run'` would chown the build host's /run.
 *
 * Why check-then-use is enough for the parents: nothing runs inside the root while these
 * operations run (the chroot session has ended), so only imgfactory itself changes the tree
 * between resolving and opening. The final component is still opened with O_NOFOLLOW, so a
 * link there is never followed by the kernel, only by the resolver.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rm, type FileHandle } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { RecipeError } from '../errors.js';
import { fsError } from './fs-error.js';

const MAX_LINKS = 40;
const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW, O_DIRECTORY } = constants;

/**
 * Host path for `imagePath` inside `root`. Every component but the last is resolved through
 * symlinks, re-rooted; the last one is followed only when `followLast` is set. Every existing
 * component of the returned path before the last is a real directory inside `root`.
 */
export async function resolveInRoot(root: string, imagePath: string, followLast = false): Promise<string> {
  let pending = posix.normalize(`/${imagePath}`).split('/').filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const [head, ...rest] = pending;
    pending = rest;
    if (head === '..') {
      done.pop(); // `done` holds only real directories, so popping is what the kernel would do; at the root it clamps.
      continue;
    }
    if (head === '.') continue;
    const candidate = join(root, ...done, head!);
    const isLast = pending.length === 0;
    const st = await lstat(candidate).catch(() => undefined);
    if (st?.isSymbolicLink() && (!isLast || followLast)) {
      if (++hops > MAX_LINKS) throw new RecipeError('RECIPE_PATH_CONFLICT', `too many symlinks resolving ${imagePath}`, { details: { path: imagePath } });
      const target = await readlink(candidate);
      if (target.startsWith('/')) done.length = 0;
      pending = [...target.split('/').filter(Boolean), ...pending];
      continue;
    }
    done.push(head!);
  }
  return join(root, ...done);
}

/** Where `imagePath` itself lives: its parent resolved (links followed, re-rooted), its own name kept. */
async function entryInRoot(root: string, imagePath: string): Promise<{ dir: string; path: string }> {
  const norm = posix.normalize(`/${imagePath}`);
  const name = posix.basename(norm);
  const dir = await ensureDirInRoot(root, posix.dirname(norm));
  if (name === '' || name === '..' || name === '.')
    throw new RecipeError('RECIPE_PATH_CONFLICT', `not a file path: ${imagePath}`, { details: { path: imagePath } });
  return { dir, path: join(dir, name) };
}

/**
 * Make sure the directory `imagePath` exists inside the root (links followed, re-rooted) and
 * return its host path. A non-directory in the way is an error, never replaced.
 */
export async function ensureDirInRoot(root: string, imagePath: string, mode = 0o755): Promise<string> {
  const dir = await resolveInRoot(root, imagePath, true);
  try {
    await mkdir(dir, { recursive: true, mode });
    const st = await lstat(dir);
    if (!st.isDirectory()) throw new RecipeError('RECIPE_PATH_CONFLICT', `${imagePath}: not a directory in the image`, { details: { path: imagePath } });
  } catch (e) {
    throw fsError(e, imagePath);
  }
  return dir;
}

async function openNoFollow(path: string, flags: number, mode?: number): Promise<FileHandle> {
  return open(path, flags | O_NOFOLLOW, mode);
}

/** Contents of a regular file in the root (links followed inside the root), or undefined when absent. */
export async function readFileInRoot(root: string, imagePath: string): Promise<string | undefined> {
  const path = await resolveInRoot(root, imagePath, true);
  let fh: FileHandle;
  try {
    fh = await openNoFollow(path, O_RDONLY);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fsError(e, imagePath);
  }
  try {
    if (!(await fh.stat()).isFile()) return undefined;
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * Write a file that belongs in the image, only when its bytes or mode change (rewriting equal
 * bytes still changes ctime, and the layer diff would count the file as changed). A link or
 * directory at the final component is replaced by the file, as `install` would do.
 */
export async function writeFileInRoot(root: string, imagePath: string, content: string | Uint8Array, mode: number): Promise<void> {
  const { path } = await entryInRoot(root, imagePath);
  const bytes = typeof content === 'string' ? Buffer.from(content) : Buffer.from(content);
  try {
    const st = await lstat(path).catch(() => undefined);
    if (st?.isFile() && (st.mode & 0o7777) === mode) {
      const fh = await openNoFollow(path, O_RDONLY);
      const same = await fh
        .readFile()
        .then((b) => b.equals(bytes))
        .finally(() => fh.close());
      if (same) return;
    }
    if (st && !st.isFile()) await rm(path, { recursive: true, force: true });
    const fh = await openNoFollow(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    try {
      await fh.writeFile(bytes);
      await fh.chmod(mode);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw fsError(e, imagePath);
  }
}

/** Copy a host file into the root as a new file with the given owner and mode (never through a link). */
export async function copyIntoRoot(root: string, hostSource: string, imagePath: string, owner: { uid: number; gid: number }, mode: number): Promise<void> {
  const { path } = await entryInRoot(root, imagePath);
  try {
    await rm(path, { recursive: true, force: true });
    const src = await open(hostSource, O_RDONLY);
    try {
      const fh = await openNoFollow(path, O_WRONLY | O_CREAT | O_EXCL, 0o600);
      try {
        for await (const chunk of src.createReadStream({ autoClose: false })) await fh.write(chunk as Buffer);
        await fh.chown(owner.uid, owner.gid);
        await fh.chmod(mode);
      } finally {
        await fh.close();
      }
    } finally {
      await src.close();
    }
  } catch (e) {
    throw fsError(e, imagePath);
  }
}

/**
 * Create (if needed) a directory in the root and set its owner and mode through a descriptor
 * opened with O_NOFOLLOW|O_DIRECTORY: a link there is resolved inside the root first, so the
 * chown lands on the directory the chroot would see, never on the host's.
 */
export async function ownedDirInRoot(root: string, imagePath: string, owner: { uid: number; gid: number }, mode: number): Promise<string> {
  const dir = await ensureDirInRoot(root, imagePath, mode);
  try {
    const fh = await openNoFollow(dir, O_RDONLY | O_DIRECTORY);
    try {
      await fh.chown(owner.uid, owner.gid);
      await fh.chmod(mode);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw fsError(e, imagePath);
  }
  return dir;
}

/** Remove an entry (a link is removed itself, never its target); parents resolved inside the root. */
export async function removeInRoot(root: string, imagePath: string): Promise<void> {
  const path = await resolveInRoot(root, imagePath, false);
  if (path === root) throw new RecipeError('RECIPE_PATH_CONFLICT', `refusing to remove the whole root (${imagePath})`, { details: { path: imagePath } });
  try {
    await rm(path, { recursive: true, force: true });
  } catch (e) {
    throw fsError(e, imagePath);
  }
}

/** Empty a regular file (a link there is replaced by an empty file, its target untouched). */
export async function emptyFileInRoot(root: string, imagePath: string): Promise<void> {
  const path = await resolveInRoot(root, imagePath, false);
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  try {
    if (!st.isFile()) await rm(path, { recursive: true, force: true });
    const fh = await openNoFollow(path, O_WRONLY | O_CREAT | O_TRUNC, st.isFile() ? st.mode & 0o7777 : 0o444);
    await fh.close();
  } catch (e) {
    throw fsError(e, imagePath);
  }
}

/**
 * Every entry below a directory of the root (links resolved inside the root for the directory
 * itself; links below it are listed, never descended), as paths relative to it, deepest first.
 */
export async function listTreeInRoot(root: string, imageDir: string): Promise<{ dir: string; entries: { rel: string; isDir: boolean }[] }> {
  const dir = await resolveInRoot(root, imageDir, true);
  const st = await lstat(dir).catch(() => undefined);
  if (!st?.isDirectory()) return { dir, entries: [] };
  const entries: { rel: string; isDir: boolean }[] = [];
  const walk = async (abs: string, base: string): Promise<void> => {
    for (const e of await readdir(abs, { withFileTypes: true }).catch(() => [])) {
      const rel = base ? `${base}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(abs, e.name), rel);
      entries.push({ rel, isDir: e.isDirectory() });
    }
  };
  await walk(dir, '');
  entries.sort((a, b) => (a.rel < b.rel ? 1 : a.rel > b.rel ? -1 : 0));
  return { dir, entries };
}
