/**
 * xzDecompress and the streaming runner under it, with the real xz: byte-exact output in pieces,
 * xz's own words on corrupt input, no xz left running when the consumer stops early.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rejectionOf } from '../helpers/error-code.js';
import { xzDecompress } from '../../src/archive/xz.js';
import { ExecError } from '../../src/errors.js';
import { run, streamStdout } from '../../src/exec.js';
import { childProcesses } from '../helpers/processes.js';

const xz = (bytes: Uint8Array) => execFileSync('xz', ['--stdout', '-0'], { input: bytes, maxBuffer: 1 << 30 });

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const all: Buffer[] = [];
  for await (const c of chunks) all.push(c);
  return all;
}

const failure = (p: Promise<unknown>): Promise<ExecError> => rejectionOf(p, ExecError);

describe('xzDecompress', () => {
  it('gives back multi-MB content byte for byte, in several pieces, invalid UTF-8 included', async () => {
    // Random bytes are mostly invalid UTF-8; the text half keeps xz's output compressible and long.
    const plain = Buffer.concat([randomBytes(3 << 20), Buffer.from('Description: caf\xe9\n'.repeat(200_000), 'latin1')]);
    const chunks = await collect(xzDecompress(xz(plain)));
    expect(chunks.length).toBeGreaterThan(2);
    expect(Buffer.concat(chunks).equals(plain)).toBe(true);
    expect(childProcesses('xz')).toEqual([]);
  });

  it('an empty stream is no bytes', async () => {
    expect(Buffer.concat(await collect(xzDecompress(xz(Buffer.alloc(0))))).length).toBe(0);
  });

  it('bytes that are not xz: COMMAND_FAILED, one line with xz saying why', async () => {
    const e = await failure(collect(xzDecompress(Buffer.from('Package: not compressed\n'))));
    expect(e.code).toBe('COMMAND_FAILED');
    expect(e.message).toMatch(/^xz failed \(exit 1\): xz: \(stdin\): File format not recognized$/);
  });

  it('a truncated stream: COMMAND_FAILED after the bytes xz could give, and no xz left behind', async () => {
    const whole = xz(randomBytes(4 << 20));
    const e = await failure(collect(xzDecompress(whole.subarray(0, whole.length >> 1))));
    expect(e.code).toBe('COMMAND_FAILED');
    expect(e.message.split('\n')).toHaveLength(1);
    expect(e.message).toContain('Unexpected end of input');
    expect(childProcesses('xz')).toEqual([]);
  });

  it('a consumer that stops after the first piece leaves no xz running', async () => {
    // 32 MiB of output against a 64 KiB pipe: xz is blocked writing when the consumer leaves.
    const compressed = xz(Buffer.alloc(32 << 20, 'Package: x\n'));
    let pieces = 0;
    for await (const chunk of xzDecompress(compressed)) {
      expect(chunk.length).toBeGreaterThan(0);
      pieces++;
      break;
    }
    expect(pieces).toBe(1);
    expect(childProcesses('xz')).toEqual([]);
  });

  it('a consumer that throws mid-stream leaves no xz running', async () => {
    const compressed = xz(Buffer.alloc(32 << 20, 'Package: x\n'));
    const consume = async () => {
      for await (const chunk of xzDecompress(compressed)) throw new Error(`parse error at ${chunk.length}`);
    };
    await expect(consume()).rejects.toThrow(/parse error/);
    expect(childProcesses('xz')).toEqual([]);
  });
});

describe('streamStdout', () => {
  it('a tool that is not installed: TOOL_MISSING, in the words run() uses', async () => {
    const argv = ['imgfactory-no-such-tool', '--stdout'];
    const streamed = await failure(collect(streamStdout(argv, { input: Buffer.from('x') })));
    const ran = await failure(run(argv));
    expect(streamed.code).toBe('TOOL_MISSING');
    expect(streamed.message).toBe(ran.message);
  });

  it('a tool that exits without reading its input (EPIPE on stdin): its exit status, not a crash', async () => {
    const e = await failure(collect(streamStdout(['sh', '-c', 'echo no thanks >&2; exit 3'], { input: randomBytes(8 << 20), failCode: 'APT_FAILED' })));
    expect(e.code).toBe('APT_FAILED');
    expect(e.message).toBe('sh failed (exit 3): no thanks');
  });

  it('a tool that exits 0 without reading its input: its output, and no error', async () => {
    const chunks = await collect(streamStdout(['sh', '-c', 'echo done'], { input: randomBytes(8 << 20) }));
    expect(Buffer.concat(chunks).toString()).toBe('done\n');
  });
});
