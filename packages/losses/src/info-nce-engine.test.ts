import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, l2Normalize } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import {
  DEFAULT_CHUNK_ELEMENTS,
  chunkRowsFor,
  denseRowLosses,
  excludedLogSoftmax,
  excludedLogSumExp,
  infoNceRowLosses,
  logSoftmaxRows,
  logSumExpRows,
  maskedLogSoftmax,
  maskedLogSumExp,
  positiveCounts,
} from './info-nce-engine.js';
import type { EngineChunk, InfoNceEngineSpec } from './info-nce-engine.js';
import { randomRows } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});


const TOLERANCE = { atol: 2e-5, rtol: 1e-4 };

/**
 * A SupCon-like row loss used to exercise the engine: lse over every key but the anchor itself,
 * minus the mean logit of the positives (0 for rows without positives), times a per-anchor weight.
 */
function supconRow(block: tf.Tensor2D, chunk: EngineChunk): tf.Tensor {
  const positives = chunk.positives();
  const { lse } = maskedLogSoftmax(block, chunk.notSelf());
  const count = tf.sum(positives, 1, true);
  const meanPositive = tf.div(tf.sum(tf.mul(positives, block), 1, true), tf.maximum(count, 1));
  const row = tf.mul(tf.mul(tf.sub(lse, meanPositive), tf.sign(count)), chunk.perAnchor('weight'));
  return tf.reshape(row, [-1]);
}
function supconGrad(block: tf.Tensor2D, chunk: EngineChunk, dRow: tf.Tensor1D): tf.Tensor {
  const positives = chunk.positives();
  const { softmax } = maskedLogSoftmax(block, chunk.notSelf());
  const count = tf.sum(positives, 1, true);
  const coefficient = tf.mul(tf.mul(tf.reshape(dRow, [-1, 1]), chunk.perAnchor('weight')), tf.sign(count));
  return tf.mul(tf.sub(softmax, tf.div(positives, tf.maximum(count, 1))), coefficient);
}

/** The same loss on the whole matrix with plain autodiff: the reference for values and gradients. */
function denseReference(anchors: tf.Tensor2D, keys: tf.Tensor2D, labels: number[], keyLabels: number[], scale: number, weight: tf.Tensor, self: boolean): tf.Tensor1D {
  const n = anchors.shape[0];
  const m = keys.shape[0];
  const block = tf.mul(tf.matMul(anchors, keys, false, true), scale);
  const same = tf.tensor2d(labels.flatMap((a) => keyLabels.map((b) => (a === b ? 1 : 0))), [n, m]);
  const eye = self ? tf.eye(n) : tf.zeros([n, m]);
  const positives = tf.sub(same, eye);
  const logits = tf.add(block, tf.mul(eye, -1e30));
  const lse = tf.logSumExp(logits, 1, true);
  const count = tf.sum(positives, 1, true);
  const meanPositive = tf.div(tf.sum(tf.mul(positives, block), 1, true), tf.maximum(count, 1));
  return tf.reshape(tf.mul(tf.mul(tf.sub(lse, meanPositive), tf.sign(count)), weight), [-1]);
}

interface Setup {
  anchors: tf.Tensor2D;
  keys: tf.Tensor2D | undefined;
  labels: tf.Tensor1D;
  keyLabels: tf.Tensor1D | undefined;
  weight: tf.Tensor2D;
  plain: { labels: number[]; keyLabels: number[] };
  dispose(): void;
}

function setup(n: number, m: number | null, d: number, seed: number): Setup {
  const rng = new Rng(seed);
  const labels = Array.from({ length: n }, () => rng.int(3));
  const keyLabels = m === null ? labels : Array.from({ length: m }, () => rng.int(4));
  const anchors = tf.tensor2d(randomRows(rng, n, d));
  const keys = m === null ? undefined : tf.tensor2d(randomRows(rng, m, d));
  const weight = tf.tensor2d(Array.from({ length: n }, () => [0.5 + rng.uniform()]));
  const labelTensor = tf.tensor1d(labels, 'int32');
  const keyLabelTensor = m === null ? undefined : tf.tensor1d(keyLabels, 'int32');
  return {
    anchors,
    keys,
    labels: labelTensor,
    keyLabels: keyLabelTensor,
    weight,
    plain: { labels, keyLabels },
    dispose: () => tf.dispose([anchors, weight, labelTensor, ...(keys === undefined ? [] : [keys]), ...(keyLabelTensor === undefined ? [] : [keyLabelTensor])]),
  };
}

