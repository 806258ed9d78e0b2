import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@contrastive/core';
import { FLOAT32_TOLERANCE, expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import { sinkhornKnopp } from './sinkhorn.js';

beforeAll(async () => {
  await useTestBackend();
});

/**
 * float64 reference written from SwAV's Algorithm 1 / lightly's `sinkhorn` as plain loops, in the
 * direct (not log) domain: Q = exp(S / ε)ᵀ (K x B), Q /= ΣQ, then per iteration rows /= row sums, /= K,
 * columns /= column sums, /= B; Q *= B; return Qᵀ.
 */
function referenceSinkhorn(scores: number[][], epsilon: number, iterations: number): number[][] {
  const b = scores.length;
  const k = (scores[0] as number[]).length;
  const q: number[][] = [];
  for (let p = 0; p < k; p++) {
    const row: number[] = [];
    for (let s = 0; s < b; s++) row.push(Math.exp(((scores[s] as number[])[p] as number) / epsilon));
    q.push(row);
  }
  let total = 0;
  for (const row of q) for (const value of row) total += value;
  for (const row of q) for (let s = 0; s < b; s++) row[s] = (row[s] as number) / total;
  for (let iteration = 0; iteration < iterations; iteration++) {
    for (const row of q) {
      let sum = 0;
      for (const value of row) sum += value;
      for (let s = 0; s < b; s++) row[s] = (row[s] as number) / sum / k;
    }
    for (let s = 0; s < b; s++) {
      let sum = 0;
      for (const row of q) sum += row[s] as number;
      for (const row of q) row[s] = (row[s] as number) / sum / b;
    }
  }
  const out: number[][] = [];
  for (let s = 0; s < b; s++) out.push(q.map((row) => (row[s] as number) * b));
  return out;
}

function randomScores(rng: Rng, b: number, k: number, scale = 1): number[][] {
  return Array.from({ length: b }, () => Array.from({ length: k }, () => scale * rng.uniform(-1, 1)));
}

describe('sinkhornKnopp', () => {
  it.each([
    { b: 8, k: 4, epsilon: 0.05, iterations: 3 },
    { b: 5, k: 7, epsilon: 0.05, iterations: 3 },
    { b: 16, k: 3, epsilon: 0.1, iterations: 10 },
    { b: 6, k: 6, epsilon: 1, iterations: 0 },
    { b: 1, k: 4, epsilon: 0.05, iterations: 3 },
    { b: 4, k: 1, epsilon: 0.05, iterations: 3 },
    { b: 12, k: 5, epsilon: 0.01, iterations: 3 },
  ])('equals the float64 reference of lightly/SwAV (B $b, K $k, ε $epsilon, $iterations iterations)', ({ b, k, epsilon, iterations }) => {
    const values = randomScores(new Rng(b * 100 + k), b, k);
    const scores = tf.tensor2d(values);
    const codes = sinkhornKnopp(scores, { epsilon, iterations });
    expect(codes.shape).toEqual([b, k]);
    expect(codes.dtype).toBe('float32');
    // ε = 0.01 puts exp(S/ε) over e^200 in float64: the log-domain float32 result still matches.
    expectTensorClose(codes, referenceSinkhorn(values, epsilon, iterations), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([scores, codes]);
  });

  it('uses the defaults ε = 0.05 and 3 iterations', () => {
    const values = randomScores(new Rng(3), 10, 4);
    const scores = tf.tensor2d(values);
    const codes = sinkhornKnopp(scores);
    expectTensorClose(codes, referenceSinkhorn(values, 0.05, 3), FLOAT32_TOLERANCE);
    tf.dispose([scores, codes]);
  });

  it('matches a hand-computed case: 0 iterations is B times the softmax over all entries', () => {
    const scores = tf.tensor2d([
      [0, Math.log(3)],
      [Math.log(2), Math.log(2)],
    ]);
    // exp(S / 1) = [[1, 3], [2, 2]], total 8, times B = 2.
    const codes = sinkhornKnopp(scores, { epsilon: 1, iterations: 0 });
    expectTensorClose(codes, [
      [0.25, 0.75],
      [0.5, 0.5],
    ]);
    tf.dispose([scores, codes]);
  });

  it('returns equipartitioned codes: rows sum to 1, prototype columns to B/K after 100 iterations', () => {
    const b = 24;
    const k = 6;
    // Every sample prefers prototype 0: the balanced codes still spread the mass evenly.
    const values = randomScores(new Rng(11), b, k, 0.2).map((row) => row.map((v, j) => (j === 0 ? v + 0.5 : v)));
    const scores = tf.tensor2d(values);
    const codes = sinkhornKnopp(scores, { iterations: 100 });
    const q = codes.arraySync();
    for (const row of q) {
      expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
      for (const v of row) expect(v).toBeGreaterThanOrEqual(0);
    }
    for (let j = 0; j < k; j++) expect(q.reduce((s, row) => s + (row[j] as number), 0)).toBeCloseTo(b / k, 3);
    // With the default 3 iterations the rows still sum to 1 exactly.
    const few = sinkhornKnopp(scores);
    for (const row of few.arraySync()) expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    tf.dispose([scores, codes, few]);
  });

  it('stays finite for ε = 0.01 with scores of ±1 and for scores scaled by 1e4', () => {
    const values = randomScores(new Rng(5), 32, 8).map((row) => row.map((v) => (v > 0 ? 1 : -1) * Math.max(Math.abs(v), 0.5)));
    for (const [scale, epsilon] of [
      [1, 0.01],
      [1e4, 0.05],
    ] as const) {
      const scores = tf.tensor2d(values.map((row) => row.map((v) => v * scale)));
      const codes = sinkhornKnopp(scores, { epsilon, iterations: 3 });
      const data = codes.dataSync();
      for (const v of data) expect(Number.isFinite(v)).toBe(true);
      const rows = tf.sum(codes, 1);
      expectTensorClose(rows, new Array(32).fill(1), { atol: 1e-4, rtol: 0 });
      tf.dispose([scores, codes, rows]);
    }
    // In float64 the same ε = 0.01 case is representable: the float32 result equals it.
    const scores = tf.tensor2d(values);
    const codes = sinkhornKnopp(scores, { epsilon: 0.01, iterations: 3 });
    expectTensorClose(codes, referenceSinkhorn(values, 0.01, 3), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([scores, codes]);
  });

  it('is detached: no gradient flows into the scores', () => {
    const scores = tf.tensor2d(randomScores(new Rng(9), 6, 3));
    const weights = tf.tensor2d(randomScores(new Rng(10), 6, 3));
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => tf.sum(tf.mul(sinkhornKnopp(x as tf.Tensor2D), weights)) as tf.Scalar)(scores);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    expectTensorClose(grad, new Array(18).fill(0));
    tf.dispose([scores, weights, value, grad]);
  });

  it('leaves no tensor behind and does not dispose its input', async () => {
    const scores = tf.tensor2d(randomScores(new Rng(1), 20, 5));
    const codes = await expectNoLeak(() => sinkhornKnopp(scores, { iterations: 10 }), 1);
    expect(scores.isDisposed).toBe(false);
    tf.dispose([scores, codes]);
    const bad = tf.tensor2d([[Number.NaN, 0]]);
    await expectNoLeak(() => {
      expect(() => sinkhornKnopp(bad)).toThrow(/finite/);
    });
    bad.dispose();
  });

  it('rejects bad arguments with named errors', () => {
    const scores = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    expectContrastiveError(() => sinkhornKnopp(scores, { epsilon: 0 }), 'INVALID_ARGUMENT', /'epsilon' passed to 'sinkhornKnopp' must be a finite number > 0, got 0/);
    expectContrastiveError(() => sinkhornKnopp(scores, { epsilon: Number.NaN }), 'INVALID_ARGUMENT', /'epsilon'/);
    expectContrastiveError(() => sinkhornKnopp(scores, { iterations: -1 }), 'INVALID_ARGUMENT', /'iterations' passed to 'sinkhornKnopp' must be an integer >= 0, got -1/);
    expectContrastiveError(() => sinkhornKnopp(scores, { iterations: 1.5 }), 'INVALID_ARGUMENT', /'iterations'/);
    const vector = tf.tensor1d([1, 2]);
    expectContrastiveError(() => sinkhornKnopp(vector as unknown as tf.Tensor2D), 'SHAPE_MISMATCH', /'scores' passed to 'sinkhornKnopp' must be rank 2, got rank 1/);
    const ints = tf.tensor2d([[1, 2]], [1, 2], 'int32');
    expectContrastiveError(() => sinkhornKnopp(ints), 'DTYPE_MISMATCH', /'scores' passed to 'sinkhornKnopp' must have dtype float32, got int32/);
    const empty = tf.zeros([0, 3]) as tf.Tensor2D;
    expectContrastiveError(() => sinkhornKnopp(empty), 'SHAPE_MISMATCH', /at least 1 row \(sample\) and 1 column \(prototype\), got shape \[0, 3\]/);
    const infinite = tf.tensor2d([[Number.POSITIVE_INFINITY, 0]]);
    expectContrastiveError(() => sinkhornKnopp(infinite), 'NON_FINITE', /'scores' passed to 'sinkhornKnopp' must hold finite numbers/);
    const disposed = tf.tensor2d([[1]]);
    disposed.dispose();
    expectContrastiveError(() => sinkhornKnopp(disposed), 'DISPOSED', /'scores'/);
    tf.dispose([scores, vector, ints, empty, infinite]);
  });
});
