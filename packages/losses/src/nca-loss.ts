import * as tf from '@tensorflow/tfjs-core';
import { assertNumber, lpDistance } from '@contrastive/core';
import type { Distance, LossInput, Loss } from '@contrastive/core';
import { connectedZero, meanReducer } from './reducers.js';
import type { Reducer } from './reducers.js';
import {
  assertDistanceOption,
  assertReducerOption,
  gatherRows,
  identityMatrix,
  indicesWhere,
  minerWeights,
  ncaTerms,
  sameLabelMask,
  validateLossInput,
} from './internal/pairs.js';
import { assertOptionsObject } from './internal/options.js';

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
 * are ignored, as in PML. Tuple indices must lie in range: their minimum and maximum are read back
 * to check (`INVALID_ARGUMENT` naming the field).
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
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `options` is not an object, `softmaxScale` is
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
  assertOptionsObject(options, NAME);
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
      if (ref === undefined && n < 2) return connectedZero(embeddings);

      return tf.tidy(() => {
        const matrix = distance.pairwise(embeddings, ref?.embeddings);
        // Larger must mean closer: PML negates distances the same way.
        const logits = tf.mul(distance.isSimilarity ? matrix : tf.neg(matrix), softmaxScale) as tf.Tensor2D;
        let positive = sameLabelMask(labels, ref?.labels);
        let valid: tf.Tensor2D | null = null;
        if (ref === undefined) {
          // A row is not its own neighbour: PML fills the diagonal with -inf.
          const notSelf = tf.equal(identityMatrix(n), 0) as tf.Tensor2D;
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
