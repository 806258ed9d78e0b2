/**
 * The reliability battery of `@contrastive/samplers` (issue 9): every runtime export of the index
 * has bad-input cases — wrong rank, mismatched sizes, float labels, empty batches, NaN / Infinity,
 * bad hyper-parameters, k larger than the set, indices out of range, disposed tensors, use after
 * dispose() — each of which must throw a `ContrastiveError` with a stable code naming the argument.
 * Properties over random finite inputs (zeros and duplicate rows included) hold that miners return
 * valid tuples and that batches of one or without a positive give the documented empty tuples.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, lpDistance } from '@contrastive/core';
import type { Loss, Miner } from '@contrastive/core';
import { exportCoverageGaps, expectRejectsContrastive, useTestBackend } from '@contrastive/core/testing';
import type { BadInputCase, ExportCoverage } from '@contrastive/core/testing';
import { tripletMarginLoss } from '@contrastive/losses';
import * as api from './index.js';
import { tupleFields, tupleProblems } from './test-support/miners.js';

beforeAll(async () => {
  await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/** Registers a tensor created by a case, to be disposed when the case ends. */
type Keep = <T extends tf.Tensor>(tensor: T) => T;

/** Something with a `dispose()` (a memory, a bank) made by a case, to be disposed when it ends. */
interface Disposable {
  dispose(): void;
}

/** Wraps a case's call: every tensor passed to `keep` and every object passed to `own` is disposed afterwards. */
function scoped(call: (keep: Keep, own: <T extends Disposable>(owned: T) => T) => unknown): () => unknown {
  return () => {
    const kept: tf.Tensor[] = [];
    const owned: Disposable[] = [];
    const keep: Keep = (tensor) => {
      kept.push(tensor);
      return tensor;
    };
    const own = <T extends Disposable>(object: T): T => {
      owned.push(object);
      return object;
    };
    try {
      const result = call(keep, own);
      // A call that unexpectedly returns tuples or a reference must not leak them.
      if (result !== null && typeof result === 'object' && !(result instanceof tf.Tensor) && !Array.isArray(result)) {
        tf.dispose(Object.values(result as Record<string, unknown>).filter((value): value is tf.Tensor => value instanceof tf.Tensor));
      }
      if (Array.isArray(result)) tf.dispose(result.filter((value): value is tf.Tensor => value instanceof tf.Tensor));
      return result;
    } finally {
      tf.dispose(kept);
      owned.forEach((object) => object.dispose());
    }
  };
}

/** A value of the wrong type, passed where the type system would not allow it. */
const bad = <T>(value: unknown): T => value as T;

/** A tensor that has already been disposed. */
function disposed<T extends tf.Tensor>(tensor: T): T {
  tensor.dispose();
  return tensor;
}

const ROWS = 8;
const DIMS = 3;
const rowsOf = (n: number, d: number, seed = 3): number[][] => {
  const values = new Rng(seed).normalArray(n * d);
  return Array.from({ length: n }, (_, i) => Array.from(values.subarray(i * d, (i + 1) * d)));
};
/** Labels `i % (n / 2)`: rows i and i + n/2 share a label. */
const labelValues = (n: number): number[] => Array.from({ length: n }, (_, i) => i % Math.max(1, Math.floor(n / 2)));
const embeddingsOf = (keep: Keep, n = ROWS, d = DIMS): tf.Tensor2D => keep(tf.tensor2d(rowsOf(n, d), [n, d]));
const labelsOf = (keep: Keep, n = ROWS): tf.Tensor1D => keep(tf.tensor1d(labelValues(n), 'int32'));
const int32 = (keep: Keep, values: number[]): tf.Tensor1D => keep(tf.tensor1d(values, 'int32'));
/** Rows with a NaN (or an Infinity) in row 2. */
const poisoned = (keep: Keep, value: number, n = ROWS, d = DIMS): tf.Tensor2D =>
  keep(tf.tensor2d(rowsOf(n, d).map((row, i) => (i === 2 ? [value, ...row.slice(1)] : row)), [n, d]));

const NOT_A_DISTANCE = { name: 'euclid', pairwise: 'no' };

/** Factory calls with bad options, each expected to throw `INVALID_ARGUMENT` naming `argument`. */
function optionCases(fn: string, call: (options: unknown) => unknown, options: [string, unknown, string][], nullOptions = true): BadInputCase[] {
  const all: [string, unknown, string][] = [...(nullOptions ? ([['null options', null, 'options'], ['options that are not an object', 7, 'options']] as [string, unknown, string][]) : []), ...options];
  return all.map(([what, value, argument]) => ({
    what: `${fn}(${what})`,
    run: () => {
      const made = call(value) as Partial<Disposable> | undefined;
      made?.dispose?.();
      return made;
    },
    code: 'INVALID_ARGUMENT',
    argument,
  }));
}

