/**
 * `SHA256SUMS` as `sha256sum` writes it and `sha256sum -c` and systemd-importd read it:
 * `<hex>  <file name>` per line (two spaces: text mode), sorted by name. Pure.
 */
import { ExportError } from '../errors.js';

export interface ChecksumEntry {
  readonly name: string;
  readonly sha256: string;
}

export function formatSha256Sums(entries: readonly ChecksumEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of sorted) {
    // sha256sum escapes names with '\\' or a newline; ours never need it, so refuse rather than escape.
    if (!/^[A-Za-z0-9._+-]+$/.test(e.name)) throw new ExportError('NAME_INVALID', `${JSON.stringify(e.name)} is not a plain file name`);
    if (!/^[a-f0-9]{64}$/.test(e.sha256)) throw new TypeError(`not a sha256 hex digest: ${e.sha256}`);
  }
  return sorted.map((e) => `${e.sha256}  ${e.name}\n`).join('');
}
