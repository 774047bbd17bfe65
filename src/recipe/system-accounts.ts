/**
 * Debian's statically allocated accounts (base-passwd's passwd.master and group.master, plus
 * `_apt`, which apt creates in every Debian root). A recipe user may not take one of these
 * names, and a `files` owner may name them. Pure data.
 */
export const SYSTEM_USERS: Readonly<Record<string, number>> = {
  root: 0,
  daemon: 1,
  bin: 2,
  sys: 3,
  sync: 4,
  games: 5,
  man: 6,
  lp: 7,
  mail: 8,
  news: 9,
  uucp: 10,
  proxy: 13,
  'www-data': 33,
  backup: 34,
  list: 38,
  irc: 39,
  gnats: 41,
  _apt: 42,
  nobody: 65534,
};

export const SYSTEM_GROUPS: Readonly<Record<string, number>> = {
  root: 0,
  daemon: 1,
  bin: 2,
  sys: 3,
  adm: 4,
  tty: 5,
  disk: 6,
  lp: 7,
  mail: 8,
  news: 9,
  uucp: 10,
  man: 12,
  proxy: 13,
  kmem: 15,
  dialout: 20,
  fax: 21,
  voice: 22,
  cdrom: 24,
  floppy: 25,
  tape: 26,
  sudo: 27,
  audio: 29,
  dip: 30,
  'www-data': 33,
  backup: 34,
  operator: 37,
  list: 38,
  irc: 39,
  src: 40,
  gnats: 41,
  shadow: 42,
  utmp: 43,
  video: 44,
  sasl: 45,
  plugdev: 46,
  staff: 50,
  games: 60,
  users: 100,
  nogroup: 65534,
};

/** uids/gids a recipe may give its own users: base-passwd reserves 0–99 and 65534 (nobody); 65535 is (uid_t)-1 on 16-bit ids. */
export const RECIPE_ID_MIN = 100;
export const RECIPE_ID_MAX = 65533;
