/**
 * An image assembled from a package set (recipe `contents`): the build root has every package
 * installed the way Debian intends (maintainer scripts ran); this picks out of it only the listed
 * packages' files, the declared generated files, the recipe's files and users' homes, and a
 * dpkg database (`status.d`) naming exactly those packages. Every path is read through
 * root-path.ts and selected through the snapshot's own links, so nothing outside the root is read.
 */
import { RecipeError } from '../errors.js';
import { lstat } from 'node:fs/promises';
import { ensureDirInRoot, readFileInRoot, resolveInRoot, writeFileInRoot } from '../bootstrap/root-path.js';
import { selectFromSnapshot, type Snapshot } from '../layer/index.js';
import type { Recipe, RecipeContents } from '../recipe/types.js';
import { dpkgInfoNames, dpkgListPaths, md5sumsFor, imageAccounts, planContents, STATUS_D, stanzasFor, type ContentsPlan } from './contents-plan.js';

const STATUS = '/var/lib/dpkg/status';
const INFO = '/var/lib/dpkg/info';

/**
 * Write the image's dpkg database (and, when declared generated, its trimmed passwd and group)
 * into the build root, and return the paths the image consists of. Runs after the last package
 * is installed: the build root's own accounts are not needed any more.
 */
export async function prepareContents(root: string, recipe: Recipe & { readonly contents: RecipeContents }): Promise<ContentsPlan> {
  const { contents } = recipe;
  const statusText = await readFileInRoot(root, STATUS);
  if (statusText === undefined) throw new RecipeError('RECIPE_CONTENTS_MISSING', `contents: the build root has no ${STATUS}`);
  const { stanzas, notInstalled } = stanzasFor(statusText, contents.packages);
  if (notInstalled.length > 0) {
    const i = contents.packages.indexOf(notInstalled[0]!);
    throw new RecipeError('RECIPE_CONTENTS_MISSING', `contents.packages[${i}]: ${notInstalled[0]} is not installed in the build root`, {
      details: { field: `contents.packages[${i}]`, packages: notInstalled },
    });
  }
  const lists = new Map<string, string[]>();
  const md5sums = new Map<string, string>();
  for (const s of stanzas) {
    let list: string | undefined;
    for (const name of dpkgInfoNames(s.package, s.architecture, 'list')) list ??= await readFileInRoot(root, `${INFO}/${name}`);
    if (list === undefined) {
      const i = contents.packages.indexOf(s.package);
      throw new RecipeError('RECIPE_CONTENTS_MISSING', `contents.packages[${i}]: ${s.package} has no file list in ${INFO}`, {
        details: { field: `contents.packages[${i}]` },
      });
    }
    lists.set(s.package, dpkgListPaths(list));
    let sums: string | undefined;
    for (const name of dpkgInfoNames(s.package, s.architecture, 'md5sums')) sums ??= await readFileInRoot(root, `${INFO}/${name}`);
    if (sums !== undefined) {
      const present = new Set<string>();
      for (const line of sums.split('\n')) {
        const path = /^[0-9a-f]{32} {2}(.+)$/.exec(line)?.[1];
        if (path !== undefined && (await existsInRoot(root, `/${path}`))) present.add(`/${path}`);
      }
      md5sums.set(
        s.package,
        md5sumsFor(sums, (p) => present.has(p)),
      );
    }
  }
  const users = recipe.layers.flatMap((l) => l.users);
  const files = recipe.layers.flatMap((l) => l.files);

  const accounts = imageAccounts({ passwd: (await readFileInRoot(root, '/etc/passwd')) ?? '', group: (await readFileInRoot(root, '/etc/group')) ?? '' }, users);
  if (contents.generated.includes('/etc/passwd')) await writeFileInRoot(root, '/etc/passwd', accounts.passwd, 0o644);
  if (contents.generated.includes('/etc/group')) await writeFileInRoot(root, '/etc/group', accounts.group, 0o644);

  const plan = planContents({ contents, stanzas, lists, md5sums, files, users });
  await ensureDirInRoot(root, STATUS_D);
  for (const [path, text] of plan.statusFiles) await writeFileInRoot(root, path, text, 0o644);
  return plan;
}

/** Whether `imagePath` is in the root (links on the way followed inside it, the last one not). */
async function existsInRoot(root: string, imagePath: string): Promise<boolean> {
  return (await lstat(await resolveInRoot(root, imagePath)).catch(() => undefined)) !== undefined;
}

/**
 * The build root's snapshot narrowed to the plan. A listed package's path may be absent (slim
 * kept dpkg from unpacking it); a declared generated file must be there.
 */
export function selectContents(full: Snapshot, contents: RecipeContents, plan: ContentsPlan): Snapshot {
  const { snapshot, missing } = selectFromSnapshot(full, plan.paths);
  const missingGenerated = contents.generated.filter((p) => missing.includes(p));
  if (missingGenerated.length > 0) {
    const i = contents.generated.indexOf(missingGenerated[0]!);
    throw new RecipeError('RECIPE_CONTENTS_MISSING', `contents.generated[${i}]: ${missingGenerated[0]} was not created in the build root`, {
      details: { field: `contents.generated[${i}]`, paths: missingGenerated },
    });
  }
  return snapshot;
}
