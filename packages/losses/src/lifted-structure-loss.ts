import * as tf from '@tensorflow/tfjs-core';
import { assertNumber, lpDistance } from '@contrastive/core';
import type { Distance, Loss, LossInput } from '@contrastive/core';
import { connectedZero, meanReducer } from './reducers.js';
import type { Reducer } from './reducers.js';
import {
  assertDistanceOption,
  assertReducerOption,
  constantRowMax,
  gatherRows,
  indicesWhere,
  labelPairMasks,
  maskedLogSumExp,
  matrixPairLoss,
  pairCountMatrix,
  tuplesToPairs,
  validateLossInput,
} from './internal/pairs.js';
import { assertOptionsObject } from './internal/options.js';

const LIFTED = 'liftedStructureLoss';
const GENERALIZED = 'generalizedLiftedStructureLoss';

/**
 * Options of {@link liftedStructureLoss} and {@link generalizedLiftedStructureLoss}.
 * @category Losses
 */
export interface LiftedStructureLossOptions {
  /**
   * Margin α that negatives must be pushed beyond: terms `exp(negMargin - d_an)`; a finite number.
   * @defaultValue 1 (pytorch-metric-learning and the paper)
   */
  readonly negMargin?: number;
  /**
   * Margin below which positives stop being pulled: term `d_ap - posMargin`; a finite number.
   * @defaultValue 0 (pytorch-metric-learning)
   */
  readonly posMargin?: number;
  /**
   * How embeddings are compared. With a similarity (`isSimilarity: true`) the roles flip as PML's
   * `distance.margin` does: `s_an - negMargin` and `posMargin - s_ap`.
   * @defaultValue `lpDistance()` (Euclidean distance of L2-normalised rows, PML's `LpDistance`)
   */
  readonly distance?: Distance;
  /**
   * Reduces the per-element losses: one per positive pair for {@link liftedStructureLoss}, one per
   * anchor (batch row) for {@link generalizedLiftedStructureLoss}.
   * @defaultValue `meanReducer()` (PML)
   */
  readonly reducer?: Reducer;
}

interface Margins {
  readonly negMargin: number;
  readonly posMargin: number;
  readonly distance: Distance;
  readonly reducer: Reducer;
  /** PML's `distance.margin(x, y)` is `x - y` for a distance and `y - x` for a similarity. */
  readonly sign: number;
}

function readOptions(options: LiftedStructureLossOptions, fn: string): Margins {
  assertOptionsObject(options, fn);
  const negMargin = options.negMargin ?? 1;
  const posMargin = options.posMargin ?? 0;
  assertNumber(negMargin, 'negMargin', fn);
  assertNumber(posMargin, 'posMargin', fn);
  const distance = options.distance ?? lpDistance();
  assertDistanceOption(distance, fn, 'cosineSimilarity()');
  const reducer = options.reducer ?? meanReducer();
  assertReducerOption(reducer, fn);
  return { negMargin, posMargin, distance, reducer, sign: distance.isSimilarity ? -1 : 1 };
}

/**
 * Flat row-major indices of the non-zero entries of a `[n, m]` 0/1 matrix, in order (as
 * `torch.where`), via `indicesWhere` (`tf.unique`, the one synchronous op with a data-dependent
 * output size).
 */
function nonZeroPairs(mask: tf.Tensor2D): { rows: tf.Tensor1D; cols: tf.Tensor1D } {
  const m = mask.shape[1];
  // int32 throughout: a JS number operand would promote the indices to float32.
  const width = tf.scalar(m, 'int32');
  const flat = indicesWhere(tf.greater(tf.reshape(mask, [-1]), 0) as tf.Tensor1D);
  const rows = tf.floorDiv(flat, width) as tf.Tensor1D;
  return { rows, cols: tf.sub(flat, tf.mul(rows, width)) as tf.Tensor1D };
}

