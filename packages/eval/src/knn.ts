import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertOneOf, l2Normalize, type Embeddings, type Labels } from '@contrastive/core';
import {
  argMaxLowest,
  assertFiniteTensor,
  assertSplit,
  rankOf,
  readLabels,
  resolveNumClasses,
  type EvaluationSplit,
} from './split.js';

/**
 * How {@link knnClassifier} finds and weights neighbours.
 *
 * - `'cosine'`: neighbours by the largest dot product `f_test · f_train` (the cosine similarity when
 *   `normalize` is on), vote weight `exp(s / T)` (Wu et al. 2018; MoCo, solo-learn).
 * - `'euclidean'`: neighbours by the smallest Euclidean distance `d = ||f_test - f_train||`, vote
 *   weight `exp(-d / T)`. With `normalize` on this ranks neighbours exactly as cosine
 *   (`d² = 2 - 2s`) and only the weights differ; with `normalize: false` it is the kNN on raw
 *   features of pytorch-metric-learning's default `FaissKNN` (`IndexFlatL2`), weighted.
 *
 * @category kNN
 */
export type KnnDistance = 'cosine' | 'euclidean';

/**
 * Options of {@link knnClassifier} and {@link knnEvaluate}. Defaults are RECIPE.md's kNN monitor
 * (InstDisc / MoCo: k = 20, T = 0.07, cosine on L2-normalized features).
 *
 * @category kNN
 */
export interface KnnOptions {
  /** Number of neighbours that vote, an integer in `[1, n]` (`n` = train rows). @defaultValue 20 */
  readonly k?: number;
  /** Temperature `T > 0` of the vote weight `exp(s / T)` (or `exp(-d / T)`). @defaultValue 0.07 */
  readonly temperature?: number;
  /** Similarity used to find and weight neighbours. @defaultValue 'cosine' */
  readonly distance?: KnnDistance;
  /** L2-normalize features (`f = h / ||h||`) before comparing them. @defaultValue true */
  readonly normalize?: boolean;
  /**
   * Number of classes `C`; labels must lie in `[0, C)`.
   * @defaultValue one more than the largest train or test label
   */
  readonly numClasses?: number;
  /**
   * Test rows per chunk: only a `[chunkSize, n]` similarity block exists at a time, so memory stays
   * bounded for large splits (10,000 x 60,000 never allocates the full matrix).
   * @defaultValue `max(1, floor(2^22 / n))` (a 16 MB float32 block)
   */
  readonly chunkSize?: number;
}

/**
 * Result of a kNN evaluation.
 * @category kNN
 */
export interface KnnResult {
  /** Fraction of test rows whose predicted class is their label, in `[0, 1]`. */
  readonly top1: number;
  /**
   * Fraction of test rows whose label is among the 5 highest class scores (ties ordered by the lower
   * class index), in `[0, 1]`; 1 when there are at most 5 classes.
   */
  readonly top5: number;
  /** `[m]` predicted class of each test row (argmax of the class scores, ties -> lowest class). */
  readonly predictions: Int32Array;
}

/**
 * The train split (memory bank) and the queries of {@link KnnClassifier.predict}.
 * @category kNN
 */
export interface KnnQuery {
  /** `[n, d]` float32 memory features (borrowed). */
  readonly trainFeatures: Embeddings;
  /** `[n]` int32 memory labels. */
  readonly trainLabels: Labels;
  /** `[m, d]` float32 query features (borrowed). */
  readonly testFeatures: Embeddings;
}

/**
 * A weighted kNN classifier with fixed hyper-parameters, made by {@link knnClassifier}.
 * @category kNN
 */
export interface KnnClassifier {
  /** Neighbours that vote. */
  readonly k: number;
  /** Vote temperature. */
  readonly temperature: number;
  /** Similarity used. */
  readonly distance: KnnDistance;
  /** Whether features are L2-normalized first. */
  readonly normalize: boolean;
  /**
   * Classify the test rows by the train rows and score the predictions against `testLabels`.
   * @param input - the split; see {@link EvaluationSplit}.
   * @returns top-1, top-5 and the predictions.
   */
  evaluate(input: EvaluationSplit): Promise<KnnResult>;
  /**
   * Classify the test rows by the train rows.
   * @param input - memory features and labels, and query features.
   * @returns `[m]` predicted classes.
   */
  predict(input: KnnQuery): Promise<Int32Array>;
}