/** The bad `mine` inputs every miner (and `hardNegativeProbabilities`) must reject. */
function mineCases(call: (input: unknown) => unknown): BadInputCase[] {
  const run = (input: (keep: Keep) => unknown): (() => unknown) => scoped((keep) => call(input(keep)));
  const base = (keep: Keep) => ({ embeddings: embeddingsOf(keep), labels: labelsOf(keep) });
  const refOf = (keep: Keep, n = 5, d = DIMS) => ({ embeddings: embeddingsOf(keep, n, d), labels: labelsOf(keep, n) });
  return [
    { what: 'null input', run: run(() => null), code: 'INVALID_ARGUMENT', argument: 'input' },
    { what: 'rank-1 embeddings', run: run((keep) => ({ ...base(keep), embeddings: keep(tf.ones([ROWS])) })), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'rank-3 embeddings', run: run((keep) => ({ ...base(keep), embeddings: keep(tf.ones([ROWS, DIMS, 2])) })), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'int32 embeddings', run: run((keep) => ({ ...base(keep), embeddings: keep(tf.ones([ROWS, DIMS], 'int32')) })), code: 'DTYPE_MISMATCH', argument: 'embeddings' },
    { what: 'embeddings as a plain array', run: run((keep) => ({ ...base(keep), embeddings: rowsOf(ROWS, DIMS) })), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'an empty batch', run: run((keep) => ({ embeddings: keep(tf.zeros([0, DIMS])), labels: int32(keep, []) })), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'embeddings without columns', run: run((keep) => ({ ...base(keep), embeddings: keep(tf.zeros([ROWS, 0])) })), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'disposed embeddings', run: run((keep) => ({ ...base(keep), embeddings: disposed(tf.ones([ROWS, DIMS])) })), code: 'DISPOSED', argument: 'embeddings' },
    { what: 'a NaN in the embeddings', run: run((keep) => ({ ...base(keep), embeddings: poisoned(keep, Number.NaN) })), code: 'NON_FINITE', argument: 'embeddings' },
    { what: 'an Infinity in the embeddings', run: run((keep) => ({ ...base(keep), embeddings: poisoned(keep, Number.POSITIVE_INFINITY) })), code: 'NON_FINITE', argument: 'embeddings' },
    { what: 'missing labels', run: run((keep) => ({ embeddings: embeddingsOf(keep) })), code: 'SHAPE_MISMATCH', argument: 'labels' },
    { what: 'fewer labels than embeddings', run: run((keep) => ({ ...base(keep), labels: int32(keep, [0, 1, 0]) })), code: 'LABEL_COUNT', argument: 'labels' },
    { what: 'float labels', run: run((keep) => ({ ...base(keep), labels: keep(tf.tensor1d(labelValues(ROWS))) })), code: 'DTYPE_MISMATCH', argument: 'labels' },
    { what: 'rank-2 labels', run: run((keep) => ({ ...base(keep), labels: keep(tf.zeros([ROWS, 1], 'int32')) })), code: 'SHAPE_MISMATCH', argument: 'labels' },
    { what: 'disposed labels', run: run((keep) => ({ ...base(keep), labels: disposed(tf.tensor1d(labelValues(ROWS), 'int32')) })), code: 'DISPOSED', argument: 'labels' },
    { what: 'a ref that is not an object', run: run((keep) => ({ ...base(keep), ref: 'queue' })), code: 'INVALID_ARGUMENT', argument: 'ref' },
    { what: 'ref.embeddings of another dimension', run: run((keep) => ({ ...base(keep), ref: refOf(keep, 5, DIMS + 1) })), code: 'SHAPE_MISMATCH', argument: 'ref.embeddings' },
    { what: 'disposed ref.embeddings', run: run((keep) => ({ ...base(keep), ref: { ...refOf(keep), embeddings: disposed(tf.ones([5, DIMS])) } })), code: 'DISPOSED', argument: 'ref.embeddings' },
    { what: 'a NaN in ref.embeddings', run: run((keep) => ({ ...base(keep), ref: { embeddings: poisoned(keep, Number.NaN, 5), labels: labelsOf(keep, 5) } })), code: 'NON_FINITE', argument: 'ref.embeddings' },
    { what: 'ref.labels of the wrong length', run: run((keep) => ({ ...base(keep), ref: { ...refOf(keep), labels: int32(keep, [0]) } })), code: 'LABEL_COUNT', argument: 'ref.labels' },
    { what: 'float ref.labels', run: run((keep) => ({ ...base(keep), ref: { ...refOf(keep), labels: keep(tf.zeros([5])) } })), code: 'DTYPE_MISMATCH', argument: 'ref.labels' },
  ];
}

/** A miner's factory cases (null options, a bad distance, ...) and its `mine` cases. */
function minerCases(fn: string, make: (options?: unknown) => Miner, options: [string, unknown, string][]): BadInputCase[] {
  return [
    ...optionCases(fn, (o) => make(o), options),
    ...mineCases((input) => make().mine(bad(input))).map((c) => ({ ...c, what: `mine: ${c.what}` })),
  ];
}

/** A loss that records nothing and returns a connected zero (for crossBatchMemory). */
const zeroLoss: Loss = {
  name: 'zero',
  compute: ({ embeddings }) => tf.tidy(() => tf.mul(tf.sum(embeddings), 0) as tf.Scalar),
};

const stateOf = (make: () => { state(): tf.Tensor[] } & Disposable): tf.Tensor[] => {
  const owner = make();
  const state = owner.state();
  owner.dispose();
  return state;
};

// ---------------------------------------------------------------------------------------------
// the coverage of every export
// ---------------------------------------------------------------------------------------------

const features = (keep: Keep, n = 6, d = 2): tf.Tensor2D => keep(tf.tensor2d(rowsOf(n, d)));
const CONCENTRATION_INPUT = (keep: Keep) => ({
  features: features(keep),
  assignments: int32(keep, [0, 0, 1, 1, 2, 2]),
  centroids: keep(tf.tensor2d([[1, 0], [0, 1], [-1, 0]])),
});
type ConcentrationCall = (features: tf.Tensor2D, assignments: tf.Tensor1D, centroids: tf.Tensor2D, options?: api.PclConcentrationOptions) => unknown;

