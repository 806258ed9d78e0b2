import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, viewLabels } from '@contrastive/core';
import type { Loss, LossInput, PairTuples, TripletTuples } from '@contrastive/core';
import {
  FLOAT32_TOLERANCE,
  LOOSE_TOLERANCE,
  checkGradients,
  expectContrastiveError,
  expectNoLeak,
  expectTensorClose,
  useTestBackend,
} from '@contrastive/core/testing';
import { stopGradient } from './internal/pairs.js';
import { barlowTwinsLoss, negativeCosineSimilarityLoss, vicregLoss } from './non-contrastive-losses.js';
import { allFinite, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 references, written as obvious loops from the papers and lightly's formulas
// ---------------------------------------------------------------------------------------------


function dot(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}
function cosine(a: number[], b: number[]): number {
  const na = Math.max(Math.sqrt(dot(a, a)), 1e-12);
  const nb = Math.max(Math.sqrt(dot(b, b)), 1e-12);
  return dot(a, b) / (na * nb);
}

/** SimSiam / lightly NegativeCosineSimilarity: -mean_i cos(p_i, z_i). */
function referenceNegativeCosine(predictions: Rows, targets: Rows): number {
  let total = 0;
  for (let i = 0; i < predictions.length; i++) total -= cosine(predictions[i] as number[], targets[i] as number[]);
  return total / predictions.length;
}

function columnMean(x: Rows, j: number): number {
  let sum = 0;
  for (const row of x) sum += row[j] as number;
  return sum / x.length;
}
/** Unbiased variance of column j (torch.var / torch.std default). */
function columnVariance(x: Rows, j: number): number {
  const mean = columnMean(x, j);
  let sum = 0;
  for (const row of x) sum += ((row[j] as number) - mean) ** 2;
  return sum / (x.length - 1);
}

/** lightly BarlowTwinsLoss: standardise per column (unbiased std), C = aᵀb / N, Σ(1 - C_ii)² + λ Σ_{i≠j} C_ij². */
function referenceBarlow(a: Rows, b: Rows, lambda: number): number {
  const n = a.length;
  const d = (a[0] as number[]).length;
  const standardise = (x: Rows): Rows => {
    const means = Array.from({ length: d }, (_, j) => columnMean(x, j));
    const stds = Array.from({ length: d }, (_, j) => Math.sqrt(columnVariance(x, j)));
    return x.map((row) => row.map((v, j) => (v - (means[j] as number)) / ((stds[j] as number) === 0 ? 1 : (stds[j] as number))));
  };
  const za = standardise(a);
  const zb = standardise(b);
  let loss = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let c = 0;
      for (let k = 0; k < n; k++) c += ((za[k] as number[])[i] as number) * ((zb[k] as number[])[j] as number);
      c /= n;
      loss += i === j ? (1 - c) ** 2 : lambda * c * c;
    }
  }
  return loss;
}

interface VicregParams {
  lambda: number;
  mu: number;
  nu: number;
  eps: number;
  gamma: number;
}
const VICREG_DEFAULTS: VicregParams = { lambda: 25, mu: 25, nu: 1, eps: 1e-4, gamma: 1 };

/** lightly VICRegLoss: λ·MSE + μ·½(v(a) + v(b)) + ν·(c(a) + c(b)). */
function referenceVicreg(a: Rows, b: Rows, p: VicregParams = VICREG_DEFAULTS): number {
  const n = a.length;
  const d = (a[0] as number[]).length;
  let mse = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mse += (((a[i] as number[])[j] as number) - ((b[i] as number[])[j] as number)) ** 2;
  mse /= n * d;
  const variance = (x: Rows): number => {
    let sum = 0;
    for (let j = 0; j < d; j++) sum += Math.max(0, p.gamma - Math.sqrt(columnVariance(x, j) + p.eps));
    return sum / d;
  };
  const covariance = (x: Rows): number => {
    const means = Array.from({ length: d }, (_, j) => columnMean(x, j));
    let sum = 0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        if (i === j) continue;
        let c = 0;
        for (const row of x) c += ((row[i] as number) - (means[i] as number)) * ((row[j] as number) - (means[j] as number));
        c /= n - 1;
        sum += c * c;
      }
    }
    return sum / d;
  };
  return p.lambda * mse + p.mu * 0.5 * (variance(a) + variance(b)) + p.nu * (covariance(a) + covariance(b));
}

