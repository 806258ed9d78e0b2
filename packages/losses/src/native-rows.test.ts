import * as tf from '@tensorflow/tfjs-core';
import { cosineSimilarity, viewLabels } from '@contrastive/core';
import { useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { setNativeRows } from './info-nce-engine.js';
import { ntXentLoss } from './nt-xent.js';
import { supConLoss } from './supcon-loss.js';
import { contrastiveLoss } from './contrastive-loss.js';
import { tripletMarginLoss } from './triplet-margin-loss.js';
import { infoNceLoss } from './info-nce-loss.js';
import { clipLoss } from './clip-loss.js';
import { hardNegativeLoss } from './hard-negative-loss.js';
import { debiasedContrastiveLoss } from './debiased-contrastive-loss.js';

// The native row kernels of @contrastive/core (one pass per row, and (G + Gᵀ)·A for the
// anchors' gradient) against the tensor-op path they replace on wasm: value and gradient within
// 1e-5 (relative to the largest gradient entry). On other backends both runs take the tensor path.
let backend = '';
beforeAll(async () => {
  backend = await useTestBackend();
});

function randomLabels(n: number, classes: number, seed: number): tf.Tensor1D {
  return tf.randomUniform([n], 0, classes, 'int32', seed) as tf.Tensor1D;
}

/** Value within 1e-5 (relative, at least 1) and gradient within 1e-5 of its largest entry, all finite. */
function expectCloseLoss(fast: { value: number; grad: Float32Array }, reference: { value: number; grad: Float32Array }): void {
  expect(Math.abs(fast.value - reference.value)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(reference.value)));
  expectCloseGrad(fast.grad, reference.grad);
}

function expectCloseGrad(a: Float32Array, b: Float32Array): void {
  const scale = Math.max(1e-12, ...Array.from(b, Math.abs));
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  expect(worst / scale).toBeLessThanOrEqual(1e-5);
  expect(Array.from(a).every(Number.isFinite)).toBe(true);
}

/** `fn()` with the native row kernels on or off, then the previous setting back. */
function withNativeRows<T>(native: boolean, fn: () => T): T {
  const previous = setNativeRows(native);
  try {
    return fn();
  } finally {
    setNativeRows(previous);
  }
}

/** The loss value and its gradient at `x`, read back (tidied). */
function lossAndGrad(f: (e: tf.Tensor) => tf.Scalar, x: tf.Tensor): { value: number; grad: Float32Array } {
  return tf.tidy(() => {
    const { value, grad } = tf.valueAndGrad(f)(x);
    return { value: value.dataSync()[0] as number, grad: grad.dataSync() as Float32Array };
  }) as unknown as { value: number; grad: Float32Array };
}

type Case = { name: string; n: number; labels: 'views' | number; ref?: boolean; chunkElements?: number; temperature: number };
const CASES: Case[] = [
  { name: 'view pairs', n: 64, labels: 'views', temperature: 0.1 },
  { name: 'random labels, 5 classes, odd size', n: 37, labels: 5, temperature: 0.5 },
  { name: 'a singleton class (a row without positives)', n: 9, labels: 9, temperature: 0.2 },
  { name: 'every row one class (no negatives)', n: 8, labels: 1, temperature: 0.2 },
  { name: 'keys from ref', n: 30, labels: 4, ref: true, temperature: 0.1 },
  { name: 'chunked (several blocks, offset self columns)', n: 50, labels: 6, chunkElements: 500, temperature: 0.1 },
];

