/** A signed copy of the shared debian-minimal build, and a consumer's gpgv keyring. */
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../src/exec.js';
import type { BuildResult } from '../../src/pipeline/build.js';
import { signBuiltLayout } from '../helpers/shared-build.js';
import { tempDir } from '../helpers/tmp.js';
import type { TestKey } from '../sign/helpers/keys.js';

export const IDENTITY = '127.0.0.1:5000/base/debian-minimal:12';

/** Copy the built layout and sign it (signature, SBOM, provenance) with `key`. */
export async function signedCopy(built: BuildResult, key: TestKey, identity = IDENTITY): Promise<string> {
  const dir = join(await tempDir('imgfactory-export-src-'), 'layout');
  await cp(built.report.layoutDir, dir, { recursive: true });
  await signBuiltLayout(dir, built, {
    key: key.signing,
    identities: [identity],
    creator: 'imgfactory test',
    builder: { id: 'https://imgfactory.dev/builder/test', version: '0.0.0' },
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
