import { ContrastiveError } from '@contrastive/core';
import { clipRecipe } from './clip.js';
import { dclRecipe, hclRecipe, simclrRecipe, supconRecipe, tripletRecipe } from './contrastive.js';
import { instdiscRecipe } from './instdisc.js';
import { loocRecipe } from './looc.js';
import { mocoRecipe } from './moco.js';
import { pclRecipe } from './pcl.js';
import type { Recipe } from './recipe.js';

/**
 * Every recipe of `contrastive train --recipe <name>`, by name (the `infomin-sweep` recipe is
 * {@link runInfominSweep}: SimCLR trained at several view strengths).
 * @category Recipes
 */
export const RECIPES: Readonly<Record<string, Recipe>> = Object.freeze(
  Object.fromEntries([simclrRecipe, supconRecipe, tripletRecipe, mocoRecipe, instdiscRecipe, clipRecipe, pclRecipe, hclRecipe, dclRecipe, loocRecipe].map((recipe) => [recipe.name, recipe])),
);

/**
 * The recipe called `name`.
 * @param name - a key of {@link RECIPES}.
 * @returns the recipe.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` naming `recipe` for an unknown name.
 * @category Recipes
 */
export function recipeByName(name: string): Recipe {
  const recipe = RECIPES[name];
  if (recipe === undefined) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'recipe' passed to 'recipeByName' must be one of ${Object.keys(RECIPES).join(', ')}, got ${JSON.stringify(name)}`);
  }
  return recipe;
}
