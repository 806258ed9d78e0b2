import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, cosineSimilarity, lpDistance } from '@contrastive/core';
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
import { expectGoldenGrad, expectGoldenValue, goldenCases, goldenLabels, goldenRows } from './test-support/golden.js';
import { generalizedLiftedStructureLoss, liftedStructureLoss } from './lifted-structure-loss.js';
import { avgNonZeroReducer, perAnchorReducer, sumReducer } from './reducers.js';
import { allFinite, cyclicLabels, expectFiniteLargeBatch, expectTrainsUnderMinimize, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 references: obvious loops from the papers (Oh Song et al. eq. 4; Hermans et al. eq. 5)
// and PML's pair rules
// ---------------------------------------------------------------------------------------------

type Compare = (a: number[], b: number[]) => number;

const dot: Compare = (a, b) => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);
const unit = (v: number[]): number[] => {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
};
const cosine: Compare = (a, b) => dot(unit(a), unit(b));
const rawEuclidean: Compare = (a, b) => Math.sqrt(a.reduce((sum, v, i) => sum + (v - (b[i] as number)) ** 2, 0));
const euclidean: Compare = (a, b) => rawEuclidean(unit(a), unit(b));

/** log Σ exp(v) with the max subtracted; 0 for an empty set (PML's logsumexp). */
function logSumExp(values: number[]): number {
  if (values.length === 0) return 0;
  const max = Math.max(...values);
  return max + Math.log(values.reduce((sum, v) => sum + Math.exp(v - max), 0));
}

interface PlainPairs {
  anchorPos: number[];
  positive: number[];
  anchorNeg: number[];
  negative: number[];
}

/** Every ordered pair, as PML's get_all_pairs_indices (no self pair without a reference). */
function labelPairs(labels: number[], refLabels?: number[]): PlainPairs {
  const pairs: PlainPairs = { anchorPos: [], positive: [], anchorNeg: [], negative: [] };
  const cols = refLabels ?? labels;
  labels.forEach((a, i) =>
    cols.forEach((b, j) => {
      if (a === b && (refLabels !== undefined || i !== j)) pairs.anchorPos.push(i), pairs.positive.push(j);
      if (a !== b) pairs.anchorNeg.push(i), pairs.negative.push(j);
    }),
  );
  return pairs;
}

interface LiftedOptions {
  negMargin?: number;
  posMargin?: number;
  compare?: Compare;
  isSimilarity?: boolean;
  refRows?: Rows;
}

/** Per positive pair: relu(log Σ_{neg pairs at either end} exp(negMargin - d) + d_ap - posMargin)² / 2. */
function liftedPairLosses(rows: Rows, pairs: PlainPairs, options: LiftedOptions = {}): number[] {
  const { negMargin = 1, posMargin = 0, compare = euclidean, isSimilarity = false } = options;
  const refRows = options.refRows ?? rows;
  const sign = isSimilarity ? -1 : 1;
  if (pairs.anchorPos.length === 0 || pairs.anchorNeg.length === 0) return [];
  return pairs.anchorPos.map((a, k) => {
    const p = pairs.positive[k] as number;
    const terms: number[] = [];
    pairs.anchorNeg.forEach((a2, j) => {
      // PML compares indices: the negative pairs whose batch row is the anchor or the positive's index.
      if (a2 === a || a2 === p) terms.push(sign * (negMargin - compare(rows[a2] as number[], refRows[pairs.negative[j] as number] as number[])));
    });
    const total = logSumExp(terms) + sign * (compare(rows[a] as number[], refRows[p] as number[]) - posMargin);
    return Math.max(total, 0) ** 2 / 2;
  });
}

function referenceLifted(rows: Rows, pairs: PlainPairs, options: LiftedOptions = {}): number {
  const losses = liftedPairLosses(rows, pairs, options);
  return losses.length === 0 ? 0 : losses.reduce((a, b) => a + b, 0) / losses.length;
}

