import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertOneOf } from '@contrastive/core';
import { finiteFloat64 } from './split.js';

/**
 * Scored pairs: one score per pair and whether the pair is a true match.
 * @category Verification
 */
export interface VerificationPairs {
  /**
   * `[p]` score of every pair (plain numbers or a float32 tensor; borrowed): a distance (smaller =
   * more similar, the default) or a similarity (`higherIsSimilar: true`). Finite.
   */
  readonly scores: ArrayLike<number> | tf.Tensor1D;
  /**
   * `[p]` ground truth: `true` / `1` for a same-identity (positive) pair, `false` / `0` otherwise
   * (booleans, 0/1 numbers, or a bool / int32 tensor).
   */
  readonly same: ArrayLike<boolean | number> | tf.Tensor1D;
  /**
   * Whether a larger score means more similar (cosine similarity). The prediction is "same" when
   * `score <= threshold` for distances and `score >= threshold` for similarities.
   * @defaultValue false
   */
  readonly higherIsSimilar?: boolean;
}

/**
 * Confusion counts and rates at one threshold. A ratio whose denominator is 0 is reported as 0
 * (scikit-learn's `zero_division=0`).
 * @category Verification
 */
export interface VerificationMetrics {
  /** `tp / (tp + fp)`. */
  readonly precision: number;
  /** `tp / (tp + fn)` (true-positive rate). */
  readonly recall: number;
  /** `2 tp / (2 tp + fp + fn)`. */
  readonly f1: number;
  /** `fp / (fp + tn)` (false-positive rate). */
  readonly fpr: number;
  /** `(tp + tn) / p`. */
  readonly accuracy: number;
  /** Positive pairs predicted same. */
  readonly tp: number;
  /** Negative pairs predicted same. */
  readonly fp: number;
  /** Negative pairs predicted different. */
  readonly tn: number;
  /** Positive pairs predicted different. */
  readonly fn: number;
}

/**
 * What {@link calibrateThreshold} maximises: `'f1'`, or the precision among thresholds whose recall
 * is at least `precisionAtRecall` (in `(0, 1]`).
 * @category Verification
 */
export type CalibrationTarget = 'f1' | { readonly precisionAtRecall: number };

/**
 * Input of {@link calibrateThreshold}.
 * @category Verification
 */
export interface CalibrateThresholdInput extends VerificationPairs {
  /** The objective. @defaultValue 'f1' */
  readonly target?: CalibrationTarget;
}

/**
 * Input of {@link verificationMetrics}.
 * @category Verification
 */
export interface VerificationMetricsInput extends VerificationPairs {
  /** Decision threshold (any number, `±Infinity` allowed; not NaN). */
  readonly threshold: number;
}

/**
 * Result of {@link calibrateThreshold}: the threshold and the metrics it gives on the calibration
 * pairs.
 * @category Verification
 */
export interface CalibratedThreshold extends VerificationMetrics {
  /** The chosen threshold, to pass to {@link verificationMetrics} on held-out pairs. */
  readonly threshold: number;
}

interface ReadPairs {
  /** Scores oriented as distances (similarities negated). */
  readonly distances: Float64Array;
  readonly same: Uint8Array;
  readonly positives: number;
  readonly higherIsSimilar: boolean;
}

function readScores(scores: unknown, fn: string): Float64Array {
  let values: unknown = scores;
  if (scores instanceof tf.Tensor) {
    if (scores.isDisposed) throw new ContrastiveError('DISPOSED', `Argument 'scores' passed to '${fn}' has been disposed`);
    if (scores.rank !== 1) {
      throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'scores' passed to '${fn}' must be rank 1, got rank ${scores.rank} (shape [${scores.shape.join(', ')}])`);
    }
    if (scores.dtype !== 'float32') {
      throw new ContrastiveError('DTYPE_MISMATCH', `Argument 'scores' passed to '${fn}' must have dtype float32, got ${scores.dtype}`);
    }
    values = scores.dataSync();
  }
  return finiteFloat64(values, 'scores', fn, 'NON_FINITE');
}

function readSame(same: unknown, count: number, fn: string): Uint8Array {
  let values: unknown = same;
  if (same instanceof tf.Tensor) {
    if (same.isDisposed) throw new ContrastiveError('DISPOSED', `Argument 'same' passed to '${fn}' has been disposed`);
    if (same.rank !== 1) {
      throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'same' passed to '${fn}' must be rank 1, got rank ${same.rank} (shape [${same.shape.join(', ')}])`);
    }
    if (same.dtype !== 'bool' && same.dtype !== 'int32') {
      throw new ContrastiveError('DTYPE_MISMATCH', `Argument 'same' passed to '${fn}' must have dtype bool or int32, got ${same.dtype}`);
    }
    values = same.dataSync();
  }
  if (values === null || typeof values !== 'object' || typeof (values as { length?: unknown }).length !== 'number') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'same' passed to '${fn}' must be an array of booleans / 0-1 numbers or a rank-1 tensor, got ${values === null ? 'null' : typeof values}`,
    );
  }
  const source = values as ArrayLike<unknown>;
  if (source.length !== count) {
    throw new ContrastiveError('LABEL_COUNT', `Argument 'same' passed to '${fn}' must have ${count} entries (one per score), got ${source.length}`);
  }
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const value = source[i];
    if (value === true || value === 1) out[i] = 1;
    else if (value !== false && value !== 0) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'same' passed to '${fn}' must hold booleans or 0 / 1, got ${String(value)} at index ${i}`);
    }
  }
  return out;
}

