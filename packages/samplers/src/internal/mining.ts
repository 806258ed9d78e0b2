/**
 * @internal
 * Shared plumbing of the miners: input validation, the distance matrix and labels read to the host
 * (mining is outside the gradient and its output size depends on the data, so the index lists are
 * built on the host, as pytorch-metric-learning builds them with `torch.where`), and int32 tuple
 * tensors. Not exported from the package.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertEmbeddings, assertLabels, assertReference, firstNonFiniteNative } from '@contrastive/core';
import type { Distance, Embeddings, Labels, MinerInput, PairTuples, Reference, TripletTuples } from '@contrastive/core';

/** @internal A validated miner input, with the name of the function that validated it (for messages). */
export interface CheckedMinerInput {
  readonly embeddings: Embeddings;
  readonly labels: Labels;
  readonly ref?: Reference;
  readonly fn: string;
}

/** @internal Validates a `MinerInput`; errors name the argument (`embeddings`, `labels`, `ref.labels`...). */
export function validateMinerInput(input: unknown, fn: string): CheckedMinerInput {
  if (input === null || typeof input !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'input' passed to '${fn}' must be { embeddings, labels, ref? }, got ${input === null ? 'null' : typeof input}`,
    );
  }
  const { embeddings, labels, ref } = input as Partial<MinerInput>;
  assertEmbeddings(embeddings, 'embeddings', fn);
  assertLabels(labels, embeddings.shape[0], 'labels', fn);
  if (ref !== undefined) assertReference(ref, embeddings, fn);
  return ref === undefined ? { embeddings, labels, fn } : { embeddings, labels, ref, fn };
}

/**
 * @internal The batch-vs-reference matrix on the host. Row `i` is anchor `i` of the batch, column `j`
 * is entry `j` of the reference (the batch itself without `ref`). Positives are `label[i] ===
 * refLabel[j]`, excluding `j === i` when there is no reference (PML's `get_all_pairs_indices`);
 * negatives are the other columns.
 */
export interface HostMatrix extends LabelGrid {
  /** Row-major `[n, m]` distances or similarities. */
  readonly values: Float32Array;
  /** True when larger values mean closer (the distance is a similarity). */
  readonly isSimilarity: boolean;
}

/** @internal Who is a positive or a negative of whom in an `[n, m]` batch-vs-reference matrix. */
export interface LabelGrid {
  readonly n: number;
  readonly m: number;
  readonly labels: Int32Array;
  readonly refLabels: Int32Array;
  /** True when the batch is compared with itself (diagonal excluded from the positives). */
  readonly self: boolean;
}

/**
 * @internal True when every entry of `tensor` is finite: one scalar read, as `x · 0` is 0 for a
 * finite `x` and NaN for NaN and ±Infinity.
 */
export function allFinite(tensor: tf.Tensor): boolean {
  const probe = tf.tidy(() => tf.sum(tf.mul(tensor, 0)));
  const finite = probe.dataSync()[0] === 0;
  probe.dispose();
  return finite;
}

/** @internal Throws `NON_FINITE` naming `argument` unless every entry of `tensor` is finite (one scalar read). */
export function assertFinite(tensor: tf.Tensor, argument: string, fn: string): void {
  if (!allFinite(tensor)) {
    throw new ContrastiveError('NON_FINITE', `Argument '${argument}' passed to '${fn}' must hold finite numbers, got NaN or Infinity`);
  }
}

/**
 * @internal Computes `distance.pairwise(embeddings, ref?.embeddings)` and reads it and the labels to
 * the host. The embeddings are checked to be finite first (one scalar read each) and the matrix to
 * hold no NaN or Infinity: a NaN distance compares false with everything, so it would otherwise
 * pick (or skip) tuples silently, and a distance can hide a non-finite input (on tfjs-backend-wasm
 * `lpDistance()` turns a row holding Infinity into distances of 0).
 * @throws `ContrastiveError` `NON_FINITE` naming `embeddings` or `ref.embeddings` for a NaN or
 *   Infinity in them, or `embeddings` when the distances overflow float32.
 */
export function hostMatrix(distance: Distance, input: CheckedMinerInput): HostMatrix {
  const { matrix } = checkedMatrix(distance, input, false);
  try {
    return hostCopy(matrix, distance, input);
  } finally {
    matrix.dispose();
  }
}

function nonFiniteDistance(fn: string, value: number, k: number, m: number): ContrastiveError {
  return new ContrastiveError(
    'NON_FINITE',
    `Argument 'embeddings' passed to '${fn}' gives a distance of ${value} at row ${Math.floor(k / m)}, column ${k % m}: the values overflow float32, scale the embeddings down`,
  );
}

/**
 * @internal `distance.pairwise(embeddings, ref?.embeddings)` (owned by the caller) after checking
 * the embeddings are finite; with `deviceCheck`, on the wasm backend, the matrix too, on its heap
 * (`checked: true`); otherwise `hostCopy` checks it while reading.
 * @throws `ContrastiveError` `NON_FINITE` as {@link hostMatrix}.
 */
export function checkedMatrix(distance: Distance, input: CheckedMinerInput, deviceCheck: boolean): { matrix: tf.Tensor2D; checked: boolean } {
  const { embeddings, ref, fn } = input;
  assertFinite(embeddings, 'embeddings', fn);
  if (ref !== undefined) assertFinite(ref.embeddings, 'ref.embeddings', fn);
  const matrix = ref === undefined ? distance.pairwise(embeddings) : distance.pairwise(embeddings, ref.embeddings);
  if (!deviceCheck) return { matrix, checked: false };
  const k = firstNonFiniteNative(matrix);
  if (k !== null && k >= 0) {
    const value = tf.tidy(() => tf.slice(tf.reshape(matrix, [-1]), k, 1).dataSync()[0] as number);
    matrix.dispose();
    throw nonFiniteDistance(fn, value, k, matrix.shape[1]);
  }
  return { matrix, checked: k !== null };
}

/** @internal The host copy of a {@link checkedMatrix}: its values (checked finite) and the labels. */
export function hostCopy(matrix: tf.Tensor2D, distance: Distance, input: CheckedMinerInput): HostMatrix {
  const { labels, ref, fn } = input;
  // dataSync hands over a host array the miners only read: no further copy is needed.
  const values = matrix.dataSync() as Float32Array;
  const m = matrix.shape[1];
  for (let k = 0; k < values.length; k++) {
    if (!Number.isFinite(values[k] as number)) throw nonFiniteDistance(fn, values[k] as number, k, m);
  }
  return { values, isSimilarity: distance.isSimilarity, ...labelGrid(matrix, labels, ref) };
}

/** @internal The host labels of an `[n, m]` batch-vs-reference matrix. */
export function labelGrid(matrix: tf.Tensor2D, labels: Labels, ref: Reference | undefined): LabelGrid {
  const batchLabels = labels.dataSync() as Int32Array;
  return {
    n: matrix.shape[0],
    m: matrix.shape[1],
    labels: batchLabels,
    refLabels: ref === undefined ? batchLabels : (ref.labels.dataSync() as Int32Array),
    self: ref === undefined,
  };
}

/** @internal True when `(i, j)` is a positive pair of `matrix`. */
export function isPositive(matrix: LabelGrid, i: number, j: number): boolean {
  return matrix.labels[i] === matrix.refLabels[j] && !(matrix.self && i === j);
}

/** @internal True when `(i, j)` is a negative pair of `matrix`. */
export function isNegative(matrix: LabelGrid, i: number, j: number): boolean {
  return matrix.labels[i] !== matrix.refLabels[j];
}

/**
 * @internal The value as a distance: `-s` for similarities, so "smaller is closer" holds for both
 * kinds (PML flips its comparisons with `distance.is_inverted` the same way).
 */
export function asDistance(matrix: HostMatrix, index: number): number {
  const value = matrix.values[index] as number;
  return matrix.isSimilarity ? -value : value;
}

/** @internal An int32 copy of a host index list (an Int32Array is used as it is: the tensor copies it). */
function int32(values: ArrayLike<number>): Int32Array {
  return values instanceof Int32Array ? values : Int32Array.from(values);
}

/** @internal Int32 triplet tuples from host index lists. */
export function tripletTuples(
  anchor: ArrayLike<number>,
  positive: ArrayLike<number>,
  negative: ArrayLike<number>,
): TripletTuples {
  return {
    kind: 'triplets',
    anchor: tf.tensor1d(int32(anchor), 'int32'),
    positive: tf.tensor1d(int32(positive), 'int32'),
    negative: tf.tensor1d(int32(negative), 'int32'),
  };
}

/** @internal Int32 pair tuples from host index lists. */
export function pairTuples(
  anchorPos: ArrayLike<number>,
  positive: ArrayLike<number>,
  anchorNeg: ArrayLike<number>,
  negative: ArrayLike<number>,
): PairTuples {
  return {
    kind: 'pairs',
    anchorPos: tf.tensor1d(int32(anchorPos), 'int32'),
    positive: tf.tensor1d(int32(positive), 'int32'),
    anchorNeg: tf.tensor1d(int32(anchorNeg), 'int32'),
    negative: tf.tensor1d(int32(negative), 'int32'),
  };
}

/**
 * @internal Inverse-CDF draw: the first index in `[0, last]` whose running sum `cumulative[j]`
 * exceeds `u · cumulative[last]` (binary search), for `u` in `[0, 1)`. Zero-weight entries (equal
 * running sums) are never drawn. Shared by the sampling miners.
 */
export function drawFromCumulative(cumulative: Float64Array, last: number, u: number): number {
  const target = u * (cumulative[last] as number);
  let lo = 0;
  let hi = last;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cumulative[mid] as number) > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
