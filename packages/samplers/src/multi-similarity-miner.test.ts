import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { lpDistance } from '@contrastive/core';
import { expectContrastiveError, useTestBackend } from '@contrastive/core/testing';
import { contrastiveLoss, multiSimilarityLoss } from '@contrastive/losses';
import { multiSimilarityMiner } from './multi-similarity-miner.js';
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
// float64 reference: obvious loops (Wang et al. 2019, eq. 7–8; PML's MultiSimilarityMiner)
// ---------------------------------------------------------------------------------------------

/**
 * The miner written from the rule: per anchor, positives P and negatives N (the self-pair in
 * neither); keep n with s_an + ε > min_P s, p with s_ap − ε < max_N s (mirrored for a distance);
 * kept partners by ascending value. Also returns the smallest distance of any decision from its
 * threshold, and of two kept values of one anchor from each other, to reject near-ties.
 */
function referenceMiner(
  values: Rows,
  labels: number[],
  refLabels: number[] | undefined,
  epsilon: number,
  similarity: boolean,
): { pairs: PlainPairs; gap: number; orderGap: number } {
  const columns = refLabels ?? labels;
  const pairs: PlainPairs = { anchorPos: [], positive: [], anchorNeg: [], negative: [] };
  let gap = Infinity;
  let orderGap = Infinity;
  const margin = (a: number, b: number): number => Math.abs(a - b) / Math.max(1, Math.abs(b));
  labels.forEach((label, i) => {
    const row = values[i] as number[];
    const positives: number[] = [];
    const negatives: number[] = [];
    columns.forEach((other, j) => {
      if (refLabels === undefined && i === j) return;
      (other === label ? positives : negatives).push(j);
    });
    if (positives.length === 0 || negatives.length === 0) return;
    const pos = positives.map((j) => row[j] as number);
    const neg = negatives.map((j) => row[j] as number);
    const keptPositives: number[] = [];
    const keptNegatives: number[] = [];
    for (const j of positives) {
      const v = row[j] as number;
      const [lhs, rhs] = similarity ? [v - epsilon, Math.max(...neg)] : [v + epsilon, Math.min(...neg)];
      gap = Math.min(gap, margin(lhs, rhs));
      if (similarity ? lhs < rhs : lhs > rhs) keptPositives.push(j);
    }
    for (const j of negatives) {
      const v = row[j] as number;
      const [lhs, rhs] = similarity ? [v + epsilon, Math.min(...pos)] : [v - epsilon, Math.max(...pos)];
      gap = Math.min(gap, margin(lhs, rhs));
      if (similarity ? lhs > rhs : lhs < rhs) keptNegatives.push(j);
    }
    const byValue = (list: number[]): number[] => {
      const sorted = [...list].sort((a, b) => (row[a] as number) - (row[b] as number));
      for (let k = 1; k < sorted.length; k++) orderGap = Math.min(orderGap, margin(row[sorted[k] as number] as number, row[sorted[k - 1] as number] as number));
      return sorted;
    };
    for (const j of byValue(keptPositives)) pairs.anchorPos.push(i), pairs.positive.push(j);
    for (const j of byValue(keptNegatives)) pairs.anchorNeg.push(i), pairs.negative.push(j);
  });
  return { pairs, gap, orderGap };
}

/**
 * First seed from `start` whose batch has no decision within float32 error of its threshold and no
 * two kept partners of an anchor whose order float32 could swap.
 */
function tieFreeBatch(start: number, n: number, dims: number, classes: number, kind: DistanceKind, epsilon: number, refSize?: number) {
  for (let seed = start; seed < start + 60; seed++) {
    const batch = randomBatch(seed, n, dims, classes);
    const ref = refSize === undefined ? undefined : randomBatch(seed + 10_000, refSize, dims, classes);
    const values = referenceMatrix(kind, batch.rows, ref?.rows);
    const expected = referenceMiner(values, batch.labels, ref?.labels, epsilon, IS_SIMILARITY[kind]);
    if (expected.gap > 1e-4 && expected.orderGap > 1e-5) return { ...batch, ref, expected: expected.pairs };
  }
  throw new Error('no tie-free batch found');
}

// ---------------------------------------------------------------------------------------------

