/**
 * Numerics of the miners and the numeric helpers of `@contrastive/samplers` (issue 9): all-identical
 * and all-zero embeddings, embeddings scaled by 1e-6 and by 1e4, dimension 1, with each distance
 * kind and against a reference. Mined tuples must be valid — int32 vectors of matching lengths,
 * indices in range, anchor–positive pairs of equal labels (never a row with itself without a
 * reference), anchor–negative pairs of different labels — so that no NaN distance leaks into the
 * indices; probabilities, codes and concentrations must be finite.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, cosineSimilarity, dotProductSimilarity, lpDistance } from '@contrastive/core';
import type { Distance, Miner } from '@contrastive/core';
import { useTestBackend } from '@contrastive/core/testing';
import * as api from './index.js';
import { tupleProblems } from './test-support/miners.js';
import type { Rows } from './test-support/miners.js';

beforeAll(async () => {
  await useTestBackend();
});

const N = 8;
/** Rows i and i + 4 share label i (two views of four samples). */
const LABELS = Array.from({ length: N }, (_, i) => i % (N / 2));
const REF_LABELS = [0, 1, 2, 3, 0, 1];

const random = (n: number, d: number, scale: number, seed = 17): Rows => {
  const values = new Rng(seed).normalArray(n * d);
  return Array.from({ length: n }, (_, i) => Array.from(values.subarray(i * d, (i + 1) * d), (x) => x * scale));
};

/** The embeddings of one numeric case, and a reference of six rows of the same kind. */
interface Batch {
  readonly what: string;
  readonly rows: (n: number) => Rows;
}

const identical = (n: number, row: number[]): Rows => Array.from({ length: n }, () => [...row]);
const BATCHES: Batch[] = [
  { what: 'unit scale', rows: (n) => random(n, 4, 1, n) },
  { what: 'scaled by 1e-6', rows: (n) => random(n, 4, 1e-6, n) },
  { what: 'scaled by 1e4', rows: (n) => random(n, 4, 1e4, n) },
  { what: 'dimension 1', rows: (n) => random(n, 1, 1, n) },
  { what: 'dimension 1, scaled by 1e4', rows: (n) => random(n, 1, 1e4, n) },
  { what: 'all rows identical', rows: (n) => identical(n, [0.3, -1.2, 0.5, 2]) },
  { what: 'all rows identical, scaled by 1e4', rows: (n) => identical(n, [3e3, -1.2e4, 5e3, 2e4]) },
  { what: 'all rows zero', rows: (n) => identical(n, [0, 0, 0, 0]) },
];

const DISTANCES: [string, () => Distance][] = [
  ['lpDistance()', () => lpDistance()],
  ['lpDistance({ normalize: false })', () => lpDistance({ normalize: false })],
  ['cosineSimilarity()', () => cosineSimilarity()],
  ['dotProductSimilarity()', () => dotProductSimilarity()],
];

/**
 * Every miner of the index, with a distance where it takes one. The third entry is true when a
 * negative may share the anchor's label (hardNegativeMiner with `candidates: 'all'`: the labels
 * only mark views, any other column is a candidate).
 */
const MINERS: [string, (distance: Distance) => Miner, boolean][] = [
  ['batchHardMiner', (distance) => api.batchHardMiner({ distance }), false],
  ['batchEasyHardMiner (easy/hard)', (distance) => api.batchEasyHardMiner({ distance, positiveStrategy: 'easy', negativeStrategy: 'hard' }), false],
  ['batchEasyHardMiner (hard/semihard)', (distance) => api.batchEasyHardMiner({ distance, positiveStrategy: 'hard', negativeStrategy: 'semihard' }), false],
  ['tripletMarginMiner (all)', (distance) => api.tripletMarginMiner({ distance, type: 'all' }), false],
  ['tripletMarginMiner (semihard)', (distance) => api.tripletMarginMiner({ distance, type: 'semihard' }), false],
  ['tripletMarginMiner (easy)', (distance) => api.tripletMarginMiner({ distance, type: 'easy', margin: 0 }), false],
  ['pairMarginMiner', (distance) => api.pairMarginMiner({ distance }), false],
  ['multiSimilarityMiner', (distance) => api.multiSimilarityMiner({ distance }), false],
  ['hardNegativeMiner', (distance) => api.hardNegativeMiner({ distance, temperature: 0.01, beta: 5 }), false],
  ['hardNegativeMiner (candidates all, tauPlus 0.1)', (distance) => api.hardNegativeMiner({ distance, candidates: 'all', tauPlus: 0.1, temperature: 0.01 }), true],
];

