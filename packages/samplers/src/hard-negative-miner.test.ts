import * as tf from '@tensorflow/tfjs-core';
import { Rng, dotProductSimilarity } from '@contrastive/core';
import type { Distance, Tuples } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { tripletMarginLoss } from '@contrastive/losses';
import { beforeAll, describe, expect, it } from 'vitest';
import { hardNegativeMiner, hardNegativeProbabilities } from './hard-negative-miner.js';
import { DISTANCES, IS_SIMILARITY, asTriplets, disposeTuples, randomRows, referenceValue } from './test-support/miners.js';
import type { DistanceKind } from './test-support/miners.js';

beforeAll(async () => {
  await useTestBackend();
});

/** Float64 similarity (or negated distance) of two rows. */
function score(kind: DistanceKind, a: readonly number[], b: readonly number[]): number {
  const value = referenceValue(kind, a, b);
  return IS_SIMILARITY[kind] ? value : -value;
}

/** The paper's distribution, written from its definition with float64 loops. */
function referenceProbabilities(
  rows: number[][],
  labels: number[],
  refRows: number[][] | undefined,
  refLabels: number[] | undefined,
  o: { beta: number; temperature: number; candidates: 'negatives' | 'all'; tauPlus: number; kind: DistanceKind },
): number[][] {
  const cols = refRows ?? rows;
  const colLabels = refLabels ?? labels;
  return rows.map((a, i) => {
    const isSelf = (j: number): boolean => refRows === undefined && i === j;
    const positive = (j: number): boolean => colLabels[j] === labels[i] && !isSelf(j);
    const candidate = (j: number): boolean => (o.candidates === 'negatives' ? colLabels[j] !== labels[i] : !isSelf(j));
    const tilt = cols.map((b) => Math.exp((o.beta * score(o.kind, a, b)) / o.temperature));
    const z = tilt.reduce((sum, t, j) => sum + (candidate(j) ? t : 0), 0);
    const zPlus = tilt.reduce((sum, t, j) => sum + (positive(j) ? t : 0), 0);
    const q = tilt.map((t, j) => {
      if (!candidate(j) || z === 0) return 0;
      const qBeta = t / z;
      const qPlus = positive(j) && zPlus > 0 ? t / zPlus : 0;
      return Math.max(0, (qBeta - o.tauPlus * qPlus) / (1 - o.tauPlus));
    });
    const total = q.reduce((sum, x) => sum + x, 0);
    return total > 0 ? q.map((x) => x / total) : q.map(() => 0);
  });
}

