import * as tf from '@tensorflow/tfjs-core';
import {
  ContrastiveError,
  assertEmbeddings,
  assertLabels,
  assertNumber,
  assertOneOf,
  assertSameDims,
  assertTensor,
  cosineSimilarity,
} from '@contrastive/core';
import type { Distance, Embeddings, Labels, Loss, LossInput, Reference, Tuples } from '@contrastive/core';
import { connectedZero, meanReducer } from './reducers.js';
import type { Reducer } from './reducers.js';

// -------------------------------------------------------------------------------------------------
// Generic pair-loss machinery (pytorch-metric-learning's `GenericPairLoss`), shared by
// multi-similarity-loss.ts, circle-loss.ts and lifted-structure-loss.ts. Not exported from the
// package: index.ts re-exports only the factories and their option types.
// -------------------------------------------------------------------------------------------------

/** @internal Throws unless `distance` looks like a core `Distance`. */
export function assertDistanceOption(distance: unknown, fn: string): asserts distance is Distance {
  const candidate = distance as Partial<Distance> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.pairwise !== 'function' ||
    typeof candidate.isSimilarity !== 'boolean'
  ) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'distance' passed to '${fn}' must be a Distance (e.g. cosineSimilarity()), got ${candidate === null ? 'null' : typeof candidate}`,
    );
  }
}

/** @internal Throws unless `reducer` looks like a `Reducer`. */
export function assertReducerOption(reducer: unknown, fn: string): asserts reducer is Reducer {
  const candidate = reducer as Partial<Reducer> | null;
  if (candidate === null || typeof candidate !== 'object' || typeof candidate.reduce !== 'function') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'reducer' passed to '${fn}' must be a Reducer (e.g. meanReducer()), got ${candidate === null ? 'null' : typeof candidate}`,
    );
  }
}

function assertIndexPair(rows: unknown, cols: unknown, rowsName: string, colsName: string, fn: string): void {
  assertTensor(rows, 1, `tuples.${rowsName}`, fn, 'int32');
  assertTensor(cols, 1, `tuples.${colsName}`, fn, 'int32');
  const expected = rows.shape[0] as number;
  const received = cols.shape[0] as number;
  if (received !== expected) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'tuples.${colsName}' passed to '${fn}' must have ${expected} entries (one per entry of 'tuples.${rowsName}'), got ${received}`,
    );
  }
}

function assertTuples(tuples: unknown, fn: string): asserts tuples is Tuples {
  if (tuples === null || typeof tuples !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'tuples' passed to '${fn}' must be pair or triplet tuples, got ${tuples === null ? 'null' : typeof tuples}`,
    );
  }
  assertOneOf((tuples as { kind?: unknown }).kind, ['pairs', 'triplets'] as const, 'tuples.kind', fn);
  const checked = tuples as Tuples;
  switch (checked.kind) {
    case 'pairs':
      assertIndexPair(checked.anchorPos, checked.positive, 'anchorPos', 'positive', fn);
      assertIndexPair(checked.anchorNeg, checked.negative, 'anchorNeg', 'negative', fn);
      return;
    case 'triplets':
      assertIndexPair(checked.anchor, checked.positive, 'anchor', 'positive', fn);
      assertIndexPair(checked.anchor, checked.negative, 'anchor', 'negative', fn);
      return;
    default: {
      const unreachable: never = checked;
      return unreachable;
    }
  }
}

function assertReference(ref: unknown, embeddings: Embeddings, fn: string): asserts ref is Reference {
  if (ref === null || typeof ref !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'ref' passed to '${fn}' must be { embeddings, labels }, got ${ref === null ? 'null' : typeof ref}`,
    );
  }
  const { embeddings: refEmbeddings, labels: refLabels } = ref as Partial<Reference>;
  assertEmbeddings(refEmbeddings, 'ref.embeddings', fn);
  assertSameDims(embeddings, refEmbeddings, 'ref.embeddings', fn);
  assertLabels(refLabels, refEmbeddings.shape[0], 'ref.labels', fn);
}

/** @internal Validates a `LossInput` (embeddings, labels, optional ref and tuples), naming the argument. */
export function validatePairLossInput(input: unknown, fn: string): LossInput {
  if (input === null || typeof input !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'input' passed to '${fn}.compute' must be { embeddings, labels, tuples?, ref? }, got ${input === null ? 'null' : typeof input}`,
    );
  }
  const { embeddings, labels, tuples, ref } = input as Partial<LossInput>;
  assertEmbeddings(embeddings, 'embeddings', fn);
  assertLabels(labels, embeddings.shape[0], 'labels', fn);
  if (ref !== undefined) assertReference(ref, embeddings, fn);
  if (tuples !== undefined) assertTuples(tuples, fn);
  return input as LossInput;
}

