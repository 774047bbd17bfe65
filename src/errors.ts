/**
 * One base error with a stable `code`, one subclass per area. Tests and callers branch on
 * `code`, never on message text. The CLI catches once and maps `exitStatus` to the process
 * exit code (see README "Exit status").
 */

/** Process exit statuses: documented in README, stable for CI scripts. */
export const ExitStatus = {
  ok: 0,
  /** A trust or verification check said no (bad signature, hash mismatch, audit failure). */
  verificationFailed: 1,
  /** Wrong command line or an invalid recipe. */
  usage: 2,
  /** A bug or an unexpected condition inside imgfactory. */
  internal: 3,
  /** An external tool (debootstrap, apt, chroot, gpg) failed. */
  externalTool: 4,
  /** The registry or the network failed. */
  network: 5,
  /** `check` (and `plan --changed --exit-code`): the command worked and updates exist, as `dnf check-update` reports them. */
  updatesAvailable: 100,
  /** Stopped by SIGINT or SIGTERM (after cleaning up), as shells report 128 + SIGINT. */
  interrupted: 130,
} as const;
export type ExitStatus = (typeof ExitStatus)[keyof typeof ExitStatus];

export interface ErrorOptions<D = Record<string, unknown>> {
  cause?: unknown;
  /** Structured facts for --json output and tests; never secrets. */
  details?: D;
}

export abstract class ImgfactoryError<C extends string = string> extends Error {
  readonly code: C;
  readonly details: Record<string, unknown>;
  abstract readonly exitStatus: ExitStatus;

  constructor(code: C, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    this.name = new.target.name;
  }
}

export type UsageErrorCode = 'USAGE' | 'UNKNOWN_COMMAND' | 'MISSING_ARGUMENT' | 'BAD_OPTION' | 'BAD_ENVIRONMENT' | 'NOT_ROOT';
export class UsageError extends ImgfactoryError<UsageErrorCode> {
  readonly exitStatus = ExitStatus.usage;
}

export type RecipeErrorCode =
  | 'RECIPE_INVALID'
  | 'RECIPE_NOT_FOUND'
  | 'RECIPE_LOAD_FAILED'
  | 'RECIPE_NO_DEFAULT_EXPORT'
  | 'RECIPE_CYCLE'
  | 'RECIPE_FILE_ESCAPES'
  | 'RECIPE_TIMEOUT'
  | 'RECIPE_DUPLICATE_NAME'
  | 'RECIPE_USER_EXISTS'
  | 'RECIPE_PATH_CONFLICT'
  | 'RECIPE_CONTENTS_MISSING';
export class RecipeError extends ImgfactoryError<RecipeErrorCode> {
  readonly exitStatus = ExitStatus.usage;
}

export type ArchiveErrorCode =
  | 'INRELEASE_MALFORMED'
  | 'INRELEASE_BAD_SIGNATURE'
  | 'INRELEASE_SIGNATURE_CORRUPT'
  | 'INRELEASE_UNTRUSTED_KEY'
  | 'INRELEASE_NO_TRUSTED_SIGNATURE'
  | 'RELEASE_EXPIRED'
  | 'RELEASE_DATE_IN_FUTURE'
  | 'RELEASE_SUITE_MISMATCH'
  | 'RELEASE_TOO_OLD'
  | 'RELEASE_CODENAME_MISMATCH'
  | 'RELEASE_MISSING_ENTRY'
  | 'INDEX_SIZE_MISMATCH'
  | 'INDEX_HASH_MISMATCH'
  | 'INDEX_MALFORMED'
  | 'DEB_HASH_MISMATCH'
  | 'DEB_SIZE_MISMATCH'
  | 'KEYRING_INVALID'
  | 'MIRROR_UNKNOWN'
  | 'FETCH_FAILED'
  | 'FETCH_TRUNCATED';
export class ArchiveError extends ImgfactoryError<ArchiveErrorCode> {
  get exitStatus(): ExitStatus {
    return this.code === 'FETCH_FAILED' || this.code === 'MIRROR_UNKNOWN'
      ? ExitStatus.network
      : ExitStatus.verificationFailed;
  }
}