describe.each(MINERS)('%s', (_name, make, negativesAnyLabel) => {
  const cases = DISTANCES.flatMap(([distanceName, distance]) =>
    BATCHES.flatMap((batch) => [
      [`${distanceName}, ${batch.what}`, distance, batch, false] as const,
      [`${distanceName}, ${batch.what}, against a reference`, distance, batch, true] as const,
    ]),
  );
  it.each(cases)('%s: valid tuples, no tensor left behind', (_what, distance, batch, withRef) => {
    const miner = make(distance());
    const embeddings = tf.tensor2d(batch.rows(N));
    const labels = tf.tensor1d(LABELS, 'int32');
    const ref = withRef ? { embeddings: tf.tensor2d(batch.rows(REF_LABELS.length)), labels: tf.tensor1d(REF_LABELS, 'int32') } : undefined;
    const before = tf.memory().numTensors;
    try {
      const tuples = miner.mine(ref === undefined ? { embeddings, labels } : { embeddings, labels, ref });
      expect(tupleProblems(tuples, LABELS, ref === undefined ? undefined : REF_LABELS, negativesAnyLabel)).toEqual([]);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      tf.dispose([embeddings, labels]);
      if (ref !== undefined) tf.dispose([ref.embeddings, ref.labels]);
    }
  });
});

describe('distanceWeightedMiner (normalised rows only)', () => {
  it.each(BATCHES.flatMap((batch) => [[batch.what, batch, false] as const, [`${batch.what}, against a reference`, batch, true] as const]))(
    '%s: valid tuples',
    (_what, batch, withRef) => {
      const miner = api.distanceWeightedMiner({ rng: new Rng(3) });
      const rows = batch.rows(N);
      const embeddings = tf.tensor2d(rows);
      const labels = tf.tensor1d(LABELS, 'int32');
      const ref = withRef ? { embeddings: tf.tensor2d(batch.rows(REF_LABELS.length)), labels: tf.tensor1d(REF_LABELS, 'int32') } : undefined;
      try {
        const tuples = miner.mine(ref === undefined ? { embeddings, labels } : { embeddings, labels, ref });
        expect(tupleProblems(tuples, LABELS, ref === undefined ? undefined : REF_LABELS)).toEqual([]);
      } finally {
        tf.dispose([embeddings, labels]);
        if (ref !== undefined) tf.dispose([ref.embeddings, ref.labels]);
      }
    },
  );
});

/** The first non-finite entry of `values`, or null. */
function firstNonFinite(values: ArrayLike<number>): string | null {
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (!Number.isFinite(value)) return `${value} at ${i}`;
  }
  return null;
}

