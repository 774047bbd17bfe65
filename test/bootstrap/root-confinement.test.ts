/**
 * Hostile links in a build root: every operation the build performs on the root must stay
 * inside it. A sentinel directory outside the root is the "host"; each test points links at it
 * (absolute, relative `../..` far above the root, chains, a link as the final component) and
 * asserts the sentinel is byte-for-byte, owner-for-owner unchanged afterwards, and that the
 * operation landed where the chroot would have put it.
 */
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addUsers, applySlim, applyStrip, copyRecipeFiles, removePaths, scrubRoot } from '../../src/bootstrap/apply-rules.js';
import { ensureDirInRoot, resolveInRoot, writeFileInRoot } from '../../src/bootstrap/root-path.js';
import type { RecipeUser } from '../../src/recipe/types.js';
import { seedAptLists } from '../../src/pipeline/rootfs.js';

let base: string;
let root: string;
let host: string;

/** Every entry under a directory with its type, owner, mode, size and content. */
async function fingerprint(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    const st = await lstat(abs);
    const content = st.isFile() ? (await readFile(abs)).toString('hex') : st.isSymbolicLink() ? await readlink(abs) : '';
    out.push(`${rel} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${content}`);
    if (st.isDirectory()) for (const n of (await readdir(abs)).sort()) await walk(join(abs, n), `${rel}/${n}`);
  };
  await walk(dir, '.');
  return out;
}

/** Absolute, relative-far-up, chained: three ways a link in the root can name the host sentinel. */
async function hostileLinks(): Promise<{ abs: string; rel: string; chain: string }> {
  const up = '../'.repeat(20);
  await mkdir(join(root, 'links'), { recursive: true });
  await symlink(host, join(root, 'links/abs'));
  await symlink(`${up}${host.slice(1)}`, join(root, 'links/rel'));
  await symlink('/links/chain2', join(root, 'links/chain1'));
  await symlink(`../links/chain3`, join(root, 'links/chain2'));
  await symlink(`${up}${host.slice(1)}`, join(root, 'links/chain3'));
  return { abs: '/links/abs', rel: '/links/rel', chain: '/links/chain1' };
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'imgf-confine-'));
  root = join(base, 'root');
  host = join(base, 'host-sentinel');
  await mkdir(join(host, 'victim'), { recursive: true, mode: 0o755 });
  await chmod(host, 0o755);
  await writeFile(join(host, 'secret'), 'host secret\n', { mode: 0o600 });
  await writeFile(join(host, 'victim', 'keep.pyc'), 'bytecode', { mode: 0o644 });
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\n');
  await writeFile(join(root, 'etc/shadow'), 'root:*:20000:0:99999:7:::\n', { mode: 0o640 });
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const user = (home: string): RecipeUser => ({ name: 'app', uid: 1234, gid: 1234, home, shell: '/usr/sbin/nologin', groups: [] });