interface ResolvedKnnOptions {
  readonly k: number;
  readonly temperature: number;
  readonly distance: KnnDistance;
  readonly normalize: boolean;
  readonly numClasses: number | undefined;
  readonly chunkSize: number | undefined;
}

const DEFAULT_CHUNK_ELEMENTS = 2 ** 22;

function resolveOptions(options: KnnOptions, fn: string): ResolvedKnnOptions {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object, got ${String(options)}`);
  }
  const k = options.k ?? 20;
  const temperature = options.temperature ?? 0.07;
  const distance = options.distance ?? 'cosine';
  const normalize = options.normalize ?? true;
  assertNumber(k, 'k', fn, { integer: true, min: 1 });
  assertNumber(temperature, 'temperature', fn, { min: 0, exclusiveMin: true });
  assertOneOf(distance, ['cosine', 'euclidean'] as const, 'distance', fn);
  assertOneOf(normalize, [true, false] as const, 'normalize', fn);
  if (options.numClasses !== undefined) assertNumber(options.numClasses, 'numClasses', fn, { integer: true, min: 1 });
  if (options.chunkSize !== undefined) assertNumber(options.chunkSize, 'chunkSize', fn, { integer: true, min: 1 });
  return { k, temperature, distance, normalize, numClasses: options.numClasses, chunkSize: options.chunkSize };
}

/** Neighbours of a block of test rows, as {@link searchNeighbours} hands them over. @internal */
export interface NeighbourChunk {
  /** First test row of the block. */
  readonly start: number;
  /** Rows in the block. */
  readonly rows: number;
  /**
   * `[rows, k]` closeness of each neighbour, best first: the similarity (`'cosine'`) or the
   * Euclidean distance (`'euclidean'`).
   */
  readonly values: Float64Array;
  /** `[rows, k]` train index of each neighbour, best first (ties: lower index first on cpu/wasm). */
  readonly indices: Int32Array;
}

/**
 * The `k` nearest train rows of every test row, one chunk of test rows at a time. The train matrix
 * is normalized and transposed once, so every chunk is one plain `matMul` (the fast form on wasm)
 * followed by `tf.topk`.
 * @internal
 */
export async function searchNeighbours(
  trainFeatures: Embeddings,
  testFeatures: Embeddings,
  options: { k: number; distance: KnnDistance; normalize: boolean; chunkSize: number | undefined },
  onChunk: (chunk: NeighbourChunk) => void,
): Promise<void> {
  const [n, d] = trainFeatures.shape;
  const m = testFeatures.shape[0];
  const { k, distance, normalize } = options;
  const chunkSize = Math.min(m, options.chunkSize ?? Math.max(1, Math.floor(DEFAULT_CHUNK_ELEMENTS / n)));
  const euclidean = distance === 'euclidean';
  const [trainT, trainSquared] = tf.tidy(() => {
    const train = normalize ? l2Normalize(trainFeatures) : trainFeatures;
    return [tf.transpose(train), tf.reshape(tf.sum(tf.square(train), 1), [1, n])] as [tf.Tensor2D, tf.Tensor2D];
  });
  try {
    for (let start = 0; start < m; start += chunkSize) {
      const rows = Math.min(chunkSize, m - start);
      const top = tf.tidy(() => {
        const part = tf.slice(testFeatures, [start, 0], [rows, d]);
        const queries = normalize ? l2Normalize(part) : part;
        const dots = tf.matMul(queries, trainT);
        // Euclidean: rank by -d² = 2 a.b - ||a||² - ||b||² (largest = nearest).
        const closeness = euclidean
          ? tf.sub(tf.mul(dots, 2), tf.add(tf.sum(tf.square(queries), 1, true), trainSquared))
          : dots;
        const { values, indices } = tf.topk(closeness, k, true);
        return [values, indices] as [tf.Tensor2D, tf.Tensor2D];
      });
      try {
        const [rawValues, indices] = await Promise.all([top[0].data(), top[1].data()]);
        const values = new Float64Array(rawValues.length);
        for (let i = 0; i < values.length; i++) {
          const value = rawValues[i] as number;
          values[i] = euclidean ? Math.sqrt(Math.max(-value, 0)) : value;
        }
        onChunk({ start, rows, values, indices: indices as Int32Array });
      } finally {
        tf.dispose(top);
      }
    }
  } finally {
    tf.dispose([trainT, trainSquared]);
  }
}

/**
 * Weighted vote of one test row's neighbours into `scores` (`C` entries, overwritten). Computed
 * as `exp((s - s_best) / T)` (or `exp(-(d - d_best) / T)`): the paper's weights times one positive
 * factor per query, so argmax and ranks are unchanged while T down to 0.001 and raw distances in
 * the thousands stay finite.
 * @internal
 */
export function vote(
  chunk: NeighbourChunk,
  row: number,
  k: number,
  trainLabels: Int32Array,
  temperature: number,
  distance: KnnDistance,
  scores: Float64Array,
): void {
  scores.fill(0);
  const offset = row * k;
  const best = chunk.values[offset] as number;
  const sign = distance === 'euclidean' ? -1 : 1;
  for (let j = 0; j < k; j++) {
    const weight = Math.exp((sign * ((chunk.values[offset + j] as number) - best)) / temperature);
    const label = trainLabels[chunk.indices[offset + j] as number] as number;
    scores[label] = (scores[label] as number) + weight;
  }
}

async function run(
  input: EvaluationSplit | KnnQuery,
  options: ResolvedKnnOptions,
  fn: string,
  withTestLabels: boolean,
): Promise<{ predictions: Int32Array; top1: number; top5: number }> {
  const shape = assertSplit(input, fn, withTestLabels);
  if (options.k > shape.trainRows) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'k' passed to '${fn}' must be <= ${shape.trainRows} (the number of train rows), got ${options.k}`,
    );
  }
  await assertFiniteTensor(input.trainFeatures, 'trainFeatures', fn);
  await assertFiniteTensor(input.testFeatures, 'testFeatures', fn);
  const trainLabels = await readLabels(input.trainLabels, 'trainLabels', fn);
  const labelSets = [{ values: trainLabels, argument: 'trainLabels' }];
  let testLabels: Int32Array | undefined;
  if (withTestLabels) {
    testLabels = await readLabels((input as EvaluationSplit).testLabels, 'testLabels', fn);
    labelSets.push({ values: testLabels, argument: 'testLabels' });
  }
  const numClasses = resolveNumClasses(options.numClasses, fn, labelSets);

  const predictions = new Int32Array(shape.testRows);
  const scores = new Float64Array(numClasses);
  let correct1 = 0;
  let correct5 = 0;
  await searchNeighbours(input.trainFeatures, input.testFeatures, options, (chunk) => {
    for (let row = 0; row < chunk.rows; row++) {
      vote(chunk, row, options.k, trainLabels, options.temperature, options.distance, scores);
      const prediction = argMaxLowest(scores, 0, numClasses);
      predictions[chunk.start + row] = prediction;
      if (testLabels !== undefined) {
        const label = testLabels[chunk.start + row] as number;
        if (prediction === label) correct1++;
        if (rankOf(scores, 0, numClasses, label) < 5) correct5++;
      }
    }
  });
  const m = shape.testRows;
  return { predictions, top1: correct1 / m, top5: correct5 / m };
}

