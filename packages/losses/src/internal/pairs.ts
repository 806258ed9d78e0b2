/**
 * @internal
 * Small helpers shared by the loss files: input validation, label and tuple pair matrices, gathers
 * and maxima with cheap gradients, miner weights and pytorch-metric-learning's matrix-based
 * `GenericPairLoss`. Not exported from the package: index.ts re-exports only the loss factories
 * and their option types.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  ContrastiveError,
  assertDistance,
  assertEmbeddings,
  assertReference,
  assertTuples,
  stopGradient,
  assertLabels,
} from '@contrastive/core';
import type { Distance, Labels, Loss, LossInput, Tuples } from '@contrastive/core';
import { connectedZero } from '../reducers.js';
import type { Reducer } from '../reducers.js';

// -------------------------------------------------------------------------------------------------
// Validation
// -------------------------------------------------------------------------------------------------

/** @internal `'null'` or the `typeof` of a value, for error messages. */
export function describeObject(value: unknown): string {
  return value === null ? 'null' : typeof value;
}

/**
 * @internal Throws unless `distance` implements core's `Distance`. `example` names the default
 * distance of the loss in the message (`e.g. lpDistance()`).
 */
export function assertDistanceOption(
  distance: unknown,
  fn: string,
  example: 'lpDistance()' | 'cosineSimilarity()' = 'lpDistance()',
): asserts distance is Distance {
  assertDistance(distance, fn, example);
}

/**
 * @internal Throws unless `reducer` implements `Reducer`. `example` names the default reducer of the
 * loss in the message (`e.g. meanReducer()`).
 */
export function assertReducerOption(
  reducer: unknown,
  fn: string,
  example: 'meanReducer()' | 'avgNonZeroReducer()' = 'meanReducer()',
): asserts reducer is Reducer {
  const candidate = reducer as Partial<Reducer> | null;
  if (candidate === null || typeof candidate !== 'object' || typeof candidate.reduce !== 'function') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'reducer' passed to '${fn}' must be a Reducer (e.g. ${example}), got ${describeObject(candidate)}`,
    );
  }
}

export { assertTuples, assertReference, stopGradient };

/**
 * @internal Throws unless every index of validated `tuples` lies in range: the anchor fields
 * (`anchor`, `anchorPos`, `anchorNeg`) index the `rows` of the batch, the others (`positive`,
 * `negative`) the `refRows` of the reference (or the batch's rows when there is none). An index out of range would
 * otherwise make `tf.gather` throw a raw error, make `tf.scatterND` drop the pair silently, or, on
 * tfjs-backend-wasm 4.22, make `tf.scatterND` write outside its buffer and corrupt the heap. This
 * reads the minimum and maximum of each non-empty index vector back from the device (one read of
 * at most 8 int32 values per call; the embeddings are never read back).
 *
 * @throws `ContrastiveError` `INVALID_ARGUMENT` naming the field, e.g. `tuples.negative`.
 */
export function assertTupleIndices(tuples: Tuples, rows: number, refRows: number | undefined, fn: string): void {
  const columns = refRows ?? rows;
  const fields: [string, tf.Tensor1D, number][] =
    tuples.kind === 'pairs'
      ? [
          ['anchorPos', tuples.anchorPos, rows],
          ['positive', tuples.positive, columns],
          ['anchorNeg', tuples.anchorNeg, rows],
          ['negative', tuples.negative, columns],
        ]
      : [
          ['anchor', tuples.anchor, rows],
          ['positive', tuples.positive, columns],
          ['negative', tuples.negative, columns],
        ];
  const present = fields.filter(([, indices]) => indices.shape[0] > 0);
  if (present.length === 0) return;
  const bounds = tf.tidy(() => tf.stack(present.flatMap(([, indices]) => [tf.min(indices), tf.max(indices)])));
  const values = bounds.dataSync();
  bounds.dispose();
  present.forEach(([field, , limit], i) => {
    const [low, high] = [values[2 * i] as number, values[2 * i + 1] as number];
    if (low < 0 || high >= limit) {
      const of = field.startsWith('anchor') || refRows === undefined ? 'rows of the batch' : "rows of 'ref.embeddings'";
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'tuples.${field}' passed to '${fn}' must hold indices in [0, ${limit}) (${of}), got values in [${low}, ${high}]`,
      );
    }
  });
}

