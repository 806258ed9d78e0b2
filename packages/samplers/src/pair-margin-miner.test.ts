import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { cosineSimilarity } from '@contrastive/core';
import { expectContrastiveError, useTestBackend } from '@contrastive/core/testing';
import { contrastiveLoss, multiSimilarityLoss } from '@contrastive/losses';
import { pairMarginMiner } from './pair-margin-miner.js';
import {
  DISTANCES,
  DISTANCE_KINDS,
  DISTANCE_LABELS,
  EMPTY_PAIRS,
  IS_SIMILARITY,
  expectEmptyTuples,
  expectMinedTuplesFeedLoss,
  expectMinesWithoutLeak,
  minePairs,
  randomBatch,
  referenceContrastiveLoss,
  referenceMatrix,
  referenceMultiSimilarityLoss,
} from './test-support/miners.js';
import type { DistanceKind, PlainPairs, Rows } from './test-support/miners.js';

beforeAll(async () => {
  await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference: obvious loops over the pairs (PML's PairMarginMiner)
// ---------------------------------------------------------------------------------------------

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
    expect(minePairs(pairMarginMiner(), rows, labels)).toEqual({ anchorPos: [0, 1, 2, 3], positive: [1, 0, 3, 2], anchorNeg: [1, 2], negative: [2, 1] });
  });

  it('flips the comparisons for a similarity', () => {
    // cos: (0,1) 0.5, (2,3) 0; (0,2) 0, (0,3) -1, (1,2) 0.866, (1,3) -0.5
    const miner = pairMarginMiner({ posMargin: 0.4, negMargin: -0.2, distance: cosineSimilarity() });
    expect(minePairs(miner, rows, labels)).toEqual({ anchorPos: [2, 3], positive: [3, 2], anchorNeg: [0, 1, 2, 2], negative: [2, 2, 0, 1] });
  });

  it('keeps a same-label reference copy of the anchor as a positive (no self-exclusion with ref)', () => {
    const miner = pairMarginMiner({ posMargin: -1, negMargin: 3 });
    expect(minePairs(miner, [[1, 0]], [0])).toEqual(EMPTY_PAIRS);
    const withRef = minePairs(miner, [[1, 0]], [0], { rows: [[1, 0], [0, 1], [2, 0]], labels: [0, 1, 0] });
    expect(withRef).toEqual({ anchorPos: [0, 0], positive: [0, 2], anchorNeg: [0], negative: [1] });
  });
});

describe('pairMarginMiner: float64 reference on random batches', () => {
  const cases = [6, 17, 40].flatMap((n) =>
    [2, 5].flatMap((classes) =>
      DISTANCE_KINDS.flatMap((kind) =>
        [
          [0.3, 0.7],
          [0.7, 0.3],
        ].map(([posQ, negQ]) => ({ n, classes, label: DISTANCE_LABELS[kind], kind, posQ: posQ as number, negQ: negQ as number })),
      ),
    ),
  );

  it.each(cases)('n $n, $classes classes, $label, margins at quantiles $posQ / $negQ', ({ n, classes, kind, posQ, negQ }) => {
    const { rows, labels } = randomBatch(1000 + n * 10 + classes, n, 5, classes);
    const values = referenceMatrix(kind, rows);
    const positives = pairValues(values, labels, undefined, true);
    const negatives = pairValues(values, labels, undefined, false);
    const posMargin = marginAt(positives, posQ);
    const negMargin = marginAt(negatives, negQ);
    const expected = referencePairs(values, labels, undefined, posMargin, negMargin, IS_SIMILARITY[kind]);
    // The margins split both lists: the case is neither "nothing" nor "everything".
    expect(expected.anchorPos.length).toBeGreaterThan(0);
    expect(expected.anchorPos.length).toBeLessThan(positives.length);
    expect(expected.anchorNeg.length).toBeGreaterThan(0);
    expect(expected.anchorNeg.length).toBeLessThan(negatives.length);
    expect(minePairs(pairMarginMiner({ posMargin, negMargin, distance: DISTANCES[kind]() }), rows, labels)).toEqual(expected);
  });

  const fixed: { kind: DistanceKind; posMargin: number | undefined; negMargin: number | undefined }[] = [
    { kind: 'lp', posMargin: undefined, negMargin: undefined },
    { kind: 'lp', posMargin: 1.2, negMargin: 1.5 },
    { kind: 'lpRaw', posMargin: 2.5, negMargin: 3 },
    { kind: 'cosine', posMargin: 0.5, negMargin: 0 },
    { kind: 'dot', posMargin: 1, negMargin: -1 },
  ];
  it.each(fixed.map((c) => ({ ...c, label: DISTANCE_LABELS[c.kind] })))('explicit margins $posMargin / $negMargin with $label', ({ kind, posMargin, negMargin }) => {
    const pos = posMargin ?? 0.2;
    const neg = negMargin ?? 0.8;
    // Deterministic search for a batch without a pair within float32 error of a margin.
    let seed = 7;
    for (;; seed++) {
      const { rows, labels } = randomBatch(seed, 24, 4, 3);
      const values = referenceMatrix(kind, rows);
      const gap = Math.min(nearestTie(pairValues(values, labels, undefined, true), pos), nearestTie(pairValues(values, labels, undefined, false), neg));
      if (gap > 1e-4) break;
      expect(seed).toBeLessThan(50);
    }
    const { rows, labels } = randomBatch(seed, 24, 4, 3);
    const expected = referencePairs(referenceMatrix(kind, rows), labels, undefined, pos, neg, IS_SIMILARITY[kind]);
    const options = kind === 'lp' && posMargin === undefined ? {} : { posMargin: pos, negMargin: neg, distance: DISTANCES[kind]() };
    expect(minePairs(pairMarginMiner(options), rows, labels)).toEqual(expected);
  });

  it.each(DISTANCE_KINDS.map((kind) => ({ label: DISTANCE_LABELS[kind], kind })))('mines against a ref with $label', ({ kind }) => {
    const batch = randomBatch(31, 9, 6, 3);
    const ref = randomBatch(32, 14, 6, 3);
    const values = referenceMatrix(kind, batch.rows, ref.rows);
    const posMargin = marginAt(pairValues(values, batch.labels, ref.labels, true), 0.5);
    const negMargin = marginAt(pairValues(values, batch.labels, ref.labels, false), 0.5);
    const expected = referencePairs(values, batch.labels, ref.labels, posMargin, negMargin, IS_SIMILARITY[kind]);
    expect(minePairs(pairMarginMiner({ posMargin, negMargin, distance: DISTANCES[kind]() }), batch.rows, batch.labels, ref)).toEqual(expected);
  });
});

