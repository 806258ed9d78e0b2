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
import { debiasedLoss, debiasedSettings, hardNegativeLoss, hardNegativeWeights } from './hard-negative-loss.js';
import type { HardNegativeLossOptions } from './hard-negative-loss.js';
import { ntXentLoss } from './nt-xent.js';
import { allFinite, expectFiniteLargeBatch, expectTrainsUnderMinimize, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference, written as obvious loops from the paper / joshr17/HCL criterion()
// ---------------------------------------------------------------------------------------------

type Similarity = (a: number[], b: number[]) => number;

interface Params {
  readonly temperature: number;
  readonly beta: number;
  readonly tauPlus: number;
  readonly estimator: 'hard' | 'easy';
  readonly clamp: boolean;
}

const DEFAULTS: Params = { temperature: 0.5, beta: 1, tauPlus: 0.1, estimator: 'hard', clamp: true };

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

/**
 * One positive pair: pos = exp(s_ap/τ), neg_k = exp(s_ak/τ) over the N negatives,
 * imp_k = neg_k^β, reweight = Σ imp·neg / mean(imp), Ng = max((reweight − τ+·N·pos)/(1 − τ+), N·e^(−1/τ)),
 * loss = −log(pos / (pos + Ng)).
 */
function pairLoss(positive: number, negatives: number[], p: Params): number {
  const N = negatives.length;
  if (N === 0) return 0;
  const pos = Math.exp(positive / p.temperature);
  const neg = negatives.map((s) => Math.exp(s / p.temperature));
  let Ng: number;
  if (p.estimator === 'easy') {
    Ng = neg.reduce((a, b) => a + b, 0);
  } else {
    const imp = neg.map((v) => Math.exp(p.beta * Math.log(v)));
    let weighted = 0;
    let impSum = 0;
    for (let k = 0; k < N; k++) {
      weighted += (imp[k] as number) * (neg[k] as number);
      impSum += imp[k] as number;
    }
    const reweight = weighted / (impSum / N);
    Ng = (-p.tauPlus * N * pos + reweight) / (1 - p.tauPlus);
    Ng = p.clamp ? Math.max(Ng, N * Math.exp(-1 / p.temperature)) : Math.max(Ng, 0);
  }
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

/** Tuple-driven: positive pair k against the negative pairs (with repeats) that share its anchor. */
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

/** w_ak = c_ak·exp(β s_ak/τ) / ((1/N)·Σ_j c_aj·exp(β s_aj/τ)). */
function referenceWeights(similarities: Rows, mask: Rows, beta: number, temperature: number): Rows {
  return similarities.map((row, i) => {
    const c = mask[i] as number[];
    const count = c.reduce((a, b) => a + b, 0);
    const imp = row.map((s, j) => (c[j] as number) * Math.exp((beta * s) / temperature));
    const mean = imp.reduce((a, b) => a + b, 0) / count;
    return imp.map((v) => (count === 0 ? 0 : v / mean));
  });
}

function randomLabels(rng: Rng, n: number, classes: number): number[] {
  return Array.from({ length: n }, () => rng.int(classes));
}

function pairLabels(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i % (n / 2));
}

function pairTuples(pairs: PlainPairs): PairTuples {
  return {
    kind: 'pairs',
    anchorPos: int32(pairs.anchorPos),
    positive: int32(pairs.positive),
    anchorNeg: int32(pairs.anchorNeg),
    negative: int32(pairs.negative),
  };
}

function disposeTuples(tuples: PairTuples | TripletTuples): void {
  if (tuples.kind === 'pairs') tf.dispose([tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative]);
  else tf.dispose([tuples.anchor, tuples.positive, tuples.negative]);
}

function valueAndGrad(
  loss: { compute: (input: { embeddings: tf.Tensor2D; labels: tf.Tensor1D }) => tf.Scalar },
  rows: Rows,
  labels: number[],
): { value: number; grad: number[]; finite: boolean } {
  const x = tf.tensor2d(rows);
  const y = int32(labels);
  const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
  const out = {
    value: scalarValue(result.value),
    grad: Array.from(result.grad.dataSync()),
    finite: allFinite(result.value) && allFinite(result.grad),
  };
  expect(result.grad.shape).toEqual(x.shape);
  tf.dispose([x, y, result.value, result.grad]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// golden fixtures (direct implementations of joshr17/HCL criterion(); see the cases' "formula")
// ---------------------------------------------------------------------------------------------

const cases = goldenCases('hcl_');

function caseParams(c: GoldenCase): Params {
  const params = c.params as { temperature: number; tau_plus?: number; beta?: number; estimator?: 'hard' | 'easy'; clamp?: boolean };
  return {
    temperature: params.temperature,
    beta: params.beta ?? DEFAULTS.beta,
    tauPlus: params.tau_plus ?? DEFAULTS.tauPlus,
    estimator: params.estimator ?? 'hard',
    clamp: params.clamp ?? true,
  };
}

function caseOptions(p: Params): HardNegativeLossOptions {
  return { temperature: p.temperature, beta: p.beta, tauPlus: p.tauPlus, estimator: p.estimator, clamp: p.clamp };
}

describe('hardNegativeLoss: golden values (joshr17/HCL criterion)', () => {
  it('has the ten hcl_* cases', () => {
    expect(cases).toHaveLength(10);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: value and gradient', (_, c) => {
    const rows = goldenRows(c);
    // Inputs name only `embeddings`: rows [0, N) are view 1 and [N, 2N) view 2, so the labels are the views.
    const labels = pairLabels(rows.length);
    const p = caseParams(c);
    const x = tf.tensor2d(rows);
    const y = viewLabels(rows.length / 2);
    const loss = hardNegativeLoss(caseOptions(p));
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expectGoldenValue(value, c);
    expectGoldenGrad(grad, c);
    // Also within 1e-5 of the float64 value: the log domain keeps the relative precision of losses
    // near 0 (dcl_t0.1_tp0.1_s16x8 is 5.2e-8, where PyTorch's float32 -log(pos / (pos + Ng)) is 2e-3 off).
    expectTensorClose(value, c.expected.value, { atol: 0, rtol: 1e-5 });
    // The float64 loops agree with the golden float64 value.
    expect(Math.abs(reference(rows, labels, p) - c.expected.value)).toBeLessThan(1e-12);
    tf.dispose([x, y, value, grad]);
  });

  it('β = 0 equals debiasedContrastiveLoss (hcl_t0.5_tp0.1_b0.0_s16x8_equals_dcl)', () => {
    const c = cases.find((g) => g.name === 'hcl_t0.5_tp0.1_b0.0_s16x8_equals_dcl');
    if (c === undefined) throw new Error('missing case');
    const x = tf.tensor2d(goldenRows(c));
    const y = viewLabels(8);
    const hard = hardNegativeLoss({ temperature: 0.5, tauPlus: 0.1, beta: 0 }).compute({ embeddings: x, labels: y });
    const debiased = debiasedContrastiveLoss({ temperature: 0.5, tauPlus: 0.1 }).compute({ embeddings: x, labels: y });
    expectTensorClose(hard, debiased, { atol: 1e-7, rtol: 1e-6 });
    expectGoldenValue(debiased, c);
    tf.dispose([x, y, hard, debiased]);
  });

  it("estimator 'easy' equals ntXentLoss (hcl_easy_t0.5_s16x8_equals_ntxent)", () => {
    const c = cases.find((g) => g.name === 'hcl_easy_t0.5_s16x8_equals_ntxent');
    if (c === undefined) throw new Error('missing case');
    const x = tf.tensor2d(goldenRows(c));
    const y = viewLabels(8);
    const easy = hardNegativeLoss({ temperature: 0.5, estimator: 'easy', beta: 3, tauPlus: 0.4 }).compute({ embeddings: x, labels: y });
    const ntXent = ntXentLoss({ temperature: 0.5 }).compute({ embeddings: x, labels: y });
    expectTensorClose(easy, ntXent, { atol: 1e-6, rtol: 1e-6 });
    expectGoldenValue(easy, c);
    tf.dispose([x, y, easy, ntXent]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('hardNegativeLoss: against the float64 loops', () => {
  it('returns a float32 scalar named hardNegativeLoss, with the official defaults', () => {
    const rows = randomRows(new Rng(1), 8, 3);
    const x = tf.tensor2d(rows);
    const y = viewLabels(4);
    const loss = hardNegativeLoss();
    const value = loss.compute({ embeddings: x, labels: y });
    expect(loss.name).toBe('hardNegativeLoss');
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    // τ = 0.5, β = 1, τ+ = 0.1, hard, clamp (joshr17/HCL image/main.py)
    expectTensorClose(value, reference(rows, pairLabels(8), DEFAULTS), FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });

  it('the TSDoc example prints 0.9489568', () => {
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [-1, 0.2], [0.8, 0.6], [0.6, 0.8], [-0.9, -0.1]]);
    const labels = viewLabels(3);
    const loss = hardNegativeLoss({ temperature: 0.5, beta: 1, tauPlus: 0.1 }).compute({ embeddings, labels });
    expect(scalarValue(loss)).toBeCloseTo(0.9489568, 6);
    tf.dispose([embeddings, labels, loss]);
  });

  it.each([
    [4, 3, 0.5, 1, 0.1],
    [8, 16, 0.1, 1, 0.1],
    [16, 8, 0.5, 0.5, 0.2],
    [24, 5, 0.2, 2, 0.05],
    [32, 32, 1, 1, 0],
    [64, 12, 0.07, 0.3, 0.1],
  ])('n=%i d=%i τ=%s β=%s τ+=%s, view labels and class labels, clamp on and off', (n, d, temperature, beta, tauPlus) => {
    const rng = new Rng(n * 1000 + d);
    const rows = randomRows(rng, n, d);
    const x = tf.tensor2d(rows);
    for (const labels of [pairLabels(n), randomLabels(rng, n, 3)]) {
      const y = int32(labels);
      for (const clamp of [true, false]) {
        const p: Params = { temperature, beta, tauPlus, estimator: 'hard', clamp };
        const value = hardNegativeLoss(caseOptions(p)).compute({ embeddings: x, labels: y });
        expectTensorClose(value, reference(rows, labels, p), FLOAT32_TOLERANCE);
        value.dispose();
      }
      y.dispose();
    }
    x.dispose();
  });

  it("estimator 'easy' ignores β, τ+ and clamp (NT-Xent) for class labels too", () => {
    const rng = new Rng(3);
    const rows = randomRows(rng, 12, 5);
    const labels = randomLabels(rng, 12, 3);
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const easy = hardNegativeLoss({ estimator: 'easy', temperature: 0.2, beta: 2, tauPlus: 0.3, clamp: false });
    const value = easy.compute({ embeddings: x, labels: y });
    const ntXent = ntXentLoss({ temperature: 0.2 }).compute({ embeddings: x, labels: y });
    expectTensorClose(value, reference(rows, labels, { ...DEFAULTS, temperature: 0.2, estimator: 'easy' }), FLOAT32_TOLERANCE);
    expectTensorClose(value, ntXent, FLOAT32_TOLERANCE);
    tf.dispose([x, y, value, ntXent]);
  });

  it('τ+ = 0 and β = 0 is NT-Xent where the floor does not bind', () => {
    const rows = randomRows(new Rng(4), 10, 6);
    const x = tf.tensor2d(rows);
    const y = viewLabels(5);
    const plain = hardNegativeLoss({ beta: 0, tauPlus: 0, temperature: 0.3 }).compute({ embeddings: x, labels: y });
    const ntXent = ntXentLoss({ temperature: 0.3 }).compute({ embeddings: x, labels: y });
    expectTensorClose(plain, ntXent, FLOAT32_TOLERANCE);
    tf.dispose([x, y, plain, ntXent]);
  });

  it('a larger β puts more weight on hard negatives: the loss grows with β', () => {
    const rows = randomRows(new Rng(5), 16, 4);
    const x = tf.tensor2d(rows);
    const y = viewLabels(8);
    const values = [0, 0.5, 1, 2, 4].map((beta) => {
      const value = hardNegativeLoss({ beta, tauPlus: 0 }).compute({ embeddings: x, labels: y });
      const number = scalarValue(value);
      value.dispose();
      return number;
    });
    for (let i = 1; i < values.length; i++) expect(values[i] as number).toBeGreaterThan(values[i - 1] as number);
    tf.dispose([x, y]);
  });

  it.each([
    ['dotProductSimilarity', () => dotProductSimilarity(), dot],
    ['lpDistance (negated)', () => lpDistance(), negEuclidean],
  ] as [string, () => Distance, Similarity][])('distance %s', (_, makeDistance, similarity) => {
    const rows = randomRows(new Rng(11), 12, 6, 0.4);
    const labels = randomLabels(new Rng(12), 12, 4);
    const p: Params = { ...DEFAULTS, temperature: 0.3, beta: 0.7 };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = hardNegativeLoss({ ...caseOptions(p), distance: makeDistance() });
    const value = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(value, reference(rows, labels, p, { similarity }), FLOAT32_TOLERANCE);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => reference(r, labels, p, { similarity }), rows);
    tf.dispose([x, y, value]);
  });

  it.each([
    [6, 3, 0.5, 1, 0.1, true],
    [8, 4, 0.2, 0.5, 0.2, true],
    [10, 5, 0.1, 2, 0.1, false],
    [8, 6, 1, 1, 0, true],
  ])('gradient (through the weights) matches central differences: n=%i d=%i τ=%s β=%s τ+=%s clamp=%s', (n, d, temperature, beta, tauPlus, clamp) => {
    const rng = new Rng(n + d);
    const rows = randomRows(rng, n, d);
    const p: Params = { temperature, beta, tauPlus, estimator: 'hard', clamp };
    for (const labels of [pairLabels(n), [0, 0, 0, ...randomLabels(rng, n - 3, 3)]]) {
      const y = int32(labels);
      const loss = hardNegativeLoss(caseOptions(p));
      checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => reference(r, labels, p), rows);
      y.dispose();
    }
  });

  it('gradient where the floor binds for some rows only (partial clamp)', () => {
    const c = cases.find((g) => g.name === 'hcl_t0.1_tp0.1_b1.0_s16x8');
    if (c === undefined) throw new Error('missing case');
    const rows = goldenRows(c);
    const p = caseParams(c);
    const y = viewLabels(8);
    const loss = hardNegativeLoss(caseOptions(p));
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => reference(r, pairLabels(16), p), rows);
    y.dispose();
  });
});

// ---------------------------------------------------------------------------------------------

describe('hardNegativeWeights', () => {
  it('equals exp(β s/τ) / mean over each row’s negatives, and the TSDoc example', () => {
    const similarities = tf.tensor2d([[1, 0.5, -0.5, 0]]);
    const mask = tf.tensor2d([[0, 1, 1, 1]]);
    const weights = hardNegativeWeights(similarities, mask, { beta: 1, temperature: 0.5 });
    expectTensorClose(weights, [[0, 1.9957229, 0.2700917, 0.7341854]], FLOAT32_TOLERANCE);
    expectTensorClose(weights, referenceWeights([[1, 0.5, -0.5, 0]], [[0, 1, 1, 1]], 1, 0.5), FLOAT32_TOLERANCE);
    tf.dispose([similarities, mask, weights]);
  });

  it.each([
    [0, 0.5],
    [0.5, 0.5],
    [1, 0.1],
    [3, 0.2],
  ])('random similarities, multiplicities and an empty row: β=%s τ=%s', (beta, temperature) => {
    const rng = new Rng(7);
    const sims = randomRows(rng, 5, 9).map((row) => row.map(Math.tanh));
    const mask: Rows = sims.map((row, i) => row.map((_, j) => (i === 4 ? 0 : (i + j) % 3 === 0 ? 0 : ((i * j) % 4 === 1 ? 2 : 1))));
    const s = tf.tensor2d(sims);
    const c = tf.tensor2d(mask);
    const weights = hardNegativeWeights(s, c, { beta, temperature });
    const expected = referenceWeights(sims, mask, beta, temperature);
    expectTensorClose(weights, expected, FLOAT32_TOLERANCE);
    const rowSums = tf.sum(weights, 1);
    expectTensorClose(rowSums, mask.map((row) => row.reduce((a, b) => a + b, 0)), FLOAT32_TOLERANCE);
    tf.dispose([s, c, weights, rowSums]);
  });

  it('β = 0 gives the mask itself (DCL: every negative weighs 1)', () => {
    const s = tf.tensor2d([[0.9, -0.2, 0.4], [0.1, 0.3, -0.8]]);
    const c = tf.tensor2d([[0, 1, 1], [1, 1, 0]]);
    const weights = hardNegativeWeights(s, c, { beta: 0 });
    expectTensorClose(weights, [[0, 1, 1], [1, 1, 0]], FLOAT32_TOLERANCE);
    tf.dispose([s, c, weights]);
  });

  it('Σ w·exp(s/τ) reproduces the loss (the official reweight_neg)', () => {
    // One anchor (row 0), its positive (column 0) and three negatives: loss = -log(pos / (pos + Ng)).
    const sims = [[0.7, 0.2, -0.3, 0.5]];
    const s = tf.tensor2d(sims);
    const c = tf.tensor2d([[0, 1, 1, 1]]);
    const weights = hardNegativeWeights(s, c, { beta: 1, temperature: 0.5 });
    const reweight = tf.sum(tf.mul(weights, tf.exp(tf.div(s, 0.5))));
    const pos = Math.exp(0.7 / 0.5);
    const Ng = Math.max((scalarValue(reweight) - 0.1 * 3 * pos) / 0.9, 3 * Math.exp(-2));
    expect(-Math.log(pos / (pos + Ng))).toBeCloseTo(pairLoss(0.7, [0.2, -0.3, 0.5], DEFAULTS), 5);
    tf.dispose([s, c, weights, reweight]);
  });

  it('stays finite for large β/τ and is differentiable', () => {
    const s = tf.tensor2d([[1, -1, 0.99, 0.5], [100, 3, -50, 0]]);
    const c = tf.tensor2d([[0, 1, 1, 1], [0, 1, 1, 1]]);
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => tf.sum(tf.square(hardNegativeWeights(x as tf.Tensor2D, c, { beta: 5, temperature: 0.01 }))))(s);
    expect(allFinite(value) && allFinite(grad)).toBe(true);
    const weights = hardNegativeWeights(s, c, { beta: 5, temperature: 0.01 });
    expectTensorClose(weights, [[0, 0, 3, 0], [0, 3, 0, 0]], { atol: 1e-4, rtol: 0 });
    tf.dispose([s, c, value, grad, weights]);
  });

  it('rejects bad options and tensors, naming the argument, without leaking', async () => {
    const s = tf.tensor2d([[0.1, 0.2]]);
    const c = tf.tensor2d([[0, 1]]);
    const rank1 = tf.tensor1d([1]) as unknown as tf.Tensor2D;
    const intMask = tf.tensor2d([[0, 1]], [1, 2], 'int32');
    const wide = tf.tensor2d([[0, 1, 1]]);
    await expectNoLeak(() => {
      expectContrastiveError(() => hardNegativeWeights(s, c, { beta: -1 }), 'INVALID_ARGUMENT', /Argument 'beta' passed to 'hardNegativeWeights' must be a finite number >= 0, got -1/);
      expectContrastiveError(() => hardNegativeWeights(s, c, { temperature: 0 }), 'INVALID_ARGUMENT', /Argument 'temperature' passed to 'hardNegativeWeights' must be a finite number > 0, got 0/);
      expectContrastiveError(() => hardNegativeWeights(rank1, c), 'SHAPE_MISMATCH', /Argument 'similarities' passed to 'hardNegativeWeights' must be rank 2, got rank 1/);
      expectContrastiveError(() => hardNegativeWeights(s, intMask), 'DTYPE_MISMATCH', /Argument 'mask' passed to 'hardNegativeWeights' must have dtype float32, got int32/);
      expectContrastiveError(() => hardNegativeWeights(s, wide), 'SHAPE_MISMATCH', /Argument 'mask' passed to 'hardNegativeWeights' must have shape \[1, 2\] \(as 'similarities'\), got \[1, 3\]/);
      tf.dispose(hardNegativeWeights(s, c));
    });
    tf.dispose([s, c, rank1, intMask, wide]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('hardNegativeLoss: edge cases', () => {
  const loss = hardNegativeLoss({ temperature: 0.1 });

  it('no positive pair (all labels distinct) gives a connected 0', () => {
    const { value, grad } = valueAndGrad(loss, randomRows(new Rng(2), 5, 3), [0, 1, 2, 3, 4]);
    expect(value).toBe(0);
    expect(grad.every((g) => g === 0)).toBe(true);
  });

  it('no negative (one label) gives a connected 0', () => {
    const { value, grad } = valueAndGrad(loss, randomRows(new Rng(3), 4, 3), [7, 7, 7, 7]);
    expect(value).toBe(0);
    expect(grad.every((g) => g === 0)).toBe(true);
  });

  it('a batch of one gives a connected 0', () => {
    const { value, grad } = valueAndGrad(loss, [[0.3, -0.4]], [0]);
    expect(value === 0).toBe(true);
    expect(grad).toEqual([0, 0]);
  });

  it('identical vectors: every weight is 1, the estimate N·e^(1/τ), loss log(1 + N), zero gradient', () => {
    const rows = Array.from({ length: 6 }, () => [0.2, -1.5, 0.7]);
    const { value, grad, finite } = valueAndGrad(loss, rows, [0, 1, 2, 0, 1, 2]);
    // s = 1 everywhere: E_w[neg] = e^10 and the estimate N·(e^10 − 0.1·e^10)/0.9 = N·e^10 = N·pos.
    expect(value).toBeCloseTo(Math.log1p(4), 5);
    expect(finite).toBe(true);
    expect(Math.max(...grad.map(Math.abs))).toBeLessThan(1e-4);
  });

  it('zero vectors: similarity 0, finite gradient', () => {
    const zeros = valueAndGrad(loss, Array.from({ length: 6 }, () => [0, 0, 0]), [0, 1, 2, 0, 1, 2]);
    expect(zeros.value).toBeCloseTo(Math.log(5), 5);
    expect(zeros.finite).toBe(true);
    const rows = [[0, 0, 0], [1, 2, 3], [0, 0, 0], [-1, 0.5, 2], [0.5, 0.5, 0], [2, -1, 0]];
    const labels = [0, 1, 0, 1, 2, 2];
    const mixed = valueAndGrad(loss, rows, labels);
    expect(mixed.value).toBeCloseTo(reference(rows, labels, { ...DEFAULTS, temperature: 0.1 }), 4);
    expect(mixed.finite).toBe(true);
  });

  it('τ = 0.01 with embeddings scaled by 1e4 stays finite and exact, also with dot products', () => {
    const rows = randomRows(new Rng(5), 16, 8, 1e4);
    const labels = pairLabels(16);
    for (const p of [
      { ...DEFAULTS, temperature: 0.01 },
      { ...DEFAULTS, temperature: 0.01, beta: 3, tauPlus: 0.3 },
      { ...DEFAULTS, temperature: 0.01, clamp: false },
    ]) {
      const { value, finite } = valueAndGrad(hardNegativeLoss(caseOptions(p)), rows, labels);
      expect(finite).toBe(true);
      const expected = reference(rows, labels, p);
      expect(Math.abs(value - expected)).toBeLessThan(LOOSE_TOLERANCE.atol + LOOSE_TOLERANCE.rtol * expected);
    }
    const dotLoss = hardNegativeLoss({ temperature: 0.01, distance: dotProductSimilarity() });
    expect(valueAndGrad(dotLoss, rows, labels).finite).toBe(true);
  });

  it('a hopeless pair keeps its exact value at τ = 0.01', () => {
    // Anchor 0's positive is opposite (cos −1) and its negatives aligned (cos 1): a loss near 2/τ = 200.
    const rows = [[1, 0], [-1, 0], [1, 0], [-1, 0]];
    const labels = [0, 0, 1, 1];
    const p = { ...DEFAULTS, temperature: 0.01 };
    const { value, finite } = valueAndGrad(hardNegativeLoss(caseOptions(p)), rows, labels);
    expect(finite).toBe(true);
    expect(value).toBeCloseTo(reference(rows, labels, p), 3);
    expect(value).toBeGreaterThan(200);
  });

  it('clamp: false floors a negative estimate at 0 (pair loss 0) instead of NaN', () => {
    // τ+ = 0.9 makes τ+·N·pos exceed the negatives for well-aligned positives.
    const rows = [[1, 0], [0, 1], [0.99, 0.14], [0.1, 0.99]];
    const labels = [0, 1, 0, 1];
    const p: Params = { ...DEFAULTS, tauPlus: 0.9, clamp: false };
    const { value, finite } = valueAndGrad(hardNegativeLoss(caseOptions(p)), rows, labels);
    expect(finite).toBe(true);
    expect(value).toBe(0);
    expect(reference(rows, labels, p)).toBe(0);
    const clamped = valueAndGrad(hardNegativeLoss(caseOptions({ ...p, clamp: true })), rows, labels);
    expect(clamped.value).toBeGreaterThan(0);
    expect(clamped.value).toBeCloseTo(reference(rows, labels, { ...p, clamp: true }), 5);
  });
});

// ---------------------------------------------------------------------------------------------

describe('hardNegativeLoss: given tuples', () => {
  const rows = randomRows(new Rng(21), 8, 5);
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];
  const p: Params = { ...DEFAULTS, temperature: 0.2 };
  // A mined subset with a repeated pair and an anchor (3) that has a positive but no negative.
  const mined: PlainPairs = {
    anchorPos: [0, 4, 1, 1, 3],
    positive: [4, 0, 5, 5, 7],
    anchorNeg: [0, 0, 4, 1, 0, 4, 1],
    negative: [1, 2, 6, 6, 1, 3, 2],
  };

  it('uses only the given pairs, with repeats', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples = pairTuples(mined);
    const value = hardNegativeLoss(caseOptions(p)).compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, referenceTuples(rows, rows, mined, p), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('given all pairs of the batch as tuples, equals the labels-driven loss', () => {
    const all: PlainPairs = { anchorPos: [], positive: [], anchorNeg: [], negative: [] };
    labels.forEach((la, a) =>
      labels.forEach((lb, b) => {
        if (la === lb && a !== b) all.anchorPos.push(a), all.positive.push(b);
        if (la !== lb) all.anchorNeg.push(a), all.negative.push(b);
      }),
    );
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples = pairTuples(all);
    const loss = hardNegativeLoss(caseOptions(p));
    const withTuples = loss.compute({ embeddings: x, labels: y, tuples });
    const without = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(withTuples, without, FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, withTuples, without]);
  });

  it('converts triplets (a, p, n) to the pairs (a, p) and (a, n)', () => {
    const triplets = { anchor: [0, 0, 1, 5, 2], positive: [4, 4, 5, 1, 6], negative: [1, 3, 2, 7, 0] };
    const asPairs: PlainPairs = { anchorPos: triplets.anchor, positive: triplets.positive, anchorNeg: triplets.anchor, negative: triplets.negative };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples: TripletTuples = { kind: 'triplets', anchor: int32(triplets.anchor), positive: int32(triplets.positive), negative: int32(triplets.negative) };
    const value = hardNegativeLoss(caseOptions(p)).compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, referenceTuples(rows, rows, asPairs, p), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('gradient of the tuple path matches central differences', () => {
    const y = int32(labels);
    const tuples = pairTuples(mined);
    const loss = hardNegativeLoss(caseOptions(p));
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, tuples }), (r) => referenceTuples(r, r, mined, p), rows);
    disposeTuples(tuples);
    y.dispose();
  });

  it('empty positive or negative tuples give a connected 0', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    for (const pairs of [
      { ...mined, anchorPos: [], positive: [] },
      { ...mined, anchorNeg: [], negative: [] },
    ]) {
      const tuples = pairTuples(pairs);
      const loss = hardNegativeLoss();
      const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, tuples }))(x);
      expect(scalarValue(value)).toBe(0);
      expect(Array.from(grad.dataSync()).every((g) => g === 0)).toBe(true);
      disposeTuples(tuples);
      tf.dispose([value, grad]);
    }
    tf.dispose([x, y]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('hardNegativeLoss: against a reference set', () => {
  const rng = new Rng(31);
  const rows = randomRows(rng, 6, 4);
  const labels = [0, 1, 2, 0, 1, 2];
  const queue = randomRows(rng, 10, 4);
  const queueLabels = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4];
  const p: Params = { ...DEFAULTS, temperature: 0.2, beta: 0.5 };

  it('compares the batch with ref.embeddings / ref.labels', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const value = hardNegativeLoss(caseOptions(p)).compute({ embeddings: x, labels: y, ref });
    expectTensorClose(value, reference(rows, labels, p, { refRows: queue, refLabels: queueLabels }), FLOAT32_TOLERANCE);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });

  it('does not exclude a row from being its own positive (PML ref semantics)', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.clone(x), labels: tf.clone(y) };
    const loss = hardNegativeLoss(caseOptions(p));
    const withRef = loss.compute({ embeddings: x, labels: y, ref });
    const without = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(withRef, reference(rows, labels, p, { refRows: rows, refLabels: labels }), FLOAT32_TOLERANCE);
    expect(Math.abs(scalarValue(withRef) - scalarValue(without))).toBeGreaterThan(1e-3);
    tf.dispose([x, y, ref.embeddings, ref.labels, withRef, without]);
  });

  it('gradient w.r.t. the batch matches central differences (ref held fixed)', () => {
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const loss = hardNegativeLoss(caseOptions(p));
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, ref }), (r) => reference(r, labels, p, { refRows: queue, refLabels: queueLabels }), rows);
    tf.dispose([y, ref.embeddings, ref.labels]);
  });

  it('tuples index the reference', () => {
    const pairs: PlainPairs = { anchorPos: [0, 1, 3], positive: [0, 6, 5], anchorNeg: [0, 1, 1, 3, 0], negative: [1, 2, 9, 4, 3] };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const tuples = pairTuples(pairs);
    const value = hardNegativeLoss(caseOptions(p)).compute({ embeddings: x, labels: y, ref, tuples });
    expectTensorClose(value, referenceTuples(rows, queue, pairs, p), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('hardNegativeLoss: on the chunked InfoNCE engine', () => {
  const rng = new Rng(81);
  const rows = randomRows(rng, 12, 5);
  const labels = [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 0];
  const queue = randomRows(rng, 7, 5);
  const queueLabels = [0, 1, 2, 6, 7, 0, 3];
  const mined: PlainPairs = { anchorPos: [0, 6, 1, 11, 2], positive: [6, 0, 7, 0, 8], anchorNeg: [0, 0, 6, 1, 11, 2, 2], negative: [1, 3, 4, 5, 9, 4, 4] };
  const settingsList: [string, HardNegativeLossOptions][] = [
    ['hard (defaults)', {}],
    ['hard, τ = 0.1 (partial clamp)', { temperature: 0.1, tauPlus: 0.3 }],
    ['hard, β = 0', { beta: 0, temperature: 0.2 }],
    ['hard, β = 2, clamp off', { beta: 2, clamp: false, tauPlus: 0.4, temperature: 0.3 }],
    ['hard, τ+ = 0', { tauPlus: 0, temperature: 0.1 }],
    ['hard, τ+ = 0, clamp off', { tauPlus: 0, clamp: false }],
    ['easy', { estimator: 'easy', temperature: 0.2 }],
  ];

  function gradientOf(loss: { compute: (input: never) => tf.Scalar }, input: Record<string, unknown>, x: tf.Tensor2D): { value: tf.Scalar; grad: tf.Tensor } {
    const compute = loss.compute as (input: Record<string, unknown>) => tf.Scalar;
    return tf.valueAndGrad((e: tf.Tensor) => compute({ ...input, embeddings: e }))(x);
  }

  it.each(settingsList)('%s: the closed-form row gradient equals autodiff, in chunks of 1 to 12 rows', (_, options) => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const tuples = pairTuples(mined);
    const base = debiasedSettings(options, { beta: 1, estimator: 'hard' }, 'hardNegativeLoss');
    const whole = debiasedLoss('hardNegativeLoss', { ...base, autodiffRowGrad: true });
    for (const chunkElements of [12, 40, 1000]) {
      const closed = debiasedLoss('hardNegativeLoss', { ...base, chunkElements });
      const refTuples = pairTuples({ ...mined, positive: [0, 5, 1, 0, 2], negative: [1, 3, 4, 5, 6, 4, 4] });
      for (const input of [{ labels: y }, { labels: y, ref }, { labels: y, tuples }, { labels: y, ref, tuples: refTuples }]) {
        const expected = gradientOf(whole, input, x);
        const actual = gradientOf(closed, input, x);
        expectTensorClose(actual.value, expected.value, { atol: 1e-6, rtol: 1e-5 });
        expectTensorClose(actual.grad, expected.grad, { atol: 1e-6, rtol: 1e-4 });
        tf.dispose([expected.value, expected.grad, actual.value, actual.grad]);
      }
      disposeTuples(refTuples);
    }
    disposeTuples(tuples);
    tf.dispose([x, y, ref.embeddings, ref.labels]);
  });

  it('chunked and whole agree with the float64 loops (labels, ref, tuples)', () => {
    const p: Params = { ...DEFAULTS, temperature: 0.2, beta: 0.5 };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const tuples = pairTuples(mined);
    for (const chunkElements of [7, 24, 4194304]) {
      const loss = hardNegativeLoss({ ...caseOptions(p), chunkElements });
      const values = [
        [loss.compute({ embeddings: x, labels: y }), reference(rows, labels, p)],
        [loss.compute({ embeddings: x, labels: y, ref }), reference(rows, labels, p, { refRows: queue, refLabels: queueLabels })],
        [loss.compute({ embeddings: x, labels: y, tuples }), referenceTuples(rows, rows, mined, p)],
      ] as const;
      for (const [value, expected] of values) {
        expectTensorClose(value, expected, FLOAT32_TOLERANCE);
        value.dispose();
      }
    }
    disposeTuples(tuples);
    tf.dispose([x, y, ref.embeddings, ref.labels]);
  });

  it('gradients in single-row chunks match central differences', () => {
    const p: Params = { ...DEFAULTS, temperature: 0.2, tauPlus: 0.2 };
    const y = int32(labels);
    const loss = hardNegativeLoss({ ...caseOptions(p), chunkElements: 12 });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => reference(r, labels, p), rows);
    y.dispose();
  });
});

// ---------------------------------------------------------------------------------------------

describe('hardNegativeLoss: training and resources', () => {
  it('leaks no tensor on any path, forward or backward', async () => {
    const x = tf.tensor2d(randomRows(new Rng(41), 8, 4));
    const y = int32([0, 1, 2, 3, 0, 1, 2, 3]);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(42), 5, 4)), labels: int32([0, 1, 2, 3, 4]) };
    const tuples = pairTuples({ anchorPos: [0, 4], positive: [4, 0], anchorNeg: [0, 4], negative: [1, 2] });
    const empty = pairTuples({ anchorPos: [], positive: [], anchorNeg: [0], negative: [1] });
    const losses = [
      hardNegativeLoss(),
      hardNegativeLoss({ tauPlus: 0 }),
      hardNegativeLoss({ clamp: false, beta: 0 }),
      hardNegativeLoss({ estimator: 'easy' }),
    ];
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
    expectTrainsUnderMinimize(hardNegativeLoss(), { labels: (n) => viewLabels(n / 2), optimizer: () => tf.train.sgd(0.5), steps: 30, factor: 0.8 });
  });

  it('handles N = 1024 on wasm, 512 on the slow cpu backend (d = 128), with a finite value and gradient', () => {
    const n = backend === 'wasm' ? 1024 : 512;
    expectFiniteLargeBatch(hardNegativeLoss(), { n, d: 128, labels: (n) => viewLabels(n / 2) });
  });
});

