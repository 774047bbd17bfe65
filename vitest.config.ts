import { defineConfig } from 'vitest/config';
import { INTEGRATION_TESTS } from './test/projects.js';

export default defineConfig({
  test: {
    // Integration tests bootstrap real root filesystems and start real registries: one file at
    // a time keeps a 2-core CI machine from thrashing and lets files share cached builds.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 20 * 60_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // `vitest run --project unit` needs no root, network or container tools; `integration` is
    // the rest (test/projects.ts says which). `vitest run` runs both.
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...INTEGRATION_TESTS] },
      },
      {
        extends: true,
        // The shared build cache directory is only for integration tests (and may be root's).
        test: { name: 'integration', include: [...INTEGRATION_TESTS], globalSetup: ['test/helpers/global-setup.ts'] },
      },
    ],
  },
});
