/** Check reports as `imgfactory check --json` (and a publish) write them, for the report tests. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const REPOSITORY = 'registry.test:5000/base/debian-minimal';
export const NEW_DIGEST = `sha256:${'ab'.repeat(32)}`;
export const ROLLBACK = `imgfactory rollback ${REPOSITORY}:12 --to 12.0.0-20261201.1 --key keys/imgfactory.pub.asc`;

export const securityUpdates = {
  images: [
    {
      name: 'debian-minimal',
      repository: REPOSITORY,
      status: 'updates',
      changes: [
        { name: 'libc6', from: '2.36-9+deb12u7', to: '2.36-9+deb12u9', suite: 'bookworm-security', security: true },
        { name: 'tzdata', from: '2024a-0+deb12u1', to: '2025b-0+deb12u1', suite: 'bookworm-updates', security: false },
      ],
    },
    { name: 'static', repository: 'registry.test:5000/base/static', status: 'up-to-date', changes: [] },
  ],
};

export const published = {
  images: [
    {
      name: 'debian-minimal',
      repository: REPOSITORY,
      status: 'up-to-date',
      changes: securityUpdates.images[0]!.changes,
      newDigest: NEW_DIGEST,
      versionTag: '12.0.0-20261202.1',
      rollback: ROLLBACK,
    },
  ],
};

export async function writeReport(dir: string, name: string, value: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(value, null, 2));
  return file;
}
