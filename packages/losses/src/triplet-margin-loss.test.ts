import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, cosineSimilarity, dotProductSimilarity, lpDistance, viewLabels } from '@contrastive/core';
import type { Distance, PairTuples, TripletTuples } from '@contrastive/core';
import {
  FLOAT32_TOLERANCE,
  checkGradients,
  expectContrastiveError,
  expectNoLeak,
  expectTensorClose,
  useTestBackend,
} from '@contrastive/core/testing';
import { tripletMarginLoss } from './triplet-margin-loss.js';
import { avgNonZeroReducer, meanReducer, perAnchorReducer, sumReducer } from './reducers.js';
import type { Reducer } from './reducers.js';
import { expectGoldenGrad, expectGoldenValue, goldenCase, goldenCases, goldenLabels, goldenRows } from './test-support/golden.js';
import { allFinite, cyclicLabels, expectFiniteLargeBatch, expectTrainsUnderMinimize, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference: obvious loops over triplets (Schroff et al. 2015; PML's rules and reducers)
// ---------------------------------------------------------------------------------------------

interface Metric {
  readonly similarity: boolean;
  readonly of: (a: number[], b: number[]) => number;
}
type Reduction = 'avgNonZero' | 'mean' | 'sum';
interface PlainTriplets {
  anchor: number[];
  positive: number[];
  negative: number[];
}

const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * (b[i] as number), 0);
const unit = (v: number[]): number[] => {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
};
const euclidean = (normalize: boolean, power = 1): Metric => ({
  similarity: false,
  of: (a, b) => {
    const [x, y] = normalize ? [unit(a), unit(b)] : [a, b];
    return Math.sqrt(x.reduce((s, v, i) => s + (v - (y[i] as number)) ** 2, 0)) ** power;
  },
});
const cosine: Metric = { similarity: true, of: (a, b) => dot(unit(a), unit(b)) };
const dotProduct: Metric = { similarity: true, of: dot };

function reduce(losses: number[], reduction: Reduction): number {
  const sum = losses.reduce((s, v) => s + v, 0);
  if (reduction === 'sum') return sum;
  if (reduction === 'mean') return losses.length === 0 ? 0 : sum / losses.length;
  const nonZero = losses.filter((v) => v > 0).length;
  return nonZero === 0 ? 0 : sum / nonZero;
}

/** Every (a, p, n) with y_a = y_p, a != p (without a reference), y_n != y_a; lexicographic. */
function labelTriplets(labels: number[], refLabels?: number[]): PlainTriplets {
  const columns = refLabels ?? labels;
  const out: PlainTriplets = { anchor: [], positive: [], negative: [] };
  labels.forEach((la, a) =>
    columns.forEach((lp, p) => {
      if (lp !== la || (refLabels === undefined && p === a)) return;
      columns.forEach((ln, n) => {
        if (ln !== la) out.anchor.push(a), out.positive.push(p), out.negative.push(n);
      });
    }),
  );
  return out;
}

interface ReferenceOptions {
  margin?: number;
  metric?: Metric;
  reduction?: Reduction;
  swap?: boolean;
  smooth?: boolean;
  refRows?: Rows;
}

function referenceTriplet(rows: Rows, triplets: PlainTriplets, options: ReferenceOptions = {}): number {
  const { margin = 0.05, metric = euclidean(true), reduction = 'avgNonZero', swap = false, smooth = false, refRows = rows } = options;
  const losses = triplets.anchor.map((a, t) => {
    const anchor = rows[a] as number[];
    const positive = refRows[triplets.positive[t] as number] as number[];
    const negative = refRows[triplets.negative[t] as number] as number[];
    const ap = metric.of(anchor, positive);
    let an = metric.of(anchor, negative);
    if (swap) {
      const pn = metric.of(positive, negative);
      an = metric.similarity ? Math.max(an, pn) : Math.min(an, pn);
    }
    const violation = (metric.similarity ? an - ap : ap - an) + margin;
    // softplus without overflow: v + log(1 + e^-v) for v > 0.
    if (smooth) return violation > 0 ? violation + Math.log1p(Math.exp(-violation)) : Math.log1p(Math.exp(violation));
    return Math.max(0, violation);
  });
  return reduce(losses, reduction);
}

const randomLabels = (rng: Rng, n: number, classes: number): number[] => Array.from({ length: n }, () => rng.int(classes));
function tripletTuples(triplets: PlainTriplets): TripletTuples {
  return { kind: 'triplets', anchor: int32(triplets.anchor), positive: int32(triplets.positive), negative: int32(triplets.negative) };
}
function pairTuples(pairs: { anchorPos: number[]; positive: number[]; anchorNeg: number[]; negative: number[] }): PairTuples {
  return { kind: 'pairs', anchorPos: int32(pairs.anchorPos), positive: int32(pairs.positive), anchorNeg: int32(pairs.anchorNeg), negative: int32(pairs.negative) };
}
function disposeTuples(tuples: PairTuples | TripletTuples): void {
  if (tuples.kind === 'pairs') tf.dispose([tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative]);
  else tf.dispose([tuples.anchor, tuples.positive, tuples.negative]);
}

function valueAndGrad(loss: ReturnType<typeof tripletMarginLoss>, rows: Rows, labels: number[]): { value: number; grad: number[]; finite: boolean } {
  const x = tf.tensor2d(rows);
  const y = int32(labels);
  const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
  const out = { value: scalarValue(result.value), grad: Array.from(result.grad.dataSync()), finite: allFinite(result.value) && allFinite(result.grad) };
  tf.dispose([x, y, result.value, result.grad]);
  return out;
}

/** PML's BatchHardMiner in float64: per anchor the farthest positive and the closest negative. */
function batchHard(rows: Rows, labels: number[], metric: Metric): PlainTriplets {
  const out: PlainTriplets = { anchor: [], positive: [], negative: [] };
  labels.forEach((la, a) => {
    let positive = -1;
    let negative = -1;
    labels.forEach((lb, b) => {
      const d = metric.of(rows[a]!, rows[b]!);
      if (lb === la && b !== a && (positive < 0 || d > metric.of(rows[a]!, rows[positive]!))) positive = b;
      if (lb !== la && (negative < 0 || d < metric.of(rows[a]!, rows[negative]!))) negative = b;
    });
    if (positive >= 0 && negative >= 0) out.anchor.push(a), out.positive.push(positive), out.negative.push(negative);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('tripletMarginLoss: golden values from pytorch-metric-learning', () => {
  const allCases = goldenCases('triplet_all_');

  it('has the three triplet_all_* cases', () => {
    expect(allCases.map((c) => c.name)).toHaveLength(3);
  });

  it.each(allCases.map((c) => [c.name, c] as const))('%s: value and gradient', (_, c) => {
    const rows = goldenRows(c);
    const labels = goldenLabels(c) as number[];
    const margin = c.params['margin'] as number;
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = tripletMarginLoss({ margin });
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expectGoldenValue(value, c);
    expectGoldenGrad(grad, c);
    expect(Math.abs(referenceTriplet(rows, labelTriplets(labels), { margin }) - c.expected.value)).toBeLessThan(1e-12);
    tf.dispose([x, y, value, grad]);
  });

  it('triplet_batchhard_s16x8: batch-hard triplets mined from the distances, passed as tuples', () => {
    const c = goldenCase('triplet_batchhard_s16x8');
    const rows = goldenRows(c);
    const labels = goldenLabels(c) as number[];
    const mined = batchHard(rows, labels, euclidean(true));
    const expectedMined = c['mined'] as { anchors: number[]; positives: number[]; negatives: number[] };
    expect(mined).toEqual({ anchor: expectedMined.anchors, positive: expectedMined.positives, negative: expectedMined.negatives });
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples = tripletTuples(mined);
    // "mean over anchors with l > 0": PML's default avgNonZeroReducer.
    const loss = tripletMarginLoss({ margin: c.params['margin'] as number });
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, tuples }))(x);
    expectGoldenValue(value, c);
    expectGoldenGrad(grad, c);
    expect(Math.abs(referenceTriplet(rows, mined, { margin: 0.2 }) - c.expected.value)).toBeLessThan(1e-12);
    disposeTuples(tuples);
    tf.dispose([x, y, value, grad]);
  });

  it('given all triplets as tuples, equals the labels-driven golden value', () => {
    const c = goldenCase('triplet_all_s8x4_labels_edge');
    const labels = goldenLabels(c) as number[];
    const x = tf.tensor2d(goldenRows(c));
    const y = int32(labels);
    const tuples = tripletTuples(labelTriplets(labels));
    const loss = tripletMarginLoss({ margin: 0.2 });
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, tuples }))(x);
    expectGoldenValue(value, c);
    expectGoldenGrad(grad, c);
    disposeTuples(tuples);
    tf.dispose([x, y, value, grad]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('tripletMarginLoss: against the float64 loops', () => {
  it('returns a float32 scalar named tripletMarginLoss', () => {
    const x = tf.tensor2d(randomRows(new Rng(1), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const loss = tripletMarginLoss();
    const value = loss.compute({ embeddings: x, labels: y });
    expect(loss.name).toBe('tripletMarginLoss');
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    tf.dispose([x, y, value]);
  });

  it('the TSDoc examples print 0.2380283 and 2', () => {
    const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]]);
    const labels = int32([0, 0, 1, 1]);
    const value = tripletMarginLoss({ margin: 0.5 }).compute({ embeddings, labels });
    expect(scalarValue(value)).toBeCloseTo(0.5 + Math.sqrt(0.4) - Math.sqrt(0.8), 6);
    expect(scalarValue(value)).toBeCloseTo(0.2380283, 6);
    const scores = tf.tensor2d([[1], [2], [1.5], [0.5], [1]]);
    const tuples = tripletTuples({ anchor: [0, 0], positive: [1, 3], negative: [2, 4] });
    const zeros = tf.zeros([5], 'int32') as tf.Tensor1D;
    const ranking = tripletMarginLoss({ distance: dotProductSimilarity(), margin: 1, reducer: sumReducer() });
    const rankingValue = ranking.compute({ embeddings: scores, labels: zeros, tuples });
    expect(scalarValue(rankingValue)).toBeCloseTo(2, 6);
    disposeTuples(tuples);
    tf.dispose([embeddings, labels, value, scores, zeros, rankingValue]);
  });

  it.each([
    [4, 3, 2, 0.05],
    [8, 16, 3, 0.2],
    [16, 8, 4, 0.1],
    [24, 5, 3, 0.5],
    [32, 32, 8, 0.05],
    [48, 12, 6, 0.3],
  ])('n=%i d=%i classes=%i margin=%s', (n, d, classes, margin) => {
    const rng = new Rng(n * 100 + d);
    const rows = randomRows(rng, n, d);
    const labels = randomLabels(rng, n, classes);
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const value = tripletMarginLoss({ margin }).compute({ embeddings: x, labels: y });
    expectTensorClose(value, referenceTriplet(rows, labelTriplets(labels), { margin }), FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });

  it.each([
    ['lpDistance()', () => lpDistance(), euclidean(true), 0.2],
    ['lpDistance raw', () => lpDistance({ normalize: false }), euclidean(false), 1],
    ['lpDistance power 2', () => lpDistance({ power: 2, normalize: false }), euclidean(false, 2), 2],
    ['cosineSimilarity', () => cosineSimilarity(), cosine, 0.3],
    ['dotProductSimilarity', () => dotProductSimilarity(), dotProduct, 1],
  ] as [string, () => Distance, Metric, number][])('distance %s: value and gradient', (_, makeDistance, metric, margin) => {
    const rng = new Rng(17);
    const rows = randomRows(rng, 10, 5);
    const labels = randomLabels(rng, 10, 3);
    const loss = tripletMarginLoss({ margin, distance: makeDistance() });
    const y = int32(labels);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceTriplet(r, labelTriplets(labels), { margin, metric }), rows);
    y.dispose();
  });

  it.each([
    ['swap', { swap: true }, { swap: true }],
    ['smoothLoss', { smoothLoss: true }, { smooth: true }],
    ['swap + smoothLoss, cosine', { swap: true, smoothLoss: true, distance: cosineSimilarity() }, { swap: true, smooth: true, metric: cosine }],
    ['swap, cosine', { swap: true, distance: cosineSimilarity() }, { swap: true, metric: cosine }],
  ] as [string, Parameters<typeof tripletMarginLoss>[0], ReferenceOptions][])('%s: value and gradient', (_, options, referenceOptions) => {
    const rng = new Rng(19);
    const rows = randomRows(rng, 9, 4);
    const labels = randomLabels(rng, 9, 3);
    const margin = 0.3;
    const loss = tripletMarginLoss({ ...options, margin });
    const y = int32(labels);
    const reference = (r: Rows): number => referenceTriplet(r, labelTriplets(labels), { ...referenceOptions, margin });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), reference, rows);
    // swap changes something here (some positive is closer to a negative than its anchor is).
    if (options?.swap === true) {
      expect(Math.abs(reference(rows) - referenceTriplet(rows, labelTriplets(labels), { ...referenceOptions, swap: false, margin }))).toBeGreaterThan(1e-3);
    }
    y.dispose();
  });

  it.each([
    ['plain', {}, false],
    ['swap + smoothLoss', { swap: true, smoothLoss: true }, false],
    ['cosine, swap', { swap: true, distance: cosineSimilarity() }, false],
    ['ref, swap', { swap: true }, true],
  ] as [string, Parameters<typeof tripletMarginLoss>[0], boolean][])(
    'the default (dense) path equals an explicit avgNonZeroReducer (triplet list): %s',
    (_, options, withRef) => {
      const rng = new Rng(27);
      const x = tf.tensor2d(randomRows(rng, 12, 4));
      const y = int32(randomLabels(rng, 12, 3));
      const ref = withRef ? { embeddings: tf.tensor2d(randomRows(rng, 9, 4)), labels: int32(randomLabels(rng, 9, 4)) } : undefined;
      const run = (loss: ReturnType<typeof tripletMarginLoss>) =>
        tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, ...(ref === undefined ? {} : { ref }) }))(x);
      const dense = run(tripletMarginLoss({ ...options, margin: 0.3 }));
      const list = run(tripletMarginLoss({ ...options, margin: 0.3, reducer: avgNonZeroReducer() }));
      expect(scalarValue(dense.value)).toBeGreaterThan(0);
      expectTensorClose(dense.value, list.value, FLOAT32_TOLERANCE);
      expectTensorClose(dense.grad, list.grad, FLOAT32_TOLERANCE);
      tf.dispose([x, y, dense.value, dense.grad, list.value, list.grad, ...(ref === undefined ? [] : [ref.embeddings, ref.labels])]);
    },
  );

  it.each([
    ['avgNonZero', avgNonZeroReducer()],
    ['mean', meanReducer()],
    ['sum', sumReducer()],
  ] as [Reduction, Reducer][])('reducer %s', (reduction, reducer) => {
    const rng = new Rng(23);
    const rows = randomRows(rng, 10, 4);
    const labels = randomLabels(rng, 10, 3);
    const y = int32(labels);
    const loss = tripletMarginLoss({ margin: 0.3, reducer });
    const reference = (r: Rows): number => referenceTriplet(r, labelTriplets(labels), { margin: 0.3, reduction });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), reference, rows, reduction === 'sum' ? { atol: 1e-3 } : {});
    y.dispose();
  });

  it('perAnchorReducer: sum of each anchor\'s triplets, mean over anchors', () => {
    const rng = new Rng(29);
    const rows = randomRows(rng, 8, 3);
    const labels = [0, 0, 1, 1, 2, 2, 0, 1];
    const triplets = labelTriplets(labels);
    const metric = euclidean(true);
    const sums = new Array<number>(8).fill(0);
    triplets.anchor.forEach((a, t) => {
      const violation = metric.of(rows[a]!, rows[triplets.positive[t]!]!) - metric.of(rows[a]!, rows[triplets.negative[t]!]!) + 0.3;
      sums[a] = (sums[a] as number) + Math.max(0, violation);
    });
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const value = tripletMarginLoss({ margin: 0.3, reducer: perAnchorReducer() }).compute({ embeddings: x, labels: y });
    expectTensorClose(value, sums.reduce((s, v) => s + v, 0) / 8, FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });

  it('maps Collobert & Weston\'s ranking hinge max(0, 1 - f(x) + f(x~)) with a similarity and margin 1', () => {
    const rng = new Rng(37);
    const windows = 6;
    const good = Array.from({ length: windows }, () => rng.normal());
    const corrupt = Array.from({ length: windows }, () => rng.normal());
    const rows = [[1], ...good.map((f) => [f]), ...corrupt.map((f) => [f])];
    const expected = good.reduce((s, f, k) => s + Math.max(0, 1 - f + (corrupt[k] as number)), 0);
    const tuples = tripletTuples({
      anchor: good.map(() => 0),
      positive: good.map((_, k) => 1 + k),
      negative: good.map((_, k) => 1 + windows + k),
    });
    const x = tf.tensor2d(rows);
    const y = tf.zeros([rows.length], 'int32') as tf.Tensor1D;
    const value = tripletMarginLoss({ distance: dotProductSimilarity(), margin: 1, reducer: sumReducer() }).compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, expected, FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('tripletMarginLoss: edge cases', () => {
  it('no positive (all labels distinct) gives a connected 0', () => {
    const { value, grad } = valueAndGrad(tripletMarginLoss(), randomRows(new Rng(2), 5, 3), [0, 1, 2, 3, 4]);
    expect(value === 0).toBe(true);
    expect(grad.every((g) => g === 0)).toBe(true);
  });

  it('no negative (one label) gives a connected 0', () => {
    const { value, grad } = valueAndGrad(tripletMarginLoss(), randomRows(new Rng(3), 4, 3), [7, 7, 7, 7]);
    expect(value === 0).toBe(true);
    expect(grad.every((g) => g === 0)).toBe(true);
  });

  it('a batch of one gives a connected 0', () => {
    const { value, grad } = valueAndGrad(tripletMarginLoss(), [[0.3, -0.4]], [0]);
    expect(value === 0).toBe(true);
    expect(grad).toEqual([0, 0]);
  });

  it('identical vectors: every triplet costs the margin; finite gradient', () => {
    const rows = Array.from({ length: 6 }, () => [0.2, -1.5, 0.7]);
    const { value, finite } = valueAndGrad(tripletMarginLoss({ margin: 0.2 }), rows, [0, 1, 2, 0, 1, 2]);
    expect(Math.abs(value - 0.2)).toBeLessThan(2e-3); // float32 distances of identical unit rows are ~sqrt(eps)
    expect(finite).toBe(true);
  });

  it('zero vectors: finite value and gradient', () => {
    const zeros = valueAndGrad(tripletMarginLoss({ margin: 0.2 }), Array.from({ length: 4 }, () => [0, 0, 0]), [0, 1, 0, 1]);
    expect(zeros.value).toBeCloseTo(0.2, 5);
    expect(zeros.finite).toBe(true);
    const rows = [[0, 0, 0], [1, 2, 3], [0, 0, 0], [-1, 0.5, 2]];
    const mixed = valueAndGrad(tripletMarginLoss({ margin: 0.2 }), rows, [0, 1, 0, 1]);
    expect(mixed.value).toBeCloseTo(referenceTriplet(rows, labelTriplets([0, 1, 0, 1]), { margin: 0.2 }), 4);
    expect(mixed.finite).toBe(true);
  });

  it('embeddings scaled by 1e4 stay finite: normalized, raw, and the soft margin on raw distances', () => {
    const rows = randomRows(new Rng(5), 16, 8, 1e4);
    const labels = Array.from({ length: 16 }, (_, i) => i % 4);
    const triplets = labelTriplets(labels);
    const normalized = valueAndGrad(tripletMarginLoss(), rows, labels);
    expect(normalized.finite).toBe(true);
    expect(normalized.value).toBeCloseTo(referenceTriplet(rows, triplets), 4);
    // meanReducer: with the soft margin, avgNonZero's count depends on where exp(v) underflows
    // (about v < -87 in float32, v < -745 in float64).
    const raw = { distance: lpDistance({ normalize: false }), margin: 100, reducer: meanReducer() };
    for (const smoothLoss of [false, true]) {
      const result = valueAndGrad(tripletMarginLoss({ ...raw, smoothLoss }), rows, labels);
      expect(result.finite).toBe(true);
      const expected = referenceTriplet(rows, triplets, { metric: euclidean(false), margin: 100, smooth: smoothLoss, reduction: 'mean' });
      expect(Math.abs(result.value - expected)).toBeLessThan(1e-3 * expected);
    }
  });

  it('refuses labels that yield more than 2^25 triplets, pointing at mining', () => {
    const n = 1024;
    const x = tf.zeros([n, 2]) as tf.Tensor2D;
    const y = int32(Array.from({ length: n }, (_, i) => i % 8));
    // Default reducer: 1024 · 127 positive pairs, each against 1024 columns.
    expectContrastiveError(
      () => tripletMarginLoss().compute({ embeddings: x, labels: y }),
      'INVALID_ARGUMENT',
      /Argument 'labels' passed to 'tripletMarginLoss' yields 130048 positive pairs × 1024 candidate negatives = 133169152 triplet slots, more than the 33554432 this loss holds at once; mine triplets/,
    );
    // Another reducer gets the list: 1024 · 127 · 896 triplets.
    expectContrastiveError(
      () => tripletMarginLoss({ reducer: meanReducer() }).compute({ embeddings: x, labels: y }),
      'INVALID_ARGUMENT',
      /Argument 'labels' passed to 'tripletMarginLoss' yields 116523008 triplets, more than the 33554432 this loss enumerates; mine triplets/,
    );
    tf.dispose([x, y]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('tripletMarginLoss: given tuples', () => {
  const rows = randomRows(new Rng(21), 8, 5);
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];

  it('uses only the given triplets, with repeats; gradient matches', () => {
    const mined = { anchor: [0, 0, 1, 5, 2, 0], positive: [4, 4, 5, 1, 6, 4], negative: [1, 3, 2, 7, 0, 1] };
    const y = int32(labels);
    const tuples = tripletTuples(mined);
    const loss = tripletMarginLoss({ margin: 0.4 });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, tuples }), (r) => referenceTriplet(r, mined, { margin: 0.4 }), rows);
    disposeTuples(tuples);
    y.dispose();
  });

  it('converts pairs as PML convert_to_triplets: each positive pair with each negative pair of its anchor', () => {
    const pairs = { anchorPos: [0, 4, 1, 1, 3], positive: [4, 0, 5, 5, 7], anchorNeg: [0, 0, 4, 1, 2], negative: [1, 2, 6, 6, 1] };
    // Anchor 0: (0,4)×{1,2}; anchor 4: (4,0)×{6}; anchor 1: (1,5)×{6} twice; anchor 3: no negative pair.
    const expected = { anchor: [0, 0, 4, 1, 1], positive: [4, 4, 0, 5, 5], negative: [1, 2, 6, 6, 6] };
    const y = int32(labels);
    const tuples = pairTuples(pairs);
    const loss = tripletMarginLoss({ margin: 0.4, reducer: meanReducer() });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, tuples }), (r) => referenceTriplet(r, expected, { margin: 0.4, reduction: 'mean' }), rows);
    disposeTuples(tuples);
    y.dispose();
  });

  it('empty tuples, or pairs without a shared anchor, give a connected 0', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = tripletMarginLoss();
    for (const tuples of [
      tripletTuples({ anchor: [], positive: [], negative: [] }),
      pairTuples({ anchorPos: [0], positive: [4], anchorNeg: [1], negative: [2] }),
      pairTuples({ anchorPos: [], positive: [], anchorNeg: [1], negative: [2] }),
    ]) {
      const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, tuples }))(x);
      expect(scalarValue(value) === 0).toBe(true);
      expect(Array.from(grad.dataSync()).every((g) => g === 0)).toBe(true);
      disposeTuples(tuples);
      tf.dispose([value, grad]);
    }
    tf.dispose([x, y]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('tripletMarginLoss: against a reference set', () => {
  const rng = new Rng(33);
  const rows = randomRows(rng, 6, 4);
  const labels = [0, 1, 2, 0, 1, 2];
  const queue = randomRows(rng, 10, 4);
  const queueLabels = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4];

  it.each([false, true])('compares the batch with ref (swap %s); gradient w.r.t. the batch', (swap) => {
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const loss = tripletMarginLoss({ margin: 0.3, swap });
    const reference = (r: Rows): number => referenceTriplet(r, labelTriplets(labels, queueLabels), { margin: 0.3, swap, refRows: queue });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, ref }), reference, rows);
    tf.dispose([y, ref.embeddings, ref.labels]);
  });

  it('does not exclude a row from being its own positive (PML ref semantics)', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.clone(x), labels: tf.clone(y) };
    const loss = tripletMarginLoss({ margin: 0.3, reducer: meanReducer() });
    const withRef = loss.compute({ embeddings: x, labels: y, ref });
    const expected = referenceTriplet(rows, labelTriplets(labels, labels), { margin: 0.3, reduction: 'mean', refRows: rows });
    expectTensorClose(withRef, expected, { atol: 1e-3, rtol: 1e-4 }); // d(x, x) is ~sqrt(eps) in float32
    expect(labelTriplets(labels, labels).anchor.length).toBe(2 * labelTriplets(labels).anchor.length);
    tf.dispose([x, y, ref.embeddings, ref.labels, withRef]);
  });

  it('triplet tuples index the reference', () => {
    const mined = { anchor: [0, 1, 3, 5], positive: [0, 6, 5, 2], negative: [1, 2, 9, 4] };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const tuples = tripletTuples(mined);
    const value = tripletMarginLoss({ margin: 0.5, reducer: meanReducer() }).compute({ embeddings: x, labels: y, ref, tuples });
    expectTensorClose(value, referenceTriplet(rows, mined, { margin: 0.5, reduction: 'mean', refRows: queue }), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('tripletMarginLoss: training and resources', () => {
  it('leaks no tensor on any path, forward or backward', async () => {
    const x = tf.tensor2d(randomRows(new Rng(41), 8, 4));
    const y = int32([0, 1, 2, 3, 0, 1, 2, 3]);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(42), 5, 4)), labels: int32([0, 1, 2, 3, 4]) };
    const pairs = pairTuples({ anchorPos: [0, 4], positive: [4, 0], anchorNeg: [0, 4], negative: [1, 2] });
    const triplets = tripletTuples({ anchor: [0, 1], positive: [4, 5], negative: [2, 3] });
    const empty = tripletTuples({ anchor: [], positive: [], negative: [] });
    const one = { embeddings: tf.tensor2d([[1, 2, 3, 4]]), labels: int32([0]) };
    const inputs = [
      { embeddings: x, labels: y },
      { embeddings: x, labels: y, ref },
      { embeddings: x, labels: y, tuples: pairs },
      { embeddings: x, labels: y, tuples: triplets },
      { embeddings: x, labels: y, tuples: empty },
      one,
    ];
    // The dense path (default reducer) and the triplet-list path (any other reducer).
    for (const loss of [tripletMarginLoss(), tripletMarginLoss({ swap: true, smoothLoss: true }), tripletMarginLoss({ swap: true, reducer: meanReducer() })]) {
      for (const input of inputs) loss.compute(input).dispose(); // warm-up
      await expectNoLeak(() => {
        for (const input of inputs) {
          loss.compute(input).dispose();
          const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ ...input, embeddings: e as tf.Tensor2D }))(input.embeddings);
          tf.dispose([value, grad]);
        }
      });
    }
    expect(x.isDisposed || y.isDisposed || ref.embeddings.isDisposed || pairs.anchorPos.isDisposed).toBe(false);
    [pairs, triplets, empty].forEach(disposeTuples);
    tf.dispose([x, y, ref.embeddings, ref.labels, one.embeddings, one.labels]);
  });

  it('trains under optimizer.minimize: the loss falls, no tensor growth', () => {
    expectTrainsUnderMinimize(tripletMarginLoss({ margin: 0.2, reducer: meanReducer() }), { labels: (n) => cyclicLabels(n, 4), optimizer: () => tf.train.adam(0.1), steps: 20, factor: 0.5 });
  });

  it('handles N = 1024 (d = 128) with view labels (~1M triplets): finite value and gradient', () => {
    expectFiniteLargeBatch(tripletMarginLoss(), { n: 1024, d: 128, labels: (n) => viewLabels(n / 2) });
  });
});

