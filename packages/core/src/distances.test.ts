import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { cosineSimilarity, dotProductSimilarity, lpDistance } from './distances.js';
import { isContrastiveError } from './errors.js';
import { checkGradients, expectNoLeak, expectTensorClose, useTestBackend } from './testing/index.js';

beforeAll(async () => {
  await useTestBackend();
});

const rows = [
  [0.3, -1.2, 0.5],
  [1.1, 0.4, -0.7],
  [-0.2, 0.9, 1.3],
  [0.8, -0.1, 0.2],
];

function norm(v: number[]): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}
function unit(v: number[]): number[] {
  const n = norm(v);
  return v.map((x) => x / n);
}
function dot(a: number[], b: number[]): number {
  return a.reduce((s, x, i) => s + x * (b[i] as number), 0);
}
function lp(a: number[], b: number[], p: number): number {
  if (p === Infinity) return Math.max(...a.map((x, i) => Math.abs(x - (b[i] as number))));
  return Math.pow(a.reduce((s, x, i) => s + Math.pow(Math.abs(x - (b[i] as number)), p), 0), 1 / p);
}

describe('distances', () => {
  it('cosineSimilarity.pairwise equals normalized dot products', () => {
    const x = tf.tensor2d(rows);
    const got = cosineSimilarity().pairwise(x);
    expect(got.shape).toEqual([4, 4]);
    expectTensorClose(got, rows.map((a) => rows.map((b) => dot(unit(a), unit(b)))));
    tf.dispose([x, got]);
  });

  it('dotProductSimilarity.pairwise(a, b) against a reference', () => {
    const a = tf.tensor2d(rows.slice(0, 2));
    const b = tf.tensor2d(rows);
    const got = dotProductSimilarity().pairwise(a, b);
    expectTensorClose(got, rows.slice(0, 2).map((r) => rows.map((c) => dot(r, c))));
    tf.dispose([a, b, got]);
  });

  it.each([1, 2, 3, Infinity])('lpDistance p=%s matches the float64 loops, normalized or not', (p) => {
    for (const normalize of [false, true]) {
      const x = tf.tensor2d(rows);
      const data = normalize ? rows.map(unit) : rows;
      const got = lpDistance({ p, normalize }).pairwise(x);
      expectTensorClose(got, data.map((a) => data.map((b) => lp(a, b, p))), { atol: 1e-5, rtol: 1e-4 });
      const paired = lpDistance({ p, normalize }).paired(x, tf.reverse(x, 0));
      expectTensorClose(paired, data.map((a, i) => lp(a, data[data.length - 1 - i] as number[], p)), { atol: 1e-5, rtol: 1e-4 });
      tf.dispose([x, got, paired]);
    }
  });

  it('lpDistance power=2 gives squared Euclidean', () => {
    const x = tf.tensor2d(rows);
    const got = lpDistance({ power: 2, normalize: false }).pairwise(x);
    expectTensorClose(got, rows.map((a) => rows.map((b) => lp(a, b, 2) ** 2)), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([x, got]);
  });

  it('chunked pairwise equals the one-shot result', () => {
    const x = tf.randomNormal([37, 5], 0, 1, 'float32', 3) as tf.Tensor2D;
    for (const make of [() => cosineSimilarity({ chunkElements: 10 }), () => lpDistance({ p: 3, chunkElements: 50 })]) {
      const chunkedResult = make().pairwise(x);
      const whole = (make().name.startsWith('cos') ? cosineSimilarity() : lpDistance({ p: 3 })).pairwise(x);
      expectTensorClose(chunkedResult, whole);
      tf.dispose([chunkedResult, whole]);
    }
    x.dispose();
  });

  it('gradients of Euclidean and cosine match central differences', () => {
    const euclid = lpDistance({ normalize: false });
    checkGradients(
      (x) => tf.sum(tf.mul(euclid.pairwise(x), tf.reshape(tf.range(0, 16), [4, 4]))) as tf.Scalar,
      (x) => x.reduce((s, a, i) => s + x.reduce((t, b, j) => t + (i * 4 + j) * lp(a, b, 2), 0), 0),
      rows,
    );
    const cosine = cosineSimilarity();
    checkGradients(
      (x) => tf.sum(tf.mul(cosine.pairwise(x), tf.reshape(tf.range(0, 16), [4, 4]))) as tf.Scalar,
      (x) => x.reduce((s, a, i) => s + x.reduce((t, b, j) => t + (i * 4 + j) * dot(unit(a), unit(b)), 0), 0),
      rows,
    );
  });

  it('identical and zero rows give finite gradients', () => {
    const x = tf.tensor2d([
      [1, 2],
      [1, 2],
      [0, 0],
    ]);
    for (const distance of [lpDistance({ normalize: false }), lpDistance(), cosineSimilarity()]) {
      const grad = tf.grad((v: tf.Tensor) => tf.sum(distance.pairwise(v as tf.Tensor2D)))(x);
      expect(Array.from(grad.dataSync()).every(Number.isFinite)).toBe(true);
      grad.dispose();
    }
    x.dispose();
  });

  it('leaks no tensor', async () => {
    const x = tf.tensor2d(rows);
    await expectNoLeak(() => {
      for (const distance of [cosineSimilarity({ chunkElements: 4 }), lpDistance({ p: 1, chunkElements: 8 }), lpDistance()]) {
        tf.dispose([distance.pairwise(x), distance.paired(x, x)]);
      }
    });
    x.dispose();
  });

  it('rejects bad input with a named ContrastiveError', () => {
    const x = tf.tensor2d(rows);
    const y = tf.tensor2d([[1, 2]]);
    expect(() => lpDistance({ p: 0.5 })).toThrow(/Argument 'p' passed to 'lpDistance' must be a finite number >= 1, got 0.5/);
    expect(() => cosineSimilarity().pairwise(x, y)).toThrow(/Argument 'b' passed to 'cosineSimilarity.pairwise' must have 3 columns/);
    expect(() => cosineSimilarity().pairwise(tf.tensor1d([1]) as unknown as tf.Tensor2D)).toThrow(/must be rank 2, got rank 1/);
    try {
      lpDistance({ power: 0 });
    } catch (error) {
      expect(isContrastiveError(error)).toBe(true);
    }
    tf.dispose([x, y]);
  });
});