/** The cases shared by pclConcentration and pclConcentrationDetails. */
function concentrationCases(fn: string, call: ConcentrationCall): BadInputCase[] {
  const run = (change: (keep: Keep) => Partial<ReturnType<typeof CONCENTRATION_INPUT>>, options?: unknown): (() => unknown) =>
    scoped((keep) => {
      const input = { ...CONCENTRATION_INPUT(keep), ...change(keep) };
      const result = call(input.features, input.assignments, input.centroids, bad(options));
      const tensor = result instanceof tf.Tensor ? result : (result as { concentrations?: tf.Tensor } | undefined)?.concentrations;
      tensor?.dispose();
      return undefined;
    });
  return [
    { what: 'rank-1 features', run: run((keep) => ({ features: keep(tf.ones([6])) as unknown as tf.Tensor2D })), code: 'SHAPE_MISMATCH', argument: 'features' },
    { what: 'int32 features', run: run((keep) => ({ features: keep(tf.ones([6, 2], 'int32')) as tf.Tensor2D })), code: 'DTYPE_MISMATCH', argument: 'features' },
    { what: 'disposed features', run: run(() => ({ features: disposed(tf.ones([6, 2])) as tf.Tensor2D })), code: 'DISPOSED', argument: 'features' },
    { what: 'a NaN in the features', run: run((keep) => ({ features: poisoned(keep, Number.NaN, 6, 2) })), code: 'NON_FINITE', argument: 'features' },
    { what: 'float assignments', run: run((keep) => ({ assignments: keep(tf.tensor1d([0, 0, 1, 1, 2, 2])) })), code: 'DTYPE_MISMATCH', argument: 'assignments' },
    { what: 'fewer assignments than features', run: run((keep) => ({ assignments: int32(keep, [0, 1, 2]) })), code: 'SHAPE_MISMATCH', argument: 'assignments' },
    { what: 'an assignment past the centroids', run: run((keep) => ({ assignments: int32(keep, [0, 0, 1, 1, 2, 3]) })), code: 'INVALID_ARGUMENT', argument: 'assignments' },
    { what: 'a negative assignment', run: run((keep) => ({ assignments: int32(keep, [0, -1, 1, 1, 2, 2]) })), code: 'INVALID_ARGUMENT', argument: 'assignments' },
    { what: 'centroids of another dimension', run: run((keep) => ({ centroids: keep(tf.ones([3, 3])) as tf.Tensor2D })), code: 'SHAPE_MISMATCH', argument: 'centroids' },
    { what: 'a NaN in the centroids', run: run((keep) => ({ centroids: keep(tf.tensor2d([[1, 0], [0, Number.NaN], [-1, 0]])) })), code: 'NON_FINITE', argument: 'centroids' },
    { what: 'options that are not an object', run: run(() => ({}), 'fast'), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: 'alpha -1', run: run(() => ({}), { alpha: -1 }), code: 'INVALID_ARGUMENT', argument: 'alpha' },
    { what: 'temperature 0', run: run(() => ({}), { temperature: 0 }), code: 'INVALID_ARGUMENT', argument: 'temperature' },
    { what: 'temperature NaN', run: run(() => ({}), { temperature: Number.NaN }), code: 'INVALID_ARGUMENT', argument: 'temperature' },
    { what: 'percentileClip [90, 10]', run: run(() => ({}), { percentileClip: [90, 10] }), code: 'INVALID_ARGUMENT', argument: 'percentileClip[1]' },
    { what: 'percentileClip [-1, 50]', run: run(() => ({}), { percentileClip: [-1, 50] }), code: 'INVALID_ARGUMENT', argument: 'percentileClip[0]' },
    { what: 'percentileClip of one entry', run: run(() => ({}), { percentileClip: [10] }), code: 'INVALID_ARGUMENT', argument: 'percentileClip' },
  ].map((c) => ({ ...c, what: `${fn}: ${c.what}` }) as BadInputCase);
}

const queue = (own: <T extends Disposable>(owned: T) => T, options: Partial<api.MemoryQueueOptions> = {}): api.MemoryQueue => own(new api.MemoryQueue({ size: 4, dim: DIMS, ...options }));
const bank = (own: <T extends Disposable>(owned: T) => T): api.MemoryBank => own(new api.MemoryBank({ size: ROWS, dim: DIMS, rng: new Rng(1) }));
const support = (own: <T extends Disposable>(owned: T) => T): api.NearestNeighborSupportSet => own(new api.NearestNeighborSupportSet({ size: 4, dim: DIMS, rng: new Rng(1) }));
const prototypeBank = (own: <T extends Disposable>(owned: T) => T): api.PrototypeBank => own(new api.PrototypeBank({ numClusters: [2, 3], restarts: 1, rng: new Rng(1) }));
const afterDispose = <T extends Disposable>(make: () => T, use: (object: T, keep: Keep) => unknown): (() => unknown) =>
  scoped((keep) => {
    const object = make();
    object.dispose();
    return use(object, keep);
  });

const batchSamplerEpoch = (make: () => { epoch(rng: Rng): Int32Array[] }, rng: unknown): (() => unknown) => () => make().epoch(bad(rng));