/**
 * Lifted structure loss (Oh Song, Xiang, Jegelka and Savarese 2016, "Deep Metric Learning via
 * Lifted Structured Feature Embedding"), as pytorch-metric-learning's `LiftedStructureLoss`: for
 * every positive pair (i, j),
 * `J_ij = log( Σ_{(i,k) ∈ N} exp(negMargin - d_ik) + Σ_{(j,l) ∈ N} exp(negMargin - d_jl) ) + d_ij - posMargin`
 * over the negative pairs that start at either end, and the pair's loss is `relu(J_ij)² / 2`. The
 * loss is the reducer over the ordered positive pairs (the mean by default), which is the paper's
 * `1/(2|P|) Σ relu(J)²` over unordered pairs. The log-sum-exp subtracts its maximum, so it stays
 * finite for any distance scale.
 *
 * `compute({ embeddings, labels })` uses every ordered pair of the batch (a row is not its own
 * positive); with `tuples` only those pairs (triplets (a, p, n) count as the pairs (a, p) and
 * (a, n); repeated pairs count repeatedly, as in PML); with `ref` the batch is compared against
 * `ref.embeddings` / `ref.labels` (no self-exclusion). PML selects the negatives "at either end" by
 * index: for a positive (i, j) it takes the negative pairs whose batch-row index is i or j, so with
 * a `ref` the second end is batch row j (none when j is not a batch row) — kept here as PML does.
 * A positive pair with no such negative has `J = d_ij - posMargin`. Tuple indices are not read
 * back to check.
 *
 * A batch with no positive or no negative pair gives 0 connected to `embeddings` (zero gradients).
 * Without tuples the positive pairs are listed with `tf.unique` on the `[n·m]` pair codes (a
 * synchronous op that reads the label-derived mask on the host; never the embeddings). Deliberate
 * difference from PML 2.8: PML returns 0 whenever each of its four pair lists holds at most one
 * entry; this computes the loss.
 *
 * @param options - `negMargin`, `posMargin`, `distance`, `reducer`; see {@link LiftedStructureLossOptions}.
 * @returns a `Loss` named `'liftedStructureLoss'`. Its `compute` takes `embeddings` `[n, d]`
 * float32, `labels` `[n]` int32, optional `tuples` (`[k]` int32 index vectors) and an optional
 * `ref` (`[m, d]` float32 embeddings, `[m]` int32 labels), and returns a float32 scalar owned by
 * the caller; it disposes none of its inputs. The reducer receives one loss per positive pair,
 * with the pair's anchor as `anchors`.
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `options` is not an object, a margin is not a
 * finite number, `distance` not a Distance or `reducer` not a Reducer; from `compute`,
 * `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT` or `DISPOSED` naming the
 * argument (`embeddings`, `labels`, `ref.*`, `tuples.*`).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { liftedStructureLoss } from '@contrastive/losses';
 *
 * const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]]);
 * const labels = tf.tensor1d([0, 0, 1, 1], 'int32');
 * liftedStructureLoss().compute({ embeddings, labels }).print(); // Tensor 1.4328247
 * ```
 * @category Losses
 */
