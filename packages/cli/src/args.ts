import { parseArgs } from 'node:util';
import { ContrastiveError, assertNumber, assertOneOf, isContrastiveError } from '@contrastive/core';
import type { BackendName } from '@contrastive/core';

/** Recipes the `train` command runs (see `RECIPES`; `infomin-sweep` trains SimCLR at several view strengths). @category CLI */
export type RecipeName = 'simclr' | 'supcon' | 'triplet' | 'moco' | 'instdisc' | 'clip' | 'pcl' | 'hcl' | 'dcl' | 'looc' | 'infomin-sweep';
/** Datasets the `train` command reads: the two built-in ones, a directory of IDX files, or a CSV file. @category CLI */
export type DatasetName = 'mnist' | 'fashion-mnist' | `idx:${string}` | `csv:${string}`;

/** Every `--recipe` name. @category CLI */
export const RECIPE_CHOICES: readonly RecipeName[] = ['simclr', 'supcon', 'triplet', 'moco', 'instdisc', 'clip', 'pcl', 'hcl', 'dcl', 'looc', 'infomin-sweep'];

/** Parsed options of `contrastive train`. Recipe options left undefined take the recipe's defaults. @category CLI */
export interface TrainCommand {
  readonly recipe: RecipeName;
  readonly dataset: DatasetName;
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly backend: BackendName | 'auto';
  /** wasm threads (Node.js: worker threads sharing the wasm memory); 1 = single-threaded. */
  readonly threads: number;
  /**
   * The wasm kernels' fused multiply-adds (`selectBackend`'s `fma`): `auto` where the engine runs
   * relaxed SIMD as it stands, `on` also behind Node.js 20's flag, `off` never. Undefined: `auto`.
   */
  readonly fma?: 'auto' | 'on' | 'off';
  readonly out: string;
  readonly name: string;
  readonly trainLimit: number | undefined;
  /** Keep the first n test images, class round-robin (smoke tests only: figures are not comparable). */
  readonly testLimit: number | undefined;
  readonly learningRate: number;
  readonly temperature: number | undefined;
  readonly strength: number | undefined;
  readonly strengths: readonly number[] | undefined;
  readonly miner: 'batch-hard' | 'semihard' | undefined;
  readonly margin: number | undefined;
  readonly queueSize: number | undefined;
  readonly momentum: number | undefined;
  readonly negatives: number | undefined;
  /** instdisc's objective: NCE against sampled negatives, or the exact non-parametric softmax. */
  readonly objective: 'nce' | 'softmax' | undefined;
  readonly clusters: readonly number[] | undefined;
  /** Linear probes to fit: Adam (500 steps), converged L-BFGS, or both. */
  readonly probe: 'adam' | 'lbfgs' | 'both';
  /** Evaluate raw pixels and the untrained encoder as well. */
  readonly baselines: boolean;
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
  threads: 1,
  fma: 'auto',
  out: 'runs',
  learningRate: 1e-3,
  probe: 'both',
} as const;

/** Help text of the command. @category CLI */
export const USAGE = `Usage: contrastive train [options]

Train a representation with a recipe, then evaluate it (weighted kNN, linear probes, k-means NMI)
against raw pixels and the untrained encoder on the same split. Writes <out>/<name>/report.json,
report.html and a checkpoint after every epoch.

Recipes: simclr, supcon, triplet, moco, instdisc, clip, pcl, hcl, dcl, looc, infomin-sweep
Datasets: mnist (embedded), fashion-mnist (/usr/share/datasets/fashion-mnist), idx:<dir> (four IDX
  files, MNIST names), csv:<file>[,<test file>] (numbers, label in the last column; without a test
  file every 5th row of each class is held out)

Options:
  --recipe <name>        the method                                (default ${TRAIN_DEFAULTS.recipe})
  --dataset <spec>       see above                                 (default ${TRAIN_DEFAULTS.dataset})
  --epochs <n>           training epochs                           (default ${TRAIN_DEFAULTS.epochs})
  --batch-size <n>       images per batch                          (default ${TRAIN_DEFAULTS.batchSize})
  --seed <n>             seed of every random draw                 (default ${TRAIN_DEFAULTS.seed})
  --backend <name>       auto | tensorflow | wasm | cpu            (default ${TRAIN_DEFAULTS.backend})
  --threads <n>          wasm threads                              (default ${TRAIN_DEFAULTS.threads})
  --fma <mode>           wasm kernels' fused multiply-adds: auto | on | off (default ${TRAIN_DEFAULTS.fma};
                         on: also in Node.js 20, behind its V8 flag; results move in the last bits)
  --lr <rate>            Adam learning rate                        (default ${TRAIN_DEFAULTS.learningRate})
  --temperature <t>      loss temperature                          (default: the recipe's)
  --strength <s>         view strength in [0, 1]; 0.5 = RECIPE.md  (default 0.5)
  --strengths <list>     infomin-sweep strengths, e.g. 0.1,0.3,0.5  (default 0.1,0.2,...,1.0)
  --miner <name>         triplet: batch-hard | semihard            (default batch-hard)
  --margin <m>           triplet margin                            (default 0.2)
  --queue-size <n>       moco queue                                (default 4096)
  --momentum <m>         moco key encoder / instdisc memory bank   (default 0.99 / 0.5)
  --negatives <n>        instdisc negatives per image              (default 4096)
  --objective <name>     instdisc: nce | softmax (over the bank)   (default nce)
  --clusters <list>      pcl prototypes per granularity            (default 10,20,40)
  --probe <kind>         adam | lbfgs | both                       (default ${TRAIN_DEFAULTS.probe})
  --no-baselines         skip raw pixels and the untrained encoder
  --train-limit <n>      keep the first n training images, class round-robin
  --test-limit <n>       keep the first n test images (smoke tests only)
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
  range: { min: number; max?: number; exclusiveMin?: boolean; integer?: boolean },
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

/** `text` as a comma-separated list of numbers, each checked like a single option. */
function numberList(value: string | undefined, argument: string, pattern: RegExp, range: { min: number; max?: number; integer?: boolean }): number[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',');
  if (items.length === 0 || items.some((item) => item.trim() === '')) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${COMMAND}' must be a comma-separated list of numbers, got ${JSON.stringify(value)}`);
  }
  return items.map((item) => numberOption(item.trim(), argument, pattern, range));
}

