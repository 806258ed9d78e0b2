/**
 * Numerics of every loss of the index (issue 9, DESIGN.md "Numerics"): for temperatures down to
 * 0.01, embeddings scaled by 1e-6 and by 1e4, dimension 1 and 4,096, all-identical and all-zero
 * embeddings, the value and the gradient with respect to the embeddings are finite. A loss with
 * nothing left to learn (every margin satisfied, identical rows under a margin loss) may have a zero
 * gradient; NaN and Infinity are never allowed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, dotProductSimilarity, lpDistance } from '@contrastive/core';
import type { Distance, Loss } from '@contrastive/core';
import { useTestBackend } from '@contrastive/core/testing';
import * as api from './index.js';
import { randomRows } from './test-support/harness.js';
import type { Rows } from './test-support/harness.js';

beforeAll(async () => {
  await useTestBackend();
});

/** A loss to check: how to build it for a batch of `n` rows of dimension `d`, and the batch's labels. */
interface Subject {
  /** The export it comes from (every loss factory of the index has one or more subjects). */
  readonly loss: keyof typeof api;
  /** What is special about this configuration (temperature 0.01, a distance, ...). */
  readonly variant: string;
  /** Builds the loss for `n` rows of dimension `d` (proxies and prototypes depend on them). */
  readonly make: (n: number, d: number) => Loss & { dispose?: () => void };
}

const SHARP = 0.01;
const rawEuclidean = (): Distance => lpDistance({ normalize: false });

/** Rows of a random batch with `n / 2` classes of two rows each (the layout of `viewLabels(n / 2)`). */
const labelsOf = (n: number): tf.Tensor1D => tf.tensor1d(Array.from({ length: n }, (_, i) => i % (n / 2)), 'int32');

/** `[k, d]` prototypes of protoNceLoss with their concentrations and the assignments of `n / 2` instances. */
function protoNce(n: number, d: number, tauInstance: number, phi: number): Loss & { dispose: () => void } {
  const k = 2;
  const prototypes = tf.tensor2d(randomRows(new Rng(5), k, d));
  const concentrations = tf.fill([k], phi) as tf.Tensor1D;
  const assignments = tf.tensor1d(Array.from({ length: n / 2 }, (_, i) => i % k), 'int32');
  const loss = api.protoNceLoss({ tauInstance, prototypes: [prototypes], concentrations: [concentrations], assignments: [assignments] });
  return { name: loss.name, compute: (input) => loss.compute(input), dispose: () => tf.dispose([prototypes, concentrations, assignments]) };
}

