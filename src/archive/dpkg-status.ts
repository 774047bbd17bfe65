/** dpkg's database of installed packages (`/var/lib/dpkg/status`). Pure. */
import { AuditError } from '../errors.js';
import { Deb822SyntaxError, parseDeb822 } from './deb822.js';

/** dpkg's package states (dpkg-query(1)), from nothing on disk to fully configured. */
export const DPKG_STATES = [
  'not-installed',
  'config-files',
  'half-installed',
  'unpacked',
  'half-configured',
  'triggers-awaited',
  'triggers-pending',
  'installed',
] as const;
export type DpkgState = (typeof DPKG_STATES)[number];

export interface DpkgStatusEntry {
  readonly package: string;
  /** Absent only for `not-installed` entries. */
  readonly version?: string;
  readonly architecture?: string;
  /** `install`, `hold`, `deinstall`, `purge`, `unknown`. */
  readonly want: string;
  /** `ok` or `reinstreq`. */
  readonly flag: string;
  readonly state: DpkgState;
  /** The Status field as written, e.g. `install ok installed`. */
  readonly status: string;
  readonly source?: string;
}

/**
 * Whether files of the package may be on disk. Only `not-installed` leaves nothing behind:
 * even `config-files` keeps conffiles the package shipped, so it needs proof like the rest.
 */
export function hasFilesOnDisk(e: DpkgStatusEntry): boolean {
  return e.state !== 'not-installed';
}

export function parseDpkgStatus(text: string, name = 'var/lib/dpkg/status'): DpkgStatusEntry[] {
  let stanzas;
  try {
    stanzas = parseDeb822(text);
  } catch (e) {
    if (e instanceof Deb822SyntaxError) throw unreadable(name, e.message);
    throw e;
  }
  return stanzas.map((s, i) => {
    const pkg = s.get('package');
    if (!pkg) throw unreadable(name, `entry ${i + 1} has no Package field`);
    const statusText = s.get('status') ?? '';
    const words = statusText.split(/\s+/);
    const [want, flag, state] = words;
    if (words.length !== 3 || !want || !flag || !isState(state)) {
      throw unreadable(name, `${pkg}: bad Status ${JSON.stringify(s.get('status') ?? '')}`);
    }
    const version = s.get('version');
    const architecture = s.get('architecture');
    if (state !== 'not-installed' && (!version || !architecture)) {
      throw unreadable(name, `${pkg}: ${state} but no Version or Architecture`);
    }
    const source = s.get('source');
    return {
      package: pkg,
      ...(version ? { version } : {}),
      ...(architecture ? { architecture } : {}),
      want,
      flag,
      state,
      status: statusText,
      ...(source ? { source } : {}),
    };
  });
}

function isState(s: string | undefined): s is DpkgState {
  return (DPKG_STATES as readonly string[]).includes(s ?? '');
}

function unreadable(name: string, why: string): AuditError {
  return new AuditError('AUDIT_STATUS_UNREADABLE', `${name}: ${why}`, { details: { file: name } });
}
