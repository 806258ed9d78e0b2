import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { kMeans } from './kmeans.js';
import type { KMeansOptions } from './kmeans.js';
import { Rng } from './rng.js';
import { expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend } from './testing/index.js';

beforeAll(async () => {
  await useTestBackend();
});

type Metric = 'euclidean' | 'cosine';

// ---------------------------------------------------------------- plain-JS float64 references

/** Adjusted Rand index (Hubert & Arabie 1985) from the contingency table of two labelings. */
function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const table = new Map<string, number>();
  const rows = new Map<number, number>();
  const columns = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    table.set(`${x},${y}`, (table.get(`${x},${y}`) ?? 0) + 1);
    rows.set(x, (rows.get(x) ?? 0) + 1);
    columns.set(y, (columns.get(y) ?? 0) + 1);
  }
  const pairs = (m: number): number => (m * (m - 1)) / 2;
  let index = 0;
  for (const count of table.values()) index += pairs(count);
  let rowPairs = 0;
  for (const count of rows.values()) rowPairs += pairs(count);
  let columnPairs = 0;
  for (const count of columns.values()) columnPairs += pairs(count);
  const expected = (rowPairs * columnPairs) / pairs(n);
  const maximum = (rowPairs + columnPairs) / 2;
  return maximum === expected ? 1 : (index - expected) / (maximum - expected);
}

function squaredDistance(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let t = 0; t < a.length; t++) sum += ((a[t] as number) - (b[t] as number)) ** 2;
  return sum;
}

function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let t = 0; t < a.length; t++) sum += (a[t] as number) * (b[t] as number);
  return sum;
}

function unit(a: readonly number[]): number[] {
  const norm = Math.sqrt(dot(a, a));
  return a.map((value) => value / norm);
}

/** Cost of a point under a centroid: squared distance, or 1 − cosine of unit vectors. */
function cost(point: readonly number[], centroid: readonly number[], metric: Metric): number {
  return metric === 'euclidean' ? squaredDistance(point, centroid) : 1 - dot(point, centroid);
}

/**
 * Lloyd's k-means in float64, written as obvious loops: assign every point to its nearest centroid
 * (ties to the lower index), then move each centroid to the mean of its points (cosine: their
 * normalised sum); an empty cluster takes the point of largest cost (ties to the lower index) from
 * a cluster of at least two points. Stops when the assignments repeat.
 */
function referenceLloyd(
  input: number[][],
  initial: number[][],
  metric: Metric,
  maxIterations: number,
): { centroids: number[][]; assignments: number[]; inertia: number; iterations: number } {
  const points = metric === 'cosine' ? input.map(unit) : input;
  let centroids = metric === 'cosine' ? initial.map(unit) : initial.map((row) => [...row]);
  const k = centroids.length;
  const nearest = (): number[] =>
    points.map((point) => {
      let best = 0;
      for (let c = 1; c < k; c++) {
        if (cost(point, centroids[c] as number[], metric) < cost(point, centroids[best] as number[], metric)) best = c;
      }
      return best;
    });
  let assignments = nearest();
  let iterations = 0;
  while (iterations < maxIterations) {
    const costs = points.map((point, i) => cost(point, centroids[assignments[i] as number] as number[], metric));
    const members: number[][] = Array.from({ length: k }, () => []);
    points.forEach((_, i) => (members[assignments[i] as number] as number[]).push(i));
    const byCost = points.map((_, i) => i).sort((a, b) => (costs[b] as number) - (costs[a] as number) || a - b);
    const moved = new Set<number>();
    for (let c = 0; c < k; c++) {
      if ((members[c] as number[]).length > 0) continue;
      const donor = byCost.find((i) => !moved.has(i) && (members[assignments[i] as number] as number[]).length >= 2);
      if (donor === undefined) throw new Error('no donor');
      moved.add(donor);
      const from = members[assignments[donor] as number] as number[];
      from.splice(from.indexOf(donor), 1);
      members[c] = [donor];
    }
    centroids = members.map((list, c) => {
      if (list.length === 0) return centroids[c] as number[];
      const total = (points[0] as number[]).map((_, t) => list.reduce((s, i) => s + ((points[i] as number[])[t] as number), 0));
      if (metric === 'cosine') return dot(total, total) > 0 ? unit(total) : (centroids[c] as number[]);
      return total.map((value) => value / list.length);
    });
    const next = nearest();
    iterations++;
    const same = next.every((value, i) => value === assignments[i]);
    assignments = next;
    if (same) break;
  }
  const inertia = points.reduce((s, point, i) => s + cost(point, centroids[assignments[i] as number] as number[], metric), 0);
  return { centroids, assignments, inertia, iterations };
}

