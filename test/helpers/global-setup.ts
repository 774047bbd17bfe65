// Each `npm test` run starts with an empty shared-build cache, so cached builds never go stale
// across runs; files within one run share them (see shared-build.ts).
import { rm } from 'node:fs/promises';
import { SHARED_CACHE_DIR } from './paths.js';

export default async function setup(): Promise<void> {
  if (process.env.IMGFACTORY_TEST_KEEP_CACHE !== '1') await rm(SHARED_CACHE_DIR, { recursive: true, force: true });
}