describe('numeric helpers', () => {
  it.each(BATCHES.map((batch) => [batch.what, batch] as const))('hardNegativeProbabilities, %s: finite rows that sum to 1 (or 0 without candidates)', (_what, batch) => {
    const embeddings = tf.tensor2d(batch.rows(N));
    const labels = tf.tensor1d(LABELS, 'int32');
    for (const options of [{ temperature: 0.01, beta: 10 }, { candidates: 'all' as const, tauPlus: 0.1, temperature: 0.01 }]) {
      const probabilities = api.hardNegativeProbabilities({ embeddings, labels }, options);
      const values = probabilities.arraySync();
      probabilities.dispose();
      expect(firstNonFinite(values.flat())).toBeNull();
      for (const row of values) {
        const sum = row.reduce((s, v) => s + v, 0);
        expect(Math.abs(sum - 1) < 1e-4 || sum === 0).toBe(true);
      }
    }
    tf.dispose([embeddings, labels]);
  });

  it.each([
    ['scores of 1e4, epsilon 0.01', 1e4, 0.01],
    ['scores of 1e-6', 1e-6, 0.05],
    ['identical scores', 0, 0.05],
    ['scores of 1, epsilon 1e-4', 1, 1e-4],
  ])('sinkhornKnopp, %s: finite codes whose rows sum to 1', (_what, scale, epsilon) => {
    const scores = tf.tensor2d(random(6, 3, scale));
    const codes = api.sinkhornKnopp(scores, { epsilon, iterations: 5 });
    const values = codes.arraySync();
    tf.dispose([scores, codes]);
    expect(firstNonFinite(values.flat())).toBeNull();
    for (const row of values) expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 3);
  });

  it.each(BATCHES.map((batch) => [batch.what, batch] as const))('pclConcentration, %s: finite, positive concentrations', (_what, batch) => {
    const rows = batch.rows(N);
    const features = tf.tensor2d(rows);
    const assignments = tf.tensor1d([0, 0, 0, 1, 1, 1, 2, 2], 'int32');
    const centroids = tf.tensor2d([rows[0] as number[], rows[3] as number[], rows[6] as number[]]);
    const phi = api.pclConcentration(features, assignments, centroids);
    const values = Array.from(phi.dataSync());
    tf.dispose([features, assignments, centroids, phi]);
    expect(firstNonFinite(values)).toBeNull();
    expect(values.every((v) => v > 0)).toBe(true);
  });

  it.each(BATCHES.map((batch) => [batch.what, batch] as const))('PrototypeBank, %s: finite prototypes and concentrations, assignments in range', (_what, batch) => {
    const rows = batch.rows(N);
    const bank = new api.PrototypeBank({ numClusters: [2, 3], rng: new Rng(1), restarts: 1, maxIterations: 5 });
    const features = tf.tensor2d(rows);
    try {
      bank.update(features);
      const { prototypes, concentrations, assignments } = bank.prototypes();
      prototypes.forEach((p) => expect(firstNonFinite(p.dataSync())).toBeNull());
      concentrations.forEach((c) => expect(Array.from(c.dataSync()).every((v) => Number.isFinite(v) && v > 0)).toBe(true));
      assignments.forEach((a, m) => expect(Array.from(a.dataSync()).every((v) => v >= 0 && v < (m === 0 ? 2 : 3))).toBe(true));
    } finally {
      features.dispose();
      bank.dispose();
    }
  });

  it.each(BATCHES.map((batch) => [batch.what, batch] as const))('NearestNeighborSupportSet and MemoryBank, %s: finite unit (or zero) rows', (_what, batch) => {
    const rows = batch.rows(N);
    const dim = (rows[0] as number[]).length;
    const support = new api.NearestNeighborSupportSet({ dim, size: 16, rng: new Rng(2) });
    const bank = new api.MemoryBank({ size: N, dim, rng: new Rng(2) });
    const embeddings = tf.tensor2d(rows);
    const indices = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 6], 'int32');
    try {
      const nearest = support.nearest(embeddings, { update: true });
      const again = support.nearest(embeddings);
      bank.update(indices, embeddings);
      const entries = bank.get(indices);
      for (const result of [nearest, again, entries]) {
        const values = result.arraySync();
        expect(firstNonFinite(values.flat())).toBeNull();
        for (const row of values) {
          const norm = Math.hypot(...row);
          expect(Math.abs(norm - 1) < 1e-3 || norm === 0).toBe(true);
        }
      }
      tf.dispose([nearest, again, entries]);
    } finally {
      tf.dispose([embeddings, indices]);
      support.dispose();
      bank.dispose();
    }
  });
});
