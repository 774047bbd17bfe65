/**
 * Key pair files: `<name>.pub.asc` (0644) and `<name>.secret.asc` (0600 from the moment it
 * exists: written to a 0600 temporary file, then renamed). The .gitignore keeps `*.secret.asc`
 * out of the repository.
 */
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

export interface WriteKeyPairOptions {
  readonly outDir: string;
  readonly baseName: string;
  readonly publicKeyArmored: string;
  readonly privateKeyArmored: string;
  /** Replace existing files. */
  readonly force?: boolean;
}

export function keyFileBaseName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'signing-key';
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function writeExclusive(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export async function writeKeyPair(options: WriteKeyPairOptions): Promise<{ publicKeyPath: string; privateKeyPath: string }> {
  const publicKeyPath = join(options.outDir, `${options.baseName}.pub.asc`);
  const privateKeyPath = join(options.outDir, `${options.baseName}.secret.asc`);
  if (!options.force) {
    for (const p of [publicKeyPath, privateKeyPath]) {
      if (await exists(p)) throw new UsageError('BAD_OPTION', `${p} exists (use --force to replace it)`);
    }
  }
  await mkdir(options.outDir, { recursive: true });
  await writeExclusive(privateKeyPath, options.privateKeyArmored, 0o600);
  await writeExclusive(publicKeyPath, options.publicKeyArmored, 0o644);
  return { publicKeyPath, privateKeyPath };
}
