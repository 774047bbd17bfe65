/**
 * The containers/image "simple signing" payload (atomic container signature). Built byte for
 * byte as containers/image writes it (Go `json.Marshal` of maps: keys sorted, `<>&` escaped) and
 * parsed as strictly as it reads it: exactly the known members in `critical`, unknown members in
 * `optional` ignored, an integer timestamp. Pure.
 */
import { VerifyError } from '../errors.js';
import { parseJsonRejectingDuplicates } from './strict-json.js';

export const SIGNATURE_TYPE = 'atomic container signature';

export interface SignaturePayloadInput {
  readonly manifestDigest: string;
  /** Docker reference the signature vouches for (`registry/repo:tag`). */
  readonly identity: string;
  readonly creator: string;
  /** Unix time in seconds. */
  readonly timestamp: number;
}

export interface SignaturePayload {
  readonly manifestDigest: string;
  readonly identity: string;
  readonly creator?: string;
  readonly timestamp?: number;
}

const MANIFEST_DIGEST_RE = /^(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;

export function buildSignaturePayload(input: SignaturePayloadInput): Uint8Array {
  if (!MANIFEST_DIGEST_RE.test(input.manifestDigest)) {
    throw new TypeError(`not a manifest digest: ${JSON.stringify(input.manifestDigest)}`);
  }
  if (input.identity === '') throw new TypeError('empty signature identity');
  if (!Number.isSafeInteger(input.timestamp)) throw new TypeError(`timestamp must be integer seconds: ${input.timestamp}`);
  const s = goJsonString;
  const text =
    `{"critical":{"identity":{"docker-reference":${s(input.identity)}},` +
    `"image":{"docker-manifest-digest":${s(input.manifestDigest)}},` +
    `"type":${s(SIGNATURE_TYPE)}},` +
    `"optional":{"creator":${s(input.creator)},"timestamp":${input.timestamp}}}`;
  return new TextEncoder().encode(text);
}

/** Go's encoding/json string form: JSON.stringify plus HTML-safe escapes. */
function goJsonString(value: string): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function parseSignaturePayload(bytes: Uint8Array): SignaturePayload {
  const fail = (why: string): never => {
    throw new VerifyError('SIGNATURE_PAYLOAD_INVALID', `signature payload: ${why}`);
  };
  let text: string;
  let doc: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    doc = parseJsonRejectingDuplicates(text);
  } catch (cause) {
    return fail(`not JSON (${(cause as Error).message})`);
  }
  const top = exactObject(doc, ['critical', 'optional'], 'payload', fail);
  const critical = exactObject(top.critical, ['type', 'image', 'identity'], 'critical', fail);
  if (critical.type !== SIGNATURE_TYPE) fail(`unrecognized signature type ${JSON.stringify(critical.type)}`);
  const image = exactObject(critical.image, ['docker-manifest-digest'], 'critical.image', fail);
  const identity = exactObject(critical.identity, ['docker-reference'], 'critical.identity', fail);
  const digest = image['docker-manifest-digest'];
  if (typeof digest !== 'string' || !MANIFEST_DIGEST_RE.test(digest)) fail('invalid docker-manifest-digest');
  const reference = identity['docker-reference'];
  if (typeof reference !== 'string') fail('docker-reference is not a string');
  const optional = top.optional;
  if (typeof optional !== 'object' || optional === null || Array.isArray(optional)) return fail('optional is not an object');
  const { creator, timestamp } = optional as Record<string, unknown>;
  if (creator !== undefined && typeof creator !== 'string') fail('optional.creator is not a string');
  if (timestamp !== undefined && (typeof timestamp !== 'number' || !Number.isInteger(timestamp))) {
    fail('optional.timestamp is not an integer');
  }
  return {
    manifestDigest: digest as string,
    identity: reference as string,
    ...(creator === undefined ? {} : { creator: creator as string }),
    ...(timestamp === undefined ? {} : { timestamp: timestamp as number }),
  };
}

function exactObject(value: unknown, keys: readonly string[], where: string, fail: (why: string) => never): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(`${where} is not an object`);
  const have = Object.keys(value);
  const extra = have.filter((k) => !keys.includes(k));
  const missing = keys.filter((k) => !have.includes(k));
  if (extra.length > 0) fail(`${where} has unexpected member ${JSON.stringify(extra[0])}`);
  if (missing.length > 0) fail(`${where} lacks member ${JSON.stringify(missing[0])}`);
  return value as Record<string, unknown>;
}
