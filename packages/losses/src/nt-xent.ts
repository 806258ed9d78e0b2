import * as tf from '@tensorflow/tfjs-core';
import {
  ContrastiveError,
  assertEmbeddings,
  assertLabels,
  assertNumber,
  assertOneOf,
  assertSameDims,
  assertTensor,
  cosineSimilarity,
} from '@contrastive/core';
import type { Distance, Embeddings, Labels, LossInput, Loss, Reference, Tuples } from '@contrastive/core';

const NAME = 'ntXentLoss';

/**
 * Options of {@link ntXentLoss}.
 * @category Losses
 */
export interface NtXentLossOptions {
  /**
   * Temperature τ that divides every similarity; a finite number > 0. Smaller values sharpen the
   * similarity distribution (SimCLR uses 0.5 for its large batches; 0.01 stays finite).
   * @defaultValue 0.07 (pytorch-metric-learning's `NTXentLoss`)
   */
  readonly temperature?: number;
  /**
   * How embeddings are compared. A similarity is used as is; a distance (`isSimilarity: false`) is
   * negated, so that larger always means closer (as pytorch-metric-learning does).
   * @defaultValue `cosineSimilarity()` (the "normalized" of NT-Xent)
   */
  readonly distance?: Distance;
}

/**
 * `[n, m]` float32 multiplicities of the positive and negative pairs (anchor row, candidate column),
 * and where the negative multiplicity is non-zero.
 */
interface PairWeights {
  readonly positive: tf.Tensor2D;
  readonly negative: tf.Tensor2D;
  readonly isNegative: tf.Tensor2D;
}

function assertDistance(distance: unknown): asserts distance is Distance {
  const candidate = distance as Partial<Distance> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.pairwise !== 'function' ||
    typeof candidate.isSimilarity !== 'boolean'
  ) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'distance' passed to '${NAME}' must be a Distance (e.g. cosineSimilarity()), got ${candidate === null ? 'null' : typeof candidate}`,
    );
  }
}

function assertIndexPair(rows: unknown, cols: unknown, rowsName: string, colsName: string): void {
  assertTensor(rows, 1, `tuples.${rowsName}`, NAME, 'int32');
  assertTensor(cols, 1, `tuples.${colsName}`, NAME, 'int32');
  const expected = rows.shape[0] as number;
  const received = cols.shape[0] as number;
  if (received !== expected) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'tuples.${colsName}' passed to '${NAME}' must have ${expected} entries (one per entry of 'tuples.${rowsName}'), got ${received}`,
    );
  }
}

function assertTuples(tuples: unknown): asserts tuples is Tuples {
  if (tuples === null || typeof tuples !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'tuples' passed to '${NAME}' must be pair or triplet tuples, got ${tuples === null ? 'null' : typeof tuples}`);
  }
  const kind = (tuples as { kind?: unknown }).kind;
  assertOneOf(kind, ['pairs', 'triplets'] as const, 'tuples.kind', NAME);
  const checked = tuples as Tuples;
  switch (checked.kind) {
    case 'pairs':
      assertIndexPair(checked.anchorPos, checked.positive, 'anchorPos', 'positive');
      assertIndexPair(checked.anchorNeg, checked.negative, 'anchorNeg', 'negative');
      return;
    case 'triplets':
      assertIndexPair(checked.anchor, checked.positive, 'anchor', 'positive');
      assertIndexPair(checked.anchor, checked.negative, 'anchor', 'negative');
      return;
    default: {
      const unreachable: never = checked;
      return unreachable;
    }
  }
}

function assertReference(ref: unknown, embeddings: Embeddings): asserts ref is Reference {
  if (ref === null || typeof ref !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'ref' passed to '${NAME}' must be { embeddings, labels }, got ${ref === null ? 'null' : typeof ref}`);
  }
  const { embeddings: refEmbeddings, labels: refLabels } = ref as Partial<Reference>;
  assertEmbeddings(refEmbeddings, 'ref.embeddings', NAME);
  assertSameDims(embeddings, refEmbeddings, 'ref.embeddings', NAME);
  assertLabels(refLabels, refEmbeddings.shape[0], 'ref.labels', NAME);
}

