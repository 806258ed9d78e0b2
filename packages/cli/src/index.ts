/**
 * `@contrastive/cli`: the `contrastive` command (`contrastive train --recipe simclr --dataset mnist`)
 * and its recipes, composed from the library packages' public APIs.
 *
 * @packageDocumentation
 */
export { parseTrainArgs, TRAIN_DEFAULTS, USAGE } from './args.js';
export type { DatasetName, RecipeName, TrainCommand } from './args.js';
export { runTrainCommand } from './train-command.js';
export type { RunReport } from './train-command.js';
export { runSimclr } from './recipes/simclr.js';
export type { RepresentationMetrics, SimclrOutcome, SimclrSettings } from './recipes/simclr.js';
export { createProgress } from './progress.js';
export type { Progress } from './progress.js';
