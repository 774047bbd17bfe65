/**
 * The recipe format. `RecipeInput` is what authors write (defaults optional); `Recipe`
 * (normalize.ts) is the resolved form the engine consumes. Every object is strict: an unknown
 * key is an error, so a typo never silently does nothing.
 *
 * Many values end up in system files (passwd, group, shadow, dpkg and apt configuration, the
 * OCI config): each is checked against that file's grammar here, so a `:` or a newline can
 * never add a field or a line, and the error names the recipe field.
 */
import { posix } from 'node:path';
import semver from 'semver';
import { z } from 'zod';
import { DEBIAN_ARCHITECTURES } from '../oci/platform.js';
import { RECIPE_ID_MAX, RECIPE_ID_MIN, SYSTEM_GROUPS, SYSTEM_USERS } from './system-accounts.js';

const nameRe = /^[a-z0-9][a-z0-9._-]*$/;
// Debian policy §5.6.1 package names, optionally pinned `=version` or qualified `:arch`.
const packageRe = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?(=[A-Za-z0-9.+~:-]+)?$/;
const suiteRe = /^[a-z][a-z0-9-]*$/;
const suiteAliasRe = /^(old)*stable|^testing|^unstable|^experimental/;
const envNameRe = /^[A-Za-z_][A-Za-z0-9_]*$/;
// adduser's default NAME_REGEX (Debian), which also keeps `:`, `,` and whitespace out of passwd/group.
const userNameRe = /^[a-z][-a-z0-9_]*\$?$/;
const groupNameRe = /^[a-z_][-a-z0-9_]*$/;
// Control characters (NUL, newline, …) end a line or a C string in every system file.
const controlRe = /[\u0000-\u001f\u007f]/;
const nulRe = /\u0000/;

/** A string that stays one line (no control characters) and has a sane length. */
const oneLine = (max: number) =>
  z
    .string()
    .max(max, { message: `longer than ${max} characters` })
    .refine((v) => !controlRe.test(v), { message: 'may not contain control characters (newline, NUL, …)' });

/** Free text that may span lines but not hold NUL (which truncates it in C consumers). */
const text = (max: number) =>
  z
    .string()
    .max(max, { message: `longer than ${max} characters` })
    .refine((v) => !nulRe.test(v), { message: 'may not contain NUL' });

const httpUrl = oneLine(2048)
  .refine((u) => /^https?:\/\/[^\s/]+/.test(u), { message: 'expected an http:// or https:// URL' })
  .refine((u) => URL.canParse(u), { message: 'expected an http:// or https:// URL' })
  .refine((u) => !/\s/.test(u), { message: 'may not contain whitespace' });

const absolutePath = oneLine(4096)
  .min(1)
  .refine((p) => p.startsWith('/'), { message: 'expected an absolute path inside the image' })
  .refine((p) => !p.split('/').includes('..'), { message: 'may not contain ".."' });

/** A path stored in a passwd field: absolute, one line, and no `:` (the field separator). */
const passwdPath = absolutePath.refine((p) => !p.includes(':'), { message: 'may not contain ":" (it ends a passwd field)' });

/** A path relative to the recipe's folder that stays inside it. */
const recipeRelativePath = oneLine(4096)
  .min(1)
  .refine((p) => !p.startsWith('/'), { message: 'expected a path relative to the recipe file' })
  .refine((p) => !posix.normalize(p).startsWith('..'), { message: "may not escape the recipe's folder" });

const mode = z.union([
  z.number().int().min(0).max(0o7777),
  z
    .string()
    .regex(/^0?[0-7]{3,4}$/, { message: 'expected an octal mode like "0644"' })
    .transform((s) => parseInt(s, 8)),
]);

const ownerId = z.number().int().min(0).max(65534);
/** `uid:gid`, numeric or by name; names are resolved against the recipe's users and Debian's static accounts. */
const owner = z.union([
  z.string().regex(/^([a-z_][-a-z0-9_]*|\d{1,5}):([a-z_][-a-z0-9_]*|\d{1,5})$/, { message: 'expected "uid:gid" (numbers or names)' }),
  z.strictObject({ uid: ownerId, gid: ownerId }),
]);

const recipeId = z
  .number()
  .int()
  .min(RECIPE_ID_MIN, { message: `expected ${RECIPE_ID_MIN}–${RECIPE_ID_MAX} (0–99 and 65534 belong to Debian's base-passwd)` })
  .max(RECIPE_ID_MAX, { message: `expected ${RECIPE_ID_MIN}–${RECIPE_ID_MAX} (0–99 and 65534 belong to Debian's base-passwd)` });

export const fileSchema = z.strictObject({
  src: recipeRelativePath,
  dest: absolutePath,
  mode: mode.optional(),
  owner: owner.optional(),
});

