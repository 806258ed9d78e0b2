import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, dotProductSimilarity, lpDistance } from '@contrastive/core';
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
import { circleLoss } from './circle-loss.js';
import { meanReducer, sumReducer } from './reducers.js';
import { allFinite, cyclicLabels, expectFiniteLargeBatch, expectTrainsUnderMinimize, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference: obvious loops from the paper (eq. 6, class-level labels) and PML's pair rules
// ---------------------------------------------------------------------------------------------


const dot = (a: number[], b: number[]): number => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);
const unit = (v: number[]): number[] => {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
};
const cosine = (a: number[], b: number[]): number => dot(unit(a), unit(b));

function logSumExp(values: number[]): number {
  const max = Math.max(...values);
  return max + Math.log(values.reduce((sum, v) => sum + Math.exp(v - max), 0));
}
const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

interface PairSets {
  positive: boolean[][];
  negative: boolean[][];
}

interface PlainPairs {
  anchorPos: number[];
  positive: number[];
  anchorNeg: number[];
  negative: number[];
}

function labelSets(labels: number[], refLabels?: number[]): PairSets {
  const cols = refLabels ?? labels;
  return {
    positive: labels.map((a, i) => cols.map((b, j) => a === b && (refLabels !== undefined || i !== j))),
    negative: labels.map((a) => cols.map((b) => a !== b)),
  };
}

function tupleSets(n: number, m: number, pairs: PlainPairs): PairSets {
  const empty = (): boolean[][] => Array.from({ length: n }, () => Array.from({ length: m }, () => false));
  const sets = { positive: empty(), negative: empty() };
  pairs.anchorPos.forEach((a, k) => ((sets.positive[a] as boolean[])[pairs.positive[k] as number] = true));
  pairs.anchorNeg.forEach((a, k) => ((sets.negative[a] as boolean[])[pairs.negative[k] as number] = true));
  return sets;
}

interface CircleOptions {
  m?: number;
  gamma?: number;
  refRows?: Rows;
  /** Rows the (detached) weights α_p, α_n are computed from; defaults to the rows themselves. */
  weightRows?: Rows;
  weightRefRows?: Rows;
}

/** Per-anchor circle losses; a pair in both sets takes the negative logit (PML's overwrite). */
function referenceRows(rows: Rows, sets: PairSets, options: CircleOptions = {}): number[] {
  const { m = 0.4, gamma = 80 } = options;
  const refRows = options.refRows ?? rows;
  const weightRows = options.weightRows ?? rows;
  const weightRefRows = options.weightRefRows ?? (options.refRows === undefined ? weightRows : refRows);
  return rows.map((row, a) => {
    const positives: number[] = [];
    const negatives: number[] = [];
    refRows.forEach((other, j) => {
      const s = cosine(row, other);
      const fixed = cosine(weightRows[a] as number[], weightRefRows[j] as number[]);
      const positiveLogit = -gamma * Math.max(1 + m - fixed, 0) * (s - (1 - m));
      const negativeLogit = gamma * Math.max(fixed + m, 0) * (s - m);
      const isNegative = sets.negative[a]?.[j] === true;
      if (sets.positive[a]?.[j]) positives.push(isNegative ? negativeLogit : positiveLogit);
      if (isNegative) negatives.push(negativeLogit);
    });
    if (positives.length === 0 || negatives.length === 0) return 0;
    return softplus(logSumExp(positives) + logSumExp(negatives));
  });
}

