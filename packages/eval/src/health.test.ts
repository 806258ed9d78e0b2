import * as tf from '@tensorflow/tfjs-core';
import { Rng, isContrastiveError } from '@contrastive/core';
import { expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { alignment, effectiveRank, embeddingStd, pairDistanceStats, rankMe, symmetricEigenvalues, uniformity } from './health.js';

beforeAll(async () => {
  await useTestBackend();
});

/** float32 device math vs float64 reference. */
const TOLERANCE = 1e-5;

type Rows = number[][];

function randomRows(seed: number, n: number, d: number, scale = 1): Rows {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Array.from(Float32Array.from(Array.from({ length: d }, () => scale * rng.normal()))));
}

function unit(row: number[]): number[] {
  const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
  return norm === 0 ? row : row.map((v) => v / norm);
}

function squaredDistance(a: number[], b: number[]): number {
  return a.reduce((s, v, i) => s + (v - (b[i] as number)) ** 2, 0);
}

function closeTo(actual: number, expected: number, tolerance = TOLERANCE): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(expected)));
}

// Float64 references from the definitions --------------------------------------------------------

function referenceAlignment(x: Rows, y: Rows, alpha: number): number {
  return x.reduce((s, row, i) => s + Math.sqrt(squaredDistance(unit(row), unit(y[i] as number[]))) ** alpha, 0) / x.length;
}

function referenceUniformity(x: Rows, t: number): number {
  const units = x.map(unit);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < units.length; i++) {
    for (let j = i + 1; j < units.length; j++) {
      sum += Math.exp(-t * squaredDistance(units[i] as number[], units[j] as number[]));
      count++;
    }
  }
  return Math.log(sum / count);
}

function referenceStd(x: Rows): number {
  const units = x.map(unit);
  const d = (x[0] as number[]).length;
  let total = 0;
  for (let t = 0; t < d; t++) {
    const column = units.map((row) => row[t] as number);
    const mean = column.reduce((s, v) => s + v, 0) / column.length;
    total += Math.sqrt(column.reduce((s, v) => s + (v - mean) ** 2, 0) / (column.length - 1));
  }
  return total / d;
}

/** Quantile with numpy's linear interpolation. */
function quantile(sorted: number[], level: number): number {
  const position = (sorted.length - 1) * level;
  const low = Math.floor(position);
  const high = Math.min(low + 1, sorted.length - 1);
  return (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (position - low);
}

function referencePairs(x: Rows, labels: number[], normalize: boolean): { positive: number[]; negative: number[] } {
  const rows = normalize ? x.map(unit) : x;
  const positive: number[] = [];
  const negative: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    for (let j = i + 1; j < rows.length; j++) {
      const distance = Math.sqrt(squaredDistance(rows[i] as number[], rows[j] as number[]));
      (labels[i] === labels[j] ? positive : negative).push(distance);
    }
  }
  return { positive: positive.sort((a, b) => a - b), negative: negative.sort((a, b) => a - b) };
}

/** Singular values by a float64 Jacobi on XᵀX written independently: power iteration with deflation. */
function referenceSingularValues(x: Rows): number[] {
  const d = (x[0] as number[]).length;
  const gram = Array.from({ length: d }, (_, a) => Array.from({ length: d }, (_, b) => x.reduce((s, row) => s + (row[a] as number) * (row[b] as number), 0)));
  const values: number[] = [];
  for (let k = 0; k < Math.min(d, x.length); k++) {
    let v = Array.from({ length: d }, (_, i) => 1 + i * 0.37);
    let lambda = 0;
    for (let iteration = 0; iteration < 5000; iteration++) {
      const w = gram.map((row) => row.reduce((s, g, j) => s + g * (v[j] as number), 0));
      const norm = Math.sqrt(w.reduce((s, e) => s + e * e, 0));
      if (norm === 0) break;
      lambda = norm;
      v = w.map((e) => e / norm);
    }
    values.push(Math.sqrt(Math.max(lambda, 0)));
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) (gram[a] as number[])[b] = ((gram[a] as number[])[b] as number) - lambda * (v[a] as number) * (v[b] as number);
  }
  return values;
}

function rankFromSigma(sigma: number[], epsilon: number): number {
  const sum = sigma.reduce((s, v) => s + v, 0);
  let entropy = 0;
  for (const value of sigma) {
    const p = value / sum + epsilon;
    if (p > 0) entropy -= p * Math.log(p);
  }
  return Math.exp(entropy);
}

// ------------------------------------------------------------------------------------------------

