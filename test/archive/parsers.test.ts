import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Deb822Reader, fieldLines, parseDeb822, type Stanza } from '../../src/archive/deb822.js';
import { hasFilesOnDisk, parseDpkgStatus } from '../../src/archive/dpkg-status.js';
import { PackagesIndexReader, parsePackagesIndex, parseSourceField } from '../../src/archive/packages-index.js';
import { parseRelease, parseReleaseDate } from '../../src/archive/release.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { codeOf } from '../helpers/error-code.js';

const FIXTURES = join(REPO_ROOT, 'test/fixtures/archive');

/** The signed text of a real InRelease (between the armor headers), without verifying it. */
function releaseTextOf(file: string): string {
  const text = readFileSync(join(FIXTURES, file), 'utf8');
  const start = text.indexOf('\n\n') + 2;
  return text.slice(start, text.indexOf('\n-----BEGIN PGP SIGNATURE-----'));
}

describe('parseDeb822', () => {
  it('splits stanzas, lower-cases field names and joins continuation lines', () => {
    const s = parseDeb822('Package: a\nDescription: short\n long line\n .\n more\n\n\nPackage: b\r\nVersion: 1\r\n');
    expect(s).toHaveLength(2);
    expect(s[0]!.get('package')).toBe('a');
    expect(s[0]!.get('description')).toBe('short\nlong line\n\nmore');
    expect(s[1]!.get('version')).toBe('1');
  });

  it('keeps only the requested fields when asked', () => {
    const s = parseDeb822('Package: a\nDescription: x\n y: z\nVersion: 1\n', { fields: new Set(['package', 'version']) });
    expect([...s[0]!.keys()]).toEqual(['package', 'version']);
  });

  it('skips comments only where the format has them', () => {
    expect(parseDeb822('# c\nTypes: deb\n', { comments: true })[0]!.get('types')).toBe('deb');
    expect(() => parseDeb822('# c\nTypes: deb\n')).toThrow(/line 1/);
  });

  it('rejects a continuation without a field, a line without a colon, and duplicate fields', () => {
    expect(() => parseDeb822(' orphan\n')).toThrow(/line 1/);
    expect(() => parseDeb822('Package: a\nnot a field\n')).toThrow(/line 2/);
    expect(() => parseDeb822('Package: a\npackage: b\n')).toThrow(/duplicate/);
  });

  it('reads the same stanzas and reports the same line numbers however the bytes are split', () => {
    const text = 'Package: a\r\nDescription: short\n long line\n .\n more\n\n\nPackage: é\nVersion: 1\n';
    const bytes = Buffer.from(text, 'utf8');
    const whole = parseDeb822(text).map((m) => [...m]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (const step of [1, 3]) {
        const reader = new Deb822Reader();
        const got: Stanza[] = [...reader.push(bytes.subarray(0, cut))];
        for (let i = cut; i < bytes.length; i += step) got.push(...reader.push(bytes.subarray(i, i + step)));
        got.push(...reader.end());
        expect(got.map((m) => [...m])).toEqual(whole);
      }
    }
    const bad = Buffer.from('Package: a\n\nPackage: b\nnot a field\n');
    const reader = new Deb822Reader();
    expect(() => {
      for (let i = 0; i < bad.length; i += 2) reader.push(bad.subarray(i, i + 2));
      reader.end();
    }).toThrow(/line 4/);
  });

  it('fieldLines drops the empty first line of a multi-line field', () => {
    expect(fieldLines('\n a b\n c d')).toEqual(['a b', 'c d']);
    expect(fieldLines(undefined)).toEqual([]);
  });
});

