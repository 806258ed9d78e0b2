import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, dotProductSimilarity, lpDistance } from '@contrastive/core';
import type { Distance, LossInput, PairTuples, TripletTuples } from '@contrastive/core';
import {
  FLOAT32_TOLERANCE,
  LOOSE_TOLERANCE,
  checkGradients,
  expectContrastiveError,
  expectNoLeak,
  expectTensorClose,
  useTestBackend,
} from '@contrastive/core/testing';
import { nceLoss } from './nce-loss.js';
import { allFinite, int32, randomRows, scalarValue } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

let backend: 'wasm' | 'cpu';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// float64 reference: NCE (Gutmann & Hyvärinen 2010) for instance discrimination (Wu et al. 2018),
// written as obvious loops
// ---------------------------------------------------------------------------------------------

type Similarity = (a: number[], b: number[]) => number;

function dot(a: number[], b: number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}
function unit(v: number[]): number[] {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / Math.max(norm, 1e-12));
}
const cosine: Similarity = (a, b) => dot(unit(a), unit(b));
const negEuclidean: Similarity = (a, b) => {
  const [x, y] = [unit(a), unit(b)];
  return -Math.sqrt(x.reduce((s, v, i) => s + (v - (y[i] as number)) ** 2, 0));
};
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}
function zerosLike(n: number, m: number): number[][] {
  return Array.from({ length: n }, () => new Array<number>(m).fill(0));
}

interface Problem {
  rows: Rows;
  keys: Rows;
  /** positive[a][j]: multiplicity of the data pair (a, j). */
  positive: number[][];
  /** candidates[a][j]: multiplicity of j as a noise candidate of a. */
  candidates: number[][];
}

/** Labels: same label = positive (not itself without a ref), other label = noise candidate. */
function labelProblem(rows: Rows, labels: number[], refRows?: Rows, refLabels?: number[]): Problem {
  const keys = refRows ?? rows;
  const keyLabels = refLabels ?? labels;
  const positive = zerosLike(rows.length, keys.length);
  const candidates = zerosLike(rows.length, keys.length);
  for (let a = 0; a < rows.length; a++) {
    for (let j = 0; j < keys.length; j++) {
      if (labels[a] !== keyLabels[j]) (candidates[a] as number[])[j] = 1;
      else if (refRows !== undefined || a !== j) (positive[a] as number[])[j] = 1;
    }
  }
  return { rows, keys, positive, candidates };
}

function bump(matrix: number[][], a: number, j: number): void {
  const row = matrix[a] as number[];
  row[j] = (row[j] as number) + 1;
}

function tupleProblem(rows: Rows, keys: Rows, pairs: { anchorPos: number[]; positive: number[]; anchorNeg: number[]; negative: number[] }): Problem {
  const positive = zerosLike(rows.length, keys.length);
  const candidates = zerosLike(rows.length, keys.length);
  pairs.anchorPos.forEach((a, t) => bump(positive, a, pairs.positive[t] as number));
  pairs.anchorNeg.forEach((a, t) => bump(candidates, a, pairs.negative[t] as number));
  return { rows, keys, positive, candidates };
}

/** Replays the loss's draws: k per anchor, uniform over its candidates in increasing column order. */
function sampledNoise(candidates: number[][], k: number, seed: number): number[][] {
  const n = candidates.length;
  const m = (candidates[0] as number[]).length;
  const uniforms = new Rng(seed).uniformArray(n * k);
  const counts = zerosLike(n, m);
  for (let a = 0; a < n; a++) {
    const columns = (candidates[a] as number[]).flatMap((w, j) => (w > 0 ? [j] : []));
    const c = columns.length;
    if (c === 0) continue;
    for (let t = 0; t < k; t++) {
      const r = Math.min(Math.floor(Math.fround((uniforms[a * k + t] as number) * c)), c - 1);
      bump(counts, a, columns[r] as number);
    }
  }
  return counts;
}

interface ReferenceOptions {
  temperature: number;
  partition: number | 'estimate';
  noiseProbability?: number;
  similarity?: Similarity;
  /** The noise samples; default: every candidate once. */
  noise?: number[][];
  /** Use this log Z (a constant) instead of estimating it. */
  logZ?: number;
}

