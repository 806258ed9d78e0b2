import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Rng,
  cosineSimilarity,
  dotProductSimilarity,
  isContrastiveError,
  lpDistance,
  viewLabels,
} from '@contrastive/core';
import type { Distance, PairTuples, TripletTuples } from '@contrastive/core';
import {
  FLOAT32_TOLERANCE,
  LOOSE_TOLERANCE,
  checkGradients,
  expectNoLeak,
  expectTensorClose,
  useTestBackend,
} from '@contrastive/core/testing';
import { ntXentLoss } from './nt-xent.js';
import { allFinite, expectFiniteLargeBatch, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference, written as obvious loops from the paper (SimCLR eq. 1) and PML's pair rules
// ---------------------------------------------------------------------------------------------

type Similarity = (a: number[], b: number[]) => number;

function dot(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}
function unit(v: number[]): number[] {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12)); // F.normalize: a zero row stays zero
}
const cosine: Similarity = (a, b) => dot(unit(a), unit(b));
const negEuclidean: Similarity = (a, b) => {
  const [x, y] = [unit(a), unit(b)];
  return -Math.sqrt(x.reduce((s, v, i) => s + (v - (y[i] as number)) ** 2, 0));
};

/** One ordered positive pair's loss: -log(exp(s_ap) / (exp(s_ap) + Σ_n exp(s_an))), s already divided by τ. */
function pairLoss(positive: number, negatives: number[]): number {
  const numerator = Math.exp(positive);
  let denominator = numerator;
  for (const s of negatives) denominator += Math.exp(s);
  return -Math.log(numerator / denominator);
}

interface ReferenceOptions {
  readonly similarity?: Similarity;
  readonly refRows?: Rows;
  readonly refLabels?: number[];
}

/** Labels-driven NT-Xent: every ordered same-label pair (a != p without a reference), mean over pairs. */
function referenceNtXent(rows: Rows, labels: number[], temperature: number, options: ReferenceOptions = {}): number {
  const similarity = options.similarity ?? cosine;
  const refRows = options.refRows ?? rows;
  const refLabels = options.refLabels ?? labels;
  const self = options.refRows === undefined;
  let total = 0;
  let pairs = 0;
  for (let a = 0; a < rows.length; a++) {
    for (let p = 0; p < refRows.length; p++) {
      if (labels[a] !== refLabels[p] || (self && a === p)) continue;
      const negatives: number[] = [];
      for (let k = 0; k < refRows.length; k++) {
        if (refLabels[k] !== labels[a]) negatives.push(similarity(rows[a] as number[], refRows[k] as number[]) / temperature);
      }
      total += pairLoss(similarity(rows[a] as number[], refRows[p] as number[]) / temperature, negatives);
      pairs++;
    }
  }
  return pairs === 0 ? 0 : total / pairs;
}

interface PlainPairs {
  anchorPos: number[];
  positive: number[];
  anchorNeg: number[];
  negative: number[];
}