/** Per anchor: relu(logsumexp_P(d - posMargin) + logsumexp_N(negMargin - d)); pairs listed twice count once. */
function generalizedRowLosses(rows: Rows, pairs: PlainPairs, options: LiftedOptions = {}): number[] {
  const { negMargin = 1, posMargin = 0, compare = euclidean, isSimilarity = false } = options;
  const refRows = options.refRows ?? rows;
  const sign = isSimilarity ? -1 : 1;
  return rows.map((row, a) => {
    const positives = new Set<number>();
    const negatives = new Set<number>();
    pairs.anchorPos.forEach((i, k) => i === a && positives.add(pairs.positive[k] as number));
    pairs.anchorNeg.forEach((i, k) => i === a && negatives.add(pairs.negative[k] as number));
    const pos = [...positives].map((j) => sign * (compare(row, refRows[j] as number[]) - posMargin));
    const neg = [...negatives].map((j) => sign * (negMargin - compare(row, refRows[j] as number[])));
    return Math.max(logSumExp(pos) + logSumExp(neg), 0);
  });
}

function referenceGeneralized(rows: Rows, pairs: PlainPairs, options: LiftedOptions = {}): number {
  const losses = generalizedRowLosses(rows, pairs, options);
  return losses.reduce((a, b) => a + b, 0) / losses.length;
}

function randomLabels(rng: Rng, n: number, classes: number): number[] {
  return Array.from({ length: n }, () => rng.int(classes));
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

type Factory = typeof liftedStructureLoss;
type Reference = (rows: Rows, pairs: PlainPairs, options?: LiftedOptions) => number;
const variants: [string, Factory, Reference][] = [
  ['liftedStructureLoss', liftedStructureLoss, referenceLifted],
  ['generalizedLiftedStructureLoss', generalizedLiftedStructureLoss, referenceGeneralized],
];

// ---------------------------------------------------------------------------------------------

describe('lifted structure losses: golden values from pytorch-metric-learning', () => {
  const cases = [
    ...goldenCases('lifted_structure_').map((c) => [c.name, c, liftedStructureLoss, referenceLifted] as const),
    ...goldenCases('generalized_lifted_').map((c) => [c.name, c, generalizedLiftedStructureLoss, referenceGeneralized] as const),
  ];

  it('has two lifted_structure_* and two generalized_lifted_* cases with PML defaults', () => {
    expect(cases).toHaveLength(4);
    for (const [, c] of cases) expect(c.params).toMatchObject({ neg_margin: 1, pos_margin: 0 });
  });

  it.each(cases)('%s: value and gradient', (_, c, factory, reference) => {
    const rows = goldenRows(c);
    const labels = goldenLabels(c) as number[];
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = factory();
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expectGoldenValue(value, c);
    expectGoldenGrad(grad, c);
    expect(Math.abs(reference(rows, labelPairs(labels)) - c.expected.value)).toBeLessThan(1e-12);
    tf.dispose([x, y, value, grad]);
  });
});

// ---------------------------------------------------------------------------------------------

describe.each(variants)('%s: against the float64 loops', (name, factory, reference) => {
  it(`returns a float32 scalar named ${name}`, () => {
    const x = tf.tensor2d(randomRows(new Rng(1), 4, 3));
    const y = int32([0, 0, 1, 1]);
    const loss = factory();
    const value = loss.compute({ embeddings: x, labels: y });
    expect(loss.name).toBe(name);
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    tf.dispose([x, y, value]);
  });

  it.each([
    [4, 3, 1, 0],
    [8, 16, 1, 0],
    [16, 8, 0.5, 0.1],
    [24, 5, 2, 0],
    [32, 32, 1, 0.2],
    [48, 12, 1, 0],
  ])('n=%i d=%i negMargin=%s posMargin=%s, view and class labels', (n, d, negMargin, posMargin) => {
    const rng = new Rng(n * 100 + d);
    const rows = randomRows(rng, n, d);
    for (const labels of [Array.from({ length: n }, (_, i) => i % (n / 2)), randomLabels(rng, n, 3)]) {
      const x = tf.tensor2d(rows);
      const y = int32(labels);
      const value = factory({ negMargin, posMargin }).compute({ embeddings: x, labels: y });
      expectTensorClose(value, reference(rows, labelPairs(labels), { negMargin, posMargin }), FLOAT32_TOLERANCE);
      tf.dispose([x, y, value]);
    }
  });

  it.each([
    ['lpDistance()', () => lpDistance(), euclidean, false],
    ['lpDistance({ normalize: false })', () => lpDistance({ normalize: false }), rawEuclidean, false],
    ['cosineSimilarity (roles flipped, as distance.margin)', () => cosineSimilarity(), cosine, true],
  ] as [string, () => Distance, Compare, boolean][])('distance %s: value and gradient', (_, makeDistance, compare, isSimilarity) => {
    const rows = randomRows(new Rng(11), 10, 5, 0.5);
    const labels = randomLabels(new Rng(12), 10, 3);
    const options = { negMargin: 0.5, posMargin: 0.1, compare, isSimilarity };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = factory({ negMargin: 0.5, posMargin: 0.1, distance: makeDistance() });
    const value = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(value, reference(rows, labelPairs(labels), options), FLOAT32_TOLERANCE);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => reference(r, labelPairs(labels), options), rows);
    tf.dispose([x, y, value]);
  });

  it.each([
    [6, 3],
    [8, 4],
    [12, 6],
  ])('gradient matches central differences: n=%i d=%i', (n, d) => {
    const rng = new Rng(n + d);
    const rows = randomRows(rng, n, d);
    const labels = [0, 0, 0, ...randomLabels(rng, n - 3, 3)];
    const y = int32(labels);
    const loss = factory();
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => reference(r, labelPairs(labels)), rows);
    y.dispose();
  });
});

