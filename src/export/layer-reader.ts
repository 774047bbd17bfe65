/**
 * Read a layer's uncompressed tar stream entry by entry, pulling bytes only as they are needed:
 * the caller streams an entry's content on, or skips it, before asking for the next entry. Memory
 * stays at a few chunks whatever the layer's size.
 */
import { ExportError } from '../errors.js';
import { BLOCK, contentSize, isZeroBlock, paddingAfter, parsePaxRecords, parseUstarBlock, resolveEntry, type LayerEntry } from './tar-parse.js';

/** Bytes pulled from an async source on demand. */
class ByteSource {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.source.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    return true;
  }

  /** Exactly n bytes, or undefined at a clean end of input before any byte. */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.buffered < n) {
      if (!(await this.fill())) {
        if (this.buffered === 0) return undefined;
        throw new ExportError('LAYER_INVALID', 'layer tar: truncated');
      }
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks.length = 0;
    if (rest.length > 0) this.chunks.push(rest);
    this.buffered = rest.length;
    return out;
  }

  /** Up to n bytes (at least one), whatever is at hand. */
  async readSome(n: number): Promise<Buffer> {
    if (this.buffered === 0 && !(await this.fill())) throw new ExportError('LAYER_INVALID', 'layer tar: truncated');
    const head = this.chunks[0]!;
    if (head.length <= n) {
      this.chunks.shift();
      this.buffered -= head.length;
      return head;
    }
    this.chunks[0] = head.subarray(n);
    this.buffered -= n;
    return head.subarray(0, n);
  }

  /** Consume the rest of the input (so checks that run at its end do run). */
  async drain(): Promise<void> {
    while (await this.fill()) {
      this.chunks.length = 0;
      this.buffered = 0;
    }
  }

  /** Stop reading early: the source is destroyed. */
  async close(): Promise<void> {
    this.done = true;
    await this.source.return?.();
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) left -= (await this.readSome(Math.min(left, 1 << 20))).length;
  }
}

export class LayerReader {
  private readonly bytes: ByteSource;
  /** Content bytes (plus padding) of the current entry not yet consumed. */
  private unread = 0;
  private padding = 0;

  constructor(source: AsyncIterable<Buffer>) {
    this.bytes = new ByteSource(source[Symbol.asyncIterator]());
  }

  /** The next real entry (pax and GNU long-name headers folded in), or undefined at the end. */
  async next(): Promise<LayerEntry | undefined> {
    await this.bytes.skip(this.unread + this.padding);
    this.unread = 0;
    this.padding = 0;
    let pax = new Map<string, Buffer>();
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const block = await this.bytes.read(BLOCK);
      if (block === undefined || isZeroBlock(block)) return undefined;
      const header = parseUstarBlock(block);
      const size = contentSize(header, new Map());
      if (header.typeflag === 'x' || header.typeflag === 'g' || header.typeflag === 'L' || header.typeflag === 'K') {
        const data = (await this.bytes.read(size)) ?? Buffer.alloc(0);
        await this.bytes.skip(paddingAfter(size));
        if (header.typeflag === 'x') pax = new Map([...pax, ...parsePaxRecords(data)]);
        // Global pax headers ('g') set defaults for later entries; image layers have no use for them.
        if (header.typeflag === 'L') longName = data.toString('utf8').replace(/\u0000+$/, '');
        if (header.typeflag === 'K') longLink = data.toString('utf8').replace(/\u0000+$/, '');
        continue;
      }
      const entry = resolveEntry(header, pax, longName, longLink);
      this.unread = contentSize(header, pax);
      this.padding = paddingAfter(this.unread);
      return entry;
    }
  }

  /** Read to the end of the input: call after next() returned undefined. */
  async drain(): Promise<void> {
    await this.bytes.drain();
  }

  async close(): Promise<void> {
    await this.bytes.close();
  }

  /** The current entry's content, in chunks; must be read before the next call to next(). */
  async *content(): AsyncGenerator<Buffer> {
    while (this.unread > 0) {
      const chunk = await this.bytes.readSome(Math.min(this.unread, 1 << 20));
      this.unread -= chunk.length;
      yield chunk;
    }
  }
}