describe('parseRelease', () => {
  it('reads a real bookworm Release', () => {
    const r = parseRelease(releaseTextOf('bookworm.InRelease'));
    expect(r.codename).toBe('bookworm');
    expect(r.origin).toBe('Debian');
    expect(r.date.toISOString()).toBe('2026-07-11T10:16:37.000Z');
    expect(r.validUntil).toBeUndefined();
    expect(r.architectures).toContain('amd64');
    expect(r.components).toEqual(['main', 'contrib', 'non-free-firmware', 'non-free']);
    expect(r.acquireByHash).toBe(true);
    const gz = r.files.get('main/binary-amd64/Packages.gz');
    expect(gz).toEqual({ path: 'main/binary-amd64/Packages.gz', size: 12084798, sha256: '6777ea16514725f9427f48c240d92e0a6b8496138e37a1491d8597e66774e309' });
    expect(r.files.size).toBeGreaterThan(500);
  });

  it('reads Valid-Until from a real security Release', () => {
    const r = parseRelease(releaseTextOf('bookworm-security.InRelease'));
    expect(r.codename).toBe('bookworm-security');
    expect(r.validUntil!.toISOString()).toBe('2026-11-28T00:53:02.000Z');
    expect(r.files.get('main/binary-amd64/Packages.xz')?.size).toBe(378100);
  });

  it('refuses a Release without Date or SHA256, or with a bad SHA256 line', () => {
    expect(codeOf(() => parseRelease('Codename: x\nSHA256:\n ' + 'a'.repeat(64) + ' 1 main/x\n'))).toBe('INRELEASE_MALFORMED');
    expect(codeOf(() => parseRelease('Codename: x\nDate: Sat, 11 Jul 2026 10:16:37 UTC\nMD5Sum:\n 00 1 x\n'))).toBe('INRELEASE_MALFORMED');
    expect(codeOf(() => parseRelease('Date: Sat, 11 Jul 2026 10:16:37 UTC\nSHA256:\n nothex 1 main/x\n'))).toBe('INRELEASE_MALFORMED');
    expect(codeOf(() => parseRelease('Date: yesterday\nSHA256:\n'))).toBe('INRELEASE_MALFORMED');
  });

  it('parses RFC 2822 dates with zones', () => {
    expect(parseReleaseDate('Sat, 11 Jul 2026 10:16:37 UTC')?.toISOString()).toBe('2026-07-11T10:16:37.000Z');
    expect(parseReleaseDate('11 Jul 2026 12:16:37 +0200')?.toISOString()).toBe('2026-07-11T10:16:37.000Z');
    expect(parseReleaseDate('Sat, 11 Foo 2026 10:16:37 UTC')).toBeUndefined();
    expect(parseReleaseDate('2026-07-11')).toBeUndefined();
  });
});

describe('parsePackagesIndex', () => {
  const sha = 'ab'.repeat(32);
  const index = [
    'Package: telnet',
    'Source: inetutils (2:2.4-2+deb12u3)',
    'Version: 0.17+2.4-2+deb12u3',
    'Architecture: amd64',
    'Description: old client',
    ' with: a colon in a continuation',
    'Filename: pool/updates/main/i/inetutils/telnet_0.17+2.4-2+deb12u3_amd64.deb',
    'Size: 1234',
    `SHA256: ${sha.toUpperCase()}`,
    '',
    'Package: bash',
    'Version: 5.2.15-2+b2',
    'Architecture: amd64',
    'Source: bash',
    'Filename: pool/main/b/bash/bash_5.2.15-2+b2_amd64.deb',
    'Size: 1500000',
    `SHA256: ${sha}`,
    '',
    'Package: debconf',
    'Version: 1.5.82',
    'Architecture: all',
    'Filename: pool/main/d/debconf/debconf_1.5.82_all.deb',
    'Size: 121000',
    `SHA256: ${sha}`,
    '',
  ].join('\n');

  it('reads the fields the audit needs, with the three Source forms', () => {
    const [telnet, bash, debconf] = parsePackagesIndex(index);
    expect(telnet).toEqual({
      package: 'telnet',
      version: '0.17+2.4-2+deb12u3',
      architecture: 'amd64',
      source: 'inetutils',
      sourceVersion: '2:2.4-2+deb12u3',
      filename: 'pool/updates/main/i/inetutils/telnet_0.17+2.4-2+deb12u3_amd64.deb',
      size: 1234,
      sha256: sha,
    });
    expect(bash).toMatchObject({ source: 'bash', sourceVersion: '5.2.15-2+b2' });
    expect(debconf).toMatchObject({ architecture: 'all', source: 'debconf', sourceVersion: '1.5.82' });
  });

  it('refuses entries missing a required field or with a bad size or hash', () => {
    expect(codeOf(() => parsePackagesIndex('Package: a\nVersion: 1\nArchitecture: all\nSize: 1\nSHA256: ' + sha + '\n', 'X'))).toBe('INDEX_MALFORMED');
    expect(codeOf(() => parsePackagesIndex(`Package: a\nVersion: 1\nArchitecture: all\nFilename: f\nSize: big\nSHA256: ${sha}\n`))).toBe('INDEX_MALFORMED');
    expect(codeOf(() => parsePackagesIndex('Package: a\nVersion: 1\nArchitecture: all\nFilename: f\nSize: 1\nSHA256: 12\n'))).toBe('INDEX_MALFORMED');
    expect(codeOf(() => parsePackagesIndex('garbage\n'))).toBe('INDEX_MALFORMED');
  });

  it('reads an index fed in pieces as it reads it whole, each entry carrying the extra fields', () => {
    const reader = new PackagesIndexReader('X', { suite: 'bookworm' });
    const bytes = Buffer.from(index);
    for (let i = 0; i < bytes.length; i += 7) reader.push(bytes.subarray(i, i + 7));
    expect(reader.end()).toEqual(parsePackagesIndex(index).map((e) => ({ ...e, suite: 'bookworm' })));
  });

  it('parseSourceField falls back to the binary name and version', () => {
    expect(parseSourceField(undefined, 'a', '1')).toEqual({ source: 'a', sourceVersion: '1' });
    expect(parseSourceField('src (2:1-1)', 'a', '1')).toEqual({ source: 'src', sourceVersion: '2:1-1' });
  });
});

