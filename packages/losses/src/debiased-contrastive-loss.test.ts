import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, dotProductSimilarity, lpDistance, viewLabels } from '@contrastive/core';
import type { Distance, PairTuples, TripletTuples } from '@contrastive/core';
import {
  FLOAT32_TOLERANCE,
  LOOSE_TOLERANCE,
  checkGradients,
  expectContrastiveError,
  expectNoLeak,
  expectTensorClose,
  useTestBackend,
} from '@contrastive/core/testing';
import { expectGoldenGrad, expectGoldenValue, goldenCases, goldenRows } from './test-support/golden.js';
import type { GoldenCase } from './test-support/golden.js';
import { debiasedContrastiveLoss } from './debiased-contrastive-loss.js';
import type { DebiasedContrastiveLossOptions } from './debiased-contrastive-loss.js';
import { hardNegativeLoss } from './hard-negative-loss.js';
import { ntXentLoss } from './nt-xent.js';
import { allFinite, expectFiniteLargeBatch, expectTrainsUnderMinimize, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference, written as obvious loops from Chuang et al. 2020 (eq. 6) / chingyaoc/DCL main.py
// ---------------------------------------------------------------------------------------------

type Similarity = (a: number[], b: number[]) => number;

interface Params {
  readonly temperature: number;
  readonly tauPlus: number;
  readonly clamp: boolean;
}

function dot(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}
function unit(v: number[]): number[] {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
}
const cosine: Similarity = (a, b) => dot(unit(a), unit(b));
const negEuclidean: Similarity = (a, b) => {
  const [x, y] = [unit(a), unit(b)];
  return -Math.sqrt(x.reduce((s, v, i) => s + (v - (y[i] as number)) ** 2, 0));
};

/** Ng = max((Σ_k exp(s_k/τ) − τ+·N·exp(s_p/τ)) / (1 − τ+), N·e^(−1/τ)); loss = −log(pos / (pos + Ng)). */
function pairLoss(positive: number, negatives: number[], p: Params): number {
  const N = negatives.length;
  if (N === 0) return 0;
  const pos = Math.exp(positive / p.temperature);
  let sum = 0;
  for (const s of negatives) sum += Math.exp(s / p.temperature);
  let Ng = (sum - p.tauPlus * N * pos) / (1 - p.tauPlus);
  Ng = p.clamp ? Math.max(Ng, N * Math.exp(-1 / p.temperature)) : Math.max(Ng, 0);
  return -Math.log(pos / (pos + Ng));
}

interface ReferenceOptions {
  readonly similarity?: Similarity;
  readonly refRows?: Rows;
  readonly refLabels?: number[];
}

/** Every ordered same-label pair (a ≠ p without a reference); negatives = other labels; mean over pairs. */
function reference(rows: Rows, labels: number[], p: Params, options: ReferenceOptions = {}): number {
  const similarity = options.similarity ?? cosine;
  const refRows = options.refRows ?? rows;
  const refLabels = options.refLabels ?? labels;
  const self = options.refRows === undefined;
  let total = 0;
  let pairs = 0;
  for (let a = 0; a < rows.length; a++) {
    const negatives: number[] = [];
    for (let k = 0; k < refRows.length; k++) {
      if (refLabels[k] !== labels[a]) negatives.push(similarity(rows[a] as number[], refRows[k] as number[]));
    }
    for (let q = 0; q < refRows.length; q++) {
      if (refLabels[q] !== labels[a] || (self && a === q)) continue;
      total += pairLoss(similarity(rows[a] as number[], refRows[q] as number[]), negatives, p);
      pairs++;
    }
  }
  return pairs === 0 ? 0 : total / pairs;
}

interface PlainPairs {
  anchorPos: number[];
  positive: number[];
  anchorNeg: number[];
  negative: number[];
}

function referenceTuples(rows: Rows, refRows: Rows, pairs: PlainPairs, p: Params): number {
  if (pairs.anchorPos.length === 0 || pairs.anchorNeg.length === 0) return 0;
  let total = 0;
  pairs.anchorPos.forEach((a, k) => {
    const negatives: number[] = [];
    pairs.anchorNeg.forEach((a2, j) => {
      if (a2 === a) negatives.push(cosine(rows[a] as number[], refRows[pairs.negative[j] as number] as number[]));
    });
    total += pairLoss(cosine(rows[a] as number[], refRows[pairs.positive[k] as number] as number[]), negatives, p);
  });
  return total / pairs.anchorPos.length;
}

function randomLabels(rng: Rng, n: number, classes: number): number[] {
  return Array.from({ length: n }, () => rng.int(classes));
}

function pairLabels(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i % (n / 2));
}

