/**
 * Reliability battery of `@contrastive/eval` (issue 9): every runtime export of the index has
 * bad-input cases (each a `ContrastiveError` with a stable code naming the argument) or a reason
 * to be exempt, and fast-check properties show that no metric returns NaN or Infinity for finite
 * input — duplicates, zero vectors, a set of one and `k` larger than the set included.
 */
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@contrastive/core';
import { expectRejectsContrastive, exportCoverageGaps, useTestBackend } from '@contrastive/core/testing';
import type { BadInputCase, ExportCoverage } from '@contrastive/core/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as api from './index.js';
import type { AnnIndex, EvaluationSplit } from './index.js';

beforeAll(async () => {
  await useTestBackend();
});

// Tensors made by a case; disposed after it, so each case starts and ends with the same count.
const made: tf.Tensor[] = [];
afterEach(() => {
  tf.dispose(made.splice(0));
});

function own<T extends tf.Tensor>(tensor: T): T {
  made.push(tensor);
  return tensor;
}

/** `[n, d]` float32 of distinct, deterministic values (`fill` overrides every entry). */
function matrix(n: number, d: number, fill?: number): tf.Tensor2D {
  const values = Array.from({ length: n * d }, (_, i) => fill ?? Math.sin(1.3 * i + 0.7) + (i % d === i % 3 ? 0.5 : 0));
  return own(tf.tensor2d(values, [n, d], 'float32'));
}

/** `[n, d]` float32 with one entry replaced by `value` (NaN, Infinity). */
function poisoned(n: number, d: number, value: number, at = 0): tf.Tensor2D {
  const values = Array.from({ length: n * d }, (_, i) => (i === at ? value : Math.cos(0.9 * i)));
  return own(tf.tensor2d(values, [n, d], 'float32'));
}

function labels(values: readonly number[]): tf.Tensor1D {
  return own(tf.tensor1d([...values], 'int32'));
}

function floatLabels(values: readonly number[]): tf.Tensor1D {
  return own(tf.tensor1d([...values], 'float32'));
}

function disposedMatrix(n = 4, d = 2): tf.Tensor2D {
  const tensor = tf.tensor2d(Array.from({ length: n * d }, (_, i) => i), [n, d]);
  tensor.dispose();
  return tensor;
}

/** A valid split (4 train rows of 2 classes, 2 test rows) with fields overridden. */
function split(overrides: Partial<Record<keyof EvaluationSplit, unknown>> = {}): EvaluationSplit {
  return {
    trainFeatures: matrix(4, 3),
    trainLabels: labels([0, 0, 1, 1]),
    testFeatures: matrix(2, 3),
    testLabels: labels([0, 1]),
    ...overrides,
  } as EvaluationSplit;
}

/** Cases shared by every function taking an {@link EvaluationSplit}. */
function splitCases(run: (input: EvaluationSplit) => unknown, withTestLabels = true): BadInputCase[] {
  const cases: BadInputCase[] = [
    { what: 'input not an object', run: () => run(null as unknown as EvaluationSplit), code: 'INVALID_ARGUMENT', argument: 'input' },
    { what: 'trainFeatures of rank 1', run: () => run(split({ trainFeatures: own(tf.tensor1d([1, 2, 3])) })), code: 'SHAPE_MISMATCH', argument: 'trainFeatures' },
    { what: 'trainFeatures int32', run: () => run(split({ trainFeatures: own(tf.tensor2d([[1], [2], [3], [4]], [4, 1], 'int32')) })), code: 'DTYPE_MISMATCH', argument: 'trainFeatures' },
    { what: 'empty train set', run: () => run(split({ trainFeatures: matrix(0, 3), trainLabels: labels([]) })), code: 'SHAPE_MISMATCH', argument: 'trainFeatures' },
    { what: 'empty test set', run: () => run(split({ testFeatures: matrix(0, 3), testLabels: labels([]) })), code: 'SHAPE_MISMATCH', argument: 'testFeatures' },
    { what: 'testFeatures of another dimension', run: () => run(split({ testFeatures: matrix(2, 5) })), code: 'SHAPE_MISMATCH', argument: 'testFeatures' },
    { what: 'trainLabels of the wrong length', run: () => run(split({ trainLabels: labels([0, 1, 1]) })), code: 'LABEL_COUNT', argument: 'trainLabels' },
    { what: 'float trainLabels', run: () => run(split({ trainLabels: floatLabels([0, 0, 1, 1]) })), code: 'DTYPE_MISMATCH', argument: 'trainLabels' },
    { what: 'negative trainLabels', run: () => run(split({ trainLabels: labels([0, -1, 1, 1]) })), code: 'INVALID_ARGUMENT', argument: 'trainLabels' },
    { what: 'NaN in trainFeatures', run: () => run(split({ trainFeatures: poisoned(4, 3, NaN, 5) })), code: 'NON_FINITE', argument: 'trainFeatures' },
    { what: 'Infinity in testFeatures', run: () => run(split({ testFeatures: poisoned(2, 3, -Infinity, 1) })), code: 'NON_FINITE', argument: 'testFeatures' },
    { what: 'disposed trainFeatures', run: () => run(split({ trainFeatures: disposedMatrix(4, 3) })), code: 'DISPOSED', argument: 'trainFeatures' },
  ];
  if (withTestLabels) {
    cases.push(
      { what: 'testLabels of the wrong length', run: () => run(split({ testLabels: labels([0]) })), code: 'LABEL_COUNT', argument: 'testLabels' },
      { what: 'float testLabels', run: () => run(split({ testLabels: floatLabels([0, 1]) })), code: 'DTYPE_MISMATCH', argument: 'testLabels' },
    );
  }
  return cases;
}

/** A stand-in index for the `annIndex` option (never searched: the mismatch is caught first). */
function fakeIndex(size: number, dimension: number): AnnIndex {
  return { size, dimension, distance: 'euclidean', search: async () => new Int32Array(0), dispose: () => undefined };
}

function retrieval(overrides: Record<string, unknown> = {}): Promise<unknown> {
  return api.retrievalMetrics({ query: matrix(4, 2), queryLabels: labels([0, 0, 1, 1]), ...overrides } as Parameters<typeof api.retrievalMetrics>[0]);
}