describe('multiSimilarityMiner: hand-computed', () => {
  // Unit vectors at 0°, 60°, 90°, 180°.
  const rows = [
    [1, 0],
    [0.5, Math.sqrt(3) / 2],
    [0, 1],
    [-1, 0],
  ];
  const labels = [0, 0, 1, 1];

  it('returns the TSDoc example (cosine, ε = 0.1)', () => {
    expect(minePairs(multiSimilarityMiner(), rows, labels)).toEqual({ anchorPos: [1, 2], positive: [0, 3], anchorNeg: [1, 2, 2], negative: [2, 0, 1] });
  });

  it('mirrors the rule for a distance', () => {
    // d = 2 sin(Δθ/2): (0,1) 1, (2,3) 1.414; (0,2) 1.414, (0,3) 2, (1,2) 0.518, (1,3) 1.732.
    // anchor 0: min neg 1.414, max pos 1: keep p when 1 + ε > 1.414 (ε = 0.5: yes), n when d − ε < 1
    // (1.414 yes, 2 no); anchor 2 keeps both negatives, by ascending distance: 1 (0.518), 0 (1.414).
    const got = minePairs(multiSimilarityMiner({ epsilon: 0.5, distance: lpDistance() }), rows, labels);
    expect(got).toEqual({ anchorPos: [0, 1, 2, 3], positive: [1, 0, 3, 2], anchorNeg: [0, 1, 2, 2, 3], negative: [2, 2, 1, 0, 1] });
  });

  it('orders the kept partners of an anchor by ascending value, not by column', () => {
    // Anchor 0 with three negatives at decreasing similarity by column: kept as 3, 2, 1 (ascending s).
    const rows2 = [
      [1, 0],
      [0.9, 0.1],
      [0.8, 0.4],
      [0.5, 0.8],
      [0, 1],
    ];
    const got = minePairs(multiSimilarityMiner({ epsilon: 2 }), rows2, [0, 1, 1, 1, 0]);
    expect(got.negative.slice(0, 3)).toEqual([3, 2, 1]);
    expect(got.anchorNeg.slice(0, 3)).toEqual([0, 0, 0]);
  });
});

describe('multiSimilarityMiner: float64 reference on random batches', () => {
  const cases = [8, 20, 45].flatMap((n) =>
    [2, 5].flatMap((classes) =>
      DISTANCE_KINDS.flatMap((kind) => [0, 0.1, 0.3].map((epsilon) => ({ n, classes, label: DISTANCE_LABELS[kind], kind, epsilon }))),
    ),
  );
  let unsortedByColumn = 0;

  it.each(cases)('n $n, $classes classes, $label, epsilon $epsilon', ({ n, classes, kind, epsilon }) => {
    const { rows, labels, expected } = tieFreeBatch(100 + n + classes, n, 6, classes, kind, epsilon);
    const got = minePairs(multiSimilarityMiner({ epsilon, distance: DISTANCES[kind]() }), rows, labels);
    expect(got).toEqual(expected);
    // Count cases where PML's value order differs from column order (the order check has teeth).
    const columnOrdered = got.negative.every((j, k) => k === 0 || got.anchorNeg[k - 1] !== got.anchorNeg[k] || (got.negative[k - 1] as number) < j);
    if (!columnOrdered) unsortedByColumn++;
  });

  it('the random cases exercise the value order', () => {
    expect(unsortedByColumn).toBeGreaterThan(10);
  });

  it('uses cosineSimilarity and epsilon 0.1 by default', () => {
    const { rows, labels, expected } = tieFreeBatch(5, 24, 5, 3, 'cosine', 0.1);
    expect(minePairs(multiSimilarityMiner(), rows, labels)).toEqual(expected);
    expect(expected.anchorNeg.length).toBeGreaterThan(0);
    expect(expected.anchorPos.length).toBeGreaterThan(0);
  });

  it.each(DISTANCE_KINDS.map((kind) => ({ label: DISTANCE_LABELS[kind], kind })))('mines against a ref with $label (no self-pair)', ({ kind }) => {
    const { rows, labels, ref, expected } = tieFreeBatch(40, 9, 5, 3, kind, 0.1, 15);
    expect(minePairs(multiSimilarityMiner({ distance: DISTANCES[kind]() }), rows, labels, ref)).toEqual(expected);
  });

  it('with ref, a same-label copy of the anchor is a positive', () => {
    // Anchor [1, 0] label 0; ref: itself (label 0, s = 1) and [0.8, 0.6] label 1 (s = 0.8). With
    // ε = 0.3, 1 − ε < 0.8 keeps the copy and 0.8 + ε > 1 the negative; were the copy excluded as a
    // self-pair, the anchor would have no positive and keep nothing.
    const got = minePairs(multiSimilarityMiner({ epsilon: 0.3 }), [[1, 0]], [0], { rows: [[1, 0], [0.8, 0.6]], labels: [0, 1] });
    expect(got).toEqual({ anchorPos: [0], positive: [0], anchorNeg: [0], negative: [1] });
  });
});