describe.each([
  ['supConLoss', supConLoss],
  ['ntXentLoss', ntXentLoss],
  ['hardNegativeLoss (β 1, τ+ 0.1: HCL)', (o: { temperature: number; chunkElements?: number }) => hardNegativeLoss(o)],
  ['debiasedContrastiveLoss (β 0, τ+ 0.1: DCL)', (o: { temperature: number; chunkElements?: number }) => debiasedContrastiveLoss(o)],
  ['hardNegativeLoss (β 2.5, τ+ 0)', (o: { temperature: number; chunkElements?: number }) => hardNegativeLoss({ ...o, beta: 2.5, tauPlus: 0 })],
  ['hardNegativeLoss (β 0.5, τ+ 0.3, no clamp)', (o: { temperature: number; chunkElements?: number }) => hardNegativeLoss({ ...o, beta: 0.5, tauPlus: 0.3, clamp: false })],
  ['hardNegativeLoss (β 1, τ+ 0, no clamp)', (o: { temperature: number; chunkElements?: number }) => hardNegativeLoss({ ...o, tauPlus: 0, clamp: false })],
  ['hardNegativeLoss (estimator easy)', (o: { temperature: number; chunkElements?: number }) => hardNegativeLoss({ ...o, estimator: 'easy' })],
] as const)('%s: native rows equal the tensor-op rows', (_, factory) => {
  it.each(CASES)('$name', ({ n, labels: kind, ref, chunkElements, temperature }) => {
    const x = tf.randomNormal([n, 16], 0, 1, 'float32', n) as tf.Tensor2D;
    const labels = kind === 'views' ? viewLabels(n / 2) : randomLabels(n, kind, 3);
    const refX = ref === true ? (tf.randomNormal([n + 3, 16], 0, 1, 'float32', 7) as tf.Tensor2D) : undefined;
    const refLabels = ref === true ? randomLabels(n + 3, kind as number, 4) : undefined;
    const loss = factory({ temperature, ...(chunkElements === undefined ? {} : { chunkElements }) });
    const run = (native: boolean): { value: number; grad: Float32Array; refGrad?: Float32Array } =>
      withNativeRows(native, () => {
        if (refX === undefined || refLabels === undefined) return lossAndGrad((e) => loss.compute({ embeddings: e as tf.Tensor2D, labels }), x);
        return tf.tidy(() => {
          const [ga, gr] = tf.grads((e: tf.Tensor, r: tf.Tensor) =>
            loss.compute({ embeddings: e as tf.Tensor2D, labels, ref: { embeddings: r as tf.Tensor2D, labels: refLabels } }),
          )([x, refX]);
          const value = loss.compute({ embeddings: x, labels, ref: { embeddings: refX, labels: refLabels } }).dataSync()[0] as number;
          return { value, grad: (ga as tf.Tensor).dataSync() as Float32Array, refGrad: (gr as tf.Tensor).dataSync() as Float32Array };
        }) as unknown as { value: number; grad: Float32Array; refGrad?: Float32Array };
      });
    const before = tf.memory().numTensors;
    const fast = run(true);
    const reference = run(false);
    expect(tf.memory().numTensors).toBe(before);
    expectCloseLoss(fast, reference);
    if (fast.refGrad !== undefined && reference.refGrad !== undefined) expectCloseGrad(fast.refGrad, reference.refGrad);
    (loss as { dispose?(): void }).dispose?.();
    tf.dispose([x, labels, refX, refLabels]);
  });
});

describe('infoNceLoss / clipLoss: cross-entropy rows by the native NT-Xent rows equal the tensor-op rows', () => {
  type CeCase = { name: string; make: () => { compute(input: { embeddings: tf.Tensor2D; labels: tf.Tensor1D; ref?: { embeddings: tf.Tensor2D; labels: tf.Tensor1D } }): tf.Scalar; dispose?(): void; trainableVariables?: readonly tf.Variable[] }; n: number; refRows?: number };
  const CE_CASES: CeCase[] = [
    { name: 'infoNce, stacked queries and keys', make: () => infoNceLoss({ temperature: 0.1 }), n: 48 },
    { name: 'infoNce, symmetric, chunked', make: () => infoNceLoss({ temperature: 0.2, symmetric: true, chunkElements: 300 }), n: 40 },
    { name: 'infoNce, keys from ref with extra negatives', make: () => infoNceLoss({ temperature: 0.1 }), n: 20, refRows: 27 },
    { name: 'clip, fixed temperature', make: () => clipLoss({ temperature: 0.07 }), n: 64 },
    { name: 'clip, learnable logit scale', make: () => clipLoss({ learnableScale: true }), n: 32 },
  ];
  it.each(CE_CASES)('$name', ({ make, n, refRows }) => {
    const x = tf.randomNormal([n, 16], 0, 1, 'float32', n + 1);
    const refX = refRows === undefined ? undefined : (tf.randomNormal([refRows, 16], 0, 1, 'float32', 9) as tf.Tensor2D);
    const labels = refX === undefined ? viewLabels(n / 2) : tf.range(0, n, 1, 'int32');
    const refLabels = refX === undefined ? undefined : tf.range(0, refRows as number, 1, 'int32');
    const loss = make();
    const extra = loss.trainableVariables ?? [];
    const run = (native: boolean): { value: number; grad: Float32Array; scaleGrad?: number } =>
      withNativeRows(native, () => {
        const input = (e: tf.Tensor) => ({ embeddings: e as tf.Tensor2D, labels, ...(refX === undefined ? {} : { ref: { embeddings: refX, labels: refLabels as tf.Tensor1D } }) });
        const out: { value: number; grad: Float32Array; scaleGrad?: number } = lossAndGrad((e) => loss.compute(input(e)), x);
        if (extra.length > 0) {
          out.scaleGrad = tf.tidy(() => tf.variableGrads(() => loss.compute(input(x)), [...extra]).grads[(extra[0] as tf.Variable).name]?.dataSync()[0] as number);
        }
        return out;
      });
    const before = tf.memory().numTensors;
    const fast = run(true);
    const reference = run(false);
    expect(tf.memory().numTensors).toBe(before);
    expectCloseLoss(fast, reference);
    if (reference.scaleGrad !== undefined) expect(Math.abs((fast.scaleGrad as number) - reference.scaleGrad)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(reference.scaleGrad)));
    loss.dispose?.();
    tf.dispose([x, labels, refX, refLabels]);
  });
});

