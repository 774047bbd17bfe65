/**
 * `imgfactory export registry/repo:tag`: the image comes through pull's path (every blob
 * digest-checked into a temporary layout), the signature must name that reference, and the
 * temporary layout is gone afterwards.
 */
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/exec.js';
import { createRegistryClient } from '../../src/registry/client.js';
import { pushImage } from '../../src/registry/push.js';
import { parseReference } from '../../src/oci/reference.js';
import type { LocalRegistry } from '../../src/registry/local-registry.js';
import { runCli } from '../helpers/cli.js';
import { startTestRegistry } from '../helpers/registry.js';
import { sharedBuild } from '../helpers/shared-build.js';
import { tempDir } from '../helpers/tmp.js';
import { testKey, type TestKey } from '../sign/helpers/keys.js';
import { dearmoredKeyring, signedCopy } from './helpers.js';

let registry: LocalRegistry;
let factory: TestKey;
let keyDir: string;
let reference: string;

beforeAll(async () => {
  const built = await sharedBuild('debian-minimal');
  registry = await startTestRegistry();
  factory = await testKey('ed25519', 'imgfactory factory');
  reference = `${registry.host}/base/debian-minimal:12`;
  const layout = await signedCopy(built, factory, reference);
  const client = createRegistryClient({ registry: registry.host, insecure: true });
  await pushImage({ layoutDir: layout, targets: [parseReference(reference)], client });
  keyDir = await tempDir('imgfactory-export-rkeys-');
  await writeFile(join(keyDir, 'pub.asc'), factory.publicKeyArmored);
  await writeFile(join(keyDir, 'secret.asc'), factory.privateKeyArmored);
}, 20 * 60_000);

describe('export from a registry', () => {
  it('pulls, verifies against the reference, exports; gpgv and sha256sum -c accept the files', async () => {
    const out = join(await tempDir('imgfactory-export-reg-'), 'out');
    const r = await runCli([
      'export',
      reference,
      '--insecure',
      '--format',
      'rootfs',
      '--key',
      join(keyDir, 'pub.asc'),
      '--sign-key',
      join(keyDir, 'secret.asc'),
      '--out',
      out,
      '--json',
    ]);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.files.map((f: { name: string }) => f.name)).toEqual(['debian-minimal.tar']);
    const keyring = await dearmoredKeyring(factory.publicKeyArmored);
    expect((await run(['gpgv', '--keyring', keyring, 'SHA256SUMS.gpg', 'SHA256SUMS'], { cwd: out })).exitCode).toBe(0);
    expect((await run(['sha256sum', '--strict', '-c', 'SHA256SUMS'], { cwd: out })).exitCode).toBe(0);
  });

  it('refuses when the signature names another reference: exit 1, nothing written', async () => {
    const out = join(await tempDir('imgfactory-export-reg2-'), 'out');
    const r = await runCli([
      'export',
      reference,
      '--insecure',
      '--identity',
      `${registry.host}/base/other:12`,
      '--format',
      'rootfs',
      '--key',
      join(keyDir, 'pub.asc'),
      '--sign-key',
      join(keyDir, 'secret.asc'),
      '--out',
      out,
      '--json',
    ]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ exported: false, code: 'SIGNATURE_IDENTITY_MISMATCH' });
    expect(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('error:')),
    ).toHaveLength(1);
    await expect(stat(out)).rejects.toThrow();
    expect(await readdir(join(out, '..'))).toEqual([]);
  });
});