/**
 * Weighted k-nearest-neighbour classifier on learned features — the InstDisc / MoCo monitor
 * (Wu et al. 2018, "Unsupervised Feature Learning via Non-Parametric Instance Discrimination",
 * section 3.4; RECIPE.md "Evaluation"). With `f = h / ||h||` and `s = f_test · f_train`, the `k`
 * most similar train rows vote for their class with weight `exp(s / T)`; the class scores are
 * summed per class and the prediction is their argmax (ties -> lowest class).
 *
 * Hyper-parameters are validated here; tensors when `evaluate` / `predict` is called. The
 * similarity matrix is computed in chunks of `chunkSize` test rows with one plain `matMul` against
 * a pre-transposed train matrix, then `tf.topk`; nothing larger than `[chunkSize, n]` is allocated.
 * Inputs are borrowed and no tensor is left behind.
 *
 * @param options - `k`, `temperature`, `distance`, `normalize`, `numClasses`, `chunkSize`; see
 *   {@link KnnOptions}.
 * @returns a {@link KnnClassifier}.
 * @throws `ContrastiveError` (from `@contrastive/core`) `INVALID_ARGUMENT` for `k < 1`, a non-integer `k`,
 *   `temperature <= 0`, an unknown `distance`, or a bad `numClasses` / `chunkSize`; `evaluate` and
 *   `predict` reject with the errors listed at {@link knnEvaluate}.
 * @example
 * ```ts
 * const knn = knnClassifier({ k: 1 });
 * const trainFeatures = tf.tensor2d([[1, 0], [0, 1]]);
 * const trainLabels = tf.tensor1d([0, 1], 'int32');
 * const testFeatures = tf.tensor2d([[0.9, 0.2], [0.1, 2]]);
 * const predictions = await knn.predict({ trainFeatures, trainLabels, testFeatures });
 * console.log(predictions); // Int32Array [0, 1]
 * ```
 * @category kNN
 */
