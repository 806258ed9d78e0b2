import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertOneOf, l2Normalize, lpDistance, tripletMarginGradNative, tripletMarginNative } from '@contrastive/core';
import type { Distance, LossInput, Loss, PairTuples, Tuples } from '@contrastive/core';
import { gatherEntries, gatherRows, hostPositivePairs, indexTensor, labelMasks, readIndices } from './contrastive-loss.js';
import { assertDistanceOption, assertReducerOption, validateLossInput } from './internal/pairs.js';
import { avgNonZeroReducer, connectedZero } from './reducers.js';
import type { Reducer } from './reducers.js';
import { assertOptionsObject } from './internal/options.js';
import { nativeRowsOn } from './info-nce-engine.js';

const NAME = 'tripletMarginLoss';

/**
 * Most triplets (or dense triplet slots) the labels of one batch may yield, 2^25: each costs tens of
 * bytes across the index and loss tensors of the forward and backward pass. Beyond it, mine triplets
 * (pass `tuples`).
 */
const MAX_TRIPLETS = 2 ** 25;

/** Host triplet indices (anchor, positive, negative), in PML's row-major order. @internal */
export interface HostTriplets {
  readonly anchor: Int32Array;
  readonly positive: Int32Array;
  readonly negative: Int32Array;
}

/**
 * Every valid triplet of PML's `get_all_triplets_indices`: `y_a = y_p`, `y_n ≠ y_a`, `p ≠ a` when
 * the batch is compared with itself (`refLabels` undefined). Order (a, p, n) lexicographic, as
 * `torch.where` on PML's `[n, m, m]` mask — without building that mask.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` naming `labels` when there are more than `limit`.
 * @internal
 */
