/**
 * The archive client against the real Debian archive (the host's apt mirrors), through a
 * loopback proxy that damages one chosen response. Every case must be refused with its own
 * error code, and the cache must hold only files whose sha256 is their name.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cachedFilePath } from '../../src/archive/content-cache.js';
import { hostArchiveMirrors } from '../../src/archive/host-mirror.js';
import { loadPinnedKeys } from '../../src/archive/keyring.js';
import { parsePinnedKeys, type PinnedKey } from '../../src/archive/pinned-keys.js';
import { fetchVerifiedDeb } from '../../src/archive/pool-file.js';
import { fetchVerifiedArchive, type FetchVerifiedArchiveOptions, type VerifiedArchive } from '../../src/archive/verified-archive.js';
import { hostDebianArch } from '../../src/oci/platform.js';
import { flipByte, startTamperProxy, type TamperProxy } from '../helpers/tamper-proxy.js';

const ARCH = hostDebianArch(process.arch);
const SECURITY_INDEX = `dists/bookworm-security/main/binary-${ARCH}/Packages.xz`;
const RETRIES = 2;

let keys: PinnedKey[];
let main: TamperProxy;
let security: TamperProxy;
let tmp: string;
let cacheDir: string;
let n = 0;

beforeAll(async () => {
  keys = await loadPinnedKeys();
  const mirrors = await hostArchiveMirrors();
  main = await startTamperProxy(mirrors.mirror);
  security = await startTamperProxy(mirrors.securityMirror);
  tmp = await mkdtemp(join(tmpdir(), 'imgf-tamper-'));
});
afterAll(async () => {
  await main?.close();
  await security?.close();
  await rm(tmp, { recursive: true, force: true });
});
afterEach(() => {
  main.rules = [];
  security.rules = [];
});

/** A fresh cache per test, so each test sees exactly what it caused. */
function options(overrides: Partial<FetchVerifiedArchiveOptions> = {}): FetchVerifiedArchiveOptions {
  cacheDir = join(tmp, `cache-${++n}`);
  return {
    mirror: main.url,
    securityMirror: security.url,
    suite: 'bookworm-security',
    components: ['main'],
    architectures: [ARCH],
    updates: false,
    cacheDir,
    keys,
    now: new Date(),
    retries: RETRIES,
    retryDelayMs: 5,
    ...overrides,
  };
}

/** Only the security suite, from the security proxy (small: its index is a few hundred KB). */
const securityOnly = (o: Partial<FetchVerifiedArchiveOptions> = {}) => options({ mirror: security.url, ...o });

async function listFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

/** Every cached file is `sha256/<hex>` and its content hashes to `<hex>`; returns the hashes. */
async function assertCacheClean(dir: string): Promise<string[]> {
  const hashes: string[] = [];
  for (const file of await listFiles(dir)) {
    const rel = relative(dir, file);
    expect(rel, `unexpected file in the cache: ${rel}`).toMatch(/^sha256\/[0-9a-f]{64}$/);
    const hex = rel.slice('sha256/'.length);
    expect(
      createHash('sha256')
        .update(await readFile(file))
        .digest('hex'),
      rel,
    ).toBe(hex);
    hashes.push(hex);
  }
  return hashes.sort();
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: string; message: string; details?: Record<string, unknown> };
    if (!err.code) throw e;
    return { code: err.code, message: err.message, details: err.details ?? {} };
  }
  throw new Error('expected a refusal, got success');
}