describe('pairMarginMiner: edge cases', () => {
  it('single class: positives only', () => {
    const { rows } = randomBatch(3, 8, 4, 1);
    const labels = new Array<number>(8).fill(2);
    const expected = referencePairs(referenceMatrix('lp', rows), labels, undefined, 1.2, 0.8, false);
    const got = minePairs(pairMarginMiner({ posMargin: 1.2 }), rows, labels);
    expect(got).toEqual(expected);
    expect(got.anchorPos.length).toBeGreaterThan(0);
    expect(got.anchorNeg).toEqual([]);
  });

  it('all labels distinct: negatives only', () => {
    const { rows } = randomBatch(4, 8, 4, 1);
    const labels = [0, 1, 2, 3, 4, 5, 6, 7];
    const expected = referencePairs(referenceMatrix('lp', rows), labels, undefined, 0.2, 1.3, false);
    const got = minePairs(pairMarginMiner({ negMargin: 1.3 }), rows, labels);
    expect(got).toEqual(expected);
    expect(got.anchorPos).toEqual([]);
    expect(got.anchorNeg.length).toBeGreaterThan(0);
  });

  it('batch of one: four empty [0] int32 tensors', () => {
    const embeddings = tf.tensor2d([[1, 2, 3]]);
    const labels = tf.tensor1d([0], 'int32');
    expectEmptyTuples(pairMarginMiner({ posMargin: -1, negMargin: 10 }).mine({ embeddings, labels }), 'pairs');
    tf.dispose([embeddings, labels]);
  });

  it('leaves no tensor behind and returns four owned ones', async () => {
    const { rows, labels } = randomBatch(5, 12, 4, 3);
    await expectMinesWithoutLeak(pairMarginMiner(), rows, labels, 4);
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

describe('pairMarginMiner: mined pairs feed contrastiveLoss and multiSimilarityLoss', () => {
  const losses = [
    {
      name: 'contrastiveLoss',
      loss: () => contrastiveLoss({ posMargin: 0.2, negMargin: 0.8 }),
      reference: (rows: Rows, pairs: PlainPairs) => referenceContrastiveLoss(referenceMatrix('lp', rows), pairs, 0.2, 0.8),
    },
    { name: 'multiSimilarityLoss', loss: () => multiSimilarityLoss(), reference: referenceMultiSimilarityLoss },
  ];

  it.each(losses)('$name: value equals the float64 reference and hand-built tuples; the gradient flows', ({ loss, reference }) => {
    const { rows, labels } = randomBatch(11, 16, 6, 4);
    const expectedPairs = referencePairs(referenceMatrix('lp', rows), labels, undefined, 0.2, 0.8, false);
    expect(expectedPairs.anchorPos.length).toBeGreaterThan(0);
    expect(expectedPairs.anchorNeg.length).toBeGreaterThan(0);
    const expected = reference(rows, expectedPairs);
    expect(expected).toBeGreaterThan(0);
    expectMinedTuplesFeedLoss(pairMarginMiner(), loss(), rows, labels, expectedPairs, expected);
  });
});
