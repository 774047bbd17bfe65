/** One human line per push/pull progress event, for stderr. Pure; never shows credentials. */
import type { RegistryProgress } from './client.js';
import type { PushProgress } from './push.js';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

const short = (d: string) => d.slice(0, 19);

/** undefined for events too chatty for a terminal (per-chunk progress of small blobs). */
export function formatRegistryProgress(e: PushProgress | RegistryProgress): string | undefined {
  switch (e.type) {
    case 'blob':
      return e.action === 'mounted'
        ? `${e.repository}: mounted ${short(e.digest)} from ${e.from} (${formatBytes(e.size)})`
        : `${e.repository}: ${e.action} ${short(e.digest)} (${formatBytes(e.size)})`;
    case 'manifest':
      return `${e.repository}: manifest ${e.reference.startsWith('sha256:') ? short(e.reference) : e.reference}`;
    case 'tag':
      return `tagged ${e.reference}`;
    case 'blob-progress':
      return e.size > 32 * 1024 * 1024 && e.sent < e.size ? `${e.repository}: ${short(e.digest)} ${formatBytes(e.sent)} / ${formatBytes(e.size)}` : undefined;
    case 'upload-resumed':
      return `${e.repository}: resuming ${short(e.digest)} at byte ${e.offset}`;
    case 'upload-restarted':
      return `${e.repository}: restarting upload of ${short(e.digest)}`;
    case 'retry':
      return `${e.what}: ${e.reason}, retry ${e.attempt} in ${(e.delayMs / 1000).toFixed(1)}s`;
  }
}
