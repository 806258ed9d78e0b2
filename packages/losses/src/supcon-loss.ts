import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, cosineSimilarity, l2Normalize } from '@contrastive/core';
import type { Distance, LossInput, Loss } from '@contrastive/core';
import {
  DEFAULT_CHUNK_ELEMENTS,
  assertDistance,
  denseRowLosses,
  dotForm,
  excludedLogSoftmax,
  excludedLogSumExp,
  infoNceRowLosses,
  logSoftmaxRows,
  logSumExpRows,
  maskedLogSoftmax,
  positiveCounts,
  tupleCounts,
  tupleWeights,
  validateLossInput,
  nativeRowGrads,
  nativeRows,
} from './info-nce-engine.js';
import type { EngineChunk, InfoNceEngineSpec } from './info-nce-engine.js';
import { avgNonZeroReducer } from './reducers.js';
import type { Reducer } from './reducers.js';
import { assertOptionsObject } from './internal/options.js';

const NAME = 'supConLoss';

/**
 * Options of {@link supConLoss}.
 * @category Losses
 */
export interface SupConLossOptions {
  /**
   * Temperature τ that divides every similarity; a finite number > 0.
   * @defaultValue 0.1 (pytorch-metric-learning's `SupConLoss`)
   */
  readonly temperature?: number;
  /**
   * How embeddings are compared. A similarity is used as is; a distance (`isSimilarity: false`) is
   * negated, as pytorch-metric-learning does.
   * @defaultValue `cosineSimilarity()`
   */
  readonly distance?: Distance;
  /**
   * Reduces the `[n]` per-anchor losses (its input carries `anchors` = 0..n-1, so
   * `perAnchorReducer` works too).
   * @defaultValue `avgNonZeroReducer()` (PML's default: mean over the anchors with a positive loss)
   */
  readonly reducer?: Reducer;
  /**
   * Most elements of one `[c, m]` similarity block (row chunks with a recomputing gradient; memory
   * linear in the batch). Only `cosineSimilarity()` / `dotProductSimilarity()` run in chunks.
   * @defaultValue 4194304 (2^22)
   */
  readonly chunkElements?: number;
}

