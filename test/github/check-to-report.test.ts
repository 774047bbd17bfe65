/**
 * The scheduled workflow pipes `imgfactory check --json` into `imgfactory report --from`: the
 * report must read exactly what check prints. The check result below is typed as check's own
 * RecipeCheck, so a field renamed on either side fails to compile or fails here.
 */
import { describe, expect, it } from 'vitest';
import { mergeCheckReports, parseCheckReportFile } from '../../src/github/check-report.js';
import type { RecipeCheck } from '../../src/update/check.js';

const checked: RecipeCheck = {
  recipe: 'debian-minimal',
  name: 'debian-minimal',
  repository: 'registry.example:5000/base/debian-minimal',
  status: 'updates',
  file: '/src/recipes/debian-minimal.ts',
  lockFile: '/src/recipes/debian-minimal.lock.json',
  upToDate: false,
  inReleaseOnly: false,
  changedSuites: ['bookworm-security'],
  changes: [
    {
      kind: 'package',
      architecture: 'amd64',
      package: 'libc6',
      oldVersion: '2.36-9+deb12u7',
      newVersion: '2.36-9+deb12u9',
      suite: 'bookworm-security',
      security: true,
      direction: 'upgrade',
    },
    {
      kind: 'package',
      architecture: 'all',
      package: 'tzdata',
      oldVersion: '2024a-0+deb12u1',
      newVersion: '2025b-0+deb12u1',
      suite: 'bookworm-updates',
      security: false,
      direction: 'upgrade',
    },
    { kind: 'vanished', architecture: 'amd64', package: 'libfoo1', oldVersion: '1.0-1' },
    { kind: 'recipe', oldDigest: 'sha256:aa', newDigest: 'sha256:bb' },
  ],
  updates: 3,
  security: 1,
};

describe('check --json → report --from', () => {
  it('package changes become report rows; recipe, parent and key changes are reasons, not rows', () => {
    const printed: unknown = JSON.parse(JSON.stringify({ upToDate: false, images: [checked] }));
    const report = mergeCheckReports([parseCheckReportFile(printed, 'check.json')]);
    expect(report.images).toEqual([
      {
        name: 'debian-minimal',
        repository: 'registry.example:5000/base/debian-minimal',
        status: 'updates',
        changes: [
          { name: 'libc6', from: '2.36-9+deb12u7', to: '2.36-9+deb12u9', suite: 'bookworm-security', security: true },
          { name: 'tzdata', from: '2024a-0+deb12u1', to: '2025b-0+deb12u1', suite: 'bookworm-updates', security: false },
          { name: 'libfoo1', from: '1.0-1', to: null, suite: 'vanished', security: false },
        ],
      },
    ]);
  });

  it('an up-to-date check reads as up to date', () => {
    const printed: unknown = JSON.parse(
      JSON.stringify({ upToDate: true, images: [{ ...checked, status: 'up-to-date', upToDate: true, changes: [], updates: 0, security: 0 }] }),
    );
    expect(mergeCheckReports([parseCheckReportFile(printed, 'check.json')]).images[0]).toMatchObject({ status: 'up-to-date', changes: [] });
  });
});