const SUBJECTS: Subject[] = [
  { loss: 'ntXentLoss', variant: 'default', make: () => api.ntXentLoss() },
  { loss: 'ntXentLoss', variant: 'temperature 0.01', make: () => api.ntXentLoss({ temperature: SHARP }) },
  { loss: 'ntXentLoss', variant: 'temperature 0.01, dot product', make: () => api.ntXentLoss({ temperature: SHARP, distance: dotProductSimilarity() }) },
  { loss: 'ntXentLoss', variant: 'temperature 0.01, raw euclidean', make: () => api.ntXentLoss({ temperature: SHARP, distance: rawEuclidean() }) },
  { loss: 'supConLoss', variant: 'default', make: () => api.supConLoss() },
  { loss: 'supConLoss', variant: 'temperature 0.01', make: () => api.supConLoss({ temperature: SHARP }) },
  { loss: 'supConLoss', variant: 'temperature 0.01, dot product', make: () => api.supConLoss({ temperature: SHARP, distance: dotProductSimilarity() }) },
  { loss: 'supConLoss', variant: 'temperature 0.01, raw euclidean', make: () => api.supConLoss({ temperature: SHARP, distance: rawEuclidean() }) },
  { loss: 'infoNceLoss', variant: 'default', make: () => api.infoNceLoss() },
  { loss: 'infoNceLoss', variant: 'temperature 0.01, symmetric', make: () => api.infoNceLoss({ temperature: SHARP, symmetric: true }) },
  { loss: 'infoNceLoss', variant: 'temperature 0.01, dot product', make: () => api.infoNceLoss({ temperature: SHARP, distance: dotProductSimilarity() }) },
  { loss: 'infoNceLoss', variant: 'temperature 0.01, raw euclidean', make: () => api.infoNceLoss({ temperature: SHARP, distance: rawEuclidean() }) },
  { loss: 'clipLoss', variant: 'default', make: () => api.clipLoss() },
  { loss: 'clipLoss', variant: 'temperature 0.01', make: () => api.clipLoss({ temperature: SHARP }) },
  { loss: 'clipLoss', variant: 'temperature 0.01, learnable scale', make: () => api.clipLoss({ temperature: SHARP, learnableScale: true }) },
  { loss: 'debiasedContrastiveLoss', variant: 'default', make: () => api.debiasedContrastiveLoss() },
  { loss: 'debiasedContrastiveLoss', variant: 'temperature 0.01', make: () => api.debiasedContrastiveLoss({ temperature: SHARP }) },
  { loss: 'debiasedContrastiveLoss', variant: 'temperature 0.01, tauPlus 0.1, no clamp', make: () => api.debiasedContrastiveLoss({ temperature: SHARP, tauPlus: 0.1, clamp: false }) },
  { loss: 'debiasedContrastiveLoss', variant: 'temperature 0.01, dot product', make: () => api.debiasedContrastiveLoss({ temperature: SHARP, distance: dotProductSimilarity() }) },
  { loss: 'hardNegativeLoss', variant: 'default', make: () => api.hardNegativeLoss() },
  { loss: 'hardNegativeLoss', variant: 'temperature 0.01', make: () => api.hardNegativeLoss({ temperature: SHARP }) },
  { loss: 'hardNegativeLoss', variant: 'temperature 0.01, beta 10, tauPlus 0.1', make: () => api.hardNegativeLoss({ temperature: SHARP, beta: 10, tauPlus: 0.1 }) },
  { loss: 'hardNegativeLoss', variant: 'temperature 0.01, easy estimator, no clamp', make: () => api.hardNegativeLoss({ temperature: SHARP, estimator: 'easy', clamp: false, tauPlus: 0.1 }) },
  { loss: 'hardNegativeLoss', variant: 'temperature 0.01, dot product', make: () => api.hardNegativeLoss({ temperature: SHARP, distance: dotProductSimilarity() }) },
  { loss: 'nceLoss', variant: 'default', make: () => api.nceLoss() },
  { loss: 'nceLoss', variant: 'temperature 0.01', make: () => api.nceLoss({ temperature: SHARP }) },
  { loss: 'nceLoss', variant: 'temperature 0.01, partition 1, 3 noise samples', make: () => api.nceLoss({ temperature: SHARP, partition: 1, noiseSamples: 3 }) },
  { loss: 'nceLoss', variant: 'temperature 0.01, dot product', make: () => api.nceLoss({ temperature: SHARP, distance: dotProductSimilarity() }) },
  { loss: 'protoNceLoss', variant: 'default, no prototypes', make: () => api.protoNceLoss() },
  { loss: 'protoNceLoss', variant: 'tauInstance 0.01, concentration 0.01', make: (n, d) => protoNce(n, d, SHARP, SHARP) },
  { loss: 'negativeCosineSimilarityLoss', variant: 'default', make: () => api.negativeCosineSimilarityLoss() },
  { loss: 'barlowTwinsLoss', variant: 'default', make: () => api.barlowTwinsLoss() },
  { loss: 'vicregLoss', variant: 'default', make: () => api.vicregLoss() },
  { loss: 'ncaLoss', variant: 'default', make: () => api.ncaLoss() },
  { loss: 'ncaLoss', variant: 'softmaxScale 100 (temperature 0.01)', make: () => api.ncaLoss({ softmaxScale: 1 / SHARP }) },
  { loss: 'ncaLoss', variant: 'softmaxScale 100, dot product', make: () => api.ncaLoss({ softmaxScale: 1 / SHARP, distance: dotProductSimilarity() }) },
  { loss: 'nPairsLoss', variant: 'default', make: () => api.nPairsLoss() },
  { loss: 'nPairsLoss', variant: 'raw euclidean', make: () => api.nPairsLoss({ distance: rawEuclidean() }) },
  { loss: 'proxyNcaLoss', variant: 'default', make: (n, d) => api.proxyNcaLoss({ numClasses: n / 2, embeddingDim: d }) },
  { loss: 'proxyNcaLoss', variant: 'softmaxScale 100 (temperature 0.01)', make: (n, d) => api.proxyNcaLoss({ numClasses: n / 2, embeddingDim: d, softmaxScale: 1 / SHARP }) },
  { loss: 'proxyAnchorLoss', variant: 'default', make: (n, d) => api.proxyAnchorLoss({ numClasses: n / 2, embeddingDim: d }) },
  { loss: 'proxyAnchorLoss', variant: 'alpha 100', make: (n, d) => api.proxyAnchorLoss({ numClasses: n / 2, embeddingDim: d, alpha: 100 }) },
  { loss: 'multiSimilarityLoss', variant: 'default', make: () => api.multiSimilarityLoss() },
  { loss: 'multiSimilarityLoss', variant: 'alpha 100, beta 100', make: () => api.multiSimilarityLoss({ alpha: 100, beta: 100 }) },
  { loss: 'multiSimilarityLoss', variant: 'raw euclidean', make: () => api.multiSimilarityLoss({ distance: rawEuclidean() }) },
  { loss: 'circleLoss', variant: 'default', make: () => api.circleLoss() },
  { loss: 'circleLoss', variant: 'gamma 1000', make: () => api.circleLoss({ gamma: 1000 }) },
  { loss: 'liftedStructureLoss', variant: 'default', make: () => api.liftedStructureLoss() },
  { loss: 'liftedStructureLoss', variant: 'raw euclidean', make: () => api.liftedStructureLoss({ distance: rawEuclidean() }) },
  { loss: 'generalizedLiftedStructureLoss', variant: 'default', make: () => api.generalizedLiftedStructureLoss() },
  { loss: 'generalizedLiftedStructureLoss', variant: 'dot product', make: () => api.generalizedLiftedStructureLoss({ distance: dotProductSimilarity() }) },
  { loss: 'contrastiveLoss', variant: 'default', make: () => api.contrastiveLoss() },
  { loss: 'contrastiveLoss', variant: 'raw euclidean', make: () => api.contrastiveLoss({ distance: rawEuclidean() }) },
  { loss: 'tripletMarginLoss', variant: 'default', make: () => api.tripletMarginLoss() },
  { loss: 'tripletMarginLoss', variant: 'raw euclidean, swap', make: () => api.tripletMarginLoss({ distance: rawEuclidean(), swap: true }) },
  { loss: 'tripletMarginLoss', variant: 'smooth, dot product', make: () => api.tripletMarginLoss({ smoothLoss: true, distance: dotProductSimilarity() }) },
  { loss: 'lmnnLoss', variant: 'default', make: () => api.lmnnLoss({ k: 1 }) },
  { loss: 'lmnnLoss', variant: 'euclidean', make: () => api.lmnnLoss({ k: 1, distance: rawEuclidean() }) },
];