describe('lifted structure losses: reducers', () => {
  const rows = randomRows(new Rng(13), 8, 4);
  const labels = [0, 1, 2, 0, 1, 2, 0, 3];

  it('liftedStructureLoss hands one loss per positive pair (anchor = its first index) to the reducer', () => {
    const pairs = labelPairs(labels);
    const perPair = liftedPairLosses(rows, pairs);
    const perAnchor = Array.from({ length: 8 }, (_, a) => perPair.reduce((sum, l, k) => sum + (pairs.anchorPos[k] === a ? l : 0), 0));
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const summed = liftedStructureLoss({ reducer: sumReducer() }).compute({ embeddings: x, labels: y });
    const byAnchor = liftedStructureLoss({ reducer: perAnchorReducer() }).compute({ embeddings: x, labels: y });
    expectTensorClose(summed, perPair.reduce((a, b) => a + b, 0), FLOAT32_TOLERANCE);
    expectTensorClose(byAnchor, perAnchor.reduce((a, b) => a + b, 0) / 8, FLOAT32_TOLERANCE);
    tf.dispose([x, y, summed, byAnchor]);
  });

  it('generalizedLiftedStructureLoss hands one loss per anchor to the reducer', () => {
    const perRow = generalizedRowLosses(rows, labelPairs(labels), { negMargin: -1 });
    expect(perRow.some((l) => l === 0)).toBe(true);
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const nonZero = perRow.filter((l) => l > 0);
    const value = generalizedLiftedStructureLoss({ negMargin: -1, reducer: avgNonZeroReducer() }).compute({ embeddings: x, labels: y });
    expectTensorClose(value, nonZero.reduce((a, b) => a + b, 0) / nonZero.length, FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('lifted structure losses: edge cases', () => {
  function valueAndGrad(factory: Factory, rows: Rows, labels: number[], options = {}): { value: number; grad: number[]; finite: boolean } {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = factory(options);
    const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    const out = { value: scalarValue(result.value), grad: Array.from(result.grad.dataSync()), finite: allFinite(result.grad) };
    expect(result.grad.shape).toEqual(x.shape);
    tf.dispose([x, y, result.value, result.grad]);
    return out;
  }

  it('liftedStructureLoss: no positive pair or no negative pair gives a connected 0 (PML)', () => {
    for (const labels of [[0, 1, 2, 3, 4], [7, 7, 7, 7, 7]]) {
      const { value, grad } = valueAndGrad(liftedStructureLoss, randomRows(new Rng(2), 5, 3), labels);
      expect(value === 0).toBe(true); // 0 * sum(embeddings) may be -0
      expect(grad.every((g) => g === 0)).toBe(true);
    }
  });

  it('generalizedLiftedStructureLoss: one-sided anchors keep their log-sum-exp (PML), as the loops', () => {
    const rows = randomRows(new Rng(2), 5, 3);
    for (const labels of [[0, 1, 2, 3, 4], [7, 7, 7, 7, 7]]) {
      const { value, finite } = valueAndGrad(generalizedLiftedStructureLoss, rows, labels);
      expect(value).toBeGreaterThan(0);
      expect(Math.abs(value - referenceGeneralized(rows, labelPairs(labels)))).toBeLessThan(1e-5);
      expect(finite).toBe(true);
    }
  });

  it.each(variants)('%s: a batch of one gives a connected 0', (_, factory) => {
    const { value, grad } = valueAndGrad(factory, [[0.3, -0.4]], [0]);
    expect(value === 0).toBe(true);
    expect(grad).toEqual([0, 0]);
  });

  it('identical vectors and zero vectors: d = 0 everywhere, closed forms, zero finite gradient', () => {
    const labels = [0, 1, 2, 0, 1, 2];
    for (const row of [[0.2, -1.5, 0.7], [0, 0, 0]]) {
      const rows = Array.from({ length: 6 }, () => [...row]);
      // Lifted: each positive pair sees the 4 + 4 negatives of its two ends, each exp(1 - 0).
      const lifted = valueAndGrad(liftedStructureLoss, rows, labels);
      expect(lifted.value).toBeCloseTo((1 + Math.log(8)) ** 2 / 2, 5);
      // Generalized: one positive at d = 0, four negatives at 1 - 0.
      const generalized = valueAndGrad(generalizedLiftedStructureLoss, rows, labels);
      expect(generalized.value).toBeCloseTo(1 + Math.log(4), 5);
      for (const { grad, finite } of [lifted, generalized]) {
        expect(finite).toBe(true);
        expect(Math.max(...grad.map(Math.abs))).toBeLessThan(1e-4);
      }
    }
    const rows = [[0, 0, 0], [1, 2, 3], [0, 0, 0], [-1, 0.5, 2]];
    const mixed = valueAndGrad(liftedStructureLoss, rows, [0, 1, 0, 1]);
    expect(mixed.value).toBeCloseTo(referenceLifted(rows, labelPairs([0, 1, 0, 1])), 4);
    expect(mixed.finite).toBe(true);
  });

  it.each(variants)('%s: un-normalised embeddings scaled by 1e4 stay finite and exact', (_, factory, reference) => {
    const rows = randomRows(new Rng(5), 16, 8, 1e4);
    const labels = Array.from({ length: 16 }, (_, i) => i % 4);
    const options = { compare: rawEuclidean };
    const { value, finite } = valueAndGrad(factory, rows, labels, { distance: lpDistance({ normalize: false }) });
    expect(finite).toBe(true);
    const expected = reference(rows, labelPairs(labels), options);
    expect(expected).toBeGreaterThan(1e3);
    expect(Math.abs(value - expected)).toBeLessThan(LOOSE_TOLERANCE.atol + LOOSE_TOLERANCE.rtol * expected);
  });
});

// ---------------------------------------------------------------------------------------------

describe.each(variants)('%s: given tuples', (_, factory, reference) => {
  const rows = randomRows(new Rng(21), 8, 5);
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];
  // A repeated positive (1, 5) and negative (4, 6) pair, and an anchor (3) without a negative pair.
  const mined: PlainPairs = {
    anchorPos: [0, 4, 1, 1, 3],
    positive: [4, 0, 5, 5, 7],
    anchorNeg: [0, 0, 4, 4, 1, 5],
    negative: [1, 2, 6, 6, 6, 0],
  };

  it('uses only the given pairs (repeats as PML: per pair for lifted, once for generalized)', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples = pairTuples(mined);
    const value = factory().compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, reference(rows, mined), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('converts triplets (a, p, n) to the pairs (a, p) and (a, n)', () => {
    const triplets = { anchor: [0, 0, 1, 5, 2], positive: [4, 4, 5, 1, 6], negative: [1, 3, 2, 7, 0] };
    const asPairs: PlainPairs = { anchorPos: triplets.anchor, positive: triplets.positive, anchorNeg: triplets.anchor, negative: triplets.negative };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples: TripletTuples = { kind: 'triplets', anchor: int32(triplets.anchor), positive: int32(triplets.positive), negative: int32(triplets.negative) };
    const value = factory().compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, reference(rows, asPairs), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('gradient of the tuple path matches central differences', () => {
    const y = int32(labels);
    const tuples = pairTuples(mined);
    const loss = factory();
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, tuples }), (r) => reference(r, mined), rows);
    disposeTuples(tuples);
    y.dispose();
  });

  it('no tuples at all give a connected 0', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples = pairTuples({ anchorPos: [], positive: [], anchorNeg: [], negative: [] });
    const loss = factory();
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, tuples }))(x);
    expect(scalarValue(value)).toBe(0);
    expect(Array.from(grad.dataSync()).every((g) => g === 0)).toBe(true);
    disposeTuples(tuples);
    tf.dispose([x, y, value, grad]);
  });
});

