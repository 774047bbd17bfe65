/** Applying slim, strip, scrub, users, files and removals to a build root (the I/O shell). Every path goes through root-path.ts. */
import { lstat, realpath, rm, rmdir } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { RecipeError } from '../errors.js';
import type { RecipeFile, RecipeUser, SlimRules, StripRules } from '../recipe/types.js';
import { fsError } from './fs-error.js';
import { copyIntoRoot, emptyFileInRoot, listTreeInRoot, ownedDirInRoot, readFileInRoot, removeInRoot, resolveInRoot, writeFileInRoot } from './root-path.js';
import { dpkgSlimConfig, SCRUB_RULES, slimDeletions, stripPaths } from './rules.js';
import { addUser, clampShadowDays, type UserDb } from './users.js';

export async function applySlim(root: string, slim: SlimRules): Promise<void> {
  await writeFileInRoot(root, '/etc/dpkg/dpkg.cfg.d/imgfactory-slim', dpkgSlimConfig(slim), 0o644);
  for (const { dir, keep } of slimDeletions(slim)) {
    const tree = await listTreeInRoot(root, dir);
    // Deepest first, so a directory is considered after its children.
    for (const { rel, isDir } of tree.entries) {
      if (keep(rel)) continue;
      const p = join(tree.dir, rel);
      try {
        // A directory goes only once empty: it may still hold a kept copyright file.
        if (isDir) await rmdir(p).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOTEMPTY' ? undefined : Promise.reject(e)));
        else await rm(p, { force: true });
      } catch (e) {
        throw fsError(e, `/${dir}/${rel}`);
      }
    }
  }
}

export async function applyStrip(root: string, strip: StripRules): Promise<void> {
  for (const p of stripPaths(strip)) await removeInRoot(root, p);
}

export async function removePaths(root: string, paths: readonly string[]): Promise<void> {
  for (const p of paths) await removeInRoot(root, p);
}

/** Remove every drift source (README "Reproducibility"; SCRUB_RULES) so two builds of the same inputs are byte-identical. */
export async function scrubRoot(root: string, sourceDateEpoch: number): Promise<void> {
  for (const rule of SCRUB_RULES) {
    if (rule.action === 'delete') await removeInRoot(root, rule.path);
    else if (rule.action === 'empty') await emptyFileInRoot(root, rule.path);
    else {
      // Keep directories (packages own them), drop the files in them.
      const tree = await listTreeInRoot(root, rule.path);
      for (const { rel, isDir } of tree.entries) {
        if (!isDir) await rm(join(tree.dir, rel), { force: true }).catch((e) => Promise.reject(fsError(e, `/${rule.path}/${rel}`)));
      }
    }
  }
  const day = Math.floor(sourceDateEpoch / 86400);
  const shadow = await readFileInRoot(root, '/etc/shadow');
  if (shadow !== undefined) {
    const st = await lstat(await resolveInRoot(root, '/etc/shadow', true));
    await writeFileInRoot(root, '/etc/shadow', clampShadowDays(shadow, day), st.mode & 0o7777);
  }
  await removePythonBytecode(root);
}

/**
 * .pyc files embed build-dependent marshalling details; Python regenerates them when needed.
 * Every `__pycache__` under /usr goes, wherever Python put it: the standard library,
 * dist-packages, and modules Debian keeps under /usr/share (python3-minimal's postinst runs
 * py3compile over /usr/share/python3). Loose .pyc files are removed under the python3 library
 * directories. The walk does not follow links, so it stays inside the root.
 */
async function removePythonBytecode(root: string): Promise<void> {
  const usr = await listTreeInRoot(root, 'usr');
  for (const { rel, isDir } of usr.entries) {
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    const cache = isDir && name === '__pycache__';
    const loose = !isDir && name.endsWith('.pyc') && /^(local\/)?lib\/python3[^/]*\//.test(rel);
    if (cache || loose) await rm(join(usr.dir, rel), { recursive: true, force: true });
  }
}

export async function addUsers(root: string, users: readonly RecipeUser[]): Promise<void> {
  if (users.length === 0) return;
  const read = async (f: string) => (await readFileInRoot(root, f)) ?? '';
  const gshadowText = await readFileInRoot(root, '/etc/gshadow');
  let db: UserDb = { passwd: await read('/etc/passwd'), group: await read('/etc/group'), shadow: await read('/etc/shadow'), gshadow: gshadowText };
  for (const u of users) {
    try {
      db = addUser(db, u);
    } catch (e) {
      throw new RecipeError('RECIPE_USER_EXISTS', `users: ${u.name}: ${(e as Error).message}`, { details: { user: u.name } });
    }
  }
  await writeFileInRoot(root, '/etc/passwd', db.passwd, 0o644);
  await writeFileInRoot(root, '/etc/group', db.group, 0o644);
  await writeFileInRoot(root, '/etc/shadow', db.shadow, 0o640);
  if (db.gshadow !== undefined) await writeFileInRoot(root, '/etc/gshadow', db.gshadow, 0o640);
  for (const u of users) await ownedDirInRoot(root, u.home, { uid: u.uid, gid: u.gid }, 0o750);
}

/** Copy recipe files into the root. Sources must stay inside the recipe's folder, symlinks included. */
export async function copyRecipeFiles(root: string, recipeFile: string, files: readonly RecipeFile[]): Promise<void> {
  const recipeDir = await realpath(dirname(recipeFile));
  for (const f of files) {
    const src = await realpath(resolve(recipeDir, f.src)).catch(() => {
      throw new RecipeError('RECIPE_NOT_FOUND', `${relative(process.cwd(), recipeFile)}: files: ${f.src} does not exist`);
    });
    if (src !== recipeDir && !src.startsWith(recipeDir + sep)) {
      throw new RecipeError('RECIPE_FILE_ESCAPES', `${relative(process.cwd(), recipeFile)}: files: ${f.src} resolves outside the recipe's folder`);
    }
    if (!(await lstat(src)).isFile())
      throw new RecipeError('RECIPE_NOT_FOUND', `${relative(process.cwd(), recipeFile)}: files: ${f.src} is not a regular file`);
    await copyIntoRoot(root, src, f.dest, { uid: f.uid, gid: f.gid }, f.mode);
  }
}
