// One cache directory per `npm test` run (workers inherit the variable), removed when the run
// ends unless IMGFACTORY_TEST_KEEP_CACHE=1 (to inspect builds after a failure).
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TEST_RUNS_DIR } from './paths.js';

export default async function setup(): Promise<() => Promise<void>> {
  const dir = process.env.IMGFACTORY_TEST_RUN_DIR ?? join(TEST_RUNS_DIR, `run-${Date.now()}-${process.pid}`);
  process.env.IMGFACTORY_TEST_RUN_DIR = dir;
  await mkdir(dir, { recursive: true });
  return async () => {
    if (process.env.IMGFACTORY_TEST_KEEP_CACHE !== '1') await rm(dir, { recursive: true, force: true });
  };
}
