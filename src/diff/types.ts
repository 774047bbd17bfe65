/** What `diff` compares: a file tree, a package list and an image config per side. Pure types. */

export type FileType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo';

export interface FileEntry {
  /** Absolute in the image, no trailing slash: `/etc/passwd`. */
  readonly path: string;
  readonly type: FileType;
  /** Permission bits with setuid/setgid/sticky (mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Content bytes for regular files, 0 otherwise. */
  readonly size: number;
  /** sha256 hex of the content (regular files). */
  readonly sha256?: string;
  readonly linkname?: string;
  /** Device numbers (`major:minor`) of char and block devices. */
  readonly device?: string;
}

export interface PackageRecord {
  readonly package: string;
  readonly version: string;
  readonly architecture: string;
  /** The suite that proved it, when the side has a verified manifest. */
  readonly suite?: string;
}

export interface ConfigRecord {
  readonly user?: string;
  readonly env: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly workdir?: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The image-side facts of one side of a diff (rootfs sides have none of them). */
export interface SideFacts {
  /** `layout`, `registry`, `rootfs-dir`, `rootfs-tar`. */
  readonly kind: string;
  readonly name: string;
  readonly architecture?: string;
  readonly config?: ConfigRecord;
  /** Where the package list came from: the verified manifest, or the dpkg database in the files. */
  readonly packagesFrom: 'verified-manifest' | 'dpkg-status' | 'none';
  readonly packages: readonly PackageRecord[];
}
