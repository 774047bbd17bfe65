/**
 * The audit on a real root filesystem: `debootstrap --variant=minbase bookworm` from the host's
 * mirror with the keyring made from keys/debian (built once, reused from .cache/test-shared),
 * proven against indexes fetched and verified by fetchVerifiedArchive.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRootfs, downloadedDebs, identityFromFileName } from '../../src/archive/audit-rootfs.js';
import { hasFilesOnDisk, parseDpkgStatus } from '../../src/archive/dpkg-status.js';
import { hostArchiveMirrors } from '../../src/archive/host-mirror.js';
import { loadPinnedKeys, writeBootstrapKeyring } from '../../src/archive/keyring.js';
import { fetchVerifiedArchive, type VerifiedArchive } from '../../src/archive/verified-archive.js';
import { main } from '../../src/cli/main.js';
import { run } from '../../src/exec.js';
import { hostDebianArch } from '../../src/oci/platform.js';
import { SHARED_CACHE_DIR } from '../helpers/paths.js';
import { flipByte } from '../helpers/tamper-proxy.js';

const ARCH = hostDebianArch(process.arch);
const MINBASE_DIR = join(SHARED_CACHE_DIR, 'archive-minbase');
const ROOTFS = join(MINBASE_DIR, 'rootfs');
const ARCHIVE_CACHE = join(SHARED_CACHE_DIR, 'archive-cache');

let archive: VerifiedArchive;
let debs: string[];
let tmp: string;

/** Unmount anything debootstrap may have left mounted under `dir`, deepest first, then delete it. */
async function removeTree(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run(['umount', '-l', m], { okExitCodes: [1, 32] });
  await rm(dir, { recursive: true, force: true });
}

async function minbaseRootfs(mirror: string): Promise<string> {
  if (existsSync(join(ROOTFS, 'var/lib/dpkg/status'))) return ROOTFS;
  await mkdir(MINBASE_DIR, { recursive: true });
  const work = await mkdtemp(join(MINBASE_DIR, '.tmp-'));
  try {
    const keyring = join(work, 'archive-keyring.gpg');
    await writeBootstrapKeyring(await loadPinnedKeys(), keyring);
    const target = join(work, 'rootfs');
    const argv = ['debootstrap', '--variant=minbase', `--arch=${ARCH}`, `--keyring=${keyring}`, 'bookworm', target, mirror];
    // One more try on a failed download: a mirror mid-sync now and then serves an index debootstrap refuses.
    try {
      await run(argv, { failCode: 'DEBOOTSTRAP_FAILED' });
    } catch {
      await removeTree(target);
      await run(argv, { failCode: 'DEBOOTSTRAP_FAILED' });
    }
    await rename(target, ROOTFS);
  } finally {
    await removeTree(work);
  }
  return ROOTFS;
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out, err };
}

