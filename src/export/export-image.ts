/**
 * `imgfactory export`: verify an image in an OCI layout (the same verifyLayout that `verify` and
 * `pull` use), flatten its layers and write the files a machine-container manager takes, with
 * `SHA256SUMS`, a detached OpenPGP signature over it and a signed export provenance.
 *
 * Nothing is written before the image verifies; everything is written into a staging directory
 * beside --out and renamed into place at the end, so a failure leaves --out as it was.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExportError, VerifyError } from '../errors.js';
import { run } from '../exec.js';
import { DEFAULT_GZIP_LEVEL } from '../layer/gzip.js';
import { parallelGzip } from '../layer/parallel-gzip.js';
import { hashFile } from '../oci/hash-file.js';
import { signDsse } from '../provenance/dsse.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../provenance/statement.js';
import type { SigningKey, VerificationKey } from '../pgp/keys.js';
import { verifyLayout } from '../verify/verify-layout.js';
import { Layout } from '../oci/layout.js';
import { formatSha256Sums, type ChecksumEntry } from './checksums.js';
import { signDetached } from './detached-signature.js';
import { exportProvenance, type ExportFormat } from './export-provenance.js';
import { flattenedTar, planLayers } from './flatten.js';
import { readExportImage } from './image-source.js';
import { resolveImageUser } from './image-user.js';
import { lxcMetadataFiles, smallTar } from './lxc-metadata.js';
import { nspawnSettings } from './nspawn-settings.js';

export const EXPORT_FORMATS: readonly ExportFormat[] = ['nspawn', 'lxc', 'rootfs'];
export const SUMS_FILE = 'SHA256SUMS';
export const SIGNATURE_FILE = 'SHA256SUMS.gpg';
export const PROVENANCE_FILE = 'provenance.intoto.json';

export interface ExportOptions {
  readonly layoutDir: string;
  /** Which image, when the layout holds several (its tag in index.json). */
  readonly tag?: string;
  /** OCI architecture, when the image is a multi-arch index. */
  readonly architecture?: string;
  /** Keys the image must be signed with (its signature and provenance). */
  readonly keys: readonly VerificationKey[];
  /** The docker reference the image is consumed as (checked in its signature), if any. */
  readonly identity?: string;
  readonly format: ExportFormat;
  readonly outDir: string;
  /** Machine name (default: the image's org.opencontainers.image.title label). */
  readonly name?: string;
  /** The factory key that signs SHA256SUMS and the export provenance. */
  readonly signingKey: SigningKey;
  /** How the user named the image, recorded in the provenance (default "oci-layout"). */
  readonly source?: string;
  readonly builder: { readonly id: string; readonly version: string };
  readonly signal?: AbortSignal;
  readonly onProgress?: (message: string) => void;
}

export interface ExportReport {
  readonly outDir: string;
  readonly format: ExportFormat;
  readonly name: string;
  readonly signedDigest: string;
  readonly manifestDigest: string;
  readonly files: readonly (ChecksumEntry & { readonly size: number })[];
  readonly signature: string;
  readonly provenance: string;
  readonly signerFingerprint: string;
  readonly entries: number;
  /** Image config fields the target format cannot express. */
  readonly omitted: readonly string[];
}

const MACHINE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const TITLE = 'org.opencontainers.image.title';

async function checkOutDir(outDir: string): Promise<boolean> {
  const s = await stat(outDir).catch(() => undefined);
  if (s === undefined) return false;
  if (!s.isDirectory() || (await readdir(outDir)).length > 0) {
    throw new ExportError('OUT_NOT_EMPTY', `${outDir} exists and is not an empty directory`);
  }
  return true;
}

function hashingTap(hash: ReturnType<typeof createHash>, count: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      hash.update(chunk);
      count.bytes += chunk.length;
      done(null, chunk);
    },
  });
}

async function writeStream(source: AsyncIterable<Buffer>, file: string, gzip: boolean, signal?: AbortSignal): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  const count = { bytes: 0 };
  // The layers' own deterministic gzip: the same tar gives the same .tar.gz bytes.
  const stages: NodeJS.ReadWriteStream[] = gzip ? [parallelGzip(DEFAULT_GZIP_LEVEL)] : [];
  await pipeline([Readable.from(source), ...stages, hashingTap(hash, count), createWriteStream(file, { mode: 0o644 })], {
    ...(signal ? { signal } : {}),
  });
  return { sha256: hash.digest('hex'), size: count.bytes };
}

/** xz, single-threaded with a fixed preset: the same input gives the same bytes (for one xz release). */
async function xz(file: string, signal?: AbortSignal): Promise<string> {
  await run(['xz', '--compress', '--threads=1', '-6', '--check=crc64', '--', file], {
    ...(signal ? { signal } : {}),
  });
  return `${file}.xz`;
}

function createdSeconds(created: string | undefined): number {
  const t = created === undefined ? NaN : Date.parse(created);
  return Number.isNaN(t) ? 0 : Math.max(0, Math.floor(t / 1000));
}

