import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertTensor } from '@contrastive/core';
import type { Embeddings } from '@contrastive/core';
import { assertOptionsObject } from './internal/options.js';

/**
 * What a {@link Reducer} reduces: one loss per element (sample, pair or triplet), and optionally the
 * batch row each element belongs to (its anchor), for per-anchor reduction.
 * @category Reducers
 */
export interface ReductionInput {
  /** `[k]` float32 per-element losses (borrowed). `k` may be 0. */
  readonly losses: tf.Tensor1D;
  /** `[k]` int32 anchor row of each element; needed by {@link perAnchorReducer}. */
  readonly anchors?: tf.Tensor1D;
  /** Number of anchors (rows of the batch); needed with `anchors`. */
  readonly numAnchors?: number;
}

/**
 * Turns per-element losses into the scalar loss, as pytorch-metric-learning's reducers do. An empty
 * (or fully filtered) set of losses gives `0 * sum(embeddings)`: a zero that stays connected to the
 * embeddings, so gradients exist and are zero.
 * @category Reducers
 */
export interface Reducer {
  /** Name used in messages and reports. */
  readonly name: string;
  /**
   * @param input - per-element losses (and anchors).
   * @param embeddings - `[n, d]` batch embeddings, for the connected zero.
   * @returns a float32 scalar owned by the caller.
   * @throws `ContrastiveError` (the reducers of this package): `INVALID_ARGUMENT` naming `input`
   *   when it is not an object, `SHAPE_MISMATCH`, `DTYPE_MISMATCH` or `DISPOSED` naming `losses`
   *   (not a `[k]` float32 tensor) or `embeddings` (not a float32 tensor).
   */
  reduce(input: ReductionInput, embeddings: Embeddings): tf.Scalar;
}

/** Throws unless `embeddings` is a live float32 tensor of any rank (the tensor a zero is connected to). */
function checkEmbeddings(embeddings: unknown, fn: string): void {
  const rank = (embeddings as { rank?: unknown } | null)?.rank;
  assertTensor(embeddings, typeof rank === 'number' ? rank : 2, 'embeddings', fn, 'float32');
}

/**
 * A zero loss connected to `embeddings` (STYLE.md: `tf.mul(tf.sum(embeddings), 0)`), so that
 * `optimizer.minimize` and `tf.grad` still find a path and report zero gradients.
 *
 * @param embeddings - `[n, d]` float32 (borrowed); any rank is accepted.
 * @returns a float32 scalar 0, owned by the caller.
 * @throws `ContrastiveError` `SHAPE_MISMATCH` when `embeddings` is not a tensor, `DTYPE_MISMATCH`
 *   when it is not float32, `DISPOSED` when it has been disposed.
 * @category Reducers
 */
export function connectedZero(embeddings: tf.Tensor): tf.Scalar {
  checkEmbeddings(embeddings, 'connectedZero');
  return tf.tidy(() => tf.mul(tf.sum(embeddings), 0) as tf.Scalar);
}

