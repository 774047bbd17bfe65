import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SHARED_CACHE_DIR = join(REPO_ROOT, '.cache', 'test-shared');
export const RECIPES_DIR = join(REPO_ROOT, 'recipes');
export const KEYS_DIR = join(REPO_ROOT, 'keys');
