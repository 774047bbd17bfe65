/** ParsedRecipe (zod output) → Recipe (everything resolved). Pure: the host facts are arguments. */
import { dirname, resolve } from 'node:path';
import { resolveOwnerPart, type ParsedRecipe } from './schema.js';
import type { Recipe, RecipeConfig, SlimRules, StripRules } from './types.js';

export interface NormalizeContext {
  /** Absolute path of the recipe file. */
  readonly file: string;
  readonly fileSha256: string;
  /** Debian architecture of the build host, the default for `architectures`. */
  readonly hostArch: string;
}

const DEFAULT_SLIM: SlimRules = { docs: true, man: true, keepLocales: [], caches: true };
const DEFAULT_STRIP: StripRules = { shell: true, apt: true, dpkgTools: true, paths: [] };

type UserIds = ReadonlyMap<string, { uid: number; gid: number }>;

/** `uid:gid` by number or name (the schema has checked that every name resolves). */
function parseOwner(owner: string | { uid: number; gid: number } | undefined, users: UserIds): { uid: number; gid: number } {
  if (owner === undefined) return { uid: 0, gid: 0 };
  if (typeof owner === 'object') return owner;
  const [user, group] = owner.split(':') as [string, string];
  return { uid: resolveOwnerPart(user, 'user', users)!, gid: resolveOwnerPart(group, 'group', users)! };
}

function normalizePort(p: number | string): string {
  const s = String(p);
  return s.includes('/') ? s : `${s}/tcp`;
}

export function normalizeRecipe(parsed: ParsedRecipe, ctx: NormalizeContext): Recipe {
  const dir = dirname(ctx.file);
  // Users declared so far (this layer and earlier ones): what a `files` owner name may refer to.
  const declared = new Map<string, { uid: number; gid: number }>();
  const declareUsers = (users: readonly { name: string; uid: number; gid?: number }[]): UserIds => {
    for (const u of users) declared.set(u.name, { uid: u.uid, gid: u.gid ?? u.uid });
    return declared;
  };
  const c = parsed.config ?? {};
  const config: RecipeConfig = {
    user: c.user,
    workdir: c.workdir,
    env: c.env ?? {},
    entrypoint: c.entrypoint,
    cmd: c.cmd,
    labels: c.labels ?? {},
    ports: [...new Set((c.ports ?? []).map(normalizePort))].sort(),
    stopSignal: c.stopSignal,
  };
  const slim =
    parsed.slim === undefined || parsed.slim === false
      ? null
      : parsed.slim === true
        ? DEFAULT_SLIM
        : {
            docs: parsed.slim.docs ?? true,
            man: parsed.slim.man ?? true,
            keepLocales: parsed.slim.locales === false ? null : (parsed.slim.locales ?? []),
            caches: parsed.slim.caches ?? true,
          };
  const strip =
    parsed.strip === undefined || parsed.strip === false
      ? null
      : parsed.strip === true
        ? DEFAULT_STRIP
        : {
            shell: parsed.strip.shell ?? true,
            apt: parsed.strip.apt ?? true,
            dpkgTools: parsed.strip.dpkgTools ?? true,
            paths: parsed.strip.paths ?? [],
          };
  return {
    file: ctx.file,
    fileSha256: ctx.fileSha256,
    name: parsed.name,
    version: parsed.version,
    description: parsed.description,
    suite: parsed.suite,
    architectures: parsed.architectures ?? [ctx.hostArch],
    mirror: parsed.mirror,
    securityMirror: parsed.securityMirror,
    components: parsed.components ?? ['main'],
    variant: parsed.variant ?? 'minbase',
    updates: parsed.updates ?? true,
    from: parsed.from === undefined ? undefined : resolve(dir, parsed.from),
    layers: (parsed.layers ?? []).map((l) => ({
      name: l.name,
      packages: l.packages ?? [],
      files: (l.files ?? []).map((f) => ({
        src: f.src,
        dest: f.dest,
        mode: f.mode ?? 0o644,
        ...parseOwner(f.owner, declareUsers(l.users ?? [])),
      })),
      users: (l.users ?? []).map((u) => ({
        name: u.name,
        uid: u.uid,
        gid: u.gid ?? u.uid,
        home: u.home ?? `/home/${u.name}`,
        shell: u.shell ?? '/usr/sbin/nologin',
        groups: u.groups ?? [],
      })),
      remove: { packages: l.remove?.packages ?? [], paths: l.remove?.paths ?? [] },
    })),
    config,
    slim,
    strip,
    contents: parsed.contents ? { packages: parsed.contents.packages, generated: parsed.contents.generated ?? [] } : null,
    publish: parsed.publish,
  };
}