describe('liftedStructureLoss: one-sided tuples', () => {
  it('only positive or only negative pairs give a connected 0 (PML)', () => {
    const x = tf.tensor2d(randomRows(new Rng(22), 6, 3));
    const y = int32([0, 1, 2, 0, 1, 2]);
    for (const pairs of [
      { anchorPos: [0, 3], positive: [3, 0], anchorNeg: [], negative: [] },
      { anchorPos: [], positive: [], anchorNeg: [0, 1], negative: [1, 2] },
    ]) {
      const tuples = pairTuples(pairs);
      const loss = liftedStructureLoss();
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

describe.each(variants)('%s: against a reference set', (_, factory, reference) => {
  const rng = new Rng(31);
  const rows = randomRows(rng, 6, 4);
  const labels = [0, 1, 2, 0, 1, 2];
  const queue = randomRows(rng, 10, 4);
  const queueLabels = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4];

  it('compares the batch with ref.embeddings / ref.labels (PML index rule), gradient w.r.t. the batch', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const loss = factory();
    const value = loss.compute({ embeddings: x, labels: y, ref });
    const expected = (r: Rows): number => reference(r, labelPairs(labels, queueLabels), { refRows: queue });
    expectTensorClose(value, expected(rows), FLOAT32_TOLERANCE);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, ref }), expected, rows);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });

  it('does not exclude a row from being its own positive (PML ref semantics)', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.clone(x), labels: tf.clone(y) };
    const loss = factory();
    const withRef = loss.compute({ embeddings: x, labels: y, ref });
    const without = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(withRef, reference(rows, labelPairs(labels, labels), { refRows: rows }), FLOAT32_TOLERANCE);
    expect(Math.abs(scalarValue(withRef) - scalarValue(without))).toBeGreaterThan(1e-3);
    tf.dispose([x, y, ref.embeddings, ref.labels, withRef, without]);
  });

  it('tuples index the reference (a pair (i, i) counts i\'s negatives once)', () => {
    const pairs: PlainPairs = { anchorPos: [0, 1, 3, 2], positive: [0, 6, 5, 8], anchorNeg: [0, 1, 1, 3, 5], negative: [1, 2, 9, 4, 0] };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const tuples = pairTuples(pairs);
    const value = factory().compute({ embeddings: x, labels: y, ref, tuples });
    expectTensorClose(value, reference(rows, pairs, { refRows: queue }), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });
});