export function knnClassifier(options: KnnOptions = {}): KnnClassifier {
  const resolved = resolveOptions(options, 'knnClassifier');
  return {
    k: resolved.k,
    temperature: resolved.temperature,
    distance: resolved.distance,
    normalize: resolved.normalize,
    async evaluate(input: EvaluationSplit): Promise<KnnResult> {
      return run(input, resolved, 'knnClassifier.evaluate', true);
    },
    async predict(input: KnnQuery): Promise<Int32Array> {
      return (await run(input, resolved, 'knnClassifier.predict', false)).predictions;
    },
  };
}

/**
 * Weighted kNN accuracy of `testFeatures` against the memory `trainFeatures` — RECIPE.md's
 * `knn_top1` (Wu et al. 2018; the kNN monitor of MoCo and solo-learn): `f = h / ||h||`,
 * `s = f_test · f_train`, top `k = 20`, vote weight `exp(s / 0.07)`, per-class sum, argmax with
 * ties -> lowest class. Same as `knnClassifier(options).evaluate(input)`.
 *
 * @param input - `trainFeatures` `[n, d]` float32, `trainLabels` `[n]` int32, `testFeatures`
 *   `[m, d]` float32, `testLabels` `[m]` int32; borrowed, never disposed.
 * @param options - see {@link KnnOptions}.
 * @returns `top1` and `top5` in `[0, 1]` and the `[m]` `predictions` (plain JS values; no tensor
 *   is returned or left behind).
 * @throws `ContrastiveError` (from `@contrastive/core`) `SHAPE_MISMATCH` (rank, empty split, dimensions differ),
 *   `DTYPE_MISMATCH` (features not float32, labels not int32), `LABEL_COUNT` (labels and rows
 *   differ), `NON_FINITE` (NaN / Infinity in the features), `INVALID_ARGUMENT` (`k > n`, `k < 1`,
 *   `temperature <= 0`, negative labels, labels `>= numClasses`).
 * @example
 * ```ts
 * const { top1, top5, predictions } = await knnEvaluate(
 *   {
 *     trainFeatures: tf.tensor2d([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]]),
 *     trainLabels: tf.tensor1d([0, 0, 1, 1], 'int32'),
 *     testFeatures: tf.tensor2d([[1, 0.2], [0.2, 1]]),
 *     testLabels: tf.tensor1d([0, 1], 'int32'),
 *   },
 *   { k: 3 },
 * );
 * console.log(top1, top5, predictions); // 1 1 Int32Array [0, 1]
 * ```
 * @category kNN
 */
export async function knnEvaluate(input: EvaluationSplit, options: KnnOptions = {}): Promise<KnnResult> {
  const resolved = resolveOptions(options, 'knnEvaluate');
  return run(input, resolved, 'knnEvaluate', true);
}