const coverage: Record<keyof typeof api, ExportCoverage> = {
  batchHardMiner: minerCases('batchHardMiner', (o) => api.batchHardMiner(bad(o)), [['a bad distance', { distance: NOT_A_DISTANCE }, 'distance']]),
  batchEasyHardMiner: minerCases('batchEasyHardMiner', (o) => api.batchEasyHardMiner(bad(o)), [
    ["positiveStrategy 'hardest'", { positiveStrategy: 'hardest' }, 'positiveStrategy'],
    ["negativeStrategy 3", { negativeStrategy: 3 }, 'negativeStrategy'],
    ['allowedPositiveRange [2, 1]', { allowedPositiveRange: [2, 1] }, 'allowedPositiveRange'],
    ['allowedNegativeRange [0, NaN]', { allowedNegativeRange: [0, Number.NaN] }, 'allowedNegativeRange'],
    ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
  ]),
  tripletMarginMiner: minerCases('tripletMarginMiner', (o) => api.tripletMarginMiner(bad(o)), [
    ['margin NaN', { margin: Number.NaN }, 'margin'],
    ['margin Infinity', { margin: Number.POSITIVE_INFINITY }, 'margin'],
    ["type 'hardest'", { type: 'hardest' }, 'type'],
    ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
  ]),
  pairMarginMiner: minerCases('pairMarginMiner', (o) => api.pairMarginMiner(bad(o)), [
    ['posMargin NaN', { posMargin: Number.NaN }, 'posMargin'],
    ['negMargin Infinity', { negMargin: Number.POSITIVE_INFINITY }, 'negMargin'],
    ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
  ]),
  multiSimilarityMiner: minerCases('multiSimilarityMiner', (o) => api.multiSimilarityMiner(bad(o)), [
    ['epsilon NaN', { epsilon: Number.NaN }, 'epsilon'],
    ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
  ]),
  distanceWeightedMiner: minerCases('distanceWeightedMiner', (o) => api.distanceWeightedMiner(bad(o)), [
    ['cutoff -1', { cutoff: -1 }, 'cutoff'],
    ['nonzeroLossCutoff below cutoff', { cutoff: 0.5, nonzeroLossCutoff: 0.4 }, 'nonzeroLossCutoff'],
    ['a bad rng', { rng: {} }, 'rng'],
    ['an unnormalised distance', { distance: lpDistance({ normalize: false }) }, 'distance'],
  ]),
  hardNegativeMiner: minerCases('hardNegativeMiner', (o) => api.hardNegativeMiner(bad(o)), [
    ['beta -1', { beta: -1 }, 'beta'],
    ['temperature 0', { temperature: 0 }, 'temperature'],
    ['temperature -0.5', { temperature: -0.5 }, 'temperature'],
    ['temperature NaN', { temperature: Number.NaN }, 'temperature'],
    ["candidates 'some'", { candidates: 'some' }, 'candidates'],
    ['tauPlus 1', { candidates: 'all', tauPlus: 1 }, 'tauPlus'],
    ['tauPlus with candidates negatives', { tauPlus: 0.1 }, 'tauPlus'],
    ['negativesPerPositive 0', { negativesPerPositive: 0 }, 'negativesPerPositive'],
    ['a bad rng', { rng: 'seed' }, 'rng'],
    ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
  ]),
  hardNegativeProbabilities: [
    ...mineCases((input) => api.hardNegativeProbabilities(bad(input))),
    ...optionCases('hardNegativeProbabilities', (o) => scoped((keep) => api.hardNegativeProbabilities({ embeddings: embeddingsOf(keep), labels: labelsOf(keep) }, bad(o)))(), [
      ['temperature 0', { temperature: 0 }, 'temperature'],
      ['beta NaN', { beta: Number.NaN }, 'beta'],
      ["candidates 'x'", { candidates: 'x' }, 'candidates'],
    ]),
  ],
  shuffledBatchSampler: [
    ...optionCases('shuffledBatchSampler', (o) => api.shuffledBatchSampler(bad(o)), [
      ['size 0 (an empty dataset)', { size: 0, batchSize: 2 }, 'size'],
      ['size 2.5', { size: 2.5, batchSize: 2 }, 'size'],
      ['batchSize 0', { size: 10, batchSize: 0 }, 'batchSize'],
      ['batchSize larger than the set', { size: 10, batchSize: 11 }, 'batchSize'],
      ["dropLast 'yes'", { size: 10, batchSize: 2, dropLast: 'yes' }, 'dropLast'],
    ]),
    { what: 'epoch(undefined)', run: batchSamplerEpoch(() => api.shuffledBatchSampler({ size: 10, batchSize: 2 }), undefined), code: 'INVALID_ARGUMENT', argument: 'rng' },
    { what: 'epoch(a seed instead of an Rng)', run: batchSamplerEpoch(() => api.shuffledBatchSampler({ size: 10, batchSize: 2 }), 7), code: 'INVALID_ARGUMENT', argument: 'rng' },
  ],
  mPerClassSampler: [
    ...optionCases('mPerClassSampler', (o) => api.mPerClassSampler(bad(o)), [
      ['m 0', { labels: [0, 0, 1, 1], m: 0, batchSize: 4 }, 'm'],
      ['batchSize 3 (not a multiple of m)', { labels: [0, 0, 1, 1], m: 2, batchSize: 3 }, 'batchSize'],
      ['float labels', { labels: [0, 0.5, 1, 1], m: 2, batchSize: 4 }, 'labels'],
      ['labels as a tensor', { labels: 'abc', m: 2, batchSize: 4 }, 'labels'],
      ['empty labels', { labels: [], m: 2, batchSize: 4 }, 'labels'],
      ['fewer classes than a batch needs (k larger than the set)', { labels: [0, 0, 0, 0], m: 2, batchSize: 4 }, 'labels'],
      ["remainder 'keep'", { labels: [0, 0, 1, 1], m: 2, batchSize: 4, remainder: 'keep' }, 'remainder'],
    ]),
    { what: 'epoch(undefined)', run: batchSamplerEpoch(() => api.mPerClassSampler({ labels: [0, 0, 1, 1], m: 2, batchSize: 4 }), undefined), code: 'INVALID_ARGUMENT', argument: 'rng' },
  ],
  viewPairSampler: [
    ...optionCases('viewPairSampler', (o) => api.viewPairSampler(bad(o)), [
      ['size 0', { size: 0, batchSize: 2 }, 'size'],
      ['batchSize larger than the set', { size: 4, batchSize: 5 }, 'batchSize'],
      ['views 0', { size: 4, batchSize: 2, views: 0 }, 'views'],
      ['dropLast 1', { size: 4, batchSize: 2, dropLast: 1 }, 'dropLast'],
      ['a partner that is not a function', { size: 4, batchSize: 2, partner: 3 }, 'partner'],
    ]),
    { what: 'a partner index out of range', run: batchSamplerEpoch(() => api.viewPairSampler({ size: 4, batchSize: 2, partner: (i) => i + 4 }), new Rng(0)), code: 'INVALID_ARGUMENT', argument: 'partner' },
    { what: 'a negative partner index', run: batchSamplerEpoch(() => api.viewPairSampler({ size: 4, batchSize: 2, partner: () => -1 }), new Rng(0)), code: 'INVALID_ARGUMENT', argument: 'partner' },
    { what: 'a fractional partner index', run: batchSamplerEpoch(() => api.viewPairSampler({ size: 4, batchSize: 2, partner: () => 1.5 }), new Rng(0)), code: 'INVALID_ARGUMENT', argument: 'partner' },
    { what: 'epoch(null)', run: batchSamplerEpoch(() => api.viewPairSampler({ size: 4, batchSize: 2 }), null), code: 'INVALID_ARGUMENT', argument: 'rng' },
  ],
  sinkhornKnopp: [
    { what: 'rank-1 scores', run: scoped((keep) => api.sinkhornKnopp(bad(keep(tf.ones([4]))))), code: 'SHAPE_MISMATCH', argument: 'scores' },
    { what: 'int32 scores', run: scoped((keep) => api.sinkhornKnopp(bad(keep(tf.ones([4, 2], 'int32'))))), code: 'DTYPE_MISMATCH', argument: 'scores' },
    { what: 'no samples', run: scoped((keep) => api.sinkhornKnopp(keep(tf.zeros([0, 3])))), code: 'SHAPE_MISMATCH', argument: 'scores' },
    { what: 'no prototypes', run: scoped((keep) => api.sinkhornKnopp(keep(tf.zeros([3, 0])))), code: 'SHAPE_MISMATCH', argument: 'scores' },
    { what: 'disposed scores', run: () => api.sinkhornKnopp(disposed(tf.ones([4, 2]))), code: 'DISPOSED', argument: 'scores' },
    { what: 'a NaN score', run: scoped((keep) => api.sinkhornKnopp(keep(tf.tensor2d([[1, Number.NaN], [0, 1]])))), code: 'NON_FINITE', argument: 'scores' },
    { what: 'an infinite score', run: scoped((keep) => api.sinkhornKnopp(keep(tf.tensor2d([[1, Number.NEGATIVE_INFINITY], [0, 1]])))), code: 'NON_FINITE', argument: 'scores' },
    ...[
      ['epsilon 0', { epsilon: 0 }, 'epsilon'],
      ['epsilon -1', { epsilon: -1 }, 'epsilon'],
      ['iterations -1', { iterations: -1 }, 'iterations'],
      ['iterations 1.5', { iterations: 1.5 }, 'iterations'],
      ['options that are not an object', 'fast', 'options'],
    ].map(([what, options, argument]): BadInputCase => ({
      what: what as string,
      run: scoped((keep) => api.sinkhornKnopp(keep(tf.ones([4, 2])), bad(options))),
      code: 'INVALID_ARGUMENT',
      argument: argument as string,
    })),
  ],
  pclConcentration: concentrationCases('pclConcentration', api.pclConcentration),
  pclConcentrationDetails: concentrationCases('pclConcentrationDetails', api.pclConcentrationDetails),
  PrototypeBank: [
    ...optionCases('PrototypeBank', (o) => new api.PrototypeBank(bad(o)), [
      ['numClusters []', { numClusters: [] }, 'numClusters'],
      ['numClusters [0]', { numClusters: [0] }, 'numClusters[0]'],
      ['numClusters [2, 2.5]', { numClusters: [2, 2.5] }, 'numClusters[1]'],
      ['temperature 0', { numClusters: [2], temperature: 0 }, 'temperature'],
      ['alpha -1', { numClusters: [2], alpha: -1 }, 'alpha'],
      ['percentileClip [50, 40]', { numClusters: [2], percentileClip: [50, 40] }, 'percentileClip[1]'],
      ["metric 'manhattan'", { numClusters: [2], metric: 'manhattan' }, 'metric'],
      ['maxIterations 0', { numClusters: [2], maxIterations: 0 }, 'maxIterations'],
      ['restarts 0', { numClusters: [2], restarts: 0 }, 'restarts'],
      ['a bad rng', { numClusters: [2], rng: 3 }, 'rng'],
    ]),
    { what: 'update(rank-1 features)', run: scoped((keep, own) => prototypeBank(own).update(bad(keep(tf.ones([6]))))), code: 'SHAPE_MISMATCH', argument: 'features' },
    { what: 'update(int32 features)', run: scoped((keep, own) => prototypeBank(own).update(bad(keep(tf.ones([6, 2], 'int32'))))), code: 'DTYPE_MISMATCH', argument: 'features' },
    { what: 'update(fewer rows than clusters: k larger than the set)', run: scoped((keep, own) => prototypeBank(own).update(features(keep, 2))), code: 'SHAPE_MISMATCH', argument: 'features' },
    { what: 'update(disposed features)', run: scoped((_keep, own) => prototypeBank(own).update(disposed(tf.ones([6, 2])))), code: 'DISPOSED', argument: 'features' },
    { what: 'update(NaN features)', run: scoped((keep, own) => prototypeBank(own).update(poisoned(keep, Number.NaN, 6, 2))), code: 'NON_FINITE', argument: 'features' },
    {
      what: 'update(features of another dimension than the first update)',
      run: scoped((keep, own) => {
        const owner = prototypeBank(own);
        owner.update(features(keep, 6, 2));
        owner.update(features(keep, 6, 3));
      }),
      code: 'SHAPE_MISMATCH',
      argument: 'features',
    },
    { what: 'prototypes() before the first update', run: scoped((_keep, own) => prototypeBank(own).prototypes()), code: 'STATE', argument: null },
    { what: 'update after dispose()', run: afterDispose(() => new api.PrototypeBank({ numClusters: [2] }), (owner, keep) => owner.update(features(keep))), code: 'STATE', argument: null },
    { what: 'prototypes() after dispose()', run: afterDispose(() => new api.PrototypeBank({ numClusters: [2] }), (owner) => owner.prototypes()), code: 'STATE', argument: null },
  ],
  MemoryQueue: [
    ...optionCases('MemoryQueue', (o) => new api.MemoryQueue(bad(o)), [
      ['size 0', { size: 0, dim: 2 }, 'size'],
      ['dim 1.5', { size: 4, dim: 1.5 }, 'dim'],
      ["initialize 'zeros'", { size: 4, dim: 2, initialize: 'zeros' }, 'initialize'],
      ['a bad rng', { size: 4, dim: 2, rng: {} }, 'rng'],
    ]),
    { what: 'enqueue(rank-1 keys)', run: scoped((keep, own) => queue(own).enqueue(bad(keep(tf.ones([DIMS]))))), code: 'SHAPE_MISMATCH', argument: 'keys' },
    { what: 'enqueue(keys of another dimension)', run: scoped((keep, own) => queue(own).enqueue(embeddingsOf(keep, 2, DIMS + 1))), code: 'SHAPE_MISMATCH', argument: 'keys' },
    { what: 'enqueue(int32 keys)', run: scoped((keep, own) => queue(own).enqueue(bad(keep(tf.ones([2, DIMS], 'int32'))))), code: 'DTYPE_MISMATCH', argument: 'keys' },
    { what: 'enqueue(disposed keys)', run: scoped((_keep, own) => queue(own).enqueue(disposed(tf.ones([2, DIMS])))), code: 'DISPOSED', argument: 'keys' },
    { what: 'enqueue(NaN keys)', run: scoped((keep, own) => queue(own).enqueue(poisoned(keep, Number.NaN))), code: 'NON_FINITE', argument: 'keys' },
    { what: 'enqueue(infinite keys)', run: scoped((keep, own) => queue(own).enqueue(poisoned(keep, Number.NEGATIVE_INFINITY))), code: 'NON_FINITE', argument: 'keys' },
    { what: 'enqueue with fewer labels than keys', run: scoped((keep, own) => queue(own).enqueue(embeddingsOf(keep, 3), int32(keep, [0, 1]))), code: 'LABEL_COUNT', argument: 'labels' },
    { what: 'enqueue with float labels', run: scoped((keep, own) => queue(own).enqueue(embeddingsOf(keep, 3), keep(tf.tensor1d([0, 1, 2])))), code: 'DTYPE_MISMATCH', argument: 'labels' },
    { what: 'load(a state of two tensors)', run: scoped((keep, own) => queue(own).load([keep(tf.zeros([4, DIMS])), int32(keep, [0, 0, 0, 0])])), code: 'INVALID_ARGUMENT', argument: 'state' },
    {
      what: 'load(a state of another size)',
      run: scoped((keep, own) => queue(own).load(stateOf(() => new api.MemoryQueue({ size: 5, dim: DIMS })).map(keep))),
      code: 'SHAPE_MISMATCH',
      argument: 'state[0]',
    },
    { what: 'enqueue after dispose()', run: afterDispose(() => new api.MemoryQueue({ size: 4, dim: DIMS }), (owner, keep) => owner.enqueue(embeddingsOf(keep, 2))), code: 'STATE', argument: null },
    { what: 'reference() after dispose()', run: afterDispose(() => new api.MemoryQueue({ size: 4, dim: DIMS }), (owner) => owner.reference()), code: 'STATE', argument: null },
  ],
  MemoryBank: [
    ...optionCases('MemoryBank', (o) => new api.MemoryBank(bad(o)), [
      ['size 0', { size: 0, dim: 2 }, 'size'],
      ['dim missing', { size: 4 }, 'dim'],
      ['momentum 1.5', { size: 4, dim: 2, momentum: 1.5 }, 'momentum'],
      ['momentum NaN', { size: 4, dim: 2, momentum: Number.NaN }, 'momentum'],
      ['a bad rng', { size: 4, dim: 2, rng: 'seed' }, 'rng'],
    ]),
    { what: 'update with an index past the bank', run: scoped((keep, own) => bank(own).update(int32(keep, [0, ROWS]), embeddingsOf(keep, 2))), code: 'INVALID_ARGUMENT', argument: 'indices' },
    { what: 'update with a negative index', run: scoped((keep, own) => bank(own).update(int32(keep, [-1, 2]), embeddingsOf(keep, 2))), code: 'INVALID_ARGUMENT', argument: 'indices' },
    { what: 'update with float indices', run: scoped((keep, own) => bank(own).update(bad(keep(tf.tensor1d([0, 1]))), embeddingsOf(keep, 2))), code: 'DTYPE_MISMATCH', argument: 'indices' },
    { what: 'update with more indices than rows', run: scoped((keep, own) => bank(own).update(int32(keep, [0, 1, 2]), embeddingsOf(keep, 2))), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'update with embeddings of another dimension', run: scoped((keep, own) => bank(own).update(int32(keep, [0, 1]), embeddingsOf(keep, 2, DIMS + 1))), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'update with disposed embeddings', run: scoped((keep, own) => bank(own).update(int32(keep, [0, 1]), disposed(tf.ones([2, DIMS])))), code: 'DISPOSED', argument: 'embeddings' },
    { what: 'update with NaN embeddings', run: scoped((keep, own) => bank(own).update(int32(keep, [0, 1, 2, 3, 4, 5, 6, 7]), poisoned(keep, Number.NaN))), code: 'NON_FINITE', argument: 'embeddings' },
    { what: 'get with an index past the bank', run: scoped((keep, own) => bank(own).get(int32(keep, [ROWS + 3]))), code: 'INVALID_ARGUMENT', argument: 'indices' },
    { what: 'get with rank-2 indices', run: scoped((keep, own) => bank(own).get(bad(keep(tf.zeros([2, 1], 'int32'))))), code: 'SHAPE_MISMATCH', argument: 'indices' },
    { what: 'sampleNegatives(-1)', run: scoped((_keep, own) => bank(own).sampleNegatives(-1)), code: 'INVALID_ARGUMENT', argument: 'count' },
    { what: 'sampleNegatives(2.5)', run: scoped((_keep, own) => bank(own).sampleNegatives(2.5)), code: 'INVALID_ARGUMENT', argument: 'count' },
    { what: 'sampleNegatives: k larger than the set without replacement', run: scoped((_keep, own) => bank(own).sampleNegatives(ROWS + 1, { replace: false })), code: 'INVALID_ARGUMENT', argument: 'count' },
    { what: 'sampleNegatives: every entry excluded', run: scoped((_keep, own) => bank(own).sampleNegatives(1, { exclude: labelValues(ROWS).map((_, i) => i) })), code: 'INVALID_ARGUMENT', argument: 'exclude' },
    { what: 'sampleNegatives: an excluded index out of range', run: scoped((_keep, own) => bank(own).sampleNegatives(1, { exclude: [ROWS] })), code: 'INVALID_ARGUMENT', argument: 'exclude' },
    { what: 'sampleNegatives with null options', run: scoped((_keep, own) => bank(own).sampleNegatives(1, bad(null))), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: "sampleNegatives: replace 'no'", run: scoped((_keep, own) => bank(own).sampleNegatives(1, bad({ replace: 'no' }))), code: 'INVALID_ARGUMENT', argument: 'replace' },
    { what: 'load(a state of another shape)', run: scoped((keep, own) => bank(own).load([keep(tf.zeros([ROWS + 1, DIMS])), int32(keep, [0])])), code: 'SHAPE_MISMATCH', argument: 'state[0]' },
    { what: 'load(a state that is not an array)', run: scoped((_keep, own) => bank(own).load(bad('state'))), code: 'INVALID_ARGUMENT', argument: 'state' },
    { what: 'get after dispose()', run: afterDispose(() => new api.MemoryBank({ size: 4, dim: DIMS }), (owner, keep) => owner.get(int32(keep, [0]))), code: 'STATE', argument: null },
  ],
  crossBatchMemory: [
    { what: 'a loss that is not a Loss', run: () => api.crossBatchMemory(bad({ name: 'x' })), code: 'INVALID_ARGUMENT', argument: 'loss' },
    ...optionCases('crossBatchMemory', (o) => api.crossBatchMemory(zeroLoss, bad(o)), [
      ['size 0', { size: 0 }, 'size'],
      ['dim 0', { dim: 0 }, 'dim'],
      ['a miner that is not a Miner', { miner: { name: 'm' } }, 'miner'],
    ]),
    ...mineCases((input) => {
      const memory = api.crossBatchMemory(zeroLoss, { size: 16 });
      try {
        return memory.compute(bad(input));
      } finally {
        memory.dispose();
      }
    })
      // The memory is the reference: a ref is rejected as a whole, before its fields are read.
      .filter((c) => !c.what.startsWith('ref') && !c.what.includes('ref.') && c.what !== 'a ref that is not an object')
      .map((c) => ({ ...c, what: `compute: ${c.what}` })),
    {
      what: 'compute with a ref (the memory is the reference)',
      run: scoped((keep, own) => own(api.crossBatchMemory(zeroLoss)).compute({ embeddings: embeddingsOf(keep), labels: labelsOf(keep), ref: { embeddings: embeddingsOf(keep), labels: labelsOf(keep) } })),
      code: 'INVALID_ARGUMENT',
      argument: 'ref',
    },
    {
      what: 'compute with tuples (the memory builds its own)',
      run: scoped((keep, own) =>
        own(api.crossBatchMemory(zeroLoss)).compute({ embeddings: embeddingsOf(keep), labels: labelsOf(keep), tuples: { kind: 'triplets', anchor: int32(keep, [0]), positive: int32(keep, [4]), negative: int32(keep, [1]) } }),
      ),
      code: 'INVALID_ARGUMENT',
      argument: 'tuples',
    },
    {
      what: 'compute with embeddings of another dimension than the memory',
      run: scoped((keep, own) => own(api.crossBatchMemory(zeroLoss, { dim: DIMS + 1 })).compute({ embeddings: embeddingsOf(keep), labels: labelsOf(keep) })),
      code: 'SHAPE_MISMATCH',
      argument: 'embeddings',
    },
    {
      what: 'compute with a miner that returns out-of-range tuples',
      run: scoped((keep, own) => {
        const liar: Miner = { name: 'liar', mine: () => ({ kind: 'triplets', anchor: tf.tensor1d([0], 'int32'), positive: tf.tensor1d([99], 'int32'), negative: tf.tensor1d([1], 'int32') }) };
        return own(api.crossBatchMemory(tripletMarginLoss(), { miner: liar })).compute({ embeddings: embeddingsOf(keep), labels: labelsOf(keep) });
      }),
      code: 'INVALID_ARGUMENT',
      argument: 'tuples.positive',
    },
    { what: 'memory before the first compute', run: scoped((_keep, own) => own(api.crossBatchMemory(zeroLoss)).memory), code: 'STATE', argument: null },
    { what: 'compute after dispose()', run: afterDispose(() => api.crossBatchMemory(zeroLoss), (owner, keep) => owner.compute({ embeddings: embeddingsOf(keep), labels: labelsOf(keep) })), code: 'STATE', argument: null },
  ],
  NearestNeighborSupportSet: [
    ...optionCases('NearestNeighborSupportSet', (o) => new api.NearestNeighborSupportSet(bad(o)), [
      ['dim missing', {}, 'dim'],
      ['size 0', { dim: 2, size: 0 }, 'size'],
      ["initialize 'zeros'", { dim: 2, initialize: 'zeros' }, 'initialize'],
    ]),
    { what: 'nearest(rank-1 embeddings)', run: scoped((keep, own) => support(own).nearest(bad(keep(tf.ones([DIMS]))))), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'nearest(embeddings of another dimension)', run: scoped((keep, own) => support(own).nearest(embeddingsOf(keep, 2, DIMS + 2))), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'nearest(an empty batch)', run: scoped((keep, own) => support(own).nearest(keep(tf.zeros([0, DIMS])))), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'nearest(disposed embeddings)', run: scoped((_keep, own) => support(own).nearest(disposed(tf.ones([2, DIMS])))), code: 'DISPOSED', argument: 'embeddings' },
    { what: 'nearest(NaN embeddings)', run: scoped((keep, own) => support(own).nearest(poisoned(keep, Number.NaN))), code: 'NON_FINITE', argument: 'embeddings' },
    { what: 'nearest with null options', run: scoped((keep, own) => support(own).nearest(embeddingsOf(keep, 2), bad(null))), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: "nearest with update 'yes'", run: scoped((keep, own) => support(own).nearest(embeddingsOf(keep, 2), bad({ update: 'yes' }))), code: 'INVALID_ARGUMENT', argument: 'update' },
    { what: 'load(a bad state)', run: scoped((_keep, own) => support(own).load(bad([]))), code: 'INVALID_ARGUMENT', argument: 'state' },
    { what: 'nearest after dispose()', run: afterDispose(() => new api.NearestNeighborSupportSet({ dim: DIMS, size: 4 }), (owner, keep) => owner.nearest(embeddingsOf(keep, 2))), code: 'STATE', argument: null },
  ],
};