function readPairs(input: unknown, fn: string): ReadPairs {
  if (input === null || typeof input !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'input' passed to '${fn}' must be an object { scores, same, ... }, got ${input === null ? 'null' : typeof input}`);
  }
  const pairs = input as Partial<VerificationPairs>;
  const higherIsSimilar = pairs.higherIsSimilar ?? false;
  assertOneOf(higherIsSimilar, [true, false] as const, 'higherIsSimilar', fn);
  const distances = readScores(pairs.scores, fn);
  if (distances.length === 0) {
    throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'scores' passed to '${fn}' must have at least 1 entry, got 0`);
  }
  const same = readSame(pairs.same, distances.length, fn);
  let positives = 0;
  for (let i = 0; i < same.length; i++) positives += same[i] as number;
  if (higherIsSimilar) for (let i = 0; i < distances.length; i++) distances[i] = -(distances[i] as number);
  return { distances, same, positives, higherIsSimilar };
}

function metricsFromCounts(tp: number, fp: number, tn: number, fn: number): VerificationMetrics {
  const ratio = (numerator: number, denominator: number): number => (denominator === 0 ? 0 : numerator / denominator);
  return {
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    fpr: ratio(fp, fp + tn),
    accuracy: (tp + tn) / (tp + fp + tn + fn),
    tp,
    fp,
    tn,
    fn,
  };
}

/**
 * Precision, recall, F1, false-positive rate and accuracy of a same / different decision at a fixed
 * threshold — the verification protocol of face and speaker recognition (LFW: a threshold chosen
 * on calibration folds, applied to held-out pairs); scikit-learn's `precision_score`,
 * `recall_score`, `f1_score` with `zero_division=0` on the thresholded predictions.
 *
 * Convention: a pair is predicted "same" when `score <= threshold` for distances
 * (`higherIsSimilar: false`, the default) and when `score >= threshold` for similarities, so a pair
 * exactly at the threshold counts as "same". Computed on the host in float64, `O(p)`.
 *
 * @param input - `scores` `[p]` (numbers or a float32 tensor), `same` `[p]` (booleans, 0/1 or a bool
 *   / int32 tensor), `threshold`, `higherIsSimilar`; tensors are borrowed.
 * @returns the metrics and confusion counts as plain numbers.
 * @throws `ContrastiveError` (from `@contrastive/core`) `SHAPE_MISMATCH` (no pairs, wrong rank),
 *   `LABEL_COUNT` (`same` and `scores` differ in length), `NON_FINITE` (a NaN / infinite score),
 *   `INVALID_ARGUMENT` (a NaN threshold, a `same` entry other than a boolean / 0 / 1),
 *   `DTYPE_MISMATCH`, `DISPOSED`.
 * @example
 * ```ts
 * const metrics = verificationMetrics({ scores: [0.1, 0.4, 0.5, 0.9], same: [1, 1, 0, 0], threshold: 0.45 });
 * console.log(metrics.precision, metrics.recall, metrics.f1, metrics.fpr); // 1 1 1 0
 * ```
 * @category Verification
 */