export const userSchema = z.strictObject({
  name: z
    .string()
    .max(32, { message: 'longer than 32 characters' })
    .regex(userNameRe, { message: 'expected a user name matching ^[a-z][-a-z0-9_]*$ (Debian NAME_REGEX)' })
    .refine((n) => !Object.hasOwn(SYSTEM_USERS, n) && !Object.hasOwn(SYSTEM_GROUPS, n), {
      message: 'is a Debian system account or group; choose another name',
    }),
  uid: recipeId,
  gid: recipeId.optional(),
  home: passwdPath.optional(),
  shell: passwdPath.optional(),
  groups: z
    .array(z.string().max(32).regex(groupNameRe, { message: 'expected a group name' }))
    .refine((g) => new Set(g).size === g.length, { message: 'groups must be unique' })
    .optional(),
});

export const layerSchema = z.strictObject({
  name: z.string().regex(nameRe, { message: 'expected a lowercase name ([a-z0-9._-])' }),
  packages: z.array(z.string().regex(packageRe, { message: 'expected a Debian package name' })).optional(),
  files: z.array(fileSchema).optional(),
  users: z.array(userSchema).optional(),
  remove: z
    .strictObject({
      packages: z.array(z.string().regex(packageRe, { message: 'expected a Debian package name' })).optional(),
      paths: z.array(absolutePath).optional(),
    })
    .optional(),
});

const portNumber = (p: number) => p >= 1 && p <= 65535;
const port = z.union([
  z.number().int().refine(portNumber, { message: 'expected a port 1–65535' }),
  z
    .string()
    .regex(/^\d{1,5}(\/(tcp|udp))?$/, { message: 'expected "PORT" or "PORT/tcp|udp"' })
    .refine((p) => portNumber(Number(p.split('/')[0])), { message: 'expected a port 1–65535' }),
]);

export const configSchema = z.strictObject({
  /** OCI config `user`: `name`, `uid`, `name:group` or `uid:gid`. */
  user: z
    .string()
    .regex(/^([a-z_][-a-z0-9_]*\$?|\d{1,5})(:([a-z_][-a-z0-9_]*|\d{1,5}))?$/, { message: 'expected "user", "uid", "user:group" or "uid:gid"' })
    .optional(),
  workdir: absolutePath.optional(),
  env: z.record(z.string().max(256).regex(envNameRe, { message: 'expected an environment variable name' }), text(32768)).optional(),
  entrypoint: z.array(text(32768)).optional(),
  cmd: z.array(text(32768)).optional(),
  labels: z.record(oneLine(256).min(1), text(32768)).optional(),
  ports: z.array(port).optional(),
  stopSignal: z
    .string()
    .regex(/^(SIG[A-Z0-9]{1,16}|\d{1,2})$/)
    .optional(),
});

export const slimSchema = z.union([
  z.boolean(),
  z.strictObject({
    docs: z.boolean().optional(),
    man: z.boolean().optional(),
    /** Locales to keep under /usr/share/locale; `false` keeps all. Each lands in a dpkg path-include line. */
    locales: z
      .union([
        z.literal(false),
        z.array(
          z
            .string()
            .max(64)
            .regex(/^[A-Za-z0-9_.@+-]+$/, { message: 'expected a locale name such as "de" or "pt_BR"' }),
        ),
      ])
      .optional(),
    caches: z.boolean().optional(),
  }),
]);

export const stripSchema = z.union([
  z.boolean(),
  z.strictObject({
    shell: z.boolean().optional(),
    apt: z.boolean().optional(),
    dpkgTools: z.boolean().optional(),
    /** Extra paths to delete in the strip step. */
    paths: z.array(absolutePath).optional(),
  }),
]);

/** A Debian package name without a version pin or architecture: what a dpkg file list is named after. */
const contentsPackage = z
  .string()
  .max(128)
  .regex(/^[a-z0-9][a-z0-9+.-]+$/, { message: 'expected a Debian package name (no "=version", no ":arch")' });

/**
 * The image is assembled from a package set instead of being a whole root: the packages are
 * installed into a throwaway build root, and the image receives only their dpkg file lists plus
 * the declared files that maintainer scripts or imgfactory generate there.
 */
export const contentsSchema = z.strictObject({
  packages: z
    .array(contentsPackage)
    .min(1, { message: 'name at least one package the image consists of' })
    .refine((p) => new Set(p).size === p.length, { message: 'packages must be unique' }),
  generated: z
    .array(absolutePath.refine((p) => p !== '/' && !p.endsWith('/'), { message: 'expected a file path, not a directory' }))
    .refine((p) => new Set(p).size === p.length, { message: 'generated paths must be unique' })
    .optional(),
});

export const publishSchema = z.strictObject({
  repository: z
    .string()
    .max(255)
    .regex(/^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/, {
      message: 'expected "registry[:port]/path/name" in lowercase',
    }),
  tags: z
    .array(z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, { message: 'expected an OCI tag' }))
    .min(1)
    .refine((t) => new Set(t).size === t.length, { message: 'tags must be unique' }),
});