describe('symmetric InfoNCE / CLIP on wasm: one similarity product', () => {
  it('forward and backward take 3 matrix products instead of 6 (learnable scale: tf.matMul), none through tf.matMul at a fixed temperature (scaledMatMul)', async () => {
    if (backend !== 'wasm') return;
    const x = tf.randomNormal([64, 16], 0, 1, 'float32', 3);
    const products = async (native: boolean, learnableScale = true): Promise<number> => {
      const loss = clipLoss({ temperature: 0.1, learnableScale });
      const previous = setNativeRows(native);
      try {
        const info = await tf.profile(() => tf.grad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: viewLabels(32) }))(x));
        (info.result as tf.Tensor).dispose();
        return info.kernels.filter((k) => k.name === 'BatchMatMul' || k.name === '_FusedMatMul').length;
      } finally {
        setNativeRows(previous);
        loss.dispose();
      }
    };
    expect(await products(true)).toBe(3);
    expect(await products(false)).toBe(6);
    expect(await products(true, false)).toBe(0);
    expect(await products(false, false)).toBe(6);
    x.dispose();
  });
});

describe('hardNegativeLoss: native rows', () => {
  it('a NaN embedding gives a NaN loss on either path', () => {
    const x = tf.randomNormal([16, 8], 0, 1, 'float32', 2).arraySync() as number[][];
    (x[3] as number[])[1] = Number.NaN;
    const embeddings = tf.tensor2d(x);
    const labels = viewLabels(8);
    for (const native of [true, false]) {
      const value = withNativeRows(native, () => tf.tidy(() => hardNegativeLoss().compute({ embeddings, labels }).dataSync()[0] as number));
      expect(value).toBeNaN();
    }
    tf.dispose([embeddings, labels]);
  });

  it('the clamp floor applies (small τ, near-identical negatives) and both paths agree there', () => {
    // Every negative as similar as the positive: the debiased estimate is <= 0 for most pairs and
    // the floor N·e^(−1/τ) takes over (no gradient through it).
    const base = tf.randomNormal([1, 8], 0, 1, 'float32', 4);
    const x = tf.add(tf.tile(base, [24, 1]), tf.randomNormal([24, 8], 0, 0.01, 'float32', 5)) as tf.Tensor2D;
    const labels = viewLabels(12);
    const loss = hardNegativeLoss({ temperature: 0.1, tauPlus: 0.3 });
    const fast = withNativeRows(true, () => lossAndGrad((e) => loss.compute({ embeddings: e as tf.Tensor2D, labels }), x));
    const reference = withNativeRows(false, () => lossAndGrad((e) => loss.compute({ embeddings: e as tf.Tensor2D, labels }), x));
    expectCloseLoss(fast, reference);
    tf.dispose([base, x, labels]);
  });
});

describe('native rows run where they should', () => {
  it('on wasm the native path is taken (a different float32 summation order shows in the gradient bits)', () => {
    if (backend !== 'wasm') return;
    const x = tf.randomNormal([128, 32], 0, 1, 'float32', 1);
    const labels = viewLabels(64);
    for (const loss of [supConLoss(), hardNegativeLoss(), debiasedContrastiveLoss()]) {
      const grad = (native: boolean): Float32Array => withNativeRows(native, () => lossAndGrad((e) => loss.compute({ embeddings: e as tf.Tensor2D, labels }), x).grad);
      const a = grad(true);
      const b = grad(false);
      expect(Array.from(a).some((v, i) => v !== b[i])).toBe(true);
    }
    tf.dispose([x, labels]);
  });
});