export function verificationMetrics(input: VerificationMetricsInput): VerificationMetrics {
  const fn = 'verificationMetrics';
  const pairs = readPairs(input, fn);
  const { threshold } = input;
  if (typeof threshold !== 'number' || Number.isNaN(threshold)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'threshold' passed to '${fn}' must be a number (not NaN), got ${String(threshold)}`);
  }
  const limit = pairs.higherIsSimilar ? -threshold : threshold;
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < pairs.distances.length; i++) {
    if ((pairs.distances[i] as number) <= limit) {
      if (pairs.same[i] === 1) tp++;
      else fp++;
    }
  }
  const negatives = pairs.distances.length - pairs.positives;
  return metricsFromCounts(tp, fp, negatives - fp, pairs.positives - tp);
}

/**
 * Choose the decision threshold that maximises F1 (or the precision subject to a minimum recall)
 * on calibration pairs — TF Similarity's `calibrate()` / the LFW protocol's threshold selection,
 * exact rather than on a grid.
 *
 * The candidates are the `u` distinct scores: "same" = every pair at or below a candidate (distances)
 * or at or above it (similarities). The scores of all pairs and of the positive pairs are sorted
 * once (`O(p log p)` on the host, float64) and swept, so ties are never split: all pairs with
 * equal scores fall on the same side. The returned threshold lies strictly between the chosen
 * distinct score and the next one (their midpoint), so both the `<=` / `>=` convention of
 * {@link verificationMetrics} and a strict comparison give the same predictions on these pairs;
 * when every pair is predicted same it is the last score itself.
 *
 * Ties in the objective: for `'f1'` the strictest threshold (fewest pairs predicted same) wins; for
 * `precisionAtRecall` the candidate with the larger recall wins among equal precisions.
 *
 * @param input - `scores` `[p]`, `same` `[p]`, `higherIsSimilar` (see {@link VerificationPairs}), and
 *   `target` (`'f1'`, the default, or `{ precisionAtRecall: r }` with `r` in `(0, 1]`).
 * @returns the threshold and the metrics it gives on the calibration pairs (plain numbers).
 * @throws `ContrastiveError` (from `@contrastive/core`) `INVALID_ARGUMENT` when there is no
 *   positive pair or the target is malformed, plus the errors of {@link verificationMetrics}.
 * @example
 * ```ts
 * const { threshold, f1 } = calibrateThreshold({ scores: [0.1, 0.4, 0.5, 0.9], same: [true, true, false, false] });
 * console.log(threshold, f1); // 0.45 1
 * ```
 * @category Verification
 */
export function calibrateThreshold(input: CalibrateThresholdInput): CalibratedThreshold {
  const fn = 'calibrateThreshold';
  const pairs = readPairs(input, fn);
  const target = input.target ?? 'f1';
  let minimumRecall: number | undefined;
  if (target !== 'f1') {
    if (target === null || typeof target !== 'object') {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'target' passed to '${fn}' must be 'f1' or { precisionAtRecall: number }, got ${typeof target === 'string' ? JSON.stringify(target) : String(target)}`,
      );
    }
    minimumRecall = target.precisionAtRecall;
    assertNumber(minimumRecall, 'target.precisionAtRecall', fn, { min: 0, exclusiveMin: true, max: 1 });
  }
  const { distances, same, positives } = pairs;
  if (positives === 0) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'same' passed to '${fn}' must mark at least one positive pair, got none of ${same.length}`);
  }
  const p = distances.length;
  const negatives = p - positives;
  const sorted = Float64Array.from(distances).sort();
  const positiveScores = new Float64Array(positives);
  for (let i = 0, j = 0; i < p; i++) if (same[i] === 1) positiveScores[j++] = distances[i] as number;
  positiveScores.sort();

  let best = -1;
  let bestTp = 0;
  let bestPredicted = 0;
  let bestObjective = -Infinity;
  let bestRecall = -Infinity;
  let tp = 0;
  for (let end = 0; end < p; ) {
    const value = sorted[end] as number;
    while (end < p && sorted[end] === value) end++;
    while (tp < positives && (positiveScores[tp] as number) <= value) tp++;
    const predicted = end; // pairs with distance <= value
    const recall = tp / positives;
    let objective: number;
    if (minimumRecall === undefined) {
      objective = (2 * tp) / (predicted + positives);
    } else {
      if (recall < minimumRecall) continue;
      objective = tp / predicted;
    }
    const better = minimumRecall === undefined ? objective > bestObjective : objective > bestObjective || (objective === bestObjective && recall > bestRecall);
    if (better) {
      best = end;
      bestTp = tp;
      bestPredicted = predicted;
      bestObjective = objective;
      bestRecall = recall;
    }
  }
  // `best` is one past the last included pair; the threshold sits between it and the next score.
  const last = sorted[best - 1] as number;
  let threshold = last;
  if (best < p) {
    const next = sorted[best] as number;
    let middle = (last + next) / 2;
    // Scores near ±Number.MAX_VALUE: the sum overflows to ±Infinity, so halve them first.
    if (!Number.isFinite(middle)) middle = last / 2 + next / 2;
    threshold = middle < next ? middle : last;
  }
  const fp = bestPredicted - bestTp;
  const metrics = metricsFromCounts(bestTp, fp, negatives - fp, positives - bestTp);
  return { threshold: pairs.higherIsSimilar ? -threshold : threshold, ...metrics };
}