function scaledMatrix(problem: Problem, options: ReferenceOptions): number[][] {
  const similarity = options.similarity ?? cosine;
  return problem.rows.map((q) => problem.keys.map((k) => similarity(q, k) / options.temperature));
}

/** log Z = log(1 / p_n) + log(mean over the noise samples of exp(s / τ)). */
function referenceLogZ(problem: Problem, options: ReferenceOptions): number {
  const s = scaledMatrix(problem, options);
  const noise = options.noise ?? problem.candidates;
  const logInverse = -Math.log(options.noiseProbability ?? 1 / problem.keys.length);
  let total = 0;
  let count = 0;
  noise.forEach((row, a) => row.forEach((w, j) => {
    total += w * Math.exp((s[a] as number[])[j] as number);
    count += w;
  }));
  return count === 0 ? 0 : logInverse + Math.log(total / count);
}

/** Mean over data pairs (a, p) of -log h(a, p) - Σ_{noise j of a} log(1 - h(a, j)). */
function referenceNce(problem: Problem, options: ReferenceOptions): number {
  const s = scaledMatrix(problem, options);
  const noise = options.noise ?? problem.candidates;
  const logInverse = -Math.log(options.noiseProbability ?? 1 / problem.keys.length);
  const logZ = options.logZ ?? (options.partition === 'estimate' ? referenceLogZ(problem, options) : Math.log(options.partition));
  let total = 0;
  let pairs = 0;
  let anyNoise = 0;
  for (let a = 0; a < problem.rows.length; a++) {
    const k = (noise[a] as number[]).reduce((x, y) => x + y, 0);
    anyNoise += k;
    const logKpn = Math.log(k) - logInverse;
    for (let p = 0; p < problem.keys.length; p++) {
      const multiplicity = (problem.positive[a] as number[])[p] as number;
      if (multiplicity === 0) continue;
      pairs += multiplicity;
      if (k === 0) continue;
      // P_model = exp(s)/Z; h = P_model / (P_model + k p_n)
      let pairLoss = softplus(logKpn + logZ - ((s[a] as number[])[p] as number));
      for (let j = 0; j < problem.keys.length; j++) {
        const w = (noise[a] as number[])[j] as number;
        if (w > 0) pairLoss += w * softplus(((s[a] as number[])[j] as number) - logZ - logKpn);
      }
      total += multiplicity * pairLoss;
    }
  }
  return pairs === 0 || anyNoise === 0 ? 0 : total / pairs;
}

