import * as tf from '@tensorflow/tfjs-core';
import { Rng, isContrastiveError } from '@contrastive/core';
import { expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { calibrateThreshold, verificationMetrics, type CalibrationTarget, type VerificationMetrics } from './verification.js';

beforeAll(async () => {
  await useTestBackend();
});

/** Brute-force confusion at a threshold, straight from the definitions. */
function bruteMetrics(scores: number[], same: boolean[], threshold: number, higherIsSimilar: boolean): VerificationMetrics {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  scores.forEach((score, i) => {
    const predicted = higherIsSimilar ? score >= threshold : score <= threshold;
    if (predicted && same[i]) tp++;
    else if (predicted) fp++;
    else if (same[i]) fn++;
    else tn++;
  });
  const safe = (a: number, b: number): number => (b === 0 ? 0 : a / b);
  const precision = safe(tp, tp + fp);
  const recall = safe(tp, tp + fn);
  return {
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    fpr: safe(fp, fp + tn),
    accuracy: (tp + tn) / scores.length,
    tp,
    fp,
    tn,
    fn,
  };
}

/** Try every distinct score as the threshold; ties per the documented rules. */
function bruteCalibrate(scores: number[], same: boolean[], higherIsSimilar: boolean, target: CalibrationTarget): VerificationMetrics {
  const candidates = [...new Set(scores)].sort((a, b) => (higherIsSimilar ? b - a : a - b));
  let best: VerificationMetrics | undefined;
  for (const candidate of candidates) {
    const metrics = bruteMetrics(scores, same, candidate, higherIsSimilar);
    if (target === 'f1') {
      if (best === undefined || metrics.f1 > best.f1 + 1e-12) best = metrics;
    } else {
      if (metrics.recall < target.precisionAtRecall) continue;
      if (
        best === undefined ||
        metrics.precision > best.precision + 1e-12 ||
        (Math.abs(metrics.precision - best.precision) <= 1e-12 && metrics.recall > best.recall)
      ) {
        best = metrics;
      }
    }
  }
  return best as VerificationMetrics;
}

function randomPairs(seed: number, p: number, levels: number): { scores: number[]; same: boolean[] } {
  const rng = new Rng(seed);
  const same = Array.from({ length: p }, () => rng.uniform() < 0.4);
  // Quantised scores so that ties are frequent; positives tend to be closer.
  const scores = same.map((positive) => Math.round((rng.uniform() + (positive ? 0 : 0.5)) * levels) / levels);
  return { scores: Array.from(Float32Array.from(scores)), same };
}

function counts(metrics: VerificationMetrics): number[] {
  return [metrics.tp, metrics.fp, metrics.tn, metrics.fn];
}

describe('verificationMetrics', () => {
  it('closed form on a small example (distances, <= convention)', () => {
    const metrics = verificationMetrics({ scores: [0.1, 0.4, 0.5, 0.9], same: [1, 1, 0, 0], threshold: 0.45 });
    expect(metrics).toEqual({ precision: 1, recall: 1, f1: 1, fpr: 0, accuracy: 1, tp: 2, fp: 0, tn: 2, fn: 0 });
    const atTie = verificationMetrics({ scores: [0.1, 0.4, 0.5, 0.9], same: [1, 1, 0, 0], threshold: 0.5 });
    expect(counts(atTie)).toEqual([2, 1, 1, 0]);
    expect(atTie.precision).toBeCloseTo(2 / 3, 15);
    expect(atTie.fpr).toBe(0.5);
  });

  it('similarities use >=', () => {
    const metrics = verificationMetrics({ scores: [0.9, 0.6, 0.6, 0.1], same: [true, false, true, false], threshold: 0.6, higherIsSimilar: true });
    expect(counts(metrics)).toEqual([2, 1, 1, 0]);
  });

  it.each([
    [1, false],
    [2, true],
    [3, false],
  ])('matches brute force at every threshold (seed %i, higherIsSimilar %s)', (seed, higherIsSimilar) => {
    const { scores, same } = randomPairs(seed, 60, 10);
    for (const threshold of [-Infinity, Infinity, ...new Set(scores), 0.55, 0.05]) {
      const metrics = verificationMetrics({ scores, same, threshold, higherIsSimilar });
      const expected = bruteMetrics(scores, same, threshold, higherIsSimilar);
      expect(counts(metrics)).toEqual(counts(expected));
      for (const key of ['precision', 'recall', 'f1', 'fpr', 'accuracy'] as const) expect(metrics[key]).toBeCloseTo(expected[key], 12);
    }
  });

  it('zero denominators give 0 (no predicted same, no negatives)', () => {
    const none = verificationMetrics({ scores: [0.2, 0.3], same: [1, 0], threshold: 0 });
    expect(none).toMatchObject({ precision: 0, recall: 0, f1: 0, fpr: 0, accuracy: 0.5 });
    const allPositive = verificationMetrics({ scores: [0.2, 0.3], same: [1, 1], threshold: 1 });
    expect(allPositive).toMatchObject({ precision: 1, recall: 1, f1: 1, fpr: 0, accuracy: 1 });
  });

  it('accepts tensors and leaves no tensor behind', async () => {
    const scores = tf.tensor1d([0.1, 0.4, 0.5, 0.9]);
    const same = tf.tensor1d([true, true, false, false], 'bool');
    const sameInt = tf.tensor1d([1, 1, 0, 0], 'int32');
    const metrics = await expectNoLeak(() => verificationMetrics({ scores, same, threshold: 0.45 }));
    expect(metrics.f1).toBe(1);
    expect(verificationMetrics({ scores, same: sameInt, threshold: 0.45 }).f1).toBe(1);
    const calibrated = await expectNoLeak(() => calibrateThreshold({ scores, same }));
    expect(calibrated.f1).toBe(1);
    tf.dispose([scores, same, sameInt]);
  });
});

describe('calibrateThreshold', () => {
  it('closed form: the midpoint between the last positive and the first negative', () => {
    const result = calibrateThreshold({ scores: [0.1, 0.4, 0.5, 0.9], same: [true, true, false, false] });
    expect(result.threshold).toBeCloseTo(0.45, 15);
    expect(result).toMatchObject({ f1: 1, precision: 1, recall: 1, tp: 2, fp: 0, tn: 2, fn: 0 });
    const similar = calibrateThreshold({ scores: [0.9, 0.6, 0.5, 0.1], same: [true, true, false, false], higherIsSimilar: true });
    expect(similar.threshold).toBeCloseTo(0.55, 15);
    expect(similar.f1).toBe(1);
  });

  it.each([
    [11, 'f1' as CalibrationTarget, false],
    [12, 'f1' as CalibrationTarget, true],
    [13, { precisionAtRecall: 0.5 }, false],
    [14, { precisionAtRecall: 0.9 }, true],
    [15, { precisionAtRecall: 1 }, false],
    [16, { precisionAtRecall: 0.25 }, true],
  ])('matches a brute force over all candidate thresholds (seed %i, %j, higherIsSimilar %s)', (seed, target, higherIsSimilar) => {
    for (const [p, levels] of [
      [50, 8],
      [200, 40],
      [120, 1000],
    ] as const) {
      const { scores, same } = randomPairs(seed + p, p, levels);
      const result = calibrateThreshold({ scores, same, higherIsSimilar, target });
      const expected = bruteCalibrate(scores, same, higherIsSimilar, target);
      expect(counts(result)).toEqual(counts(expected));
      for (const key of ['precision', 'recall', 'f1', 'fpr', 'accuracy'] as const) expect(result[key]).toBeCloseTo(expected[key], 12);
      // The threshold reproduces the same decision under the <= / >= convention and under a strict one.
      const again = verificationMetrics({ scores, same, threshold: result.threshold, higherIsSimilar });
      expect(counts(again)).toEqual(counts(result));
      const strict = scores.filter((score) => (higherIsSimilar ? score > result.threshold : score < result.threshold)).length;
      // (Unless every pair is predicted same: then the threshold is the extreme score itself.)
      if (result.tp + result.fp < p) expect(strict).toBe(result.tp + result.fp);
    }
  });

  it('never splits tied scores', () => {
    // Three pairs share the score 0.5: one positive and two negatives.
    const scores = [0.1, 0.5, 0.5, 0.5, 0.9];
    const same = [true, true, false, false, true];
    const result = calibrateThreshold({ scores, same });
    const included = scores.filter((score) => score <= result.threshold).length;
    expect([1, 4, 5]).toContain(included);
    expect(result.f1).toBeCloseTo(bruteCalibrate(scores, same, false, 'f1').f1, 12);
  });

  it('all pairs predicted same when that is best: the threshold is the largest score', () => {
    const result = calibrateThreshold({ scores: [0.3, 0.1, 0.2], same: [1, 1, 1] });
    expect(result.threshold).toBe(0.3);
    expect(result.f1).toBe(1);
    const single = calibrateThreshold({ scores: [0.7], same: [1] });
    expect(single).toMatchObject({ threshold: 0.7, tp: 1, f1: 1 });
  });

  it('F1 ties go to the strictest threshold; precision ties to the larger recall', () => {
    // Distances 1 (pos), 2 (neg), 3 (pos), 4 (neg)... F1 at 1: 2/3 (tp 1, predicted 1, P = 2);
    // at 3: 2*2/(3+2) = 0.8. Construct a tie: positives at 1 and 3, negatives at 2 and 2.5 -> at 1:
    // 2/(1+2) = 0.667; at 3: 4/(4+2) = 0.667.
    const tie = calibrateThreshold({ scores: [1, 2, 2.5, 3], same: [1, 0, 0, 1] });
    expect(tie.tp + tie.fp).toBe(1);
    const precision = calibrateThreshold({ scores: [1, 2, 3, 4], same: [1, 1, 0, 1], target: { precisionAtRecall: 0.3 } });
    expect(precision).toMatchObject({ precision: 1, recall: 2 / 3 });
  });

  it('a large calibration set runs in O(p log p)', () => {
    const rng = new Rng(21);
    const p = 200_000;
    const same = new Uint8Array(p);
    const scores = new Float32Array(p);
    for (let i = 0; i < p; i++) {
      same[i] = rng.uniform() < 0.1 ? 1 : 0;
      scores[i] = rng.normal(same[i] === 1 ? 0.4 : 1, 0.2);
    }
    const result = calibrateThreshold({ scores, same: Array.from(same) });
    expect(result.f1).toBeGreaterThan(0.5);
    expect(counts(verificationMetrics({ scores, same: Array.from(same), threshold: result.threshold }))).toEqual(counts(result));
  });
});

describe('verification: validation', () => {
  it.each([
    [() => calibrateThreshold({ scores: [0.1, 0.2], same: [0, 0] }), 'INVALID_ARGUMENT', /Argument 'same' passed to 'calibrateThreshold' must mark at least one positive pair, got none of 2/],
    [() => calibrateThreshold({ scores: [], same: [] }), 'SHAPE_MISMATCH', /Argument 'scores' passed to 'calibrateThreshold' must have at least 1 entry, got 0/],
    [() => calibrateThreshold({ scores: [0.1, 0.2], same: [1] }), 'LABEL_COUNT', /Argument 'same' passed to 'calibrateThreshold' must have 2 entries \(one per score\), got 1/],
    [() => calibrateThreshold({ scores: [0.1, Number.NaN], same: [1, 0] }), 'NON_FINITE', /Argument 'scores' passed to 'calibrateThreshold' must hold finite numbers, got NaN at index 1/],
    [() => calibrateThreshold({ scores: [0.1, 0.2], same: [1, 2] }), 'INVALID_ARGUMENT', /Argument 'same' passed to 'calibrateThreshold' must hold booleans or 0 \/ 1, got 2 at index 1/],
    [
      () => calibrateThreshold({ scores: [0.1], same: [1], target: { precisionAtRecall: 0 } }),
      'INVALID_ARGUMENT',
      /Argument 'target.precisionAtRecall' passed to 'calibrateThreshold' must be a finite number > 0 and <= 1, got 0/,
    ],
    [
      () => calibrateThreshold({ scores: [0.1], same: [1], target: 'accuracy' as CalibrationTarget }),
      'INVALID_ARGUMENT',
      /Argument 'target' passed to 'calibrateThreshold' must be 'f1' or \{ precisionAtRecall: number \}, got "accuracy"/,
    ],
    [
      () => calibrateThreshold({ scores: [0.1], same: [1], higherIsSimilar: 'yes' as unknown as boolean }),
      'INVALID_ARGUMENT',
      /Argument 'higherIsSimilar' passed to 'calibrateThreshold' must be one of true, false, got "yes"/,
    ],
    [() => verificationMetrics({ scores: [0.1], same: [1], threshold: Number.NaN }), 'INVALID_ARGUMENT', /Argument 'threshold' passed to 'verificationMetrics' must be a number \(not NaN\), got NaN/],
    [
      () => verificationMetrics({ scores: tf.tensor1d([1], 'int32'), same: [1], threshold: 0 }),
      'DTYPE_MISMATCH',
      /Argument 'scores' passed to 'verificationMetrics' must have dtype float32, got int32/,
    ],
    [
      () => verificationMetrics({ scores: [1], same: tf.tensor1d([1]), threshold: 0 }),
      'DTYPE_MISMATCH',
      /Argument 'same' passed to 'verificationMetrics' must have dtype bool or int32, got float32/,
    ],
    [() => verificationMetrics(null as unknown as { scores: number[]; same: number[]; threshold: number }), 'INVALID_ARGUMENT', /Argument 'input' passed to 'verificationMetrics' must be an object/],
  ])('%#', (call, code, message) => {
    let thrown: unknown;
    try {
      call();
    } catch (error) {
      thrown = error;
    }
    expect(isContrastiveError(thrown)).toBe(true);
    expect((thrown as { code: string }).code).toBe(code);
    expect((thrown as Error).message).toMatch(message);
  });
});
