import * as tf from '@tensorflow/tfjs-core';
import { dotProductSimilarity } from '@contrastive/core';
import type { Distance, Embeddings, Labels, LossInput, Loss, Tuples } from '@contrastive/core';
import {
  assertDistanceOption,
  assertReducerOption,
  constantRowMax,
  gatherRows,
  identityMatrix,
  indicesWhere,
  oneHotRows,
  tuplesToPairs,
  validateLossInput,
} from './internal/pairs.js';
import { connectedZero, meanReducer } from './reducers.js';
import type { Reducer } from './reducers.js';
import { assertOptionsObject } from './internal/options.js';

const NAME = 'nPairsLoss';

/**
 * Options of {@link nPairsLoss}.
 * @category Losses
 */
export interface NPairsLossOptions {
  /**
   * How anchors and positives are compared. A similarity is used as is; a distance
   * (`isSimilarity: false`) is negated, so that larger always means closer.
   * @defaultValue `dotProductSimilarity()` (the paper's inner product; pytorch-metric-learning's
   * `NPairsLoss` default)
   */
  readonly distance?: Distance;
  /**
   * Reduces the per-pair cross-entropies (`anchors` are the pairs' anchor rows).
   * @defaultValue `meanReducer()` (pytorch-metric-learning's default)
   */
  readonly reducer?: Reducer;
}

/** `[k]` int32 anchor and positive rows of the chosen pairs, one pair per label. */
interface ChosenPairs {
  readonly anchors: tf.Tensor1D;
  readonly positives: tf.Tensor1D;
}

/**
 * Without tuples PML takes every ordered same-label pair in row-major order and keeps, for each label,
 * the first one: its anchor is the label's first row and its positive the label's second row.
 * `argMax` over a one-hot column returns the first row holding the label; labels with a single row
 * are dropped.
 */
function pairsFromLabels(labels: Labels): ChosenPairs {
  const n = labels.shape[0];
  const { values, indices } = tf.unique(labels);
  const classes = values.shape[0];
  const members = oneHotRows(indices, classes);
  const first = tf.argMax(members, 0) as tf.Tensor1D;
  const isFirst = tf.sum(oneHotRows(first, n), 0);
  const others = tf.mul(members, tf.sub(1, tf.expandDims(isFirst, 1)));
  const second = tf.argMax(others, 0) as tf.Tensor1D;
  const keep = indicesWhere(tf.greater(tf.sum(members, 0), 1) as tf.Tensor1D);
  return { anchors: tf.gather(first, keep) as tf.Tensor1D, positives: tf.gather(second, keep) as tf.Tensor1D };
}

/**
 * With tuples PML keeps the positive pairs (`anchorPos`/`positive`, or a triplet's anchor and
 * positive) and, for each anchor label, the first such pair in the tuples' order (`np.unique`'s
 * `return_index`).
 */
function pairsFromTuples(tuples: Tuples, labels: Labels): ChosenPairs | null {
  const { anchorPos: anchors, positive: positives } = tuplesToPairs(tuples);
  if (anchors.shape[0] === 0) return null;
  const { values, indices } = tf.unique(tf.gather(labels, anchors));
  const first = tf.argMax(oneHotRows(indices, values.shape[0]), 0);
  return { anchors: tf.gather(anchors, first) as tf.Tensor1D, positives: tf.gather(positives, first) as tf.Tensor1D };
}

/** Cross-entropy of each row of `[k, k]` logits with target class = its own index, max-shifted. */
function diagonalCrossEntropy(logits: tf.Tensor2D): tf.Tensor1D {
  const k = logits.shape[0];
  const rowMax = constantRowMax(logits);
  const logSumExp = tf.add(tf.reshape(rowMax, [-1]), tf.log(tf.sum(tf.exp(tf.sub(logits, rowMax)), 1)));
  const identity = identityMatrix(k);
  return tf.sub(logSumExp, tf.sum(tf.mul(logits, identity), 1)) as tf.Tensor1D;
}

