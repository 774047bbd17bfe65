/**
 * Real builds shared across test files in one `npm test` run: the first file that needs
 * debian-minimal builds it (real mmdebstrap against the host's mirror), later ones reuse the
 * layout from .cache/test-shared (cleared by global-setup at the start of every run).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VerifiedPackageManifest } from '../../src/archive/package-manifest.js';
import { loadRecipe } from '../../src/recipe/load.js';
import { DEFAULT_DEBIAN_KEYS_DIR, hostArchiveMirrors, loadPinnedKeySet } from '../../src/archive/index.js';
import { Layout } from '../../src/oci/layout.js';
import { signAndAttest, type SigningOptions } from '../../src/pipeline/attest.js';
import { hostDebianArch } from '../../src/oci/platform.js';
import { buildRecipe, PACKAGES_FILE, REPORT_FILE, type BuildOptions, type BuildReport, type BuildResult } from '../../src/pipeline/build.js';
import { RECIPES_DIR, REPO_ROOT, SHARED_CACHE_DIR } from './paths.js';

export const SHARED_OUT = join(SHARED_CACHE_DIR, 'out');
const memo = new Map<string, Promise<BuildResult>>();

export function testBuildOptions(recipeFile: string, outDir: string, overrides: Partial<BuildOptions> = {}): BuildOptions {
  return {
    recipeFile,
    outDir,
    workDir: join(SHARED_CACHE_DIR, 'work'),
    keysDir: DEFAULT_DEBIAN_KEYS_DIR,
    archiveCacheDir: join(SHARED_CACHE_DIR, 'archive-cache'),
    hostArch: hostDebianArch(process.arch),
    hostMirrors: () => hostArchiveMirrors(),
    env: process.env,
    ...overrides,
  };
}

/** A build another test file of this run already made (same recipe bytes). */
async function builtEarlier(name: string): Promise<BuildResult | undefined> {
  try {
    const dir = join(SHARED_OUT, name);
    const report = JSON.parse(await readFile(join(dir, REPORT_FILE), 'utf8')) as BuildReport;
    const recipe = await loadRecipe(join(RECIPES_DIR, `${name}.ts`), { hostArch: hostDebianArch(process.arch) });
    if (report.recipe.sha256 !== recipe.fileSha256) return undefined;
    const packageManifest = JSON.parse(await readFile(join(dir, PACKAGES_FILE), 'utf8')) as VerifiedPackageManifest;
    return { report, packageManifest, recipe, parents: [] };
  } catch {
    return undefined;
  }
}

/** Build recipes/<name>.ts into the shared out dir once per run (its parents are reused from there too). */
export function sharedBuild(name: string): Promise<BuildResult> {
  let p = memo.get(name);
  if (!p) {
    p = builtEarlier(name).then((r) => r ?? buildRecipe(testBuildOptions(join(RECIPES_DIR, `${name}.ts`), SHARED_OUT)));
    memo.set(name, p);
  }
  return p;
}

/** Sign and attest the built image in `layoutDir` (a copy of a build's layout) as a build with --key would. */
export async function signBuiltLayout(
  layoutDir: string,
  build: BuildResult,
  signing: Omit<SigningOptions, 'displayBase'> & { readonly displayBase?: string },
  now = new Date(),
): Promise<{ identities: string[]; signer: string }> {
  const layout = await Layout.open(layoutDir);
  const { files } = await loadPinnedKeySet(DEFAULT_DEBIAN_KEYS_DIR);
  return signAndAttest({
    layout,
    image: layout.resolve(build.report.ref),
    recipe: build.recipe,
    packageManifest: build.packageManifest,
    pinnedKeyFiles: files,
    mirror: build.report.mirror,
    securityMirror: build.report.securityMirror,
    startedOn: build.report.startedOn,
    finishedOn: build.report.finishedOn,
    now,
    signing: { ...signing, displayBase: signing.displayBase ?? REPO_ROOT },
  });
}
