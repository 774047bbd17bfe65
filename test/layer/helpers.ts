/** Real-tree helpers for the layer tests: temp dirs, shell steps, GNU tar, a tiny OCI layout. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec.js';
import { Layout } from '../../src/oci/layout.js';
import { MediaType } from '../../src/oci/mediatypes.js';
import type { ImageConfig, LayerInfo, Manifest } from '../../src/oci/types.js';
import type { TarEntryInfo } from '../../src/layer/read-tar.js';

export const SDE = 1_700_000_000;

const made: string[] = [];

export async function tempDir(prefix = 'imgf-layer-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  for (const d of made.splice(0)) await rm(d, { recursive: true, force: true });
}

/** Run a bash script (errexit, nounset, pipefail) in `cwd`; returns stdout. */
export async function sh(script: string, cwd: string): Promise<string> {
  const r = await run(['bash', '-euo', 'pipefail', '-c', script], { cwd });
  return r.stdout;
}

export async function gnuTar(args: readonly string[]): Promise<string> {
  const r = await run(['tar', ...args], { env: { LC_ALL: 'C', TZ: 'UTC' } });
  return r.stdout;
}

/** `name` plus `-> linkname` for links: compact expectations. */
export function describe(entries: readonly TarEntryInfo[]): string[] {
  return entries.map((e) => {
    if (e.type === 'link') return `${e.name} => ${e.linkname}`;
    if (e.type === 'symlink') return `${e.name} -> ${e.linkname}`;
    return e.name;
  });
}

/** A one-image OCI layout (tag `t`) whose layers are the given blobs, for umoci. */
export async function ociLayout(dir: string, layers: readonly LayerInfo[]): Promise<void> {
  const layout = await Layout.create(dir);
  for (const l of layers) await layout.importBlobFile(l.path, l.digest);
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  };
  const configDesc = await layout.writeJson(config, MediaType.imageConfig);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.imageManifest,
    config: configDesc,
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  await layout.tag(await layout.writeJson(manifest, MediaType.imageManifest), 't');
}

/**
 * A small tree with every kind of entry the engine handles. `variant` changes only what must
 * not reach the layer: creation order, inode numbers, atimes, and mtimes later than SDE.
 */
export async function buildRichTree(root: string, variant: 'a' | 'b'): Promise<void> {
  const steps = [
    'mkdir -p etc usr/bin usr/sbin var/empty',
    'printf "debian\\n" > etc/hostname',
    'printf "root:x:0:0::/root:/bin/sh\\n" > etc/passwd && chmod 0644 etc/passwd',
    ': > etc/empty',
    'head -c 70000 /dev/zero | tr "\\0" "q" > usr/bin/big',
    'printf "#!/bin/sh\\n" > usr/bin/tool && chmod 4755 usr/bin/tool && setcap cap_net_raw,cap_setfcap+ep usr/bin/tool',
    'ln usr/bin/tool usr/sbin/tool-hardlink',
    'ln -s ../bin/tool usr/sbin/tool-symlink',
    'mkfifo var/fifo',
    'mknod var/null c 1 3 && chmod 0666 var/null',
    'chmod 1777 var/empty',
    'mkdir -p "usr/share/$(printf "d%.0s" $(seq 60))" && printf long > "usr/share/$(printf "d%.0s" $(seq 60))/$(printf "f%.0s" $(seq 60))"',
    'printf "zone" > "etc/zoneinfo-ünï"',
    'printf "owned" > etc/owned && chown 1000:1001 etc/owned',
    'setfattr -n user.note -v "layer test" etc/hostname',
    'printf old > etc/old && touch -d @1500000000 etc/old',
  ];
  const ordered = variant === 'a' ? steps : reorder(steps);
  await sh(ordered.join('\n'), root);
  // mtimes above SDE, different per variant; atimes too.
  const stamp = variant === 'a' ? '2030-01-01T00:00:00' : '2031-06-15T12:34:56.789';
  await sh(
    `find . -mindepth 1 ! -name old -exec touch -h -m -d ${stamp} {} +
     find . -mindepth 1 ! -name old -exec touch -h -a -d ${variant === 'a' ? '2001-01-01' : '2040-01-01'} {} +`,
    root,
  );
}

/** Same steps, different creation order; steps that use an earlier step's file stay last. */
function reorder(steps: readonly string[]): string[] {
  const [mk, ...rest] = steps;
  const dependent = (s: string) => s.startsWith('ln usr/bin/tool') || s.startsWith('setfattr');
  return [mk!, ...rest.filter((s) => !dependent(s)).reverse(), ...rest.filter(dependent)];
}
