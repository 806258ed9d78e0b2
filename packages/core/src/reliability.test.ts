/**
 * Reliability battery of `@contrastive/core`: every runtime export of the package index has
 * bad-input cases (or a reason why no input can be bad), each of which must throw a
 * `ContrastiveError` with a stable code naming the argument and leave no tensor behind; plus
 * fast-check properties that finite input never gives NaN.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as api from './index.js';
import {
  ContrastiveError,
  FusedAdamOptimizer,
  MomentumEncoder,
  adam,
  Rng,
  assertDistance,
  assertEmbeddings,
  assertLabels,
  assertNumber,
  assertOneOf,
  assertReference,
  assertSameDims,
  assertTensor,
  assertTuples,
  convEncoder,
  cosineSimilarity,
  disposeTrainState,
  dotProductSimilarity,
  embedDataset,
  isContrastiveError,
  kMeans,
  l2Normalize,
  layersEncoder,
  lpDistance,
  mlpEncoder,
  projectionHead,
  registerWasmKernels,
  infoNceRowsNative,
  infoNceRowGradsNative,
  debiasedRowsNative,
  debiasedRowGradsNative,
  addTransposeNative,
  bilinearCropNative,
  contrastiveSelfLossNative,
  firstNonFiniteNative,
  gramMatrix,
  scaledMatMul,
  pairMarginGradNative,
  pairMarginSumsNative,
  pickRowsNative,
  safeSqrt,
  tripletMarginGradNative,
  tripletMarginNative,
  selectBackend,
  stopGradient,
  train,
  viewLabels,
} from './index.js';
import type { Batch, BatchSource, Distance, Encoder, Loss, TrainOptions, TrainState } from './index.js';
import { expectNoLeak, expectRejectsContrastive, exportCoverageGaps, useTestBackend } from './testing/index.js';
import type { BadInputCase, ExportCoverage } from './testing/index.js';

let backend = '';
beforeAll(async () => {
  backend = await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// Fixtures

/** Runs `fn` inside `tf.tidy`, so that every tensor a case creates is freed, also when it throws. */
function tidy(fn: () => unknown): () => void {
  return () => {
    tf.tidy(() => {
      fn();
    });
  };
}

/** A tensor that has already been disposed. */
function disposed<T extends tf.Tensor>(tensor: T): T {
  tensor.dispose();
  return tensor;
}

const matrix = (rows: number, cols: number, fill = 0.5): tf.Tensor2D => tf.fill([rows, cols], fill) as tf.Tensor2D;
const intLabels = (values: number[]): tf.Tensor1D => tf.tensor1d(values, 'int32');
const HCL = { beta: 1, tauPlus: 0.1, clamp: true, temperature: 0.5 };

/** Shared encoders for the method cases (inputDim 4 -> 6 -> 3: four weights). */
let mlp: Encoder | undefined;
let gone: Encoder | undefined;
function liveMlp(): Encoder {
  mlp ??= mlpEncoder({ inputDim: 4, hiddenDims: [6], outputDim: 3, seed: 0 });
  return mlp;
}
function disposedMlp(): Encoder {
  if (gone === undefined) {
    gone = mlpEncoder({ inputDim: 4, hiddenDims: [2], outputDim: 2, seed: 0 });
    gone.dispose();
  }
  return gone;
}
afterAll(() => {
  mlp?.dispose();
});

const meanSquare: Loss = { name: 'mean-square', compute: ({ embeddings }) => tf.mean(tf.square(embeddings)) as tf.Scalar };

function source(batch: () => Batch, stepsPerEpoch = 1): BatchSource {
  return { stepsPerEpoch, batch };
}
const goodBatch = (): Batch => ({ inputs: matrix(4, 4), labels: intLabels([0, 1, 0, 1]) });

/** Runs `train` on a fresh tiny encoder with `overrides`; frees the encoder and optimizer. */
async function trainWith(overrides: Record<string, unknown>): Promise<unknown> {
  const encoder = mlpEncoder({ inputDim: 4, hiddenDims: [], outputDim: 2, seed: 0 });
  const optimizer = tf.train.sgd(0.1);
  try {
    const options = { encoder, data: source(goodBatch), loss: meanSquare, optimizer, epochs: 1, ...overrides };
    return await train(options as unknown as TrainOptions);
  } finally {
    optimizer.dispose();
    encoder.dispose();
  }
}

/** A well-formed train state for a `[4] -> [2]` linear encoder (no head), owned by the caller. */
function stateFor(epoch: number): TrainState {
  return {
    epoch,
    encoderWeights: [tf.zeros([4, 2]), tf.zeros([2])],
    headWeights: [],
    optimizer: { className: 'SGD', weights: [], accumulators: [] },
    rng: new Rng(0).state(),
    history: [],
    extra: {},
  };
}