function assertReducer(reducer: unknown): asserts reducer is Reducer {
  const candidate = reducer as Partial<Reducer> | null;
  if (candidate === null || typeof candidate !== 'object' || typeof candidate.reduce !== 'function') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'reducer' passed to '${NAME}' must be a Reducer (e.g. avgNonZeroReducer()), got ${candidate === null ? 'null' : typeof candidate}`,
    );
  }
}

/**
 * Denominator over a's positive and negative pairs: with labels every key but the anchor itself (an
 * excluded-entries log-sum-exp); with mined tuples the mined pairs (PML sets `mask[a, p] = 1`, so a
 * repeated pair counts once).
 */
function logSoftmaxParts(block: tf.Tensor2D, chunk: EngineChunk, mined: boolean, withSoftmax: boolean): { lse: tf.Tensor2D; softmax?: tf.Tensor2D; positive: tf.Tensor2D } {
  if (mined) {
    const positive = tf.sign(chunk.perAnchor('positive')) as tf.Tensor2D;
    const keep = tf.sign(tf.add(positive, chunk.perAnchor('negative'))) as tf.Tensor2D;
    return { ...maskedLogSoftmax(block, keep), positive };
  }
  const positive = chunk.positives();
  if (!chunk.selfCompare) return { ...(withSoftmax ? logSoftmaxRows(block) : { lse: logSumExpRows(block) }), positive };
  return { ...(withSoftmax ? excludedLogSoftmax(block, chunk.selfMask()) : excludedLogSumExp(block, chunk.selfMask())), positive };
}

/** `[P_a > 0] · (lse(a) - Σ_p s_ap / P_a)`: minus the mean log-probability of a's positives. */
function rowLoss(mined: boolean): (block: tf.Tensor2D, chunk: EngineChunk) => tf.Tensor {
  return (block, chunk) => {
    const native = mined ? null : nativeRows('supcon', block, chunk);
    if (native !== null) return native;
    const { lse, positive } = logSoftmaxParts(block, chunk, mined, false);
    const count = tf.sum(positive, 1, true);
    const meanPositive = tf.div(tf.sum(tf.mul(positive, block), 1, true), tf.maximum(count, 1));
    return tf.reshape(tf.mul(tf.sub(lse, meanPositive), tf.sign(count)), [-1]);
  };
}

/** Closed form: `d row_a / d s_aj = [P_a > 0] · (softmax(a)_j - w⁺_aj / P_a)`. */
function rowGrad(mined: boolean): (block: tf.Tensor2D, chunk: EngineChunk, dRow: tf.Tensor1D) => tf.Tensor {
  return (block, chunk, dRow) => {
    const native = mined ? null : nativeRowGrads('supcon', block, chunk, dRow);
    if (native !== null) return native;
    const { softmax, positive } = logSoftmaxParts(block, chunk, mined, true);
    const count = tf.sum(positive, 1, true);
    const coefficient = tf.mul(tf.reshape(dRow, [-1, 1]), tf.sign(count));
    return tf.sub(tf.mul(softmax as tf.Tensor2D, coefficient), tf.mul(positive, tf.div(coefficient, tf.maximum(count, 1))));
  };
}

/**
 * Supervised contrastive loss (Khosla et al. 2020, "Supervised Contrastive Learning", the L_out form
 * of eq. 2), as pytorch-metric-learning's `SupConLoss`: for each anchor `a` with positives
 * `P(a) = {p ≠ a : y_p = y_a}`,
 * `l_a = -1/|P(a)| Σ_{p ∈ P(a)} log( exp(s_ap / τ) / Σ_{k ≠ a} exp(s_ak / τ) )`
 * (the denominator holds every other sample, positives included — unlike NT-Xent); anchors without
 * positives give 0, and the `[n]` per-anchor losses are reduced by `reducer` (default: mean over the
 * anchors with a non-zero loss). With `viewLabels(n)` (two views, no other positives) it equals
 * NT-Xent.
 *
 * `compute({ embeddings, labels })` uses all pairs of the batch; with `tuples` the positive pairs
 * and the denominator are those mined pairs (triplets (a, p, n) count as the pairs (a, p) and
 * (a, n); a repeated pair counts once, as PML's masks); with `ref` the batch is compared with
 * `ref.embeddings` / `ref.labels` and nothing is excluded (a same-label copy of the anchor is a
 * positive). As PML, the loss is 0 (connected) when the batch holds no positive pair or no negative
 * pair at all. Runs on the memory-bounded InfoNCE engine (row chunks, recomputing closed-form
 * gradient): memory grows linearly in the batch; mined tuples and distances other than
 * `cosineSimilarity()` / `dotProductSimilarity()` build `[n, m]` matrices.
 *
 * Deviations from PML 2.8 (deliberate): PML returns 0 whenever each of its four pair-index lists
 * holds at most one entry (e.g. a single mined positive and negative pair); this computes the loss.
 *
 * @param options - temperature, distance, reducer, chunk bound; see {@link SupConLossOptions}.
 * @returns a `Loss` named `'supConLoss'`. `compute` takes `embeddings` `[n, d]` float32,
 * `labels` `[n]` int32, optional `tuples` (int32 index vectors) and `ref` (`[m, d]` float32,
 * `[m]` int32); it returns a float32 scalar owned by the caller, disposes none of its inputs and
 * never reads the embeddings back (it works under `optimizer.minimize`).
 * @throws `ContrastiveError`: `INVALID_ARGUMENT` from the factory for `options` that is not an object, a temperature that is not a
 * finite number > 0, a non-`Distance` distance, a non-`Reducer` reducer or a bad `chunkElements`;
 * from `compute`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT` or
 * `DISPOSED` naming the argument.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { supConLoss } from '@contrastive/losses';
 *
 * const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]]);
 * const labels = tf.tensor1d([0, 0, 1, 1], 'int32');
 * supConLoss({ temperature: 0.5 }).compute({ embeddings, labels }).print(); // Tensor 0.4301902
 * ```
 * @category Losses
 */
export function supConLoss(options: SupConLossOptions = {}): Loss {
  assertOptionsObject(options, NAME);
  const temperature = options.temperature ?? 0.1;
  assertNumber(temperature, 'temperature', NAME, { min: 0, exclusiveMin: true });
  const distance = options.distance ?? cosineSimilarity();
  assertDistance(distance, NAME);
  const reducer = options.reducer ?? avgNonZeroReducer();
  assertReducer(reducer);
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
          const matrix = distance.pairwise(embeddings, ref?.embeddings);
          rows = denseRowLosses(tf.div(distance.isSimilarity ? matrix : tf.neg(matrix), temperature) as tf.Tensor2D, spec);
        } else {
          const prepare = (x: tf.Tensor2D): tf.Tensor2D => (form === 'cosine' ? l2Normalize(x) : x);
          rows = infoNceRowLosses({ ...spec, anchors: prepare(embeddings), ...(ref === undefined ? {} : { keys: prepare(ref.embeddings) }) });
        }
        if (mined === null) {
          // PML: 0 unless the batch holds some positive and some negative pair.
          // Per-row counts are small integers (exact in float32); their maxima say whether any exists.
          const positives = positiveCounts(labels, ref?.labels);
          const negatives = tf.sub(m - (ref === undefined ? 1 : 0), positives);
          rows = tf.mul(rows, tf.mul(tf.sign(tf.max(positives)), tf.sign(tf.max(negatives)))) as tf.Tensor1D;
        }
        return reducer.reduce({ losses: rows, anchors: tf.range(0, n, 1, 'int32') as tf.Tensor1D, numAnchors: n }, embeddings);
      });
    },
  };
}
