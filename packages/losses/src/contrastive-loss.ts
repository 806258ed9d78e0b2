import * as tf from '@tensorflow/tfjs-core';
import { assertNumber, contrastiveSelfLossNative, l2Normalize, lpDistance, pairMarginGradNative, pairMarginSumsNative } from '@contrastive/core';
import type { Distance, Labels, LossInput, Loss, Tuples } from '@contrastive/core';
import { assertDistanceOption, assertReducerOption, validateLossInput } from './internal/pairs.js';
import { avgNonZeroReducer, connectedZero } from './reducers.js';
import type { Reducer } from './reducers.js';
import { assertOptionsObject } from './internal/options.js';
import { nativeRowsOn } from './info-nce-engine.js';

const NAME = 'contrastiveLoss';

// ---------------------------------------------------------------------------------------------
// Helpers shared by the pair and triplet losses of this package (contrastiveLoss,
// tripletMarginLoss, lmnnLoss). Not exported from the package.
// ---------------------------------------------------------------------------------------------

/**
 * The values of an int32 labels or index tensor (never embeddings: no gradient flows through them).
 * The only read-back of the pair and triplet losses, where they list pairs or triplets: that list
 * has a data-dependent size, and tf.js has no synchronous on-device compaction (`tf.unique`, which
 * `ntXentLoss` uses, reads its input back the same way on every backend).
 * @internal
 */
export function readIndices(tensor: tf.Tensor): Int32Array {
  return tensor.dataSync() as Int32Array;
}

/** Anchor (row) and partner (column) indices of pairs, on the host. @internal */
export interface HostPairs {
  readonly anchors: Int32Array;
  readonly others: Int32Array;
}

/**
 * `[n, m]` float32 same-label indicator, without the diagonal when the batch is compared with
 * itself, and its different-label complement. Labels become compact ids (`tf.unique`, exact for any
 * int32) that float32 holds exactly, so the comparison is a broadcast subtraction — on wasm a
 * broadcast `tf.equal` is an order of magnitude slower.
 * @internal
 */
export function labelMasks(labels: Labels, refLabels: Labels | undefined): { same: tf.Tensor2D; different: tf.Tensor2D } {
  const n = labels.shape[0];
  const { indices } = tf.unique(refLabels === undefined ? labels : tf.concat([labels, refLabels]));
  const ids = tf.cast(indices, 'float32');
  const rowIds = refLabels === undefined ? ids : tf.slice(ids, [0], [n]);
  const colIds = refLabels === undefined ? ids : tf.slice(ids, [n], [refLabels.shape[0]]);
  const different = tf.minimum(tf.abs(tf.sub(tf.expandDims(rowIds, 1), tf.expandDims(colIds, 0))), 1) as tf.Tensor2D;
  const sameOrSelf = tf.sub(1, different);
  if (refLabels !== undefined) return { same: sameOrSelf as tf.Tensor2D, different };
  // An int32 oneHot, then cast (tfjs-backend-wasm 4.22 fills a float32 oneHot with int32 bit
  // patterns); oneHot needs a depth >= 2.
  const identity = n === 1 ? tf.ones([1, 1]) : tf.cast(tf.oneHot(tf.range(0, n, 1, 'int32'), n), 'float32');
  return { same: tf.sub(sameOrSelf, identity) as tf.Tensor2D, different };
}

/**
 * Every ordered pair of PML's `get_all_pairs_indices`: positives are same-label (row, column) pairs,
 * without the diagonal when the batch is compared with itself (`refLabels` undefined); negatives are
 * the different-label pairs. Row-major order, as `torch.where`.
 * @internal
 */
