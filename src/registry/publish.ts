/**
 * Publish one image of a layout the way `imgfactory push` and `imgfactory build --push` do:
 * credentials per registry, one client per registry, lookaside signatures written, then the
 * push itself (whose last step moves the tags).
 */
import type { Credentials } from './credentials.js';
import { resolveCredentials } from './credentials.js';
import { createRegistryClient, type RegistryClient, type RegistryProgress } from './client.js';
import type { WriteLookasideFromLayoutResult } from './lookaside.js';
import { pushImage, type PushProgress, type PushResult } from './push.js';
import { DEFAULT_TAG, parseReference, type ImageReference } from '../oci/reference.js';
import type { RetryPolicy } from './retry.js';
import { readImageGraph } from './image-graph.js';
import { checkVersionTags, type VersionTagCheck } from './version-guard.js';

export interface PublishImageOptions {
  readonly layoutDir: string;
  readonly ref?: string;
  /** References as typed (`127.0.0.1:5000/base/debian-minimal:12`) or parsed. */
  readonly targets: readonly (string | ImageReference)[];
  /** The environment, read once by the caller (credentials, DOCKER_CONFIG, HOME). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly insecure?: boolean;
  readonly caFile?: string;
  /** Explicit credentials (e.g. --password-stdin) for every target registry. */
  readonly credentials?: Credentials;
  readonly dockerConfigPath?: string;
  /** Where consumers' registries.d `lookaside:` points; signatures are written before the push. */
  readonly lookasideDir?: string;
  readonly mountFrom?: readonly string[];
  readonly concurrency?: number;
  readonly chunkSize?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly onProgress?: (event: PushProgress | RegistryProgress) => void;
  /** Ctrl-C: stops every transfer; no tag moves once it has fired. */
  readonly signal?: AbortSignal;
}

export interface PublishImageResult extends PushResult {
  readonly lookaside?: WriteLookasideFromLayoutResult;
  /** Version tags found already holding this image, and what each channel tag named before. */
  readonly versions: VersionTagCheck;
}

export async function publishImage(options: PublishImageOptions): Promise<PublishImageResult> {
  const targets = options.targets.map((t) => (typeof t === 'string' ? parseReference(t, { defaultTag: DEFAULT_TAG }) : t));
  const clients = new Map<string, RegistryClient>();
  for (const registry of new Set(targets.map((t) => t.registry))) {
    const credentials =
      options.credentials ??
      (await resolveCredentials({ registry, env: options.env, ...(options.dockerConfigPath ? { dockerConfigPath: options.dockerConfigPath } : {}) }));
    clients.set(
      registry,
      createRegistryClient({
        registry,
        ...(options.insecure ? { insecure: true } : {}),
        ...(options.caFile ? { caFile: options.caFile } : {}),
        ...(credentials ? { credentials } : {}),
        ...(options.concurrency ? { concurrency: options.concurrency } : {}),
        ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
        ...(options.retry ? { retry: options.retry } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    );
  }
  // The layout is read before the first request: its few small reads would otherwise queue
  // behind the work of starting the first exchange, and the push's HEADs wait for them.
  const graph = await readImageGraph(options.layoutDir, options.ref, { checkBlobs: false });
  // Version tags are write-once: refused before a single byte (or signature) is written. The
  // check runs side by side with the push's reads (HEADs), which wait for it to write.
  const versionCheck = checkVersionTags(targets, graph.root.digest, (registry) => clients.get(registry)!);
  // Awaited below; a step that throws first must not leave it as an unhandled rejection (which
  // would end the process with a stack instead of the one-line error).
  versionCheck.catch(() => {});
  // Signatures first: a consumer that sees the new tag can verify it at once. Stray signatures
  // for a digest whose push then failed name content nobody can fetch, so they grant nothing.
  if (options.lookasideDir) await versionCheck;
  const lookaside = options.lookasideDir
    ? // Loaded only when asked for: it brings openpgp, a tenth of a second of every push's start.
      await (
        await import('./lookaside.js')
      ).writeLookasideFromLayout({
        layoutDir: options.layoutDir,
        lookasideDir: options.lookasideDir,
        targets,
        ...(options.ref ? { ref: options.ref } : {}),
      })
    : undefined;
  const result = await pushImage({
    layoutDir: options.layoutDir,
    ...(options.ref ? { ref: options.ref } : {}),
    targets,
    client: (registry) => clients.get(registry)!,
    ...(options.mountFrom ? { mountFrom: options.mountFrom } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    mayWrite: versionCheck,
    graph,
  });
  const versions = await versionCheck;
  return { ...result, ...(lookaside ? { lookaside } : {}), versions };
}