function validateInput(input: unknown): LossInput {
  if (input === null || typeof input !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'input' passed to '${NAME}.compute' must be { embeddings, labels, tuples?, ref? }, got ${input === null ? 'null' : typeof input}`);
  }
  const { embeddings, labels, tuples, ref } = input as Partial<LossInput>;
  assertEmbeddings(embeddings, 'embeddings', NAME);
  assertLabels(labels, embeddings.shape[0], 'labels', NAME);
  if (ref !== undefined) assertReference(ref, embeddings);
  if (tuples !== undefined) assertTuples(tuples);
  return input as LossInput;
}

/**
 * Every same-label pair is positive, every other pair negative; without a reference a row is not its
 * own positive. Labels are first replaced by compact ids (`tf.unique`, exact for any int32), which
 * float32 holds exactly, so the `[n, m]` comparison is a broadcast subtraction: on wasm and cpu a
 * broadcast `tf.equal` of `[n, 1]` with `[1, m]` is an order of magnitude slower.
 */
function allPairWeights(labels: Labels, refLabels: Labels | undefined): PairWeights {
  const n = labels.shape[0];
  const { indices } = tf.unique(refLabels === undefined ? labels : tf.concat([labels, refLabels]));
  const ids = tf.cast(indices, 'float32');
  const rowIds = refLabels === undefined ? ids : tf.slice(ids, [0], [n]);
  const colIds = refLabels === undefined ? ids : tf.slice(ids, [n], [refLabels.shape[0]]);
  const isNegative = tf.notEqual(tf.sub(tf.expandDims(rowIds, 1), tf.expandDims(colIds, 0)), 0) as tf.Tensor2D;
  const negative = tf.cast(isNegative, 'float32') as tf.Tensor2D;
  const same = tf.sub(1, negative);
  if (refLabels !== undefined) return { positive: same as tf.Tensor2D, negative, isNegative };
  // An int32 oneHot, then cast: tfjs-backend-wasm 4.22 fills a float32 oneHot with int32 bit patterns.
  const identity = tf.cast(tf.oneHot(tf.range(0, n, 1, 'int32'), n), 'float32');
  return { positive: tf.sub(same, identity) as tf.Tensor2D, negative, isNegative };
}

/** `[n, m]` count of each (row, col) index pair; duplicates add up, as repeated pairs do in PML. */
function pairCounts(rows: tf.Tensor1D, cols: tf.Tensor1D, n: number, m: number): tf.Tensor2D {
  const k = rows.shape[0];
  if (k === 0) return tf.zeros([n, m]);
  return tf.scatterND(tf.stack([rows, cols], 1), tf.ones([k]), [n, m]) as tf.Tensor2D;
}

/** Mined tuples as pair multiplicities; a triplet (a, p, n) gives the pairs (a, p) and (a, n), as PML's `convert_to_pairs`. */
function tupleWeights(tuples: Tuples, n: number, m: number): PairWeights {
  let positive: tf.Tensor2D;
  let negative: tf.Tensor2D;
  switch (tuples.kind) {
    case 'pairs':
      positive = pairCounts(tuples.anchorPos, tuples.positive, n, m);
      negative = pairCounts(tuples.anchorNeg, tuples.negative, n, m);
      break;
    case 'triplets':
      positive = pairCounts(tuples.anchor, tuples.positive, n, m);
      negative = pairCounts(tuples.anchor, tuples.negative, n, m);
      break;
    default: {
      const unreachable: never = tuples;
      return unreachable;
    }
  }
  return { positive, negative, isNegative: tf.greater(negative, 0) as tf.Tensor2D };
}

function tupleCounts(tuples: Tuples): { positives: number; negatives: number } {
  switch (tuples.kind) {
    case 'pairs':
      return { positives: tuples.anchorPos.shape[0], negatives: tuples.anchorNeg.shape[0] };
    case 'triplets':
      return { positives: tuples.anchor.shape[0], negatives: tuples.anchor.shape[0] };
    default: {
      const unreachable: never = tuples;
      return unreachable;
    }
  }
}

/**
 * Row maximum that autodiff treats as a constant. A log-sum-exp does not depend on the shift it
 * subtracts, so dropping its gradient is exact, and it avoids `tf.max`'s gradient (a broadcast
 * `tf.equal` over the whole matrix).
 */
const constantRowMax = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.max(x, 1, true),
  gradFunc: () => tf.zerosLike(x),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor2D) => tf.Tensor2D;

/**
 * Mean over positive pairs (a, p) of `softplus(log Σ_n w_an exp(s_an) - s_ap)`, which equals
 * `-log(exp(s_ap) / (exp(s_ap) + Σ_n w_an exp(s_an)))`. The log-sum-exp over each anchor's negatives
 * subtracts their maximum, so no exponential overflows and the log never sees 0; an anchor without
 * negatives contributes 0 (its pairs still count in the mean, as in PML).
 */
function meanPairLoss(scaled: tf.Tensor2D, weights: PairWeights): tf.Scalar {
  const { positive, negative, isNegative } = weights;
  const negatives = tf.where(isNegative, scaled, tf.fill(scaled.shape, Number.NEGATIVE_INFINITY));
  const rowHasNegative = tf.greater(tf.sum(negative, 1, true), 0);
  const rowMax = constantRowMax(negatives);
  const shift = tf.where(rowHasNegative, rowMax, tf.zerosLike(rowMax));
  // Rows with negatives hold exp(0) * count >= 1 at their maximum, so the sum is >= 1.
  const sumExp = tf.sum(tf.mul(negative, tf.exp(tf.sub(negatives, shift))), 1, true);
  const logSumExp = tf.add(shift, tf.log(tf.where(rowHasNegative, sumExp, tf.onesLike(sumExp))));
  const perPair = tf.softplus(tf.sub(logSumExp, scaled));
  const rowLoss = tf.sum(tf.mul(positive, perPair), 1);
  const total = tf.sum(tf.mul(rowLoss, tf.cast(tf.reshape(rowHasNegative, [-1]), 'float32')));
  return tf.div(total, tf.maximum(tf.sum(positive), 1)) as tf.Scalar;
}

/**
 * NT-Xent, the normalized temperature-scaled cross entropy of SimCLR (Chen et al. 2020, "A Simple
 * Framework for Contrastive Learning of Visual Representations"), generalised to labels as
 * pytorch-metric-learning's `NTXentLoss`: every ordered same-label pair (a, p) is a positive pair
 * with the loss
 * `-log(exp(s_ap / τ) / (exp(s_ap / τ) + Σ_{n: y_n ≠ y_a} exp(s_an / τ)))`
 * (other positives of a are not in the denominator), averaged over positive pairs. With
 * `viewLabels(n)` (views are labels) it is exactly SimCLR's loss over its 2N anchors.
 *
 * `compute({ embeddings, labels })` uses every pair of the batch (a row is not its own positive);
 * with `tuples` it uses only those pairs (triplets (a, p, n) count as the pairs (a, p) and (a, n));
 * with `ref` it compares the batch with `ref.embeddings` / `ref.labels` (a MoCo queue, a memory
 * bank) and every same-label reference row is a positive, including a copy of the anchor itself.
 * Tuple indices must lie in range (rows of the batch, columns of the reference or batch); they are
 * not read back from the device to check.
 *
 * A batch without a positive pair or without a negative gives 0 connected to `embeddings` (zero
 * gradients). Values agree with pytorch-metric-learning 2.8 to float32 precision, with two
 * deliberate differences: PML clamps a pair's loss near 87 (it adds float32's `tiny` inside its
 * log) where this keeps the exact value, and PML returns 0 whenever each of its four index lists
 * holds at most one entry (e.g. one mined positive and one negative pair) where this computes it.
 *
 * @param options - temperature and distance; see {@link NtXentLossOptions}.
 * @returns a {@link Loss} named `'ntXentLoss'`. Its `compute` takes `embeddings` `[n, d]` float32,
 * `labels` `[n]` int32, optional `tuples` (`[k]` int32 index vectors) and an optional `ref`
 * (`[m, d]` float32 embeddings, `[m]` int32 labels); it returns a float32 scalar owned by the
 * caller and disposes none of its inputs. It runs one matMul (the distance's) and `[n, m]`
 * element-wise ops, never reads the embeddings back, and so works under `optimizer.minimize`.
 * (Labels are compacted with `tf.unique`, which on WebGL reads the labels, not the embeddings.)
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `temperature` is
 * not a finite number > 0 or `distance` is not a Distance; from `compute`, `SHAPE_MISMATCH`,
 * `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT` or `DISPOSED` naming the argument
 * (`embeddings`, `labels`, `ref.embeddings`, `ref.labels`, `tuples.*`).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { viewLabels } from '@contrastive/core';
 * import { ntXentLoss } from '@contrastive/losses';
 *
 * // Two views of two samples: rows 0, 1 are view 1 and rows 2, 3 view 2.
 * const embeddings = tf.tensor2d([[1, 0], [0, 1], [0.8, 0.6], [0.6, 0.8]]);
 * const labels = viewLabels(2); // [0, 1, 0, 1]
 * const loss = ntXentLoss({ temperature: 0.5 }).compute({ embeddings, labels });
 * loss.print(); // Tensor 0.8707138
 * ```
 * @category Losses
 */
export function ntXentLoss(options: NtXentLossOptions = {}): Loss {
  const temperature = options.temperature ?? 0.07;
  assertNumber(temperature, 'temperature', NAME, { min: 0, exclusiveMin: true });
  const distance = options.distance ?? cosineSimilarity();
  assertDistance(distance);

  return {
    name: NAME,
    compute(input: LossInput): tf.Scalar {
      const { embeddings, labels, tuples, ref } = validateInput(input);
      const n = embeddings.shape[0];
      const m = ref === undefined ? n : ref.embeddings.shape[0];
      const counts = tuples === undefined ? undefined : tupleCounts(tuples);
      const nothingToCompare =
        counts === undefined ? ref === undefined && n < 2 : counts.positives === 0 || counts.negatives === 0;
      if (nothingToCompare) return tf.tidy(() => tf.mul(tf.sum(embeddings), 0) as tf.Scalar);

      return tf.tidy(() => {
        const matrix = distance.pairwise(embeddings, ref?.embeddings);
        // Larger must mean closer: PML negates distances the same way.
        const scaled = tf.div(distance.isSimilarity ? matrix : tf.neg(matrix), temperature) as tf.Tensor2D;
        const weights = tuples === undefined ? allPairWeights(labels, ref?.labels) : tupleWeights(tuples, n, m);
        return meanPairLoss(scaled, weights);
      });
    },
  };
}
