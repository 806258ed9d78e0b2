import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, dotProductSimilarity, lpDistance, viewLabels } from '@contrastive/core';
import type { Distance, PairTuples } from '@contrastive/core';
import {
  FLOAT32_TOLERANCE,
  LOOSE_TOLERANCE,
  checkGradients,
  expectContrastiveError,
  expectNoLeak,
  expectTensorClose,
  useTestBackend,
} from '@contrastive/core/testing';
import { expectGoldenGrad, expectGoldenValue, goldenCase, goldenCases, goldenRows } from './test-support/golden.js';
import { infoNceLoss } from './info-nce-loss.js';
import { allFinite, expectTrainsUnderMinimize, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference: Oord et al. 2018 eq. 4, written as loops
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

/** Mean over queries of -log(exp(s_ii / τ) / Σ_j exp(s_ij / τ)); key i is query i's positive. */
function crossEntropy(queries: Rows, keys: Rows, temperature: number, similarity: Similarity = cosine): number {
  let total = 0;
  queries.forEach((q, i) => {
    const logits = keys.map((k) => similarity(q, k) / temperature);
    const max = Math.max(...logits);
    const lse = max + Math.log(logits.reduce((s, l) => s + Math.exp(l - max), 0));
    total += lse - (logits[i] as number);
  });
  return total / queries.length;
}

function referenceInfoNce(rows: Rows, temperature: number, options: { refRows?: Rows; symmetric?: boolean; similarity?: Similarity } = {}): number {
  const half = rows.length / 2;
  const queries = options.refRows === undefined ? rows.slice(0, half) : rows;
  const keys = options.refRows ?? rows.slice(half);
  const forward = crossEntropy(queries, keys, temperature, options.similarity);
  if (options.symmetric !== true) return forward;
  return 0.5 * (forward + crossEntropy(keys, queries, temperature, options.similarity));
}

const zerosLabels = (n: number): tf.Tensor1D => tf.zeros([n], 'int32') as tf.Tensor1D;
// ---------------------------------------------------------------------------------------------

describe('infoNceLoss: golden values', () => {
  it('infonce_1dir_t0.1_s16x8: queries rows [0, N), keys rows [N, 2N)', () => {
    const c = goldenCase('infonce_1dir_t0.1_s16x8');
    const rows = goldenRows(c);
    const x = tf.tensor2d(rows);
    const y = viewLabels(rows.length / 2);
    for (const chunkElements of [undefined, rows.length / 2, 3 * (rows.length / 2)]) {
      const loss = infoNceLoss({ temperature: c.params['temperature'] as number, ...(chunkElements === undefined ? {} : { chunkElements }) });
      const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
      expectGoldenValue(value, c);
      expectGoldenGrad(grad, c);
      tf.dispose([value, grad]);
    }
    expect(Math.abs(referenceInfoNce(rows, 0.1) - c.expected.value)).toBeLessThan(1e-12);
    tf.dispose([x, y]);
  });

  it.each(goldenCases('infonce_clip_').map((c) => [c.name, c] as const))('%s with symmetric: true (CLIP with a fixed temperature)', (_, c) => {
    const rows = goldenRows(c);
    const x = tf.tensor2d(rows);
    const y = viewLabels(rows.length / 2);
    const loss = infoNceLoss({ temperature: c.params['temperature'] as number, symmetric: true });
    const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expectGoldenValue(value, c);
    expectGoldenGrad(grad, c);
    const aux = c.expected.aux as { loss_1to2: number };
    const oneWay = infoNceLoss({ temperature: c.params['temperature'] as number }).compute({ embeddings: x, labels: y });
    expectTensorClose(oneWay, aux.loss_1to2, { atol: 1e-6, rtol: 1e-4 });
    tf.dispose([x, y, value, grad, oneWay]);
  });
});

describe('infoNceLoss: against the float64 loops', () => {
  it('returns a float32 scalar named infoNceLoss; default τ = 0.07, one direction', () => {
    const rows = randomRows(new Rng(1), 10, 4);
    const x = tf.tensor2d(rows);
    const y = viewLabels(5);
    const loss = infoNceLoss();
    const value = loss.compute({ embeddings: x, labels: y });
    expect(loss.name).toBe('infoNceLoss');
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    expectTensorClose(value, referenceInfoNce(rows, 0.07), FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });

  it('the TSDoc example prints 0.5130152', () => {
    const rows = [[1, 0], [0, 1], [0.8, 0.6], [0.6, 0.8]];
    const embeddings = tf.tensor2d(rows);
    const labels = viewLabels(2);
    const value = infoNceLoss({ temperature: 0.5 }).compute({ embeddings, labels });
    expect(scalarValue(value)).toBeCloseTo(referenceInfoNce(rows, 0.5), 6);
    expect(scalarValue(value)).toBeCloseTo(0.5130152, 6);
    tf.dispose([embeddings, labels, value]);
  });

  it.each([
    [2, 3, 0.07, false],
    [8, 16, 0.1, false],
    [16, 8, 0.5, true],
    [24, 5, 0.2, true],
    [64, 12, 1, false],
  ])('N=%i d=%i τ=%s symmetric=%s', (pairs, d, temperature, symmetric) => {
    const rows = randomRows(new Rng(pairs * 10 + d), 2 * pairs, d);
    const x = tf.tensor2d(rows);
    const y = viewLabels(pairs);
    const value = infoNceLoss({ temperature, symmetric }).compute({ embeddings: x, labels: y });
    expectTensorClose(value, referenceInfoNce(rows, temperature, { symmetric }), FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });

  it.each([
    ['dotProductSimilarity', () => dotProductSimilarity(), dot],
    ['lpDistance (negated, dense path)', () => lpDistance(), negEuclidean],
  ] as [string, () => Distance, Similarity][])('distance %s: value and gradient', (_, makeDistance, similarity) => {
    const rows = randomRows(new Rng(11), 10, 4, 0.5);
    const y = viewLabels(5);
    for (const symmetric of [false, true]) {
      const loss = infoNceLoss({ temperature: 0.3, distance: makeDistance(), symmetric });
      checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceInfoNce(r, 0.3, { similarity, symmetric }), rows);
    }
    y.dispose();
  });

  it.each([
    [6, 3, 0.5, false],
    [10, 4, 0.1, true],
    [12, 5, 0.07, false],
  ])('gradient (into queries and keys) matches central differences: rows=%i d=%i τ=%s symmetric=%s', (n, d, temperature, symmetric) => {
    const rows = randomRows(new Rng(n * 3 + d), n, d);
    const y = viewLabels(n / 2);
    const loss = infoNceLoss({ temperature, symmetric });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), (r) => referenceInfoNce(r, temperature, { symmetric }), rows);
    y.dispose();
  });
});

