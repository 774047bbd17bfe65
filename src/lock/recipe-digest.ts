/**
 * The recipe digest: one sha256 over everything a recipe's output depends on that is not the
 * archive state: the recipe file, every module it imports (transitively), every file it
 * copies into the image, and the build options that change the output. Pure.
 */
import { sha256Hex } from '../oci/digest.js';
import type { LockedSource } from './lock.js';

/**
 * Relative module specifiers of a TypeScript/JavaScript module: static `import … from`,
 * `export … from`, bare `import '…'` and `import('…')` with a literal. Package imports
 * (`imgfactory`, `node:…`) are not the recipe's own code and are left out.
 */
export function relativeImports(sourceText: string): string[] {
  const specs = new Set<string>();
  const patterns = [/\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of sourceText.matchAll(re)) if (m[1]!.startsWith('.')) specs.add(m[1]!);
  return [...specs].sort();
}

/** `sha256:<hex>` of the canonical form of the sources (sorted by path) and options (sorted by key). */
export function recipeDigest(sources: readonly LockedSource[], options: Readonly<Record<string, string>>): string {
  const canonical = JSON.stringify({
    sources: [...sources].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((s) => [s.path, s.sha256]),
    options: Object.keys(options)
      .sort()
      .map((k) => [k, options[k]]),
  });
  return `sha256:${sha256Hex(canonical)}`;
}
