import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, cosineSimilarity, dotProductSimilarity, lpDistance, viewLabels } from '@contrastive/core';
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
import { meanReducer, perAnchorReducer } from './reducers.js';
import { ntXentLoss } from './nt-xent.js';
import { supConLoss } from './supcon-loss.js';
import { allFinite, cyclicLabels, expectTrainsUnderMinimize, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference: Khosla et al. 2020 eq. 2 (L_out) with PML's masks and AvgNonZeroReducer
// ---------------------------------------------------------------------------------------------

type Similarity = (a: number[], b: number[]) => number;

const dot: Similarity = (a, b) => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);
function unit(v: number[]): number[] {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
}
const cosine: Similarity = (a, b) => dot(unit(a), unit(b));
const negEuclidean: Similarity = (a, b) => {
  const [x, y] = [unit(a), unit(b)];
  return -Math.sqrt(x.reduce((s, v, i) => s + (v - (y[i] as number)) ** 2, 0));
};

interface PlainPairs {
  anchorPos: number[];
  positive: number[];
  anchorNeg: number[];
  negative: number[];
}

interface ReferenceOptions {
  readonly similarity?: Similarity;
  readonly refRows?: Rows;
  readonly refLabels?: number[];
  /** Mined pairs instead of labels (0/1 masks, as PML). */
  readonly pairs?: PlainPairs;
  readonly reduction?: 'avgNonZero' | 'mean';
}

/** Per-anchor SupCon losses, then the reduction. */
function referenceSupCon(rows: Rows, labels: number[], temperature: number, options: ReferenceOptions = {}): number {
  const similarity = options.similarity ?? cosine;
  const keys = options.refRows ?? rows;
  const keyLabels = options.refLabels ?? labels;
  const self = options.refRows === undefined;
  const n = rows.length;
  const m = keys.length;
  const pos: number[][] = Array.from({ length: n }, () => new Array<number>(m).fill(0));
  const neg: number[][] = Array.from({ length: n }, () => new Array<number>(m).fill(0));
  if (options.pairs === undefined) {
    for (let a = 0; a < n; a++) {
      for (let k = 0; k < m; k++) {
        if (self && a === k) continue;
        if (labels[a] === keyLabels[k]) pos[a]![k] = 1;
        else neg[a]![k] = 1;
      }
    }
  } else {
    options.pairs.anchorPos.forEach((a, i) => (pos[a]![options.pairs!.positive[i]!] = 1));
    options.pairs.anchorNeg.forEach((a, i) => (neg[a]![options.pairs!.negative[i]!] = 1));
  }
  const anyPos = pos.some((row) => row.some((v) => v > 0));
  const anyNeg = neg.some((row) => row.some((v) => v > 0));
  const losses: number[] = [];
  for (let a = 0; a < n; a++) {
    const s = keys.map((key) => similarity(rows[a] as number[], key) / temperature);
    let denominator = 0;
    for (let k = 0; k < m; k++) if (pos[a]![k]! + neg[a]![k]! > 0) denominator += Math.exp(s[k] as number);
    let total = 0;
    let count = 0;
    for (let p = 0; p < m; p++) {
      if (pos[a]![p] === 0) continue;
      total += -Math.log(Math.exp(s[p] as number) / denominator);
      count++;
    }
    losses.push(anyPos && anyNeg && count > 0 ? total / count : 0);
  }
  if (options.reduction === 'mean') return losses.reduce((x, y) => x + y, 0) / n;
  const nonZero = losses.filter((l) => l > 0);
  return nonZero.length === 0 ? 0 : nonZero.reduce((x, y) => x + y, 0) / nonZero.length;
}

function randomLabels(rng: Rng, n: number, classes: number): number[] {
  return Array.from({ length: n }, () => rng.int(classes));
}
function pairTuples(pairs: PlainPairs): PairTuples {
  return { kind: 'pairs', anchorPos: int32(pairs.anchorPos), positive: int32(pairs.positive), anchorNeg: int32(pairs.anchorNeg), negative: int32(pairs.negative) };
}
function disposeTuples(tuples: PairTuples | TripletTuples): void {
  if (tuples.kind === 'pairs') tf.dispose([tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative]);
  else tf.dispose([tuples.anchor, tuples.positive, tuples.negative]);
}

