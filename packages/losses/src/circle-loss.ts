import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, cosineSimilarity } from '@contrastive/core';
import type { Distance, Loss } from '@contrastive/core';
import { avgNonZeroReducer } from './reducers.js';
import type { Reducer } from './reducers.js';
import {
  assertDistanceOption,
  assertReducerOption,
  maskedLogSumExp,
  matrixPairLoss,
  rowHasAny,
  stopGradient,
} from './internal/pairs.js';
import { assertOptionsObject } from './internal/options.js';

const NAME = 'circleLoss';

/**
 * Options of {@link circleLoss}.
 * @category Losses
 */
export interface CircleLossOptions {
  /**
   * Relaxation margin m in [0, 1]: optima `O_p = 1 + m`, `O_n = -m`, decision margins
   * `Δ_p = 1 - m`, `Δ_n = m`.
   * @defaultValue 0.4 (pytorch-metric-learning's `CircleLoss`; the paper's fine-grained retrieval setting)
   */
  readonly m?: number;
  /**
   * Scale γ of the similarities; a finite number > 0. Large values (the paper uses up to 256) make
   * large exponents: the log-sum-exps subtract their maximum.
   * @defaultValue 80 (pytorch-metric-learning)
   */
  readonly gamma?: number;
  /**
   * How embeddings are compared: a similarity of L2-normalised rows (`isSimilarity` and
   * `normalizes`), since the optima assume cosine similarities in [-1, 1] (PML asserts
   * `CosineSimilarity`).
   * @defaultValue `cosineSimilarity()`
   */
  readonly distance?: Distance;
  /**
   * Reduces the `[n]` per-anchor losses (anchors = batch rows).
   * @defaultValue `avgNonZeroReducer()` (PML: the mean over anchors with a non-zero loss)
   */
  readonly reducer?: Reducer;
}

/**
 * Circle loss (Sun, Cheng, Zhang, Zhang, Zheng, Wang and Wei 2020, "Circle Loss: A Unified
 * Perspective of Pair Similarity Optimization"), for class labels, as pytorch-metric-learning's
 * `CircleLoss`: for every anchor a (batch row) with at least one positive and one negative,
 * `l_a = softplus( logsumexp_{p ∈ P(a)} (-γ α_p (s_ap - Δ_p)) + logsumexp_{n ∈ N(a)} (γ α_n (s_an - Δ_n)) )`
 * with the self-paced weights `α_p = relu(1 + m - s_ap)` and `α_n = relu(s_an + m)` held constant
 * in the gradient (detached, as in PML and the paper's code), `Δ_p = 1 - m`, `Δ_n = m`; other
 * anchors give 0. The loss is the reducer over anchors (by default the mean of the non-zero ones).
 *
 * `compute({ embeddings, labels })` uses every pair of the batch (a row is not its own positive);
 * with `tuples` only those pairs (triplets (a, p, n) count as the pairs (a, p) and (a, n); a pair
 * listed twice counts once; a pair listed as both positive and negative takes the negative logit
 * in both sums, as PML's overwrite does); with `ref` the batch is compared against
 * `ref.embeddings` / `ref.labels` (no self-exclusion). Tuple indices must lie in range: their
 * minimum and maximum are read back to check (`INVALID_ARGUMENT` naming the field).
 *
 * A batch without an anchor that has both a positive and a negative gives 0 connected to
 * `embeddings` (zero gradients). Deliberate difference from PML 2.8: PML returns 0 whenever each
 * of its four pair lists holds at most one entry (e.g. one mined positive and one negative pair);
 * this computes the loss.
 *
 * @param options - `m`, `gamma`, `distance`, `reducer`; see {@link CircleLossOptions}.
 * @returns a `Loss` named `'circleLoss'`. Its `compute` takes `embeddings` `[n, d]` float32,
 * `labels` `[n]` int32, optional `tuples` (`[k]` int32 index vectors) and an optional `ref`
 * (`[m, d]` float32 embeddings, `[m]` int32 labels), and returns a float32 scalar owned by the
 * caller; it disposes none of its inputs and never reads the embeddings back.
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `options` is not an object, `m` is not in
 * [0, 1], `gamma` not a finite number > 0, `distance` not a similarity of normalised rows or
 * `reducer` not a Reducer; from `compute`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`,
 * `INVALID_ARGUMENT` or `DISPOSED` naming the argument (`embeddings`, `labels`, `ref.*`, `tuples.*`).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { circleLoss } from '@contrastive/losses';
 *
 * const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]]);
 * const labels = tf.tensor1d([0, 0, 1, 1], 'int32');
 * circleLoss().compute({ embeddings, labels }).print(); // Tensor 3.2008657
 * ```
 * @category Losses
 */
export function circleLoss(options: CircleLossOptions = {}): Loss {
  assertOptionsObject(options, NAME);
  const m = options.m ?? 0.4;
  const gamma = options.gamma ?? 80;
  assertNumber(m, 'm', NAME, { min: 0, max: 1 });
  assertNumber(gamma, 'gamma', NAME, { min: 0, exclusiveMin: true });
  const distance = options.distance ?? cosineSimilarity();
  assertDistanceOption(distance, NAME, 'cosineSimilarity()');
  if (!distance.isSimilarity || distance.normalizes !== true) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'distance' passed to '${NAME}' must be a similarity of L2-normalised rows (e.g. cosineSimilarity()), got ${distance.name}`,
    );
  }
  const reducer = options.reducer ?? avgNonZeroReducer();
  assertReducerOption(reducer, NAME);

  return matrixPairLoss(NAME, distance, reducer, (matrix, { positive, negative }) => {
    const fixed = stopGradient(matrix);
    const alphaPositive = tf.relu(tf.sub(1 + m, fixed));
    const alphaNegative = tf.relu(tf.add(fixed, m));
    const positiveLogits = tf.mul(tf.mul(alphaPositive, tf.sub(matrix, 1 - m)), -gamma);
    const negativeLogits = tf.mul(tf.mul(alphaNegative, tf.sub(matrix, m)), gamma);
    // PML writes the positive logits, then the negative ones over them: a pair in both masks is negative.
    const logits = tf.add(tf.mul(negative, negativeLogits), tf.mul(tf.sub(1, negative), positiveLogits)) as tf.Tensor2D;
    const sum = tf.add(maskedLogSumExp(logits, positive, false), maskedLogSumExp(logits, negative, false));
    const valid = tf.mul(rowHasAny(positive), rowHasAny(negative));
    return tf.mul(tf.softplus(sum), valid) as tf.Tensor1D;
  });
}