describe('hardNegativeProbabilities', () => {
  it('gives the worked example of its documentation', () => {
    const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-1, 0]]);
    const labels = tf.tensor1d([0, 0, 1, 2], 'int32');
    const p = hardNegativeProbabilities({ embeddings, labels }, { beta: 1, temperature: 0.5 });
    const row = Array.from(p.dataSync()).slice(0, 4);
    expect(row[0]).toBe(0);
    expect(row[1]).toBe(0);
    expect(row[2]).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
    expect(row[3]).toBeCloseTo(Math.exp(-2) / (1 + Math.exp(-2)), 6);
    tf.dispose([embeddings, labels, p]);
  });

  it.each([
    { n: 12, classes: 3, beta: 1, temperature: 0.5, candidates: 'negatives', tauPlus: 0, kind: 'cosine', ref: false },
    { n: 10, classes: 5, beta: 0, temperature: 0.5, candidates: 'negatives', tauPlus: 0, kind: 'cosine', ref: false },
    { n: 16, classes: 8, beta: 2, temperature: 0.1, candidates: 'all', tauPlus: 0.1, kind: 'cosine', ref: false },
    { n: 16, classes: 4, beta: 0.5, temperature: 0.2, candidates: 'all', tauPlus: 0.5, kind: 'cosine', ref: false },
    { n: 9, classes: 3, beta: 1, temperature: 1, candidates: 'all', tauPlus: 0, kind: 'dot', ref: false },
    { n: 8, classes: 2, beta: 1, temperature: 0.5, candidates: 'negatives', tauPlus: 0, kind: 'lp', ref: false },
    { n: 6, classes: 3, beta: 1, temperature: 0.5, candidates: 'negatives', tauPlus: 0, kind: 'cosine', ref: true },
    { n: 6, classes: 3, beta: 1.5, temperature: 0.3, candidates: 'all', tauPlus: 0.2, kind: 'cosine', ref: true },
  ] as const)('matches the float64 definition: %o', ({ n, classes, beta, temperature, candidates, tauPlus, kind, ref }) => {
    const rng = new Rng(n * 31 + classes);
    const rows = randomRows(rng, n, 5);
    const labels = Array.from({ length: n }, (_, i) => i % classes);
    const refRows = ref ? randomRows(rng, 10, 5) : undefined;
    const refLabels = ref ? Array.from({ length: 10 }, (_, i) => (i * 7) % classes) : undefined;
    const expected = referenceProbabilities(rows, labels, refRows, refLabels, { beta, temperature, candidates, tauPlus, kind });
    const embeddings = tf.tensor2d(rows);
    const labelTensor = tf.tensor1d(labels, 'int32');
    const refInput = ref ? { embeddings: tf.tensor2d(refRows as number[][]), labels: tf.tensor1d(refLabels as number[], 'int32') } : undefined;
    const p = hardNegativeProbabilities(
      { embeddings, labels: labelTensor, ...(refInput === undefined ? {} : { ref: refInput }) },
      { beta, temperature, candidates, tauPlus, distance: DISTANCES[kind]() },
    );
    expect(p.shape).toEqual([n, ref ? 10 : n]);
    const got = p.arraySync();
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < got[i]!.length; j++) expect(Math.abs(got[i]![j]! - expected[i]![j]!)).toBeLessThan(2e-5);
      const sum = got[i]!.reduce((s, x) => s + x, 0);
      expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
    }
    tf.dispose([embeddings, labelTensor, p, ...(refInput === undefined ? [] : [refInput.embeddings, refInput.labels])]);
  });

  it('down-weights the known positives with tauPlus and excludes them with candidates negatives', () => {
    const embeddings = tf.tensor2d([[1, 0], [0.9, 0.1], [0, 1], [0.5, 0.5]]);
    const labels = tf.tensor1d([0, 0, 1, 2], 'int32');
    const plain = hardNegativeProbabilities({ embeddings, labels }, { candidates: 'all' }).arraySync();
    const debiased = hardNegativeProbabilities({ embeddings, labels }, { candidates: 'all', tauPlus: 0.3 }).arraySync();
    const negativesOnly = hardNegativeProbabilities({ embeddings, labels }).arraySync();
    expect(plain[0]![1]).toBeGreaterThan(0.3);
    expect(debiased[0]![1]).toBeLessThan(plain[0]![1]!);
    expect(negativesOnly[0]![1]).toBe(0);
    expect(negativesOnly[0]![0]).toBe(0);
    // A single known positive carries all of q⁺: with tauPlus ≥ its q_β it is never drawn.
    const strong = hardNegativeProbabilities({ embeddings, labels }, { candidates: 'all', tauPlus: 0.99 }).arraySync();
    expect(strong[0]![1]).toBe(0);
    tf.dispose([embeddings, labels]);
  });

  it('stays finite at temperature 0.01 with embeddings scaled by 1e4', () => {
    const rng = new Rng(3);
    const embeddings = tf.mul(tf.tensor2d(randomRows(rng, 8, 4)), 1e4) as tf.Tensor2D;
    const labels = tf.tensor1d([0, 0, 1, 1, 2, 2, 3, 3], 'int32');
    const p = hardNegativeProbabilities({ embeddings, labels }, { beta: 5, temperature: 0.01, distance: dotProductSimilarity() });
    const values = Array.from(p.dataSync());
    expect(values.every(Number.isFinite)).toBe(true);
    for (let i = 0; i < 8; i++) expect(values.slice(i * 8, i * 8 + 8).reduce((s, x) => s + x, 0)).toBeCloseTo(1, 5);
    tf.dispose([embeddings, labels, p]);
  });

  it('gives all-zero rows to anchors without candidates', () => {
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    const labels = tf.tensor1d([4, 4, 4], 'int32');
    const p = hardNegativeProbabilities({ embeddings, labels });
    expect(Array.from(p.dataSync())).toEqual(new Array(9).fill(0));
    tf.dispose([embeddings, labels, p]);
  });
});