// ---------------------------------------------------------------------------------------------

describe.each(variants)('%s: training and resources', (_, factory) => {
  it('leaks no tensor on any path, forward or backward', async () => {
    const x = tf.tensor2d(randomRows(new Rng(41), 8, 4));
    const y = int32([0, 1, 2, 3, 0, 1, 2, 3]);
    const same = int32([5, 5, 5, 5, 5, 5, 5, 5]);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(42), 5, 4)), labels: int32([0, 1, 2, 3, 4]) };
    const tuples = pairTuples({ anchorPos: [0, 4], positive: [4, 0], anchorNeg: [0, 4], negative: [1, 2] });
    const empty = pairTuples({ anchorPos: [], positive: [], anchorNeg: [0], negative: [1] });
    const loss = factory();
    const inputs = [
      { embeddings: x, labels: y },
      { embeddings: x, labels: same },
      { embeddings: x, labels: y, ref },
      { embeddings: x, labels: y, tuples },
      { embeddings: x, labels: y, tuples: empty },
    ];
    for (const input of inputs) loss.compute(input).dispose(); // warm-up
    await expectNoLeak(() => {
      for (const input of inputs) {
        loss.compute(input).dispose();
        const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ ...input, embeddings: e as tf.Tensor2D }))(x);
        tf.dispose([value, grad]);
      }
    });
    expect(x.isDisposed || y.isDisposed || ref.embeddings.isDisposed || tuples.anchorPos.isDisposed).toBe(false);
    disposeTuples(tuples);
    disposeTuples(empty);
    tf.dispose([x, y, same, ref.embeddings, ref.labels]);
  });

  it('trains under optimizer.minimize: the loss falls, no tensor growth', () => {
    expectTrainsUnderMinimize(factory(), { labels: (n) => cyclicLabels(n, 4), optimizer: () => tf.train.adam(0.05), steps: 30, factor: 0.8 });
  });
  it('handles N = 512 (d = 64) with a finite value and gradient', () => {
    expectFiniteLargeBatch(factory(), { n: 512, d: 64, labels: (n) => cyclicLabels(n, 32) });
  });
});

