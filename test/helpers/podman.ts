/**
 * Real podman with isolated storage per test file. In a sandbox without cgroup v2 podman needs
 * the cgroupfs manager and no default ulimits (containers.conf below); runc is the runtime.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface Podman {
  readonly root: string;
  readonly env: Record<string, string>;
  run(args: string[], opts?: { reject?: boolean }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

export async function isolatedPodman(dir: string): Promise<Podman> {
  await mkdir(dir, { recursive: true });
  const conf = join(dir, 'containers.conf');
  await writeFile(conf, '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\nruntime = "runc"\nevents_logger = "file"\n');
  const env = { CONTAINERS_CONF: conf };
  // vfs: no overlay mounts left in the storage dir, so it can simply be deleted afterwards.
  const base = ['--root', join(dir, 'storage'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'), '--storage-driver', 'vfs'];
  return {
    root: dir,
    env,
    run: async (args, opts = {}) => {
      const r = await execa('podman', [...base, ...args], { env, reject: opts.reject ?? true, timeout: 5 * 60_000 });
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
  };
}