export function liftedStructureLoss(options: LiftedStructureLossOptions = {}): Loss {
  const { negMargin, posMargin, distance, reducer, sign } = readOptions(options, LIFTED);

  return {
    name: LIFTED,
    compute(input: LossInput): tf.Scalar {
      const { embeddings, labels, tuples, ref } = validateLossInput(input, LIFTED);
      const n = embeddings.shape[0];
      const m = ref === undefined ? n : ref.embeddings.shape[0];
      const pairs = tuples === undefined ? undefined : tuplesToPairs(tuples);
      const nothingToCompare =
        pairs === undefined ? ref === undefined && n < 2 : pairs.anchorPos.shape[0] === 0 || pairs.anchorNeg.shape[0] === 0;
      if (nothingToCompare) return connectedZero(embeddings);

      return tf.tidy(() => {
        let anchors: tf.Tensor1D;
        let positives: tf.Tensor1D;
        let negatives: tf.Tensor2D; // [n, m] multiplicity of each negative pair
        let anyNegative: tf.Scalar | number = 1;
        if (pairs === undefined) {
          const masks = labelPairMasks(labels, ref?.labels);
          ({ rows: anchors, cols: positives } = nonZeroPairs(masks.positive));
          negatives = masks.negative;
          // PML: no negative pair in the batch -> zero loss.
          anyNegative = tf.minimum(tf.sum(negatives), 1) as tf.Scalar;
        } else {
          anchors = pairs.anchorPos;
          positives = pairs.positive;
          negatives = pairCountMatrix(pairs.anchorNeg, pairs.negative, n, m);
        }
        if (anchors.shape[0] === 0) return connectedZero(embeddings);

        const matrix = distance.pairwise(embeddings, ref?.embeddings);
        // Per batch row r: M_r = max over its negatives of v = margin(negMargin, d) (a constant),
        // T_r = Σ_k c_rk exp(v_rk - M_r), and whether the row has a negative at all.
        const exponents = tf.mul(tf.sub(negMargin, matrix), sign) as tf.Tensor2D;
        const isNegative = tf.greater(negatives, 0);
        const kept = tf.where(isNegative, exponents, tf.fill(exponents.shape, Number.NEGATIVE_INFINITY)) as tf.Tensor2D;
        const counts = tf.sum(negatives, 1, true);
        const hasRow = tf.greater(counts, 0);
        const rowMax = tf.where(hasRow, constantRowMax(kept), tf.zerosLike(counts));
        const rowSum = tf.sum(tf.mul(negatives, tf.exp(tf.sub(kept, rowMax))), 1) as tf.Tensor1D;
        const rowShift = tf.reshape(rowMax, [-1]) as tf.Tensor1D;
        const rowHas = tf.reshape(tf.cast(hasRow, 'float32'), [-1]) as tf.Tensor1D;

        // Second end j: a batch row only when j < n (with a ref, j indexes the reference); index n
        // reads a padding entry without negatives. When i = j the pair's negatives are i's, once.
        const pad = (row: tf.Tensor): tf.Tensor1D => tf.concat([row, tf.zeros([1])]) as tf.Tensor1D;
        const secondEnd = tf.minimum(positives, tf.scalar(n, 'int32')) as tf.Tensor1D;
        const distinct = tf.cast(tf.notEqual(anchors, positives), 'float32');
        const shiftA = gatherRows(rowShift, anchors);
        const sumA = gatherRows(rowSum, anchors);
        const hasA = tf.gather(rowHas, anchors);
        const shiftP = gatherRows(pad(rowShift), secondEnd);
        const sumP = tf.mul(gatherRows(pad(rowSum), secondEnd), distinct);
        const hasP = tf.mul(tf.gather(pad(rowHas), secondEnd), distinct);
        // The shift is the larger maximum of the ends that have negatives (0 when neither has).
        const both = tf.mul(hasA, hasP);
        const shift = tf.addN([
          tf.mul(both, tf.maximum(shiftA, shiftP)),
          tf.mul(tf.sub(hasA, both), shiftA),
          tf.mul(tf.sub(hasP, both), shiftP),
        ]);
        const scaledA = tf.mul(sumA, tf.exp(tf.minimum(tf.sub(shiftA, shift), 0)));
        const scaledP = tf.mul(sumP, tf.exp(tf.minimum(tf.sub(shiftP, shift), 0)));
        const hasAny = tf.maximum(hasA, hasP);
        // A non-empty sum is >= 1 (its maximal term is exp(0)); an empty one becomes log(1) = 0.
        const logSumExp = tf.add(shift, tf.log(tf.add(tf.add(scaledA, scaledP), tf.sub(1, hasAny))));

        const flatIndex = tf.add(tf.mul(anchors, tf.scalar(m, 'int32')), positives) as tf.Tensor1D;
        const positiveValues = gatherRows(tf.reshape(matrix, [-1]) as tf.Tensor1D, flatIndex);
        const total = tf.add(logSumExp, tf.mul(tf.sub(positiveValues, posMargin), sign));
        const losses = tf.mul(tf.div(tf.square(tf.relu(total)), 2), anyNegative) as tf.Tensor1D;
        return reducer.reduce({ losses, anchors, numAnchors: n }, embeddings);
      });
    },
  };
}

