import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, cosineSimilarity, lpDistance } from '@contrastive/core';
import { expectContrastiveError, useTestBackend } from '@contrastive/core/testing';
import { tripletMarginLoss } from '@contrastive/losses';
import { distanceWeightedMiner } from './distance-weighted-miner.js';
import { EMPTY_TRIPLETS, expectEmptyTuples, expectMinedTuplesFeedLoss, expectMinesWithoutLeak, mineTriplets, randomRows, referenceValue } from './test-support/miners.js';
import type { PlainTriplets, Rows } from './test-support/miners.js';

beforeAll(async () => {
  await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference: obvious loops (Wu et al. 2017, Section 4; PML's DistanceWeightedMiner)
// ---------------------------------------------------------------------------------------------

/** Euclidean distance of the L2-normalised rows, float64. */
const distance = (a: number[], b: number[]): number => referenceValue('lp', a, b);

/**
 * Row i: the normalised sampling weights over the columns, q(d)^-1 = d^(2-k) (1 - d²/4)^(-(k-3)/2)
 * with d clipped below at `cutoff`, 0 for non-negatives, for d >= nonzeroLossCutoff and where the
 * weight is not finite; all 0 when nothing is eligible.
 */
function referenceWeights(
  rows: Rows,
  labels: number[],
  refRows: Rows,
  refLabels: number[],
  cutoff: number,
  nonzeroLossCutoff: number,
): Rows {
  const k = (rows[0] as number[]).length;
  return rows.map((row, i) => {
    const weights = refRows.map((other, j) => {
      if (refLabels[j] === labels[i]) return 0;
      const d = Math.max(distance(row, other), cutoff);
      if (d >= nonzeroLossCutoff) return 0;
      const weight = d ** (2 - k) * (1 - (d * d) / 4) ** (-(k - 3) / 2);
      return Number.isFinite(weight) ? weight : 0;
    });
    const total = weights.reduce((s, w) => s + w, 0);
    return total > 0 ? weights.map((w) => w / total) : weights;
  });
}

/** Every positive pair of an anchor with an eligible negative, one inverse-CDF draw each from `rng`. */
function referenceSample(weights: Rows, labels: number[], refLabels: number[], self: boolean, rng: Rng): PlainTriplets {
  const out: PlainTriplets = { anchor: [], positive: [], negative: [] };
  labels.forEach((label, a) => {
    const row = weights[a] as number[];
    const total = row.reduce((s, w) => s + w, 0);
    if (!(total > 0)) return;
    refLabels.forEach((other, p) => {
      if (other !== label || (self && p === a)) return;
      const target = rng.uniform() * total;
      let running = 0;
      let drawn = -1;
      for (let j = 0; j < row.length && drawn < 0; j++) {
        running += row[j] as number;
        if (running > target && (row[j] as number) > 0) drawn = j;
      }
      out.anchor.push(a), out.positive.push(p), out.negative.push(drawn);
    });
  });
  return out;
}

/** Seeded float32 rows; every class present (n / classes rows each), in a random order. */
function balancedBatch(seed: number, n: number, dims: number, classes: number): { rows: Rows; labels: number[] } {
  const rng = new Rng(seed);
  const rows = randomRows(rng, n, dims);
  const labels = Array.from(rng.permutation(n), (i) => i % classes);
  return { rows, labels };
}

const circle = (degrees: number[]): Rows => degrees.map((a) => [Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180)]);

// ---------------------------------------------------------------------------------------------

describe('distanceWeightedMiner: hand-computed', () => {
  it('returns the TSDoc example', () => {
    const got = mineTriplets(distanceWeightedMiner({ rng: new Rng(1) }), circle([0, 10, 60, 180]), [0, 0, 1, 2]);
    expect(got).toEqual({ anchor: [0, 1], positive: [1, 0], negative: [2, 2] });
  });

  it('skips an anchor whose negatives are all at distance >= nonzeroLossCutoff (PML 2.x)', () => {
    // 0° and 120° share a label; the negative at 150° is 1.93 from 0° (weight 0) and 0.52 from 120°.
    const got = mineTriplets(distanceWeightedMiner(), circle([0, 120, 150]), [0, 0, 1]);
    expect(got).toEqual({ anchor: [1], positive: [0], negative: [2] });
    // With every negative too far, nothing is mined.
    expect(mineTriplets(distanceWeightedMiner(), circle([0, 10, 180]), [0, 0, 1])).toEqual(EMPTY_TRIPLETS);
  });

  it('gives clipped distances the weight of the cutoff', () => {
    // Negatives at 0.1 and 0.3 (both below 0.5): equal weights; the ref holds 4000 positive copies.
    const angle = (d: number): number => (2 * Math.asin(d / 2) * 180) / Math.PI;
    const ref = { rows: [...circle(new Array<number>(4000).fill(0)), ...circle([angle(0.1), angle(0.3)])], labels: [...new Array<number>(4000).fill(0), 1, 1] };
    const got = mineTriplets(distanceWeightedMiner({ rng: new Rng(5) }), circle([0]), [0], ref);
    const first = got.negative.filter((n) => n === 4000).length;
    expect(first + got.negative.filter((n) => n === 4001).length).toBe(4000);
    expect(Math.abs(first / 4000 - 0.5)).toBeLessThan(0.03); // 3.8 standard deviations
  });
});

describe('distanceWeightedMiner: the sampling distribution', () => {
  it('draws negatives with frequencies q(d)^-1 / Σ q^-1 (chi-square over 20,000 draws of one anchor)', () => {
    // Dimension k = 4; negatives of the anchor e1 at chosen distances, 2000 positive copies in ref.
    const distances = [0.2, 0.45, 0.7, 0.9, 1.1, 1.3, 1.39, 1.45, 1.8];
    const rowAt = (d: number): number[] => {
      const theta = 2 * Math.asin(d / 2);
      return [Math.fround(Math.cos(theta)), Math.fround(Math.sin(theta)), 0, 0];
    };
    const anchor = [[1, 0, 0, 0]];
    const copies = 2000;
    const refRows = [...new Array<number[]>(copies).fill([1, 0, 0, 0]), ...distances.map(rowAt)];
    const refLabels = [...new Array<number>(copies).fill(0), ...distances.map((_, k) => k + 1)];
    const expected = (referenceWeights(anchor, [0], refRows, refLabels, 0.5, 1.4)[0] as number[]).slice(copies);
    // q^-1 ∝ d^-2 (1 - d²/4)^-1/2: decreasing beyond the cutoff, equal below it, 0 from 1.4 on.
    expect(expected[0]).toBeCloseTo(expected[1] as number, 12);
    expect(expected[7]).toBe(0);
    expect(expected[8]).toBe(0);

    const miner = distanceWeightedMiner({ rng: new Rng(2024) });
    const counts = new Array<number>(distances.length).fill(0);
    const calls = 10;
    for (let call = 0; call < calls; call++) {
      const got = mineTriplets(miner, anchor, [0], { rows: refRows, labels: refLabels });
      expect(got.anchor.length).toBe(copies);
      for (const n of got.negative) counts[n - copies] = (counts[n - copies] as number) + 1;
    }
    const draws = calls * copies;
    expect(counts.reduce((s, c) => s + c, 0)).toBe(draws);
    expect(counts[7]).toBe(0);
    expect(counts[8]).toBe(0);

    const chiSquare = (probabilities: number[]): number =>
      probabilities.reduce((s, p, k) => (p > 0 ? s + ((counts[k] as number) - draws * p) ** 2 / (draws * p) : s), 0);
    // 7 categories with weight: 6 degrees of freedom; 22.46 is the 0.999 quantile of chi²(6).
    expect(chiSquare(expected)).toBeLessThan(22.46);
    // The test has power: uniform sampling over the same 7 negatives is rejected by far.
    const uniform = expected.map((p) => (p > 0 ? 1 / 7 : 0));
    expect(chiSquare(uniform)).toBeGreaterThan(500);
    const maxError = Math.max(...expected.map((p, k) => Math.abs((counts[k] as number) / draws - p)));
    expect(maxError).toBeLessThan(0.012);
  });
});

describe('distanceWeightedMiner: float64 reference on random batches', () => {
  const cases = [8, 24].flatMap((n) =>
    [2, 5].flatMap((classes) =>
      [2, 3, 8, 32].flatMap((dims) =>
        [
          { cutoff: 0.5, nonzeroLossCutoff: 1.4 },
          { cutoff: 0.2, nonzeroLossCutoff: 1.8 },
        ].map((cutoffs) => ({ n, classes, dims, ...cutoffs })),
      ),
    ),
  );

  it.each(cases)('n $n, $classes classes, dimension $dims, cutoffs $cutoff / $nonzeroLossCutoff', ({ n, classes, dims, cutoff, nonzeroLossCutoff }) => {
    const { rows, labels } = balancedBatch(300 + n + classes * 7 + dims, n, dims, classes);
    const weights = referenceWeights(rows, labels, rows, labels, cutoff, nonzeroLossCutoff);
    const seed = n * 100 + dims;
    const expected = referenceSample(weights, labels, labels, true, new Rng(seed));
    expect(expected.anchor.length).toBeGreaterThan(0);
    const got = mineTriplets(distanceWeightedMiner({ cutoff, nonzeroLossCutoff, rng: new Rng(seed) }), rows, labels);
    expect(got).toEqual(expected);
    // Each triplet is valid: same-label positive, different-label negative with positive weight.
    got.anchor.forEach((a, t) => {
      const p = got.positive[t] as number;
      const neg = got.negative[t] as number;
      expect(labels[p]).toBe(labels[a]);
      expect(p).not.toBe(a);
      expect(labels[neg]).not.toBe(labels[a]);
      expect((weights[a] as number[])[neg]).toBeGreaterThan(0);
    });
  });

  it.each([3, 8].map((dims) => ({ dims })))('mines against a ref (dimension $dims)', ({ dims }) => {
    const batch = balancedBatch(71 + dims, 6, dims, 3);
    const ref = balancedBatch(72 + dims, 20, dims, 3);
    // A copy of anchor 0 in the reference with its label: a positive there (no self-exclusion).
    ref.rows[4] = [...(batch.rows[0] as number[])];
    ref.labels[4] = batch.labels[0] as number;
    const weights = referenceWeights(batch.rows, batch.labels, ref.rows, ref.labels, 0.5, 1.4);
    const expected = referenceSample(weights, batch.labels, ref.labels, false, new Rng(9));
    expect(expected.anchor.length).toBeGreaterThan(0);
    expect(expected.anchor.some((a, t) => a === 0 && expected.positive[t] === 4)).toBe(true);
    expect(mineTriplets(distanceWeightedMiner({ rng: new Rng(9) }), batch.rows, batch.labels, ref)).toEqual(expected);
  });
});

describe('distanceWeightedMiner: seeding', () => {
  const { rows, labels } = balancedBatch(17, 24, 6, 3);

  it('the same seed gives the same tuples; the default is new Rng(0)', () => {
    const first = mineTriplets(distanceWeightedMiner({ rng: new Rng(3) }), rows, labels);
    expect(mineTriplets(distanceWeightedMiner({ rng: new Rng(3) }), rows, labels)).toEqual(first);
    expect(mineTriplets(distanceWeightedMiner({ rng: new Rng(4) }), rows, labels)).not.toEqual(first);
    expect(mineTriplets(distanceWeightedMiner(), rows, labels)).toEqual(mineTriplets(distanceWeightedMiner({ rng: new Rng(0) }), rows, labels));
  });

  it('every call advances the rng by one uniform draw per triplet', () => {
    const rng = new Rng(11);
    const miner = distanceWeightedMiner({ rng });
    const before = rng.clone();
    const first = mineTriplets(miner, rows, labels);
    for (let t = 0; t < first.anchor.length; t++) before.uniform();
    expect(rng.state()).toEqual(before.state());
    const second = mineTriplets(miner, rows, labels);
    expect(second.anchor).toEqual(first.anchor);
    expect(second.negative).not.toEqual(first.negative);
    // A batch without triplets draws nothing.
    const state = rng.state();
    expect(mineTriplets(miner, [[1, 0]], [0])).toEqual(EMPTY_TRIPLETS);
    expect(rng.state()).toEqual(state);
  });
});

describe('distanceWeightedMiner: edge cases', () => {
  it('single class, all labels distinct, batch of one: empty [0] int32 tensors', () => {
    const { rows } = balancedBatch(9, 6, 3, 1);
    expect(mineTriplets(distanceWeightedMiner(), rows, [1, 1, 1, 1, 1, 1])).toEqual(EMPTY_TRIPLETS);
    expect(mineTriplets(distanceWeightedMiner(), rows, [0, 1, 2, 3, 4, 5])).toEqual(EMPTY_TRIPLETS);
    const embeddings = tf.tensor2d([[1, 2, 3]]);
    const labels = tf.tensor1d([0], 'int32');
    expectEmptyTuples(distanceWeightedMiner().mine({ embeddings, labels }), 'triplets');
    tf.dispose([embeddings, labels]);
  });

  it('leaves no tensor behind and returns three owned ones', async () => {
    const { rows, labels } = balancedBatch(5, 12, 4, 3);
    await expectMinesWithoutLeak(distanceWeightedMiner(), rows, labels, 3);
  });
});

describe('distanceWeightedMiner: errors', () => {
  it('rejects bad options in the factory', () => {
    const fn = 'distanceWeightedMiner';
    expectContrastiveError(() => distanceWeightedMiner(null as never), 'INVALID_ARGUMENT', new RegExp(`Argument 'options' passed to '${fn}' must be an object, got null`));
    expectContrastiveError(() => distanceWeightedMiner({ cutoff: -0.1 }), 'INVALID_ARGUMENT', /Argument 'cutoff' passed to 'distanceWeightedMiner' must be a finite number >= 0, got -0.1/);
    expectContrastiveError(
      () => distanceWeightedMiner({ cutoff: 0.5, nonzeroLossCutoff: 0.5 }),
      'INVALID_ARGUMENT',
      /Argument 'nonzeroLossCutoff' passed to 'distanceWeightedMiner' must be a finite number > 0.5, got 0.5/,
    );
    expectContrastiveError(() => distanceWeightedMiner({ nonzeroLossCutoff: Number.NaN }), 'INVALID_ARGUMENT', /'nonzeroLossCutoff'.*got NaN/);
    expectContrastiveError(() => distanceWeightedMiner({ rng: { uniform: () => 0.5 } as never }), 'INVALID_ARGUMENT', /Argument 'rng' passed to 'distanceWeightedMiner' must be an Rng/);
  });

  it.each([
    { label: 'cosineSimilarity()', make: () => cosineSimilarity(), got: /got cosineSimilarity$/ },
    { label: 'lpDistance({ normalize: false })', make: () => lpDistance({ normalize: false }), got: /got lpDistance\(p=2\) \(normalize: false\)$/ },
    { label: 'lpDistance({ p: 1 })', make: () => lpDistance({ p: 1 }), got: /got lpDistance\(p=1\)$/ },
    { label: 'lpDistance({ power: 2 })', make: () => lpDistance({ power: 2 }), got: /got lpDistance\(p=2, power=2\)$/ },
  ])('rejects distance $label', ({ make, got }) => {
    const pattern = /Argument 'distance' passed to 'distanceWeightedMiner' must be lpDistance\(\) \(Euclidean distance of L2-normalised rows/;
    expectContrastiveError(() => distanceWeightedMiner({ distance: make() }), 'INVALID_ARGUMENT', pattern);
    expectContrastiveError(() => distanceWeightedMiner({ distance: make() }), 'INVALID_ARGUMENT', got);
  });

  it('accepts lpDistance() and rejects bad tensors in mine', () => {
    const miner = distanceWeightedMiner({ distance: lpDistance({ chunkElements: 64 }) });
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    const labels = tf.tensor1d([0, 0, 1], 'int32');
    const floatLabels = tf.tensor1d([0, 0, 1]);
    const refEmbeddings = tf.tensor3d([[[1, 0]]]);
    expect(mineTriplets(miner, [[1, 0], [0.9, 0.3], [0.3, 0.9]], [0, 0, 1])).toEqual({ anchor: [0, 1], positive: [1, 0], negative: [2, 2] });
    expectContrastiveError(() => miner.mine({ embeddings, labels: floatLabels }), 'DTYPE_MISMATCH', /Argument 'labels' passed to 'distanceWeightedMiner' must have dtype int32/);
    expectContrastiveError(
      () => miner.mine({ embeddings, labels, ref: { embeddings: refEmbeddings as never, labels } }),
      'SHAPE_MISMATCH',
      /Argument 'ref.embeddings' passed to 'distanceWeightedMiner' must be rank 2/,
    );
    tf.dispose([embeddings, labels, floatLabels, refEmbeddings]);
  });
});

// ---------------------------------------------------------------------------------------------
// Mined triplets feed tripletMarginLoss
// ---------------------------------------------------------------------------------------------

describe('distanceWeightedMiner: mined triplets feed tripletMarginLoss', () => {
  it('value equals the float64 reference and hand-built triplets; the gradient flows', () => {
    const { rows, labels } = balancedBatch(23, 16, 6, 4);
    const weights = referenceWeights(rows, labels, rows, labels, 0.5, 1.4);
    const expected = referenceSample(weights, labels, labels, true, new Rng(8));
    const margin = 0.2;
    const losses = expected.anchor.map((a, t) =>
      Math.max(0, distance(rows[a] as number[], rows[expected.positive[t] as number] as number[]) - distance(rows[a] as number[], rows[expected.negative[t] as number] as number[]) + margin),
    );
    const nonZero = losses.filter((v) => v > 0).length;
    expect(nonZero).toBeGreaterThan(0);
    const expectedValue = losses.reduce((s, v) => s + v, 0) / nonZero;
    expectMinedTuplesFeedLoss(distanceWeightedMiner({ rng: new Rng(8) }), tripletMarginLoss({ margin }), rows, labels, expected, expectedValue);
  });
});