/**
 * N-pair loss (Sohn 2016, "Improved Deep Metric Learning with Multi-class N-pair Loss Objective"),
 * as pytorch-metric-learning's `NPairsLoss`: one (anchor, positive) pair is chosen per label, and
 * each anchor `a_k` is classified against the positives of all chosen pairs,
 * `-log(exp(s(a_k, p_k)) / Σ_l exp(s(a_k, p_l)))` (the positives of the other labels are its
 * negatives), reduced over the pairs (mean by default). With the default dot product this is the
 * paper's N-pair-mc loss `log(1 + Σ_{l≠k} exp(a_kᵀp_l - a_kᵀp_k))`.
 *
 * The pairs are chosen exactly as PML's `convert_to_pos_pairs_with_unique_labels`: without `tuples`,
 * each label with at least two rows contributes its first row as anchor and its second row as
 * positive; with `tuples` (pairs, or triplets whose negatives are ignored), each anchor label
 * contributes the first positive pair in the tuples' order. The paper's L2 penalty on the embeddings
 * is not part of the loss (PML leaves it to an embedding regularizer); add it to the objective if you
 * want it. A reference set is rejected, as PML does.
 *
 * Fewer than one label with a pair gives 0 connected to `embeddings` (zero gradients); a single
 * chosen pair gives a cross-entropy of 0.
 *
 * @param options - distance and reducer; see {@link NPairsLossOptions}.
 * @returns a `Loss` (from `@contrastive/core`) named `'nPairsLoss'`. Its `compute` takes
 * `embeddings` `[n, d]` float32, `labels` `[n]` int32 and optional `tuples` (`[k]` int32 index
 * vectors; indices must lie in range: their minimum and maximum are read back to check); it
 * returns a float32 scalar owned by the caller and disposes none of its inputs. It never reads the
 * embeddings back; the pairs are chosen from the labels with `tf.unique`, which on WebGL reads the
 * int32 labels back.
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `options` is not an object, `distance` is not a
 * Distance or `reducer` not a Reducer; from `compute`, `INVALID_ARGUMENT` for a `ref`, and
 * `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT` or `DISPOSED` naming the
 * argument (`embeddings`, `labels`, `tuples.*`).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { nPairsLoss } from '@contrastive/losses';
 *
 * // Rows 0, 1 are the anchors of labels 0 and 1; rows 2, 3 their positives.
 * const embeddings = tf.tensor2d([[1, 0], [0, 1], [0.8, 0.6], [0.6, 0.8]]);
 * const labels = tf.tensor1d([0, 1, 0, 1], 'int32');
 * nPairsLoss().compute({ embeddings, labels }).print(); // Tensor 0.5981389
 * ```
 * @category Losses
 */
export function nPairsLoss(options: NPairsLossOptions = {}): Loss {
  assertOptionsObject(options, NAME);
  const distance = options.distance ?? dotProductSimilarity();
  assertDistanceOption(distance, NAME);
  const reducer = options.reducer ?? meanReducer();
  assertReducerOption(reducer, NAME);

  return {
    name: NAME,
    compute(input: LossInput): tf.Scalar {
      const { embeddings, labels, tuples } = validateLossInput(input, NAME, {
        unsupported: "pytorch-metric-learning's NPairsLoss compares a batch with itself",
      });
      const zero = (): tf.Scalar => connectedZero(embeddings);
      if (tuples === undefined && embeddings.shape[0] < 2) return zero();
      return tf.tidy(() => {
        const pairs = tuples === undefined ? pairsFromLabels(labels) : pairsFromTuples(tuples, labels);
        if (pairs === null || pairs.anchors.shape[0] === 0) return zero();
        return chosenPairsLoss(embeddings, pairs, distance, reducer);
      });
    },
  };
}

function chosenPairsLoss(embeddings: Embeddings, pairs: ChosenPairs, distance: Distance, reducer: Reducer): tf.Scalar {
  const anchors = gatherRows(embeddings, pairs.anchors);
  const positives = gatherRows(embeddings, pairs.positives);
  const matrix = distance.pairwise(anchors, positives);
  const logits = distance.isSimilarity ? matrix : (tf.neg(matrix) as tf.Tensor2D);
  const losses = diagonalCrossEntropy(logits);
  return reducer.reduce({ losses, anchors: pairs.anchors, numAnchors: embeddings.shape[0] }, embeddings);
}