/** The embeddings of one numeric case: `n` rows of dimension `d`. */
interface Batch {
  readonly what: string;
  readonly n: number;
  readonly d: number;
  readonly rows: () => Rows;
}

const random = (n: number, d: number, scale: number): Rows => randomRows(new Rng(17), n, d, scale);
const BATCHES: Batch[] = [
  { what: 'unit scale', n: 8, d: 4, rows: () => random(8, 4, 1) },
  { what: 'scaled by 1e-6', n: 8, d: 4, rows: () => random(8, 4, 1e-6) },
  { what: 'scaled by 1e4', n: 8, d: 4, rows: () => random(8, 4, 1e4) },
  { what: 'dimension 1', n: 8, d: 1, rows: () => random(8, 1, 1) },
  { what: 'dimension 1, scaled by 1e4', n: 8, d: 1, rows: () => random(8, 1, 1e4) },
  { what: 'dimension 4096', n: 8, d: 4096, rows: () => random(8, 4096, 1) },
  { what: 'dimension 4096, scaled by 1e4', n: 8, d: 4096, rows: () => random(8, 4096, 1e4) },
  { what: 'all rows identical', n: 8, d: 4, rows: () => Array.from({ length: 8 }, () => [0.3, -1.2, 0.5, 2]) },
  { what: 'all rows identical, scaled by 1e4', n: 8, d: 4, rows: () => Array.from({ length: 8 }, () => [3e3, -1.2e4, 5e3, 2e4]) },
  { what: 'all rows zero', n: 8, d: 4, rows: () => Array.from({ length: 8 }, () => [0, 0, 0, 0]) },
];

/** The first non-finite entry of `values`, or null. */
function firstNonFinite(values: ArrayLike<number>): string | null {
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (!Number.isFinite(value)) return `${value} at ${i}`;
  }
  return null;
}

/** How the batch is given: alone, against a reference (a copy of the batch), or with mined triplets. */
type Mode = 'batch' | 'ref' | 'tuples';

const NO_REF = new Set<keyof typeof api>(['nPairsLoss', 'proxyNcaLoss', 'proxyAnchorLoss']);
const NO_TUPLES = new Set<keyof typeof api>(['infoNceLoss', 'clipLoss', 'protoNceLoss', 'barlowTwinsLoss', 'vicregLoss']);
/** Losses whose cost grows as d² (a `[d, d]` cross-correlation or covariance). */
const SQUARE_IN_DIMENSION = new Set<keyof typeof api>(['barlowTwinsLoss', 'vicregLoss']);
/** The batches that are also checked against a reference and with mined tuples. */
const EXTREME = new Set(['scaled by 1e-6', 'scaled by 1e4', 'dimension 1, scaled by 1e4', 'all rows identical, scaled by 1e4', 'all rows zero']);