function split(rows: Rows): [Rows, Rows] {
  const n = rows.length / 2;
  return [rows.slice(0, n), rows.slice(n)];
}

/** Value and gradient w.r.t. `embeddings` of a loss on rows (layout form: views stacked). */
function valueAndGrad(loss: Loss, rows: Rows, extra: Partial<LossInput> = {}): { value: number; grad: Rows; finite: boolean } {
  const x = tf.tensor2d(rows);
  const y = int32(Array.from({ length: rows.length }, (_, i) => i % Math.max(1, rows.length / 2)));
  const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ ...extra, embeddings: e as tf.Tensor2D, labels: y }))(x);
  const out = {
    value: scalarValue(result.value),
    grad: result.grad.arraySync() as Rows,
    finite: allFinite(result.value) && allFinite(result.grad),
  };
  expect(result.grad.shape).toEqual(x.shape);
  tf.dispose([x, y, result.value, result.grad]);
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('stopGradient', () => {
  it('passes the value and blocks the gradient', () => {
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => tf.sum(tf.add(tf.mul(stopGradient(e), e), e)))(x);
    // d/dx Σ (c·x + x) with c = x held constant: c + 1.
    expectTensorClose(value, 1 + 4 + 9 + 16 + 10);
    expectTensorClose(grad, [[2, 3], [4, 5]]);
    tf.dispose([x, value, grad]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('negativeCosineSimilarityLoss', () => {
  it('returns a float32 scalar named negativeCosineSimilarityLoss', () => {
    const x = tf.tensor2d(randomRows(new Rng(1), 4, 3));
    const labels = viewLabels(2);
    const loss = negativeCosineSimilarityLoss();
    const value = loss.compute({ embeddings: x, labels });
    expect(loss.name).toBe('negativeCosineSimilarityLoss');
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    tf.dispose([x, labels, value]);
  });

  it('the TSDoc example prints -0.9', () => {
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [0.8, 0.6], [0, 2]]);
    const labels = viewLabels(2);
    const loss = negativeCosineSimilarityLoss().compute({ embeddings, labels });
    expect(scalarValue(loss)).toBeCloseTo(-0.9, 6);
    tf.dispose([embeddings, labels, loss]);
  });

  it.each([
    [1, 3],
    [4, 8],
    [16, 5],
    [32, 64],
  ])('N=%i d=%i, stacked views and ref', (n, d) => {
    const rng = new Rng(n * 100 + d);
    const rows = randomRows(rng, 2 * n, d);
    const [p, z] = split(rows);
    const loss = negativeCosineSimilarityLoss();
    const x = tf.tensor2d(rows);
    const y = viewLabels(n);
    const stacked = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(stacked, referenceNegativeCosine(p, z), FLOAT32_TOLERANCE);
    const first = tf.tensor2d(p);
    const ref = { embeddings: tf.tensor2d(z), labels: int32(Array.from({ length: n }, (_, i) => i)) };
    const withRef = loss.compute({ embeddings: first, labels: ref.labels, ref });
    expectTensorClose(withRef, referenceNegativeCosine(p, z), FLOAT32_TOLERANCE);
    tf.dispose([x, y, stacked, first, ref.embeddings, ref.labels, withRef]);
  });

  it('gradient matches central differences, the targets held constant (stop-gradient)', () => {
    const rows = randomRows(new Rng(3), 12, 4);
    const [, targets] = split(rows);
    const y = viewLabels(6);
    const loss = negativeCosineSimilarityLoss();
    const { analytic } = checkGradients(
      (e) => loss.compute({ embeddings: e, labels: y }),
      (r) => referenceNegativeCosine(r.slice(0, 6), targets),
      rows,
    );
    // The target rows get exactly zero gradient.
    expect(analytic.slice(6).flat().every((g) => g === 0)).toBe(true);
    y.dispose();
  });

  it('no gradient flows into ref.embeddings', () => {
    const p = tf.tensor2d(randomRows(new Rng(4), 5, 3));
    const z = tf.tensor2d(randomRows(new Rng(5), 5, 3));
    const labels = int32([0, 1, 2, 3, 4]);
    const loss = negativeCosineSimilarityLoss();
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      loss.compute({ embeddings: a as tf.Tensor2D, labels, ref: { embeddings: b as tf.Tensor2D, labels } }),
    )([p, z]);
    expect(Array.from((grads[1] as tf.Tensor).dataSync()).every((g) => g === 0)).toBe(true);
    expect(Array.from((grads[0] as tf.Tensor).dataSync()).some((g) => g !== 0)).toBe(true);
    tf.dispose([p, z, labels, ...grads]);
  });

  it('tuples: the mean over mined positive pairs (triplets give their (anchor, positive) pairs)', () => {
    const rows = randomRows(new Rng(6), 6, 3);
    const anchors = [0, 1, 1, 4];
    const positives = [3, 4, 2, 0];
    const expected = referenceNegativeCosine(
      anchors.map((a) => rows[a] as number[]),
      positives.map((p) => rows[p] as number[]),
    );
    const x = tf.tensor2d(rows);
    const y = int32([0, 1, 2, 0, 1, 2]);
    const pairs: PairTuples = { kind: 'pairs', anchorPos: int32(anchors), positive: int32(positives), anchorNeg: int32([0]), negative: int32([1]) };
    const triplets: TripletTuples = { kind: 'triplets', anchor: int32(anchors), positive: int32(positives), negative: int32([5, 5, 5, 5]) };
    const loss = negativeCosineSimilarityLoss();
    const fromPairs = loss.compute({ embeddings: x, labels: y, tuples: pairs });
    const fromTriplets = loss.compute({ embeddings: x, labels: y, tuples: triplets });
    expectTensorClose(fromPairs, expected, FLOAT32_TOLERANCE);
    expectTensorClose(fromTriplets, expected, FLOAT32_TOLERANCE);
    // Gradient: the positives are targets (constant), the anchors predictions.
    checkGradients(
      (e) => loss.compute({ embeddings: e, labels: y, tuples: pairs }),
      (r) => referenceNegativeCosine(anchors.map((a) => r[a] as number[]), positives.map((p) => rows[p] as number[])),
      rows,
    );
    // Tuples index the reference when one is given; the reference may have another size.
    const queue = randomRows(new Rng(7), 9, 3);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(Array.from({ length: 9 }, (_, i) => i)) };
    const refPairs: PairTuples = { kind: 'pairs', anchorPos: int32([0, 5]), positive: int32([8, 2]), anchorNeg: int32([]), negative: int32([]) };
    const withRef = loss.compute({ embeddings: x, labels: y, ref, tuples: refPairs });
    expectTensorClose(withRef, referenceNegativeCosine([rows[0]!, rows[5]!], [queue[8]!, queue[2]!]), FLOAT32_TOLERANCE);
    tf.dispose([x, y, fromPairs, fromTriplets, withRef, ref.embeddings, ref.labels]);
    tf.dispose([pairs.anchorPos, pairs.positive, pairs.anchorNeg, pairs.negative, triplets.anchor, triplets.positive, triplets.negative]);
    tf.dispose([refPairs.anchorPos, refPairs.positive, refPairs.anchorNeg, refPairs.negative]);
  });

  it('no mined positive pair gives a connected 0', () => {
    const x = tf.tensor2d(randomRows(new Rng(8), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const tuples: PairTuples = { kind: 'pairs', anchorPos: int32([]), positive: int32([]), anchorNeg: int32([0]), negative: int32([1]) };
    const loss = negativeCosineSimilarityLoss();
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, tuples }))(x);
    expect(scalarValue(value) === 0).toBe(true);
    expect(Array.from(grad.dataSync()).every((g) => g === 0)).toBe(true);
    tf.dispose([x, y, value, grad, tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative]);
  });

  it('edge cases: batch of one, identical, zero and 1e4-scaled vectors', () => {
    const loss = negativeCosineSimilarityLoss();
    const one = valueAndGrad(loss, [[0.3, -0.4], [0.6, 0.8]]);
    expect(one.value).toBeCloseTo(referenceNegativeCosine([[0.3, -0.4]], [[0.6, 0.8]]), 5);
    const identical = valueAndGrad(loss, Array.from({ length: 6 }, () => [0.2, -1.5, 0.7]));
    expect(identical.value).toBeCloseTo(-1, 6);
    expect(identical.finite).toBe(true);
    expect(Math.max(...identical.grad.flat().map(Math.abs))).toBeLessThan(1e-5);
    const zeros = valueAndGrad(loss, Array.from({ length: 4 }, () => [0, 0, 0]));
    expect(zeros.value === 0).toBe(true);
    expect(zeros.finite).toBe(true);
    const large = randomRows(new Rng(9), 8, 5, 1e4);
    const scaled = valueAndGrad(loss, large);
    expect(scaled.finite).toBe(true);
    expect(scaled.value).toBeCloseTo(referenceNegativeCosine(...split(large)), 4);
  });
});