function pairTuples(pairs: PlainPairs): PairTuples {
  return { kind: 'pairs', anchorPos: int32(pairs.anchorPos), positive: int32(pairs.positive), anchorNeg: int32(pairs.anchorNeg), negative: int32(pairs.negative) };
}

function disposeTuples(tuples: PairTuples | TripletTuples): void {
  if (tuples.kind === 'pairs') tf.dispose([tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative]);
  else tf.dispose([tuples.anchor, tuples.positive, tuples.negative]);
}

function options(p: Params): DebiasedContrastiveLossOptions {
  return { temperature: p.temperature, tauPlus: p.tauPlus, clamp: p.clamp };
}

function valueAndGrad(p: Params, rows: Rows, labels: number[]): { value: number; grad: number[]; finite: boolean } {
  const x = tf.tensor2d(rows);
  const y = int32(labels);
  const loss = debiasedContrastiveLoss(options(p));
  const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
  const out = { value: scalarValue(result.value), grad: Array.from(result.grad.dataSync()), finite: allFinite(result.value) && allFinite(result.grad) };
  expect(result.grad.shape).toEqual(x.shape);
  tf.dispose([x, y, result.value, result.grad]);
  return out;
}

const DEFAULTS: Params = { temperature: 0.5, tauPlus: 0.1, clamp: true };

// ---------------------------------------------------------------------------------------------
// golden fixtures (direct implementations of chingyaoc/DCL main.py; see the cases' "formula")
// ---------------------------------------------------------------------------------------------

const cases = goldenCases('dcl_');

function caseParams(c: GoldenCase): Params {
  const params = c.params as { temperature: number; tau_plus: number; clamp: boolean };
  return { temperature: params.temperature, tauPlus: params.tau_plus, clamp: params.clamp };
}