export async function exportImage(options: ExportOptions): Promise<ExportReport> {
  const progress = options.onProgress ?? (() => undefined);
  const existed = await checkOutDir(options.outDir);
  progress(`verifying ${options.layoutDir}`);
  const verified = await verifyLayout({
    layout: await Layout.open(options.layoutDir),
    keys: options.keys,
    ...(options.tag === undefined ? {} : { tag: options.tag }),
    ...(options.identity === undefined ? {} : { identity: options.identity }),
  });
  const image = await readExportImage(options.layoutDir, options.tag, options.architecture);
  if (image.signedDigest !== verified.manifestDigest) {
    throw new VerifyError('MANIFEST_DIGEST_MISMATCH', `${options.layoutDir}: the image changed while it was verified`);
  }
  const name = options.name ?? image.config.config?.Labels?.[TITLE];
  if (name === undefined || !MACHINE_NAME.test(name)) {
    throw new ExportError(
      'NAME_INVALID',
      name === undefined
        ? 'the image has no title label: name the machine with --name'
        : `${JSON.stringify(name)} is not a machine name (letters, digits, '-', '_')`,
    );
  }
  progress('checking layers');
  const plan = await planLayers(image.layers, options.signal).catch((e: unknown) => {
    if (options.signal?.aborted) throw new ExportError('EXPORT_INTERRUPTED', `interrupted; nothing was written to ${options.outDir}`, { cause: e });
    throw e;
  });

  await mkdir(dirname(options.outDir), { recursive: true });
  const staging = join(dirname(options.outDir), `.${basename(options.outDir)}.export-${randomBytes(4).toString('hex')}`);
  await mkdir(staging);
  try {
    const files: (ChecksumEntry & { size: number })[] = [];
    const omitted: string[] = [];
    const flat = { entries: 0, captured: new Map<string, Buffer>() };
    const tarball = (fileName: string, gzip: boolean) => {
      progress(`writing ${fileName}`);
      return writeStream(
        flattenedTar(
          { layers: image.layers, workDir: staging, capture: ['etc/passwd', 'etc/group'], ...(options.signal ? { signal: options.signal } : {}) },
          plan,
          flat,
        ),
        join(staging, fileName),
        gzip,
        options.signal,
      );
    };
    switch (options.format) {
      case 'rootfs': {
        const fileName = `${name}.tar`;
        files.push({ name: fileName, ...(await tarball(fileName, false)) });
        break;
      }
      case 'nspawn': {
        const fileName = `${name}.tar.gz`;
        files.push({ name: fileName, ...(await tarball(fileName, true)) });
        const settings = nspawnSettings(image.config, image.signedDigest);
        omitted.push(...settings.omitted);
        await writeFile(join(staging, `${name}.nspawn`), settings.text);
        files.push({ name: `${name}.nspawn`, ...(await hashFile(join(staging, `${name}.nspawn`))) });
        break;
      }
      case 'lxc': {
        await tarball('rootfs.tar', false);
        progress('compressing rootfs.tar.xz');
        const rootfs = await xz(join(staging, 'rootfs.tar'), options.signal);
        files.push({ name: 'rootfs.tar.xz', ...(await hashFile(rootfs)) });
        const user = resolveImageUser(
          image.config.config?.User,
          flat.captured.get('etc/passwd')?.toString('utf8') ?? '',
          flat.captured.get('etc/group')?.toString('utf8') ?? '',
        );
        const meta = lxcMetadataFiles(image.config, user, image.signedDigest);
        omitted.push(...meta.omitted);
        await writeFile(join(staging, 'meta.tar'), smallTar(meta.files, createdSeconds(image.config.created)));
        const metaXz = await xz(join(staging, 'meta.tar'), options.signal);
        files.push({ name: 'meta.tar.xz', ...(await hashFile(metaXz)) });
        break;
      }
    }
    const sums = Buffer.from(formatSha256Sums(files));
    await writeFile(join(staging, SUMS_FILE), sums);
    await writeFile(join(staging, SIGNATURE_FILE), await signDetached(sums, options.signingKey));
    const statement = exportProvenance({
      files,
      format: options.format,
      name,
      source: options.source ?? 'oci-layout',
      signedDigest: image.signedDigest,
      manifestDigest: image.manifestDigest,
      imageSigners: [
        ...new Set([...verified.signatures.map((s) => s.signerFingerprint), ...(verified.provenance ? [verified.provenance.signerFingerprint] : [])]),
      ],
      builder: options.builder,
    });
    const envelope = await signDsse(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement)), options.signingKey);
    await writeFile(join(staging, PROVENANCE_FILE), JSON.stringify(envelope, null, 2) + '\n');

    options.signal?.throwIfAborted();
    if (existed) await rmdir(options.outDir);
    await rename(staging, options.outDir);
    return {
      outDir: options.outDir,
      format: options.format,
      name,
      signedDigest: image.signedDigest,
      manifestDigest: image.manifestDigest,
      files,
      signature: SIGNATURE_FILE,
      provenance: PROVENANCE_FILE,
      signerFingerprint: options.signingKey.fingerprint,
      entries: flat.entries,
      omitted,
    };
  } catch (e) {
    if (options.signal?.aborted) {
      throw new ExportError('EXPORT_INTERRUPTED', `interrupted; nothing was written to ${options.outDir}`, { cause: e });
    }
    throw e;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
