import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, kMeans, l2Normalize } from '@contrastive/core';
import { expectContrastiveError, expectNoLeak, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import { protoNceLoss } from '@contrastive/losses';
import { PrototypeBank, pclConcentration, pclConcentrationDetails } from './prototypes.js';

beforeAll(async () => {
  await useTestBackend();
});

type Rows = number[][];

interface PclGolden {
  readonly inputs: { readonly assignments: number[] };
  readonly params: { readonly alpha: number; readonly temperature: number; readonly percentile_clip: [number, number] };
  readonly expected: {
    readonly phi_raw: number[];
    readonly phi_after_clip: number[];
    readonly phi_final: number[];
    readonly sq_dist_to_centroid: number[];
  };
}

const golden = JSON.parse(readFileSync(new URL('../../../../shared/golden/pytorch-reference.json', import.meta.url), 'utf8')) as {
  input_sets: Record<string, { embeddings: Rows }>;
  cases: (PclGolden & { name: string })[];
};

// ---------------------------------------------------------------------------------------------
// float64 reference: PCL main_pcl.py run_kmeans `density`, as obvious loops
// ---------------------------------------------------------------------------------------------

function unit(row: number[]): number[] {
  const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
  return row.map((v) => v / Math.max(norm, 1e-12));
}

function clusterMeans(rows: Rows, assignments: number[], k: number): Rows {
  const d = (rows[0] as number[]).length;
  const sums = Array.from({ length: k }, () => new Array<number>(d).fill(0));
  const counts = new Array<number>(k).fill(0);
  rows.forEach((row, i) => {
    const c = assignments[i] as number;
    counts[c] = (counts[c] as number) + 1;
    row.forEach((v, j) => ((sums[c] as number[])[j] = ((sums[c] as number[])[j] as number) + v));
  });
  return sums.map((sum, c) => sum.map((v) => v / Math.max(counts[c] as number, 1)));
}

/** numpy.percentile(values, p) with the default linear method: sort, index p/100·(n−1), interpolate. */
function numpyPercentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(index);
  const hi = Math.ceil(index);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (index - lo);
}

function referenceConcentration(
  rows: Rows,
  assignments: number[],
  centroids: Rows,
  alpha = 10,
  temperature = 0.2,
  clip: [number, number] = [10, 90],
): { raw: number[]; clipped: number[]; final: number[]; squared: number[] } {
  const k = centroids.length;
  const distances: number[][] = Array.from({ length: k }, () => []);
  const squared = rows.map((row, i) => {
    const c = centroids[assignments[i] as number] as number[];
    let sum = 0;
    for (let j = 0; j < row.length; j++) sum += ((row[j] as number) - (c[j] as number)) ** 2;
    (distances[assignments[i] as number] as number[]).push(Math.sqrt(sum));
    return sum;
  });
  const raw = new Array<number>(k).fill(0);
  distances.forEach((list, c) => {
    if (list.length > 1) raw[c] = list.reduce((s, v) => s + v, 0) / list.length / Math.log(list.length + alpha);
  });
  const dmax = Math.max(...raw);
  distances.forEach((list, c) => {
    if (list.length <= 1) raw[c] = dmax;
  });
  const low = numpyPercentile(raw, clip[0]);
  const high = numpyPercentile(raw, clip[1]);
  const clipped = raw.map((v) => Math.min(Math.max(v, low), high));
  const mean = clipped.reduce((s, v) => s + v, 0) / k;
  return { raw, clipped, final: clipped.map((v) => (temperature * v) / mean), squared };
}

function expectArrayClose(actual: ArrayLike<number>, expected: readonly number[], atol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs((actual[i] as number) - (expected[i] as number))).toBeLessThanOrEqual(atol);
}

function randomRows(rng: Rng, n: number, d: number): Rows {
  return Array.from({ length: n }, () => unit(Array.from({ length: d }, () => rng.normal())));
}

