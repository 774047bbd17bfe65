/**
 * What a recipe module gets when it imports 'imgfactory' at run time: the recipe API only, so
 * loading a recipe never loads the build engine (OpenPGP, registry client, …). Types come from
 * the package's full entry at compile time and are erased.
 */
export { defineRecipe } from './define.js';
export { DEBIAN_ARCHITECTURES } from '../oci/platform.js';