/** Every tensor inside `value` (arrays and plain objects searched). */
function tensorsIn(value: unknown): tf.Tensor[] {
  if (value instanceof tf.Tensor) return [value];
  if (Array.isArray(value)) return value.flatMap(tensorsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(tensorsIn);
  return [];
}

/** Runs `fn` with a fresh train state patched by `patch`; frees the state and the patch's tensors. */
async function withState(fn: (state: TrainState) => unknown, patch: Record<string, unknown> = {}): Promise<unknown> {
  const state = stateFor(0);
  try {
    return await fn({ ...state, ...patch } as TrainState);
  } finally {
    disposeTrainState(state);
    tf.dispose(tensorsIn(patch));
  }
}

function twoInputModel(): tfl.LayersModel {
  const a = tfl.input({ shape: [2] });
  const b = tfl.input({ shape: [2] });
  const sum = tfl.layers.add().apply([a, b]) as tfl.SymbolicTensor;
  return tfl.model({ inputs: [a, b], outputs: sum });
}

/** Builds a model with `make`, passes it to `layersEncoder` and disposes it when that throws. */
function withModel(make: () => tfl.LayersModel, options: Record<string, unknown> = {}): () => void {
  return () => {
    const model = make();
    try {
      layersEncoder(model, options).dispose();
    } catch (error) {
      model.dispose();
      throw error;
    }
  };
}

function pairTuples(anchorPos: number[], positive: number[], floatPositive = false): unknown {
  return {
    kind: 'pairs',
    anchorPos: intLabels(anchorPos),
    positive: floatPositive ? tf.tensor1d(positive) : intLabels(positive),
    anchorNeg: intLabels([0]),
    negative: intLabels([1]),
  };
}

/** Distance cases shared by the three distance factories. */
function distanceCases(make: (options?: Record<string, unknown>) => Distance): BadInputCase[] {
  return [
    { what: 'chunkElements 0', run: () => make({ chunkElements: 0 }), code: 'INVALID_ARGUMENT', argument: 'chunkElements' },
    { what: 'fractional chunkElements', run: () => make({ chunkElements: 2.5 }), code: 'INVALID_ARGUMENT', argument: 'chunkElements' },
    { what: 'NaN chunkElements', run: () => make({ chunkElements: Number.NaN }), code: 'INVALID_ARGUMENT', argument: 'chunkElements' },
    { what: 'pairwise: rank-1 a', run: tidy(() => make().pairwise(tf.ones([4]) as never)), code: 'SHAPE_MISMATCH', argument: 'a' },
    { what: 'pairwise: rank-3 a', run: tidy(() => make().pairwise(tf.ones([2, 2, 2]) as never)), code: 'SHAPE_MISMATCH', argument: 'a' },
    { what: 'pairwise: int32 a', run: tidy(() => make().pairwise(tf.ones([2, 2], 'int32') as tf.Tensor2D)), code: 'DTYPE_MISMATCH', argument: 'a' },
    { what: 'pairwise: empty batch', run: tidy(() => make().pairwise(tf.zeros([0, 3]) as tf.Tensor2D)), code: 'SHAPE_MISMATCH', argument: 'a' },
    { what: 'pairwise: zero columns', run: tidy(() => make().pairwise(tf.zeros([2, 0]) as tf.Tensor2D)), code: 'SHAPE_MISMATCH', argument: 'a' },
    { what: 'pairwise: disposed a', run: tidy(() => make().pairwise(disposed(matrix(2, 3)))), code: 'DISPOSED', argument: 'a' },
    { what: 'pairwise: b of another dimension', run: tidy(() => make().pairwise(matrix(2, 3), matrix(2, 4))), code: 'SHAPE_MISMATCH', argument: 'b' },
    { what: 'pairwise: disposed b', run: tidy(() => make().pairwise(matrix(2, 3), disposed(matrix(2, 3)))), code: 'DISPOSED', argument: 'b' },
    { what: 'pairwise: null a', run: () => make().pairwise(null as never), code: 'SHAPE_MISMATCH', argument: 'a' },
    {
      what: 'paired: mismatched batch sizes',
      run: tidy(() => make().paired(matrix(3, 2), matrix(2, 2))),
      code: 'SHAPE_MISMATCH',
      argument: 'b',
    },
    {
      what: 'paired: int32 b',
      run: tidy(() => make().paired(matrix(2, 2), tf.ones([2, 2], 'int32') as tf.Tensor2D)),
      code: 'DTYPE_MISMATCH',
      argument: 'b',
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Coverage: one entry per runtime export of ./index.ts

const coverage: Record<keyof typeof api, ExportCoverage> = {
  ContrastiveError: { exempt: 'the error class itself: its constructor accepts any code and message and never throws (errors.test.ts)' },
  isContrastiveError: { exempt: 'a total predicate over unknown: no input is bad (property "isContrastiveError is total" below)' },
  assertNumber: [
    { what: 'NaN', run: () => assertNumber(Number.NaN, 'x', 'f'), code: 'INVALID_ARGUMENT', argument: 'x' },
    { what: 'Infinity', run: () => assertNumber(Infinity, 'x', 'f'), code: 'INVALID_ARGUMENT', argument: 'x' },
    { what: 'a numeric string', run: () => assertNumber('3', 'x', 'f'), code: 'INVALID_ARGUMENT', argument: 'x' },
    { what: 'below the minimum', run: () => assertNumber(-1, 'margin', 'f', { min: 0 }), code: 'INVALID_ARGUMENT', argument: 'margin' },
    {
      what: 'zero with an exclusive minimum (temperature)',
      run: () => assertNumber(0, 'temperature', 'f', { min: 0, exclusiveMin: true }),
      code: 'INVALID_ARGUMENT',
      argument: 'temperature',
    },
    { what: 'a fraction where an integer is required', run: () => assertNumber(2.5, 'k', 'f', { integer: true }), code: 'INVALID_ARGUMENT', argument: 'k' },
    { what: 'above the maximum', run: () => assertNumber(5, 'k', 'f', { max: 4 }), code: 'INVALID_ARGUMENT', argument: 'k' },
  ],
  bilinearCropNative: (() => {
    const lines = (n: number) => ({ low: new Int32Array(n), high: new Int32Array(n), weight: new Float32Array(n) });
    const images = () => tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
    return [
      { what: 'a source out of range', run: () => tf.tidy(() => bilinearCropNative(images(), [2], lines(3), lines(3), [3, 3]) ?? undefined), code: 'INVALID_ARGUMENT', argument: 'sources' },
      { what: 'a fractional source', run: () => tf.tidy(() => bilinearCropNative(images(), [0.5], lines(3), lines(3), [3, 3]) ?? undefined), code: 'INVALID_ARGUMENT', argument: 'sources' },
      { what: 'row lines of the wrong length', run: () => tf.tidy(() => bilinearCropNative(images(), [0], lines(2), lines(3), [3, 3]) ?? undefined), code: 'INVALID_ARGUMENT', argument: 'rows.low' },
      { what: 'a row line past the image', run: () => tf.tidy(() => bilinearCropNative(images(), [0], { ...lines(3), high: new Int32Array([0, 4, 0]) }, lines(3), [3, 3]) ?? undefined), code: 'INVALID_ARGUMENT', argument: 'rows.high' },
      { what: 'a column line below -1', run: () => tf.tidy(() => bilinearCropNative(images(), [0], lines(3), { ...lines(3), low: new Int32Array([0, -2, 0]) }, [3, 3]) ?? undefined), code: 'INVALID_ARGUMENT', argument: 'columns.low' },
      { what: 'float64 column weights', run: () => tf.tidy(() => bilinearCropNative(images(), [0], lines(3), { ...lines(3), weight: new Float64Array(3) as never }, [3, 3]) ?? undefined), code: 'INVALID_ARGUMENT', argument: 'columns.weight' },
      { what: 'a zero output size', run: () => tf.tidy(() => bilinearCropNative(images(), [0], lines(3), lines(3), [3, 0]) ?? undefined), code: 'INVALID_ARGUMENT', argument: 'size' },
      { what: 'a 2-D image tensor', run: () => tf.tidy(() => bilinearCropNative(tf.zeros([4, 4]) as never, [0], lines(3), lines(3), [3, 3]) ?? undefined), code: 'SHAPE_MISMATCH', argument: 'images' },
      { what: 'int32 images', run: () => tf.tidy(() => bilinearCropNative(tf.zeros([1, 4, 4, 1], 'int32') as never, [0], lines(3), lines(3), [3, 3]) ?? undefined), code: 'DTYPE_MISMATCH', argument: 'images' },
    ];
  })(),
  adam: [
    { what: 'a zero learning rate', run: () => adam(0), code: 'INVALID_ARGUMENT', argument: 'learningRate' },
    { what: 'a NaN learning rate', run: () => adam(Number.NaN), code: 'INVALID_ARGUMENT', argument: 'learningRate' },
    { what: 'beta1 = 1', run: () => adam(1e-3, 1), code: 'INVALID_ARGUMENT', argument: 'beta1' },
    { what: 'a negative beta2', run: () => adam(1e-3, 0.9, -0.1), code: 'INVALID_ARGUMENT', argument: 'beta2' },
    { what: 'a negative epsilon', run: () => adam(1e-3, 0.9, 0.999, -1e-8), code: 'INVALID_ARGUMENT', argument: 'epsilon' },
    { what: 'a string epsilon', run: () => adam(1e-3, 0.9, 0.999, '1e-8' as never), code: 'INVALID_ARGUMENT', argument: 'epsilon' },
  ],
  FusedAdamOptimizer: [
    { what: 'an infinite learning rate', run: () => new FusedAdamOptimizer(Infinity, 0.9, 0.999), code: 'INVALID_ARGUMENT', argument: 'learningRate' },
    { what: 'beta2 above 1', run: () => new FusedAdamOptimizer(1e-3, 0.9, 1.5), code: 'INVALID_ARGUMENT', argument: 'beta2' },
    { what: 'a missing beta1', run: () => new FusedAdamOptimizer(1e-3, undefined as never, 0.999), code: 'INVALID_ARGUMENT', argument: 'beta1' },
  ],
  assertOneOf: [
    { what: 'a value outside the list', run: () => assertOneOf('l3', ['l1', 'l2'], 'norm', 'f'), code: 'INVALID_ARGUMENT', argument: 'norm' },
    { what: 'undefined', run: () => assertOneOf(undefined, ['a'], 'mode', 'f'), code: 'INVALID_ARGUMENT', argument: 'mode' },
  ],
  assertTensor: [
    { what: 'a plain array', run: () => assertTensor([1, 2], 1, 'x', 'f'), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'null', run: () => assertTensor(null, 1, 'x', 'f'), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'wrong rank', run: tidy(() => assertTensor(tf.ones([2, 2]), 1, 'x', 'f')), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'wrong dtype', run: tidy(() => assertTensor(tf.ones([2]), 1, 'x', 'f', 'int32')), code: 'DTYPE_MISMATCH', argument: 'x' },
    { what: 'a disposed tensor', run: tidy(() => assertTensor(disposed(tf.ones([2])), 1, 'x', 'f')), code: 'DISPOSED', argument: 'x' },
  ],
  assertEmbeddings: [
    { what: 'rank 1', run: tidy(() => assertEmbeddings(tf.ones([3]), 'embeddings', 'f')), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'int32', run: tidy(() => assertEmbeddings(tf.ones([2, 2], 'int32'), 'embeddings', 'f')), code: 'DTYPE_MISMATCH', argument: 'embeddings' },
    { what: 'an empty batch', run: tidy(() => assertEmbeddings(tf.zeros([0, 2]), 'embeddings', 'f')), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'a batch of one below minRows 2', run: tidy(() => assertEmbeddings(matrix(1, 2), 'embeddings', 'f', 2)), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'zero columns', run: tidy(() => assertEmbeddings(tf.zeros([2, 0]), 'embeddings', 'f')), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'disposed', run: tidy(() => assertEmbeddings(disposed(matrix(2, 2)), 'embeddings', 'f')), code: 'DISPOSED', argument: 'embeddings' },
  ],
  assertLabels: [
    { what: 'float labels', run: tidy(() => assertLabels(tf.tensor1d([0, 1]), 2, 'labels', 'f')), code: 'DTYPE_MISMATCH', argument: 'labels' },
    { what: 'fewer labels than embeddings', run: tidy(() => assertLabels(intLabels([0, 1]), 3, 'labels', 'f')), code: 'LABEL_COUNT', argument: 'labels' },
    { what: 'rank-2 labels', run: tidy(() => assertLabels(tf.ones([2, 1], 'int32'), 2, 'labels', 'f')), code: 'SHAPE_MISMATCH', argument: 'labels' },
    { what: 'disposed labels', run: tidy(() => assertLabels(disposed(intLabels([0, 1])), 2, 'labels', 'f')), code: 'DISPOSED', argument: 'labels' },
  ],
  assertSameDims: [
    { what: 'different widths', run: tidy(() => assertSameDims(matrix(2, 3), matrix(2, 4), 'ref.embeddings', 'f')), code: 'SHAPE_MISMATCH', argument: 'ref.embeddings' },
    { what: 'b is not a tensor', run: tidy(() => assertSameDims(matrix(2, 3), undefined as never, 'b', 'f')), code: 'SHAPE_MISMATCH', argument: 'b' },
  ],
  assertDistance: [
    { what: 'null', run: () => assertDistance(null, 'f'), code: 'INVALID_ARGUMENT', argument: 'distance' },
    { what: 'no pairwise', run: () => assertDistance({ isSimilarity: true }, 'f'), code: 'INVALID_ARGUMENT', argument: 'distance' },
    { what: 'isSimilarity not boolean', run: () => assertDistance({ pairwise: () => null, isSimilarity: 1 }, 'f'), code: 'INVALID_ARGUMENT', argument: 'distance' },
  ],
  assertTuples: [
    { what: 'null', run: () => assertTuples(null, 'f'), code: 'INVALID_ARGUMENT', argument: 'tuples' },
    { what: 'an unknown kind', run: () => assertTuples({ kind: 'quads' }, 'f'), code: 'INVALID_ARGUMENT', argument: 'tuples.kind' },
    { what: 'float indices', run: tidy(() => assertTuples(pairTuples([0], [1], true), 'f')), code: 'DTYPE_MISMATCH', argument: 'tuples.positive' },
    { what: 'mismatched index lengths', run: tidy(() => assertTuples(pairTuples([0, 1], [1]), 'f')), code: 'SHAPE_MISMATCH', argument: 'tuples.positive' },
    {
      what: 'a disposed index vector',
      run: tidy(() => assertTuples({ kind: 'triplets', anchor: disposed(intLabels([0])), positive: intLabels([1]), negative: intLabels([2]) }, 'f')),
      code: 'DISPOSED',
      argument: 'tuples.anchor',
    },
  ],
  assertReference: [
    { what: 'null', run: tidy(() => assertReference(null, matrix(2, 3), 'f')), code: 'INVALID_ARGUMENT', argument: 'ref' },
    {
      what: 'ref.embeddings of another dimension',
      run: tidy(() => assertReference({ embeddings: matrix(2, 4), labels: intLabels([0, 1]) }, matrix(2, 3), 'f')),
      code: 'SHAPE_MISMATCH',
      argument: 'ref.embeddings',
    },
    {
      what: 'ref.labels of the wrong length',
      run: tidy(() => assertReference({ embeddings: matrix(2, 3), labels: intLabels([0]) }, matrix(2, 3), 'f')),
      code: 'LABEL_COUNT',
      argument: 'ref.labels',
    },
    {
      what: 'float ref.labels',
      run: tidy(() => assertReference({ embeddings: matrix(2, 3), labels: tf.tensor1d([0, 1]) }, matrix(2, 3), 'f')),
      code: 'DTYPE_MISMATCH',
      argument: 'ref.labels',
    },
  ],
  Rng: [
    { what: 'fractional seed', run: () => new Rng(1.5), code: 'INVALID_ARGUMENT', argument: 'seed' },
    { what: 'NaN seed', run: () => new Rng(Number.NaN), code: 'INVALID_ARGUMENT', argument: 'seed' },
    { what: 'string seed', run: () => new Rng('7' as never), code: 'INVALID_ARGUMENT', argument: 'seed' },
    { what: 'fromState({})', run: () => Rng.fromState({} as never), code: 'INVALID_ARGUMENT', argument: 'state' },
    {
      what: 'fromState with three words',
      run: () => Rng.fromState({ algorithm: 'xoroshiro128plus', state: [1, 2, 3], spareNormal: null }),
      code: 'INVALID_ARGUMENT',
      argument: 'state',
    },
    {
      what: 'fromState with a NaN spare normal',
      run: () => Rng.fromState({ ...new Rng(1).state(), spareNormal: Number.NaN }),
      code: 'INVALID_ARGUMENT',
      argument: 'state',
    },
    { what: 'int(0)', run: () => new Rng(1).int(0), code: 'INVALID_ARGUMENT', argument: 'n' },
    { what: 'int(2.5)', run: () => new Rng(1).int(2.5), code: 'INVALID_ARGUMENT', argument: 'n' },
    { what: 'uniform(NaN)', run: () => new Rng(1).uniform(Number.NaN), code: 'INVALID_ARGUMENT', argument: 'low' },
    { what: 'uniform(0, Infinity)', run: () => new Rng(1).uniform(0, Infinity), code: 'INVALID_ARGUMENT', argument: 'high' },
    { what: 'uniform over an infinitely wide interval', run: () => new Rng(1).uniform(-1e308, 1e308), code: 'INVALID_ARGUMENT', argument: 'high' },
    { what: 'normal with a negative std', run: () => new Rng(1).normal(0, -1), code: 'INVALID_ARGUMENT', argument: 'std' },
    { what: 'normal with a NaN mean', run: () => new Rng(1).normal(Number.NaN), code: 'INVALID_ARGUMENT', argument: 'mean' },
    { what: 'uniformArray(-1)', run: () => new Rng(1).uniformArray(-1), code: 'INVALID_ARGUMENT', argument: 'n' },
    { what: 'uniformArray with a NaN bound', run: () => new Rng(1).uniformArray(3, 0, Number.NaN), code: 'INVALID_ARGUMENT', argument: 'high' },
    { what: 'normalArray(1.5)', run: () => new Rng(1).normalArray(1.5), code: 'INVALID_ARGUMENT', argument: 'n' },
    { what: 'normalArray with an infinite std', run: () => new Rng(1).normalArray(2, 0, Infinity), code: 'INVALID_ARGUMENT', argument: 'std' },
    { what: 'permutation(-1)', run: () => new Rng(1).permutation(-1), code: 'INVALID_ARGUMENT', argument: 'n' },
    { what: 'choice: k larger than the set', run: () => new Rng(1).choice(3, 4), code: 'INVALID_ARGUMENT', argument: 'k' },
    { what: 'choice from an empty set', run: () => new Rng(1).choice(0, 0), code: 'INVALID_ARGUMENT', argument: 'n' },
    { what: 'choice: negative k', run: () => new Rng(1).choice(3, -1, { replace: true }), code: 'INVALID_ARGUMENT', argument: 'k' },
  ],
  viewLabels: [
    { what: 'n = 0 (empty batch)', run: tidy(() => viewLabels(0)), code: 'INVALID_ARGUMENT', argument: 'n' },
    { what: 'fractional n', run: tidy(() => viewLabels(2.5)), code: 'INVALID_ARGUMENT', argument: 'n' },
    { what: 'views = 0', run: tidy(() => viewLabels(3, 0)), code: 'INVALID_ARGUMENT', argument: 'views' },
    { what: 'more labels than an int32 tensor can hold', run: tidy(() => viewLabels(2 ** 20, 2 ** 12)), code: 'INVALID_ARGUMENT', argument: 'views' },
  ],
  l2Normalize: [
    { what: 'rank 1', run: tidy(() => l2Normalize(tf.ones([3]) as never)), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'int32', run: tidy(() => l2Normalize(tf.ones([2, 2], 'int32') as tf.Tensor2D)), code: 'DTYPE_MISMATCH', argument: 'x' },
    { what: 'disposed', run: tidy(() => l2Normalize(disposed(matrix(2, 2)))), code: 'DISPOSED', argument: 'x' },
    { what: 'eps = 0', run: tidy(() => l2Normalize(matrix(2, 2), 0)), code: 'INVALID_ARGUMENT', argument: 'eps' },
    { what: 'negative eps', run: tidy(() => l2Normalize(matrix(2, 2), -1e-12)), code: 'INVALID_ARGUMENT', argument: 'eps' },
    { what: 'NaN eps', run: tidy(() => l2Normalize(matrix(2, 2), Number.NaN)), code: 'INVALID_ARGUMENT', argument: 'eps' },
  ],
  safeSqrt: [
    { what: 'not a tensor', run: () => safeSqrt([4] as never), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'int32', run: tidy(() => safeSqrt(tf.ones([2], 'int32'))), code: 'DTYPE_MISMATCH', argument: 'x' },
    { what: 'disposed', run: tidy(() => safeSqrt(disposed(tf.ones([2])))), code: 'DISPOSED', argument: 'x' },
  ],
  stopGradient: [
    { what: 'null', run: () => stopGradient(null as never), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'disposed', run: tidy(() => stopGradient(disposed(tf.ones([2])))), code: 'DISPOSED', argument: 'x' },
  ],
  cosineSimilarity: distanceCases((options) => cosineSimilarity(options)),
  dotProductSimilarity: distanceCases((options) => dotProductSimilarity(options)),
  lpDistance: [
    ...distanceCases((options) => lpDistance(options)),
    { what: 'p < 1', run: () => lpDistance({ p: 0.5 }), code: 'INVALID_ARGUMENT', argument: 'p' },
    { what: 'NaN p', run: () => lpDistance({ p: Number.NaN }), code: 'INVALID_ARGUMENT', argument: 'p' },
    { what: '-Infinity p', run: () => lpDistance({ p: -Infinity }), code: 'INVALID_ARGUMENT', argument: 'p' },
    { what: 'power 0', run: () => lpDistance({ power: 0 }), code: 'INVALID_ARGUMENT', argument: 'power' },
    { what: 'negative power', run: () => lpDistance({ power: -2 }), code: 'INVALID_ARGUMENT', argument: 'power' },
    { what: 'pairwise (p = 1): b of another dimension', run: tidy(() => lpDistance({ p: 1 }).pairwise(matrix(2, 3), matrix(2, 2))), code: 'SHAPE_MISMATCH', argument: 'b' },
  ],
  kMeans: [
    { what: 'k larger than the set', run: tidy(() => kMeans(matrix(3, 2), { k: 4 })), code: 'INVALID_ARGUMENT', argument: 'k' },
    { what: 'k = 0', run: tidy(() => kMeans(matrix(3, 2), { k: 0 })), code: 'INVALID_ARGUMENT', argument: 'k' },
    { what: 'fractional k', run: tidy(() => kMeans(matrix(3, 2), { k: 1.5 })), code: 'INVALID_ARGUMENT', argument: 'k' },
    { what: 'options null', run: tidy(() => kMeans(matrix(3, 2), null as never)), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: 'rank-1 points', run: tidy(() => kMeans(tf.ones([3]) as never, { k: 1 })), code: 'SHAPE_MISMATCH', argument: 'points' },
    { what: 'int32 points', run: tidy(() => kMeans(tf.ones([3, 2], 'int32') as tf.Tensor2D, { k: 1 })), code: 'DTYPE_MISMATCH', argument: 'points' },
    { what: 'an empty set of points', run: tidy(() => kMeans(tf.zeros([0, 2]) as tf.Tensor2D, { k: 1 })), code: 'SHAPE_MISMATCH', argument: 'points' },
    { what: 'disposed points', run: tidy(() => kMeans(disposed(matrix(3, 2)), { k: 1 })), code: 'DISPOSED', argument: 'points' },
    { what: 'a NaN entry', run: tidy(() => kMeans(tf.tensor2d([[0, 1], [Number.NaN, 2], [3, 4]]), { k: 2 })), code: 'NON_FINITE', argument: 'points' },
    { what: 'an Infinity entry', run: tidy(() => kMeans(tf.tensor2d([[0, 1], [Infinity, 2]]), { k: 1 })), code: 'NON_FINITE', argument: 'points' },
    { what: 'a zero row with metric cosine', run: tidy(() => kMeans(tf.tensor2d([[0, 0], [1, 2]]), { k: 1, metric: 'cosine' })), code: 'INVALID_ARGUMENT', argument: 'points' },
    { what: 'an unknown metric', run: tidy(() => kMeans(matrix(3, 2), { k: 1, metric: 'manhattan' as never })), code: 'INVALID_ARGUMENT', argument: 'metric' },
    { what: 'negative maxIterations', run: tidy(() => kMeans(matrix(3, 2), { k: 1, maxIterations: -1 })), code: 'INVALID_ARGUMENT', argument: 'maxIterations' },
    { what: 'negative tolerance', run: tidy(() => kMeans(matrix(3, 2), { k: 1, tolerance: -1e-4 })), code: 'INVALID_ARGUMENT', argument: 'tolerance' },
    { what: 'an unknown init', run: tidy(() => kMeans(matrix(3, 2), { k: 1, init: 'forgy' as never })), code: 'INVALID_ARGUMENT', argument: 'init' },
    { what: 'rng not an Rng', run: tidy(() => kMeans(matrix(3, 2), { k: 1, rng: { int: () => 0 } as never })), code: 'INVALID_ARGUMENT', argument: 'rng' },
    { what: 'chunkRows 0', run: tidy(() => kMeans(matrix(3, 2), { k: 1, chunkRows: 0 })), code: 'INVALID_ARGUMENT', argument: 'chunkRows' },
    {
      what: 'initialCentroids of the wrong shape',
      run: tidy(() => kMeans(matrix(3, 2), { k: 2, initialCentroids: matrix(2, 3) })),
      code: 'SHAPE_MISMATCH',
      argument: 'initialCentroids',
    },
    {
      what: 'NaN initialCentroids',
      run: tidy(() => kMeans(matrix(3, 2), { k: 1, initialCentroids: tf.tensor2d([[Number.NaN, 0]]) })),
      code: 'NON_FINITE',
      argument: 'initialCentroids',
    },
    { what: 'onIteration not a function', run: tidy(() => kMeans(matrix(3, 2), { k: 1, onIteration: 3 as never })), code: 'INVALID_ARGUMENT', argument: 'onIteration' },
  ],
  selectBackend: [
    { what: 'an unknown backend', run: () => selectBackend({ preference: 'tpu' as never, log: false }), code: 'INVALID_ARGUMENT', argument: 'preference' },
    { what: 'an empty preference list', run: () => selectBackend({ preference: [], log: false }), code: 'INVALID_ARGUMENT', argument: 'preference' },
    { what: 'a number as preference', run: () => selectBackend({ preference: 42 as never, log: false }), code: 'INVALID_ARGUMENT', argument: 'preference' },
    {
      what: 'an inherited property name as backend',
      run: () => selectBackend({ preference: ['constructor' as never], log: false }),
      code: 'INVALID_ARGUMENT',
      argument: 'preference',
    },
    { what: 'wasmThreads 0', run: () => selectBackend({ preference: 'cpu', wasmThreads: 0, log: false }), code: 'INVALID_ARGUMENT', argument: 'wasmThreads' },
    { what: 'fractional wasmThreads', run: () => selectBackend({ preference: 'cpu', wasmThreads: 1.5, log: false }), code: 'INVALID_ARGUMENT', argument: 'wasmThreads' },
    { what: 'xnnpackThreads above wasmThreads', run: () => selectBackend({ preference: 'cpu', wasmThreads: 2, xnnpackThreads: 3, log: false }), code: 'INVALID_ARGUMENT', argument: 'xnnpackThreads' },
    { what: 'xnnpackThreads without wasmThreads', run: () => selectBackend({ preference: 'cpu', xnnpackThreads: 1, log: false }), code: 'INVALID_ARGUMENT', argument: 'xnnpackThreads' },
    { what: 'log neither false nor a function', run: () => selectBackend({ preference: 'cpu', log: 'yes' as never }), code: 'INVALID_ARGUMENT', argument: 'log' },
    { what: 'options null', run: () => selectBackend(null as never), code: 'INVALID_ARGUMENT', argument: 'options' },
  ],
  infoNceRowsNative: [
    { what: 'an unknown kind', run: () => tf.tidy(() => { infoNceRowsNative('nce' as never, tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1); }), code: 'INVALID_ARGUMENT', argument: 'kind' },
    { what: 'a 1-D block', run: () => tf.tidy(() => { infoNceRowsNative('supcon', tf.zeros([3]) as never, tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1); }), code: 'SHAPE_MISMATCH', argument: 'block' },
    { what: 'an int32 block', run: () => tf.tidy(() => { infoNceRowsNative('supcon', tf.zeros([2, 3], 'int32'), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1); }), code: 'DTYPE_MISMATCH', argument: 'block' },
    { what: 'float row ids', run: () => tf.tidy(() => { infoNceRowsNative('ntxent', tf.zeros([2, 3]), tf.zeros([2]), tf.zeros([3], 'int32'), -1); }), code: 'DTYPE_MISMATCH', argument: 'rowIds' },
    { what: 'too few column ids', run: () => tf.tidy(() => { infoNceRowsNative('ntxent', tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([2], 'int32'), -1); }), code: 'SHAPE_MISMATCH', argument: 'colIds' },
    { what: 'selfStart past the columns', run: () => tf.tidy(() => { infoNceRowsNative('supcon', tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), 2); }), code: 'INVALID_ARGUMENT', argument: 'selfStart' },
    { what: 'fractional selfStart', run: () => tf.tidy(() => { infoNceRowsNative('supcon', tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), 0.5); }), code: 'INVALID_ARGUMENT', argument: 'selfStart' },
  ],
  infoNceRowGradsNative: [
    { what: 'dRow of the wrong length', run: () => tf.tidy(() => { infoNceRowGradsNative('supcon', tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1, tf.zeros([3])); }), code: 'SHAPE_MISMATCH', argument: 'dRow' },
    { what: 'int32 dRow', run: () => tf.tidy(() => { infoNceRowGradsNative('supcon', tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1, tf.zeros([2], 'int32')); }), code: 'DTYPE_MISMATCH', argument: 'dRow' },
    { what: 'a disposed block', run: () => tf.tidy(() => { const b = tf.zeros([2, 3]); b.dispose(); infoNceRowGradsNative('supcon', b as tf.Tensor2D, tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1, tf.zeros([2])); }), code: 'INVALID_ARGUMENT', argument: 'block' },
  ],
  debiasedRowsNative: [
    { what: 'a 1-D block', run: () => tf.tidy(() => { debiasedRowsNative(tf.zeros([3]) as never, tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1, HCL); }), code: 'SHAPE_MISMATCH', argument: 'block' },
    { what: 'float column ids', run: () => tf.tidy(() => { debiasedRowsNative(tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3]), -1, HCL); }), code: 'DTYPE_MISMATCH', argument: 'colIds' },
    { what: 'selfStart past the columns', run: () => tf.tidy(() => { debiasedRowsNative(tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), 2, HCL); }), code: 'INVALID_ARGUMENT', argument: 'selfStart' },
    { what: 'no options', run: () => tf.tidy(() => { debiasedRowsNative(tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1, null as never); }), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: 'a negative beta', run: () => tf.tidy(() => { debiasedRowsNative(tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1, { ...HCL, beta: -1 }); }), code: 'INVALID_ARGUMENT', argument: 'options.beta' },
    { what: 'tauPlus 1', run: () => tf.tidy(() => { debiasedRowsNative(tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1, { ...HCL, tauPlus: 1 }); }), code: 'INVALID_ARGUMENT', argument: 'options.tauPlus' },
    { what: 'a NaN tauPlus', run: () => tf.tidy(() => { debiasedRowsNative(tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1, { ...HCL, tauPlus: Number.NaN }); }), code: 'INVALID_ARGUMENT', argument: 'options.tauPlus' },
    { what: 'clamp not a boolean', run: () => tf.tidy(() => { debiasedRowsNative(tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1, { ...HCL, clamp: 1 as never }); }), code: 'INVALID_ARGUMENT', argument: 'options.clamp' },
    { what: 'temperature 0', run: () => tf.tidy(() => { debiasedRowsNative(tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1, { ...HCL, temperature: 0 }); }), code: 'INVALID_ARGUMENT', argument: 'options.temperature' },
  ],
  debiasedRowGradsNative: [
    { what: 'dRow of the wrong length', run: () => tf.tidy(() => { debiasedRowGradsNative(tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1, HCL, tf.zeros([3])); }), code: 'SHAPE_MISMATCH', argument: 'dRow' },
    { what: 'an infinite beta', run: () => tf.tidy(() => { debiasedRowGradsNative(tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1, { ...HCL, beta: Infinity }, tf.zeros([2])); }), code: 'INVALID_ARGUMENT', argument: 'options.beta' },
    { what: 'a disposed block', run: () => tf.tidy(() => { const b = tf.zeros([2, 3]); b.dispose(); debiasedRowGradsNative(b as tf.Tensor2D, tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), -1, HCL, tf.zeros([2])); }), code: 'INVALID_ARGUMENT', argument: 'block' },
  ],
  addTransposeNative: [
    { what: 'a non-square matrix', run: () => tf.tidy(() => { addTransposeNative(tf.zeros([2, 3])); }), code: 'SHAPE_MISMATCH', argument: 'g' },
    { what: 'an int32 matrix', run: () => tf.tidy(() => { addTransposeNative(tf.zeros([2, 2], 'int32')); }), code: 'DTYPE_MISMATCH', argument: 'g' },
    { what: 'not a tensor', run: () => tf.tidy(() => { addTransposeNative([[1]] as never); }), code: 'INVALID_ARGUMENT', argument: 'g' },
    { what: 'h of another size', run: () => tf.tidy(() => { addTransposeNative(tf.zeros([2, 2]), tf.zeros([3, 3])); }), code: 'SHAPE_MISMATCH', argument: 'h' },
  ],
  firstNonFiniteNative: [
    { what: 'an int32 tensor', run: () => tf.tidy(() => { firstNonFiniteNative(tf.zeros([3], 'int32')); }), code: 'DTYPE_MISMATCH', argument: 'x' },
    { what: 'not a tensor', run: () => tf.tidy(() => { firstNonFiniteNative([1] as never); }), code: 'INVALID_ARGUMENT', argument: 'x' },
  ],
  gramMatrix: [
    { what: 'a 1-D tensor', run: () => tf.tidy(() => { gramMatrix(tf.zeros([3]) as never); }), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'an int32 matrix', run: () => tf.tidy(() => { gramMatrix(tf.zeros([2, 2], 'int32') as never); }), code: 'DTYPE_MISMATCH', argument: 'x' },
    { what: 'a NaN scale', run: () => tf.tidy(() => { gramMatrix(tf.zeros([2, 2]) as tf.Tensor2D, Number.NaN); }), code: 'INVALID_ARGUMENT', argument: 'scale' },
  ],
  scaledMatMul: [
    { what: 'a 1-D left operand', run: () => tf.tidy(() => { scaledMatMul(tf.zeros([3]) as never, tf.zeros([3, 2]) as tf.Tensor2D, 1); }), code: 'SHAPE_MISMATCH', argument: 'a' },
    { what: 'an int32 right operand', run: () => tf.tidy(() => { scaledMatMul(tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([3, 2], 'int32') as never, 1); }), code: 'DTYPE_MISMATCH', argument: 'b' },
    { what: 'inner sizes that differ', run: () => tf.tidy(() => { scaledMatMul(tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([2, 3]) as tf.Tensor2D, 1); }), code: 'SHAPE_MISMATCH', argument: 'b' },
    { what: 'an infinite scale', run: () => tf.tidy(() => { scaledMatMul(tf.zeros([2, 3]) as tf.Tensor2D, tf.zeros([2, 3]) as tf.Tensor2D, Number.POSITIVE_INFINITY, true); }), code: 'INVALID_ARGUMENT', argument: 'scale' },
  ],
  pickRowsNative: [
    { what: 'an int32 matrix', run: () => tf.tidy(() => { pickRowsNative(tf.zeros([2, 3], 'int32') as never, tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), { side: 'positive', extreme: 'largest', selfPairs: false, isSimilarity: false }); }), code: 'DTYPE_MISMATCH', argument: 'matrix' },
    { what: 'too few labels', run: () => tf.tidy(() => { pickRowsNative(tf.zeros([2, 3]), tf.zeros([1], 'int32'), tf.zeros([3], 'int32'), { side: 'positive', extreme: 'largest', selfPairs: false, isSimilarity: false }); }), code: 'SHAPE_MISMATCH', argument: 'labels' },
    { what: 'an unknown extreme', run: () => tf.tidy(() => { pickRowsNative(tf.zeros([2, 3]), tf.zeros([2], 'int32'), tf.zeros([3], 'int32'), { side: 'negative', extreme: 'middle' as never, selfPairs: false, isSimilarity: false }); }), code: 'INVALID_ARGUMENT', argument: 'options.extreme' },
    { what: 'selfPairs with more rows than columns', run: () => tf.tidy(() => { pickRowsNative(tf.zeros([3, 2]), tf.zeros([3], 'int32'), tf.zeros([2], 'int32'), { side: 'negative', extreme: 'largest', selfPairs: true, isSimilarity: false }); }), code: 'SHAPE_MISMATCH', argument: 'matrix' },
  ],
  pairMarginSumsNative: [
    { what: 'a 1-D matrix', run: () => tf.tidy(() => { pairMarginSumsNative(tf.zeros([3]) as never, tf.zeros([3], 'int32'), tf.zeros([3], 'int32'), { selfPairs: true, isSimilarity: false, posMargin: 0, negMargin: 1 }); }), code: 'SHAPE_MISMATCH', argument: 'matrix' },
    { what: 'a NaN margin', run: () => tf.tidy(() => { pairMarginSumsNative(tf.zeros([2, 2]), tf.zeros([2], 'int32'), tf.zeros([2], 'int32'), { selfPairs: true, isSimilarity: false, posMargin: 0, negMargin: Number.NaN }); }), code: 'INVALID_ARGUMENT', argument: 'options.negMargin' },
    { what: 'options null', run: () => tf.tidy(() => { pairMarginSumsNative(tf.zeros([2, 2]), tf.zeros([2], 'int32'), tf.zeros([2], 'int32'), null as never); }), code: 'INVALID_ARGUMENT', argument: 'options' },
  ],
  pairMarginGradNative: [
    { what: 'an infinite scale', run: () => tf.tidy(() => { pairMarginGradNative(tf.zeros([2, 2]), tf.zeros([2], 'int32'), tf.zeros([2], 'int32'), { selfPairs: true, isSimilarity: false, posMargin: 0, negMargin: 1 }, 1, Infinity); }), code: 'INVALID_ARGUMENT', argument: 'negScale' },
    { what: 'float labels', run: () => tf.tidy(() => { pairMarginGradNative(tf.zeros([2, 2]), tf.zeros([2]), tf.zeros([2], 'int32'), { selfPairs: true, isSimilarity: false, posMargin: 0, negMargin: 1 }, 1, 1); }), code: 'DTYPE_MISMATCH', argument: 'labels' },
  ],
  contrastiveSelfLossNative: [
    { what: 'a 1-D x', run: () => tf.tidy(() => { contrastiveSelfLossNative(tf.zeros([3]) as never, tf.zeros([3], 'int32'), { posMargin: 0, negMargin: 1 }); }), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'too many labels', run: () => tf.tidy(() => { contrastiveSelfLossNative(tf.zeros([3, 2]), tf.zeros([4], 'int32'), { posMargin: 0, negMargin: 1 }); }), code: 'SHAPE_MISMATCH', argument: 'labels' },
    { what: 'an infinite margin', run: () => tf.tidy(() => { contrastiveSelfLossNative(tf.zeros([3, 2]), tf.zeros([3], 'int32'), { posMargin: Infinity, negMargin: 1 }); }), code: 'INVALID_ARGUMENT', argument: 'options.posMargin' },
  ],
  tripletMarginNative: [
    { what: 'an index out of range', run: () => tf.tidy(() => { tripletMarginNative(tf.zeros([3, 2]), tf.tensor1d([0], 'int32'), tf.tensor1d([3], 'int32'), tf.tensor1d([1], 'int32'), { margin: 0.2, swap: false }); }), code: 'INVALID_ARGUMENT', argument: 'positive' },
    { what: 'indices of different lengths', run: () => tf.tidy(() => { tripletMarginNative(tf.zeros([3, 2]), tf.tensor1d([0], 'int32'), tf.tensor1d([1], 'int32'), tf.tensor1d([1, 2], 'int32'), { margin: 0.2, swap: false }); }), code: 'SHAPE_MISMATCH', argument: 'negative' },
    { what: 'a NaN margin', run: () => tf.tidy(() => { tripletMarginNative(tf.zeros([3, 2]), tf.tensor1d([0], 'int32'), tf.tensor1d([1], 'int32'), tf.tensor1d([2], 'int32'), { margin: Number.NaN, swap: false }); }), code: 'INVALID_ARGUMENT', argument: 'options.margin' },
    { what: 'an int32 u', run: () => tf.tidy(() => { tripletMarginNative(tf.zeros([3, 2], 'int32') as never, tf.tensor1d([0], 'int32'), tf.tensor1d([1], 'int32'), tf.tensor1d([2], 'int32'), { margin: 0.2, swap: false }); }), code: 'DTYPE_MISMATCH', argument: 'u' },
  ],
  tripletMarginGradNative: [
    { what: 'an infinite scale', run: () => tf.tidy(() => { tripletMarginGradNative(tf.zeros([3, 2]), tf.tensor1d([0], 'int32'), tf.tensor1d([1], 'int32'), tf.tensor1d([2], 'int32'), { margin: 0.2, swap: true }, Infinity); }), code: 'INVALID_ARGUMENT', argument: 'scale' },
    { what: 'swap not a boolean', run: () => tf.tidy(() => { tripletMarginGradNative(tf.zeros([3, 2]), tf.tensor1d([0], 'int32'), tf.tensor1d([1], 'int32'), tf.tensor1d([2], 'int32'), { margin: 0.2, swap: 1 as never }, 1); }), code: 'INVALID_ARGUMENT', argument: 'options.swap' },
  ],
  registerWasmKernels: { exempt: 'takes no arguments; repeated calls are a no-op (test "registerWasmKernels is idempotent" below)' },
  mlpEncoder: [
    { what: 'options null', run: () => mlpEncoder(null as never), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: 'inputDim missing', run: () => mlpEncoder({} as never), code: 'INVALID_ARGUMENT', argument: 'inputDim' },
    { what: 'inputDim 0', run: () => mlpEncoder({ inputDim: 0 }), code: 'INVALID_ARGUMENT', argument: 'inputDim' },
    { what: 'a zero hidden width', run: () => mlpEncoder({ inputDim: 4, hiddenDims: [8, 0] }), code: 'INVALID_ARGUMENT', argument: 'hiddenDims[1]' },
    { what: 'hiddenDims not an array', run: () => mlpEncoder({ inputDim: 4, hiddenDims: 8 as never }), code: 'INVALID_ARGUMENT', argument: 'hiddenDims' },
    { what: 'fractional outputDim', run: () => mlpEncoder({ inputDim: 4, outputDim: 1.5 }), code: 'INVALID_ARGUMENT', argument: 'outputDim' },
    { what: 'an unknown activation', run: () => mlpEncoder({ inputDim: 4, activation: 'gelu' as never }), code: 'INVALID_ARGUMENT', argument: 'activation' },
    {
      what: 'an unknown outputActivation',
      run: () => mlpEncoder({ inputDim: 4, outputActivation: 'softmax' as never }),
      code: 'INVALID_ARGUMENT',
      argument: 'outputActivation',
    },
    { what: 'an unknown init', run: () => mlpEncoder({ inputDim: 4, init: 'he' as never }), code: 'INVALID_ARGUMENT', argument: 'init' },
    { what: 'fractional seed', run: () => mlpEncoder({ inputDim: 4, seed: 0.5 }), code: 'INVALID_ARGUMENT', argument: 'seed' },
    { what: 'seed and rng together', run: () => mlpEncoder({ inputDim: 4, seed: 1, rng: new Rng(1) }), code: 'INVALID_ARGUMENT', argument: 'seed' },
    { what: 'rng not an Rng', run: () => mlpEncoder({ inputDim: 4, rng: {} as never }), code: 'INVALID_ARGUMENT', argument: 'rng' },
    { what: 'an empty name', run: () => mlpEncoder({ inputDim: 4, name: '' }), code: 'INVALID_ARGUMENT', argument: 'name' },
    // Methods of the returned Encoder.
    { what: 'apply: wrong width', run: tidy(() => liveMlp().apply(matrix(2, 5))), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'apply: rank-1 input', run: tidy(() => liveMlp().apply(tf.ones([4]))), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'apply: int32 input', run: tidy(() => liveMlp().apply(tf.ones([2, 4], 'int32'))), code: 'DTYPE_MISMATCH', argument: 'x' },
    { what: 'apply: disposed input', run: tidy(() => liveMlp().apply(disposed(matrix(2, 4)))), code: 'DISPOSED', argument: 'x' },
    { what: 'apply: not a tensor', run: () => liveMlp().apply([[1, 2, 3, 4]] as never), code: 'SHAPE_MISMATCH', argument: 'x' },
    { what: 'apply after dispose()', run: tidy(() => disposedMlp().apply(matrix(2, 4))), code: 'STATE', argument: null },
    { what: 'setWeights: too few tensors', run: tidy(() => liveMlp().setWeights([tf.zeros([4, 6])])), code: 'SHAPE_MISMATCH', argument: 'weights' },
    {
      what: 'setWeights: a wrong shape',
      run: tidy(() => liveMlp().setWeights([tf.zeros([4, 6]), tf.zeros([6]), tf.zeros([6, 4]), tf.zeros([3])])),
      code: 'SHAPE_MISMATCH',
      argument: 'weights[2]',
    },
    {
      what: 'setWeights: a wrong dtype',
      run: tidy(() => liveMlp().setWeights([tf.zeros([4, 6], 'int32'), tf.zeros([6]), tf.zeros([6, 3]), tf.zeros([3])])),
      code: 'DTYPE_MISMATCH',
      argument: 'weights[0]',
    },
    {
      what: 'setWeights: a disposed tensor',
      run: tidy(() => liveMlp().setWeights([tf.zeros([4, 6]), disposed(tf.zeros([6])), tf.zeros([6, 3]), tf.zeros([3])])),
      code: 'DISPOSED',
      argument: 'weights[1]',
    },
    { what: 'clone: trainable not boolean', run: () => liveMlp().clone({ trainable: 'no' as never }), code: 'INVALID_ARGUMENT', argument: 'options.trainable' },
    { what: 'getWeights after dispose()', run: () => disposedMlp().getWeights(), code: 'STATE', argument: null },
  ],
  convEncoder: [
    { what: 'inputShape of rank 2', run: () => convEncoder({ inputShape: [28, 28] }), code: 'INVALID_ARGUMENT', argument: 'inputShape' },
    { what: 'inputShape of rank 4', run: () => convEncoder({ inputShape: [1, 28, 28, 1] }), code: 'INVALID_ARGUMENT', argument: 'inputShape' },
    { what: 'a zero in inputShape', run: () => convEncoder({ inputShape: [28, 0, 1] }), code: 'INVALID_ARGUMENT', argument: 'inputShape[1]' },
    { what: 'no filters', run: () => convEncoder({ filters: [] }), code: 'INVALID_ARGUMENT', argument: 'filters' },
    { what: 'an even kernelSize', run: () => convEncoder({ kernelSize: 2 }), code: 'INVALID_ARGUMENT', argument: 'kernelSize' },
    { what: 'denseUnits 0', run: () => convEncoder({ denseUnits: 0 }), code: 'INVALID_ARGUMENT', argument: 'denseUnits' },
    { what: 'too many stages for the image', run: () => convEncoder({ inputShape: [4, 4, 1], filters: [2, 2, 2] }), code: 'INVALID_ARGUMENT', argument: 'filters' },
    { what: 'a non-boolean fused', run: () => convEncoder({ fused: 'yes' as unknown as boolean }), code: 'INVALID_ARGUMENT', argument: 'fused' },
    {
      what: 'apply: an image of the wrong size',
      run: () => {
        const encoder = convEncoder({ inputShape: [4, 4, 1], filters: [2], denseUnits: 2 });
        try {
          tf.tidy(() => {
            encoder.apply(tf.zeros([1, 5, 5, 1]));
          });
        } finally {
          encoder.dispose();
        }
      },
      code: 'SHAPE_MISMATCH',
      argument: 'x',
    },
  ],
  projectionHead: [
    { what: 'inputDim 0', run: () => projectionHead({ inputDim: 0 }), code: 'INVALID_ARGUMENT', argument: 'inputDim' },
    { what: 'negative hiddenDim', run: () => projectionHead({ hiddenDim: -1 }), code: 'INVALID_ARGUMENT', argument: 'hiddenDim' },
    { what: 'NaN outputDim', run: () => projectionHead({ outputDim: Number.NaN }), code: 'INVALID_ARGUMENT', argument: 'outputDim' },
    { what: 'negative hiddenLayers', run: () => projectionHead({ hiddenLayers: -1 }), code: 'INVALID_ARGUMENT', argument: 'hiddenLayers' },
    {
      what: 'apply: a flat input of the wrong width (exact shape only)',
      run: () => {
        const head = projectionHead({ inputDim: 4, hiddenDim: 2, outputDim: 2 });
        try {
          tf.tidy(() => {
            head.apply(matrix(2, 3));
          });
        } finally {
          head.dispose();
        }
      },
      code: 'SHAPE_MISMATCH',
      argument: 'x',
    },
  ],
  layersEncoder: [
    { what: 'model null', run: () => layersEncoder(null as never), code: 'INVALID_ARGUMENT', argument: 'model' },
    { what: 'a model with two inputs', run: withModel(twoInputModel), code: 'INVALID_ARGUMENT', argument: 'model' },
    {
      what: 'a model with rank-3 output',
      run: withModel(() => tfl.sequential({ layers: [tfl.layers.reshape({ targetShape: [2, 2], inputShape: [4] })] })),
      code: 'INVALID_ARGUMENT',
      argument: 'model',
    },
    {
      what: 'acceptFlat not boolean',
      run: withModel(() => tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [4] })] }), { acceptFlat: 1 }),
      code: 'INVALID_ARGUMENT',
      argument: 'acceptFlat',
    },
  ],
  MomentumEncoder: [
    { what: 'query null', run: () => new MomentumEncoder(null as never), code: 'INVALID_ARGUMENT', argument: 'query' },
    { what: 'head not an Encoder', run: () => new MomentumEncoder(liveMlp(), { head: {} as never }), code: 'INVALID_ARGUMENT', argument: 'head' },
    { what: 'momentum above 1', run: () => new MomentumEncoder(liveMlp(), { momentum: 1.5 }), code: 'INVALID_ARGUMENT', argument: 'momentum' },
    { what: 'negative momentum', run: () => new MomentumEncoder(liveMlp(), { momentum: -0.1 }), code: 'INVALID_ARGUMENT', argument: 'momentum' },
    { what: 'NaN momentum', run: () => new MomentumEncoder(liveMlp(), { momentum: Number.NaN }), code: 'INVALID_ARGUMENT', argument: 'momentum' },
    { what: 'a disposed query', run: () => new MomentumEncoder(disposedMlp()), code: 'STATE', argument: null },
    {
      what: 'update(2)',
      run: () => {
        const key = new MomentumEncoder(liveMlp());
        try {
          key.update(2);
        } finally {
          key.dispose();
        }
      },
      code: 'INVALID_ARGUMENT',
      argument: 'momentum',
    },
    {
      what: 'update after the query was disposed',
      run: () => {
        const query = mlpEncoder({ inputDim: 2, hiddenDims: [], outputDim: 2 });
        const key = new MomentumEncoder(query);
        query.dispose();
        try {
          key.update();
        } finally {
          key.dispose();
        }
      },
      code: 'STATE',
      argument: null,
    },
    {
      what: 'apply after dispose()',
      run: () => {
        const key = new MomentumEncoder(liveMlp());
        key.dispose();
        tf.tidy(() => {
          key.apply(matrix(1, 4));
        });
      },
      code: 'STATE',
      argument: null,
    },
    {
      what: 'apply: wrong width',
      run: () => {
        const key = new MomentumEncoder(liveMlp());
        try {
          tf.tidy(() => {
            key.apply(matrix(2, 3));
          });
        } finally {
          key.dispose();
        }
      },
      code: 'SHAPE_MISMATCH',
      argument: 'x',
    },
    {
      what: 'setWeights with the wrong count',
      run: () => {
        const key = new MomentumEncoder(liveMlp());
        try {
          tf.tidy(() => key.setWeights([tf.zeros([4, 6])]));
        } finally {
          key.dispose();
        }
      },
      code: 'SHAPE_MISMATCH',
      argument: 'weights',
    },
  ],
  train: [
    { what: 'options null', run: () => train(null as never), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: 'encoder null', run: () => trainWith({ encoder: null }), code: 'INVALID_ARGUMENT', argument: 'encoder' },
    { what: 'head not an Encoder', run: () => trainWith({ head: {} }), code: 'INVALID_ARGUMENT', argument: 'head' },
    { what: 'data without batch', run: () => trainWith({ data: { stepsPerEpoch: 1 } }), code: 'INVALID_ARGUMENT', argument: 'data' },
    { what: 'stepsPerEpoch 0', run: () => trainWith({ data: source(goodBatch, 0) }), code: 'INVALID_ARGUMENT', argument: 'data.stepsPerEpoch' },
    {
      what: 'data.beginEpoch not a function',
      run: () => trainWith({ data: { ...source(goodBatch), beginEpoch: 1 } }),
      code: 'INVALID_ARGUMENT',
      argument: 'data.beginEpoch',
    },
    { what: 'views not a function', run: () => trainWith({ views: {} }), code: 'INVALID_ARGUMENT', argument: 'views' },
    { what: 'loss null', run: () => trainWith({ loss: null }), code: 'INVALID_ARGUMENT', argument: 'loss' },
    { what: 'miner without mine', run: () => trainWith({ miner: {} }), code: 'INVALID_ARGUMENT', argument: 'miner' },
    {
      what: 'miner and hooks.lossInput together',
      run: () => trainWith({ miner: { name: 'm', mine: () => null }, hooks: { lossInput: () => null } }),
      code: 'INVALID_ARGUMENT',
      argument: 'miner',
    },
    { what: 'optimizer null', run: () => trainWith({ optimizer: null }), code: 'INVALID_ARGUMENT', argument: 'optimizer' },
    { what: 'epochs 0', run: () => trainWith({ epochs: 0 }), code: 'INVALID_ARGUMENT', argument: 'epochs' },
    { what: 'NaN epochs', run: () => trainWith({ epochs: Number.NaN }), code: 'INVALID_ARGUMENT', argument: 'epochs' },
    { what: 'seed and rng together', run: () => trainWith({ seed: 1, rng: new Rng(1) }), code: 'INVALID_ARGUMENT', argument: 'seed' },
    { what: 'fractional seed', run: () => trainWith({ seed: 0.5 }), code: 'INVALID_ARGUMENT', argument: 'seed' },
    { what: 'rng not an Rng', run: () => trainWith({ rng: {} }), code: 'INVALID_ARGUMENT', argument: 'rng' },
    { what: 'checkpoint without save', run: () => trainWith({ checkpoint: {} }), code: 'INVALID_ARGUMENT', argument: 'checkpoint' },
    {
      what: 'checkpoint.every 0',
      run: () => trainWith({ checkpoint: { every: 0, save: async () => undefined } }),
      code: 'INVALID_ARGUMENT',
      argument: 'checkpoint.every',
    },
    { what: 'readLossEvery 0', run: () => trainWith({ readLossEvery: 0 }), code: 'INVALID_ARGUMENT', argument: 'readLossEvery' },
    { what: 'callbacks null', run: () => trainWith({ callbacks: null }), code: 'INVALID_ARGUMENT', argument: 'callbacks' },
    {
      what: 'callbacks.onStepEnd not a function',
      run: () => trainWith({ callbacks: { onStepEnd: 'log' } }),
      code: 'INVALID_ARGUMENT',
      argument: 'callbacks.onStepEnd',
    },
    { what: 'hooks null', run: () => trainWith({ hooks: null }), code: 'INVALID_ARGUMENT', argument: 'hooks' },
    { what: 'hooks.afterStep not a function', run: () => trainWith({ hooks: { afterStep: 1 } }), code: 'INVALID_ARGUMENT', argument: 'hooks.afterStep' },
    { what: 'resumeFrom null', run: () => trainWith({ resumeFrom: null }), code: 'INVALID_ARGUMENT', argument: 'resumeFrom' },
    {
      what: 'resumeFrom without headWeights',
      run: () => withState((state) => trainWith({ resumeFrom: state }), { headWeights: undefined }),
      code: 'INVALID_ARGUMENT',
      argument: 'resumeFrom.headWeights',
    },
    {
      what: 'resumeFrom without extra',
      run: () => withState((state) => trainWith({ resumeFrom: state }), { extra: undefined }),
      code: 'INVALID_ARGUMENT',
      argument: 'resumeFrom.extra',
    },
    {
      what: 'resumeFrom without optimizer',
      run: () => withState((state) => trainWith({ resumeFrom: state }), { optimizer: null }),
      code: 'INVALID_ARGUMENT',
      argument: 'resumeFrom.optimizer',
    },
    {
      what: 'resumeFrom with a disposed weight',
      run: () => withState((state) => trainWith({ resumeFrom: { ...state, encoderWeights: [disposed(tf.zeros([4, 2])), ...state.encoderWeights.slice(1)] } })),
      code: 'DISPOSED',
      argument: 'resumeFrom.encoderWeights[0]',
    },
    {
      what: 'resumeFrom past the last epoch',
      run: () => withState((state) => trainWith({ resumeFrom: state, epochs: 1 }), { epoch: 2 }),
      code: 'INVALID_ARGUMENT',
      argument: 'resumeFrom.epoch',
    },
    {
      what: 'resumeFrom with a negative epoch',
      run: () => withState((state) => trainWith({ resumeFrom: state }), { epoch: -1 }),
      code: 'INVALID_ARGUMENT',
      argument: 'resumeFrom.epoch',
    },
    {
      what: 'resumeFrom with weights of another shape',
      run: () => withState((state) => trainWith({ resumeFrom: state }), { encoderWeights: [tf.zeros([3, 2]), tf.zeros([2])] }),
      code: 'SHAPE_MISMATCH',
      argument: 'weights[0]',
    },
    {
      what: 'resumeFrom of another optimizer',
      run: () => withState((state) => trainWith({ resumeFrom: state }), { optimizer: { className: 'Adam', weights: [], accumulators: [] } }),
      code: 'INVALID_ARGUMENT',
      argument: 'resumeFrom.optimizer',
    },
    {
      what: 'resumeFrom with a corrupt rng state',
      run: () => withState((state) => trainWith({ resumeFrom: state }), { rng: { algorithm: 'xoroshiro128plus', state: [1], spareNormal: null } }),
      code: 'INVALID_ARGUMENT',
      argument: 'state',
    },
    {
      what: 'a batch without tensors',
      run: () => trainWith({ data: source(() => ({ inputs: [[1, 2, 3, 4]], labels: [0] }) as never) }),
      code: 'SHAPE_MISMATCH',
      argument: 'data.batch()',
    },
    {
      what: 'float batch labels',
      run: () => trainWith({ data: source(() => ({ inputs: matrix(2, 4), labels: tf.tensor1d([0, 1]) as never })) }),
      code: 'DTYPE_MISMATCH',
      argument: 'data.batch().labels',
    },
    {
      what: 'mismatched batch sizes of inputs and labels',
      run: () => trainWith({ data: source(() => ({ inputs: matrix(4, 4), labels: intLabels([0, 1, 2]) })) }),
      code: 'LABEL_COUNT',
      argument: 'data.batch().labels',
    },
    {
      what: 'an empty batch',
      run: () => trainWith({ data: source(() => ({ inputs: tf.zeros([0, 4]), labels: tf.zeros([0], 'int32') as tf.Tensor1D })) }),
      code: 'SHAPE_MISMATCH',
      argument: 'data.batch().inputs',
    },
    {
      what: 'disposed batch inputs',
      run: () => trainWith({ data: source(() => ({ inputs: disposed(matrix(2, 4)), labels: intLabels([0, 1]) })) }),
      code: 'DISPOSED',
      argument: 'data.batch().inputs',
    },
    {
      what: 'int32 batch inputs',
      run: () => trainWith({ data: source(() => ({ inputs: tf.ones([2, 4], 'int32'), labels: intLabels([0, 1]) })) }),
      code: 'DTYPE_MISMATCH',
      argument: 'x',
    },
    {
      what: 'views returning labels of the wrong length',
      run: () => trainWith({ views: (batch: Batch) => ({ inputs: tf.concat([batch.inputs, batch.inputs]), labels: tf.clone(batch.labels) }) }),
      code: 'LABEL_COUNT',
      argument: 'views().labels',
    },
    {
      what: 'NaN inputs: the NaN loss is reported',
      run: () => trainWith({ data: source(() => ({ inputs: tf.fill([2, 4], Number.NaN), labels: intLabels([0, 1]) })) }),
      code: 'NON_FINITE',
      argument: 'train',
    },
    {
      what: 'a loss that throws inside the step (its tape is freed)',
      run: () =>
        trainWith({
          loss: {
            name: 'validating',
            compute: ({ embeddings }: { embeddings: tf.Tensor2D }) => {
              tf.square(embeddings);
              assertLabels(intLabels([0]), embeddings.shape[0], 'labels', 'validatingLoss');
              return tf.sum(embeddings);
            },
          },
        }),
      code: 'LABEL_COUNT',
      argument: 'labels',
    },
    {
      what: 'a loss that returns a vector',
      run: () => trainWith({ loss: { name: 'vector', compute: ({ embeddings }: { embeddings: tf.Tensor2D }) => tf.sum(embeddings, 1) } }),
      code: 'SHAPE_MISMATCH',
      argument: 'loss',
    },
  ],
  embedDataset: [
    { what: 'encoder null', run: tidy(() => embedDataset(null as never, matrix(2, 4))), code: 'INVALID_ARGUMENT', argument: 'encoder' },
    { what: 'inputs not a tensor', run: () => embedDataset(liveMlp(), [[1]] as never), code: 'SHAPE_MISMATCH', argument: 'inputs' },
    { what: 'a scalar input', run: tidy(() => embedDataset(liveMlp(), tf.scalar(1))), code: 'SHAPE_MISMATCH', argument: 'inputs' },
    { what: 'an empty input', run: tidy(() => embedDataset(liveMlp(), tf.zeros([0, 4]))), code: 'SHAPE_MISMATCH', argument: 'inputs' },
    { what: 'disposed inputs', run: tidy(() => embedDataset(liveMlp(), disposed(matrix(2, 4)))), code: 'DISPOSED', argument: 'inputs' },
    { what: 'batchSize 0', run: tidy(() => embedDataset(liveMlp(), matrix(2, 4), { batchSize: 0 })), code: 'INVALID_ARGUMENT', argument: 'batchSize' },
    { what: 'inputs of the wrong width', run: tidy(() => embedDataset(liveMlp(), matrix(3, 5), { batchSize: 2 })), code: 'SHAPE_MISMATCH', argument: 'x' },
  ],
  disposeTrainState: [
    { what: 'null', run: () => disposeTrainState(null as never), code: 'INVALID_ARGUMENT', argument: 'state' },
    { what: 'no encoderWeights', run: () => withState((state) => disposeTrainState(state), { encoderWeights: undefined }), code: 'INVALID_ARGUMENT', argument: 'state.encoderWeights' },
    { what: 'extra not a record', run: () => withState((state) => disposeTrainState(state), { extra: [1] }), code: 'INVALID_ARGUMENT', argument: 'state.extra' },
    {
      what: 'a non-tensor optimizer weight',
      run: () => withState((state) => disposeTrainState(state), { optimizer: { className: 'SGD', weights: [{ name: 'w', tensor: 3 }], accumulators: [] } }),
      code: 'INVALID_ARGUMENT',
      argument: 'state.optimizer.weights[0].tensor',
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// The battery

describe('@contrastive/core reliability battery', () => {
  it('every export has a case', () => {
    expect(exportCoverageGaps(api, coverage)).toEqual({ missing: [], stale: [] });
  });

  for (const [name, entry] of Object.entries(coverage) as [string, ExportCoverage][]) {
    if (!Array.isArray(entry)) continue;
    for (const { what, run, code, argument } of entry as readonly BadInputCase[]) {
      it(`${name}: ${what}`, async () => {
        // Warm the shared encoders first, so that only the case's own tensors are counted.
        liveMlp();
        disposedMlp();
        await expectNoLeak(() => expectRejectsContrastive(run, code, argument));
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Documented results and properties

/** Finite float32 values, zeros and duplicates included, bounded so that squares stay finite. */
const finite = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 1, -1, 1e-20, 1e4, -1e4) },
  { weight: 4, arbitrary: fc.float({ min: -1e4, max: 1e4, noNaN: true, noDefaultInfinity: true }) },
);

/** `[rows][cols]` finite matrices with 1..6 rows (a batch of one included), some rows duplicated or zero. */
const finiteMatrix = fc
  .record({ rows: fc.integer({ min: 1, max: 6 }), cols: fc.integer({ min: 1, max: 5 }) })
  .chain(({ rows, cols }) =>
    fc
      .tuple(
        fc.array(fc.array(finite, { minLength: cols, maxLength: cols }), { minLength: rows, maxLength: rows }),
        fc.array(fc.constantFrom('keep', 'zero', 'duplicate'), { minLength: rows, maxLength: rows }),
      )
      .map(([values, edits]) =>
        values.map((row, i) => {
          if (edits[i] === 'zero') return row.map(() => 0);
          if (edits[i] === 'duplicate' && i > 0) return [...(values[0] as number[])];
          return row;
        }),
      ),
  );

function allFinite(tensor: tf.Tensor): boolean {
  return Array.from(tensor.dataSync()).every(Number.isFinite);
}

const DISTANCES: [string, () => Distance][] = [
  ['cosineSimilarity', () => cosineSimilarity()],
  ['dotProductSimilarity', () => dotProductSimilarity()],
  ['lpDistance()', () => lpDistance()],
  ['lpDistance({ normalize: false })', () => lpDistance({ normalize: false })],
  ['lpDistance({ p: 1 })', () => lpDistance({ p: 1, normalize: false })],
  ['lpDistance({ p: 3, power: 2 })', () => lpDistance({ p: 3, power: 2 })],
  ['lpDistance({ p: Infinity })', () => lpDistance({ p: Infinity, normalize: false })],
  ['lpDistance({ power: 2 }) (squared Euclidean)', () => lpDistance({ power: 2, normalize: false })],
];

describe('no NaN for finite input (fast-check)', () => {
  it('isContrastiveError is total: any value gives a boolean, never a throw', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(typeof isContrastiveError(value)).toBe('boolean');
      }),
      { numRuns: 30 },
    );
    expect(isContrastiveError(new ContrastiveError('DATA', 'x'))).toBe(true);
  });

  it.each(DISTANCES)('%s: pairwise and paired are finite for finite rows (zero and duplicate rows, a batch of one)', (_name, make) => {
    const distance = make();
    fc.assert(
      fc.property(finiteMatrix, (rows) => {
        const ok = tf.tidy(() => {
          const x = tf.tensor2d(rows);
          const gradient = tf.grad((input: tf.Tensor) => tf.sum(distance.pairwise(input as tf.Tensor2D)))(x);
          return allFinite(distance.pairwise(x)) && allFinite(distance.paired(x, tf.reverse(x, 0) as tf.Tensor2D)) && allFinite(gradient);
        });
        expect(ok).toBe(true);
      }),
      { numRuns: 15 },
    );
  });

  it('l2Normalize: finite output and gradient; rows of norm 1 or 0', () => {
    fc.assert(
      fc.property(finiteMatrix, (rows) => {
        tf.tidy(() => {
          const x = tf.tensor2d(rows);
          const y = l2Normalize(x);
          const gradient = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(l2Normalize(input as tf.Tensor2D), tf.range(0, rows[0]!.length))))(x);
          expect(allFinite(y) && allFinite(gradient)).toBe(true);
          // Rows whose norm is well above eps (and whose squares do not underflow in float32) become
          // unit rows; the others (zero and subnormal rows) shrink, never grow.
          const norms = Array.from(tf.norm(y, 2, 1).dataSync());
          norms.forEach((norm, i) => {
            const exact = Math.hypot(...rows[i]!);
            if (exact > 1e-6) expect(Math.abs(norm - 1)).toBeLessThan(1e-5);
            else expect(norm).toBeLessThanOrEqual(1 + 1e-5);
          });
        });
      }),
      { numRuns: 25 },
    );
  });

  it('safeSqrt: finite value and gradient for any finite input, 0 for negatives', () => {
    fc.assert(
      fc.property(fc.array(finite, { minLength: 1, maxLength: 12 }), (values) => {
        tf.tidy(() => {
          const x = tf.tensor1d(values);
          const y = safeSqrt(x);
          const gradient = tf.grad((input: tf.Tensor) => tf.sum(safeSqrt(input)))(x);
          expect(allFinite(y) && allFinite(gradient)).toBe(true);
          Array.from(y.dataSync()).forEach((value, i) => expect(value).toBeCloseTo(Math.sqrt(Math.max(values[i] as number, 0)), 0));
        });
      }),
      { numRuns: 25 },
    );
  });

  it('kMeans: finite inertia and centroids, assignments in range, for any finite points and k <= n', () => {
    fc.assert(
      fc.property(
        finiteMatrix.chain((rows) => fc.tuple(fc.constant(rows), fc.integer({ min: 1, max: rows.length }), fc.constantFrom('euclidean' as const, 'cosine' as const))),
        ([rows, k, metric]) => {
          const points = metric === 'cosine' ? rows.map((row) => (row.every((value) => value === 0) ? row.map(() => 1) : row)) : rows;
          tf.tidy(() => {
            const result = kMeans(tf.tensor2d(points), { k, metric, rng: new Rng(k) });
            expect(Number.isFinite(result.inertia)).toBe(true);
            expect(result.inertia).toBeGreaterThanOrEqual(0);
            expect(allFinite(result.centroids)).toBe(true);
            expect(Array.from(result.assignments.dataSync()).every((c) => c >= 0 && c < k)).toBe(true);
          });
        },
      ),
      { numRuns: 20 },
    );
  });

  it('Rng: draws are finite and inside their interval for any finite bounds', () => {
    fc.assert(
      fc.property(fc.integer(), fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: 0, max: 1e6, noNaN: true }), (seed, low, width) => {
        const rng = new Rng(seed);
        const value = rng.uniform(low, low + width);
        expect(value).toBeGreaterThanOrEqual(low);
        expect(value).toBeLessThanOrEqual(low + width);
        expect(Number.isFinite(rng.normal(low, width))).toBe(true);
        expect(Array.from(rng.normalArray(4, low, width)).every(Number.isFinite)).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('Rng: a state survives a JSON round trip; random garbage states are rejected with INVALID_ARGUMENT', () => {
    fc.assert(
      fc.property(fc.integer(), fc.anything(), (seed, garbage) => {
        const rng = new Rng(seed);
        rng.normal();
        const restored = Rng.fromState(JSON.parse(JSON.stringify(rng.state())) as ReturnType<Rng['state']>);
        expect(restored.uniform()).toBe(rng.uniform());
        try {
          Rng.fromState(garbage as never);
        } catch (error) {
          expect(isContrastiveError(error) && error.code === 'INVALID_ARGUMENT').toBe(true);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('random wrong ranks are SHAPE_MISMATCH naming the argument, for every distance', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 4 }).filter((shape) => shape.length !== 2), async (shape) => {
        for (const [, make] of DISTANCES) {
          const wrongRank = (): tf.Tensor2D => {
            const tensor: tf.Tensor = tf.ones(shape);
            return tensor as tf.Tensor2D;
          };
          await expectNoLeak(() => expectRejectsContrastive(tidy(() => make().pairwise(wrongRank())), 'SHAPE_MISMATCH', 'a'));
        }
      }),
      { numRuns: 10 },
    );
  });

  it('random bad scalars (NaN, ±Infinity, out of range) for hyper-parameters are INVALID_ARGUMENT naming them', async () => {
    const bad = fc.oneof(fc.constantFrom(Number.NaN, Infinity, -Infinity, 0, -1), fc.double({ max: -1e-9, noNaN: true }));
    fc.assert(
      fc.property(bad, (value) => {
        for (const [run, argument] of [
          [() => lpDistance({ power: value }), 'power'],
          [() => l2Normalize(matrix(1, 2), value), 'eps'],
          [() => new Rng(1).normal(0, value === 0 ? -1 : value), 'std'],
          [() => projectionHead({ outputDim: value }), 'outputDim'],
          [() => viewLabels(value), 'n'],
        ] as [() => unknown, string][]) {
          let thrown: unknown;
          try {
            tf.tidy(() => {
              run();
            });
          } catch (error) {
            thrown = error;
          }
          expect(isContrastiveError(thrown) && thrown.code === 'INVALID_ARGUMENT' && thrown.message.includes(`'${argument}'`)).toBe(true);
        }
      }),
      { numRuns: 20 },
    );
  });
});

describe('documented results for edge inputs', () => {
  it('a batch of one: distances give [1, 1] (0 or 1 against itself), l2Normalize a unit row, kMeans one cluster', () => {
    tf.tidy(() => {
      const one = tf.tensor2d([[3, 4]]);
      expect(Array.from(cosineSimilarity().pairwise(one).dataSync())).toEqual([expect.closeTo(1, 6)]);
      expect(Array.from(lpDistance().pairwise(one).dataSync())).toEqual([0]);
      expect(Array.from(l2Normalize(one).dataSync())).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.8, 6)]);
      const result = kMeans(one, { k: 1 });
      expect(result.inertia).toBe(0);
      expect(Array.from(result.assignments.dataSync())).toEqual([0]);
    });
  });

  it('zero vectors: cosine similarity 0, l2Normalize keeps them zero, Lp distance finite with a zero gradient', () => {
    tf.tidy(() => {
      const zeros = tf.zeros([3, 4]) as tf.Tensor2D;
      expect(Array.from(cosineSimilarity().pairwise(zeros).dataSync()).every((value) => value === 0)).toBe(true);
      expect(Array.from(l2Normalize(zeros).dataSync()).every((value) => value === 0)).toBe(true);
      const gradient = tf.grad((x: tf.Tensor) => tf.sum(lpDistance({ normalize: false }).pairwise(x as tf.Tensor2D)))(zeros);
      expect(Array.from(gradient.dataSync()).every((value) => value === 0)).toBe(true);
    });
  });

  it('NaN / Infinity entries are not checked by the device ops: they turn only their own row (and column) to NaN', () => {
    tf.tidy(() => {
      const x = tf.tensor2d([[1, 2], [Number.NaN, 0], [Infinity, 1], [0, 3]]);
      const normalized = l2Normalize(x).arraySync();
      expect(normalized[0]!.every(Number.isFinite) && normalized[3]!.every(Number.isFinite)).toBe(true);
      expect(normalized[1]!.some(Number.isNaN) && normalized[2]!.some(Number.isNaN)).toBe(true);
      const similarity = cosineSimilarity().pairwise(x).arraySync();
      expect(Number.isFinite(similarity[0]![3])).toBe(true);
      expect(Number.isNaN(similarity[0]![1])).toBe(true);
    });
  });

  it('scaled by 1e4, cosine similarity and normalized Lp distances stay finite', () => {
    tf.tidy(() => {
      const x = tf.mul(tf.tensor2d([[1, -2, 3], [0.5, 0.1, -1]]), 1e4) as tf.Tensor2D;
      expect(allFinite(cosineSimilarity().pairwise(x))).toBe(true);
      expect(allFinite(lpDistance().pairwise(x))).toBe(true);
      expect(allFinite(dotProductSimilarity().pairwise(x))).toBe(true);
    });
  });

  it('an encoder maps a batch of one to one finite row; NaN inputs propagate (train reports them as NON_FINITE)', () => {
    tf.tidy(() => {
      const encoder = liveMlp();
      const one = encoder.apply(matrix(1, 4));
      expect(one.shape).toEqual([1, 3]);
      expect(allFinite(one)).toBe(true);
      expect(embedDataset(encoder, matrix(1, 4)).shape).toEqual([1, 3]);
    });
  });

  it('disposeTrainState is idempotent; registerWasmKernels is idempotent', () => {
    const state = stateFor(0);
    disposeTrainState(state);
    expect(() => disposeTrainState(state)).not.toThrow();
    registerWasmKernels();
    const before = tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc;
    registerWasmKernels();
    expect(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc).toBe(before);
    expect(backend === 'wasm' || backend === 'cpu').toBe(true);
  });

  it('train with a batch of one runs and reports a finite loss', async () => {
    const result = (await trainWith({ data: source(() => ({ inputs: matrix(1, 4), labels: intLabels([0]) })) })) as { epochs: { losses: number[] }[] };
    expect(result.epochs[0]!.losses.every(Number.isFinite)).toBe(true);
  });
});