export type AuditErrorCode =
  | 'AUDIT_STATUS_UNREADABLE'
  | 'AUDIT_PACKAGE_UNPROVEN'
  | 'AUDIT_DEB_UNPROVEN'
  | 'AUDIT_DEB_HASH_MISMATCH'
  | 'AUDIT_PARENT_UNPROVEN';
export class AuditError extends ImgfactoryError<AuditErrorCode> {
  readonly exitStatus = ExitStatus.verificationFailed;
}

export type ExecErrorCode =
  | 'TOOL_MISSING'
  | 'DEBOOTSTRAP_FAILED'
  | 'MMDEBSTRAP_FAILED'
  | 'APT_FAILED'
  | 'CHROOT_FAILED'
  | 'MOUNT_FAILED'
  | 'FOREIGN_ARCH_UNSUPPORTED'
  | 'COMMAND_FAILED';
export class ExecError extends ImgfactoryError<ExecErrorCode> {
  readonly exitStatus = ExitStatus.externalTool;
}

export type BuildErrorCode =
  | 'LAYER_UNSUPPORTED_FILE'
  | 'LAYER_PATH_INVALID'
  | 'LAYER_FILE_CHANGED'
  | 'IMAGE_INVALID'
  | 'LAYOUT_INVALID'
  | 'PARENT_NOT_BUILT'
  | 'BUILD_INTERRUPTED'
  | 'DISK_FULL'
  | 'HOST_FS_FAILED'
  | 'DEBS_NOT_AUDITED';
export class BuildError extends ImgfactoryError<BuildErrorCode> {
  get exitStatus(): ExitStatus {
    if (this.code === 'BUILD_INTERRUPTED') return ExitStatus.interrupted;
    // The build host's disk or file system failed: like a failed tool, not a bug in imgfactory.
    if (this.code === 'DISK_FULL' || this.code === 'HOST_FS_FAILED') return ExitStatus.externalTool;
    return ExitStatus.internal;
  }
}

/**
 * A layout handed in from outside (by a user, a CI cache, a pull in progress) is not what it
 * must be. Missing or unusable paths the user named are usage errors; content that fails its
 * checks (digests, shapes, ambiguity) is a verification failure. Never "internal".
 */
export type LayoutErrorCode =
  | 'LAYOUT_NOT_FOUND'
  | 'LAYOUT_INVALID'
  | 'LAYOUT_AMBIGUOUS'
  | 'LAYOUT_TAG_NOT_FOUND'
  | 'LAYOUT_PLATFORM_NOT_FOUND'
  | 'LAYOUT_BLOB_MISSING'
  | 'LAYOUT_BLOB_CORRUPT'
  | 'LAYOUT_DOCUMENT_TOO_LARGE'
  | 'OUTPUT_EXISTS';
export class LayoutError extends ImgfactoryError<LayoutErrorCode> {
  get exitStatus(): ExitStatus {
    return this.code === 'LAYOUT_NOT_FOUND' || this.code === 'LAYOUT_TAG_NOT_FOUND' || this.code === 'OUTPUT_EXISTS'
      ? ExitStatus.usage
      : ExitStatus.verificationFailed;
  }
}

export type SignErrorCode =
  | 'KEY_INVALID'
  | 'KEY_NOT_PRIMARY_SIGNER'
  | 'KEY_PASSPHRASE_REQUIRED'
  | 'KEY_PASSPHRASE_WRONG'
  | 'IDENTITY_INVALID'
  | 'SIGN_FAILED';
export class SignError extends ImgfactoryError<SignErrorCode> {
  readonly exitStatus = ExitStatus.usage;
}

export type VerifyErrorCode =
  | 'DSSE_UNTRUSTED_KEY'
  | 'SBOM_INVALID'
  | 'SBOM_SUBJECT_MISMATCH'
  | 'SIGNATURE_MISSING'
  | 'SIGNATURE_INVALID'
  | 'SIGNATURE_UNTRUSTED_KEY'
  | 'SIGNATURE_DIGEST_MISMATCH'
  | 'SIGNATURE_IDENTITY_MISMATCH'
  | 'SIGNATURE_PAYLOAD_INVALID'
  | 'MANIFEST_DIGEST_MISMATCH'
  | 'PROVENANCE_MISSING'
  | 'PROVENANCE_INVALID'
  | 'PROVENANCE_SUBJECT_MISMATCH'
  | 'DSSE_SIGNATURE_INVALID'
  | 'SBOM_MISSING'
  | 'SBOM_PROVENANCE_MISMATCH';