/** A seeded mixture of isotropic Gaussians: `clusters` centres ~ N(0, spread²), points around them. */
function mixture(seed: number, clusters: number, perCluster: number, d: number, spread: number, noise: number): { points: number[][]; labels: number[] } {
  const rng = new Rng(seed);
  const centres = Array.from({ length: clusters }, () => Array.from({ length: d }, () => rng.normal(0, spread)));
  const points: number[][] = [];
  const labels: number[] = [];
  for (const index of rng.permutation(clusters * perCluster)) {
    const label = index % clusters;
    points.push((centres[label] as number[]).map((value) => value + rng.normal(0, noise)));
    labels.push(label);
  }
  return { points, labels };
}

/** Run kMeans, read the results, dispose the tensors. */
function run(points: number[][], options: KMeansOptions): { centroids: number[][]; assignments: number[]; inertia: number; iterations: number; converged: boolean } {
  const x = tf.tensor2d(points);
  try {
    const result = kMeans(x, options);
    try {
      expect(result.centroids.dtype).toBe('float32');
      expect(result.centroids.shape).toEqual([options.k, points[0]?.length]);
      expect(result.assignments.dtype).toBe('int32');
      expect(result.assignments.shape).toEqual([points.length]);
      return {
        centroids: result.centroids.arraySync(),
        assignments: Array.from(result.assignments.dataSync()),
        inertia: result.inertia,
        iterations: result.iterations,
        converged: result.converged,
      };
    } finally {
      tf.dispose([result.centroids, result.assignments]);
    }
  } finally {
    x.dispose();
  }
}

/** The inertia of `assignments` under `centroids`, in float64, and whether each point is assigned to its nearest centroid. */
function check(points: number[][], result: { centroids: number[][]; assignments: number[]; inertia: number }, metric: Metric): void {
  const prepared = metric === 'cosine' ? points.map(unit) : points;
  let inertia = 0;
  prepared.forEach((point, i) => {
    const own = cost(point, result.centroids[result.assignments[i] as number] as number[], metric);
    inertia += own;
    for (const centroid of result.centroids) expect(own).toBeLessThanOrEqual(cost(point, centroid, metric) + 1e-5 * (1 + Math.abs(own)));
  });
  expect(result.inertia).toBeCloseTo(inertia, 3);
}

// ---------------------------------------------------------------- tests

