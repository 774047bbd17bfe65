/** Debian architecture names and their OCI platforms: one canonical form, converters at the edge. */
import type { Platform } from './types.js';

const DEBIAN_TO_OCI: Readonly<Record<string, Platform>> = {
  amd64: { architecture: 'amd64', os: 'linux' },
  arm64: { architecture: 'arm64', os: 'linux', variant: 'v8' },
  armhf: { architecture: 'arm', os: 'linux', variant: 'v7' },
  armel: { architecture: 'arm', os: 'linux', variant: 'v5' },
  i386: { architecture: '386', os: 'linux' },
  ppc64el: { architecture: 'ppc64le', os: 'linux' },
  s390x: { architecture: 's390x', os: 'linux' },
  riscv64: { architecture: 'riscv64', os: 'linux' },
  mips64el: { architecture: 'mips64le', os: 'linux' },
};

export const DEBIAN_ARCHITECTURES = Object.keys(DEBIAN_TO_OCI) as readonly string[];

export function ociPlatform(debianArch: string): Platform {
  const p = DEBIAN_TO_OCI[debianArch];
  if (!p) throw new TypeError(`unknown Debian architecture: ${debianArch}`);
  return p;
}

export function platformString(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Node's process.arch → Debian architecture, for the "host" default. */
export function hostDebianArch(nodeArch: string): string {
  const map: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'armhf',
    ia32: 'i386',
    ppc64: 'ppc64el',
    s390x: 's390x',
    riscv64: 'riscv64',
  };
  const a = map[nodeArch];
  if (!a) throw new TypeError(`no Debian architecture for Node arch ${nodeArch}`);
  return a;
}
