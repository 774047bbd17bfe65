/**
 * `build --push`: publish what a build produced, parents first (so a child's registry can
 * mount their layers instead of receiving them again), each to its recipe's `publish` targets.
 * Only signed builds are published: a trusted factory never pushes an unsigned image.
 */
import { SignError } from '../errors.js';
import { publishImage, type PublishImageOptions, type PublishImageResult } from '../registry/publish.js';
import type { BuildReport, BuildResult } from './build.js';

export type PublishSettings = Omit<PublishImageOptions, 'layoutDir' | 'ref' | 'targets' | 'mountFrom'>;

export interface PublishedImage {
  readonly name: string;
  readonly targets: readonly string[];
  readonly result: PublishImageResult;
}

export async function publishBuild(build: BuildResult, settings: PublishSettings, targetsOverride?: readonly string[]): Promise<PublishedImage[]> {
  const reports: BuildReport[] = [...build.parents, build.report];
  const published: PublishedImage[] = [];
  for (const [i, report] of reports.entries()) {
    const isTarget = i === reports.length - 1;
    if (!report.signed) {
      throw new SignError('IDENTITY_INVALID', `${report.recipe.name}: refusing to push an unsigned image (build with --key)`);
    }
    const targets = isTarget && targetsOverride && targetsOverride.length > 0 ? targetsOverride : report.signed.identities;
    const result = await publishImage({
      ...settings,
      layoutDir: report.layoutDir,
      ref: report.ref,
      targets,
      mountFrom: published.flatMap((p) => p.targets.map((t) => t.replace(/:[^:/]+$/, ''))),
    });
    published.push({ name: report.recipe.name, targets, result });
  }
  return published;
}