export function allHostPairs(labels: Int32Array, refLabels: Int32Array | undefined): { positive: HostPairs; negative: HostPairs } {
  const self = refLabels === undefined;
  const columns = refLabels ?? labels;
  const n = labels.length;
  const m = columns.length;
  let positives = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) if (columns[j] === labels[i] && !(self && i === j)) positives++;
  }
  const negatives = n * m - positives - (self ? n : 0);
  const positive = { anchors: new Int32Array(positives), others: new Int32Array(positives) };
  const negative = { anchors: new Int32Array(negatives), others: new Int32Array(negatives) };
  let p = 0;
  let q = 0;
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    for (let j = 0; j < m; j++) {
      if (columns[j] === label) {
        if (self && i === j) continue;
        positive.anchors[p] = i;
        positive.others[p++] = j;
      } else {
        negative.anchors[q] = i;
        negative.others[q++] = j;
      }
    }
  }
  return { positive, negative };
}

/**
 * The positive pairs of `allHostPairs` alone: `O(n + m + p)` work through a label index.
 * @internal
 */
export function hostPositivePairs(labels: Int32Array, refLabels: Int32Array | undefined): HostPairs {
  const self = refLabels === undefined;
  const columns = refLabels ?? labels;
  const byLabel = new Map<number, number[]>();
  columns.forEach((label, j) => {
    const group = byLabel.get(label);
    if (group === undefined) byLabel.set(label, [j]);
    else group.push(j);
  });
  let total = 0;
  labels.forEach((label) => {
    total += (byLabel.get(label)?.length ?? 0) - (self ? 1 : 0);
  });
  const anchors = new Int32Array(total);
  const others = new Int32Array(total);
  let t = 0;
  labels.forEach((label, i) => {
    for (const j of byLabel.get(label) ?? []) {
      if (self && j === i) continue;
      anchors[t] = i;
      others[t++] = j;
    }
  });
  return { anchors, others };
}

/**
 * `[k]` float32 entries `matrix[rows[t], cols[t]]` of an `[n, m]` matrix. A `tf.gatherND` with a
 * custom gradient, a `tf.scatterND` (which adds up repeated entries): `tf.gather`'s own gradient is
 * an unsorted segment sum, which tfjs-backend-cpu 4.22 runs in O(segments × entries) — minutes for
 * the n·m segments of a 1024-row batch.
 * @internal
 */