export class VerifyError extends ImgfactoryError<VerifyErrorCode> {
  readonly exitStatus = ExitStatus.verificationFailed;
}

export type RegistryErrorCode =
  | 'REGISTRY_UNREACHABLE'
  | 'REGISTRY_UNAUTHORIZED'
  | 'REGISTRY_DENIED'
  | 'REGISTRY_NOT_FOUND'
  | 'REGISTRY_PROTOCOL'
  | 'BLOB_UPLOAD_FAILED'
  | 'BLOB_DIGEST_MISMATCH'
  | 'MANIFEST_PUT_FAILED'
  | 'REFERENCE_INVALID'
  | 'INSECURE_NOT_ALLOWED'
  | 'CREDENTIALS_UNAVAILABLE'
  | 'REGISTRY_INTERRUPTED'
  | 'REGISTRY_PORT_IN_USE';
export class RegistryError extends ImgfactoryError<RegistryErrorCode> {
  get exitStatus(): ExitStatus {
    if (this.code === 'BLOB_DIGEST_MISMATCH') return ExitStatus.verificationFailed;
    if (this.code === 'REGISTRY_INTERRUPTED') return ExitStatus.interrupted;
    if (this.code === 'REFERENCE_INVALID' || this.code === 'INSECURE_NOT_ALLOWED') return ExitStatus.usage;
    return ExitStatus.network;
  }
}

/**
 * A file-system error on a path the user named (or on the disk the build writes to), caught at
 * the CLI boundary: a missing file, a denied permission or a full disk is the user's machine
 * talking, not a bug, so it is one line with the path, never "internal".
 */
export type FileSystemErrorCode = 'FILE_NOT_FOUND' | 'FILE_ACCESS_DENIED' | 'FILE_WRONG_TYPE' | 'FILE_EXISTS' | 'DISK_FULL' | 'FILE_IO_FAILED';
export class FileSystemError extends ImgfactoryError<FileSystemErrorCode> {
  get exitStatus(): ExitStatus {
    return this.code === 'DISK_FULL' || this.code === 'FILE_IO_FAILED' ? ExitStatus.externalTool : ExitStatus.usage;
  }
}

const ERRNO_CODES: Readonly<Record<string, [FileSystemErrorCode, string]>> = {
  ENOENT: ['FILE_NOT_FOUND', 'no such file or directory'],
  EACCES: ['FILE_ACCESS_DENIED', 'permission denied'],
  EPERM: ['FILE_ACCESS_DENIED', 'operation not permitted'],
  EROFS: ['FILE_ACCESS_DENIED', 'read-only file system'],
  EISDIR: ['FILE_WRONG_TYPE', 'is a directory'],
  ENOTDIR: ['FILE_WRONG_TYPE', 'not a directory'],
  ELOOP: ['FILE_WRONG_TYPE', 'too many levels of symbolic links'],
  ENAMETOOLONG: ['FILE_WRONG_TYPE', 'file name too long'],
  EEXIST: ['FILE_EXISTS', 'already exists'],
  ENOTEMPTY: ['FILE_EXISTS', 'directory not empty'],
  ENOSPC: ['DISK_FULL', 'no space left on device'],
  EDQUOT: ['DISK_FULL', 'disk quota exceeded'],
  EIO: ['FILE_IO_FAILED', 'input/output error'],
};

/** The typed form of a Node system error that names a path; undefined for anything else. */
export function fileSystemError(e: unknown): FileSystemError | undefined {
  const err = e as NodeJS.ErrnoException | undefined;
  if (!(err instanceof Error) || typeof err.code !== 'string') return undefined;
  const known = ERRNO_CODES[err.code];
  if (!known) return undefined;
  const path = err.path ?? (err as { dest?: string }).dest;
  return new FileSystemError(known[0], `${path ?? err.syscall ?? 'file'}: ${known[1]}`, { cause: e, details: { errno: err.code, ...(path ? { path } : {}) } });
}