describe('debiasedContrastiveLoss: golden values (chingyaoc/DCL main.py)', () => {
  it('has the six dcl_* cases, two of them with a partial clamp', () => {
    expect(cases).toHaveLength(6);
    expect(cases.filter((c) => c.name.endsWith('_partial_clamp'))).toHaveLength(2);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: value and gradient', (_, c) => {
    const rows = goldenRows(c);
    // Inputs name only `embeddings`: rows [0, N) are view 1 and [N, 2N) view 2, so the labels are the views.
    const p = caseParams(c);
    const x = tf.tensor2d(rows);
    const y = viewLabels(rows.length / 2);
    const loss = debiasedContrastiveLoss(options(p));
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expectGoldenValue(value, c);
    expectGoldenGrad(grad, c);
    // Also within 1e-5 of the float64 value: the log domain keeps the relative precision of losses
    // near 0 (dcl_t0.1_tp0.1_s16x8 is 5.2e-8, where PyTorch's float32 -log(pos / (pos + Ng)) is 2e-3 off).
    expectTensorClose(value, c.expected.value, { atol: 0, rtol: 1e-5 });
    expect(Math.abs(reference(rows, pairLabels(rows.length), p) - c.expected.value)).toBeLessThan(1e-12);
    tf.dispose([x, y, value, grad]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('debiasedContrastiveLoss: against the float64 loops', () => {
  it('returns a float32 scalar named debiasedContrastiveLoss, with the official defaults', () => {
    const rows = randomRows(new Rng(1), 8, 3);
    const x = tf.tensor2d(rows);
    const y = viewLabels(4);
    const loss = debiasedContrastiveLoss();
    const value = loss.compute({ embeddings: x, labels: y });
    expect(loss.name).toBe('debiasedContrastiveLoss');
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    // τ = 0.5, τ+ = 0.1, clamp (chingyaoc/DCL main.py)
    expectTensorClose(value, reference(rows, pairLabels(8), DEFAULTS), FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });

  it('the TSDoc example prints 0.5825863', () => {
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [-1, 0.2], [0.8, 0.6], [0.6, 0.8], [-0.9, -0.1]]);
    const labels = viewLabels(3);
    const loss = debiasedContrastiveLoss({ temperature: 0.5, tauPlus: 0.1 }).compute({ embeddings, labels });
    expect(scalarValue(loss)).toBeCloseTo(0.5825863, 6);
    tf.dispose([embeddings, labels, loss]);
  });

  it.each([
    [4, 3, 0.5, 0.1],
    [8, 16, 0.1, 0.1],
    [16, 8, 0.5, 0.3],
    [24, 5, 0.2, 0.05],
    [32, 32, 1, 0],
    [64, 12, 0.07, 0.2],
  ])('n=%i d=%i τ=%s τ+=%s, view labels and class labels, clamp on and off', (n, d, temperature, tauPlus) => {
    const rng = new Rng(n * 1000 + d);
    const rows = randomRows(rng, n, d);
    const x = tf.tensor2d(rows);
    for (const labels of [pairLabels(n), randomLabels(rng, n, 3)]) {
      const y = int32(labels);
      for (const clamp of [true, false]) {
        const p: Params = { temperature, tauPlus, clamp };
        const value = debiasedContrastiveLoss(options(p)).compute({ embeddings: x, labels: y });
        expectTensorClose(value, reference(rows, labels, p), FLOAT32_TOLERANCE);
        value.dispose();
      }
      y.dispose();
    }
    x.dispose();
  });

  it('equals hardNegativeLoss with β = 0', () => {
    const rng = new Rng(2);
    const rows = randomRows(rng, 14, 6);
    const labels = randomLabels(rng, 14, 4);
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    for (const p of [DEFAULTS, { temperature: 0.1, tauPlus: 0.3, clamp: true }, { temperature: 0.2, tauPlus: 0.2, clamp: false }]) {
      const debiased = debiasedContrastiveLoss(options(p)).compute({ embeddings: x, labels: y });
      const hard = hardNegativeLoss({ ...options(p), beta: 0 }).compute({ embeddings: x, labels: y });
      expectTensorClose(debiased, hard, { atol: 1e-7, rtol: 1e-6 });
      tf.dispose([debiased, hard]);
    }
    tf.dispose([x, y]);
  });

  it('τ+ = 0 is NT-Xent where the floor does not bind', () => {
    const rows = randomRows(new Rng(4), 10, 6);
    const x = tf.tensor2d(rows);
    const y = viewLabels(5);
    const debiased = debiasedContrastiveLoss({ tauPlus: 0, temperature: 0.3 }).compute({ embeddings: x, labels: y });
    const ntXent = ntXentLoss({ temperature: 0.3 }).compute({ embeddings: x, labels: y });
    expectTensorClose(debiased, ntXent, FLOAT32_TOLERANCE);
    tf.dispose([x, y, debiased, ntXent]);
  });

  it.each([
    ['dotProductSimilarity', () => dotProductSimilarity(), dot],
    ['lpDistance (negated)', () => lpDistance(), negEuclidean],
  ] as [string, () => Distance, Similarity][])('distance %s', (_, makeDistance, similarity) => {
    const rows = randomRows(new Rng(11), 12, 6, 0.4);
    const labels = randomLabels(new Rng(12), 12, 4);
    const p: Params = { temperature: 0.3, tauPlus: 0.1, clamp: true };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = debiasedContrastiveLoss({ ...options(p), distance: makeDistance() });
    const value = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(value, reference(rows, labels, p, { similarity }), FLOAT32_TOLERANCE);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => reference(r, labels, p, { similarity }), rows);
    tf.dispose([x, y, value]);
  });

  it.each([
    [6, 3, 0.5, 0.1, true, 4194304],
    [8, 4, 0.2, 0.2, true, 8],
    [10, 5, 0.1, 0.1, false, 4194304],
    [8, 6, 1, 0, true, 16],
  ])('gradient matches central differences: n=%i d=%i τ=%s τ+=%s clamp=%s chunkElements=%i', (n, d, temperature, tauPlus, clamp, chunkElements) => {
    const rng = new Rng(n + d);
    const rows = randomRows(rng, n, d);
    const p: Params = { temperature, tauPlus, clamp };
    for (const labels of [pairLabels(n), [0, 0, 0, ...randomLabels(rng, n - 3, 3)]]) {
      const y = int32(labels);
      const loss = debiasedContrastiveLoss({ ...options(p), chunkElements });
      checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => reference(r, labels, p), rows);
      y.dispose();
    }
  });

  it.each(cases.filter((c) => c.name.endsWith('_partial_clamp')).map((c) => [c.name, c] as const))(
    'gradient where the floor binds for some rows only: %s',
    (_, c) => {
      const rows = goldenRows(c);
      const p = caseParams(c);
      const y = viewLabels(rows.length / 2);
      const loss = debiasedContrastiveLoss(options(p));
      checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => reference(r, pairLabels(rows.length), p), rows);
      y.dispose();
    },
  );
});

// ---------------------------------------------------------------------------------------------

describe('debiasedContrastiveLoss: edge cases', () => {
  const p: Params = { ...DEFAULTS, temperature: 0.1 };

  it('no positive pair (all labels distinct) gives a connected 0', () => {
    const { value, grad } = valueAndGrad(p, randomRows(new Rng(2), 5, 3), [0, 1, 2, 3, 4]);
    expect(value).toBe(0);
    expect(grad.every((g) => g === 0)).toBe(true);
  });

  it('no negative (one label) gives a connected 0', () => {
    const { value, grad } = valueAndGrad(p, randomRows(new Rng(3), 4, 3), [7, 7, 7, 7]);
    expect(value).toBe(0);
    expect(grad.every((g) => g === 0)).toBe(true);
  });

  it('a batch of one gives a connected 0', () => {
    const { value, grad } = valueAndGrad(p, [[0.3, -0.4]], [0]);
    expect(value === 0).toBe(true);
    expect(grad).toEqual([0, 0]);
  });

  it('identical vectors: the debiased estimate is N·e^(1/τ), loss log(1 + N), zero gradient', () => {
    const rows = Array.from({ length: 6 }, () => [0.2, -1.5, 0.7]);
    const { value, grad, finite } = valueAndGrad(p, rows, [0, 1, 2, 0, 1, 2]);
    expect(value).toBeCloseTo(Math.log1p(4), 5);
    expect(finite).toBe(true);
    expect(Math.max(...grad.map(Math.abs))).toBeLessThan(1e-4);
  });

  it('zero vectors: similarity 0, finite gradient', () => {
    const zeros = valueAndGrad(p, Array.from({ length: 6 }, () => [0, 0, 0]), [0, 1, 2, 0, 1, 2]);
    expect(zeros.value).toBeCloseTo(Math.log(5), 5);
    expect(zeros.finite).toBe(true);
    const rows = [[0, 0, 0], [1, 2, 3], [0, 0, 0], [-1, 0.5, 2], [0.5, 0.5, 0], [2, -1, 0]];
    const labels = [0, 1, 0, 1, 2, 2];
    const mixed = valueAndGrad(p, rows, labels);
    expect(mixed.value).toBeCloseTo(reference(rows, labels, p), 4);
    expect(mixed.finite).toBe(true);
  });

  it('τ = 0.01 with embeddings scaled by 1e4 stays finite and exact, also with dot products', () => {
    const rows = randomRows(new Rng(5), 16, 8, 1e4);
    const labels = pairLabels(16);
    for (const q of [{ ...DEFAULTS, temperature: 0.01 }, { temperature: 0.01, tauPlus: 0.4, clamp: true }, { temperature: 0.01, tauPlus: 0.1, clamp: false }]) {
      const { value, finite } = valueAndGrad(q, rows, labels);
      expect(finite).toBe(true);
      const expected = reference(rows, labels, q);
      expect(Math.abs(value - expected)).toBeLessThan(LOOSE_TOLERANCE.atol + LOOSE_TOLERANCE.rtol * expected);
    }
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = debiasedContrastiveLoss({ temperature: 0.01, distance: dotProductSimilarity() });
    const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expect(allFinite(result.value) && allFinite(result.grad)).toBe(true);
    tf.dispose([x, y, result.value, result.grad]);
  });

  it('clamp: false floors a negative estimate at 0 (pair loss 0) instead of NaN', () => {
    const rows = [[1, 0], [0, 1], [0.99, 0.14], [0.1, 0.99]];
    const labels = [0, 1, 0, 1];
    const q: Params = { ...DEFAULTS, tauPlus: 0.9, clamp: false };
    const { value, finite } = valueAndGrad(q, rows, labels);
    expect(finite).toBe(true);
    expect(value).toBe(0);
    const clamped = valueAndGrad({ ...q, clamp: true }, rows, labels);
    expect(clamped.value).toBeCloseTo(reference(rows, labels, { ...q, clamp: true }), 5);
    expect(clamped.value).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('debiasedContrastiveLoss: tuples and reference set', () => {
  const rng = new Rng(21);
  const rows = randomRows(rng, 8, 5);
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];
  const queue = randomRows(rng, 10, 5);
  const queueLabels = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4];
  const p: Params = { ...DEFAULTS, temperature: 0.2 };
  const mined: PlainPairs = { anchorPos: [0, 4, 1, 1, 3], positive: [4, 0, 5, 5, 7], anchorNeg: [0, 0, 4, 1, 0, 4, 1], negative: [1, 2, 6, 6, 1, 3, 2] };

  it('uses only the given pairs (with repeats), also in chunks', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples = pairTuples(mined);
    for (const chunkElements of [8, 4194304]) {
      const value = debiasedContrastiveLoss({ ...options(p), chunkElements }).compute({ embeddings: x, labels: y, tuples });
      expectTensorClose(value, referenceTuples(rows, rows, mined, p), FLOAT32_TOLERANCE);
      value.dispose();
    }
    disposeTuples(tuples);
    tf.dispose([x, y]);
  });

  it('converts triplets (a, p, n) to the pairs (a, p) and (a, n)', () => {
    const triplets = { anchor: [0, 0, 1, 5, 2], positive: [4, 4, 5, 1, 6], negative: [1, 3, 2, 7, 0] };
    const asPairs: PlainPairs = { anchorPos: triplets.anchor, positive: triplets.positive, anchorNeg: triplets.anchor, negative: triplets.negative };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples: TripletTuples = { kind: 'triplets', anchor: int32(triplets.anchor), positive: int32(triplets.positive), negative: int32(triplets.negative) };
    const value = debiasedContrastiveLoss(options(p)).compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, referenceTuples(rows, rows, asPairs, p), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('gradient of the tuple path matches central differences', () => {
    const y = int32(labels);
    const tuples = pairTuples(mined);
    const loss = debiasedContrastiveLoss(options(p));
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, tuples }), (r) => referenceTuples(r, r, mined, p), rows);
    disposeTuples(tuples);
    y.dispose();
  });

  it('empty positive or negative tuples give a connected 0', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    for (const pairs of [{ ...mined, anchorPos: [], positive: [] }, { ...mined, anchorNeg: [], negative: [] }]) {
      const tuples = pairTuples(pairs);
      const loss = debiasedContrastiveLoss();
      const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, tuples }))(x);
      expect(scalarValue(value)).toBe(0);
      expect(Array.from(grad.dataSync()).every((g) => g === 0)).toBe(true);
      disposeTuples(tuples);
      tf.dispose([value, grad]);
    }
    tf.dispose([x, y]);
  });

  it('compares the batch with ref.embeddings / ref.labels; a row may be its own positive there', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const self = { embeddings: tf.clone(x), labels: tf.clone(y) };
    const loss = debiasedContrastiveLoss(options(p));
    const value = loss.compute({ embeddings: x, labels: y, ref });
    const withSelf = loss.compute({ embeddings: x, labels: y, ref: self });
    expectTensorClose(value, reference(rows, labels, p, { refRows: queue, refLabels: queueLabels }), FLOAT32_TOLERANCE);
    expectTensorClose(withSelf, reference(rows, labels, p, { refRows: rows, refLabels: labels }), FLOAT32_TOLERANCE);
    tf.dispose([x, y, ref.embeddings, ref.labels, self.embeddings, self.labels, value, withSelf]);
  });

  it('gradient w.r.t. the batch matches central differences (ref held fixed, chunked)', () => {
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const loss = debiasedContrastiveLoss({ ...options(p), chunkElements: 20 });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, ref }), (r) => reference(r, labels, p, { refRows: queue, refLabels: queueLabels }), rows);
    tf.dispose([y, ref.embeddings, ref.labels]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('debiasedContrastiveLoss: training and resources', () => {
  it('leaks no tensor on any path, forward or backward', async () => {
    const x = tf.tensor2d(randomRows(new Rng(41), 8, 4));
    const y = int32([0, 1, 2, 3, 0, 1, 2, 3]);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(42), 5, 4)), labels: int32([0, 1, 2, 3, 4]) };
    const tuples = pairTuples({ anchorPos: [0, 4], positive: [4, 0], anchorNeg: [0, 4], negative: [1, 2] });
    const empty = pairTuples({ anchorPos: [], positive: [], anchorNeg: [0], negative: [1] });
    const losses = [debiasedContrastiveLoss(), debiasedContrastiveLoss({ clamp: false, chunkElements: 8 }), debiasedContrastiveLoss({ distance: lpDistance() })];
    const inputs = [
      { embeddings: x, labels: y },
      { embeddings: x, labels: y, ref },
      { embeddings: x, labels: y, tuples },
      { embeddings: x, labels: y, tuples: empty },
    ];
    for (const loss of losses) for (const input of inputs) loss.compute(input).dispose(); // warm-up
    await expectNoLeak(() => {
      for (const loss of losses) {
        for (const input of inputs) {
          loss.compute(input).dispose();
          const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ ...input, embeddings: e as tf.Tensor2D }))(x);
          tf.dispose([value, grad]);
        }
      }
    });
    expect(x.isDisposed || y.isDisposed || ref.embeddings.isDisposed || tuples.anchorPos.isDisposed).toBe(false);
    disposeTuples(tuples);
    disposeTuples(empty);
    tf.dispose([x, y, ref.embeddings, ref.labels]);
  });

  it('trains under optimizer.minimize: the loss falls, no tensor growth', () => {
    expectTrainsUnderMinimize(debiasedContrastiveLoss(), { labels: (n) => viewLabels(n / 2), optimizer: () => tf.train.sgd(0.5), steps: 30, factor: 0.8 });
  });

  it('handles N = 2048 on wasm, 512 on the slow cpu backend (d = 128), in chunks of 256 rows, finite', () => {
    const n = backend === 'wasm' ? 2048 : 512;
    expectFiniteLargeBatch(debiasedContrastiveLoss({ chunkElements: 256 * n }), { n, d: 128, labels: (n) => viewLabels(n / 2) });
  });
});