describe('alignment', () => {
  it.each([
    [1, 2],
    [2, 1],
    [3, 0.5],
  ])('matches the float64 reference (seed %i, alpha %f)', async (seed, alpha) => {
    const xs = randomRows(seed, 17, 6);
    const ys = xs.map((row, i) => row.map((v, t) => v + 0.3 * Math.sin(i + 3 * t)));
    const x = tf.tensor2d(xs);
    const y = tf.tensor2d(ys);
    const value = await expectNoLeak(() => alignment(x, y, { alpha }));
    closeTo(value, referenceAlignment(xs, ys, alpha));
    tf.dispose([x, y]);
  });

  it('closed forms: identical views 0, antipodal views 2^alpha, scale invariance', async () => {
    const x = tf.tensor2d([[1, 2], [3, -1]]);
    const scaled = tf.tensor2d([[2, 4], [30, -10]]);
    const opposite = tf.tensor2d([[-1, -2], [-3, 1]]);
    expect(await alignment(x, scaled)).toBeCloseTo(0, 6);
    expect(await alignment(x, opposite)).toBeCloseTo(4, 5);
    expect(await alignment(x, opposite, { alpha: 1 })).toBeCloseTo(2, 5);
    tf.dispose([x, scaled, opposite]);
  });
});

describe('uniformity', () => {
  it.each([
    [4, 2, undefined],
    [5, 1, 3],
    [6, 10, 1],
  ])('matches the float64 reference (seed %i, t %f, chunkSize %s)', async (seed, t, chunkSize) => {
    const xs = randomRows(seed, 23, 5);
    const x = tf.tensor2d(xs);
    const value = await expectNoLeak(() => uniformity(x, { t, ...(chunkSize === undefined ? {} : { chunkSize }) }));
    closeTo(value, referenceUniformity(xs, t));
    x.dispose();
  });

  it('closed forms: collapsed 0, an antipodal pair −4t', async () => {
    const collapsed = tf.tensor2d([[1, 1], [2, 2], [3, 3]]);
    expect(Math.abs(await uniformity(collapsed))).toBeLessThan(1e-5);
    const antipodal = tf.tensor2d([[1, 0], [-1, 0]]);
    closeTo(await uniformity(antipodal), -8);
    closeTo(await uniformity(antipodal, { t: 50 }), -200);
    tf.dispose([collapsed, antipodal]);
  });

  it('uniform on the circle: the exact discrete form and log(e^{−2t} I₀(2t)) for many points', async () => {
    const n = 360;
    const t = 2;
    const rows = Array.from({ length: n }, (_, i) => [Math.cos((2 * Math.PI * i) / n), Math.sin((2 * Math.PI * i) / n)]);
    const x = tf.tensor2d(rows);
    const value = await uniformity(x, { t });
    let discrete = 0;
    for (let k = 1; k < n; k++) discrete += Math.exp(-2 * t + 2 * t * Math.cos((2 * Math.PI * k) / n));
    closeTo(value, Math.log(discrete / (n - 1)));
    // I₀(z) = Σ (z/2)^{2m} / (m!)²
    let bessel = 0;
    let term = 1;
    for (let m = 0; m < 60; m++) {
      bessel += term;
      term *= (t * t) / ((m + 1) * (m + 1));
    }
    // Continuous E = e^{−2t} I₀(2t) includes the i = j pairs; excluding them (the Riemann sum of a
    // periodic analytic function is exact to rounding): (n E − 1) / (n − 1).
    const continuous = Math.exp(-2 * t) * bessel;
    closeTo(value, Math.log((n * continuous - 1) / (n - 1)));
    expect(Math.abs(value - Math.log(continuous))).toBeLessThan(0.02);
    x.dispose();
  });

  it('frees every chunk (no bytes left behind)', async () => {
    const x = tf.tensor2d(randomRows(7, 64, 4));
    const before = tf.memory().numBytes;
    const value = await uniformity(x, { chunkSize: 8 });
    expect(tf.memory().numBytes).toBe(before);
    expect(Number.isFinite(value)).toBe(true);
    x.dispose();
  });
});

