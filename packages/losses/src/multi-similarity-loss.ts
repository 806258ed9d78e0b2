import * as tf from '@tensorflow/tfjs-core';
import { assertNumber, cosineSimilarity } from '@contrastive/core';
import type { Distance, Loss } from '@contrastive/core';
import { meanReducer } from './reducers.js';
import type { Reducer } from './reducers.js';
import { assertDistanceOption, assertReducerOption, maskedLogSumExp, matrixPairLoss } from './internal/pairs.js';
import { assertOptionsObject } from './internal/options.js';

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
 * every same-label reference row is a positive (no self-exclusion). Tuple indices must lie in range:
 * their minimum and maximum are read back to check (`INVALID_ARGUMENT` naming the field).
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
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `options` is not an object, `alpha` or `beta`
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
  assertOptionsObject(options, NAME);
  const alpha = options.alpha ?? 2;
  const beta = options.beta ?? 50;
  const base = options.base ?? 0.5;
  assertNumber(alpha, 'alpha', NAME, { min: 0, exclusiveMin: true });
  assertNumber(beta, 'beta', NAME, { min: 0, exclusiveMin: true });
  assertNumber(base, 'base', NAME);
  const distance = options.distance ?? cosineSimilarity();
  assertDistanceOption(distance, NAME, 'cosineSimilarity()');
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
