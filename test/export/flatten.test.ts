/**
 * Flattening layers as image-spec layer.md applies them, checked on hand-made layers: whiteouts,
 * opaque directories, a file replacing a directory, hard links whose first name is deleted
 * above, binary xattrs kept byte for byte (read back by GNU tar and getfattr).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/exec.js';
import { flattenedTar, planLayers } from '../../src/export/flatten.js';
import { planFlatten } from '../../src/export/flatten-plan.js';
import type { ExportLayer } from '../../src/export/image-source.js';
import { LayerReader } from '../../src/export/layer-reader.js';
import { cleanPath, parsePaxRecords } from '../../src/export/tar-parse.js';
import { encodeTarHeader, endOfArchive, paddingFor, type TarHeader } from '../../src/layer/tar-header.js';
import type { Digest } from '../../src/oci/digest.js';
import { codeOf } from '../helpers/error-code.js';
import { tempDir } from '../helpers/tmp.js';

const T = 1_700_000_000;
const CAPABILITY = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x80, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // v2: cap_setuid,cap_net_raw+ep

type Item = Partial<TarHeader> & { name: string; body?: string };

function tar(items: readonly Item[]): Buffer {
  const parts: Buffer[] = [];
  for (const it of items) {
    const body = Buffer.from(it.body ?? '');
    const type = it.type ?? (it.name.endsWith('/') ? 'dir' : 'file');
    parts.push(
      encodeTarHeader({ mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: T, ...it, type, size: type === 'file' ? body.length : 0 }),
      body,
      Buffer.alloc(paddingFor(body.length)),
    );
  }
  parts.push(endOfArchive());
  return Buffer.concat(parts);
}

function layer(bytes: Buffer): ExportLayer {
  const d: Digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  return {
    digest: d,
    diffId: d,
    async check() {},
    async *open() {
      // Small chunks: headers and contents straddle chunk boundaries.
      for (let i = 0; i < bytes.length; i += 700) yield bytes.subarray(i, i + 700);
    },
  };
}

const lower = tar([
  { name: 'etc/' },
  { name: 'etc/a', body: 'a0' },
  { name: 'etc/b', body: 'b0' },
  { name: 'opt/' },
  { name: 'opt/x/' },
  { name: 'opt/x/f', body: 'xf' },
  { name: 'srv/' },
  { name: 'srv/keep', body: 'keep' },
  { name: 'usr/' },
  { name: 'usr/bin/' },
  { name: 'usr/bin/ping', body: 'PING', mode: 0o755, xattrs: { 'security.capability': CAPABILITY.toString('base64') } },
  { name: 'var/' },
  { name: 'var/h1', body: 'hard', uid: 1000, gid: 1000, mode: 0o600 },
  { name: 'var/h2', type: 'link', linkname: 'var/h1', uid: 1000, gid: 1000, mode: 0o600 },
  { name: 'var/h3', type: 'link', linkname: 'var/h1', uid: 1000, gid: 1000, mode: 0o600 },
]);
const upper = tar([
  { name: 'etc/', mode: 0o700 },
  { name: 'etc/.wh.b' },
  { name: 'etc/a', body: 'a1' },
  { name: 'opt/' },
  { name: 'opt/x', body: 'now a file' },
  { name: 'srv/' },
  { name: 'srv/.wh..wh..opq' },
  { name: 'srv/new', body: 'new' },
  { name: 'var/' },
  { name: 'var/.wh.h1' },
]);

async function flatten(layers: ExportLayer[]): Promise<Buffer> {
  const work = await tempDir('imgfactory-flatten-');
  const plan = await planLayers(layers);
  const chunks: Buffer[] = [];
  const result = { entries: 0, captured: new Map<string, Buffer>() };
  for await (const c of flattenedTar({ layers, workDir: work, capture: ['etc/a'] }, plan, result)) chunks.push(c);
  expect(result.captured.get('etc/a')?.toString()).toBe('a1');
  return Buffer.concat(chunks);
}

async function entries(bytes: Buffer) {
  const reader = new LayerReader(
    (async function* () {
      yield bytes;
    })(),
  );
  const out: { path: string; type: string; mode: number; uid: number; linkname?: string; body: string; xattrs: Record<string, string> }[] = [];
  for (let e = await reader.next(); e; e = await reader.next()) {
    const body: Buffer[] = [];
    for await (const c of reader.content()) body.push(c);
    out.push({
      path: e.path,
      type: e.type,
      mode: e.mode,
      uid: e.uid,
      ...(e.linkname ? { linkname: e.linkname } : {}),
      body: Buffer.concat(body).toString(),
      xattrs: { ...e.xattrs },
    });
  }
  return out;
}

describe('flattening layers', () => {
  it('applies whiteouts, opaque directories and replacements, in canonical order', async () => {
    const out = await entries(await flatten([layer(lower), layer(upper)]));
    expect(out.map((e) => [e.path, e.type, e.body])).toEqual([
      ['etc', 'dir', ''],
      ['etc/a', 'file', 'a1'],
      ['opt', 'dir', ''],
      ['opt/x', 'file', 'now a file'],
      ['srv', 'dir', ''],
      ['srv/new', 'file', 'new'],
      ['usr', 'dir', ''],
      ['usr/bin', 'dir', ''],
      ['usr/bin/ping', 'file', 'PING'],
      ['var', 'dir', ''],
      ['var/h2', 'file', 'hard'],
      ['var/h3', 'link', ''],
    ]);
    expect(out.find((e) => e.path === 'etc')?.mode).toBe(0o700);
    // The deleted first name's inode lives on under the next name; the later link points there.
    expect(out.find((e) => e.path === 'var/h2')).toMatchObject({ mode: 0o600, uid: 1000 });
    expect(out.find((e) => e.path === 'var/h3')?.linkname).toBe('var/h2');
    expect(Buffer.from(out.find((e) => e.path === 'usr/bin/ping')!.xattrs['security.capability']!, 'base64').equals(CAPABILITY)).toBe(true);
  });

  it('gives the same bytes every time', async () => {
    const a = await flatten([layer(lower), layer(upper)]);
    const b = await flatten([layer(lower), layer(upper)]);
    expect(a.equals(b)).toBe(true);
  });

  it('GNU tar extracts hard links and the binary capability byte for byte', async () => {
    const dir = await tempDir('imgfactory-flatten-x-');
    await writeFile(join(dir, 'flat.tar'), await flatten([layer(lower), layer(upper)]));
    await mkdir(join(dir, 'root'));
    await run(['tar', '--numeric-owner', '--xattrs', '--xattrs-include=*', '-xpf', join(dir, 'flat.tar'), '-C', join(dir, 'root')]);
    const h2 = await stat(join(dir, 'root', 'var', 'h2'));
    const h3 = await stat(join(dir, 'root', 'var', 'h3'));
    expect(h2.ino).toBe(h3.ino);
    expect(h2.nlink).toBe(2);
    expect(await readFile(join(dir, 'root', 'var', 'h3'), 'utf8')).toBe('hard');
    const { stdout } = await run(['getfattr', '--absolute-names', '-e', 'hex', '-n', 'security.capability', join(dir, 'root', 'usr', 'bin', 'ping')]);
    expect(stdout).toContain(`security.capability=0x${CAPABILITY.toString('hex')}`);
  });

  it('refuses a layer out of canonical order, a path with "..", a damaged header', async () => {
    expect(
      codeOf(() =>
        planFlatten([
          [
            { path: 'b', type: 'file' },
            { path: 'a', type: 'file' },
          ],
        ]),
      ),
    ).toBe('LAYER_INVALID');
    expect(codeOf(() => cleanPath('etc/../../root'))).toBe('LAYER_INVALID');
    expect(codeOf(() => parsePaxRecords(Buffer.from('99 path=x\n')))).toBe('LAYER_INVALID');
    const damaged = Buffer.from(lower);
    damaged[10] = damaged[10]! ^ 0x01;
    await expect(planLayers([layer(damaged)])).rejects.toMatchObject({ code: 'LAYER_INVALID' });
  });
});