const recipeObject = z.strictObject({
  name: z.string().max(128).regex(nameRe, { message: 'expected a lowercase name ([a-z0-9._-])' }),
  version: z
    .string()
    .max(128)
    .refine((v) => semver.valid(v) === v, { message: 'expected a semantic version (e.g. 1.2.3)' }),
  description: text(4096).optional(),
  suite: z
    .string()
    .max(64)
    .regex(suiteRe, { message: 'expected a Debian suite codename (e.g. bookworm)' })
    // An alias moves to the next release on release day; a recipe must say which release it means.
    .refine((s) => !suiteAliasRe.test(s), { message: 'is a suite alias that moves between releases; name the codename (e.g. bookworm)' }),
  architectures: z
    .array(z.enum(DEBIAN_ARCHITECTURES as [string, ...string[]]))
    .min(1)
    .refine((a) => new Set(a).size === a.length, { message: 'architectures must be unique' })
    .optional(),
  mirror: httpUrl.optional(),
  securityMirror: httpUrl.optional(),
  components: z
    .array(
      z
        .string()
        .max(64)
        .regex(/^[a-z][a-z0-9/-]*$/),
    )
    .min(1)
    .optional(),
  variant: z.enum(['minbase', 'buildd', 'default']).optional(),
  /** Enable <suite>-updates and <suite>-security and upgrade (default true). */
  updates: z.boolean().optional(),
  from: recipeRelativePath.optional(),
  layers: z.array(layerSchema).optional(),
  config: configSchema.optional(),
  slim: slimSchema.optional(),
  strip: stripSchema.optional(),
  contents: contentsSchema.optional(),
  publish: publishSchema.optional(),
});

/**
 * Rules across fields: layer names, user names and uids are unique in the recipe, and a
 * `files` owner given by name names a user of this recipe (declared in this or an earlier
 * layer) or a Debian system account.
 */
export const recipeSchema = recipeObject.superRefine((r, ctx) => {
  if (r.contents) refineContents(r, ctx);
  const layerNames = new Map<string, number>();
  const users = new Map<string, { uid: number; gid: number }>();
  const uids = new Map<number, string>();
  (r.layers ?? []).forEach((layer, li) => {
    if (layerNames.has(layer.name))
      ctx.addIssue({ code: 'custom', path: ['layers', li, 'name'], message: `"${layer.name}" is also the name of layers[${layerNames.get(layer.name)}]` });
    layerNames.set(layer.name, li);
    (layer.users ?? []).forEach((u, ui) => {
      if (users.has(u.name)) ctx.addIssue({ code: 'custom', path: ['layers', li, 'users', ui, 'name'], message: `user ${u.name} is declared twice` });
      const other = uids.get(u.uid);
      if (other !== undefined && other !== u.name)
        ctx.addIssue({ code: 'custom', path: ['layers', li, 'users', ui, 'uid'], message: `uid ${u.uid} is already used by user ${other}` });
      users.set(u.name, { uid: u.uid, gid: u.gid ?? u.uid });
      uids.set(u.uid, u.name);
    });
    (layer.files ?? []).forEach((f, fi) => {
      if (typeof f.owner !== 'string') return;
      const [user, group] = f.owner.split(':') as [string, string];
      if (resolveOwnerPart(user, 'user', users) === undefined) {
        ctx.addIssue({ code: 'custom', path: ['layers', li, 'files', fi, 'owner'], message: `unknown user "${user}" (declare it in users, or give a number)` });
      }
      if (resolveOwnerPart(group, 'group', users) === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['layers', li, 'files', fi, 'owner'],
          message: `unknown group "${group}" (a recipe user's group, a Debian system group, or a number)`,
        });
      }
    });
  });
});

/**
 * `contents` assembles the image from a fresh build root; the combinations below have no
 * meaning there, and silently ignoring one would ship something the author did not ask for.
 */
function refineContents(r: z.output<typeof recipeObject>, ctx: z.RefinementCtx): void {
  const refuse = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  if (r.strip !== undefined && r.strip !== false)
    refuse(['strip'], 'cannot be combined with contents: the image already holds only the listed packages (remove strip)');
  if (r.from !== undefined) refuse(['from'], "cannot be combined with contents: a parent's layers are a whole root, not a package set");
  (r.layers ?? []).forEach((layer, li) => {
    if ((layer.remove?.packages ?? []).length > 0)
      refuse(
        ['layers', li, 'remove', 'packages'],
        'cannot be combined with contents: a package that is not listed in contents.packages never reaches the image',
      );
  });
}

/**
 * One half of an owner string as a number: digits as given (≤ 65534), a name from the recipe's
 * users (a user's group has the user's name) or from Debian's static accounts.
 */
export function resolveOwnerPart(part: string, kind: 'user' | 'group', users: ReadonlyMap<string, { uid: number; gid: number }>): number | undefined {
  if (/^\d+$/.test(part)) {
    const n = Number(part);
    return n <= 65534 ? n : undefined;
  }
  const u = users.get(part);
  if (u) return kind === 'user' ? u.uid : u.gid;
  const table = kind === 'user' ? SYSTEM_USERS : SYSTEM_GROUPS;
  return Object.hasOwn(table, part) ? table[part] : undefined;
}

export type RecipeInput = z.input<typeof recipeSchema>;
export type ParsedRecipe = z.output<typeof recipeSchema>;
export type LayerInput = z.input<typeof layerSchema>;