/**
 * @internal Validates a `LossInput`: embeddings `[n, d]` float32, labels `[n]` int32, optional
 * tuples (indices in range, see {@link assertTupleIndices}), and an optional reference unless
 * `refSupport` names why it is not supported. Errors name the argument.
 */
export function validateLossInput(
  input: unknown,
  fn: string,
  refSupport: true | { readonly unsupported: string } = true,
): LossInput {
  if (input === null || typeof input !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'input' passed to '${fn}.compute' must be { embeddings, labels, tuples?, ref? }, got ${describeObject(input)}`,
    );
  }
  const { embeddings, labels, tuples, ref } = input as Partial<LossInput>;
  assertEmbeddings(embeddings, 'embeddings', fn);
  assertLabels(labels, embeddings.shape[0], 'labels', fn);
  if (ref !== undefined) {
    if (refSupport !== true) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'ref' passed to '${fn}' is not supported (${refSupport.unsupported}), got a reference`);
    }
    assertReference(ref, embeddings, fn);
  }
  if (tuples !== undefined) {
    assertTuples(tuples, fn);
    assertTupleIndices(tuples, embeddings.shape[0], ref?.embeddings.shape[0], fn);
  }
  return input as LossInput;
}

// -------------------------------------------------------------------------------------------------
// Tensor helpers with cheap gradients
// -------------------------------------------------------------------------------------------------

/**
 * @internal `[k, depth]` float32 one-hot rows of `[k]` int32 `indices` (zero rows for out-of-range
 * indices). `tf.oneHot` rejects a depth of 1, and on tfjs-backend-wasm 4.22 fills a float32 oneHot
 * with int32 bit patterns, so this builds an int32 oneHot of depth >= 2, casts it and slices it.
 */
export function oneHotRows(indices: tf.Tensor1D, depth: number): tf.Tensor2D {
  const hot = tf.cast(tf.oneHot(indices, Math.max(depth, 2)), 'float32') as tf.Tensor2D;
  return depth >= 2 ? hot : (tf.slice(hot, [0, 0], [indices.shape[0], depth]) as tf.Tensor2D);
}

/** @internal `[n, n]` float32 identity (safe for `n = 1`, see {@link oneHotRows}). */
export function identityMatrix(n: number): tf.Tensor2D {
  return oneHotRows(tf.range(0, n, 1, 'int32') as tf.Tensor1D, n);
}

/**
 * @internal `tf.gather(x, indices)` along the first axis whose gradient is a `tf.scatterND` (which
 * adds repeated indices) instead of `tf.gather`'s `unsortedSegmentSum`: the cpu backend runs that
 * as one masked sum per row of `x`, seconds for a 1024-row batch.
 */
