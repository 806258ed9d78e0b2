/**
 * Test support for the miner tests (not built, not published): seeded random batches, float64
 * references of the four distance kinds, tuples read into plain arrays, and the checks that mined
 * tuples feed the losses of `@contrastive/losses` with the right value and gradient.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { Rng, cosineSimilarity, dotProductSimilarity, lpDistance } from '@contrastive/core';
import type { Distance, Loss, Miner, PairTuples, TripletTuples, Tuples } from '@contrastive/core';
import { expectNoLeak, expectTensorClose } from '@contrastive/core/testing';

export type Rows = number[][];

/** Pair tuples as plain arrays (the fields of `PairTuples`). */
export interface PlainPairs {
  anchorPos: number[];
  positive: number[];
  anchorNeg: number[];
  negative: number[];
}

/** Triplet tuples as plain arrays (the fields of `TripletTuples`). */
export interface PlainTriplets {
  anchor: number[];
  positive: number[];
  negative: number[];
}

/** Batches with nothing to mine, as `it.each` rows: name, rows, labels. */
export const NO_TUPLE_BATCHES: [string, Rows, number[]][] = [
  ['a single class (no negatives)', [[1, 0], [0, 1], [1, 1]], [4, 4, 4]],
  ['all labels distinct (no positives)', [[1, 0], [0, 1], [1, 1]], [0, 1, 2]],
  ['a batch of one', [[1, 2]], [0]],
];

export const EMPTY_PAIRS: PlainPairs = { anchorPos: [], positive: [], anchorNeg: [], negative: [] };
export const EMPTY_TRIPLETS: PlainTriplets = { anchor: [], positive: [], negative: [] };

// ---------------------------------------------------------------------------------------------
// golden miner cases (../shared/golden/pytorch-reference.json, PML 2.8.1)
// ---------------------------------------------------------------------------------------------

export interface GoldenMinerCase<Params, Expected> {
  readonly name: string;
  readonly miner: string;
  readonly inputs: { readonly embeddings: string; readonly labels: string };
  readonly params: Params;
  readonly expected: Expected;
}

interface GoldenFile {
  readonly input_sets: Record<string, { embeddings: Rows; labels_sup: number[] } & Record<string, unknown>>;
  readonly miners: GoldenMinerCase<unknown, unknown>[];
}

// The repo root is four levels up from this file; shared/ sits beside it.
const golden = JSON.parse(readFileSync(new URL('../../../../../shared/golden/pytorch-reference.json', import.meta.url), 'utf8')) as GoldenFile;

/** The golden cases of one PML miner class (e.g. `'BatchHardMiner'`), typed by the caller. */
export function goldenMinerCases<Params, Expected>(miner: string): GoldenMinerCase<Params, Expected>[] {
  return golden.miners.filter((c) => c.miner === miner) as GoldenMinerCase<Params, Expected>[];
}

/** A golden input set by name (throws when there is none). */
export function goldenInputSet(name: string): { embeddings: Rows; labels_sup: number[] } {
  const set = golden.input_sets[name];
  if (set === undefined) throw new Error(`no golden input set ${JSON.stringify(name)}`);
  return set;
}

/** The rows and labels a golden miner case names. */
export function goldenMinerInput(c: GoldenMinerCase<unknown, unknown>): { rows: Rows; labels: number[] } {
  const set = goldenInputSet(c.inputs.embeddings) as Record<string, unknown> & { embeddings: Rows };
  return { rows: set.embeddings, labels: set[c.inputs.labels] as number[] };
}

// ---------------------------------------------------------------------------------------------
// seeded data
// ---------------------------------------------------------------------------------------------

/** `n` rows of `d` standard normal draws, as float32 holds them (so a float64 reference sees the tensor's numbers). */
export function randomRows(rng: Rng, n: number, d: number): Rows {
  return Array.from({ length: n }, () => Array.from(rng.normalArray(d)));
}

/** `n` labels drawn uniformly from `0 .. classes-1`. */
export function randomLabels(rng: Rng, n: number, classes: number): number[] {
  return Array.from({ length: n }, () => rng.int(classes));
}

