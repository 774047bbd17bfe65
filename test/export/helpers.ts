/** A signed copy of the shared debian-minimal build, and a consumer's gpgv keyring. */
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_DEBIAN_KEYS_DIR } from '../../src/archive/index.js';
import { run } from '../../src/exec.js';
import { signAndAttest } from '../../src/pipeline/attest.js';
import type { BuildResult } from '../../src/pipeline/build.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';
import type { TestKey } from '../sign/helpers/keys.js';

export const IDENTITY = '127.0.0.1:5000/base/debian-minimal:12';

/** Copy the built layout and sign it (signature, SBOM, provenance) with `key`. */
export async function signedCopy(built: BuildResult, key: TestKey, identity = IDENTITY): Promise<string> {
  const dir = join(await tempDir('imgfactory-export-src-'), 'layout');
  await cp(built.report.layoutDir, dir, { recursive: true });
  await signAndAttest({
    layoutDir: dir,
    ref: built.report.ref,
    recipe: built.recipe,
    packageManifest: built.packageManifest,
    keysDir: DEFAULT_DEBIAN_KEYS_DIR,
    mirror: built.report.mirror,
    securityMirror: built.report.securityMirror,
    startedOn: built.report.startedOn,
    finishedOn: built.report.finishedOn,
    now: new Date(),
    signing: {
      key: key.signing,
      identities: [identity],
      creator: 'imgfactory test',
      builder: { id: 'https://imgfactory.dev/builder/test', version: '0.0.0' },
      displayBase: REPO_ROOT,
    },
  });
  return dir;
}

/** The keyring a consumer gives gpgv: `gpg --dearmor` of the armored public key. */
export async function dearmoredKeyring(publicKeyArmored: string): Promise<string> {
  const dir = await tempDir('imgfactory-keyring-');
  const asc = join(dir, 'factory.asc');
  await writeFile(asc, publicKeyArmored);
  await run(['gpg', '--batch', '--yes', '--output', join(dir, 'factory.gpg'), '--dearmor', asc]);
  return join(dir, 'factory.gpg');
}

/** Flip one byte of a file in place (a real tamper on disk). */
export async function flipByte(file: string, offset: number): Promise<void> {
  const { open } = await import('node:fs/promises');
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = b[0]! ^ 0x01;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}