export function gatherRows<T extends tf.Tensor>(x: T, indices: tf.Tensor1D): T {
  const shape = x.shape;
  const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    save([indices]);
    return {
      value: tf.gather(input, indices),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [rows] = saved as [tf.Tensor1D];
        return rows.shape[0] === 0 ? tf.zeros(shape) : tf.scatterND(tf.expandDims(rows, 1), dy, shape);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as T;
}

/**
 * @internal Maximum along `axis` (kept) that autodiff treats as a constant. A log-sum-exp does not
 * depend on the shift it subtracts, so dropping its gradient is exact, and it avoids `tf.max`'s
 * gradient (a broadcast `tf.equal` over the whole matrix).
 */
export function constantMax(x: tf.Tensor2D, axis: 0 | 1): tf.Tensor2D {
  const op = tf.customGrad(((input: tf.Tensor) => ({
    value: tf.max(input, axis, true),
    gradFunc: () => tf.zerosLike(input),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor2D;
}

/** @internal `[n, 1]` row maximum treated as a constant by autodiff: {@link constantMax} along axis 1. */
export function constantRowMax(x: tf.Tensor2D): tf.Tensor2D {
  return constantMax(x, 1);
}

/**
 * @internal Indices (ascending, `[k]` int32) of the true entries of a `[n]` bool mask. `k` depends
 * on the data, so this is one of the few ops that must know a value on the host: it uses `tf.unique`
 * (as label compaction does), never `dataSync` on the embeddings: the list `[-1, i or -1 ...]` is
 * made unique, its first value is the leading -1, the rest are the kept indices in order.
 */
export function indicesWhere(mask: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const n = mask.shape[0];
    const candidates = tf.where(mask, tf.range(0, n, 1, 'int32'), tf.fill([n], -1, 'int32'));
    const { values } = tf.unique(tf.concat([tf.tensor1d([-1], 'int32'), candidates]));
    return tf.slice(values, [1], [values.shape[0] - 1]) as tf.Tensor1D;
  });
}

// -------------------------------------------------------------------------------------------------
// Label and tuple pair matrices
// -------------------------------------------------------------------------------------------------

/**
 * `[n, m]` float32 `id_i - id_j` of compact label ids of a batch against itself or a reference.
 * Labels are first replaced by compact ids (`tf.unique`, exact for any int32) that float32 holds
 * exactly, so comparisons are a broadcast float subtraction: on wasm and cpu a broadcast `tf.equal`
 * of `[n, 1]` with `[1, m]` is an order of magnitude slower.
 */
function labelIdDifferences(labels: Labels, refLabels: Labels | undefined): tf.Tensor2D {
  const n = labels.shape[0];
  const { indices } = tf.unique(refLabels === undefined ? labels : tf.concat([labels, refLabels]));
  const ids = tf.cast(indices, 'float32') as tf.Tensor1D;
  const rowIds = refLabels === undefined ? ids : tf.slice(ids, [0], [n]);
  const colIds = refLabels === undefined ? ids : tf.slice(ids, [n], [refLabels.shape[0]]);
  return tf.sub(tf.expandDims(rowIds, 1), tf.expandDims(colIds, 0)) as tf.Tensor2D;
}

/**
 * @internal Same-label mask `[n, m]` (bool) of a batch against itself (diagonal included) or
 * against a reference.
 */
export function sameLabelMask(labels: Labels, refLabels: Labels | undefined): tf.Tensor2D {
  return tf.equal(labelIdDifferences(labels, refLabels), 0) as tf.Tensor2D;
}

/** @internal `[n, m]` float32 positive and negative pair matrices (0/1, or multiplicities for tuples). */
export interface PairMasks {
  readonly positive: tf.Tensor2D;
  readonly negative: tf.Tensor2D;
}

/**
 * @internal
 * Every same-label pair is positive, every other pair negative (PML's `get_all_pairs_indices`);
 * without a reference a row is not its own positive. For integer ids, `min(|i - j|, 1)` is 1
 * exactly when they differ. Safe for a batch of one row.
 */
export function labelPairMasks(labels: Labels, refLabels: Labels | undefined): PairMasks {
  const negative = tf.minimum(tf.abs(labelIdDifferences(labels, refLabels)), 1) as tf.Tensor2D;
  const same = tf.sub(1, negative) as tf.Tensor2D;
  if (refLabels !== undefined) return { positive: same, negative };
  return { positive: tf.sub(same, identityMatrix(labels.shape[0])) as tf.Tensor2D, negative };
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

/** @internal Number of listed positive and negative pairs of mined tuples. */
export function tupleCounts(tuples: Tuples): { positives: number; negatives: number } {
  const pairs = tuplesToPairs(tuples);
  return { positives: pairs.anchorPos.shape[0], negatives: pairs.anchorNeg.shape[0] };
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
 * @internal PML's `convert_to_weights`: each batch row weighs how often it appears in the tuples,
 * divided by the largest count (`[n]` float32). `anchorsOnly` counts the anchors only (PML's
 * `using_ref`: the other indices point into a reference). `null` when there are no tuples or every
 * index list is empty (PML then weighs every row 1).
 */
export function minerWeights(tuples: Tuples | undefined, n: number, anchorsOnly: boolean): tf.Tensor1D | null {
  if (tuples === undefined) return null;
  let parts: tf.Tensor1D[];
  switch (tuples.kind) {
    case 'pairs':
      parts = anchorsOnly
        ? [tuples.anchorPos, tuples.anchorNeg]
        : [tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative];
      break;
    case 'triplets':
      parts = anchorsOnly ? [tuples.anchor] : [tuples.anchor, tuples.positive, tuples.negative];
      break;
    default: {
      const unreachable: never = tuples;
      return unreachable;
    }
  }
  const total = parts.reduce((sum, part) => sum + part.shape[0], 0);
  const allEmpty =
    tuples.kind === 'pairs'
      ? [tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative].every((part) => part.shape[0] === 0)
      : [tuples.anchor, tuples.positive, tuples.negative].every((part) => part.shape[0] === 0);
  if (allEmpty) return null;
  return tf.tidy(() => {
    if (total === 0) return tf.zeros([n]) as tf.Tensor1D;
    const indices = tf.concat(parts.filter((part) => part.shape[0] > 0));
    // scatterND adds repeated indices (and, unlike the cpu unsortedSegmentSum, in one pass).
    const counts = tf.scatterND(tf.expandDims(indices, 1), tf.ones([total]), [n]) as tf.Tensor1D;
    return tf.div(counts, tf.maximum(tf.max(counts), 1)) as tf.Tensor1D;
  });
}

// -------------------------------------------------------------------------------------------------
// Log-sum-exp terms
// -------------------------------------------------------------------------------------------------

/**
 * @internal The NCA terms of each query row: `-log Σ_{j positive} softmax_j(logits_i)` over the
 * `valid` entries (all entries when `valid` is null), computed as `LSE_valid - LSE_positive`, each
 * log-sum-exp with its own row maximum subtracted, so it is finite for any scale. `positive` must be
 * a subset of `valid`. Returns `[n]` losses (0 for rows without a positive) and the `[n]` bool mask
 * of rows with a positive.
 */
export function ncaTerms(
  logits: tf.Tensor2D,
  positive: tf.Tensor2D,
  valid: tf.Tensor2D | null,
): { losses: tf.Tensor1D; hasPositive: tf.Tensor1D } {
  const negativeInfinity = tf.fill(logits.shape, Number.NEGATIVE_INFINITY);
  const allLogits = valid === null ? logits : (tf.where(valid, logits, negativeInfinity) as tf.Tensor2D);
  const allMax = constantMax(allLogits, 1);
  const allLse = tf.add(allMax, tf.log(tf.sum(tf.exp(tf.sub(allLogits, allMax)), 1, true)));

  const positiveLogits = tf.where(positive, logits, negativeInfinity) as tf.Tensor2D;
  const hasPositive = tf.greater(tf.sum(tf.cast(positive, 'float32'), 1, true), 0);
  const positiveMax = constantMax(positiveLogits, 1);
  const shift = tf.where(hasPositive, positiveMax, tf.zerosLike(positiveMax));
  // Rows with a positive hold exp(0) = 1 at their maximum, so the sum is >= 1.
  const positiveSum = tf.sum(tf.exp(tf.sub(positiveLogits, shift)), 1, true);
  const positiveLse = tf.add(shift, tf.log(tf.where(hasPositive, positiveSum, tf.onesLike(positiveSum))));
  const losses = tf.where(hasPositive, tf.sub(allLse, positiveLse), tf.zerosLike(allLse));
  return { losses: tf.reshape(losses, [-1]) as tf.Tensor1D, hasPositive: tf.reshape(hasPositive, [-1]) as tf.Tensor1D };
}

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
  const rowMax = constantRowMax(kept);
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

// -------------------------------------------------------------------------------------------------
// Matrix-based pair loss (pytorch-metric-learning's `GenericPairLoss`)
// -------------------------------------------------------------------------------------------------

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
      const { embeddings, labels, tuples, ref } = validateLossInput(input, name);
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