describe('multiSimilarityMiner: edge cases', () => {
  it('single class, all labels distinct, batch of one: empty [0] int32 tensors', () => {
    const { rows } = randomBatch(9, 6, 3, 1);
    expect(minePairs(multiSimilarityMiner({ epsilon: 10 }), rows, [1, 1, 1, 1, 1, 1])).toEqual(EMPTY_PAIRS);
    expect(minePairs(multiSimilarityMiner({ epsilon: 10 }), rows, [0, 1, 2, 3, 4, 5])).toEqual(EMPTY_PAIRS);
    const embeddings = tf.tensor2d([[1, 2]]);
    const labels = tf.tensor1d([3], 'int32');
    expectEmptyTuples(multiSimilarityMiner().mine({ embeddings, labels }), 'pairs');
    tf.dispose([embeddings, labels]);
  });

  it('an anchor without positives keeps no negative; the self-pair is never returned', () => {
    // Labels [0, 0, 1]: anchor 2 has no positive. A huge ε keeps every candidate of anchors 0 and 1.
    const rows = [
      [1, 0],
      [0, 1],
      [1, 1],
    ];
    const got = minePairs(multiSimilarityMiner({ epsilon: 100, distance: lpDistance() }), rows, [0, 0, 1]);
    expect(got).toEqual({ anchorPos: [0, 1], positive: [1, 0], anchorNeg: [0, 1], negative: [2, 2] });
  });

  it('leaves no tensor behind and returns four owned ones', async () => {
    const { rows, labels } = randomBatch(5, 12, 4, 3);
    await expectMinesWithoutLeak(multiSimilarityMiner(), rows, labels, 4);
  });
});

describe('multiSimilarityMiner: errors', () => {
  it('rejects bad options in the factory', () => {
    expectContrastiveError(() => multiSimilarityMiner(7 as never), 'INVALID_ARGUMENT', /Argument 'options' passed to 'multiSimilarityMiner' must be an object, got number/);
    expectContrastiveError(() => multiSimilarityMiner({ epsilon: Infinity }), 'INVALID_ARGUMENT', /Argument 'epsilon' passed to 'multiSimilarityMiner' must be a finite number, got Infinity/);
    expectContrastiveError(
      () => multiSimilarityMiner({ distance: 'cosine' as never }),
      'INVALID_ARGUMENT',
      /Argument 'distance' passed to 'multiSimilarityMiner' must be a Distance \(e\.g\. cosineSimilarity\(\)\), got string/,
    );
  });

  it('rejects bad tensors in mine, naming the argument', () => {
    const miner = multiSimilarityMiner();
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    const intEmbeddings = tf.tensor2d([[1, 0], [0, 1], [1, 1]], undefined, 'int32');
    const labels = tf.tensor1d([0, 0, 1], 'int32');
    const longLabels = tf.tensor1d([0, 0, 1, 1], 'int32');
    const refEmbeddings = tf.tensor2d([[1, 0], [0, 1]]);
    expectContrastiveError(() => miner.mine({ embeddings: intEmbeddings as never, labels }), 'DTYPE_MISMATCH', /Argument 'embeddings' passed to 'multiSimilarityMiner' must have dtype float32, got int32/);
    expectContrastiveError(() => miner.mine({ embeddings, labels: longLabels }), 'LABEL_COUNT', /Argument 'labels' passed to 'multiSimilarityMiner' must have 3 entries/);
    expectContrastiveError(() => miner.mine({ embeddings, labels, ref: null as never }), 'INVALID_ARGUMENT', /Argument 'ref' passed to 'multiSimilarityMiner' must be \{ embeddings, labels \}, got null/);
    expectContrastiveError(
      () => miner.mine({ embeddings, labels, ref: { embeddings: refEmbeddings, labels } }),
      'LABEL_COUNT',
      /Argument 'ref.labels' passed to 'multiSimilarityMiner' must have 2 entries/,
    );
    tf.dispose([embeddings, intEmbeddings, labels, longLabels, refEmbeddings]);
  });
});

// ---------------------------------------------------------------------------------------------
// Mined pairs feed multiSimilarityLoss (the paper's pairing) and contrastiveLoss
// ---------------------------------------------------------------------------------------------

describe('multiSimilarityMiner: mined pairs feed multiSimilarityLoss and contrastiveLoss', () => {
  const losses = [
    { name: 'multiSimilarityLoss', loss: () => multiSimilarityLoss(), reference: referenceMultiSimilarityLoss },
    {
      name: 'contrastiveLoss',
      loss: () => contrastiveLoss(),
      // posMargin 0, negMargin 1, normalised Euclidean.
      reference: (rows: Rows, pairs: PlainPairs) => referenceContrastiveLoss(referenceMatrix('lp', rows), pairs, 0, 1),
    },
  ];

  it.each(losses)('$name: value equals the float64 reference and hand-built tuples; the gradient flows', ({ loss, reference }) => {
    const { rows, labels, expected } = tieFreeBatch(60, 16, 6, 4, 'cosine', 0.1);
    expect(expected.anchorPos.length).toBeGreaterThan(0);
    expect(expected.anchorNeg.length).toBeGreaterThan(0);
    const expectedValue = reference(rows, expected);
    expect(expectedValue).toBeGreaterThan(0);
    expectMinedTuplesFeedLoss(multiSimilarityMiner(), loss(), rows, labels, expected, expectedValue);
  });
});