/** The same, straight from the definitions (probabilities, no log-space tricks), for a sanity check. */
function referenceNceNaive(problem: Problem, temperature: number, partition: number): number {
  const pn = 1 / problem.keys.length;
  let total = 0;
  let pairs = 0;
  problem.rows.forEach((q, a) => {
    const noise = (problem.candidates[a] as number[]).flatMap((w, j) => (w > 0 ? [j] : []));
    const k = noise.length;
    const h = (j: number): number => {
      const model = Math.exp(cosine(q, problem.keys[j] as number[]) / temperature) / partition;
      return model / (model + k * pn);
    };
    (problem.positive[a] as number[]).forEach((w, p) => {
      if (w === 0) return;
      let value = -Math.log(h(p));
      for (const j of noise) value -= Math.log(1 - h(j));
      total += value;
      pairs++;
    });
  });
  return total / pairs;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
function disposeTuples(tuples: PairTuples | TripletTuples): void {
  if (tuples.kind === 'pairs') tf.dispose([tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative]);
  else tf.dispose([tuples.anchor, tuples.positive, tuples.negative]);
}

// ---------------------------------------------------------------------------------------------

describe('nceLoss: against the float64 loops', () => {
  it('returns a float32 scalar named nceLoss; the TSDoc example prints 1.0237432', () => {
    const queries = tf.tensor2d([[1, 0], [0, 1]]);
    const bank = { embeddings: tf.tensor2d([[0.9, 0.1], [0.1, 0.9], [-1, 0], [0, -1]]), labels: int32([0, 1, 2, 3]) };
    const labels = int32([0, 1]);
    const loss = nceLoss({ temperature: 0.5, partition: 4 });
    const value = loss.compute({ embeddings: queries, labels, ref: bank });
    expect(loss.name).toBe('nceLoss');
    expect(value.shape).toEqual([]);
    expect(value.dtype).toBe('float32');
    expect(scalarValue(value)).toBeCloseTo(1.0237432, 5);
    const problem = labelProblem(queries.arraySync(), [0, 1], bank.embeddings.arraySync(), [0, 1, 2, 3]);
    expect(referenceNce(problem, { temperature: 0.5, partition: 4 })).toBeCloseTo(1.0237432, 6);
    expect(referenceNceNaive(problem, 0.5, 4)).toBeCloseTo(1.0237432, 6);
    tf.dispose([queries, bank.embeddings, bank.labels, labels, value]);
  });

  it.each([
    [4, 3, 0.07, 'estimate'],
    [8, 16, 0.1, 50],
    [16, 8, 0.5, 'estimate'],
    [24, 5, 0.2, 1e3],
    [64, 12, 0.05, 'estimate'],
  ] as [number, number, number, number | 'estimate'][])('batch n=%i d=%i τ=%s Z=%s: view labels and class labels', (n, d, temperature, partition) => {
    const rng = new Rng(n * 1000 + d);
    const rows = randomRows(rng, n, d);
    for (const labels of [range(n).map((i) => i % (n / 2)), range(n).map(() => rng.int(3))]) {
      const x = tf.tensor2d(rows);
      const y = int32(labels);
      const value = nceLoss({ temperature, partition }).compute({ embeddings: x, labels: y });
      expectTensorClose(value, referenceNce(labelProblem(rows, labels), { temperature, partition }), FLOAT32_TOLERANCE);
      tf.dispose([x, y, value]);
    }
  });

  it.each([
    [4, 32, 3, 0.07, 'estimate', undefined],
    [16, 64, 8, 0.1, 'estimate', 1 / 1000],
    [32, 128, 16, 0.2, 1e4, 1 / 128],
  ] as [number, number, number, number, number | 'estimate', number | undefined][])(
    'memory bank: %i queries against a bank of %i (d=%i, τ=%s, Z=%s, p_n=%s)',
    (n, m, d, temperature, partition, noiseProbability) => {
      const rng = new Rng(m + d);
      const rows = randomRows(rng, n, d);
      const bank = randomRows(rng, m, d);
      const labels = range(n).map(() => rng.int(m));
      const x = tf.tensor2d(rows);
      const y = int32(labels);
      const ref = { embeddings: tf.tensor2d(bank), labels: int32(range(m)) };
      const options = noiseProbability === undefined ? { temperature, partition } : { temperature, partition, noiseProbability };
      const value = nceLoss(options).compute({ embeddings: x, labels: y, ref });
      expectTensorClose(value, referenceNce(labelProblem(rows, labels, bank, range(m)), options), FLOAT32_TOLERANCE);
      tf.dispose([x, y, ref.embeddings, ref.labels, value]);
    },
  );

  it('defaults: τ = 0.07, all noise candidates, p_n = 1/m, Z estimated', () => {
    const rows = randomRows(new Rng(7), 10, 4);
    const labels = [0, 1, 2, 3, 4, 0, 1, 2, 3, 4];
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const value = nceLoss().compute({ embeddings: x, labels: y });
    expectTensorClose(value, referenceNce(labelProblem(rows, labels), { temperature: 0.07, partition: 'estimate', noiseProbability: 0.1 }), FLOAT32_TOLERANCE);
    tf.dispose([x, y, value]);
  });

  it.each([
    ['dotProductSimilarity', () => dotProductSimilarity(), dot],
    ['lpDistance (negated)', () => lpDistance(), negEuclidean],
  ] as [string, () => Distance, Similarity][])('distance %s', (_, makeDistance, similarity) => {
    const rows = randomRows(new Rng(11), 12, 6, 0.5);
    const labels = range(12).map((i) => i % 4);
    const y = int32(labels);
    const loss = nceLoss({ temperature: 0.3, distance: makeDistance(), partition: 20 });
    const reference = (r: Rows): number => referenceNce(labelProblem(r, labels), { temperature: 0.3, partition: 20, similarity });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y }), reference, rows);
    y.dispose();
  });

  it('the estimate of log Z is exposed, and freezing it (Wu et al.) reproduces the loss', () => {
    const rows = randomRows(new Rng(12), 6, 4);
    const bank = randomRows(new Rng(13), 20, 4);
    const labels = [3, 7, 11, 0, 19, 5];
    const problem = labelProblem(rows, labels, bank, range(20));
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(bank), labels: int32(range(20)) };
    const estimating = nceLoss({ temperature: 0.1 });
    const logZ = estimating.logPartition({ embeddings: x, labels: y, ref });
    expectTensorClose(logZ, referenceLogZ(problem, { temperature: 0.1, partition: 'estimate' }), FLOAT32_TOLERANCE);
    const frozen = nceLoss({ temperature: 0.1, partition: Math.exp(scalarValue(logZ)) }).compute({ embeddings: x, labels: y, ref });
    const estimated = estimating.compute({ embeddings: x, labels: y, ref });
    expectTensorClose(frozen, scalarValue(estimated), FLOAT32_TOLERANCE);
    tf.dispose([x, y, ref.embeddings, ref.labels, logZ, frozen, estimated]);
  });

  it.each([
    [6, 3, 0.5, 30],
    [8, 4, 0.1, 'estimate'],
    [10, 5, 0.07, 'estimate'],
  ] as [number, number, number, number | 'estimate'][])('gradient matches central differences: n=%i d=%i τ=%s Z=%s (Z held constant)', (n, d, temperature, partition) => {
    const rng = new Rng(n + d);
    const rows = randomRows(rng, n, d);
    for (const labels of [range(n).map((i) => i % (n / 2)), [0, 0, 0, ...range(n - 3).map(() => rng.int(3))]]) {
      const problem = labelProblem(rows, labels);
      const logZ = partition === 'estimate' ? referenceLogZ(problem, { temperature, partition }) : Math.log(partition);
      const y = int32(labels);
      const loss = nceLoss({ temperature, partition });
      checkGradients(
        (e) => loss.compute({ embeddings: e, labels: y }),
        (r) => referenceNce(labelProblem(r, labels), { temperature, partition, logZ }),
        rows,
      );
      y.dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('nceLoss: sampled noise (noiseSamples = k)', () => {
  const rows = randomRows(new Rng(21), 8, 4);
  const bank = randomRows(new Rng(22), 12, 4);
  const labels = [0, 1, 2, 3, 4, 5, 0, 1];
  const bankLabels = [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3];

  it.each([
    [1, 'estimate'],
    [5, 100],
    [40, 'estimate'],
  ] as [number, number | 'estimate'][])('k=%i Z=%s: equals the loops on the replayed draws (other instances only)', (k, partition) => {
    const problem = labelProblem(rows, labels, bank, bankLabels);
    const noise = sampledNoise(problem.candidates, k, 5);
    // The draws never hit a positive.
    noise.forEach((row, a) => row.forEach((w, j) => w > 0 && expect((problem.positive[a] as number[])[j]).toBe(0)));
    expect(noise.every((row) => row.reduce((s, w) => s + w, 0) === k)).toBe(true);
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(bank), labels: int32(bankLabels) };
    const value = nceLoss({ temperature: 0.2, noiseSamples: k, partition, rng: new Rng(5) }).compute({ embeddings: x, labels: y, ref });
    expectTensorClose(value, referenceNce(problem, { temperature: 0.2, partition, noise }), FLOAT32_TOLERANCE);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });

  it('draws anew on every call, reproducibly from the rng', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = nceLoss({ temperature: 0.2, noiseSamples: 3, rng: new Rng(9) });
    const again = nceLoss({ temperature: 0.2, noiseSamples: 3, rng: new Rng(9) });
    const [a1, a2] = [loss.compute({ embeddings: x, labels: y }), loss.compute({ embeddings: x, labels: y })];
    const b1 = again.compute({ embeddings: x, labels: y });
    expect(scalarValue(a1)).toBe(scalarValue(b1));
    expect(scalarValue(a1)).not.toBe(scalarValue(a2));
    tf.dispose([x, y, a1, a2, b1]);
  });

  it('gradient matches central differences on fixed draws', () => {
    const problem = labelProblem(rows, labels, bank, bankLabels);
    const noise = sampledNoise(problem.candidates, 6, 3);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(bank), labels: int32(bankLabels) };
    const loss = nceLoss({ temperature: 0.3, noiseSamples: 6, partition: 40, rng: new Rng(3) });
    checkGradients(
      (e) => loss.compute({ embeddings: e, labels: y, ref }),
      (r) => referenceNce({ ...problem, rows: r }, { temperature: 0.3, partition: 40, noise }),
      rows,
    );
    tf.dispose([y, ref.embeddings, ref.labels]);
  });

  it('draws uniformly over the candidates', () => {
    // One query, candidates = bank rows 1..4; 4000 draws.
    const x = tf.tensor2d([[1, 0]]);
    const y = int32([0]);
    const ref = { embeddings: tf.tensor2d([[1, 0], [0, 1], [-1, 0], [0, -1], [0.6, 0.8]]), labels: int32([0, 1, 2, 3, 4]) };
    const problem = labelProblem([[1, 0]], [0], ref.embeddings.arraySync(), [0, 1, 2, 3, 4]);
    const noise = sampledNoise(problem.candidates, 4000, 17);
    const counts = (noise[0] as number[]).slice(1);
    expect((noise[0] as number[])[0]).toBe(0);
    expect(Math.min(...counts)).toBeGreaterThan(900);
    expect(Math.max(...counts)).toBeLessThan(1100);
    const value = nceLoss({ temperature: 0.5, noiseSamples: 4000, partition: 3, rng: new Rng(17) }).compute({ embeddings: x, labels: y, ref });
    expectTensorClose(value, referenceNce(problem, { temperature: 0.5, partition: 3, noise }), LOOSE_TOLERANCE);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('nceLoss: tuples and ref', () => {
  const rows = randomRows(new Rng(31), 8, 5);
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];
  const mined = { anchorPos: [0, 4, 1, 1, 3], positive: [4, 0, 5, 5, 7], anchorNeg: [0, 0, 4, 1, 0, 2], negative: [1, 2, 6, 6, 1, 3] };

  it('pairs: positive pairs are data samples, negative pairs the noise (repeats count; anchor 3 has no noise)', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const tuples: PairTuples = { kind: 'pairs', anchorPos: int32(mined.anchorPos), positive: int32(mined.positive), anchorNeg: int32(mined.anchorNeg), negative: int32(mined.negative) };
    const loss = nceLoss({ temperature: 0.2 });
    const value = loss.compute({ embeddings: x, labels: y, tuples });
    const problem = tupleProblem(rows, rows, mined);
    expectTensorClose(value, referenceNce(problem, { temperature: 0.2, partition: 'estimate' }), FLOAT32_TOLERANCE);
    const logZ = referenceLogZ(problem, { temperature: 0.2, partition: 'estimate' });
    checkGradients((e) => loss.compute({ embeddings: e, labels: y, tuples }), (r) => referenceNce(tupleProblem(r, r, mined), { temperature: 0.2, partition: 'estimate', logZ }), rows);
    disposeTuples(tuples);
    tf.dispose([x, y, value]);
  });

  it('triplets (a, p, n) give the pairs (a, p) and (a, n); tuples index the ref', () => {
    const queue = randomRows(new Rng(32), 10, 5);
    const triplets = { anchor: [0, 0, 1, 5, 2], positive: [4, 4, 5, 1, 6], negative: [1, 3, 2, 7, 9] };
    const asPairs = { anchorPos: triplets.anchor, positive: triplets.positive, anchorNeg: triplets.anchor, negative: triplets.negative };
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.tensor2d(queue), labels: int32(range(10)) };
    const tuples: TripletTuples = { kind: 'triplets', anchor: int32(triplets.anchor), positive: int32(triplets.positive), negative: int32(triplets.negative) };
    const value = nceLoss({ temperature: 0.2, partition: 12 }).compute({ embeddings: x, labels: y, tuples, ref });
    expectTensorClose(value, referenceNce(tupleProblem(rows, queue, asPairs), { temperature: 0.2, partition: 12 }), FLOAT32_TOLERANCE);
    disposeTuples(tuples);
    tf.dispose([x, y, ref.embeddings, ref.labels, value]);
  });

  it('empty positive or negative tuples give a connected 0', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = nceLoss();
    for (const pairs of [
      { ...mined, anchorPos: [], positive: [] },
      { ...mined, anchorNeg: [], negative: [] },
    ]) {
      const tuples: PairTuples = { kind: 'pairs', anchorPos: int32(pairs.anchorPos), positive: int32(pairs.positive), anchorNeg: int32(pairs.anchorNeg), negative: int32(pairs.negative) };
      const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y, tuples }))(x);
      expect(scalarValue(value) === 0).toBe(true);
      expect(Array.from(grad.dataSync()).every((g) => g === 0)).toBe(true);
      disposeTuples(tuples);
      tf.dispose([value, grad]);
    }
    tf.dispose([x, y]);
  });

  it('with ref, a row is its own positive when the ref holds it (PML ref semantics)', () => {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const ref = { embeddings: tf.clone(x), labels: tf.clone(y) };
    const loss = nceLoss({ temperature: 0.1, partition: 8 });
    const withRef = loss.compute({ embeddings: x, labels: y, ref });
    const without = loss.compute({ embeddings: x, labels: y });
    expectTensorClose(withRef, referenceNce(labelProblem(rows, labels, rows, labels), { temperature: 0.1, partition: 8 }), FLOAT32_TOLERANCE);
    expect(Math.abs(scalarValue(withRef) - scalarValue(without))).toBeGreaterThan(1e-3);
    tf.dispose([x, y, ref.embeddings, ref.labels, withRef, without]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('nceLoss: edge cases', () => {
  function run(rows: Rows, labels: number[], options: Parameters<typeof nceLoss>[0] = {}): { value: number; grad: number[]; finite: boolean } {
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = nceLoss(options);
    const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    const out = { value: scalarValue(result.value), grad: Array.from(result.grad.dataSync()), finite: allFinite(result.value) && allFinite(result.grad) };
    tf.dispose([x, y, result.value, result.grad]);
    return out;
  }

  it('no positive pair (distinct labels), no noise (one label), a batch of one: connected 0', () => {
    for (const [rows, labels] of [
      [randomRows(new Rng(41), 5, 3), [0, 1, 2, 3, 4]],
      [randomRows(new Rng(42), 4, 3), [7, 7, 7, 7]],
      [[[0.3, -0.4]], [0]],
    ] as [Rows, number[]][]) {
      for (const options of [{}, { noiseSamples: 4 }]) {
        const { value, grad } = run(rows, labels, options);
        expect(value === 0).toBe(true);
        expect(grad.every((g) => g === 0)).toBe(true);
      }
    }
  });

  it('identical and zero vectors: finite value and gradient', () => {
    const identical = Array.from({ length: 6 }, () => [0.2, -1.5, 0.7]);
    const labels = [0, 1, 2, 0, 1, 2];
    const same = run(identical, labels, { partition: 5 });
    expect(same.finite).toBe(true);
    expect(same.value).toBeCloseTo(referenceNce(labelProblem(identical, labels), { temperature: 0.07, partition: 5 }), 3);
    const zeros = run(Array.from({ length: 6 }, () => [0, 0, 0]), labels);
    expect(zeros.finite).toBe(true);
    // s = 0 everywhere: Z = m, h = (1/m) / (1/m + k/m) = 1/(1+k) with k = 4: -log(1/5) - 4 log(4/5).
    expect(zeros.value).toBeCloseTo(Math.log(5) - 4 * Math.log(0.8), 4);
  });

  it('τ = 0.01 with embeddings scaled by 1e4: finite and exact, estimated or fixed Z', () => {
    const rows = randomRows(new Rng(43), 16, 8, 1e4);
    const labels = range(16).map((i) => i % 8);
    for (const partition of ['estimate', 1, 1e30] as const) {
      const { value, finite } = run(rows, labels, { temperature: 0.01, partition });
      expect(finite).toBe(true);
      const expected = referenceNce(labelProblem(rows, labels), { temperature: 0.01, partition });
      expect(Math.abs(value - expected)).toBeLessThan(LOOSE_TOLERANCE.atol + LOOSE_TOLERANCE.rtol * Math.abs(expected));
    }
    const x = tf.tensor2d(rows);
    const y = int32(labels);
    const loss = nceLoss({ temperature: 0.01, distance: dotProductSimilarity() });
    const result = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ embeddings: e as tf.Tensor2D, labels: y }))(x);
    expect(allFinite(result.value) && allFinite(result.grad)).toBe(true);
    tf.dispose([x, y, result.value, result.grad]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('nceLoss: training and resources', () => {
  it('leaks no tensor on any path, forward or backward', async () => {
    const x = tf.tensor2d(randomRows(new Rng(51), 8, 4));
    const y = int32([0, 1, 2, 3, 0, 1, 2, 3]);
    const ref = { embeddings: tf.tensor2d(randomRows(new Rng(52), 6, 4)), labels: int32([0, 1, 2, 3, 4, 5]) };
    const tuples: PairTuples = { kind: 'pairs', anchorPos: int32([0, 4]), positive: int32([4, 0]), anchorNeg: int32([0, 4]), negative: int32([1, 2]) };
    const empty: PairTuples = { kind: 'pairs', anchorPos: int32([]), positive: int32([]), anchorNeg: int32([0]), negative: int32([1]) };
    const inputs: LossInput[] = [
      { embeddings: x, labels: y },
      { embeddings: x, labels: y, ref },
      { embeddings: x, labels: y, tuples },
      { embeddings: x, labels: y, tuples: empty },
    ];
    const losses = [nceLoss(), nceLoss({ noiseSamples: 5, partition: 10 })];
    for (const loss of losses) for (const input of inputs) loss.compute(input).dispose(); // warm-up
    await expectNoLeak(() => {
      for (const loss of losses) {
        for (const input of inputs) {
          loss.compute(input).dispose();
          loss.logPartition(input).dispose();
          const { value, grad } = tf.valueAndGrad((e: tf.Tensor) => loss.compute({ ...input, embeddings: e as tf.Tensor2D }))(x);
          tf.dispose([value, grad]);
        }
      }
    });
    expect(x.isDisposed || y.isDisposed || ref.embeddings.isDisposed || tuples.anchorPos.isDisposed).toBe(false);
    disposeTuples(tuples);
    disposeTuples(empty);
    tf.dispose([x, y, ref.embeddings, ref.labels]);
  });

  it('trains queries against a memory bank under optimizer.minimize: the loss falls', () => {
    const bank = { embeddings: tf.tensor2d(randomRows(new Rng(61), 32, 8)), labels: int32(range(32)) };
    const variable = tf.variable(tf.tensor2d(randomRows(new Rng(62), 16, 8)));
    const labels = int32(range(16).map((i) => 2 * i));
    const optimizer = tf.train.sgd(0.5);
    const loss = nceLoss({ temperature: 0.2, noiseSamples: 16, partition: 100 });
    const step = (): number => {
      const cost = optimizer.minimize(() => loss.compute({ embeddings: variable, labels, ref: bank }), true, [variable]);
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
    tf.dispose([variable, labels, bank.embeddings, bank.labels]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('nceLoss: errors', () => {
  it('rejects bad hyper-parameters in the factory', () => {
    for (const temperature of [0, -0.1, Number.NaN]) {
      expectContrastiveError(() => nceLoss({ temperature }), 'INVALID_ARGUMENT', /Argument 'temperature' passed to 'nceLoss' must be a finite number > 0, got/);
    }
    expectContrastiveError(() => nceLoss({ noiseSamples: 0 }), 'INVALID_ARGUMENT', /Argument 'noiseSamples' passed to 'nceLoss' must be an integer >= 1, got 0/);
    expectContrastiveError(() => nceLoss({ noiseSamples: 2.5 }), 'INVALID_ARGUMENT', /Argument 'noiseSamples' passed to 'nceLoss' must be an integer >= 1, got 2.5/);
    expectContrastiveError(() => nceLoss({ noiseProbability: 0 }), 'INVALID_ARGUMENT', /Argument 'noiseProbability' passed to 'nceLoss' must be a finite number > 0 and <= 1, got 0/);
    expectContrastiveError(() => nceLoss({ noiseProbability: 1.5 }), 'INVALID_ARGUMENT', /Argument 'noiseProbability' passed to 'nceLoss'/);
    expectContrastiveError(() => nceLoss({ partition: -1 }), 'INVALID_ARGUMENT', /Argument 'partition' passed to 'nceLoss' must be a finite number > 0, got -1/);
    expectContrastiveError(() => nceLoss({ partition: 'guess' as 'estimate' }), 'INVALID_ARGUMENT', /Argument 'partition' passed to 'nceLoss' must be one of "estimate", got "guess"/);
    expectContrastiveError(() => nceLoss({ distance: {} as Distance }), 'INVALID_ARGUMENT', /Argument 'distance' passed to 'nceLoss' must be a Distance/);
    expectContrastiveError(() => nceLoss({ rng: 42 as unknown as Rng }), 'INVALID_ARGUMENT', /Argument 'rng' passed to 'nceLoss' must be an Rng, got number/);
  });

  it('rejects bad tensors, naming the argument, and leaks nothing', () => {
    const loss = nceLoss();
    const x = tf.tensor2d(randomRows(new Rng(71), 4, 3));
    const y = int32([0, 1, 0, 1]);
    const cases: [() => unknown, Parameters<typeof expectContrastiveError>[1], RegExp][] = [
      [() => loss.compute({ embeddings: tf.tensor1d([1, 2]) as unknown as tf.Tensor2D, labels: y }), 'SHAPE_MISMATCH', /Argument 'embeddings' passed to 'nceLoss' must be rank 2, got rank 1/],
      [() => loss.compute({ embeddings: x, labels: tf.tensor1d([0, 1, 0, 1]) }), 'DTYPE_MISMATCH', /Argument 'labels' passed to 'nceLoss' must have dtype int32, got float32/],
      [() => loss.compute({ embeddings: x, labels: int32([0, 1, 0]) }), 'LABEL_COUNT', /Argument 'labels' passed to 'nceLoss' must have 4 entries \(one per embedding\), got 3/],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 5]), labels: int32([0, 1]) } }), 'SHAPE_MISMATCH', /Argument 'ref.embeddings' passed to 'nceLoss' must have 3 columns/],
      [() => loss.compute({ embeddings: x, labels: y, ref: { embeddings: tf.zeros([2, 3]), labels: int32([0]) } }), 'LABEL_COUNT', /Argument 'ref.labels' passed to 'nceLoss' must have 2 entries/],
      [() => loss.logPartition({ embeddings: x, labels: int32([0]) }), 'LABEL_COUNT', /Argument 'labels' passed to 'nceLoss' must have 4 entries/],
      [
        () => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'pairs', anchorPos: int32([0, 1]), positive: int32([2]), anchorNeg: int32([0]), negative: int32([1]) } }),
        'SHAPE_MISMATCH',
        /Argument 'tuples.positive' passed to 'nceLoss' must have 2 entries \(one per entry of 'tuples.anchorPos'\), got 1/,
      ],
      [() => loss.compute({ embeddings: x, labels: y, tuples: { kind: 'quads' } as unknown as PairTuples }), 'INVALID_ARGUMENT', /Argument 'tuples.kind' passed to 'nceLoss' must be one of "pairs", "triplets", got "quads"/],
      [() => loss.compute(undefined as unknown as LossInput), 'INVALID_ARGUMENT', /Argument 'input' passed to 'nceLoss.compute'/],
    ];
    for (const [call, code, message] of cases) {
      const before = tf.memory().numTensors;
      expectContrastiveError(() => tf.tidy(() => void call()), code, message);
      expect(tf.memory().numTensors).toBe(before);
    }
    const disposed = tf.tensor2d([[1, 2]]);
    disposed.dispose();
    expectContrastiveError(() => loss.compute({ embeddings: disposed, labels: int32([0]) }), 'DISPOSED', /Argument 'embeddings' passed to 'nceLoss' has been disposed/);
    tf.dispose([x, y]);
  });
});

it('runs on the selected test backend', () => {
  expect(tf.getBackend()).toBe(backend);
});