// ---------------------------------------------------------------------------------------------

describe('debiasedContrastiveLoss: errors', () => {
  it('rejects bad hyper-parameters in the factory', () => {
    for (const temperature of [0, -0.1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectContrastiveError(() => debiasedContrastiveLoss({ temperature }), 'INVALID_ARGUMENT', /Argument 'temperature' passed to 'debiasedContrastiveLoss' must be a finite number > 0, got/);
    }
    for (const tauPlus of [-0.1, 1, 2, Number.NaN]) {
      expectContrastiveError(() => debiasedContrastiveLoss({ tauPlus }), 'INVALID_ARGUMENT', /Argument 'tauPlus' passed to 'debiasedContrastiveLoss' must be a finite number >= 0 and < 1, got/);
    }
    expectContrastiveError(() => debiasedContrastiveLoss({ clamp: 1 as unknown as boolean }), 'INVALID_ARGUMENT', /Argument 'clamp' passed to 'debiasedContrastiveLoss' must be a boolean, got 1/);
    expectContrastiveError(() => debiasedContrastiveLoss({ distance: {} as Distance }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'debiasedContrastiveLoss' must be a Distance/);
    expectContrastiveError(() => debiasedContrastiveLoss({ chunkElements: 0 }), 'INVALID_ARGUMENT', /Argument 'chunkElements' passed to 'debiasedContrastiveLoss' must be an integer >= 1, got 0/);
  });

  it('rejects bad embeddings, labels, ref and tuples, naming the argument, without leaking', () => {
    const loss = debiasedContrastiveLoss();
    const x = tf.tensor2d(randomRows(new Rng(71), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const cases: [() => unknown, RegExp, Parameters<typeof expectContrastiveError>[1]][] = [
      [() => loss.compute({ embeddings: tf.tensor1d([1, 2]) as unknown as tf.Tensor2D, labels: y }), /Argument 'embeddings' passed to 'debiasedContrastiveLoss' must be rank 2, got rank 1/, 'SHAPE_MISMATCH'],
      [() => loss.compute({ embeddings: tf.tensor2d([[1]], [1, 1], 'int32'), labels: int32([0]) }), /Argument 'embeddings' passed to 'debiasedContrastiveLoss' must have dtype float32, got int32/, 'DTYPE_MISMATCH'],
      [() => loss.compute({ embeddings: x, labels: tf.tensor1d([0, 1, 0, 1]) }), /Argument 'labels' passed to 'debiasedContrastiveLoss' must have dtype int32, got float32/, 'DTYPE_MISMATCH'],
      [() => loss.compute({ embeddings: x, labels: int32([0, 1, 0]) }), /Argument 'labels' passed to 'debiasedContrastiveLoss' must have 4 entries \(one per embedding\), got 3/, 'LABEL_COUNT'],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 5]), labels: int32([0, 1]) } }), /Argument 'ref.embeddings' passed to 'debiasedContrastiveLoss' must have 3 columns/, 'SHAPE_MISMATCH'],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 3]), labels: int32([0]) } }), /Argument 'ref.labels' passed to 'debiasedContrastiveLoss' must have 2 entries/, 'LABEL_COUNT'],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'pairs', anchorPos: int32([0, 1]), positive: int32([2]), anchorNeg: int32([0]), negative: int32([1]) } }),
        /Argument 'tuples.positive' passed to 'debiasedContrastiveLoss' must have 2 entries \(one per entry of 'tuples.anchorPos'\), got 1/,
        'SHAPE_MISMATCH',
      ],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'quads' } as unknown as PairTuples }),
        /Argument 'tuples.kind' passed to 'debiasedContrastiveLoss' must be one of "pairs", "triplets", got "quads"/,
        'INVALID_ARGUMENT',
      ],
    ];
    for (const [call, message, code] of cases) {
      const before = tf.memory().numTensors;
      expectContrastiveError(() => tf.tidy(() => void call()), code, message);
      expect(tf.memory().numTensors).toBe(before);
    }
    const disposed = tf.tensor2d([[1, 2]]);
    disposed.dispose();
    expectContrastiveError(() => loss.compute({ embeddings: disposed, labels: y }), 'DISPOSED', /Argument 'embeddings' passed to 'debiasedContrastiveLoss' has been disposed/);
    tf.dispose([x, y]);
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
