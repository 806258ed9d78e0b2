import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, cosineSimilarity, lpDistance, viewLabels } from '@contrastive/core';
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
import { lmnnLoss } from './lmnn-loss.js';
import { allFinite, cyclicLabels, expectFiniteLargeBatch, expectTrainsUnderMinimize, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference: Weinberger & Saul 2009, eq. (3) (pull + push), divided by the anchors that have
// a target neighbour
// ---------------------------------------------------------------------------------------------

type Metric = (a: number[], b: number[]) => number;

const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * (b[i] as number), 0);
const unit = (v: number[]): number[] => {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
};
const squaredEuclidean: Metric = (a, b) => a.reduce((s, v, i) => s + (v - (b[i] as number)) ** 2, 0);
const normalizedEuclidean: Metric = (a, b) => Math.sqrt(squaredEuclidean(unit(a), unit(b)));
const manhattan: Metric = (a, b) => a.reduce((s, v, i) => s + Math.abs(v - (b[i] as number)), 0);

interface Hyper {
  k?: number;
  margin?: number;
  mu?: number;
  metric?: Metric;
}

function combine(pull: number, push: number, anchors: number, mu: number): number {
  return ((1 - mu) * pull + mu * push) / Math.max(anchors, 1);
}

/** Target neighbours: the k nearest same-label rows (another row of the batch, or any ref row). */
function referenceLmnn(rows: Rows, labels: number[], hyper: Hyper = {}, refRows?: Rows, refLabels?: number[]): number {
  const { k = 3, margin = 1, mu = 0.5, metric = squaredEuclidean } = hyper;
  const columns = refRows ?? rows;
  const columnLabels = refLabels ?? labels;
  let pull = 0;
  let push = 0;
  let anchors = 0;
  rows.forEach((row, i) => {
    const candidates: { j: number; d: number }[] = [];
    columns.forEach((other, j) => {
      if (columnLabels[j] === labels[i] && !(refRows === undefined && j === i)) candidates.push({ j, d: metric(row, other) });
    });
    candidates.sort((a, b) => a.d - b.d || a.j - b.j);
    const targets = candidates.slice(0, k);
    if (targets.length > 0) anchors++;
    for (const { d } of targets) {
      pull += d;
      columns.forEach((other, l) => {
        if (columnLabels[l] !== labels[i]) push += Math.max(0, margin + d - metric(row, other));
      });
    }
  });
  return combine(pull, push, anchors, mu);
}

interface PlainTriplets {
  anchor: number[];
  positive: number[];
  negative: number[];
}

/** Mined (i, j, l): pull over the distinct (i, j), push over every triplet. */
function referenceTuples(rows: Rows, targets: [number, number][], triplets: PlainTriplets, hyper: Hyper = {}, refRows: Rows = rows): number {
  const { margin = 1, mu = 0.5, metric = squaredEuclidean } = hyper;
  const distinct = new Map<string, [number, number]>();
  for (const pair of targets) distinct.set(pair.join(','), pair);
  let pull = 0;
  for (const [i, j] of distinct.values()) pull += metric(rows[i]!, refRows[j]!);
  let push = 0;
  triplets.anchor.forEach((i, t) => {
    push += Math.max(0, margin + metric(rows[i]!, refRows[triplets.positive[t]!]!) - metric(rows[i]!, refRows[triplets.negative[t]!]!));
  });
  return combine(pull, push, new Set([...distinct.values()].map(([i]) => i)).size, mu);
}

const randomLabels = (rng: Rng, n: number, classes: number): number[] => Array.from({ length: n }, () => rng.int(classes));
function tripletTuples(triplets: PlainTriplets): TripletTuples {
  return { kind: 'triplets', anchor: int32(triplets.anchor), positive: int32(triplets.positive), negative: int32(triplets.negative) };
}
function disposeTuples(tuples: PairTuples | TripletTuples): void {
  if (tuples.kind === 'pairs') tf.dispose([tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative]);
  else tf.dispose([tuples.anchor, tuples.positive, tuples.negative]);
}

