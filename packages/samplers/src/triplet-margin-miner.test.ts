import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, cosineSimilarity, dotProductSimilarity, lpDistance } from '@contrastive/core';
import type { Reference } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { tripletMarginLoss } from '@contrastive/losses';
import { hostMatrix } from './internal/mining.js';
import { keptInterval, marginTriplets, tripletMarginMiner } from './triplet-margin-miner.js';
import type { TripletMarginMinerType } from './triplet-margin-miner.js';
import {
  DISTANCES,
  IS_SIMILARITY,
  NO_TUPLE_BATCHES,
  TIE_GAP,
  asTriplets,
  disposeTuples,
  expectEmptyTuples,
  expectGradientFlows,
  expectLossEqualsExplicitTriplets,
  float32Rows,
  goldenInputSet,
  goldenMinerCases,
  goldenMinerInput,
  randomLabels,
  randomRows,
  readTriplets,
  referenceMatrix,
  scaleOf,
  tensors,
} from './test-support/miners.js';
import type { DistanceKind, PlainTriplets, Rows } from './test-support/miners.js';

beforeAll(async () => {
  await useTestBackend();
});

interface MinerParams {
  margin: number;
  type_of_triplets: TripletMarginMinerType;
  distance: string;
}

// ---------------------------------------------------------------------------------------------
// float64 reference: the golden rule text, as obvious loops
// ---------------------------------------------------------------------------------------------

/**
 * Over all triplets (a, p, n) in lexicographic order: y_a = y_p (p ≠ a without ref), y_n ≠ y_a;
 * m = d_an − d_ap (similarity: s_ap − s_an); all: m ≤ margin; hard: m ≤ margin and m ≤ 0; semihard:
 * m ≤ margin and m > 0; easy: m > margin. `gap` is the closest any m came to a boundary it was
 * tested against.
 */
function referenceTriplets(
  raw: Rows,
  labels: number[],
  refLabels: number[],
  self: boolean,
  isSimilarity: boolean,
  margin: number,
  type: TripletMarginMinerType,
): { a: number[]; p: number[]; n: number[]; gap: number; candidates: number } {
  const out = { a: [] as number[], p: [] as number[], n: [] as number[], gap: Infinity, candidates: 0 };
  for (let a = 0; a < labels.length; a++) {
    for (let p = 0; p < refLabels.length; p++) {
      if (labels[a] !== refLabels[p] || (self && p === a)) continue;
      for (let n = 0; n < refLabels.length; n++) {
        if (labels[a] === refLabels[n]) continue;
        out.candidates++;
        const ap = raw[a]![p] as number;
        const an = raw[a]![n] as number;
        const m = isSimilarity ? ap - an : an - ap;
        out.gap = Math.min(out.gap, Math.abs(m - margin));
        if (type === 'hard' || type === 'semihard') out.gap = Math.min(out.gap, Math.abs(m));
        let keep: boolean;
        if (type === 'all') keep = m <= margin;
        else if (type === 'hard') keep = m <= margin && m <= 0;
        else if (type === 'semihard') keep = m <= margin && m > 0;
        else keep = m > margin;
        if (keep) {
          out.a.push(a);
          out.p.push(p);
          out.n.push(n);
        }
      }
    }
  }
  return out;
}

/** The reference's triplets as the plain triplets `readTriplets` returns. */
function plainTriplets(r: { a: number[]; p: number[]; n: number[] }): PlainTriplets {
  return { anchor: r.a, positive: r.p, negative: r.n };
}

/** The first of up to 10 seeded draws whose reference decisions are all farther than TIE_GAP from a tie. */
function clearDraw<T extends { raw: Rows; expected: { gap: number } }>(draw: (attempt: number) => T): T {
  for (let attempt = 0; attempt < 10; attempt++) {
    const result = draw(attempt);
    if (result.expected.gap / scaleOf(result.raw) > TIE_GAP) return result;
  }
  throw new Error('no seeded draw without a near-tie');
}

// ---------------------------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------------------------