function bounded(value: string | undefined, argument: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  return numberOption(value, argument, NUMBER_TEXT, { min, max });
}

/** Throws unless `dataset` is a dataset spec of {@link DatasetName}. */
function assertDataset(dataset: unknown, argument: string, fn: string): asserts dataset is DatasetName {
  if (dataset === 'mnist' || dataset === 'fashion-mnist') return;
  if (typeof dataset === 'string' && /^(idx|csv):.+/.test(dataset)) return;
  throw new ContrastiveError(
    'INVALID_ARGUMENT',
    `Argument '${argument}' passed to '${fn}' must be "mnist", "fashion-mnist", "idx:<dir>" or "csv:<file>[,<test file>]", got ${JSON.stringify(dataset)}`,
  );
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
        threads: { type: 'string' },
        fma: { type: 'string' },
        temperature: { type: 'string' },
        lr: { type: 'string' },
        strength: { type: 'string' },
        strengths: { type: 'string' },
        miner: { type: 'string' },
        margin: { type: 'string' },
        'queue-size': { type: 'string' },
        momentum: { type: 'string' },
        negatives: { type: 'string' },
        objective: { type: 'string' },
        clusters: { type: 'string' },
        probe: { type: 'string' },
        'no-baselines': { type: 'boolean' },
        'train-limit': { type: 'string' },
        'test-limit': { type: 'string' },
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
  assertOneOf(recipe, RECIPE_CHOICES, '--recipe', COMMAND);
  const dataset = values.dataset ?? TRAIN_DEFAULTS.dataset;
  assertDataset(dataset, '--dataset', COMMAND);
  const backend = values.backend ?? TRAIN_DEFAULTS.backend;
  assertOneOf(backend, ['auto', 'tensorflow', 'wasm', 'cpu'] as const, '--backend', COMMAND);
  const fma = values.fma ?? TRAIN_DEFAULTS.fma;
  assertOneOf(fma, ['auto', 'on', 'off'] as const, '--fma', COMMAND);
  const miner = values.miner;
  if (miner !== undefined) assertOneOf(miner, ['batch-hard', 'semihard'] as const, '--miner', COMMAND);
  const objective = values.objective;
  if (objective !== undefined) assertOneOf(objective, ['nce', 'softmax'] as const, '--objective', COMMAND);
  const probe = values.probe ?? TRAIN_DEFAULTS.probe;
  assertOneOf(probe, ['adam', 'lbfgs', 'both'] as const, '--probe', COMMAND);
  const optionalInteger = (value: string | undefined, argument: string, min: number): number | undefined =>
    value === undefined ? undefined : integer(value, 0, argument, min);
  return {
    recipe,
    dataset,
    backend,
    threads: integer(values.threads, TRAIN_DEFAULTS.threads, '--threads', 1),
    fma,
    epochs: integer(values.epochs, TRAIN_DEFAULTS.epochs, '--epochs', 0),
    batchSize: integer(values['batch-size'], TRAIN_DEFAULTS.batchSize, '--batch-size', 2),
    seed: integer(values.seed, TRAIN_DEFAULTS.seed, '--seed', 0),
    learningRate: positive(values.lr, TRAIN_DEFAULTS.learningRate, '--lr'),
    temperature: values.temperature === undefined ? undefined : positive(values.temperature, 1, '--temperature'),
    strength: bounded(values.strength, '--strength', 0, 1),
    strengths: numberList(values.strengths, '--strengths', NUMBER_TEXT, { min: 0, max: 1 }),
    miner,
    margin: values.margin === undefined ? undefined : numberOption(values.margin, '--margin', NUMBER_TEXT, { min: 0 }),
    queueSize: optionalInteger(values['queue-size'], '--queue-size', 1),
    momentum: bounded(values.momentum, '--momentum', 0, 1),
    negatives: optionalInteger(values.negatives, '--negatives', 1),
    objective,
    clusters: numberList(values.clusters, '--clusters', INTEGER_TEXT, { min: 2, integer: true }),
    probe,
    baselines: values['no-baselines'] !== true,
    trainLimit: optionalInteger(values['train-limit'], '--train-limit', 1),
    testLimit: optionalInteger(values['test-limit'], '--test-limit', 1),
    out: nonEmpty(values.out, TRAIN_DEFAULTS.out, '--out'),
    name: nonEmpty(values.name, `${recipe}-${dataset.replace(/[^\w.-]+/g, '_')}`, '--name'),
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
  assertOneOf(value.recipe, RECIPE_CHOICES, 'command.recipe', fn);
  assertDataset(value.dataset, 'command.dataset', fn);
  assertOneOf(value.backend, ['auto', 'tensorflow', 'wasm', 'cpu'] as const, 'command.backend', fn);
  assertNumber(value.threads, 'command.threads', fn, { integer: true, min: 1 });
  if (value.fma !== undefined) assertOneOf(value.fma, ['auto', 'on', 'off'] as const, 'command.fma', fn);
  assertNumber(value.epochs, 'command.epochs', fn, { integer: true, min: 0 });
  assertNumber(value.batchSize, 'command.batchSize', fn, { integer: true, min: 2 });
  assertNumber(value.seed, 'command.seed', fn, { integer: true, min: 0 });
  assertNumber(value.learningRate, 'command.learningRate', fn, { min: 0, exclusiveMin: true });
  if (value.temperature !== undefined) assertNumber(value.temperature, 'command.temperature', fn, { min: 0, exclusiveMin: true });
  if (value.strength !== undefined) assertNumber(value.strength, 'command.strength', fn, { min: 0, max: 1 });
  if (value.strengths !== undefined) {
    if (!Array.isArray(value.strengths) || value.strengths.length === 0) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'command.strengths' passed to '${fn}' must be a non-empty array of numbers in [0, 1]`);
    }
    value.strengths.forEach((item: unknown, i: number) => assertNumber(item, `command.strengths[${i}]`, fn, { min: 0, max: 1 }));
  }
  if (value.miner !== undefined) assertOneOf(value.miner, ['batch-hard', 'semihard'] as const, 'command.miner', fn);
  if (value.margin !== undefined) assertNumber(value.margin, 'command.margin', fn, { min: 0 });
  if (value.queueSize !== undefined) assertNumber(value.queueSize, 'command.queueSize', fn, { integer: true, min: 1 });
  if (value.momentum !== undefined) assertNumber(value.momentum, 'command.momentum', fn, { min: 0, max: 1 });
  if (value.negatives !== undefined) assertNumber(value.negatives, 'command.negatives', fn, { integer: true, min: 1 });
  if (value.objective !== undefined) assertOneOf(value.objective, ['nce', 'softmax'] as const, 'command.objective', fn);
  if (value.clusters !== undefined) {
    if (!Array.isArray(value.clusters) || value.clusters.length === 0) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'command.clusters' passed to '${fn}' must be a non-empty array of integers >= 2`);
    }
    value.clusters.forEach((item: unknown, i: number) => assertNumber(item, `command.clusters[${i}]`, fn, { integer: true, min: 2 }));
  }
  assertOneOf(value.probe, ['adam', 'lbfgs', 'both'] as const, 'command.probe', fn);
  assertOneOf(value.baselines, [true, false] as const, 'command.baselines', fn);
  if (value.trainLimit !== undefined) assertNumber(value.trainLimit, 'command.trainLimit', fn, { integer: true, min: 1 });
  if (value.testLimit !== undefined) assertNumber(value.testLimit, 'command.testLimit', fn, { integer: true, min: 1 });
  for (const field of ['out', 'name'] as const) {
    if (typeof value[field] !== 'string' || value[field] === '') {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'command.${field}' passed to '${fn}' must be a non-empty string, got ${JSON.stringify(value[field])}`);
    }
  }
  assertOneOf(value.quiet, [true, false] as const, 'command.quiet', fn);
  assertOneOf(value.resume, [true, false] as const, 'command.resume', fn);
}
