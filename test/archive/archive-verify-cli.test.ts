/** `imgfactory archive verify` against the host's real mirror, for bookworm and trixie. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { hostDebianArch } from '../../src/oci/platform.js';
import { SHARED_CACHE_DIR } from '../helpers/paths.js';
import { startTamperProxy, type TamperProxy } from '../helpers/tamper-proxy.js';
import { hostArchiveMirrors } from '../../src/archive/host-mirror.js';

const ARCH = hostDebianArch(process.arch);
const CACHE = join(SHARED_CACHE_DIR, 'archive-cache');
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imgf-verify-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out, err };
}

interface Report {
  suite: string;
  packageCount: number;
  newestReleaseDate: string;
  inReleases: {
    suite: string;
    date: string;
    signers: { fingerprint: string; userId: string; signingKeyId: string }[];
    ignoredSignatures: { keyId: string; reason: string }[];
    indexes: { path: string; packageCount: number; sha256: string }[];
  }[];
}

describe('imgfactory archive verify', () => {
  it('--suite bookworm --json: names the signing keys, the Release dates and packages per index', async () => {
    const c = capture();
    const code = await main(['archive', 'verify', '--suite', 'bookworm', '--arch', ARCH, '--cache-dir', CACHE, '--json'], { io: c.io });
    expect(c.err).toEqual([]); // progress is quiet under --json
    expect(code).toBe(0);
    const r = JSON.parse(c.out.join('\n')) as Report;
    expect(r.inReleases.map((x) => x.suite)).toEqual(['bookworm', 'bookworm-updates', 'bookworm-security']);
    const [base, updates, security] = r.inReleases;
    expect(base!.signers.map((s) => s.userId)).toEqual([
      'Debian Archive Automatic Signing Key (12/bookworm) <ftpmaster@debian.org>',
      'Debian Archive Automatic Signing Key (13/trixie) <ftpmaster@debian.org>',
      'Debian Stable Release Key (12/bookworm) <debian-release@lists.debian.org>',
    ]);
    expect(updates!.signers.map((s) => s.fingerprint)).toContain('B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8');
    expect(security!.signers.map((s) => s.fingerprint)).toEqual(['05AB90340C0C5E797F44A8C8254CF3B5AEC0A8F0']);
    expect(security!.ignoredSignatures.map((s) => s.reason)).toEqual(['unknown-key']);
    for (const ir of r.inReleases) {
      expect(Number.isNaN(Date.parse(ir.date))).toBe(false);
      expect(ir.indexes).toHaveLength(1);
      expect(ir.indexes[0]!.path).toMatch(new RegExp(`^main/binary-${ARCH}/Packages\\.(gz|xz)$`));
    }
    expect(base!.indexes[0]!.packageCount).toBeGreaterThan(50_000);
    expect(security!.indexes[0]!.packageCount).toBeGreaterThan(100);
    expect(r.packageCount).toBe(r.inReleases.reduce((n, x) => n + x.indexes[0]!.packageCount, 0));
    expect(r.newestReleaseDate).toBe(new Date(Math.max(...r.inReleases.map((x) => Date.parse(x.date)))).toISOString());
  });

  it('--suite trixie: text output names each signing key, the Date and the packages per index', async () => {
    const c = capture();
    const code = await main(['archive', 'verify', '--suite', 'trixie', '--arch', ARCH, '--cache-dir', CACHE], { io: c.io });
    expect(code).toBe(0);
    const out = c.out.join('\n');
    expect(out).toMatch(/^trixie {2}\S+\/dists\/trixie\/InRelease$/m);
    expect(out).toContain('signed by 04B54C3CDCA79751B16BC6B5225629DF75B188BD Debian Archive Automatic Signing Key (13/trixie) <ftpmaster@debian.org>');
    expect(out).toContain('signed by 41587F7DB8C774BCCF131416762F67A0B2C39DE4 Debian Stable Release Key (13/trixie)');
    expect(out).toMatch(/^trixie-security {2}\S+\/dists\/trixie-security\/InRelease$/m);
    expect(out).toContain('signed by 5E04A1E3223A19A20706E20F9904613D4CCE68C6 Debian Security Archive Automatic Signing Key (13/trixie)');
    expect(out).toMatch(/^ {2}Date \d{4}-\d\d-\d\dT/m);
    expect(out).toMatch(new RegExp(`^  main/binary-${ARCH}/Packages\\.gz  \\d{5,} packages  sha256 [0-9a-f]{64}$`, 'm'));
    expect(out).toMatch(/^ok: 3 InRelease verified, \d+ packages in 3 indexes$/m);
    expect(c.err.some((l) => l.includes('archive'))).toBe(true); // progress on stderr
  });

  it('exit 1 with one line when no signature is by a pinned key', async () => {
    const keysDir = join(tmp, 'other-keys');
    const { publicKey } = await openpgp.generateKey({ userIDs: [{ name: 'not debian' }], type: 'curve25519', format: 'armored' });
    await (await import('node:fs/promises')).mkdir(keysDir, { recursive: true });
    await writeFile(join(keysDir, 'other.asc'), publicKey);
    const c = capture();
    const code = await main(['archive', 'verify', '--suite', 'bookworm', '--no-updates', '--keys-dir', keysDir, '--cache-dir', join(tmp, 'c1')], { io: c.io });
    expect(code).toBe(1);
    const errors = c.err.filter((l) => l.startsWith('error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/dists\/bookworm\/InRelease: signed only by keys that are not trusted/);
  });

  describe('through the tamper proxy', () => {
    let proxy: TamperProxy;
    beforeAll(async () => {
      proxy = await startTamperProxy((await hostArchiveMirrors()).mirror);
    });
    afterAll(async () => {
      await proxy.close();
    });

    it('exit 1 naming the file when a Packages index does not match the signed Release', async () => {
      proxy.rules = [
        {
          pathEndsWith: `dists/bookworm-updates/main/binary-${ARCH}/Packages.xz`,
          mutate: (b) => Buffer.concat([b.subarray(0, -1), Buffer.from([b[b.length - 1]! ^ 1])]),
        },
      ];
      const c = capture();
      const code = await main(['archive', 'verify', '--suite', 'bookworm-updates', '--no-updates', '--mirror', proxy.url, '--cache-dir', join(tmp, 'c2')], {
        io: c.io,
      });
      expect(code).toBe(1);
      expect(c.err.filter((l) => l.startsWith('error:'))).toEqual([
        expect.stringMatching(/^error: \S+\/dists\/bookworm-updates\/main\/binary-\S+\/Packages\.xz: SHA256 /),
      ]);
    });

    it('exit 5 when the archive answers 500 on every attempt', async () => {
      proxy.rules = [{ pathEndsWith: 'dists/bookworm-updates/InRelease', status: 500 }];
      const c = capture();
      const code = await main(['archive', 'verify', '--suite', 'bookworm-updates', '--no-updates', '--mirror', proxy.url, '--cache-dir', join(tmp, 'c3')], {
        io: c.io,
      });
      expect(code).toBe(5);
      expect(c.err.filter((l) => l.startsWith('error:'))).toEqual([expect.stringMatching(/InRelease: HTTP 500 \(after 4 attempts\)$/)]);
    });
  });

  it('exit 2 without --suite, or with a malformed one', async () => {
    expect(await main(['archive', 'verify'], { io: capture().io })).toBe(2);
    expect(await main(['archive', 'verify', '--suite', '../etc'], { io: capture().io })).toBe(2);
    expect(await main(['archive', 'verify', '--suite', 'bookworm', '--mirror', 'ftp://x'], { io: capture().io })).toBe(2);
  });
});