describe('hardNegativeMiner', () => {
  function triplets(tuples: Tuples): Array<[number, number, number]> {
    const t = asTriplets(tuples);
    const a = t.anchor.arraySync();
    const p = t.positive.arraySync();
    const n = t.negative.arraySync();
    return a.map((x, k) => [x, p[k] as number, n[k] as number]);
  }

  it('draws negatives with the frequencies of hardNegativeProbabilities', () => {
    const rng = new Rng(11);
    const embeddings = tf.tensor2d(randomRows(rng, 8, 3));
    const labels = tf.tensor1d([0, 0, 1, 1, 2, 2, 3, 3], 'int32');
    const options = { beta: 2, temperature: 0.5, candidates: 'all', tauPlus: 0.1 } as const;
    const p = hardNegativeProbabilities({ embeddings, labels }, options).arraySync();
    const draws = 20_000;
    const tuples = hardNegativeMiner({ ...options, negativesPerPositive: draws, rng: new Rng(5) }).mine({ embeddings, labels });
    const all = triplets(tuples);
    expect(all.length).toBe(8 * draws);
    for (let anchor = 0; anchor < 8; anchor++) {
      const counts = new Array(8).fill(0) as number[];
      for (const [a, , n] of all) if (a === anchor) counts[n] = (counts[n] as number) + 1;
      for (let j = 0; j < 8; j++) {
        const expected = p[anchor]![j]!;
        // Binomial standard error at 20k draws is ≤ 0.0036; 5 sigma.
        expect(Math.abs((counts[j] as number) / draws - expected)).toBeLessThan(0.018);
        if (expected === 0) expect(counts[j]).toBe(0);
      }
    }
    tf.dispose([embeddings, labels]);
    disposeTuples(tuples);
  });

  it('lists every positive pair in anchor-major order and never draws a label-positive with candidates negatives', () => {
    const rng = new Rng(2);
    const embeddings = tf.tensor2d(randomRows(rng, 12, 4));
    const labelList = [0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 3, 4];
    const labels = tf.tensor1d(labelList, 'int32');
    const tuples = hardNegativeMiner({ negativesPerPositive: 3 }).mine({ embeddings, labels });
    const all = triplets(tuples);
    const expectedPairs: Array<[number, number]> = [];
    for (let a = 0; a < 12; a++) for (let p = 0; p < 12; p++) if (a !== p && labelList[a] === labelList[p]) expectedPairs.push([a, p]);
    expect(all.length).toBe(expectedPairs.length * 3);
    all.forEach(([a, p, n], k) => {
      expect([a, p]).toEqual(expectedPairs[Math.floor(k / 3)]);
      expect(labelList[n]).not.toBe(labelList[a]);
    });
    tf.dispose([embeddings, labels]);
    disposeTuples(tuples);
  });

  it('is deterministic for a seed and advances its generator', () => {
    const rng = new Rng(4);
    const embeddings = tf.tensor2d(randomRows(rng, 10, 4));
    const labels = tf.tensor1d([0, 0, 1, 1, 2, 2, 3, 3, 4, 4], 'int32');
    const first = hardNegativeMiner({ rng: new Rng(9), negativesPerPositive: 4 });
    const second = hardNegativeMiner({ rng: new Rng(9), negativesPerPositive: 4 });
    const a = first.mine({ embeddings, labels });
    const b = second.mine({ embeddings, labels });
    const c = first.mine({ embeddings, labels });
    expect(triplets(a)).toEqual(triplets(b));
    expect(triplets(c)).not.toEqual(triplets(a));
    tf.dispose([embeddings, labels]);
    [a, b, c].forEach(disposeTuples);
  });

  it('mines against a reference without self-exclusion', () => {
    const rng = new Rng(8);
    const embeddings = tf.tensor2d(randomRows(rng, 3, 4));
    const labels = tf.tensor1d([0, 1, 2], 'int32');
    const ref = { embeddings: tf.tensor2d(randomRows(rng, 5, 4)), labels: tf.tensor1d([0, 1, 2, 0, 5], 'int32') };
    const tuples = hardNegativeMiner({ negativesPerPositive: 2 }).mine({ embeddings, labels, ref });
    const all = triplets(tuples);
    // Anchor 0 has ref positives 0 and 3, anchor 1 has 1, anchor 2 has 2.
    expect(all.map(([a, p]) => [a, p])).toEqual([[0, 0], [0, 0], [0, 3], [0, 3], [1, 1], [1, 1], [2, 2], [2, 2]]);
    const refLabels = [0, 1, 2, 0, 5];
    for (const [a, , n] of all) expect(refLabels[n]).not.toBe([0, 1, 2][a]);
    tf.dispose([embeddings, labels, ref.embeddings, ref.labels]);
    disposeTuples(tuples);
  });

  it('returns empty tuples without positives or without negatives', () => {
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    for (const labelList of [[0, 1, 2], [7, 7, 7]]) {
      const labels = tf.tensor1d(labelList, 'int32');
      const tuples = asTriplets(hardNegativeMiner().mine({ embeddings, labels }));
      expect(tuples.anchor.shape).toEqual([0]);
      expect(tuples.anchor.dtype).toBe('int32');
      tf.dispose(labels);
      disposeTuples(tuples);
    }
    const one = tf.tensor2d([[1, 2]]);
    const oneLabel = tf.tensor1d([0], 'int32');
    const tuples = asTriplets(hardNegativeMiner().mine({ embeddings: one, labels: oneLabel }));
    expect(tuples.negative.shape).toEqual([0]);
    tf.dispose([embeddings, one, oneLabel]);
    disposeTuples(tuples);
  });

  it('feeds tripletMarginLoss, and the gradient flows through the mined triplets', () => {
    const rng = new Rng(21);
    const x = tf.variable(tf.tensor2d(randomRows(rng, 16, 6)));
    const labels = tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 4), 'int32');
    const tuples = asTriplets(hardNegativeMiner({ beta: 1, rng: new Rng(1) }).mine({ embeddings: x, labels }));
    const loss = tripletMarginLoss({ margin: 0.5 });
    const { value, grads } = tf.variableGrads(() => loss.compute({ embeddings: x, labels, tuples }));
    const grad = grads[x.name] as tf.Tensor;
    const values = Array.from(grad.dataSync());
    expect(values.every(Number.isFinite)).toBe(true);
    expect(values.some((g) => g !== 0)).toBe(true);
    // The same value as the loss over the explicitly gathered triplets (mean over all triplets).
    const [a, p, n] = [tuples.anchor.arraySync(), tuples.positive.arraySync(), tuples.negative.arraySync()];
    const rows = x.arraySync();
    const dist = (i: number, j: number): number => referenceValue('lp', rows[i]!, rows[j]!);
    const terms = a.map((i, k) => Math.max(0, dist(i, p[k]!) - dist(i, n[k]!) + 0.5));
    const nonZero = terms.filter((t) => t > 0);
    const expected = nonZero.reduce((s, t) => s + t, 0) / Math.max(1, nonZero.length); // PML's AvgNonZeroReducer
    expect(value.dataSync()[0]).toBeCloseTo(expected, 5);
    tf.dispose([x, labels, value, grad]);
    disposeTuples(tuples);
  });

  it('leaks no tensor', async () => {
    const embeddings = tf.tensor2d(randomRows(new Rng(1), 8, 3));
    const labels = tf.tensor1d([0, 0, 1, 1, 2, 2, 3, 3], 'int32');
    const miner = hardNegativeMiner();
    await expectNoLeak(() => {
      disposeTuples(miner.mine({ embeddings, labels }));
      tf.dispose(hardNegativeProbabilities({ embeddings, labels }));
    });
    tf.dispose([embeddings, labels]);
  });

  it('names bad arguments', () => {
    expectContrastiveError(() => hardNegativeMiner({ beta: -1 }), 'INVALID_ARGUMENT', /Argument 'beta' passed to 'hardNegativeMiner' must be a finite number >= 0, got -1/);
    expectContrastiveError(() => hardNegativeMiner({ temperature: 0 }), 'INVALID_ARGUMENT', /'temperature'.*> 0, got 0/);
    expectContrastiveError(() => hardNegativeMiner({ tauPlus: 0.1 }), 'INVALID_ARGUMENT', /'tauPlus'.*must be 0 with candidates 'negatives'/);
    expectContrastiveError(() => hardNegativeMiner({ candidates: 'all', tauPlus: 1 }), 'INVALID_ARGUMENT', /'tauPlus'.*< 1, got 1/);
    expectContrastiveError(() => hardNegativeMiner({ candidates: 'some' as 'all' }), 'INVALID_ARGUMENT', /'candidates'.*"negatives", "all", got "some"/);
    expectContrastiveError(() => hardNegativeMiner({ negativesPerPositive: 0 }), 'INVALID_ARGUMENT', /'negativesPerPositive'.*integer >= 1, got 0/);
    expectContrastiveError(() => hardNegativeMiner({ distance: {} as Distance }), 'INVALID_ARGUMENT', /'distance'.*must be a Distance \(e.g. cosineSimilarity\(\)\)/);
    expectContrastiveError(() => hardNegativeMiner({ rng: 3 as unknown as Rng }), 'INVALID_ARGUMENT', /'rng'.*must be an Rng/);
    const embeddings = tf.tensor2d([[1, 0], [0, 1]]);
    const floatLabels = tf.tensor1d([0, 1]);
    const shortLabels = tf.tensor1d([0], 'int32');
    expectContrastiveError(() => hardNegativeMiner().mine({ embeddings, labels: floatLabels }), 'DTYPE_MISMATCH', /'labels' passed to 'hardNegativeMiner'.*int32/);
    expectContrastiveError(() => hardNegativeMiner().mine({ embeddings, labels: shortLabels }), 'LABEL_COUNT', /'labels'.*2 entries/);
    expectContrastiveError(() => hardNegativeProbabilities({ embeddings: tf.tensor1d([1]) as unknown as tf.Tensor2D, labels: shortLabels }), 'SHAPE_MISMATCH', /'embeddings' passed to 'hardNegativeProbabilities'/);
    tf.dispose([embeddings, floatLabels, shortLabels]);
  });
});
