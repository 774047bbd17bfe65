/** OCI image config from a recipe and its layers. Pure. */
import type { Digest } from '../oci/digest.js';
import { ociPlatform } from '../oci/platform.js';
import type { HistoryEntry, ImageConfig } from '../oci/types.js';
import type { RecipeConfig } from '../recipe/types.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ConfigLayer {
  readonly diffId: Digest;
  /** What produced the layer, for `history[].created_by`. */
  readonly createdBy: string;
  readonly comment?: string;
}

export interface ImageConfigInput {
  readonly debianArch: string;
  readonly config: RecipeConfig;
  readonly layers: readonly ConfigLayer[];
  /** ISO 8601, from SOURCE_DATE_EPOCH. */
  readonly created: string;
}

export function buildImageConfig(input: ImageConfigInput): ImageConfig {
  const p = ociPlatform(input.debianArch);
  const c = input.config;
  const env: Record<string, string> = { PATH: DEFAULT_PATH, ...c.env };
  // Fixed key order throughout: the serialized config's digest is part of the image identity.
  const runtime: Record<string, unknown> = {};
  if (c.user !== undefined) runtime.User = c.user;
  if (c.ports.length > 0) runtime.ExposedPorts = Object.fromEntries(c.ports.map((port) => [port, {}]));
  runtime.Env = Object.keys(env)
    .sort()
    .map((k) => `${k}=${env[k]}`);
  if (c.entrypoint !== undefined) runtime.Entrypoint = [...c.entrypoint];
  if (c.cmd !== undefined) runtime.Cmd = [...c.cmd];
  if (c.workdir !== undefined) runtime.WorkingDir = c.workdir;
  if (Object.keys(c.labels).length > 0)
    runtime.Labels = Object.fromEntries(
      Object.keys(c.labels)
        .sort()
        .map((k) => [k, c.labels[k]!]),
    );
  if (c.stopSignal !== undefined) runtime.StopSignal = c.stopSignal;
  const history: HistoryEntry[] = input.layers.map((l) => ({
    created: input.created,
    created_by: l.createdBy,
    ...(l.comment !== undefined ? { comment: l.comment } : {}),
  }));
  return {
    created: input.created,
    architecture: p.architecture,
    os: p.os,
    ...(p.variant !== undefined ? { variant: p.variant } : {}),
    config: runtime as ImageConfig['config'],
    rootfs: { type: 'layers', diff_ids: input.layers.map((l) => l.diffId) },
    history,
  };
}