function specOf(s: Setup, a: tf.Tensor2D, k: tf.Tensor2D | undefined, scale: number | tf.Scalar, closedForm: boolean, chunkElements?: number): InfoNceEngineSpec {
  return {
    name: 'engineTest',
    anchors: a,
    ...(k === undefined ? {} : { keys: k, keyLabels: s.keyLabels as tf.Tensor1D }),
    scale,
    labels: s.labels,
    perAnchor: { weight: s.weight },
    rowLoss: supconRow,
    ...(closedForm ? { rowGrad: supconGrad } : {}),
    ...(chunkElements === undefined ? {} : { chunkElements }),
  };
}

describe('infoNceRowLosses: values and gradients equal dense autodiff', () => {
  it.each([
    // n, m (null = self), d, chunkElements (small ones force several chunks, the last one ragged)
    [7, null, 3, undefined],
    [13, null, 5, 40],
    [13, null, 5, 1],
    [9, 11, 4, undefined],
    [9, 11, 4, 25],
    [20, 6, 8, 13],
  ] as [number, number | null, number, number | undefined][])('n=%i m=%s d=%i chunkElements=%s', (n, m, d, chunkElements) => {
    const s = setup(n, m, d, n * 31 + (m ?? 0));
    const scale = 2.5;
    const self = s.keys === undefined;
    for (const closedForm of [true, false]) {
      const engine = (a: tf.Tensor2D, k: tf.Tensor2D | undefined): tf.Tensor1D =>
        infoNceRowLosses(specOf(s, a, k, scale, closedForm, chunkElements));
      const dense = (a: tf.Tensor2D, k: tf.Tensor2D): tf.Tensor1D =>
        denseReference(a, k, s.plain.labels, s.plain.keyLabels, scale, s.weight, self);
      const rows = engine(s.anchors, s.keys);
      const expected = dense(s.anchors, s.keys ?? s.anchors);
      expectTensorClose(rows, expected, TOLERANCE);
      // A weighted sum exercises non-uniform dRow.
      const probe = tf.linspace(0.5, 1.5, n);
      if (self) {
        const got = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(engine(a as tf.Tensor2D, undefined), probe)))(s.anchors);
        const want = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(dense(a as tf.Tensor2D, a as tf.Tensor2D), probe)))(s.anchors);
        expectTensorClose(got, want, TOLERANCE);
        tf.dispose([got, want]);
      } else {
        const keys = s.keys as tf.Tensor2D;
        const got = tf.grads((a: tf.Tensor, k: tf.Tensor) => tf.sum(tf.mul(engine(a as tf.Tensor2D, k as tf.Tensor2D), probe)))([s.anchors, keys]);
        const want = tf.grads((a: tf.Tensor, k: tf.Tensor) => tf.sum(tf.mul(dense(a as tf.Tensor2D, k as tf.Tensor2D), probe)))([s.anchors, keys]);
        expectTensorClose(got[0] as tf.Tensor, want[0] as tf.Tensor, TOLERANCE);
        expectTensorClose(got[1] as tf.Tensor, want[1] as tf.Tensor, TOLERANCE);
        tf.dispose([...got, ...want]);
      }
      tf.dispose([rows, expected, probe]);
    }
    s.dispose();
  });

  it('a tensor scale gets its gradient (d loss / d scale, e.g. CLIP logit scale)', () => {
    const s = setup(10, 12, 4, 5);
    const keys = s.keys as tf.Tensor2D;
    const scale = tf.scalar(3.0);
    const f = (a: tf.Tensor, k: tf.Tensor, sc: tf.Tensor): tf.Scalar =>
      tf.sum(infoNceRowLosses(specOf(s, a as tf.Tensor2D, k as tf.Tensor2D, sc as tf.Scalar, true, 30)));
    const got = tf.grads(f)([s.anchors, keys, scale]);
    // Central differences in the scale (float32, step 1e-2 on a smooth function).
    const at = (value: number): number => {
      const t = tf.scalar(value);
      const out = f(s.anchors, keys, t);
      const result = out.dataSync()[0] as number;
      tf.dispose([t, out]);
      return result;
    };
    const numeric = (at(3.01) - at(2.99)) / 0.02;
    expect(Math.abs((got[2] as tf.Tensor).dataSync()[0]! - numeric)).toBeLessThan(1e-3 * Math.max(1, Math.abs(numeric)));
    const plainGrad = tf.grads((a: tf.Tensor, k: tf.Tensor) => f(a, k, scale))([s.anchors, keys]);
    expectTensorClose(got[0] as tf.Tensor, plainGrad[0] as tf.Tensor, TOLERANCE);
    expectTensorClose(got[1] as tf.Tensor, plainGrad[1] as tf.Tensor, TOLERANCE);
    tf.dispose([...got, ...plainGrad, scale]);
    s.dispose();
  });

  it('the gradient flows through a preparation outside the engine (l2Normalize)', () => {
    const s = setup(12, null, 6, 8);
    const got = tf.grad((x: tf.Tensor) => tf.sum(infoNceRowLosses(specOf(s, l2Normalize(x as tf.Tensor2D), undefined, 10, true, 30))))(s.anchors);
    const want = tf.grad((x: tf.Tensor) => {
      const z = l2Normalize(x as tf.Tensor2D);
      return tf.sum(denseReference(z, z, s.plain.labels, s.plain.labels, 10, s.weight, true));
    })(s.anchors);
    expectTensorClose(got, want, TOLERANCE);
    tf.dispose([got, want]);
    s.dispose();
  });

  it('denseRowLosses runs the same row functions on a precomputed matrix', () => {
    const s = setup(9, null, 4, 12);
    for (const closedForm of [true, false]) {
      const spec = specOf(s, s.anchors, undefined, 1, closedForm);
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor) =>
        tf.sum(denseRowLosses(tf.mul(tf.matMul(x as tf.Tensor2D, x as tf.Tensor2D, false, true), 2) as tf.Tensor2D, { ...spec, anchors: x as tf.Tensor2D })),
      )(s.anchors);
      const reference = tf.valueAndGrad((x: tf.Tensor) =>
        tf.sum(denseReference(x as tf.Tensor2D, x as tf.Tensor2D, s.plain.labels, s.plain.labels, 2, s.weight, true)),
      )(s.anchors);
      expectTensorClose(value, reference.value, TOLERANCE);
      expectTensorClose(grad, reference.grad, TOLERANCE);
      tf.dispose([value, grad, reference.value, reference.grad]);
    }
    s.dispose();
  });

  it('works when the caller disposes its tensors before the backward pass (inside a tidy)', () => {
    const s = setup(8, null, 3, 4);
    const { grad } = tf.valueAndGrad((x: tf.Tensor) =>
      tf.tidy(() => {
        // Labels and per-anchor tensors made (and freed) inside this tidy: the engine keeps its own.
        const labels = tf.clone(s.labels);
        const weight = tf.clone(s.weight);
        return tf.sum(infoNceRowLosses({ ...specOf(s, x as tf.Tensor2D, undefined, 4, true, 10), labels, perAnchor: { weight } }));
      }),
    )(s.anchors);
    expect(Array.from(grad.dataSync()).every(Number.isFinite)).toBe(true);
    grad.dispose();
    s.dispose();
  });
});