function valueAndGrad(loss: ReturnType<typeof lmnnLoss>, rows: Rows, labels: number[]): { value: number; grad: number[]; finite: boolean } {
  const x = tf.tensor2d(rows);
  const y = int32(labels);
  const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
  const out = { value: scalarValue(result.value), grad: Array.from(result.grad.dataSync()), finite: allFinite(result.value) && allFinite(result.grad) };
  tf.dispose([x, y, result.value, result.grad]);
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('lmnnLoss: against the float64 loops', () => {
  it('returns a float32 scalar named lmnnLoss', () => {
    const x = tf.tensor2d(randomRows(new Rng(1), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const loss = lmnnLoss();
    const value = loss.compute({ embeddings: x, labels: y });
    expect(loss.name).toBe('lmnnLoss');
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    tf.dispose([x, y, value]);
  });

  it('the TSDoc example prints 1', () => {
    const embeddings = tf.tensor2d([[0, 0], [1, 0], [0, 1], [1, 1]]);
    const labels = int32([0, 0, 1, 1]);
    const value = lmnnLoss({ k: 1 }).compute({ embeddings, labels });
    expect(scalarValue(value)).toBeCloseTo(1, 6);
    expect(referenceLmnn([[0, 0], [1, 0], [0, 1], [1, 1]], [0, 0, 1, 1], { k: 1 })).toBe(1);
    tf.dispose([embeddings, labels, value]);
  });

  it.each([
    [4, 3, 2, 3, 1, 0.5],
    [8, 16, 3, 1, 1, 0.5],
    [16, 8, 4, 3, 0.5, 0.3],
    [24, 5, 3, 2, 2, 0.7],
    [32, 32, 8, 3, 1, 0],
    [48, 12, 6, 5, 4, 1],
  ])('n=%i d=%i classes=%i k=%i margin=%s mu=%s', (n, d, classes, k, margin, mu) => {
    const rng = new Rng(n * 100 + d);
    const rows = randomRows(rng, n, d, 0.5);
    const labels = randomLabels(rng, n, classes);
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const value = lmnnLoss({ k, margin, mu }).compute({ embeddings: x, labels: y });
    expectTensorClose(value, referenceLmnn(rows, labels, { k, margin, mu }), FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });

  it.each([
    ['squared Euclidean (default)', undefined, squaredEuclidean, 1],
    ['lpDistance() (normalized)', () => lpDistance(), normalizedEuclidean, 0.3],
    ['lpDistance p = 1', () => lpDistance({ p: 1, normalize: false }), manhattan, 1],
  ] as [string, (() => Distance) | undefined, Metric, number][])('distance %s: value and gradient', (_, makeDistance, metric, margin) => {
    const rng = new Rng(17);
    const rows = randomRows(rng, 12, 4, 0.5);
    const labels = randomLabels(rng, 12, 3);
    const loss = lmnnLoss({ k: 2, margin, ...(makeDistance === undefined ? {} : { distance: makeDistance() }) });
    const y = int32(labels);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceLmnn(r, labels, { k: 2, margin, metric }), rows);
    y.dispose();
  });

  it('k larger than a class: every same-label row is a target neighbour', () => {
    const rng = new Rng(19);
    const rows = randomRows(rng, 9, 3);
    const labels = [0, 0, 1, 1, 1, 1, 1, 2, 2];
    const y = int32(labels);
    const loss = lmnnLoss({ k: 4 });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceLmnn(r, labels, { k: 4 }), rows);
    const x = tf.tensor2d(rows);
    const bigK = lmnnLoss({ k: 50 }).compute({ embeddings: x, labels: y });
    expectTensorClose(bigK, referenceLmnn(rows, labels, { k: 50 }), FLOAT32_TOLERANCE);
    tf.dispose([x, y, bigK]);
  });

  it('the target neighbours carry no gradient: pull of a fixed set, as the paper', () => {
    // mu = 0: the loss is the mean distance to the k nearest same-label rows; its gradient is that of
    // the distances to the chosen rows only (checkGradients compares with the float64 loops).
    const rng = new Rng(20);
    const rows = randomRows(rng, 10, 3);
    const labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
    const y = int32(labels);
    const loss = lmnnLoss({ k: 2, mu: 0 });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceLmnn(r, labels, { k: 2, mu: 0 }), rows);
    y.dispose();
  });
});

// ---------------------------------------------------------------------------------------------

describe('lmnnLoss: edge cases', () => {
  it('no target neighbour (all labels distinct) gives a connected 0', () => {
    const { value, grad } = valueAndGrad(lmnnLoss(), randomRows(new Rng(2), 5, 3), [0, 1, 2, 3, 4]);
    expect(value === 0).toBe(true);
    expect(grad.every((g) => g === 0)).toBe(true);
  });

  it('no impostor (one label): the pull term alone', () => {
    const rows = randomRows(new Rng(3), 5, 3);
    const { value, finite } = valueAndGrad(lmnnLoss({ k: 2 }), rows, [7, 7, 7, 7, 7]);
    expect(value).toBeCloseTo(referenceLmnn(rows, [7, 7, 7, 7, 7], { k: 2 }), 5);
    expect(value).toBeGreaterThan(0);
    expect(finite).toBe(true);
  });

  it('a batch of one gives a connected 0', () => {
    const { value, grad } = valueAndGrad(lmnnLoss(), [[0.3, -0.4]], [0]);
    expect(value === 0).toBe(true);
    expect(grad).toEqual([0, 0]);
  });

  it('identical vectors: pull 0, every impostor violates by the margin; finite gradient', () => {
    const rows = Array.from({ length: 6 }, () => [0.2, -1.5, 0.7]);
    const { value, finite } = valueAndGrad(lmnnLoss({ k: 1 }), rows, [0, 1, 2, 0, 1, 2]);
    // Each anchor: one target, 4 impostors, each relu(1 + 0 - 0) = 1; mu = 0.5.
    expect(value).toBeCloseTo(0.5 * 4, 4);
    expect(finite).toBe(true);
  });

  it('zero vectors: finite value and gradient', () => {
    const zeros = valueAndGrad(lmnnLoss(), Array.from({ length: 4 }, () => [0, 0, 0]), [0, 1, 0, 1]);
    expect(zeros.value).toBeCloseTo(0.5 * 2, 5);
    expect(zeros.finite).toBe(true);
    const normalized = valueAndGrad(lmnnLoss({ distance: lpDistance(), margin: 0.5 }), [[0, 0, 0], [1, 2, 3], [0, 0, 0], [-1, 0.5, 2]], [0, 1, 0, 1]);
    expect(normalized.value).toBeCloseTo(referenceLmnn([[0, 0, 0], [1, 2, 3], [0, 0, 0], [-1, 0.5, 2]], [0, 1, 0, 1], { margin: 0.5, metric: normalizedEuclidean }), 4);
    expect(normalized.finite).toBe(true);
  });

  it('embeddings scaled by 1e4 stay finite (squared distances ~1e9)', () => {
    const rows = randomRows(new Rng(5), 16, 8, 1e4);
    const labels = Array.from({ length: 16 }, (_, i) => i % 4);
    const result = valueAndGrad(lmnnLoss(), rows, labels);
    expect(result.finite).toBe(true);
    const expected = referenceLmnn(rows, labels);
    expect(Math.abs(result.value - expected)).toBeLessThan(LOOSE_TOLERANCE.rtol * expected);
  });
});

// ---------------------------------------------------------------------------------------------

describe('lmnnLoss: given tuples and a reference set', () => {
  const rng = new Rng(21);
  const rows = randomRows(rng, 8, 4, 0.5);
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];

  it('triplets (i, j, l): distinct (i, j) pulled once, every triplet pushed; gradient matches', () => {
    const mined = { anchor: [0, 0, 1, 5, 2, 0], positive: [4, 4, 5, 1, 6, 4], negative: [1, 3, 2, 7, 0, 1] };
    const targets = mined.anchor.map((i, t) => [i, mined.positive[t]!] as [number, number]);
    const y = int32(labels);
    const tuples = tripletTuples(mined);
    const loss = lmnnLoss({ margin: 0.8 });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, tuples }), (r) => referenceTuples(r, targets, mined, { margin: 0.8 }), rows);
    disposeTuples(tuples);
    y.dispose();
  });

  it('pairs: positive pairs are the targets, negative pairs of the same anchor the impostors (PML convert_to_triplets)', () => {
    const pairs = { anchorPos: [0, 4, 1, 3], positive: [4, 0, 5, 7], anchorNeg: [0, 0, 4, 1, 2], negative: [1, 2, 6, 6, 1] };
    const targets = pairs.anchorPos.map((i, k) => [i, pairs.positive[k]!] as [number, number]);
    const triplets = { anchor: [0, 0, 4, 1], positive: [4, 4, 0, 5], negative: [1, 2, 6, 6] };
    const y = int32(labels);
    const tuples: PairTuples = { kind: 'pairs', anchorPos: int32(pairs.anchorPos), positive: int32(pairs.positive), anchorNeg: int32(pairs.anchorNeg), negative: int32(pairs.negative) };
    const loss = lmnnLoss({ margin: 0.8, mu: 0.3 });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, tuples }), (r) => referenceTuples(r, targets, triplets, { margin: 0.8, mu: 0.3 }), rows);
    disposeTuples(tuples);
    y.dispose();
  });

  it('empty tuples give a connected 0', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = lmnnLoss();
    for (const tuples of [
      tripletTuples({ anchor: [], positive: [], negative: [] }),
      { kind: 'pairs', anchorPos: int32([]), positive: int32([]), anchorNeg: int32([1]), negative: int32([2]) } as PairTuples,
    ]) {
      const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, tuples }))(x);
      expect(scalarValue(value) === 0).toBe(true);
      expect(Array.from(grad.dataSync()).every((g) => g === 0)).toBe(true);
      disposeTuples(tuples);
      tf.dispose([value, grad]);
    }
    tf.dispose([x, y]);
  });

  it('ref: target neighbours and impostors from the reference; a copy of the anchor counts', () => {
    const queue = randomRows(rng, 10, 4, 0.5);
    const queueLabels = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4];
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const loss = lmnnLoss({ k: 2 });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, ref }), (r) => referenceLmnn(r, labels, { k: 2 }, queue, queueLabels), rows);
    const x = tf.tensor2d(rows);
    const self = { embeddings: tf.clone(x), labels: tf.clone(y) };
    const withSelf = loss.compute({ embeddings: x, labels: y, ref: self });
    expectTensorClose(withSelf, referenceLmnn(rows, labels, { k: 2 }, rows, labels), { atol: 1e-5, rtol: 1e-4 });
    tf.dispose([x, y, ref.embeddings, ref.labels, self.embeddings, self.labels, withSelf]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('lmnnLoss: training and resources', () => {
  it('leaks no tensor on any path, forward or backward', async () => {
    const x = tf.tensor2d(randomRows(new Rng(41), 8, 4));
    const y = int32([0, 1, 2, 3, 0, 1, 2, 3]);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(42), 5, 4)), labels: int32([0, 1, 2, 3, 4]) };
    const pairs: PairTuples = { kind: 'pairs', anchorPos: int32([0, 4]), positive: int32([4, 0]), anchorNeg: int32([0, 4]), negative: int32([1, 2]) };
    const triplets = tripletTuples({ anchor: [0, 1], positive: [4, 5], negative: [2, 3] });
    const empty = tripletTuples({ anchor: [], positive: [], negative: [] });
    const one = { embeddings: tf.tensor2d([[1, 2, 3, 4]]), labels: int32([0]) };
    const loss = lmnnLoss();
    const inputs = [
      { embeddings: x, labels: y },
      { embeddings: x, labels: y, ref },
      { embeddings: x, labels: y, tuples: pairs },
      { embeddings: x, labels: y, tuples: triplets },
      { embeddings: x, labels: y, tuples: empty },
      one,
    ];
    for (const input of inputs) loss.compute(input).dispose(); // warm-up
    await expectNoLeak(() => {
      for (const input of inputs) {
        loss.compute(input).dispose();
        const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ ...input, embeddings: e as tf.Tensor2D }))(input.embeddings);
        tf.dispose([value, grad]);
      }
    });
    expect(x.isDisposed || y.isDisposed || ref.embeddings.isDisposed || pairs.anchorPos.isDisposed).toBe(false);
    [pairs, triplets, empty].forEach(disposeTuples);
    tf.dispose([x, y, ref.embeddings, ref.labels, one.embeddings, one.labels]);
  });

  it('trains under optimizer.minimize: the loss falls, no tensor growth', () => {
    expectTrainsUnderMinimize(lmnnLoss(), { labels: (n) => cyclicLabels(n, 4), optimizer: () => tf.train.sgd(0.02), steps: 20, factor: 0.5 });
  });

  it('handles N = 1024 (d = 128) with a finite value and gradient', () => {
    expectFiniteLargeBatch(lmnnLoss(), { n: 1024, d: 128, labels: (n) => viewLabels(n / 4, 4) });
  });
});