describe('the build root is not the host: hostile links', () => {
  it('the fingerprint notices a change outside the root (so the tests below can fail)', async () => {
    const before = await fingerprint(host);
    await chmod(join(host, 'victim'), 0o700);
    expect(await fingerprint(host)).not.toEqual(before);
  });

  it("a user's home of /var/run (-> /run, absolute) is created and chowned inside the root", async () => {
    await mkdir(join(root, 'var'), { recursive: true });
    await symlink('/run', join(root, 'var/run'));
    // Point the root's /run itself at the host sentinel too: the home must still land in the root.
    await symlink(host, join(root, 'run'));
    const before = await fingerprint(host);
    await addUsers(root, [user('/var/run')]);
    expect(await fingerprint(host)).toEqual(before);
    const landed = await stat(join(root, host.slice(1)));
    expect([landed.uid, landed.gid, landed.mode & 0o7777]).toEqual([1234, 1234, 0o750]);
  });

  for (const kind of ['abs', 'rel', 'chain'] as const) {
    it(`users' home dirs through a ${kind} link stay inside the root`, async () => {
      const links = await hostileLinks();
      const before = await fingerprint(host);
      await addUsers(root, [user(`${links[kind]}/victim`)]);
      expect(await fingerprint(host)).toEqual(before);
      expect((await stat(join(root, host.slice(1), 'victim'))).uid).toBe(1234);
    });

    it(`files destinations, owners and modes through a ${kind} link stay inside the root`, async () => {
      const links = await hostileLinks();
      const recipeDir = join(base, 'recipe');
      await mkdir(recipeDir);
      await writeFile(join(recipeDir, 'payload'), 'from the recipe\n');
      const before = await fingerprint(host);
      await copyRecipeFiles(root, join(recipeDir, 'r.ts'), [{ src: 'payload', dest: `${links[kind]}/secret`, mode: 0o4755, uid: 1234, gid: 1234 }]);
      await copyRecipeFiles(root, join(recipeDir, 'r.ts'), [{ src: 'payload', dest: `${links[kind]}/victim/new`, mode: 0o644, uid: 1234, gid: 1234 }]);
      expect(await fingerprint(host)).toEqual(before);
      const landed = await stat(join(root, host.slice(1), 'secret'));
      expect([landed.uid, landed.mode & 0o7777]).toEqual([1234, 0o4755]);
    });

    it(`remove.paths and strip paths through a ${kind} link stay inside the root`, async () => {
      const links = await hostileLinks();
      const before = await fingerprint(host);
      await removePaths(root, [`${links[kind]}/secret`, `${links[kind]}/victim`]);
      await applyStrip(root, { shell: false, apt: false, dpkgTools: false, paths: [`${links[kind]}/secret`, `${links[kind]}/../../../victim`] });
      expect(await fingerprint(host)).toEqual(before);
    });

    it(`slim deletions and the dpkg config through a ${kind} link stay inside the root`, async () => {
      await hostileLinks();
      await mkdir(join(root, 'usr/share'), { recursive: true });
      const docTarget = kind === 'abs' ? host : kind === 'rel' ? `${'../'.repeat(20)}${host.slice(1)}` : '/links/chain1';
      await symlink(`${docTarget}/victim`, join(root, 'usr/share/doc'));
      await symlink(kind === 'abs' ? host : '/links/chain1', join(root, 'etc/dpkg'));
      const before = await fingerprint(host);
      await applySlim(root, { docs: true, man: true, keepLocales: [], caches: true });
      expect(await fingerprint(host)).toEqual(before);
      expect(await readFile(join(root, host.slice(1), 'dpkg.cfg.d/imgfactory-slim'), 'utf8')).toContain('path-exclude=/usr/share/doc/*');
    });

    it(`the scrub (delete, empty, delete-children, shadow rewrite, bytecode) through a ${kind} link stays inside the root`, async () => {
      const links = await hostileLinks();
      const target = (p: string) => `${links[kind]}/${p}`;
      await mkdir(join(root, 'var/lib/dbus'), { recursive: true });
      await mkdir(join(root, 'usr/lib'), { recursive: true });
      await symlink(target('secret'), join(root, 'etc/machine-id')); // 'empty' on a final link
      await symlink(target('secret'), join(root, 'etc/hostname')); // 'delete' on a final link
      await symlink(links[kind], join(root, 'var/log')); // 'delete-children' through a link
      await symlink(target('victim'), join(root, 'usr/lib/python3.11')); // bytecode removal through a link
      await rm(join(root, 'etc/shadow'));
      await symlink(target('secret'), join(root, 'etc/shadow')); // the shadow rewrite through a final link
      const before = await fingerprint(host);
      await scrubRoot(root, 1_700_000_000);
      expect(await fingerprint(host)).toEqual(before);
      expect((await lstat(join(root, 'etc/machine-id'))).isFile()).toBe(true);
    });

    it(`system-file writes (passwd, apt sources, policy-rc.d) through a ${kind} link stay inside the root`, async () => {
      const links = await hostileLinks();
      await rm(join(root, 'etc/passwd'));
      await symlink(`${links[kind]}/secret`, join(root, 'etc/passwd'));
      await mkdir(join(root, 'usr'), { recursive: true });
      await symlink(links[kind], join(root, 'usr/sbin'));
      const before = await fingerprint(host);
      await addUsers(root, [user('/home/app')]);
      await writeFileInRoot(root, '/usr/sbin/policy-rc.d', '#!/bin/sh\nexit 101\n', 0o755);
      await writeFileInRoot(root, `${links[kind]}/apt/sources.list.d/debian.sources`, 'Types: deb\n', 0o644);
      expect(await fingerprint(host)).toEqual(before);
      // passwd's link was replaced by the file itself; policy-rc.d landed under the re-rooted target.
      expect((await lstat(join(root, 'etc/passwd'))).isFile()).toBe(true);
      expect(await readFile(join(root, host.slice(1), 'policy-rc.d'), 'utf8')).toContain('exit 101');
    });

    it(`mount points (/proc, /dev) through a ${kind} link resolve inside the root`, async () => {
      const links = await hostileLinks();
      await symlink(links[kind], join(root, 'proc'));
      const before = await fingerprint(host);
      const dst = await ensureDirInRoot(root, 'proc');
      expect(dst.startsWith(`${root}/`)).toBe(true);
      expect(dst).toBe(join(root, host.slice(1)));
      expect(await fingerprint(host)).toEqual(before);
    });
  }

  for (const kind of ['abs', 'rel', 'chain'] as const) {
    it(`apt's verified lists are copied into the root, not through a ${kind} link waiting at a list's name`, async () => {
      const links = await hostileLinks();
      const lists = join(base, 'lists');
      await mkdir(lists);
      await writeFile(join(lists, 'mirror.invalid_debian_dists_bookworm_InRelease'), 'signed release\n');
      await writeFile(join(lists, 'mirror.invalid_debian_dists_bookworm_main_binary-amd64_Packages'), 'Package: a\n');
      // A list's own name as a link to the host's secret.
      await mkdir(join(root, 'run/imgfactory/lists'), { recursive: true });
      await symlink(`${links[kind]}/secret`, join(root, 'run/imgfactory/lists/mirror.invalid_debian_dists_bookworm_InRelease'));
      const before = await fingerprint(host);
      await seedAptLists(root, lists);
      expect(await fingerprint(host)).toEqual(before);
      const seeded = join(root, 'run/imgfactory/lists/mirror.invalid_debian_dists_bookworm_InRelease');
      expect((await lstat(seeded)).isFile()).toBe(true);
      expect(await readFile(seeded, 'utf8')).toBe('signed release\n');
      expect(await readFile(join(root, 'run/imgfactory/lists/mirror.invalid_debian_dists_bookworm_main_binary-amd64_Packages'), 'utf8')).toBe('Package: a\n');
    });
  }

  it("apt's verified lists go inside the root when the build-only directory itself is a link to the host", async () => {
    const links = await hostileLinks();
    const lists = join(base, 'lists');
    await mkdir(lists);
    await writeFile(join(lists, 'mirror.invalid_debian_dists_bookworm_InRelease'), 'signed release\n');
    await mkdir(join(root, 'run'), { recursive: true });
    await symlink(links.abs, join(root, 'run/imgfactory'));
    const before = await fingerprint(host);
    await seedAptLists(root, lists);
    expect(await fingerprint(host)).toEqual(before);
    expect(await readFile(join(root, host.slice(1), 'lists/mirror.invalid_debian_dists_bookworm_InRelease'), 'utf8')).toBe('signed release\n');
  });

  it('a link loop is a typed recipe error, not a hang or a crash', async () => {
    await symlink('/loop/b', join(root, 'loop-a'));
    await mkdir(join(root, 'loop'));
    await symlink('/loop-a', join(root, 'loop/b'));
    await expect(resolveInRoot(root, '/loop-a/x')).rejects.toMatchObject({ code: 'RECIPE_PATH_CONFLICT' });
  });

  it('a files destination below a regular file is a typed recipe error (exit 2), not an internal one', async () => {
    const recipeDir = join(base, 'recipe');
    await mkdir(recipeDir);
    await writeFile(join(recipeDir, 'payload'), 'x');
    await expect(
      copyRecipeFiles(root, join(recipeDir, 'r.ts'), [{ src: 'payload', dest: '/etc/passwd/sub', mode: 0o644, uid: 0, gid: 0 }]),
    ).rejects.toMatchObject({
      code: 'RECIPE_PATH_CONFLICT',
      exitStatus: 2,
    });
  });
});