/** Tuple-driven NT-Xent as PML: positive pair k against the negative pairs that share its anchor. */
function referenceTuples(rows: Rows, refRows: Rows, pairs: PlainPairs, temperature: number): number {
  if (pairs.anchorPos.length === 0 || pairs.anchorNeg.length === 0) return 0;
  let total = 0;
  pairs.anchorPos.forEach((a, k) => {
    const negatives: number[] = [];
    pairs.anchorNeg.forEach((a2, j) => {
      if (a2 === a) negatives.push(cosine(rows[a2] as number[], refRows[pairs.negative[j] as number] as number[]) / temperature);
    });
    total += pairLoss(cosine(rows[a] as number[], refRows[pairs.positive[k] as number] as number[]) / temperature, negatives);
  });
  return total / pairs.anchorPos.length;
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
// golden fixtures from pytorch-metric-learning (see meta.conventions in the JSON)
// ---------------------------------------------------------------------------------------------

interface GoldenCase {
  name: string;
  inputs: { embeddings: string; labels: string };
  params: { temperature: number };
  expected: { value: number; value_f32: number; grad_f32_max_abs_diff_vs_f64: number };
  grad: Rows;
}
interface Golden {
  input_sets: Record<string, Record<string, unknown> & { embeddings: Rows }>;
  cases: GoldenCase[];
}

const golden = JSON.parse(
  readFileSync(new URL('../../../../shared/golden/pytorch-reference.json', import.meta.url), 'utf8'),
) as Golden;
const goldenCases = golden.cases.filter((c) => c.name.startsWith('ntxent_'));

function goldenInputs(c: GoldenCase): { rows: Rows; labels: number[] } {
  const set = golden.input_sets[c.inputs.embeddings];
  if (set === undefined) throw new Error(`missing input set ${c.inputs.embeddings}`);
  return { rows: set.embeddings, labels: set[c.inputs.labels] as number[] };
}

describe('ntXentLoss: golden values from pytorch-metric-learning', () => {
  it('has the eight ntxent_* cases', () => {
    expect(goldenCases.map((c) => c.name)).toHaveLength(8);
  });

  it.each(goldenCases.map((c) => [c.name, c] as const))('%s: value and gradient', (_, c) => {
    const { rows, labels } = goldenInputs(c);
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = ntXentLoss({ temperature: c.params.temperature });
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    const expected = c.expected.value;
    expectTensorClose(value, expected, { atol: 1e-5 * Math.max(1, Math.abs(expected)), rtol: 0 });
    expectTensorClose(grad, c.grad, { atol: Math.max(1e-5, 20 * c.expected.grad_f32_max_abs_diff_vs_f64), rtol: 0 });
    // The float64 loops agree with PML to float64 precision.
    expect(Math.abs(referenceNtXent(rows, labels, c.params.temperature) - expected)).toBeLessThan(1e-12);
    tf.dispose([x, y, value, grad]);
  });

  it('given all pairs as tuples, equals the labels-driven golden value', () => {
    const c = goldenCases.find((g) => g.name === 'ntxent_t0.1_s8x4_labels_edge');
    if (c === undefined) throw new Error('missing case');
    const { rows, labels } = goldenInputs(c);
    const pairs: PlainPairs = { anchorPos: [], positive: [], anchorNeg: [], negative: [] };
    labels.forEach((la, a) =>
      labels.forEach((lb, b) => {
        if (la === lb && a !== b) pairs.anchorPos.push(a), pairs.positive.push(b);
        if (la !== lb) pairs.anchorNeg.push(a), pairs.negative.push(b);
      }),
    );
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples = pairTuples(pairs);
    const loss = ntXentLoss({ temperature: c.params.temperature });
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, tuples }))(x);
    expectTensorClose(value, c.expected.value, { atol: 1e-5 * Math.max(1, c.expected.value), rtol: 0 });
    expectTensorClose(grad, c.grad, { atol: Math.max(1e-5, 20 * c.expected.grad_f32_max_abs_diff_vs_f64), rtol: 0 });
    disposeTuples(tuples);
    tf.dispose([x, y, value, grad]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('ntXentLoss: against the float64 loops', () => {
  it('returns a float32 scalar named ntXentLoss', () => {
    const x = tf.tensor2d(randomRows(new Rng(1), 4, 3));
    const y = viewLabels(2);
    const loss = ntXentLoss();
    const value = loss.compute({ embeddings: x, labels: y });
    expect(loss.name).toBe('ntXentLoss');
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    tf.dispose([x, y, value]);
  });

  it('the TSDoc example prints 0.8707138', () => {
    const embeddings = tf.tensor2d([[1, 0], [0, 1], [0.8, 0.6], [0.6, 0.8]]);
    const labels = viewLabels(2);
    const loss = ntXentLoss({ temperature: 0.5 }).compute({ embeddings, labels });
    expect(scalarValue(loss)).toBeCloseTo(0.8707138, 6);
    tf.dispose([embeddings, labels, loss]);
  });

  it.each([
    [4, 3, 0.07],
    [8, 16, 0.1],
    [16, 8, 0.5],
    [24, 5, 0.2],
    [32, 32, 1],
    [64, 12, 0.05],
  ])('n=%i d=%i τ=%s, view labels and class labels', (n, d, temperature) => {
    const rng = new Rng(n * 1000 + d);
    const rows = randomRows(rng, n, d);
    for (const labels of [Array.from({ length: n }, (_, i) => i % (n / 2)), randomLabels(rng, n, 3)]) {
      const x = tf.tensor2d(rows);
      const y = int32(labels);
      const value = ntXentLoss({ temperature }).compute({ embeddings: x, labels: y });
      expectTensorClose(value, referenceNtXent(rows, labels, temperature), FLOAT32_TOLERANCE);
      tf.dispose([x, y, value]);
    }
  });

  it('compares any int32 labels exactly (negative, beyond 2^24, extremes)', () => {
    const rows = randomRows(new Rng(9), 8, 3);
    // 2^24 and 2^24 + 1 are one float32; so are 2^31 - 1 and 2^31 - 2.
    const labels = [16777216, 16777217, -5, 2147483647, 16777216, 16777217, -5, 2147483646];
    const refLabels = [-2147483648, 16777217, 2147483646, -5, 0, 16777216];
    const queue = randomRows(new Rng(10), 6, 3);
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(refLabels) };
    const loss = ntXentLoss({ temperature: 0.2 });
    const value = loss.compute({ embeddings: x, labels: y });
    const withRef = loss.compute({ embeddings: x, labels: y, ref });
    expectTensorClose(value, referenceNtXent(rows, labels, 0.2), FLOAT32_TOLERANCE);
    expectTensorClose(withRef, referenceNtXent(rows, labels, 0.2, { refRows: queue, refLabels }), FLOAT32_TOLERANCE);
    tf.dispose([x, y, ref.embeddings, ref.labels, value, withRef]);
  });

  it('defaults to τ = 0.07 and cosine similarity (PML)', () => {
    const rows = randomRows(new Rng(7), 10, 4);
    const labels = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4];
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const value = ntXentLoss().compute({ embeddings: x, labels: y });
    expectTensorClose(value, referenceNtXent(rows, labels, 0.07), FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });

  it.each([
    ['cosineSimilarity', () => cosineSimilarity(), cosine],
    ['dotProductSimilarity', () => dotProductSimilarity(), dot],
    ['lpDistance (negated)', () => lpDistance(), negEuclidean],
  ] as [string, () => Distance, Similarity][])('distance %s', (_, makeDistance, similarity) => {
    const rows = randomRows(new Rng(11), 12, 6, 0.5);
    const labels = randomLabels(new Rng(12), 12, 4);
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = ntXentLoss({ temperature: 0.3, distance: makeDistance() });
    const value = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(value, referenceNtXent(rows, labels, 0.3, { similarity }), FLOAT32_TOLERANCE);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceNtXent(r, labels, 0.3, { similarity }), rows);
    tf.dispose([x, y, value]);
  });

  it.each([
    [6, 3, 0.5],
    [8, 4, 0.1],
    [10, 5, 0.07],
  ])('gradient matches central differences of the loops: n=%i d=%i τ=%s', (n, d, temperature) => {
    const rng = new Rng(n + d);
    const rows = randomRows(rng, n, d);
    for (const labels of [Array.from({ length: n }, (_, i) => i % (n / 2)), [0, 0, 0, ...randomLabels(rng, n - 3, 3)]]) {
      const y = int32(labels);
      const loss = ntXentLoss({ temperature });
      checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceNtXent(r, labels, temperature), rows);
      y.dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('ntXentLoss: edge cases', () => {
  function valueAndGrad(rows: Rows, labels: number[], temperature = 0.1): { value: number; grad: number[]; finite: boolean } {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = ntXentLoss({ temperature });
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
    expect(value === 0).toBe(true); // tf.mul(tf.sum(embeddings), 0) may be -0
    expect(grad).toEqual([0, 0]);
  });

  it('identical vectors: log(1 + negatives), finite gradient', () => {
    const rows = Array.from({ length: 6 }, () => [0.2, -1.5, 0.7]);
    const { value, grad, finite } = valueAndGrad(rows, [0, 1, 2, 0, 1, 2]);
    expect(value).toBeCloseTo(Math.log(5), 5);
    expect(finite).toBe(true);
    expect(Math.max(...grad.map(Math.abs))).toBeLessThan(1e-4);
  });

  it('zero vectors: similarity 0, finite gradient', () => {
    const zeros = valueAndGrad(Array.from({ length: 6 }, () => [0, 0, 0]), [0, 1, 2, 0, 1, 2]);
    expect(zeros.value).toBeCloseTo(Math.log(5), 5);
    expect(zeros.finite).toBe(true);
    const rows = [[0, 0, 0], [1, 2, 3], [0, 0, 0], [-1, 0.5, 2]];
    const mixed = valueAndGrad(rows, [0, 1, 0, 1]);
    expect(mixed.value).toBeCloseTo(referenceNtXent(rows, [0, 1, 0, 1], 0.1), 4);
    expect(mixed.finite).toBe(true);
  });

  it('τ = 0.01 with embeddings scaled by 1e4 stays finite and exact', () => {
    const rows = randomRows(new Rng(5), 16, 8, 1e4);
    const labels = Array.from({ length: 16 }, (_, i) => i % 8);
    const { value, finite } = valueAndGrad(rows, labels, 0.01);
    expect(finite).toBe(true);
    expect(Number.isFinite(value)).toBe(true);
    expect(Math.abs(value - referenceNtXent(rows, labels, 0.01))).toBeLessThan(LOOSE_TOLERANCE.atol + LOOSE_TOLERANCE.rtol * value);
    // Un-normalized dot products of 1e4-scaled rows (similarities ~1e10 after τ) are finite too.
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = ntXentLoss({ temperature: 0.01, distance: dotProductSimilarity() });
    const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expect(allFinite(result.value) && allFinite(result.grad)).toBe(true);
    tf.dispose([x, y, result.value, result.grad]);
  });

  it('keeps the exact value of a hopeless pair (PML clamps it near 87 in float32)', () => {
    // Anchor 0's positive is opposite (cos -1) and its negative aligned (cos 1): loss = softplus(2 / τ).
    const rows = [[1, 0], [-1, 0], [1, 0], [-1, 0]];
    const labels = [0, 0, 1, 1];
    const { value, finite } = valueAndGrad(rows, labels, 0.01);
    expect(value).toBeCloseTo(200, 3);
    expect(referenceNtXent(rows, labels, 0.01)).toBeCloseTo(200, 6);
    expect(finite).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------

describe('ntXentLoss: given tuples', () => {
  const rows = randomRows(new Rng(21), 8, 5);
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];
  // A mined subset with a repeated pair and an anchor (3) that has a positive but no negative.
  const mined: PlainPairs = {
    anchorPos: [0, 4, 1, 1, 3],
    positive: [4, 0, 5, 5, 7],
    anchorNeg: [0, 0, 4, 1, 0],
    negative: [1, 2, 6, 6, 1],
  };

  it('uses only the given pairs, with repeats, as PML', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples = pairTuples(mined);
    const value = ntXentLoss({ temperature: 0.2 }).compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, referenceTuples(rows, rows, mined, 0.2), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('converts triplets (a, p, n) to the pairs (a, p) and (a, n)', () => {
    const triplets = { anchor: [0, 0, 1, 5, 2], positive: [4, 4, 5, 1, 6], negative: [1, 3, 2, 7, 0] };
    const asPairs: PlainPairs = {
      anchorPos: triplets.anchor,
      positive: triplets.positive,
      anchorNeg: triplets.anchor,
      negative: triplets.negative,
    };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples: TripletTuples = {
      kind: 'triplets',
      anchor: int32(triplets.anchor),
      positive: int32(triplets.positive),
      negative: int32(triplets.negative),
    };
    const value = ntXentLoss({ temperature: 0.2 }).compute({ embeddings: x, labels: y, tuples });
    expectTensorClose(value, referenceTuples(rows, rows, asPairs, 0.2), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('gradient of the tuple path matches central differences', () => {
    const y = int32(labels);
    const tuples = pairTuples(mined);
    const loss = ntXentLoss({ temperature: 0.2 });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, tuples }), (r) => referenceTuples(r, r, mined, 0.2), rows);
    disposeTuples(tuples);
    y.dispose();
  });

  it('one positive and one negative pair give the loss (PML returns 0 there)', () => {
    const single: PlainPairs = { anchorPos: [0], positive: [4], anchorNeg: [0], negative: [1] };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples = pairTuples(single);
    const value = ntXentLoss({ temperature: 0.2 }).compute({ embeddings: x, labels: y, tuples });
    const expected = Math.log1p(Math.exp((cosine(rows[0]!, rows[1]!) - cosine(rows[0]!, rows[4]!)) / 0.2));
    expectTensorClose(value, expected, FLOAT32_TOLERANCE);
    expectTensorClose(value, referenceTuples(rows, rows, single, 0.2), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('empty positive or negative tuples give a connected 0', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    for (const pairs of [
      { ...mined, anchorPos: [], positive: [] },
      { ...mined, anchorNeg: [], negative: [] },
    ]) {
      const tuples = pairTuples(pairs);
      const loss = ntXentLoss();
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

describe('ntXentLoss: against a reference set', () => {
  const rng = new Rng(31);
  const rows = randomRows(rng, 6, 4);
  const labels = [0, 1, 2, 0, 1, 2];
  const queue = randomRows(rng, 10, 4);
  const queueLabels = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4];

  it('compares the batch with ref.embeddings / ref.labels', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const value = ntXentLoss({ temperature: 0.1 }).compute({ embeddings: x, labels: y, ref });
    expectTensorClose(value, referenceNtXent(rows, labels, 0.1, { refRows: queue, refLabels: queueLabels }), FLOAT32_TOLERANCE);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });

  it('does not exclude a row from being its own positive (PML ref semantics)', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.clone(x), labels: tf.clone(y) };
    const loss = ntXentLoss({ temperature: 0.1 });
    const withRef = loss.compute({ embeddings: x, labels: y, ref });
    const without = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(withRef, referenceNtXent(rows, labels, 0.1, { refRows: rows, refLabels: labels }), FLOAT32_TOLERANCE);
    expect(Math.abs(scalarValue(withRef) - scalarValue(without))).toBeGreaterThan(1e-3);
    tf.dispose([x, y, ref.embeddings, ref.labels, withRef, without]);
  });

  it('gradient w.r.t. the batch matches central differences (ref held fixed)', () => {
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const loss = ntXentLoss({ temperature: 0.2 });
    checkGradients(
      (e) => loss.compute({ embeddings: e, labels: y, ref }),
      (r) => referenceNtXent(r, labels, 0.2, { refRows: queue, refLabels: queueLabels }),
      rows,
    );
    tf.dispose([y, ref.embeddings, ref.labels]);
  });

  it('anchors without a negative in the reference count as 0 in the mean', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const refLabels = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(refLabels) };
    const value = ntXentLoss({ temperature: 0.1 }).compute({ embeddings: x, labels: y, ref });
    expectTensorClose(value, referenceNtXent(rows, labels, 0.1, { refRows: queue, refLabels }), FLOAT32_TOLERANCE);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });

  it('tuples index the reference', () => {
    const pairs: PlainPairs = { anchorPos: [0, 1, 3], positive: [0, 6, 5], anchorNeg: [0, 1, 1, 3], negative: [1, 2, 9, 4] };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(queueLabels) };
    const tuples = pairTuples(pairs);
    const value = ntXentLoss({ temperature: 0.1 }).compute({ embeddings: x, labels: y, ref, tuples });
    expectTensorClose(value, referenceTuples(rows, queue, pairs, 0.1), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('ntXentLoss: training and resources', () => {
  it('leaks no tensor on any path, forward or backward', async () => {
    const rows = randomRows(new Rng(41), 8, 4);
    const x = tf.tensor2d(rows);
    const y = int32([0, 1, 2, 3, 0, 1, 2, 3]);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(42), 5, 4)), labels: int32([0, 1, 2, 3, 4]) };
    const tuples = pairTuples({ anchorPos: [0, 4], positive: [4, 0], anchorNeg: [0, 4], negative: [1, 2] });
    const empty = pairTuples({ anchorPos: [], positive: [], anchorNeg: [0], negative: [1] });
    const loss = ntXentLoss();
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

  it('trains under optimizer.minimize: the loss falls', async () => {
    const variable = tf.variable(tf.tensor2d(randomRows(new Rng(51), 16, 8)));
    const labels = viewLabels(8);
    const optimizer = tf.train.sgd(0.5);
    const loss = ntXentLoss({ temperature: 0.5 });
    const step = (): number => {
      const cost = optimizer.minimize(() => loss.compute({ embeddings: variable, labels }), true, [variable]);
      const value = scalarValue(cost as tf.Scalar);
      cost?.dispose();
      return value;
    };
    const first = step();
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 30; i++) last = step();
    expect(tf.memory().numTensors).toBe(before);
    expect(last).toBeLessThan(first * 0.8);
    optimizer.dispose();
    tf.dispose([variable, labels]);
  });

  it('runs in row chunks: any chunkElements gives the same value and gradient (labels, ref, tuples, lpDistance)', () => {
    const rows = randomRows(new Rng(81), 12, 5);
    const x = tf.tensor2d(rows);
    const y = int32([0, 1, 2, 0, 1, 2, 3, 3, 4, 0, 5, 5]);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(82), 7, 5)), labels: int32([0, 1, 2, 3, 4, 0, 9]) };
    const tuples = pairTuples({ anchorPos: [0, 3, 6, 6], positive: [3, 0, 7, 7], anchorNeg: [0, 0, 6, 9], negative: [1, 2, 8, 4] });
    const inputs = [{ labels: y }, { labels: y, ref }, { labels: y, tuples }];
    for (const distance of [cosineSimilarity(), lpDistance()]) {
      for (const input of inputs) {
        const whole = tf.valueAndGrad((e: tf.Tensor) => ntXentLoss({ distance }).compute({ ...input, embeddings: e as tf.Tensor2D }))(x);
        for (const chunkElements of [1, 20, 50]) {
          const part = tf.valueAndGrad((e: tf.Tensor) => ntXentLoss({ distance, chunkElements }).compute({ ...input, embeddings: e as tf.Tensor2D }))(x);
          expectTensorClose(part.value, whole.value, FLOAT32_TOLERANCE);
          expectTensorClose(part.grad, whole.grad, FLOAT32_TOLERANCE);
          tf.dispose([part.value, part.grad]);
        }
        tf.dispose([whole.value, whole.grad]);
      }
    }
    disposeTuples(tuples);
    tf.dispose([x, y, ref.embeddings, ref.labels]);
  });

  it('handles N = 1024 (d = 128) with a finite value and gradient', () => {
    expectFiniteLargeBatch(ntXentLoss(), { n: 1024, d: 128, labels: (n) => viewLabels(n / 2) });
  });
});

// ---------------------------------------------------------------------------------------------

describe('ntXentLoss: errors', () => {
  it('rejects a bad temperature or distance in the factory', () => {
    for (const temperature of [0, -0.1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => ntXentLoss({ temperature })).toThrow(/Argument 'temperature' passed to 'ntXentLoss' must be a finite number > 0, got/);
    }
    expect(() => ntXentLoss({ temperature: '0.1' as unknown as number })).toThrow(/got "0.1"/);
    expect(() => ntXentLoss({ distance: {} as Distance })).toThrow(/Argument 'distance' passed to 'ntXentLoss' must be a Distance/);
    expect(() => ntXentLoss({ chunkElements: 0 })).toThrow(/Argument 'chunkElements' passed to 'ntXentLoss' must be an integer >= 1, got 0/);
    try {
      ntXentLoss({ temperature: 0 });
      expect.unreachable();
    } catch (error) {
      expect(isContrastiveError(error) && error.code).toBe('INVALID_ARGUMENT');
    }
  });

  it('rejects bad embeddings, labels, ref and tuples, naming the argument', () => {
    const loss = ntXentLoss();
    const x = tf.tensor2d(randomRows(new Rng(71), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const cases: [() => unknown, RegExp, string][] = [
      [() => loss.compute({ embeddings: tf.tensor1d([1, 2]) as unknown as tf.Tensor2D, labels: y }), /Argument 'embeddings' passed to 'ntXentLoss' must be rank 2, got rank 1/, 'SHAPE_MISMATCH'],
      [() => loss.compute({ embeddings: tf.tensor2d([[1]], [1, 1], 'int32'), labels: int32([0]) }), /Argument 'embeddings' passed to 'ntXentLoss' must have dtype float32, got int32/, 'DTYPE_MISMATCH'],
      [() => loss.compute({ embeddings: x, labels: tf.tensor1d([0, 1, 0, 1]) }), /Argument 'labels' passed to 'ntXentLoss' must have dtype int32, got float32/, 'DTYPE_MISMATCH'],
      [() => loss.compute({ embeddings: x, labels: int32([0, 1, 0]) }), /Argument 'labels' passed to 'ntXentLoss' must have 4 entries \(one per embedding\), got 3/, 'LABEL_COUNT'],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 5]), labels: int32([0, 1]) } }), /Argument 'ref.embeddings' passed to 'ntXentLoss' must have 3 columns/, 'SHAPE_MISMATCH'],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 3]), labels: int32([0]) } }), /Argument 'ref.labels' passed to 'ntXentLoss' must have 2 entries/, 'LABEL_COUNT'],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'pairs', anchorPos: int32([0, 1]), positive: int32([2]), anchorNeg: int32([0]), negative: int32([1]) } }),
        /Argument 'tuples.positive' passed to 'ntXentLoss' must have 2 entries \(one per entry of 'tuples.anchorPos'\), got 1/,
        'SHAPE_MISMATCH',
      ],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'triplets', anchor: int32([0]), positive: tf.tensor1d([2]), negative: int32([1]) } }),
        /Argument 'tuples.positive' passed to 'ntXentLoss' must have dtype int32, got float32/,
        'DTYPE_MISMATCH',
      ],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'quads' } as unknown as PairTuples }),
        /Argument 'tuples.kind' passed to 'ntXentLoss' must be one of "pairs", "triplets", got "quads"/,
        'INVALID_ARGUMENT',
      ],
    ];
    for (const [call, message, code] of cases) {
      let caught: unknown;
      const before = tf.memory().numTensors;
      try {
        tf.tidy(() => {
          call();
        });
      } catch (error) {
        caught = error;
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(String(caught)).toMatch(message);
      expect(isContrastiveError(caught) && caught.code).toBe(code);
    }
    const disposed = tf.tensor2d([[1, 2]]);
    disposed.dispose();
    expect(() => tf.tidy(() => loss.compute({ embeddings: disposed, labels: int32([0]) }))).toThrow(
      /Argument 'embeddings' passed to 'ntXentLoss' has been disposed/,
    );
    tf.dispose([x, y]);
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