// ---------------------------------------------------------------------------------------------

describe.each(variants)('%s: errors', (name, factory) => {
  it('rejects bad hyper-parameters in the factory', () => {
    for (const negMargin of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expectContrastiveError(() => factory({ negMargin }), 'INVALID_ARGUMENT', new RegExp(`Argument 'negMargin' passed to '${name}' must be a finite number, got`));
    }
    expectContrastiveError(() => factory({ posMargin: '0' as unknown as number }), 'INVALID_ARGUMENT', new RegExp(`Argument 'posMargin' passed to '${name}' must be a finite number, got "0"`));
    expectContrastiveError(() => factory({ distance: {} as Distance }), 'INVALID_ARGUMENT', new RegExp(`Argument 'distance' passed to '${name}' must be a Distance`));
    expectContrastiveError(
      () => factory({ reducer: 'mean' as unknown as ReturnType<typeof sumReducer> }),
      'INVALID_ARGUMENT',
      new RegExp(`Argument 'reducer' passed to '${name}' must be a Reducer`),
    );
  });

  it('rejects bad embeddings, labels, ref and tuples, naming the argument, leaking nothing', () => {
    const loss = factory();
    const x = tf.tensor2d(randomRows(new Rng(71), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const cases: [() => unknown, string, RegExp][] = [
      [() => loss.compute({ embeddings: tf.tensor1d([1, 2]) as unknown as tf.Tensor2D, labels: y }), 'SHAPE_MISMATCH', new RegExp(`Argument 'embeddings' passed to '${name}' must be rank 2, got rank 1`)],
      [() => loss.compute({ embeddings: x, labels: tf.tensor1d([0, 1, 0, 1]) }), 'DTYPE_MISMATCH', new RegExp(`Argument 'labels' passed to '${name}' must have dtype int32, got float32`)],
      [() => loss.compute({ embeddings: x, labels: int32([0, 1, 0]) }), 'LABEL_COUNT', new RegExp(`Argument 'labels' passed to '${name}' must have 4 entries \\(one per embedding\\), got 3`)],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 3]), labels: int32([0]) } }), 'LABEL_COUNT', new RegExp(`Argument 'ref.labels' passed to '${name}' must have 2 entries`)],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'pairs', anchorPos: int32([0]), positive: int32([2]), anchorNeg: int32([0, 1]), negative: int32([1]) } }),
        'SHAPE_MISMATCH',
        new RegExp(`Argument 'tuples.negative' passed to '${name}' must have 2 entries \\(one per entry of 'tuples.anchorNeg'\\), got 1`),
      ],
    ];
    for (const [call, code, message] of cases) {
      const before = tf.memory().numTensors;
      expectContrastiveError(() => tf.tidy(() => void call()), code as Parameters<typeof expectContrastiveError>[1], message);
      expect(tf.memory().numTensors).toBe(before);
    }
    tf.dispose([x, y]);
  });
});

it('the TSDoc examples print 1.4328247 and 0.9730964', () => {
  const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]]);
  const labels = int32([0, 0, 1, 1]);
  const lifted = liftedStructureLoss().compute({ embeddings, labels });
  const generalized = generalizedLiftedStructureLoss().compute({ embeddings, labels });
  expect(scalarValue(lifted)).toBeCloseTo(1.4328247, 6);
  expect(scalarValue(generalized)).toBeCloseTo(0.9730964, 6);
  tf.dispose([embeddings, labels, lifted, generalized]);
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
