/**
 * Signing and attesting a freshly written layout, before it is moved into place: a build that
 * cannot sign produces no image at all rather than an unsigned one.
 */
import { relative } from 'node:path';
import type { VerifiedPackageManifest } from '../archive/package-manifest.js';
import { SignError } from '../errors.js';
import type { Layout } from '../oci/layout.js';
import type { Descriptor } from '../oci/types.js';
import { attestLayout, type SbomFormat } from '../provenance/index.js';
import type { SigningKey } from '../pgp/keys.js';
import { signLayout } from '../sign/sign-layout.js';
import type { Recipe } from '../recipe/types.js';
import type { Digest } from '../oci/digest.js';
import { versionTag } from '../oci/version-tag.js';

export interface SigningOptions {
  readonly key: SigningKey;
  /** Docker references to sign; default: every `publish` repository:tag of the recipe. */
  readonly identities?: readonly string[];
  readonly sbomFormat?: SbomFormat;
  /** `imgfactory <version>`. */
  readonly creator: string;
  readonly builder: { readonly id: string; readonly version: string };
  /** The CI run URL, when there is one. */
  readonly invocationId?: string;
  /** Paths in provenance are recorded relative to this (the repository root or cwd). */
  readonly displayBase: string;
}

/**
 * The references a published image is signed for: its write-once version tag first (when the
 * build's SOURCE_DATE_EPOCH and digest are known), then each channel tag of `publish.tags`.
 * Every tag is an identity of the signature, so moving a channel back later needs no key.
 */
export function publishIdentities(recipe: Recipe, version?: { readonly sourceDateEpoch: number; readonly digest: Digest }): string[] {
  if (!recipe.publish) return [];
  const channels = recipe.publish.tags.map((t) => `${recipe.publish!.repository}:${t}`);
  return version ? [`${recipe.publish.repository}:${versionTag(recipe.version, version.sourceDateEpoch, version.digest)}`, ...channels] : channels;
}

export interface AttestInput {
  readonly layout: Layout;
  /** The image entry exactly as the build wrote it: signed without being read back. */
  readonly image: Descriptor;
  /** Each platform's manifest when `image` is an index (provenance subjects too). */
  readonly platformManifests?: readonly Descriptor[];
  readonly recipe: Recipe;
  readonly packageManifest: VerifiedPackageManifest;
  /** For an image assembled from a package set (recipe `contents`): every package of the build root it was selected from. */
  readonly buildRootManifest?: VerifiedPackageManifest;
  /** The pinned archive key files the build trusted (the same bytes it verified with). */
  readonly pinnedKeyFiles: readonly { readonly path: string; readonly sha256: string }[];
  readonly mirror: string;
  readonly securityMirror: string;
  readonly startedOn: string;
  readonly finishedOn: string;
  readonly now: Date;
  /** The build's SOURCE_DATE_EPOCH: dates the version tag signed beside the channel tags. */
  readonly sourceDateEpoch?: number;
  readonly signing: SigningOptions;
}

export async function signAndAttest(input: AttestInput): Promise<{ identities: string[]; signer: string }> {
  const s = input.signing;
  const identities = [
    ...(s.identities && s.identities.length > 0
      ? s.identities
      : publishIdentities(
          input.recipe,
          input.sourceDateEpoch === undefined ? undefined : { sourceDateEpoch: input.sourceDateEpoch, digest: input.image.digest },
        )),
  ];
  if (identities.length === 0) {
    throw new SignError('IDENTITY_INVALID', `${input.recipe.name}: a key was given but nothing names the image: add --identity or publish: to the recipe`);
  }
  await signLayout({ layout: input.layout, image: input.image, key: s.key, identities, creator: s.creator, now: input.now });
  await attestLayout({
    layout: input.layout,
    image: input.image,
    ...(input.platformManifests && input.platformManifests.length > 1 ? { platformManifests: input.platformManifests } : {}),
    key: s.key,
    packageManifest: input.packageManifest,
    sbomFormat: s.sbomFormat,
    provenanceInput: {
      subject: { name: identities[0]!.replace(/:[^:/]+$/, '') },
      recipe: { path: relative(s.displayBase, input.recipe.file), sha256: input.recipe.fileSha256 },
      suite: input.recipe.suite,
      architectures: input.recipe.architectures,
      mirror: input.mirror,
      securityMirror: input.securityMirror,
      pinnedKeys: input.pinnedKeyFiles.map((k) => ({ path: relative(s.displayBase, k.path), sha256: k.sha256 })),
      builder: s.builder,
      ...(s.invocationId ? { invocationId: s.invocationId } : {}),
      startedOn: input.startedOn,
      finishedOn: input.finishedOn,
      ...(input.buildRootManifest ? { buildRootPackages: input.buildRootManifest } : {}),
    },
  });
  return { identities, signer: s.key.fingerprint };
}
