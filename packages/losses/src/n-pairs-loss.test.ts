import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, cosineSimilarity, dotProductSimilarity, lpDistance } from '@contrastive/core';
import type { Distance, PairTuples, TripletTuples, Tuples } from '@contrastive/core';
import {
  FLOAT32_TOLERANCE,
  checkGradients,
  expectContrastiveError,
  expectNoLeak,
  expectTensorClose,
  useTestBackend,
} from '@contrastive/core/testing';
import { nPairsLoss } from './n-pairs-loss.js';
import { perAnchorReducer, sumReducer } from './reducers.js';
import type { Reducer } from './reducers.js';
import { allFinite, cyclicLabels, expectFiniteLargeBatch, expectTrainsUnderMinimize, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference: PML's pair selection and Sohn 2016's multi-class N-pair loss, as loops
// ---------------------------------------------------------------------------------------------

type Closeness = (a: number[], b: number[]) => number;

function dot(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}
function unit(v: number[]): number[] {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
}
const cosine: Closeness = (a, b) => dot(unit(a), unit(b));
const negEuclidean: Closeness = (a, b) => {
  const [x, y] = [unit(a), unit(b)];
  return -Math.sqrt(x.reduce((s, v, i) => s + (v - (y[i] as number)) ** 2, 0));
};

interface PlainTuples {
  readonly kind: 'pairs' | 'triplets';
  readonly lists: number[][];
}

/**
 * PML's `convert_to_pos_pairs_with_unique_labels`: the positive pairs (every ordered same-label pair
 * in row-major order, as `torch.where`, without tuples), then `np.unique(labels[a], return_index=True)`:
 * for each distinct anchor label in ascending order, the first pair carrying it.
 */
function pmlPairs(labels: number[], tuples?: PlainTuples): { anchors: number[]; positives: number[] } {
  let a: number[] = [];
  let p: number[] = [];
  if (tuples === undefined) {
    for (let i = 0; i < labels.length; i++) {
      for (let j = 0; j < labels.length; j++) {
        if (i !== j && labels[i] === labels[j]) a.push(i), p.push(j);
      }
    }
  } else {
    [a, p] = tuples.lists as [number[], number[]];
  }
  const first = new Map<number, number>();
  a.forEach((anchor, k) => {
    const label = labels[anchor] as number;
    if (!first.has(label)) first.set(label, k);
  });
  const order = [...first.keys()].sort((x, y) => x - y).map((label) => first.get(label) as number);
  return { anchors: order.map((k) => a[k] as number), positives: order.map((k) => p[k] as number) };
}

/** Mean over chosen pairs k of -log(exp(s(a_k, p_k)) / Σ_l exp(s(a_k, p_l))). */
function referenceNPairs(rows: Rows, labels: number[], options: { closeness?: Closeness; tuples?: PlainTuples } = {}): number {
  const closeness = options.closeness ?? dot;
  const { anchors, positives } = pmlPairs(labels, options.tuples);
  if (anchors.length === 0) return 0;
  let total = 0;
  anchors.forEach((anchor, k) => {
    const logits = positives.map((positive) => closeness(rows[anchor] as number[], rows[positive] as number[]));
    const max = Math.max(...logits);
    const denominator = logits.reduce((sum, z) => sum + Math.exp(z - max), 0);
    total += -((logits[k] as number) - max - Math.log(denominator));
  });
  return total / anchors.length;
}

function randomLabels(rng: Rng, n: number, classes: number): number[] {
  return Array.from({ length: n }, () => rng.int(classes));
}
function toTuples(plain: PlainTuples): Tuples {
  const [first, second, third, fourth] = plain.lists as [number[], number[], number[], number[]];
  if (plain.kind === 'triplets') {
    return { kind: 'triplets', anchor: int32(first), positive: int32(second), negative: int32(third) } satisfies TripletTuples;
  }
  return { kind: 'pairs', anchorPos: int32(first), positive: int32(second), anchorNeg: int32(third), negative: int32(fourth) } satisfies PairTuples;
}
function disposeTuples(tuples: Tuples): void {
  if (tuples.kind === 'pairs') tf.dispose([tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative]);
  else tf.dispose([tuples.anchor, tuples.positive, tuples.negative]);
}

function valueAndGrad(
  rows: Rows,
  labels: number[],
  options: Parameters<typeof nPairsLoss>[0] = {},
  tuples?: Tuples,
): { value: number; grad: number[]; finite: boolean } {
  const x = tf.tensor2d(rows);
  const y = int32(labels);
  const loss = nPairsLoss(options);
  const result = tf.valueAndGrad((e: tf.Tensor) =>
    loss.compute(tuples === undefined ? { embeddings: e as tf.Tensor2D, labels: y } : { embeddings: e as tf.Tensor2D, labels: y, tuples }),
  )(x);
  expect(result.grad.shape).toEqual(x.shape);
  const out = { value: scalarValue(result.value), grad: Array.from(result.grad.dataSync()), finite: allFinite(result.grad) && allFinite(result.value) };
  tf.dispose([x, y, result.value, result.grad]);
  return out;
}

// ---------------------------------------------------------------------------------------------

describe('nPairsLoss: PML pair selection', () => {
  it('the reference picks, per label in ascending order, its first and second rows', () => {
    expect(pmlPairs([3, 1, 3, 1, 2, 2, 1, 5])).toEqual({ anchors: [1, 4, 0], positives: [3, 5, 2] });
    expect(pmlPairs([0, 1, 2])).toEqual({ anchors: [], positives: [] });
    // With tuples: the first pair per anchor label in the tuples' order.
    const labels = [0, 1, 0, 1, 0, 1];
    expect(pmlPairs(labels, { kind: 'pairs', lists: [[4, 3, 0, 1], [2, 5, 4, 3], [], []] })).toEqual({ anchors: [4, 3], positives: [2, 5] });
  });

  it.each([
    [[3, 1, 3, 1, 2, 2, 1, 5]],
    [[0, 0, 0, 0]],
    [[7, 7, 8, 8, 9, 9, 10, 10, 11, 11]],
    [[-4, 2147483647, 16777217, -4, 16777216, 2147483647, 16777217, 16777216]],
  ])('labels %j: value equals the loops', (labels) => {
    const rows = randomRows(new Rng(labels.length), labels.length, 4, 0.7);
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const value = nPairsLoss().compute({ embeddings: x, labels: y });
    expectTensorClose(value, referenceNPairs(rows, labels), FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });

  it('only the first two rows of a label matter: moving a third row changes nothing', () => {
    const labels = [0, 1, 0, 1, 0, 1];
    const rows = randomRows(new Rng(3), 6, 3);
    const { value, grad } = valueAndGrad(rows, labels);
    expect(grad.slice(4 * 3).every((g) => g === 0)).toBe(true);
    const moved = rows.map((r, i) => (i >= 4 ? r.map((v) => v + 1) : r));
    expect(valueAndGrad(moved, labels).value).toBeCloseTo(value, 6);
  });
});

// ---------------------------------------------------------------------------------------------

describe('nPairsLoss: against the float64 loops', () => {
  it('returns a float32 scalar named nPairsLoss', () => {
    const x = tf.tensor2d(randomRows(new Rng(1), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const loss = nPairsLoss();
    const value = loss.compute({ embeddings: x, labels: y });
    expect(loss.name).toBe('nPairsLoss');
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    tf.dispose([x, y, value]);
  });

  it('the TSDoc example prints 0.5981389', () => {
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [0.8, 0.6], [0.6, 0.8]]);
    const labels = int32([0, 1, 0, 1]);
    const value = nPairsLoss().compute({ embeddings, labels });
    expect(scalarValue(value)).toBeCloseTo(0.5981389, 6);
    tf.dispose([embeddings, labels, value]);
  });

  it("equals the paper's N-pair-mc form log(1 + Σ_{l≠k} exp(aₖᵀpₗ - aₖᵀpₖ))", () => {
    const rows = randomRows(new Rng(4), 8, 5);
    const labels = [0, 1, 2, 3, 0, 1, 2, 3]; // anchors 0..3, positives 4..7
    let total = 0;
    for (let k = 0; k < 4; k++) {
      let sum = 0;
      for (let l = 0; l < 4; l++) if (l !== k) sum += Math.exp(dot(rows[k]!, rows[l + 4]!) - dot(rows[k]!, rows[k + 4]!));
      total += Math.log1p(sum);
    }
    expect(valueAndGrad(rows, labels).value).toBeCloseTo(total / 4, 5);
  });

  it.each([
    [4, 3],
    [8, 16],
    [16, 8],
    [24, 5],
    [32, 32],
    [64, 12],
  ])('n=%i d=%i, view labels and random labels', (n, d) => {
    const rng = new Rng(n * 1000 + d);
    const rows = randomRows(rng, n, d, 0.5);
    for (const labels of [Array.from({ length: n }, (_, i) => i % (n / 2)), randomLabels(rng, n, Math.max(2, Math.floor(n / 3)))]) {
      const x = tf.tensor2d(rows);
      const y = int32(labels);
      const value = nPairsLoss().compute({ embeddings: x, labels: y });
      expectTensorClose(value, referenceNPairs(rows, labels), FLOAT32_TOLERANCE);
      tf.dispose([x, y, value]);
    }
  });

  it.each([
    ['dotProductSimilarity (default)', () => dotProductSimilarity(), dot],
    ['cosineSimilarity', () => cosineSimilarity(), cosine],
    ['lpDistance (negated)', () => lpDistance(), negEuclidean],
  ] as [string, () => Distance, Closeness][])('distance %s: value and gradient', (_, makeDistance, closeness) => {
    const rows = randomRows(new Rng(11), 12, 6, 0.5);
    const labels = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 0];
    const y = int32(labels);
    const loss = nPairsLoss({ distance: makeDistance() });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceNPairs(r, labels, { closeness }), rows, {
      atol: 1e-5,
      rtol: 1e-4,
    });
    y.dispose();
  });

  it.each([
    [6, 3],
    [10, 4],
    [16, 6],
  ])('gradient matches central differences: n=%i d=%i', (n, d) => {
    const rng = new Rng(n + d);
    const rows = randomRows(rng, n, d);
    const labels = randomLabels(rng, n, 3);
    const y = int32(labels);
    const loss = nPairsLoss();
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceNPairs(r, labels), rows);
    y.dispose();
  });
});

