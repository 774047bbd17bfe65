import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyInRelease } from '../../src/archive/inrelease.js';
import { loadPinnedKeys } from '../../src/archive/keyring.js';
import { parsePinnedKeys, type PinnedKey } from '../../src/archive/pinned-keys.js';
import { REPO_ROOT } from '../helpers/paths.js';

const FIXTURES = join(REPO_ROOT, 'test/fixtures/archive');
const BOOKWORM = readFileSync(join(FIXTURES, 'bookworm.InRelease'));
const SECURITY = readFileSync(join(FIXTURES, 'bookworm-security.InRelease'));
/** After both fixtures' Dates, before the security one's Valid-Until. */
const NOW = new Date('2026-11-23T00:00:00Z');

const FPR = {
  bookwormAutomatic: 'B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8',
  trixieAutomatic: '04B54C3CDCA79751B16BC6B5225629DF75B188BD',
  bookwormStable: '4D64FEC119C2029067D6E791F8D2585B8783D481',
  bookwormSecurity: '05AB90340C0C5E797F44A8C8254CF3B5AEC0A8F0',
};

let debianKeys: PinnedKey[];
beforeAll(async () => {
  debianKeys = await loadPinnedKeys();
});

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? `not an ImgfactoryError: ${String(e)}`;
  }
  return undefined;
}

/** Offset in `bytes` of the n-th base64 character of the signature armor body. */
function signatureBodyOffset(bytes: Buffer, n: number): number {
  const text = bytes.toString('latin1');
  const begin = text.indexOf('-----BEGIN PGP SIGNATURE-----');
  let at = text.indexOf('\n\n', begin) + 2; // after the armor headers
  let seen = 0;
  for (;;) {
    const c = text[at]!;
    if (c === '=' || c === '-') throw new RangeError('past the signature body');
    if (c !== '\n') {
      if (seen === n) return at;
      seen++;
    }
    at++;
  }
}

function flipAt(bytes: Buffer, offset: number): Buffer {
  const out = Buffer.from(bytes);
  out[offset] = out[offset]! ^ 0x01;
  return out;
}

/** The signed Release text of a real InRelease, as openpgp.js reads it. */
async function signedTextOf(bytes: Buffer): Promise<string> {
  return (await openpgp.readCleartextMessage({ cleartextMessage: bytes.toString('utf8') })).getText();
}

async function testKey(name: string, date = new Date('2026-01-01T00:00:00Z'), keyExpirationTime?: number) {
  return openpgp.generateKey({
    userIDs: [{ name, email: `${name}@test.invalid` }],
    type: 'curve25519',
    date,
    format: 'object',
    ...(keyExpirationTime ? { keyExpirationTime } : {}),
  });
}

async function clearsign(text: string, signingKeys: openpgp.PrivateKey[], date: Date): Promise<Buffer> {
  const armored = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys, date });
  return Buffer.from(armored, 'utf8');
}

function testRelease(date: Date, extra = ''): string {
  return [
    'Origin: Test',
    'Suite: teststable',
    'Codename: testsuite',
    `Date: ${date.toUTCString()}`,
    extra,
    'SHA256:',
    ` ${'0'.repeat(64)} 0 main/binary-amd64/Packages`,
  ]
    .filter(Boolean)
    .join('\n');
}

