import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Disk-backed (not tmpfs), outside the checkout: root filesystems are hundreds of MB. */
export const TEST_RUNS_DIR = '/var/tmp/imgfactory-test-runs';
/**
 * Builds shared by the test files of one `npm test` run. Each run has its own directory (set by
 * global-setup), so two runs on one machine never delete each other's work.
 */
export const SHARED_CACHE_DIR = process.env.IMGFACTORY_TEST_RUN_DIR ?? join(TEST_RUNS_DIR, 'adhoc');
export const RECIPES_DIR = join(REPO_ROOT, 'recipes');
export const KEYS_DIR = join(REPO_ROOT, 'keys');
