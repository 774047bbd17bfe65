export { defineRecipe } from './define.js';
export { recipeSchema, type RecipeInput, type LayerInput } from './schema.js';
export type { Recipe, RecipeLayer, RecipeConfig, RecipeFile, RecipeUser, SlimRules, StripRules } from './types.js';
export { loadRecipe, loadRecipeChain, loadRecipeChains, parseRecipe, formatFieldPath, displayPath, type LoadOptions } from './load.js';
export { normalizeRecipe } from './normalize.js';
export { planBuilds, type PlanStep } from './plan.js';