// ---------------------------------------------------------------------------------------------

describe('barlowTwinsLoss', () => {
  it('returns a float32 scalar named barlowTwinsLoss; the TSDoc example prints 0.229131', () => {
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [-1, -1], [1, 0.2], [0, 1], [-1, -1.2]]);
    const labels = viewLabels(3);
    const loss = barlowTwinsLoss();
    const value = loss.compute({ embeddings, labels });
    expect(loss.name).toBe('barlowTwinsLoss');
    expect(value.dtype).toBe('float32');
    expect(value.shape).toEqual([]);
    expect(scalarValue(value)).toBeCloseTo(0.229131, 5);
    expect(referenceBarlow(...split(embeddings.arraySync()), 5e-3)).toBeCloseTo(0.229131, 5);
    tf.dispose([embeddings, labels, value]);
  });

  it.each([
    [2, 3, 5e-3],
    [8, 4, 5e-3],
    [16, 16, 0.0051],
    [32, 8, 0],
    [64, 32, 0.1],
  ])('N=%i d=%i λ=%s, stacked views and ref', (n, d, lambda) => {
    const rows = randomRows(new Rng(n * 31 + d), 2 * n, d);
    const [a, b] = split(rows);
    const expected = referenceBarlow(a, b, lambda);
    const loss = barlowTwinsLoss({ lambda });
    const x = tf.tensor2d(rows);
    const y = viewLabels(n);
    const stacked = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(stacked, expected, { atol: 1e-4, rtol: 1e-4 });
    const first = tf.tensor2d(a);
    const ref = { embeddings: tf.tensor2d(b), labels: int32(Array.from({ length: n }, (_, i) => i)) };
    const withRef = loss.compute({ embeddings: first, labels: ref.labels, ref });
    expectTensorClose(withRef, expected, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([x, y, stacked, first, ref.embeddings, ref.labels, withRef]);
  });

  it('defaults to λ = 5e-3 (lightly)', () => {
    const rows = randomRows(new Rng(11), 12, 4);
    const result = valueAndGrad(barlowTwinsLoss(), rows);
    expect(result.value).toBeCloseTo(referenceBarlow(...split(rows), 5e-3), 4);
  });

  it.each([
    [4, 3, 5e-3],
    [6, 4, 0.05],
  ])('gradient matches central differences: N=%i d=%i λ=%s (both views)', (n, d, lambda) => {
    const rows = randomRows(new Rng(n + d), 2 * n, d);
    const y = viewLabels(n);
    const loss = barlowTwinsLoss({ lambda });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceBarlow(...split(r), lambda), rows);
    y.dispose();
  });

  it('gradients flow into both views with ref', () => {
    const a = tf.tensor2d(randomRows(new Rng(12), 5, 3));
    const b = tf.tensor2d(randomRows(new Rng(13), 5, 3));
    const labels = int32([0, 1, 2, 3, 4]);
    const loss = barlowTwinsLoss();
    const grads = tf.grads((x: tf.Tensor, z: tf.Tensor) =>
      loss.compute({ embeddings: x as tf.Tensor2D, labels, ref: { embeddings: z as tf.Tensor2D, labels } }),
    )([a, b]);
    expect(grads.every((g) => Array.from(g.dataSync()).some((v) => v !== 0))).toBe(true);
    tf.dispose([a, b, labels, ...grads]);
  });

  it('edge cases: one sample per view gives a connected 0; constant, zero and 1e4-scaled rows stay finite', () => {
    const loss = barlowTwinsLoss();
    const one = valueAndGrad(loss, [[0.3, -0.4], [0.6, 0.8]]);
    expect(one.value === 0).toBe(true);
    expect(one.grad.flat().every((g) => g === 0)).toBe(true);
    // Identical rows: every dimension is constant, so C = 0 and the loss is d.
    const identical = valueAndGrad(loss, Array.from({ length: 8 }, () => [0.25, -1.5, 0.75]));
    expect(identical.value).toBeCloseTo(3, 5);
    expect(identical.finite).toBe(true);
    const zeros = valueAndGrad(loss, Array.from({ length: 8 }, () => [0, 0, 0, 0]));
    expect(zeros.value).toBeCloseTo(4, 5);
    expect(zeros.finite).toBe(true);
    // One constant column among varying ones: lightly gives NaN, this the loss with C_·j = 0.
    const rows = randomRows(new Rng(14), 10, 3).map((row) => [row[0]!, 2, row[2]!]);
    const mixed = valueAndGrad(loss, rows);
    expect(mixed.finite).toBe(true);
    expect(mixed.value).toBeCloseTo(referenceBarlow(...split(rows), 5e-3), 4);
    const large = randomRows(new Rng(15), 16, 4, 1e4);
    const scaled = valueAndGrad(loss, large);
    expect(scaled.finite).toBe(true);
    expect(Math.abs(scaled.value - referenceBarlow(...split(large), 5e-3))).toBeLessThan(LOOSE_TOLERANCE.atol + LOOSE_TOLERANCE.rtol * scaled.value);
  });
});

