import * as tf from '@tensorflow/tfjs-core';
import { Rng, isContrastiveError } from '@contrastive/core';
import { expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { linearProbe, probeObjective, standardization, type LinearProbeOptions, type ProbeData } from './linear-probe.js';
import type { EvaluationSplit } from './split.js';

beforeAll(async () => {
  await useTestBackend();
});

type Rows = number[][];

interface Problem {
  train: Rows;
  trainLabels: number[];
  test: Rows;
  testLabels: number[];
}

function clustered(seed: number, n: number, m: number, dims: number, classes: number, noise: number): Problem {
  const rng = new Rng(seed);
  const centres = Array.from({ length: classes }, () => Array.from(rng.normalArray(dims, 0, 2)));
  const draw = (count: number): { rows: Rows; labels: number[] } => {
    const labels = Array.from({ length: count }, (_, i) => i % classes);
    const rows = labels.map((label) => Array.from(Float32Array.from((centres[label] as number[]).map((c) => c + noise * rng.normal()))));
    return { rows, labels };
  };
  const train = draw(n);
  const test = draw(m);
  return { train: train.rows, trainLabels: train.labels, test: test.rows, testLabels: test.labels };
}

function toSplit(problem: Problem): EvaluationSplit {
  return {
    trainFeatures: tf.tensor2d(problem.train),
    trainLabels: tf.tensor1d(problem.trainLabels, 'int32'),
    testFeatures: tf.tensor2d(problem.test),
    testLabels: tf.tensor1d(problem.testLabels, 'int32'),
  };
}

function disposeSplit(split: EvaluationSplit): void {
  tf.dispose([split.trainFeatures, split.trainLabels, split.testFeatures, split.testLabels]);
}

async function probe(problem: Problem, options: LinearProbeOptions = {}): ReturnType<typeof linearProbe> {
  const split = toSplit(problem);
  try {
    return await linearProbe(split, options);
  } finally {
    disposeSplit(split);
  }
}

/** RECIPE.md's preprocessing written as loops in float64: unit rows, then train mean / population std. */
function referencePreprocess(rows: Rows, trainRows: Rows, normalize: boolean, standardize: boolean): Rows {
  const unit = (row: number[]): number[] => {
    if (!normalize) return row;
    const norm = Math.max(Math.sqrt(row.reduce((s, x) => s + x * x, 0)), 1e-12);
    return row.map((x) => x / norm);
  };
  const train = trainRows.map(unit);
  const dims = (train[0] as number[]).length;
  const mean = Array.from({ length: dims }, (_, j) => train.reduce((s, r) => s + (r[j] as number), 0) / train.length);
  const std = mean.map((mu, j) => Math.sqrt(train.reduce((s, r) => s + ((r[j] as number) - mu) ** 2, 0) / train.length));
  return rows.map(unit).map((row) =>
    standardize ? row.map((x, j) => (x - (mean[j] as number)) / ((std[j] as number) <= 1e-8 ? 1 : (std[j] as number))) : row,
  );
}

/** mean CE(softmax(x W + b)) + 0.5 * l2 * ||W||², loops in float64; theta = [W as [C][d], b]. */
function referenceObjective(x: Rows, labels: number[], classes: number, l2: number, theta: Float64Array): number {
  const dims = (x[0] as number[]).length;
  let total = 0;
  x.forEach((row, i) => {
    const logits = Array.from({ length: classes }, (_, c) =>
      row.reduce((s, v, j) => s + v * (theta[c * dims + j] as number), theta[classes * dims + c] as number),
    );
    const max = Math.max(...logits);
    const logSumExp = max + Math.log(logits.reduce((s, z) => s + Math.exp(z - max), 0));
    total += logSumExp - (logits[labels[i] as number] as number);
  });
  let penalty = 0;
  for (let k = 0; k < classes * dims; k++) penalty += (theta[k] as number) ** 2;
  return total / x.length + 0.5 * l2 * penalty;
}

function probeData(rows: Rows, normalize: boolean): ProbeData {
  const dims = (rows[0] as number[]).length;
  const features = Float32Array.from(rows.flat());
  const rowScale = Float64Array.from(rows, (row) =>
    normalize ? 1 / Math.max(Math.sqrt(row.reduce((s, x) => s + x * x, 0)), 1e-12) : 1,
  );
  return { features, rows: rows.length, dims, rowScale };
}

/** Symmetric 1-D two-class problem with a closed-form optimum (see the test below). */
function symmetricProblem(q: number, perSide: number): Problem {
  const positives = Math.round(q * perSide);
  const train: Rows = [];
  const labels: number[] = [];
  for (let i = 0; i < perSide; i++) {
    train.push([1]);
    labels.push(i < positives ? 1 : 0);
    train.push([-1]);
    labels.push(i < positives ? 0 : 1);
  }
  return { train, trainLabels: labels, test: [[1], [-1]], testLabels: [1, 0] };
}

/** Optimum of  -[q log s(u) + (1-q) log s(-u)] + l2 u² / 4  (s = logistic) by bisection on its derivative. */
function symmetricOptimum(q: number, l2: number): number {
  const sigmoid = (u: number): number => 1 / (1 + Math.exp(-u));
  let low = 0;
  let high = 100;
  for (let i = 0; i < 200; i++) {
    const mid = (low + high) / 2;
    if (sigmoid(mid) - q + (l2 * mid) / 2 < 0) low = mid;
    else high = mid;
  }
  const u = (low + high) / 2;
  return -(q * Math.log(sigmoid(u)) + (1 - q) * Math.log(sigmoid(-u))) + (l2 * u * u) / 4;
}

describe('linearProbe (Adam, the default)', () => {
  it('separates separable data: 100% train and test accuracy', async () => {
    const result = await probe(clustered(1, 120, 60, 8, 4, 0.1));
    expect(result.top1).toBe(1);
    expect(result.trainTop1).toBe(1);
    expect(result.predictions).toBeInstanceOf(Int32Array);
    expect(result.predictions).toHaveLength(60);
    expect(result.iterations).toBe(500);
    expect(result.stop).toBe('steps');
  });

  it('decreases the objective from log C', async () => {
    const result = await probe(clustered(2, 90, 30, 6, 3, 1.5), { steps: 200 });
    const history = Array.from(result.lossHistory);
    expect(history).toHaveLength(201);
    expect(history[0]).toBeCloseTo(Math.log(3), 6);
    expect(history[200]).toBe(result.loss);
    // Full-batch Adam on a convex objective with a small step: monotone over the first steps.
    for (let t = 1; t <= 50; t++) expect(history[t] as number).toBeLessThan(history[t - 1] as number);
    expect(result.loss).toBeLessThan(0.6 * (history[0] as number));
  });

  it('is deterministic: two runs are bit-identical', async () => {
    const problem = clustered(3, 80, 40, 10, 5, 1.0);
    const first = await probe(problem, { steps: 100 });
    const second = await probe(problem, { steps: 100 });
    expect(Array.from(second.lossHistory)).toEqual(Array.from(first.lossHistory));
    expect(Array.from(second.predictions)).toEqual(Array.from(first.predictions));
    expect(second.top1).toBe(first.top1);
  });

  it('matches tf.train.adam(1e-2, 0.9, 0.999, 1e-8) with autodiff on the same objective', async () => {
    const problem = clustered(4, 60, 20, 5, 3, 1.2);
    const steps = 40;
    const l2 = 1e-2;
    const result = await probe(problem, { steps, l2 });
    const x = tf.tensor2d(referencePreprocess(problem.train, problem.train, true, true));
    const targets = tf.oneHot(tf.tensor1d(problem.trainLabels, 'int32'), 3);
    const weights = tf.variable(tf.zeros([5, 3]));
    const bias = tf.variable(tf.zeros([3]));
    const optimizer = tf.train.adam(1e-2, 0.9, 0.999, 1e-8);
    const objective = (): tf.Scalar =>
      tf.add(
        tf.losses.softmaxCrossEntropy(targets, tf.add(tf.matMul(x, weights), bias)),
        tf.mul(tf.sum(tf.square(weights)), 0.5 * l2),
      ) as tf.Scalar;
    const losses: number[] = [];
    for (let t = 0; t < steps; t++) {
      const loss = optimizer.minimize(objective, true) as tf.Scalar;
      losses.push(loss.dataSync()[0] as number);
      loss.dispose();
    }
    const final = tf.tidy(objective);
    losses.push(final.dataSync()[0] as number);
    for (let t = 0; t <= steps; t++) expect(result.lossHistory[t]).toBeCloseTo(losses[t] as number, 5);
    tf.dispose([x, targets, weights, bias, final]);
    optimizer.dispose();
  });

  it('replaces a std <= 1e-8 by 1: constant columns change nothing and make no NaN', async () => {
    const problem = clustered(5, 60, 20, 4, 3, 1.0);
    const withConstant: Problem = {
      ...problem,
      train: problem.train.map((row) => [...row, 5, 1e-10]),
      test: problem.test.map((row) => [...row, 5, 1e-10]),
    };
    const plain = await probe(problem, { steps: 50, normalize: false });
    const padded = await probe(withConstant, { steps: 50, normalize: false });
    expect(padded.lossHistory.every(Number.isFinite)).toBe(true);
    for (let t = 0; t <= 50; t++) expect(padded.lossHistory[t]).toBeCloseTo(plain.lossHistory[t] as number, 6);
    expect(Array.from(padded.predictions)).toEqual(Array.from(plain.predictions));
  });
});

describe('standardization', () => {
  it('uses the train mean and the population std, 1 where the std is <= 1e-8', () => {
    const rows = [
      [1, 5, 1e-10, 0],
      [3, 5, 2e-10, 0],
      [8, 5, 1e-10, 0],
    ];
    const { mean, scale } = standardization(probeData(rows, false), true);
    expect(mean[0]).toBeCloseTo(4, 12);
    expect(scale[0]).toBeCloseTo(Math.sqrt(((1 - 4) ** 2 + (3 - 4) ** 2 + (8 - 4) ** 2) / 3), 12);
    expect(Array.from(scale.subarray(1))).toEqual([1, 1, 1]);
    expect(mean[1]).toBe(5);
    const off = standardization(probeData(rows, false), false);
    expect(Array.from(off.mean)).toEqual([0, 0, 0, 0]);
    expect(Array.from(off.scale)).toEqual([1, 1, 1, 1]);
  });

  it('standardizes the L2-normalized rows when normalizing (zero rows stay zero)', () => {
    const rows = [
      [3, 4],
      [0, 0],
      [1, 0],
    ];
    const { mean } = standardization(probeData(rows, true), true);
    expect(mean[0]).toBeCloseTo((0.6 + 0 + 1) / 3, 12);
    expect(mean[1]).toBeCloseTo((0.8 + 0 + 0) / 3, 12);
  });
});

describe('probeObjective (the float64 objective of L-BFGS)', () => {
  it.each([
    [true, true, false],
    [false, true, false],
    [true, false, false],
    [true, true, true],
    [false, true, true],
    [false, false, true],
  ])('normalize = %s, standardize = %s, sparse = %s: value and gradient match float64 loops', (normalize, standardize, sparse) => {
    const problem = clustered(6, 12, 1, 4, 3, 1.0);
    // Zero out about half of the entries (and one whole row) so the sparse path has work to skip.
    const zeros = new Rng(12);
    const rows = problem.train.map((row, i) => row.map((x) => (i === 3 || zeros.uniform() < 0.5 ? 0 : x)));
    const data = probeData(rows, normalize);
    const stats = standardization(data, standardize);
    const objective = probeObjective(data, stats, Int32Array.from(problem.trainLabels), 3, 0.05, sparse);
    const rng = new Rng(7);
    const theta = Float64Array.from(rng.normalArray(3 * 5));
    const gradient = new Float64Array(theta.length);
    const value = objective(theta, gradient);
    const x = referencePreprocess(rows, rows, normalize, standardize);
    const reference = (t: Float64Array): number => referenceObjective(x, problem.trainLabels, 3, 0.05, t);
    expect(Math.abs(value - reference(theta))).toBeLessThan(1e-12);
    const step = 1e-6;
    for (let k = 0; k < theta.length; k++) {
      const plus = Float64Array.from(theta);
      const minus = Float64Array.from(theta);
      plus[k] = (plus[k] as number) + step;
      minus[k] = (minus[k] as number) - step;
      const numeric = (reference(plus) - reference(minus)) / (2 * step);
      expect(Math.abs((gradient[k] as number) - numeric)).toBeLessThan(1e-8);
    }
  });
});

describe('linearProbe (L-BFGS)', () => {
  it('reaches the closed-form optimum of a symmetric 1-D problem', async () => {
    for (const [q, l2] of [
      [0.7, 0.1],
      [0.9, 1e-2],
      [0.6, 1e-4],
    ] as const) {
      const problem = symmetricProblem(q, 10);
      const optimum = symmetricOptimum(q, l2);
      const lbfgs = await probe(problem, { method: 'lbfgs', l2, normalize: false });
      expect(Math.abs(lbfgs.loss - optimum)).toBeLessThan(1e-10);
      expect(Array.from(lbfgs.predictions)).toEqual([1, 0]);
      expect(lbfgs.trainTop1).toBeCloseTo(q, 12);
    }
  });

  it('agrees with a long Adam run', async () => {
    const problem = clustered(8, 90, 45, 6, 3, 2.0);
    const l2 = 1e-2;
    const lbfgs = await probe(problem, { method: 'lbfgs', l2 });
    const adam = await probe(problem, { steps: 3000, l2 });
    expect(Math.abs(adam.loss - lbfgs.loss)).toBeLessThan(1e-5);
    expect(lbfgs.loss).toBeLessThanOrEqual(adam.loss + 1e-6);
    expect(Array.from(adam.predictions)).toEqual(Array.from(lbfgs.predictions));
    expect(['gradient', 'change', 'direction']).toContain(lbfgs.stop);
  });

  it('Adam from the recipe gets close to the symmetric optimum too', async () => {
    const adam = await probe(symmetricProblem(0.7, 10), { steps: 2000, l2: 0.1, normalize: false });
    expect(Math.abs(adam.loss - symmetricOptimum(0.7, 0.1))).toBeLessThan(1e-5);
  });

  it('never increases the objective, starts at log C, and is deterministic', async () => {
    const problem = clustered(9, 100, 30, 7, 4, 1.5);
    const first = await probe(problem, { method: 'lbfgs' });
    const history = Array.from(first.lossHistory);
    expect(history[0]).toBeCloseTo(Math.log(4), 12);
    expect(history).toHaveLength(first.iterations + 1);
    expect(history.every((value, i) => i === 0 || value <= (history[i - 1] as number))).toBe(true);
    expect(history[history.length - 1]).toBe(first.loss);
    const second = await probe(problem, { method: 'lbfgs' });
    expect(Array.from(second.lossHistory)).toEqual(history);
  });

  it('separates separable data: 100% train and test accuracy', async () => {
    const result = await probe(clustered(10, 120, 60, 8, 4, 0.1), { method: 'lbfgs' });
    expect(result.top1).toBe(1);
    expect(result.trainTop1).toBe(1);
  });
});

describe('linearProbe: tensors and validation', () => {
  const problem = clustered(11, 20, 8, 3, 2, 1.0);

  it('leaks no tensor and leaves its inputs alive', async () => {
    const split = toSplit(problem);
    await expectNoLeak(async () => {
      await linearProbe(split, { steps: 5 });
      await linearProbe(split, { method: 'lbfgs', steps: 5 });
      await expect(linearProbe(split, { numClasses: 1 })).rejects.toThrow();
    });
    expect(split.trainFeatures.isDisposed || split.testFeatures.isDisposed).toBe(false);
    disposeSplit(split);
  });

  it.each([
    [{ method: 'sgd' as 'adam' }, /Argument 'method' passed to 'linearProbe' must be one of "adam", "lbfgs", got "sgd"/],
    [{ steps: 0 }, /Argument 'steps' passed to 'linearProbe' must be an integer >= 1, got 0/],
    [{ learningRate: 0 }, /Argument 'learningRate' passed to 'linearProbe' must be a finite number > 0, got 0/],
    [{ l2: -1 }, /Argument 'l2' passed to 'linearProbe' must be a finite number >= 0, got -1/],
    [{ history: 0 }, /Argument 'history' passed to 'linearProbe' must be an integer >= 1, got 0/],
    [{ numClasses: 1 }, /Argument 'trainLabels' passed to 'linearProbe' must hold class indices < numClasses \(1\), got 1/],
  ])('options %j', async (options, message) => {
    const split = toSplit(problem);
    await expect(linearProbe(split, options)).rejects.toThrow(message);
    disposeSplit(split);
  });

  it('rejects bad tensors with named ContrastiveErrors', async () => {
    const split = toSplit(problem);
    const shortLabels = tf.tensor1d([0, 1], 'int32');
    const floatLabels = tf.tensor1d(Array.from({ length: 20 }, () => 0));
    const narrow = tf.tensor2d([[1, 2]]);
    const inf = tf.tensor2d([[1, Number.POSITIVE_INFINITY, 0]]);
    const oneLabel = tf.tensor1d([0], 'int32');
    const cases: [Partial<EvaluationSplit>, RegExp, string][] = [
      [{ testLabels: shortLabels }, /Argument 'testLabels' passed to 'linearProbe' must have 8 entries \(one per embedding\), got 2/, 'LABEL_COUNT'],
      [{ trainLabels: floatLabels }, /Argument 'trainLabels' passed to 'linearProbe' must have dtype int32, got float32/, 'DTYPE_MISMATCH'],
      [{ testFeatures: narrow }, /Argument 'testFeatures' passed to 'linearProbe' must have 3 columns/, 'SHAPE_MISMATCH'],
      [{ testFeatures: inf, testLabels: oneLabel }, /Argument 'testFeatures' passed to 'linearProbe' must hold finite values/, 'NON_FINITE'],
    ];
    for (const [override, message, code] of cases) {
      const call = linearProbe({ ...split, ...override } as EvaluationSplit);
      await expect(call).rejects.toThrow(message);
      await call.catch((error: unknown) => {
        expect(isContrastiveError(error)).toBe(true);
        expect((error as { code: string }).code).toBe(code);
      });
    }
    tf.dispose([shortLabels, floatLabels, narrow, inf, oneLabel]);
    disposeSplit(split);
  });
});