describe('infoNceLoss: MoCo (queries against [positive keys; queue] as ref)', () => {
  const rng = new Rng(31);
  const queries = randomRows(rng, 6, 4);
  const positiveKeys = randomRows(rng, 6, 4);
  const queue = randomRows(rng, 10, 4);

  /** MoCo's pseudocode: logits = [q·k+, q·queue] / τ, labels = 0, cross-entropy. */
  function moco(q: Rows, kPositive: Rows, kQueue: Rows, temperature: number): number {
    let total = 0;
    q.forEach((query, i) => {
      const logits = [cosine(query, kPositive[i] as number[]), ...kQueue.map((k) => cosine(query, k))].map((l) => l / temperature);
      total += -Math.log(Math.exp(logits[0] as number) / logits.reduce((s, l) => s + Math.exp(l), 0));
    });
    return total / q.length;
  }

  it('inBatchNegatives: false equals MoCo pseudocode; gradient into the queries and into the keys', () => {
    const x = tf.tensor2d(queries);
    const y = zerosLabels(6);
    const keys = [...positiveKeys, ...queue];
    const ref = { embeddings: tf.tensor2d(keys), labels: zerosLabels(16) };
    const loss = infoNceLoss({ temperature: 0.2, inBatchNegatives: false });
    const value = loss.compute({ embeddings: x, labels: y, ref });
    expectTensorClose(value, moco(queries, positiveKeys, queue, 0.2), FLOAT32_TOLERANCE);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, ref }), (r) => moco(r, positiveKeys, queue, 0.2), queries);
    checkGradients(
      (k) => loss.compute({ embeddings: x, labels: y, ref: { embeddings: k, labels: ref.labels } }),
      (r) => moco(queries, r.slice(0, 6), r.slice(6), 0.2),
      keys,
    );
    // Chunked (2 query rows per block) gives the same value.
    const chunked = infoNceLoss({ temperature: 0.2, inBatchNegatives: false, chunkElements: 32 }).compute({ embeddings: x, labels: y, ref });
    expectTensorClose(chunked, scalarValue(value), FLOAT32_TOLERANCE);
    tf.dispose([x, y, ref.embeddings, ref.labels, value, chunked]);
  });

  it('by default the other queries\' positive keys are negatives too (every key but its own)', () => {
    const x = tf.tensor2d(queries);
    const y = zerosLabels(6);
    const keys = [...positiveKeys, ...queue];
    const ref = { embeddings: tf.tensor2d(keys), labels: zerosLabels(16) };
    const loss = infoNceLoss({ temperature: 0.2 });
    const value = loss.compute({ embeddings: x, labels: y, ref });
    expectTensorClose(value, referenceInfoNce(queries, 0.2, { refRows: keys }), FLOAT32_TOLERANCE);
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, ref }), (r) => referenceInfoNce(r, 0.2, { refRows: keys }), queries);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });

  it('symmetric with a ref of as many keys as queries', () => {
    const x = tf.tensor2d(queries);
    const y = zerosLabels(6);
    const ref = { embeddings: tf.tensor2d(positiveKeys), labels: zerosLabels(6) };
    const value = infoNceLoss({ temperature: 0.2, symmetric: true }).compute({ embeddings: x, labels: y, ref });
    expectTensorClose(value, referenceInfoNce(queries, 0.2, { refRows: positiveKeys, symmetric: true }), FLOAT32_TOLERANCE);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });

  it('a single query against a queue works', () => {
    const x = tf.tensor2d([queries[0] as number[]]);
    const y = zerosLabels(1);
    const keys = [positiveKeys[0] as number[], ...queue];
    const ref = { embeddings: tf.tensor2d(keys), labels: zerosLabels(keys.length) };
    const value = infoNceLoss({ temperature: 0.2 }).compute({ embeddings: x, labels: y, ref });
    expectTensorClose(value, moco([queries[0] as number[]], [positiveKeys[0] as number[]], queue, 0.2), FLOAT32_TOLERANCE);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });
});