/**
 * Generalized lifted structure loss (Hermans, Beyer and Leibe 2017, "In Defense of the Triplet Loss
 * for Person Re-Identification", section 2), as pytorch-metric-learning's
 * `GeneralizedLiftedStructureLoss`: for every anchor a (batch row)
 * `l_a = relu( logsumexp_{p ∈ P(a)} (d_ap - posMargin) + logsumexp_{n ∈ N(a)} (negMargin - d_an) )`,
 * where an empty set's log-sum-exp is 0 (as PML's `logsumexp`, so an anchor with only negatives
 * still pays `relu(logsumexp_n(...))`). The loss is the reducer over anchors (the mean over every
 * row by default). Both log-sum-exps subtract their maximum.
 *
 * `compute({ embeddings, labels })` uses every pair of the batch (a row is not its own positive);
 * with `tuples` only those pairs (triplets (a, p, n) count as the pairs (a, p) and (a, n); a pair
 * listed twice counts once, as PML's pair masks); with `ref` the batch is compared against
 * `ref.embeddings` / `ref.labels` (no self-exclusion). Tuple indices must lie in range: their
 * minimum and maximum are read back to check (`INVALID_ARGUMENT` naming the field).
 *
 * A batch with no pair at all (one row, no `ref`; or empty tuples) gives 0 connected to
 * `embeddings`. Deliberate difference from PML 2.8: PML returns 0 whenever each of its four pair
 * lists holds at most one entry; this computes the loss.
 *
 * @param options - `negMargin`, `posMargin`, `distance`, `reducer`; see {@link LiftedStructureLossOptions}.
 * @returns a `Loss` named `'generalizedLiftedStructureLoss'`. Its `compute` takes `embeddings`
 * `[n, d]` float32, `labels` `[n]` int32, optional `tuples` (`[k]` int32 index vectors) and an
 * optional `ref` (`[m, d]` float32 embeddings, `[m]` int32 labels), and returns a float32 scalar
 * owned by the caller; it disposes none of its inputs and never reads the embeddings back.
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `options` is not an object, a margin is not a
 * finite number, `distance` not a Distance or `reducer` not a Reducer; from `compute`,
 * `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT` or `DISPOSED` naming the
 * argument (`embeddings`, `labels`, `ref.*`, `tuples.*`).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { generalizedLiftedStructureLoss } from '@contrastive/losses';
 *
 * const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]]);
 * const labels = tf.tensor1d([0, 0, 1, 1], 'int32');
 * generalizedLiftedStructureLoss().compute({ embeddings, labels }).print(); // Tensor 0.9730964
 * ```
 * @category Losses
 */
export function generalizedLiftedStructureLoss(options: LiftedStructureLossOptions = {}): Loss {
  const { negMargin, posMargin, distance, reducer, sign } = readOptions(options, GENERALIZED);
  return matrixPairLoss(GENERALIZED, distance, reducer, (matrix, { positive, negative }) => {
    const positiveExponent = tf.mul(tf.sub(matrix, posMargin), sign) as tf.Tensor2D;
    const negativeExponent = tf.mul(tf.sub(negMargin, matrix), sign) as tf.Tensor2D;
    return tf.relu(
      tf.add(maskedLogSumExp(positiveExponent, positive, false), maskedLogSumExp(negativeExponent, negative, false)),
    ) as tf.Tensor1D;
  });
}
