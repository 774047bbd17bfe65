/**
 * Key pair files: `<name>.pub.asc` (0644) and `<name>.secret.asc` (0600 from the moment it
 * exists: written to a 0600 temporary file, then renamed). The .gitignore keeps `*.secret.asc`
 * out of the repository.
 */
import { mkdir, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../atomic-file.js';
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
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'signing-key'
  );
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
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
  await writeFileAtomic(privateKeyPath, options.privateKeyArmored, 0o600);
  await writeFileAtomic(publicKeyPath, options.publicKeyArmored, 0o644);
  return { publicKeyPath, privateKeyPath };
}