/** Rows then labels of one `new Rng(seed)`. */
export function randomBatch(seed: number, n: number, dims: number, classes: number): { rows: Rows; labels: number[] } {
  const rng = new Rng(seed);
  const rows = randomRows(rng, n, dims);
  const labels = randomLabels(rng, n, classes);
  return { rows, labels };
}

/** float32 values of rows, so that the float64 reference sees exactly the tensor's numbers. */
export function float32Rows(rows: Rows): Rows {
  return rows.map((row) => Array.from(Float32Array.from(row)));
}

/** `[n, d]` float32 embeddings and `[n]` int32 labels, owned by the caller. */
export function tensors(rows: Rows, labels: number[]): { embeddings: tf.Tensor2D; labels: tf.Tensor1D } {
  return { embeddings: tf.tensor2d(rows), labels: tf.tensor1d(labels, 'int32') };
}

// ---------------------------------------------------------------------------------------------
// the four distance kinds and their float64 references
// ---------------------------------------------------------------------------------------------

export type DistanceKind = 'lp' | 'lpRaw' | 'cosine' | 'dot';

export const DISTANCE_KINDS: readonly DistanceKind[] = ['lp', 'lpRaw', 'cosine', 'dot'];

export const DISTANCES: Record<DistanceKind, () => Distance> = {
  lp: () => lpDistance(),
  lpRaw: () => lpDistance({ normalize: false }),
  cosine: () => cosineSimilarity(),
  dot: () => dotProductSimilarity(),
};

export const IS_SIMILARITY: Record<DistanceKind, boolean> = { lp: false, lpRaw: false, cosine: true, dot: true };

/** How test names spell each kind: the call that makes its `Distance`. */
export const DISTANCE_LABELS: Record<DistanceKind, string> = {
  lp: 'lpDistance()',
  lpRaw: 'lpDistance({ normalize: false })',
  cosine: 'cosineSimilarity()',
  dot: 'dotProductSimilarity()',
};

const dot = (a: readonly number[], b: readonly number[]): number => a.reduce((s, v, i) => s + v * (b[i] as number), 0);

/** `v / max(‖v‖, 1e-12)`, as the library's L2 normalisation. */
const unit = (v: readonly number[]): number[] => {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
};

const euclidean = (a: readonly number[], b: readonly number[]): number => Math.sqrt(a.reduce((s, v, i) => s + (v - (b[i] as number)) ** 2, 0));

/** float64 value of the kind for two rows (similarities stay similarities). */
export function referenceValue(kind: DistanceKind, a: readonly number[], b: readonly number[]): number {
  const [x, y] = kind === 'lp' || kind === 'cosine' ? [unit(a), unit(b)] : [a, b];
  return kind === 'lp' || kind === 'lpRaw' ? euclidean(x, y) : dot(x, y);
}

/** Raw float64 `[n, m]` matrix of the kind between `rows` and `refRows` (similarities stay similarities). */
export function referenceMatrix(kind: DistanceKind, rows: Rows, refRows: Rows = rows): Rows {
  const normalize = kind === 'lp' || kind === 'cosine';
  const [x, y] = normalize ? [rows.map(unit), refRows.map(unit)] : [rows, refRows];
  const of = kind === 'lp' || kind === 'lpRaw' ? euclidean : dot;
  return x.map((a) => y.map((b) => of(a, b)));
}

// Decisions closer than this (relative to the values' scale) are float32-ambiguous; the seeded data
// of the tests keep every decision farther apart.
export const TIE_GAP = 2e-5;

/** The scale of a matrix's values (at least 1), for relative tie gaps. */
export function scaleOf(raw: Rows): number {
  return Math.max(1, ...raw.flat().map(Math.abs));
}

// ---------------------------------------------------------------------------------------------
// tuples
// ---------------------------------------------------------------------------------------------

/** The index tensors of tuples, in field order. */
function tuplesTensors(tuples: Tuples): tf.Tensor1D[] {
  return tuples.kind === 'pairs' ? [tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative] : [tuples.anchor, tuples.positive, tuples.negative];
}

export function disposeTuples(tuples: Tuples): void {
  tf.dispose(tuplesTensors(tuples));
}

