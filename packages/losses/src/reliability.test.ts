/**
 * The reliability battery of `@contrastive/losses` (issue 9): every runtime export of the index has
 * bad-input cases, each of which must throw a `ContrastiveError` with a stable code naming the
 * argument; and properties over random finite inputs (zeros and duplicate rows included) hold that
 * no NaN or Infinity leaves a loss, that batches of one and batches without a positive give a
 * documented finite result, and that NaN in the embeddings is never hidden behind a finite value.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, dotProductSimilarity, lpDistance } from '@contrastive/core';
import type { Loss, LossInput, Reference, Tuples } from '@contrastive/core';
import { exportCoverageGaps, expectRejectsContrastive, useTestBackend } from '@contrastive/core/testing';
import type { BadInputCase, ExportCoverage } from '@contrastive/core/testing';
import * as api from './index.js';

beforeAll(async () => {
  await useTestBackend();
});

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/** Registers a tensor created by a case, to be disposed when the case ends. */
type Keep = <T extends tf.Tensor>(tensor: T) => T;

/** Wraps a case's call: every tensor passed to `keep` is disposed afterwards, also when it throws. */
function scoped(call: (keep: Keep) => unknown): () => unknown {
  return () => {
    const kept: tf.Tensor[] = [];
    const keep: Keep = (tensor) => {
      kept.push(tensor);
      return tensor;
    };
    try {
      return call(keep);
    } finally {
      tf.dispose(kept);
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
/** `[n, d]` rows of a seeded batch. */
const rowsOf = (n: number, d: number, seed = 3): number[][] => {
  const values = new Rng(seed).normalArray(n * d);
  return Array.from({ length: n }, (_, i) => Array.from(values.subarray(i * d, (i + 1) * d)));
};
/** Labels `i % (n / 2)`: rows i and i + n/2 are the two views of sample i. */
const labelValues = (n: number): number[] => Array.from({ length: n }, (_, i) => i % Math.max(1, n / 2));
const embeddingsOf = (keep: Keep, n = ROWS, d = DIMS): tf.Tensor2D => keep(tf.tensor2d(rowsOf(n, d), [n, d]));
const labelsOf = (keep: Keep, n = ROWS): tf.Tensor1D => keep(tf.tensor1d(labelValues(n), 'int32'));
const int32 = (keep: Keep, values: number[]): tf.Tensor1D => keep(tf.tensor1d(values, 'int32'));
const triplets = (keep: Keep, anchor: number[], positive: number[], negative: number[]): Tuples => ({
  kind: 'triplets',
  anchor: int32(keep, anchor),
  positive: int32(keep, positive),
  negative: int32(keep, negative),
});
const pairs = (keep: Keep, anchorPos: number[], positive: number[], anchorNeg: number[], negative: number[]): Tuples => ({
  kind: 'pairs',
  anchorPos: int32(keep, anchorPos),
  positive: int32(keep, positive),
  anchorNeg: int32(keep, anchorNeg),
  negative: int32(keep, negative),
});
const refOf = (keep: Keep, n = ROWS, d = DIMS): Reference => ({
  embeddings: keep(tf.tensor2d(rowsOf(n, d, 4), [n, d])),
  labels: labelsOf(keep, n),
});

type AnyLoss = Loss & { dispose?: () => void };

/** Calls `compute` on a fresh loss with the input built by `input`, and disposes the loss. */
function computeWith(make: () => AnyLoss, input: (keep: Keep) => unknown): () => unknown {
  return scoped((keep) => {
    const loss = make();
    try {
      return loss.compute(input(keep) as LossInput);
    } finally {
      loss.dispose?.();
    }
  });
}

/** How a loss takes its input. */
interface LossLayout {
  /** `ref` accepted (true), or rejected with `INVALID_ARGUMENT` naming `ref`. */
  readonly ref: boolean;
  /** `tuples` accepted (true), or rejected with `INVALID_ARGUMENT` naming `tuples`. */
  readonly tuples: boolean;
}

/**
 * The bad `compute` inputs every loss must reject: the embeddings, labels, reference and tuples
 * of the wrong rank, dtype, size or state, and tuple indices out of range.
 */
function computeCases(make: () => AnyLoss, layout: LossLayout): BadInputCase[] {
  const run = (input: (keep: Keep) => unknown): (() => unknown) => computeWith(make, input);
  const base = (keep: Keep): LossInput => ({ embeddings: embeddingsOf(keep), labels: labelsOf(keep) });
  const cases: BadInputCase[] = [
    { what: 'compute(null)', run: run(() => null), code: 'INVALID_ARGUMENT', argument: 'input' },
    { what: 'rank-1 embeddings', run: run((keep) => ({ ...base(keep), embeddings: keep(tf.ones([ROWS])) })), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'rank-3 embeddings', run: run((keep) => ({ ...base(keep), embeddings: keep(tf.ones([ROWS, DIMS, 1])) })), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'int32 embeddings', run: run((keep) => ({ ...base(keep), embeddings: keep(tf.ones([ROWS, DIMS], 'int32')) })), code: 'DTYPE_MISMATCH', argument: 'embeddings' },
    { what: 'embeddings as a plain array', run: run((keep) => ({ ...base(keep), embeddings: rowsOf(ROWS, DIMS) })), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'an empty batch', run: run((keep) => ({ embeddings: keep(tf.zeros([0, DIMS])), labels: int32(keep, []) })), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'embeddings without columns', run: run((keep) => ({ ...base(keep), embeddings: keep(tf.zeros([ROWS, 0])) })), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'disposed embeddings', run: run((keep) => ({ ...base(keep), embeddings: disposed(tf.ones([ROWS, DIMS])) })), code: 'DISPOSED', argument: 'embeddings' },
    { what: 'missing labels', run: run((keep) => ({ embeddings: embeddingsOf(keep) })), code: 'SHAPE_MISMATCH', argument: 'labels' },
    { what: 'fewer labels than embeddings', run: run((keep) => ({ ...base(keep), labels: int32(keep, [0, 1, 0]) })), code: 'LABEL_COUNT', argument: 'labels' },
    { what: 'float labels', run: run((keep) => ({ ...base(keep), labels: keep(tf.tensor1d(labelValues(ROWS), 'float32')) })), code: 'DTYPE_MISMATCH', argument: 'labels' },
    { what: 'rank-2 labels', run: run((keep) => ({ ...base(keep), labels: keep(tf.zeros([ROWS, 1], 'int32')) })), code: 'SHAPE_MISMATCH', argument: 'labels' },
    { what: 'disposed labels', run: run((keep) => ({ ...base(keep), labels: disposed(tf.tensor1d(labelValues(ROWS), 'int32')) })), code: 'DISPOSED', argument: 'labels' },
  ];
  if (layout.ref) {
    cases.push(
      { what: 'a ref that is not an object', run: run((keep) => ({ ...base(keep), ref: 5 })), code: 'INVALID_ARGUMENT', argument: 'ref' },
      { what: 'ref.embeddings of another dimension', run: run((keep) => ({ ...base(keep), ref: { ...refOf(keep), embeddings: keep(tf.ones([ROWS, DIMS + 1])) } })), code: 'SHAPE_MISMATCH', argument: 'ref.embeddings' },
      { what: 'disposed ref.embeddings', run: run((keep) => ({ ...base(keep), ref: { ...refOf(keep), embeddings: disposed(tf.ones([ROWS, DIMS])) } })), code: 'DISPOSED', argument: 'ref.embeddings' },
      { what: 'ref.labels of the wrong length', run: run((keep) => ({ ...base(keep), ref: { ...refOf(keep), labels: int32(keep, [0, 1]) } })), code: 'LABEL_COUNT', argument: 'ref.labels' },
      { what: 'float ref.labels', run: run((keep) => ({ ...base(keep), ref: { ...refOf(keep), labels: keep(tf.zeros([ROWS])) } })), code: 'DTYPE_MISMATCH', argument: 'ref.labels' },
    );
  } else {
    cases.push({ what: 'a ref (not supported)', run: run((keep) => ({ ...base(keep), ref: refOf(keep) })), code: 'INVALID_ARGUMENT', argument: 'ref' });
  }
  if (layout.tuples) {
    cases.push(
      { what: 'tuples of an unknown kind', run: run((keep) => ({ ...base(keep), tuples: { kind: 'quadruplets' } })), code: 'INVALID_ARGUMENT', argument: 'tuples.kind' },
      { what: 'float tuple indices', run: run((keep) => ({ ...base(keep), tuples: { ...triplets(keep, [0], [4], [1]), anchor: keep(tf.tensor1d([0])) } })), code: 'DTYPE_MISMATCH', argument: 'tuples.anchor' },
      { what: 'tuple index vectors of different lengths', run: run((keep) => ({ ...base(keep), tuples: triplets(keep, [0, 1], [4], [1, 2]) })), code: 'SHAPE_MISMATCH', argument: 'tuples.positive' },
      { what: 'a disposed tuple index vector', run: run((keep) => ({ ...base(keep), tuples: { ...triplets(keep, [0], [4], [1]), negative: disposed(tf.tensor1d([1], 'int32')) } })), code: 'DISPOSED', argument: 'tuples.negative' },
      { what: 'a tuple index past the batch', run: run((keep) => ({ ...base(keep), tuples: triplets(keep, [0, 1], [4, 99], [1, 2]) })), code: 'INVALID_ARGUMENT', argument: 'tuples.positive' },
      { what: 'a negative tuple index', run: run((keep) => ({ ...base(keep), tuples: triplets(keep, [0, -1], [4, 5], [1, 2]) })), code: 'INVALID_ARGUMENT', argument: 'tuples.anchor' },
      { what: 'a pair index past the batch', run: run((keep) => ({ ...base(keep), tuples: pairs(keep, [0], [4], [0, 1], [1, ROWS]) })), code: 'INVALID_ARGUMENT', argument: 'tuples.negative' },
    );
    if (layout.ref) {
      cases.push({
        what: 'a tuple index past the reference',
        run: run((keep) => ({ ...base(keep), ref: refOf(keep, 5), tuples: triplets(keep, [0, 1], [4, 6], [1, 2]) })),
        code: 'INVALID_ARGUMENT',
        argument: 'tuples.positive',
      });
    }
  } else {
    cases.push({ what: 'tuples (not supported)', run: run((keep) => ({ ...base(keep), tuples: triplets(keep, [0], [4], [1]) })), code: 'INVALID_ARGUMENT', argument: 'tuples' });
  }
  return cases;
}

/** Factory calls with bad options, each expected to throw `INVALID_ARGUMENT` naming `argument`. */
function optionCases(fn: string, call: (options: unknown) => unknown, options: [string, unknown, string][]): BadInputCase[] {
  const disposeLoss = (loss: unknown): void => (loss as { dispose?: () => void } | undefined)?.dispose?.();
  const all: [string, unknown, string][] = [['options that are not an object', 'fast', 'options'], ['null options', null, 'options'], ...options];
  return all.map(([what, value, argument]) => ({
    what: `${fn}(${what})`,
    run: () => disposeLoss(call(value)),
    code: 'INVALID_ARGUMENT',
    argument,
  }));
}

const NOT_A_DISTANCE = { name: 'euclid', pairwise: 3 };
const NOT_A_REDUCER = { name: 'mean' };
/** Non-positive and non-finite values of a temperature-like option. */
const positive = (name: string): [string, unknown, string][] => [
  [`${name} 0`, 0, name],
  [`${name} -1`, -1, name],
  [`${name} NaN`, Number.NaN, name],
  [`${name} Infinity`, Number.POSITIVE_INFINITY, name],
];
const finite = (name: string): [string, unknown, string][] => [
  [`${name} NaN`, Number.NaN, name],
  [`${name} Infinity`, Number.POSITIVE_INFINITY, name],
  [`${name} as a string`, '0.1', name],
];

// ---------------------------------------------------------------------------------------------
// the losses: factory, layout, option cases
// ---------------------------------------------------------------------------------------------

interface LossEntry {
  readonly make: () => AnyLoss;
  readonly layout: LossLayout;
  readonly options: BadInputCase[];
  /** Cases special to the loss (its own layout rules, state). */
  readonly extra?: BadInputCase[];
  /** Embeddings hold two views: an odd number of rows is a `SHAPE_MISMATCH` (a batch of one too, unless `singleRowZero`). */
  readonly twoViews?: boolean;
  /** A batch of one row gives a connected 0 (infoNceLoss, clipLoss: one query, no key). */
  readonly singleRowZero?: boolean;
}

const PROXY = { numClasses: ROWS / 2, embeddingDim: DIMS };
const protoPrototypes = (keep: Keep) => ({
  prototypes: [keep(tf.tensor2d([[1, 0, 0], [0, 1, 0]]))],
  concentrations: [keep(tf.tensor1d([0.5, 0.5]))],
  assignments: [int32(keep, [0, 1, 0, 1])],
});

/** The exports of the index that are loss factories. */
type LossName = Exclude<keyof typeof api, ReducerName | 'connectedZero' | 'hardNegativeWeights'>;
/** The exports of the index that are reducer factories. */
type ReducerName = 'meanReducer' | 'sumReducer' | 'avgNonZeroReducer' | 'thresholdReducer' | 'perAnchorReducer';

const LOSSES: Record<LossName, LossEntry> = {
  ntXentLoss: {
    make: () => api.ntXentLoss(),
    layout: { ref: true, tuples: true },
    options: optionCases('ntXentLoss', (o) => api.ntXentLoss(bad(o)), [
      ...positive('temperature').map(([w, v, n]): [string, unknown, string] => [w, { temperature: v }, n]),
      ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
      ['chunkElements 0', { chunkElements: 0 }, 'chunkElements'],
    ]),
  },
  supConLoss: {
    make: () => api.supConLoss(),
    layout: { ref: true, tuples: true },
    options: optionCases('supConLoss', (o) => api.supConLoss(bad(o)), [
      ...positive('temperature').map(([w, v, n]): [string, unknown, string] => [w, { temperature: v }, n]),
      ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
      ['a bad reducer', { reducer: NOT_A_REDUCER }, 'reducer'],
      ['chunkElements 1.5', { chunkElements: 1.5 }, 'chunkElements'],
    ]),
  },
  nceLoss: {
    make: () => api.nceLoss(),
    layout: { ref: true, tuples: true },
    options: optionCases('nceLoss', (o) => api.nceLoss(bad(o)), [
      ...positive('temperature').map(([w, v, n]): [string, unknown, string] => [w, { temperature: v }, n]),
      ['noiseSamples 0', { noiseSamples: 0 }, 'noiseSamples'],
      ['noiseSamples 2.5', { noiseSamples: 2.5 }, 'noiseSamples'],
      ['noiseProbability 2', { noiseProbability: 2 }, 'noiseProbability'],
      ['noiseProbability 0', { noiseProbability: 0 }, 'noiseProbability'],
      ['partition -1', { partition: -1 }, 'partition'],
      ["partition 'guess'", { partition: 'guess' }, 'partition'],
      ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
      ['a bad rng', { rng: {} }, 'rng'],
    ]),
    extra: [
      {
        what: 'logPartition(null)',
        run: () => api.nceLoss().logPartition(bad(null)),
        code: 'INVALID_ARGUMENT',
        argument: 'input',
      },
      {
        what: 'logPartition with a tuple index past the batch',
        run: scoped((keep) => api.nceLoss().logPartition({ embeddings: embeddingsOf(keep), labels: labelsOf(keep), tuples: triplets(keep, [0], [ROWS], [1]) })),
        code: 'INVALID_ARGUMENT',
        argument: 'tuples.positive',
      },
    ],
  },
  protoNceLoss: {
    make: () => api.protoNceLoss(),
    layout: { ref: true, tuples: false },
    twoViews: true,
    options: optionCases('protoNceLoss', (o) => api.protoNceLoss(bad(o)), [
      ...positive('tauInstance').map(([w, v, n]): [string, unknown, string] => [w, { tauInstance: v }, n]),
      ['negativePrototypes 0', { negativePrototypes: 0 }, 'negativePrototypes'],
      ["negativePrototypes 'some'", { negativePrototypes: 'some' }, 'negativePrototypes'],
      ["form 'torch'", { form: 'torch' }, 'form'],
      ['a bad rng', { rng: 7 }, 'rng'],
      ['prototypes as a tensor, not a list', { prototypes: 'x', concentrations: [], assignments: [] }, 'prototypes'],
    ]),
    extra: [
      {
        what: 'prototypes without concentrations and assignments',
        run: scoped((keep) => api.protoNceLoss({ prototypes: protoPrototypes(keep).prototypes })),
        code: 'INVALID_ARGUMENT',
        argument: null,
      },
      {
        what: 'a NaN concentration',
        run: scoped((keep) => api.protoNceLoss({ ...protoPrototypes(keep), concentrations: [keep(tf.tensor1d([0.5, Number.NaN]))] })),
        code: 'INVALID_ARGUMENT',
        argument: 'concentrations[0]',
      },
      {
        what: 'a zero concentration',
        run: scoped((keep) => api.protoNceLoss({ ...protoPrototypes(keep), concentrations: [keep(tf.tensor1d([0.5, 0]))] })),
        code: 'INVALID_ARGUMENT',
        argument: 'concentrations[0]',
      },
      {
        what: 'an assignment out of range',
        run: scoped((keep) => api.protoNceLoss({ ...protoPrototypes(keep), assignments: [int32(keep, [0, 2, 0, 1])] })),
        code: 'INVALID_ARGUMENT',
        argument: 'assignments[0]',
      },
      {
        what: 'float assignments',
        run: scoped((keep) => api.protoNceLoss({ ...protoPrototypes(keep), assignments: [keep(tf.tensor1d([0, 1, 0, 1]))] })),
        code: 'DTYPE_MISMATCH',
        argument: 'assignments[0]',
      },
      {
        what: 'disposed prototypes',
        run: scoped((keep) => api.protoNceLoss({ ...protoPrototypes(keep), prototypes: [disposed(tf.ones([2, DIMS]))] })),
        code: 'DISPOSED',
        argument: 'prototypes[0]',
      },
      {
        what: 'an odd number of rows',
        run: computeWith(() => api.protoNceLoss(), (keep) => ({ embeddings: embeddingsOf(keep, 3), labels: int32(keep, [0, 1, 2]) })),
        code: 'SHAPE_MISMATCH',
        argument: 'embeddings',
      },
      {
        what: 'embeddings of another dimension than the prototypes',
        run: scoped((keep) => api.protoNceLoss(protoPrototypes(keep)).compute({ embeddings: embeddingsOf(keep, ROWS, DIMS + 1), labels: labelsOf(keep) })),
        code: 'SHAPE_MISMATCH',
        argument: 'prototypes[0]',
      },
      {
        what: 'a query label past the assignments',
        run: scoped((keep) => api.protoNceLoss(protoPrototypes(keep)).compute({ embeddings: embeddingsOf(keep), labels: int32(keep, [0, 1, 2, 4, 0, 1, 2, 3]) })),
        code: 'INVALID_ARGUMENT',
        argument: 'labels',
      },
      {
        what: 'a negative query label',
        run: scoped((keep) => api.protoNceLoss(protoPrototypes(keep)).compute({ embeddings: embeddingsOf(keep), labels: int32(keep, [0, -1, 2, 3, 0, 1, 2, 3]) })),
        code: 'INVALID_ARGUMENT',
        argument: 'labels',
      },
      {
        what: 'withPrototypes(bad)',
        run: () => api.protoNceLoss().withPrototypes(bad({ prototypes: [] })),
        code: 'INVALID_ARGUMENT',
        argument: 'prototypes',
      },
    ],
  },
  negativeCosineSimilarityLoss: {
    make: () => api.negativeCosineSimilarityLoss(),
    layout: { ref: true, tuples: true },
    twoViews: true,
    options: [],
    extra: [
      {
        what: 'an odd number of rows',
        run: computeWith(() => api.negativeCosineSimilarityLoss(), (keep) => ({ embeddings: embeddingsOf(keep, 3), labels: int32(keep, [0, 1, 2]) })),
        code: 'SHAPE_MISMATCH',
        argument: 'embeddings',
      },
      {
        what: 'a ref with another number of rows',
        run: computeWith(() => api.negativeCosineSimilarityLoss(), (keep) => ({ embeddings: embeddingsOf(keep), labels: labelsOf(keep), ref: refOf(keep, 4) })),
        code: 'SHAPE_MISMATCH',
        argument: 'ref.embeddings',
      },
    ],
  },
  barlowTwinsLoss: {
    make: () => api.barlowTwinsLoss(),
    layout: { ref: true, tuples: false },
    twoViews: true,
    options: optionCases('barlowTwinsLoss', (o) => api.barlowTwinsLoss(bad(o)), [
      ['lambda -1', { lambda: -1 }, 'lambda'],
      ['lambda NaN', { lambda: Number.NaN }, 'lambda'],
    ]),
    extra: [
      {
        what: 'an odd number of rows',
        run: computeWith(() => api.barlowTwinsLoss(), (keep) => ({ embeddings: embeddingsOf(keep, 5), labels: int32(keep, [0, 1, 2, 3, 4]) })),
        code: 'SHAPE_MISMATCH',
        argument: 'embeddings',
      },
    ],
  },
  vicregLoss: {
    make: () => api.vicregLoss(),
    layout: { ref: true, tuples: false },
    twoViews: true,
    options: optionCases('vicregLoss', (o) => api.vicregLoss(bad(o)), [
      ['lambda -1', { lambda: -1 }, 'lambda'],
      ['mu NaN', { mu: Number.NaN }, 'mu'],
      ['nu -0.5', { nu: -0.5 }, 'nu'],
      ['eps 0', { eps: 0 }, 'eps'],
      ['gamma -1', { gamma: -1 }, 'gamma'],
    ]),
    extra: [
      {
        what: 'a ref with another number of rows',
        run: computeWith(() => api.vicregLoss(), (keep) => ({ embeddings: embeddingsOf(keep), labels: labelsOf(keep), ref: refOf(keep, 6) })),
        code: 'SHAPE_MISMATCH',
        argument: 'ref.embeddings',
      },
    ],
  },
  ncaLoss: {
    make: () => api.ncaLoss(),
    layout: { ref: true, tuples: true },
    options: optionCases('ncaLoss', (o) => api.ncaLoss(bad(o)), [
      ...positive('softmaxScale').map(([w, v, n]): [string, unknown, string] => [w, { softmaxScale: v }, n]),
      ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
      ['a bad reducer', { reducer: NOT_A_REDUCER }, 'reducer'],
    ]),
  },
  nPairsLoss: {
    make: () => api.nPairsLoss(),
    layout: { ref: false, tuples: true },
    options: optionCases('nPairsLoss', (o) => api.nPairsLoss(bad(o)), [
      ['a bad distance', { distance: 'dot' }, 'distance'],
      ['a bad reducer', { reducer: 'mean' }, 'reducer'],
    ]),
  },
  proxyNcaLoss: {
    make: () => api.proxyNcaLoss(PROXY),
    layout: { ref: false, tuples: true },
    options: [
      { what: 'proxyNcaLoss() without options', run: () => api.proxyNcaLoss(bad(undefined)), code: 'INVALID_ARGUMENT', argument: 'options' },
      ...optionCases('proxyNcaLoss', (o) => api.proxyNcaLoss(bad(o)), [
        ['numClasses 0', { ...PROXY, numClasses: 0 }, 'numClasses'],
        ['numClasses 2.5', { ...PROXY, numClasses: 2.5 }, 'numClasses'],
        ['embeddingDim missing', { numClasses: 4 }, 'embeddingDim'],
        ['seed 0.5', { ...PROXY, seed: 0.5 }, 'seed'],
        ['seed and rng', { ...PROXY, seed: 1, rng: new Rng(1) }, 'seed'],
        ['a bad rng', { ...PROXY, rng: {} }, 'rng'],
        ...positive('softmaxScale').map(([w, v, n]): [string, unknown, string] => [w, { ...PROXY, softmaxScale: v }, n]),
        ['a bad distance', { ...PROXY, distance: NOT_A_DISTANCE }, 'distance'],
        ['a bad reducer', { ...PROXY, reducer: NOT_A_REDUCER }, 'reducer'],
      ]),
    ],
    extra: [
      {
        what: 'a label past numClasses',
        run: computeWith(() => api.proxyNcaLoss(PROXY), (keep) => ({ embeddings: embeddingsOf(keep), labels: int32(keep, [0, 1, 2, 3, 0, 1, 2, 4]) })),
        code: 'INVALID_ARGUMENT',
        argument: 'labels',
      },
      {
        what: 'a negative label',
        run: computeWith(() => api.proxyNcaLoss(PROXY), (keep) => ({ embeddings: embeddingsOf(keep), labels: int32(keep, [0, 1, 2, 3, 0, 1, 2, -1]) })),
        code: 'INVALID_ARGUMENT',
        argument: 'labels',
      },
      {
        what: 'embeddings of another dimension than embeddingDim',
        run: computeWith(() => api.proxyNcaLoss(PROXY), (keep) => ({ embeddings: embeddingsOf(keep, ROWS, DIMS + 2), labels: labelsOf(keep) })),
        code: 'SHAPE_MISMATCH',
        argument: 'embeddings',
      },
      {
        what: 'compute after dispose()',
        run: scoped((keep) => {
          const loss = api.proxyNcaLoss(PROXY);
          loss.dispose();
          return loss.compute({ embeddings: embeddingsOf(keep), labels: labelsOf(keep) });
        }),
        code: 'STATE',
        argument: null,
      },
    ],
  },
  proxyAnchorLoss: {
    make: () => api.proxyAnchorLoss(PROXY),
    layout: { ref: false, tuples: true },
    options: [
      { what: 'proxyAnchorLoss() without options', run: () => api.proxyAnchorLoss(bad(undefined)), code: 'INVALID_ARGUMENT', argument: 'options' },
      ...optionCases('proxyAnchorLoss', (o) => api.proxyAnchorLoss(bad(o)), [
        ['embeddingDim 0', { ...PROXY, embeddingDim: 0 }, 'embeddingDim'],
        ...finite('margin').map(([w, v, n]): [string, unknown, string] => [w, { ...PROXY, margin: v }, n]),
        ...positive('alpha').map(([w, v, n]): [string, unknown, string] => [w, { ...PROXY, alpha: v }, n]),
        ['a bad distance', { ...PROXY, distance: NOT_A_DISTANCE }, 'distance'],
      ]),
    ],
    extra: [
      {
        what: 'a label past numClasses',
        run: computeWith(() => api.proxyAnchorLoss(PROXY), (keep) => ({ embeddings: embeddingsOf(keep), labels: int32(keep, [0, 1, 2, 3, 0, 1, 2, 9]) })),
        code: 'INVALID_ARGUMENT',
        argument: 'labels',
      },
      {
        what: 'compute after dispose()',
        run: scoped((keep) => {
          const loss = api.proxyAnchorLoss(PROXY);
          loss.dispose();
          return loss.compute({ embeddings: embeddingsOf(keep), labels: labelsOf(keep) });
        }),
        code: 'STATE',
        argument: null,
      },
    ],
  },
  multiSimilarityLoss: {
    make: () => api.multiSimilarityLoss(),
    layout: { ref: true, tuples: true },
    options: optionCases('multiSimilarityLoss', (o) => api.multiSimilarityLoss(bad(o)), [
      ...positive('alpha').map(([w, v, n]): [string, unknown, string] => [w, { alpha: v }, n]),
      ...positive('beta').map(([w, v, n]): [string, unknown, string] => [w, { beta: v }, n]),
      ...finite('base').map(([w, v, n]): [string, unknown, string] => [w, { base: v }, n]),
      ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
      ['a bad reducer', { reducer: NOT_A_REDUCER }, 'reducer'],
    ]),
  },
  circleLoss: {
    make: () => api.circleLoss(),
    layout: { ref: true, tuples: true },
    options: optionCases('circleLoss', (o) => api.circleLoss(bad(o)), [
      ['m -0.1 (a negative margin)', { m: -0.1 }, 'm'],
      ['m 1.5', { m: 1.5 }, 'm'],
      ['m NaN', { m: Number.NaN }, 'm'],
      ...positive('gamma').map(([w, v, n]): [string, unknown, string] => [w, { gamma: v }, n]),
      ['a distance (not a normalised similarity)', { distance: lpDistance() }, 'distance'],
      ['the dot product (rows not normalised)', { distance: dotProductSimilarity() }, 'distance'],
      ['a bad reducer', { reducer: NOT_A_REDUCER }, 'reducer'],
    ]),
  },
  liftedStructureLoss: {
    make: () => api.liftedStructureLoss(),
    layout: { ref: true, tuples: true },
    options: optionCases('liftedStructureLoss', (o) => api.liftedStructureLoss(bad(o)), [
      ...finite('negMargin').map(([w, v, n]): [string, unknown, string] => [w, { negMargin: v }, n]),
      ...finite('posMargin').map(([w, v, n]): [string, unknown, string] => [w, { posMargin: v }, n]),
      ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
      ['a bad reducer', { reducer: NOT_A_REDUCER }, 'reducer'],
    ]),
  },
  generalizedLiftedStructureLoss: {
    make: () => api.generalizedLiftedStructureLoss(),
    layout: { ref: true, tuples: true },
    options: optionCases('generalizedLiftedStructureLoss', (o) => api.generalizedLiftedStructureLoss(bad(o)), [
      ...finite('negMargin').map(([w, v, n]): [string, unknown, string] => [w, { negMargin: v }, n]),
      ['a bad distance', { distance: 'cosine' }, 'distance'],
      ['a bad reducer', { reducer: NOT_A_REDUCER }, 'reducer'],
    ]),
  },
  infoNceLoss: {
    make: () => api.infoNceLoss(),
    layout: { ref: true, tuples: false },
    twoViews: true,
    singleRowZero: true,
    options: optionCases('infoNceLoss', (o) => api.infoNceLoss(bad(o)), [
      ...positive('temperature').map(([w, v, n]): [string, unknown, string] => [w, { temperature: v }, n]),
      ["symmetric 'yes'", { symmetric: 'yes' }, 'symmetric'],
      ['inBatchNegatives 1', { inBatchNegatives: 1 }, 'inBatchNegatives'],
      ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
      ['chunkElements -4', { chunkElements: -4 }, 'chunkElements'],
    ]),
    extra: [
      {
        what: 'an odd number of rows',
        run: computeWith(() => api.infoNceLoss(), (keep) => ({ embeddings: embeddingsOf(keep, 3), labels: int32(keep, [0, 1, 2]) })),
        code: 'SHAPE_MISMATCH',
        argument: 'embeddings',
      },
      {
        what: 'fewer keys in ref than queries',
        run: computeWith(() => api.infoNceLoss(), (keep) => ({ embeddings: embeddingsOf(keep), labels: labelsOf(keep), ref: refOf(keep, 4) })),
        code: 'SHAPE_MISMATCH',
        argument: 'ref.embeddings',
      },
    ],
  },
  clipLoss: {
    make: () => api.clipLoss(),
    layout: { ref: true, tuples: false },
    twoViews: true,
    singleRowZero: true,
    options: optionCases('clipLoss', (o) => api.clipLoss(bad(o)), [
      ...positive('temperature').map(([w, v, n]): [string, unknown, string] => [w, { temperature: v }, n]),
      ['learnableScale 1', { learnableScale: 1 }, 'learnableScale'],
      ['maxScale 0', { maxScale: 0 }, 'maxScale'],
      ["symmetric 'no'", { symmetric: 'no' }, 'symmetric'],
      ['chunkElements 0', { chunkElements: 0 }, 'chunkElements'],
    ]),
    extra: [
      {
        what: 'an odd number of rows',
        run: computeWith(() => api.clipLoss(), (keep) => ({ embeddings: embeddingsOf(keep, 5), labels: int32(keep, [0, 1, 2, 3, 4]) })),
        code: 'SHAPE_MISMATCH',
        argument: 'embeddings',
      },
      {
        what: 'a ref with another number of rows',
        run: computeWith(() => api.clipLoss(), (keep) => ({ embeddings: embeddingsOf(keep), labels: labelsOf(keep), ref: refOf(keep, 10) })),
        code: 'SHAPE_MISMATCH',
        argument: 'ref.embeddings',
      },
      {
        what: 'compute after dispose()',
        run: scoped((keep) => {
          const loss = api.clipLoss({ learnableScale: true });
          loss.dispose();
          return loss.compute({ embeddings: embeddingsOf(keep), labels: labelsOf(keep) });
        }),
        code: 'STATE',
        argument: null,
      },
    ],
  },
  debiasedContrastiveLoss: {
    make: () => api.debiasedContrastiveLoss(),
    layout: { ref: true, tuples: true },
    options: optionCases('debiasedContrastiveLoss', (o) => api.debiasedContrastiveLoss(bad(o)), [
      ...positive('temperature').map(([w, v, n]): [string, unknown, string] => [w, { temperature: v }, n]),
      ['tauPlus 1', { tauPlus: 1 }, 'tauPlus'],
      ['tauPlus -0.1', { tauPlus: -0.1 }, 'tauPlus'],
      ['clamp 0', { clamp: 0 }, 'clamp'],
      ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
      ['chunkElements 0', { chunkElements: 0 }, 'chunkElements'],
    ]),
  },
  hardNegativeLoss: {
    make: () => api.hardNegativeLoss(),
    layout: { ref: true, tuples: true },
    options: optionCases('hardNegativeLoss', (o) => api.hardNegativeLoss(bad(o)), [
      ...positive('temperature').map(([w, v, n]): [string, unknown, string] => [w, { temperature: v }, n]),
      ['beta -1', { beta: -1 }, 'beta'],
      ['tauPlus 1.5', { tauPlus: 1.5 }, 'tauPlus'],
      ["estimator 'soft'", { estimator: 'soft' }, 'estimator'],
      ["clamp 'yes'", { clamp: 'yes' }, 'clamp'],
      ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
    ]),
  },
  contrastiveLoss: {
    make: () => api.contrastiveLoss(),
    layout: { ref: true, tuples: true },
    options: optionCases('contrastiveLoss', (o) => api.contrastiveLoss(bad(o)), [
      ...finite('posMargin').map(([w, v, n]): [string, unknown, string] => [w, { posMargin: v }, n]),
      ...finite('negMargin').map(([w, v, n]): [string, unknown, string] => [w, { negMargin: v }, n]),
      ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
      ['a bad reducer', { reducer: NOT_A_REDUCER }, 'reducer'],
    ]),
  },
  tripletMarginLoss: {
    make: () => api.tripletMarginLoss(),
    layout: { ref: true, tuples: true },
    options: optionCases('tripletMarginLoss', (o) => api.tripletMarginLoss(bad(o)), [
      ...finite('margin').map(([w, v, n]): [string, unknown, string] => [w, { margin: v }, n]),
      ["swap 'yes'", { swap: 'yes' }, 'swap'],
      ['smoothLoss 1', { smoothLoss: 1 }, 'smoothLoss'],
      ['tripletsPerAnchor 5', { tripletsPerAnchor: 5 }, 'tripletsPerAnchor'],
      ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
      ['a bad reducer', { reducer: NOT_A_REDUCER }, 'reducer'],
    ]),
  },
  lmnnLoss: {
    make: () => api.lmnnLoss({ k: 1 }),
    layout: { ref: true, tuples: true },
    options: optionCases('lmnnLoss', (o) => api.lmnnLoss(bad(o)), [
      ['k 0', { k: 0 }, 'k'],
      ['k 1.5', { k: 1.5 }, 'k'],
      ['margin -1 (a negative margin)', { margin: -1 }, 'margin'],
      ['margin NaN', { margin: Number.NaN }, 'margin'],
      ['mu 2', { mu: 2 }, 'mu'],
      ['a bad distance', { distance: NOT_A_DISTANCE }, 'distance'],
      ['a similarity', { distance: dotProductSimilarity() }, 'distance'],
    ]),
  },
};

// ---------------------------------------------------------------------------------------------
// reducers and helpers
// ---------------------------------------------------------------------------------------------

/** Bad `reduce` inputs every reducer must reject. */
function reduceCases(fn: string, make: () => api.Reducer): BadInputCase[] {
  const reduce = (input: (keep: Keep) => unknown, embeddings: (keep: Keep) => unknown = (keep) => embeddingsOf(keep)): (() => unknown) =>
    scoped((keep) => make().reduce(bad(input(keep)), bad(embeddings(keep))));
  const losses = (keep: Keep): tf.Tensor1D => keep(tf.tensor1d([1, 0, 2]));
  return [
    { what: 'reduce(null)', run: reduce(() => null), code: 'INVALID_ARGUMENT', argument: 'input' },
    { what: 'reduce without losses', run: reduce(() => ({})), code: 'SHAPE_MISMATCH', argument: 'losses' },
    { what: 'rank-2 losses', run: reduce((keep) => ({ losses: keep(tf.ones([3, 1])) })), code: 'SHAPE_MISMATCH', argument: 'losses' },
    { what: 'int32 losses', run: reduce((keep) => ({ losses: int32(keep, [1, 0, 2]) })), code: 'DTYPE_MISMATCH', argument: 'losses' },
    { what: 'disposed losses', run: reduce(() => ({ losses: disposed(tf.tensor1d([1, 0, 2])) })), code: 'DISPOSED', argument: 'losses' },
    { what: 'embeddings that are not a tensor', run: reduce((keep) => ({ losses: losses(keep), anchors: int32(keep, [0, 0, 1]), numAnchors: 2 }), () => 'x'), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'disposed embeddings', run: reduce((keep) => ({ losses: losses(keep), anchors: int32(keep, [0, 0, 1]), numAnchors: 2 }), () => disposed(tf.ones([2, 2]))), code: 'DISPOSED', argument: 'embeddings' },
  ].map((c) => ({ ...c, what: `${fn}: ${c.what}` }) as BadInputCase);
}

const perAnchorReduce = (input: (keep: Keep) => unknown): (() => unknown) =>
  scoped((keep) => api.perAnchorReducer().reduce(bad(input(keep)), embeddingsOf(keep)));
const threeLosses = (keep: Keep): tf.Tensor1D => keep(tf.tensor1d([1, 3, 2]));

const REDUCERS: Record<ReducerName, readonly BadInputCase[]> = {
  meanReducer: reduceCases('meanReducer', () => api.meanReducer()),
  sumReducer: reduceCases('sumReducer', () => api.sumReducer()),
  avgNonZeroReducer: reduceCases('avgNonZeroReducer', () => api.avgNonZeroReducer()),
  thresholdReducer: [
    ...reduceCases('thresholdReducer', () => api.thresholdReducer({ low: 0.5 })),
    { what: 'thresholdReducer() without bounds', run: () => api.thresholdReducer(bad(undefined)), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: 'thresholdReducer({}) ', run: () => api.thresholdReducer({}), code: 'INVALID_ARGUMENT', argument: 'options' },
    { what: 'thresholdReducer(low NaN)', run: () => api.thresholdReducer({ low: Number.NaN }), code: 'INVALID_ARGUMENT', argument: 'low' },
    { what: 'thresholdReducer(high Infinity)', run: () => api.thresholdReducer({ high: Number.POSITIVE_INFINITY }), code: 'INVALID_ARGUMENT', argument: 'high' },
    { what: 'thresholdReducer(high <= low)', run: () => api.thresholdReducer({ low: 1, high: 1 }), code: 'INVALID_ARGUMENT', argument: 'high' },
  ],
  perAnchorReducer: [
    ...reduceCases('perAnchorReducer', () => api.perAnchorReducer()),
    ...optionCases('perAnchorReducer', (o) => api.perAnchorReducer(bad(o)), [
      ["aggregation 'max'", { aggregation: 'max' }, 'aggregation'],
      ['a reducer that is not a Reducer', { reducer: {} }, 'reducer'],
    ]),
    { what: 'reduce without anchors', run: perAnchorReduce((keep) => ({ losses: threeLosses(keep), numAnchors: 2 })), code: 'SHAPE_MISMATCH', argument: 'anchors' },
    { what: 'float anchors', run: perAnchorReduce((keep) => ({ losses: threeLosses(keep), anchors: keep(tf.tensor1d([0, 0, 1])), numAnchors: 2 })), code: 'DTYPE_MISMATCH', argument: 'anchors' },
    { what: 'anchors of another length than losses', run: perAnchorReduce((keep) => ({ losses: threeLosses(keep), anchors: int32(keep, [0, 1]), numAnchors: 2 })), code: 'SHAPE_MISMATCH', argument: 'anchors' },
    { what: 'numAnchors 0', run: perAnchorReduce((keep) => ({ losses: threeLosses(keep), anchors: int32(keep, [0, 0, 1]), numAnchors: 0 })), code: 'INVALID_ARGUMENT', argument: 'numAnchors' },
    { what: 'numAnchors missing', run: perAnchorReduce((keep) => ({ losses: threeLosses(keep), anchors: int32(keep, [0, 0, 1]) })), code: 'INVALID_ARGUMENT', argument: 'numAnchors' },
    { what: 'an anchor past numAnchors', run: perAnchorReduce((keep) => ({ losses: threeLosses(keep), anchors: int32(keep, [0, 5, 1]), numAnchors: 2 })), code: 'INVALID_ARGUMENT', argument: 'anchors' },
    { what: 'a negative anchor', run: perAnchorReduce((keep) => ({ losses: threeLosses(keep), anchors: int32(keep, [0, -1, 1]), numAnchors: 2 })), code: 'INVALID_ARGUMENT', argument: 'anchors' },
  ],
};

const weights = (similarities: (keep: Keep) => unknown, mask: (keep: Keep) => unknown, options?: unknown): (() => unknown) =>
  scoped((keep) => api.hardNegativeWeights(bad(similarities(keep)), bad(mask(keep)), bad(options)));
const squareOnes = (keep: Keep): tf.Tensor2D => keep(tf.ones([3, 3]));

/** Each loss's cases: the shared `compute` cases of its layout, its option cases and its own. */
function lossCoverage(): Record<LossName, ExportCoverage> {
  const out = {} as Record<LossName, ExportCoverage>;
  for (const name of Object.keys(LOSSES) as LossName[]) {
    const entry = LOSSES[name];
    out[name] = [
      ...computeCases(entry.make, entry.layout).map((c) => ({ ...c, what: `compute: ${c.what}` })),
      ...entry.options,
      ...(entry.extra ?? []),
    ];
  }
  return out;
}

const coverage: Record<keyof typeof api, ExportCoverage> = {
  ...lossCoverage(),
  ...REDUCERS,
  connectedZero: [
    { what: 'a string', run: () => api.connectedZero(bad('x')), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'undefined', run: () => api.connectedZero(bad(undefined)), code: 'SHAPE_MISMATCH', argument: 'embeddings' },
    { what: 'int32 embeddings', run: scoped((keep) => api.connectedZero(keep(tf.ones([2, 2], 'int32')))), code: 'DTYPE_MISMATCH', argument: 'embeddings' },
    { what: 'disposed embeddings', run: () => api.connectedZero(disposed(tf.ones([2, 2]))), code: 'DISPOSED', argument: 'embeddings' },
  ],
  hardNegativeWeights: [
    { what: 'rank-1 similarities', run: weights((keep) => keep(tf.ones([3])), squareOnes), code: 'SHAPE_MISMATCH', argument: 'similarities' },
    { what: 'int32 similarities', run: weights((keep) => keep(tf.ones([3, 3], 'int32')), squareOnes), code: 'DTYPE_MISMATCH', argument: 'similarities' },
    { what: 'disposed similarities', run: weights(() => disposed(tf.ones([3, 3])), squareOnes), code: 'DISPOSED', argument: 'similarities' },
    { what: 'a mask of another shape', run: weights(squareOnes, (keep) => keep(tf.ones([3, 2]))), code: 'SHAPE_MISMATCH', argument: 'mask' },
    { what: 'a bool mask', run: weights(squareOnes, (keep) => keep(tf.ones([3, 3], 'bool'))), code: 'DTYPE_MISMATCH', argument: 'mask' },
    { what: 'a missing mask', run: weights(squareOnes, () => undefined), code: 'SHAPE_MISMATCH', argument: 'mask' },
    { what: 'beta -1', run: weights(squareOnes, squareOnes, { beta: -1 }), code: 'INVALID_ARGUMENT', argument: 'beta' },
    ...positive('temperature').map(([what, value]): BadInputCase => ({ what, run: weights(squareOnes, squareOnes, { temperature: value }), code: 'INVALID_ARGUMENT', argument: 'temperature' })),
  ],
};

// ---------------------------------------------------------------------------------------------
// the battery
// ---------------------------------------------------------------------------------------------

describe('@contrastive/losses reliability battery', () => {
  it('every export of the index has bad-input cases', () => {
    expect(exportCoverageGaps(api, coverage)).toEqual({ missing: [], stale: [] });
    // A runtime export is a function here: every one needs cases, none is exempt.
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

/** Value and gradient of `loss` with respect to `rows`; every tensor it made is disposed. */
function valueAndGradient(loss: AnyLoss, rows: number[][], labels: number[], extra: Partial<LossInput> = {}): { value: number; gradient: number[] } {
  const embeddings = tf.tensor2d(rows);
  const labelTensor = tf.tensor1d(labels, 'int32');
  try {
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => loss.compute({ embeddings: x as tf.Tensor2D, labels: labelTensor, ...extra }))(embeddings);
    const result = { value: value.dataSync()[0] as number, gradient: Array.from(grad.dataSync()) };
    tf.dispose([value, grad]);
    return result;
  } finally {
    tf.dispose([embeddings, labelTensor]);
  }
}

/** Makes a loss sized for `n` rows of dimension `d` (the proxy losses need the class count and dimension). */
function lossFor(name: LossName, n: number, d: number): AnyLoss {
  switch (name) {
    case 'proxyNcaLoss':
      return api.proxyNcaLoss({ numClasses: n, embeddingDim: d });
    case 'proxyAnchorLoss':
      return api.proxyAnchorLoss({ numClasses: n, embeddingDim: d });
    default:
      return LOSSES[name].make();
  }
}

const LOSS_NAMES = Object.keys(LOSSES) as LossName[];
const ONE_ROW_REJECTED = new Set(LOSS_NAMES.filter((name) => LOSSES[name].twoViews === true && LOSSES[name].singleRowZero !== true));

/**
 * A random finite batch of `2k` rows of dimension `d`: values from a small grid (so zeros and
 * duplicate rows are common), labels either the two-view layout or random classes.
 */
const batchArbitrary = fc
  .record({
    k: fc.integer({ min: 1, max: 4 }),
    d: fc.integer({ min: 1, max: 4 }),
    scale: fc.constantFrom(1e-6, 1, 1e4),
    seed: fc.integer({ min: 0, max: 1_000_000 }),
    randomLabels: fc.boolean(),
  })
  .map(({ k, d, scale, seed, randomLabels }) => {
    const rng = new Rng(seed);
    const n = 2 * k;
    const grid = [0, 0, 1, -1, 0.5, 2];
    const base = Array.from({ length: n }, () => Array.from({ length: d }, () => (grid[rng.int(grid.length)] as number) * scale));
    // A duplicate row half of the time.
    if (n > 2 && rng.uniform() < 0.5) base[n - 1] = [...(base[0] as number[])];
    const labels = randomLabels ? Array.from({ length: n }, () => rng.int(k)) : labelValues(n);
    return { rows: base, labels, n, d };
  });

describe('@contrastive/losses properties', () => {
  it.each(LOSS_NAMES)('%s: finite value and gradient for random finite batches (zeros, duplicates, 1e-6 and 1e4 scales)', (name) => {
    fc.assert(
      fc.property(batchArbitrary, ({ rows, labels, n, d }) => {
        const loss = lossFor(name, n, d);
        try {
          const { value, gradient } = valueAndGradient(loss, rows, labels);
          expect(Number.isFinite(value), `value ${value}`).toBe(true);
          expect(gradient.every(Number.isFinite), 'gradient').toBe(true);
        } finally {
          loss.dispose?.();
        }
      }),
      { numRuns: 12, seed: 9 },
    );
  });

  it.each(LOSS_NAMES)('%s: a batch of one row gives 0 with a zero gradient (or SHAPE_MISMATCH for a two-view layout)', async (name) => {
    const loss = lossFor(name, 1, DIMS);
    try {
      if (ONE_ROW_REJECTED.has(name)) {
        await expectRejectsContrastive(() => valueAndGradient(loss, [[1, 2, 3]], [0]), 'SHAPE_MISMATCH', 'embeddings');
        return;
      }
      const { value, gradient } = valueAndGradient(loss, [[1, 2, 3]], [0]);
      expect(Number.isFinite(value)).toBe(true);
      // The proxy losses compare the row with the class proxies: a real loss; the others have nothing to compare.
      if (!name.startsWith('proxy')) expect({ value: Math.abs(value), gradient: gradient.map(Math.abs) }).toEqual({ value: 0, gradient: [0, 0, 0] });
      expect(gradient.every(Number.isFinite)).toBe(true);
    } finally {
      loss.dispose?.();
    }
  });

  // The losses whose every term needs a positive pair: without one they give 0 (PML's convention).
  // The pair losses with a negative term of its own (contrastiveLoss, multiSimilarityLoss,
  // generalizedLiftedStructureLoss) still push the negatives apart, and the two-view, proxy and
  // N-pair losses take their positives from the layout or the proxies, not from the labels.
  const NEEDS_A_POSITIVE: LossName[] = ['ntXentLoss', 'supConLoss', 'nceLoss', 'ncaLoss', 'circleLoss', 'liftedStructureLoss', 'debiasedContrastiveLoss', 'hardNegativeLoss', 'tripletMarginLoss', 'lmnnLoss'];
  it.each(LOSS_NAMES)('%s: a batch without a positive pair gives a finite value and gradient', (name) => {
    const loss = lossFor(name, 4, DIMS);
    try {
      const { value, gradient } = valueAndGradient(loss, rowsOf(4, DIMS), [0, 1, 2, 3]);
      expect(Number.isFinite(value) && gradient.every(Number.isFinite)).toBe(true);
      if (NEEDS_A_POSITIVE.includes(name)) expect({ value: Math.abs(value), gradient: gradient.map(Math.abs) }).toEqual({ value: 0, gradient: Array(4 * DIMS).fill(0) });
    } finally {
      loss.dispose?.();
    }
  });

  it.each([
    ['tripletMarginLoss', () => api.tripletMarginLoss({ margin: -0.5 })],
    ['contrastiveLoss', () => api.contrastiveLoss({ posMargin: -1, negMargin: -0.5 })],
    ['liftedStructureLoss', () => api.liftedStructureLoss({ negMargin: -1, posMargin: -2 })],
    ['generalizedLiftedStructureLoss', () => api.generalizedLiftedStructureLoss({ negMargin: -1 })],
    ['proxyAnchorLoss', () => api.proxyAnchorLoss({ numClasses: ROWS / 2, embeddingDim: DIMS, margin: -0.3 })],
  ] as [string, () => AnyLoss][])('%s: a negative margin (documented as any finite number) gives a finite value and gradient', (_name, make) => {
    const loss = make();
    try {
      const { value, gradient } = valueAndGradient(loss, rowsOf(ROWS, DIMS), labelValues(ROWS));
      expect(Number.isFinite(value)).toBe(true);
      expect(gradient.every(Number.isFinite)).toBe(true);
    } finally {
      loss.dispose?.();
    }
  });

  it('lmnnLoss: k larger than every class (and than the batch) gives a finite value and gradient', () => {
    const { value, gradient } = valueAndGradient(api.lmnnLoss({ k: 20 }), rowsOf(ROWS, DIMS), labelValues(ROWS));
    expect(Number.isFinite(value)).toBe(true);
    expect(gradient.every(Number.isFinite)).toBe(true);
  });

  it.each(LOSS_NAMES)('%s: NaN or Infinity in the embeddings is not hidden (the loss is not finite)', (name) => {
    // Documented behaviour: the embeddings are never read back to be checked, so a non-finite
    // entry propagates to the loss (core's train() then stops with NON_FINITE), never to a
    // plausible finite value.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: ROWS - 1 }), fc.integer({ min: 0, max: DIMS - 1 }), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY), (row, column, poison) => {
        const rows = rowsOf(ROWS, DIMS);
        (rows[row] as number[])[column] = poison;
        const loss = lossFor(name, ROWS / 2, DIMS);
        const embeddings = tf.tensor2d(rows);
        const labels = tf.tensor1d(labelValues(ROWS), 'int32');
        try {
          const value = loss.compute({ embeddings, labels });
          const result = value.dataSync()[0] as number;
          value.dispose();
          expect(Number.isFinite(result), `loss ${result}`).toBe(false);
        } finally {
          tf.dispose([embeddings, labels]);
          loss.dispose?.();
        }
      }),
      { numRuns: 6, seed: 9 },
    );
  });
});
