/**
 * Tag immutability, enforced by the client because distribution 2.8 has none: before a publish
 * moves anything, every version tag it targets is looked up; one that already names another
 * image refuses the whole publish (no blob, signature or tag written). The same image again is
 * fine: the push then finds everything in place and moves nothing.
 */
import { VersionError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { referenceString, withTag, type ImageReference } from '../oci/reference.js';
import type { RegistryClient } from './client.js';
import { isVersionTag } from '../oci/version-tag.js';

export interface VersionTagCheck {
  /** Version tags that already hold this very image (re-publishing them is a no-op). */
  readonly alreadyPublished: readonly string[];
  /** Version tags that do not exist yet. */
  readonly fresh: readonly string[];
  /** What each channel tag of the publish named before it (absent: it did not exist): the rollback target. */
  readonly channelsBefore: Readonly<Record<string, Digest>>;
}

export async function checkVersionTags(
  targets: readonly ImageReference[],
  digest: Digest,
  clientFor: (registry: string) => RegistryClient,
): Promise<VersionTagCheck> {
  const alreadyPublished: string[] = [];
  const fresh: string[] = [];
  const channelsBefore: Record<string, Digest> = {};
  for (const t of targets) {
    if (t.tag === undefined) continue;
    const name = referenceString(withTag(t, t.tag));
    const existing = await clientFor(t.registry).findManifest(t.repository, t.tag);
    if (!isVersionTag(t.tag)) {
      if (existing) channelsBefore[name] = existing.digest;
      continue;
    }
    if (existing === undefined) fresh.push(name);
    else if (existing.digest === digest) alreadyPublished.push(name);
    else {
      throw new VersionError(
        'VERSION_TAG_TAKEN',
        `${name} is a version tag and already names ${existing.digest}; versions never move (publish ${digest} under a new version)`,
        {
          details: { reference: name, existing: existing.digest, refused: digest },
        },
      );
    }
  }
  return { alreadyPublished, fresh, channelsBefore };
}
