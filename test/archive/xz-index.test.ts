/**
 * .xz Packages indexes (Debian's -updates and -security publish only .xz) through
 * fetchVerifiedArchive, from a signed archive on loopback: the bytes hashed and parsed are the
 * bytes the Release signed, whatever their encoding; a corrupt stream is INDEX_MALFORMED in
 * one line; xz never outlives the read.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectionOf } from '../helpers/error-code.js';
import { loadPinnedKeys } from '../../src/archive/keyring.js';
import type { PinnedKey } from '../../src/archive/pinned-keys.js';
import { fetchVerifiedArchive, type VerifiedArchive } from '../../src/archive/verified-archive.js';
import { ArchiveError } from '../../src/errors.js';
import { hostDebianArch } from '../../src/oci/platform.js';
import { childProcesses } from '../helpers/processes.js';
import { startTestArchive, type TestArchive } from '../helpers/test-archive.js';
import { tempDir } from '../helpers/tmp.js';

const ARCH = hostDebianArch(process.arch);
let dir: string;
let archive: TestArchive;
let keys: PinnedKey[];

const stanza = (name: string, description: string) =>
  Buffer.concat([
    Buffer.from(`Package: ${name}\nVersion: 1.0-1\nArchitecture: ${ARCH}\nMaintainer: tests <tests@test.invalid>\n`),
    Buffer.from(`Description: ${description}\n`, 'latin1'),
    Buffer.from(`Filename: pool/main/${name}_1.0-1_${ARCH}.deb\nSize: 1234\nSHA256: ${'ab'.repeat(32)}\n\n`),
  ]);

/** 0xE9 alone (é in Latin-1) is not UTF-8: decoded as text it would become U+FFFD, three bytes. */
const latin1Index = Buffer.concat([stanza('cafe', 'caf\xe9 au lait'), stanza('plain', 'ascii only')]);
const xz = (bytes: Uint8Array) => execFileSync('xz', ['--stdout'], { input: bytes });

beforeAll(async () => {
  dir = await tempDir('imgf-xz-index-');
  archive = await startTestArchive(dir, ARCH);
  keys = await loadPinnedKeys(archive.keysDir);
}, 120_000);
afterAll(async () => {
  await archive?.close();
});

let cacheCount = 0;
function fetchSuite(suite: string): Promise<VerifiedArchive> {
  return fetchVerifiedArchive({
    mirror: archive.url,
    securityMirror: archive.url,
    suite,
    components: ['main'],
    architectures: [ARCH],
    updates: false,
    // A cache per fetch: each test proves its own bytes, not a copy verified by another.
    cacheDir: join(dir, `cache-${cacheCount++}`),
    keys,
    now: new Date(),
    retries: 0,
  });
}

const archiveError = (p: Promise<unknown>): Promise<ArchiveError> => rejectionOf(p, ArchiveError);

describe('an .xz Packages index', () => {
  it('whose content is not valid UTF-8 verifies against the signed uncompressed entry and parses', async () => {
    expect(latin1Index.includes(0xe9)).toBe(true);
    await archive.publishIndexFiles('latin1-xz', { Packages: latin1Index, 'Packages.xz': xz(latin1Index) });
    const a = await fetchSuite('latin1-xz');
    expect(a.indexes).toMatchObject([{ path: `main/binary-${ARCH}/Packages.xz`, packageCount: 2 }]);
    expect(a.entries()).toMatchObject([
      { package: 'cafe', version: '1.0-1', filename: `pool/main/cafe_1.0-1_${ARCH}.deb`, suite: 'latin1-xz' },
      { package: 'plain', version: '1.0-1' },
    ]);
  });

  it('gives the same package entries as the same content through .gz', async () => {
    await archive.publishIndexFiles('same-gz', { Packages: latin1Index, 'Packages.gz': gzipSync(latin1Index) });
    await archive.publishIndexFiles('same-xz', { Packages: latin1Index, 'Packages.xz': xz(latin1Index) });
    const [gz, x] = [await fetchSuite('same-gz'), await fetchSuite('same-xz')];
    expect(gz.indexes[0]?.path).toMatch(/\.gz$/);
    expect(x.indexes[0]?.path).toMatch(/\.xz$/);
    // Everything but the suite each came from.
    const entries = (a: VerifiedArchive) => a.entries().map(({ suite: _suite, ...entry }) => entry);
    expect(entries(gz)).toHaveLength(2);
    expect(entries(x)).toEqual(entries(gz));
  });

  it('corrupt, under a Release signed over the corrupt bytes: INDEX_MALFORMED, one line naming xz, no xz left behind', async () => {
    const whole = xz(Buffer.concat(Array.from({ length: 2000 }, (_, i) => stanza(`p${i}`, 'x'.repeat(200)))));
    await archive.publishIndexFiles('corrupt-xz', { 'Packages.xz': whole.subarray(0, whole.length >> 1) });
    const e = await archiveError(fetchSuite('corrupt-xz'));
    expect(e.code).toBe('INDEX_MALFORMED');
    expect(e.message.split('\n')).toHaveLength(1);
    expect(e.message).toMatch(/Packages\.xz: does not decompress \(xz failed \(exit 1\): xz: \(stdin\): Unexpected end of input\)$/);
    expect(childProcesses('xz')).toEqual([]);
  });

  it('malformed at its first line, with megabytes still to come: INDEX_MALFORMED from the parser, and xz is stopped', async () => {
    const rest = Buffer.concat(Array.from({ length: 20_000 }, (_, i) => stanza(`p${i}`, 'x'.repeat(200))));
    const index = Buffer.concat([Buffer.from('this line has no colon\n'), rest]);
    await archive.publishIndexFiles('malformed-xz', { 'Packages.xz': xz(index) });
    const e = await archiveError(fetchSuite('malformed-xz'));
    expect(e.code).toBe('INDEX_MALFORMED');
    expect(e.message).toContain('expected "Field: value"');
    expect(childProcesses('xz')).toEqual([]);
  });
});