/** The value and gradient with respect to the embeddings are finite, and no tensor is left behind. */
function expectFinite(subject: Subject, batch: Batch, mode: Mode): void {
  const loss = subject.make(batch.n, batch.d);
  const rows = batch.rows();
  const embeddings = tf.tensor2d(rows, [batch.n, batch.d]);
  const labels = labelsOf(batch.n);
  const ref = mode === 'ref' ? { embeddings: tf.tensor2d(rows.slice().reverse(), [batch.n, batch.d]), labels: labelsOf(batch.n) } : undefined;
  // Rows i and i + n/2 share a label: (i, i + n/2, i + 1) are valid triplets.
  const half = batch.n / 2;
  const anchors = Array.from({ length: half }, (_, i) => i);
  const tuples =
    mode === 'tuples'
      ? {
          kind: 'triplets' as const,
          anchor: tf.tensor1d(anchors, 'int32'),
          positive: tf.tensor1d(anchors.map((i) => i + half), 'int32'),
          negative: tf.tensor1d(anchors.map((i) => (i + 1) % half), 'int32'),
        }
      : undefined;
  const before = tf.memory().numTensors;
  try {
    const compute = (x: tf.Tensor): tf.Scalar =>
      loss.compute({ embeddings: x as tf.Tensor2D, labels, ...(ref === undefined ? {} : { ref }), ...(tuples === undefined ? {} : { tuples }) });
    const { value, grad } = tf.valueAndGrad(compute)(embeddings);
    const problems = { value: firstNonFinite(value.dataSync()), gradient: firstNonFinite(grad.dataSync()) };
    tf.dispose([value, grad]);
    expect(problems).toEqual({ value: null, gradient: null });
    expect(tf.memory().numTensors).toBe(before);
  } finally {
    tf.dispose([embeddings, labels]);
    if (ref !== undefined) tf.dispose([ref.embeddings, ref.labels]);
    if (tuples !== undefined) tf.dispose([tuples.anchor, tuples.positive, tuples.negative]);
    loss.dispose?.();
  }
}

it('every loss factory of the index has a numeric subject', () => {
  const helpers = ['meanReducer', 'sumReducer', 'avgNonZeroReducer', 'thresholdReducer', 'perAnchorReducer', 'connectedZero', 'hardNegativeWeights'];
  const losses = Object.keys(api).filter((name) => !helpers.includes(name));
  expect(losses.filter((name) => !SUBJECTS.some((subject) => subject.loss === name))).toEqual([]);
});

/**
 * The subjects also checked against a reference and with mined triplets: the first configuration
 * of every loss, and its temperature-0.01 configuration (the others differ only in the distance).
 */
const WITH_MODES = new Set(SUBJECTS.filter((subject, i) => SUBJECTS.findIndex((other) => other.loss === subject.loss) === i || subject.variant === 'temperature 0.01'));

describe.each(SUBJECTS.map((subject) => [`${subject.loss} (${subject.variant})`, subject] as const))('%s', (_, subject) => {
  // A [d, d] matrix costs seconds at d = 4,096: one such case (the scaled one) for these losses.
  const batches = BATCHES.filter((batch) => !(SQUARE_IN_DIMENSION.has(subject.loss) && batch.what === 'dimension 4096'));
  it.each(batches.map((batch) => [batch.what, batch] as const))('%s: finite value and gradient', (_what, batch) => {
    expectFinite(subject, batch, 'batch');
  });
  const extreme = BATCHES.filter((batch) => EXTREME.has(batch.what));
  if (WITH_MODES.has(subject) && !NO_REF.has(subject.loss)) {
    it.each(extreme.map((batch) => [batch.what, batch] as const))('%s, against a reference: finite value and gradient', (_what, batch) => {
      expectFinite(subject, batch, 'ref');
    });
  }
  if (WITH_MODES.has(subject) && !NO_TUPLES.has(subject.loss)) {
    it.each(extreme.map((batch) => [batch.what, batch] as const))('%s, with mined triplets: finite value and gradient', (_what, batch) => {
      expectFinite(subject, batch, 'tuples');
    });
  }
});

describe('hardNegativeWeights', () => {
  it.each([
    ['temperature 0.01, similarities of 1e4', 1e4, SHARP, 10],
    ['temperature 0.01, similarities of 1e-6', 1e-6, SHARP, 1],
    ['identical similarities', 0, SHARP, 1],
  ])('%s: finite weights and gradient', (_what, scale, temperature, beta) => {
    const similarities = tf.tensor2d(random(4, 6, scale));
    const mask = tf.tensor2d([[0, 1, 1, 1, 1, 1], [1, 0, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]]);
    const { value, grad } = tf.valueAndGrad((s: tf.Tensor) => tf.sum(api.hardNegativeWeights(s as tf.Tensor2D, mask, { temperature, beta })) as tf.Scalar)(similarities);
    const problems = { value: firstNonFinite(value.dataSync()), gradient: firstNonFinite(grad.dataSync()) };
    tf.dispose([value, grad, similarities, mask]);
    expect(problems).toEqual({ value: null, gradient: null });
  });
});