// ---------------------------------------------------------------------------------------------
// the battery
// ---------------------------------------------------------------------------------------------

describe('@contrastive/samplers reliability battery', () => {
  it('every export of the index has bad-input cases', () => {
    expect(exportCoverageGaps(api, coverage)).toEqual({ missing: [], stale: [] });
    for (const [name, entry] of Object.entries(coverage)) {
      expect(Array.isArray(entry) && entry.length > 0, `${name} has cases`).toBe(true);
    }
  });

  const cases = Object.entries(coverage).flatMap(([name, entry]) =>
    Array.isArray(entry) ? (entry as readonly BadInputCase[]).map((c): [string, BadInputCase] => [`${name}: ${c.what}`, c]) : [],
  );
  it.each(cases)('%s', async (_name, c) => {
    const before = tf.memory().numTensors;
    await expectRejectsContrastive(c.run, c.code, c.argument);
    expect(tf.memory().numTensors).toBe(before);
  });
});

// ---------------------------------------------------------------------------------------------
// properties: documented finite results
// ---------------------------------------------------------------------------------------------

/** Every miner of the index with its defaults (seeded where it draws), and whether a negative may share the anchor's label. */
const MINERS: [string, () => Miner, boolean][] = [
  ['batchHardMiner', () => api.batchHardMiner(), false],
  ['batchEasyHardMiner', () => api.batchEasyHardMiner(), false],
  ['tripletMarginMiner', () => api.tripletMarginMiner({ type: 'all' }), false],
  ['pairMarginMiner', () => api.pairMarginMiner(), false],
  ['multiSimilarityMiner', () => api.multiSimilarityMiner(), false],
  ['distanceWeightedMiner', () => api.distanceWeightedMiner({ rng: new Rng(5) }), false],
  ['hardNegativeMiner', () => api.hardNegativeMiner({ rng: new Rng(5) }), false],
  ['hardNegativeMiner (candidates all)', () => api.hardNegativeMiner({ rng: new Rng(5), candidates: 'all', tauPlus: 0.1 }), true],
];