describe('pclConcentration', () => {
  it('matches the golden case pcl_concentration_estimate (PCL run_kmeans) within 1e-6', () => {
    const c = golden.cases.find((item) => item.name === 'pcl_concentration_estimate');
    if (c === undefined) throw new Error('golden case pcl_concentration_estimate is missing');
    const rows = (golden.input_sets['s16x8'] as { embeddings: Rows }).embeddings.map(unit);
    const assignmentList = c.inputs.assignments;
    const centroidRows = clusterMeans(rows, assignmentList, 4);
    const features = tf.tensor2d(rows);
    const assignments = tf.tensor1d(assignmentList, 'int32');
    const centroids = tf.tensor2d(centroidRows);
    const options = { alpha: c.params.alpha, temperature: c.params.temperature, percentileClip: c.params.percentile_clip };
    const details = pclConcentrationDetails(features, assignments, centroids, options);
    expectArrayClose(details.squaredDistances, c.expected.sq_dist_to_centroid, 1e-6);
    expectArrayClose(details.rawConcentrations, c.expected.phi_raw, 1e-6);
    expectArrayClose(details.clippedConcentrations, c.expected.phi_after_clip, 1e-6);
    expectArrayClose(details.concentrations.dataSync(), c.expected.phi_final, 1e-6);
    expect([...details.clusterSizes]).toEqual([5, 6, 4, 1]);
    // The defaults are PCL's: α 10, T 0.2, clip [10, 90].
    const phi = pclConcentration(features, assignments, centroids);
    expect(phi.shape).toEqual([4]);
    expect(phi.dtype).toBe('float32');
    expectArrayClose(phi.dataSync(), c.expected.phi_final, 1e-6);
    tf.dispose([features, assignments, centroids, details.concentrations, phi]);
  });

  it.each([
    { n: 40, d: 6, k: 5, alpha: 10, temperature: 0.2, clip: [10, 90] as [number, number] },
    { n: 64, d: 3, k: 9, alpha: 2, temperature: 0.1, clip: [25, 75] as [number, number] },
    { n: 30, d: 8, k: 12, alpha: 0, temperature: 1, clip: [0, 100] as [number, number] },
    { n: 10, d: 4, k: 2, alpha: 10, temperature: 0.2, clip: [10, 90] as [number, number] },
  ])('equals the float64 reference (N $n, d $d, K $k, α $alpha, T $temperature, clip $clip)', ({ n, d, k, alpha, temperature, clip }) => {
    const rng = new Rng(n * 31 + k);
    const rows = randomRows(rng, n, d);
    // Random assignments with some singletons; centroids deliberately not the exact means.
    const assignmentList = rows.map((_, i) => (i < k ? i : rng.int(Math.max(1, k - 1))));
    const centroidRows = clusterMeans(rows, assignmentList, k).map((row) => row.map((v) => v + 0.01 * rng.normal()));
    const features = tf.tensor2d(rows);
    const assignments = tf.tensor1d(assignmentList, 'int32');
    const centroids = tf.tensor2d(centroidRows);
    const expected = referenceConcentration(rows, assignmentList, centroidRows, alpha, temperature, clip);
    const details = pclConcentrationDetails(features, assignments, centroids, { alpha, temperature, percentileClip: clip });
    expectArrayClose(details.squaredDistances, expected.squared, 1e-5);
    expectArrayClose(details.rawConcentrations, expected.raw, 1e-6);
    expectArrayClose(details.clippedConcentrations, expected.clipped, 1e-6);
    expectTensorClose(details.concentrations, expected.final, { atol: 1e-6, rtol: 1e-5 });
    const mean = [...details.concentrations.dataSync()].reduce((s, v) => s + v, 0) / k;
    expect(mean).toBeCloseTo(temperature, 5);
    tf.dispose([features, assignments, centroids, details.concentrations]);
  });

  it('computes numpy linear percentiles (hand-computed) for the clip bounds', () => {
    // Five clusters with φ_raw = 1..5 / log(2 + α)·r: pick rows so that the raw values are 1, 2, 3, 4, 5
    // (α chosen so log(2 + α) = 1, two points at distance r from their centroid each).
    const alpha = Math.E - 2;
    const rows: Rows = [];
    const centroidRows: Rows = [];
    const assignmentList: number[] = [];
    for (let c = 0; c < 5; c++) {
      centroidRows.push([10 * c, 0]);
      rows.push([10 * c, c + 1], [10 * c, -(c + 1)]);
      assignmentList.push(c, c);
    }
    const features = tf.tensor2d(rows);
    const assignments = tf.tensor1d(assignmentList, 'int32');
    const centroids = tf.tensor2d(centroidRows);
    const details = pclConcentrationDetails(features, assignments, centroids, { alpha, temperature: 1 });
    expectArrayClose(details.rawConcentrations, [1, 2, 3, 4, 5], 1e-6);
    // numpy.percentile([1, 2, 3, 4, 5], [10, 90]) = [1.4, 4.6]; the mean after the clip is 3.
    expectArrayClose(details.clippedConcentrations, [1.4, 2, 3, 4, 4.6], 1e-6);
    expectTensorClose(details.concentrations, [1.4 / 3, 2 / 3, 1, 4 / 3, 4.6 / 3]);
    tf.dispose([features, assignments, centroids, details.concentrations]);
  });

  it('gives singleton and empty clusters the largest φ of the others (PCL dmax)', () => {
    const rng = new Rng(2);
    const rows = randomRows(rng, 12, 4);
    // Cluster 3 has one member, cluster 4 none (PCL: len(dist) <= 1 → dmax for both).
    const assignmentList = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3];
    const centroidRows = clusterMeans(rows, assignmentList, 5);
    centroidRows[4] = [0.5, 0.5, 0.5, 0.5];
    const features = tf.tensor2d(rows);
    const assignments = tf.tensor1d(assignmentList, 'int32');
    const centroids = tf.tensor2d(centroidRows);
    const details = pclConcentrationDetails(features, assignments, centroids, { percentileClip: [0, 100] });
    const raw = [...details.rawConcentrations];
    const dmax = Math.max(raw[0] as number, raw[1] as number, raw[2] as number);
    expect(raw[3]).toBe(dmax);
    expect(raw[4]).toBe(dmax);
    expect([...details.clusterSizes]).toEqual([4, 3, 4, 1, 0]);
    const expected = referenceConcentration(rows, assignmentList, centroidRows, 10, 0.2, [0, 100]);
    expectTensorClose(details.concentrations, expected.final, { atol: 1e-6, rtol: 1e-5 });
    tf.dispose([features, assignments, centroids, details.concentrations]);
  });

  it('stays finite and positive where PCL divides by zero (documented deviation)', () => {
    // Every cluster a singleton: PCL's φ are all 0 and 0/0 = NaN; here all φ equal T.
    const rows = randomRows(new Rng(4), 4, 3);
    const features = tf.tensor2d(rows);
    const singles = tf.tensor1d([0, 1, 2, 3], 'int32');
    const exact = tf.tensor2d(rows);
    const phi = pclConcentration(features, singles, exact, { temperature: 0.3 });
    expectTensorClose(phi, [0.3, 0.3, 0.3, 0.3]);
    // Cluster 0's two members coincide with its centroid (φ = 0): it takes the smallest positive φ.
    const points = tf.tensor2d([
      [1, 0],
      [1, 0],
      [0, 1],
      [0.6, 0.8],
      [-1, 0],
      [-0.8, -0.6],
    ]);
    const pairs = tf.tensor1d([0, 0, 1, 1, 2, 2], 'int32');
    const centres = tf.tensor2d([
      [1, 0],
      [0.3, 0.9],
      [-0.9, -0.3],
    ]);
    const details = pclConcentrationDetails(points, pairs, centres, { percentileClip: [0, 100] });
    const raw = [...details.rawConcentrations];
    expect(raw[0]).toBeCloseTo(Math.min(raw[1] as number, raw[2] as number), 12);
    for (const v of details.concentrations.dataSync()) expect(v).toBeGreaterThan(0);
    tf.dispose([features, singles, exact, phi, points, pairs, centres, details.concentrations]);
  });

  it('leaves no tensor behind and does not dispose its inputs', async () => {
    const rows = randomRows(new Rng(8), 20, 5);
    const features = tf.tensor2d(rows);
    const assignments = tf.tensor1d(rows.map((_, i) => i % 4), 'int32');
    const centroids = tf.tensor2d(clusterMeans(rows, rows.map((_, i) => i % 4), 4));
    const phi = await expectNoLeak(() => pclConcentration(features, assignments, centroids), 1);
    expect(features.isDisposed || assignments.isDisposed || centroids.isDisposed).toBe(false);
    const bad = tf.tensor1d(rows.map(() => 7), 'int32');
    await expectNoLeak(() => expect(() => pclConcentration(features, bad, centroids)).toThrow(/cluster indices/));
    tf.dispose([features, assignments, centroids, phi, bad]);
  });

  it('rejects bad arguments with named errors', () => {
    const features = tf.tensor2d([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    const assignments = tf.tensor1d([0, 1, 1], 'int32');
    const centroids = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const fn = (options: object) => () => pclConcentration(features, assignments, centroids, options);
    expectContrastiveError(fn({ alpha: -1 }), 'INVALID_ARGUMENT', /'alpha' passed to 'pclConcentration' must be a finite number >= 0, got -1/);
    expectContrastiveError(fn({ temperature: 0 }), 'INVALID_ARGUMENT', /'temperature' .* must be a finite number > 0, got 0/);
    expectContrastiveError(fn({ percentileClip: [90, 10] }), 'INVALID_ARGUMENT', /'percentileClip\[1\]' .* >= 90 and <= 100, got 10/);
    expectContrastiveError(fn({ percentileClip: [10] }), 'INVALID_ARGUMENT', /'percentileClip' .* must be \[low, high\]/);
    expectContrastiveError(fn({ percentileClip: [-5, 90] }), 'INVALID_ARGUMENT', /'percentileClip\[0\]'/);
    const shortAssignments = tf.tensor1d([0, 1], 'int32');
    expectContrastiveError(
      () => pclConcentration(features, shortAssignments, centroids),
      'SHAPE_MISMATCH',
      /'assignments' .* must have 3 entries \(one per row of 'features'\), got 2/,
    );
    const floatAssignments = tf.tensor1d([0, 1, 1]);
    expectContrastiveError(() => pclConcentration(features, floatAssignments as tf.Tensor1D, centroids), 'DTYPE_MISMATCH', /'assignments'/);
    const outside = tf.tensor1d([0, 2, 1], 'int32');
    expectContrastiveError(
      () => pclConcentration(features, outside, centroids),
      'INVALID_ARGUMENT',
      /'assignments' .* must hold cluster indices in \[0, 2\) .*got 2 at index 1/,
    );
    const wide = tf.tensor2d([[1, 0, 0]]);
    expectContrastiveError(() => pclConcentration(features, assignments, wide), 'SHAPE_MISMATCH', /'centroids' .* must have 2 columns/);
    const vector = tf.tensor1d([1, 2, 3]);
    expectContrastiveError(() => pclConcentration(vector as unknown as tf.Tensor2D, assignments, centroids), 'SHAPE_MISMATCH', /'features' .* rank 2/);
    const nan = tf.tensor2d([
      [Number.NaN, 0],
      [0, 1],
      [1, 1],
    ]);
    expectContrastiveError(() => pclConcentration(nan, assignments, centroids), 'NON_FINITE', /'features' and 'centroids' .* finite/);
    tf.dispose([features, assignments, centroids, shortAssignments, floatAssignments, outside, wide, vector, nan]);
  });
});

// ---------------------------------------------------------------------------------------------
// PrototypeBank
// ---------------------------------------------------------------------------------------------

/** `clusters` well-separated directions, `perCluster` noisy (unnormalised) points around each. */
function plantedMixture(rng: Rng, clusters: number, perCluster: number, d: number, noise = 0.15): { rows: Rows; labels: number[] } {
  const centres = Array.from({ length: clusters }, () => unit(Array.from({ length: d }, () => rng.normal())));
  const rows: Rows = [];
  const labels: number[] = [];
  // Interleaved, so that the row order says nothing about the cluster.
  for (let i = 0; i < perCluster; i++) {
    for (let c = 0; c < clusters; c++) {
      const scale = 0.5 + 2 * rng.uniform();
      rows.push((centres[c] as number[]).map((v) => scale * (v + noise * rng.normal())));
      labels.push(c);
    }
  }
  return { rows, labels };
}

/** Adjusted Rand index of two labelings (obvious pair counting). */
function adjustedRandIndex(a: number[], b: number[]): number {
  const choose2 = (x: number): number => (x * (x - 1)) / 2;
  const table = new Map<string, number>();
  const rowsA = new Map<number, number>();
  const colsB = new Map<number, number>();
  a.forEach((x, i) => {
    const y = b[i] as number;
    table.set(`${x},${y}`, (table.get(`${x},${y}`) ?? 0) + 1);
    rowsA.set(x, (rowsA.get(x) ?? 0) + 1);
    colsB.set(y, (colsB.get(y) ?? 0) + 1);
  });
  let index = 0;
  for (const v of table.values()) index += choose2(v);
  let sumA = 0;
  for (const v of rowsA.values()) sumA += choose2(v);
  let sumB = 0;
  for (const v of colsB.values()) sumB += choose2(v);
  const expected = (sumA * sumB) / choose2(a.length);
  const max = (sumA + sumB) / 2;
  return max === expected ? 1 : (index - expected) / (max - expected);
}

describe('PrototypeBank', () => {
  it('recovers a planted mixture and returns PCL-shaped prototypes, concentrations and assignments', () => {
    const { rows, labels } = plantedMixture(new Rng(1), 4, 30, 8);
    const features = tf.tensor2d(rows);
    const bank = new PrototypeBank({ numClusters: [4, 8], rng: new Rng(0) });
    expect(bank.ready).toBe(false);
    bank.update(features);
    expect(bank.ready).toBe(true);
    const set = bank.prototypes();
    expect(set.prototypes.map((p) => p.shape)).toEqual([
      [4, 8],
      [8, 8],
    ]);
    expect(set.concentrations.map((p) => p.shape)).toEqual([[4], [8]]);
    expect(set.assignments.map((p) => p.shape)).toEqual([[120], [120]]);
    expect(set.assignments.map((p) => p.dtype)).toEqual(['int32', 'int32']);
    const found = [...(set.assignments[0] as tf.Tensor1D).dataSync()];
    expect(adjustedRandIndex(found, labels)).toBeGreaterThan(0.95);
    // Prototypes have unit norm; concentrations are positive with mean T = 0.2.
    for (const prototypes of set.prototypes) {
      const norms = tf.tidy(() => tf.sqrt(tf.sum(tf.square(prototypes), 1)));
      expectTensorClose(norms, new Array(prototypes.shape[0]).fill(1));
      norms.dispose();
    }
    for (const phi of set.concentrations) {
      const values = [...phi.dataSync()];
      for (const v of values) expect(v).toBeGreaterThan(0);
      expect(values.reduce((sum, v) => sum + v, 0) / values.length).toBeCloseTo(0.2, 5);
    }
    // Each planted cluster's prototype points at the mean direction of its members.
    const normalisedRows = rows.map(unit);
    const prototypeRows = (set.prototypes[0] as tf.Tensor2D).arraySync();
    for (let c = 0; c < 4; c++) {
      const members = normalisedRows.filter((_, i) => found[i] === c);
      const direction = unit(clusterMeans(members, members.map(() => 0), 1)[0] as number[]);
      const cosine = direction.reduce((sum, v, j) => sum + v * ((prototypeRows[c] as number[])[j] as number), 0);
      expect(cosine).toBeGreaterThan(0.999);
    }
    bank.dispose();
    features.dispose();
  });

  it('follows PCL order: kMeans on the normalised features, φ on the raw centroids, then normalised centroids', () => {
    const { rows } = plantedMixture(new Rng(2), 3, 20, 5, 0.4);
    const features = tf.tensor2d(rows);
    const bank = new PrototypeBank({ numClusters: [3, 5], rng: new Rng(42), alpha: 5, temperature: 0.1, maxIterations: 7, restarts: 1 });
    bank.update(features);
    const set = bank.prototypes();
    const rng = new Rng(42);
    const normalised = l2Normalize(features);
    [3, 5].forEach((k, m) => {
      const result = kMeans(normalised, { k, metric: 'euclidean', maxIterations: 7, rng });
      const phi = pclConcentration(normalised, result.assignments, result.centroids, { alpha: 5, temperature: 0.1 });
      const prototypes = l2Normalize(result.centroids);
      expectTensorClose(set.prototypes[m] as tf.Tensor2D, prototypes, { atol: 1e-6, rtol: 0 });
      expectTensorClose(set.concentrations[m] as tf.Tensor1D, phi, { atol: 1e-7, rtol: 0 });
      expect([...(set.assignments[m] as tf.Tensor1D).dataSync()]).toEqual([...result.assignments.dataSync()]);
      tf.dispose([result.centroids, result.assignments, phi, prototypes]);
    });
    tf.dispose([normalised, features]);
    bank.dispose();
  });

  it('feeds protoNceLoss of @contrastive/losses: a finite loss with gradients', () => {
    const rng = new Rng(3);
    const { rows } = plantedMixture(rng, 3, 12, 6);
    const features = tf.tensor2d(rows);
    const bank = new PrototypeBank({ numClusters: [3, 6], rng: new Rng(1) });
    bank.update(features);
    const loss = protoNceLoss({ ...bank.prototypes() });
    // A batch of 5 instances (dataset rows), two noisy views each: queries then keys.
    const ids = [0, 7, 13, 20, 35];
    const views = [...ids, ...ids].map((i) => (rows[i] as number[]).map((v) => v + 0.05 * rng.normal()));
    const embeddings = tf.tensor2d(views);
    const labels = tf.tensor1d([...ids, ...ids], 'int32');
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => loss.compute({ embeddings: x as tf.Tensor2D, labels }))(embeddings);
    const loss0 = value.dataSync()[0] as number;
    expect(Number.isFinite(loss0)).toBe(true);
    expect(loss0).toBeGreaterThan(0);
    const gradient = [...grad.dataSync()];
    for (const g of gradient) expect(Number.isFinite(g)).toBe(true);
    expect(gradient.slice(0, 5 * 6).some((g) => Math.abs(g) > 1e-6)).toBe(true);
    // The next E-step's prototypes plug into the same loss.
    bank.update(features);
    const next = loss.withPrototypes(bank.prototypes()).compute({ embeddings, labels });
    expect(Number.isFinite(next.dataSync()[0])).toBe(true);
    tf.dispose([features, embeddings, labels, value, grad, next]);
    bank.dispose();
  });

  it('keeps the tensor count constant over repeated updates, survives tf.tidy and frees everything on dispose', async () => {
    const { rows } = plantedMixture(new Rng(4), 3, 15, 4);
    const features = tf.tensor2d(rows);
    const before = tf.memory().numTensors;
    const bank = new PrototypeBank({ numClusters: [2, 3, 5], rng: new Rng(0) });
    tf.tidy(() => bank.update(features));
    // Three granularities × (prototypes, concentrations, assignments).
    expect(tf.memory().numTensors - before).toBe(9);
    for (let i = 0; i < 5; i++) await expectNoLeak(() => bank.update(features));
    await expectNoLeak(() => bank.prototypes());
    const set = bank.prototypes();
    expect(set.prototypes.every((t) => !t.isDisposed)).toBe(true);
    bank.update(features);
    // The previous E-step's tensors are disposed by the next update.
    expect(set.prototypes.every((t) => t.isDisposed)).toBe(true);
    bank.dispose();
    bank.dispose();
    expect(tf.memory().numTensors).toBe(before);
    features.dispose();
  });

  it('is deterministic for the same rng seed', () => {
    const { rows } = plantedMixture(new Rng(5), 5, 10, 6, 0.6);
    const features = tf.tensor2d(rows);
    const snapshot = (seed: number): number[][] => {
      const bank = new PrototypeBank({ numClusters: [4, 7], rng: new Rng(seed), restarts: 2 });
      bank.update(features);
      bank.update(features);
      const set = bank.prototypes();
      const out = [
        ...set.prototypes.map((t) => [...t.dataSync()]),
        ...set.concentrations.map((t) => [...t.dataSync()]),
        ...set.assignments.map((t) => [...t.dataSync()]),
      ];
      bank.dispose();
      return out;
    };
    expect(snapshot(9)).toEqual(snapshot(9));
    features.dispose();
  });

  it('clusters with the cosine metric too', () => {
    const { rows, labels } = plantedMixture(new Rng(6), 3, 20, 6);
    const features = tf.tensor2d(rows);
    const bank = new PrototypeBank({ numClusters: [3], metric: 'cosine', rng: new Rng(2) });
    bank.update(features);
    const found = [...(bank.prototypes().assignments[0] as tf.Tensor1D).dataSync()];
    expect(adjustedRandIndex(found, labels)).toBeGreaterThan(0.95);
    bank.dispose();
    features.dispose();
  });

  it('rejects bad options, bad features and out-of-order calls with named errors', () => {
    const name = 'PrototypeBank';
    expectContrastiveError(() => new PrototypeBank({ numClusters: [] }), 'INVALID_ARGUMENT', new RegExp(`'numClusters' passed to '${name}' must be a non-empty array`));
    expectContrastiveError(() => new PrototypeBank({ numClusters: [3, 0] }), 'INVALID_ARGUMENT', /'numClusters\[1\]' passed to 'PrototypeBank' must be an integer >= 1, got 0/);
    expectContrastiveError(() => new PrototypeBank({ numClusters: [2.5] }), 'INVALID_ARGUMENT', /'numClusters\[0\]'/);
    expectContrastiveError(() => new PrototypeBank(undefined as unknown as { numClusters: number[] }), 'INVALID_ARGUMENT', /'options'/);
    expectContrastiveError(() => new PrototypeBank({ numClusters: [2], temperature: -1 }), 'INVALID_ARGUMENT', /'temperature'/);
    expectContrastiveError(() => new PrototypeBank({ numClusters: [2], alpha: Number.NaN }), 'INVALID_ARGUMENT', /'alpha'/);
    expectContrastiveError(() => new PrototypeBank({ numClusters: [2], metric: 'manhattan' as 'cosine' }), 'INVALID_ARGUMENT', /'metric' .* must be one of "euclidean", "cosine"/);
    expectContrastiveError(() => new PrototypeBank({ numClusters: [2], maxIterations: 0 }), 'INVALID_ARGUMENT', /'maxIterations'/);
    expectContrastiveError(() => new PrototypeBank({ numClusters: [2], restarts: 0 }), 'INVALID_ARGUMENT', /'restarts'/);
    expectContrastiveError(() => new PrototypeBank({ numClusters: [2], rng: 42 as unknown as Rng }), 'INVALID_ARGUMENT', /'rng' passed to 'PrototypeBank' must be an Rng/);

    const bank = new PrototypeBank({ numClusters: [2, 4] });
    expectContrastiveError(() => bank.prototypes(), 'STATE', /'PrototypeBank.prototypes' was called before the first 'update\(features\)'/);
    const three = tf.tensor2d([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    expectContrastiveError(() => bank.update(three), 'SHAPE_MISMATCH', /'features' passed to 'PrototypeBank.update' must have at least 4 rows \(the largest of numClusters, \[2, 4\]\), got 3/);
    const vector = tf.tensor1d([1, 2, 3, 4]);
    expectContrastiveError(() => bank.update(vector as unknown as tf.Tensor2D), 'SHAPE_MISMATCH', /'features' .* rank 2/);
    const ints = tf.tensor2d([[1], [2], [3], [4]], [4, 1], 'int32');
    expectContrastiveError(() => bank.update(ints), 'DTYPE_MISMATCH', /'features' .* float32/);
    const nan = tf.tensor2d([[Number.NaN], [1], [2], [3]]);
    expectContrastiveError(() => bank.update(nan), 'NON_FINITE', /'features' passed to 'PrototypeBank.update' must hold finite numbers/);
    const { rows } = plantedMixture(new Rng(7), 2, 4, 3);
    const features = tf.tensor2d(rows);
    bank.update(features);
    const kept = bank.prototypes();
    const wider = tf.tensor2d(rows.map((row) => [...row, 0]));
    expectContrastiveError(() => bank.update(wider), 'SHAPE_MISMATCH', /'features' .* must have 3 columns \(the dimension of the first update\), got 4/);
    // A failed update keeps the previous prototypes.
    expect(kept.prototypes.every((t) => !t.isDisposed)).toBe(true);
    expect(bank.prototypes().prototypes[0]).toBe(kept.prototypes[0]);
    bank.dispose();
    expectContrastiveError(() => bank.update(features), 'STATE', /'PrototypeBank.update' was called after 'dispose\(\)'/);
    expectContrastiveError(() => bank.prototypes(), 'STATE', /after 'dispose\(\)'/);
    tf.dispose([three, vector, ints, nan, features, wider]);
  });
});