export function asTriplets(tuples: Tuples): TripletTuples {
  if (tuples.kind !== 'triplets') throw new Error(`expected triplets, got ${tuples.kind}`);
  return tuples;
}

export function asPairs(tuples: Tuples): PairTuples {
  if (tuples.kind !== 'pairs') throw new Error(`expected pairs, got ${tuples.kind}`);
  return tuples;
}

function expectInt32Vectors(tuples: Tuples): void {
  for (const tensor of tuplesTensors(tuples)) {
    expect(tensor.dtype).toBe('int32');
    expect(tensor.rank).toBe(1);
  }
}

/** Checks rank-1 int32 triplet tensors, reads them and disposes them. */
export function readTriplets(tuples: Tuples): PlainTriplets {
  const t = asTriplets(tuples);
  expectInt32Vectors(t);
  const result = { anchor: Array.from(t.anchor.dataSync()), positive: Array.from(t.positive.dataSync()), negative: Array.from(t.negative.dataSync()) };
  disposeTuples(t);
  return result;
}

/** Checks rank-1 int32 pair tensors, reads them and disposes them. */
export function readPairs(tuples: Tuples): PlainPairs {
  const t = asPairs(tuples);
  expectInt32Vectors(t);
  const result = {
    anchorPos: Array.from(t.anchorPos.dataSync()),
    positive: Array.from(t.positive.dataSync()),
    anchorNeg: Array.from(t.anchorNeg.dataSync()),
    negative: Array.from(t.negative.dataSync()),
  };
  disposeTuples(t);
  return result;
}

/** int32 tuples holding the plain arrays, owned by the caller. */
function tuplesOf(plain: PlainPairs | PlainTriplets): Tuples {
  const int32 = (values: number[]): tf.Tensor1D => tf.tensor1d(values, 'int32');
  if ('anchor' in plain) return { kind: 'triplets', anchor: int32(plain.anchor), positive: int32(plain.positive), negative: int32(plain.negative) };
  return { kind: 'pairs', anchorPos: int32(plain.anchorPos), positive: int32(plain.positive), anchorNeg: int32(plain.anchorNeg), negative: int32(plain.negative) };
}

/** Checks that tuples of `kind` are all empty `[0]` int32 tensors, and disposes them. */
export function expectEmptyTuples(tuples: Tuples, kind: Tuples['kind']): void {
  expect(tuples.kind).toBe(kind);
  for (const tensor of tuplesTensors(tuples)) {
    expect(tensor.shape).toEqual([0]);
    expect(tensor.dtype).toBe('int32');
  }
  disposeTuples(tuples);
}

// ---------------------------------------------------------------------------------------------
// mining from plain arrays
// ---------------------------------------------------------------------------------------------

type PlainRef = { rows: Rows; labels: number[] };

function mineRows<T>(miner: Miner, rows: Rows, labels: number[], ref: PlainRef | undefined, read: (tuples: Tuples) => T): T {
  const { embeddings, labels: labelTensor } = tensors(rows, labels);
  const refTensors = ref === undefined ? undefined : tensors(ref.rows, ref.labels);
  try {
    return read(miner.mine(refTensors === undefined ? { embeddings, labels: labelTensor } : { embeddings, labels: labelTensor, ref: refTensors }));
  } finally {
    tf.dispose([embeddings, labelTensor]);
    if (refTensors !== undefined) tf.dispose([refTensors.embeddings, refTensors.labels]);
  }
}

/** Mines pairs from plain rows and labels (and an optional plain reference); checks and reads them. */
export function minePairs(miner: Miner, rows: Rows, labels: number[], ref?: PlainRef): PlainPairs {
  return mineRows(miner, rows, labels, ref, readPairs);
}

/** Mines triplets from plain rows and labels (and an optional plain reference); checks and reads them. */
export function mineTriplets(miner: Miner, rows: Rows, labels: number[], ref?: PlainRef): PlainTriplets {
  return mineRows(miner, rows, labels, ref, readTriplets);
}

/**
 * The miner leaves no tensor behind, without and with a reference (the first five rows), and
 * returns exactly `count` tensors that the caller owns.
 */