/** @internal Index lists of PML's `convert_to_pairs`: a triplet (a, p, n) is the pairs (a, p) and (a, n). */
export interface PairLists {
  readonly anchorPos: tf.Tensor1D;
  readonly positive: tf.Tensor1D;
  readonly anchorNeg: tf.Tensor1D;
  readonly negative: tf.Tensor1D;
}

/** @internal Mined tuples as pair lists (borrowed tensors, nothing allocated). */
export function tuplesToPairs(tuples: Tuples): PairLists {
  switch (tuples.kind) {
    case 'pairs':
      return tuples;
    case 'triplets':
      return { anchorPos: tuples.anchor, positive: tuples.positive, anchorNeg: tuples.anchor, negative: tuples.negative };
    default: {
      const unreachable: never = tuples;
      return unreachable;
    }
  }
}

/** @internal `[n, m]` float32 positive and negative pair matrices (0/1, or multiplicities for tuples). */
export interface PairMasks {
  readonly positive: tf.Tensor2D;
  readonly negative: tf.Tensor2D;
}

/**
 * @internal
 * Every same-label pair is positive, every other pair negative (PML's `get_all_pairs_indices`);
 * without a reference a row is not its own positive. Labels are first replaced by compact ids
 * (`tf.unique`, exact for any int32) that float32 holds exactly, so the `[n, m]` comparison is a
 * broadcast float subtraction (a broadcast `tf.equal` is ~10x slower on wasm): for integer ids,
 * `min(|i - j|, 1)` is 1 exactly when they differ.
 */
export function labelPairMasks(labels: Labels, refLabels: Labels | undefined): PairMasks {
  const n = labels.shape[0];
  const { indices } = tf.unique(refLabels === undefined ? labels : tf.concat([labels, refLabels]));
  const ids = tf.cast(indices, 'float32') as tf.Tensor1D;
  const rowIds = refLabels === undefined ? ids : tf.slice(ids, [0], [n]);
  const colIds = refLabels === undefined ? ids : tf.slice(ids, [n], [refLabels.shape[0]]);
  const negative = tf.minimum(tf.abs(tf.sub(tf.expandDims(rowIds, 1), tf.expandDims(colIds, 0))), 1) as tf.Tensor2D;
  const same = tf.sub(1, negative) as tf.Tensor2D;
  if (refLabels !== undefined) return { positive: same, negative };
  // An int32 oneHot, then cast: tfjs-backend-wasm 4.22 fills a float32 oneHot with int32 bit patterns.
  const identity = tf.cast(tf.oneHot(tf.range(0, n, 1, 'int32'), n), 'float32');
  return { positive: tf.sub(same, identity) as tf.Tensor2D, negative };
}

/** @internal `[n, m]` count of each (row, col) index pair; repeated pairs add up. */
export function pairCountMatrix(rows: tf.Tensor1D, cols: tf.Tensor1D, n: number, m: number): tf.Tensor2D {
  const k = rows.shape[0];
  if (k === 0) return tf.zeros([n, m]);
  return tf.scatterND(tf.stack([rows, cols], 1), tf.ones([k]), [n, m]) as tf.Tensor2D;
}

/**
 * @internal
 * Pair matrices of mined tuples as PML's `mat_based_loss` builds them: `pos_mask[a1, p] = 1`, so a
 * pair listed twice still counts once.
 */
export function tuplePairMasks(pairs: PairLists, n: number, m: number): PairMasks {
  return {
    positive: tf.minimum(pairCountMatrix(pairs.anchorPos, pairs.positive, n, m), 1) as tf.Tensor2D,
    negative: tf.minimum(pairCountMatrix(pairs.anchorNeg, pairs.negative, n, m), 1) as tf.Tensor2D,
  };
}

/**
 * @internal
 * Row maximum that autodiff treats as a constant. A log-sum-exp does not depend on the shift it
 * subtracts, so dropping its gradient is exact, and it avoids `tf.max`'s gradient (a broadcast
 * `tf.equal` over the whole matrix).
 */
export const detachedRowMax = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.max(x, 1, true),
  gradFunc: () => tf.zerosLike(x),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor2D) => tf.Tensor2D;

/** @internal Identity in the forward pass, zero gradient (PyTorch's `.detach()`). */
export const stopGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: () => tf.zerosLike(x),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as <T extends tf.Tensor>(x: T) => T;

/**
 * @internal
 * PML's `lmu.logsumexp(x, keep_mask, add_one, dim=1)`: per row, `log(Σ_j w_ij exp(x_ij))` over the
 * entries with `w_ij > 0` (plus a `exp(0)` term when `addOne`), and 0 for a row without any entry.
 * `weights` are 0/1 (or multiplicities). The row maximum of the kept entries is subtracted, so no
 * exponential overflows however large `x` is, and the log never sees 0.
 *
 * @param x - `[n, m]` float32 exponents.
 * @param weights - `[n, m]` float32 non-negative weights.
 * @returns `[n]` float32.
 */
