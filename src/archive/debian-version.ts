/**
 * Debian version ordering, as Debian policy §5.6.12 and dpkg define it:
 * [epoch:]upstream_version[-debian_revision], compared part by part, where within each part
 * non-digit runs compare with `~` before everything (even the end of the string), then letters,
 * then other characters; and digit runs compare numerically.
 */

export interface DebianVersion {
  readonly epoch: number;
  readonly upstream: string;
  readonly revision: string;
}

export function parseDebianVersion(version: string): DebianVersion {
  const v = version.trim();
  const colon = v.indexOf(':');
  let epoch = 0;
  let rest = v;
  if (colon !== -1) {
    const e = v.slice(0, colon);
    if (!/^\d+$/.test(e)) throw new TypeError(`invalid epoch in Debian version ${JSON.stringify(version)}`);
    epoch = Number(e);
    rest = v.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const upstream = dash === -1 ? rest : rest.slice(0, dash);
  const revision = dash === -1 ? '' : rest.slice(dash + 1);
  if (upstream === '') throw new TypeError(`empty upstream version in Debian version ${JSON.stringify(version)}`);
  return { epoch, upstream, revision };
}

/** Sort weight of one character in a non-digit run (dpkg's `order()`). */
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  const code = c.charCodeAt(0);
  if (code >= 0x30 && code <= 0x39) return 0;
  if ((code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)) return code;
  return code + 256;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** dpkg's verrevcmp: compares one upstream or revision part. */
function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = order(a[i]);
      const bc = order(b[j]);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Negative if a < b, 0 if equal (e.g. `1.0` and `0:1.0`), positive if a > b. */
export function compareDebianVersions(a: string, b: string): number {
  const va = parseDebianVersion(a);
  const vb = parseDebianVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch - vb.epoch;
  const up = comparePart(va.upstream, vb.upstream);
  if (up !== 0) return up;
  return comparePart(va.revision, vb.revision);
}
