import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, isContrastiveError } from '@contrastive/core';
import { expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { clusterEmbeddings, clusteringScores, expectedMutualInformation, logGamma } from './clustering.js';

beforeAll(async () => {
  await useTestBackend();
});

const GOLDEN_TOLERANCE = 1e-6;
const REFERENCE_TOLERANCE = 1e-10;

// ---------------------------------------------------------------------------------------------
// Float64 references written from the definitions (independent of the implementation's formulas).

function table(a: number[], b: number[]): { counts: Map<string, number>; rows: Map<number, number>; cols: Map<number, number> } {
  const counts = new Map<string, number>();
  const rows = new Map<number, number>();
  const cols = new Map<number, number>();
  a.forEach((x, i) => {
    const y = b[i] as number;
    counts.set(`${x},${y}`, (counts.get(`${x},${y}`) ?? 0) + 1);
    rows.set(x, (rows.get(x) ?? 0) + 1);
    cols.set(y, (cols.get(y) ?? 0) + 1);
  });
  return { counts, rows, cols };
}

function entropyOf(sizes: Iterable<number>, n: number): number {
  let h = 0;
  for (const size of sizes) h -= (size / n) * Math.log(size / n);
  return h;
}

function mutualInfo(a: number[], b: number[]): number {
  const n = a.length;
  const { counts, rows, cols } = table(a, b);
  let mi = 0;
  for (const [key, count] of counts) {
    const [x, y] = key.split(',').map(Number) as [number, number];
    mi += (count / n) * Math.log((n * count) / ((rows.get(x) as number) * (cols.get(y) as number)));
  }
  return mi;
}

/** Hypergeometric P(n_ij = k) by the product of binomial coefficients, each as a ratio loop. */
function logChoose(n: number, k: number): number {
  let value = 0;
  for (let i = 1; i <= k; i++) value += Math.log(n - k + i) - Math.log(i);
  return value;
}

function referenceEmi(rowSizes: number[], colSizes: number[], n: number): number {
  let emi = 0;
  for (const a of rowSizes) {
    for (const b of colSizes) {
      for (let k = Math.max(1, a + b - n); k <= Math.min(a, b); k++) {
        const p = Math.exp(logChoose(b, k) + logChoose(n - b, a - k) - logChoose(n, a));
        emi += p * (k / n) * Math.log((n * k) / (a * b));
      }
    }
  }
  return emi;
}

function referenceScores(a: number[], b: number[]): { nmi: number; ami: number; ari: number } {
  const n = a.length;
  const { counts, rows, cols } = table(a, b);
  const choose2 = (x: number): number => (x * (x - 1)) / 2;
  let index = 0;
  for (const count of counts.values()) index += choose2(count);
  let sumA = 0;
  for (const size of rows.values()) sumA += choose2(size);
  let sumB = 0;
  for (const size of cols.values()) sumB += choose2(size);
  const expected = (sumA * sumB) / choose2(n);
  const maximum = (sumA + sumB) / 2;
  const ari = maximum === expected ? 1 : (index - expected) / (maximum - expected);
  const hA = entropyOf(rows.values(), n);
  const hB = entropyOf(cols.values(), n);
  const mi = mutualInfo(a, b);
  const mean = (hA + hB) / 2;
  const emi = referenceEmi([...rows.values()], [...cols.values()], n);
  return { nmi: mi / mean, ami: (mi - emi) / (mean - emi), ari };
}

function randomLabels(rng: Rng, n: number, classes: number): number[] {
  return Array.from({ length: n }, () => rng.int(classes));
}

// ---------------------------------------------------------------------------------------------

interface GoldenSet {
  embeddings: number[][];
  labels: number[];
}
interface GoldenCluster {
  name: string;
  expected: { NMI: number; AMI: number; cluster_labels: number[] };
}
const golden = JSON.parse(readFileSync(new URL('../../../../shared/golden/pytorch-reference.json', import.meta.url), 'utf8')) as {
  input_sets: Record<string, GoldenSet>;
  metrics: GoldenCluster[];
};
const clusterCase = golden.metrics.find((metric) => metric.name === 'nmi_ami_kmeans') as GoldenCluster;
const acc = golden.input_sets['acc40x8'] as GoldenSet;

describe('clusteringScores: golden values from scikit-learn', () => {
  it('nmi_ami_kmeans: NMI and AMI from the reference cluster labels', () => {
    const scores = clusteringScores(acc.labels, clusterCase.expected.cluster_labels);
    expect(Math.abs(scores.nmi - clusterCase.expected.NMI)).toBeLessThan(GOLDEN_TOLERANCE);
    expect(Math.abs(scores.ami - clusterCase.expected.AMI)).toBeLessThan(GOLDEN_TOLERANCE);
  });

  it('same values from int32 and float32 tensors', async () => {
    const labelsTrue = tf.tensor1d(acc.labels, 'int32');
    const labelsPred = tf.tensor1d(clusterCase.expected.cluster_labels, 'float32');
    const scores = await expectNoLeak(() => clusteringScores(labelsTrue, labelsPred));
    expect(scores).toEqual(clusteringScores(acc.labels, clusterCase.expected.cluster_labels));
    tf.dispose([labelsTrue, labelsPred]);
  });

  it('documented scikit-learn examples', () => {
    expect(clusteringScores([0, 0, 1, 2], [0, 0, 1, 1]).ari).toBeCloseTo(0.5714285714285714, 12);
    expect(clusteringScores([0, 0, 0, 0], [0, 1, 2, 3]).ari).toBe(0);
    // "If classes members are completely split across different clusters, the assignment is totally
    // incomplete, hence the AMI is null."
    expect(clusteringScores([0, 0, 1, 1], [0, 0, 0, 0]).ami).toBe(0);
    expect(clusteringScores([0, 0, 1, 1], [0, 0, 0, 0]).nmi).toBe(0);
  });
});

describe('clusteringScores: against float64 references from the definitions', () => {
  it.each([
    [1, 12, 3, 3],
    [2, 30, 4, 6],
    [3, 50, 2, 5],
    [4, 80, 7, 7],
    [5, 9, 5, 2],
  ])('seed %i: n = %i, %i classes vs %i clusters', (seed, n, classes, clusters) => {
    const rng = new Rng(seed);
    const a = randomLabels(rng, n, classes);
    const b = randomLabels(rng, n, clusters);
    const scores = clusteringScores(a, b);
    const reference = referenceScores(a, b);
    expect(Math.abs(scores.nmi - reference.nmi)).toBeLessThan(REFERENCE_TOLERANCE);
    expect(Math.abs(scores.ami - reference.ami)).toBeLessThan(REFERENCE_TOLERANCE);
    expect(Math.abs(scores.ari - reference.ari)).toBeLessThan(REFERENCE_TOLERANCE);
  });

  it('is symmetric and invariant to renaming labels', () => {
    const rng = new Rng(9);
    const a = randomLabels(rng, 40, 4);
    const b = randomLabels(rng, 40, 5);
    const ab = clusteringScores(a, b);
    const ba = clusteringScores(b, a);
    expect(ba.nmi).toBeCloseTo(ab.nmi, 12);
    expect(ba.ami).toBeCloseTo(ab.ami, 12);
    expect(ba.ari).toBeCloseTo(ab.ari, 12);
    const renamed = clusteringScores(
      a.map((x) => 100 - 7 * x),
      b.map((x) => x + 0.5),
    );
    expect(renamed.nmi).toBeCloseTo(ab.nmi, 12);
    expect(renamed.ami).toBeCloseTo(ab.ami, 12);
    expect(renamed.ari).toBeCloseTo(ab.ari, 12);
  });

  it('perfect agreement up to a permutation is 1', () => {
    expect(clusteringScores([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 9, 9])).toEqual({ nmi: 1, ami: 1, ari: 1 });
  });

  it('expected mutual information stays accurate for large n (float64 log-gamma)', () => {
    // Two balanced labellings of n = 20,000: E[I] ~ (R - 1)(C - 1) / (2n) (Vinh et al. 2010).
    const rows = Float64Array.from([5000, 5000, 5000, 5000]);
    const cols = Float64Array.from([10000, 10000]);
    const emi = expectedMutualInformation(rows, cols, 20000);
    expect(emi).toBeGreaterThan(0);
    expect(Math.abs(emi - 3 / 40000) / (3 / 40000)).toBeLessThan(1e-3);
    const small = expectedMutualInformation(Float64Array.from([500, 500, 500, 500]), Float64Array.from([1000, 1000]), 2000);
    expect(Math.abs(small - referenceEmi([500, 500, 500, 500], [1000, 1000], 2000))).toBeLessThan(1e-12);
  });

  it('logGamma matches ln (k-1)! and Γ(1/2) = √π', () => {
    let logFactorial = 0;
    for (let k = 1; k <= 200; k++) {
      expect(Math.abs(logGamma(k) - logFactorial)).toBeLessThan(1e-12 * Math.max(1, logFactorial));
      logFactorial += Math.log(k);
    }
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 14);
  });
});