describe('rankMe / effectiveRank', () => {
  it('symmetricEigenvalues: a known spectrum', () => {
    // Q diag(5, 2, -1) Qᵀ with a Householder Q.
    const v = [1, 2, 2].map((e) => e / 3);
    const q = [0, 1, 2].map((i) => [0, 1, 2].map((j) => (i === j ? 1 : 0) - 2 * (v[i] as number) * (v[j] as number)));
    const diagonal = [5, 2, -1];
    const matrix = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) matrix[i * 3 + j] = (matrix[i * 3 + j] as number) + (q[i] as number[])[k]! * (diagonal[k] as number) * (q[j] as number[])[k]!;
    const values = symmetricEigenvalues(matrix, 3);
    expect(Array.from(values).map((e) => Math.round(e * 1e12) / 1e12)).toEqual([5, 2, -1]);
  });

  it.each([
    [8, 30, 6],
    [9, 12, 12],
    [10, 5, 9], // n < d: the n x n Gram
  ])('matches singular values from a float64 reference (seed %i, n %i, d %i)', async (seed, n, d) => {
    const xs = randomRows(seed, n, d).map((row, i) => row.map((v, t) => v * (1 + t) * (i % 3 === 0 ? 2 : 1)));
    const x = tf.tensor2d(xs);
    const sigma = referenceSingularValues(xs);
    closeTo(await expectNoLeak(() => rankMe(x, { chunkSize: 4 })), rankFromSigma(sigma, 1e-7), 1e-6);
    closeTo(await effectiveRank(x), rankFromSigma(sigma, 0), 1e-6);
    x.dispose();
  });

  it('closed forms: orthonormal rows give d, collapsed rows give 1', async () => {
    const identity = tf.eye(16) as tf.Tensor2D;
    closeTo(await effectiveRank(identity), 16, 1e-12);
    closeTo(await rankMe(identity), rankFromSigma(new Array(16).fill(1) as number[], 1e-7), 1e-12);
    const collapsed = tf.tensor2d(Array.from({ length: 20 }, (_, i) => [1 + i, 2 + 2 * i, -(1 + i), 0.5 * (1 + i)]));
    closeTo(await effectiveRank(collapsed), 1, 1e-6);
    const me = await rankMe(collapsed);
    expect(me).toBeGreaterThanOrEqual(1);
    expect(me).toBeLessThan(1 + 1e-4);
    tf.dispose([identity, collapsed]);
  });

  it('normalize: rows scaled differently give the rank of their directions', async () => {
    const x = tf.tensor2d([[100, 0], [0, 1]]);
    closeTo(await effectiveRank(x, { normalize: true }), 2, 1e-12);
    expect(await effectiveRank(x)).toBeLessThan(1.1);
    x.dispose();
  });
});

describe('embeddingStd', () => {
  it('matches the float64 reference and approaches 1/sqrt(d) for isotropic Gaussians', async () => {
    const xs = randomRows(11, 2000, 16);
    const x = tf.tensor2d(xs);
    const value = await expectNoLeak(() => embeddingStd(x, { chunkSize: 333 }));
    closeTo(value, referenceStd(xs));
    expect(Math.abs(value - 1 / Math.sqrt(16))).toBeLessThan(0.01);
    x.dispose();
  });

  it('collapsed embeddings have std 0', async () => {
    const x = tf.tensor2d([[3, 4], [6, 8], [0.3, 0.4]]);
    expect(await embeddingStd(x)).toBeLessThan(1e-7);
    x.dispose();
  });
});

describe('pairDistanceStats', () => {
  it.each([
    [12, true, 7],
    [13, false, undefined],
  ])('exact statistics match the float64 reference (seed %i, normalize %s)', async (seed, normalize, chunkSize) => {
    const xs = randomRows(seed, 31, 5, 3);
    const labelValues = xs.map((_, i) => i % 4);
    const x = tf.tensor2d(xs);
    const labels = tf.tensor1d(labelValues, 'int32');
    const levels = [0, 0.1, 0.5, 0.9, 1];
    const stats = await expectNoLeak(() => pairDistanceStats(x, labels, { normalize, quantiles: levels, ...(chunkSize === undefined ? {} : { chunkSize }) }));
    expect(stats.exactQuantiles).toBe(true);
    const reference = referencePairs(xs, labelValues, normalize);
    for (const [summary, values] of [
      [stats.positive, reference.positive],
      [stats.negative, reference.negative],
    ] as const) {
      expect(summary).not.toBeNull();
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
      expect(summary?.count).toBe(values.length);
      closeTo(summary?.mean as number, mean);
      closeTo(summary?.std as number, std, 1e-4);
      closeTo(summary?.min as number, values[0] as number, 1e-4);
      closeTo(summary?.max as number, values[values.length - 1] as number);
      levels.forEach((level, k) => closeTo(summary?.quantiles[k] as number, quantile(values, level), 1e-4));
    }
  });

  it('histogram quantiles are within one bin of the exact ones', async () => {
    const xs = randomRows(14, 60, 8);
    const labelValues = xs.map((_, i) => i % 3);
    const x = tf.tensor2d(xs);
    const labels = tf.tensor1d(labelValues, 'int32');
    const exact = await pairDistanceStats(x, labels);
    const approximate = await pairDistanceStats(x, labels, { exactQuantilePairs: 10 });
    expect(approximate.exactQuantiles).toBe(false);
    const binWidth = 2 / 65536;
    for (const group of ['positive', 'negative'] as const) {
      expect(approximate[group]?.mean).toBe(exact[group]?.mean);
      exact[group]?.quantiles.forEach((value, k) => expect(Math.abs((approximate[group]?.quantiles[k] as number) - value)).toBeLessThan(2 * binWidth));
    }
    tf.dispose([x, labels]);
  });

  it('a group without pairs is null; collapsed embeddings have all distances 0', async () => {
    const x = tf.tensor2d([[1, 2], [2, 4], [3, 6]]);
    const distinct = tf.tensor1d([0, 1, 2], 'int32');
    const stats = await pairDistanceStats(x, distinct);
    expect(stats.positive).toBeNull();
    expect(stats.negative?.count).toBe(3);
    expect(stats.negative?.max).toBeLessThan(1e-3);
    tf.dispose([x, distinct]);
  });
});