export async function expectMinesWithoutLeak(miner: Miner, rows: Rows, labels: number[], count: number): Promise<void> {
  const { embeddings, labels: labelTensor } = tensors(rows, labels);
  const ref = tensors(rows.slice(0, 5), labels.slice(0, 5));
  await expectNoLeak(() => disposeTuples(miner.mine({ embeddings, labels: labelTensor })));
  await expectNoLeak(() => disposeTuples(miner.mine({ embeddings, labels: labelTensor, ref })));
  const kept = await expectNoLeak(() => miner.mine({ embeddings, labels: labelTensor }), count);
  disposeTuples(kept);
  tf.dispose([embeddings, labelTensor, ref.embeddings, ref.labels]);
}

// ---------------------------------------------------------------------------------------------
// mined tuples feed the losses
// ---------------------------------------------------------------------------------------------

/** PML ContrastiveLoss on given pairs of a float64 distance matrix, avgNonZero reduction of each side. */
export function referenceContrastiveLoss(values: Rows, pairs: PlainPairs, posMargin: number, negMargin: number): number {
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
export function referenceMultiSimilarityLoss(rows: Rows, pairs: PlainPairs): number {
  const [alpha, beta, base] = [2, 50, 0.5];
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

/**
 * `loss` on the tuples `miner` mines from the rows, and on `expected` built by hand: the value
 * equals `referenceValue` (float64) and the hand-built tuples' value, the gradients agree, and the
 * gradient is finite with an entry above 1e-4.
 */
export function expectMinedTuplesFeedLoss(
  miner: Miner,
  loss: Loss,
  rows: Rows,
  labels: number[],
  expected: PlainPairs | PlainTriplets,
  referenceValue: number,
): void {
  const { embeddings, labels: labelTensor } = tensors(rows, labels);
  const mined = miner.mine({ embeddings, labels: labelTensor });
  const byHand = tuplesOf(expected);
  const lossWith = (tuples: Tuples) => (x: tf.Tensor) => loss.compute({ embeddings: x as tf.Tensor2D, labels: labelTensor, tuples });
  const { value, grad } = tf.valueAndGrad(lossWith(mined))(embeddings);
  const { value: handValue, grad: handGrad } = tf.valueAndGrad(lossWith(byHand))(embeddings);
  expectTensorClose(value, referenceValue, { atol: 1e-5, rtol: 1e-4 });
  expectTensorClose(value, handValue, { atol: 1e-7, rtol: 1e-6 });
  expectTensorClose(grad, handGrad, { atol: 1e-7, rtol: 1e-6 });
  const gradient = Array.from(grad.dataSync());
  expect(gradient.every(Number.isFinite)).toBe(true);
  expect(Math.max(...gradient.map(Math.abs))).toBeGreaterThan(1e-4);
  tf.dispose([value, grad, handValue, handGrad, embeddings, labelTensor]);
  disposeTuples(mined);
  disposeTuples(byHand);
}

/** Triplet margin loss on explicitly gathered triplets, averaged over the non-zero ones (PML's default). */
function explicitTripletLoss(distance: Distance, margin: number, x: tf.Tensor2D, a: number[], p: number[], n: number[]): tf.Scalar {
  const rows = (index: number[]): tf.Tensor2D => tf.gather(x, tf.tensor1d(index, 'int32')) as tf.Tensor2D;
  const anchors = rows(a);
  const ap = distance.paired(anchors, rows(p));
  const an = distance.paired(anchors, rows(n));
  const losses = tf.relu(tf.add(distance.isSimilarity ? tf.sub(an, ap) : tf.sub(ap, an), margin));
  // The number of non-zero losses is a constant of the reduction (comparisons have no gradient in tf.js).
  const count = Array.from(losses.dataSync()).filter((value) => value > 0).length;
  return tf.div(tf.sum(losses), Math.max(count, 1)) as tf.Scalar;
}

/**
 * `loss` on `tuples` has a positive value, and value and gradient equal those of
 * {@link explicitTripletLoss} on the gathered `triplets`. Returns the loss's gradient values.
 */
export function expectLossEqualsExplicitTriplets(
  loss: Loss,
  tuples: Tuples,
  distance: Distance,
  margin: number,
  x: tf.Tensor2D,
  labels: tf.Tensor1D,
  triplets: PlainTriplets,
): number[] {
  const viaLoss = tf.valueAndGrad((input: tf.Tensor) => loss.compute({ embeddings: input as tf.Tensor2D, labels, tuples }))(x);
  const explicit = tf.valueAndGrad((input: tf.Tensor) => explicitTripletLoss(distance, margin, input as tf.Tensor2D, triplets.anchor, triplets.positive, triplets.negative))(x);
  expect(viaLoss.value.dataSync()[0]).toBeGreaterThan(0);
  expectTensorClose(viaLoss.value, explicit.value);
  expectTensorClose(viaLoss.grad, explicit.grad);
  const gradient = Array.from(viaLoss.grad.dataSync());
  tf.dispose([viaLoss.value, viaLoss.grad, explicit.value, explicit.grad]);
  return gradient;
}

/** Every gradient entry is finite and at least one is non-zero. */
export function expectGradientFlows(gradient: ArrayLike<number>): void {
  const values = Array.from(gradient);
  expect(values.every(Number.isFinite)).toBe(true);
  expect(values.some((g) => g !== 0)).toBe(true);
}

// ---------------------------------------------------------------------------------------------
// validity of mined tuples (reliability battery, numerics)
// ---------------------------------------------------------------------------------------------

/** The index vectors of tuples, by field name. */
export function tupleFields(tuples: Tuples): Record<string, tf.Tensor1D> {
  return tuples.kind === 'pairs'
    ? { anchorPos: tuples.anchorPos, positive: tuples.positive, anchorNeg: tuples.anchorNeg, negative: tuples.negative }
    : { anchor: tuples.anchor, positive: tuples.positive, negative: tuples.negative };
}

/**
 * The problems of mined tuples: non-int32 or rank-other-than-1 vectors, lengths that differ, an
 * index out of range, a positive pair of different labels (or a row with itself without a
 * reference), a negative pair of equal labels. Disposes the tuples.
 */
export function tupleProblems(tuples: Tuples, labels: number[], refLabels: number[] | undefined, negativesAnyLabel = false): string[] {
  const problems: string[] = [];
  const columns = refLabels ?? labels;
  const values = Object.fromEntries(
    Object.entries(tupleFields(tuples)).map(([name, tensor]) => {
      if (tensor.dtype !== 'int32' || tensor.rank !== 1) problems.push(`${name}: ${tensor.dtype} rank ${tensor.rank}`);
      return [name, Array.from(tensor.dataSync())];
    }),
  ) as Record<string, number[]>;
  tf.dispose(Object.values(tupleFields(tuples)));
  const check = (anchors: number[], others: number[], same: boolean, what: string): void => {
    if (anchors.length !== others.length) problems.push(`${what}: ${anchors.length} anchors, ${others.length} partners`);
    anchors.forEach((a, k) => {
      const o = others[k] as number;
      if (!(Number.isInteger(a) && a >= 0 && a < labels.length)) problems.push(`${what}: anchor ${a} out of range`);
      else if (!(Number.isInteger(o) && o >= 0 && o < columns.length)) problems.push(`${what}: partner ${o} out of range`);
      else if (refLabels === undefined && a === o) problems.push(`${what}: (${a}, ${a}) pairs a row with itself`);
      else if ((labels[a] === columns[o]) !== same && !(negativesAnyLabel && !same)) problems.push(`${what}: (${a}, ${o}) has ${same ? 'different' : 'equal'} labels`);
    });
  };
  if (tuples.kind === 'pairs') {
    check(values['anchorPos'] as number[], values['positive'] as number[], true, 'positive pairs');
    check(values['anchorNeg'] as number[], values['negative'] as number[], false, 'negative pairs');
  } else {
    check(values['anchor'] as number[], values['positive'] as number[], true, 'triplet positives');
    check(values['anchor'] as number[], values['negative'] as number[], false, 'triplet negatives');
  }
  return problems;
}
