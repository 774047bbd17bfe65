import type { RecipeInput } from './schema.js';

/**
 * Typed identity for recipe modules: `export default defineRecipe({...})`. Validation happens
 * when imgfactory loads the file, where it can name the file in its errors.
 */
export function defineRecipe<const T extends RecipeInput>(recipe: T): T {
  return recipe;
}
