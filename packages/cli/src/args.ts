import { parseArgs } from 'node:util';
import { ContrastiveError, assertNumber, assertOneOf, isContrastiveError } from '@contrastive/core';
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

const COMMAND = 'contrastive train';
/** Decimal integers only: `Number()` would also take `''` (0), `' 5 '`, `'0x10'` and `'1e3'`. */
const INTEGER_TEXT = /^[+-]?\d+$/;
const NUMBER_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** `text` as a number in `range`; text that is not a plain decimal number is NaN (and an error). */
function numberOption(
  text: string,
  argument: string,
  pattern: RegExp,
  range: { min: number; exclusiveMin?: boolean; integer?: boolean },
): number {
  const parsed = pattern.test(text) ? Number(text) : NaN;
  try {
    assertNumber(parsed, argument, COMMAND, range);
  } catch (error) {
    if (!Number.isNaN(parsed) || !isContrastiveError(error)) throw error;
    throw new ContrastiveError(error.code, `${error.message} (from ${JSON.stringify(text)})`, { cause: error });
  }
  return parsed;
}

function integer(value: string | undefined, fallback: number, argument: string, min: number): number {
  if (value === undefined) return fallback;
  return numberOption(value, argument, INTEGER_TEXT, { integer: true, min });
}

function positive(value: string | undefined, fallback: number, argument: string): number {
  if (value === undefined) return fallback;
  return numberOption(value, argument, NUMBER_TEXT, { min: 0, exclusiveMin: true });
}

function nonEmpty(value: string | undefined, fallback: string, argument: string): string {
  if (value === undefined) return fallback;
  if (value === '') throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${COMMAND}' must be a non-empty string, got ""`);
  return value;
}

/**
 * Parse the arguments after `contrastive train`.
 *
 * @param argv - the arguments, e.g. `['--recipe', 'simclr', '--epochs', '3']`.
 * @returns the full command with defaults filled in, or `'help'`.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` naming the option: an unknown option, a missing
 * value, a number that is not plain decimal (`''`, `'0x10'`) or out of range, an unknown name, an
 * empty `--out` / `--name`; naming `argv` when it is not an array of strings.
 * @category CLI
 */
export function parseTrainArgs(argv: readonly string[]): TrainCommand | 'help' {
  if (!Array.isArray(argv) || argv.some((item) => typeof item !== 'string')) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'argv' passed to 'parseTrainArgs' must be an array of strings, got ${Array.isArray(argv) ? 'an array holding a non-string' : typeof argv}`);
  }
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
    // Name the option alone ('--epochs', not '--epochs <value>') so the message names the argument.
    const message = (error as Error).message.replace(/Option '(-[\w-]+) <value>' argument missing/, "Option '$1' needs a value ($1 <value>)");
    throw new ContrastiveError('INVALID_ARGUMENT', `${COMMAND}: ${message}`, { cause: error });
  }
  const values = parsed.values;
  if (values.help === true) return 'help';
  const recipe = values.recipe ?? TRAIN_DEFAULTS.recipe;
  assertOneOf(recipe, ['simclr'] as const, '--recipe', COMMAND);
  const dataset = values.dataset ?? TRAIN_DEFAULTS.dataset;
  assertOneOf(dataset, ['mnist', 'fashion-mnist'] as const, '--dataset', COMMAND);
  const backend = values.backend ?? TRAIN_DEFAULTS.backend;
  assertOneOf(backend, ['auto', 'tensorflow', 'wasm', 'cpu'] as const, '--backend', COMMAND);
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
    out: nonEmpty(values.out, TRAIN_DEFAULTS.out, '--out'),
    name: nonEmpty(values.name, `${recipe}-${dataset}`, '--name'),
    quiet: values.quiet ?? false,
    resume: values.resume ?? false,
  };
}

/**
 * Throws unless `command` is a {@link TrainCommand} within the ranges {@link parseTrainArgs}
 * enforces, so a hand-built command fails before any data is loaded.
 * @internal
 */
export function assertTrainCommand(command: unknown, fn: string): asserts command is TrainCommand {
  if (command === null || typeof command !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'command' passed to '${fn}' must be a TrainCommand (from parseTrainArgs), got ${command === null ? 'null' : typeof command}`);
  }
  const value = command as Partial<Record<keyof TrainCommand, unknown>>;
  assertOneOf(value.recipe, ['simclr'] as const, 'command.recipe', fn);
  assertOneOf(value.dataset, ['mnist', 'fashion-mnist'] as const, 'command.dataset', fn);
  assertOneOf(value.backend, ['auto', 'tensorflow', 'wasm', 'cpu'] as const, 'command.backend', fn);
  assertNumber(value.epochs, 'command.epochs', fn, { integer: true, min: 0 });
  assertNumber(value.batchSize, 'command.batchSize', fn, { integer: true, min: 2 });
  assertNumber(value.seed, 'command.seed', fn, { integer: true, min: 0 });
  assertNumber(value.temperature, 'command.temperature', fn, { min: 0, exclusiveMin: true });
  assertNumber(value.learningRate, 'command.learningRate', fn, { min: 0, exclusiveMin: true });
  if (value.trainLimit !== undefined) assertNumber(value.trainLimit, 'command.trainLimit', fn, { integer: true, min: 1 });
  for (const field of ['out', 'name'] as const) {
    if (typeof value[field] !== 'string' || value[field] === '') {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'command.${field}' passed to '${fn}' must be a non-empty string, got ${JSON.stringify(value[field])}`);
    }
  }
  assertOneOf(value.quiet, [true, false] as const, 'command.quiet', fn);
  assertOneOf(value.resume, [true, false] as const, 'command.resume', fn);
}
