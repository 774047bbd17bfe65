/**
 * A full disk while the verified-file cache fills: the cache directory is a real 1 MiB tmpfs and
 * the archive's indexes (tens of MB) come from the host's mirror. The error is typed (DISK_FULL,
 * exit 4 through the CLI, one line), and no partial or temporary file is left in the cache.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fetchVerifiedArchive } from '../../src/archive/verified-archive.js';
import { hostArchiveMirrors } from '../../src/archive/host-mirror.js';
import { loadPinnedKeys } from '../../src/archive/keyring.js';
import { sha256Hex } from '../../src/oci/digest.js';
import { hostDebianArch } from '../../src/oci/platform.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const ARCH = hostDebianArch(process.arch);
let cache: string;
let mounted = false;

/**
 * What the cache holds must be whole verified files: every file (hidden ones included) is named
 * `sha256/<hex>` and its bytes hash to that name. A temporary or truncated file fails this.
 */
async function expectOnlyWholeFiles(dir: string): Promise<void> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries.filter((x) => !x.isDirectory())) {
    const rel = join(e.parentPath, e.name).slice(dir.length + 1);
    expect(rel).toMatch(/^sha256\/[0-9a-f]{64}$/);
    expect(sha256Hex(await readFile(join(dir, rel)))).toBe(rel.slice('sha256/'.length));
  }
}

beforeAll(async () => {
  cache = join(await tempDir('imgf-cache-full-'), 'cache');
  await mkdir(cache);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', cache]);
  mounted = true;
});

// Each test starts from an empty cache (and so from the same free space).
beforeEach(async () => {
  for (const name of await readdir(cache)) await rm(join(cache, name), { recursive: true, force: true });
});

afterAll(() => {
  if (mounted) execFileSync('umount', [cache]);
});

describe('disk full in the archive cache', () => {
  it('archive verify --cache-dir on a full tmpfs: DISK_FULL, exit 4, one line, nothing partial left', async () => {
    const r = await runCli(['archive', 'verify', '--suite', 'bookworm', '--arch', ARCH, '--cache-dir', cache]);
    expect(r.status).toBe(4);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('error'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(cache);
    await expectOnlyWholeFiles(cache);
  }, 300_000);

  it('fetchVerifiedArchive: a DISK_FULL error naming the cache file, and the cache holds no temporary file', async () => {
    const { mirror, securityMirror } = await hostArchiveMirrors();
    const err = await fetchVerifiedArchive({
      mirror,
      securityMirror,
      suite: 'bookworm',
      components: ['main'],
      architectures: [ARCH],
      updates: true,
      keys: await loadPinnedKeys(),
      now: new Date(),
      cacheDir: cache,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DISK_FULL', exitStatus: 4 });
    expect((err as Error).message.split('\n')).toHaveLength(1);
    expect((err as { details?: { path?: string } }).details?.path).toMatch(new RegExp(`^${cache}/sha256/[0-9a-f]{64}$`));
    await expectOnlyWholeFiles(cache);
  }, 300_000);
});
