import * as tf from '@tensorflow/tfjs-core';
import { assertNumber, cosineSimilarity, l2Normalize } from '@contrastive/core';
import type { Distance, LossInput, Loss } from '@contrastive/core';
import {
  DEFAULT_CHUNK_ELEMENTS,
  assertDistance,
  denseRowLosses,
  dotForm,
  excludedLogSoftmax,
  excludedLogSumExp,
  infoNceRowLosses,
  maskedLogSoftmax,
  positiveCounts,
  tupleCounts,
  tupleWeights,
  validateLossInput,
  nativeRowGrads,
  nativeRows,
} from './info-nce-engine.js';
import type { EngineChunk, InfoNceEngineSpec } from './info-nce-engine.js';
import { assertOptionsObject } from './internal/options.js';

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
  /**
   * Most elements of one `[c, n]` similarity block: the batch runs in row chunks of `c` anchors with
   * a recomputing (checkpointed) gradient, so memory grows linearly in the batch size. Only the
   * dot-product similarities (`cosineSimilarity()`, `dotProductSimilarity()`) run in chunks; other
   * distances build the whole `[n, m]` matrix.
   * @defaultValue 4194304 (2^22)
   */
  readonly chunkElements?: number;
}

/**
 * Per-anchor NT-Xent: `Σ_p w⁺_ap softplus(lse_a - s_ap)` with `lse_a = log Σ_n w⁻_an exp(s_an)`, which
 * equals `Σ_p w⁺_ap · -log(exp(s_ap) / (exp(s_ap) + Σ_n w⁻_an exp(s_an)))`. The log-sum-exp over the
 * negatives subtracts their maximum, so no exponential overflows and the log never sees 0; an anchor
 * without negatives contributes 0 (its pairs still count in the mean, as in PML). With labels the
 * negatives are "not the same label" (an excluded-entries log-sum-exp); mined tuples give weights.
 */
function negativeLogSoftmax(block: tf.Tensor2D, chunk: EngineChunk, mined: boolean, withSoftmax: boolean): { lse: tf.Tensor2D; softmax?: tf.Tensor2D; hasAny: tf.Tensor2D; positive: tf.Tensor2D } {
  if (mined) {
    const parts = maskedLogSoftmax(block, chunk.perAnchor('negative') as tf.Tensor2D);
    return { ...parts, positive: chunk.perAnchor('positive') as tf.Tensor2D };
  }
  const parts = withSoftmax ? excludedLogSoftmax(block, chunk.sameLabel()) : excludedLogSumExp(block, chunk.sameLabel());
  return { ...parts, positive: chunk.positives() };
}

function rowLoss(mined: boolean): (block: tf.Tensor2D, chunk: EngineChunk) => tf.Tensor {
  return (block, chunk) => {
    const native = mined ? null : nativeRows('ntxent', block, chunk);
    if (native !== null) return native;
    const { lse, hasAny, positive } = negativeLogSoftmax(block, chunk, mined, false);
    const perPair = tf.softplus(tf.sub(lse, block));
    return tf.reshape(tf.mul(tf.sum(tf.mul(positive, perPair), 1, true), hasAny), [-1]);
  };
}

/**
 * Closed form: with `σ_ap = sigmoid(lse_a - s_ap)` (the negatives' share of pair (a, p)),
 * `d row_a / d s_ap = -w⁺_ap σ_ap` and `d row_a / d s_an = (Σ_p w⁺_ap σ_ap) · softmax⁻_an`.
 */
