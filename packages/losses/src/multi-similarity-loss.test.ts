import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, cosineSimilarity, dotProductSimilarity, lpDistance } from '@contrastive/core';
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
import { multiSimilarityLoss } from './multi-similarity-loss.js';
import { perAnchorReducer, sumReducer } from './reducers.js';
import { allFinite, cyclicLabels, expectFiniteLargeBatch, expectTrainsUnderMinimize, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference: obvious loops from the paper (eq. 8 without mining) and PML's pair rules
// ---------------------------------------------------------------------------------------------

type Compare = (a: number[], b: number[]) => number;

const dot: Compare = (a, b) => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);
const unit = (v: number[]): number[] => {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
};
const cosine: Compare = (a, b) => dot(unit(a), unit(b));
const euclidean: Compare = (a, b) => {
  const [x, y] = [unit(a), unit(b)];
  return Math.sqrt(x.reduce((sum, v, i) => sum + (v - (y[i] as number)) ** 2, 0));
};

/** log(Σ exp(v)) (+ exp(0) when addOne), 0 for an empty set without addOne; max subtracted. */
function logSumExp(values: number[], addOne: boolean): number {
  const all = addOne ? [...values, 0] : values;
  if (all.length === 0) return 0;
  const max = Math.max(...all);
  return max + Math.log(all.reduce((sum, v) => sum + Math.exp(v - max), 0));
}

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

interface MsOptions {
  alpha?: number;
  beta?: number;
  base?: number;
  compare?: Compare;
  isSimilarity?: boolean;
  refRows?: Rows;
}

/** Per-anchor multi-similarity losses. */
function referenceRows(rows: Rows, sets: PairSets, options: MsOptions = {}): number[] {
  const { alpha = 2, beta = 50, base = 0.5, compare = cosine, isSimilarity = true } = options;
  const refRows = options.refRows ?? rows;
  const sign = isSimilarity ? 1 : -1;
  return rows.map((row, a) => {
    const positives: number[] = [];
    const negatives: number[] = [];
    refRows.forEach((other, j) => {
      const s = compare(row, other);
      if (sets.positive[a]?.[j]) positives.push(sign * -alpha * (s - base));
      if (sets.negative[a]?.[j]) negatives.push(sign * beta * (s - base));
    });
    return logSumExp(positives, true) / alpha + logSumExp(negatives, true) / beta;
  });
}

