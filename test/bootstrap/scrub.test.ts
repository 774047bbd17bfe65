/**
 * The drift sources README "Reproducibility" names are really removed from a build root: the
 * host's hostname and resolv.conf, machine-id, the ldconfig aux-cache, logs, apt lists and caches,
 * `*-old` and `-` backup files, shadow day numbers and Python bytecode. Over a synthetic root
 * (scrubRoot is the step every build runs before packing), so each rule fails here by name.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrubRoot } from '../../src/bootstrap/apply-rules.js';

const SDE = 1_700_000_000;
const DAY = Math.floor(SDE / 86400);

/** Every path a build may leave behind that differs from build to build. */
const DRIFT = [
  'etc/hostname',
  'etc/resolv.conf',
  'var/lib/dbus/machine-id',
  'var/cache/ldconfig/aux-cache',
  'var/log/dpkg.log',
  'var/log/apt/history.log',
  'var/lib/apt/lists/mirror.invalid_debian_dists_bookworm_InRelease',
  'var/cache/apt/pkgcache.bin',
  'var/cache/debconf/config.dat-old',
  'var/cache/debconf/templates.dat-old',
  'var/lib/dpkg/status-old',
  'var/lib/dpkg/diversions-old',
  'var/lib/dpkg/statoverride-old',
  'etc/passwd-',
  'etc/group-',
  'etc/shadow-',
  'etc/gshadow-',
  'usr/lib/python3/dist-packages/pkg/__pycache__/mod.cpython-311.pyc',
  'usr/lib/python3.11/__pycache__/os.cpython-311.pyc',
  'usr/lib/python3.11/stray.pyc',
  'usr/local/lib/python3.11/dist-packages/x/__pycache__/y.cpython-311.pyc',
  // python3-minimal's postinst byte-compiles Debian's helpers here (found in the python3 image).
  'usr/share/python3/__pycache__/py3versions.cpython-311.pyc',
  'usr/share/python3/debpython/__pycache__/files.cpython-311.pyc',
  'usr/share/someapp/__pycache__/main.cpython-311.pyc',
];

/** What must survive: the files the drift sources sit next to. */
const KEPT = [
  'etc/passwd',
  'etc/group',
  'var/lib/dpkg/status',
  'var/cache/debconf/config.dat',
  'usr/lib/python3/dist-packages/pkg/mod.py',
  'usr/lib/python3.11/os.py',
  'usr/lib/other/keep.pyc', // not under a python3 library directory nor a __pycache__: not a cache
  'usr/share/python3/py3versions.py',
];

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'imgfactory-scrub-'));
  for (const p of [...DRIFT, ...KEPT]) {
    await mkdir(dirname(join(root, p)), { recursive: true });
    await writeFile(join(root, p), `build-specific ${p} ${Math.random()}\n`);
  }
  await writeFile(join(root, 'etc/machine-id'), '0123456789abcdef0123456789abcdef\n');
  await writeFile(join(root, 'etc/shadow'), `root:*:${DAY + 30}:0:99999:7:::\napp:!:${DAY - 5}:0:99999:7:::\n`);
  await scrubRoot(root, SDE);
});
afterAll(() => rm(root, { recursive: true, force: true }));

const exists = (p: string) =>
  stat(join(root, p)).then(
    () => true,
    () => false,
  );

describe('scrubRoot removes every drift source', () => {
  it.each(DRIFT)('%s is gone', async (p) => {
    expect(await exists(p)).toBe(false);
  });

  it.each(KEPT)('%s stays', async (p) => {
    expect(await exists(p)).toBe(true);
  });

  it('keeps the directories packages own, empty: var/log, apt lists and caches', async () => {
    expect(await readdir(join(root, 'var/log'))).toEqual(['apt']);
    expect(await readdir(join(root, 'var/log/apt'))).toEqual([]);
    expect(await readdir(join(root, 'var/lib/apt/lists'))).toEqual([]);
    expect(await readdir(join(root, 'var/cache/apt'))).toEqual([]);
  });

  it('empties machine-id (systemd: uninitialized) rather than deleting it', async () => {
    expect(await readFile(join(root, 'etc/machine-id'), 'utf8')).toBe('');
  });

  it('clamps shadow day numbers to SOURCE_DATE_EPOCH', async () => {
    const days = (await readFile(join(root, 'etc/shadow'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => Number(l.split(':')[2]));
    expect(days).toEqual([DAY, DAY - 5]);
  });
});
