/** Running debootstrap or mmdebstrap. argv builders are pure; runBootstrap does the I/O. */
import { UsageError } from '../errors.js';
import { run } from '../exec.js';

export type Bootstrapper = 'debootstrap' | 'mmdebstrap';

/**
 * mmdebstrap: the same package set as debootstrap (test/pipeline/mmdebstrap-parity.test.ts), with
 * -updates and -security in its one pass, from the indexes the build verified, in about half the
 * time (BENCHMARKS.md). debootstrap stays available with `--bootstrapper debootstrap`.
 */
export const DEFAULT_BOOTSTRAPPER: Bootstrapper = 'mmdebstrap';

/** The name a user typed after `--bootstrapper` (build and the update commands), or the default. */
export function parseBootstrapper(name: string | undefined): Bootstrapper {
  if (name === undefined) return DEFAULT_BOOTSTRAPPER;
  if (name === 'debootstrap' || name === 'mmdebstrap') return name;
  throw new UsageError('BAD_OPTION', `--bootstrapper: expected mmdebstrap or debootstrap, got "${name}"`);
}

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
  /**
   * Absolute path of a directory of verified .debs named `name_version_arch.deb` (the package
   * cache's staging directory, src/archive/deb-cache.ts). The bootstrapper uses the ones it
   * needs after checking them against its own signed indexes, and downloads the rest.
   */
  readonly debCacheDir?: string;
  /**
   * Absolute path of apt's lists written from the build's verified indexes (src/archive/apt-lists.ts).
   * mmdebstrap then skips its own `apt-get update`: it installs from exactly the indexes the build
   * verified and will audit against. (debootstrap has no such input; it checks its own download
   * against the same keyring.)
   */
  readonly aptListsDir?: string;
  /**
   * Also the suite's -updates and -security: mmdebstrap takes several sources and installs the
   * newest versions in its one pass (debootstrap takes one; the build upgrades afterwards).
   */
  readonly updates?: { readonly securityMirror: string };
}

/** The directory of mmdebstrap's merged-/usr hooks (Debian package mmdebstrap). */
export const MMDEBSTRAP_MERGED_USR_HOOKS = '/usr/share/mmdebstrap/hooks/merged-usr';

/** Whether the bootstrap pass itself installs from -updates and -security. */
export function bootstrapIncludesUpdates(b: Pick<BootstrapInput, 'bootstrapper' | 'updates'>): boolean {
  return b.bootstrapper === 'mmdebstrap' && b.updates !== undefined;
}

export function bootstrapArgv(b: BootstrapInput): string[] {
  if (b.bootstrapper === 'mmdebstrap') {
    const components = b.components.join(' ');
    const sources = bootstrapIncludesUpdates(b)
      ? [
          `deb ${b.mirror} ${b.suite} ${components}`,
          `deb ${b.mirror} ${b.suite}-updates ${components}`,
          `deb ${b.updates!.securityMirror} ${b.suite}-security ${components}`,
        ]
      : [b.mirror];
    return [
      'mmdebstrap',
      `--variant=${b.variant === 'default' ? 'important' : b.variant === 'minbase' ? 'minbase' : 'buildd'}`,
      `--architectures=${b.arch}`,
      `--components=${b.components.join(',')}`,
      `--keyring=${b.keyring}`,
      // Keep the downloaded .debs: the audit hashes every one of them. mmdebstrap would delete
      // the essential packages' files after installing them (essential/unlink) and the rest in
      // its final `apt-get clean` (cleanup/apt/cache); download/empty lets a staged cache in.
      '--skip=download/empty',
      '--skip=essential/unlink',
      '--skip=cleanup/apt/cache',
      '--mode=root',
      '--format=directory',
      // Merged /usr as debootstrap makes it (directory symlinks and the usr-is-merged package),
      // not through the usrmerge package, which drags perl in: the same package set either way.
      `--hook-dir=${MMDEBSTRAP_MERGED_USR_HOOKS}`,
      // Setup hooks run on the host before anything is unpacked, so the copies land in plain
      // directories mmdebstrap just made. The paths are quoted for the hook's shell.
      ...(b.aptListsDir === undefined
        ? []
        : ['--skip=update', `--setup-hook=mkdir -p "$1/var/lib/apt/lists/partial" && cp -- ${shellQuote(b.aptListsDir)}/*_* "$1/var/lib/apt/lists/"`]),
      // apt inside mmdebstrap takes files already in its archive cache when their hashes match its lists.
      ...(b.debCacheDir === undefined
        ? []
        : [
            `--setup-hook=mkdir -p "$1/var/cache/apt/archives/partial" && find ${shellQuote(b.debCacheDir)} -maxdepth 1 -name '*.deb' -exec cp -t "$1/var/cache/apt/archives/" -- {} +`,
          ]),
      b.suite,
      b.target,
      ...sources,
    ];
  }
  return [
    'debootstrap',
    ...(b.variant === 'default' ? [] : [`--variant=${b.variant}`]),
    `--arch=${b.arch}`,
    `--components=${b.components.join(',')}`,
    `--keyring=${b.keyring}`,
    '--force-check-gpg',
    // debootstrap verifies a cached file's checksum before it copies it into the target.
    ...(b.debCacheDir === undefined ? [] : [`--cache-dir=${b.debCacheDir}`]),
    b.suite,
    b.target,
    b.mirror,
  ];
}

/** One POSIX shell word, whatever `s` holds. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

const PROXY_VARS = ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'] as const;

/**
 * The bootstrap tools' environment, built from scratch. debootstrap is a shell script whose
 * internals read unprefixed variables, so anything inherited (a test runner's MODE, DEV, …)
 * can change what it does; only PATH and proxy settings pass through.
 */
export function bootstrapEnv(host: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = {
    PATH: host.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LC_ALL: 'C',
    LANG: 'C',
    DEBIAN_FRONTEND: 'noninteractive',
    HOME: '/root',
  };
  for (const v of PROXY_VARS) if (host[v] !== undefined) env[v] = host[v]!;
  return env;
}

export async function runBootstrap(b: BootstrapInput, env: Record<string, string>, onLine?: (line: string) => void, signal?: AbortSignal): Promise<void> {
  await run(bootstrapArgv(b), {
    failCode: b.bootstrapper === 'mmdebstrap' ? 'MMDEBSTRAP_FAILED' : 'DEBOOTSTRAP_FAILED',
    onLine,
    signal,
    env,
    extendEnv: false,
    processGroup: true,
  });
}