// ---------------------------------------------------------------------------------------------

describe('supConLoss: golden values from pytorch-metric-learning', () => {
  const cases = goldenCases('supcon_');
  it('has the four supcon_* cases', () => {
    expect(cases).toHaveLength(4);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: value and gradient', (_, c) => {
    const rows = goldenRows(c);
    const labels = goldenLabels(c) as number[];
    const temperature = c.params['temperature'] as number;
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = supConLoss({ temperature });
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expectGoldenValue(value, c);
    expectGoldenGrad(grad, c);
    expect(Math.abs(referenceSupCon(rows, labels, temperature) - c.expected.value)).toBeLessThan(1e-12);
    // Small chunks (1 row and 3 rows) give the same value and gradient.
    for (const chunkElements of [rows.length, 3 * rows.length]) {
      const chunked = tf.valueAndGrad((e: tf.Tensor) => supConLoss({ temperature, chunkElements }).compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
      expectGoldenValue(chunked.value, c);
      expectGoldenGrad(chunked.grad, c);
      tf.dispose([chunked.value, chunked.grad]);
    }
    tf.dispose([x, y, value, grad]);
  });
});

describe('supConLoss: against the float64 loops', () => {
  it('returns a float32 scalar named supConLoss; defaults τ = 0.1, cosine, AvgNonZero', () => {
    const rows = randomRows(new Rng(1), 10, 4);
    const labels = [0, 1, 2, 0, 1, 2, 3, 3, 4, 0];
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = supConLoss();
    const value = loss.compute({ embeddings: x, labels: y });
    expect(loss.name).toBe('supConLoss');
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    expectTensorClose(value, referenceSupCon(rows, labels, 0.1), FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });

  it('the TSDoc example prints 0.4301902', () => {
    const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]]);
    const labels = int32([0, 0, 1, 1]);
    const value = supConLoss({ temperature: 0.5 }).compute({ embeddings, labels });
    expect(scalarValue(value)).toBeCloseTo(referenceSupCon([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]], [0, 0, 1, 1], 0.5), 6);
    expect(scalarValue(value)).toBeCloseTo(0.4301902, 6);
    tf.dispose([embeddings, labels, value]);
  });

  it.each([
    [4, 3, 0.1],
    [8, 16, 0.07],
    [16, 8, 0.5],
    [24, 5, 0.2],
    [48, 12, 1],
  ])('n=%i d=%i τ=%s, view labels and class labels', (n, d, temperature) => {
    const rng = new Rng(n * 100 + d);
    const rows = randomRows(rng, n, d);
    for (const labels of [Array.from({ length: n }, (_, i) => i % (n / 2)), randomLabels(rng, n, 3), [5, ...randomLabels(rng, n - 1, n)]]) {
      const x = tf.tensor2d(rows);
      const y = int32(labels);
      const value = supConLoss({ temperature }).compute({ embeddings: x, labels: y });
      expectTensorClose(value, referenceSupCon(rows, labels, temperature), FLOAT32_TOLERANCE);
      tf.dispose([x, y, value]);
    }
  });

  it('equals NT-Xent with view labels (one positive per anchor)', () => {
    const rows = randomRows(new Rng(5), 12, 6);
    const x = tf.tensor2d(rows);
    const y = viewLabels(6);
    const sup = supConLoss({ temperature: 0.2 }).compute({ embeddings: x, labels: y });
    const nt = ntXentLoss({ temperature: 0.2 }).compute({ embeddings: x, labels: y });
    expectTensorClose(sup, scalarValue(nt), FLOAT32_TOLERANCE);
    tf.dispose([x, y, sup, nt]);
  });

  it.each([
    ['cosineSimilarity', () => cosineSimilarity(), cosine],
    ['dotProductSimilarity', () => dotProductSimilarity(), dot],
    ['lpDistance (negated, dense path)', () => lpDistance(), negEuclidean],
  ] as [string, () => Distance, Similarity][])('distance %s: value and gradient', (_, makeDistance, similarity) => {
    const rows = randomRows(new Rng(11), 10, 5, 0.5);
    const labels = [0, 1, 2, 0, 1, 2, 0, 3, 3, 1];
    const y = int32(labels);
    const loss = supConLoss({ temperature: 0.3, distance: makeDistance() });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceSupCon(r, labels, 0.3, { similarity }), rows);
    y.dispose();
  });

  it.each([
    [6, 3, 0.5],
    [9, 4, 0.1],
    [12, 5, 0.07],
  ])('gradient matches central differences: n=%i d=%i τ=%s', (n, d, temperature) => {
    const rng = new Rng(n * 7 + d);
    const rows = randomRows(rng, n, d);
    const labels = [0, 0, 1, ...randomLabels(rng, n - 3, 3)];
    const y = int32(labels);
    const loss = supConLoss({ temperature });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceSupCon(r, labels, temperature), rows);
    y.dispose();
  });

  it('accepts another reducer: mean over all anchors, per-anchor', () => {
    const rows = randomRows(new Rng(13), 8, 3);
    const labels = [0, 0, 1, 1, 2, 3, 4, 0];
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const mean = supConLoss({ reducer: meanReducer() }).compute({ embeddings: x, labels: y });
    const perAnchor = supConLoss({ reducer: perAnchorReducer() }).compute({ embeddings: x, labels: y });
    const expected = referenceSupCon(rows, labels, 0.1, { reduction: 'mean' });
    expectTensorClose(mean, expected, FLOAT32_TOLERANCE);
    expectTensorClose(perAnchor, expected, FLOAT32_TOLERANCE);
    expect(Math.abs(expected - referenceSupCon(rows, labels, 0.1))).toBeGreaterThan(1e-3);
    tf.dispose([x, y, mean, perAnchor]);
  });
});