// ---------------------------------------------------------------------------------------------

describe('nPairsLoss: given tuples', () => {
  const rows = randomRows(new Rng(21), 8, 5, 0.6);
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];

  it.each([
    ['pairs', { kind: 'pairs', lists: [[5, 4, 0, 1, 6], [1, 0, 4, 5, 2], [0], [1]] }],
    ['triplets (negatives ignored)', { kind: 'triplets', lists: [[6, 0, 2, 4], [2, 4, 6, 0], [1, 1, 1, 1]] }],
    ['pairs with a repeated label first', { kind: 'pairs', lists: [[3, 7, 3], [7, 3, 7], [], []] }],
  ] as [string, PlainTuples][])('%s: the first pair per anchor label, value and gradient', (_, plain) => {
    const tuples = toTuples(plain);
    const y = int32(labels);
    const loss = nPairsLoss();
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, tuples }), (r) => referenceNPairs(r, labels, { tuples: plain }), rows);
    disposeTuples(tuples);
    y.dispose();
  });

  it('no positive pair in the tuples gives a connected 0', () => {
    const tuples = toTuples({ kind: 'pairs', lists: [[], [], [0, 1], [1, 2]] });
    const { value, grad } = valueAndGrad(rows, labels, {}, tuples);
    expect(value === 0).toBe(true);
    expect(grad.every((g) => g === 0)).toBe(true);
    disposeTuples(tuples);
  });
});

