/**
 * The metadata tarball `lxc-create -t local --metadata` unpacks (read the template,
 * /usr/share/lxc/templates/lxc-local): `config` (appended to the container's config, the
 * `-user` variant for unprivileged containers), `templates` (files in the rootfs where
 * LXC_NAME and friends are substituted; missing ones are skipped), `excludes-user` (paths not
 * extracted unprivileged: device nodes cannot be created there). Pure: returns tar bytes.
 */
import { encodeTarHeader, endOfArchive, paddingFor } from '../layer/tar-header.js';
import type { ImageConfig } from '../oci/types.js';
import type { ImageUser } from './image-user.js';
import { quoteWords } from './settings-quote.js';

export interface LxcConfig {
  readonly files: ReadonlyMap<string, string>;
  readonly omitted: readonly string[];
}

/** Debian architecture as LXC names it (lxc.arch accepts these personalities). */
const LXC_ARCH: Record<string, string> = {
  amd64: 'amd64',
  arm64: 'arm64',
  arm: 'armhf',
  '386': 'i386',
  ppc64le: 'ppc64el',
  s390x: 's390x',
  riscv64: 'riscv64',
};

export function lxcMetadataFiles(config: ImageConfig, user: ImageUser, imageDigest: string): LxcConfig {
  const c = config.config ?? {};
  const omitted: string[] = [];
  const lines: string[] = [];
  const arch = LXC_ARCH[config.architecture];
  if (arch) lines.push(`lxc.arch = ${arch}`);
  const argv = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  if (argv.length > 0) {
    const cmd = quoteWords(argv);
    if (cmd === undefined) omitted.push('Entrypoint/Cmd (a word quoting cannot carry)');
    else lines.push(`lxc.init.cmd = ${cmd}`);
  }
  lines.push(`lxc.init.uid = ${user.uid}`, `lxc.init.gid = ${user.gid}`);
  if (c.WorkingDir) lines.push(`lxc.init.cwd = ${c.WorkingDir}`);
  for (const env of c.Env ?? []) {
    if (/[\n\r]/.test(env) || !env.includes('=')) omitted.push(`Env ${env}`);
    else lines.push(`lxc.environment = ${env}`);
  }
  if (c.StopSignal !== undefined) lines.push(`lxc.signal.stop = ${c.StopSignal}`);
  const head = `# imgfactory export of ${imageDigest}`;
  const config_ = [head, 'lxc.include = LXC_TEMPLATE_CONFIG/common.conf', ...lines, ''].join('\n');
  const configUser = [head, 'lxc.include = LXC_TEMPLATE_CONFIG/common.conf', 'lxc.include = LXC_TEMPLATE_CONFIG/userns.conf', ...lines, ''].join('\n');
  return {
    files: new Map([
      ['config', config_],
      ['config-user', configUser],
      ['excludes-user', 'dev/*\n'],
      ['templates', '/etc/hostname\n/etc/hosts\n'],
    ]),
    omitted,
  };
}

/** A small deterministic tar of text files (root-owned, 0644, one mtime). */
export function smallTar(files: ReadonlyMap<string, string>, mtime: number): Buffer {
  const parts: Buffer[] = [];
  for (const name of [...files.keys()].sort()) {
    const body = Buffer.from(files.get(name)!, 'utf8');
    parts.push(encodeTarHeader({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime }), body, Buffer.alloc(paddingFor(body.length)));
  }
  parts.push(endOfArchive());
  return Buffer.concat(parts);
}