describe('health: validation', () => {
  const expectRejects = async (promise: Promise<unknown>, code: string, message: RegExp): Promise<void> => {
    let thrown: unknown;
    try {
      await promise;
    } catch (error) {
      thrown = error;
    }
    expect(isContrastiveError(thrown)).toBe(true);
    expect((thrown as { code: string }).code).toBe(code);
    expect((thrown as Error).message).toMatch(message);
  };

  it('rejects bad arguments with messages naming them', async () => {
    const x = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    const y = tf.tensor2d([[1, 0], [0, 1]]);
    const one = tf.tensor2d([[1, 0]]);
    const nan = tf.tensor2d([[1, Number.NaN], [0, 1]]);
    const labels = tf.tensor1d([0, 1], 'int32');
    const zeros = tf.zeros([3, 2]) as tf.Tensor2D;
    const wide = tf.zeros([1100, 1100]) as tf.Tensor2D;
    await expectRejects(alignment(x, y), 'SHAPE_MISMATCH', /Argument 'y' passed to 'alignment' must have the shape of 'x' \[3, 2\]/);
    await expectRejects(alignment(x, x, { alpha: 0 }), 'INVALID_ARGUMENT', /Argument 'alpha' passed to 'alignment' must be a finite number > 0, got 0/);
    await expectRejects(alignment(nan, y), 'NON_FINITE', /Argument 'x' passed to 'alignment' must hold finite values/);
    await expectRejects(uniformity(one), 'SHAPE_MISMATCH', /Argument 'x' passed to 'uniformity' must have at least 2 rows/);
    await expectRejects(uniformity(x, { t: -1 }), 'INVALID_ARGUMENT', /Argument 't' passed to 'uniformity' must be a finite number > 0, got -1/);
    await expectRejects(uniformity(x, { chunkSize: 0 }), 'INVALID_ARGUMENT', /Argument 'chunkSize' passed to 'uniformity' must be an integer >= 1, got 0/);
    await expectRejects(rankMe(zeros), 'INVALID_ARGUMENT', /Argument 'x' passed to 'rankMe' must not be all zeros/);
    await expectRejects(rankMe(x, { epsilon: -1 }), 'INVALID_ARGUMENT', /Argument 'epsilon' passed to 'rankMe' must be a finite number >= 0, got -1/);
    await expectRejects(rankMe(wide), 'INVALID_ARGUMENT', /Argument 'x' passed to 'rankMe' must have min\(n, d\) <= 1024/);
    await expectRejects(embeddingStd(one), 'SHAPE_MISMATCH', /Argument 'x' passed to 'embeddingStd' must have at least 2 rows/);
    await expectRejects(pairDistanceStats(x, labels), 'LABEL_COUNT', /Argument 'labels' passed to 'pairDistanceStats' must have 3 entries/);
    await expectRejects(
      pairDistanceStats(y, labels, { quantiles: [0.5, 1.5] }),
      'INVALID_ARGUMENT',
      /Argument 'quantiles\[1\]' passed to 'pairDistanceStats' must be a finite number >= 0 and <= 1, got 1.5/,
    );
    const ints = tf.tensor2d([[1, 2]], [1, 2], 'int32') as tf.Tensor2D;
    await expectRejects(
      embeddingStd(ints),
      'DTYPE_MISMATCH',
      /Argument 'x' passed to 'embeddingStd' must have dtype float32, got int32/,
    );
    tf.dispose([x, y, one, nan, labels, zeros, wide, ints]);
  });
});