describe('verifyInRelease on real Debian InRelease files', () => {
  it('accepts bookworm, naming every pinned signer', async () => {
    const r = await verifyInRelease(BOOKWORM, debianKeys, { suite: 'bookworm', now: NOW });
    expect(r.signers.map((s) => s.fingerprint)).toEqual([FPR.bookwormAutomatic, FPR.trixieAutomatic, FPR.bookwormStable]);
    expect(r.signers[0]).toMatchObject({
      userId: 'Debian Archive Automatic Signing Key (12/bookworm) <ftpmaster@debian.org>',
      signingKeyId: '6ED0E7B82643E131',
    });
    expect(r.ignoredSignatures).toEqual([]);
    expect(r.codename).toBe('bookworm');
    expect(r.date.toISOString()).toBe('2026-07-11T10:16:37.000Z');
    expect(r.sha256).toBe(createHash('sha256').update(BOOKWORM).digest('hex'));
    expect(r.files.get('main/binary-amd64/Packages.gz')?.size).toBe(12084798);
  });

  it('matches the requested suite against Suite as well as Codename', async () => {
    const r = await verifyInRelease(BOOKWORM, debianKeys, { suite: 'oldstable', now: NOW });
    expect(r.codename).toBe('bookworm');
  });

  it('accepts bookworm-security and records the unpinned bullseye signature as ignored', async () => {
    const r = await verifyInRelease(SECURITY, debianKeys, { suite: 'bookworm-security', now: NOW });
    expect(r.signers.map((s) => s.fingerprint)).toEqual([FPR.bookwormSecurity]);
    expect(r.ignoredSignatures).toEqual([{ keyId: '54404762BBB6E853', reason: 'unknown-key' }]);
    expect(r.validUntil?.toISOString()).toBe('2026-11-28T00:53:02.000Z');
  });

  it('INRELEASE_BAD_SIGNATURE: one byte of the signed text flipped', async () => {
    const at = BOOKWORM.indexOf('Version: 12.') + 'Version: 12.'.length;
    expect(await codeOf(verifyInRelease(flipAt(BOOKWORM, at), debianKeys, { suite: 'bookworm', now: NOW }))).toBe('INRELEASE_BAD_SIGNATURE');
    const inHashes = BOOKWORM.indexOf(' main/binary-amd64/Packages.gz') - 20;
    expect(await codeOf(verifyInRelease(flipAt(BOOKWORM, inHashes), debianKeys, { suite: 'bookworm', now: NOW }))).toBe('INRELEASE_BAD_SIGNATURE');
  });

  it('INRELEASE_SIGNATURE_CORRUPT: one byte of a signature value flipped, even though two other signatures verify', async () => {
    // Character 300 of the armor body lies in the first (RSA-4096) signature's value.
    const tampered = flipAt(BOOKWORM, signatureBodyOffset(BOOKWORM, 300));
    expect(await codeOf(verifyInRelease(tampered, debianKeys, { suite: 'bookworm', now: NOW }))).toBe('INRELEASE_SIGNATURE_CORRUPT');
    // ...and in the second signature's value.
    const second = flipAt(BOOKWORM, signatureBodyOffset(BOOKWORM, 1100));
    expect(await codeOf(verifyInRelease(second, debianKeys, { suite: 'bookworm', now: NOW }))).toBe('INRELEASE_SIGNATURE_CORRUPT');
  });

  it('INRELEASE_MALFORMED: damaged armor, unsigned text, not UTF-8', async () => {
    const cut = BOOKWORM.subarray(0, BOOKWORM.indexOf('-----END PGP SIGNATURE-----'));
    expect(await codeOf(verifyInRelease(cut, debianKeys, { suite: 'bookworm', now: NOW }))).toBe('INRELEASE_MALFORMED');
    // Character 10 lies in the first signature packet's header: the packet no longer parses.
    expect(await codeOf(verifyInRelease(flipAt(BOOKWORM, signatureBodyOffset(BOOKWORM, 10)), debianKeys, { suite: 'bookworm', now: NOW }))).toBe(
      'INRELEASE_MALFORMED',
    );
    const plain = Buffer.from(await signedTextOf(BOOKWORM));
    expect(await codeOf(verifyInRelease(plain, debianKeys, { suite: 'bookworm', now: NOW }))).toBe('INRELEASE_MALFORMED');
    expect(await codeOf(verifyInRelease(Buffer.from([0xff, 0xfe, 0x00]), debianKeys, { suite: 'bookworm', now: NOW }))).toBe('INRELEASE_MALFORMED');
  });

  it('RELEASE_SUITE_MISMATCH: a genuine InRelease of another suite', async () => {
    expect(await codeOf(verifyInRelease(BOOKWORM, debianKeys, { suite: 'trixie', now: NOW }))).toBe('RELEASE_SUITE_MISMATCH');
    expect(await codeOf(verifyInRelease(SECURITY, debianKeys, { suite: 'bookworm', now: NOW }))).toBe('RELEASE_SUITE_MISMATCH');
  });

  it('RELEASE_EXPIRED: now past Valid-Until', async () => {
    const validUntil = new Date('2026-11-28T00:53:02Z');
    await expect(verifyInRelease(SECURITY, debianKeys, { suite: 'bookworm-security', now: new Date(validUntil.getTime() - 1000) })).resolves.toBeDefined();
    expect(await codeOf(verifyInRelease(SECURITY, debianKeys, { suite: 'bookworm-security', now: validUntil }))).toBe('RELEASE_EXPIRED');
    expect(await codeOf(verifyInRelease(SECURITY, debianKeys, { suite: 'bookworm-security', now: new Date('2026-12-24T00:00:00Z') }))).toBe('RELEASE_EXPIRED');
  });

  it('RELEASE_DATE_IN_FUTURE: a host clock a day behind the Release', async () => {
    const dayBefore = new Date('2026-07-10T10:16:37Z');
    expect(await codeOf(verifyInRelease(BOOKWORM, debianKeys, { suite: 'bookworm', now: dayBefore }))).toBe('RELEASE_DATE_IN_FUTURE');
    // A minute behind is within the default clock-skew allowance, but not within zero.
    const minuteBefore = new Date('2026-07-11T10:15:37Z');
    await expect(verifyInRelease(BOOKWORM, debianKeys, { suite: 'bookworm', now: minuteBefore })).resolves.toBeDefined();
    expect(await codeOf(verifyInRelease(BOOKWORM, debianKeys, { suite: 'bookworm', now: minuteBefore, maxClockSkewMs: 0 }))).toBe('RELEASE_DATE_IN_FUTURE');
  });

  it('KEYRING_INVALID: nothing to verify with', async () => {
    expect(await codeOf(verifyInRelease(BOOKWORM, [], { suite: 'bookworm', now: NOW }))).toBe('KEYRING_INVALID');
  });
});

