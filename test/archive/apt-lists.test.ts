/**
 * apt's lists written from the verified indexes: names apt itself would give them (checked
 * against the machine's real apt-get), only the build architecture's indexes, decompressed, and
 * never from a cache entry that no longer matches its hash.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aptListFileName, aptListFiles, writeAptLists } from '../../src/archive/apt-lists.js';
import { cachedFilePath, storeVerified } from '../../src/archive/content-cache.js';
import type { VerifiedIndex } from '../../src/archive/verified-archive.js';
import { ArchiveError } from '../../src/errors.js';
import { sha256Hex } from '../../src/oci/digest.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgfactory-apt-lists-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What the real apt-get names the InRelease of `uri`'s `suite` (`update --print-uris` fetches nothing). */
function aptsOwnName(uri: string, suite: string): string {
  const sources = join(dir, 'sources.list');
  execFileSync('mkdir', ['-p', join(dir, 'lists/partial')]);
  execFileSync('sh', ['-c', `printf '%s\\n' "$1" > "$2"`, 'sh', `deb ${uri} ${suite} main`, sources]);
  const out = execFileSync(
    'apt-get',
    [
      ...['-o', `Dir::Etc::SourceList=${sources}`, '-o', 'Dir::Etc::SourceParts=/nonexistent', '-o', `Dir::State::Lists=${join(dir, 'lists')}`],
      ...['-o', `Dir::Cache=${join(dir, 'cache')}`, '-o', 'Debug::NoLocking=1', '-o', 'APT::Architectures=amd64', '-o', 'Acquire::Languages=none'],
      ...['update', '--print-uris'],
    ],
    { env: { PATH: process.env.PATH, LC_ALL: 'C' } },
  ).toString();
  const line = out.split('\n').find((l) => l.includes('/InRelease'));
  if (!line) throw new Error(`apt-get printed no InRelease line:\n${out}`);
  // `'URI' NAME SIZE [HASH]`; the URI is printed decoded and may hold spaces.
  return /^'.*' (\S+) \d+\s*/.exec(line)![1]!;
}

describe('aptListFileName', () => {
  it.each([
    'http://h.invalid/debian',
    'http://h.invalid/debian/',
    'https://user:secret@h.invalid:8443/debian',
    'http://m_x.invalid/deb~ian=1!',
    'http://h.invalid/d%C3%A9bian',
    'http://h.invalid/dé%20bian',
    'http://[::1]:3142/debian',
  ])('names %s as apt-get does', (uri) => {
    const ours = aptListFileName(`${uri.replace(/\/$/, '')}/dists/bookworm/InRelease`);
    expect(ours).toBe(aptsOwnName(uri, 'bookworm'));
  });

  it('drops user and password and keeps nothing of the scheme', () => {
    const name = aptListFileName('https://user:secret@h.invalid/debian/dists/bookworm/InRelease');
    expect(name).toBe('h.invalid_debian_dists_bookworm_InRelease');
    expect(name).not.toContain('secret');
  });
});

const index = (suite: string, architecture: string, path: string, sha256: string): VerifiedIndex => ({
  suite,
  component: 'main',
  architecture,
  archiveUrl: 'http://h.invalid/debian',
  path,
  url: `http://h.invalid/debian/dists/${suite}/${path}`,
  sha256,
  size: 1,
  packageCount: 1,
});

describe('writeAptLists', () => {
  // 0xE9 is not UTF-8: the lists must hold the bytes the Release signed, not a decoding of them.
  const packagesText = Buffer.from('Package: a\nVersion: 1\nDescription: caf\xe9\n\n', 'latin1');

  async function cachedArchive() {
    const cacheDir = join(dir, 'cache');
    const store = async (bytes: Uint8Array) => {
      const sha256 = sha256Hex(bytes);
      await storeVerified(cacheDir, sha256, bytes);
      return sha256;
    };
    const inRelease = await store(Buffer.from('-----BEGIN PGP SIGNED MESSAGE-----\nSuite: bookworm\n'));
    const gz = await store(gzipSync(packagesText));
    const xz = await store(execFileSync('xz', ['--stdout'], { input: packagesText }));
    const arm = await store(Buffer.from('Package: b\n'));
    return {
      cacheDir,
      gz,
      inReleases: [{ suite: 'bookworm', url: 'http://h.invalid/debian/dists/bookworm/InRelease', sha256: inRelease, date: '', signers: [] }],
      indexes: [
        index('bookworm', 'amd64', 'main/binary-amd64/Packages.gz', gz),
        index('bookworm-security', 'amd64', 'main/binary-amd64/Packages.xz', xz),
        index('bookworm', 'arm64', 'main/binary-arm64/Packages', arm),
      ],
    };
  }

  it("writes the InReleases and the architecture's indexes, decompressed, under apt's names", async () => {
    const archive = await cachedArchive();
    const out = join(dir, 'lists');
    await writeFile(join(dir, 'stale'), 'x');
    const files = await writeAptLists(archive, 'amd64', out);
    expect(files.map((f) => f.name)).toEqual(aptListFiles(archive, 'amd64').map((f) => f.name));
    expect((await readdir(out)).sort()).toEqual([
      'h.invalid_debian_dists_bookworm-security_main_binary-amd64_Packages',
      'h.invalid_debian_dists_bookworm_InRelease',
      'h.invalid_debian_dists_bookworm_main_binary-amd64_Packages',
      'partial',
    ]);
    expect(await readFile(join(out, 'h.invalid_debian_dists_bookworm_main_binary-amd64_Packages'))).toEqual(packagesText);
    expect(await readFile(join(out, 'h.invalid_debian_dists_bookworm-security_main_binary-amd64_Packages'))).toEqual(packagesText);
    // Another architecture's lists never reach this root.
    expect((await writeAptLists(archive, 'arm64', out)).map((f) => f.name)).toEqual([
      'h.invalid_debian_dists_bookworm_InRelease',
      'h.invalid_debian_dists_bookworm_main_binary-arm64_Packages',
    ]);
    expect(await readdir(out)).not.toContain('h.invalid_debian_dists_bookworm_main_binary-amd64_Packages');
  });

  it('refuses a cache entry whose bytes changed on disk since they were verified', async () => {
    const archive = await cachedArchive();
    const file = cachedFilePath(archive.cacheDir, archive.gz);
    const bytes = await readFile(file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await writeFile(file, bytes);
    const err = await writeAptLists(archive, 'amd64', join(dir, 'lists')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArchiveError);
    expect((err as ArchiveError).code).toBe('INDEX_HASH_MISMATCH');
  });
});
