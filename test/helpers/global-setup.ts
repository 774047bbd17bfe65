// One cache directory per `npm test` run (workers inherit the variable), removed when the run
// ends unless IMGFACTORY_TEST_KEEP_CACHE=1 (to inspect builds after a failure).
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TEST_RUNS_DIR } from './paths.js';

export default async function setup(): Promise<() => Promise<void>> {
  const dir = process.env.IMGFACTORY_TEST_RUN_DIR ?? join(TEST_RUNS_DIR, `run-${Date.now()}-${process.pid}`);
  process.env.IMGFACTORY_TEST_RUN_DIR = dir;
  // CLI builds in tests use the run's own caches, never the machine's: a base layer cached by an
  // earlier run would turn a test's bootstrap into a cache hit (and its .deb audit into none).
  // Tests that are about XDG_CACHE_HOME pass their own.
  process.env.XDG_CACHE_HOME = join(dir, 'xdg-cache');
  await mkdir(dir, { recursive: true });
  return async () => {
    if (process.env.IMGFACTORY_TEST_KEEP_CACHE !== '1') await rm(dir, { recursive: true, force: true });
  };
}