describe('infoNceRowLosses: memory', () => {
  it('chooses c rows with c · m <= 2^22 by default, at least 1 and at most n', () => {
    expect(DEFAULT_CHUNK_ELEMENTS).toBe(4194304);
    expect(chunkRowsFor(32768, 32768)).toBe(128);
    expect(chunkRowsFor(100, 100)).toBe(100);
    expect(chunkRowsFor(10, 2 ** 23)).toBe(1);
    expect(chunkRowsFor(1000, 100, 250)).toBe(2);
  });

  it('never holds an n x m block: peak bytes stay O(c · m)', () => {
    const n = 1024;
    const d = 8;
    const chunkElements = 2 ** 12; // c = 4 rows
    const x = tf.randomNormal([n, d], 0, 1, 'float32', 3) as tf.Tensor2D;
    const labels = tf.tensor1d(Array.from({ length: n }, (_, i) => i % (n / 2)), 'int32');
    const weight = tf.ones([n, 1]);
    let peak = 0;
    const watch = (block: tf.Tensor2D, chunk: EngineChunk): tf.Tensor => {
      const row = supconRow(block, chunk);
      peak = Math.max(peak, tf.memory().numBytes);
      return row;
    };
    const watchGrad = (block: tf.Tensor2D, chunk: EngineChunk, dRow: tf.Tensor1D): tf.Tensor => {
      const g = supconGrad(block, chunk, dRow);
      peak = Math.max(peak, tf.memory().numBytes);
      return g;
    };
    const base = tf.memory().numBytes;
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) =>
      tf.sum(infoNceRowLosses({ name: 'memory', anchors: e as tf.Tensor2D, scale: 5, labels, perAnchor: { weight }, rowLoss: watch, rowGrad: watchGrad, chunkElements })),
    )(x);
    const full = n * n * 4;
    expect(peak - base).toBeLessThan(full / 4); // one dense [n, n] matrix would be 4 MiB
    expect(peak - base).toBeLessThan(40 * chunkElements * 4 + 8 * n * d * 4);
    expect(Number.isFinite(value.dataSync()[0] as number)).toBe(true);
    tf.dispose([x, labels, weight, value, grad]);
  });

  it('leaks nothing, forward or backward, in both gradient modes', async () => {
    const s = setup(10, 7, 3, 77);
    const keys = s.keys as tf.Tensor2D;
    const scale = tf.scalar(2);
    for (const closedForm of [true, false]) infoNceRowLosses(specOf(s, s.anchors, keys, 2, closedForm, 20)).dispose(); // warm-up
    await expectNoLeak(() => {
      for (const closedForm of [true, false]) {
        infoNceRowLosses(specOf(s, s.anchors, undefined, 2, closedForm, 20)).dispose();
        const grads = tf.grads((a: tf.Tensor, k: tf.Tensor, sc: tf.Tensor) =>
          tf.sum(infoNceRowLosses(specOf(s, a as tf.Tensor2D, k as tf.Tensor2D, sc as tf.Scalar, closedForm, 20))),
        )([s.anchors, keys, scale]);
        tf.dispose(grads);
        const selfGrad = tf.grad((a: tf.Tensor) => tf.sum(infoNceRowLosses(specOf(s, a as tf.Tensor2D, undefined, 2, closedForm, 20))))(s.anchors);
        selfGrad.dispose();
      }
    });
    scale.dispose();
    s.dispose();
  });
});