describe('clusteringScores: scikit-learn special cases', () => {
  it.each([
    ['both one cluster', [3, 3, 3], [1, 1, 1], { nmi: 1, ami: 1, ari: 1 }],
    ['a single sample', [4], [2], { nmi: 1, ami: 1, ari: 1 }],
    ['empty', [], [], { nmi: 1, ami: 1, ari: 1 }],
    ['one cluster vs all singletons', [0, 0, 0, 0], [0, 1, 2, 3], { nmi: 0, ami: 0, ari: 0 }],
    ['all singletons both sides', [0, 1, 2, 3], [3, 2, 1, 0], { nmi: 1, ami: 1, ari: 1 }],
  ])('%s', (_name, a, b, expected) => {
    expect(clusteringScores(a, b)).toEqual(expected);
  });

  it('AMI and ARI are about 0 for independent random labellings, and can be negative', () => {
    const rng = new Rng(11);
    const a = randomLabels(rng, 2000, 5);
    const b = randomLabels(rng, 2000, 5);
    const scores = clusteringScores(a, b);
    expect(Math.abs(scores.ami)).toBeLessThan(0.01);
    expect(Math.abs(scores.ari)).toBeLessThan(0.01);
    expect(clusteringScores([0, 0, 1, 1], [0, 1, 0, 1]).ari).toBeLessThan(0);
  });
});