describe('supConLoss: edge cases', () => {
  function valueAndGrad(rows: Rows, labels: number[], temperature = 0.1): { value: number; grad: number[]; finite: boolean } {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = supConLoss({ temperature });
    const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    const out = { value: scalarValue(result.value), grad: Array.from(result.grad.dataSync()), finite: allFinite(result.value) && allFinite(result.grad) };
    tf.dispose([x, y, result.value, result.grad]);
    return out;
  }

  it('no positive pair gives a connected 0', () => {
    const { value, grad } = valueAndGrad(randomRows(new Rng(2), 5, 3), [0, 1, 2, 3, 4]);
    expect(value).toBe(0);
    expect(grad.every((g) => g === 0)).toBe(true);
  });

  it('no negative pair gives a connected 0 (as PML)', () => {
    const { value, grad } = valueAndGrad(randomRows(new Rng(3), 4, 3), [7, 7, 7, 7]);
    expect(value).toBe(0);
    expect(grad.every((g) => g === 0)).toBe(true);
  });

  it('a batch of one gives a connected 0', () => {
    const { value, grad } = valueAndGrad([[0.3, -0.4]], [0]);
    expect(value === 0).toBe(true);
    expect(grad).toEqual([0, 0]);
  });

  it('identical vectors: log(n - 1), finite gradient', () => {
    const rows = Array.from({ length: 6 }, () => [0.2, -1.5, 0.7]);
    const { value, finite } = valueAndGrad(rows, [0, 1, 2, 0, 1, 2]);
    expect(value).toBeCloseTo(Math.log(5), 5);
    expect(finite).toBe(true);
  });

  it('zero vectors: similarity 0, finite gradient', () => {
    const { value, finite } = valueAndGrad(Array.from({ length: 6 }, () => [0, 0, 0]), [0, 1, 2, 0, 1, 2]);
    expect(value).toBeCloseTo(Math.log(5), 5);
    expect(finite).toBe(true);
  });

  it('τ = 0.01 with embeddings scaled by 1e4 stays finite (cosine and dot product)', () => {
    const rows = randomRows(new Rng(4), 16, 6, 1e4);
    const labels = Array.from({ length: 16 }, (_, i) => i % 5);
    const { value, finite } = valueAndGrad(rows, labels, 0.01);
    expect(finite).toBe(true);
    expect(Math.abs(value - referenceSupCon(rows, labels, 0.01))).toBeLessThan(LOOSE_TOLERANCE.atol + LOOSE_TOLERANCE.rtol * value);
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = supConLoss({ temperature: 0.01, distance: dotProductSimilarity() });
    const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expect(allFinite(result.value) && allFinite(result.grad)).toBe(true);
    tf.dispose([x, y, result.value, result.grad]);
  });
});

