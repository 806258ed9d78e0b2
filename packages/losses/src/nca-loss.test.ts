import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, cosineSimilarity, dotProductSimilarity, lpDistance } from '@contrastive/core';
import type { Distance, PairTuples, Reference, TripletTuples, Tuples } from '@contrastive/core';
import {
  FLOAT32_TOLERANCE,
  LOOSE_TOLERANCE,
  checkGradients,
  expectContrastiveError,
  expectNoLeak,
  expectTensorClose,
  useTestBackend,
} from '@contrastive/core/testing';
import { ncaLoss } from './nca-loss.js';
import { avgNonZeroReducer, perAnchorReducer, sumReducer } from './reducers.js';
import type { Reducer } from './reducers.js';
import { expectGoldenGrad, expectGoldenValue, goldenCases, goldenLabels, goldenRows } from './test-support/golden.js';
import { allFinite, cyclicLabels, expectTrainsUnderMinimize, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference, written as obvious loops from Goldberger et al. 2005 and PML's NCALoss
// ---------------------------------------------------------------------------------------------

/** Larger = closer: a similarity, or a negated distance (as PML feeds the softmax). */
type Closeness = (a: number[], b: number[]) => number;

function dot(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}
function unit(v: number[]): number[] {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
}
function squaredEuclidean(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += ((a[i] as number) - (b[i] as number)) ** 2;
  return sum;
}
/** PML's NCALoss default: LpDistance(power=2) of normalized rows, negated. */
const negSquaredNormalized: Closeness = (a, b) => -squaredEuclidean(unit(a), unit(b));
const negSquaredRaw: Closeness = (a, b) => -squaredEuclidean(a, b);
const negEuclideanNormalized: Closeness = (a, b) => -Math.sqrt(squaredEuclidean(unit(a), unit(b)));
const cosine: Closeness = (a, b) => dot(unit(a), unit(b));

interface ReferenceOptions {
  readonly scale?: number;
  readonly closeness?: Closeness;
  readonly refRows?: Rows;
  readonly refLabels?: number[];
  /** Per-anchor miner weights (PML's convert_to_weights). */
  readonly weights?: number[];
}

/**
 * Per anchor i: p_ij = exp(s·c_ij) / Σ_k exp(s·c_ik) over the other points k (all reference points
 * with a reference), loss_i = -log Σ_{j: y_j = y_i} p_ij; anchors without a same-label point are
 * dropped; mean over the rest. Returns the per-anchor losses too (NaN for dropped anchors).
 */
function referenceNcaTerms(rows: Rows, labels: number[], options: ReferenceOptions = {}): number[] {
  const scale = options.scale ?? 1;
  const closeness = options.closeness ?? negSquaredNormalized;
  const refRows = options.refRows ?? rows;
  const refLabels = options.refLabels ?? labels;
  const self = options.refRows === undefined;
  return rows.map((anchor, i) => {
    const logits: number[] = [];
    const same: boolean[] = [];
    for (let j = 0; j < refRows.length; j++) {
      if (self && i === j) continue;
      logits.push(scale * closeness(anchor, refRows[j] as number[]));
      same.push(refLabels[j] === labels[i]);
    }
    if (!same.some(Boolean)) return Number.NaN;
    const max = Math.max(...logits);
    let denominator = 0;
    for (const z of logits) denominator += Math.exp(z - max);
    const positiveMax = Math.max(...logits.filter((_, k) => same[k]));
    let positiveMass = 0;
    logits.forEach((z, k) => {
      if (same[k]) positiveMass += Math.exp(z - positiveMax) / denominator;
    });
    // -log(Σ p_ij) with p_ij = exp(z - max) / denominator, written with the positive maximum factored out.
    return -(Math.log(positiveMass) + positiveMax - max) * (options.weights?.[i] ?? 1);
  });
}

function referenceNca(rows: Rows, labels: number[], options: ReferenceOptions = {}): number {
  if (options.refRows === undefined && rows.length <= 1) return 0;
  const kept = referenceNcaTerms(rows, labels, options).filter((v) => !Number.isNaN(v));
  return kept.length === 0 ? 0 : kept.reduce((a, b) => a + b, 0) / kept.length;
}

/** PML's convert_to_weights: count of each row among the indices, over the largest count. */
function referenceWeights(n: number, indices: number[][]): number[] {
  const flat = indices.flat();
  if (flat.length === 0) return new Array<number>(n).fill(1);
  const counts = new Array<number>(n).fill(0);
  for (const i of flat) counts[i] = (counts[i] as number) + 1;
  const max = Math.max(...counts);
  return counts.map((c) => c / max);
}

function randomLabels(rng: Rng, n: number, classes: number): number[] {
  return Array.from({ length: n }, () => rng.int(classes));
}
function disposeTuples(tuples: Tuples): void {
  if (tuples.kind === 'pairs') tf.dispose([tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative]);
  else tf.dispose([tuples.anchor, tuples.positive, tuples.negative]);
}
function pairTuples(anchorPos: number[], positive: number[], anchorNeg: number[], negative: number[]): PairTuples {
  return { kind: 'pairs', anchorPos: int32(anchorPos), positive: int32(positive), anchorNeg: int32(anchorNeg), negative: int32(negative) };
}
function tripletTuples(anchor: number[], positive: number[], negative: number[]): TripletTuples {
  return { kind: 'triplets', anchor: int32(anchor), positive: int32(positive), negative: int32(negative) };
}

/** Value and gradient of the loss at `rows` (plain numbers, tensors disposed). */
function valueAndGrad(
  rows: Rows,
  labels: number[],
  options: Parameters<typeof ncaLoss>[0] = {},
  extra: { tuples?: Tuples; ref?: Reference } = {},
): { value: number; grad: number[]; finite: boolean } {
  const x = tf.tensor2d(rows);
  const y = int32(labels);
  const loss = ncaLoss(options);
  const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, ...extra }))(x);
  expect(result.grad.shape).toEqual(x.shape);
  const out = { value: scalarValue(result.value), grad: Array.from(result.grad.dataSync()), finite: allFinite(result.grad) && allFinite(result.value) };
  tf.dispose([x, y, result.value, result.grad]);
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('ncaLoss: golden values from pytorch-metric-learning', () => {
  const cases = goldenCases('nca_');

  it('has the three nca_* cases, all with PML defaults', () => {
    expect(cases.map((c) => c.name)).toEqual(['nca_s8x4_labels_sup', 'nca_s16x8_labels_sup', 'nca_s8x4_labels_edge']);
    for (const c of cases) {
      expect(c.params['softmax_scale']).toBe(1);
      expect(c.params['distance']).toBe('LpDistance(p=2, power=2, normalize_embeddings=True)');
    }
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: value and gradient', (_, c) => {
    const rows = goldenRows(c);
    const labels = goldenLabels(c) as number[];
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = ncaLoss();
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expectGoldenValue(value, c);
    expectGoldenGrad(grad, c);
    // The float64 loops agree with PML to float64 precision.
    expect(Math.abs(referenceNca(rows, labels) - c.expected.value)).toBeLessThan(1e-12);
    tf.dispose([x, y, value, grad]);
  });

  it('the golden gradient also matches central differences of the loops', () => {
    const c = cases[2]!;
    const labels = goldenLabels(c) as number[];
    const y = int32(labels);
    const loss = ncaLoss();
    const { numeric } = checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceNca(r, labels), goldenRows(c));
    const worst = Math.max(...numeric.flat().map((v, i) => Math.abs(v - (c.grad!.flat()[i] as number))));
    expect(worst).toBeLessThan(1e-7);
    y.dispose();
  });
});