describe('fetchVerifiedArchive against the real archive', () => {
  it('verifies bookworm-security and caches exactly the verified files', async () => {
    const o = securityOnly();
    const securityArchive = await fetchVerifiedArchive(o);
    expect(securityArchive.inReleases).toHaveLength(1);
    expect(securityArchive.inReleases[0]!.signers.map((s) => s.fingerprint)).toContain('05AB90340C0C5E797F44A8C8254CF3B5AEC0A8F0');
    const [index] = securityArchive.indexes;
    expect(index).toMatchObject({ suite: 'bookworm-security', component: 'main', architecture: ARCH, path: `main/binary-${ARCH}/Packages.xz` });
    expect(index!.packageCount).toBeGreaterThan(100);
    expect(await assertCacheClean(o.cacheDir)).toEqual([securityArchive.inReleases[0]!.sha256, index!.sha256].sort());

    // A second run with the same cache takes the index from the cache, not the network.
    const before = security.hits(SECURITY_INDEX);
    const again = await fetchVerifiedArchive({ ...o, now: new Date() });
    expect(security.hits(SECURITY_INDEX)).toBe(before);
    expect(again.indexes[0]!.packageCount).toBe(index!.packageCount);
  });

  it('re-downloads a cached file whose bytes no longer match its name', async () => {
    const o = securityOnly();
    const a = await fetchVerifiedArchive(o);
    const cached = cachedFilePath(o.cacheDir, a.indexes[0]!.sha256);
    await writeFile(cached, flipByte(readFileSync(cached), 100));
    const before = security.hits(SECURITY_INDEX);
    await fetchVerifiedArchive({ ...o, now: new Date() });
    expect(security.hits(SECURITY_INDEX)).toBe(before + 1);
    await assertCacheClean(o.cacheDir);
  });

  it('verifies bookworm with -updates and -security, and looks packages up base suite first', async () => {
    const o = options({ suite: 'bookworm', updates: true });
    const a = await fetchVerifiedArchive(o);
    expect(a.inReleases.map((r) => r.suite)).toEqual(['bookworm', 'bookworm-updates', 'bookworm-security']);
    expect(a.inReleases[0]!.url).toBe(`${main.url}/dists/bookworm/InRelease`);
    expect(a.inReleases[2]!.url).toBe(`${security.url}/dists/bookworm-security/InRelease`);
    expect(a.newestReleaseDate.getTime()).toBe(Math.max(...a.inReleases.map((r) => Date.parse(r.date))));
    const base = a.indexes.find((x) => x.suite === 'bookworm')!;
    expect(base.path).toBe(`main/binary-${ARCH}/Packages.gz`);
    expect(base.packageCount).toBeGreaterThan(50_000);

    // Debian folds security fixes into point releases: the same version is then in the base
    // suite and in -security, and the base suite is where the lookup finds it first.
    const inBoth = a
      .entries()
      .filter((p) => p.suite === 'bookworm-security')
      .map((p) => a.findAll(p.package, p.version, p.architecture))
      .filter((list) => list.some((p) => p.suite === 'bookworm'));
    expect(inBoth.length).toBeGreaterThan(0);
    for (const list of inBoth) {
      expect(list[0]!.suite).toBe('bookworm');
      expect(a.find(list[0]!.package, list[0]!.version, list[0]!.architecture)).toBe(list[0]);
    }
    // Every entry is found again by its name, version and architecture, and by its hash.
    for (const p of a.entries().slice(0, 2000)) {
      expect(a.findAll(p.package, p.version, p.architecture)).toContain(p);
      expect(a.findBySha256(p.sha256)).toContain(p);
    }
    expect(a.find('no-such-package', '1.0', ARCH)).toBeUndefined();
    await assertCacheClean(o.cacheDir);
  });
});

