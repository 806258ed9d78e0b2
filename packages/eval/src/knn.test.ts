import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, isContrastiveError } from '@contrastive/core';
import { expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { knnClassifier, knnEvaluate, searchNeighbours, type KnnDistance } from './knn.js';
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

/** Clustered random data in float32: `classes` centres, noise of std `noise`. */
function clustered(seed: number, n: number, m: number, dims: number, classes: number, noise = 0.8): Problem {
  const rng = new Rng(seed);
  const centres = Array.from({ length: classes }, () => Array.from(rng.normalArray(dims)));
  const draw = (count: number): { rows: Rows; labels: number[] } => {
    const labels = Array.from({ length: count }, () => rng.int(classes));
    const rows = labels.map((label) =>
      Array.from(Float32Array.from((centres[label] as number[]).map((c) => c + noise * rng.normal()))),
    );
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

function unit(row: number[]): number[] {
  const norm = Math.sqrt(row.reduce((s, x) => s + x * x, 0));
  return norm === 0 ? row : row.map((x) => x / norm);
}

/**
 * Float64 reference written as obvious loops from Wu et al. 2018: neighbours sorted by similarity
 * (ties -> lower train index), weight exp(s / T) (or exp(-d / T)), per-class sums, argmax with
 * ties -> lowest class, top-5 rank with ties -> lower class first.
 */
function referenceKnn(
  problem: Problem,
  k: number,
  temperature: number,
  distance: KnnDistance,
  normalize: boolean,
  numClasses: number,
): { predictions: number[]; top1: number; top5: number } {
  const prepare = (rows: Rows): Rows => (normalize ? rows.map(unit) : rows);
  const train = prepare(problem.train);
  const test = prepare(problem.test);
  const predictions: number[] = [];
  let hits1 = 0;
  let hits5 = 0;
  test.forEach((query, q) => {
    const neighbours = train.map((row, index) => {
      const value =
        distance === 'cosine'
          ? row.reduce((s, x, j) => s + x * (query[j] as number), 0)
          : Math.sqrt(row.reduce((s, x, j) => s + (x - (query[j] as number)) ** 2, 0));
      return { index, value };
    });
    neighbours.sort((a, b) => (distance === 'cosine' ? b.value - a.value : a.value - b.value) || a.index - b.index);
    const scores = new Array<number>(numClasses).fill(0);
    for (const { index, value } of neighbours.slice(0, k)) {
      const label = problem.trainLabels[index] as number;
      scores[label] = (scores[label] as number) + Math.exp((distance === 'cosine' ? value : -value) / temperature);
    }
    let best = 0;
    for (let c = 1; c < numClasses; c++) if ((scores[c] as number) > (scores[best] as number)) best = c;
    predictions.push(best);
    const label = problem.testLabels[q] as number;
    const own = scores[label] as number;
    const rank = scores.filter((s, c) => s > own || (s === own && c < label)).length;
    if (best === label) hits1++;
    if (rank < 5) hits5++;
  });
  return { predictions, top1: hits1 / test.length, top5: hits5 / test.length };
}

describe('knnEvaluate against a float64 loop reference', () => {
  const problem = clustered(7, 150, 60, 12, 8, 1.2);

  it.each([
    [1, 0.07],
    [5, 0.07],
    [20, 0.07],
    [20, 0.5],
    [20, 0.01],
    [50, 0.1],
    [150, 0.07],
  ])('cosine, k = %i, T = %f: identical predictions, top-1 and top-5', async (k, temperature) => {
    const split = toSplit(problem);
    const got = await knnEvaluate(split, { k, temperature });
    const want = referenceKnn(problem, k, temperature, 'cosine', true, 8);
    expect(Array.from(got.predictions)).toEqual(want.predictions);
    expect(got.top1).toBe(want.top1);
    expect(got.top5).toBe(want.top5);
    disposeSplit(split);
  });

  it.each([
    [true, 5, 0.07],
    [true, 20, 0.5],
    [false, 20, 0.07],
    [false, 10, 1],
  ])('euclidean, normalize = %s, k = %i, T = %f: identical predictions', async (normalize, k, temperature) => {
    const split = toSplit(problem);
    const got = await knnEvaluate(split, { k, temperature, distance: 'euclidean', normalize });
    const want = referenceKnn(problem, k, temperature, 'euclidean', normalize, 8);
    expect(Array.from(got.predictions)).toEqual(want.predictions);
    expect(got.top1).toBe(want.top1);
    expect(got.top5).toBe(want.top5);
    disposeSplit(split);
  });

  it('returns top1 / top5 / predictions with the documented types', async () => {
    const split = toSplit(problem);
    const result = await knnEvaluate(split);
    expect(result.predictions).toBeInstanceOf(Int32Array);
    expect(result.predictions).toHaveLength(60);
    expect(result.top1).toBeGreaterThan(0.5);
    expect(result.top5).toBeGreaterThanOrEqual(result.top1);
    disposeSplit(split);
  });
});

describe('knnEvaluate: ties, chunks, scale', () => {
  it('a tie between class scores goes to the lowest class', async () => {
    // The query is equally similar to a class-2 and a class-1 row: equal votes, class 1 wins.
    const split: EvaluationSplit = {
      trainFeatures: tf.tensor2d([
        [1, 0],
        [1, 0],
        [0, 1],
      ]),
      trainLabels: tf.tensor1d([2, 1, 0], 'int32'),
      testFeatures: tf.tensor2d([[2, 0]]),
      testLabels: tf.tensor1d([2], 'int32'),
    };
    const result = await knnEvaluate(split, { k: 2 });
    expect(Array.from(result.predictions)).toEqual([1]);
    expect(result.top1).toBe(0);
    expect(result.top5).toBe(1);
    // All classes zero but the voted ones: class 0 (no vote) ranks after 1 and 2.
    const three = await knnEvaluate(split, { k: 3, temperature: 1e-3 });
    expect(Array.from(three.predictions)).toEqual([1]);
    disposeSplit(split);
  });

  it('top-5 counts the label among the 5 best class scores, ties to the lower class', async () => {
    // 7 classes, one train row each at decreasing similarity; the query's label decides top-5.
    const angles = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    const trainFeatures = tf.tensor2d(angles.map((a) => [Math.cos(a), Math.sin(a)]));
    const trainLabels = tf.tensor1d([0, 1, 2, 3, 4, 5, 6], 'int32');
    const testFeatures = tf.tensor2d([
      [1, 0],
      [1, 0],
    ]);
    const testLabels = tf.tensor1d([4, 5], 'int32');
    const result = await knnEvaluate({ trainFeatures, trainLabels, testFeatures, testLabels }, { k: 7 });
    expect(Array.from(result.predictions)).toEqual([0, 0]);
    expect(result.top5).toBe(0.5);
    tf.dispose([trainFeatures, trainLabels, testFeatures, testLabels]);
  });

  it('chunked equals unchunked', async () => {
    const problem = clustered(11, 90, 37, 6, 5);
    const split = toSplit(problem);
    const whole = await knnEvaluate(split, { k: 7, chunkSize: 37 });
    for (const chunkSize of [1, 5, 36, 1000]) {
      const chunked = await knnEvaluate(split, { k: 7, chunkSize });
      expect(Array.from(chunked.predictions)).toEqual(Array.from(whole.predictions));
      expect(chunked.top1).toBe(whole.top1);
      expect(chunked.top5).toBe(whole.top5);
    }
    disposeSplit(split);
  });

  it('chunks bound the similarity block: every chunk is at most chunkSize x n', async () => {
    const problem = clustered(3, 40, 23, 4, 3);
    const split = toSplit(problem);
    const sizes: number[] = [];
    await searchNeighbours(split.trainFeatures, split.testFeatures, { k: 3, distance: 'cosine', normalize: true, chunkSize: 10 }, (chunk) =>
      sizes.push(chunk.rows),
    );
    expect(sizes).toEqual([10, 10, 3]);
    disposeSplit(split);
  });

  it('stays finite for T = 0.001 and features scaled by 1e4', async () => {
    const problem = clustered(5, 60, 20, 5, 4);
    const scaled = { ...problem, train: problem.train.map((r) => r.map((x) => x * 1e4)), test: problem.test.map((r) => r.map((x) => x * 1e4)) };
    const split = toSplit(scaled);
    for (const distance of ['cosine', 'euclidean'] as const) {
      const got = await knnEvaluate(split, { k: 10, temperature: 1e-3, distance, normalize: distance === 'cosine' });
      // T -> 0 makes the vote the nearest neighbour's label.
      const nearest = await knnEvaluate(split, { k: 1, distance, normalize: distance === 'cosine' });
      expect(Array.from(got.predictions)).toEqual(Array.from(nearest.predictions));
    }
    disposeSplit(split);
  });

  it('knnClassifier.predict needs no test labels and agrees with evaluate', async () => {
    const problem = clustered(9, 50, 15, 4, 3);
    const split = toSplit(problem);
    const knn = knnClassifier({ k: 5, temperature: 0.1 });
    expect(knn).toMatchObject({ k: 5, temperature: 0.1, distance: 'cosine', normalize: true });
    const predictions = await knn.predict({ trainFeatures: split.trainFeatures, trainLabels: split.trainLabels, testFeatures: split.testFeatures });
    const evaluated = await knn.evaluate(split);
    expect(Array.from(predictions)).toEqual(Array.from(evaluated.predictions));
    disposeSplit(split);
  });

  it('leaks no tensor and leaves its inputs alive', async () => {
    const split = toSplit(clustered(2, 30, 12, 4, 3));
    await expectNoLeak(async () => {
      await knnEvaluate(split, { k: 4, chunkSize: 5 });
      await knnEvaluate(split, { k: 4, distance: 'euclidean', normalize: false });
      await knnClassifier().predict({ ...split, testFeatures: split.testFeatures });
    });
    expect(split.trainFeatures.isDisposed || split.testFeatures.isDisposed).toBe(false);
    // A rejected call leaks nothing either.
    await expectNoLeak(async () => {
      await expect(knnEvaluate(split, { k: 31 })).rejects.toThrow();
    });
    disposeSplit(split);
  });
});

interface GoldenSet {
  embeddings: Rows;
  labels: number[];
}
interface GoldenKnn {
  name: string;
  inputs: { bank: string; query: string };
  params: { k: number; similarity: string; weighted_temperature: number };
  expected: { top1_weighted: number; pred_weighted: number[]; neighbour_indices: number[][] };
}
const golden = JSON.parse(readFileSync(new URL('../../../../shared/golden/pytorch-reference.json', import.meta.url), 'utf8')) as {
  input_sets: Record<string, GoldenSet>;
  metrics: GoldenKnn[];
};

describe('knnEvaluate: golden values from the PyTorch reference', () => {
  const knnCase = golden.metrics.find((metric) => metric.name === 'knn_top1_k5_cosine') as GoldenKnn;

  it('knn_top1_k5_cosine: neighbours, weighted predictions and top-1', async () => {
    expect(knnCase.params).toEqual({ k: 5, similarity: 'cosine', weighted_temperature: 0.1 });
    const bank = golden.input_sets[knnCase.inputs.bank] as GoldenSet;
    const query = golden.input_sets[knnCase.inputs.query] as GoldenSet;
    const split = toSplit({ train: bank.embeddings, trainLabels: bank.labels, test: query.embeddings, testLabels: query.labels });
    const result = await knnEvaluate(split, { k: 5, temperature: 0.1 });
    expect(Array.from(result.predictions)).toEqual(knnCase.expected.pred_weighted);
    expect(result.top1).toBe(knnCase.expected.top1_weighted);
    const neighbours: number[][] = [];
    await searchNeighbours(split.trainFeatures, split.testFeatures, { k: 5, distance: 'cosine', normalize: true, chunkSize: 7 }, (chunk) => {
      for (let row = 0; row < chunk.rows; row++) neighbours.push(Array.from(chunk.indices.subarray(row * 5, row * 5 + 5)));
    });
    expect(neighbours).toEqual(knnCase.expected.neighbour_indices);
    disposeSplit(split);
  });
});

describe('knnEvaluate: validation', () => {
  const problem = clustered(1, 10, 4, 3, 2);

  it.each([
    [{ k: 0 }, /Argument 'k' passed to 'knnEvaluate' must be an integer >= 1, got 0/],
    [{ k: 2.5 }, /Argument 'k' passed to 'knnEvaluate' must be an integer >= 1, got 2.5/],
    [{ k: 11 }, /Argument 'k' passed to 'knnEvaluate' must be <= 10 \(the number of train rows\), got 11/],
    [{ temperature: 0 }, /Argument 'temperature' passed to 'knnEvaluate' must be a finite number > 0, got 0/],
    [{ temperature: -0.1 }, /Argument 'temperature' passed to 'knnEvaluate' must be a finite number > 0, got -0.1/],
    [{ distance: 'manhattan' as KnnDistance }, /Argument 'distance' passed to 'knnEvaluate' must be one of "cosine", "euclidean", got "manhattan"/],
    [{ chunkSize: 0 }, /Argument 'chunkSize' passed to 'knnEvaluate' must be an integer >= 1, got 0/],
    [{ numClasses: 1, k: 3 }, /Argument 'trainLabels' passed to 'knnEvaluate' must hold class indices < numClasses \(1\), got 1/],
  ])('options %j', async (options, message) => {
    const split = toSplit(problem);
    await expect(knnEvaluate(split, options)).rejects.toThrow(message);
    disposeSplit(split);
  });

  it('factory validates hyper-parameters synchronously', () => {
    expect(() => knnClassifier({ temperature: 0 })).toThrow(/Argument 'temperature' passed to 'knnClassifier' must be a finite number > 0/);
    expect(() => knnClassifier({ k: 0 })).toThrow(/Argument 'k' passed to 'knnClassifier'/);
  });

  it('rejects bad tensors with named ContrastiveErrors', async () => {
    const split = toSplit(problem);
    const floatLabels = tf.tensor1d([0, 1, 0, 1]);
    const shortLabels = tf.tensor1d([0, 1, 0], 'int32');
    const negative = tf.tensor1d([0, -1, 0, 1], 'int32');
    const wide = tf.tensor2d([[1, 2, 3, 4]]);
    const vector = tf.tensor1d([1, 2, 3]);
    const intFeatures = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    const nan = tf.tensor2d([[1, Number.NaN, 3]]);
    const oneLabel = tf.tensor1d([0], 'int32');
    const cases: [Partial<EvaluationSplit>, RegExp, string][] = [
      [{ testLabels: floatLabels }, /Argument 'testLabels' passed to 'knnEvaluate' must have dtype int32, got float32/, 'DTYPE_MISMATCH'],
      [{ testLabels: shortLabels }, /Argument 'testLabels' passed to 'knnEvaluate' must have 4 entries \(one per embedding\), got 3/, 'LABEL_COUNT'],
      [{ testLabels: negative }, /Argument 'testLabels' passed to 'knnEvaluate' must hold class indices >= 0, got -1 at index 1/, 'INVALID_ARGUMENT'],
      [{ testFeatures: wide }, /Argument 'testFeatures' passed to 'knnEvaluate' must have 3 columns/, 'SHAPE_MISMATCH'],
      [{ trainFeatures: vector as unknown as tf.Tensor2D }, /Argument 'trainFeatures' passed to 'knnEvaluate' must be rank 2, got rank 1/, 'SHAPE_MISMATCH'],
      [{ trainFeatures: intFeatures }, /Argument 'trainFeatures' passed to 'knnEvaluate' must have dtype float32, got int32/, 'DTYPE_MISMATCH'],
      [{ testFeatures: nan, testLabels: oneLabel }, /Argument 'testFeatures' passed to 'knnEvaluate' must hold finite values/, 'NON_FINITE'],
    ];
    for (const [override, message, code] of cases) {
      const call = knnEvaluate({ ...split, ...override } as EvaluationSplit, { k: 3 });
      await expect(call).rejects.toThrow(message);
      await call.catch((error: unknown) => {
        expect(isContrastiveError(error)).toBe(true);
        expect((error as { code: string }).code).toBe(code);
      });
    }
    await expect(knnEvaluate(null as unknown as EvaluationSplit)).rejects.toThrow(/Argument 'input' passed to 'knnEvaluate' must be an object/);
    tf.dispose([floatLabels, shortLabels, negative, wide, vector, intFeatures, nan, oneLabel]);
    disposeSplit(split);
  });
});
