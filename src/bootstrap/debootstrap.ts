/** Running debootstrap or mmdebstrap. argv builders are pure; runBootstrap does the I/O. */
import { run } from '../exec.js';

export type Bootstrapper = 'debootstrap' | 'mmdebstrap';

export interface BootstrapInput {
  readonly bootstrapper: Bootstrapper;
  readonly target: string;
  readonly suite: string;
  readonly mirror: string;
  readonly arch: string;
  readonly variant: 'minbase' | 'buildd' | 'default';
  readonly components: readonly string[];
  /** Binary keyring made from keys/: the only keys the bootstrap trusts. */
  readonly keyring: string;
}

export function bootstrapArgv(b: BootstrapInput): string[] {
  if (b.bootstrapper === 'mmdebstrap') {
    return [
      'mmdebstrap',
      `--variant=${b.variant === 'default' ? 'important' : b.variant === 'minbase' ? 'minbase' : 'buildd'}`,
      `--architectures=${b.arch}`,
      `--components=${b.components.join(',')}`,
      `--keyring=${b.keyring}`,
      // Keep the downloaded .debs: the audit hashes every one of them.
      '--skip=download/empty',
      '--mode=root',
      '--format=directory',
      b.suite,
      b.target,
      b.mirror,
    ];
  }
  return [
    'debootstrap',
    ...(b.variant === 'default' ? [] : [`--variant=${b.variant}`]),
    `--arch=${b.arch}`,
    `--components=${b.components.join(',')}`,
    `--keyring=${b.keyring}`,
    '--force-check-gpg',
    b.suite,
    b.target,
    b.mirror,
  ];
}

export async function runBootstrap(b: BootstrapInput, onLine?: (line: string) => void, signal?: AbortSignal): Promise<void> {
  await run(bootstrapArgv(b), {
    failCode: b.bootstrapper === 'mmdebstrap' ? 'MMDEBSTRAP_FAILED' : 'DEBOOTSTRAP_FAILED',
    onLine,
    signal,
    // A clean, predictable environment: no host locale or proxy quirks leak into the rootfs.
    env: { LC_ALL: 'C', LANG: 'C', DEBIAN_FRONTEND: 'noninteractive' },
  });
}
