import * as tf from '@tensorflow/tfjs-core';
import {
  ContrastiveError,
  assertEmbeddings,
  assertLabels,
  assertNumber,
  assertSameDims,
  type Embeddings,
  type Labels,
} from '@contrastive/core';

/**
 * Features and labels of a train split (the kNN memory bank, the probe's training set) and a test
 * split (the queries). Features are the encoder output `h`, never the projection `z` (RECIPE.md).
 *
 * @category Evaluation
 */
export interface EvaluationSplit {
  /** `[n, d]` float32 train features (borrowed: never disposed or modified). */
  readonly trainFeatures: Embeddings;
  /** `[n]` int32 train class indices in `[0, numClasses)`. */
  readonly trainLabels: Labels;
  /** `[m, d]` float32 test features (borrowed). */
  readonly testFeatures: Embeddings;
  /** `[m]` int32 test class indices in `[0, numClasses)`. */
  readonly testLabels: Labels;
}

/** Validated shapes of a split. @internal */
export interface SplitShape {
  readonly trainRows: number;
  readonly testRows: number;
  readonly dims: number;
}

/**
 * Validate the tensors of a split (rank, dtype, row counts, matching dimension).
 * `testLabels` is checked only when `withTestLabels`.
 * @internal
 */
export function assertSplit(input: unknown, fn: string, withTestLabels = true): SplitShape {
  if (input === null || typeof input !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'input' passed to '${fn}' must be an object { trainFeatures, trainLabels, testFeatures${withTestLabels ? ', testLabels' : ''} }, got ${input === null ? 'null' : typeof input}`,
    );
  }
  const split = input as Partial<EvaluationSplit>;
  assertEmbeddings(split.trainFeatures, 'trainFeatures', fn);
  assertEmbeddings(split.testFeatures, 'testFeatures', fn);
  assertSameDims(split.trainFeatures, split.testFeatures, 'testFeatures', fn);
  const [trainRows, dims] = split.trainFeatures.shape;
  const testRows = split.testFeatures.shape[0];
  assertLabels(split.trainLabels, trainRows, 'trainLabels', fn);
  if (withTestLabels) assertLabels(split.testLabels, testRows, 'testLabels', fn);
  return { trainRows, testRows, dims };
}

/**
 * Read labels and check that they are class indices `>= 0`.
 * @internal
 */
export async function readLabels(labels: Labels, argument: string, fn: string): Promise<Int32Array> {
  const values = (await labels.data()) as Int32Array;
  for (let i = 0; i < values.length; i++) {
    const label = values[i] as number;
    if (label < 0) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument '${argument}' passed to '${fn}' must hold class indices >= 0, got ${label} at index ${i}`,
      );
    }
  }
  return values;
}

function maxOf(values: Int32Array): number {
  let max = -1;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i] as number);
  return max;
}

/**
 * The number of classes: `numClasses` when given (checked against the labels), else one more than
 * the largest label of either split.
 * @internal
 */
export function resolveNumClasses(
  numClasses: number | undefined,
  fn: string,
  labels: readonly { readonly values: Int32Array; readonly argument: string }[],
): number {
  const largest = labels.map(({ values }) => maxOf(values));
  if (numClasses === undefined) return Math.max(0, ...largest) + 1;
  assertNumber(numClasses, 'numClasses', fn, { integer: true, min: 1 });
  labels.forEach(({ argument }, index) => {
    const max = largest[index] as number;
    if (max >= numClasses) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument '${argument}' passed to '${fn}' must hold class indices < numClasses (${numClasses}), got ${max}`,
      );
    }
  });
  return numClasses;
}

/**
 * Throw `NON_FINITE` when a tensor holds NaN or Infinity (one small read-back).
 * @internal
 */
export async function assertFiniteTensor(tensor: tf.Tensor, argument: string, fn: string): Promise<void> {
  const allFinite = tf.tidy(() => tf.all(tf.isFinite(tensor)));
  try {
    const [ok] = await allFinite.data();
    if (ok !== 1) {
      throw new ContrastiveError('NON_FINITE', `Argument '${argument}' passed to '${fn}' must hold finite values, got NaN or Infinity`);
    }
  } finally {
    allFinite.dispose();
  }
}

/**
 * Index of the largest of `count` scores starting at `offset`; ties go to the lowest index.
 * @internal
 */
export function argMaxLowest(scores: ArrayLike<number>, offset: number, count: number): number {
  let best = 0;
  let bestScore = scores[offset] as number;
  for (let c = 1; c < count; c++) {
    const score = scores[offset + c] as number;
    if (score > bestScore) {
      bestScore = score;
      best = c;
    }
  }
  return best;
}

/**
 * Rank (0 = best) of class `target` among `count` scores starting at `offset`, ties ordered by the
 * lower class index first (the order `argMaxLowest` uses).
 * @internal
 */
export function rankOf(scores: ArrayLike<number>, offset: number, count: number, target: number): number {
  const own = scores[offset + target] as number;
  let rank = 0;
  for (let c = 0; c < count; c++) {
    const score = scores[offset + c] as number;
    if (score > own || (score === own && c < target)) rank++;
  }
  return rank;
}

/**
 * Copy an array-like of finite numbers to float64 (the host half of the metric readers that take
 * an array or a rank-1 tensor already read back).
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `values` is not array-like; `nonFinite` (the
 *   caller's code) at the first entry that is not a finite number, naming its index.
 * @internal
 */
export function finiteFloat64(values: unknown, argument: string, fn: string, nonFinite: 'INVALID_ARGUMENT' | 'NON_FINITE'): Float64Array {
  if (values === null || typeof values !== 'object' || typeof (values as { length?: unknown }).length !== 'number') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be an array of numbers or a rank-1 tensor, got ${values === null ? 'null' : typeof values}`,
    );
  }
  const source = values as ArrayLike<unknown>;
  const out = new Float64Array(source.length);
  for (let i = 0; i < source.length; i++) {
    const value = source[i];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ContrastiveError(nonFinite, `Argument '${argument}' passed to '${fn}' must hold finite numbers, got ${String(value)} at index ${i}`);
    }
    out[i] = value;
  }
  return out;
}
