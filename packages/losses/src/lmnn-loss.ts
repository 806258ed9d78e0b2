import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, lpDistance } from '@contrastive/core';
import type { Distance, Labels, LossInput, Loss } from '@contrastive/core';
import { gatherEntries, labelMasks } from './contrastive-loss.js';
import { assertDistanceOption, validateLossInput } from './internal/pairs.js';
import { pairCombinations, tupleTriplets } from './triplet-margin-loss.js';
import type { TripletTensors } from './triplet-margin-loss.js';
import { assertOptionsObject } from './internal/options.js';
import { connectedZero } from './reducers.js';

const NAME = 'lmnnLoss';

/**
 * Options of {@link lmnnLoss}.
 * @category Losses
 */
export interface LmnnLossOptions {
  /**
   * Number of target neighbours of each anchor: its `k` nearest same-label rows (fewer when the
   * batch holds fewer); an integer >= 1. Ignored when `tuples` are given.
   * @defaultValue 3 (Weinberger & Saul 2009)
   */
  readonly k?: number;
  /**
   * Margin by which every impostor must be farther from the anchor than each of its target
   * neighbours; a finite number >= 0 (in units of the distance: squared Euclidean by default).
   * @defaultValue 1 (Weinberger & Saul 2009)
   */
  readonly margin?: number;
  /**
   * Weight μ of the push term, in [0, 1]; the pull term gets `1 - μ`.
   * @defaultValue 0.5 (Weinberger & Saul 2009)
   */
  readonly mu?: number;
  /**
   * How embeddings are compared; must be a distance (`isSimilarity: false`).
   * @defaultValue `lpDistance({ power: 2, normalize: false })`: the squared Euclidean distance of
   * the paper, on the raw rows
   */
  readonly distance?: Distance;
}

/**
 * `[n, k]` float32 distances from each anchor to its `k` nearest same-label columns (slots past an
 * anchor's same-label count hold an arbitrary column; mask them with `targetSlots`). The
 * choice (a `tf.topk`) carries no gradient; the distances do: a custom gradient scatters `dy` back
 * to the chosen entries of the matrix, which keeps the int32 indices off the gradient path.
 */