/** AvgNonZeroReducer: mean over the anchors with a loss > 0. */
function referenceCircle(rows: Rows, sets: PairSets, options: CircleOptions = {}): number {
  const nonZero = referenceRows(rows, sets, options).filter((l) => l > 0);
  return nonZero.length === 0 ? 0 : nonZero.reduce((a, b) => a + b, 0) / nonZero.length;
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

// ---------------------------------------------------------------------------------------------

describe('circleLoss: golden values from pytorch-metric-learning', () => {
  const cases = goldenCases('circle_');

  it('has the three circle_* cases with PML defaults', () => {
    expect(cases).toHaveLength(3);
    for (const c of cases) expect(c.params).toMatchObject({ m: 0.4, gamma: 80 });
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: value and gradient', (_, c) => {
    const rows = goldenRows(c);
    const labels = goldenLabels(c) as number[];
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = circleLoss();
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expectGoldenValue(value, c);
    expectGoldenGrad(grad, c);
    expect(Math.abs(referenceCircle(rows, labelSets(labels)) - c.expected.value)).toBeLessThan(1e-9);
    tf.dispose([x, y, value, grad]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('circleLoss: against the float64 loops', () => {
  it('returns a float32 scalar named circleLoss', () => {
    const x = tf.tensor2d(randomRows(new Rng(1), 4, 3));
    const y = int32([0, 0, 1, 1]);
    const loss = circleLoss();
    const value = loss.compute({ embeddings: x, labels: y });
    expect(loss.name).toBe('circleLoss');
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    tf.dispose([x, y, value]);
  });

  it('the TSDoc example prints 3.2008657 (float64: 3.2008640)', () => {
    const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]]);
    const labels = int32([0, 0, 1, 1]);
    const value = circleLoss().compute({ embeddings, labels });
    expect(scalarValue(value)).toBeCloseTo(3.2008657, 5);
    tf.dispose([embeddings, labels, value]);
  });

  it.each([
    [4, 3, 0.4, 80],
    [8, 16, 0.25, 256],
    [16, 8, 0.4, 80],
    [24, 5, 0.1, 32],
    [32, 32, 0.4, 80],
    [48, 12, 0.25, 128],
  ])('n=%i d=%i m=%s γ=%s, view and class labels', (n, d, m, gamma) => {
    const rng = new Rng(n * 100 + d);
    const rows = randomRows(rng, n, d);
    for (const labels of [Array.from({ length: n }, (_, i) => i % (n / 2)), randomLabels(rng, n, 3)]) {
      const x = tf.tensor2d(rows);
      const y = int32(labels);
      const value = circleLoss({ m, gamma }).compute({ embeddings: x, labels: y });
      expectTensorClose(value, referenceCircle(rows, labelSets(labels), { m, gamma }), FLOAT32_TOLERANCE);
      tf.dispose([x, y, value]);
    }
  });

  it.each([
    [6, 3, 0.4, 10],
    [8, 4, 0.25, 16],
    [12, 6, 0.4, 8],
  ])('gradient (weights α detached) matches central differences: n=%i d=%i m=%s γ=%s', (n, d, m, gamma) => {
    const rng = new Rng(n + d);
    const rows = randomRows(rng, n, d);
    const labels = [0, 0, 0, ...randomLabels(rng, n - 3, 3)];
    const y = int32(labels);
    const loss = circleLoss({ m, gamma });
    // The weights stay at their values at the evaluation point: PML's (and the paper's) detach.
    const reference = (r: Rows): number => referenceCircle(r, labelSets(labels), { m, gamma, weightRows: rows });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), reference, rows);
    y.dispose();
  });

  it('detaches the weights: the gradient differs from that of the undetached formula', () => {
    const rows = randomRows(new Rng(14), 6, 3);
    const labels = [0, 1, 2, 0, 1, 2];
    const y = int32(labels);
    const loss = circleLoss({ gamma: 10 });
    const full = (r: Rows): number => referenceCircle(r, labelSets(labels), { gamma: 10 });
    expect(() => checkGradients((e) => loss.compute({ embeddings: e, labels: y }), full, rows)).toThrow();
    y.dispose();
  });

  it('takes any reducer: mean over every anchor (zeros included), sum', () => {
    const rows = randomRows(new Rng(13), 8, 4);
    const labels = [0, 1, 2, 0, 1, 2, 3, 4]; // anchors 6 and 7 have no positive: 0
    const perRow = referenceRows(rows, labelSets(labels));
    expect(perRow.filter((l) => l === 0)).toHaveLength(2);
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const mean = circleLoss({ reducer: meanReducer() }).compute({ embeddings: x, labels: y });
    const sum = circleLoss({ reducer: sumReducer() }).compute({ embeddings: x, labels: y });
    const avgNonZero = circleLoss().compute({ embeddings: x, labels: y });
    const total = perRow.reduce((a, b) => a + b, 0);
    expectTensorClose(mean, total / 8, FLOAT32_TOLERANCE);
    expectTensorClose(sum, total, FLOAT32_TOLERANCE);
    expectTensorClose(avgNonZero, total / 6, FLOAT32_TOLERANCE);
    tf.dispose([x, y, mean, sum, avgNonZero]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('circleLoss: edge cases', () => {
  function valueAndGrad(rows: Rows, labels: number[], options = {}): { value: number; grad: number[]; finite: boolean } {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = circleLoss(options);
    const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    const out = { value: scalarValue(result.value), grad: Array.from(result.grad.dataSync()), finite: allFinite(result.grad) };
    expect(result.grad.shape).toEqual(x.shape);
    tf.dispose([x, y, result.value, result.grad]);
    return out;
  }

  it('no positive pair (all labels distinct) gives a connected 0', () => {
    const { value, grad } = valueAndGrad(randomRows(new Rng(2), 5, 3), [0, 1, 2, 3, 4]);
    expect(value).toBe(0);
    expect(grad.every((g) => g === 0)).toBe(true);
  });

  it('no negative (one label) gives a connected 0', () => {
    const { value, grad } = valueAndGrad(randomRows(new Rng(3), 4, 3), [7, 7, 7, 7]);
    expect(value).toBe(0);
    expect(grad.every((g) => g === 0)).toBe(true);
  });

  it('a batch of one gives a connected 0', () => {
    const { value, grad } = valueAndGrad([[0.3, -0.4]], [0]);
    expect(value === 0).toBe(true);
    expect(grad).toEqual([0, 0]);
  });

  it('identical vectors: s = 1 everywhere, closed form, zero gradient', () => {
    const rows = Array.from({ length: 6 }, () => [0.2, -1.5, 0.7]);
    const { value, grad, finite } = valueAndGrad(rows, [0, 1, 2, 0, 1, 2]);
    // One positive at logit -80·0.4·0.4 = -12.8, four negatives at 80·1.4·0.6 = 67.2.
    expect(value).toBeCloseTo(softplus(-12.8 + 67.2 + Math.log(4)), 4);
    expect(finite).toBe(true);
    expect(Math.max(...grad.map(Math.abs))).toBeLessThan(1e-3);
  });

  it('zero vectors: similarity 0, finite gradient', () => {
    const zeros = valueAndGrad(Array.from({ length: 4 }, () => [0, 0, 0]), [0, 1, 0, 1]);
    // One positive at -80·1.4·(0 - 0.6) = 67.2, two negatives at 80·0.4·(0 - 0.4) = -12.8.
    expect(zeros.value).toBeCloseTo(softplus(67.2 - 12.8 + Math.log(2)), 4);
    expect(zeros.finite).toBe(true);
    const rows = [[0, 0, 0], [1, 2, 3], [0, 0, 0], [-1, 0.5, 2]];
    const mixed = valueAndGrad(rows, [0, 1, 0, 1]);
    expect(mixed.value).toBeCloseTo(referenceCircle(rows, labelSets([0, 1, 0, 1])), 3);
    expect(mixed.finite).toBe(true);
  });

  it('γ = 256 (the paper) with embeddings scaled by 1e4: logits ~ 1e3, finite and exact', () => {
    const rows = randomRows(new Rng(5), 16, 8, 1e4);
    const labels = Array.from({ length: 16 }, (_, i) => i % 4);
    const { value, finite } = valueAndGrad(rows, labels, { m: 0.25, gamma: 256 });
    expect(finite).toBe(true);
    const expected = referenceCircle(rows, labelSets(labels), { m: 0.25, gamma: 256 });
    expect(expected).toBeGreaterThan(100);
    expect(Math.abs(value - expected)).toBeLessThan(LOOSE_TOLERANCE.atol + LOOSE_TOLERANCE.rtol * expected);
  });
});

// ---------------------------------------------------------------------------------------------

describe('circleLoss: given tuples', () => {
  const rows = randomRows(new Rng(21), 8, 5);
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];
  // Repeated pairs count once; anchor 3 has a positive but no negative (-> 0).
  const mined: PlainPairs = {
    anchorPos: [0, 4, 1, 1, 3, 2],
    positive: [4, 0, 5, 5, 7, 6],
    anchorNeg: [0, 0, 4, 1, 1, 2],
    negative: [1, 2, 6, 6, 6, 5],
  };

  it('uses only the given pairs, a repeated pair once', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples = pairTuples(mined);
    const value = circleLoss().compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, referenceCircle(rows, tupleSets(8, 8, mined)), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('a pair listed as positive and negative takes the negative logit in both sums (PML)', () => {
    const clash: PlainPairs = { anchorPos: [0, 0], positive: [4, 1], anchorNeg: [0, 0], negative: [1, 2] };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples = pairTuples(clash);
    const value = circleLoss().compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, referenceCircle(rows, tupleSets(8, 8, clash)), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('converts triplets (a, p, n) to the pairs (a, p) and (a, n)', () => {
    const triplets = { anchor: [0, 0, 1, 5, 2], positive: [4, 4, 5, 1, 6], negative: [1, 3, 2, 7, 0] };
    const asPairs: PlainPairs = { anchorPos: triplets.anchor, positive: triplets.positive, anchorNeg: triplets.anchor, negative: triplets.negative };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples: TripletTuples = { kind: 'triplets', anchor: int32(triplets.anchor), positive: int32(triplets.positive), negative: int32(triplets.negative) };
    const value = circleLoss().compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, referenceCircle(rows, tupleSets(8, 8, asPairs)), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('gradient of the tuple path matches central differences', () => {
    const y = int32(labels);
    const tuples = pairTuples(mined);
    const loss = circleLoss({ gamma: 10 });
    const reference = (r: Rows): number => referenceCircle(r, tupleSets(8, 8, mined), { gamma: 10, weightRows: rows });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, tuples }), reference, rows);
    disposeTuples(tuples);
    y.dispose();
  });

  it('empty positive or negative tuples give a connected 0', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    for (const pairs of [
      { ...mined, anchorPos: [], positive: [] },
      { ...mined, anchorNeg: [], negative: [] },
      { anchorPos: [], positive: [], anchorNeg: [], negative: [] },
    ]) {
      const tuples = pairTuples(pairs);
      const loss = circleLoss();
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

describe('circleLoss: against a reference set', () => {
  const rng = new Rng(31);
  const rows = randomRows(rng, 6, 4);
  const labels = [0, 1, 2, 0, 1, 2];
  const queue = randomRows(rng, 10, 4);
  const queueLabels = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4];

  it('compares the batch with ref.embeddings / ref.labels, gradient w.r.t. the batch', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const value = circleLoss().compute({ embeddings: x, labels: y, ref });
    expectTensorClose(value, referenceCircle(rows, labelSets(labels, queueLabels), { refRows: queue }), FLOAT32_TOLERANCE);
    const loss = circleLoss({ gamma: 10 });
    checkGradients(
      (e) => loss.compute({ embeddings: e, labels: y, ref }),
      (r) => referenceCircle(r, labelSets(labels, queueLabels), { gamma: 10, refRows: queue, weightRows: rows }),
      rows,
    );
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });

  it('does not exclude a row from being its own positive (PML ref semantics)', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.clone(x), labels: tf.clone(y) };
    const loss = circleLoss();
    const withRef = loss.compute({ embeddings: x, labels: y, ref });
    const without = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(withRef, referenceCircle(rows, labelSets(labels, labels), { refRows: rows }), FLOAT32_TOLERANCE);
    expect(Math.abs(scalarValue(withRef) - scalarValue(without))).toBeGreaterThan(1e-3);
    tf.dispose([x, y, ref.embeddings, ref.labels, withRef, without]);
  });

  it('tuples index the reference', () => {
    const pairs: PlainPairs = { anchorPos: [0, 1, 3], positive: [0, 6, 5], anchorNeg: [0, 1, 1, 3], negative: [1, 2, 9, 4] };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const tuples = pairTuples(pairs);
    const value = circleLoss().compute({ embeddings: x, labels: y, ref, tuples });
    expectTensorClose(value, referenceCircle(rows, tupleSets(6, 10, pairs), { refRows: queue }), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('circleLoss: training and resources', () => {
  it('leaks no tensor on any path, forward or backward', async () => {
    const x = tf.tensor2d(randomRows(new Rng(41), 8, 4));
    const y = int32([0, 1, 2, 3, 0, 1, 2, 3]);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(42), 5, 4)), labels: int32([0, 1, 2, 3, 4]) };
    const tuples = pairTuples({ anchorPos: [0, 4], positive: [4, 0], anchorNeg: [0, 4], negative: [1, 2] });
    const empty = pairTuples({ anchorPos: [], positive: [], anchorNeg: [0], negative: [1] });
    const loss = circleLoss();
    const inputs = [
      { embeddings: x, labels: y },
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
    tf.dispose([x, y, ref.embeddings, ref.labels]);
  });

  it('trains under optimizer.minimize: the loss falls, no tensor growth', () => {
    expectTrainsUnderMinimize(circleLoss(), { labels: (n) => cyclicLabels(n, 4), optimizer: () => tf.train.adam(0.05), steps: 20, factor: 0.8 });
  });
  it('handles N = 512 (d = 64) with a finite value and gradient', () => {
    expectFiniteLargeBatch(circleLoss(), { n: 512, d: 64, labels: (n) => cyclicLabels(n, 32) });
  });
});

// ---------------------------------------------------------------------------------------------

describe('circleLoss: errors', () => {
  it('rejects bad hyper-parameters in the factory', () => {
    for (const m of [-0.1, 1.5, Number.NaN]) {
      expectContrastiveError(() => circleLoss({ m }), 'INVALID_ARGUMENT', /Argument 'm' passed to 'circleLoss' must be a finite number >= 0 and <= 1, got/);
    }
    for (const gamma of [0, -1, Number.POSITIVE_INFINITY]) {
      expectContrastiveError(() => circleLoss({ gamma }), 'INVALID_ARGUMENT', /Argument 'gamma' passed to 'circleLoss' must be a finite number > 0, got/);
    }
    expectContrastiveError(() => circleLoss({ distance: {} as Distance }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'circleLoss' must be a Distance/);
    expectContrastiveError(
      () => circleLoss({ distance: lpDistance() }),
      'INVALID_ARGUMENT',
      /Argument 'distance' passed to 'circleLoss' must be a similarity of L2-normalised rows \(e.g. cosineSimilarity\(\)\), got lpDistance\(p=2\)/,
    );
    expectContrastiveError(() => circleLoss({ distance: dotProductSimilarity() }), 'INVALID_ARGUMENT', /got dotProductSimilarity/);
    expectContrastiveError(
      () => circleLoss({ reducer: { name: 'x' } as unknown as ReturnType<typeof sumReducer> }),
      'INVALID_ARGUMENT',
      /Argument 'reducer' passed to 'circleLoss' must be a Reducer/,
    );
  });

  it('rejects bad embeddings, labels, ref and tuples, naming the argument, leaking nothing', () => {
    const loss = circleLoss();
    const x = tf.tensor2d(randomRows(new Rng(71), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const cases: [() => unknown, string, RegExp][] = [
      [() => loss.compute({ embeddings: tf.tensor2d([[1]], [1, 1], 'int32'), labels: int32([0]) }), 'DTYPE_MISMATCH', /Argument 'embeddings' passed to 'circleLoss' must have dtype float32, got int32/],
      [() => loss.compute({ embeddings: x, labels: int32([0, 1, 0]) }), 'LABEL_COUNT', /Argument 'labels' passed to 'circleLoss' must have 4 entries \(one per embedding\), got 3/],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 5]), labels: int32([0, 1]) } }), 'SHAPE_MISMATCH', /Argument 'ref.embeddings' passed to 'circleLoss' must have 3 columns/],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'triplets', anchor: int32([0]), positive: tf.tensor1d([2]), negative: int32([1]) } }),
        'DTYPE_MISMATCH',
        /Argument 'tuples.positive' passed to 'circleLoss' must have dtype int32, got float32/,
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

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
