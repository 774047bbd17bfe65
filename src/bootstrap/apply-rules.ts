/** Applying slim, strip, scrub, users, files and removals to a build root (the I/O shell). */
import { chmod, chown, copyFile, lstat, mkdir, readFile, readdir, realpath, rm, rmdir, truncate, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { RecipeError } from '../errors.js';
import type { RecipeFile, RecipeUser, SlimRules, StripRules } from '../recipe/types.js';
import { resolveInRoot } from './root-path.js';
import { dpkgSlimConfig, SCRUB_RULES, slimDeletions, stripPaths } from './rules.js';
import { addUser, clampShadowDays, type UserDb } from './users.js';

const exists = (p: string) =>
  lstat(p).then(
    () => true,
    () => false,
  );

/**
 * Write a file that belongs in the image, only when its bytes or mode change. Rewriting equal
 * bytes still changes ctime, and the layer diff (rightly) counts that as a change: a child
 * image would carry an unchanged copy of the file in its own layer.
 */
export async function writeRootFile(path: string, content: string, mode: number): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st?.isFile() && (st.mode & 0o7777) === mode && (await readFile(path, 'utf8')) === content) return;
  if (st && !st.isFile()) await rm(path, { recursive: true, force: true });
  await writeFile(path, content, { mode });
  await chmod(path, mode);
}

async function walkFiles(dir: string, base = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walkFiles(join(dir, e.name), rel)));
    out.push(rel);
  }
  return out;
}

export async function applySlim(root: string, slim: SlimRules): Promise<void> {
  const cfg = await resolveInRoot(root, '/etc/dpkg/dpkg.cfg.d/imgfactory-slim');
  await mkdir(dirname(cfg), { recursive: true });
  await writeRootFile(cfg, dpkgSlimConfig(slim), 0o644);
  for (const { dir, keep } of slimDeletions(slim)) {
    const abs = await resolveInRoot(root, dir, true);
    // Deepest first, so a directory is considered after its children.
    for (const rel of (await walkFiles(abs)).sort().reverse()) {
      if (keep(rel)) continue;
      const p = join(abs, rel);
      const st = await lstat(p);
      // A directory goes only once empty: it may still hold a kept copyright file.
      if (st.isDirectory()) await rmdir(p).catch(() => undefined);
      else await rm(p, { force: true });
    }
  }
}

export async function applyStrip(root: string, strip: StripRules): Promise<void> {
  for (const p of stripPaths(strip)) await rm(await resolveInRoot(root, p), { recursive: true, force: true });
}

export async function removePaths(root: string, paths: readonly string[]): Promise<void> {
  for (const p of paths) await rm(await resolveInRoot(root, p), { recursive: true, force: true });
}

/** Remove every drift source (DESIGN.md) so two builds of the same inputs are byte-identical. */
export async function scrubRoot(root: string, sourceDateEpoch: number): Promise<void> {
  for (const rule of SCRUB_RULES) {
    const p = await resolveInRoot(root, rule.path);
    if (!(await exists(p))) continue;
    if (rule.action === 'delete') await rm(p, { recursive: true, force: true });
    else if (rule.action === 'empty') await truncate(p, 0);
    else {
      // Keep directories (packages own them), drop the files in them.
      for (const rel of (await walkFiles(p)).sort().reverse()) {
        const c = join(p, rel);
        if (!(await lstat(c)).isDirectory()) await rm(c, { force: true });
      }
    }
  }
  const day = Math.floor(sourceDateEpoch / 86400);
  for (const f of ['/etc/shadow']) {
    const p = await resolveInRoot(root, f);
    const st = await lstat(p).catch(() => undefined);
    if (st?.isFile()) await writeRootFile(p, clampShadowDays(await readFile(p, 'utf8'), day), st.mode & 0o7777);
  }
  await removePythonBytecode(root);
}

/** .pyc files embed build-dependent marshalling details; Python regenerates them when needed. */
async function removePythonBytecode(root: string): Promise<void> {
  for (const lib of ['usr/lib', 'usr/local/lib']) {
    const base = join(root, lib);
    for (const name of await readdir(base).catch(() => [] as string[])) {
      if (!name.startsWith('python3')) continue;
      for (const rel of (await walkFiles(join(base, name))).sort().reverse()) {
        if (rel.endsWith('.pyc')) await rm(join(base, name, rel), { force: true });
        else if (rel.endsWith('__pycache__')) await rm(join(base, name, rel), { recursive: true, force: true });
      }
    }
  }
}

export async function addUsers(root: string, users: readonly RecipeUser[]): Promise<void> {
  if (users.length === 0) return;
  const files = { passwd: '/etc/passwd', group: '/etc/group', shadow: '/etc/shadow', gshadow: '/etc/gshadow' };
  const read = async (f: string) => readFile(await resolveInRoot(root, f), 'utf8').catch(() => '');
  let db: UserDb = { passwd: await read(files.passwd), group: await read(files.group), shadow: await read(files.shadow), gshadow: await read(files.gshadow) };
  for (const u of users) {
    try {
      db = addUser(db, u);
    } catch (e) {
      throw new RecipeError('RECIPE_INVALID', `users: ${u.name}: ${(e as Error).message}`);
    }
  }
  await writeRootFile(await resolveInRoot(root, files.passwd), db.passwd, 0o644);
  await writeRootFile(await resolveInRoot(root, files.group), db.group, 0o644);
  await writeRootFile(await resolveInRoot(root, files.shadow), db.shadow, 0o640);
  if (db.gshadow !== undefined) await writeRootFile(await resolveInRoot(root, files.gshadow), db.gshadow, 0o640);
  for (const u of users) {
    const home = await resolveInRoot(root, u.home);
    await mkdir(home, { recursive: true, mode: 0o750 });
    await chown(home, u.uid, u.gid);
    await chmod(home, 0o750);
  }
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
    const dest = await resolveInRoot(root, f.dest);
    await mkdir(dirname(dest), { recursive: true });
    await rm(dest, { force: true });
    await copyFile(src, dest);
    await chown(dest, f.uid, f.gid);
    await chmod(dest, f.mode);
  }
}