export type GithubErrorCode =
  | 'GITHUB_TOKEN_MISSING'
  | 'GITHUB_REPOSITORY_INVALID'
  | 'CHECK_REPORT_INVALID'
  | 'SUMMARY_UNWRITABLE'
  | 'GITHUB_UNAUTHORIZED'
  | 'GITHUB_FORBIDDEN'
  | 'GITHUB_NOT_FOUND'
  | 'GITHUB_REJECTED'
  | 'GITHUB_RATE_LIMITED'
  | 'GITHUB_LABEL_NOT_SET'
  | 'GITHUB_UNREACHABLE'
  | 'GITHUB_PROTOCOL'
  | 'REPORT_INTERRUPTED';
/** Reporting to GitHub: what the user must fix locally exits 2, anything the API or network said exits 5. */
export class GithubError extends ImgfactoryError<GithubErrorCode> {
  get exitStatus(): ExitStatus {
    if (this.code === 'REPORT_INTERRUPTED') return ExitStatus.interrupted;
    return ['GITHUB_TOKEN_MISSING', 'GITHUB_REPOSITORY_INVALID', 'CHECK_REPORT_INVALID', 'SUMMARY_UNWRITABLE'].includes(this.code)
      ? ExitStatus.usage
      : ExitStatus.network;
  }
}

export type LockErrorCode = 'LOCK_MISSING' | 'LOCK_INVALID' | 'LOCK_RECIPE_MISMATCH' | 'LOCK_NO_BUILD';
/** A lock file that is absent, unreadable or not the named recipe's: the user's input, so exit 2. */
export class LockError extends ImgfactoryError<LockErrorCode> {
  readonly exitStatus = ExitStatus.usage;
}

export type DiffErrorCode = 'DIFF_SOURCE_INVALID' | 'DIFF_ARCH_MISMATCH' | 'DIFF_NO_PACKAGES';
/** A side of `diff` that is not an image, rootfs directory or tarball, or two sides that cannot be compared. */
export class DiffError extends ImgfactoryError<DiffErrorCode> {
  readonly exitStatus = ExitStatus.usage;
}

export type ExportErrorCode =
  | 'OUT_NOT_EMPTY'
  | 'NAME_INVALID'
  | 'PLATFORM_AMBIGUOUS'
  | 'LAYER_UNSUPPORTED'
  | 'LAYER_DIGEST_MISMATCH'
  | 'LAYER_INVALID'
  | 'USER_UNKNOWN'
  | 'EXPORT_INTERRUPTED';
/** Exporting a verified image as a machine-container tarball (src/export). */
export class ExportError extends ImgfactoryError<ExportErrorCode> {
  get exitStatus(): ExitStatus {
    if (this.code === 'EXPORT_INTERRUPTED') return ExitStatus.interrupted;
    // What the user asked for is unusable (2); what the image holds does not stand up (1).
    return this.code === 'OUT_NOT_EMPTY' || this.code === 'NAME_INVALID' || this.code === 'PLATFORM_AMBIGUOUS' || this.code === 'LAYER_UNSUPPORTED'
      ? ExitStatus.usage
      : ExitStatus.verificationFailed;
  }
}

/**
 * Versions, history and rollback. A version tag already holding another image, or a rollback
 * target that is not signed for the channel, is the factory's own integrity rule saying no: the
 * command line was fine and the same command succeeds against another registry state, so these
 * exit 1 like any other refused check. Naming a version or channel that is not there, or
 * trying to move a version tag, is a usage error (2).
 */
export type VersionErrorCode =
  | 'VERSION_TAG_TAKEN'
  | 'VERSION_TAG_IMMUTABLE'
  | 'VERSION_NOT_FOUND'
  | 'ROLLBACK_NOT_SIGNED_FOR_CHANNEL';
export class VersionError extends ImgfactoryError<VersionErrorCode> {
  get exitStatus(): ExitStatus {
    return this.code === 'VERSION_TAG_IMMUTABLE' || this.code === 'VERSION_NOT_FOUND' ? ExitStatus.usage : ExitStatus.verificationFailed;
  }
}

export function isImgfactoryError(e: unknown): e is ImgfactoryError {
  return e instanceof ImgfactoryError;
}