describe('maskedLogSoftmax / maskedLogSumExp', () => {
  function reference(block: Rows, weights: Rows): { lse: number[]; softmax: Rows } {
    const lse = block.map((row, i) => {
      const kept = row.filter((_, j) => (weights[i]![j] as number) > 0);
      if (kept.length === 0) return 0;
      const max = Math.max(...kept);
      return max + Math.log(row.reduce((sum, b, j) => ((weights[i]![j] as number) > 0 ? sum + (weights[i]![j] as number) * Math.exp(b - max) : sum), 0));
    });
    const softmax = block.map((row, i) =>
      row.map((b, j) => ((weights[i]![j] as number) > 0 ? ((weights[i]![j] as number) * Math.exp(b - (lse[i] as number))) : 0)),
    );
    return { lse, softmax };
  }

  it.each([
    ['ordinary logits', [[0.1, 2, -1, 0.5], [3, 3, 3, 3], [-2, 0, 1, 4]], [[1, 1, 0, 1], [0, 1, 1, 0], [2, 0.5, 1, 0]]],
    ['huge logits (1e4-scaled embeddings at τ = 0.01)', [[1e10, -1e10, 5e9, 1e10], [-3e9, -3e9, -1e10, 2e9]], [[1, 1, 1, 0], [1, 1, 0, 0]]],
    ['a row without any weight', [[1, 2, 3], [4, 5, 6]], [[0, 0, 0], [1, 0, 1]]],
  ] as [string, Rows, Rows][])('%s', (_, block, weights) => {
    const b = tf.tensor2d(block);
    const w = tf.tensor2d(weights);
    const { lse, softmax, hasAny } = maskedLogSoftmax(b, w);
    const flat = maskedLogSumExp(b, w);
    const expected = reference(block, weights);
    const tolerance = { atol: 1e-5, rtol: 1e-6 };
    expectTensorClose(tf.reshape(lse, [-1]), expected.lse, tolerance);
    expectTensorClose(flat, expected.lse, tolerance);
    expectTensorClose(softmax, expected.softmax, { atol: 1e-6, rtol: 1e-5 });
    expectTensorClose(tf.reshape(hasAny, [-1]), weights.map((row) => (row.some((v) => v > 0) ? 1 : 0)), tolerance);
    tf.dispose([b, w, lse, softmax, hasAny, flat]);
  });

  it('the excluded-mask and unmasked forms agree with the weighted form on 0/1 masks', () => {
    const block = tf.tensor2d([[1e10, -1e10, 5e9, 3], [1, 2, 3, 4], [0, 0, 0, 0], [-2, 7, 1, 0.5]]);
    const weights = tf.tensor2d([[1, 1, 0, 1], [1, 0, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1]]);
    const excluded = tf.sub(1, weights) as tf.Tensor2D;
    const weighted = maskedLogSoftmax(block, weights);
    const fast = excludedLogSoftmax(block, excluded);
    const lseOnly = excludedLogSumExp(block, excluded);
    expectTensorClose(fast.lse, weighted.lse, { atol: 1e-5, rtol: 1e-6 });
    expectTensorClose(lseOnly.lse, weighted.lse, { atol: 1e-5, rtol: 1e-6 });
    expectTensorClose(fast.softmax, weighted.softmax, { atol: 1e-6, rtol: 1e-5 });
    expectTensorClose(fast.hasAny, weighted.hasAny);
    expectTensorClose(lseOnly.hasAny, [[1], [1], [0], [1]]);
    const plain = tf.tensor2d([[1, 2, 3], [-1e10, 1e10, 0]]);
    const rows = logSoftmaxRows(plain);
    const lse = logSumExpRows(plain);
    const expected = maskedLogSoftmax(plain, tf.onesLike(plain) as tf.Tensor2D);
    expectTensorClose(rows.lse, expected.lse, { atol: 1e-5, rtol: 1e-6 });
    expectTensorClose(lse, expected.lse, { atol: 1e-5, rtol: 1e-6 });
    expectTensorClose(rows.softmax, expected.softmax, { atol: 1e-6, rtol: 1e-5 });
    tf.dispose([block, weights, excluded, plain, lse, ...Object.values(weighted), ...Object.values(fast), ...Object.values(lseOnly), ...Object.values(rows), ...Object.values(expected)]);
  });

  it('positiveCounts counts same-label keys (minus self without a reference), in O(n + m)', () => {
    const labels = tf.tensor1d([3, 1, 3, 3, 7], 'int32');
    const refLabels = tf.tensor1d([7, 3, 9, 7], 'int32');
    const self = positiveCounts(labels, undefined);
    const withRef = positiveCounts(labels, refLabels);
    expectTensorClose(self, [2, 0, 2, 2, 0]);
    expectTensorClose(withRef, [1, 0, 1, 1, 2]);
    tf.dispose([labels, refLabels, self, withRef]);
  });

  it('their autodiff gradient is finite and equals the softmax', () => {
    const b = tf.tensor2d([[1e10, -1e10, 5e9], [1, 2, 3], [0, 0, 0]]);
    const w = tf.tensor2d([[1, 1, 0], [1, 0, 1], [0, 0, 0]]);
    const grad = tf.grad((x: tf.Tensor) => tf.sum(maskedLogSumExp(x as tf.Tensor2D, w)))(b);
    const { softmax, lse, hasAny } = maskedLogSoftmax(b, w);
    expectTensorClose(grad, softmax, { atol: 1e-6, rtol: 1e-5 });
    tf.dispose([b, w, grad, softmax, lse, hasAny]);
  });
});