/**
 * A random finite batch of `n` rows of dimension `d`: values from a small grid (zeros and duplicate
 * rows are common) at one of three scales, random labels, and a reference half of the time.
 */
const batchArbitrary = fc
  .record({
    n: fc.integer({ min: 1, max: 9 }),
    d: fc.integer({ min: 1, max: 4 }),
    classes: fc.integer({ min: 1, max: 4 }),
    scale: fc.constantFrom(1e-6, 1, 1e4),
    seed: fc.integer({ min: 0, max: 1_000_000 }),
    withRef: fc.boolean(),
  })
  .map(({ n, d, classes, scale, seed, withRef }) => {
    const rng = new Rng(seed);
    const grid = [0, 0, 1, -1, 0.5, 2];
    const rowsOfSize = (count: number): number[][] => Array.from({ length: count }, () => Array.from({ length: d }, () => (grid[rng.int(grid.length)] as number) * scale));
    const rows = rowsOfSize(n);
    if (n > 1 && rng.uniform() < 0.5) rows[n - 1] = [...(rows[0] as number[])];
    const labels = Array.from({ length: n }, () => rng.int(classes));
    const ref = withRef ? { rows: rowsOfSize(5), labels: Array.from({ length: 5 }, () => rng.int(classes)) } : undefined;
    return { rows, labels, ref };
  });