describe('verifyInRelease with keys made for the test', () => {
  it('INRELEASE_UNTRUSTED_KEY: the real Release text re-signed by a fresh key that is not pinned', async () => {
    const { privateKey } = await testKey('intruder');
    const resigned = await clearsign(await signedTextOf(BOOKWORM), [privateKey], new Date('2026-11-01T00:00:00Z'));
    expect(await codeOf(verifyInRelease(resigned, debianKeys, { suite: 'bookworm', now: NOW }))).toBe('INRELEASE_UNTRUSTED_KEY');
  });

  it('accepts a key pinned for the test, and ignores an extra signature by an unpinned one', async () => {
    const signed = new Date('2026-06-01T00:00:00Z');
    const [trusted, other] = await Promise.all([testKey('trusted'), testKey('other')]);
    const pinned = await parsePinnedKeys([trusted.publicKey.armor()]);
    const bytes = await clearsign(testRelease(signed), [trusted.privateKey, other.privateKey], signed);
    const r = await verifyInRelease(bytes, pinned, { suite: 'testsuite', now: NOW });
    expect(r.signers.map((s) => s.fingerprint)).toEqual([trusted.publicKey.getFingerprint().toUpperCase()]);
    expect(r.ignoredSignatures).toEqual([{ keyId: other.publicKey.getKeyID().toHex().toUpperCase(), reason: 'unknown-key' }]);
    expect(r.suite).toBe('teststable');
  });

  it('INRELEASE_UNTRUSTED_KEY: signed only by a pinned key that has since been revoked', async () => {
    const { privateKey } = await testKey('revoked');
    const bytes = await clearsign(testRelease(new Date('2026-02-01T00:00:00Z')), [privateKey], new Date('2026-02-01T00:00:00Z'));
    const { publicKey: revoked } = await openpgp.revokeKey({ key: privateKey, date: new Date('2026-03-01T00:00:00Z'), format: 'object' });
    expect(await revoked.isRevoked(undefined, undefined, NOW)).toBe(true);
    const pinned = await parsePinnedKeys([revoked.armor()]);
    expect(await codeOf(verifyInRelease(bytes, pinned, { suite: 'testsuite', now: NOW }))).toBe('INRELEASE_UNTRUSTED_KEY');
  });

  it('INRELEASE_UNTRUSTED_KEY: signed only by a pinned key that has expired', async () => {
    const born = new Date('2026-01-01T00:00:00Z');
    const { privateKey, publicKey } = await testKey('expiring', born, 86_400);
    const at = new Date(born.getTime() + 3_600_000);
    const bytes = await clearsign(testRelease(at), [privateKey], at);
    const pinned = await parsePinnedKeys([publicKey.armor()]);
    await expect(verifyInRelease(bytes, pinned, { suite: 'testsuite', now: new Date(born.getTime() + 7_200_000) })).resolves.toBeDefined();
    expect(await codeOf(verifyInRelease(bytes, pinned, { suite: 'testsuite', now: new Date(born.getTime() + 2 * 86_400_000) }))).toBe(
      'INRELEASE_UNTRUSTED_KEY',
    );
  });

  it('RELEASE_DATE_IN_FUTURE: a correctly signed Release whose Date lies a day ahead', async () => {
    const { privateKey, publicKey } = await testKey('ahead');
    const pinned = await parsePinnedKeys([publicKey.armor()]);
    const bytes = await clearsign(testRelease(new Date(NOW.getTime() + 86_400_000)), [privateKey], new Date(NOW.getTime() - 60_000));
    expect(await codeOf(verifyInRelease(bytes, pinned, { suite: 'testsuite', now: NOW }))).toBe('RELEASE_DATE_IN_FUTURE');
  });

  it('INRELEASE_MALFORMED: a correctly signed text that is not a Release', async () => {
    const { privateKey, publicKey } = await testKey('junk');
    const pinned = await parsePinnedKeys([publicKey.armor()]);
    const bytes = await clearsign('Codename: testsuite\nno date here', [privateKey], new Date('2026-06-01T00:00:00Z'));
    expect(await codeOf(verifyInRelease(bytes, pinned, { suite: 'testsuite', now: NOW }))).toBe('INRELEASE_MALFORMED');
  });
});
