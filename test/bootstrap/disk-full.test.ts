/**
 * A full disk under the build root: a real 1 MiB tmpfs, real writes. The error is typed
 * (DISK_FULL, exit 4, one line naming the image path), never an internal error.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskFullOr } from '../../src/bootstrap/fs-error.js';
import { copyIntoRoot, writeFileInRoot } from '../../src/bootstrap/root-path.js';
import { ExecError } from '../../src/errors.js';

let base: string;
let root: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'imgf-diskfull-'));
  root = join(base, 'root');
  await mkdir(root);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', root]);
});

afterAll(async () => {
  execFileSync('umount', [root]);
  await rm(base, { recursive: true, force: true });
});

describe('disk full in the build root', () => {
  it('a system-file write: DISK_FULL, exit 4, one line naming the image path', async () => {
    const err = await writeFileInRoot(root, '/etc/big', Buffer.alloc(4 * 1024 * 1024, 1), 0o644).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DISK_FULL', exitStatus: 4 });
    expect((err as Error).message).toMatch(/\/etc\/big/);
    expect((err as Error).message.split('\n')).toHaveLength(1);
  });

  it('a recipe file copied in: DISK_FULL, exit 4', async () => {
    const src = join(base, 'payload');
    await writeFile(src, Buffer.alloc(4 * 1024 * 1024, 2));
    await expect(copyIntoRoot(root, src, '/srv/payload', { uid: 0, gid: 0 }, 0o644)).rejects.toMatchObject({ code: 'DISK_FULL', exitStatus: 4 });
  });

  it('a tool that ran out of space (debootstrap, apt) is reported as DISK_FULL too; other failures pass through', async () => {
    const full = new ExecError('DEBOOTSTRAP_FAILED', 'debootstrap failed (exit 1): tar: ./usr/bin/x: Cannot write: No space left on device', {
      details: { stderrTail: 'tar: ./usr/bin/x: Cannot write: No space left on device' },
    });
    expect(await diskFullOr(full, '/work/root')).toMatchObject({ code: 'DISK_FULL', exitStatus: 4 });
    const other = new ExecError('DEBOOTSTRAP_FAILED', 'debootstrap failed (exit 1): E: bad suite', { details: { stderrTail: 'E: bad suite' } });
    expect(await diskFullOr(other, base)).toBe(other); // a tool failure with space left is what it says
    const raw = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', path: '/work/blobs/layer-0.tar.gz' });
    expect(await diskFullOr(raw, '/work')).toMatchObject({ code: 'DISK_FULL', details: { path: '/work/blobs/layer-0.tar.gz' } });
    // A tool that failed with a vague message while its file system is full: the full disk is the cause.
    await writeFileInRoot(root, '/fill', Buffer.alloc(4 * 1024 * 1024), 0o644).catch(() => undefined);
    expect(await diskFullOr(other, root)).toMatchObject({ code: 'DISK_FULL', exitStatus: 4 });
  });
});