describe('infoNceLoss: edge cases', () => {
  function valueAndGrad(rows: Rows, temperature = 0.1): { value: number; grad: number[]; finite: boolean } {
    const x = tf.tensor2d(rows);
    const y = zerosLabels(rows.length);
    const loss = infoNceLoss({ temperature });
    const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    const out = { value: scalarValue(result.value), grad: Array.from(result.grad.dataSync()), finite: allFinite(result.value) && allFinite(result.grad) };
    tf.dispose([x, y, result.value, result.grad]);
    return out;
  }

  it('a batch of one gives a connected 0', () => {
    const { value, grad } = valueAndGrad([[0.3, -0.4]]);
    expect(value === 0).toBe(true);
    expect(grad).toEqual([0, 0]);
  });

  it('one pair (no negative) gives 0 with zero gradients', () => {
    const { value, grad, finite } = valueAndGrad([[0.3, -0.4], [1, 2]]);
    expect(value).toBeCloseTo(0, 6);
    expect(finite).toBe(true);
    expect(Math.max(...grad.map(Math.abs))).toBeLessThan(1e-6);
  });

  it('identical vectors: log N, finite gradient', () => {
    const { value, finite } = valueAndGrad(Array.from({ length: 8 }, () => [0.2, -1.5, 0.7]));
    expect(value).toBeCloseTo(Math.log(4), 5);
    expect(finite).toBe(true);
  });

  it('zero vectors: log N, finite gradient', () => {
    const { value, finite } = valueAndGrad(Array.from({ length: 8 }, () => [0, 0, 0]));
    expect(value).toBeCloseTo(Math.log(4), 5);
    expect(finite).toBe(true);
  });

  it('τ = 0.01 with embeddings scaled by 1e4 stays finite (cosine and dot product)', () => {
    const rows = randomRows(new Rng(4), 16, 6, 1e4);
    const { value, finite } = valueAndGrad(rows, 0.01);
    expect(finite).toBe(true);
    expect(Math.abs(value - referenceInfoNce(rows, 0.01))).toBeLessThan(LOOSE_TOLERANCE.atol + LOOSE_TOLERANCE.rtol * value);
    const x = tf.tensor2d(rows);
    const y = zerosLabels(16);
    const loss = infoNceLoss({ temperature: 0.01, distance: dotProductSimilarity(), symmetric: true });
    const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expect(allFinite(result.value) && allFinite(result.grad)).toBe(true);
    tf.dispose([x, y, result.value, result.grad]);
  });
});

