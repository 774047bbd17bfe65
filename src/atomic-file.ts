/**
 * Files appear whole or not at all: written to a new temporary file beside their final name
 * (same filesystem, so the rename is atomic), with their final mode from the moment they exist
 * (a 0600 private key is never briefly readable), then renamed into place.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A temporary name in the same directory (same filesystem, so rename is atomic). */
export function tempSibling(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export async function writeFileAtomic(file: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = tempSibling(file);
  try {
    const handle = await open(tmp, 'wx', mode);
    try {
      await handle.writeFile(data);
      // open's mode is filtered by the umask; the file gets exactly the mode asked for.
      await handle.chmod(mode);
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