describe('tampering, refused with one code per case', () => {
  it('INRELEASE_BAD_SIGNATURE: one byte of the InRelease signed text flipped', async () => {
    main.rules = [{ pathEndsWith: 'dists/bookworm/InRelease', mutate: (b) => flipByte(b, b.indexOf('\nDate: ') + 10) }];
    const r = await refusal(fetchVerifiedArchive(options({ suite: 'bookworm' })));
    expect(r.code).toBe('INRELEASE_BAD_SIGNATURE');
    expect(r.message).toContain('dists/bookworm/InRelease');
    expect(r.message.split('\n')).toHaveLength(1);
    expect(await assertCacheClean(cacheDir)).toEqual([]);
  });

  it('INRELEASE_SIGNATURE_CORRUPT: one byte of an InRelease signature flipped', async () => {
    main.rules = [{ pathEndsWith: 'dists/bookworm/InRelease', mutate: (b) => flipByte(b, signatureBodyOffset(b, 300)) }];
    const r = await refusal(fetchVerifiedArchive(options({ suite: 'bookworm' })));
    expect(r.code).toBe('INRELEASE_SIGNATURE_CORRUPT');
    expect(r.message).toContain('dists/bookworm/InRelease');
    expect(await assertCacheClean(cacheDir)).toEqual([]);
  });

  it('INRELEASE_UNTRUSTED_KEY: InRelease re-signed by a key not in keys/', async () => {
    const { privateKey } = await openpgp.generateKey({ userIDs: [{ name: 'intruder' }], type: 'curve25519', format: 'object' });
    security.rules = [{ pathEndsWith: 'dists/bookworm-security/InRelease', mutate: (b) => resign(b, privateKey) }];
    const r = await refusal(fetchVerifiedArchive(securityOnly()));
    expect(r.code).toBe('INRELEASE_UNTRUSTED_KEY');
    expect(r.message).toContain('dists/bookworm-security/InRelease');
    expect(await assertCacheClean(cacheDir)).toEqual([]);
  });

  it('INDEX_HASH_MISMATCH: one byte of a Packages file flipped', async () => {
    security.rules = [{ pathEndsWith: SECURITY_INDEX, mutate: (b) => flipByte(b, Math.floor(b.length / 2)) }];
    const r = await refusal(fetchVerifiedArchive(securityOnly()));
    expect(r.code).toBe('INDEX_HASH_MISMATCH');
    expect(r.message).toContain(SECURITY_INDEX);
    expect(await assertCacheClean(cacheDir)).toHaveLength(1); // the verified InRelease only
  });

  it('INDEX_SIZE_MISMATCH: a Packages file served shorter, with a matching Content-Length', async () => {
    security.rules = [{ pathEndsWith: SECURITY_INDEX, mutate: (b) => b.subarray(0, b.length - 1) }];
    const r = await refusal(fetchVerifiedArchive(securityOnly()));
    expect(r.code).toBe('INDEX_SIZE_MISMATCH');
    expect(r.message).toContain(SECURITY_INDEX);
    expect(await assertCacheClean(cacheDir)).toHaveLength(1);
  });

  it('FETCH_TRUNCATED: the connection cut part-way through a Packages file, retried, then refused', async () => {
    security.rules = [{ pathEndsWith: SECURITY_INDEX, truncate: 1000 }];
    const before = security.hits(SECURITY_INDEX);
    const r = await refusal(fetchVerifiedArchive(securityOnly()));
    expect(r.code).toBe('FETCH_TRUNCATED');
    expect(r.message).toContain(SECURITY_INDEX);
    expect(security.hits(SECURITY_INDEX) - before).toBe(RETRIES + 1);
    expect(await assertCacheClean(cacheDir)).toHaveLength(1);
  });

  it('RELEASE_MISSING_ENTRY: a correctly signed Release that lists no Packages index for the architecture', async () => {
    // The real Release text without its main/binary-<arch>/Packages* lines, signed by a key pinned for this test.
    const { privateKey, publicKey } = await openpgp.generateKey({ userIDs: [{ name: 'test archive' }], type: 'curve25519', format: 'object' });
    const testKeys = await parsePinnedKeys([publicKey.armor()]);
    const strip = async (b: Buffer) => {
      const text = (await openpgp.readCleartextMessage({ cleartextMessage: b.toString('utf8') })).getText();
      const kept = text.split('\n').filter((l) => !l.includes(` main/binary-${ARCH}/Packages`));
      expect(kept.length).toBeLessThan(text.split('\n').length);
      return signed(kept.join('\n'), privateKey);
    };
    security.rules = [{ pathEndsWith: 'dists/bookworm-security/InRelease', mutate: strip }];
    const r = await refusal(fetchVerifiedArchive(securityOnly({ keys: testKeys })));
    expect(r.code).toBe('RELEASE_MISSING_ENTRY');
    expect(r.message).toContain(`main/binary-${ARCH}/Packages`);
    await assertCacheClean(cacheDir);
  });

  it('RELEASE_MISSING_ENTRY: a component the genuine Release does not have', async () => {
    const r = await refusal(fetchVerifiedArchive(securityOnly({ components: ['no-such-component'] })));
    expect(r.code).toBe('RELEASE_MISSING_ENTRY');
    await assertCacheClean(cacheDir);
  });

  it('FETCH_FAILED: InRelease answered 404, retried, then refused naming the status', async () => {
    security.rules = [{ pathEndsWith: 'dists/bookworm-security/InRelease', status: 404 }];
    const before = security.hits('dists/bookworm-security/InRelease');
    const r = await refusal(fetchVerifiedArchive(securityOnly()));
    expect(r.code).toBe('FETCH_FAILED');
    expect(r.details.status).toBe(404);
    expect(r.message).toContain('HTTP 404');
    expect(security.hits('dists/bookworm-security/InRelease') - before).toBe(RETRIES + 1);
    expect(await assertCacheClean(cacheDir)).toEqual([]);
  });

  it('FETCH_FAILED: a Packages file answered 500 on every attempt', async () => {
    security.rules = [{ pathEndsWith: SECURITY_INDEX, status: 500 }];
    const r = await refusal(fetchVerifiedArchive(securityOnly()));
    expect(r.code).toBe('FETCH_FAILED');
    expect(r.details.status).toBe(500);
    expect(await assertCacheClean(cacheDir)).toHaveLength(1);
  });

  it('a single 500 is retried and the fetch succeeds', async () => {
    security.rules = [{ pathEndsWith: SECURITY_INDEX, status: 500, times: 1 }];
    const a = await fetchVerifiedArchive(securityOnly());
    expect(a.indexes[0]!.packageCount).toBeGreaterThan(100);
    expect(await assertCacheClean(cacheDir)).toHaveLength(2);
  });
});