// ---------------------------------------------------------------------------------------------

describe('ncaLoss: against the float64 loops', () => {
  it('returns a float32 scalar named ncaLoss', () => {
    const x = tf.tensor2d(randomRows(new Rng(1), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const loss = ncaLoss();
    const value = loss.compute({ embeddings: x, labels: y });
    expect(loss.name).toBe('ncaLoss');
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    tf.dispose([x, y, value]);
  });

  it('the TSDoc example prints 0.4301903', () => {
    const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]]);
    const labels = int32([0, 0, 1, 1]);
    const value = ncaLoss().compute({ embeddings, labels });
    expect(scalarValue(value)).toBeCloseTo(0.4301903, 6);
    expect(referenceNca(embeddings.arraySync(), [0, 0, 1, 1])).toBeCloseTo(0.4301903, 6);
    tf.dispose([embeddings, labels, value]);
  });

  it.each([
    [4, 3, 1],
    [8, 16, 0.5],
    [16, 8, 2],
    [24, 5, 10],
    [32, 32, 1],
    [64, 12, 4],
  ])('n=%i d=%i softmaxScale=%s, few and many classes', (n, d, scale) => {
    const rng = new Rng(n * 1000 + d);
    const rows = randomRows(rng, n, d);
    for (const labels of [randomLabels(rng, n, 3), randomLabels(rng, n, Math.max(2, n / 2))]) {
      const x = tf.tensor2d(rows);
      const y = int32(labels);
      const value = ncaLoss({ softmaxScale: scale }).compute({ embeddings: x, labels: y });
      expectTensorClose(value, referenceNca(rows, labels, { scale }), FLOAT32_TOLERANCE);
      tf.dispose([x, y, value]);
    }
  });

  it.each([
    ['lpDistance({ power: 2 }) (default)', () => lpDistance({ power: 2 }), negSquaredNormalized],
    ['lpDistance() (Euclidean)', () => lpDistance(), negEuclideanNormalized],
    ['lpDistance({ power: 2, normalize: false })', () => lpDistance({ power: 2, normalize: false }), negSquaredRaw],
    ['cosineSimilarity', () => cosineSimilarity(), cosine],
    ['dotProductSimilarity', () => dotProductSimilarity(), dot],
  ] as [string, () => Distance, Closeness][])('distance %s: value and gradient', (_, makeDistance, closeness) => {
    const rows = randomRows(new Rng(11), 10, 6, 0.5);
    const labels = randomLabels(new Rng(12), 10, 3);
    const y = int32(labels);
    const loss = ncaLoss({ softmaxScale: 2, distance: makeDistance() });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceNca(r, labels, { scale: 2, closeness }), rows, {
      atol: 1e-5,
      rtol: 1e-4,
    });
    y.dispose();
  });

  it.each([
    [6, 3, 1],
    [8, 4, 5],
    [12, 5, 0.3],
  ])('gradient matches central differences of the loops: n=%i d=%i scale=%s', (n, d, scale) => {
    const rng = new Rng(n + d);
    const rows = randomRows(rng, n, d);
    for (const labels of [Array.from({ length: n }, (_, i) => i % 2), [0, 0, 0, 9, ...randomLabels(rng, n - 4, 3)]]) {
      const y = int32(labels);
      const loss = ncaLoss({ softmaxScale: scale });
      checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceNca(r, labels, { scale }), rows);
      y.dispose();
    }
  });

  it('compares any int32 labels exactly (negative, beyond 2^24, extremes)', () => {
    const rows = randomRows(new Rng(9), 8, 3);
    const labels = [16777216, 16777217, -5, 2147483647, 16777216, 16777217, -5, 2147483646];
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const value = ncaLoss().compute({ embeddings: x, labels: y });
    expectTensorClose(value, referenceNca(rows, labels), FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('ncaLoss: edge cases', () => {
  it('no positive pair (all labels distinct) gives a connected 0', () => {
    const { value, grad } = valueAndGrad(randomRows(new Rng(2), 5, 3), [0, 1, 2, 3, 4]);
    expect(value === 0).toBe(true); // tf.mul(tf.sum(embeddings), 0) may be -0
    expect(grad.every((g) => g === 0)).toBe(true);
  });

  it('no negative (one label): every neighbour is a positive, loss 0 with zero gradient', () => {
    const { value, grad, finite } = valueAndGrad(randomRows(new Rng(3), 4, 3), [7, 7, 7, 7]);
    expect(Math.abs(value)).toBeLessThan(1e-6);
    expect(finite).toBe(true);
    expect(Math.max(...grad.map(Math.abs))).toBeLessThan(1e-5);
  });

  it('a batch of one gives a connected 0', () => {
    const { value, grad } = valueAndGrad([[0.3, -0.4]], [0]);
    expect(value === 0).toBe(true);
    expect(grad).toEqual([0, 0]);
  });

  it('a batch of two with the same label: loss 0; with different labels: connected 0', () => {
    expect(Math.abs(valueAndGrad([[1, 0], [0, 1]], [3, 3]).value)).toBeLessThan(1e-6);
    const different = valueAndGrad([[1, 0], [0, 1]], [3, 4]);
    expect(different.value === 0).toBe(true);
    expect(different.grad.every((g) => g === 0)).toBe(true);
  });

  it('identical vectors: uniform neighbours, -log(#positives / (n - 1)), finite gradient', () => {
    const rows = Array.from({ length: 6 }, () => [0.2, -1.5, 0.7]);
    const { value, finite } = valueAndGrad(rows, [0, 1, 2, 0, 1, 2]);
    expect(value).toBeCloseTo(-Math.log(1 / 5), 5);
    expect(finite).toBe(true);
  });

  it('zero vectors stay zero after normalization: uniform neighbours, finite gradient', () => {
    const zeros = valueAndGrad(Array.from({ length: 6 }, () => [0, 0, 0]), [0, 0, 1, 1, 1, 2]);
    // Anchors of labels 0 and 1 (five of them); label 2 has no positive.
    const expected = (2 * -Math.log(1 / 5) + 3 * -Math.log(2 / 5)) / 5;
    expect(zeros.value).toBeCloseTo(expected, 5);
    expect(zeros.finite).toBe(true);
    const rows = [[0, 0, 0], [1, 2, 3], [0, 0, 0], [-1, 0.5, 2]];
    const mixed = valueAndGrad(rows, [0, 1, 0, 1]);
    expect(mixed.value).toBeCloseTo(referenceNca(rows, [0, 1, 0, 1]), 5);
    expect(mixed.finite).toBe(true);
  });

  it('softmaxScale 100 with raw embeddings scaled by 1e4 stays finite and exact', () => {
    const rows = randomRows(new Rng(5), 12, 4, 1e4);
    const labels = Array.from({ length: 12 }, (_, i) => i % 4);
    for (const distance of [lpDistance({ power: 2 }), lpDistance({ power: 2, normalize: false }), dotProductSimilarity()]) {
      const { value, finite } = valueAndGrad(rows, labels, { softmaxScale: 100, distance });
      expect(finite).toBe(true);
      expect(Number.isFinite(value)).toBe(true);
    }
    const normalized = valueAndGrad(rows, labels, { softmaxScale: 100 });
    const expected = referenceNca(rows, labels, { scale: 100 });
    expect(Math.abs(normalized.value - expected)).toBeLessThan(LOOSE_TOLERANCE.atol + LOOSE_TOLERANCE.rtol * expected);
  });

  it('keeps the exact loss of an anchor whose positive probability underflows (PML drops it)', () => {
    // Anchor 0's positive is opposite (d² = 4), its negative equal (d² = 0): loss ≈ 100 · 4 = 400.
    const rows = [[1, 0], [-1, 0], [1, 0], [-1, 0]];
    const labels = [0, 0, 1, 1];
    const { value, finite } = valueAndGrad(rows, labels, { softmaxScale: 100 });
    expect(value).toBeCloseTo(400, 2);
    expect(referenceNca(rows, labels, { scale: 100 })).toBeCloseTo(400, 6);
    expect(finite).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------

describe('ncaLoss: tuples weigh the anchors (PML convert_to_weights)', () => {
  const rows = randomRows(new Rng(21), 8, 5);
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];

  it('pairs: every index counts, weights = count / max count; unseen anchors weigh 0 but count in the mean', () => {
    const pairs = [[0, 4, 1], [4, 0, 5], [0, 0, 4], [1, 2, 6]];
    const tuples = pairTuples(pairs[0]!, pairs[1]!, pairs[2]!, pairs[3]!);
    const weights = referenceWeights(8, pairs);
    expect(weights).toEqual([1, 0.5, 0.25, 0, 0.75, 0.25, 0.25, 0]);
    const { value } = valueAndGrad(rows, labels, { softmaxScale: 2 }, { tuples });
    expect(value).toBeCloseTo(referenceNca(rows, labels, { scale: 2, weights }), 5);
    const y = int32(labels);
    const loss = ncaLoss({ softmaxScale: 2 });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, tuples }), (r) => referenceNca(r, labels, { scale: 2, weights }), rows);
    disposeTuples(tuples);
    y.dispose();
  });

  it('triplets: anchor, positive and negative indices all count', () => {
    const triplets = [[0, 0, 1, 5], [4, 4, 5, 1], [1, 3, 2, 7]];
    const tuples = tripletTuples(triplets[0]!, triplets[1]!, triplets[2]!);
    const weights = referenceWeights(8, triplets);
    const { value } = valueAndGrad(rows, labels, {}, { tuples });
    expect(value).toBeCloseTo(referenceNca(rows, labels, { weights }), 5);
    disposeTuples(tuples);
  });

  it('tuples whose index lists are all empty are ignored, as PML', () => {
    const tuples = pairTuples([], [], [], []);
    expect(valueAndGrad(rows, labels, {}, { tuples }).value).toBeCloseTo(referenceNca(rows, labels), 5);
    disposeTuples(tuples);
  });

  it('with a reference only the anchor indices count', () => {
    const queue = randomRows(new Rng(22), 6, 5);
    const queueLabels = [0, 1, 2, 3, 4, 5];
    const tuples = pairTuples([0, 0, 3], [0, 0, 3], [2, 0], [1, 5]);
    const weights = referenceWeights(8, [[0, 0, 3], [2, 0]]);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const { value } = valueAndGrad(rows, labels, {}, { tuples, ref });
    expect(value).toBeCloseTo(referenceNca(rows, labels, { weights, refRows: queue, refLabels: queueLabels }), 5);
    disposeTuples(tuples);
    tf.dispose([ref.embeddings, ref.labels]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('ncaLoss: against a reference set', () => {
  const rng = new Rng(31);
  const rows = randomRows(rng, 6, 4);
  const labels = [0, 1, 2, 0, 1, 2];
  const queue = randomRows(rng, 10, 4);
  const queueLabels = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4];

  it('each row chooses among the reference rows; value and gradient', () => {
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const loss = ncaLoss({ softmaxScale: 3 });
    checkGradients(
      (e) => loss.compute({ embeddings: e, labels: y, ref }),
      (r) => referenceNca(r, labels, { scale: 3, refRows: queue, refLabels: queueLabels }),
      rows,
    );
    tf.dispose([y, ref.embeddings, ref.labels]);
  });

  it('does not exclude a row from being its own neighbour (PML ref semantics)', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.clone(x), labels: tf.clone(y) };
    const loss = ncaLoss();
    const withRef = loss.compute({ embeddings: x, labels: y, ref });
    const without = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(withRef, referenceNca(rows, labels, { refRows: rows, refLabels: labels }), FLOAT32_TOLERANCE);
    expect(scalarValue(withRef)).toBeLessThan(scalarValue(without) - 1e-3);
    tf.dispose([x, y, ref.embeddings, ref.labels, withRef, without]);
  });

  it('a batch of one against a reference is computed (PML returns 0 there)', () => {
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const { value } = valueAndGrad([rows[0]!], [2], {}, { ref });
    expect(value).toBeCloseTo(referenceNca([rows[0]!], [2], { refRows: queue, refLabels: queueLabels }), 5);
    expect(value).toBeGreaterThan(0);
    tf.dispose([ref.embeddings, ref.labels]);
  });

  it('no label shared with the reference gives a connected 0', () => {
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels.map((l) => l + 10)) };
    const { value, grad } = valueAndGrad(rows, labels, {}, { ref });
    expect(value === 0).toBe(true); // tf.mul(tf.sum(embeddings), 0) may be -0
    expect(grad.every((g) => g === 0)).toBe(true);
    tf.dispose([ref.embeddings, ref.labels]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('ncaLoss: reducers', () => {
  const rows = randomRows(new Rng(33), 9, 4);
  const labels = [0, 0, 1, 1, 1, 2, 2, 3, 4]; // rows 7 and 8 have no positive and are dropped

  it.each([
    ['sumReducer', () => sumReducer(), (terms: number[]) => terms.reduce((a, b) => a + b, 0)],
    ['avgNonZeroReducer', () => avgNonZeroReducer(), (terms: number[]) => terms.reduce((a, b) => a + b, 0) / terms.length],
    // Per anchor (sum), then the mean over all 9 rows: dropped anchors count as 0.
    ['perAnchorReducer', () => perAnchorReducer(), (terms: number[]) => terms.reduce((a, b) => a + b, 0) / 9],
  ] as [string, () => Reducer, (terms: number[]) => number][])('%s receives the kept anchors only', (_, makeReducer, expected) => {
    const terms = referenceNcaTerms(rows, labels).filter((v) => !Number.isNaN(v));
    expect(terms).toHaveLength(7);
    const { value } = valueAndGrad(rows, labels, { reducer: makeReducer() });
    expect(value).toBeCloseTo(expected(terms), 5);
  });
});

// ---------------------------------------------------------------------------------------------

describe('ncaLoss: training and resources', () => {
  it('leaks no tensor on any path, forward or backward', async () => {
    const x = tf.tensor2d(randomRows(new Rng(41), 8, 4));
    const y = int32([0, 1, 2, 3, 0, 1, 2, 3]);
    const distinct = int32([0, 1, 2, 3, 4, 5, 6, 7]);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(42), 5, 4)), labels: int32([0, 1, 2, 3, 4]) };
    const tuples = pairTuples([0, 4], [4, 0], [0, 4], [1, 2]);
    const empty = pairTuples([], [], [], []);
    const one = { embeddings: tf.tensor2d([[1, 2, 3, 4]]), labels: int32([0]) };
    const loss = ncaLoss();
    const summed = ncaLoss({ reducer: perAnchorReducer() });
    const inputs = [
      { embeddings: x, labels: y },
      { embeddings: x, labels: distinct },
      { embeddings: x, labels: y, ref },
      { embeddings: x, labels: y, tuples },
      { embeddings: x, labels: y, tuples: empty },
      one,
    ];
    for (const input of inputs) loss.compute(input).dispose(); // warm-up
    await expectNoLeak(() => {
      for (const input of inputs) {
        for (const l of [loss, summed]) {
          l.compute(input).dispose();
          const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => l.compute({ ...input, embeddings: e as tf.Tensor2D }))(input.embeddings);
          tf.dispose([value, grad]);
        }
      }
    });
    expect(x.isDisposed || y.isDisposed || ref.embeddings.isDisposed || tuples.anchorPos.isDisposed).toBe(false);
    disposeTuples(tuples);
    disposeTuples(empty);
    tf.dispose([x, y, distinct, ref.embeddings, ref.labels, one.embeddings, one.labels]);
  });

  it('trains under optimizer.minimize: the loss falls, no tensor growth', () => {
    expectTrainsUnderMinimize(ncaLoss({ softmaxScale: 4 }), { labels: (n) => cyclicLabels(n, 4), optimizer: () => tf.train.sgd(0.5), steps: 30, factor: 0.8 });
  });

  it('handles a large batch (N = 1024 on wasm, 512 on the slower cpu; d = 128): finite value and gradient', () => {
    const n = backend === 'cpu' ? 512 : 1024;
    const x = tf.randomNormal([n, 128], 0, 1, 'float32', 61) as tf.Tensor2D;
    const y = int32(Array.from({ length: n }, (_, i) => i % 64));
    const loss = ncaLoss();
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    const finite = allFinite(value) && allFinite(grad);
    expect(finite).toBe(true);
    tf.dispose([x, y, value, grad]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('ncaLoss: errors', () => {
  it('rejects bad options in the factory', () => {
    for (const softmaxScale of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectContrastiveError(() => ncaLoss({ softmaxScale }), 'INVALID_ARGUMENT', /Argument 'softmaxScale' passed to 'ncaLoss' must be a finite number > 0, got/);
    }
    expectContrastiveError(() => ncaLoss({ distance: {} as Distance }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'ncaLoss' must be a Distance/);
    expectContrastiveError(() => ncaLoss({ reducer: {} as Reducer }), 'INVALID_ARGUMENT', /Argument 'reducer' passed to 'ncaLoss' must be a Reducer \(e.g. meanReducer\(\)\), got object/);
  });

  it('rejects bad embeddings, labels, ref and tuples, naming the argument, without leaking', () => {
    const loss = ncaLoss();
    const x = tf.tensor2d(randomRows(new Rng(71), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const cases: [() => unknown, string, RegExp][] = [
      [() => loss.compute({ embeddings: tf.tensor1d([1, 2]) as unknown as tf.Tensor2D, labels: y }), 'SHAPE_MISMATCH', /Argument 'embeddings' passed to 'ncaLoss' must be rank 2, got rank 1/],
      [() => loss.compute({ embeddings: tf.tensor2d([[1]], [1, 1], 'int32'), labels: int32([0]) }), 'DTYPE_MISMATCH', /Argument 'embeddings' passed to 'ncaLoss' must have dtype float32, got int32/],
      [() => loss.compute({ embeddings: x, labels: tf.tensor1d([0, 1, 0, 1]) }), 'DTYPE_MISMATCH', /Argument 'labels' passed to 'ncaLoss' must have dtype int32, got float32/],
      [() => loss.compute({ embeddings: x, labels: int32([0, 1, 0]) }), 'LABEL_COUNT', /Argument 'labels' passed to 'ncaLoss' must have 4 entries \(one per embedding\), got 3/],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 5]), labels: int32([0, 1]) } }), 'SHAPE_MISMATCH', /Argument 'ref.embeddings' passed to 'ncaLoss' must have 3 columns/],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 3]), labels: int32([0]) } }), 'LABEL_COUNT', /Argument 'ref.labels' passed to 'ncaLoss' must have 2 entries/],
      [() => loss.compute({ embeddings: x, labels: y, ref: null as unknown as Reference }), 'INVALID_ARGUMENT', /Argument 'ref' passed to 'ncaLoss' must be \{ embeddings, labels \}, got null/],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: pairTuples([0, 1], [2], [0], [1]) }),
        'SHAPE_MISMATCH',
        /Argument 'tuples.positive' passed to 'ncaLoss' must have 2 entries \(one per entry of 'tuples.anchorPos'\), got 1/,
      ],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'triplets', anchor: int32([0]), positive: tf.tensor1d([2]), negative: int32([1]) } as unknown as Tuples }),
        'DTYPE_MISMATCH',
        /Argument 'tuples.positive' passed to 'ncaLoss' must have dtype int32, got float32/,
      ],
      [() => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'quads' } as unknown as Tuples }), 'INVALID_ARGUMENT', /Argument 'tuples.kind' passed to 'ncaLoss' must be one of "pairs", "triplets", got "quads"/],
      [() => loss.compute(null as unknown as Parameters<typeof loss.compute>[0]), 'INVALID_ARGUMENT', /Argument 'input' passed to 'ncaLoss.compute' must be/],
    ];
    for (const [call, code, message] of cases) {
      const before = tf.memory().numTensors;
      expectContrastiveError(() => tf.tidy(() => void call()), code as Parameters<typeof expectContrastiveError>[1], message);
      expect(tf.memory().numTensors).toBe(before);
    }
    const disposed = tf.tensor2d([[1, 2]]);
    disposed.dispose();
    expectContrastiveError(() => tf.tidy(() => void loss.compute({ embeddings: disposed, labels: int32([0]) })), 'DISPOSED', /Argument 'embeddings' passed to 'ncaLoss' has been disposed/);
    tf.dispose([x, y]);
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
