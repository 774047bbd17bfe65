/**
 * The recipe format. `RecipeInput` is what authors write (defaults optional); `Recipe`
 * (normalize.ts) is the resolved form the engine consumes. Every object is strict: an unknown
 * key is an error, so a typo never silently does nothing.
 */
import { posix } from 'node:path';
import semver from 'semver';
import { z } from 'zod';
import { DEBIAN_ARCHITECTURES } from '../oci/platform.js';

const nameRe = /^[a-z0-9][a-z0-9._-]*$/;
// Debian policy §5.6.1 package names, optionally pinned `=version` or qualified `:arch`.
const packageRe = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?(=[A-Za-z0-9.+~:-]+)?$/;
const suiteRe = /^[a-z][a-z0-9-]*$/;
const envNameRe = /^[A-Za-z_][A-Za-z0-9_]*$/;
const userNameRe = /^[a-z_][a-z0-9_-]*\$?$/;

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), { message: 'expected an http:// or https:// URL' });

const absolutePath = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/'), { message: 'expected an absolute path inside the image' })
  .refine((p) => !p.split('/').includes('..'), { message: 'may not contain ".."' });

/** A path relative to the recipe's folder that stays inside it. */
const recipeRelativePath = z
  .string()
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

const owner = z.union([
  z.string().regex(/^\d+:\d+$/, { message: 'expected numeric "uid:gid"' }),
  z.strictObject({ uid: z.number().int().min(0), gid: z.number().int().min(0) }),
]);

export const fileSchema = z.strictObject({
  src: recipeRelativePath,
  dest: absolutePath,
  mode: mode.optional(),
  owner: owner.optional(),
});

export const userSchema = z.strictObject({
  name: z.string().regex(userNameRe, { message: 'expected a POSIX user name' }),
  uid: z.number().int().min(1).max(65534),
  gid: z.number().int().min(1).max(65534).optional(),
  home: absolutePath.optional(),
  shell: absolutePath.optional(),
  groups: z.array(z.string().regex(userNameRe)).optional(),
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

const port = z.union([
  z.number().int().min(1).max(65535),
  z.string().regex(/^\d{1,5}(\/(tcp|udp|sctp))?$/, { message: 'expected "PORT" or "PORT/tcp|udp|sctp"' }),
]);

export const configSchema = z.strictObject({
  user: z.string().min(1).optional(),
  workdir: absolutePath.optional(),
  env: z.record(z.string().regex(envNameRe, { message: 'expected an environment variable name' }), z.string()).optional(),
  entrypoint: z.array(z.string()).optional(),
  cmd: z.array(z.string()).optional(),
  labels: z.record(z.string().min(1), z.string()).optional(),
  ports: z.array(port).optional(),
  stopSignal: z
    .string()
    .regex(/^(SIG[A-Z0-9]+|\d+)$/)
    .optional(),
});

export const slimSchema = z.union([
  z.boolean(),
  z.strictObject({
    docs: z.boolean().optional(),
    man: z.boolean().optional(),
    /** Locales to keep under /usr/share/locale; `false` keeps all. */
    locales: z.union([z.literal(false), z.array(z.string())]).optional(),
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

export const publishSchema = z.strictObject({
  repository: z.string().regex(/^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/, {
    message: 'expected "registry[:port]/path/name" in lowercase',
  }),
  tags: z.array(z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, { message: 'expected an OCI tag' })).min(1),
});

export const recipeSchema = z.strictObject({
  name: z.string().regex(nameRe, { message: 'expected a lowercase name ([a-z0-9._-])' }),
  version: z.string().refine((v) => semver.valid(v) !== null, { message: 'expected a semantic version (e.g. 1.2.3)' }),
  description: z.string().optional(),
  suite: z.string().regex(suiteRe, { message: 'expected a Debian suite codename (e.g. bookworm)' }),
  architectures: z
    .array(z.enum(DEBIAN_ARCHITECTURES as [string, ...string[]]))
    .min(1)
    .refine((a) => new Set(a).size === a.length, { message: 'architectures must be unique' })
    .optional(),
  mirror: httpUrl.optional(),
  securityMirror: httpUrl.optional(),
  components: z
    .array(z.string().regex(/^[a-z][a-z0-9/-]*$/))
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
  publish: publishSchema.optional(),
});

export type RecipeInput = z.input<typeof recipeSchema>;
export type ParsedRecipe = z.output<typeof recipeSchema>;
export type LayerInput = z.input<typeof layerSchema>;