function targetDistances(matrix: tf.Tensor2D, same: tf.Tensor2D, k: number): tf.Tensor2D {
  const [n, m] = matrix.shape;
  const rowStart = tf.reshape(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(m, 'int32')), [n, 1]);
  const select = tf.customGrad(((distances: tf.Tensor, sameLabel: tf.Tensor, save: tf.GradSaveFunc) => {
    // Nearest same-label columns first; the others score -Infinity.
    const score = tf.where(tf.greater(sameLabel, 0), tf.neg(distances), tf.fill([n, m], Number.NEGATIVE_INFINITY));
    const flat = tf.reshape(tf.add(tf.topk(score, k).indices, rowStart), [-1]);
    save([flat]);
    return {
      value: tf.reshape(tf.gather(tf.reshape(distances, [-1]), flat), [n, k]),
      // tf.scatterND, not tf.unsortedSegmentSum: the latter is O(segments × entries) on tfjs-backend-cpu.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.reshape(tf.scatterND(tf.expandDims(saved[0] as tf.Tensor1D, 1), tf.reshape(dy, [-1]), [n * m]), [n, m]),
        tf.zerosLike(sameLabel),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return select(matrix, same) as tf.Tensor2D;
}

/**
 * `[n, k]` float32: 1 for the slots that hold a target neighbour. `tf.topk` puts the same-label
 * columns first, so anchor i has `min(k, count_i)` of them, `count_i` its same-label columns.
 */
function targetSlots(same: tf.Tensor2D, k: number): tf.Tensor2D {
  const count = tf.sum(same, 1, true);
  return tf.step(tf.sub(count, tf.reshape(tf.range(0, k, 1, 'float32'), [1, k]))) as tf.Tensor2D;
}

/** Count of anchors (rows) with a positive weight somewhere in their row of `weights`. */
function anchorsWith(weights: tf.Tensor2D): tf.Scalar {
  return tf.sum(tf.step(tf.sum(weights, 1))) as tf.Scalar;
}

/**
 * Large Margin Nearest Neighbour loss (Weinberger & Saul 2009, "Distance Metric Learning for Large
 * Margin Nearest Neighbor Classification", JMLR 10): each anchor i pulls its target neighbours j —
 * its `k` nearest same-label rows, chosen without gradient — and pushes every impostor l (a
 * different-label row) until it lies `margin` farther than each target neighbour:
 *
 * `pull = Σ_i Σ_{j ⇝ i} d(i, j)`,
 * `push = Σ_i Σ_{j ⇝ i} Σ_{l: y_l ≠ y_i} relu(margin + d(i, j) - d(i, l))`,
 * `loss = ((1 - μ) · pull + μ · push) / A`,
 *
 * where `A` is the number of anchors with at least one target neighbour (so the loss does not grow
 * with the batch; the paper's objective is the unnormalized sum over the whole training set). The
 * default distance is the paper's squared Euclidean distance. Unlike the paper, which fixes the
 * target neighbours once in the input space, they are chosen per batch in the current embedding
 * space (no gradient flows through the choice); to fix them, mine them once and pass them as
 * `tuples`.
 *
 * `compute({ embeddings, labels })` takes the target neighbours among the other rows of the batch;
 * with `ref`, among the same-label rows of `ref.embeddings` (a copy of the anchor counts, as PML's
 * `ref_emb`), with the impostors also from `ref`. With `tuples` the miner chooses: triplets (i, j, l)
 * are (anchor, target neighbour, impostor) — the pull term sums each distinct (i, j) once, the push
 * term each triplet; pairs give the target pairs (anchorPos, positive) and, as PML's
 * `convert_to_triplets`, every negative pair of the same anchor as an impostor. `k` is then unused.
 * No anchor with a target neighbour gives 0 connected to `embeddings` (zero gradients).
 *
 * @param options - `k`, `margin`, `mu`, distance; see {@link LmnnLossOptions}.
 * @returns a `Loss` (from `@contrastive/core`) named `'lmnnLoss'`. Its `compute` takes `embeddings` `[n, d]` float32,
 * `labels` `[n]` int32, optional `tuples` (`[t]` int32 index vectors) and an optional `ref`
 * (`[m, d]` float32 embeddings, `[m]` int32 labels); it returns a float32 scalar owned by the caller
 * and disposes none of its inputs. It builds the `[n, m]` distance matrix, a `tf.topk` of it and an
 * `[n, k, m]` hinge tensor; labels are compacted with `tf.unique`, and mined pairs are paired up on
 * the host (it reads their anchor indices, never the embeddings).
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `options` is not an object, `k` is not an
 * integer >= 1, `margin` not a finite number >= 0, `mu` outside [0, 1], or `distance` not a
 * Distance or a similarity; from `compute`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`,
 * `INVALID_ARGUMENT` or `DISPOSED` naming the argument.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { lmnnLoss } from '@contrastive/losses';
 *
 * const embeddings = tf.tensor2d([[0, 0], [1, 0], [0, 1], [1, 1]]);
 * const labels = tf.tensor1d([0, 0, 1, 1], 'int32');
 * // Each anchor: one target neighbour at squared distance 1, impostors at 1 and 2.
 * lmnnLoss({ k: 1 }).compute({ embeddings, labels }).print(); // Tensor 1 (per anchor: 0.5 · 1 + 0.5 · (1 + 0))
 * ```
 * @category Losses
 */
export function lmnnLoss(options: LmnnLossOptions = {}): Loss {
  assertOptionsObject(options, NAME);
  const k = options.k ?? 3;
  assertNumber(k, 'k', NAME, { integer: true, min: 1 });
  const margin = options.margin ?? 1;
  assertNumber(margin, 'margin', NAME, { min: 0 });
  const mu = options.mu ?? 0.5;
  assertNumber(mu, 'mu', NAME, { min: 0, max: 1 });
  const distance = options.distance ?? lpDistance({ power: 2, normalize: false });
  assertDistanceOption(distance, NAME);
  if (distance.isSimilarity) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'distance' passed to '${NAME}' must be a distance (isSimilarity false, e.g. lpDistance({ power: 2, normalize: false })), got the similarity ${distance.name}`,
    );
  }

  const combine = (pull: tf.Scalar, push: tf.Scalar, anchors: tf.Scalar): tf.Scalar =>
    tf.div(tf.add(tf.mul(pull, 1 - mu), tf.mul(push, mu)), tf.maximum(anchors, 1)) as tf.Scalar;
  const hinge = (target: tf.Tensor, impostor: tf.Tensor): tf.Tensor => tf.relu(tf.sub(tf.add(target, margin), impostor));

  const fromLabels = (matrix: tf.Tensor2D, labels: Labels, refLabels: Labels | undefined): tf.Scalar => {
    const { same, different } = labelMasks(labels, refLabels);
    const neighbours = Math.min(k, matrix.shape[1]);
    const valid = targetSlots(same, neighbours);
    const target = tf.mul(targetDistances(matrix, same, neighbours), valid);
    const pull = tf.sum(target) as tf.Scalar;
    // [n, k, m]: target neighbour j of anchor i against every impostor l of i.
    const violations = hinge(tf.expandDims(target, 2), tf.expandDims(matrix, 1));
    const weights = tf.mul(tf.expandDims(valid, 2), tf.expandDims(different, 1));
    const push = tf.sum(tf.mul(violations, weights)) as tf.Scalar;
    return combine(pull, push, anchorsWith(valid));
  };

  const fromTuples = (matrix: tf.Tensor2D, targets: { rows: tf.Tensor1D; cols: tf.Tensor1D }, triplets: TripletTensors): tf.Scalar => {
    const [n, m] = matrix.shape;
    const pairs = targets.rows.shape[0];
    // Each distinct (anchor, target neighbour) pair once.
    const counts =
      pairs === 0
        ? tf.zeros([n, m])
        : tf.scatterND(tf.stack([targets.rows, targets.cols], 1), tf.ones([pairs]), [n, m]);
    const once = tf.minimum(counts, 1) as tf.Tensor2D;
    const pull = tf.sum(tf.mul(once, matrix)) as tf.Scalar;
    const push =
      triplets.anchor.shape[0] === 0
        ? tf.scalar(0)
        : (tf.sum(
            hinge(gatherEntries(matrix, triplets.anchor, triplets.positive), gatherEntries(matrix, triplets.anchor, triplets.negative)),
          ) as tf.Scalar);
    return combine(pull, push, anchorsWith(once));
  };

  return {
    name: NAME,
    compute(input: LossInput): tf.Scalar {
      const { embeddings, labels, tuples, ref } = validateLossInput(input, NAME);
      const combinations = tuples?.kind === 'pairs' ? pairCombinations(tuples) : undefined;
      return tf.tidy(() => {
        const matrix = distance.pairwise(embeddings, ref?.embeddings);
        let loss: tf.Scalar;
        if (tuples === undefined) {
          loss = fromLabels(matrix, labels, ref?.labels);
        } else {
          // Target pairs: (anchor, positive) of each triplet, or the positive pairs.
          const targets =
            tuples.kind === 'pairs' ? { rows: tuples.anchorPos, cols: tuples.positive } : { rows: tuples.anchor, cols: tuples.positive };
          loss = fromTuples(matrix, targets, tupleTriplets(tuples, combinations));
        }
        // The connected zero ties every row to the loss (zero gradients where nothing is compared)
        // and carries a NaN or Infinity of the embeddings into it: a hinge (relu) or the squared
        // distance's relu would otherwise turn it into a plausible finite value on some backends.
        return tf.add(loss, connectedZero(embeddings)) as tf.Scalar;
      });
    },
  };
}