describe('supConLoss: tuples and reference', () => {
  const rows = randomRows(new Rng(21), 8, 5);
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];
  const mined: PlainPairs = { anchorPos: [0, 4, 1, 1, 3], positive: [4, 0, 5, 5, 7], anchorNeg: [0, 0, 4, 1, 2], negative: [1, 2, 6, 6, 1] };

  it('uses only the mined pairs (repeats count once, as PML masks)', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples = pairTuples(mined);
    const value = supConLoss({ temperature: 0.2 }).compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, referenceSupCon(rows, labels, 0.2, { pairs: mined }), FLOAT32_TOLERANCE);
    const y2 = int32(labels);
    checkGradients((e) => supConLoss({ temperature: 0.2 }).compute({ embeddings: e, labels: y2, tuples }), (r) => referenceSupCon(r, labels, 0.2, { pairs: mined }), rows);
    disposeTuples(tuples);
    tf.dispose([x, y, y2, value]);
  });

  it('converts triplets (a, p, n) to the pairs (a, p) and (a, n)', () => {
    const triplets = { anchor: [0, 0, 1, 5, 2], positive: [4, 4, 5, 1, 6], negative: [1, 3, 2, 7, 0] };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples: TripletTuples = { kind: 'triplets', anchor: int32(triplets.anchor), positive: int32(triplets.positive), negative: int32(triplets.negative) };
    const value = supConLoss({ temperature: 0.2 }).compute({ embeddings: x, labels: y, tuples });
    const asPairs = { anchorPos: triplets.anchor, positive: triplets.positive, anchorNeg: triplets.anchor, negative: triplets.negative };
    expectTensorClose(value, referenceSupCon(rows, labels, 0.2, { pairs: asPairs }), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('empty positive or negative tuples give a connected 0', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    for (const pairs of [{ ...mined, anchorPos: [], positive: [] }, { ...mined, anchorNeg: [], negative: [] }]) {
      const tuples = pairTuples(pairs);
      const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => supConLoss().compute({ embeddings: e as tf.Tensor2D, labels: y, tuples }))(x);
      expect(scalarValue(value)).toBe(0);
      expect(Array.from(grad.dataSync()).every((g) => g === 0)).toBe(true);
      disposeTuples(tuples);
      tf.dispose([value, grad]);
    }
    tf.dispose([x, y]);
  });

  it('compares with ref.embeddings / ref.labels without self-exclusion, gradient included', () => {
    const queue = randomRows(new Rng(22), 10, 5);
    const queueLabels = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4];
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const loss = supConLoss({ temperature: 0.2 });
    const value = loss.compute({ embeddings: x, labels: y, ref });
    expectTensorClose(value, referenceSupCon(rows, labels, 0.2, { refRows: queue, refLabels: queueLabels }), FLOAT32_TOLERANCE);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, ref }), (r) => referenceSupCon(r, labels, 0.2, { refRows: queue, refLabels: queueLabels }), rows);
    const selfRef = { embeddings: tf.clone(x), labels: tf.clone(y) };
    const withSelf = loss.compute({ embeddings: x, labels: y, ref: selfRef });
    expectTensorClose(withSelf, referenceSupCon(rows, labels, 0.2, { refRows: rows, refLabels: labels }), FLOAT32_TOLERANCE);
    tf.dispose([x, y, ref.embeddings, ref.labels, value, selfRef.embeddings, selfRef.labels, withSelf]);
  });
});