// ---------------------------------------------------------------------------------------------

describe('vicregLoss', () => {
  it('returns a float32 scalar named vicregLoss; the TSDoc example prints 1.0733334', () => {
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [-1, -1], [1, 0.2], [0, 1], [-1, -1.2]]);
    const labels = viewLabels(3);
    const loss = vicregLoss();
    const value = loss.compute({ embeddings, labels });
    expect(loss.name).toBe('vicregLoss');
    expect(value.dtype).toBe('float32');
    expect(value.shape).toEqual([]);
    expect(scalarValue(value)).toBeCloseTo(1.0733334, 4);
    expect(referenceVicreg(...split(embeddings.arraySync()))).toBeCloseTo(1.0733334, 5);
    tf.dispose([embeddings, labels, value]);
  });

  it.each([
    [2, 3, 1, VICREG_DEFAULTS],
    [8, 4, 0.5, VICREG_DEFAULTS],
    [16, 16, 2, VICREG_DEFAULTS],
    [32, 8, 0.7, { lambda: 1, mu: 2, nu: 3, eps: 1e-3, gamma: 0.5 }],
    [64, 32, 1, { lambda: 0, mu: 25, nu: 0, eps: 1e-4, gamma: 2 }],
  ] as [number, number, number, VicregParams][])('N=%i d=%i scale=%s %o, stacked views and ref', (n, d, scale, params) => {
    const rows = randomRows(new Rng(n * 7 + d), 2 * n, d, scale);
    const [a, b] = split(rows);
    const expected = referenceVicreg(a, b, params);
    const loss = vicregLoss(params);
    const x = tf.tensor2d(rows);
    const y = viewLabels(n);
    const stacked = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(stacked, expected, { atol: 1e-4, rtol: 1e-4 });
    const first = tf.tensor2d(a);
    const ref = { embeddings: tf.tensor2d(b), labels: int32(Array.from({ length: n }, (_, i) => i)) };
    const withRef = loss.compute({ embeddings: first, labels: ref.labels, ref });
    expectTensorClose(withRef, expected, { atol: 1e-4, rtol: 1e-4 });
    tf.dispose([x, y, stacked, first, ref.embeddings, ref.labels, withRef]);
  });

  it.each([
    [5, 3, 0.5],
    [6, 4, 2.5],
  ])('gradient matches central differences: N=%i d=%i scale=%s (away from the hinge kink)', (n, d, scale) => {
    const rows = randomRows(new Rng(n * d), 2 * n, d, scale);
    const y = viewLabels(n);
    const loss = vicregLoss();
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceVicreg(...split(r)), rows, { atol: 1e-3, rtol: 1e-3 });
    y.dispose();
  });

  it('edge cases: one sample per view gives a connected 0; identical, zero and 1e4-scaled rows stay finite', () => {
    const loss = vicregLoss();
    const one = valueAndGrad(loss, [[0.3, -0.4], [0.6, 0.8]]);
    expect(one.value === 0).toBe(true);
    expect(one.grad.flat().every((g) => g === 0)).toBe(true);
    // Identical rows: no invariance or covariance term, the variance hinge is 1 - sqrt(eps) = 0.99 per view.
    const identical = valueAndGrad(loss, Array.from({ length: 8 }, () => [0.25, -1.5, 0.75]));
    expect(identical.value).toBeCloseTo(25 * 0.99, 4);
    expect(identical.finite).toBe(true);
    const zeros = valueAndGrad(loss, Array.from({ length: 8 }, () => [0, 0, 0]));
    expect(zeros.value).toBeCloseTo(25 * 0.99, 4);
    expect(zeros.finite).toBe(true);
    const large = randomRows(new Rng(16), 16, 4, 1e4);
    const scaled = valueAndGrad(loss, large);
    expect(scaled.finite).toBe(true);
    expect(Math.abs(scaled.value - referenceVicreg(...split(large)))).toBeLessThan(1e-3 * referenceVicreg(...split(large)));
  });
});

