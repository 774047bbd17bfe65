/**
 * The slim, strip and scrub rules as data (pure). The I/O that applies them is in apply-rules.ts.
 */
import type { SlimRules, StripRules } from '../recipe/types.js';

/** dpkg configuration so packages installed later never unpack what slim removes. */
export function dpkgSlimConfig(slim: SlimRules): string {
  const out = ['# imgfactory slim: keep images small; copyright files stay for license compliance'];
  if (slim.docs) {
    out.push('path-exclude=/usr/share/doc/*', 'path-include=/usr/share/doc/*/copyright', 'path-exclude=/usr/share/info/*');
    out.push('path-exclude=/usr/share/lintian/*', 'path-exclude=/usr/share/linda/*');
  }
  if (slim.man) out.push('path-exclude=/usr/share/man/*', 'path-exclude=/usr/share/groff/*');
  if (slim.keepLocales !== null) {
    out.push('path-exclude=/usr/share/locale/*');
    for (const l of slim.keepLocales) out.push(`path-include=/usr/share/locale/${l}/*`);
  }
  return `${out.join('\n')}\n`;
}

/** Glob-ish patterns (dir/*) matching dpkgSlimConfig, to delete what the bootstrap already unpacked. */
export function slimDeletions(slim: SlimRules): { dir: string; keep: (relPath: string) => boolean }[] {
  const out: { dir: string; keep: (p: string) => boolean }[] = [];
  if (slim.docs) {
    out.push({ dir: 'usr/share/doc', keep: (p) => /^[^/]+\/copyright$/.test(p) });
    out.push({ dir: 'usr/share/info', keep: () => false });
    out.push({ dir: 'usr/share/lintian', keep: () => false });
  }
  if (slim.man) {
    out.push({ dir: 'usr/share/man', keep: () => false });
    out.push({ dir: 'usr/share/groff', keep: () => false });
  }
  if (slim.keepLocales !== null) {
    const keep = new Set(slim.keepLocales);
    out.push({ dir: 'usr/share/locale', keep: (p) => keep.has(p.split('/')[0]!) });
  }
  return out;
}

/** Paths removed by strip (distroless). The dpkg status database stays for scanners. */
export function stripPaths(strip: StripRules): string[] {
  const out: string[] = [];
  if (strip.shell) {
    for (const d of ['bin', 'usr/bin']) for (const s of ['sh', 'bash', 'dash', 'rbash']) out.push(`${d}/${s}`);
  }
  if (strip.apt) {
    out.push('usr/bin/apt', 'usr/bin/apt-get', 'usr/bin/apt-cache', 'usr/bin/apt-config', 'usr/bin/apt-mark', 'usr/bin/apt-key', 'usr/bin/apt-cdrom');
    out.push('usr/lib/apt', 'etc/apt', 'var/lib/apt', 'var/cache/apt', 'var/log/apt');
  }
  if (strip.dpkgTools) {
    for (const t of [
      'dpkg',
      'dpkg-deb',
      'dpkg-divert',
      'dpkg-maintscript-helper',
      'dpkg-query',
      'dpkg-realpath',
      'dpkg-split',
      'dpkg-statoverride',
      'dpkg-trigger',
      'update-alternatives',
    ]) {
      out.push(`usr/bin/${t}`, `usr/sbin/${t}`, `sbin/${t}`, `bin/${t}`);
    }
  }
  out.push(...strip.paths.map((p) => p.replace(/^\/+/, '')));
  return out;
}

/**
 * Drift sources (README "Reproducibility"; test/bootstrap/scrub.test.ts holds each) and what to do with each. `empty` keeps the
 * file with no content (e.g. machine-id, which systemd treats as "uninitialized").
 */
export const SCRUB_RULES: readonly { readonly path: string; readonly action: 'delete' | 'empty' | 'delete-children' }[] = [
  { path: 'etc/machine-id', action: 'empty' },
  { path: 'var/lib/dbus/machine-id', action: 'delete' },
  { path: 'etc/hostname', action: 'delete' },
  { path: 'etc/resolv.conf', action: 'delete' },
  { path: 'var/cache/ldconfig/aux-cache', action: 'delete' },
  { path: 'var/log', action: 'delete-children' },
  { path: 'var/lib/apt/lists', action: 'delete-children' },
  { path: 'var/cache/apt', action: 'delete-children' },
  { path: 'var/cache/debconf/config.dat-old', action: 'delete' },
  { path: 'var/cache/debconf/templates.dat-old', action: 'delete' },
  { path: 'var/cache/debconf/passwords.dat-old', action: 'delete' },
  { path: 'var/lib/dpkg/status-old', action: 'delete' },
  { path: 'var/lib/dpkg/diversions-old', action: 'delete' },
  { path: 'var/lib/dpkg/statoverride-old', action: 'delete' },
  { path: 'var/lib/dpkg/available-old', action: 'delete' },
  { path: 'etc/passwd-', action: 'delete' },
  { path: 'etc/group-', action: 'delete' },
  { path: 'etc/shadow-', action: 'delete' },
  { path: 'etc/gshadow-', action: 'delete' },
  { path: 'etc/subuid-', action: 'delete' },
  { path: 'etc/subgid-', action: 'delete' },
  { path: 'usr/sbin/policy-rc.d', action: 'delete' },
  { path: 'debootstrap', action: 'delete' },
];

/** Directories whose contents never belong in a layer: kernel/runtime mounts and build state. */
export const LAYER_EXCLUDES: readonly string[] = ['dev', 'proc', 'sys', 'run', 'tmp', 'var/tmp'];