function checkLosses(input: ReductionInput, embeddings: unknown, fn: string): void {
  if (input === null || typeof input !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'input' passed to '${fn}' must be a ReductionInput, got ${input === null ? 'null' : typeof input}`);
  }
  assertTensor(input.losses, 1, 'losses', fn, 'float32');
  checkEmbeddings(embeddings, fn);
}

/**
 * Sum of the selected losses over their count; connected zero when none is selected. `weights` are
 * 0/1 floats made with `tf.step` (whose gradient is zero), not boolean comparisons, which have no
 * gradient function in tf.js.
 */
function maskedMean(losses: tf.Tensor1D, weights: tf.Tensor1D | null, embeddings: Embeddings): tf.Scalar {
  return tf.tidy(() => {
    if (losses.shape[0] === 0) return connectedZero(embeddings);
    const zero = connectedZero(embeddings);
    if (weights === null) return tf.add(tf.mean(losses), zero) as tf.Scalar;
    const count = tf.sum(weights);
    // count = 0 -> 0 / 1 = 0 (still connected through `losses` and `zero`).
    return tf.add(tf.div(tf.sum(tf.mul(losses, weights)), tf.maximum(count, 1)), zero) as tf.Scalar;
  });
}

/**
 * Mean of all per-element losses (PML `MeanReducer`).
 * @returns a {@link Reducer}.
 * @example
 * ```ts
 * meanReducer().reduce({ losses: tf.tensor1d([1, 0, 2]) }, embeddings).print(); // 1
 * ```
 * @category Reducers
 */
export function meanReducer(): Reducer {
  return {
    name: 'meanReducer',
    reduce(input, embeddings) {
      checkLosses(input, embeddings, 'meanReducer.reduce');
      return maskedMean(input.losses, null, embeddings);
    },
  };
}

/**
 * Sum of all per-element losses (PML `SumReducer`).
 * @returns a {@link Reducer}.
 * @example
 * ```ts
 * sumReducer().reduce({ losses: tf.tensor1d([1, 0, 2]) }, embeddings).print(); // 3
 * ```
 * @category Reducers
 */
export function sumReducer(): Reducer {
  return {
    name: 'sumReducer',
    reduce(input, embeddings) {
      checkLosses(input, embeddings, 'sumReducer.reduce');
      return tf.tidy(() => tf.add(tf.sum(input.losses), connectedZero(embeddings)) as tf.Scalar);
    },
  };
}

/** Options of {@link thresholdReducer}. @category Reducers */
export interface ThresholdReducerOptions {
  /** Keep losses strictly above this. @defaultValue none */
  readonly low?: number;
  /** Keep losses strictly below this. @defaultValue none */
  readonly high?: number;
}

/**
 * Mean over the losses inside `(low, high)` (PML `ThresholdReducer`); 0 (connected) when none is.
 *
 * @param options - `low` and/or `high`; at least one.
 * @returns a {@link Reducer}.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when neither bound is given or `low >= high`.
 * @example
 * ```ts
 * thresholdReducer({ low: 0.5 }).reduce({ losses: tf.tensor1d([1, 0, 2]) }, embeddings).print(); // 1.5
 * ```
 * @category Reducers
 */
export function thresholdReducer(options: ThresholdReducerOptions): Reducer {
  const fn = 'thresholdReducer';
  const { low, high } = options ?? {};
  if (low === undefined && high === undefined) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must set 'low' or 'high', got neither`);
  }
  if (low !== undefined) assertNumber(low, 'low', fn);
  if (high !== undefined) assertNumber(high, 'high', fn, low === undefined ? {} : { min: low, exclusiveMin: true });
  return {
    name: fn,
    reduce(input, embeddings) {
      checkLosses(input, embeddings, `${fn}.reduce`);
      return tf.tidy(() => {
        const { losses } = input;
        // step(v) = 1 for v > 0, else 0: strict bounds, as PML.
        let keep: tf.Tensor1D | null = null;
        if (low !== undefined) keep = tf.step(tf.sub(losses, low)) as tf.Tensor1D;
        if (high !== undefined) {
          const below = tf.step(tf.sub(high, losses)) as tf.Tensor1D;
          keep = keep === null ? below : (tf.mul(keep, below) as tf.Tensor1D);
        }
        return maskedMean(losses, keep, embeddings);
      });
    },
  };
}

/**
 * Mean over the losses greater than 0 (PML `AvgNonZeroReducer`, the default of the margin losses:
 * averaging only the triplets or pairs that still violate their margin).
 * @returns a {@link Reducer}.
 * @example
 * ```ts
 * avgNonZeroReducer().reduce({ losses: tf.tensor1d([1, 0, 2]) }, embeddings).print(); // 1.5
 * ```
 * @category Reducers
 */
export function avgNonZeroReducer(): Reducer {
  const inner = thresholdReducer({ low: 0 });
  return { name: 'avgNonZeroReducer', reduce: (input, embeddings) => inner.reduce(input, embeddings) };
}

