import * as tf from '@tensorflow/tfjs-core';
import {
  ContrastiveError,
  assertEmbeddings,
  assertLabels,
  assertNumber,
  assertOneOf,
  assertSameDims,
  assertTensor,
  lpDistance,
} from '@contrastive/core';
import type { Distance, Embeddings, Labels, LossInput, Loss, Reference, Tuples } from '@contrastive/core';
import { meanReducer } from './reducers.js';
import type { Reducer } from './reducers.js';

const NAME = 'ncaLoss';

/**
 * Options of {@link ncaLoss}.
 * @category Losses
 */
export interface NcaLossOptions {
  /**
   * Multiplies the negated distances before the softmax (an inverse temperature); a finite number
   * > 0. Larger values make the neighbour distribution sharper (100 stays finite).
   * @defaultValue 1 (pytorch-metric-learning's `NCALoss`)
   */
  readonly softmaxScale?: number;
  /**
   * How embeddings are compared. A distance (`isSimilarity: false`) is negated, so that larger
   * always means closer; a similarity is used as is (as pytorch-metric-learning does).
   * @defaultValue `lpDistance({ power: 2 })`: squared Euclidean distance of L2-normalized rows
   * (pytorch-metric-learning's `NCALoss` default)
   */
  readonly distance?: Distance;
  /**
   * Reduces the per-anchor losses (anchors that have a positive; `anchors` are their row indices).
   * @defaultValue `meanReducer()` (pytorch-metric-learning's default)
   */
  readonly reducer?: Reducer;
}

// -------------------------------------------------------------------------------------------------
// Helpers shared with n-pairs-loss.ts and proxy-losses.ts (not exported from the package).
// -------------------------------------------------------------------------------------------------

/** @internal Throws unless `distance` implements core's `Distance`. */
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
      `Argument 'distance' passed to '${fn}' must be a Distance (e.g. lpDistance()), got ${candidate === null ? 'null' : typeof candidate}`,
    );
  }
}

/** @internal Throws unless `reducer` implements `Reducer`. */
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

/**
 * @internal Validates a `LossInput`: embeddings `[n, d]` float32, labels `[n]` int32, optional
 * tuples, and an optional reference unless `refSupport` names why it is not supported.
 */