// ---------------------------------------------------------------------------------------------

describe('hardNegativeLoss: errors', () => {
  it('rejects bad hyper-parameters in the factory', () => {
    for (const temperature of [0, -0.1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectContrastiveError(() => hardNegativeLoss({ temperature }), 'INVALID_ARGUMENT', /Argument 'temperature' passed to 'hardNegativeLoss' must be a finite number > 0, got/);
    }
    for (const beta of [-0.5, Number.NaN]) {
      expectContrastiveError(() => hardNegativeLoss({ beta }), 'INVALID_ARGUMENT', /Argument 'beta' passed to 'hardNegativeLoss' must be a finite number >= 0, got/);
    }
    for (const tauPlus of [-0.1, 1, 1.5]) {
      expectContrastiveError(() => hardNegativeLoss({ tauPlus }), 'INVALID_ARGUMENT', /Argument 'tauPlus' passed to 'hardNegativeLoss' must be a finite number >= 0 and < 1, got/);
    }
    expectContrastiveError(
      () => hardNegativeLoss({ estimator: 'medium' as 'hard' }),
      'INVALID_ARGUMENT',
      /Argument 'estimator' passed to 'hardNegativeLoss' must be one of "hard", "easy", got "medium"/,
    );
    expectContrastiveError(() => hardNegativeLoss({ clamp: 'yes' as unknown as boolean }), 'INVALID_ARGUMENT', /Argument 'clamp' passed to 'hardNegativeLoss' must be a boolean, got "yes"/);
    expectContrastiveError(() => hardNegativeLoss({ distance: {} as Distance }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'hardNegativeLoss' must be a Distance/);
    expectContrastiveError(() => hardNegativeLoss({ temperature: '0.1' as unknown as number }), 'INVALID_ARGUMENT', /got "0.1"/);
    expectContrastiveError(() => hardNegativeLoss({ chunkElements: 0.5 }), 'INVALID_ARGUMENT', /Argument 'chunkElements' passed to 'hardNegativeLoss' must be an integer >= 1, got 0.5/);
  });

  it('rejects bad embeddings, labels, ref and tuples, naming the argument, without leaking', () => {
    const loss = hardNegativeLoss();
    const x = tf.tensor2d(randomRows(new Rng(71), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const cases: [() => unknown, RegExp, Parameters<typeof expectContrastiveError>[1]][] = [
      [() => loss.compute({ embeddings: tf.tensor1d([1, 2]) as unknown as tf.Tensor2D, labels: y }), /Argument 'embeddings' passed to 'hardNegativeLoss' must be rank 2, got rank 1/, 'SHAPE_MISMATCH'],
      [() => loss.compute({ embeddings: tf.tensor2d([[1]], [1, 1], 'int32'), labels: int32([0]) }), /Argument 'embeddings' passed to 'hardNegativeLoss' must have dtype float32, got int32/, 'DTYPE_MISMATCH'],
      [() => loss.compute({ embeddings: x, labels: tf.tensor1d([0, 1, 0, 1]) }), /Argument 'labels' passed to 'hardNegativeLoss' must have dtype int32, got float32/, 'DTYPE_MISMATCH'],
      [() => loss.compute({ embeddings: x, labels: int32([0, 1, 0]) }), /Argument 'labels' passed to 'hardNegativeLoss' must have 4 entries \(one per embedding\), got 3/, 'LABEL_COUNT'],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 5]), labels: int32([0, 1]) } }), /Argument 'ref.embeddings' passed to 'hardNegativeLoss' must have 3 columns/, 'SHAPE_MISMATCH'],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 3]), labels: int32([0]) } }), /Argument 'ref.labels' passed to 'hardNegativeLoss' must have 2 entries/, 'LABEL_COUNT'],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'pairs', anchorPos: int32([0, 1]), positive: int32([2]), anchorNeg: int32([0]), negative: int32([1]) } }),
        /Argument 'tuples.positive' passed to 'hardNegativeLoss' must have 2 entries \(one per entry of 'tuples.anchorPos'\), got 1/,
        'SHAPE_MISMATCH',
      ],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'triplets', anchor: int32([0]), positive: tf.tensor1d([2]), negative: int32([1]) } }),
        /Argument 'tuples.positive' passed to 'hardNegativeLoss' must have dtype int32, got float32/,
        'DTYPE_MISMATCH',
      ],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'quads' } as unknown as PairTuples }),
        /Argument 'tuples.kind' passed to 'hardNegativeLoss' must be one of "pairs", "triplets", got "quads"/,
        'INVALID_ARGUMENT',
      ],
      [() => loss.compute(null as unknown as { embeddings: tf.Tensor2D; labels: tf.Tensor1D }), /Argument 'input' passed to 'hardNegativeLoss.compute' must be/, 'INVALID_ARGUMENT'],
    ];
    for (const [call, message, code] of cases) {
      const before = tf.memory().numTensors;
      expectContrastiveError(() => tf.tidy(() => void call()), code, message);
      expect(tf.memory().numTensors).toBe(before);
    }
    const disposed = tf.tensor2d([[1, 2]]);
    disposed.dispose();
    expectContrastiveError(() => loss.compute({ embeddings: disposed, labels: y }), 'DISPOSED', /Argument 'embeddings' passed to 'hardNegativeLoss' has been disposed/);
    tf.dispose([x, y]);
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