describe('kMeans', () => {
  it('recovers planted Euclidean clusters (ARI > 0.95) and assigns every point to its nearest centroid', () => {
    // Well separated (centres ~ N(0, 10²), noise 0.5): k-means++ then covers every cluster with
    // high probability (a seed that does not leaves a local minimum, as for any Lloyd run).
    const { points, labels } = mixture(1, 6, 40, 8, 10, 0.5);
    const result = run(points, { k: 6, rng: new Rng(3) });
    expect(adjustedRandIndex(labels, result.assignments)).toBeGreaterThan(0.95);
    expect(result.converged).toBe(true);
    check(points, result, 'euclidean');
  });

  it('recovers planted directions with metric cosine (ARI > 0.95), whatever the row norms, with unit centroids', () => {
    const { points: raw, labels } = mixture(2, 5, 40, 16, 1, 0.12);
    const scales = new Rng(9);
    // Directions around unit centres, each row scaled by a random positive norm.
    const points = raw.map((row) => {
      const scale = scales.uniform(0.2, 5);
      return row.map((value) => value * scale);
    });
    const result = run(points, { k: 5, metric: 'cosine', rng: new Rng(4) });
    expect(adjustedRandIndex(labels, result.assignments)).toBeGreaterThan(0.95);
    for (const centroid of result.centroids) expect(Math.sqrt(dot(centroid, centroid))).toBeCloseTo(1, 5);
    check(points, result, 'cosine');
    // The same clustering with k-means++ on the Euclidean metric would be fooled by the norms.
    expect(adjustedRandIndex(labels, run(points, { k: 5, rng: new Rng(4) }).assignments)).toBeLessThan(0.95);
  });

  it.each(['euclidean', 'cosine'] as const)('equals a float64 Lloyd reference from the same initial centroids (%s)', (metric) => {
    const { points } = mixture(5, 4, 60, 5, 1.2, 1);
    const initial = points.slice(0, 4);
    const init = tf.tensor2d(initial);
    try {
      const result = run(points, { k: 4, metric, initialCentroids: init, tolerance: 0 });
      const reference = referenceLloyd(points, initial, metric, 100);
      expect(reference.iterations).toBeGreaterThan(2);
      expect(result.iterations).toBe(reference.iterations);
      expect(result.converged).toBe(true);
      expect(result.assignments).toEqual(reference.assignments);
      expectTensorClose(tf.tensor2d(result.centroids), reference.centroids, { atol: 1e-5, rtol: 0 });
      expect(result.inertia).toBeCloseTo(reference.inertia, 4);
    } finally {
      init.dispose();
    }
  });

  it('matches the reference after every number of iterations (maxIterations 0 .. 3)', () => {
    const { points } = mixture(6, 3, 30, 3, 1, 1);
    const initial = [points[0], points[1], points[2]] as number[][];
    const init = tf.tensor2d(initial);
    try {
      for (let iterations = 0; iterations <= 3; iterations++) {
        const result = run(points, { k: 3, initialCentroids: init, maxIterations: iterations, tolerance: 0 });
        const reference = referenceLloyd(points, initial, 'euclidean', iterations);
        expect(result.iterations).toBe(Math.min(iterations, reference.iterations));
        expect(result.assignments).toEqual(reference.assignments);
        expectTensorClose(tf.tensor2d(result.centroids), reference.centroids, { atol: 1e-5, rtol: 0 });
      }
    } finally {
      init.dispose();
    }
  });

  it('k = 1: the centroid is the mean (cosine: the normalised mean direction)', () => {
    const points = [
      [1, 2, 0],
      [3, -1, 2],
      [0.5, 0.5, 4],
      [-2, 1, 1],
    ];
    const euclidean = run(points, { k: 1 });
    const mean = [0, 1, 2].map((t) => points.reduce((s, row) => s + (row[t] as number), 0) / points.length);
    expectTensorClose(tf.tensor2d(euclidean.centroids), [mean]);
    expect(euclidean.assignments).toEqual([0, 0, 0, 0]);
    expect(euclidean.inertia).toBeCloseTo(points.reduce((s, row) => s + squaredDistance(row, mean), 0), 4);
    expect(euclidean.converged).toBe(true);
    const cosine = run(points, { k: 1, metric: 'cosine' });
    const direction = unit([0, 1, 2].map((t) => points.map(unit).reduce((s, row) => s + (row[t] as number), 0)));
    expectTensorClose(tf.tensor2d(cosine.centroids), [direction]);
    expect(cosine.inertia).toBeCloseTo(points.map(unit).reduce((s, row) => s + 1 - dot(row, direction), 0), 5);
  });

  it('k = n: every point is its own centroid, inertia 0', () => {
    const { points } = mixture(7, 3, 4, 4, 2, 1);
    for (const init of ['k-means++', 'random'] as const) {
      const result = run(points, { k: points.length, init, rng: new Rng(1) });
      expect(new Set(result.assignments).size).toBe(points.length);
      points.forEach((point, i) => expectTensorClose(tf.tensor1d(result.centroids[result.assignments[i] as number] as number[]), point));
      expect(result.inertia).toBe(0);
      expect(result.converged).toBe(true);
    }
    // k > 128: the seeding's batched D² updates on the device (every 128 centres) keep picking
    // points not chosen yet until every point is a centre.
    const many = mixture(14, 1, 300, 3, 1, 1).points;
    const all = run(many, { k: many.length, maxIterations: 0, rng: new Rng(3) });
    expect(all.inertia).toBe(0);
    expect(new Set(all.centroids.map((row) => row.join(','))).size).toBe(many.length);
  });

  it('duplicate points: k = distinct values groups them exactly; a larger k leaves finite, empty clusters', () => {
    const values = [
      [1, 1],
      [5, -2],
      [-3, 4],
    ];
    const points = [0, 1, 2, 0, 1, 2, 2, 1, 0, 0, 1, 2].map((i) => values[i] as number[]);
    for (const metric of ['euclidean', 'cosine'] as const) {
      const exact = run(points, { k: 3, metric, rng: new Rng(2) });
      expect(exact.inertia).toBeCloseTo(0, 6);
      expect(adjustedRandIndex(exact.assignments, [0, 1, 2, 0, 1, 2, 2, 1, 0, 0, 1, 2])).toBe(1);
      const extra = run(points, { k: 5, metric, rng: new Rng(2) });
      expect(extra.inertia).toBeCloseTo(0, 6);
      expect(extra.converged).toBe(true);
      expect(new Set(extra.assignments).size).toBe(3);
      for (const row of extra.centroids) for (const value of row) expect(Number.isFinite(value)).toBe(true);
      expect(run(points, { k: 5, metric, rng: new Rng(2) })).toEqual(extra);
    }
  });

  it('re-seeds an empty cluster with the point farthest from its centroid (hand-computed)', () => {
    // All points start in cluster 0 (centroid 1); cluster 1 (centroid 100) is empty and takes the
    // farthest point, 10 (cost 81), which leaves cluster 0 = {0, 1, 2} with mean 1.
    const init = tf.tensor2d([[1], [100]]);
    const result = run([[0], [1], [2], [10]], { k: 2, initialCentroids: init });
    expect(result.centroids).toEqual([[1], [10]]);
    expect(result.assignments).toEqual([0, 0, 0, 1]);
    expect(result.inertia).toBe(2);
    expect(result.iterations).toBe(2);
    expect(result.converged).toBe(true);
    // Two empty clusters take the two farthest points in turn: 20 (cost 361), then 10 (cost 81).
    const three = tf.tensor2d([[1], [100], [200]]);
    const twice = run([[0], [1], [2], [10], [20]], { k: 3, initialCentroids: three });
    expect(twice.centroids).toEqual([[1], [20], [10]]);
    expect(twice.assignments).toEqual([0, 0, 0, 2, 1]);
    tf.dispose([init, three]);
  });

  it('k-means++: first centre rng.int(n), second the first point whose running D² sum exceeds rng.uniform() · sum (hand-computed)', () => {
    const x = [0, 1, 3, 7, 12];
    for (let seed = 0; seed < 40; seed++) {
      const rng = new Rng(seed);
      const replay = rng.clone();
      const first = replay.int(x.length);
      const weights = x.map((value) => (value - (x[first] as number)) ** 2);
      const threshold = replay.uniform() * weights.reduce((s, w) => s + w, 0);
      let running = 0;
      const second = weights.findIndex((w) => (running += w) > threshold);
      const result = run(
        x.map((value) => [value]),
        { k: 2, maxIterations: 0, rng },
      );
      expect(result.centroids).toEqual([[x[first]], [x[second]]]);
      expect(rng.state()).toEqual(replay.state());
    }
  });

  it('k-means++: ordered draws of three centres follow first uniform, then ∝ D² (chi-square over 2,000 runs)', () => {
    const x = [0, 1, 3, 7, 12];
    const n = x.length;
    // Exact probability of each ordered triple (i, j, l).
    const probability = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const d1 = x.map((value) => (value - (x[i] as number)) ** 2);
      const s1 = d1.reduce((s, w) => s + w, 0);
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const d2 = x.map((value, t) => Math.min(d1[t] as number, (value - (x[j] as number)) ** 2));
        const s2 = d2.reduce((s, w) => s + w, 0);
        for (let l = 0; l < n; l++) {
          if (l === i || l === j) continue;
          probability.set(`${i},${j},${l}`, (1 / n) * ((d1[j] as number) / s1) * ((d2[l] as number) / s2));
        }
      }
    }
    const runs = 2000;
    const observed = new Map<string, number>();
    const firstCounts = new Array<number>(n).fill(0);
    const points = tf.tensor2d(x.map((value) => [value]));
    const rng = new Rng(11);
    for (let r = 0; r < runs; r++) {
      const result = kMeans(points, { k: 3, maxIterations: 0, rng });
      const rows = result.centroids.dataSync();
      tf.dispose([result.centroids, result.assignments]);
      const key = Array.from(rows, (value) => x.indexOf(value)).join(',');
      observed.set(key, (observed.get(key) ?? 0) + 1);
      const first = x.indexOf(rows[0] as number);
      firstCounts[first] = (firstCounts[first] as number) + 1;
    }
    points.dispose();
    for (const key of observed.keys()) expect(probability.has(key)).toBe(true);
    // Chi-square over cells with an expected count >= 5 (the rest pooled).
    let statistic = 0;
    let cells = 0;
    let pooledExpected = 0;
    let pooledObserved = 0;
    for (const [key, p] of probability) {
      const expected = p * runs;
      const count = observed.get(key) ?? 0;
      if (expected >= 5) {
        statistic += (count - expected) ** 2 / expected;
        cells++;
      } else {
        pooledExpected += expected;
        pooledObserved += count;
      }
    }
    if (pooledExpected > 0) {
      statistic += (pooledObserved - pooledExpected) ** 2 / pooledExpected;
      cells++;
    }
    // The 0.999 quantile of chi-square with df = cells - 1 is below df + 4.5 sqrt(2 df) for df in 10..60.
    const df = cells - 1;
    expect(df).toBeGreaterThanOrEqual(10);
    expect(statistic).toBeLessThan(df + 4.5 * Math.sqrt(2 * df));
    for (const count of firstCounts) expect(Math.abs(count - runs / n)).toBeLessThan(4 * Math.sqrt((runs * (1 / n) * (1 - 1 / n))));
  });

  it("init 'random' draws k distinct points with rng.choice", () => {
    const { points } = mixture(8, 3, 5, 2, 3, 1);
    const rng = new Rng(5);
    const seeds = rng.clone().choice(points.length, 4);
    const result = run(points, { k: 4, init: 'random', maxIterations: 0, rng });
    expect(result.centroids).toEqual(Array.from(seeds, (i) => (points[i] as number[]).map(Math.fround)));
    expect(result.iterations).toBe(0);
    expect(result.converged).toBe(false);
  });

  it('is deterministic for a given rng state, advances the rng, and does not touch it with initialCentroids', () => {
    const { points } = mixture(9, 5, 20, 4, 1.5, 1);
    const a = run(points, { k: 5, rng: new Rng(21) });
    const b = run(points, { k: 5, rng: new Rng(21) });
    expect(a).toEqual(b);
    expect(run(points, { k: 5 })).toEqual(run(points, { k: 5, rng: new Rng(0) }));
    const rng = new Rng(21);
    const before = rng.state();
    run(points, { k: 5, rng });
    expect(rng.state()).not.toEqual(before);
    const init = tf.tensor2d(points.slice(0, 5));
    const untouched = new Rng(21);
    run(points, { k: 5, rng: untouched, initialCentroids: init });
    expect(untouched.state()).toEqual(before);
    init.dispose();
  });

  it('gives the same result for any chunkRows', () => {
    const { points } = mixture(10, 4, 25, 6, 1, 1);
    const reference = run(points, { k: 4, rng: new Rng(1) });
    for (const chunkRows of [1, 7, 33, 1000]) expect(run(points, { k: 4, rng: new Rng(1), chunkRows })).toEqual(reference);
  });

  it('stops on the tolerance and reports every iteration with a non-increasing inertia', () => {
    const { points } = mixture(12, 6, 30, 4, 1, 1.5);
    const initial = tf.tensor2d(points.slice(0, 6));
    const events: { iteration: number; inertia: number }[] = [];
    const x = tf.tensor2d(points);
    const result = kMeans(x, { k: 6, initialCentroids: initial, tolerance: 0, onIteration: (event) => events.push(event) });
    expect(events.map((event) => event.iteration)).toEqual(Array.from({ length: result.iterations + 1 }, (_, i) => i));
    for (let i = 1; i < events.length; i++) expect((events[i] as { inertia: number }).inertia).toBeLessThanOrEqual((events[i - 1] as { inertia: number }).inertia);
    expect(events[events.length - 1]?.inertia).toBe(result.inertia);
    // A loose tolerance stops at the first iteration whose relative decrease is below it.
    const loose = kMeans(x, { k: 6, initialCentroids: initial, tolerance: 0.05 });
    const stop = events.findIndex((event, i) => i > 0 && (events[i - 1] as { inertia: number }).inertia - event.inertia <= 0.05 * (events[i - 1] as { inertia: number }).inertia);
    expect(loose.iterations).toBe(stop);
    expect(loose.iterations).toBeLessThan(result.iterations);
    expect(loose.converged).toBe(true);
    tf.dispose([x, initial, result.centroids, result.assignments, loose.centroids, loose.assignments]);
  });

  it('leaves no tensor behind, also when it throws', async () => {
    const { points } = mixture(13, 3, 20, 4, 2, 1);
    const x = tf.tensor2d(points);
    const init = tf.tensor2d(points.slice(0, 3));
    await expectNoLeak(() => {
      for (const metric of ['euclidean', 'cosine'] as const) {
        for (const options of [{ k: 3 }, { k: 3, init: 'random' as const }, { k: 3, initialCentroids: init }]) {
          const result = kMeans(x, { ...options, metric, chunkRows: 16 });
          tf.dispose([result.centroids, result.assignments]);
        }
      }
    });
    const bad = tf.tensor2d([[1, 2], [Number.NaN, 0]]);
    await expectNoLeak(() => expect(() => kMeans(bad, { k: 1 })).toThrow());
    tf.dispose([x, init, bad]);
  });

  it('rejects bad arguments with a ContrastiveError naming them', () => {
    const x = tf.tensor2d([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    const wrongInit = tf.tensor2d([[0, 1, 2]]);
    const nanInit = tf.tensor2d([[0, Number.NaN]]);
    const zeroInit = tf.tensor2d([[0, 0]]);
    const nan = tf.tensor2d([[0, 1], [Number.NaN, 2]]);
    const infinite = tf.tensor2d([[0, 1], [Number.POSITIVE_INFINITY, 2]]);
    const huge = tf.tensor2d([[0, 1], [1e20, 2]]);
    const zeroRow = tf.tensor2d([[0, 1], [0, 0]]);
    const ints = tf.tensor2d([[0, 1]], [1, 2], 'int32');
    const vector = tf.tensor1d([0, 1]);
    const disposed = tf.tensor2d([[0, 1]]);
    disposed.dispose();
    try {
      expectContrastiveError(() => kMeans(x, { k: 4 }), 'INVALID_ARGUMENT', /'k' passed to 'kMeans' must be an integer >= 1 and <= 3, got 4/);
      expectContrastiveError(() => kMeans(x, { k: 1.5 }), 'INVALID_ARGUMENT', /'k'.*integer.*got 1\.5/);
      expectContrastiveError(() => kMeans(x, { k: 0 }), 'INVALID_ARGUMENT', /'k'.*got 0/);
      expectContrastiveError(() => kMeans(x, { k: Number.NaN }), 'INVALID_ARGUMENT', /'k'.*got NaN/);
      expectContrastiveError(() => kMeans(x, undefined as unknown as KMeansOptions), 'INVALID_ARGUMENT', /'options' passed to 'kMeans'/);
      expectContrastiveError(() => kMeans(x, { k: 2, metric: 'manhattan' as 'cosine' }), 'INVALID_ARGUMENT', /'metric'.*"euclidean", "cosine".*"manhattan"/);
      expectContrastiveError(() => kMeans(x, { k: 2, maxIterations: -1 }), 'INVALID_ARGUMENT', /'maxIterations'.*>= 0/);
      expectContrastiveError(() => kMeans(x, { k: 2, maxIterations: 2.5 }), 'INVALID_ARGUMENT', /'maxIterations'.*integer/);
      expectContrastiveError(() => kMeans(x, { k: 2, tolerance: -1e-3 }), 'INVALID_ARGUMENT', /'tolerance'.*>= 0/);
      expectContrastiveError(() => kMeans(x, { k: 2, tolerance: Number.NaN }), 'INVALID_ARGUMENT', /'tolerance'.*got NaN/);
      expectContrastiveError(() => kMeans(x, { k: 2, init: 'kmeans' as 'random' }), 'INVALID_ARGUMENT', /'init'.*"k-means\+\+", "random"/);
      expectContrastiveError(() => kMeans(x, { k: 2, rng: { uniform: () => 0.5 } as unknown as Rng }), 'INVALID_ARGUMENT', /'rng' passed to 'kMeans' must be an Rng/);
      expectContrastiveError(() => kMeans(x, { k: 2, chunkRows: 0 }), 'INVALID_ARGUMENT', /'chunkRows'.*>= 1/);
      expectContrastiveError(() => kMeans(x, { k: 2, onIteration: 3 as unknown as () => void }), 'INVALID_ARGUMENT', /'onIteration'.*function/);
      expectContrastiveError(() => kMeans(x, { k: 2, initialCentroids: wrongInit }), 'SHAPE_MISMATCH', /'initialCentroids'.*\[2, 2\].*got \[1, 3\]/);
      expectContrastiveError(() => kMeans(x, { k: 1, initialCentroids: nanInit }), 'NON_FINITE', /'initialCentroids'.*NaN or Infinity in row 0/);
      expectContrastiveError(() => kMeans(x, { k: 1, metric: 'cosine', initialCentroids: zeroInit }), 'INVALID_ARGUMENT', /'initialCentroids'.*non-zero rows.*cosine/);
      expectContrastiveError(() => kMeans(nan, { k: 1 }), 'NON_FINITE', /'points' passed to 'kMeans' must be finite, got NaN or Infinity in row 1/);
      expectContrastiveError(() => kMeans(nan, { k: 1, metric: 'cosine' }), 'NON_FINITE', /'points'.*row 1/);
      expectContrastiveError(() => kMeans(infinite, { k: 2 }), 'NON_FINITE', /'points'.*NaN or Infinity in row 1/);
      expectContrastiveError(() => kMeans(huge, { k: 2 }), 'NON_FINITE', /'points'.*squared row norms <= 1e\+37.*row 1/);
      expectContrastiveError(() => kMeans(zeroRow, { k: 1, metric: 'cosine' }), 'INVALID_ARGUMENT', /'points'.*non-zero rows.*zero row at 1/);
      expectContrastiveError(() => kMeans(ints as tf.Tensor2D, { k: 1 }), 'DTYPE_MISMATCH', /'points'.*float32, got int32/);
      expectContrastiveError(() => kMeans(vector as unknown as tf.Tensor2D, { k: 1 }), 'SHAPE_MISMATCH', /'points'.*rank 2, got rank 1/);
      expectContrastiveError(() => kMeans(disposed, { k: 1 }), 'DISPOSED', /'points'.*disposed/);
    } finally {
      tf.dispose([x, wrongInit, nanInit, zeroInit, nan, infinite, huge, zeroRow, ints, vector]);
    }
  });
});