// ---------------------------------------------------------------------------------------------

describe('nPairsLoss: edge cases', () => {
  it('no positive pair (all labels distinct) gives a connected 0', () => {
    const { value, grad } = valueAndGrad(randomRows(new Rng(2), 5, 3), [0, 1, 2, 3, 4]);
    expect(value === 0).toBe(true);
    expect(grad.every((g) => g === 0)).toBe(true);
  });

  it('no negative (one label): a single pair, cross-entropy 0 with zero gradient', () => {
    const { value, grad, finite } = valueAndGrad(randomRows(new Rng(3), 4, 3), [7, 7, 7, 7]);
    expect(value).toBe(0);
    expect(finite).toBe(true);
    expect(grad.every((g) => g === 0)).toBe(true);
  });

  it('a batch of one gives a connected 0', () => {
    const { value, grad } = valueAndGrad([[0.3, -0.4]], [0]);
    expect(value === 0).toBe(true);
    expect(grad).toEqual([0, 0]);
  });

  it('identical and zero vectors: log(#pairs), finite gradient', () => {
    const labels = [0, 1, 2, 0, 1, 2];
    const identical = valueAndGrad(Array.from({ length: 6 }, () => [0.2, -1.5, 0.7]), labels);
    expect(identical.value).toBeCloseTo(Math.log(3), 5);
    expect(identical.finite).toBe(true);
    const zeros = valueAndGrad(Array.from({ length: 6 }, () => [0, 0, 0]), labels, { distance: cosineSimilarity() });
    expect(zeros.value).toBeCloseTo(Math.log(3), 5);
    expect(zeros.finite).toBe(true);
  });

  it('embeddings scaled by 1e4 (dot products ~1e8) stay finite and exact', () => {
    const rows = randomRows(new Rng(5), 16, 8, 1e4);
    const labels = Array.from({ length: 16 }, (_, i) => i % 8);
    const { value, finite } = valueAndGrad(rows, labels);
    expect(finite).toBe(true);
    const expected = referenceNPairs(rows, labels);
    expect(Math.abs(value - expected)).toBeLessThan(1e-4 * expected);
  });

  it('rejects a reference set, as PML', () => {
    const x = tf.tensor2d([[1, 0], [0, 1]]);
    const y = int32([0, 0]);
    expectContrastiveError(
      () => nPairsLoss().compute({ embeddings: x, labels: y, ref: { embeddings: x, labels: y } }),
      'INVALID_ARGUMENT',
      /Argument 'ref' passed to 'nPairsLoss' is not supported \(pytorch-metric-learning's NPairsLoss compares a batch with itself\)/,
    );
    tf.dispose([x, y]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('nPairsLoss: reducers', () => {
  const rows = randomRows(new Rng(33), 9, 4);
  const labels = [0, 0, 1, 1, 1, 2, 2, 3, 4];

  it('sumReducer sums the per-pair cross-entropies', () => {
    expect(valueAndGrad(rows, labels, { reducer: sumReducer() }).value).toBeCloseTo(3 * referenceNPairs(rows, labels), 5);
  });

  it('perAnchorReducer sees the anchors (rows 0, 2, 5) and averages over all 9 rows', () => {
    expect(valueAndGrad(rows, labels, { reducer: perAnchorReducer() }).value).toBeCloseTo((3 * referenceNPairs(rows, labels)) / 9, 5);
  });
});

// ---------------------------------------------------------------------------------------------

describe('nPairsLoss: training and resources', () => {
  it('leaks no tensor on any path, forward or backward', async () => {
    const x = tf.tensor2d(randomRows(new Rng(41), 8, 4));
    const y = int32([0, 1, 2, 3, 0, 1, 2, 3]);
    const distinct = int32([0, 1, 2, 3, 4, 5, 6, 7]);
    const tuples = toTuples({ kind: 'triplets', lists: [[0, 4], [4, 0], [1, 2]] });
    const empty = toTuples({ kind: 'pairs', lists: [[], [], [], []] });
    const one = { embeddings: tf.tensor2d([[1, 2, 3, 4]]), labels: int32([0]) };
    const loss = nPairsLoss();
    const inputs = [{ embeddings: x, labels: y }, { embeddings: x, labels: distinct }, { embeddings: x, labels: y, tuples }, { embeddings: x, labels: y, tuples: empty }, one];
    for (const input of inputs) loss.compute(input).dispose();
    await expectNoLeak(() => {
      for (const input of inputs) {
        loss.compute(input).dispose();
        const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ ...input, embeddings: e as tf.Tensor2D }))(input.embeddings);
        tf.dispose([value, grad]);
      }
    });
    disposeTuples(tuples);
    disposeTuples(empty);
    tf.dispose([x, y, distinct, one.embeddings, one.labels]);
  });

  it('trains under optimizer.minimize: the loss falls, no tensor growth', () => {
    expectTrainsUnderMinimize(nPairsLoss(), { scale: 0.3, labels: (n) => cyclicLabels(n, 8), optimizer: () => tf.train.sgd(0.2), steps: 30, factor: 0.8 });
  });

  it('handles N = 1024 (d = 128) with a finite value and gradient', () => {
    expectFiniteLargeBatch(nPairsLoss(), { n: 1024, d: 128, stddev: 0.1, labels: (n) => cyclicLabels(n, 300) });
  });
});

// ---------------------------------------------------------------------------------------------

describe('nPairsLoss: errors', () => {
  it('rejects bad options in the factory', () => {
    expectContrastiveError(() => nPairsLoss({ distance: {} as Distance }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'nPairsLoss' must be a Distance/);
    expectContrastiveError(() => nPairsLoss({ reducer: { name: 'x' } as unknown as Reducer }), 'INVALID_ARGUMENT', /Argument 'reducer' passed to 'nPairsLoss' must be a Reducer/);
  });

  it('rejects bad embeddings, labels and tuples, naming the argument, without leaking', () => {
    const loss = nPairsLoss();
    const x = tf.tensor2d(randomRows(new Rng(71), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const cases: [() => unknown, Parameters<typeof expectContrastiveError>[1], RegExp][] = [
      [() => loss.compute({ embeddings: tf.tensor1d([1, 2]) as unknown as tf.Tensor2D, labels: y }), 'SHAPE_MISMATCH', /Argument 'embeddings' passed to 'nPairsLoss' must be rank 2, got rank 1/],
      [() => loss.compute({ embeddings: x, labels: tf.tensor1d([0, 1, 0, 1]) }), 'DTYPE_MISMATCH', /Argument 'labels' passed to 'nPairsLoss' must have dtype int32, got float32/],
      [() => loss.compute({ embeddings: x, labels: int32([0, 1, 0]) }), 'LABEL_COUNT', /Argument 'labels' passed to 'nPairsLoss' must have 4 entries \(one per embedding\), got 3/],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'triplets', anchor: int32([0, 1]), positive: int32([2, 3]), negative: int32([1]) } }),
        'SHAPE_MISMATCH',
        /Argument 'tuples.negative' passed to 'nPairsLoss' must have 2 entries \(one per entry of 'tuples.anchor'\), got 1/,
      ],
    ];
    for (const [call, code, message] of cases) {
      const before = tf.memory().numTensors;
      expectContrastiveError(() => tf.tidy(() => void call()), code, message);
      expect(tf.memory().numTensors).toBe(before);
    }
    tf.dispose([x, y]);
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