describe('tripletMarginMiner', () => {
  const cases = goldenMinerCases<MinerParams, { num_triplets: number; anchors?: number[]; positives?: number[]; negatives?: number[] }>('TripletMarginMiner');

  it('has the four golden cases', () => {
    expect(cases.map((c) => c.params.type_of_triplets).sort()).toEqual(['all', 'easy', 'hard', 'semihard']);
  });

  it.each(cases.map((c) => [c.name, c] as const))('golden %s returns exactly PML anchors / positives / negatives', (_, c) => {
    const { rows, labels: labelList } = goldenMinerInput(c);
    expect(c.params.distance).toMatch(/^LpDistance\(p=2, power=1, normalize_embeddings=True\)/);
    const { embeddings, labels } = tensors(rows, labelList);
    const miner = tripletMarginMiner({ margin: c.params.margin, type: c.params.type_of_triplets });
    expect(miner.name).toBe('tripletMarginMiner');
    const mined = readTriplets(miner.mine({ embeddings, labels }));
    expect(mined.anchor).toHaveLength(c.expected.num_triplets);
    if (c.expected.anchors !== undefined) {
      expect(mined.anchor).toEqual(c.expected.anchors);
      expect(mined.positive).toEqual(c.expected.positives);
      expect(mined.negative).toEqual(c.expected.negatives);
    }
    // And the float64 reference agrees on the whole list (easy has only its count in the golden file).
    const raw = referenceMatrix('lp', float32Rows(rows), float32Rows(rows));
    const reference = referenceTriplets(raw, labelList, labelList, true, false, c.params.margin, c.params.type_of_triplets);
    expect(reference.gap).toBeGreaterThan(TIE_GAP);
    expect(mined).toEqual(plainTriplets(reference));
    tf.dispose([embeddings, labels]);
  });

  it('the four types partition the triplets: all = hard ∪ semihard, and all ∪ easy = every triplet', () => {
    const set = goldenInputSet('s16x8');
    const { embeddings, labels } = tensors(set.embeddings, set.labels_sup);
    const mine = (type: TripletMarginMinerType): string[] => {
      const t = readTriplets(tripletMarginMiner({ type }).mine({ embeddings, labels }));
      return t.anchor.map((a, i) => `${a},${t.positive[i]},${t.negative[i]}`);
    };
    const all = mine('all');
    const hard = mine('hard');
    const semihard = mine('semihard');
    const easy = mine('easy');
    expect([...hard, ...semihard].sort()).toEqual([...all].sort());
    expect(new Set([...all, ...easy]).size).toBe(all.length + easy.length);
    expect(all.length + easy.length).toBe(576); // 16 anchors × their positives × negatives of labels_sup
    tf.dispose([embeddings, labels]);
  });

  it('defaults: margin 0.2, type all, lpDistance()', () => {
    const set = goldenInputSet('s16x8');
    const { embeddings, labels } = tensors(set.embeddings, set.labels_sup);
    const byDefault = readTriplets(tripletMarginMiner().mine({ embeddings, labels }));
    const explicit = readTriplets(tripletMarginMiner({ margin: 0.2, type: 'all', distance: lpDistance() }).mine({ embeddings, labels }));
    expect(byDefault).toEqual(explicit);
    expect(byDefault.anchor).toHaveLength(29);
    tf.dispose([embeddings, labels]);
  });

  it('reproduces its TSDoc example', () => {
    const { embeddings, labels } = tensors([[0], [1], [1.1], [5]], [0, 0, 1, 1]);
    const miner = tripletMarginMiner({ margin: 0.5, type: 'semihard', distance: lpDistance({ normalize: false }) });
    expect(readTriplets(miner.mine({ embeddings, labels }))).toEqual({ anchor: [0, 3], positive: [1, 2], negative: [2, 1] });
    tf.dispose([embeddings, labels]);
  });

  const types: TripletMarginMinerType[] = ['all', 'hard', 'semihard', 'easy'];
  const kinds: DistanceKind[] = ['lp', 'lpRaw', 'cosine', 'dot'];
  const shapes = [
    [8, 4, 2],
    [20, 6, 3],
    [32, 8, 5],
  ] as const;
  const margins = [0.05, 0.2, 1];
  const randomCases: [TripletMarginMinerType, DistanceKind, number, number, number, number, number][] = [];
  types.forEach((type, t) =>
    kinds.forEach((kind, k) => {
      const [n, d, classes] = shapes[(t + k) % shapes.length]!;
      randomCases.push([type, kind, n, d, classes, margins[(t + 2 * k) % margins.length]!, 500 + 10 * t + k]);
    }),
  );

  it.each(randomCases)('equals the float64 reference: type %s, distance %s, n=%i d=%i classes=%i margin=%f (seed %i)', (type, kind, n, d, classes, margin, seed) => {
    // The first seeded draw whose decisions all lie clear of float32 rounding (ties avoided).
    const draw = (attempt: number) => {
      const rng = new Rng(seed + 1000 * attempt);
      const rows = float32Rows(randomRows(rng, n, d));
      const labelList = randomLabels(rng, n, classes);
      const raw = referenceMatrix(kind, rows, rows);
      return { rows, labelList, raw, expected: referenceTriplets(raw, labelList, labelList, true, IS_SIMILARITY[kind], margin, type) };
    };
    const { rows, labelList, raw, expected } = clearDraw(draw);
    expect(expected.gap / scaleOf(raw)).toBeGreaterThan(TIE_GAP);
    expect(expected.a.length).toBeGreaterThan(0);
    const { embeddings, labels } = tensors(rows, labelList);
    const mined = readTriplets(tripletMarginMiner({ margin, type, distance: DISTANCES[kind]() }).mine({ embeddings, labels }));
    expect(mined).toEqual(plainTriplets(expected));
    tf.dispose([embeddings, labels]);
  });

  it.each(types.map((type, t) => [type, kinds[t % kinds.length]!] as const))('with ref (type %s, distance %s): reference rows, no self-exclusion', (type, kind) => {
    const rng = new Rng(600 + types.indexOf(type));
    const rows = float32Rows(randomRows(rng, 10, 5));
    const refRows = float32Rows(randomRows(rng, 14, 5));
    const labelList = randomLabels(rng, 10, 3);
    const refLabelList = randomLabels(rng, 14, 3);
    const raw = referenceMatrix(kind, rows, refRows);
    const margin = 0.3;
    const expected = referenceTriplets(raw, labelList, refLabelList, false, IS_SIMILARITY[kind], margin, type);
    expect(expected.gap / scaleOf(raw)).toBeGreaterThan(TIE_GAP);
    expect(expected.a.length).toBeGreaterThan(0);
    const { embeddings, labels } = tensors(rows, labelList);
    const ref: Reference = { embeddings: tf.tensor2d(refRows), labels: tf.tensor1d(refLabelList, 'int32') };
    const mined = readTriplets(tripletMarginMiner({ margin, type, distance: DISTANCES[kind]() }).mine({ embeddings, labels, ref }));
    expect(mined).toEqual(plainTriplets(expected));
    tf.dispose([embeddings, labels, ref.embeddings, ref.labels]);
  });

  it('with ref = the batch itself, the anchor’s own copy is a positive', () => {
    // 1-D points 0, 1 (class 0) and 3 (class 1); ref = the same rows. Triplets with p = a have
    // d_ap = 0, so m = d_an.
    const rows = [[0], [1], [3]];
    const { embeddings, labels } = tensors(rows, [0, 0, 1]);
    const ref: Reference = { embeddings: tf.tensor2d(rows), labels: tf.tensor1d([0, 0, 1], 'int32') };
    const distance = lpDistance({ normalize: false });
    const mined = readTriplets(tripletMarginMiner({ margin: 10, type: 'all', distance }).mine({ embeddings, labels, ref }));
    // every candidate: a0 p∈{0,1} n2; a1 p∈{0,1} n2; a2 p2 n∈{0,1}
    expect(mined).toEqual({ anchor: [0, 0, 1, 1, 2, 2], positive: [0, 1, 0, 1, 2, 2], negative: [2, 2, 2, 2, 0, 1] });
    const withoutRef = readTriplets(tripletMarginMiner({ margin: 10, type: 'all', distance }).mine({ embeddings, labels }));
    expect(withoutRef).toEqual({ anchor: [0, 1], positive: [1, 0], negative: [2, 2] });
    tf.dispose([embeddings, labels, ref.embeddings, ref.labels]);
  });

  it('boundaries: m = margin is kept by all and not by easy; m = 0 is hard, not semihard (exact values)', () => {
    // dot products of small integers are exact in float32: anchor [1], positive [2], negatives [2] and [1].
    // m = s_ap − s_an: with n = [2] m = 0, with n = [1] m = 1.
    const { embeddings, labels } = tensors([[1], [2], [2], [1]], [0, 0, 1, 1]);
    const distance = dotProductSimilarity();
    const mine = (type: TripletMarginMinerType, margin: number): string[] => {
      const t = readTriplets(tripletMarginMiner({ margin, type, distance }).mine({ embeddings, labels }));
      return t.anchor.map((a, i) => `${a},${t.positive[i]},${t.negative[i]}`).filter((key) => key.startsWith('0,'));
    };
    expect(mine('all', 1)).toEqual(['0,1,2', '0,1,3']);
    expect(mine('easy', 1)).toEqual([]);
    expect(mine('all', 0.5)).toEqual(['0,1,2']);
    expect(mine('easy', 0.5)).toEqual(['0,1,3']);
    expect(mine('hard', 1)).toEqual(['0,1,2']);
    expect(mine('semihard', 1)).toEqual(['0,1,3']);
    expect(mine('hard', -0.5)).toEqual([]);
    tf.dispose([embeddings, labels]);
  });

  it.each(NO_TUPLE_BATCHES)('%s gives empty [0] int32 tuples', async (_, rows, labelList) => {
    const { embeddings, labels } = tensors(rows, labelList);
    for (const type of types) {
      expectEmptyTuples(await expectNoLeak(() => tripletMarginMiner({ type }).mine({ embeddings, labels }), 3), 'triplets');
    }
    tf.dispose([embeddings, labels]);
  });

  it('leaves no tensor behind: only the three returned ones, which the caller disposes', async () => {
    const rng = new Rng(9);
    const { embeddings, labels } = tensors(randomRows(rng, 16, 4), randomLabels(rng, 16, 3));
    const before = tf.memory().numTensors;
    for (const type of types) {
      const tuples = await expectNoLeak(() => tripletMarginMiner({ type, distance: cosineSimilarity() }).mine({ embeddings, labels }), 3);
      disposeTuples(tuples);
    }
    const ref: Reference = { embeddings: tf.tensor2d(randomRows(rng, 5, 4)), labels: tf.tensor1d([0, 1, 2, 0, 1], 'int32') };
    disposeTuples(await expectNoLeak(() => tripletMarginMiner().mine({ embeddings, labels, ref }), 3));
    tf.dispose([ref.embeddings, ref.labels]);
    expect(tf.memory().numTensors).toBe(before);
    expect(embeddings.isDisposed).toBe(false);
    tf.dispose([embeddings, labels]);
  });

  it('refuses to return more triplets than its limit, naming labels and suggesting batch-hard mining', () => {
    const rng = new Rng(13);
    const { embeddings, labels } = tensors(randomRows(rng, 12, 3), randomLabels(rng, 12, 3));
    const matrix = hostMatrix(lpDistance(), { embeddings, labels });
    const keepAll = keptInterval('easy', -Infinity);
    const everything = marginTriplets(matrix, 'easy', keepAll);
    expect(everything.anchor.length).toBeGreaterThan(20);
    expect(marginTriplets(matrix, 'easy', keepAll, everything.anchor.length).anchor).toHaveLength(everything.anchor.length);
    expectContrastiveError(
      () => marginTriplets(matrix, 'easy', keepAll, everything.anchor.length - 1),
      'INVALID_ARGUMENT',
      /Argument 'labels' passed to 'tripletMarginMiner' yields \d+ triplets of type 'easy', more than the \d+ one call returns; .*batchHardMiner/,
    );
    tf.dispose([embeddings, labels]);
  });

  it('rejects bad options and inputs with named errors', () => {
    const fn = 'tripletMarginMiner';
    expectContrastiveError(() => tripletMarginMiner({ margin: Number.NaN }), 'INVALID_ARGUMENT', new RegExp(`Argument 'margin' passed to '${fn}' must be a finite number, got NaN`));
    expectContrastiveError(() => tripletMarginMiner({ margin: '0.2' as never }), 'INVALID_ARGUMENT', /'margin' passed to 'tripletMarginMiner' must be a finite number, got "0.2"/);
    expectContrastiveError(() => tripletMarginMiner({ type: 'hardest' as never }), 'INVALID_ARGUMENT', /Argument 'type' passed to 'tripletMarginMiner' must be one of "all", "hard", "semihard", "easy", got "hardest"/);
    expectContrastiveError(() => tripletMarginMiner({ distance: { pairwise: 1 } as never }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'tripletMarginMiner' must be a Distance/);
    expectContrastiveError(() => tripletMarginMiner('all' as never), 'INVALID_ARGUMENT', /Argument 'options' passed to 'tripletMarginMiner' must be an object, got string/);
    const miner = tripletMarginMiner();
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
    const floatLabels = tf.tensor1d([0, 1, 1], 'float32');
    const longLabels = tf.tensor1d([0, 1, 1, 0], 'int32');
    const labels = tf.tensor1d([0, 1, 1], 'int32');
    const wideRef = { embeddings: tf.tensor2d([[1, 0, 0]]), labels: tf.tensor1d([0], 'int32') };
    const badRefLabels = { embeddings: tf.tensor2d([[1, 0]]), labels: tf.tensor1d([0, 1], 'int32') };
    expectContrastiveError(() => miner.mine({ embeddings, labels: floatLabels }), 'DTYPE_MISMATCH', /'labels' passed to 'tripletMarginMiner' must have dtype int32, got float32/);
    expectContrastiveError(() => miner.mine({ embeddings, labels: longLabels }), 'LABEL_COUNT', /'labels' passed to 'tripletMarginMiner' must have 3 entries \(one per embedding\), got 4/);
    expectContrastiveError(() => miner.mine({ embeddings, labels, ref: wideRef }), 'SHAPE_MISMATCH', /'ref.embeddings' passed to 'tripletMarginMiner' must have 2 columns \(the embeddings' dimension\), got 3/);
    expectContrastiveError(() => miner.mine({ embeddings, labels, ref: badRefLabels }), 'LABEL_COUNT', /'ref.labels' passed to 'tripletMarginMiner' must have 1 entries/);
    tf.dispose([embeddings, floatLabels, longLabels, labels, wideRef.embeddings, wideRef.labels, badRefLabels.embeddings, badRefLabels.labels]);
  });
});

// ---------------------------------------------------------------------------------------------
// mined tuples in tripletMarginLoss, with gradients
// ---------------------------------------------------------------------------------------------

describe('tripletMarginMiner tuples feed tripletMarginLoss', () => {
  it.each([
    ['semihard', 'lp'],
    ['all', 'cosine'],
    ['hard', 'lpRaw'],
  ] as const)('type %s, distance %s: value and gradient equal the loss on the explicitly gathered triplets', (type, kind) => {
    const rng = new Rng(71);
    const x = tf.tensor2d(randomRows(rng, 20, 6));
    const labels = tf.tensor1d(randomLabels(rng, 20, 4), 'int32');
    const distance = DISTANCES[kind]();
    const margin = kind === 'lpRaw' ? 1 : 0.2;
    const tuples = asTriplets(tripletMarginMiner({ margin, type, distance }).mine({ embeddings: x, labels }));
    const a = Array.from(tuples.anchor.dataSync());
    const p = Array.from(tuples.positive.dataSync());
    const n = Array.from(tuples.negative.dataSync());
    expect(a.length).toBeGreaterThan(5);
    const grad = expectLossEqualsExplicitTriplets(tripletMarginLoss({ margin, distance }), tuples, distance, margin, x, labels, { anchor: a, positive: p, negative: n });
    expectGradientFlows(grad);
    tf.dispose([x, labels]);
    disposeTuples(tuples);
  });
});
