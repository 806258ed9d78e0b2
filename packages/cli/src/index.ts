/**
 * `@contrastive/cli`: the `contrastive` command (`contrastive train --recipe simclr --dataset mnist`)
 * and its recipes, composed from the library packages' public APIs.
 *
 * @packageDocumentation
 */
export { parseTrainArgs, RECIPE_CHOICES, TRAIN_DEFAULTS, USAGE } from './args.js';
export type { DatasetName, RecipeName, TrainCommand } from './args.js';
export { runTrainCommand } from './train-command.js';
export type { ReportMetrics, RunReport, RunSummary } from './train-command.js';
export { loadDatasetSpec } from './datasets.js';
export type { LoadDatasetSpecOptions } from './datasets.js';
export { runRecipe } from './recipes/run-recipe.js';
export type { ProbeKind, RecipeOutcome, RecipeSettings, RepresentationMetrics } from './recipes/run-recipe.js';
export type { Recipe, RecipeContext, RecipeOptions, RecipePlan, TripletMinerName } from './recipes/recipe.js';
export { RECIPES, recipeByName } from './recipes/registry.js';
export { dclRecipe, hclRecipe, simclrRecipe, supconRecipe, tripletRecipe } from './recipes/contrastive.js';
export { mocoRecipe } from './recipes/moco.js';
export { instdiscRecipe } from './recipes/instdisc.js';
export { clipRecipe } from './recipes/clip.js';
export { pclRecipe, pclRecipeWith } from './recipes/pcl.js';
export type { PclPlan, PclRecipe, PclRecipeConfig } from './recipes/pcl.js';
export { loocRecipe } from './recipes/looc.js';
export { INFOMIN_STRENGTHS, runInfominSweep } from './recipes/infomin.js';
export type { InfominPoint, InfominSweep } from './recipes/infomin.js';
export { createProgress } from './progress.js';
export type { Progress } from './progress.js';