describe('clusteringScores: validation', () => {
  it.each([
    [() => clusteringScores([0, 1], [0]), 'LABEL_COUNT', /Argument 'labelsPred' passed to 'clusteringScores' must have 2 entries \(one per entry of 'labelsTrue'\), got 1/],
    [() => clusteringScores([0, Number.NaN], [0, 1]), 'INVALID_ARGUMENT', /Argument 'labelsTrue' passed to 'clusteringScores' must hold finite numbers, got NaN at index 1/],
    [() => clusteringScores(null as unknown as number[], [0]), 'INVALID_ARGUMENT', /Argument 'labelsTrue' .* must be an array of numbers or a rank-1 tensor, got null/],
    [
      () => clusteringScores([0, 1], tf.tensor2d([[0, 1]]) as unknown as tf.Tensor1D),
      'SHAPE_MISMATCH',
      /Argument 'labelsPred' passed to 'clusteringScores' must be rank 1, got rank 2/,
    ],
    [
      () => clusteringScores(tf.tensor1d([true, false], 'bool'), [0, 1]),
      'DTYPE_MISMATCH',
      /Argument 'labelsTrue' passed to 'clusteringScores' must have dtype int32 or float32, got bool/,
    ],
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

describe('clusterEmbeddings', () => {
  it('acc40x8: k-means reaches the reference NMI within 0.05 (euclidean, k = #classes)', async () => {
    const embeddings = tf.tensor2d(acc.embeddings);
    const labels = tf.tensor1d(acc.labels, 'int32');
    const result = await expectNoLeak(() => clusterEmbeddings(embeddings, labels));
    expect(result.k).toBe(5);
    expect(result.assignments).toBeInstanceOf(Int32Array);
    expect(result.assignments.length).toBe(40);
    expect(Math.abs(result.nmi - clusterCase.expected.NMI)).toBeLessThan(0.05);
    expect(Math.abs(result.ami - clusterCase.expected.AMI)).toBeLessThan(0.05);
    expect(clusteringScores(acc.labels, result.assignments)).toEqual({ nmi: result.nmi, ami: result.ami, ari: result.ari });
    tf.dispose([embeddings, labels]);
  });

  it('cosine, an explicit k and a seeded rng are deterministic', () => {
    const embeddings = tf.tensor2d(acc.embeddings);
    const first = clusterEmbeddings(embeddings, acc.labels, { metric: 'cosine', k: 6, rng: new Rng(3), restarts: 3 });
    const second = clusterEmbeddings(embeddings, acc.labels, { metric: 'cosine', k: 6, rng: new Rng(3), restarts: 3 });
    expect(first.k).toBe(6);
    expect(Array.from(first.assignments)).toEqual(Array.from(second.assignments));
    expect(first.nmi).toBeGreaterThan(0.8);
    embeddings.dispose();
  });

  it('well separated blobs are recovered exactly', () => {
    const rng = new Rng(5);
    const labels = Array.from({ length: 30 }, (_, i) => i % 3);
    const rows = labels.map((label) => [label * 20 + rng.normal(), -label * 10 + rng.normal(), rng.normal()]);
    const embeddings = tf.tensor2d(rows);
    expect(clusterEmbeddings(embeddings, labels)).toMatchObject({ nmi: 1, ami: 1, ari: 1 });
    embeddings.dispose();
  });

  it.each([
    [{ k: 0 }, /Argument 'k' passed to 'clusterEmbeddings' must be an integer >= 1 and <= 4, got 0/],
    [{ k: 5 }, /Argument 'k' passed to 'clusterEmbeddings' must be an integer >= 1 and <= 4, got 5/],
    [{ restarts: 0 }, /Argument 'restarts' passed to 'clusterEmbeddings' must be an integer >= 1, got 0/],
    [{ metric: 'manhattan' as 'cosine' }, /Argument 'metric' passed to 'clusterEmbeddings' must be one of "euclidean", "cosine", got "manhattan"/],
  ])('options %j', (options, message) => {
    const embeddings = tf.tensor2d([[0, 0], [0, 1], [5, 5], [5, 6]]);
    expect(() => clusterEmbeddings(embeddings, [0, 0, 1, 1], options)).toThrow(message);
    embeddings.dispose();
  });

  it('rejects a label count mismatch and bad embeddings', () => {
    const embeddings = tf.tensor2d([[0, 0], [0, 1], [5, 5]]);
    expect(() => clusterEmbeddings(embeddings, [0, 1])).toThrow(
      /Argument 'labels' passed to 'clusterEmbeddings' must have 3 entries \(one per embedding\), got 2/,
    );
    const ints = tf.tensor2d([[0, 0]], [1, 2], 'int32');
    expect(() => clusterEmbeddings(ints as tf.Tensor2D, [0])).toThrow(/Argument 'embeddings' passed to 'clusterEmbeddings' must have dtype float32, got int32/);
    tf.dispose([embeddings, ints]);
  });
});
