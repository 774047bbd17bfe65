/**
 * Resolve the image config's `User` (`name`, `uid`, `name:group`, `uid:gid`) against the image's
 * own /etc/passwd and /etc/group, as a container runtime does at start. LXC wants numbers. Pure.
 */
import { ExportError } from '../errors.js';

export interface ImageUser {
  readonly name?: string;
  readonly uid: number;
  readonly gid: number;
}

interface Row {
  readonly name: string;
  readonly id: number;
  readonly gid: number;
}

function parseDb(text: string): Row[] {
  const rows: Row[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#')) continue;
    const id = Number(f[2]);
    const gid = Number(f[3]);
    if (Number.isSafeInteger(id)) rows.push({ name: f[0]!, id, gid: Number.isSafeInteger(gid) ? gid : id });
  }
  return rows;
}

const NUMERIC = /^\d+$/;

export function resolveImageUser(user: string | undefined, passwd: string, group: string): ImageUser {
  if (user === undefined || user === '') return { name: 'root', uid: 0, gid: 0 };
  const [u, g] = user.split(':', 2) as [string, string | undefined];
  const users = parseDb(passwd);
  const found = NUMERIC.test(u) ? users.find((r) => r.id === Number(u)) : users.find((r) => r.name === u);
  if (!found && !NUMERIC.test(u)) {
    throw new ExportError('USER_UNKNOWN', `the image runs as user ${JSON.stringify(u)}, which its /etc/passwd does not list`);
  }
  const uid = found?.id ?? Number(u);
  let gid = found?.gid ?? uid;
  if (g !== undefined && g !== '') {
    if (NUMERIC.test(g)) gid = Number(g);
    else {
      const grp = parseDb(group).find((r) => r.name === g);
      if (!grp) throw new ExportError('USER_UNKNOWN', `the image runs as group ${JSON.stringify(g)}, which its /etc/group does not list`);
      gid = grp.id;
    }
  }
  return { ...(found ? { name: found.name } : {}), uid, gid };
}
