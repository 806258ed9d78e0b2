import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, cosineSimilarity, lpDistance } from '@contrastive/core';
import type { Distance, Reference } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { contrastiveLoss, tripletMarginLoss } from '@contrastive/losses';
import { batchEasyHardMiner, batchHardMiner } from './batch-hard-miner.js';
import type { BatchEasyHardStrategy } from './batch-hard-miner.js';
import {
  DISTANCES,
  IS_SIMILARITY,
  NO_TUPLE_BATCHES,
  TIE_GAP,
  asPairs,
  asTriplets,
  disposeTuples,
  expectEmptyTuples,
  expectGradientFlows,
  expectLossEqualsExplicitTriplets,
  float32Rows,
  goldenMinerCases,
  goldenMinerInput,
  randomLabels,
  randomRows,
  readPairs,
  readTriplets,
  referenceMatrix,
  scaleOf,
  tensors,
} from './test-support/miners.js';
import type { DistanceKind, PlainPairs, PlainTriplets, Rows } from './test-support/miners.js';

beforeAll(async () => {
  await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference (PML's BatchEasyHardMiner / BatchHardMiner semantics, as obvious loops)
// ---------------------------------------------------------------------------------------------

interface ReferenceResult {
  a1: number[];
  p: number[];
  a2: number[];
  n: number[];
  /** Smallest gap between two values any decision compared (ties make float32 vs float64 ambiguous). */
  gap: number;
}

/**
 * Picks per anchor as PML's BatchEasyHardMiner documents them, written with "hardness" in distance
 * terms (similarities negated): hard positive = largest distance, easy positive = smallest; hard
 * negative = smallest distance, easy negative = largest; semihard negative = smallest distance
 * greater than the chosen positive's; semihard positive = largest distance smaller than the chosen
 * negative's. Ties: first column.
 */
function referenceEasyHard(
  raw: Rows,
  labels: number[],
  refLabels: number[],
  self: boolean,
  isSimilarity: boolean,
  positiveStrategy: BatchEasyHardStrategy,
  negativeStrategy: BatchEasyHardStrategy,
  positiveRange?: [number, number],
  negativeRange?: [number, number],
): ReferenceResult {
  let gap = Infinity;
  const dist = (i: number, j: number): number => (isSimilarity ? -(raw[i]![j] as number) : (raw[i]![j] as number));
  const isPos = (i: number, j: number): boolean => labels[i] === refLabels[j] && !(self && i === j);
  const isNeg = (i: number, j: number): boolean => labels[i] !== refLabels[j];
  const inRange = (i: number, j: number, range?: [number, number]): boolean => {
    if (range === undefined) return true;
    const v = raw[i]![j] as number;
    gap = Math.min(gap, Math.abs(v - range[0]), Math.abs(v - range[1]));
    return v >= range[0] && v <= range[1];
  };
  /** Best candidate of row i: `want` 'max' or 'min' distance, among `ok` columns. */
  const pick = (i: number, ok: (j: number) => boolean, want: 'max' | 'min'): number | undefined => {
    const candidates: number[] = [];
    for (let j = 0; j < refLabels.length; j++) if (ok(j)) candidates.push(j);
    if (candidates.length === 0) return undefined;
    let best = candidates[0] as number;
    for (const j of candidates) {
      if (want === 'max' ? dist(i, j) > dist(i, best) : dist(i, j) < dist(i, best)) best = j;
    }
    for (const j of candidates) if (j !== best) gap = Math.min(gap, Math.abs(dist(i, j) - dist(i, best)));
    return best;
  };
  const out: ReferenceResult = { a1: [], p: [], a2: [], n: [], gap };
  const positiveWant = (s: BatchEasyHardStrategy): 'max' | 'min' => (s === 'easy' ? 'min' : 'max');
  const negativeWant = (s: BatchEasyHardStrategy): 'max' | 'min' => (s === 'easy' ? 'max' : 'min');
  const positives: (number | undefined)[] = [];
  const negatives: (number | undefined)[] = [];
  for (let i = 0; i < labels.length; i++) {
    let p: number | undefined;
    let n: number | undefined;
    if (positiveStrategy === 'semihard') {
      n = pick(i, (j) => isNeg(i, j) && inRange(i, j, negativeRange), negativeWant(negativeStrategy));
      if (n !== undefined) {
        const limit = dist(i, n);
        p = pick(
          i,
          (j) => {
            if (!isPos(i, j) || !inRange(i, j, positiveRange)) return false;
            gap = Math.min(gap, Math.abs(dist(i, j) - limit));
            return dist(i, j) < limit;
          },
          'max',
        );
      }
    } else if (negativeStrategy === 'semihard') {
      p = pick(i, (j) => isPos(i, j) && inRange(i, j, positiveRange), positiveWant(positiveStrategy));
      if (p !== undefined) {
        const limit = dist(i, p);
        n = pick(
          i,
          (j) => {
            if (!isNeg(i, j) || !inRange(i, j, negativeRange)) return false;
            gap = Math.min(gap, Math.abs(dist(i, j) - limit));
            return dist(i, j) > limit;
          },
          'min',
        );
      }
    } else {
      if (positiveStrategy !== 'all') p = pick(i, (j) => isPos(i, j) && inRange(i, j, positiveRange), positiveWant(positiveStrategy));
      if (negativeStrategy !== 'all') n = pick(i, (j) => isNeg(i, j) && inRange(i, j, negativeRange), negativeWant(negativeStrategy));
    }
    positives.push(p);
    negatives.push(n);
  }
  const allOf = (ok: (i: number, j: number) => boolean): [number[], number[]] => {
    const anchors: number[] = [];
    const others: number[] = [];
    for (let i = 0; i < labels.length; i++) {
      for (let j = 0; j < refLabels.length; j++) {
        if (ok(i, j)) {
          anchors.push(i);
          others.push(j);
        }
      }
    }
    return [anchors, others];
  };
  if (positiveStrategy !== 'all' && negativeStrategy !== 'all') {
    for (let i = 0; i < labels.length; i++) {
      if (positives[i] !== undefined && negatives[i] !== undefined) {
        out.a1.push(i);
        out.p.push(positives[i] as number);
        out.a2.push(i);
        out.n.push(negatives[i] as number);
      }
    }
  } else {
    if (positiveStrategy === 'all') [out.a1, out.p] = allOf(isPos);
    else {
      for (let i = 0; i < labels.length; i++) {
        if (positives[i] !== undefined) {
          out.a1.push(i);
          out.p.push(positives[i] as number);
        }
      }
    }
    if (negativeStrategy === 'all') [out.a2, out.n] = allOf(isNeg);
    else {
      for (let i = 0; i < labels.length; i++) {
        if (negatives[i] !== undefined) {
          out.a2.push(i);
          out.n.push(negatives[i] as number);
        }
      }
    }
  }
  out.gap = gap;
  return out;
}

/** The reference's picks as the plain pairs `readPairs` returns. */
function plainPairs(r: ReferenceResult): PlainPairs {
  return { anchorPos: r.a1, positive: r.p, anchorNeg: r.a2, negative: r.n };
}

/** The reference's picks (one positive and one negative per anchor) as the plain triplets `readTriplets` returns. */
function plainTriplets(r: ReferenceResult): PlainTriplets {
  return { anchor: r.a1, positive: r.p, negative: r.n };
}

// ---------------------------------------------------------------------------------------------
// batchHardMiner
// ---------------------------------------------------------------------------------------------

describe('batchHardMiner', () => {
  const cases = goldenMinerCases<{ distance: string }, { anchors: number[]; positives: number[]; negatives: number[] }>('BatchHardMiner');

  it('has the golden cases', () => {
    expect(cases.map((c) => c.name).sort()).toEqual(['batchhard_cosine_s16x8', 'batchhard_lp_normalized_s16x8']);
  });

  it.each(cases.map((c) => [c.name, c] as const))('golden %s returns exactly PML anchors / positives / negatives', (_, c) => {
    const input = goldenMinerInput(c);
    const { embeddings, labels } = tensors(input.rows, input.labels);
    const distance = c.params.distance.startsWith('CosineSimilarity') ? cosineSimilarity() : lpDistance();
    const miner = batchHardMiner({ distance });
    expect(miner.name).toBe('batchHardMiner');
    const mined = readTriplets(miner.mine({ embeddings, labels }));
    expect(mined.anchor).toEqual(c.expected.anchors);
    expect(mined.positive).toEqual(c.expected.positives);
    expect(mined.negative).toEqual(c.expected.negatives);
    tf.dispose([embeddings, labels]);
  });

  it('uses lpDistance() (Euclidean on L2-normalised rows) by default', () => {
    // Scaling rows changes raw Euclidean distances but not normalised ones.
    const rows = [[1, 0], [10, 1], [0, 1], [1, 10]];
    const { embeddings, labels } = tensors(rows, [0, 0, 1, 1]);
    const byDefault = readTriplets(batchHardMiner().mine({ embeddings, labels }));
    const explicit = readTriplets(batchHardMiner({ distance: lpDistance() }).mine({ embeddings, labels }));
    expect(byDefault).toEqual(explicit);
    // Normalised, (1, 10) at 84° is closer to (1, 0) than (0, 1) at 90°: the hardest negative of 0 is 3
    // (raw Euclidean would give 2).
    expect(byDefault.negative).toEqual([3, 3, 1, 1]);
    tf.dispose([embeddings, labels]);
  });

  it('reproduces its TSDoc example', () => {
    const { embeddings, labels } = tensors([[0], [1], [3], [4], [6]], [0, 0, 0, 1, 1]);
    const mined = readTriplets(batchHardMiner({ distance: lpDistance({ normalize: false }) }).mine({ embeddings, labels }));
    expect(mined).toEqual({ anchor: [0, 1, 2, 3, 4], positive: [2, 2, 0, 4, 3], negative: [3, 3, 3, 2, 2] });
    tf.dispose([embeddings, labels]);
  });

  const randomCases: [number, number, number, DistanceKind, number][] = [];
  for (const [n, d, classes] of [
    [8, 4, 2],
    [24, 8, 3],
    [40, 16, 7],
  ] as const) {
    for (const kind of ['lp', 'lpRaw', 'cosine', 'dot'] as const) randomCases.push([n, d, classes, kind, 100 + n + classes]);
  }

  it.each(randomCases)('equals the float64 reference: n=%i d=%i classes=%i distance=%s', (n, d, classes, kind, seed) => {
    const rng = new Rng(seed);
    const rows = float32Rows(randomRows(rng, n, d));
    const labelList = randomLabels(rng, n, classes);
    const raw = referenceMatrix(kind, rows, rows);
    const expected = referenceEasyHard(raw, labelList, labelList, true, IS_SIMILARITY[kind], 'hard', 'hard');
    expect(expected.gap / scaleOf(raw)).toBeGreaterThan(TIE_GAP);
    expect(expected.a1.length).toBeGreaterThan(0);
    const { embeddings, labels } = tensors(rows, labelList);
    const mined = readTriplets(batchHardMiner({ distance: DISTANCES[kind]() }).mine({ embeddings, labels }));
    expect(mined).toEqual(plainTriplets(expected));
    tf.dispose([embeddings, labels]);
  });

  it.each(['lp', 'cosine', 'dot'] as const)('with ref: positives and negatives are reference rows, no self-exclusion (%s)', (kind) => {
    const rng = new Rng(7);
    const rows = float32Rows(randomRows(rng, 12, 6));
    const refRows = float32Rows(randomRows(rng, 20, 6));
    const labelList = randomLabels(rng, 12, 3);
    const refLabelList = randomLabels(rng, 20, 3);
    const raw = referenceMatrix(kind, rows, refRows);
    const expected = referenceEasyHard(raw, labelList, refLabelList, false, IS_SIMILARITY[kind], 'hard', 'hard');
    expect(expected.gap / scaleOf(raw)).toBeGreaterThan(TIE_GAP);
    const { embeddings, labels } = tensors(rows, labelList);
    const ref: Reference = { embeddings: tf.tensor2d(refRows), labels: tf.tensor1d(refLabelList, 'int32') };
    const mined = readTriplets(batchHardMiner({ distance: DISTANCES[kind]() }).mine({ embeddings, labels, ref }));
    expect(mined).toEqual(plainTriplets(expected));
    tf.dispose([embeddings, labels, ref.embeddings, ref.labels]);
  });

  it('with ref = a copy of the batch, each anchor may take its own copy (easy) and the copy counts as a positive', () => {
    // Only two points per class, the copy of the anchor is its nearest positive: with the batch as its
    // own reference (no self-exclusion), the easiest positive is the anchor's copy at distance 0.
    const rows = [[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]];
    const { embeddings, labels } = tensors(rows, [0, 0, 1, 1]);
    const ref: Reference = { embeddings: tf.tensor2d(rows), labels: tf.tensor1d([0, 0, 1, 1], 'int32') };
    const easy = readPairs(batchEasyHardMiner({ negativeStrategy: 'hard' }).mine({ embeddings, labels, ref }));
    expect(easy.positive).toEqual([0, 1, 2, 3]);
    const hard = readTriplets(batchHardMiner().mine({ embeddings, labels, ref }));
    expect(hard.positive).toEqual([1, 0, 3, 2]);
    expect(hard.negative).toEqual([2, 2, 1, 1]);
    tf.dispose([embeddings, labels, ref.embeddings, ref.labels]);
  });

  it('breaks ties by the first column (as torch.max / torch.min)', () => {
    // Anchor 0 at 0: positives 2 and -2 (equal distances), negatives 1 and -1 (equal distances).
    const { embeddings, labels } = tensors([[0], [1], [2], [-1], [-2]], [0, 1, 0, 1, 0]);
    const mined = readTriplets(batchHardMiner({ distance: lpDistance({ normalize: false }) }).mine({ embeddings, labels }));
    expect(mined.anchor[0]).toBe(0);
    expect(mined.positive[0]).toBe(2);
    expect(mined.negative[0]).toBe(1);
    tf.dispose([embeddings, labels]);
  });

  it('takes the extreme over the candidates only, also when every candidate similarity is negative', () => {
    // PML's mat * mask would let a masked 0 win the row maximum here; the true hardest negative is 1.
    const rows = [[1, 0], [-0.6, 0.8], [-1, 0.1], [0.9, 0.1]];
    const { embeddings, labels } = tensors(rows, [0, 1, 1, 0]);
    const mined = readTriplets(batchHardMiner({ distance: cosineSimilarity() }).mine({ embeddings, labels }));
    expect(mined.anchor).toEqual([0, 1, 2, 3]);
    expect(mined.negative[0]).toBe(1);
    expect(mined.negative[3]).toBe(1);
    tf.dispose([embeddings, labels]);
  });

  it.each(NO_TUPLE_BATCHES)('%s gives empty [0] int32 tuples', async (_, rows, labelList) => {
    const { embeddings, labels } = tensors(rows, labelList);
    expectEmptyTuples(await expectNoLeak(() => batchHardMiner().mine({ embeddings, labels }), 3), 'triplets');
    tf.dispose([embeddings, labels]);
  });

  it('leaves no tensor behind: only the three returned ones, which the caller disposes', async () => {
    const rng = new Rng(3);
    const { embeddings, labels } = tensors(randomRows(rng, 16, 4), randomLabels(rng, 16, 3));
    const before = tf.memory().numTensors;
    const tuples = await expectNoLeak(() => batchHardMiner().mine({ embeddings, labels }), 3);
    disposeTuples(tuples);
    expect(tf.memory().numTensors).toBe(before);
    const ref: Reference = { embeddings: tf.tensor2d(randomRows(rng, 5, 4)), labels: tf.tensor1d([0, 1, 2, 0, 1], 'int32') };
    const withRef = await expectNoLeak(() => batchHardMiner({ distance: cosineSimilarity() }).mine({ embeddings, labels, ref }), 3);
    disposeTuples(withRef);
    tf.dispose([embeddings, labels, ref.embeddings, ref.labels]);
  });

  it('does not dispose its inputs', () => {
    const { embeddings, labels } = tensors([[1, 0], [0, 1], [1, 1], [0, 2]], [0, 0, 1, 1]);
    disposeTuples(batchHardMiner().mine({ embeddings, labels }));
    expect(embeddings.isDisposed).toBe(false);
    expect(labels.isDisposed).toBe(false);
    tf.dispose([embeddings, labels]);
  });

  it('rejects bad options and inputs with named errors', () => {
    expectContrastiveError(() => batchHardMiner({ distance: {} as Distance }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'batchHardMiner' must be a Distance/);
    expectContrastiveError(() => batchHardMiner(null as never), 'INVALID_ARGUMENT', /Argument 'options' passed to 'batchHardMiner' must be an object, got null/);
    const miner = batchHardMiner();
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    const floatLabels = tf.tensor1d([0, 1, 1], 'float32');
    const shortLabels = tf.tensor1d([0, 1], 'int32');
    const labels = tf.tensor1d([0, 1, 1], 'int32');
    const wideRef = { embeddings: tf.tensor2d([[1, 0, 0]]), labels: tf.tensor1d([0], 'int32') };
    expectContrastiveError(() => miner.mine({ embeddings, labels: floatLabels }), 'DTYPE_MISMATCH', /'labels' passed to 'batchHardMiner' must have dtype int32, got float32/);
    expectContrastiveError(() => miner.mine({ embeddings, labels: shortLabels }), 'LABEL_COUNT', /'labels' passed to 'batchHardMiner' must have 3 entries \(one per embedding\), got 2/);
    expectContrastiveError(() => miner.mine({ embeddings, labels, ref: wideRef }), 'SHAPE_MISMATCH', /'ref.embeddings' passed to 'batchHardMiner' must have 2 columns/);
    expectContrastiveError(() => miner.mine({ embeddings: tf.tensor1d([1]) as never, labels }), 'SHAPE_MISMATCH', /'embeddings' passed to 'batchHardMiner' must be rank 2/);
    expectContrastiveError(() => miner.mine(null as never), 'INVALID_ARGUMENT', /'input' passed to 'batchHardMiner'/);
    tf.dispose([embeddings, floatLabels, shortLabels, labels, wideRef.embeddings, wideRef.labels]);
  });
});

// ---------------------------------------------------------------------------------------------
// batchEasyHardMiner
// ---------------------------------------------------------------------------------------------

describe('batchEasyHardMiner', () => {
  // pytorch-metric-learning's own test of BatchEasyHardMiner (tests/miners/test_batch_easy_hard_miner.py):
  // embeddings 0..8 on a line, LpDistance(normalize_embeddings=False), labels below. Where ties allow
  // several answers, PML lists them all; ours (first column on ties) must be one of them.
  const pmlLabels = [0, 0, 1, 1, 0, 2, 1, 1, 1];
  const pmlRows = pmlLabels.map((_, i) => [i]);
  const allPos = referenceEasyHard(referenceMatrix('lpRaw', pmlRows, pmlRows), pmlLabels, pmlLabels, true, false, 'all', 'all');
  const pmlCases: [string, BatchEasyHardStrategy, BatchEasyHardStrategy, { a1: number[]; p: number[][]; a2: number[]; n: number[][] }, [number, number]?][] = [
    ['semihard/hard', 'semihard', 'hard', { a1: [0, 7, 8], p: [[1, 6, 6], [1, 8, 6]], a2: [0, 7, 8], n: [[2, 5, 5]] }],
    ['hard/semihard', 'hard', 'semihard', { a1: [0, 1, 6, 7, 8], p: [[4, 4, 2, 2, 2]], a2: [0, 1, 6, 7, 8], n: [[5, 5, 1, 1, 1]] }],
    [
      'easy/semihard',
      'easy',
      'semihard',
      {
        a1: [0, 1, 2, 3, 4, 6, 7, 8],
        p: [[1, 0, 3, 2, 1, 7, 8, 7], [1, 0, 3, 2, 1, 7, 6, 7]],
        a2: [0, 1, 2, 3, 4, 6, 7, 8],
        n: [[2, 3, 0, 1, 8, 4, 5, 5], [2, 3, 4, 1, 8, 4, 5, 5], [2, 3, 0, 5, 8, 4, 5, 5], [2, 3, 4, 5, 8, 4, 5, 5]],
      },
    ],
    ['hard/hard', 'hard', 'hard', { a1: [0, 1, 2, 3, 4, 6, 7, 8], p: [[4, 4, 8, 8, 0, 2, 2, 2]], a2: [0, 1, 2, 3, 4, 6, 7, 8], n: [[2, 2, 1, 4, 3, 5, 5, 5], [2, 2, 1, 4, 5, 5, 5, 5]] }],
    [
      'easy/hard',
      'easy',
      'hard',
      { a1: [0, 1, 2, 3, 4, 6, 7, 8], p: [[1, 0, 3, 2, 1, 7, 8, 7], [1, 0, 3, 2, 1, 7, 6, 7]], a2: [0, 1, 2, 3, 4, 6, 7, 8], n: [[2, 2, 1, 4, 3, 5, 5, 5], [2, 2, 1, 4, 5, 5, 5, 5]] },
    ],
    ['hard/easy', 'hard', 'easy', { a1: [0, 1, 2, 3, 4, 6, 7, 8], p: [[4, 4, 8, 8, 0, 2, 2, 2]], a2: [0, 1, 2, 3, 4, 6, 7, 8], n: [[8, 8, 5, 0, 8, 0, 0, 0]] }],
    ['easy/easy', 'easy', 'easy', { a1: [0, 1, 2, 3, 4, 6, 7, 8], p: [[1, 0, 3, 2, 1, 7, 8, 7], [1, 0, 3, 2, 1, 7, 6, 7]], a2: [0, 1, 2, 3, 4, 6, 7, 8], n: [[8, 8, 5, 0, 8, 0, 0, 0]] }],
    [
      'easy/easy with ranges [1, 7]',
      'easy',
      'easy',
      { a1: [0, 1, 2, 3, 4, 6, 7, 8], p: [[1, 0, 3, 2, 1, 7, 8, 7], [1, 0, 3, 2, 1, 7, 6, 7]], a2: [0, 1, 2, 3, 4, 6, 7, 8], n: [[7, 8, 5, 0, 8, 0, 0, 1]] },
      [1, 7],
    ],
    ['easy/all', 'easy', 'all', { a1: [0, 1, 2, 3, 4, 6, 7, 8], p: [[1, 0, 3, 2, 1, 7, 8, 7], [1, 0, 3, 2, 1, 7, 6, 7]], a2: allPos.a2, n: [allPos.n] }],
    ['all/easy', 'all', 'easy', { a1: allPos.a1, p: [allPos.p], a2: [0, 1, 2, 3, 4, 5, 6, 7, 8], n: [[8, 8, 5, 0, 8, 0, 0, 0, 0]] }],
    ['all/all', 'all', 'all', { a1: allPos.a1, p: [allPos.p], a2: allPos.a2, n: [allPos.n] }],
  ];

  it.each(pmlCases)("PML's unit test %s", (_, positiveStrategy, negativeStrategy, expected, range) => {
    const { embeddings, labels } = tensors(pmlRows, pmlLabels);
    const miner = batchEasyHardMiner({
      positiveStrategy,
      negativeStrategy,
      distance: lpDistance({ normalize: false }),
      ...(range === undefined ? {} : { allowedPositiveRange: range, allowedNegativeRange: range }),
    });
    expect(miner.name).toBe('batchEasyHardMiner');
    const mined = readPairs(miner.mine({ embeddings, labels }));
    expect(mined.anchorPos).toEqual(expected.a1);
    expect(mined.anchorNeg).toEqual(expected.a2);
    expect(expected.p).toContainEqual(mined.positive);
    expect(expected.n).toContainEqual(mined.negative);
    // And exactly the first-column tie-break of the float64 reference.
    const reference = referenceEasyHard(
      referenceMatrix('lpRaw', pmlRows, pmlRows),
      pmlLabels,
      pmlLabels,
      true,
      false,
      positiveStrategy,
      negativeStrategy,
      range,
      range,
    );
    expect(mined).toEqual(plainPairs(reference));
    tf.dispose([embeddings, labels]);
  });

  it('reproduces its TSDoc example (defaults: easy positive, semihard negative)', () => {
    const { embeddings, labels } = tensors([[0], [1], [3], [4], [6]], [0, 0, 0, 1, 1]);
    const mined = readPairs(batchEasyHardMiner({ distance: lpDistance({ normalize: false }) }).mine({ embeddings, labels }));
    expect(mined).toEqual({ anchorPos: [0, 1, 2, 3, 4], positive: [1, 0, 1, 4, 3], anchorNeg: [0, 1, 2, 3, 4], negative: [3, 3, 4, 1, 2] });
    tf.dispose([embeddings, labels]);
  });

  it('hard/hard equals batchHardMiner as pairs', () => {
    const rng = new Rng(11);
    const { embeddings, labels } = tensors(randomRows(rng, 20, 5), randomLabels(rng, 20, 4));
    const pairs = readPairs(batchEasyHardMiner({ positiveStrategy: 'hard', negativeStrategy: 'hard' }).mine({ embeddings, labels }));
    const triplets = readTriplets(batchHardMiner().mine({ embeddings, labels }));
    expect(pairs).toEqual({ anchorPos: triplets.anchor, positive: triplets.positive, anchorNeg: triplets.anchor, negative: triplets.negative });
    tf.dispose([embeddings, labels]);
  });

  const strategyPairs: [BatchEasyHardStrategy, BatchEasyHardStrategy][] = [
    ['easy', 'semihard'],
    ['semihard', 'hard'],
    ['semihard', 'easy'],
    ['hard', 'semihard'],
    ['easy', 'easy'],
    ['hard', 'easy'],
    ['all', 'hard'],
    ['easy', 'all'],
    ['all', 'all'],
  ];
  const randomCases: [BatchEasyHardStrategy, BatchEasyHardStrategy, DistanceKind, number, boolean][] = [];
  strategyPairs.forEach(([positiveStrategy, negativeStrategy], index) => {
    (['lp', 'lpRaw', 'cosine', 'dot'] as const).forEach((kind, k) => randomCases.push([positiveStrategy, negativeStrategy, kind, 200 + 4 * index + k, (index + k) % 3 === 0]));
  });

  it.each(randomCases)('equals the float64 reference: positive %s, negative %s, distance %s (seed %i, ref %s)', (positiveStrategy, negativeStrategy, kind, seed, withRef) => {
    const rng = new Rng(seed);
    const n = 24;
    const rows = float32Rows(randomRows(rng, n, 6));
    const labelList = randomLabels(rng, n, 4);
    const refRows = withRef ? float32Rows(randomRows(rng, 30, 6)) : rows;
    const refLabelList = withRef ? randomLabels(rng, 30, 4) : labelList;
    const raw = referenceMatrix(kind, rows, refRows);
    const expected = referenceEasyHard(raw, labelList, refLabelList, !withRef, IS_SIMILARITY[kind], positiveStrategy, negativeStrategy);
    expect(expected.gap / scaleOf(raw)).toBeGreaterThan(TIE_GAP);
    expect(expected.a1.length).toBeGreaterThan(0);
    expect(expected.a2.length).toBeGreaterThan(0);
    const { embeddings, labels } = tensors(rows, labelList);
    const ref: Reference | undefined = withRef ? { embeddings: tf.tensor2d(refRows), labels: tf.tensor1d(refLabelList, 'int32') } : undefined;
    const miner = batchEasyHardMiner({ positiveStrategy, negativeStrategy, distance: DISTANCES[kind]() });
    const mined = readPairs(miner.mine(ref === undefined ? { embeddings, labels } : { embeddings, labels, ref }));
    expect(mined).toEqual(plainPairs(expected));
    tf.dispose([embeddings, labels]);
    if (ref !== undefined) tf.dispose([ref.embeddings, ref.labels]);
  });

  it.each(['lp', 'cosine'] as const)('allowed ranges restrict the candidates, in the distance’s own units (%s)', (kind) => {
    const rng = new Rng(31);
    const rows = float32Rows(randomRows(rng, 24, 6));
    const labelList = randomLabels(rng, 24, 3);
    const raw = referenceMatrix(kind, rows, rows);
    const positiveRange: [number, number] = kind === 'lp' ? [0.6, 1.3] : [-0.2, 0.7];
    const negativeRange: [number, number] = kind === 'lp' ? [0.9, 1.6] : [-0.5, 0.3];
    const expected = referenceEasyHard(raw, labelList, labelList, true, IS_SIMILARITY[kind], 'easy', 'semihard', positiveRange, negativeRange);
    expect(expected.gap).toBeGreaterThan(TIE_GAP);
    expect(expected.a1.length).toBeGreaterThan(0);
    const unrestricted = referenceEasyHard(raw, labelList, labelList, true, IS_SIMILARITY[kind], 'easy', 'semihard');
    expect(unrestricted.p).not.toEqual(expected.p);
    const { embeddings, labels } = tensors(rows, labelList);
    const miner = batchEasyHardMiner({ allowedPositiveRange: positiveRange, allowedNegativeRange: negativeRange, distance: DISTANCES[kind]() });
    const mined = readPairs(miner.mine({ embeddings, labels }));
    expect(mined).toEqual(plainPairs(expected));
    tf.dispose([embeddings, labels]);
  });

  it('ignores the allowed range of a side whose strategy is all (as PML)', () => {
    const { embeddings, labels } = tensors(pmlRows, pmlLabels);
    const mined = readPairs(
      batchEasyHardMiner({ positiveStrategy: 'all', negativeStrategy: 'all', allowedPositiveRange: [100, 200], allowedNegativeRange: [100, 200], distance: lpDistance({ normalize: false }) }).mine({ embeddings, labels }),
    );
    expect(mined).toEqual(plainPairs(allPos));
    tf.dispose([embeddings, labels]);
  });

  it.each([
    ['a single class', [[1, 0], [0, 1], [1, 1]], [4, 4, 4]],
    ['all labels distinct', [[1, 0], [0, 1], [1, 1]], [0, 1, 2]],
    ['a batch of one', [[1, 2]], [0]],
  ])('%s gives empty [0] int32 pair tuples', async (_, rows, labelList) => {
    const { embeddings, labels } = tensors(rows as Rows, labelList as number[]);
    expectEmptyTuples(await expectNoLeak(() => batchEasyHardMiner().mine({ embeddings, labels }), 4), 'pairs');
    tf.dispose([embeddings, labels]);
  });

  it('with all on one side, a single class still lists every positive pair', () => {
    const { embeddings, labels } = tensors([[1, 0], [0, 1], [1, 1]], [4, 4, 4]);
    const mined = readPairs(batchEasyHardMiner({ positiveStrategy: 'all', negativeStrategy: 'hard' }).mine({ embeddings, labels }));
    expect(mined).toEqual({ anchorPos: [0, 0, 1, 1, 2, 2], positive: [1, 2, 0, 2, 0, 1], anchorNeg: [], negative: [] });
    tf.dispose([embeddings, labels]);
  });

  it('leaves no tensor behind', async () => {
    const rng = new Rng(5);
    const { embeddings, labels } = tensors(randomRows(rng, 16, 4), randomLabels(rng, 16, 3));
    for (const [positiveStrategy, negativeStrategy] of strategyPairs) {
      const tuples = await expectNoLeak(() => batchEasyHardMiner({ positiveStrategy, negativeStrategy }).mine({ embeddings, labels }), 4);
      disposeTuples(tuples);
    }
    tf.dispose([embeddings, labels]);
  });

  it('rejects bad options with named errors', () => {
    const fn = 'batchEasyHardMiner';
    expectContrastiveError(() => batchEasyHardMiner({ positiveStrategy: 'hardest' as never }), 'INVALID_ARGUMENT', new RegExp(`Argument 'positiveStrategy' passed to '${fn}' must be one of "easy", "semihard", "hard", "all", got "hardest"`));
    expectContrastiveError(() => batchEasyHardMiner({ negativeStrategy: 1 as never }), 'INVALID_ARGUMENT', /'negativeStrategy' passed to 'batchEasyHardMiner' must be one of/);
    expectContrastiveError(() => batchEasyHardMiner({ positiveStrategy: 'semihard', negativeStrategy: 'semihard' }), 'INVALID_ARGUMENT', /cannot both be 'semihard'/);
    expectContrastiveError(() => batchEasyHardMiner({ positiveStrategy: 'all', negativeStrategy: 'semihard' }), 'INVALID_ARGUMENT', /cannot combine 'semihard' with 'all'/);
    expectContrastiveError(() => batchEasyHardMiner({ positiveStrategy: 'semihard', negativeStrategy: 'all' }), 'INVALID_ARGUMENT', /cannot combine 'semihard' with 'all'/);
    expectContrastiveError(() => batchEasyHardMiner({ allowedPositiveRange: [2, 1] }), 'INVALID_ARGUMENT', /Argument 'allowedPositiveRange' passed to 'batchEasyHardMiner' must be undefined or \[low, high\] with numbers low <= high, got \[2, 1\]/);
    expectContrastiveError(() => batchEasyHardMiner({ allowedNegativeRange: [0, Number.NaN] }), 'INVALID_ARGUMENT', /'allowedNegativeRange'.*got \[0, NaN\]/);
    expectContrastiveError(() => batchEasyHardMiner({ allowedNegativeRange: 3 as never }), 'INVALID_ARGUMENT', /'allowedNegativeRange'.*got number/);
    expectContrastiveError(() => batchEasyHardMiner({ distance: 'cosine' as never }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'batchEasyHardMiner' must be a Distance/);
    const embeddings = tf.tensor2d([[1, 0], [0, 1]]);
    const labels = tf.tensor1d([0, 1, 1], 'int32');
    expectContrastiveError(() => batchEasyHardMiner().mine({ embeddings, labels }), 'LABEL_COUNT', /'labels' passed to 'batchEasyHardMiner' must have 2 entries/);
    tf.dispose([embeddings, labels]);
  });
});

// ---------------------------------------------------------------------------------------------
// mined tuples in losses, with gradients
// ---------------------------------------------------------------------------------------------

describe('mined tuples feed the losses of @contrastive/losses', () => {
  it.each(['lp', 'cosine'] as const)('batchHardMiner → tripletMarginLoss: value and gradient equal the explicit triplets (%s)', (kind) => {
    const rng = new Rng(41);
    const rows = randomRows(rng, 24, 8);
    const labelList = randomLabels(rng, 24, 4);
    const distance = DISTANCES[kind]();
    const margin = 0.5;
    const x = tf.tensor2d(rows);
    const labels = tf.tensor1d(labelList, 'int32');
    const tuples = asTriplets(batchHardMiner({ distance }).mine({ embeddings: x, labels }));
    const mined = { anchor: Array.from(tuples.anchor.dataSync()), positive: Array.from(tuples.positive.dataSync()), negative: Array.from(tuples.negative.dataSync()) };
    expect(mined.anchor.length).toBeGreaterThan(10);
    const grad = expectLossEqualsExplicitTriplets(tripletMarginLoss({ margin, distance }), tuples, distance, margin, x, labels, mined);
    expectGradientFlows(grad);
    tf.dispose([x, labels]);
    disposeTuples(tuples);
  });

  it('batchEasyHardMiner pairs → tripletMarginLoss forms exactly the per-anchor triplets; → contrastiveLoss has finite, non-zero gradients', () => {
    const rng = new Rng(43);
    const x = tf.tensor2d(randomRows(rng, 24, 8));
    const labels = tf.tensor1d(randomLabels(rng, 24, 4), 'int32');
    const margin = 0.5;
    const distance = lpDistance();
    const tuples = asPairs(batchEasyHardMiner({ positiveStrategy: 'hard', negativeStrategy: 'semihard' }).mine({ embeddings: x, labels }));
    const a = Array.from(tuples.anchorPos.dataSync());
    expect(Array.from(tuples.anchorNeg.dataSync())).toEqual(a);
    expect(a.length).toBeGreaterThan(5);
    const p = Array.from(tuples.positive.dataSync());
    const n = Array.from(tuples.negative.dataSync());
    expectLossEqualsExplicitTriplets(tripletMarginLoss({ margin }), tuples, distance, margin, x, labels, { anchor: a, positive: p, negative: n });
    const pair = contrastiveLoss();
    const viaContrastive = tf.valueAndGrad((input: tf.Tensor) => pair.compute({ embeddings: input as tf.Tensor2D, labels, tuples }))(x);
    expect(viaContrastive.value.dataSync()[0]).toBeGreaterThan(0);
    expectGradientFlows(viaContrastive.grad.dataSync());
    tf.dispose([viaContrastive.value, viaContrastive.grad, x, labels]);
    disposeTuples(tuples);
  });
});

// ---------------------------------------------------------------------------------------------
// native picks (wasm): the matrix stays on the heap; the same tuples as the host scan
// ---------------------------------------------------------------------------------------------

describe('batch-hard / easy-hard mining on the wasm heap', () => {
  /** A distance whose matrix is fixed data (so both backends see identical values); reading it back throws when `sealed`. */
  function fixedDistance(values: Float32Array, n: number, m: number, isSimilarity: boolean, sealed: boolean): Distance {
    return {
      name: 'fixed',
      isSimilarity,
      normalizes: false,
      pairwise: () => {
        const matrix = tf.tensor2d(values, [n, m]);
        if (sealed) {
          (matrix as unknown as { dataSync: () => never }).dataSync = () => {
            throw new Error('the matrix was read to the host');
          };
        }
        return matrix;
      },
      paired: (a) => tf.zeros([a.shape[0]]) as tf.Tensor1D,
    };
  }

  it('picks exactly what the host scan picks (cpu) for every strategy, with ties, without reading the matrix', async () => {
    await import('@tensorflow/tfjs-backend-cpu');
    const backend = tf.getBackend();
    if (backend !== 'wasm') return;
    const rng = new Rng(17);
    const n = 41;
    const values = Float32Array.from({ length: n * n }, () => Math.round(rng.uniform() * 8) / 8); // many ties
    const labels = randomLabels(rng, n, 5);
    const strategies: [BatchEasyHardStrategy, BatchEasyHardStrategy][] = [
      ['hard', 'hard'], ['easy', 'semihard'], ['semihard', 'hard'], ['easy', 'easy'], ['hard', 'all'], ['all', 'easy'],
    ];
    for (const isSimilarity of [false, true]) {
      for (const [positiveStrategy, negativeStrategy] of strategies) {
        const mine = (sealed: boolean): PlainPairs => {
          const embeddings = tf.zeros([n, 3]) as tf.Tensor2D;
          const labelTensor = tf.tensor1d(labels, 'int32');
          const miner = batchEasyHardMiner({ positiveStrategy, negativeStrategy, distance: fixedDistance(values, n, n, isSimilarity, sealed) });
          const t = miner.mine({ embeddings, labels: labelTensor });
          const out = readPairs(t);
          disposeTuples(t);
          tf.dispose([embeddings, labelTensor]);
          return out;
        };
        const native = mine(positiveStrategy !== 'all' || negativeStrategy !== 'all');
        await tf.setBackend('cpu');
        const host = mine(false);
        await tf.setBackend(backend);
        expect(native, `${positiveStrategy}/${negativeStrategy} similarity ${isSimilarity}`).toEqual(host);
      }
      const hard = (): PlainTriplets => {
        const embeddings = tf.zeros([n, 3]) as tf.Tensor2D;
        const labelTensor = tf.tensor1d(labels, 'int32');
        const t = batchHardMiner({ distance: fixedDistance(values, n, n, isSimilarity, tf.getBackend() === 'wasm') }).mine({ embeddings, labels: labelTensor });
        const out = readTriplets(t);
        disposeTuples(t);
        tf.dispose([embeddings, labelTensor]);
        return out;
      };
      const native = hard();
      await tf.setBackend('cpu');
      const host = hard();
      await tf.setBackend(backend);
      expect(native).toEqual(host);
    }
  });

  it('a non-finite distance is still reported (found on the heap)', () => {
    if (tf.getBackend() !== 'wasm') return;
    const values = new Float32Array(16).fill(0.5);
    values[9] = Number.POSITIVE_INFINITY;
    expectContrastiveError(
      () => tf.tidy(() => { batchHardMiner({ distance: fixedDistance(values, 4, 4, false, false) }).mine({ embeddings: tf.zeros([4, 2]) as tf.Tensor2D, labels: tf.tensor1d([0, 0, 1, 1], 'int32') }); }),
      'NON_FINITE',
      /row 2, column 1/,
    );
  });
});
