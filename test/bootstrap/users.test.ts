import { describe, expect, it } from 'vitest';
import { addUser, clampShadowDays } from '../../src/bootstrap/users.js';

const db = {
  passwd: 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
  group: 'root:x:0:\naudio:x:29:\nnogroup:x:65534:\n',
  shadow: 'root:*:20780:0:99999:7:::\n',
  gshadow: 'root:*::\n',
};
const app = { name: 'app', uid: 1000, gid: 1000, home: '/home/app', shell: '/bin/sh', groups: ['audio'] };

describe('users', () => {
  it('adds a user with fixed ids, its group, supplementary groups and a locked password', () => {
    const out = addUser(db, app);
    expect(out.passwd).toContain('app:x:1000:1000::/home/app:/bin/sh\n');
    expect(out.group).toContain('app:x:1000:\n');
    expect(out.group).toContain('audio:x:29:app\n');
    expect(out.shadow).toContain('app:!:::::::\n');
    expect(out.gshadow).toContain('app:!::\n');
  });

  it('refuses to replace an existing account, naming it (no silent redefinition of a system account)', () => {
    expect(() => addUser(addUser(db, app), app)).toThrow(/account app already exists/);
    expect(() => addUser(db, { ...app, name: 'nobody', uid: 4242 })).toThrow(/account nobody already exists/);
  });

  it('refuses a group of the same name with another gid, and a supplementary group that does not exist', () => {
    expect(() => addUser(db, { ...app, name: 'audio', uid: 4242, gid: 4242, groups: [] })).toThrow(/group audio already exists in the image with gid 29/);
    expect(() => addUser(db, { ...app, groups: ['nosuchgroup'] })).toThrow(/group nosuchgroup does not exist/);
  });

  it('refuses a uid that another user has', () => {
    expect(() => addUser(db, { ...app, name: 'other', uid: 65534 })).toThrow(/already used by nobody/);
  });

  it('reuses an existing group with the requested gid', () => {
    const out = addUser(db, { ...app, name: 'nb', uid: 2000, gid: 65534, groups: [] });
    expect(out.group).not.toMatch(/^nb:/m);
  });

  it('clamps the last-change day of every shadow entry', () => {
    expect(clampShadowDays('root:*:20780:0:99999:7:::\napp:!:::::::\n', 19000)).toBe('root:*:19000:0:99999:7:::\napp:!:::::::\n');
    expect(clampShadowDays('root:*:18000:0:99999:7:::\n', 19000)).toBe('root:*:18000:0:99999:7:::\n');
  });
});