// ---------------------------------------------------------------------------------------------

describe('lmnnLoss: errors', () => {
  it('rejects bad options in the factory', () => {
    expectContrastiveError(() => lmnnLoss({ k: 0 }), 'INVALID_ARGUMENT', /Argument 'k' passed to 'lmnnLoss' must be an integer >= 1, got 0/);
    expectContrastiveError(() => lmnnLoss({ k: 2.5 }), 'INVALID_ARGUMENT', /Argument 'k' passed to 'lmnnLoss' must be an integer >= 1, got 2.5/);
    expectContrastiveError(() => lmnnLoss({ margin: -1 }), 'INVALID_ARGUMENT', /Argument 'margin' passed to 'lmnnLoss' must be a finite number >= 0, got -1/);
    expectContrastiveError(() => lmnnLoss({ mu: 1.5 }), 'INVALID_ARGUMENT', /Argument 'mu' passed to 'lmnnLoss' must be a finite number >= 0 and <= 1, got 1.5/);
    expectContrastiveError(() => lmnnLoss({ distance: {} as Distance }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'lmnnLoss' must be a Distance/);
    expectContrastiveError(() => lmnnLoss({ distance: cosineSimilarity() }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'lmnnLoss' must be a distance \(isSimilarity false.*got the similarity cosineSimilarity/);
  });

  it('rejects bad embeddings, labels, ref and tuples, naming the argument, leaking nothing', () => {
    const loss = lmnnLoss();
    const x = tf.tensor2d(randomRows(new Rng(71), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const cases: [() => unknown, string, RegExp][] = [
      [() => loss.compute({ embeddings: tf.tensor1d([1, 2]) as unknown as tf.Tensor2D, labels: y }), 'SHAPE_MISMATCH', /Argument 'embeddings' passed to 'lmnnLoss' must be rank 2, got rank 1/],
      [() => loss.compute({ embeddings: x, labels: tf.tensor1d([0, 1, 0, 1]) }), 'DTYPE_MISMATCH', /Argument 'labels' passed to 'lmnnLoss' must have dtype int32, got float32/],
      [() => loss.compute({ embeddings: x, labels: int32([0, 1, 0]) }), 'LABEL_COUNT', /Argument 'labels' passed to 'lmnnLoss' must have 4 entries \(one per embedding\), got 3/],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 3]), labels: int32([0]) } }), 'LABEL_COUNT', /Argument 'ref.labels' passed to 'lmnnLoss' must have 2 entries/],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'triplets', anchor: int32([0]), positive: tf.tensor1d([2]), negative: int32([1]) } }),
        'DTYPE_MISMATCH',
        /Argument 'tuples.positive' passed to 'lmnnLoss' must have dtype int32, got float32/,
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
