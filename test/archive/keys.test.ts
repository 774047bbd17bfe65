import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DEBIAN_KEYS_DIR, loadPinnedKeys, writeBootstrapKeyring } from '../../src/archive/keyring.js';
import { parsePinnedKeys, type PinnedKey } from '../../src/archive/pinned-keys.js';
import { run } from '../../src/exec.js';
import { KEYS_DIR, REPO_ROOT } from '../helpers/paths.js';

const FIXTURES = join(REPO_ROOT, 'test/fixtures/archive');
let keys: PinnedKey[];
let tmp: string;

beforeAll(async () => {
  keys = await loadPinnedKeys();
  tmp = await mkdtemp(join(tmpdir(), 'imgf-keys-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** `| \`file.asc\` | \`FINGERPRINT\` | …` rows of keys/README.md. */
function readmeTable(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of readFileSync(join(KEYS_DIR, 'README.md'), 'utf8').split('\n')) {
    const m = /^\| `([^`]+\.asc)` \| `([0-9A-F]{40})` \|/.exec(line);
    if (m) rows.set(m[1]!, m[2]!);
  }
  return rows;
}

describe('pinned Debian archive keys', () => {
  it('are the six bookworm and trixie keys, each listed in keys/README.md with its fingerprint', async () => {
    expect(DEFAULT_DEBIAN_KEYS_DIR.replace(/\/$/, '')).toBe(join(KEYS_DIR, 'debian'));
    const files = (await readdir(join(KEYS_DIR, 'debian'))).filter((f) => f.endsWith('.asc')).sort();
    expect(files).toEqual([
      'debian-archive-bookworm-automatic.asc',
      'debian-archive-bookworm-security-automatic.asc',
      'debian-archive-bookworm-stable.asc',
      'debian-archive-trixie-automatic.asc',
      'debian-archive-trixie-security-automatic.asc',
      'debian-archive-trixie-stable.asc',
    ]);
    const table = readmeTable();
    expect([...table.keys()].sort()).toEqual(files);
    expect(keys).toHaveLength(6);
    for (const k of keys) {
      const file = k.source.split('/').pop()!;
      expect(k.fingerprint, file).toBe(table.get(file));
      expect(k.userId).toMatch(/^Debian .* Key \(1[23]\/(bookworm|trixie)\) <[^>@]+@([^>]+\.)?debian\.org>$/);
      expect(k.key.isPrivate()).toBe(false);
    }
  });

  it("are the same keys as the host's debian-archive-keyring package ships", async () => {
    for (const k of keys) {
      const name = k.source
        .split('/')
        .pop()!
        .replace(/\.asc$/, '.gpg');
      const hostFile = join('/usr/share/keyrings', name);
      expect(existsSync(hostFile), `${hostFile} (apt-get install debian-archive-keyring)`).toBe(true);
      const [hostKey] = await openpgp.readKeys({ binaryKeys: readFileSync(hostFile) });
      expect(hostKey!.getFingerprint().toUpperCase()).toBe(k.fingerprint);
      expect(Buffer.from(hostKey!.write()).equals(Buffer.from(k.key.write()))).toBe(true);
    }
  });

  it('KEYRING_INVALID: garbage, a private key, the same key twice, an empty directory', async () => {
    await expect(parsePinnedKeys([{ source: 'junk.asc', text: 'not a key' }])).rejects.toMatchObject({ code: 'KEYRING_INVALID' });
    const { privateKey, publicKey } = await openpgp.generateKey({ userIDs: [{ name: 'test' }], type: 'curve25519', format: 'armored' });
    await expect(parsePinnedKeys([privateKey])).rejects.toMatchObject({ code: 'KEYRING_INVALID' });
    await expect(parsePinnedKeys([publicKey, publicKey])).rejects.toMatchObject({ code: 'KEYRING_INVALID' });
    expect(await parsePinnedKeys([publicKey])).toHaveLength(1);
    const empty = join(tmp, 'empty');
    await writeFile(join(tmp, 'placeholder'), '');
    await expect(loadPinnedKeys(empty)).rejects.toMatchObject({ code: 'KEYRING_INVALID' });
    await expect(loadPinnedKeys(tmp)).rejects.toMatchObject({ code: 'KEYRING_INVALID' });
  });
});

describe('writeBootstrapKeyring', () => {
  it('writes a binary keyring that real gpgv verifies a real InRelease with', async () => {
    const keyring = join(tmp, 'archive-keyring.gpg');
    await writeBootstrapKeyring(keys, keyring);
    const bytes = readFileSync(keyring);
    expect(bytes[0]! & 0x80).toBe(0x80); // a binary OpenPGP packet, not armor
    expect(bytes.includes(Buffer.from('-----BEGIN'))).toBe(false);

    const ok = await run(['gpgv', '--keyring', keyring, join(FIXTURES, 'bookworm.InRelease')]);
    expect(ok.stderr).toContain('Good signature from "Debian Archive Automatic Signing Key (12/bookworm)');
    expect(ok.stderr).toContain('Good signature from "Debian Stable Release Key (12/bookworm)');
    // gpgv exits 2 here because the unpinned bullseye key's signature cannot be checked; apt,
    // like verifyInRelease, accepts the file on the good signature by a pinned key.
    const sec = await run(['gpgv', '--keyring', keyring, join(FIXTURES, 'bookworm-security.InRelease')], { okExitCodes: [2] });
    expect(sec.stderr).toContain("Can't check signature: No public key");
    expect(sec.stderr).toContain('Good signature from "Debian Security Archive Automatic Signing Key (12/bookworm)');

    // The same gpgv refuses the file once one byte of the signed text changes.
    const text = readFileSync(join(FIXTURES, 'bookworm.InRelease'));
    const at = text.indexOf('Version: 12.') + 'Version: 12.'.length;
    text[at] = text[at]! ^ 0x01;
    const tampered = join(tmp, 'tampered.InRelease');
    await writeFile(tampered, text);
    const bad = await run(['gpgv', '--keyring', keyring, tampered], { okExitCodes: [1, 2] });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain('BAD signature');
  });

  it('refuses to write an empty keyring', async () => {
    await expect(writeBootstrapKeyring([], join(tmp, 'none.gpg'))).rejects.toMatchObject({ code: 'KEYRING_INVALID' });
    expect(existsSync(join(tmp, 'none.gpg'))).toBe(false);
  });
});