function pairs(overrides: Record<string, unknown> = {}): { scores: number[]; same: boolean[] } {
  return { scores: [0.1, 0.4, 0.8, 0.9], same: [true, true, false, false], ...overrides } as { scores: number[]; same: boolean[] };
}

const coverage: Record<keyof typeof api, ExportCoverage> = {
  MAX_RANK_DIMENSION: { exempt: 'a number constant (the largest min(n, d) of rankMe / effectiveRank / the report PCA)' },
  knnEvaluate: [
    ...splitCases((input) => api.knnEvaluate(input, { k: 2 })),
    { what: 'k larger than the train set', run: () => api.knnEvaluate(split(), { k: 5 }), code: 'INVALID_ARGUMENT', argument: 'k' },
    { what: 'k = 0', run: () => api.knnEvaluate(split(), { k: 0 }), code: 'INVALID_ARGUMENT', argument: 'k' },
    { what: 'non-integer k', run: () => api.knnEvaluate(split(), { k: 1.5 }), code: 'INVALID_ARGUMENT', argument: 'k' },
    { what: 'temperature 0', run: () => api.knnEvaluate(split(), { k: 2, temperature: 0 }), code: 'INVALID_ARGUMENT', argument: 'temperature' },
    { what: 'negative temperature', run: () => api.knnEvaluate(split(), { k: 2, temperature: -0.1 }), code: 'INVALID_ARGUMENT', argument: 'temperature' },
    { what: 'NaN temperature', run: () => api.knnEvaluate(split(), { k: 2, temperature: NaN }), code: 'INVALID_ARGUMENT', argument: 'temperature' },
    { what: 'unknown distance', run: () => api.knnEvaluate(split(), { distance: 'manhattan' as 'cosine' }), code: 'INVALID_ARGUMENT', argument: 'distance' },
    { what: 'labels >= numClasses', run: () => api.knnEvaluate(split(), { k: 2, numClasses: 1 }), code: 'INVALID_ARGUMENT', argument: 'trainLabels' },
    { what: 'chunkSize 0', run: () => api.knnEvaluate(split(), { k: 2, chunkSize: 0 }), code: 'INVALID_ARGUMENT', argument: 'chunkSize' },
    { what: 'options not an object', run: () => api.knnEvaluate(split(), null as unknown as object), code: 'INVALID_ARGUMENT', argument: 'options' },
  ],
  knnClassifier: [
    { what: 'k = 0', run: () => api.knnClassifier({ k: 0 }), code: 'INVALID_ARGUMENT', argument: 'k' },
    { what: 'temperature 0', run: () => api.knnClassifier({ temperature: 0 }), code: 'INVALID_ARGUMENT', argument: 'temperature' },
    { what: 'normalize not a boolean', run: () => api.knnClassifier({ normalize: 1 as unknown as boolean }), code: 'INVALID_ARGUMENT', argument: 'normalize' },
    { what: 'numClasses 0', run: () => api.knnClassifier({ numClasses: 0 }), code: 'INVALID_ARGUMENT', argument: 'numClasses' },
    ...splitCases((input) => api.knnClassifier({ k: 2 }).evaluate(input)).map((entry) => ({ ...entry, what: `evaluate: ${entry.what}` })),
    ...splitCases((input) => api.knnClassifier({ k: 2 }).predict(input), false).map((entry) => ({ ...entry, what: `predict: ${entry.what}` })),
    { what: 'predict: k larger than the train set', run: () => api.knnClassifier({ k: 9 }).predict(split()), code: 'INVALID_ARGUMENT', argument: 'k' },
  ],
  linearProbe: [
    ...splitCases((input) => api.linearProbe(input, { steps: 2 })),
    { what: 'unknown method', run: () => api.linearProbe(split(), { method: 'sgd' as 'adam' }), code: 'INVALID_ARGUMENT', argument: 'method' },
    { what: 'steps 0', run: () => api.linearProbe(split(), { steps: 0 }), code: 'INVALID_ARGUMENT', argument: 'steps' },
    { what: 'learningRate 0', run: () => api.linearProbe(split(), { learningRate: 0 }), code: 'INVALID_ARGUMENT', argument: 'learningRate' },
    { what: 'negative l2', run: () => api.linearProbe(split(), { l2: -1e-4 }), code: 'INVALID_ARGUMENT', argument: 'l2' },
    { what: 'history 0', run: () => api.linearProbe(split(), { method: 'lbfgs', history: 0 }), code: 'INVALID_ARGUMENT', argument: 'history' },
    { what: 'negative gradientTolerance', run: () => api.linearProbe(split(), { gradientTolerance: -1 }), code: 'INVALID_ARGUMENT', argument: 'gradientTolerance' },
    { what: 'labels >= numClasses', run: () => api.linearProbe(split(), { steps: 2, numClasses: 1 }), code: 'INVALID_ARGUMENT', argument: 'trainLabels' },
    { what: 'options not an object', run: () => api.linearProbe(split(), null as unknown as object), code: 'INVALID_ARGUMENT', argument: 'options' },
  ],
  projectorExport: [
    { what: 'embeddings of rank 1', run: () => api.projectorExport(own(tf.tensor1d([1, 2])) as unknown as tf.Tensor2D), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'empty embeddings', run: () => api.projectorExport(matrix(0, 2)), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'NaN in the embeddings', run: () => api.projectorExport(poisoned(2, 2, NaN, 3)), code: 'NON_FINITE', argument: 'embeddings' },
    { what: 'disposed embeddings', run: () => api.projectorExport(disposedMatrix()), code: 'DISPOSED', argument: 'embeddings' },
    { what: 'precision 0', run: () => api.projectorExport(matrix(2, 2), { precision: 0 }), code: 'INVALID_ARGUMENT', argument: 'precision' },
    { what: 'a column with one value too few', run: () => api.projectorExport(matrix(2, 2), { columns: [{ name: 'label', values: [1] }] }), code: 'INVALID_ARGUMENT', argument: 'columns[0].values' },
    { what: 'a column name with a tab', run: () => api.projectorExport(matrix(2, 2), { columns: [{ name: 'a\tb', values: [1, 2] }] }), code: 'INVALID_ARGUMENT', argument: 'columns[0].name' },
  ],
  retrievalMetrics: [
    { what: 'options not an object', run: () => api.retrievalMetrics(null as unknown as Parameters<typeof api.retrievalMetrics>[0]), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: 'query of rank 1', run: () => retrieval({ query: own(tf.tensor1d([1, 2, 3, 4])) }), code: 'SHAPE_MISMATCH', argument: 'query' },
    { what: 'empty query', run: () => retrieval({ query: matrix(0, 2), queryLabels: labels([]) }), code: 'SHAPE_MISMATCH', argument: 'query' },
    { what: 'queryLabels of the wrong length', run: () => retrieval({ queryLabels: labels([0, 1]) }), code: 'LABEL_COUNT', argument: 'queryLabels' },
    { what: 'float queryLabels', run: () => retrieval({ queryLabels: floatLabels([0, 0, 1, 1]) }), code: 'DTYPE_MISMATCH', argument: 'queryLabels' },
    { what: 'reference of another dimension', run: () => retrieval({ reference: matrix(3, 5), referenceLabels: labels([0, 1, 1]) }), code: 'SHAPE_MISMATCH', argument: 'reference' },
    { what: 'reference without referenceLabels', run: () => retrieval({ reference: matrix(3, 2) }), code: 'INVALID_ARGUMENT', argument: 'referenceLabels' },
    { what: 'referenceLabels without reference', run: () => retrieval({ referenceLabels: labels([0]) }), code: 'INVALID_ARGUMENT', argument: 'referenceLabels' },
    { what: 'referenceLabels of the wrong length', run: () => retrieval({ reference: matrix(3, 2), referenceLabels: labels([0, 1]) }), code: 'LABEL_COUNT', argument: 'referenceLabels' },
    { what: 'NaN in the query', run: () => retrieval({ query: poisoned(4, 2, NaN, 2) }), code: 'NON_FINITE', argument: 'query' },
    { what: 'Infinity in the reference', run: () => retrieval({ reference: poisoned(3, 2, Infinity), referenceLabels: labels([0, 1, 1]) }), code: 'NON_FINITE', argument: 'reference' },
    { what: 'disposed query', run: () => retrieval({ query: disposedMatrix() }), code: 'DISPOSED', argument: 'query' },
    { what: 'k = 0', run: () => retrieval({ k: 0 }), code: 'INVALID_ARGUMENT', argument: 'k' },
    { what: 'non-integer k', run: () => retrieval({ k: 2.5 }), code: 'INVALID_ARGUMENT', argument: 'k' },
    { what: 'unknown k keyword', run: () => retrieval({ k: 'every' }), code: 'INVALID_ARGUMENT', argument: 'k' },
    { what: 'precisionAtK without a numeric k', run: () => retrieval({ metrics: ['precisionAtK'] }), code: 'INVALID_ARGUMENT', argument: 'k' },
    { what: 'unknown distance', run: () => retrieval({ distance: 'manhattan' }), code: 'INVALID_ARGUMENT', argument: 'distance' },
    { what: 'unknown averaging', run: () => retrieval({ averaging: 'weighted' }), code: 'INVALID_ARGUMENT', argument: 'averaging' },
    { what: 'empty metrics', run: () => retrieval({ metrics: [] }), code: 'INVALID_ARGUMENT', argument: 'metrics' },
    { what: 'unknown metric', run: () => retrieval({ metrics: ['auc'] }), code: 'INVALID_ARGUMENT', argument: 'metrics' },
    { what: 'chunkSize 0', run: () => retrieval({ chunkSize: 0 }), code: 'INVALID_ARGUMENT', argument: 'chunkSize' },
    { what: 'unknown engine', run: () => retrieval({ engine: 'gpu' }), code: 'INVALID_ARGUMENT', argument: 'engine' },
    { what: 'threads 0', run: () => retrieval({ threads: 0 }), code: 'INVALID_ARGUMENT', argument: 'threads' },
    { what: 'annIndex of another size', run: () => retrieval({ annIndex: fakeIndex(9, 2) }), code: 'INVALID_ARGUMENT', argument: 'annIndex' },
  ],
  hnswIndex: [
    { what: 'reference of rank 1', run: () => api.hnswIndex(own(tf.tensor1d([1, 2])) as unknown as tf.Tensor2D), code: 'SHAPE_MISMATCH', argument: 'reference' },
    { what: 'empty reference', run: () => api.hnswIndex(matrix(0, 2)), code: 'SHAPE_MISMATCH', argument: 'reference' },
    { what: 'NaN in the reference', run: () => api.hnswIndex(poisoned(3, 2, NaN)), code: 'NON_FINITE', argument: 'reference' },
    { what: 'disposed reference', run: () => api.hnswIndex(disposedMatrix()), code: 'DISPOSED', argument: 'reference' },
    { what: 'unknown distance', run: () => api.hnswIndex(matrix(3, 2), { distance: 'l1' as 'dot' }), code: 'INVALID_ARGUMENT', argument: 'distance' },
    { what: 'graph degree m = 1', run: () => api.hnswIndex(matrix(3, 2), { m: 1 }), code: 'INVALID_ARGUMENT', argument: 'm' },
    { what: 'ef 0', run: () => api.hnswIndex(matrix(3, 2), { ef: 0 }), code: 'INVALID_ARGUMENT', argument: 'ef' },
    { what: 'negative seed', run: () => api.hnswIndex(matrix(3, 2), { seed: -1 }), code: 'INVALID_ARGUMENT', argument: 'seed' },
    {
      what: 'search: k larger than the index',
      run: async () => {
        const index = await api.hnswIndex(matrix(3, 2));
        try {
          return await index.search(new Float32Array(2), 1, 4);
        } finally {
          index.dispose();
        }
      },
      code: 'INVALID_ARGUMENT',
      argument: 'k',
    },
    {
      what: 'search: queries of the wrong length',
      run: async () => {
        const index = await api.hnswIndex(matrix(3, 2));
        try {
          return await index.search(new Float32Array(3), 1, 1);
        } finally {
          index.dispose();
        }
      },
      code: 'SHAPE_MISMATCH',
      argument: 'queries',
    },
    {
      what: 'search after dispose',
      run: async () => {
        const index = await api.hnswIndex(matrix(3, 2));
        index.dispose();
        return index.search(new Float32Array(2), 1, 1);
      },
      code: 'DISPOSED',
      argument: null,
    },
  ],
  clusteringScores: [
    { what: 'labelsPred of another length', run: () => api.clusteringScores([0, 1, 1], [0, 1]), code: 'LABEL_COUNT', argument: 'labelsPred' },
    { what: 'NaN label', run: () => api.clusteringScores([0, NaN], [0, 1]), code: 'INVALID_ARGUMENT', argument: 'labelsTrue' },
    { what: 'Infinity label', run: () => api.clusteringScores([0, 1], [Infinity, 1]), code: 'INVALID_ARGUMENT', argument: 'labelsPred' },
    { what: 'labelsTrue not an array', run: () => api.clusteringScores(null as unknown as number[], [0]), code: 'INVALID_ARGUMENT', argument: 'labelsTrue' },
    { what: 'labels tensor of rank 2', run: () => api.clusteringScores(own(tf.tensor2d([[0, 1]], [1, 2], 'int32')) as unknown as tf.Tensor1D, [0, 1]), code: 'SHAPE_MISMATCH', argument: 'labelsTrue' },
    { what: 'bool labels tensor', run: () => api.clusteringScores([0, 1], own(tf.tensor1d([1, 0], 'bool'))), code: 'DTYPE_MISMATCH', argument: 'labelsPred' },
    {
      what: 'disposed labels tensor',
      run: () => {
        const disposed = tf.tensor1d([0, 1], 'int32');
        disposed.dispose();
        return api.clusteringScores(disposed, [0, 1]);
      },
      code: 'DISPOSED',
      argument: 'labelsTrue',
    },
  ],
  clusterEmbeddings: [
    { what: 'embeddings of rank 1', run: () => api.clusterEmbeddings(own(tf.tensor1d([1, 2])) as unknown as tf.Tensor2D, [0, 1]), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'empty embeddings', run: () => api.clusterEmbeddings(matrix(0, 2), []), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'labels of the wrong length', run: () => api.clusterEmbeddings(matrix(4, 2), [0, 1]), code: 'LABEL_COUNT', argument: 'labels' },
    { what: 'NaN label', run: () => api.clusterEmbeddings(matrix(2, 2), [0, NaN]), code: 'INVALID_ARGUMENT', argument: 'labels' },
    { what: 'k larger than the set', run: () => api.clusterEmbeddings(matrix(3, 2), [0, 1, 1], { k: 4 }), code: 'INVALID_ARGUMENT', argument: 'k' },
    { what: 'k = 0', run: () => api.clusterEmbeddings(matrix(3, 2), [0, 1, 1], { k: 0 }), code: 'INVALID_ARGUMENT', argument: 'k' },
    { what: 'unknown metric', run: () => api.clusterEmbeddings(matrix(3, 2), [0, 1, 1], { metric: 'l1' as 'cosine' }), code: 'INVALID_ARGUMENT', argument: 'metric' },
    { what: 'restarts 0', run: () => api.clusterEmbeddings(matrix(3, 2), [0, 1, 1], { restarts: 0 }), code: 'INVALID_ARGUMENT', argument: 'restarts' },
    { what: 'rng not an Rng', run: () => api.clusterEmbeddings(matrix(3, 2), [0, 1, 1], { rng: {} as Rng }), code: 'INVALID_ARGUMENT', argument: 'rng' },
    { what: 'NaN in the embeddings', run: () => api.clusterEmbeddings(poisoned(3, 2, NaN, 4), [0, 1, 1]), code: 'NON_FINITE', argument: 'embeddings' },
    { what: 'a zero row with metric cosine', run: () => api.clusterEmbeddings(own(tf.tensor2d([[1, 0], [0, 0], [0, 1]])), [0, 1, 1], { metric: 'cosine' }), code: 'INVALID_ARGUMENT', argument: 'embeddings' },
    { what: 'disposed embeddings', run: () => api.clusterEmbeddings(disposedMatrix(), [0, 0, 1, 1]), code: 'DISPOSED', argument: 'embeddings' },
  ],
  verificationMetrics: [
    { what: 'input not an object', run: () => api.verificationMetrics(null as unknown as Parameters<typeof api.verificationMetrics>[0]), code: 'INVALID_ARGUMENT', argument: 'input' },
    { what: 'empty scores', run: () => api.verificationMetrics({ ...pairs({ scores: [], same: [] }), threshold: 0.5 }), code: 'SHAPE_MISMATCH', argument: 'scores' },
    { what: 'NaN score', run: () => api.verificationMetrics({ ...pairs({ scores: [0.1, NaN, 0.2, 0.3] }), threshold: 0.5 }), code: 'NON_FINITE', argument: 'scores' },
    { what: 'Infinity score', run: () => api.verificationMetrics({ ...pairs({ scores: [0.1, 0.2, Infinity, 0.3] }), threshold: 0.5 }), code: 'NON_FINITE', argument: 'scores' },
    { what: 'same of another length', run: () => api.verificationMetrics({ ...pairs({ same: [true, false] }), threshold: 0.5 }), code: 'LABEL_COUNT', argument: 'same' },
    { what: 'same holding 2', run: () => api.verificationMetrics({ ...pairs({ same: [1, 0, 2, 0] }), threshold: 0.5 }), code: 'INVALID_ARGUMENT', argument: 'same' },
    { what: 'NaN threshold', run: () => api.verificationMetrics({ ...pairs(), threshold: NaN }), code: 'INVALID_ARGUMENT', argument: 'threshold' },
    { what: 'higherIsSimilar not a boolean', run: () => api.verificationMetrics({ ...pairs(), threshold: 0.5, higherIsSimilar: 'yes' as unknown as boolean }), code: 'INVALID_ARGUMENT', argument: 'higherIsSimilar' },
    { what: 'int32 scores tensor', run: () => api.verificationMetrics({ ...pairs({ scores: own(tf.tensor1d([1, 2, 3, 4], 'int32')) }), threshold: 0.5 }), code: 'DTYPE_MISMATCH', argument: 'scores' },
    { what: 'scores tensor of rank 2', run: () => api.verificationMetrics({ ...pairs({ scores: own(tf.tensor2d([[1, 2, 3, 4]])) }), threshold: 0.5 }), code: 'SHAPE_MISMATCH', argument: 'scores' },
    {
      what: 'disposed scores tensor',
      run: () => {
        const disposed = tf.tensor1d([0.1, 0.4, 0.8, 0.9]);
        disposed.dispose();
        return api.verificationMetrics({ ...pairs({ scores: disposed }), threshold: 0.5 });
      },
      code: 'DISPOSED',
      argument: 'scores',
    },
  ],
  calibrateThreshold: [
    { what: 'input not an object', run: () => api.calibrateThreshold(undefined as unknown as Parameters<typeof api.calibrateThreshold>[0]), code: 'INVALID_ARGUMENT', argument: 'input' },
    { what: 'empty scores', run: () => api.calibrateThreshold(pairs({ scores: [], same: [] })), code: 'SHAPE_MISMATCH', argument: 'scores' },
    { what: 'NaN score', run: () => api.calibrateThreshold(pairs({ scores: [NaN, 0.1, 0.2, 0.3] })), code: 'NON_FINITE', argument: 'scores' },
    { what: 'same of another length', run: () => api.calibrateThreshold(pairs({ same: [true] })), code: 'LABEL_COUNT', argument: 'same' },
    { what: 'no positive pair', run: () => api.calibrateThreshold(pairs({ same: [false, false, false, false] })), code: 'INVALID_ARGUMENT', argument: 'same' },
    { what: 'precisionAtRecall 0', run: () => api.calibrateThreshold({ ...pairs(), target: { precisionAtRecall: 0 } }), code: 'INVALID_ARGUMENT', argument: 'target.precisionAtRecall' },
    { what: 'precisionAtRecall above 1', run: () => api.calibrateThreshold({ ...pairs(), target: { precisionAtRecall: 1.5 } }), code: 'INVALID_ARGUMENT', argument: 'target.precisionAtRecall' },
    { what: 'unknown target', run: () => api.calibrateThreshold({ ...pairs(), target: 'auc' as 'f1' }), code: 'INVALID_ARGUMENT', argument: 'target' },
  ],
  alignment: [
    { what: 'x of rank 1', run: () => api.alignment(own(tf.tensor1d([1, 2])) as unknown as tf.Tensor2D, matrix(2, 1)), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'empty x', run: () => api.alignment(matrix(0, 2), matrix(0, 2)), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'y with fewer rows', run: () => api.alignment(matrix(3, 2), matrix(2, 2)), code: 'SHAPE_MISMATCH', argument: 'y' },
    { what: 'y of another dimension', run: () => api.alignment(matrix(3, 2), matrix(3, 3)), code: 'SHAPE_MISMATCH', argument: 'y' },
    { what: 'y int32', run: () => api.alignment(matrix(2, 2), own(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'))), code: 'DTYPE_MISMATCH', argument: 'y' },
    { what: 'alpha 0', run: () => api.alignment(matrix(2, 2), matrix(2, 2), { alpha: 0 }), code: 'INVALID_ARGUMENT', argument: 'alpha' },
    { what: 'NaN in x', run: () => api.alignment(poisoned(2, 2, NaN), matrix(2, 2)), code: 'NON_FINITE', argument: 'x' },
    { what: 'Infinity in y', run: () => api.alignment(matrix(2, 2), poisoned(2, 2, Infinity, 3)), code: 'NON_FINITE', argument: 'y' },
    { what: 'disposed x', run: () => api.alignment(disposedMatrix(2, 2), matrix(2, 2)), code: 'DISPOSED', argument: 'x' },
  ],
  uniformity: [
    { what: 'a set of one', run: () => api.uniformity(matrix(1, 2)), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'x of rank 3', run: () => api.uniformity(own(tf.zeros([2, 2, 2])) as unknown as tf.Tensor2D), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 't 0', run: () => api.uniformity(matrix(3, 2), { t: 0 }), code: 'INVALID_ARGUMENT', argument: 't' },
    { what: 'negative t', run: () => api.uniformity(matrix(3, 2), { t: -2 }), code: 'INVALID_ARGUMENT', argument: 't' },
    { what: 'chunkSize 0', run: () => api.uniformity(matrix(3, 2), { chunkSize: 0 }), code: 'INVALID_ARGUMENT', argument: 'chunkSize' },
    { what: 'NaN in x', run: () => api.uniformity(poisoned(3, 2, NaN, 5)), code: 'NON_FINITE', argument: 'x' },
    { what: 'disposed x', run: () => api.uniformity(disposedMatrix()), code: 'DISPOSED', argument: 'x' },
  ],
  rankMe: [
    { what: 'x of rank 1', run: () => api.rankMe(own(tf.tensor1d([1, 2])) as unknown as tf.Tensor2D), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'empty x', run: () => api.rankMe(matrix(0, 3)), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'all-zero x', run: () => api.rankMe(matrix(3, 2, 0)), code: 'INVALID_ARGUMENT', argument: 'x' },
    { what: 'negative epsilon', run: () => api.rankMe(matrix(3, 2), { epsilon: -1e-7 }), code: 'INVALID_ARGUMENT', argument: 'epsilon' },
    { what: 'NaN in x', run: () => api.rankMe(poisoned(3, 2, NaN)), code: 'NON_FINITE', argument: 'x' },
    { what: 'min(n, d) above MAX_RANK_DIMENSION', run: () => api.rankMe(matrix(api.MAX_RANK_DIMENSION + 1, api.MAX_RANK_DIMENSION + 1, 1)), code: 'INVALID_ARGUMENT', argument: 'x' },
    { what: 'disposed x', run: () => api.rankMe(disposedMatrix()), code: 'DISPOSED', argument: 'x' },
  ],
  effectiveRank: [
    { what: 'x int32', run: () => api.effectiveRank(own(tf.tensor2d([[1, 2]], [1, 2], 'int32'))), code: 'DTYPE_MISMATCH', argument: 'x' },
    { what: 'all-zero x', run: () => api.effectiveRank(matrix(2, 3, 0)), code: 'INVALID_ARGUMENT', argument: 'x' },
    { what: 'normalize not a boolean', run: () => api.effectiveRank(matrix(2, 3), { normalize: 'no' as unknown as boolean }), code: 'INVALID_ARGUMENT', argument: 'normalize' },
    { what: 'Infinity in x', run: () => api.effectiveRank(poisoned(3, 2, -Infinity, 2)), code: 'NON_FINITE', argument: 'x' },
    { what: 'chunkSize 0', run: () => api.effectiveRank(matrix(3, 2), { chunkSize: 0 }), code: 'INVALID_ARGUMENT', argument: 'chunkSize' },
  ],
  embeddingStd: [
    { what: 'a set of one', run: () => api.embeddingStd(matrix(1, 3)), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'x of rank 1', run: () => api.embeddingStd(own(tf.tensor1d([1, 2])) as unknown as tf.Tensor2D), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'NaN in x', run: () => api.embeddingStd(poisoned(3, 2, NaN, 1)), code: 'NON_FINITE', argument: 'x' },
    { what: 'chunkSize 0', run: () => api.embeddingStd(matrix(3, 2), { chunkSize: 0 }), code: 'INVALID_ARGUMENT', argument: 'chunkSize' },
    { what: 'disposed x', run: () => api.embeddingStd(disposedMatrix()), code: 'DISPOSED', argument: 'x' },
  ],
  pairDistanceStats: [
    { what: 'a set of one', run: () => api.pairDistanceStats(matrix(1, 2), labels([0])), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'labels of the wrong length', run: () => api.pairDistanceStats(matrix(3, 2), labels([0, 1])), code: 'LABEL_COUNT', argument: 'labels' },
    { what: 'float labels', run: () => api.pairDistanceStats(matrix(3, 2), floatLabels([0, 1, 1])), code: 'DTYPE_MISMATCH', argument: 'labels' },
    { what: 'a quantile level above 1', run: () => api.pairDistanceStats(matrix(3, 2), labels([0, 1, 1]), { quantiles: [0.5, 1.5] }), code: 'INVALID_ARGUMENT', argument: 'quantiles[1]' },
    { what: 'negative exactQuantilePairs', run: () => api.pairDistanceStats(matrix(3, 2), labels([0, 1, 1]), { exactQuantilePairs: -1 }), code: 'INVALID_ARGUMENT', argument: 'exactQuantilePairs' },
    { what: 'NaN in x', run: () => api.pairDistanceStats(poisoned(3, 2, NaN), labels([0, 1, 1])), code: 'NON_FINITE', argument: 'x' },
    {
      what: 'normalize: false with norms whose squared distances overflow float32',
      run: () => api.pairDistanceStats(own(tf.tensor2d([[0, 2e19], [0, 0], [1, 1]])), labels([0, 0, 1]), { normalize: false }),
      code: 'NON_FINITE',
      argument: 'x',
    },
    { what: 'disposed labels', run: () => { const disposed = tf.tensor1d([0, 1, 1], 'int32'); disposed.dispose(); return api.pairDistanceStats(matrix(3, 2), disposed); }, code: 'DISPOSED', argument: 'labels' },
  ],
  embeddingReport: [
    { what: 'input not an object', run: () => api.embeddingReport(null as unknown as Parameters<typeof api.embeddingReport>[0]), code: 'INVALID_ARGUMENT', argument: 'input' },
    { what: 'embeddings of rank 1', run: () => api.embeddingReport({ embeddings: own(tf.tensor1d([1, 2])) as unknown as tf.Tensor2D }), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'NaN in the embeddings', run: () => api.embeddingReport({ embeddings: poisoned(3, 2, NaN) }), code: 'NON_FINITE', argument: 'embeddings' },
    { what: 'labels of the wrong length', run: () => api.embeddingReport({ embeddings: matrix(3, 2), labels: [0, 1] }), code: 'LABEL_COUNT', argument: 'labels' },
    { what: 'float labels tensor', run: () => api.embeddingReport({ embeddings: matrix(3, 2), labels: floatLabels([0, 1, 1]) }), code: 'DTYPE_MISMATCH', argument: 'labels' },
    { what: 'negative neighbours', run: () => api.embeddingReport({ embeddings: matrix(3, 2), neighbours: -1 }), code: 'INVALID_ARGUMENT', argument: 'neighbours' },
    { what: 'maxPoints 1', run: () => api.embeddingReport({ embeddings: matrix(3, 2), maxPoints: 1 }), code: 'INVALID_ARGUMENT', argument: 'maxPoints' },
    { what: 'unknown map', run: () => api.embeddingReport({ embeddings: matrix(3, 2), map: 'tsne' as 'pca' }), code: 'INVALID_ARGUMENT', argument: 'map' },
    { what: 'umap nNeighbors not below the rows', run: () => api.embeddingReport({ embeddings: matrix(3, 2), map: 'umap', umap: { nNeighbors: 3 } }), code: 'INVALID_ARGUMENT', argument: 'umap.nNeighbors' },
    { what: 'history loss of another length', run: () => api.embeddingReport({ embeddings: matrix(3, 2), history: { epochs: [1, 2], loss: [1] } }), code: 'SHAPE_MISMATCH', argument: 'history.loss' },
    { what: 'NaN in the history', run: () => api.embeddingReport({ embeddings: matrix(3, 2), history: { epochs: [1, 2], loss: [1, NaN] } }), code: 'NON_FINITE', argument: 'history.loss' },
    { what: 'd above MAX_RANK_DIMENSION', run: () => api.embeddingReport({ embeddings: matrix(2, api.MAX_RANK_DIMENSION + 1) }), code: 'INVALID_ARGUMENT', argument: 'embeddings' },
    { what: 'disposed embeddings', run: () => api.embeddingReport({ embeddings: disposedMatrix() }), code: 'DISPOSED', argument: 'embeddings' },
  ],
};

describe('eval reliability battery', () => {
  it('every export of the index has a case (or a reason to be exempt)', () => {
    expect(exportCoverageGaps(api, coverage)).toEqual({ missing: [], stale: [] });
  });

  for (const [name, entry] of Object.entries(coverage)) {
    if (!Array.isArray(entry)) continue;
    for (const bad of entry as readonly BadInputCase[]) {
      it(`${name}: ${bad.what}`, async () => {
        const before = tf.memory().numTensors;
        try {
          await expectRejectsContrastive(bad.run, bad.code, bad.argument);
        } finally {
          tf.dispose(made.splice(0));
        }
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  }
});

// Properties: no NaN or Infinity leaves a metric for finite input ---------------------------------

const RUNS = { numRuns: 15, seed: 9 } as const;

/** An entry: exactly 0, a small integer (ties), or any float in [-1e4, 1e4] (DESIGN.md's scale). */
const entry = fc.oneof(fc.constant(0), fc.integer({ min: -3, max: 3 }), fc.double({ min: -1e4, max: 1e4, noNaN: true }));

/** `[rows, d]` rows drawn from a small pool (duplicates likely), zero rows included. */
function rowsOf(d: number, minRows: number, maxRows: number): fc.Arbitrary<number[][]> {
  const row = fc.oneof(
    { weight: 1, arbitrary: fc.constant(new Array<number>(d).fill(0)) },
    { weight: 4, arbitrary: fc.array(entry, { minLength: d, maxLength: d }) },
  );
  return fc
    .array(row, { minLength: 1, maxLength: 4 })
    .chain((pool) => fc.array(fc.nat(pool.length - 1), { minLength: minRows, maxLength: maxRows }).map((picks) => picks.map((i) => pool[i] as number[])));
}

const labelsOf = (count: number): fc.Arbitrary<number[]> => fc.array(fc.integer({ min: 0, max: 2 }), { minLength: count, maxLength: count });

/** A set of rows with one label each. */
function labelled(d: number, minRows: number, maxRows: number): fc.Arbitrary<{ rows: number[][]; labels: number[] }> {
  return rowsOf(d, minRows, maxRows).chain((rows) => labelsOf(rows.length).map((values) => ({ rows, labels: values })));
}

function tensorOf(rows: number[][], d: number): tf.Tensor2D {
  return own(tf.tensor2d(rows.flat(), [rows.length, d], 'float32'));
}

function expectFinite(value: number, what: string): void {
  if (!Number.isFinite(value)) throw new Error(`${what} is ${value}`);
}

function expectUnit(value: number | undefined, what: string): void {
  if (value === undefined || !Number.isFinite(value) || value < 0 || value > 1) throw new Error(`${what} is ${value}, expected a number in [0, 1]`);
}

/** Run an async property, disposing its tensors after each run and checking none leaked. */
async function check<T>(arbitrary: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>): Promise<void> {
  const before = tf.memory().numTensors;
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      try {
        await predicate(value);
      } finally {
        tf.dispose(made.splice(0));
      }
    }),
    RUNS,
  );
  expect(tf.memory().numTensors).toBe(before);
}

const dims = fc.integer({ min: 1, max: 4 });

describe('eval metrics stay finite for finite input (fast-check)', () => {
  it('knnEvaluate: top1 / top5 in [0, 1] and valid predictions, k anywhere in [1, n], a set of one included', async () => {
    const arbitrary = dims.chain((d) =>
      fc.record({
        d: fc.constant(d),
        train: labelled(d, 1, 7),
        test: labelled(d, 1, 4),
        kFraction: fc.double({ min: 0, max: 1, noNaN: true }),
        distance: fc.constantFrom('cosine' as const, 'euclidean' as const),
        normalize: fc.boolean(),
        temperature: fc.constantFrom(0.01, 0.07, 1),
      }),
    );
    await check(arbitrary, async ({ d, train, test, kFraction, distance, normalize, temperature }) => {
      const n = train.rows.length;
      const k = 1 + Math.min(n - 1, Math.floor(kFraction * n));
      const result = await api.knnEvaluate(
        { trainFeatures: tensorOf(train.rows, d), trainLabels: labels(train.labels), testFeatures: tensorOf(test.rows, d), testLabels: labels(test.labels) },
        { k, distance, normalize, temperature },
      );
      expectUnit(result.top1, 'top1');
      expectUnit(result.top5, 'top5');
      for (const prediction of result.predictions) if (prediction < 0 || prediction > 2) throw new Error(`prediction ${prediction}`);
    });
  });

  it('retrievalMetrics: every metric in [0, 1] for self and cross retrieval, k larger than the set included, on both exact engines', async () => {
    const arbitrary = dims.chain((d) =>
      fc.record({
        d: fc.constant(d),
        query: labelled(d, 1, 6),
        reference: fc.option(labelled(d, 1, 6), { nil: undefined }),
        k: fc.oneof(fc.constantFrom('all' as const, 'maxBinCount' as const), fc.integer({ min: 1, max: 9 })),
        distance: fc.constantFrom('euclidean' as const, 'cosine' as const, 'dot' as const),
        averaging: fc.constantFrom('micro' as const, 'macro' as const),
        engine: fc.constantFrom('kernel' as const, 'tensor' as const),
      }),
    );
    await check(arbitrary, async ({ d, query, reference, k, distance, averaging, engine }) => {
      const result = await api.retrievalMetrics({
        query: tensorOf(query.rows, d),
        queryLabels: labels(query.labels),
        ...(reference === undefined ? {} : { reference: tensorOf(reference.rows, d), referenceLabels: labels(reference.labels) }),
        k,
        distance,
        averaging,
        engine,
      });
      const values = result as unknown as Record<string, number | undefined>;
      const names = ['precisionAtOne', 'rPrecision', 'meanAveragePrecisionAtR', 'meanAveragePrecision', 'meanReciprocalRank'];
      if (typeof k === 'number') names.push('precisionAtK', 'recallAtK', 'ndcgAtK');
      for (const name of names) expectUnit(values[name], name);
      for (const entryOfClass of result.perClass) {
        for (const [name, value] of Object.entries(entryOfClass.metrics)) expectUnit(value, `perClass ${entryOfClass.label} ${name}`);
      }
      expect(result.evaluatedQueries + result.droppedQueries).toBe(query.rows.length);
      expect(Number.isInteger(result.k) && result.k >= 0).toBe(true);
    });
  });

  it('clusteringScores: finite NMI / AMI / ARI (NMI in [0, 1]) for any labellings, empty and of one included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }).chain((n) => fc.tuple(fc.array(fc.integer({ min: -2, max: 3 }), { minLength: n, maxLength: n }), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: n, maxLength: n }))),
        ([truth, predicted]) => {
          const { nmi, ami, ari } = api.clusteringScores(truth, predicted);
          expectUnit(nmi, 'nmi');
          expectFinite(ami, 'ami');
          expectFinite(ari, 'ari');
          if (ami > 1 + 1e-12 || ari > 1 + 1e-12) throw new Error(`ami ${ami} / ari ${ari} above 1`);
        },
      ),
      { numRuns: 30, seed: 9 },
    );
  });

  it('verificationMetrics / calibrateThreshold: finite rates and a finite threshold for any finite scores', () => {
    const score = fc.oneof(fc.constant(0), fc.constantFrom(-Number.MAX_VALUE, Number.MAX_VALUE), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: -2, max: 2 }));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }).chain((p) =>
          fc.record({
            scores: fc.array(score, { minLength: p, maxLength: p }),
            same: fc.array(fc.boolean(), { minLength: p, maxLength: p }),
            higherIsSimilar: fc.boolean(),
            threshold: fc.oneof(score, fc.constantFrom(-Infinity, Infinity)),
            recall: fc.double({ min: 0.01, max: 1, noNaN: true }),
          }),
        ),
        ({ scores, same, higherIsSimilar, threshold, recall }) => {
          const rates = ['precision', 'recall', 'f1', 'fpr', 'accuracy'] as const;
          const fixed = api.verificationMetrics({ scores, same, higherIsSimilar, threshold });
          for (const name of rates) expectUnit(fixed[name], name);
          if (!same.includes(true)) return;
          for (const target of ['f1' as const, { precisionAtRecall: recall }]) {
            const calibrated = api.calibrateThreshold({ scores, same, higherIsSimilar, target });
            expectFinite(calibrated.threshold, 'threshold');
            for (const name of rates) expectUnit(calibrated[name], name);
            // The threshold reproduces the counts it reports.
            const again = api.verificationMetrics({ scores, same, higherIsSimilar, threshold: calibrated.threshold });
            expect([again.tp, again.fp]).toEqual([calibrated.tp, calibrated.fp]);
          }
        },
      ),
      { numRuns: 30, seed: 9 },
    );
  });

  it('calibrateThreshold: a finite threshold between scores near ±Number.MAX_VALUE (their sum overflows)', () => {
    const scores = [0, -Number.MAX_VALUE, 9.9792015476736e291, Number.MAX_VALUE];
    const same = [false, false, false, true];
    const calibrated = api.calibrateThreshold({ scores, same, higherIsSimilar: true });
    expect(calibrated.threshold).toBeGreaterThan(9.9792015476736e291);
    expect(calibrated.threshold).toBeLessThanOrEqual(Number.MAX_VALUE);
    expect([calibrated.tp, calibrated.fp, calibrated.f1]).toEqual([1, 0, 1]);
    const lower = api.calibrateThreshold({ scores: scores.map((score) => -score), same });
    expect(Number.isFinite(lower.threshold)).toBe(true);
    expect([lower.tp, lower.fp]).toEqual([1, 0]);
  });

  it('alignment, uniformity, embeddingStd: finite for duplicates and zero vectors', async () => {
    const arbitrary = dims.chain((d) => fc.record({ d: fc.constant(d), x: rowsOf(d, 2, 6), alpha: fc.constantFrom(0.5, 1, 2, 3), t: fc.constantFrom(0.5, 2, 10) }));
    await check(arbitrary, async ({ d, x, alpha, t }) => {
      const a = tensorOf(x, d);
      const b = tensorOf([...x].reverse(), d);
      expectFinite(await api.alignment(a, b, { alpha }), 'alignment');
      expectFinite(await api.alignment(matrix(1, d), matrix(1, d)), 'alignment of one pair');
      expectFinite(await api.uniformity(a, { t }), 'uniformity');
      expectFinite(await api.embeddingStd(a), 'embeddingStd');
    });
  });

  it('rankMe / effectiveRank: finite and in [1, min(n, d)] (or INVALID_ARGUMENT for an all-zero set), a set of one included', async () => {
    const arbitrary = dims.chain((d) => fc.record({ d: fc.constant(d), x: rowsOf(d, 1, 6), normalize: fc.boolean() }));
    await check(arbitrary, async ({ d, x, normalize }) => {
      const allZero = x.every((row) => row.every((value) => Math.fround(value) === 0));
      for (const metric of [api.rankMe, api.effectiveRank]) {
        if (allZero) {
          await expectRejectsContrastive(() => metric(tensorOf(x, d), { normalize }), 'INVALID_ARGUMENT', 'x');
          continue;
        }
        const rank = await metric(tensorOf(x, d), { normalize });
        expectFinite(rank, metric.name);
        if (rank < 1 - 1e-6 || rank > Math.min(x.length, d) + 1e-3) throw new Error(`${metric.name} ${rank} outside [1, ${Math.min(x.length, d)}]`);
      }
    });
  });

  it('pairDistanceStats: finite summaries (null when a side has no pair), histogram and exact quantiles', async () => {
    const arbitrary = dims.chain((d) => fc.record({ d: fc.constant(d), set: labelled(d, 2, 7), normalize: fc.boolean(), exact: fc.boolean() }));
    await check(arbitrary, async ({ d, set, normalize, exact }) => {
      const stats = await api.pairDistanceStats(tensorOf(set.rows, d), labels(set.labels), { normalize, exactQuantilePairs: exact ? 2 ** 22 : 0 });
      for (const side of [stats.positive, stats.negative]) {
        if (side === null) continue;
        for (const value of [side.mean, side.std, side.min, side.max, ...side.quantiles]) expectFinite(value, 'pairDistanceStats');
        if (side.min < 0 || side.std < 0) throw new Error('negative distance or std');
      }
      expect((stats.positive?.count ?? 0) + (stats.negative?.count ?? 0)).toBe((set.rows.length * (set.rows.length - 1)) / 2);
    });
  });
});