export function validateLossInput(input: unknown, fn: string, refSupport: true | { readonly unsupported: string }): LossInput {
  if (input === null || typeof input !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'input' passed to '${fn}.compute' must be { embeddings, labels, tuples?, ref? }, got ${input === null ? 'null' : typeof input}`,
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
  if (tuples !== undefined) assertTuples(tuples, fn);
  return input as LossInput;
}

/**
 * @internal `[k, depth]` float32 one-hot rows of `[k]` int32 `indices` (zero rows for out-of-range
 * indices). `tf.oneHot` rejects a depth of 1, and on tfjs-backend-wasm 4.22 fills a float32 oneHot
 * with int32 bit patterns, so this builds an int32 oneHot of depth >= 2, casts it and slices it.
 */
export function oneHotRows(indices: tf.Tensor1D, depth: number): tf.Tensor2D {
  const hot = tf.cast(tf.oneHot(indices, Math.max(depth, 2)), 'float32') as tf.Tensor2D;
  return depth >= 2 ? hot : (tf.slice(hot, [0, 0], [indices.shape[0], depth]) as tf.Tensor2D);
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
 * Same-label mask `[n, m]` (bool) of a batch against itself or against a reference. Labels are first replaced by compact ids (`tf.unique`, exact for any int32)
 * that float32 holds exactly, so the comparison is a broadcast float subtraction: on wasm and cpu a
 * broadcast `tf.equal` of `[n, 1]` with `[1, m]` is an order of magnitude slower.
 */
function sameLabels(labels: Labels, refLabels: Labels | undefined): tf.Tensor2D {
  const n = labels.shape[0];
  const { indices } = tf.unique(refLabels === undefined ? labels : tf.concat([labels, refLabels]));
  const ids = tf.cast(indices, 'float32');
  const rowIds = refLabels === undefined ? ids : tf.slice(ids, [0], [n]);
  const colIds = refLabels === undefined ? ids : tf.slice(ids, [n], [refLabels.shape[0]]);
  return tf.equal(tf.sub(tf.expandDims(rowIds, 1), tf.expandDims(colIds, 0)), 0) as tf.Tensor2D;
}

/**
 * NCA, Neighbourhood Components Analysis (Goldberger, Roweis, Hinton and Salakhutdinov 2005,
 * "Neighbourhood Components Analysis"), as pytorch-metric-learning's `NCALoss`: each anchor `i`
 * picks a neighbour `j` with probability `p_ij = softmax_j(-s · d_ij)` over all other points
 * (`s` = `softmaxScale`, `d` = the distance; a similarity is used without the minus); its loss is
 * `-log Σ_{j: y_j = y_i} p_ij`, the negative log-probability that its neighbour shares its label.
 * Anchors without a same-label point are dropped; the others are reduced (mean by default).
 *
 * `compute({ embeddings, labels })` lets each row choose among the other rows; with `ref` each row
 * chooses among all of `ref.embeddings` (no self-exclusion: a copy of the anchor in the reference
 * counts, as in pytorch-metric-learning). `tuples` do not restrict the softmax: as PML's
 * `convert_to_weights`, each anchor's loss is multiplied by how often its row appears in the tuples
 * (every index of them; only the anchor indices with `ref`), divided by the largest count (0 for a
 * row that never appears, which still counts in the mean). Tuples whose index lists are all empty
 * are ignored, as in PML. Tuple indices must lie in range; they are not read back to check.
 *
 * A batch of one row (without `ref`) or without any same-label pair gives 0 connected to
 * `embeddings` (zero gradients). The log-probability is computed as a difference of two
 * max-shifted log-sum-exps, so it stays finite for large scales and far-apart points. Values agree
 * with pytorch-metric-learning 2.8 to float32 precision, with two deliberate differences: PML also
 * drops an anchor whose positive probability underflows to 0 in float32 (where this keeps its
 * exact, large loss), and PML returns 0 for a batch of one row even against a reference (where this
 * computes it).
 *
 * @param options - scale, distance and reducer; see {@link NcaLossOptions}.
 * @returns a `Loss` (from `@contrastive/core`) named `'ncaLoss'`. Its `compute` takes `embeddings`
 * `[n, d]` float32, `labels` `[n]` int32, optional `tuples` (`[k]` int32 index vectors) and an
 * optional `ref` (`[m, d]` float32 embeddings, `[m]` int32 labels); it returns a float32 scalar
 * owned by the caller and disposes none of its inputs. It runs the distance's matMul and `[n, m]`
 * element-wise ops and never reads the embeddings back. (Labels are compacted with `tf.unique`, and
 * the anchors with a positive are selected with `tf.unique`, which on WebGL reads those int32
 * vectors back.)
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `softmaxScale` is
 * not a finite number > 0, `distance` is not a Distance or `reducer` not a Reducer; from `compute`,
 * `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT` or `DISPOSED` naming the
 * argument (`embeddings`, `labels`, `ref.embeddings`, `ref.labels`, `tuples.*`).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { ncaLoss } from '@contrastive/losses';
 *
 * const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]]);
 * const labels = tf.tensor1d([0, 0, 1, 1], 'int32');
 * ncaLoss().compute({ embeddings, labels }).print(); // Tensor 0.4301903
 * ```
 * @category Losses
 */
export function ncaLoss(options: NcaLossOptions = {}): Loss {
  const softmaxScale = options.softmaxScale ?? 1;
  assertNumber(softmaxScale, 'softmaxScale', NAME, { min: 0, exclusiveMin: true });
  const distance = options.distance ?? lpDistance({ power: 2 });
  assertDistanceOption(distance, NAME);
  const reducer = options.reducer ?? meanReducer();
  assertReducerOption(reducer, NAME);

  return {
    name: NAME,
    compute(input: LossInput): tf.Scalar {
      const { embeddings, labels, tuples, ref } = validateLossInput(input, NAME, true);
      const n = embeddings.shape[0];
      if (ref === undefined && n < 2) return tf.tidy(() => tf.mul(tf.sum(embeddings), 0) as tf.Scalar);

      return tf.tidy(() => {
        const matrix = distance.pairwise(embeddings, ref?.embeddings);
        // Larger must mean closer: PML negates distances the same way.
        const logits = tf.mul(distance.isSimilarity ? matrix : tf.neg(matrix), softmaxScale) as tf.Tensor2D;
        let positive = sameLabels(labels, ref?.labels);
        let valid: tf.Tensor2D | null = null;
        if (ref === undefined) {
          // A row is not its own neighbour: PML fills the diagonal with -inf.
          const notSelf = tf.equal(oneHotRows(tf.range(0, n, 1, 'int32') as tf.Tensor1D, n), 0) as tf.Tensor2D;
          valid = notSelf;
          positive = tf.logicalAnd(positive, notSelf) as tf.Tensor2D;
        }
        const terms = ncaTerms(logits, positive, valid);
        const weights = minerWeights(tuples, n, ref !== undefined);
        const weighted = weights === null ? terms.losses : (tf.mul(terms.losses, weights) as tf.Tensor1D);
        const anchors = indicesWhere(terms.hasPositive);
        const losses = gatherRows(weighted, anchors);
        return reducer.reduce({ losses, anchors, numAnchors: n }, embeddings);
      });
    },
  };
}
