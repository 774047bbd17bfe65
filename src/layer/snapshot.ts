/**
 * Snapshot a file tree: lstat every path (never following symlinks, never crossing into another
 * mount), in canonical order, plus all extended attributes read by one `getfattr` run.
 */
import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildError, ExecError } from '../errors.js';
import { run } from '../exec.js';
import { parseGetfattrDump, type XattrDump } from './getfattr-dump.js';
import type { DeviceNumber, FileType, SkippedPath, Snapshot, SnapshotEntry } from './types.js';

export interface SnapshotOptions {
  /**
   * Relative directories whose *contents* are not part of the image (`proc`, `var/cache/apt`);
   * the directory itself is kept. The caller decides; nothing is excluded by default.
   */
  readonly exclude?: readonly string[];
}

/**
 * Attributes that describe the build host, not the image: SELinux labels come from the host's
 * policy (they differ between machines and the runtime relabels containers anyway).
 */
export const HOST_XATTRS: ReadonlySet<string> = new Set(['security.selinux']);

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const EMPTY_XATTRS: Readonly<Record<string, string>> = Object.freeze({});

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export async function snapshotTree(root: string, options: SnapshotOptions = {}): Promise<Snapshot> {
  const exclude = new Set((options.exclude ?? []).map(normalizeExclude));
  const realRoot = await realpath(root).catch((cause: unknown) => {
    throw new BuildError('LAYER_PATH_INVALID', `${root}: cannot snapshot, no such directory`, { cause });
  });
  const rootStat = await lstat(realRoot, { bigint: true });
  if (!rootStat.isDirectory()) throw new BuildError('LAYER_PATH_INVALID', `${root}: not a directory`);

  const entries = new Map<string, Mutable<SnapshotEntry>>();
  const skipped: SkippedPath[] = [];
  // Directories kept as entries but not walked: their xattrs come from getfattr's walk of a
  // parent only by accident, so they are dropped for the same answer either way.
  const unwalked = new Set<string>();

  // Depth-first with each directory's names in byte order yields the canonical order directly.
  // Synchronous fs calls: tens of thousands of lstats as thread-pool round trips cost seconds
  // (measured 2.0 s for 32k entries async); the walk is the only work in flight anyway.
  const walk = (dirAbs: string, dirRel: string): void => {
    const names = attempt(dirAbs, () => readdirSync(dirAbs, { encoding: 'buffer' }));
    names.sort(Buffer.compare);
    for (const raw of names) {
      const name = decodeName(raw, dirAbs);
      const abs = join(dirAbs, name);
      const rel = dirRel === '' ? name : `${dirRel}/${name}`;
      const st = attempt(abs, () => lstatSync(abs, { bigint: true }));
      if (st.isSocket()) {
        skipped.push({ path: rel, reason: 'socket' });
        continue;
      }
      const entry = entryFromStat(rel, abs, st);
      entries.set(rel, entry);
      if (entry.type !== 'dir') continue;
      if (st.dev !== rootStat.dev) {
        skipped.push({ path: rel, reason: 'other-filesystem' });
        unwalked.add(rel);
      } else if (exclude.has(rel)) {
        unwalked.add(rel);
      } else {
        walk(abs, rel);
      }
    }
  };
  walk(realRoot, '');

  const xattrs = await readXattrs(realRoot, entries, unwalked);
  for (const [rel, attrs] of xattrs) {
    const entry = entries.get(rel);
    if (entry && !unwalked.has(rel)) entry.xattrs = attrs;
  }
  for (const e of entries.values()) Object.freeze(e);
  return Object.freeze({ root: realRoot, entries, skipped: Object.freeze(skipped) });
}

