import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, cosineSimilarity, dotProductSimilarity, lpDistance } from '@contrastive/core';
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
import { contrastiveLoss } from './contrastive-loss.js';
import { avgNonZeroReducer, meanReducer, perAnchorReducer, sumReducer } from './reducers.js';
import type { Reducer } from './reducers.js';
import { expectGoldenGrad, expectGoldenValue, goldenCases, goldenLabels, goldenRows } from './test-support/golden.js';
import { allFinite, cyclicLabels, expectFiniteLargeBatch, expectTrainsUnderMinimize, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference: obvious loops over ordered pairs (Hadsell et al. 2006 margins, PML's rules)
// ---------------------------------------------------------------------------------------------

interface Metric {
  readonly similarity: boolean;
  readonly of: (a: number[], b: number[]) => number;
}
type Reduction = 'avgNonZero' | 'mean' | 'sum';

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

interface PlainPairs {
  anchorPos: number[];
  positive: number[];
  anchorNeg: number[];
  negative: number[];
}

function labelPairs(labels: number[], refLabels?: number[]): PlainPairs {
  const columns = refLabels ?? labels;
  const pairs: PlainPairs = { anchorPos: [], positive: [], anchorNeg: [], negative: [] };
  labels.forEach((la, i) =>
    columns.forEach((lb, j) => {
      if (refLabels === undefined && i === j) return;
      if (la === lb) pairs.anchorPos.push(i), pairs.positive.push(j);
      else pairs.anchorNeg.push(i), pairs.negative.push(j);
    }),
  );
  return pairs;
}

interface ReferenceOptions {
  posMargin?: number;
  negMargin?: number;
  metric?: Metric;
  reduction?: Reduction;
  refRows?: Rows;
}

/** Σ over sub-losses of reduce(relu(d - posMargin)) and reduce(relu(negMargin - d)) (flipped for a similarity). */
function referenceContrastive(rows: Rows, pairs: PlainPairs, options: ReferenceOptions = {}): number {
  const { posMargin = 0, negMargin = 1, metric = euclidean(true), reduction = 'avgNonZero', refRows = rows } = options;
  const pos = pairs.anchorPos.map((a, k) => {
    const d = metric.of(rows[a] as number[], refRows[pairs.positive[k] as number] as number[]);
    return Math.max(0, metric.similarity ? posMargin - d : d - posMargin);
  });
  const neg = pairs.anchorNeg.map((a, k) => {
    const d = metric.of(rows[a] as number[], refRows[pairs.negative[k] as number] as number[]);
    return Math.max(0, metric.similarity ? d - negMargin : negMargin - d);
  });
  return reduce(pos, reduction) + reduce(neg, reduction);
}

const randomLabels = (rng: Rng, n: number, classes: number): number[] => Array.from({ length: n }, () => rng.int(classes));
function pairTuples(pairs: PlainPairs): PairTuples {
  return { kind: 'pairs', anchorPos: int32(pairs.anchorPos), positive: int32(pairs.positive), anchorNeg: int32(pairs.anchorNeg), negative: int32(pairs.negative) };
}
function disposeTuples(tuples: PairTuples | TripletTuples): void {
  if (tuples.kind === 'pairs') tf.dispose([tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative]);
  else tf.dispose([tuples.anchor, tuples.positive, tuples.negative]);
}

function valueAndGrad(loss: ReturnType<typeof contrastiveLoss>, rows: Rows, labels: number[]): { value: number; grad: number[]; finite: boolean } {
  const x = tf.tensor2d(rows);
  const y = int32(labels);
  const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
  const out = { value: scalarValue(result.value), grad: Array.from(result.grad.dataSync()), finite: allFinite(result.value) && allFinite(result.grad) };
  tf.dispose([x, y, result.value, result.grad]);
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('contrastiveLoss: golden values from pytorch-metric-learning', () => {
  const cases = goldenCases('contrastive_');

  it('has the four contrastive_* cases', () => {
    expect(cases.map((c) => c.name)).toHaveLength(4);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: value and gradient', (_, c) => {
    const rows = goldenRows(c);
    const labels = goldenLabels(c) as number[];
    const normalize = !String(c.params['distance']).includes('normalize_embeddings=False');
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = contrastiveLoss({
      posMargin: c.params['pos_margin'] as number,
      negMargin: c.params['neg_margin'] as number,
      distance: lpDistance({ normalize }),
    });
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expectGoldenValue(value, c);
    expectGoldenGrad(grad, c);
    // The float64 loops agree with PML to float64 precision.
    const reference = referenceContrastive(rows, labelPairs(labels), { metric: euclidean(normalize) });
    expect(Math.abs(reference - c.expected.value)).toBeLessThan(1e-12);
    tf.dispose([x, y, value, grad]);
  });

  it('given all pairs as tuples (or as their triplets), equals the labels-driven golden value', () => {
    const c = cases.find((g) => g.name === 'contrastive_s8x4_labels_edge');
    if (c === undefined) throw new Error('missing case');
    const labels = goldenLabels(c) as number[];
    const x = tf.tensor2d(goldenRows(c));
    const y = int32(labels);
    const tuples = pairTuples(labelPairs(labels));
    const loss = contrastiveLoss();
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, tuples }))(x);
    expectGoldenValue(value, c);
    expectGoldenGrad(grad, c);
    disposeTuples(tuples);
    tf.dispose([x, y, value, grad]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('contrastiveLoss: against the float64 loops', () => {
  it('returns a float32 scalar named contrastiveLoss', () => {
    const x = tf.tensor2d(randomRows(new Rng(1), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const loss = contrastiveLoss();
    const value = loss.compute({ embeddings: x, labels: y });
    expect(loss.name).toBe('contrastiveLoss');
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    tf.dispose([x, y, value]);
  });

  it('the TSDoc example prints 0.7380283', () => {
    const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]]);
    const labels = int32([0, 0, 1, 1]);
    const value = contrastiveLoss().compute({ embeddings, labels });
    expect(scalarValue(value)).toBeCloseTo(0.7380283, 6);
    tf.dispose([embeddings, labels, value]);
  });

  it.each([
    [4, 3, 2, 0, 1],
    [8, 16, 3, 0, 1],
    [16, 8, 4, 0.2, 0.8],
    [24, 5, 3, 0.1, 1.2],
    [32, 32, 8, 0, 0.5],
    [48, 12, 6, 0.3, 1.5],
  ])('n=%i d=%i classes=%i posMargin=%s negMargin=%s', (n, d, classes, posMargin, negMargin) => {
    const rng = new Rng(n * 100 + d);
    const rows = randomRows(rng, n, d);
    const labels = randomLabels(rng, n, classes);
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const value = contrastiveLoss({ posMargin, negMargin }).compute({ embeddings: x, labels: y });
    expectTensorClose(value, referenceContrastive(rows, labelPairs(labels), { posMargin, negMargin }), FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });

  it.each([
    ['lpDistance()', () => lpDistance(), euclidean(true), 0, 1],
    ['lpDistance raw', () => lpDistance({ normalize: false }), euclidean(false), 0.5, 3],
    ['lpDistance power 2', () => lpDistance({ power: 2, normalize: false }), euclidean(false, 2), 0.5, 6],
    ['cosineSimilarity', () => cosineSimilarity(), cosine, 0.9, 0.1],
    ['dotProductSimilarity', () => dotProductSimilarity(), dotProduct, 1, -0.2],
  ] as [string, () => Distance, Metric, number, number][])('distance %s: value and gradient', (_, makeDistance, metric, posMargin, negMargin) => {
    const rng = new Rng(17);
    const rows = randomRows(rng, 12, 5);
    const labels = randomLabels(rng, 12, 3);
    const loss = contrastiveLoss({ posMargin, negMargin, distance: makeDistance() });
    const reference = (r: Rows): number => referenceContrastive(r, labelPairs(labels), { posMargin, negMargin, metric });
    const y = int32(labels);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), reference, rows);
    y.dispose();
  });

  it.each([
    ['lpDistance()', () => lpDistance(), false],
    ['cosineSimilarity', () => cosineSimilarity(), false],
    ['lpDistance(), ref', () => lpDistance(), true],
  ] as [string, () => Distance, boolean][])('the default (dense) path equals an explicit avgNonZeroReducer (pair list): %s', (_, makeDistance, withRef) => {
    const rng = new Rng(27);
    const x = tf.tensor2d(randomRows(rng, 12, 4));
    const y = int32(randomLabels(rng, 12, 3));
    const ref = withRef ? { embeddings: tf.tensor2d(randomRows(rng, 9, 4)), labels: int32(randomLabels(rng, 9, 4)) } : undefined;
    const margins = makeDistance().isSimilarity ? { posMargin: 0.8, negMargin: 0.2 } : { posMargin: 0.1, negMargin: 1.2 };
    const run = (loss: ReturnType<typeof contrastiveLoss>) =>
      tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, ...(ref === undefined ? {} : { ref }) }))(x);
    const dense = run(contrastiveLoss({ ...margins, distance: makeDistance() }));
    const list = run(contrastiveLoss({ ...margins, distance: makeDistance(), reducer: avgNonZeroReducer() }));
    expect(scalarValue(dense.value)).toBeGreaterThan(0);
    expectTensorClose(dense.value, list.value, FLOAT32_TOLERANCE);
    expectTensorClose(dense.grad, list.grad, FLOAT32_TOLERANCE);
    tf.dispose([x, y, dense.value, dense.grad, list.value, list.grad, ...(ref === undefined ? [] : [ref.embeddings, ref.labels])]);
  });

  it.each([
    ['avgNonZero', avgNonZeroReducer()],
    ['mean', meanReducer()],
    ['sum', sumReducer()],
  ] as [Reduction, Reducer][])('reducer %s on each sub-loss, then summed', (reduction, reducer) => {
    const rng = new Rng(23);
    const rows = randomRows(rng, 10, 4);
    const labels = randomLabels(rng, 10, 3);
    const y = int32(labels);
    const loss = contrastiveLoss({ negMargin: 1.2, reducer });
    const reference = (r: Rows): number => referenceContrastive(r, labelPairs(labels), { negMargin: 1.2, reduction });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), reference, rows, reduction === 'sum' ? { atol: 1e-3 } : {});
    y.dispose();
  });

  it('perAnchorReducer sums the pairs of each anchor (positive and negative sub-losses separately)', () => {
    const rng = new Rng(29);
    const rows = randomRows(rng, 8, 3);
    const labels = [0, 0, 1, 1, 2, 2, 0, 1];
    const pairs = labelPairs(labels);
    const perAnchor = (anchors: number[], values: number[]): number => {
      const sums = new Array<number>(8).fill(0);
      anchors.forEach((a, k) => (sums[a] = (sums[a] as number) + (values[k] as number)));
      return sums.reduce((s, v) => s + v, 0) / 8;
    };
    const metric = euclidean(true);
    const pos = pairs.anchorPos.map((a, k) => metric.of(rows[a]!, rows[pairs.positive[k]!]!));
    const neg = pairs.anchorNeg.map((a, k) => Math.max(0, 1 - metric.of(rows[a]!, rows[pairs.negative[k]!]!)));
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const value = contrastiveLoss({ reducer: perAnchorReducer() }).compute({ embeddings: x, labels: y });
    expectTensorClose(value, perAnchor(pairs.anchorPos, pos) + perAnchor(pairs.anchorNeg, neg), FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });

  it('maps a Siamese pair loss: stacked branches and pair tuples', () => {
    // K labelled pairs (x1_k, x2_k, same_k): rows 0..K-1 are branch 1, rows K..2K-1 branch 2.
    const rng = new Rng(31);
    const K = 6;
    const branch1 = randomRows(rng, K, 4);
    const branch2 = randomRows(rng, K, 4);
    const same = [true, false, true, true, false, false];
    const margin = 1.5;
    const metric = euclidean(false);
    let similar = 0;
    let dissimilar = 0;
    same.forEach((s, k) => {
      const d = metric.of(branch1[k]!, branch2[k]!);
      if (s) similar += d / 3;
      else dissimilar += Math.max(0, margin - d) / 3;
    });
    const pairs: PlainPairs = { anchorPos: [], positive: [], anchorNeg: [], negative: [] };
    same.forEach((s, k) => (s ? (pairs.anchorPos.push(k), pairs.positive.push(K + k)) : (pairs.anchorNeg.push(k), pairs.negative.push(K + k))));
    const x = tf.tensor2d([...branch1, ...branch2]);
    const y = tf.zeros([2 * K], 'int32') as tf.Tensor1D;
    const tuples = pairTuples(pairs);
    const loss = contrastiveLoss({ negMargin: margin, distance: lpDistance({ normalize: false }), reducer: meanReducer() });
    const value = loss.compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, similar + dissimilar, FLOAT32_TOLERANCE);
    // The same with the second branch as the reference.
    const ref = { embeddings: tf.tensor2d(branch2), labels: tf.zeros([K], 'int32') as tf.Tensor1D };
    const first = tf.tensor2d(branch1);
    const firstLabels = tf.zeros([K], 'int32') as tf.Tensor1D;
    const refTuples = pairTuples({ ...pairs, positive: pairs.anchorPos, negative: pairs.anchorNeg });
    const withRef = loss.compute({ embeddings: first, labels: firstLabels, ref, tuples: refTuples });
    expectTensorClose(withRef, similar + dissimilar, FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    disposeTuples(refTuples);
    tf.dispose([x, y, value, ref.embeddings, ref.labels, first, firstLabels, withRef]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('contrastiveLoss: edge cases', () => {
  it('no positive pair: only the negative sub-loss', () => {
    const rows = randomRows(new Rng(2), 5, 3);
    const labels = [0, 1, 2, 3, 4];
    const { value } = valueAndGrad(contrastiveLoss(), rows, labels);
    expect(value).toBeCloseTo(referenceContrastive(rows, labelPairs(labels)), 5);
  });

  it('no negative pair: only the positive sub-loss', () => {
    const rows = randomRows(new Rng(3), 4, 3);
    const labels = [7, 7, 7, 7];
    const { value } = valueAndGrad(contrastiveLoss(), rows, labels);
    expect(value).toBeCloseTo(referenceContrastive(rows, labelPairs(labels)), 5);
    expect(value).toBeGreaterThan(0);
  });

  it('no pair at all (a batch of one) gives a connected 0', () => {
    const { value, grad } = valueAndGrad(contrastiveLoss(), [[0.3, -0.4]], [0]);
    expect(value === 0).toBe(true); // -0 allowed
    expect(grad).toEqual([0, 0]);
  });

  it('pairs that all satisfy their margins give 0 with zero gradients', () => {
    const rows = [[1, 0], [1, 0], [-1, 0], [-1, 0]];
    const { value, grad, finite } = valueAndGrad(contrastiveLoss({ negMargin: 1.5 }), rows, [0, 0, 1, 1]);
    expect(value).toBeCloseTo(0, 3);
    expect(finite).toBe(true);
    expect(Math.max(...grad.map(Math.abs))).toBeLessThan(1e-2);
  });

  it('identical vectors: positive pairs at distance ~0, every negative pair costs negMargin; finite gradient', () => {
    const rows = Array.from({ length: 6 }, () => [0.2, -1.5, 0.7]);
    const { value, finite } = valueAndGrad(contrastiveLoss(), rows, [0, 1, 2, 0, 1, 2]);
    expect(Math.abs(value - 1)).toBeLessThan(2e-3); // float32 distance of identical unit rows is ~sqrt(eps)
    expect(finite).toBe(true);
  });

  it('zero vectors: normalized to zero, distance 0; finite gradient', () => {
    const zeros = valueAndGrad(contrastiveLoss(), Array.from({ length: 4 }, () => [0, 0, 0]), [0, 1, 0, 1]);
    expect(zeros.value).toBeCloseTo(1, 5);
    expect(zeros.finite).toBe(true);
    const rows = [[0, 0, 0], [1, 2, 3], [0, 0, 0], [-1, 0.5, 2]];
    const mixed = valueAndGrad(contrastiveLoss(), rows, [0, 1, 0, 1]);
    expect(mixed.value).toBeCloseTo(referenceContrastive(rows, labelPairs([0, 1, 0, 1])), 4);
    expect(mixed.finite).toBe(true);
  });

  it('embeddings scaled by 1e4 stay finite (normalized and raw distances)', () => {
    const rows = randomRows(new Rng(5), 16, 8, 1e4);
    const labels = Array.from({ length: 16 }, (_, i) => i % 4);
    const normalized = valueAndGrad(contrastiveLoss(), rows, labels);
    expect(normalized.finite).toBe(true);
    expect(normalized.value).toBeCloseTo(referenceContrastive(rows, labelPairs(labels)), 4);
    const raw = valueAndGrad(contrastiveLoss({ distance: lpDistance({ normalize: false }), negMargin: 5e4 }), rows, labels);
    expect(raw.finite).toBe(true);
    const expected = referenceContrastive(rows, labelPairs(labels), { metric: euclidean(false), negMargin: 5e4 });
    expect(Math.abs(raw.value - expected)).toBeLessThan(LOOSE_TOLERANCE.rtol * expected);
  });
});

// ---------------------------------------------------------------------------------------------

describe('contrastiveLoss: given tuples', () => {
  const rows = randomRows(new Rng(21), 8, 5);
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];
  // A mined subset with a repeated pair.
  const mined: PlainPairs = { anchorPos: [0, 4, 1, 1, 3], positive: [4, 0, 5, 5, 7], anchorNeg: [0, 0, 4, 1, 0], negative: [1, 2, 6, 6, 1] };

  it('uses only the given pairs, with repeats, as PML; gradient matches', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples = pairTuples(mined);
    const loss = contrastiveLoss({ negMargin: 1.3 });
    const value = loss.compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, referenceContrastive(rows, mined, { negMargin: 1.3 }), FLOAT32_TOLERANCE);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, tuples }), (r) => referenceContrastive(r, mined, { negMargin: 1.3 }), rows);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('converts triplets (a, p, n) to the pairs (a, p) and (a, n) (PML convert_to_pairs)', () => {
    const triplets = { anchor: [0, 0, 1, 5, 2], positive: [4, 4, 5, 1, 6], negative: [1, 3, 2, 7, 0] };
    const asPairs: PlainPairs = { anchorPos: triplets.anchor, positive: triplets.positive, anchorNeg: triplets.anchor, negative: triplets.negative };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples: TripletTuples = { kind: 'triplets', anchor: int32(triplets.anchor), positive: int32(triplets.positive), negative: int32(triplets.negative) };
    const value = contrastiveLoss().compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, referenceContrastive(rows, asPairs), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('one positive and one negative pair give their loss (PML returns 0 there)', () => {
    const single: PlainPairs = { anchorPos: [0], positive: [4], anchorNeg: [0], negative: [1] };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples = pairTuples(single);
    const value = contrastiveLoss({ negMargin: 2 }).compute({ embeddings: x, labels: y, tuples });
    const metric = euclidean(true);
    expectTensorClose(value, metric.of(rows[0]!, rows[4]!) + Math.max(0, 2 - metric.of(rows[0]!, rows[1]!)), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('empty tuples give a connected 0; an empty side counts 0', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = contrastiveLoss();
    for (const [pairs, expected] of [
      [{ anchorPos: [], positive: [], anchorNeg: [], negative: [] }, 0],
      [{ ...mined, anchorNeg: [], negative: [] }, referenceContrastive(rows, { ...mined, anchorNeg: [], negative: [] })],
    ] as [PlainPairs, number][]) {
      const tuples = pairTuples(pairs);
      const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, tuples }))(x);
      expectTensorClose(value, expected, FLOAT32_TOLERANCE);
      expect(allFinite(grad)).toBe(true);
      if (expected === 0) expect(Array.from(grad.dataSync()).every((g) => g === 0)).toBe(true);
      disposeTuples(tuples);
      tf.dispose([value, grad]);
    }
    tf.dispose([x, y]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('contrastiveLoss: against a reference set', () => {
  const rng = new Rng(33);
  const rows = randomRows(rng, 6, 4);
  const labels = [0, 1, 2, 0, 1, 2];
  const queue = randomRows(rng, 10, 4);
  const queueLabels = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4];

  it('compares the batch with ref.embeddings / ref.labels; gradient w.r.t. the batch', () => {
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const loss = contrastiveLoss({ negMargin: 1.2 });
    const reference = (r: Rows): number => referenceContrastive(r, labelPairs(labels, queueLabels), { negMargin: 1.2, refRows: queue });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, ref }), reference, rows);
    tf.dispose([y, ref.embeddings, ref.labels]);
  });

  it('does not exclude a row from being its own positive (PML ref semantics)', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.clone(x), labels: tf.clone(y) };
    const loss = contrastiveLoss({ reducer: meanReducer() });
    const withRef = loss.compute({ embeddings: x, labels: y, ref });
    const without = loss.compute({ embeddings: x, labels: y });
    const expected = referenceContrastive(rows, labelPairs(labels, labels), { refRows: rows, reduction: 'mean' });
    expectTensorClose(withRef, expected, { atol: 1e-3, rtol: 1e-4 }); // d(x, x) is ~sqrt(eps) in float32
    // 12 positive pairs with the self pairs, 6 without: the mean halves (up to the self distances).
    expect(scalarValue(withRef)).toBeLessThan(scalarValue(without));
    tf.dispose([x, y, ref.embeddings, ref.labels, withRef, without]);
  });

  it('tuples index the reference', () => {
    const pairs: PlainPairs = { anchorPos: [0, 1, 3], positive: [0, 6, 5], anchorNeg: [0, 1, 1, 3], negative: [1, 2, 9, 4] };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const tuples = pairTuples(pairs);
    const value = contrastiveLoss({ negMargin: 1.4 }).compute({ embeddings: x, labels: y, ref, tuples });
    expectTensorClose(value, referenceContrastive(rows, pairs, { negMargin: 1.4, refRows: queue }), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('contrastiveLoss: training and resources', () => {
  it('leaks no tensor on any path, forward or backward', async () => {
    const x = tf.tensor2d(randomRows(new Rng(41), 8, 4));
    const y = int32([0, 1, 2, 3, 0, 1, 2, 3]);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(42), 5, 4)), labels: int32([0, 1, 2, 3, 4]) };
    const tuples = pairTuples({ anchorPos: [0, 4], positive: [4, 0], anchorNeg: [0, 4], negative: [1, 2] });
    const empty = pairTuples({ anchorPos: [], positive: [], anchorNeg: [], negative: [] });
    const triplets: TripletTuples = { kind: 'triplets', anchor: int32([0, 1]), positive: int32([4, 5]), negative: int32([2, 3]) };
    const one = { embeddings: tf.tensor2d([[1, 2, 3, 4]]), labels: int32([0]) };
    const inputs = [
      { embeddings: x, labels: y },
      { embeddings: x, labels: y, ref },
      { embeddings: x, labels: y, tuples },
      { embeddings: x, labels: y, tuples: empty },
      { embeddings: x, labels: y, tuples: triplets },
      one,
    ];
    // The dense path (default reducer) and the pair-list path (any other reducer).
    for (const loss of [contrastiveLoss(), contrastiveLoss({ reducer: meanReducer() })]) {
      for (const input of inputs) loss.compute(input).dispose(); // warm-up
      await expectNoLeak(() => {
        for (const input of inputs) {
          loss.compute(input).dispose();
          const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ ...input, embeddings: e as tf.Tensor2D }))(input.embeddings);
          tf.dispose([value, grad]);
        }
      });
    }
    expect(x.isDisposed || y.isDisposed || ref.embeddings.isDisposed || tuples.anchorPos.isDisposed).toBe(false);
    [tuples, empty, triplets].forEach(disposeTuples);
    tf.dispose([x, y, ref.embeddings, ref.labels, one.embeddings, one.labels]);
  });

  it('trains under optimizer.minimize: the loss falls, no tensor growth', () => {
    // Adam: plain SGD crawls through the normalization (gradients shrink with the row norm).
    expectTrainsUnderMinimize(contrastiveLoss(), { labels: (n) => cyclicLabels(n, 4), optimizer: () => tf.train.adam(0.1), steps: 20, factor: 0.6 });
  });

  it('handles N = 1024 (d = 128) with a finite value and gradient', () => {
    expectFiniteLargeBatch(contrastiveLoss(), { n: 1024, d: 128, labels: (n) => cyclicLabels(n, 16) });
  });
});