describe('supConLoss: training and resources', () => {
  it('leaks no tensor on any path, forward or backward', async () => {
    const x = tf.tensor2d(randomRows(new Rng(41), 8, 4));
    const y = int32([0, 1, 2, 3, 0, 1, 2, 3]);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(42), 5, 4)), labels: int32([0, 1, 2, 3, 4]) };
    const tuples = pairTuples({ anchorPos: [0, 4], positive: [4, 0], anchorNeg: [0, 4], negative: [1, 2] });
    const loss = supConLoss();
    const dense = supConLoss({ distance: lpDistance() });
    const inputs = [{ embeddings: x, labels: y }, { embeddings: x, labels: y, ref }, { embeddings: x, labels: y, tuples }];
    for (const input of inputs) loss.compute(input).dispose();
    await expectNoLeak(() => {
      for (const l of [loss, dense]) {
        for (const input of inputs) {
          l.compute(input).dispose();
          const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => l.compute({ ...input, embeddings: e as tf.Tensor2D }))(x);
          tf.dispose([value, grad]);
        }
      }
    });
    disposeTuples(tuples);
    tf.dispose([x, y, ref.embeddings, ref.labels]);
  });

  it('trains under optimizer.minimize: the loss falls, no tensor growth', () => {
    expectTrainsUnderMinimize(supConLoss({ temperature: 0.5 }), { labels: (n) => cyclicLabels(n, 4), optimizer: () => tf.train.sgd(0.5), steps: 30, factor: 0.9 });
  });
});

describe('supConLoss: errors', () => {
  it('rejects bad hyper-parameters in the factory', () => {
    for (const temperature of [0, -1, Number.NaN]) {
      expectContrastiveError(() => supConLoss({ temperature }), 'INVALID_ARGUMENT', /Argument 'temperature' passed to 'supConLoss' must be a finite number > 0/);
    }
    expectContrastiveError(() => supConLoss({ distance: {} as Distance }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'supConLoss' must be a Distance/);
    expectContrastiveError(() => supConLoss({ reducer: 3 as never }), 'INVALID_ARGUMENT', /Argument 'reducer' passed to 'supConLoss' must be a Reducer/);
    expectContrastiveError(() => supConLoss({ chunkElements: 0.5 }), 'INVALID_ARGUMENT', /Argument 'chunkElements' passed to 'supConLoss' must be an integer >= 1, got 0.5/);
  });

  it('rejects bad tensors in compute, naming the argument, without leaking', () => {
    const loss = supConLoss();
    const x = tf.tensor2d(randomRows(new Rng(71), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const inTidy = (call: () => unknown) => () => tf.tidy(() => void call());
    const before = tf.memory().numTensors;
    expectContrastiveError(inTidy(() => loss.compute({ embeddings: x, labels: int32([0, 1]) })), 'LABEL_COUNT', /Argument 'labels' passed to 'supConLoss' must have 4 entries \(one per embedding\), got 2/);
    expectContrastiveError(inTidy(() => loss.compute({ embeddings: x, labels: tf.tensor1d([0, 1, 0, 1]) })), 'DTYPE_MISMATCH', /Argument 'labels' passed to 'supConLoss' must have dtype int32, got float32/);
    expectContrastiveError(inTidy(() => loss.compute({ embeddings: tf.tensor1d([1]) as never, labels: y })), 'SHAPE_MISMATCH', /Argument 'embeddings' passed to 'supConLoss' must be rank 2/);
    expectContrastiveError(
      inTidy(() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 5]) as tf.Tensor2D, labels: int32([0, 1]) } })),
      'SHAPE_MISMATCH',
      /Argument 'ref.embeddings' passed to 'supConLoss' must have 3 columns/,
    );
    expectContrastiveError(
      inTidy(() => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'pairs', anchorPos: int32([0, 1]), positive: int32([2]), anchorNeg: int32([0]), negative: int32([1]) } })),
      'SHAPE_MISMATCH',
      /Argument 'tuples.positive' passed to 'supConLoss' must have 2 entries/,
    );
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
