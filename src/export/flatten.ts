/**
 * Flatten an image's layers into one deterministic tar stream, in two streaming passes: the
 * first reads every layer's headers (contents skipped) to plan which entry survives
 * (flatten-plan.ts); the second walks all layers at once in canonical path order and writes the
 * survivors with canonical headers (tar-header.ts): owners, modes, mtimes, xattrs and hard links
 * as the layers have them. The same image gives the same bytes.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { ExportError } from '../errors.js';
import { encodeTarHeader, endOfArchive, paddingFor, type TarHeader } from '../layer/tar-header.js';
import { planFlatten, isMarkerPath, type FlattenPlan, type IndexedEntry } from './flatten-plan.js';
import type { ExportLayer } from './image-source.js';
import { LayerReader } from './layer-reader.js';
import type { LayerEntry } from './tar-parse.js';

export interface FlattenOptions {
  readonly layers: readonly ExportLayer[];
  /** Where content a surviving hard link needs is kept aside while its own path is skipped. */
  readonly workDir: string;
  /** Paths (clean, relative) whose final content the caller wants too (small files: /etc/passwd). */
  readonly capture?: readonly string[];
  readonly signal?: AbortSignal;
}

export interface FlattenResult {
  readonly entries: number;
  readonly captured: ReadonlyMap<string, Buffer>;
}

const CAPTURE_LIMIT = 1 << 20;

async function indexLayer(layer: ExportLayer, signal?: AbortSignal): Promise<IndexedEntry[]> {
  const reader = new LayerReader(layer.open());
  const out: IndexedEntry[] = [];
  for (let e = await reader.next(); e !== undefined; e = await reader.next()) {
    signal?.throwIfAborted();
    out.push({ path: e.path, type: e.type, ...(e.type === 'link' ? { linkname: e.linkname! } : {}) });
  }
  await reader.drain();
  return out;
}

/** The plan for these layers (first pass: every layer read once, contents skipped, digests checked). */
export async function planLayers(layers: readonly ExportLayer[], signal?: AbortSignal): Promise<FlattenPlan> {
  // Every stored blob is hashed before any is decompressed: a tampered blob is reported as such,
  // not as whatever the decompressor makes of it.
  for (const layer of layers) await layer.check();
  const indexed: IndexedEntry[][] = [];
  for (const layer of layers) indexed.push(await indexLayer(layer, signal));
  return planFlatten(indexed);
}

function headerFor(e: LayerEntry, name: string): TarHeader {
  return {
    name: e.type === 'dir' ? `${name}/` : name,
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    size: e.type === 'file' ? e.size : 0,
    mtime: e.mtime,
    ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
    ...(e.type === 'char' || e.type === 'block' ? { devmajor: e.devmajor, devminor: e.devminor } : {}),
    ...(Object.keys(e.xattrs).length > 0 ? { xattrs: e.xattrs } : {}),
  };
}

/** Second pass: the flattened tar, as a stream of chunks. `result` is filled when it ends. */
export async function* flattenedTar(
  options: FlattenOptions,
  plan: FlattenPlan,
  result: { entries: number; captured: Map<string, Buffer> },
): AsyncGenerator<Buffer> {
  const readers = options.layers.map((l) => new LayerReader(l.open()));
  const current: (LayerEntry | undefined)[] = options.layers.map(() => undefined);
  const capture = new Set(options.capture ?? []);
  const spoolDir = await mkdtemp(join(options.workDir, '.flatten-'));
  // (layer, path) of a replaced or deleted entry → its header and spooled content.
  const kept = new Map<string, { entry: LayerEntry; file?: string }>();
  // (layer, target path) → the output name that now carries that inode.
  const relinked = new Map<string, string>();
  const emitted = new Set<string>();
  const key = (layer: number, path: string) => `${layer}\u0000${path}`;
  try {
    /** Advance layer i to `path`, skipping (and keeping aside where needed) what does not survive. */
    const advanceTo = async (i: number, path: string): Promise<LayerEntry> => {
      for (;;) {
        const e = (current[i] = await readers[i]!.next());
        if (e === undefined) throw new ExportError('LAYER_INVALID', `layer ${i}: ended before ${path}`);
        if (e.path === path && !isMarkerPath(e.path)) return e;
        if (plan.survivors[i]!.has(e.path) && !isMarkerPath(e.path)) {
          throw new ExportError('LAYER_INVALID', `layer ${i}: ${e.path} is out of canonical order`);
        }
        if (plan.keep[i]!.has(e.path)) {
          let file: string | undefined;
          if (e.type === 'file' && e.size > 0) {
            file = join(spoolDir, String(kept.size));
            const out = createWriteStream(file);
            for await (const chunk of readers[i]!.content()) if (!out.write(chunk)) await once(out, 'drain');
            out.end();
            await once(out, 'finish');
          }
          kept.set(key(i, e.path), { entry: e, ...(file ? { file } : {}) });
        }
      }
    };

    for (const { path, layer } of plan.entries) {
      options.signal?.throwIfAborted();
      const e = await advanceTo(layer, path);
      if (e.type === 'link') {
        const target = e.linkname!;
        const k = key(layer, target);
        const again = relinked.get(k);
        if (plan.survivors[layer]!.has(target) || again !== undefined) {
          const linkname = again ?? target;
          if (!emitted.has(linkname)) throw new ExportError('LAYER_INVALID', `layer ${layer}: hard link ${path} names ${target}, not written before it`);
          yield encodeTarHeader({ ...headerFor(e, path), linkname });
        } else {
          // The inode's first name was replaced or deleted above: this name carries its content now.
          const aside = kept.get(k);
          if (!aside) throw new ExportError('LAYER_INVALID', `layer ${layer}: hard link ${path} names ${target}, which the layer does not hold`);
          relinked.set(k, path);
          yield encodeTarHeader(headerFor({ ...aside.entry, path }, path));
          if (aside.file) {
            for await (const chunk of createReadStream(aside.file) as AsyncIterable<Buffer>) yield chunk;
            yield Buffer.alloc(paddingFor(aside.entry.size));
          }
        }
      } else {
        yield encodeTarHeader(headerFor(e, path));
        if (e.type === 'file' && e.size > 0) {
          const wanted = capture.has(path) && e.size <= CAPTURE_LIMIT ? ([] as Buffer[]) : undefined;
          let written = 0;
          for await (const chunk of readers[layer]!.content()) {
            wanted?.push(chunk);
            written += chunk.length;
            yield chunk;
          }
          if (written !== e.size) throw new ExportError('LAYER_INVALID', `layer ${layer}: ${path} is truncated`);
          if (wanted) result.captured.set(path, Buffer.concat(wanted));
          yield Buffer.alloc(paddingFor(e.size));
        } else if (e.type === 'file' && capture.has(path)) {
          result.captured.set(path, Buffer.alloc(0));
        }
      }
      emitted.add(path);
      result.entries++;
    }
    // Read every layer to its end, so the digest checks at the end of each stream run.
    for (const reader of readers) {
      while ((await reader.next()) !== undefined);
      await reader.drain();
    }
    yield endOfArchive();
  } finally {
    await Promise.all(readers.map((r) => r.close().catch(() => undefined)));
    await rm(spoolDir, { recursive: true, force: true });
  }
}