export function gatherEntries(matrix: tf.Tensor2D, rows: tf.Tensor1D, cols: tf.Tensor1D): tf.Tensor1D {
  const shape = matrix.shape;
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const indices = tf.stack([rows, cols], 1);
    save([indices]);
    return {
      value: tf.gatherND(x, indices),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.scatterND(saved[0] as tf.Tensor, dy, shape),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(matrix) as tf.Tensor1D;
}

/**
 * `[k, m]` rows `matrix[rows[t]]` of an `[n, m]` matrix: a `tf.gather` whose gradient is a
 * `tf.scatterND` (see `gatherEntries` for why not `tf.gather`'s own).
 * @internal
 */
export function gatherRows(matrix: tf.Tensor2D, rows: tf.Tensor1D): tf.Tensor2D {
  const shape = matrix.shape;
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const indices = tf.expandDims(rows, 1);
    save([indices]);
    return {
      value: tf.gather(x, rows),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.scatterND(saved[0] as tf.Tensor, dy, shape),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(matrix) as tf.Tensor2D;
}

/** `[k]` int32 tensor of host indices. @internal */
export function indexTensor(values: Int32Array): tf.Tensor1D {
  return tf.tensor1d(values, 'int32');
}

// ---------------------------------------------------------------------------------------------

/**
 * Options of {@link contrastiveLoss}.
 * @category Losses
 */
export interface ContrastiveLossOptions {
  /**
   * Margin of the positive pairs, a finite number. With a distance a positive pair costs
   * `relu(d - posMargin)` (it contributes while farther apart than `posMargin`); with a similarity it
   * costs `relu(posMargin - s)`.
   * @defaultValue 0 (pytorch-metric-learning's `ContrastiveLoss`)
   */
  readonly posMargin?: number;
  /**
   * Margin of the negative pairs, a finite number. With a distance a negative pair costs
   * `relu(negMargin - d)` (it contributes while closer than `negMargin`); with a similarity it costs
   * `relu(s - negMargin)`.
   * @defaultValue 1 (pytorch-metric-learning's `ContrastiveLoss`)
   */
  readonly negMargin?: number;
  /**
   * How embeddings are compared. A distance (`isSimilarity: false`) or a similarity: the margins
   * flip sides accordingly (with a similarity choose e.g. `posMargin: 1, negMargin: 0`).
   * @defaultValue `lpDistance()`: Euclidean distance of L2-normalized rows (PML's default `LpDistance`)
   */
  readonly distance?: Distance;
  /**
   * Reduces the `[p]` positive-pair losses and, separately, the `[q]` negative-pair losses; the two
   * results are summed. Each element carries its anchor row, so `perAnchorReducer` works too.
   * @defaultValue `avgNonZeroReducer()` (PML: each sub-loss averaged over its non-zero pairs)
   */
  readonly reducer?: Reducer;
}

/**
 * The margin contrastive (pair) loss of Chopra, Hadsell & LeCun 2005 ("Learning a Similarity Metric
 * Discriminatively, with Application to Face Verification") and Hadsell, Chopra & LeCun 2006
 * ("Dimensionality Reduction by Learning an Invariant Mapping"), as pytorch-metric-learning's
 * `ContrastiveLoss`: positive pairs are pulled together, `relu(d_ap - posMargin)`, negative pairs
 * pushed apart until they are `negMargin` away, `relu(negMargin - d_an)` (for a similarity
 * `relu(posMargin - s_ap)` and `relu(s_an - negMargin)`). The positive and the negative pair losses
 * are each reduced with `reducer` (by default averaged over the pairs with a non-zero loss), and the
 * two are summed.
 *
 * `compute({ embeddings, labels })` uses every ordered pair (i, j), i ≠ j, of the batch: same label
 * → positive, different → negative. With `tuples` it uses only those pairs; triplets (a, p, n)
 * become the pairs (a, p) and (a, n), as PML's `convert_to_pairs`. With `ref` it compares the batch
 * with `ref.embeddings` / `ref.labels`, and a same-label reference row is a positive even when it
 * is a copy of the anchor (PML's `ref_emb`). Tuple indices must lie in range (rows of the batch,
 * columns of the reference or batch); their minimum and maximum are read back to check (`INVALID_ARGUMENT` naming the field).
 *
 * **Siamese networks.** A Siamese pair loss (Bromley et al. 1993, "Signature Verification using a
 * 'Siamese' Time Delay Neural Network"; Chopra et al. 2005) embeds the two inputs of each labelled
 * pair `(x1_k, x2_k, same_k)` with one shared encoder and penalises the distance of the two
 * embeddings. Stack the two branches as one batch, `embeddings = concat([e(x1), e(x2)])` (`[2K, d]`),
 * and name the pairs as tuples: `{ kind: 'pairs', anchorPos: k, positive: K + k }` for the similar
 * pairs and `{ anchorNeg: k, negative: K + k }` for the dissimilar ones (labels are then unused;
 * pass any `[2K]` int32). Equivalently keep the second branch in `ref` and index it with `k`.
 * With `negMargin: m`, `distance: lpDistance({ normalize: false })` and `reducer: meanReducer()`
 * this is the mean over similar pairs of `d` plus the mean over dissimilar pairs of `relu(m - d)`
 * (`sumReducer()` for the sums). Hadsell et al.'s squared form `½d²` / `½relu(m - d)²` and Chopra et
 * al.'s exponential energy are not reproduced exactly: `lpDistance({ power: 2, normalize: false })`
 * gives `d²` for the similar pairs but `relu(m - d²)` for the dissimilar ones.
 *
 * A batch without any pair gives 0 connected to `embeddings` (zero gradients); a missing positive
 * (or negative) sub-loss counts as 0. One deliberate difference from PML 2.8: PML returns 0 whenever
 * each of its four index lists holds at most one entry (e.g. one mined positive and one negative
 * pair); this computes the loss of those pairs.
 *
 * @param options - margins, distance and reducer; see {@link ContrastiveLossOptions}.
 * @returns a `Loss` (from `@contrastive/core`) named `'contrastiveLoss'`. Its `compute` takes `embeddings` `[n, d]`
 * float32, `labels` `[n]` int32, optional `tuples` (`[k]` int32 index vectors) and an optional `ref`
 * (`[m, d]` float32 embeddings, `[m]` int32 labels); it returns a float32 scalar owned by the caller
 * and disposes none of its inputs. It computes the distance's `[n, m]` matrix once. With the
 * default reducer and no `tuples` everything stays in that matrix (masked element-wise ops; the
 * average over non-zero losses ignores the masked zeros, so this equals reducing the pair list).
 * With another reducer the pairs of `labels` are listed on the host — the labels (int32, never the
 * embeddings) are read back, since the number of pairs is data-dependent — and gathered, as are
 * given `tuples`; a gather of all n·m pairs is much slower than the dense path for large batches.
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `options` is not an object, a margin is not a
 * finite number, or `distance` / `reducer` is not a Distance / Reducer; from `compute`,
 * `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT` or `DISPOSED` naming the
 * argument (`embeddings`, `labels`, `ref.embeddings`, `ref.labels`, `tuples.*`).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { contrastiveLoss } from '@contrastive/losses';
 *
 * const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]]);
 * const labels = tf.tensor1d([0, 0, 1, 1], 'int32');
 * contrastiveLoss().compute({ embeddings, labels }).print(); // Tensor 0.7380283
 * ```
 * @category Losses
 */
export function contrastiveLoss(options: ContrastiveLossOptions = {}): Loss {
  assertOptionsObject(options, NAME);
  const posMargin = options.posMargin ?? 0;
  const negMargin = options.negMargin ?? 1;
  assertNumber(posMargin, 'posMargin', NAME);
  assertNumber(negMargin, 'negMargin', NAME);
  const distance = options.distance ?? lpDistance();
  assertDistanceOption(distance, NAME);
  const reducer = options.reducer ?? avgNonZeroReducer();
  assertReducerOption(reducer, NAME, 'avgNonZeroReducer()');
  // With the default reducer (average over non-zero losses) every pair's loss can stay in its [n, m]
  // matrix, with 0 for the pairs that are not positive (or not negative): the reducer ignores zeros,
  // so the result equals reducing the compacted list, without gathering n·m entries.
  const dense = options.reducer === undefined;
  const defaultDistance = options.distance === undefined;

  // PML's distance.margin(x, y): x - y for a distance, y - x for a similarity.
  const pairLoss = (values: tf.Tensor, isPositive: boolean): tf.Tensor => {
    const margin = isPositive ? posMargin : negMargin;
    return tf.relu(isPositive === distance.isSimilarity ? tf.sub(margin, values) : tf.sub(values, margin));
  };

  /**
   * The dense loss in one native pass over the matrix (wasm): the four sums of
   * `pairMarginSumsNative`, and as gradient `pairMarginGradNative` scaled by `dy / count`. `null`
   * off wasm, or when the matrix holds a NaN (the tensor path then propagates it).
   */
  const fusedPairMargin = (matrix: tf.Tensor2D, labels: Labels, refLabels: Labels | undefined): tf.Scalar | null => {
    const options = { selfPairs: refLabels === undefined, isSimilarity: distance.isSimilarity, posMargin, negMargin };
    const columns = (refLabels ?? labels) as tf.Tensor1D;
    const sums = pairMarginSumsNative(matrix, labels as tf.Tensor1D, columns, options);
    if (sums === null || Number.isNaN(sums.positiveSum) || Number.isNaN(sums.negativeSum)) return null;
    const { positiveSum, positiveCount, negativeSum, negativeCount } = sums;
    const value = (positiveCount > 0 ? positiveSum / positiveCount : 0) + (negativeCount > 0 ? negativeSum / negativeCount : 0);
    const op = tf.customGrad(((x: tf.Tensor2D, save: tf.GradSaveFunc) => {
      save([x]);
      return {
        value: tf.scalar(value),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const scale = dy.dataSync()[0] as number;
          const grad = pairMarginGradNative(
            saved[0] as tf.Tensor2D,
            labels as tf.Tensor1D,
            columns,
            options,
            positiveCount > 0 ? scale / positiveCount : 0,
            negativeCount > 0 ? scale / negativeCount : 0,
          );
          return grad ?? tf.zerosLike(saved[0] as tf.Tensor);
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return op(matrix) as tf.Scalar;
  };

  return {
    name: NAME,
    compute(input: LossInput): tf.Scalar {
      const { embeddings, labels, tuples, ref } = validateLossInput(input, NAME);
      const n = embeddings.shape[0];
      if (tuples === undefined && dense) {
        return tf.tidy(() => {
          if (defaultDistance && ref === undefined && nativeRowsOn()) {
            // PML's defaults on the batch itself: the whole loss on the normalised rows natively.
            const whole = contrastiveSelfLossNative(l2Normalize(embeddings), labels as tf.Tensor1D, { posMargin, negMargin });
            if (whole !== null) return whole;
          }
          const matrix = distance.pairwise(embeddings, ref?.embeddings);
          const fused = nativeRowsOn() ? fusedPairMargin(matrix, labels, ref?.labels) : null;
          if (fused !== null) return fused;
          const { same, different } = labelMasks(labels, ref?.labels);
          const positive = tf.reshape(tf.mul(pairLoss(matrix, true), same), [-1]) as tf.Tensor1D;
          const negative = tf.reshape(tf.mul(pairLoss(matrix, false), different), [-1]) as tf.Tensor1D;
          return tf.add(reducer.reduce({ losses: positive }, embeddings), reducer.reduce({ losses: negative }, embeddings)) as tf.Scalar;
        });
      }
      const hostPairs =
        tuples === undefined
          ? allHostPairs(readIndices(labels), ref === undefined ? undefined : readIndices(ref.labels))
          : undefined;

      return tf.tidy(() => {
        let anchorPos: tf.Tensor1D;
        let positive: tf.Tensor1D;
        let anchorNeg: tf.Tensor1D;
        let negative: tf.Tensor1D;
        if (hostPairs !== undefined) {
          anchorPos = indexTensor(hostPairs.positive.anchors);
          positive = indexTensor(hostPairs.positive.others);
          anchorNeg = indexTensor(hostPairs.negative.anchors);
          negative = indexTensor(hostPairs.negative.others);
        } else {
          const given = tuples as Tuples;
          switch (given.kind) {
            case 'pairs':
              ({ anchorPos, positive, anchorNeg, negative } = given);
              break;
            case 'triplets':
              // PML's convert_to_pairs: (a, p, n) -> positive pair (a, p), negative pair (a, n).
              anchorPos = given.anchor;
              positive = given.positive;
              anchorNeg = given.anchor;
              negative = given.negative;
              break;
            default: {
              const unreachable: never = given;
              return unreachable;
            }
          }
        }
        const positives = anchorPos.shape[0];
        const negatives = anchorNeg.shape[0];
        if (positives === 0 && negatives === 0) return connectedZero(embeddings);

        const matrix = distance.pairwise(embeddings, ref?.embeddings);
        const subLoss = (rows: tf.Tensor1D, cols: tf.Tensor1D, count: number, isPositive: boolean): tf.Scalar => {
          const losses = count === 0 ? tf.zeros([0]) : pairLoss(gatherEntries(matrix, rows, cols), isPositive);
          return reducer.reduce({ losses: losses as tf.Tensor1D, anchors: rows, numAnchors: n }, embeddings);
        };
        return tf.add(
          subLoss(anchorPos, positive, positives, true),
          subLoss(anchorNeg, negative, negatives, false),
        ) as tf.Scalar;
      });
    },
  };
}
