import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, cosineSimilarity, dotProductSimilarity, lpDistance } from '@contrastive/core';
import type { Distance, PairTuples, Tuples } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import { contrastiveLoss, multiSimilarityLoss } from '@contrastive/losses';
import { pairMarginMiner } from './pair-margin-miner.js';

beforeAll(async () => {
  await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference: obvious loops over the pairs (PML's PairMarginMiner)
// ---------------------------------------------------------------------------------------------

type Rows = number[][];
interface Kind {
  readonly label: string;
  readonly make: () => Distance;
  readonly similarity: boolean;
  readonly of: (a: number[], b: number[]) => number;
}
interface PlainPairs {
  anchorPos: number[];
  positive: number[];
  anchorNeg: number[];
  negative: number[];
}

const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * (b[i] as number), 0);
const unit = (v: number[]): number[] => {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
};
const euclidean = (a: number[], b: number[]): number => Math.sqrt(a.reduce((s, v, i) => s + (v - (b[i] as number)) ** 2, 0));
const KINDS: readonly Kind[] = [
  { label: 'lpDistance()', make: () => lpDistance(), similarity: false, of: (a, b) => euclidean(unit(a), unit(b)) },
  { label: 'lpDistance({ normalize: false })', make: () => lpDistance({ normalize: false }), similarity: false, of: euclidean },
  { label: 'cosineSimilarity()', make: () => cosineSimilarity(), similarity: true, of: (a, b) => dot(unit(a), unit(b)) },
  { label: 'dotProductSimilarity()', make: () => dotProductSimilarity(), similarity: true, of: dot },
];
const kind = (label: string): Kind => KINDS.find((k) => k.label === label) as Kind;

/** Rows as float32 would hold them, so the reference starts from the values the tensors hold. */
function randomBatch(seed: number, n: number, dims: number, classes: number): { rows: Rows; labels: number[] } {
  const rng = new Rng(seed);
  const rows = Array.from({ length: n }, () => Array.from({ length: dims }, () => Math.fround(rng.normal())));
  const labels = Array.from({ length: n }, () => rng.int(classes));
  return { rows, labels };
}

function matrixOf(metric: Kind, rows: Rows, refRows: Rows = rows): Rows {
  return rows.map((a) => refRows.map((b) => metric.of(a, b)));
}

function referencePairs(
  values: Rows,
  labels: number[],
  refLabels: number[] | undefined,
  posMargin: number,
  negMargin: number,
  similarity: boolean,
): PlainPairs {
  const columns = refLabels ?? labels;
  const out: PlainPairs = { anchorPos: [], positive: [], anchorNeg: [], negative: [] };
  labels.forEach((label, i) => {
    columns.forEach((other, j) => {
      const value = (values[i] as number[])[j] as number;
      if (other === label) {
        if (refLabels === undefined && i === j) return;
        if (similarity ? value < posMargin : value > posMargin) out.anchorPos.push(i), out.positive.push(j);
      } else if (similarity ? value > negMargin : value < negMargin) {
        out.anchorNeg.push(i), out.negative.push(j);
      }
    });
  });
  return out;
}

/** Values of the positive (or negative) pairs, for choosing margins and checking for near-ties. */
function pairValues(values: Rows, labels: number[], refLabels: number[] | undefined, positive: boolean): number[] {
  const columns = refLabels ?? labels;
  const out: number[] = [];
  labels.forEach((label, i) =>
    columns.forEach((other, j) => {
      if (refLabels === undefined && i === j) return;
      if ((other === label) === positive) out.push((values[i] as number[])[j] as number);
    }),
  );
  return out;
}

/**
 * A margin inside the sorted values near quantile `q`: the midpoint of the widest gap between
 * neighbours in a window around it, so no value lies within float32 error of the margin (a tie).
 */
function marginAt(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const k = Math.min(sorted.length - 2, Math.max(0, Math.round(q * (sorted.length - 1))));
  const window = Math.max(2, Math.floor(sorted.length / 8));
  let best = k;
  for (let i = Math.max(0, k - window); i <= Math.min(sorted.length - 2, k + window); i++) {
    if ((sorted[i + 1] as number) - (sorted[i] as number) > (sorted[best + 1] as number) - (sorted[best] as number)) best = i;
  }
  const low = sorted[best] as number;
  const high = sorted[best + 1] as number;
  expect(high - low, 'gap around the chosen margin').toBeGreaterThan(2e-4 * Math.max(1, Math.abs(low)));
  return (low + high) / 2;
}

/** Smallest |value - margin| (relative), to assert that a fixed margin has no near-tie. */
function nearestTie(values: number[], margin: number): number {
  return Math.min(...values.map((v) => Math.abs(v - margin) / Math.max(1, Math.abs(margin))));
}

function read(tuples: PairTuples): PlainPairs {
  return {
    anchorPos: Array.from(tuples.anchorPos.dataSync()),
    positive: Array.from(tuples.positive.dataSync()),
    anchorNeg: Array.from(tuples.anchorNeg.dataSync()),
    negative: Array.from(tuples.negative.dataSync()),
  };
}

function disposeTuples(tuples: Tuples): void {
  if (tuples.kind === 'pairs') tf.dispose([tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative]);
  else tf.dispose([tuples.anchor, tuples.positive, tuples.negative]);
}

function mine(miner: ReturnType<typeof pairMarginMiner>, rows: Rows, labels: number[], ref?: { rows: Rows; labels: number[] }): PlainPairs {
  const embeddings = tf.tensor2d(rows);
  const labelTensor = tf.tensor1d(labels, 'int32');
  const refTensors =
    ref === undefined ? undefined : { embeddings: tf.tensor2d(ref.rows), labels: tf.tensor1d(ref.labels, 'int32') };
  try {
    const tuples = miner.mine(refTensors === undefined ? { embeddings, labels: labelTensor } : { embeddings, labels: labelTensor, ref: refTensors });
    expect(tuples.kind).toBe('pairs');
    const pairs = tuples as PairTuples;
    for (const tensor of [pairs.anchorPos, pairs.positive, pairs.anchorNeg, pairs.negative]) {
      expect(tensor.dtype).toBe('int32');
      expect(tensor.rank).toBe(1);
    }
    const out = read(pairs);
    disposeTuples(pairs);
    return out;
  } finally {
    tf.dispose([embeddings, labelTensor]);
    if (refTensors !== undefined) tf.dispose([refTensors.embeddings, refTensors.labels]);
  }
}

function int32(values: number[]): tf.Tensor1D {
  return tf.tensor1d(values, 'int32');
}

// ---------------------------------------------------------------------------------------------

describe('pairMarginMiner: hand-computed', () => {
  // Unit vectors at 0°, 60°, 90°, 180°: d = 2 sin(Δθ / 2).
  const rows = [
    [1, 0],
    [0.5, Math.sqrt(3) / 2],
    [0, 1],
    [-1, 0],
  ];
  const labels = [0, 0, 1, 1];

  it('returns the TSDoc example', () => {
    expect(mine(pairMarginMiner(), rows, labels)).toEqual({ anchorPos: [0, 1, 2, 3], positive: [1, 0, 3, 2], anchorNeg: [1, 2], negative: [2, 1] });
  });

  it('flips the comparisons for a similarity', () => {
    // cos: (0,1) 0.5, (2,3) 0; (0,2) 0, (0,3) -1, (1,2) 0.866, (1,3) -0.5
    const miner = pairMarginMiner({ posMargin: 0.4, negMargin: -0.2, distance: cosineSimilarity() });
    expect(mine(miner, rows, labels)).toEqual({ anchorPos: [2, 3], positive: [3, 2], anchorNeg: [0, 1, 2, 2], negative: [2, 2, 0, 1] });
  });

  it('keeps a same-label reference copy of the anchor as a positive (no self-exclusion with ref)', () => {
    const miner = pairMarginMiner({ posMargin: -1, negMargin: 3 });
    expect(mine(miner, [[1, 0]], [0])).toEqual({ anchorPos: [], positive: [], anchorNeg: [], negative: [] });
    const withRef = mine(miner, [[1, 0]], [0], { rows: [[1, 0], [0, 1], [2, 0]], labels: [0, 1, 0] });
    expect(withRef).toEqual({ anchorPos: [0, 0], positive: [0, 2], anchorNeg: [0], negative: [1] });
  });
});

describe('pairMarginMiner: float64 reference on random batches', () => {
  const cases = [6, 17, 40].flatMap((n) =>
    [2, 5].flatMap((classes) =>
      KINDS.flatMap((k) =>
        [
          [0.3, 0.7],
          [0.7, 0.3],
        ].map(([posQ, negQ]) => ({ n, classes, kind: k.label, posQ: posQ as number, negQ: negQ as number })),
      ),
    ),
  );

  it.each(cases)('n $n, $classes classes, $kind, margins at quantiles $posQ / $negQ', ({ n, classes, kind: label, posQ, negQ }) => {
    const metric = kind(label);
    const { rows, labels } = randomBatch(1000 + n * 10 + classes, n, 5, classes);
    const values = matrixOf(metric, rows);
    const positives = pairValues(values, labels, undefined, true);
    const negatives = pairValues(values, labels, undefined, false);
    const posMargin = marginAt(positives, posQ);
    const negMargin = marginAt(negatives, negQ);
    const expected = referencePairs(values, labels, undefined, posMargin, negMargin, metric.similarity);
    // The margins split both lists: the case is neither "nothing" nor "everything".
    expect(expected.anchorPos.length).toBeGreaterThan(0);
    expect(expected.anchorPos.length).toBeLessThan(positives.length);
    expect(expected.anchorNeg.length).toBeGreaterThan(0);
    expect(expected.anchorNeg.length).toBeLessThan(negatives.length);
    expect(mine(pairMarginMiner({ posMargin, negMargin, distance: metric.make() }), rows, labels)).toEqual(expected);
  });

  const fixed = [
    { kind: 'lpDistance()', posMargin: undefined, negMargin: undefined },
    { kind: 'lpDistance()', posMargin: 1.2, negMargin: 1.5 },
    { kind: 'lpDistance({ normalize: false })', posMargin: 2.5, negMargin: 3 },
    { kind: 'cosineSimilarity()', posMargin: 0.5, negMargin: 0 },
    { kind: 'dotProductSimilarity()', posMargin: 1, negMargin: -1 },
  ];
  it.each(fixed)('explicit margins $posMargin / $negMargin with $kind', ({ kind: label, posMargin, negMargin }) => {
    const metric = kind(label);
    const pos = posMargin ?? 0.2;
    const neg = negMargin ?? 0.8;
    // Deterministic search for a batch without a pair within float32 error of a margin.
    let seed = 7;
    for (;; seed++) {
      const { rows, labels } = randomBatch(seed, 24, 4, 3);
      const values = matrixOf(metric, rows);
      const gap = Math.min(nearestTie(pairValues(values, labels, undefined, true), pos), nearestTie(pairValues(values, labels, undefined, false), neg));
      if (gap > 1e-4) break;
      expect(seed).toBeLessThan(50);
    }
    const { rows, labels } = randomBatch(seed, 24, 4, 3);
    const expected = referencePairs(matrixOf(metric, rows), labels, undefined, pos, neg, metric.similarity);
    const options = label === 'lpDistance()' && posMargin === undefined ? {} : { posMargin: pos, negMargin: neg, distance: metric.make() };
    expect(mine(pairMarginMiner(options), rows, labels)).toEqual(expected);
  });

  it.each(KINDS.map((k) => ({ kind: k.label })))('mines against a ref with $kind', ({ kind: label }) => {
    const metric = kind(label);
    const batch = randomBatch(31, 9, 6, 3);
    const ref = randomBatch(32, 14, 6, 3);
    const values = matrixOf(metric, batch.rows, ref.rows);
    const posMargin = marginAt(pairValues(values, batch.labels, ref.labels, true), 0.5);
    const negMargin = marginAt(pairValues(values, batch.labels, ref.labels, false), 0.5);
    const expected = referencePairs(values, batch.labels, ref.labels, posMargin, negMargin, metric.similarity);
    expect(mine(pairMarginMiner({ posMargin, negMargin, distance: metric.make() }), batch.rows, batch.labels, ref)).toEqual(expected);
  });
});

describe('pairMarginMiner: edge cases', () => {
  it('single class: positives only', () => {
    const { rows } = randomBatch(3, 8, 4, 1);
    const labels = new Array<number>(8).fill(2);
    const expected = referencePairs(matrixOf(kind('lpDistance()'), rows), labels, undefined, 1.2, 0.8, false);
    const got = mine(pairMarginMiner({ posMargin: 1.2 }), rows, labels);
    expect(got).toEqual(expected);
    expect(got.anchorPos.length).toBeGreaterThan(0);
    expect(got.anchorNeg).toEqual([]);
  });

  it('all labels distinct: negatives only', () => {
    const { rows } = randomBatch(4, 8, 4, 1);
    const labels = [0, 1, 2, 3, 4, 5, 6, 7];
    const expected = referencePairs(matrixOf(kind('lpDistance()'), rows), labels, undefined, 0.2, 1.3, false);
    const got = mine(pairMarginMiner({ negMargin: 1.3 }), rows, labels);
    expect(got).toEqual(expected);
    expect(got.anchorPos).toEqual([]);
    expect(got.anchorNeg.length).toBeGreaterThan(0);
  });

  it('batch of one: four empty [0] int32 tensors', () => {
    const embeddings = tf.tensor2d([[1, 2, 3]]);
    const labels = tf.tensor1d([0], 'int32');
    const tuples = pairMarginMiner({ posMargin: -1, negMargin: 10 }).mine({ embeddings, labels }) as PairTuples;
    for (const tensor of [tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative]) {
      expect(tensor.shape).toEqual([0]);
      expect(tensor.dtype).toBe('int32');
    }
    disposeTuples(tuples);
    tf.dispose([embeddings, labels]);
  });

  it('leaves no tensor behind and returns four owned ones', async () => {
    const { rows, labels } = randomBatch(5, 12, 4, 3);
    const embeddings = tf.tensor2d(rows);
    const labelTensor = tf.tensor1d(labels, 'int32');
    const ref = { embeddings: tf.tensor2d(rows.slice(0, 5)), labels: tf.tensor1d(labels.slice(0, 5), 'int32') };
    const miner = pairMarginMiner();
    await expectNoLeak(() => disposeTuples(miner.mine({ embeddings, labels: labelTensor })));
    await expectNoLeak(() => disposeTuples(miner.mine({ embeddings, labels: labelTensor, ref })));
    const kept = await expectNoLeak(() => miner.mine({ embeddings, labels: labelTensor }), 4);
    disposeTuples(kept);
    tf.dispose([embeddings, labelTensor, ref.embeddings, ref.labels]);
  });
});

describe('pairMarginMiner: errors', () => {
  it('rejects bad options in the factory', () => {
    expectContrastiveError(() => pairMarginMiner(null as never), 'INVALID_ARGUMENT', /Argument 'options' passed to 'pairMarginMiner' must be an object, got null/);
    expectContrastiveError(() => pairMarginMiner({ posMargin: Number.NaN }), 'INVALID_ARGUMENT', /Argument 'posMargin' passed to 'pairMarginMiner' must be a finite number, got NaN/);
    expectContrastiveError(() => pairMarginMiner({ negMargin: '1' as never }), 'INVALID_ARGUMENT', /Argument 'negMargin' passed to 'pairMarginMiner' must be a finite number, got "1"/);
    expectContrastiveError(() => pairMarginMiner({ distance: {} as never }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'pairMarginMiner' must be a Distance/);
  });

  it('rejects bad tensors in mine, naming the argument', () => {
    const miner = pairMarginMiner();
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    const labels = tf.tensor1d([0, 0, 1], 'int32');
    const floatLabels = tf.tensor1d([0, 0, 1]);
    const shortLabels = tf.tensor1d([0, 0], 'int32');
    const vector = tf.tensor1d([1, 2, 3]);
    const wideRef = tf.tensor2d([[1, 0, 0]]);
    const refLabels = tf.tensor1d([0], 'int32');
    const disposed = tf.tensor2d([[1, 0]]);
    disposed.dispose();
    expectContrastiveError(() => miner.mine(undefined as never), 'INVALID_ARGUMENT', /Argument 'input' passed to 'pairMarginMiner'/);
    expectContrastiveError(() => miner.mine({ embeddings: vector as never, labels }), 'SHAPE_MISMATCH', /Argument 'embeddings' passed to 'pairMarginMiner' must be rank 2/);
    expectContrastiveError(() => miner.mine({ embeddings, labels: floatLabels }), 'DTYPE_MISMATCH', /Argument 'labels' passed to 'pairMarginMiner' must have dtype int32, got float32/);
    expectContrastiveError(() => miner.mine({ embeddings, labels: shortLabels }), 'LABEL_COUNT', /Argument 'labels' passed to 'pairMarginMiner' must have 3 entries \(one per embedding\), got 2/);
    expectContrastiveError(() => miner.mine({ embeddings: disposed, labels: shortLabels }), 'DISPOSED', /Argument 'embeddings' passed to 'pairMarginMiner' has been disposed/);
    expectContrastiveError(
      () => miner.mine({ embeddings, labels, ref: { embeddings: wideRef, labels: refLabels } }),
      'SHAPE_MISMATCH',
      /Argument 'ref.embeddings' passed to 'pairMarginMiner' must have 2 columns/,
    );
    tf.dispose([embeddings, labels, floatLabels, shortLabels, vector, wideRef, refLabels]);
  });
});

// ---------------------------------------------------------------------------------------------
// Mined pairs feed the pair losses of @contrastive/losses
// ---------------------------------------------------------------------------------------------

/** PML ContrastiveLoss on given pairs, avgNonZero reduction of each side, float64. */
function referenceContrastive(values: Rows, pairs: PlainPairs, posMargin: number, negMargin: number): number {
  const average = (losses: number[]): number => {
    const nonZero = losses.filter((v) => v > 0).length;
    return nonZero === 0 ? 0 : losses.reduce((s, v) => s + v, 0) / nonZero;
  };
  const at = (i: number, j: number): number => (values[i] as number[])[j] as number;
  const positive = pairs.anchorPos.map((a, k) => Math.max(0, at(a, pairs.positive[k] as number) - posMargin));
  const negative = pairs.anchorNeg.map((a, k) => Math.max(0, negMargin - at(a, pairs.negative[k] as number)));
  return average(positive) + average(negative);
}

/** PML MultiSimilarityLoss (alpha 2, beta 50, base 0.5, cosine) over given pairs, mean over anchors. */
function referenceMultiSimilarity(rows: Rows, pairs: PlainPairs): number {
  const alpha = 2;
  const beta = 50;
  const base = 0.5;
  const similarity = (i: number, j: number): number => dot(unit(rows[i] as number[]), unit(rows[j] as number[]));
  let total = 0;
  rows.forEach((_, a) => {
    const positives = new Set(pairs.positive.filter((_, k) => pairs.anchorPos[k] === a));
    const negatives = new Set(pairs.negative.filter((_, k) => pairs.anchorNeg[k] === a));
    const posSum = [...positives].reduce((s, p) => s + Math.exp(-alpha * (similarity(a, p) - base)), 0);
    const negSum = [...negatives].reduce((s, n) => s + Math.exp(beta * (similarity(a, n) - base)), 0);
    total += (positives.size === 0 ? 0 : Math.log(1 + posSum) / alpha) + (negatives.size === 0 ? 0 : Math.log(1 + negSum) / beta);
  });
  return total / rows.length;
}

describe('pairMarginMiner: mined pairs feed contrastiveLoss and multiSimilarityLoss', () => {
  const losses = [
    {
      name: 'contrastiveLoss',
      loss: () => contrastiveLoss({ posMargin: 0.2, negMargin: 0.8 }),
      reference: (rows: Rows, pairs: PlainPairs) => referenceContrastive(matrixOf(kind('lpDistance()'), rows), pairs, 0.2, 0.8),
    },
    { name: 'multiSimilarityLoss', loss: () => multiSimilarityLoss(), reference: referenceMultiSimilarity },
  ];

  it.each(losses)('$name: value equals the float64 reference and hand-built tuples; the gradient flows', ({ loss: makeLoss, reference }) => {
    const { rows, labels } = randomBatch(11, 16, 6, 4);
    const expectedPairs = referencePairs(matrixOf(kind('lpDistance()'), rows), labels, undefined, 0.2, 0.8, false);
    expect(expectedPairs.anchorPos.length).toBeGreaterThan(0);
    expect(expectedPairs.anchorNeg.length).toBeGreaterThan(0);
    const embeddings = tf.tensor2d(rows);
    const labelTensor = tf.tensor1d(labels, 'int32');
    const mined = pairMarginMiner().mine({ embeddings, labels: labelTensor }) as PairTuples;
    const byHand: PairTuples = {
      kind: 'pairs',
      anchorPos: int32(expectedPairs.anchorPos),
      positive: int32(expectedPairs.positive),
      anchorNeg: int32(expectedPairs.anchorNeg),
      negative: int32(expectedPairs.negative),
    };
    const loss = makeLoss();
    const lossWith = (tuples: PairTuples) => (x: tf.Tensor) => loss.compute({ embeddings: x as tf.Tensor2D, labels: labelTensor, tuples });
    const { value, grad } = tf.valueAndGrad(lossWith(mined))(embeddings);
    const { value: handValue, grad: handGrad } = tf.valueAndGrad(lossWith(byHand))(embeddings);
    const expected = reference(rows, expectedPairs);
    expect(expected).toBeGreaterThan(0);
    expectTensorClose(value, expected, { atol: 1e-5, rtol: 1e-4 });
    expectTensorClose(value, handValue, { atol: 1e-7, rtol: 1e-6 });
    expectTensorClose(grad, handGrad, { atol: 1e-7, rtol: 1e-6 });
    const gradient = Array.from(grad.dataSync());
    expect(gradient.every(Number.isFinite)).toBe(true);
    expect(Math.max(...gradient.map(Math.abs))).toBeGreaterThan(1e-4);
    tf.dispose([value, grad, handValue, handGrad, embeddings, labelTensor]);
    disposeTuples(mined);
    disposeTuples(byHand);
  });
});