function entryFromStat(rel: string, abs: string, st: BigIntStats): Mutable<SnapshotEntry> {
  const type = fileType(st, abs);
  const entry: Mutable<SnapshotEntry> = {
    path: rel,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: Number(st.size),
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    dev: st.dev,
    ino: st.ino,
    nlink: Number(st.nlink),
    xattrs: EMPTY_XATTRS,
  };
  if (type === 'symlink') {
    entry.linkTarget = decodeName(
      attempt(abs, () => readlinkSync(abs, { encoding: 'buffer' })),
      abs,
    );
  }
  if (type === 'char' || type === 'block') entry.rdev = splitDeviceNumber(st.rdev);
  return entry;
}

function fileType(st: BigIntStats, abs: string): FileType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  throw new BuildError('LAYER_UNSUPPORTED_FILE', `${abs}: unsupported file type (mode ${st.mode.toString(8)})`);
}

/** glibc's gnu_dev_major/gnu_dev_minor for Linux's 64-bit dev_t. */
export function splitDeviceNumber(rdev: bigint): DeviceNumber {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & 0xfffff000n);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & 0xffffff00n);
  return { major: Number(major), minor: Number(minor) };
}

/**
 * One getfattr run over the walked part of the tree. `-h` matters: with `-P` alone getfattr
 * still reports a symlink's *target's* attributes under the link's name.
 */
async function readXattrs(
  realRoot: string,
  entries: ReadonlyMap<string, SnapshotEntry>,
  unwalked: ReadonlySet<string>,
): Promise<Map<string, Readonly<Record<string, string>>>> {
  // When a top-level directory is not walked (a mounted proc, an excluded tmp), name the walked
  // top-level entries instead of the root, so getfattr stays out of it; deeper unwalked
  // directories are walked by getfattr too, but their output is ignored.
  const topLevel = [...entries.keys()].filter((p) => !p.includes('/'));
  const out = new Map<string, Readonly<Record<string, string>>>();
  const args = topLevel.some((p) => unwalked.has(p)) ? topLevel.filter((p) => !unwalked.has(p)).map((p) => join(realRoot, p)) : [realRoot];
  if (args.length === 0 || entries.size === 0) return out;
  const argv = ['getfattr', '-R', '-P', '-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', '--', ...args];
  const result = await run(argv, { okExitCodes: [1] });
  if (result.exitCode !== 0) {
    const tolerated = [...unwalked].map((p) => `getfattr: ${join(realRoot, p)}/`);
    const unexplained = result.stderr.split('\n').filter((l) => l.trim() !== '' && !tolerated.some((t) => l.startsWith(t)));
    if (unexplained.length > 0) {
      throw new ExecError('COMMAND_FAILED', `getfattr under ${realRoot} failed: ${unexplained.slice(0, 3).join(' | ')}`);
    }
  }
  const dump: XattrDump = parseGetfattrDump(result.stdout);
  const prefix = realRoot.endsWith('/') ? realRoot : `${realRoot}/`;
  for (const [abs, attrs] of dump) {
    if (!abs.startsWith(prefix)) continue;
    const kept = Object.entries(attrs).filter(([name]) => !HOST_XATTRS.has(name));
    if (kept.length > 0) out.set(abs.slice(prefix.length), Object.freeze(Object.fromEntries(kept)));
  }
  return out;
}

function decodeName(raw: Buffer, where: string): string {
  try {
    return UTF8.decode(raw);
  } catch {
    throw new BuildError('LAYER_PATH_INVALID', `${where}: a name is not valid UTF-8 (${raw.toString('hex')})`);
  }
}

function normalizeExclude(p: string): string {
  const n = p.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
  if (n === '' || n === '.' || n.split('/').some((c) => c === '' || c === '.' || c === '..')) {
    throw new BuildError('LAYER_PATH_INVALID', `exclude path ${JSON.stringify(p)} is not a relative path inside the tree`);
  }
  return n;
}

/** A path that readdir listed but that is gone (or unreadable) a moment later. */
function attempt<T>(abs: string, io: () => T): T {
  try {
    return io();
  } catch (cause) {
    const code = (cause as { code?: string } | undefined)?.code;
    throw new BuildError('LAYER_FILE_CHANGED', `${abs}: changed while being snapshotted (${code ?? 'error'})`, { cause });
  }
}