export function maskedLogSumExp(x: tf.Tensor2D, weights: tf.Tensor2D, addOne: boolean): tf.Tensor1D {
  const kept = tf.where(tf.greater(weights, 0), x, tf.fill(x.shape, Number.NEGATIVE_INFINITY)) as tf.Tensor2D;
  const hasAny = tf.greater(tf.sum(weights, 1, true), 0);
  const rowMax = detachedRowMax(kept);
  // With add_one the extra exp(0) joins the maximum; an empty row's -Infinity maximum becomes 0.
  const shift = addOne ? tf.maximum(rowMax, 0) : tf.where(hasAny, rowMax, tf.zerosLike(rowMax));
  let sumExp = tf.sum(tf.mul(weights, tf.exp(tf.sub(kept, shift))), 1, true);
  if (addOne) sumExp = tf.add(sumExp, tf.exp(tf.neg(shift)));
  // The maximal term is exp(0) = 1, so a non-empty sum is >= 1; an empty row gives log(1) = 0.
  const safe = addOne ? sumExp : tf.where(hasAny, sumExp, tf.onesLike(sumExp));
  return tf.reshape(tf.add(shift, tf.log(safe)), [-1]) as tf.Tensor1D;
}

/** @internal `[n]` float32: 1 where a row of `weights` has an entry, else 0. */
export function rowHasAny(weights: tf.Tensor2D): tf.Tensor1D {
  return tf.minimum(tf.sum(weights, 1), 1) as tf.Tensor1D;
}

/** @internal Number of listed positive and negative pairs of mined tuples. */
export function tupleCounts(tuples: Tuples): { positives: number; negatives: number } {
  const pairs = tuplesToPairs(tuples);
  return { positives: pairs.anchorPos.shape[0], negatives: pairs.anchorNeg.shape[0] };
}

/** @internal Per-row losses of a matrix-based pair loss (PML `mat_based_loss`). */
export type RowLosses = (matrix: tf.Tensor2D, masks: PairMasks) => tf.Tensor1D;

/**
 * @internal
 * A `Loss` built like PML's matrix-based `GenericPairLoss`: the `[n, m]` distance matrix of the
 * batch (against `ref`, or itself), 0/1 positive and negative pair matrices from the labels or the
 * mined tuples, `rowLosses` per batch row, and the reducer over rows (element reduction, anchors =
 * rows). A batch with no pair at all gives a connected zero.
 */
export function matrixPairLoss(name: string, distance: Distance, reducer: Reducer, rowLosses: RowLosses): Loss {
  return {
    name,
    compute(input: LossInput): tf.Scalar {
      const { embeddings, labels, tuples, ref } = validatePairLossInput(input, name);
      const n = embeddings.shape[0];
      const m = ref === undefined ? n : ref.embeddings.shape[0];
      const counts = tuples === undefined ? undefined : tupleCounts(tuples);
      const nothingToCompare =
        counts === undefined ? ref === undefined && n < 2 : counts.positives === 0 && counts.negatives === 0;
      if (nothingToCompare) return connectedZero(embeddings);
      return tf.tidy(() => {
        const matrix = distance.pairwise(embeddings, ref?.embeddings);
        const masks =
          tuples === undefined ? labelPairMasks(labels, ref?.labels) : tuplePairMasks(tuplesToPairs(tuples), n, m);
        const losses = rowLosses(matrix, masks);
        return reducer.reduce({ losses, anchors: tf.range(0, n, 1, 'int32') as tf.Tensor1D, numAnchors: n }, embeddings);
      });
    },
  };
}

// -------------------------------------------------------------------------------------------------
// Multi-similarity loss
// -------------------------------------------------------------------------------------------------

const NAME = 'multiSimilarityLoss';

/**
 * Options of {@link multiSimilarityLoss}.
 * @category Losses
 */
export interface MultiSimilarityLossOptions {
  /**
   * Scale α of the positive term `(1/α) log(1 + Σ_p exp(-α (s_ap - base)))`; a finite number > 0.
   * @defaultValue 2 (pytorch-metric-learning's `MultiSimilarityLoss` and the paper)
   */
  readonly alpha?: number;
  /**
   * Scale β of the negative term `(1/β) log(1 + Σ_n exp(β (s_an - base)))`; a finite number > 0.
   * @defaultValue 50 (pytorch-metric-learning and the paper)
   */
  readonly beta?: number;
  /**
   * The similarity margin λ ("base") both terms are measured from; a finite number.
   * @defaultValue 0.5 (pytorch-metric-learning; the paper's λ = 1 for its un-normalised setting)
   */
  readonly base?: number;
  /**
   * How embeddings are compared. With a distance (`isSimilarity: false`) the roles flip as PML's
   * `distance.margin` does: the positive term uses `d_ap - base`, the negative `base - d_an`.
   * @defaultValue `cosineSimilarity()`
   */
  readonly distance?: Distance;
  /**
   * Reduces the `[n]` per-anchor losses (anchors = batch rows) to the loss.
   * @defaultValue `meanReducer()` (PML: the mean over every anchor, including anchors with no pair)
   */
  readonly reducer?: Reducer;
}