function rowGrad(mined: boolean): (block: tf.Tensor2D, chunk: EngineChunk, dRow: tf.Tensor1D) => tf.Tensor {
  return (block, chunk, dRow) => {
    const native = mined ? null : nativeRowGrads('ntxent', block, chunk, dRow);
    if (native !== null) return native;
    const { lse, softmax, hasAny, positive } = negativeLogSoftmax(block, chunk, mined, true);
    const coefficient = tf.mul(tf.reshape(dRow, [-1, 1]), hasAny);
    const share = tf.mul(positive, tf.sigmoid(tf.sub(lse, block)));
    const pull = tf.mul(tf.sum(share, 1, true), coefficient);
    return tf.sub(tf.mul(softmax as tf.Tensor2D, pull), tf.mul(share, coefficient));
  };
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
 * Tuple indices must lie in range (rows of the batch, columns of the reference or batch): their
 * minimum and maximum are read back from the device to check (`INVALID_ARGUMENT` naming the field).
 *
 * A batch without a positive pair or without a negative gives 0 connected to `embeddings` (zero
 * gradients). Values agree with pytorch-metric-learning 2.8 to float32 precision, with two
 * deliberate differences: PML clamps a pair's loss near 87 (it adds float32's `tiny` inside its
 * log) where this keeps the exact value, and PML returns 0 whenever each of its four index lists
 * holds at most one entry (e.g. one mined positive and one negative pair) where this computes it.
 *
 * Memory grows linearly in the batch: the loss runs on the InfoNCE engine (`info-nce-engine.ts`) in
 * row chunks of at most `chunkElements` similarities with a recomputing closed-form gradient, so
 * N = 32,768 embeddings of dimension 128 fit in a few hundred MB (pytorch-metric-learning builds
 * `[N, N, N]` masks). With mined `tuples` the two `[n, m]` pair-count matrices are dense; with a
 * distance other than `cosineSimilarity()` / `dotProductSimilarity()` the whole `[n, m]` matrix is
 * built (the same row math, one chunk).
 *
 * @param options - temperature, distance and chunk bound; see {@link NtXentLossOptions}.
 * @returns a `Loss` named `'ntXentLoss'`. Its `compute` takes `embeddings` `[n, d]` float32,
 * `labels` `[n]` int32, optional `tuples` (`[k]` int32 index vectors) and an optional `ref`
 * (`[m, d]` float32 embeddings, `[m]` int32 labels); it returns a float32 scalar owned by the
 * caller and disposes none of its inputs. It never reads the embeddings back, and so works under
 * `optimizer.minimize`.
 * (Labels are compacted with `tf.unique`, which on WebGL reads the labels, not the embeddings.)
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `options` is not an object, `temperature` is
 * not a finite number > 0, `distance` is not a Distance or `chunkElements` is not an integer >= 1;
 * from `compute`, `SHAPE_MISMATCH`,
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
  assertOptionsObject(options, NAME);
  const temperature = options.temperature ?? 0.07;
  assertNumber(temperature, 'temperature', NAME, { min: 0, exclusiveMin: true });
  const distance = options.distance ?? cosineSimilarity();
  assertDistance(distance, NAME);
  const chunkElements = options.chunkElements ?? DEFAULT_CHUNK_ELEMENTS;
  assertNumber(chunkElements, 'chunkElements', NAME, { integer: true, min: 1 });
  const form = dotForm(distance);

  return {
    name: NAME,
    compute(input: LossInput): tf.Scalar {
      const { embeddings, labels, tuples, ref } = validateLossInput(input, NAME);
      const n = embeddings.shape[0];
      const m = ref === undefined ? n : ref.embeddings.shape[0];
      const counts = tuples === undefined ? undefined : tupleCounts(tuples);
      const nothingToCompare =
        counts === undefined ? ref === undefined && n < 2 : counts.positives === 0 || counts.negatives === 0;
      if (nothingToCompare) return tf.tidy(() => tf.mul(tf.sum(embeddings), 0) as tf.Scalar);

      return tf.tidy(() => {
        const mined = tuples === undefined ? null : tupleWeights(tuples, n, m);
        const spec: InfoNceEngineSpec = {
          name: NAME,
          anchors: embeddings,
          ...(ref === undefined ? {} : { keys: ref.embeddings, keyLabels: ref.labels }),
          scale: 1 / temperature,
          labels,
          ...(mined === null ? {} : { perAnchor: { positive: mined.positive, negative: mined.negative } }),
          rowLoss: rowLoss(mined !== null),
          rowGrad: rowGrad(mined !== null),
          chunkElements,
        };
        let rows: tf.Tensor1D;
        if (form === null) {
          // Any other distance: the whole matrix, negated for distances (larger = closer, as PML).
          const matrix = distance.pairwise(embeddings, ref?.embeddings);
          rows = denseRowLosses(tf.div(distance.isSimilarity ? matrix : tf.neg(matrix), temperature) as tf.Tensor2D, spec);
        } else {
          const prepare = (x: tf.Tensor2D): tf.Tensor2D => (form === 'cosine' ? l2Normalize(x) : x);
          const anchors = prepare(embeddings);
          rows = infoNceRowLosses({ ...spec, anchors, ...(ref === undefined ? {} : { keys: prepare(ref.embeddings) }) });
        }
        const pairs = counts === undefined ? tf.sum(positiveCounts(labels, ref?.labels)) : tf.scalar(counts.positives);
        return tf.div(tf.sum(rows), tf.maximum(pairs, 1)) as tf.Scalar;
      });
    },
  };
}
