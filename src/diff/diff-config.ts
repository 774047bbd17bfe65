/** Two image configs → the fields that differ: user, env, entrypoint, cmd, workdir, labels. Pure. */
import type { ConfigRecord } from './types.js';

export interface ConfigFieldChange {
  readonly field: 'user' | 'env' | 'entrypoint' | 'cmd' | 'workdir' | 'label';
  /** The env variable or label name, for `env` and `label`. */
  readonly key?: string;
  readonly before: unknown;
  readonly after: unknown;
}

export function diffConfig(a: ConfigRecord, b: ConfigRecord): ConfigFieldChange[] {
  const out: ConfigFieldChange[] = [];
  const same = (x: unknown, y: unknown) => JSON.stringify(x ?? null) === JSON.stringify(y ?? null);
  for (const field of ['user', 'entrypoint', 'cmd', 'workdir'] as const) {
    if (!same(a[field], b[field])) out.push({ field, before: a[field] ?? null, after: b[field] ?? null });
  }
  const envMap = (env: readonly string[]) => new Map(env.map((e) => [e.split('=')[0]!, e.slice(e.indexOf('=') + 1)]));
  out.push(...recordChanges('env', envMap(a.env), envMap(b.env)));
  out.push(...recordChanges('label', new Map(Object.entries(a.labels)), new Map(Object.entries(b.labels))));
  return out;
}

function recordChanges(field: 'env' | 'label', a: Map<string, string>, b: Map<string, string>): ConfigFieldChange[] {
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.filter((k) => a.get(k) !== b.get(k)).map((k) => ({ field, key: k, before: a.get(k) ?? null, after: b.get(k) ?? null }));
}