describe('infoNceLoss: training and resources', () => {
  it('leaks no tensor, forward or backward', async () => {
    const x = tf.tensor2d(randomRows(new Rng(41), 8, 4));
    const y = zerosLabels(8);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(42), 12, 4)), labels: zerosLabels(12) };
    const losses = [infoNceLoss(), infoNceLoss({ symmetric: true }), infoNceLoss({ distance: lpDistance() })];
    const inputs = [{ embeddings: x, labels: y }, { embeddings: x, labels: y, ref }];
    losses[0]!.compute(inputs[0]!).dispose();
    await expectNoLeak(() => {
      for (const loss of losses) {
        for (const input of loss === losses[1] ? inputs.slice(0, 1) : inputs) {
          loss.compute(input).dispose();
          const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ ...input, embeddings: e as tf.Tensor2D }))(x);
          tf.dispose([value, grad]);
        }
      }
    });
    tf.dispose([x, y, ref.embeddings, ref.labels]);
  });

  it('trains under optimizer.minimize: the loss falls, no tensor growth', () => {
    expectTrainsUnderMinimize(infoNceLoss({ temperature: 0.5, symmetric: true }), { labels: (n) => viewLabels(n / 2), optimizer: () => tf.train.sgd(0.5), steps: 30, factor: 0.8 });
  });
});

describe('infoNceLoss: errors', () => {
  it('rejects bad hyper-parameters in the factory', () => {
    expectContrastiveError(() => infoNceLoss({ temperature: 0 }), 'INVALID_ARGUMENT', /Argument 'temperature' passed to 'infoNceLoss' must be a finite number > 0, got 0/);
    expectContrastiveError(() => infoNceLoss({ symmetric: 'yes' as never }), 'INVALID_ARGUMENT', /Argument 'symmetric' passed to 'infoNceLoss' must be a boolean, got string/);
    expectContrastiveError(() => infoNceLoss({ inBatchNegatives: 1 as never }), 'INVALID_ARGUMENT', /Argument 'inBatchNegatives' passed to 'infoNceLoss' must be a boolean, got number/);
    expectContrastiveError(() => infoNceLoss({ distance: {} as never }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'infoNceLoss' must be a Distance/);
    expectContrastiveError(() => infoNceLoss({ chunkElements: -1 }), 'INVALID_ARGUMENT', /Argument 'chunkElements' passed to 'infoNceLoss' must be an integer >= 1/);
  });

  it('rejects odd batches, short or mismatched refs, tuples and bad tensors, without leaking', () => {
    const loss = infoNceLoss();
    const x = tf.tensor2d(randomRows(new Rng(71), 6, 3));
    const y = zerosLabels(6);
    const inTidy = (call: () => unknown) => () => tf.tidy(() => void call());
    const before = tf.memory().numTensors;
    expectContrastiveError(
      inTidy(() => loss.compute({ embeddings: tf.zeros([5, 3]) as tf.Tensor2D, labels: zerosLabels(5) })),
      'SHAPE_MISMATCH',
      /Argument 'embeddings' passed to 'infoNceLoss' must have an even number of rows \(queries \[0, N\) then their keys \[N, 2N\)\) when no 'ref' is given, got 5/,
    );
    expectContrastiveError(
      inTidy(() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([4, 3]) as tf.Tensor2D, labels: zerosLabels(4) } })),
      'SHAPE_MISMATCH',
      /Argument 'ref.embeddings' passed to 'infoNceLoss' must have at least 6 rows \(one positive key per query, then negatives\), got 4/,
    );
    expectContrastiveError(
      inTidy(() => infoNceLoss({ symmetric: true }).compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([8, 3]) as tf.Tensor2D, labels: zerosLabels(8) } })),
      'SHAPE_MISMATCH',
      /must have exactly 6 rows \(one key per query, symmetric\), got 8/,
    );
    const tuples: PairTuples = { kind: 'pairs', anchorPos: int32([0]), positive: int32([3]), anchorNeg: int32([0]), negative: int32([1]) };
    expectContrastiveError(inTidy(() => loss.compute({ embeddings: x, labels: y, tuples })), 'INVALID_ARGUMENT', /Argument 'tuples' passed to 'infoNceLoss' is not supported/);
    tf.dispose([tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative]);
    expectContrastiveError(inTidy(() => loss.compute({ embeddings: x, labels: zerosLabels(4) })), 'LABEL_COUNT', /Argument 'labels' passed to 'infoNceLoss' must have 6 entries/);
    expectContrastiveError(inTidy(() => loss.compute({ embeddings: tf.zeros([2, 2], 'int32') as never, labels: zerosLabels(2) })), 'DTYPE_MISMATCH', /Argument 'embeddings' passed to 'infoNceLoss' must have dtype float32, got int32/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