describe('infoNceRowLosses: errors', () => {
  it('names what is missing or wrong', () => {
    const s = setup(4, null, 2, 1);
    const base = specOf(s, s.anchors, undefined, 1, true);
    expectContrastiveError(() => infoNceRowLosses({ ...base, chunkElements: 0 }), 'INVALID_ARGUMENT', /Argument 'chunkElements' passed to 'engineTest' must be an integer >= 1, got 0/);
    expectContrastiveError(() => infoNceRowLosses({ ...base, perAnchor: {} }), 'INVALID_ARGUMENT', /'engineTest' \(InfoNCE engine\): no perAnchor tensor named 'weight'/);
    expectContrastiveError(
      () => infoNceRowLosses({ ...base, rowLoss: (block) => tf.sum(block) }),
      'INVALID_ARGUMENT',
      /rowLoss must return 4 values \(one per anchor of the chunk\), got shape \[\]/,
    );
    const { labels: _unused, ...withoutLabels } = base;
    void _unused;
    expectContrastiveError(() => infoNceRowLosses(withoutLabels), 'INVALID_ARGUMENT', /sameLabel\(\) needs `labels`/);
    const wide = tf.zeros([3, 5]) as tf.Tensor2D;
    expectContrastiveError(() => infoNceRowLosses({ ...base, keys: wide }), 'SHAPE_MISMATCH', /keys must have 2 columns \(as the anchors\), got 5/);
    wide.dispose();
    s.dispose();
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