// ---------------------------------------------------------------------------------------------

describe('contrastiveLoss: errors', () => {
  it('rejects bad options in the factory', () => {
    for (const posMargin of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expectContrastiveError(() => contrastiveLoss({ posMargin }), 'INVALID_ARGUMENT', /Argument 'posMargin' passed to 'contrastiveLoss' must be a finite number, got/);
    }
    expectContrastiveError(() => contrastiveLoss({ negMargin: '1' as unknown as number }), 'INVALID_ARGUMENT', /Argument 'negMargin' passed to 'contrastiveLoss' must be a finite number, got "1"/);
    expectContrastiveError(() => contrastiveLoss({ distance: {} as Distance }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'contrastiveLoss' must be a Distance/);
    expectContrastiveError(() => contrastiveLoss({ reducer: { name: 'x' } as unknown as Reducer }), 'INVALID_ARGUMENT', /Argument 'reducer' passed to 'contrastiveLoss' must be a Reducer/);
  });

  it('rejects bad embeddings, labels, ref and tuples, naming the argument, leaking nothing', () => {
    const loss = contrastiveLoss();
    const x = tf.tensor2d(randomRows(new Rng(71), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const cases: [() => unknown, string, RegExp][] = [
      [() => loss.compute(null as unknown as { embeddings: tf.Tensor2D; labels: tf.Tensor1D }), 'INVALID_ARGUMENT', /Argument 'input' passed to 'contrastiveLoss.compute'/],
      [() => loss.compute({ embeddings: tf.tensor1d([1, 2]) as unknown as tf.Tensor2D, labels: y }), 'SHAPE_MISMATCH', /Argument 'embeddings' passed to 'contrastiveLoss' must be rank 2, got rank 1/],
      [() => loss.compute({ embeddings: tf.tensor2d([[1]], [1, 1], 'int32'), labels: int32([0]) }), 'DTYPE_MISMATCH', /Argument 'embeddings' passed to 'contrastiveLoss' must have dtype float32, got int32/],
      [() => loss.compute({ embeddings: x, labels: tf.tensor1d([0, 1, 0, 1]) }), 'DTYPE_MISMATCH', /Argument 'labels' passed to 'contrastiveLoss' must have dtype int32, got float32/],
      [() => loss.compute({ embeddings: x, labels: int32([0, 1, 0]) }), 'LABEL_COUNT', /Argument 'labels' passed to 'contrastiveLoss' must have 4 entries \(one per embedding\), got 3/],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 5]), labels: int32([0, 1]) } }), 'SHAPE_MISMATCH', /Argument 'ref.embeddings' passed to 'contrastiveLoss' must have 3 columns/],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 3]), labels: int32([0]) } }), 'LABEL_COUNT', /Argument 'ref.labels' passed to 'contrastiveLoss' must have 2 entries/],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'pairs', anchorPos: int32([0, 1]), positive: int32([2]), anchorNeg: int32([0]), negative: int32([1]) } }),
        'SHAPE_MISMATCH',
        /Argument 'tuples.positive' passed to 'contrastiveLoss' must have 2 entries \(one per entry of 'tuples.anchorPos'\), got 1/,
      ],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'triplets', anchor: int32([0]), positive: tf.tensor1d([2]), negative: int32([1]) } }),
        'DTYPE_MISMATCH',
        /Argument 'tuples.positive' passed to 'contrastiveLoss' must have dtype int32, got float32/,
      ],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'quads' } as unknown as PairTuples }),
        'INVALID_ARGUMENT',
        /Argument 'tuples.kind' passed to 'contrastiveLoss' must be one of "pairs", "triplets", got "quads"/,
      ],
    ];
    for (const [call, code, message] of cases) {
      const before = tf.memory().numTensors;
      expectContrastiveError(() => tf.tidy(() => void call()), code as 'INVALID_ARGUMENT', message);
      expect(tf.memory().numTensors).toBe(before);
    }
    const disposed = tf.tensor2d([[1, 2]]);
    disposed.dispose();
    const label = int32([0]);
    expectContrastiveError(() => loss.compute({ embeddings: disposed, labels: label }), 'DISPOSED', /Argument 'embeddings' passed to 'contrastiveLoss' has been disposed/);
    tf.dispose([x, y, label]);
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