describe('@contrastive/samplers properties', () => {
  it.each(MINERS)('%s: valid tuples (int32, in range, consistent with the labels) for random finite batches', (_name, make, negativesAnyLabel) => {
    fc.assert(
      fc.property(batchArbitrary, ({ rows, labels, ref }) => {
        const embeddings = tf.tensor2d(rows);
        const labelTensor = tf.tensor1d(labels, 'int32');
        const refTensors = ref === undefined ? undefined : { embeddings: tf.tensor2d(ref.rows), labels: tf.tensor1d(ref.labels, 'int32') };
        const before = tf.memory().numTensors;
        try {
          const tuples = make().mine(refTensors === undefined ? { embeddings, labels: labelTensor } : { embeddings, labels: labelTensor, ref: refTensors });
          expect(tupleProblems(tuples, labels, ref?.labels, negativesAnyLabel)).toEqual([]);
          expect(tf.memory().numTensors).toBe(before);
        } finally {
          tf.dispose([embeddings, labelTensor]);
          if (refTensors !== undefined) tf.dispose([refTensors.embeddings, refTensors.labels]);
        }
      }),
      { numRuns: 15, seed: 9 },
    );
  });

  it.each(MINERS)('%s: a batch of one gives empty index vectors, a batch of one class no negative (documented, not an error)', (_name, make, negativesAnyLabel) => {
    for (const [rows, labels] of [
      [[[1, 2, 3]], [0]],
      [rowsOf(4, DIMS), [7, 7, 7, 7]],
    ] as [number[][], number[]][]) {
      const embeddings = tf.tensor2d(rows);
      const labelTensor = tf.tensor1d(labels, 'int32');
      const tuples = make().mine({ embeddings, labels: labelTensor });
      // With one row nothing can be compared; with one class there is no negative, so no triplet
      // and no negative pair (hardNegativeMiner with candidates 'all' draws among every other row).
      const empty = rows.length === 1 ? Object.values(tupleFields(tuples)) : negativesAnyLabel ? [] : tuples.kind === 'pairs' ? [tuples.anchorNeg, tuples.negative] : Object.values(tupleFields(tuples));
      for (const tensor of empty) expect([tensor.dtype, tensor.shape]).toEqual(['int32', [0]]);
      tf.dispose([embeddings, labelTensor, ...Object.values(tupleFields(tuples))]);
    }
  });

  it('batch samplers: every epoch holds batchesPerEpoch batches of in-range indices, for random sizes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 12 }), fc.boolean(), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1000 }), (size, batchSize, dropLast, views, seed) => {
        fc.pre(!dropLast || batchSize <= size);
        const samplers = [api.shuffledBatchSampler({ size, batchSize, dropLast }), api.viewPairSampler({ size, batchSize, dropLast, views })];
        for (const sampler of samplers) {
          const batches = sampler.epoch(new Rng(seed));
          expect(batches.length).toBe(sampler.batchesPerEpoch);
          for (const batch of batches) expect(Array.from(batch).every((index) => Number.isInteger(index) && index >= 0 && index < size)).toBe(true);
        }
      }),
      { numRuns: 30, seed: 9 },
    );
  });

  it('mPerClassSampler: batches of batchSize in-range indices, m per class, for random label sets', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1000 }), (labels, m, classesPerBatch, seed) => {
        fc.pre(new Set(labels).size >= classesPerBatch);
        const sampler = api.mPerClassSampler({ labels, m, batchSize: m * classesPerBatch });
        const batches = sampler.epoch(new Rng(seed));
        expect(batches.length).toBe(sampler.batchesPerEpoch);
        for (const batch of batches) {
          expect(batch.length).toBe(m * classesPerBatch);
          const counts = new Map<number, number>();
          for (const index of batch) {
            expect(index >= 0 && index < labels.length).toBe(true);
            const label = labels[index] as number;
            counts.set(label, (counts.get(label) ?? 0) + 1);
          }
          expect([...counts.values()].every((count) => count === m)).toBe(true);
        }
      }),
      { numRuns: 30, seed: 9 },
    );
  });

  it('MemoryQueue: any sequence of finite enqueues (empty, oversized, unlabelled) keeps length <= size and a finite reference', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ rows: fc.integer({ min: 0, max: 7 }), labelled: fc.boolean() }), { minLength: 1, maxLength: 5 }), (batches) => {
        const memory = new api.MemoryQueue({ size: 5, dim: 2 });
        try {
          batches.forEach(({ rows, labelled }, step) => {
            const keys = tf.tensor2d(rowsOf(rows, 2, step), [rows, 2]);
            const labels = labelled ? tf.tensor1d(labelValues(rows), 'int32') : undefined;
            memory.enqueue(keys, labels);
            tf.dispose(labels === undefined ? [keys] : [keys, labels]);
          });
          const reference = memory.reference();
          expect(memory.length).toBeLessThanOrEqual(5);
          expect(reference.embeddings.shape).toEqual([memory.length, 2]);
          expect(Array.from(reference.embeddings.dataSync()).every(Number.isFinite)).toBe(true);
          tf.dispose([reference.embeddings, reference.labels]);
        } finally {
          memory.dispose();
        }
      }),
      { numRuns: 15, seed: 9 },
    );
  });

  it('sinkhornKnopp: finite codes whose rows sum to 1 for random finite scores (zeros, duplicates, large values)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.constantFrom(1e-6, 1, 1e4), fc.integer({ min: 0, max: 1000 }), (n, k, scale, seed) => {
        const scores = tf.tensor2d(rowsOf(n, k, seed).map((row) => row.map((v) => Math.round(v) * scale)));
        const codes = api.sinkhornKnopp(scores);
        const values = codes.arraySync();
        tf.dispose([scores, codes]);
        for (const row of values) {
          expect(row.every(Number.isFinite)).toBe(true);
          expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 3);
        }
      }),
      { numRuns: 20, seed: 9 },
    );
  });
});
