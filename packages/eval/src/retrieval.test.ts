import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  retrievalMetrics,
  searchRanked,
  type RetrievalDistance,
  type RetrievalMetricName,
  type RetrievalOptions,
  type RetrievalResult,
} from './retrieval.js';

beforeAll(async () => {
  await useTestBackend();
});

type Rows = number[][];
const ALL: RetrievalMetricName[] = [
  'precisionAtOne',
  'precisionAtK',
  'recallAtK',
  'rPrecision',
  'meanAveragePrecisionAtR',
  'meanAveragePrecision',
  'meanReciprocalRank',
  'ndcgAtK',
];
/** Host arithmetic is float64 on both sides; only the summation order may differ. */
const EXACT = 1e-12;
/** The golden cases: PML computed in float32. */
const GOLDEN = 1e-6;

/** Random float32 rows, labels drawn from `classes`. */
function randomSet(rng: Rng, n: number, dims: number, classes: number): { rows: Rows; labels: number[] } {
  const rows = Array.from({ length: n }, () => Array.from(Float32Array.from(rng.normalArray(dims))));
  const labels = Array.from({ length: n }, () => rng.int(classes));
  return { rows, labels };
}

function closeness(a: number[], b: number[], distance: RetrievalDistance): number {
  if (distance === 'euclidean') return -Math.sqrt(a.reduce((s, x, j) => s + (x - (b[j] as number)) ** 2, 0));
  const dot = a.reduce((s, x, j) => s + x * (b[j] as number), 0);
  if (distance === 'dot') return dot;
  const norm = (v: number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return dot / (norm(a) * norm(b));
}

interface ReferenceOptions {
  reference?: Rows;
  referenceLabels?: number[];
  distance: RetrievalDistance;
  k: number | 'all' | 'maxBinCount';
  averaging: 'micro' | 'macro';
}

/**
 * Float64 reference written from the definitions (PML AccuracyCalculator, plus P@K, Recall@K and
 * NDCG@K): full sort of every reference (ties -> lower index), self excluded, lone queries dropped.
 */
function referenceMetrics(query: Rows, queryLabels: number[], options: ReferenceOptions): Record<string, number> & { evaluated: number } {
  const self = options.reference === undefined;
  const reference = options.reference ?? query;
  const referenceLabels = options.referenceLabels ?? queryLabels;
  const relevantOf = (label: number): number => referenceLabels.filter((l) => l === label).length - (self ? 1 : 0);
  const available = reference.length - (self ? 1 : 0);
  const maxBin = Math.max(...queryLabels.map(relevantOf));
  const listK = typeof options.k === 'number' ? options.k : options.k === 'all' ? available : maxBin;
  const K = typeof options.k === 'number' ? options.k : 0;
  const perQuery: { label: number; values: number[] }[] = [];
  query.forEach((row, i) => {
    const label = queryLabels[i] as number;
    const R = relevantOf(label);
    if (R <= 0) return;
    const order = reference
      .map((other, index) => ({ index, value: closeness(row, other, options.distance) }))
      .filter(({ index }) => !(self && index === i))
      .sort((a, b) => b.value - a.value || a.index - b.index)
      .slice(0, listK);
    const rel = order.map(({ index }) => (referenceLabels[index] === label ? 1 : 0));
    const precisionAt = (n: number): number => rel.slice(0, n).reduce((s: number, x) => s + x, 0) / n;
    const rCut = Math.min(R, rel.length);
    let apR = 0;
    let ap = 0;
    for (let n = 1; n <= rel.length; n++) {
      if (rel[n - 1] === 1) {
        ap += precisionAt(n);
        if (n <= rCut) apR += precisionAt(n);
      }
    }
    const hits = rel.reduce((s: number, x) => s + x, 0);
    const first = rel.indexOf(1);
    let dcg = 0;
    for (let n = 1; n <= Math.min(K, rel.length); n++) dcg += (rel[n - 1] as number) / Math.log2(n + 1);
    let idcg = 0;
    for (let n = 1; n <= Math.min(R, K); n++) idcg += 1 / Math.log2(n + 1);
    perQuery.push({
      label,
      values: [
        rel[0] ?? 0,
        K > 0 ? rel.slice(0, K).reduce((s: number, x) => s + x, 0) / K : 0,
        rel.slice(0, K).includes(1) ? 1 : 0,
        rel.slice(0, rCut).reduce((s: number, x) => s + x, 0) / rCut,
        apR / rCut,
        hits > 0 ? ap / hits : 0,
        first >= 0 ? 1 / (first + 1) : 0,
        idcg > 0 ? dcg / idcg : 0,
      ],
    });
  });
  const mean = (values: number[][]): number[] =>
    ALL.map((_, c) => (values.length === 0 ? 0 : values.reduce((s, v) => s + (v[c] as number), 0) / values.length));
  let averaged: number[];
  if (options.averaging === 'micro') {
    averaged = mean(perQuery.map(({ values }) => values));
  } else {
    const labels = [...new Set(perQuery.map(({ label }) => label))];
    averaged = mean(labels.map((label) => mean(perQuery.filter((p) => p.label === label).map(({ values }) => values))));
  }
  const out: Record<string, number> = {};
  ALL.forEach((name, c) => (out[name] = averaged[c] as number));
  return Object.assign(out, { evaluated: perQuery.length });
}

function expectMetrics(got: RetrievalResult, want: Record<string, number>, names: RetrievalMetricName[], tolerance: number): void {
  for (const name of names) {
    const value = got[name];
    expect(value, name).toBeDefined();
    expect(Math.abs((value as number) - (want[name] as number)), `${name}: got ${value}, expected ${want[name]}`).toBeLessThanOrEqual(tolerance);
  }
}

async function run(
  query: Rows,
  queryLabels: number[],
  options: Omit<RetrievalOptions, 'query' | 'queryLabels' | 'reference' | 'referenceLabels'> & { reference?: Rows; referenceLabels?: number[] } = {},
): Promise<RetrievalResult> {
  const { reference, referenceLabels, ...rest } = options;
  const tensors = {
    query: tf.tensor2d(query),
    queryLabels: tf.tensor1d(queryLabels, 'int32'),
    ...(reference === undefined ? {} : { reference: tf.tensor2d(reference) }),
    ...(referenceLabels === undefined ? {} : { referenceLabels: tf.tensor1d(referenceLabels, 'int32') }),
  };
  try {
    return await retrievalMetrics({ ...tensors, ...rest });
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

const golden = JSON.parse(readFileSync(new URL('../../../../shared/golden/pytorch-reference.json', import.meta.url), 'utf8')) as {
  input_sets: Record<string, { embeddings: Rows; labels: number[] }>;
  metrics: {
    name: string;
    inputs: { embeddings: string };
    expected: Record<string, number>;
    neighbour_order_incl_self: number[][];
  }[];
};

describe('retrievalMetrics: golden values from PML AccuracyCalculator', () => {
  const cases: [string, RetrievalDistance, 'kernel' | 'tensor'][] = [
    ['accuracy_calculator_l2_unnormalized_self', 'euclidean', 'kernel'],
    ['accuracy_calculator_l2_unnormalized_self', 'euclidean', 'tensor'],
    ['accuracy_calculator_cosine_self', 'cosine', 'kernel'],
    ['accuracy_calculator_cosine_self', 'cosine', 'tensor'],
  ];
  it.each(cases)('%s: every metric to 1e-6 and the neighbour order (engine %s, %s)', async (name, distance, engine) => {
    const testCase = golden.metrics.find((metric) => metric.name === name);
    if (testCase === undefined) throw new Error(`golden case ${name} missing`);
    const set = golden.input_sets[testCase.inputs.embeddings] as { embeddings: Rows; labels: number[] };
    const result = await run(set.embeddings, set.labels, { distance, engine });
    const want = testCase.expected;
    expect(Math.abs((result.precisionAtOne as number) - (want.precision_at_1 as number))).toBeLessThanOrEqual(GOLDEN);
    expect(Math.abs((result.rPrecision as number) - (want.r_precision as number))).toBeLessThanOrEqual(GOLDEN);
    expect(Math.abs((result.meanAveragePrecisionAtR as number) - (want.mean_average_precision_at_r as number))).toBeLessThanOrEqual(GOLDEN);
    expect(Math.abs((result.meanAveragePrecision as number) - (want.mean_average_precision as number))).toBeLessThanOrEqual(GOLDEN);
    expect(Math.abs((result.meanReciprocalRank as number) - (want.mean_reciprocal_rank as number))).toBeLessThanOrEqual(GOLDEN);
    expect(result.k).toBe(39);
    expect(result.evaluatedQueries).toBe(40);

    // Neighbour order: the full ranking, self dropped.
    const query = tf.tensor2d(set.embeddings);
    const order: number[][] = [];
    await searchRanked(query, query, { width: 40, distance, chunkSize: 7 }, (chunk) => {
      for (let row = 0; row < chunk.rows; row++) {
        order.push(Array.from(chunk.indices.subarray(row * chunk.width, (row + 1) * chunk.width)).filter((j) => j !== chunk.start + row));
      }
    });
    query.dispose();
    const expected = testCase.neighbour_order_incl_self.map((row, i) => row.filter((j) => j !== i));
    expect(order).toEqual(expected);
  });
});

describe('retrievalMetrics against a float64 loop reference', () => {
  const rng = new Rng(20240611);
  const selfSet = randomSet(rng, 36, 5, 4);
  const gallery = randomSet(rng, 29, 5, 4);
  const queries = randomSet(rng, 17, 5, 5); // label 4 never occurs in the gallery: dropped

  const grid: [RetrievalDistance, number | 'all' | 'maxBinCount', 'micro' | 'macro', 'kernel' | 'tensor'][] = [];
  for (const distance of ['euclidean', 'cosine', 'dot'] as const) {
    for (const k of [1, 4, 12, 'all', 'maxBinCount'] as const) {
      for (const averaging of ['micro', 'macro'] as const) {
        for (const engine of ['kernel', 'tensor'] as const) grid.push([distance, k, averaging, engine]);
      }
    }
  }

  it.each(grid)('self-retrieval, %s, k = %s, %s, engine %s', async (distance, k, averaging, engine) => {
    const names = typeof k === 'number' ? ALL : ALL.filter((name) => !['precisionAtK', 'recallAtK', 'ndcgAtK'].includes(name));
    const got = await run(selfSet.rows, selfSet.labels, { distance, k, averaging, chunkSize: 5, engine });
    const want = referenceMetrics(selfSet.rows, selfSet.labels, { distance, k, averaging });
    expectMetrics(got, want, names, EXACT);
    expect(got.evaluatedQueries).toBe(want.evaluated);
  });

  it.each(grid)('separate reference, %s, k = %s, %s, engine %s', async (distance, k, averaging, engine) => {
    const names = typeof k === 'number' ? ALL : ALL.filter((name) => !['precisionAtK', 'recallAtK', 'ndcgAtK'].includes(name));
    const got = await run(queries.rows, queries.labels, {
      reference: gallery.rows,
      referenceLabels: gallery.labels,
      distance,
      k,
      averaging,
      engine,
    });
    const want = referenceMetrics(queries.rows, queries.labels, {
      reference: gallery.rows,
      referenceLabels: gallery.labels,
      distance,
      k,
      averaging,
    });
    expectMetrics(got, want, names, EXACT);
    expect(got.evaluatedQueries).toBe(want.evaluated);
    expect(got.droppedQueries).toBe(queries.labels.filter((label) => label === 4).length);
  });

  it('perClass holds the per-label means and macro is their mean', async () => {
    const got = await run(selfSet.rows, selfSet.labels, { k: 6 });
    const macro = await run(selfSet.rows, selfSet.labels, { k: 6, averaging: 'macro' });
    expect(got.perClass.map(({ label }) => label)).toEqual([0, 1, 2, 3]);
    expect(got.perClass.reduce((s, c) => s + c.queries, 0)).toBe(36);
    for (const name of ALL) {
      const meanOfClasses = got.perClass.reduce((s, c) => s + (c.metrics[name] as number), 0) / got.perClass.length;
      expect(Math.abs((macro[name] as number) - meanOfClasses)).toBeLessThanOrEqual(EXACT);
      const weighted = got.perClass.reduce((s, c) => s + (c.metrics[name] as number) * c.queries, 0) / 36;
      expect(Math.abs((got[name] as number) - weighted)).toBeLessThanOrEqual(EXACT);
    }
  });
});

describe('retrievalMetrics: hand-computed cases', () => {
  const line = [[0], [1], [3], [4]];

  it('4 points on a line, classes interleaved (a b a b)', async () => {
    // Rankings (self excluded): 0 -> [1, 2, 3] rel 010; 1 -> [0, 2, 3] rel 001;
    // 2 -> [3, 1, 0] rel 001; 3 -> [2, 1, 0] rel 010. R = 1 for everyone.
    const result = await run(line, [0, 1, 0, 1], { k: 2 });
    const ndcg = 1 / Math.log2(3);
    expect(result.precisionAtOne).toBe(0);
    expect(result.precisionAtK).toBeCloseTo(0.25, 15);
    expect(result.recallAtK).toBeCloseTo(0.5, 15);
    expect(result.rPrecision).toBe(0);
    expect(result.meanAveragePrecisionAtR).toBe(0);
    // k = 2: the hit at rank 3 is outside the list, so MAP and MRR count only 0 and 3.
    expect(result.meanAveragePrecision).toBeCloseTo(0.25, 15);
    expect(result.meanReciprocalRank).toBeCloseTo(0.25, 15);
    expect(result.ndcgAtK).toBeCloseTo(ndcg / 2, 15);
    const all = await run(line, [0, 1, 0, 1]);
    expect(all.meanAveragePrecision).toBeCloseTo(5 / 12, 15);
    expect(all.meanReciprocalRank).toBeCloseTo(5 / 12, 15);
    expect(all.k).toBe(3);
  });

  it('4 points on a line, two separated classes: every metric is 1', async () => {
    const result = await run(line, [0, 0, 1, 1], { k: 1 });
    for (const name of ALL) expect(result[name], name).toBe(1);
  });

  it('ties are ordered by the lower reference index, self skipped', async () => {
    const query = tf.tensor2d([[0], [0], [0], [9]]);
    const rows: number[][] = [];
    await searchRanked(query, query, { width: 4, distance: 'euclidean', chunkSize: 4 }, (chunk) => {
      for (let r = 0; r < chunk.rows; r++) rows.push(Array.from(chunk.indices.subarray(r * 4, r * 4 + 4)));
    });
    expect(rows.slice(0, 3)).toEqual([
      [0, 1, 2, 3],
      [0, 1, 2, 3],
      [0, 1, 2, 3],
    ]);
    query.dispose();
    // Query 1 (label 1) sees [0, 2, 3]: labels 0, 0, 1 -> first hit at rank 3.
    const result = await run([[0], [0], [0], [9]], [0, 1, 0, 1]);
    // Queries: 0 -> [1, 2, 3] rel 010 (MRR 1/2); 1 -> [0, 2, 3] rel 001 (1/3);
    // 2 -> [0, 1, 3] rel 100 (1); 3 -> [0, 1, 2] rel 010 (1/2).
    expect(result.meanReciprocalRank).toBeCloseTo((1 / 2 + 1 / 3 + 1 + 1 / 2) / 4, 15);
  });

  it('k larger than the reference: the list holds every reference, P@K still divides by k', async () => {
    const got = await run([[0], [5]], [0, 1], {
      reference: [[1], [2], [6]],
      referenceLabels: [0, 1, 1],
      k: 10,
    });
    expect(got.k).toBe(3);
    // Query 0: [1, 2, 6] rel 100; query 1: [6, 2, 1] rel 110.
    expect(got.precisionAtK).toBeCloseTo((1 / 10 + 2 / 10) / 2, 15);
    expect(got.recallAtK).toBe(1);
    expect(got.precisionAtOne).toBe(1);
    expect(got.rPrecision).toBe(1);
    expect(got.meanAveragePrecision).toBe(1);
    expect(got.ndcgAtK).toBeCloseTo(1, 15);
    const want = referenceMetrics([[0], [5]], [0, 1], {
      reference: [[1], [2], [6]],
      referenceLabels: [0, 1, 1],
      distance: 'euclidean',
      k: 10,
      averaging: 'micro',
    });
    expectMetrics(got, want, ALL, EXACT);
  });

  it('a class with a single member has no same-label reference: dropped (PML lone-query rule)', async () => {
    const rows = [[0], [1], [2], [10], [20], [21]];
    const labels = [0, 0, 0, 7, 2, 2];
    const got = await run(rows, labels, { averaging: 'macro' });
    expect(got.droppedQueries).toBe(1);
    expect(got.evaluatedQueries).toBe(5);
    expect(got.perClass.map(({ label }) => label)).toEqual([0, 2]);
    for (const name of ['precisionAtOne', 'rPrecision', 'meanAveragePrecisionAtR', 'meanAveragePrecision', 'meanReciprocalRank'] as const) {
      expect(got[name], name).toBe(1);
    }
    // Only lone queries: every metric is 0 and nothing is searched.
    const lone = await run([[0], [1], [2]], [0, 1, 2]);
    expect(lone.evaluatedQueries).toBe(0);
    expect(lone.precisionAtOne).toBe(0);
    expect(lone.meanAveragePrecision).toBe(0);
    const single = await run([[0]], [3]);
    expect(single.droppedQueries).toBe(1);
    expect(single.k).toBe(0);
  });
});

describe('retrievalMetrics: chunks, k choice, metric subsets', () => {
  const rng = new Rng(99);
  const set = randomSet(rng, 53, 6, 5);

  it('results do not depend on chunkSize', async () => {
    const whole = await run(set.rows, set.labels, { k: 9, chunkSize: 53 });
    for (const chunkSize of [1, 4, 52, 1000]) {
      const chunked = await run(set.rows, set.labels, { k: 9, chunkSize });
      expect(chunked).toEqual(whole);
    }
  });

  it("'maxBinCount', 'all' and a metric subset agree on P@1, R-precision and MAP@R", async () => {
    const all = await run(set.rows, set.labels);
    const maxBin = await run(set.rows, set.labels, { k: 'maxBinCount' });
    const subset = await run(set.rows, set.labels, { metrics: ['precisionAtOne', 'meanAveragePrecisionAtR'] });
    for (const name of ['precisionAtOne', 'rPrecision', 'meanAveragePrecisionAtR'] as const) {
      expect(maxBin[name]).toBe(all[name]);
    }
    expect(subset.precisionAtOne).toBe(all.precisionAtOne);
    expect(subset.meanAveragePrecisionAtR).toBe(all.meanAveragePrecisionAtR);
    expect(Object.keys(subset).filter((key) => ALL.includes(key as RetrievalMetricName))).toEqual(['precisionAtOne', 'meanAveragePrecisionAtR']);
    expect(all.k).toBe(52);
    expect(all.precisionAtK).toBeUndefined();
  });

  it('leaves no tensor behind and does not dispose its inputs', async () => {
    const query = tf.tensor2d(set.rows);
    const queryLabels = tf.tensor1d(set.labels, 'int32');
    await expectNoLeak(async () => {
      await retrievalMetrics({ query, queryLabels, k: 5, chunkSize: 7 });
      await retrievalMetrics({ query, queryLabels, distance: 'cosine' });
      await retrievalMetrics({ query, queryLabels, reference: query, referenceLabels: queryLabels, distance: 'dot', k: 3 });
    });
    expect(query.isDisposed).toBe(false);
    expect(queryLabels.isDisposed).toBe(false);
    // Errors after the search started leak nothing either.
    await expectNoLeak(async () => {
      await expect(retrievalMetrics({ query: tf.tensor2d([[Number.NaN]]), queryLabels: tf.tensor1d([0], 'int32') })).rejects.toThrow(/finite/);
    }, 2);
    tf.dispose([query, queryLabels]);
  });
});

describe('retrievalMetrics: errors', () => {
  const query = (): tf.Tensor2D => tf.tensor2d([[0, 1], [1, 0], [1, 1]]);
  const labels = (): tf.Tensor1D => tf.tensor1d([0, 0, 1], 'int32');

  it.each([
    [{ k: 0 }, /Argument 'k' passed to 'retrievalMetrics' must be an integer >= 1, got 0/],
    [{ k: 1.5 }, /Argument 'k' passed to 'retrievalMetrics'/],
    [{ k: 'max' }, /Argument 'k' passed to 'retrievalMetrics' must be one of "all", "maxBinCount"/],
    [{ distance: 'l1' }, /Argument 'distance' passed to 'retrievalMetrics' must be one of/],
    [{ averaging: 'weighted' }, /Argument 'averaging' passed to 'retrievalMetrics'/],
    [{ metrics: [] }, /Argument 'metrics' passed to 'retrievalMetrics' must be a non-empty array/],
    [{ metrics: ['mapAtR'] }, /Argument 'metrics' passed to 'retrievalMetrics' must be one of/],
    [{ metrics: ['precisionAtK'] }, /Argument 'k' passed to 'retrievalMetrics' must be an integer >= 1 when 'precisionAtK' is requested, got "all"/],
    [{ chunkSize: 0 }, /Argument 'chunkSize' passed to 'retrievalMetrics'/],
    [{ engine: 'gpu' }, /Argument 'engine' passed to 'retrievalMetrics' must be one of "auto", "kernel", "tensor", "ann"/],
    [{ threads: 0 }, /Argument 'threads' passed to 'retrievalMetrics' must be an integer >= 1, got 0/],
    [{ threads: 2.5 }, /Argument 'threads' passed to 'retrievalMetrics'/],
  ])('rejects options %j', async (options, message) => {
    const q = query();
    const l = labels();
    await expect(retrievalMetrics({ query: q, queryLabels: l, ...(options as object) })).rejects.toThrow(message);
    tf.dispose([q, l]);
  });

  it('rejects bad tensors', async () => {
    const q = query();
    const l = labels();
    const cases: [Partial<RetrievalOptions>, RegExp][] = [
      [{ query: tf.tensor1d([1, 2]) as unknown as tf.Tensor2D }, /Argument 'query' passed to 'retrievalMetrics' must be rank 2/],
      [{ query: tf.tensor2d([[1, 2]], [1, 2], 'int32') }, /Argument 'query' passed to 'retrievalMetrics' must have dtype float32/],
      [{ queryLabels: tf.tensor1d([0, 1], 'int32') }, /Argument 'queryLabels' passed to 'retrievalMetrics' must have 3 entries/],
      [{ queryLabels: tf.tensor1d([0, 1, 1], 'float32') }, /Argument 'queryLabels' passed to 'retrievalMetrics' must have dtype int32/],
      [{ reference: tf.tensor2d([[1, 2, 3]]), referenceLabels: tf.tensor1d([0], 'int32') }, /Argument 'reference' passed to 'retrievalMetrics' must have 2 columns/],
      [{ reference: tf.tensor2d([[1, 2]]) }, /Argument 'referenceLabels' passed to 'retrievalMetrics' is required with 'reference'/],
      [{ referenceLabels: tf.tensor1d([0], 'int32') }, /Argument 'referenceLabels' passed to 'retrievalMetrics' must come with 'reference'/],
      [{ reference: tf.tensor2d([[1, 2]]), referenceLabels: tf.tensor1d([0, 1], 'int32') }, /Argument 'referenceLabels' passed to 'retrievalMetrics' must have 1 entries/],
      [{ query: tf.tensor2d([], [0, 2]) }, /Argument 'query' passed to 'retrievalMetrics' must have at least 1 row/],
      [{ reference: tf.tensor2d([[1, Infinity]]), referenceLabels: tf.tensor1d([0], 'int32') }, /Argument 'reference' passed to 'retrievalMetrics' must hold finite values/],
    ];
    for (const [override, message] of cases) {
      await expect(retrievalMetrics({ query: q, queryLabels: l, ...override } as RetrievalOptions)).rejects.toThrow(message);
      tf.dispose(Object.values(override) as tf.Tensor[]);
    }
    await expect(retrievalMetrics(null as unknown as RetrievalOptions)).rejects.toThrow(/Argument 'options' passed to 'retrievalMetrics' must be an object/);
    tf.dispose([q, l]);
  });
});
