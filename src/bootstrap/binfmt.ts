/**
 * Can this host run another architecture's programs? Pure judgement of binfmt_misc entries: a
 * foreign build runs maintainer scripts and apt inside the chroot, so the kernel must hand that
 * architecture's ELF files to qemu-user-static, and with the F (fix-binary) flag, because the
 * interpreter's path does not exist inside the chroot: the kernel must have opened it at
 * registration time.
 */

/** Debian architecture → qemu's CPU name (the `qemu-<cpu>` binfmt entry qemu-user-static registers). */
const QEMU_CPU: Readonly<Record<string, string>> = {
  amd64: 'x86_64',
  arm64: 'aarch64',
  armhf: 'arm',
  armel: 'arm',
  i386: 'i386',
  ppc64el: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64el: 'mips64el',
};

/** Architectures a host of the first kind runs natively, without an interpreter. */
const NATIVE_ALSO: Readonly<Record<string, readonly string[]>> = {
  amd64: ['i386'],
  arm64: ['armhf', 'armel'],
};

/** The qemu CPU name for a Debian architecture, or undefined when qemu has none. */
export function qemuCpu(debianArch: string): string | undefined {
  return QEMU_CPU[debianArch];
}

/** Whether programs of `arch` run on a `hostArch` kernel without an interpreter. */
export function runsNatively(arch: string, hostArch: string): boolean {
  return arch === hostArch || (NATIVE_ALSO[hostArch] ?? []).includes(arch);
}

/** One /proc/sys/fs/binfmt_misc/<name> file, as the kernel prints it. */
export interface BinfmtEntry {
  readonly enabled: boolean;
  readonly interpreter?: string;
  readonly flags: string;
}

export function parseBinfmtEntry(text: string): BinfmtEntry {
  const lines = text.split('\n').map((l) => l.trim());
  const field = (name: string) =>
    lines
      .find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}:`))
      ?.slice(name.length)
      .replace(/^:?\s*/, '');
  const interpreter = field('interpreter');
  return { enabled: lines[0] === 'enabled', ...(interpreter ? { interpreter } : {}), flags: field('flags') ?? '' };
}

/** Why an entry cannot serve a chroot build, or undefined when it can. */
export function binfmtProblem(entry: BinfmtEntry | undefined, name: string): string | undefined {
  if (!entry) return `no binfmt_misc entry ${name}`;
  if (!entry.enabled) return `the binfmt_misc entry ${name} is disabled`;
  if (!entry.interpreter) return `the binfmt_misc entry ${name} names no interpreter`;
  // Without F the kernel looks the interpreter up inside the chroot, where it does not exist.
  if (!entry.flags.includes('F')) return `the binfmt_misc entry ${name} lacks the F (fix-binary) flag, so it cannot work inside a chroot`;
  return undefined;
}