// ---------------------------------------------------------------------------------------------

describe('tripletMarginLoss: errors', () => {
  it('rejects bad options in the factory', () => {
    expectContrastiveError(() => tripletMarginLoss({ margin: Number.NaN }), 'INVALID_ARGUMENT', /Argument 'margin' passed to 'tripletMarginLoss' must be a finite number, got NaN/);
    expectContrastiveError(() => tripletMarginLoss({ swap: 1 as unknown as boolean }), 'INVALID_ARGUMENT', /Argument 'swap' passed to 'tripletMarginLoss' must be one of true, false, got 1/);
    expectContrastiveError(() => tripletMarginLoss({ smoothLoss: 'yes' as unknown as boolean }), 'INVALID_ARGUMENT', /Argument 'smoothLoss' passed to 'tripletMarginLoss' must be one of true, false, got "yes"/);
    expectContrastiveError(() => tripletMarginLoss({ tripletsPerAnchor: 5 as unknown as 'all' }), 'INVALID_ARGUMENT', /Argument 'tripletsPerAnchor' passed to 'tripletMarginLoss' must be one of "all", got 5/);
    expectContrastiveError(() => tripletMarginLoss({ distance: {} as Distance }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'tripletMarginLoss' must be a Distance/);
    expectContrastiveError(() => tripletMarginLoss({ reducer: {} as Reducer }), 'INVALID_ARGUMENT', /Argument 'reducer' passed to 'tripletMarginLoss' must be a Reducer/);
  });

  it('rejects bad embeddings, labels, ref and tuples, naming the argument, leaking nothing', () => {
    const loss = tripletMarginLoss();
    const x = tf.tensor2d(randomRows(new Rng(71), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const cases: [() => unknown, string, RegExp][] = [
      [() => loss.compute({ embeddings: tf.tensor1d([1, 2]) as unknown as tf.Tensor2D, labels: y }), 'SHAPE_MISMATCH', /Argument 'embeddings' passed to 'tripletMarginLoss' must be rank 2, got rank 1/],
      [() => loss.compute({ embeddings: x, labels: tf.tensor1d([0, 1, 0, 1]) }), 'DTYPE_MISMATCH', /Argument 'labels' passed to 'tripletMarginLoss' must have dtype int32, got float32/],
      [() => loss.compute({ embeddings: x, labels: int32([0, 1, 0]) }), 'LABEL_COUNT', /Argument 'labels' passed to 'tripletMarginLoss' must have 4 entries \(one per embedding\), got 3/],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 5]), labels: int32([0, 1]) } }), 'SHAPE_MISMATCH', /Argument 'ref.embeddings' passed to 'tripletMarginLoss' must have 3 columns/],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'triplets', anchor: int32([0, 1]), positive: int32([2, 3]), negative: int32([1]) } }),
        'SHAPE_MISMATCH',
        /Argument 'tuples.negative' passed to 'tripletMarginLoss' must have 2 entries \(one per entry of 'tuples.anchor'\), got 1/,
      ],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'quads' } as unknown as PairTuples }),
        'INVALID_ARGUMENT',
        /Argument 'tuples.kind' passed to 'tripletMarginLoss' must be one of "pairs", "triplets", got "quads"/,
      ],
    ];
    for (const [call, code, message] of cases) {
      const before = tf.memory().numTensors;
      expectContrastiveError(() => tf.tidy(() => void call()), code as 'INVALID_ARGUMENT', message);
      expect(tf.memory().numTensors).toBe(before);
    }
    tf.dispose([x, y]);
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