/** Options of {@link perAnchorReducer}. @category Reducers */
export interface PerAnchorReducerOptions {
  /** How the losses of one anchor are combined. @defaultValue 'sum' (as PML) */
  readonly aggregation?: 'sum' | 'mean';
  /** How the `[numAnchors]` per-anchor losses are then reduced. @defaultValue {@link meanReducer} */
  readonly reducer?: Reducer;
}

/**
 * Combine the losses of each anchor first (sum, or mean over that anchor's elements), then reduce
 * the `[numAnchors]` per-anchor losses with `reducer` (PML `PerAnchorReducer`). Anchors without any
 * element count as 0.
 *
 * @param options - aggregation and the final reducer.
 * @returns a {@link Reducer} that needs `anchors` and `numAnchors` in its input.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for `options` that is not an object, an unknown
 *   aggregation or a `reducer` that is not a Reducer; at `reduce`, when `anchors` or `numAnchors` is
 *   missing or mismatched, or an anchor lies outside `[0, numAnchors)` (the anchors' minimum and
 *   maximum are read back to check).
 * @example
 * ```ts
 * const input = { losses: tf.tensor1d([1, 3, 2]), anchors: tf.tensor1d([0, 0, 1], 'int32'), numAnchors: 2 };
 * perAnchorReducer({ aggregation: 'mean' }).reduce(input, embeddings).print(); // (2 + 2) / 2 = 2
 * ```
 * @category Reducers
 */
export function perAnchorReducer(options: PerAnchorReducerOptions = {}): Reducer {
  const fn = 'perAnchorReducer';
  assertOptionsObject(options, fn);
  const aggregation = options.aggregation ?? 'sum';
  if (aggregation !== 'sum' && aggregation !== 'mean') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'aggregation' passed to '${fn}' must be one of "sum", "mean", got ${JSON.stringify(aggregation)}`);
  }
  const inner = options.reducer ?? meanReducer();
  if (inner === null || typeof inner !== 'object' || typeof (inner as Partial<Reducer>).reduce !== 'function') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'reducer' passed to '${fn}' must be a Reducer (e.g. meanReducer()), got ${inner === null ? 'null' : typeof inner}`);
  }
  return {
    name: fn,
    reduce(input, embeddings) {
      checkLosses(input, embeddings, `${fn}.reduce`);
      const { losses, anchors, numAnchors } = input;
      assertTensor(anchors, 1, 'anchors', `${fn}.reduce`, 'int32');
      assertNumber(numAnchors, 'numAnchors', `${fn}.reduce`, { integer: true, min: 1 });
      if (anchors.shape[0] !== losses.shape[0]) {
        throw new ContrastiveError(
          'SHAPE_MISMATCH',
          `Argument 'anchors' passed to '${fn}.reduce' must have ${losses.shape[0]} entries (one per loss), got ${anchors.shape[0]}`,
        );
      }
      if (anchors.shape[0] > 0) {
        // An anchor outside [0, numAnchors) would be dropped silently by the segment sum: read the
        // minimum and maximum (two int32 values) back to check.
        const bounds = tf.tidy(() => tf.stack([tf.min(anchors), tf.max(anchors)]));
        const [low, high] = Array.from(bounds.dataSync()) as [number, number];
        bounds.dispose();
        if (low < 0 || high >= numAnchors) {
          throw new ContrastiveError(
            'INVALID_ARGUMENT',
            `Argument 'anchors' passed to '${fn}.reduce' must hold anchor rows in [0, ${numAnchors}) (numAnchors), got values in [${low}, ${high}]`,
          );
        }
      }
      return tf.tidy(() => {
        if (losses.shape[0] === 0) return connectedZero(embeddings);
        let perAnchor = tf.unsortedSegmentSum(losses, anchors, numAnchors) as tf.Tensor1D;
        if (aggregation === 'mean') {
          const counts = tf.unsortedSegmentSum(tf.onesLike(losses), anchors, numAnchors);
          perAnchor = tf.div(perAnchor, tf.maximum(counts, 1)) as tf.Tensor1D;
        }
        return inner.reduce({ losses: perAnchor }, embeddings);
      });
    },
  };
}
