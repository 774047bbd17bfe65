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

export type UsageErrorCode = 'USAGE' | 'UNKNOWN_COMMAND' | 'MISSING_ARGUMENT' | 'BAD_OPTION' | 'NOT_ROOT';
export class UsageError extends ImgfactoryError<UsageErrorCode> {
  readonly exitStatus = ExitStatus.usage;
}

export type RecipeErrorCode =
  | 'RECIPE_INVALID'
  | 'RECIPE_NOT_FOUND'
  | 'RECIPE_LOAD_FAILED'
  | 'RECIPE_NO_DEFAULT_EXPORT'
  | 'RECIPE_CYCLE'
  | 'RECIPE_FILE_ESCAPES';
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
  | 'AUDIT_DEB_HASH_MISMATCH';
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
  | 'BUILD_INTERRUPTED';
export class BuildError extends ImgfactoryError<BuildErrorCode> {
  get exitStatus(): ExitStatus {
    return this.code === 'BUILD_INTERRUPTED' ? ExitStatus.interrupted : ExitStatus.internal;
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
  | 'CREDENTIALS_UNAVAILABLE';
export class RegistryError extends ImgfactoryError<RegistryErrorCode> {
  get exitStatus(): ExitStatus {
    if (this.code === 'BLOB_DIGEST_MISMATCH') return ExitStatus.verificationFailed;
    if (this.code === 'REFERENCE_INVALID' || this.code === 'INSECURE_NOT_ALLOWED') return ExitStatus.usage;
    return ExitStatus.network;
  }
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

export function isImgfactoryError(e: unknown): e is ImgfactoryError {
  return e instanceof ImgfactoryError;
}
