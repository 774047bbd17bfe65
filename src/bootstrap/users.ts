/**
 * Users with fixed uid/gid, written straight into passwd/group/shadow (pure text edits), so
 * the result does not depend on useradd's defaults, the build date or a shell in the image.
 */
import type { RecipeUser } from '../recipe/types.js';

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0);
}

function upsert(text: string, name: string, line: string): string {
  const kept = lines(text).filter((l) => l.split(':')[0] !== name);
  return `${[...kept, line].join('\n')}\n`;
}

export interface UserDb {
  readonly passwd: string;
  readonly group: string;
  readonly shadow: string;
  readonly gshadow?: string;
}

/**
 * Add one user. Refuses, naming the account, to replace anything that is already there: an
 * account of the same name (a system account such as `daemon` must never be silently
 * redefined), a uid in use, a group of the same name with another gid, a missing group.
 */
export function addUser(db: UserDb, u: RecipeUser): UserDb {
  for (const l of lines(db.passwd)) {
    const [name, , uid] = l.split(':');
    if (name === u.name) throw new Error(`account ${name} already exists in the image (uid ${uid})`);
    if (Number(uid) === u.uid) throw new Error(`uid ${u.uid} is already used by ${name}`);
  }
  const groups = lines(db.group).map((l) => l.split(':'));
  const sameName = groups.find((f) => f[0] === u.name);
  if (sameName && Number(sameName[2]) !== u.gid) throw new Error(`group ${u.name} already exists in the image with gid ${sameName[2]}`);
  for (const g of u.groups) if (!groups.some((f) => f[0] === g)) throw new Error(`group ${g} does not exist in the image`);
  const passwd = `${[...lines(db.passwd), `${u.name}:x:${u.uid}:${u.gid}::${u.home}:${u.shell}`].join('\n')}\n`;
  let group = sameName || groups.some((f) => Number(f[2]) === u.gid) ? db.group : upsert(db.group, u.name, `${u.name}:x:${u.gid}:`);
  // Supplementary groups: append the user to each named group's member list.
  for (const g of u.groups) {
    group = `${lines(group)
      .map((l) => {
        const f = l.split(':');
        if (f[0] !== g) return l;
        const members = (f[3] ?? '').split(',').filter(Boolean);
        if (!members.includes(u.name)) members.push(u.name);
        return [f[0], f[1], f[2], members.join(',')].join(':');
      })
      .join('\n')}\n`;
  }
  // Locked password; the last-change day is left empty (no build-date drift).
  const shadow = upsert(db.shadow, u.name, `${u.name}:!:::::::`);
  const gshadow = db.gshadow === undefined ? undefined : upsert(db.gshadow, u.name, `${u.name}:!::`);
  return { passwd, group, shadow, gshadow };
}

/** Replace every last-password-change day in shadow with `day` (days since epoch). */
export function clampShadowDays(shadow: string, day: number): string {
  return `${lines(shadow)
    .map((l) => {
      const f = l.split(':');
      if (f.length < 3 || f[2] === '') return l;
      f[2] = String(Math.min(Number(f[2]), day));
      return f.join(':');
    })
    .join('\n')}\n`;
}