export function allHostTriplets(labels: Int32Array, refLabels: Int32Array | undefined, fn: string, limit = MAX_TRIPLETS): HostTriplets {
  const self = refLabels === undefined;
  const columns = refLabels ?? labels;
  const byLabel = new Map<number, number[]>();
  columns.forEach((label, j) => {
    const group = byLabel.get(label);
    if (group === undefined) byLabel.set(label, [j]);
    else group.push(j);
  });
  const negativesOf = new Map<number, Int32Array>();
  const negativesFor = (label: number): Int32Array => {
    let list = negativesOf.get(label);
    if (list === undefined) {
      const indices: number[] = [];
      columns.forEach((other, j) => {
        if (other !== label) indices.push(j);
      });
      list = Int32Array.from(indices);
      negativesOf.set(label, list);
    }
    return list;
  };
  let total = 0;
  labels.forEach((label) => {
    const positives = (byLabel.get(label)?.length ?? 0) - (self ? 1 : 0);
    total += positives * negativesFor(label).length;
  });
  if (total > limit) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'labels' passed to '${fn}' yields ${total} triplets, more than the ${limit} this loss enumerates; mine triplets and pass them as 'tuples'`,
    );
  }
  const anchor = new Int32Array(total);
  const positive = new Int32Array(total);
  const negative = new Int32Array(total);
  let t = 0;
  labels.forEach((label, a) => {
    const negatives = negativesFor(label);
    for (const p of byLabel.get(label) ?? []) {
      if (self && p === a) continue;
      anchor.fill(a, t, t + negatives.length);
      positive.fill(p, t, t + negatives.length);
      negative.set(negatives, t);
      t += negatives.length;
    }
  });
  return { anchor, positive, negative };
}

/**
 * PML's `convert_to_triplets` for pairs: every positive pair k and negative pair j that share their
 * anchor give the triplet (anchorPos[k], positive[k], negative[j]); returns the (k, j) positions,
 * k-major, as `torch.where(a1[:, None] == a2)`. Reads the two anchor vectors back.
 * @internal
 */
export function pairCombinations(tuples: PairTuples): { positivePair: Int32Array; negativePair: Int32Array } {
  const anchorPos = readIndices(tuples.anchorPos);
  const anchorNeg = readIndices(tuples.anchorNeg);
  const byAnchor = new Map<number, number[]>();
  anchorNeg.forEach((a, j) => {
    const group = byAnchor.get(a);
    if (group === undefined) byAnchor.set(a, [j]);
    else group.push(j);
  });
  let total = 0;
  anchorPos.forEach((a) => {
    total += byAnchor.get(a)?.length ?? 0;
  });
  const positivePair = new Int32Array(total);
  const negativePair = new Int32Array(total);
  let t = 0;
  anchorPos.forEach((a, k) => {
    for (const j of byAnchor.get(a) ?? []) {
      positivePair[t] = k;
      negativePair[t++] = j;
    }
  });
  return { positivePair, negativePair };
}

/** Triplet index vectors (anchor, positive, negative), `[t]` int32 each. @internal */
export interface TripletTensors {
  readonly anchor: tf.Tensor1D;
  readonly positive: tf.Tensor1D;
  readonly negative: tf.Tensor1D;
}

function hostTripletTensors(triplets: HostTriplets): TripletTensors {
  return { anchor: indexTensor(triplets.anchor), positive: indexTensor(triplets.positive), negative: indexTensor(triplets.negative) };
}

/**
 * Mined tuples as triplet index vectors; pairs through their (k, j) combinations
 * (`pairCombinations`).
 * @internal
 */
export function tupleTriplets(tuples: Tuples, combinations: ReturnType<typeof pairCombinations> | undefined): TripletTensors {
  switch (tuples.kind) {
    case 'triplets':
      return tuples;
    case 'pairs': {
      const k = indexTensor(combinations?.positivePair ?? new Int32Array(0));
      const j = indexTensor(combinations?.negativePair ?? new Int32Array(0));
      // No combination: skip the gathers (tf.gather from an empty tensor gives a malformed shape).
      if (k.shape[0] === 0) return { anchor: k, positive: k, negative: k };
      return {
        anchor: tf.gather(tuples.anchorPos, k) as tf.Tensor1D,
        positive: tf.gather(tuples.positive, k) as tf.Tensor1D,
        negative: tf.gather(tuples.negative, j) as tf.Tensor1D,
      };
    }
    default: {
      const unreachable: never = tuples;
      return unreachable;
    }
  }
}

/**
 * Options of {@link tripletMarginLoss}.
 * @category Losses
 */
export interface TripletMarginLossOptions {
  /**
   * Margin by which the anchor-negative distance must exceed the anchor-positive distance (or the
   * positive similarity the negative one); a finite number.
   * @defaultValue 0.05 (pytorch-metric-learning's `TripletMarginLoss`)
   */
  readonly margin?: number;
  /**
   * Replace `d(a, n)` by `d(p, n)` when the positive is closer to the negative than the anchor is
   * (Balntas et al. 2016, "Learning local feature descriptors with triplets and shallow
   * convolutional neural networks"): the smaller distance (larger similarity) is used.
   * @defaultValue false
   */
  readonly swap?: boolean;
  /**
   * Soft margin: `softplus(v) = log(1 + exp(v))` of the violation `v` instead of `relu(v)`
   * (Hermans et al. 2017 add no margin to it; set `margin: 0` for theirs).
   * @defaultValue false
   */
  readonly smoothLoss?: boolean;
  /**
   * Which triplets of the labels are used when no `tuples` are given. Only `'all'` (every valid
   * triplet, PML's default) is supported: sampling a number per anchor would need a seeded `Rng`;
   * mine them with a miner instead.
   * @defaultValue 'all'
   */
  readonly tripletsPerAnchor?: 'all';
  /**
   * How embeddings are compared: a distance (`isSimilarity: false`) or a similarity.
   * @defaultValue `lpDistance()`: Euclidean distance of L2-normalized rows (PML's default `LpDistance`)
   */
  readonly distance?: Distance;
  /**
   * Reduces the `[t]` per-triplet losses; each carries its anchor row, so `perAnchorReducer` works.
   * @defaultValue `avgNonZeroReducer()` (PML: the mean over the triplets that violate the margin)
   */
  readonly reducer?: Reducer;
  /**
   * With tuples (mined triplets or pairs) fewer than the `[n, m]` matrix entries, measure each
   * triplet's distances row-wise on gathered rows (`distance.paired`) instead of gathering them from
   * the full matrix as PML does: the same values (up to float32 rounding; row-wise differences are
   * the more exact) at O(t·d) cost — on wasm, with the default distance and reducer, in one native
   * pass (`tripletMarginNative`). `false` keeps PML's matrix path. @defaultValue true
   */
  readonly rowwise?: boolean;
}

/**
 * The triplet margin loss (Weinberger & Saul 2009, "Distance Metric Learning for Large Margin
 * Nearest Neighbor Classification"; Schroff, Kalenichenko & Philbin 2015, "FaceNet: A Unified
 * Embedding for Face Recognition and Clustering"), as pytorch-metric-learning's `TripletMarginLoss`:
 * for each triplet (anchor a, positive p, negative n) the violation is
 * `v = d(a, p) - d(a, n) + margin` for a distance, `v = s(a, n) - s(a, p) + margin` for a
 * similarity, and the triplet costs `relu(v)` (or `softplus(v)` with `smoothLoss`). The per-triplet
 * losses are reduced with `reducer`, by default averaged over the triplets with a non-zero loss.
 *
 * `compute({ embeddings, labels })` uses every valid triplet of the batch (`y_a = y_p ≠ y_n`,
 * `a ≠ p`). With `tuples` it uses the given triplets; pairs are converted as PML's
 * `convert_to_triplets`: each positive pair (a, p) with each negative pair (a, n) of the same anchor.
 * With `ref` the positives and negatives are rows of `ref.embeddings` (a same-label reference row is
 * a positive even when it is a copy of the anchor, PML's `ref_emb`), and with `swap` the
 * positive-negative distance is measured between the two reference rows (PML indexes its
 * batch-by-reference matrix with the two reference indices there, which is only meaningful without
 * `ref`). Tuple indices must lie in range: their minimum and maximum are read back to check
 * (`INVALID_ARGUMENT` naming the field).
 *
 * **Collobert & Weston's ranking hinge.** The ranking criterion of Collobert & Weston 2008 ("A
 * Unified Architecture for Natural Language Processing: Deep Neural Networks with Multitask
 * Learning"), `Σ max(0, 1 - f(x) + f(x̃))` over a true window `x` and its corrupted copy `x̃`, is
 * this loss with a similarity and margin 1: with one-column embeddings holding the scores — row 0
 * the constant `[1]` (the anchor), then `[f(x)]` and `[f(x̃)]` rows — and `dotProductSimilarity()`,
 * `s(a, p) = f(x)` and `s(a, n) = f(x̃)`, so a triplet `(0, x, x̃)` costs
 * `relu(f(x̃) - f(x) + 1)`; `reducer: sumReducer()` gives their sum (see the example).
 *
 * No valid triplet gives 0 connected to `embeddings` (zero gradients).
 *
 * @param options - margin, swap, soft margin, distance and reducer; see
 * {@link TripletMarginLossOptions}.
 * @returns a `Loss` (from `@contrastive/core`) named `'tripletMarginLoss'`. Its `compute` takes `embeddings` `[n, d]`
 * float32, `labels` `[n]` int32, optional `tuples` (`[k]` int32 index vectors) and an optional `ref`
 * (`[m, d]` float32 embeddings, `[m]` int32 labels); it returns a float32 scalar owned by the caller
 * and disposes none of its inputs. It computes the distance's `[n, m]` matrix once. To find the
 * triplets of `labels` it reads the labels back (int32, never the embeddings; likewise the anchor
 * indices of mined pairs), since their number is data-dependent. With the default reducer and no
 * `tuples` it holds a dense `[p, m]` block — each of the `p` positive pairs against every column,
 * non-negatives masked to 0, which the average over non-zero losses ignores — built from row
 * gathers; with another reducer, or `tuples`, it lists the `t` triplets and gathers their entries
 * (`O(t)` memory either way, not PML's `[n, m, m]` mask).
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `options` is not an object, `margin` is not a
 * finite number, `swap` / `smoothLoss` not a boolean, `tripletsPerAnchor` not `'all'`, or
 * `distance` / `reducer` not a Distance / Reducer; from `compute`, `SHAPE_MISMATCH`,
 * `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT` or `DISPOSED` naming the argument
 * (`embeddings`, `labels`, `ref.*`, `tuples.*`), and `INVALID_ARGUMENT` naming `labels` when they
 * yield more than 2^25 triplets (or, with the default reducer, `p · m` above 2^25): mine them then.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { dotProductSimilarity } from '@contrastive/core';
 * import { sumReducer, tripletMarginLoss } from '@contrastive/losses';
 *
 * const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]]);
 * const labels = tf.tensor1d([0, 0, 1, 1], 'int32');
 * // Two triplets violate the margin, each by 0.5 + √0.4 - √0.8: their mean.
 * tripletMarginLoss({ margin: 0.5 }).compute({ embeddings, labels }).print(); // Tensor 0.2380283
 *
 * // Collobert & Weston's ranking hinge: scores f(x) = 2, f(x̃) = 1.5 and f(x) = 0.5, f(x̃) = 1.
 * const scores = tf.tensor2d([[1], [2], [1.5], [0.5], [1]]);
 * const tuples = {
 *   kind: 'triplets' as const,
 *   anchor: tf.tensor1d([0, 0], 'int32'),
 *   positive: tf.tensor1d([1, 3], 'int32'),
 *   negative: tf.tensor1d([2, 4], 'int32'),
 * };
 * const ranking = tripletMarginLoss({ distance: dotProductSimilarity(), margin: 1, reducer: sumReducer() });
 * const unused = tf.tensor1d([0, 0, 0, 0, 0], 'int32'); // labels are not read when tuples are given
 * ranking.compute({ embeddings: scores, labels: unused, tuples }).print(); // Tensor 2 (0.5 + 1.5)
 * ```
 * @category Losses
 */
export function tripletMarginLoss(options: TripletMarginLossOptions = {}): Loss {
  assertOptionsObject(options, NAME);
  const margin = options.margin ?? 0.05;
  assertNumber(margin, 'margin', NAME);
  const swap = options.swap ?? false;
  assertOneOf(swap, [true, false], 'swap', NAME);
  const smoothLoss = options.smoothLoss ?? false;
  assertOneOf(smoothLoss, [true, false], 'smoothLoss', NAME);
  const tripletsPerAnchor = options.tripletsPerAnchor ?? 'all';
  assertOneOf(tripletsPerAnchor, ['all'], 'tripletsPerAnchor', NAME);
  const distance = options.distance ?? lpDistance();
  assertDistanceOption(distance, NAME);
  const reducer = options.reducer ?? avgNonZeroReducer();
  assertReducerOption(reducer, NAME, 'avgNonZeroReducer()');
  // With the default reducer (average over non-zero losses) the triplets of the labels stay in a
  // dense [positive pairs, m] block with 0 for the columns that are not negatives: the reducer ignores
  // zeros, so the result equals reducing the compacted list, without gathering every triplet.
  const dense = options.reducer === undefined;
  const rowwise = options.rowwise ?? true;
  assertOneOf(rowwise, [true, false], 'rowwise', NAME);
  // The default distance and reducer without the smooth hinge: the whole loss in one native pass.
  const fused = rowwise && dense && options.distance === undefined && !smoothLoss;

  /**
   * Mined triplets of the batch with PML's defaults (normalised Euclidean distance, average over
   * the non-zero losses) on wasm: the rows are normalised once, then `tripletMarginNative` gives the
   * sum and count and `tripletMarginGradNative` the gradient. `null` off wasm.
   */
  const fusedTriplets = (embeddings: tf.Tensor2D, anchor: tf.Tensor1D, positive: tf.Tensor1D, negative: tf.Tensor1D): tf.Scalar | null => {
    const u = l2Normalize(embeddings);
    const sums = tripletMarginNative(u, anchor, positive, negative, { margin, swap });
    if (sums === null) return null;
    const { sum, count } = sums;
    const op = tf.customGrad(((x: tf.Tensor2D, save: tf.GradSaveFunc) => {
      save([x, anchor, positive, negative]);
      return {
        value: tf.scalar(count > 0 ? sum / count : 0),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [rows, a, p, ng] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
          const scale = count > 0 ? (dy.dataSync()[0] as number) / count : 0;
          return tripletMarginGradNative(rows, a, p, ng, { margin, swap }, scale) ?? tf.zerosLike(rows);
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return op(u) as tf.Scalar;
  };

  /** Per-triplet loss from d(a, p), d(a, n) and, with `swap`, d(p, n); shapes broadcast. */
  const tripletLosses = (anchorPositive: tf.Tensor, anchorNegative: tf.Tensor, positiveNegative?: tf.Tensor): tf.Tensor => {
    let negative = anchorNegative;
    if (positiveNegative !== undefined) {
      // PML's distance.smallest_dist: the closer of the two.
      negative = distance.isSimilarity ? tf.maximum(negative, positiveNegative) : tf.minimum(negative, positiveNegative);
    }
    // PML's distance.margin(ap, an): ap - an for a distance, an - ap for a similarity.
    const gap = distance.isSimilarity ? tf.sub(negative, anchorPositive) : tf.sub(anchorPositive, negative);
    const violation = tf.add(gap, margin);
    return smoothLoss ? tf.softplus(violation) : tf.relu(violation);
  };

  return {
    name: NAME,
    compute(input: LossInput): tf.Scalar {
      const { embeddings, labels, tuples, ref } = validateLossInput(input, NAME);
      const n = embeddings.shape[0];
      const m = ref === undefined ? n : ref.embeddings.shape[0];
      // Host work first: it reads int32 labels / anchor indices only.
      if (tuples === undefined && dense) {
        const pairs = hostPositivePairs(readIndices(labels), ref === undefined ? undefined : readIndices(ref.labels));
        const slots = pairs.anchors.length * m;
        if (slots > MAX_TRIPLETS) {
          throw new ContrastiveError(
            'INVALID_ARGUMENT',
            `Argument 'labels' passed to '${NAME}' yields ${pairs.anchors.length} positive pairs × ${m} candidate negatives = ${slots} triplet slots, more than the ${MAX_TRIPLETS} this loss holds at once; mine triplets and pass them as 'tuples'`,
          );
        }
        return tf.tidy(() => {
          if (pairs.anchors.length === 0) return connectedZero(embeddings);
          const anchor = indexTensor(pairs.anchors);
          const positive = indexTensor(pairs.others);
          const matrix = distance.pairwise(embeddings, ref?.embeddings);
          const { different } = labelMasks(labels, ref?.labels);
          // [p, m]: positive pair k (anchor a, positive p) against every column as the negative.
          const anchorPositive = tf.expandDims(gatherEntries(matrix, anchor, positive), 1);
          const anchorNegative = gatherRows(matrix, anchor);
          const positiveNegative = swap ? gatherRows(ref === undefined ? matrix : distance.pairwise(ref.embeddings), positive) : undefined;
          const losses = tf.mul(tripletLosses(anchorPositive, anchorNegative, positiveNegative), tf.gather(different, anchor));
          return reducer.reduce({ losses: tf.reshape(losses, [-1]) as tf.Tensor1D }, embeddings);
        });
      }
      const fromLabels =
        tuples === undefined
          ? allHostTriplets(readIndices(labels), ref === undefined ? undefined : readIndices(ref.labels), NAME)
          : undefined;
      const combinations = tuples?.kind === 'pairs' ? pairCombinations(tuples) : undefined;

      return tf.tidy(() => {
        const { anchor, positive, negative } =
          fromLabels !== undefined ? hostTripletTensors(fromLabels) : tupleTriplets(tuples as Tuples, combinations);
        if (anchor.shape[0] === 0) return connectedZero(embeddings);
        const t = anchor.shape[0];
        if (fused && ref === undefined && t * (swap ? 3 : 2) < n * m && nativeRowsOn()) {
          const value = fusedTriplets(embeddings, anchor, positive, negative);
          if (value !== null) return value;
        }
        if (rowwise && t * (swap ? 3 : 2) < n * m) {
          // Fewer triplets than matrix entries (mined tuples: t <= n): the distances of the triplets
          // alone, row-wise on gathered rows — O(t·d) instead of the [n, m] matrix and its gradient.
          const others = ref?.embeddings ?? embeddings;
          const anchors = tf.gather(embeddings, anchor);
          const positives = tf.gather(others, positive);
          const negatives = tf.gather(others, negative);
          const losses = tripletLosses(
            distance.paired(anchors, positives),
            distance.paired(anchors, negatives),
            swap ? distance.paired(positives, negatives) : undefined,
          );
          return reducer.reduce({ losses: losses as tf.Tensor1D, anchors: anchor, numAnchors: n }, embeddings);
        }
        const matrix = distance.pairwise(embeddings, ref?.embeddings);
        const positiveNegative = swap
          ? gatherEntries(ref === undefined ? matrix : distance.pairwise(ref.embeddings), positive, negative)
          : undefined;
        const losses = tripletLosses(gatherEntries(matrix, anchor, positive), gatherEntries(matrix, anchor, negative), positiveNegative);
        return reducer.reduce({ losses: losses as tf.Tensor1D, anchors: anchor, numAnchors: n }, embeddings);
      });
    },
  };
}
