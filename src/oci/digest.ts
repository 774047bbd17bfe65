import { createHash } from 'node:crypto';

/** `sha256:<64 hex>`: the only algorithm imgfactory produces. */
export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: unknown): s is Digest {
  return typeof s === 'string' && DIGEST_RE.test(s);
}

export function parseDigest(s: string): Digest {
  if (!isDigest(s)) throw new TypeError(`not a sha256 digest: ${JSON.stringify(s)}`);
  return s;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${sha256Hex(data)}`;
}

export function digestHex(d: Digest): string {
  return d.slice('sha256:'.length);
}
