import { describe, expect, it } from 'vitest';
import { buildSignaturePayload, parseSignaturePayload } from '../../src/sign/payload.js';
import { parseJsonRejectingDuplicates } from '../../src/sign/strict-json.js';

const D = `sha256:${'0123456789abcdef'.repeat(4)}`;
const text = (s: string) => new TextEncoder().encode(s);

describe('simple-signing payload', () => {
  it('is byte for byte what containers/image writes (Go json.Marshal of maps: sorted keys)', () => {
    const bytes = buildSignaturePayload({
      manifestDigest: D,
      identity: '127.0.0.1:5000/base/debian-minimal:12',
      creator: 'imgfactory 0.1.0',
      timestamp: 1700000000,
    });
    expect(new TextDecoder().decode(bytes)).toBe(
      `{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/base/debian-minimal:12"},` +
        `"image":{"docker-manifest-digest":"${D}"},"type":"atomic container signature"},` +
        `"optional":{"creator":"imgfactory 0.1.0","timestamp":1700000000}}`,
    );
    const top = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    expect(Object.keys(top)).toEqual(['critical', 'optional']);
  });

  it('escapes like Go (<, >, &)', () => {
    const bytes = buildSignaturePayload({ manifestDigest: D, identity: 'x/y:1', creator: 'a<b>&c', timestamp: 1 });
    expect(new TextDecoder().decode(bytes)).toContain('"creator":"a\\u003cb\\u003e\\u0026c"');
  });

  it('refuses a non-integer timestamp and a malformed digest', () => {
    expect(() => buildSignaturePayload({ manifestDigest: D, identity: 'x/y:1', creator: 'c', timestamp: 1.5 })).toThrow(TypeError);
    expect(() => buildSignaturePayload({ manifestDigest: 'sha256:abc', identity: 'x/y:1', creator: 'c', timestamp: 1 })).toThrow(TypeError);
  });

  it('round-trips', () => {
    const p = parseSignaturePayload(buildSignaturePayload({ manifestDigest: D, identity: 'r.io/a:1', creator: 'c', timestamp: 5 }));
    expect(p).toEqual({ manifestDigest: D, identity: 'r.io/a:1', creator: 'c', timestamp: 5 });
  });

  const critical = `"critical":{"identity":{"docker-reference":"r.io/a:1"},"image":{"docker-manifest-digest":"${D}"},"type":"atomic container signature"}`;
  it.each([
    ['not JSON', '{'],
    ['an extra top-level member', `{${critical},"optional":{},"extra":1}`],
    ['no optional', `{${critical}}`],
    [
      'an extra critical member',
      `{"critical":{"identity":{"docker-reference":"r.io/a:1"},"image":{"docker-manifest-digest":"${D}"},"type":"atomic container signature","x":1},"optional":{}}`,
    ],
    ['another type', `{${critical.replace('atomic container signature', 'cosign container image signature')},"optional":{}}`],
    ['a bad digest', `{${critical.replace(D, 'sha256:1234')},"optional":{}}`],
    ['a fractional timestamp', `{${critical},"optional":{"timestamp":1.5}}`],
    ['a duplicate key', `{${critical},"optional":{},"critical":{}}`],
  ])('refuses a payload with %s (SIGNATURE_PAYLOAD_INVALID)', (_why, json) => {
    expect(() => parseSignaturePayload(text(json))).toThrow(expect.objectContaining({ code: 'SIGNATURE_PAYLOAD_INVALID' }));
  });

  it('ignores unknown optional members, as containers/image does', () => {
    expect(parseSignaturePayload(text(`{${critical},"optional":{"whatever":[1,2]}}`)).identity).toBe('r.io/a:1');
  });
});

describe('duplicate-key detection', () => {
  it('finds duplicates at any depth, not inside strings or arrays', () => {
    expect(() => parseJsonRejectingDuplicates('{"a":{"b":1,"b":2}}')).toThrow(/duplicate key "b"/);
    expect(parseJsonRejectingDuplicates('{"a":"\\"a\\":","b":[{"a":1},{"a":2}]}')).toEqual({ a: '"a":', b: [{ a: 1 }, { a: 2 }] });
  });
});