describe('parseDpkgStatus', () => {
  const status = [
    'Package: bash',
    'Essential: yes',
    'Status: install ok installed',
    'Architecture: amd64',
    'Version: 5.2.15-2+b2',
    'Description: shell',
    ' more',
    '',
    'Package: removed',
    'Status: deinstall ok config-files',
    'Architecture: amd64',
    'Version: 1.0-1',
    '',
    'Package: gone',
    'Status: purge ok not-installed',
    'Architecture: amd64',
    '',
    'Package: half',
    'Status: install reinstreq half-configured',
    'Architecture: all',
    'Version: 2',
    'Source: halfsrc',
    '',
  ].join('\n');

  it('reads want/flag/state and says which entries have files on disk', () => {
    const entries = parseDpkgStatus(status);
    expect(entries.map((e) => [e.package, e.want, e.flag, e.state])).toEqual([
      ['bash', 'install', 'ok', 'installed'],
      ['removed', 'deinstall', 'ok', 'config-files'],
      ['gone', 'purge', 'ok', 'not-installed'],
      ['half', 'install', 'reinstreq', 'half-configured'],
    ]);
    expect(entries.filter(hasFilesOnDisk).map((e) => e.package)).toEqual(['bash', 'removed', 'half']);
    expect(entries[3]).toMatchObject({ version: '2', architecture: 'all', source: 'halfsrc' });
  });

  it('refuses an unknown state, a missing Status, or an installed entry without a Version', () => {
    expect(codeOf(() => parseDpkgStatus('Package: a\nStatus: install ok sideways\nVersion: 1\nArchitecture: all\n'))).toBe('AUDIT_STATUS_UNREADABLE');
    expect(codeOf(() => parseDpkgStatus('Package: a\nVersion: 1\nArchitecture: all\n'))).toBe('AUDIT_STATUS_UNREADABLE');
    expect(codeOf(() => parseDpkgStatus('Package: a\nStatus: install ok installed\nArchitecture: all\n'))).toBe('AUDIT_STATUS_UNREADABLE');
    expect(codeOf(() => parseDpkgStatus('Status: install ok installed\n'))).toBe('AUDIT_STATUS_UNREADABLE');
  });

  it("reads this host's own dpkg database", () => {
    const entries = parseDpkgStatus(readFileSync('/var/lib/dpkg/status', 'utf8'));
    expect(entries.find((e) => e.package === 'dpkg')?.state).toBe('installed');
  });
});