// ---------------------------------------------------------------------------------------------

describe('non-contrastive losses: training and resources', () => {
  const factories: [string, () => Loss][] = [
    ['negativeCosineSimilarityLoss', () => negativeCosineSimilarityLoss()],
    ['barlowTwinsLoss', () => barlowTwinsLoss()],
    ['vicregLoss', () => vicregLoss()],
  ];

  it.each(factories)('%s leaks no tensor, forward or backward, on any path', async (_, make) => {
    const loss = make();
    const x = tf.tensor2d(randomRows(new Rng(21), 8, 4));
    const y = viewLabels(4);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(22), 8, 4)), labels: int32([0, 1, 2, 3, 4, 5, 6, 7]) };
    const one = tf.tensor2d([[1, 2], [3, 4]]);
    const oneLabels = viewLabels(1);
    const inputs: LossInput[] = [
      { embeddings: x, labels: y },
      { embeddings: x, labels: ref.labels, ref },
      { embeddings: one, labels: oneLabels },
    ];
    for (const input of inputs) loss.compute(input).dispose(); // warm-up
    await expectNoLeak(() => {
      for (const input of inputs) {
        loss.compute(input).dispose();
        const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ ...input, embeddings: e as tf.Tensor2D }))(input.embeddings);
        tf.dispose([value, grad]);
      }
    });
    expect(x.isDisposed || y.isDisposed || ref.embeddings.isDisposed).toBe(false);
    tf.dispose([x, y, ref.embeddings, ref.labels, one, oneLabels]);
  });

  it.each(factories)('%s trains under optimizer.minimize: the loss falls, no tensor growth', (_, make) => {
    const loss = make();
    const variable = tf.variable(tf.tensor2d(randomRows(new Rng(31), 16, 6)));
    const labels = viewLabels(8);
    const optimizer = tf.train.sgd(0.05);
    const step = (): number => {
      const cost = optimizer.minimize(() => loss.compute({ embeddings: variable, labels }), true, [variable]);
      const value = scalarValue(cost as tf.Scalar);
      cost?.dispose();
      return value;
    };
    const first = step();
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 20; i++) last = step();
    expect(tf.memory().numTensors).toBe(before);
    expect(last).toBeLessThan(first - 0.05 * Math.abs(first));
    optimizer.dispose();
    tf.dispose([variable, labels]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('non-contrastive losses: errors', () => {
  it('rejects bad hyper-parameters in the factory', () => {
    for (const lambda of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectContrastiveError(() => barlowTwinsLoss({ lambda }), 'INVALID_ARGUMENT', /Argument 'lambda' passed to 'barlowTwinsLoss' must be a finite number >= 0, got/);
    }
    expectContrastiveError(() => vicregLoss({ lambda: -1 }), 'INVALID_ARGUMENT', /Argument 'lambda' passed to 'vicregLoss' must be a finite number >= 0/);
    expectContrastiveError(() => vicregLoss({ mu: Number.NaN }), 'INVALID_ARGUMENT', /Argument 'mu' passed to 'vicregLoss'/);
    expectContrastiveError(() => vicregLoss({ nu: -0.5 }), 'INVALID_ARGUMENT', /Argument 'nu' passed to 'vicregLoss'/);
    expectContrastiveError(() => vicregLoss({ eps: 0 }), 'INVALID_ARGUMENT', /Argument 'eps' passed to 'vicregLoss' must be a finite number > 0, got 0/);
    expectContrastiveError(() => vicregLoss({ gamma: -1 }), 'INVALID_ARGUMENT', /Argument 'gamma' passed to 'vicregLoss' must be a finite number > 0, got -1/);
    expectContrastiveError(() => barlowTwinsLoss({ lambda: '1' as unknown as number }), 'INVALID_ARGUMENT', /got "1"/);
  });

  it.each([
    ['negativeCosineSimilarityLoss', () => negativeCosineSimilarityLoss()],
    ['barlowTwinsLoss', () => barlowTwinsLoss()],
    ['vicregLoss', () => vicregLoss()],
  ] as [string, () => Loss][])('%s rejects bad tensors, naming the argument, and leaks nothing', (name, make) => {
    const loss = make();
    const x = tf.tensor2d(randomRows(new Rng(41), 4, 3));
    const y = viewLabels(2);
    const cases: [() => unknown, string, RegExp][] = [
      [() => loss.compute({ embeddings: tf.tensor1d([1, 2]) as unknown as tf.Tensor2D, labels: y }), 'SHAPE_MISMATCH', new RegExp(`Argument 'embeddings' passed to '${name}' must be rank 2, got rank 1`)],
      [() => loss.compute({ embeddings: tf.tensor2d([[1, 2]], [1, 2], 'int32'), labels: int32([0]) }), 'DTYPE_MISMATCH', new RegExp(`Argument 'embeddings' passed to '${name}' must have dtype float32, got int32`)],
      [() => loss.compute({ embeddings: x, labels: tf.tensor1d([0, 1, 0, 1]) }), 'DTYPE_MISMATCH', new RegExp(`Argument 'labels' passed to '${name}' must have dtype int32, got float32`)],
      [() => loss.compute({ embeddings: x, labels: int32([0, 1, 0]) }), 'LABEL_COUNT', new RegExp(`Argument 'labels' passed to '${name}' must have 4 entries \\(one per embedding\\), got 3`)],
      [() => loss.compute({ embeddings: tf.zeros([3, 3]), labels: int32([0, 1, 2]) }), 'SHAPE_MISMATCH', new RegExp(`Argument 'embeddings' passed to '${name}' must have an even number of rows .* got 3`)],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([3, 3]), labels: int32([0, 1, 2]) } }), 'SHAPE_MISMATCH', new RegExp(`Argument 'ref.embeddings' passed to '${name}' must have 4 rows .* got 3`)],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([4, 5]), labels: y } }), 'SHAPE_MISMATCH', new RegExp(`Argument 'ref.embeddings' passed to '${name}' must have 3 columns`)],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([4, 3]), labels: int32([0]) } }), 'LABEL_COUNT', new RegExp(`Argument 'ref.labels' passed to '${name}' must have 4 entries`)],
      [() => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'quads' } as unknown as PairTuples }), 'INVALID_ARGUMENT', new RegExp(`Argument 'tuples.kind' passed to '${name}' must be one of "pairs", "triplets", got "quads"`)],
      [() => loss.compute(null as unknown as LossInput), 'INVALID_ARGUMENT', new RegExp(`Argument 'input' passed to '${name}.compute'`)],
    ];
    if (name !== 'negativeCosineSimilarityLoss') {
      cases.push([
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'triplets', anchor: int32([0]), positive: int32([2]), negative: int32([1]) } }),
        'INVALID_ARGUMENT',
        new RegExp(`Argument 'tuples' passed to '${name}' must be undefined: its terms are statistics of the whole batch`),
      ]);
    } else {
      cases.push([
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'pairs', anchorPos: int32([0, 1]), positive: int32([2]), anchorNeg: int32([]), negative: int32([]) } }),
        'SHAPE_MISMATCH',
        /Argument 'tuples.positive' passed to 'negativeCosineSimilarityLoss' must have 2 entries \(one per entry of 'tuples.anchorPos'\), got 1/,
      ]);
    }
    for (const [call, code, message] of cases) {
      const before = tf.memory().numTensors;
      expectContrastiveError(() => tf.tidy(() => void call()), code as Parameters<typeof expectContrastiveError>[1], message);
      expect(tf.memory().numTensors).toBe(before);
    }
    const disposed = tf.tensor2d([[1, 2], [3, 4]]);
    disposed.dispose();
    expectContrastiveError(() => loss.compute({ embeddings: disposed, labels: y }), 'DISPOSED', new RegExp(`Argument 'embeddings' passed to '${name}' has been disposed`));
    tf.dispose([x, y]);
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
