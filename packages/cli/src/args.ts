import { parseArgs } from 'node:util';
import { ContrastiveError, assertNumber, assertOneOf } from '@contrastive/core';
import type { BackendName } from '@contrastive/core';

/** Recipes the `train` command runs. @category CLI */
export type RecipeName = 'simclr';
/** Datasets the `train` command reads. @category CLI */
export type DatasetName = 'mnist' | 'fashion-mnist';

/** Parsed options of `contrastive train`. @category CLI */
export interface TrainCommand {
  readonly recipe: RecipeName;
  readonly dataset: DatasetName;
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly backend: BackendName | 'auto';
  readonly out: string;
  readonly name: string;
  readonly trainLimit: number | undefined;
  readonly temperature: number;
  readonly learningRate: number;
  readonly quiet: boolean;
  readonly resume: boolean;
}

/** Defaults of `contrastive train`; `npm start` uses them. @category CLI */
export const TRAIN_DEFAULTS = {
  recipe: 'simclr',
  dataset: 'mnist',
  epochs: 5,
  batchSize: 256,
  seed: 0,
  backend: 'auto',
  out: 'runs',
  temperature: 0.5,
  learningRate: 1e-3,
} as const;

/** Help text of the command. @category CLI */
export const USAGE = `Usage: contrastive train [options]

Train a representation with a recipe, then evaluate it (weighted kNN and a linear probe) against
raw pixels on the same split.

Options:
  --recipe <name>        simclr                                   (default ${TRAIN_DEFAULTS.recipe})
  --dataset <name>       mnist | fashion-mnist                     (default ${TRAIN_DEFAULTS.dataset})
  --epochs <n>           training epochs                           (default ${TRAIN_DEFAULTS.epochs})
  --batch-size <n>       images per batch (two views each)         (default ${TRAIN_DEFAULTS.batchSize})
  --seed <n>             seed of every random draw                 (default ${TRAIN_DEFAULTS.seed})
  --backend <name>       auto | tensorflow | wasm | cpu            (default ${TRAIN_DEFAULTS.backend})
  --temperature <t>      NT-Xent temperature                       (default ${TRAIN_DEFAULTS.temperature})
  --lr <rate>            Adam learning rate                        (default ${TRAIN_DEFAULTS.learningRate})
  --train-limit <n>      keep the first n training images, class round-robin
  --out <dir>            runs directory                            (default ${TRAIN_DEFAULTS.out})
  --name <name>          run name (default <recipe>-<dataset>)
  --resume               continue from the run's last checkpoint
  --quiet                no progress bar
  -h, --help             this text
`;

function integer(value: string | undefined, fallback: number, argument: string, min: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  assertNumber(parsed, argument, 'contrastive train', { integer: true, min });
  return parsed;
}

function positive(value: string | undefined, fallback: number, argument: string): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  assertNumber(parsed, argument, 'contrastive train', { min: 0, exclusiveMin: true });
  return parsed;
}

/**
 * Parse the arguments after `contrastive train`.
 *
 * @param argv - the arguments, e.g. `['--recipe', 'simclr', '--epochs', '3']`.
 * @returns the full command with defaults filled in, or `'help'`.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` naming the option.
 * @category CLI
 */
export function parseTrainArgs(argv: readonly string[]): TrainCommand | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        recipe: { type: 'string' },
        dataset: { type: 'string' },
        epochs: { type: 'string' },
        'batch-size': { type: 'string' },
        seed: { type: 'string' },
        backend: { type: 'string' },
        temperature: { type: 'string' },
        lr: { type: 'string' },
        'train-limit': { type: 'string' },
        out: { type: 'string' },
        name: { type: 'string' },
        quiet: { type: 'boolean' },
        resume: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new ContrastiveError('INVALID_ARGUMENT', `contrastive train: ${(error as Error).message}`);
  }
  const values = parsed.values;
  if (values.help === true) return 'help';
  const recipe = values.recipe ?? TRAIN_DEFAULTS.recipe;
  assertOneOf(recipe, ['simclr'] as const, '--recipe', 'contrastive train');
  const dataset = values.dataset ?? TRAIN_DEFAULTS.dataset;
  assertOneOf(dataset, ['mnist', 'fashion-mnist'] as const, '--dataset', 'contrastive train');
  const backend = values.backend ?? TRAIN_DEFAULTS.backend;
  assertOneOf(backend, ['auto', 'tensorflow', 'wasm', 'cpu'] as const, '--backend', 'contrastive train');
  const trainLimit = values['train-limit'] === undefined ? undefined : integer(values['train-limit'], 0, '--train-limit', 1);
  return {
    recipe,
    dataset,
    backend,
    epochs: integer(values.epochs, TRAIN_DEFAULTS.epochs, '--epochs', 0),
    batchSize: integer(values['batch-size'], TRAIN_DEFAULTS.batchSize, '--batch-size', 2),
    seed: integer(values.seed, TRAIN_DEFAULTS.seed, '--seed', 0),
    temperature: positive(values.temperature, TRAIN_DEFAULTS.temperature, '--temperature'),
    learningRate: positive(values.lr, TRAIN_DEFAULTS.learningRate, '--lr'),
    trainLimit,
    out: values.out ?? TRAIN_DEFAULTS.out,
    name: values.name ?? `${recipe}-${dataset}`,
    quiet: values.quiet ?? false,
    resume: values.resume ?? false,
  };
}
