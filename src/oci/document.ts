/**
 * OCI documents arriving from outside (a layout on disk, a registry answer) are `unknown` until
 * parsed here: JSON, schemaVersion 2, well-formed descriptors. One parser for every reader, so
 * "is this a manifest" is decided in one place. Pure.
 */
import { LayoutError } from '../errors.js';
import { isDigest } from './digest.js';
import { MediaType } from './mediatypes.js';
import type { Descriptor, ImageConfig, Index, Manifest, Platform } from './types.js';

export type OciDocument = { readonly kind: 'manifest'; readonly manifest: Manifest } | { readonly kind: 'index'; readonly index: Index };

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.imageIndex || mediaType === MediaType.dockerManifestList;
}

export function isManifestMediaType(mediaType: string): boolean {
  return mediaType === MediaType.imageManifest || mediaType === MediaType.dockerManifest;
}

function invalid(where: string, why: string): LayoutError {
  return new LayoutError('LAYOUT_INVALID', `${where}: ${why}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, where: string): Readonly<Record<string, string>> | undefined {
  if (v === undefined) return undefined;
  if (!isRecord(v) || !Object.values(v).every((x) => typeof x === 'string')) throw invalid(where, 'expected a map of strings');
  return v as Record<string, string>;
}

function parsePlatform(v: unknown, where: string): Platform | undefined {
  if (v === undefined) return undefined;
  if (!isRecord(v) || typeof v.architecture !== 'string' || typeof v.os !== 'string') throw invalid(where, 'expected {architecture, os}');
  if (v.variant !== undefined && typeof v.variant !== 'string') throw invalid(`${where}.variant`, 'expected a string');
  return { architecture: v.architecture, os: v.os, ...(typeof v.variant === 'string' ? { variant: v.variant } : {}) };
}

export function parseDescriptor(v: unknown, where: string): Descriptor {
  if (!isRecord(v)) throw invalid(where, 'not a descriptor');
  if (typeof v.mediaType !== 'string' || v.mediaType === '') throw invalid(`${where}.mediaType`, 'expected a string');
  if (!isDigest(v.digest)) throw invalid(`${where}.digest`, 'expected sha256:<64 hex>');
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) throw invalid(`${where}.size`, 'expected a non-negative integer');
  if (v.artifactType !== undefined && typeof v.artifactType !== 'string') throw invalid(`${where}.artifactType`, 'expected a string');
  const annotations = stringMap(v.annotations, `${where}.annotations`);
  const platform = parsePlatform(v.platform, `${where}.platform`);
  return {
    mediaType: v.mediaType,
    digest: v.digest,
    size: v.size,
    ...(annotations ? { annotations } : {}),
    ...(platform ? { platform } : {}),
    ...(typeof v.artifactType === 'string' ? { artifactType: v.artifactType } : {}),
  };
}

function parseJson(bytes: Uint8Array, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw invalid(where, 'not JSON');
  }
  if (!isRecord(value)) throw invalid(where, 'not a JSON object');
  return value;
}

/**
 * A manifest or an index. `declaredMediaType` (the descriptor's) must agree with the document's
 * own `mediaType` when both are present: a descriptor cannot turn an index into a manifest.
 */
export function parseOciDocument(bytes: Uint8Array, where: string, declaredMediaType?: string): OciDocument {
  const doc = parseJson(bytes, where);
  if (doc.schemaVersion !== 2) throw invalid(where, 'schemaVersion must be 2');
  if (doc.mediaType !== undefined && typeof doc.mediaType !== 'string') throw invalid(`${where}.mediaType`, 'expected a string');
  const own = doc.mediaType as string | undefined;
  if (own !== undefined && declaredMediaType !== undefined && own !== declaredMediaType) {
    throw invalid(where, `its mediaType ${own} differs from its descriptor's ${declaredMediaType}`);
  }
  const mediaType = own ?? declaredMediaType;
  const subject = doc.subject === undefined ? undefined : parseDescriptor(doc.subject, `${where}.subject`);
  const annotations = stringMap(doc.annotations, `${where}.annotations`);
  const artifactType =
    doc.artifactType === undefined
      ? undefined
      : typeof doc.artifactType === 'string'
        ? doc.artifactType
        : (() => {
            throw invalid(`${where}.artifactType`, 'expected a string');
          })();
  const common = {
    schemaVersion: 2 as const,
    ...(artifactType !== undefined ? { artifactType } : {}),
    ...(subject ? { subject } : {}),
    ...(annotations ? { annotations } : {}),
  };
  const looksLikeIndex = Array.isArray(doc.manifests) && doc.config === undefined;
  if (mediaType !== undefined ? isIndexMediaType(mediaType) : looksLikeIndex) {
    if (!Array.isArray(doc.manifests)) throw invalid(`${where}.manifests`, 'expected a list');
    const manifests = doc.manifests.map((m, i) => parseDescriptor(m, `${where}.manifests[${i}]`));
    return { kind: 'index', index: { ...common, mediaType: mediaType ?? MediaType.imageIndex, manifests } };
  }
  if (mediaType !== undefined && !isManifestMediaType(mediaType)) throw invalid(where, `unsupported mediaType ${mediaType}`);
  const config = parseDescriptor(doc.config, `${where}.config`);
  if (!Array.isArray(doc.layers)) throw invalid(`${where}.layers`, 'expected a list');
  const layers = doc.layers.map((l, i) => parseDescriptor(l, `${where}.layers[${i}]`));
  return { kind: 'manifest', manifest: { ...common, mediaType: mediaType ?? MediaType.imageManifest, config, layers } };
}

export function parseManifest(bytes: Uint8Array, where: string, declaredMediaType?: string): Manifest {
  const doc = parseOciDocument(bytes, where, declaredMediaType);
  if (doc.kind !== 'manifest') throw invalid(where, 'expected an image manifest, found an index');
  return doc.manifest;
}

/** The parts of an image config imgfactory reads: rootfs.diff_ids must match the layers. */
export function parseImageConfig(bytes: Uint8Array, where: string, layerCount: number): ImageConfig {
  const doc = parseJson(bytes, where);
  if (typeof doc.architecture !== 'string' || typeof doc.os !== 'string') throw invalid(where, 'architecture and os must be strings');
  const rootfs = doc.rootfs;
  if (!isRecord(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids) || !rootfs.diff_ids.every(isDigest)) {
    throw invalid(`${where}.rootfs`, 'expected {type: "layers", diff_ids: [sha256:…]}');
  }
  if (rootfs.diff_ids.length !== layerCount) {
    throw invalid(`${where}.rootfs.diff_ids`, `lists ${rootfs.diff_ids.length} layers, the manifest ${layerCount}`);
  }
  if (doc.config !== undefined && !isRecord(doc.config)) throw invalid(`${where}.config`, 'expected an object');
  return doc as unknown as ImageConfig;
}

/** The platform of an index entry matches the wanted one (variant only when both name it). */
export function platformMatches(have: Platform | undefined, want: Platform): boolean {
  if (!have || have.os !== want.os || have.architecture !== want.architecture) return false;
  return have.variant === undefined || want.variant === undefined || have.variant === want.variant;
}