/**
 * Multi-similarity loss (Wang, Han, Huang, Dong and Scott 2019, "Multi-Similarity Loss with General
 * Pair Weighting for Deep Metric Learning"), as pytorch-metric-learning's `MultiSimilarityLoss`:
 * for every anchor a (batch row)
 * `l_a = (1/α) log(1 + Σ_{p ∈ P(a)} exp(-α (s_ap - base))) + (1/β) log(1 + Σ_{n ∈ N(a)} exp(β (s_an - base)))`,
 * where P(a) are a's positives (same label, not a itself) and N(a) its negatives; an empty set
 * gives a 0 term. The loss is the reducer over anchors (the mean by default). As in PML there is
 * no pair mining inside: the paper's ε-mining is a miner (pass its output as `tuples`).
 *
 * `compute({ embeddings, labels })` uses every pair of the batch; with `tuples` only those pairs
 * (triplets (a, p, n) count as the pairs (a, p) and (a, n); a pair listed twice counts once, as
 * PML's pair masks); with `ref` the batch is compared against `ref.embeddings` / `ref.labels` and
 * every same-label reference row is a positive (no self-exclusion). Tuple indices must lie in range;
 * they are not read back to check.
 *
 * A batch with no pair at all (one row, no `ref`; or empty tuples) gives 0 connected to
 * `embeddings`. An anchor with negatives but no positive still pays its negative term, as in PML
 * (so a batch of distinct labels has a non-zero loss). Deliberate difference from PML 2.8: PML
 * returns 0 whenever each of its four pair lists holds at most one entry; this computes the loss.
 *
 * @param options - `alpha`, `beta`, `base`, `distance`, `reducer`; see {@link MultiSimilarityLossOptions}.
 * @returns a `Loss` named `'multiSimilarityLoss'`. Its `compute` takes `embeddings` `[n, d]` float32,
 * `labels` `[n]` int32, optional `tuples` (`[k]` int32 index vectors) and an optional `ref`
 * (`[m, d]` float32 embeddings, `[m]` int32 labels), and returns a float32 scalar owned by the
 * caller; it disposes none of its inputs and never reads the embeddings back.
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `alpha` or `beta`
 * is not a finite number > 0, `base` not finite, `distance` not a Distance or `reducer` not a
 * Reducer; from `compute`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT`
 * or `DISPOSED` naming the argument (`embeddings`, `labels`, `ref.*`, `tuples.*`).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { multiSimilarityLoss } from '@contrastive/losses';
 *
 * const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]]);
 * const labels = tf.tensor1d([0, 0, 1, 1], 'int32');
 * multiSimilarityLoss().compute({ embeddings, labels }).print(); // Tensor 0.2688112
 * ```
 * @category Losses
 */
export function multiSimilarityLoss(options: MultiSimilarityLossOptions = {}): Loss {
  const alpha = options.alpha ?? 2;
  const beta = options.beta ?? 50;
  const base = options.base ?? 0.5;
  assertNumber(alpha, 'alpha', NAME, { min: 0, exclusiveMin: true });
  assertNumber(beta, 'beta', NAME, { min: 0, exclusiveMin: true });
  assertNumber(base, 'base', NAME);
  const distance = options.distance ?? cosineSimilarity();
  assertDistanceOption(distance, NAME);
  const reducer = options.reducer ?? meanReducer();
  assertReducerOption(reducer, NAME);
  // PML's distance.margin(x, y) is y - x for a similarity and x - y for a distance.
  const sign = distance.isSimilarity ? 1 : -1;

  return matrixPairLoss(NAME, distance, reducer, (matrix, { positive, negative }) => {
    const positiveExponent = tf.mul(tf.sub(base, matrix), sign * alpha) as tf.Tensor2D;
    const negativeExponent = tf.mul(tf.sub(matrix, base), sign * beta) as tf.Tensor2D;
    const positiveTerm = tf.div(maskedLogSumExp(positiveExponent, positive, true), alpha);
    const negativeTerm = tf.div(maskedLogSumExp(negativeExponent, negative, true), beta);
    return tf.add(positiveTerm, negativeTerm) as tf.Tensor1D;
  });
}