function referenceMs(rows: Rows, sets: PairSets, options: MsOptions = {}): number {
  const losses = referenceRows(rows, sets, options);
  return losses.reduce((a, b) => a + b, 0) / losses.length;
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

describe('multiSimilarityLoss: golden values from pytorch-metric-learning', () => {
  const cases = goldenCases('multisimilarity_');

  it('has the two multisimilarity_* cases with PML defaults', () => {
    expect(cases).toHaveLength(2);
    for (const c of cases) expect(c.params).toMatchObject({ alpha: 2, beta: 50, base: 0.5 });
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: value and gradient', (_, c) => {
    const rows = goldenRows(c);
    const labels = goldenLabels(c) as number[];
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = multiSimilarityLoss();
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expectGoldenValue(value, c);
    expectGoldenGrad(grad, c);
    expect(Math.abs(referenceMs(rows, labelSets(labels)) - c.expected.value)).toBeLessThan(1e-12);
    tf.dispose([x, y, value, grad]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('multiSimilarityLoss: against the float64 loops', () => {
  it('returns a float32 scalar named multiSimilarityLoss', () => {
    const x = tf.tensor2d(randomRows(new Rng(1), 4, 3));
    const y = int32([0, 0, 1, 1]);
    const loss = multiSimilarityLoss();
    const value = loss.compute({ embeddings: x, labels: y });
    expect(loss.name).toBe('multiSimilarityLoss');
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    tf.dispose([x, y, value]);
  });

  it('the TSDoc example prints 0.2688112', () => {
    const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-0.6, 0.8]]);
    const labels = int32([0, 0, 1, 1]);
    const value = multiSimilarityLoss().compute({ embeddings, labels });
    expect(scalarValue(value)).toBeCloseTo(0.2688111, 6);
    tf.dispose([embeddings, labels, value]);
  });

  it.each([
    [4, 3, 2, 50, 0.5],
    [8, 16, 2, 50, 0.5],
    [16, 8, 1, 10, 0.3],
    [24, 5, 4, 40, 0.7],
    [32, 32, 2, 50, 0],
    [48, 12, 0.5, 100, 0.5],
  ])('n=%i d=%i α=%s β=%s base=%s, view and class labels', (n, d, alpha, beta, base) => {
    const rng = new Rng(n * 100 + d);
    const rows = randomRows(rng, n, d);
    for (const labels of [Array.from({ length: n }, (_, i) => i % (n / 2)), randomLabels(rng, n, 3)]) {
      const x = tf.tensor2d(rows);
      const y = int32(labels);
      const value = multiSimilarityLoss({ alpha, beta, base }).compute({ embeddings: x, labels: y });
      expectTensorClose(value, referenceMs(rows, labelSets(labels), { alpha, beta, base }), FLOAT32_TOLERANCE);
      tf.dispose([x, y, value]);
    }
  });

  it.each([
    ['cosineSimilarity', () => cosineSimilarity(), cosine, true],
    ['dotProductSimilarity', () => dotProductSimilarity(), dot, true],
    ['lpDistance (roles flipped, as distance.margin)', () => lpDistance(), euclidean, false],
  ] as [string, () => Distance, Compare, boolean][])('distance %s: value and gradient', (_, makeDistance, compare, isSimilarity) => {
    const rows = randomRows(new Rng(11), 10, 5, 0.5);
    const labels = randomLabels(new Rng(12), 10, 3);
    const options = { alpha: 2, beta: 10, base: 0.5, compare, isSimilarity };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = multiSimilarityLoss({ alpha: 2, beta: 10, base: 0.5, distance: makeDistance() });
    const value = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(value, referenceMs(rows, labelSets(labels), options), FLOAT32_TOLERANCE);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceMs(r, labelSets(labels), options), rows);
    tf.dispose([x, y, value]);
  });

  it.each([
    [6, 3, 2, 50],
    [8, 4, 1, 20],
    [12, 6, 3, 40],
  ])('gradient matches central differences: n=%i d=%i α=%s β=%s', (n, d, alpha, beta) => {
    const rng = new Rng(n + d);
    const rows = randomRows(rng, n, d);
    const labels = [0, 0, 0, ...randomLabels(rng, n - 3, 3)];
    const y = int32(labels);
    const loss = multiSimilarityLoss({ alpha, beta });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceMs(r, labelSets(labels), { alpha, beta }), rows);
    y.dispose();
  });

  it('takes any reducer: sum and per-anchor over the [n] anchor losses', () => {
    const rows = randomRows(new Rng(13), 8, 4);
    const labels = [0, 1, 2, 0, 1, 2, 0, 3];
    const perRow = referenceRows(rows, labelSets(labels));
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const summed = multiSimilarityLoss({ reducer: sumReducer() }).compute({ embeddings: x, labels: y });
    const perAnchor = multiSimilarityLoss({ reducer: perAnchorReducer() }).compute({ embeddings: x, labels: y });
    expectTensorClose(summed, perRow.reduce((a, b) => a + b, 0), FLOAT32_TOLERANCE);
    expectTensorClose(perAnchor, perRow.reduce((a, b) => a + b, 0) / 8, FLOAT32_TOLERANCE);
    tf.dispose([x, y, summed, perAnchor]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('multiSimilarityLoss: edge cases', () => {
  function valueAndGrad(rows: Rows, labels: number[], options = {}): { value: number; grad: number[]; finite: boolean } {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = multiSimilarityLoss(options);
    const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    const out = { value: scalarValue(result.value), grad: Array.from(result.grad.dataSync()), finite: allFinite(result.grad) };
    expect(result.grad.shape).toEqual(x.shape);
    tf.dispose([x, y, result.value, result.grad]);
    return out;
  }

  it('no positive pair: only the negative terms remain (as PML), not 0', () => {
    const rows = randomRows(new Rng(2), 5, 3);
    const labels = [0, 1, 2, 3, 4];
    const { value, finite } = valueAndGrad(rows, labels);
    expect(value).toBeGreaterThan(0);
    expect(Math.abs(value - referenceMs(rows, labelSets(labels)))).toBeLessThan(1e-5);
    expect(finite).toBe(true);
  });

  it('no negative pair: only the positive terms remain', () => {
    const rows = randomRows(new Rng(3), 4, 3);
    const labels = [7, 7, 7, 7];
    const { value } = valueAndGrad(rows, labels);
    expect(Math.abs(value - referenceMs(rows, labelSets(labels)))).toBeLessThan(1e-5);
  });

  it('a batch of one gives a connected 0', () => {
    const { value, grad } = valueAndGrad([[0.3, -0.4]], [0]);
    expect(value === 0).toBe(true);
    expect(grad).toEqual([0, 0]);
  });

  it('identical vectors: s = 1 everywhere, closed form, zero gradient', () => {
    const rows = Array.from({ length: 6 }, () => [0.2, -1.5, 0.7]);
    const { value, grad, finite } = valueAndGrad(rows, [0, 1, 2, 0, 1, 2]);
    // Each anchor: one positive, four negatives at s = 1.
    const expected = Math.log1p(Math.exp(-2 * 0.5)) / 2 + Math.log1p(4 * Math.exp(50 * 0.5)) / 50;
    expect(value).toBeCloseTo(expected, 5);
    expect(finite).toBe(true);
    expect(Math.max(...grad.map(Math.abs))).toBeLessThan(1e-4);
  });

  it('zero vectors: similarity 0, finite gradient', () => {
    const zeros = valueAndGrad(Array.from({ length: 4 }, () => [0, 0, 0]), [0, 1, 0, 1]);
    const expected = Math.log1p(Math.exp(2 * 0.5)) / 2 + Math.log1p(2 * Math.exp(-50 * 0.5)) / 50;
    expect(zeros.value).toBeCloseTo(expected, 5);
    expect(zeros.finite).toBe(true);
    const rows = [[0, 0, 0], [1, 2, 3], [0, 0, 0], [-1, 0.5, 2]];
    const mixed = valueAndGrad(rows, [0, 1, 0, 1]);
    expect(mixed.value).toBeCloseTo(referenceMs(rows, labelSets([0, 1, 0, 1])), 4);
    expect(mixed.finite).toBe(true);
  });

  it('embeddings scaled by 1e4 and β = 1000 stay finite and exact', () => {
    const rows = randomRows(new Rng(5), 16, 8, 1e4);
    const labels = Array.from({ length: 16 }, (_, i) => i % 4);
    const { value, finite } = valueAndGrad(rows, labels, { beta: 1000 });
    expect(finite).toBe(true);
    const expected = referenceMs(rows, labelSets(labels), { beta: 1000 });
    expect(Math.abs(value - expected)).toBeLessThan(LOOSE_TOLERANCE.atol + LOOSE_TOLERANCE.rtol * expected);
    // Un-normalised dot products of 1e4-scaled rows (β·s ~ 1e10) are finite too.
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = multiSimilarityLoss({ distance: dotProductSimilarity() });
    const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expect(allFinite(result.value) && allFinite(result.grad)).toBe(true);
    const exact = referenceMs(rows, labelSets(labels), { compare: dot });
    expect(Math.abs(scalarValue(result.value) - exact)).toBeLessThan(1e-3 * exact);
    tf.dispose([x, y, result.value, result.grad]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('multiSimilarityLoss: given tuples', () => {
  const rows = randomRows(new Rng(21), 8, 5);
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];
  // A repeated positive pair (1, 5) and negative pair (4, 6): PML's masks count each once.
  const mined: PlainPairs = {
    anchorPos: [0, 4, 1, 1, 3],
    positive: [4, 0, 5, 5, 7],
    anchorNeg: [0, 0, 4, 4, 2],
    negative: [1, 2, 6, 6, 1],
  };

  it('uses only the given pairs, a repeated pair once', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples = pairTuples(mined);
    const value = multiSimilarityLoss().compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, referenceMs(rows, tupleSets(8, 8, mined)), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('converts triplets (a, p, n) to the pairs (a, p) and (a, n)', () => {
    const triplets = { anchor: [0, 0, 1, 5, 2], positive: [4, 4, 5, 1, 6], negative: [1, 3, 2, 7, 0] };
    const asPairs: PlainPairs = { anchorPos: triplets.anchor, positive: triplets.positive, anchorNeg: triplets.anchor, negative: triplets.negative };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples: TripletTuples = { kind: 'triplets', anchor: int32(triplets.anchor), positive: int32(triplets.positive), negative: int32(triplets.negative) };
    const value = multiSimilarityLoss().compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, referenceMs(rows, tupleSets(8, 8, asPairs)), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('gradient of the tuple path matches central differences', () => {
    const y = int32(labels);
    const tuples = pairTuples(mined);
    const loss = multiSimilarityLoss({ beta: 20 });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, tuples }), (r) => referenceMs(r, tupleSets(8, 8, mined), { beta: 20 }), rows);
    disposeTuples(tuples);
    y.dispose();
  });

  it('only negative tuples still give the negative terms; no tuples at all give a connected 0', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const negativesOnly: PlainPairs = { ...mined, anchorPos: [], positive: [] };
    const onlyNeg = pairTuples(negativesOnly);
    const value = multiSimilarityLoss().compute({ embeddings: x, labels: y, tuples: onlyNeg });
    expectTensorClose(value, referenceMs(rows, tupleSets(8, 8, negativesOnly)), FLOAT32_TOLERANCE);
    const none = pairTuples({ anchorPos: [], positive: [], anchorNeg: [], negative: [] });
    const loss = multiSimilarityLoss();
    const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, tuples: none }))(x);
    expect(scalarValue(result.value)).toBe(0);
    expect(Array.from(result.grad.dataSync()).every((g) => g === 0)).toBe(true);
    disposeTuples(onlyNeg);
    disposeTuples(none);
    tf.dispose([x, y, value, result.value, result.grad]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('multiSimilarityLoss: against a reference set', () => {
  const rng = new Rng(31);
  const rows = randomRows(rng, 6, 4);
  const labels = [0, 1, 2, 0, 1, 2];
  const queue = randomRows(rng, 10, 4);
  const queueLabels = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4];

  it('compares the batch with ref.embeddings / ref.labels, gradient w.r.t. the batch', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const loss = multiSimilarityLoss({ beta: 20 });
    const value = loss.compute({ embeddings: x, labels: y, ref });
    const reference = (r: Rows): number => referenceMs(r, labelSets(labels, queueLabels), { beta: 20, refRows: queue });
    expectTensorClose(value, reference(rows), FLOAT32_TOLERANCE);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, ref }), reference, rows);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });

  it('does not exclude a row from being its own positive (PML ref semantics)', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.clone(x), labels: tf.clone(y) };
    const loss = multiSimilarityLoss();
    const withRef = loss.compute({ embeddings: x, labels: y, ref });
    const without = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(withRef, referenceMs(rows, labelSets(labels, labels), { refRows: rows }), FLOAT32_TOLERANCE);
    expect(Math.abs(scalarValue(withRef) - scalarValue(without))).toBeGreaterThan(1e-3);
    tf.dispose([x, y, ref.embeddings, ref.labels, withRef, without]);
  });

  it('tuples index the reference', () => {
    const pairs: PlainPairs = { anchorPos: [0, 1, 3], positive: [0, 6, 5], anchorNeg: [0, 1, 1, 3], negative: [1, 2, 9, 4] };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const tuples = pairTuples(pairs);
    const value = multiSimilarityLoss().compute({ embeddings: x, labels: y, ref, tuples });
    expectTensorClose(value, referenceMs(rows, tupleSets(6, 10, pairs), { refRows: queue }), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('multiSimilarityLoss: training and resources', () => {
  it('leaks no tensor on any path, forward or backward', async () => {
    const x = tf.tensor2d(randomRows(new Rng(41), 8, 4));
    const y = int32([0, 1, 2, 3, 0, 1, 2, 3]);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(42), 5, 4)), labels: int32([0, 1, 2, 3, 4]) };
    const tuples = pairTuples({ anchorPos: [0, 4], positive: [4, 0], anchorNeg: [0, 4], negative: [1, 2] });
    const empty = pairTuples({ anchorPos: [], positive: [], anchorNeg: [], negative: [] });
    const one = tf.tensor2d([[1, 2, 3, 4]]);
    const loss = multiSimilarityLoss();
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
      const labelsOne = int32([0]);
      loss.compute({ embeddings: one, labels: labelsOne }).dispose();
      labelsOne.dispose();
    });
    expect(x.isDisposed || y.isDisposed || ref.embeddings.isDisposed || tuples.anchorPos.isDisposed).toBe(false);
    disposeTuples(tuples);
    disposeTuples(empty);
    tf.dispose([x, y, ref.embeddings, ref.labels, one]);
  });

  it('trains under optimizer.minimize: the loss falls, no tensor growth', () => {
    expectTrainsUnderMinimize(multiSimilarityLoss(), { labels: (n) => cyclicLabels(n, 4), optimizer: () => tf.train.adam(0.05), steps: 20, factor: 0.8 });
  });
  it('handles N = 512 (d = 64) with a finite value and gradient', () => {
    expectFiniteLargeBatch(multiSimilarityLoss(), { n: 512, d: 64, labels: (n) => cyclicLabels(n, 32) });
  });
});

// ---------------------------------------------------------------------------------------------

describe('multiSimilarityLoss: errors', () => {
  it('rejects bad hyper-parameters in the factory', () => {
    for (const alpha of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectContrastiveError(() => multiSimilarityLoss({ alpha }), 'INVALID_ARGUMENT', /Argument 'alpha' passed to 'multiSimilarityLoss' must be a finite number > 0, got/);
    }
    expectContrastiveError(() => multiSimilarityLoss({ beta: 0 }), 'INVALID_ARGUMENT', /Argument 'beta' passed to 'multiSimilarityLoss' must be a finite number > 0, got 0/);
    expectContrastiveError(() => multiSimilarityLoss({ base: Number.NaN }), 'INVALID_ARGUMENT', /Argument 'base' passed to 'multiSimilarityLoss' must be a finite number, got NaN/);
    expectContrastiveError(() => multiSimilarityLoss({ base: '0.5' as unknown as number }), 'INVALID_ARGUMENT', /got "0.5"/);
    expectContrastiveError(() => multiSimilarityLoss({ distance: {} as Distance }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'multiSimilarityLoss' must be a Distance/);
    expectContrastiveError(
      () => multiSimilarityLoss({ reducer: { name: 'x' } as unknown as ReturnType<typeof sumReducer> }),
      'INVALID_ARGUMENT',
      /Argument 'reducer' passed to 'multiSimilarityLoss' must be a Reducer/,
    );
  });

  it('rejects bad embeddings, labels, ref and tuples, naming the argument, leaking nothing', () => {
    const loss = multiSimilarityLoss();
    const x = tf.tensor2d(randomRows(new Rng(71), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const cases: [() => unknown, string, RegExp][] = [
      [() => loss.compute({ embeddings: tf.tensor1d([1, 2]) as unknown as tf.Tensor2D, labels: y }), 'SHAPE_MISMATCH', /Argument 'embeddings' passed to 'multiSimilarityLoss' must be rank 2, got rank 1/],
      [() => loss.compute({ embeddings: x, labels: tf.tensor1d([0, 1, 0, 1]) }), 'DTYPE_MISMATCH', /Argument 'labels' passed to 'multiSimilarityLoss' must have dtype int32, got float32/],
      [() => loss.compute({ embeddings: x, labels: int32([0, 1, 0]) }), 'LABEL_COUNT', /Argument 'labels' passed to 'multiSimilarityLoss' must have 4 entries \(one per embedding\), got 3/],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 5]), labels: int32([0, 1]) } }), 'SHAPE_MISMATCH', /Argument 'ref.embeddings' passed to 'multiSimilarityLoss' must have 3 columns/],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 3]), labels: int32([0]) } }), 'LABEL_COUNT', /Argument 'ref.labels' passed to 'multiSimilarityLoss' must have 2 entries/],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'pairs', anchorPos: int32([0, 1]), positive: int32([2]), anchorNeg: int32([0]), negative: int32([1]) } }),
        'SHAPE_MISMATCH',
        /Argument 'tuples.positive' passed to 'multiSimilarityLoss' must have 2 entries \(one per entry of 'tuples.anchorPos'\), got 1/,
      ],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'quads' } as unknown as PairTuples }),
        'INVALID_ARGUMENT',
        /Argument 'tuples.kind' passed to 'multiSimilarityLoss' must be one of "pairs", "triplets", got "quads"/,
      ],
      [() => loss.compute(null as unknown as Parameters<typeof loss.compute>[0]), 'INVALID_ARGUMENT', /Argument 'input' passed to 'multiSimilarityLoss.compute'/],
    ];
    for (const [call, code, message] of cases) {
      const before = tf.memory().numTensors;
      expectContrastiveError(() => tf.tidy(() => void call()), code as Parameters<typeof expectContrastiveError>[1], message);
      expect(tf.memory().numTensors).toBe(before);
    }
    const disposed = tf.tensor2d([[1, 2]]);
    disposed.dispose();
    expectContrastiveError(() => loss.compute({ embeddings: disposed, labels: y }), 'DISPOSED', /Argument 'embeddings' passed to 'multiSimilarityLoss' has been disposed/);
    tf.dispose([x, y]);
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