beforeAll(async () => {
  const mirrors = await hostArchiveMirrors();
  await minbaseRootfs(mirrors.mirror);
  debs = await downloadedDebs(ROOTFS);
  archive = await fetchVerifiedArchive({
    ...mirrors,
    suite: 'bookworm',
    components: ['main'],
    architectures: [ARCH],
    updates: false, // debootstrap installs from the base suite only
    cacheDir: ARCHIVE_CACHE,
    keys: await loadPinnedKeys(),
    now: new Date(),
  });
  tmp = await mkdtemp(join(tmpdir(), 'imgf-audit-'));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** A rootfs stand-in holding only the dpkg database, with `edit` applied to the status text. */
async function statusCopy(name: string, edit: (status: string) => string): Promise<string> {
  const root = join(tmp, name);
  await mkdir(join(root, 'var/lib/dpkg'), { recursive: true });
  const original = await readFile(join(ROOTFS, 'var/lib/dpkg/status'), 'utf8');
  const edited = edit(original);
  expect(edited).not.toBe(original);
  await writeFile(join(root, 'var/lib/dpkg/status'), edited);
  return root;
}

describe('auditRootfs on a fresh debootstrap --variant=minbase bookworm', () => {
  it('proves every installed package and every downloaded .deb', async () => {
    const status = parseDpkgStatus(await readFile(join(ROOTFS, 'var/lib/dpkg/status'), 'utf8'));
    const installed = status.filter(hasFilesOnDisk);
    expect(installed.length).toBeGreaterThan(50);
    expect(debs.length).toBeGreaterThan(50);

    const m = await auditRootfs({ rootfs: ROOTFS, archive, debFiles: debs });
    expect(m.suite).toBe('bookworm');
    expect(m.architecture).toBe(ARCH);
    expect(m.inReleases).toEqual(archive.inReleases);
    expect(m.packages).toHaveLength(installed.length);
    for (let i = 1; i < m.packages.length; i++) {
      const [a, b] = [m.packages[i - 1]!, m.packages[i]!];
      expect(a.package < b.package || (a.package === b.package && a.architecture < b.architecture), `${a.package} before ${b.package}`).toBe(true);
    }
    for (const e of installed) {
      expect(
        m.packages.find((p) => p.package === e.package && p.version === e.version && p.architecture === e.architecture),
        e.package,
      ).toBeDefined();
    }
    expect(m.packages.every((p) => p.suite === 'bookworm' && p.component === 'main')).toBe(true);
    expect(m.packages.some((p) => p.architecture === 'all')).toBe(true);

    // Each downloaded .deb is the file the manifest names for its package.
    for (const file of debs) {
      const id = identityFromFileName(file)!;
      const entry = m.packages.find((p) => p.package === id.package && p.version === id.version);
      expect(entry, basename(file)).toBeDefined();
      expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(entry!.sha256);
      // apt names the file with the epoch (`1%3a`), the pool without it.
      expect(basename(entry!.filename)).toBe(basename(file).replace(/_\d+%3a/i, '_'));
    }
    const bash = m.packages.find((p) => p.package === 'bash')!;
    expect(bash.filename.startsWith('pool/main/b/bash/')).toBe(true);
    expect(bash.source).toBe('bash');
  });

  it('AUDIT_PACKAGE_UNPROVEN: a status entry naming a version absent from the indexes', async () => {
    const root = await statusCopy('edited-version', (s) =>
      s.replace(/(Package: bash\n(?:[^\n]+\n)*?Version: )([^\n]+)/, (_, head: string, v: string) => `${head}${v}+imgfactory1`),
    );
    await expect(auditRootfs({ rootfs: root, archive, debFiles: debs })).rejects.toMatchObject({ code: 'AUDIT_PACKAGE_UNPROVEN' });
    try {
      await auditRootfs({ rootfs: root, archive, debFiles: debs });
    } catch (e) {
      expect((e as Error).message).toMatch(/bash \S+\+imgfactory1 /);
    }
  });

  it('AUDIT_DEB_HASH_MISMATCH: a downloaded .deb with one byte flipped', async () => {
    const victim = debs.find((d) => basename(d).startsWith('bash_'))!;
    const tampered = join(tmp, 'archives', basename(victim));
    await mkdir(join(tmp, 'archives'), { recursive: true });
    await writeFile(tampered, flipByte(readFileSync(victim), Math.floor(readFileSync(victim).length / 2)));
    const debFiles = debs.map((d) => (d === victim ? tampered : d));
    await expect(auditRootfs({ rootfs: ROOTFS, archive, debFiles })).rejects.toMatchObject({ code: 'AUDIT_DEB_HASH_MISMATCH' });
  });

  it('AUDIT_DEB_UNPROVEN: a .deb no verified index knows', async () => {
    const stranger = join(tmp, 'archives', 'imgfactory-stranger_1.0_all.deb');
    await mkdir(join(tmp, 'archives'), { recursive: true });
    await writeFile(stranger, randomBytes(4096));
    await expect(auditRootfs({ rootfs: ROOTFS, archive, debFiles: [...debs, stranger] })).rejects.toMatchObject({ code: 'AUDIT_DEB_UNPROVEN' });
  });

  it('AUDIT_STATUS_UNREADABLE: no dpkg database', async () => {
    const empty = join(tmp, 'empty-root');
    await mkdir(empty, { recursive: true });
    await expect(auditRootfs({ rootfs: empty, archive, debFiles: [] })).rejects.toMatchObject({ code: 'AUDIT_STATUS_UNREADABLE' });
  });
});

describe('imgfactory audit', () => {
  it('passes on the minbase root (with -updates and -security indexes too) and prints the manifest', async () => {
    const c = capture();
    const code = await main(['audit', ROOTFS, '--suite', 'bookworm', '--arch', ARCH, '--cache-dir', ARCHIVE_CACHE, '--json'], { io: c.io });
    expect(c.err).toEqual([]);
    expect(code).toBe(0);
    const m = JSON.parse(c.out.join('\n')) as { packages: { package: string; suite: string }[]; inReleases: { suite: string }[] };
    expect(m.inReleases.map((r) => r.suite)).toEqual(['bookworm', 'bookworm-updates', 'bookworm-security']);
    expect(m.packages.length).toBe(parseDpkgStatus(readFileSync(join(ROOTFS, 'var/lib/dpkg/status'), 'utf8')).filter(hasFilesOnDisk).length);
    // Downloaded .debs pin the base suite even where -security has the same version.
    expect(m.packages.every((p) => p.suite === 'bookworm')).toBe(true);
  });

  it('fails with exit 1 and one line naming the unproven package', async () => {
    const root = await statusCopy('cli-edited', (s) =>
      s.replace(/(Package: dash\n(?:[^\n]+\n)*?Version: )([^\n]+)/, (_, h: string, v: string) => `${h}${v}~imgfactory1`),
    );
    const c = capture();
    const code = await main(['audit', root, '--suite', 'bookworm', '--no-updates', '--arch', ARCH, '--cache-dir', ARCHIVE_CACHE], { io: c.io });
    expect(code).toBe(1);
    expect(c.out).toEqual([]);
    expect(c.err.filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(c.err.join('\n')).toMatch(/error: .*dpkg\/status: 1 installed package not in any verified index: dash \S+~imgfactory1/);
  });

  it('exit 2 for a rootfs that is not a directory', async () => {
    const c = capture();
    expect(await main(['audit', join(tmp, 'nope'), '--suite', 'bookworm'], { io: c.io })).toBe(2);
  });
});