describe('fetchVerifiedDeb', () => {
  let archive: VerifiedArchive;
  let deb: ReturnType<VerifiedArchive['findAll']>[number];

  beforeAll(async () => {
    archive = await fetchVerifiedArchive(securityOnly());
    // The smallest .deb of the index keeps the download short.
    deb = [...archive.entries()].sort((a, b) => a.size - b.size)[0]!;
  });

  it('downloads a pool file whose size and SHA256 match its verified index entry', async () => {
    const dest = join(tmp, 'debs', 'good.deb');
    const got = await fetchVerifiedDeb(archive, deb, dest);
    expect(got).toEqual({ file: dest, sha256: deb.sha256, size: deb.size });
    expect(createHash('sha256').update(readFileSync(dest)).digest('hex')).toBe(deb.sha256);
  });

  it('DEB_HASH_MISMATCH: one byte of the .deb flipped; nothing is left at the destination', async () => {
    security.rules = [{ pathEndsWith: deb.filename, mutate: (b) => flipByte(b, Math.floor(b.length / 2)) }];
    const dest = join(tmp, 'debs-bad', 'tampered.deb');
    const r = await refusal(fetchVerifiedDeb(archive, deb, dest));
    expect(r.code).toBe('DEB_HASH_MISMATCH');
    expect(r.message).toContain(deb.filename);
    expect(await listFiles(join(tmp, 'debs-bad'))).toEqual([]);
  });

  it('DEB_SIZE_MISMATCH: a .deb with bytes appended', async () => {
    security.rules = [{ pathEndsWith: deb.filename, mutate: (b) => Buffer.concat([b, Buffer.from('x')]) }];
    const dest = join(tmp, 'debs-long', 'long.deb');
    const r = await refusal(fetchVerifiedDeb(archive, deb, dest));
    expect(r.code).toBe('DEB_SIZE_MISMATCH');
    expect(await listFiles(join(tmp, 'debs-long'))).toEqual([]);
  });
});

/** Offset in `bytes` of the n-th base64 character of the signature armor body. */
function signatureBodyOffset(bytes: Buffer, nth: number): number {
  const text = bytes.toString('latin1');
  let at = text.indexOf('\n\n', text.indexOf('-----BEGIN PGP SIGNATURE-----')) + 2;
  let seen = 0;
  for (;;) {
    const c = text[at]!;
    if (c === '=' || c === '-') throw new RangeError('past the signature body');
    if (c !== '\n') {
      if (seen === nth) return at;
      seen++;
    }
    at++;
  }
}

async function signed(text: string, key: openpgp.PrivateKey): Promise<Buffer> {
  return Buffer.from(await openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: [key] }), 'utf8');
}

async function resign(b: Buffer, key: openpgp.PrivateKey): Promise<Buffer> {
  const text = (await openpgp.readCleartextMessage({ cleartextMessage: b.toString('utf8') })).getText();
  return signed(text, key);
}