describe('contrastiveLoss: the native pair-margin pass equals the tensor-op path', () => {
  type PairCase = { name: string; n: number; labels: 'views' | number; ref?: boolean; similarity?: boolean };
  const PAIR_CASES: PairCase[] = [
    { name: 'view pairs', n: 64, labels: 'views' },
    { name: 'random labels, 5 classes', n: 45, labels: 5 },
    { name: 'against a reference', n: 30, labels: 4, ref: true },
    { name: 'cosine similarity, margins 0.8 / 0.3', n: 40, labels: 3, similarity: true },
    { name: 'every row one class (no negative pairs)', n: 8, labels: 1 },
  ];
  it.each(PAIR_CASES)('$name', ({ n, labels: kind, ref, similarity }) => {
    const x = tf.randomNormal([n, 16], 0, 1, 'float32', n + 1);
    const labels = kind === 'views' ? viewLabels(n / 2) : randomLabels(n, kind, 5);
    const refX = ref === true ? (tf.randomNormal([n + 5, 16], 0, 1, 'float32', 9) as tf.Tensor2D) : undefined;
    const refLabels = ref === true ? randomLabels(n + 5, kind as number, 6) : undefined;
    const loss = contrastiveLoss(similarity === true ? { distance: cosineSimilarity(), posMargin: 0.8, negMargin: 0.3 } : {});
    const run = (native: boolean): { value: number; grad: Float32Array } =>
      withNativeRows(native, () =>
        lossAndGrad(
          (e) => loss.compute({ embeddings: e as tf.Tensor2D, labels, ...(refX === undefined || refLabels === undefined ? {} : { ref: { embeddings: refX, labels: refLabels } }) }),
          x,
        ),
      );
    const before = tf.memory().numTensors;
    const fast = run(true);
    const reference = run(false);
    expect(tf.memory().numTensors).toBe(before);
    expectCloseLoss(fast, reference);
    tf.dispose([x, labels, refX, refLabels]);
  });
});

describe('tripletMarginLoss: row-wise distances of mined tuples equal the matrix path', () => {
  /** Triplets (i, its other view, a view of another pair) for view labels. */
  function viewTriplets(n: number): { anchor: tf.Tensor1D; positive: tf.Tensor1D; negative: tf.Tensor1D } {
    const half = n / 2;
    const anchor = Array.from({ length: n }, (_, i) => i);
    const positive = anchor.map((i) => (i + half) % n);
    const negative = anchor.map((i) => (i + 1 + ((i * 7) % (half - 1))) % n);
    return { anchor: tf.tensor1d(anchor, 'int32'), positive: tf.tensor1d(positive, 'int32'), negative: tf.tensor1d(negative, 'int32') };
  }
  it.each([
    { name: 'triplets', swap: false, pairs: false, ref: false },
    { name: 'triplets with swap', swap: true, pairs: false, ref: false },
    { name: 'pair tuples', swap: false, pairs: true, ref: false },
    { name: 'against a reference, swap', swap: true, pairs: false, ref: true },
  ])('$name', ({ swap, pairs, ref }) => {
    const n = 48;
    const x = tf.randomNormal([n, 16], 0, 1, 'float32', 21);
    const refX = ref ? (tf.randomNormal([n, 16], 0, 1, 'float32', 22) as tf.Tensor2D) : undefined;
    const labels = viewLabels(n / 2);
    const t = viewTriplets(n);
    const tuples = pairs
      ? ({ kind: 'pairs', anchorPos: t.anchor, positive: t.positive, anchorNeg: t.anchor, negative: t.negative } as const)
      : ({ kind: 'triplets', ...t } as const);
    const run = (rowwise: boolean, native = true): { value: number; grad: Float32Array } =>
      withNativeRows(native, () => {
        const loss = tripletMarginLoss({ margin: 0.5, swap, rowwise });
        return lossAndGrad((e) => loss.compute({ embeddings: e as tf.Tensor2D, labels, tuples, ...(refX === undefined ? {} : { ref: { embeddings: refX, labels } }) }), x);
      });
    const before = tf.memory().numTensors;
    // fused native pass (wasm, no ref), the generic row-wise path, and PML's matrix path.
    const fused = run(true);
    const rows = run(true, false);
    const reference = run(false);
    expect(tf.memory().numTensors).toBe(before);
    expect(reference.value).toBeGreaterThan(0);
    for (const fast of [fused, rows]) expectCloseLoss(fast, reference);
    tf.dispose([x, refX, labels, t.anchor, t.positive, t.negative]);
  });

  it('rejects a rowwise option that is not a boolean', () => {
    expect(() => tripletMarginLoss({ rowwise: 1 as never })).toThrow(/'rowwise'/);
  });
});
