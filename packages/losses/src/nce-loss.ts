import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, Rng, assertNumber, assertOneOf, cosineSimilarity } from '@contrastive/core';
import type { Distance, Labels, Loss, LossInput, Tuples } from '@contrastive/core';
import {
  assertDistanceOption,
  describeObject,
  labelPairMasks,
  pairCountMatrix,
  tupleCounts,
  tuplesToPairs,
  validateLossInput,
} from './internal/pairs.js';
import { connectedZero } from './reducers.js';
import { assertOptionsObject } from './internal/options.js';

const NAME = 'nceLoss';

/**
 * Options of {@link nceLoss}.
 * @category Losses
 */
export interface NceLossOptions {
  /**
   * Temperature τ of the unnormalised model `exp(s / τ) / Z`; a finite number > 0.
   * @defaultValue 0.07 (Wu et al. 2018)
   */
  readonly temperature?: number;
  /**
   * The noise samples of each anchor. `'all'`: every noise candidate of the anchor (every key with
   * another label, or every mined negative pair of the anchor) is one noise sample, and `k` is their
   * number. A positive integer `k`: `k` candidates drawn per anchor, uniformly with replacement,
   * with `rng` (Wu et al. draw 4096 from their memory bank).
   * @defaultValue `'all'`
   */
  readonly noiseSamples?: number | 'all';
  /**
   * The noise probability `p_n` of one key in the correction `log(k · p_n)`; a finite number in
   * `(0, 1]`. Give `1 / datasetSize` when `ref` holds a subset of the instances.
   * @defaultValue `1 / m`, uniform over the `m` keys compared against (`ref` rows, or the batch)
   */
  readonly noiseProbability?: number;
  /**
   * The normalisation constant `Z`: a finite number > 0 held fixed, or `'estimate'` to estimate it
   * on every call as `(1 / p_n) · mean(exp(s / τ))` over the batch's noise samples, treated as a
   * constant by the gradient. Wu et al. estimate it once, at the first iteration, and keep it: read
   * `Math.exp(loss.logPartition(input).dataSync()[0])` once and build the loss again with that
   * number.
   * @defaultValue `'estimate'`
   */
  readonly partition?: number | 'estimate';
  /**
   * How queries and keys are compared. A similarity is used as is; a distance (`isSimilarity:
   * false`) is negated, so that larger always means closer.
   * @defaultValue `cosineSimilarity()` (L2-normalised features, as Wu et al.)
   */
  readonly distance?: Distance;
  /**
   * Random stream of the noise draws when `noiseSamples` is a number (advanced by every call; keep
   * it to checkpoint or replay the draws).
   * @defaultValue `new Rng(0)`
   */
  readonly rng?: Rng;
}

/**
 * The `Loss` returned by {@link nceLoss}, with the partition-function estimate exposed.
 * @category Losses
 */
export interface NceLoss extends Loss {
  /**
   * `log Z` estimated on `input` as `compute` does with `partition: 'estimate'` (draws new noise
   * samples when `noiseSamples` is a number). Use it to freeze `Z` after the first iteration.
   * @param input - as for `compute` (borrowed).
   * @returns a float32 scalar owned by the caller (0 when the batch has no noise sample).
   * @throws `ContrastiveError` as `compute`.
   */
  logPartition(input: LossInput): tf.Scalar;
}

/** `[n, m]` float32 multiplicities of the data pairs (positives) and of the noise candidates. */
interface PairWeights {
  readonly positive: tf.Tensor2D;
  readonly noise: tf.Tensor2D;
}

/**
 * Same label = positive (a row is not its own positive without a reference), other label = noise
 * candidate (`labelPairMasks`: compact label ids compared by a broadcast subtraction).
 */
function labelWeights(labels: Labels, refLabels: Labels | undefined): PairWeights {
  const { positive, negative } = labelPairMasks(labels, refLabels);
  return { positive, noise: negative };
}

/** Mined pairs: positive pairs are data samples, negative pairs noise candidates (triplets (a, p, n) give (a, p) and (a, n), as PML's `convert_to_pairs`). */
function tupleWeights(tuples: Tuples, n: number, m: number): PairWeights {
  const pairs = tuplesToPairs(tuples);
  return {
    positive: pairCountMatrix(pairs.anchorPos, pairs.positive, n, m),
    noise: pairCountMatrix(pairs.anchorNeg, pairs.negative, n, m),
  };
}

/**
 * `[n, m]` counts of `k` noise draws per row, uniform with replacement over the row's candidates
 * (`candidates > 0`), from `uniforms` (`[n, k]` in `[0, 1)`). The candidates of a row are put first,
 * in increasing column order, by one `topk` over an exact float32 sort key; draw `u` takes the
 * `floor(u · c)`-th of the `c` candidates. Rows without a candidate get no draw.
 */
function drawNoise(candidates: tf.Tensor2D, uniforms: tf.Tensor2D): tf.Tensor2D {
  const [n, m] = candidates.shape;
  const k = uniforms.shape[1];
  const isCandidate = tf.cast(tf.greater(candidates, 0), 'float32');
  const columns = tf.range(0, m, 1, 'float32');
  // Candidates score m .. 2m-1 (higher for lower columns), others 0 .. m-1: exact in float32 for m < 2^23.
  const sortKey = tf.add(tf.mul(isCandidate, m), tf.sub(m - 1, columns));
  const { indices: order } = tf.topk(sortKey, m, true);
  const count = tf.sum(isCandidate, 1, true);
  const rank = tf.minimum(tf.floor(tf.mul(uniforms, count)), tf.maximum(tf.sub(count, 1), 0));
  const offsets = tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(m, 'int32'));
  const flat = tf.add(tf.expandDims(offsets, 1), tf.cast(rank, 'int32'));
  const drawn = tf.gather(tf.reshape(order, [-1]), tf.reshape(flat, [-1]));
  const rows = tf.reshape(tf.mul(tf.expandDims(tf.range(0, n, 1, 'int32'), 1), tf.onesLike(flat)), [-1]);
  const counts = tf.scatterND(tf.stack([rows, drawn], 1), tf.ones([n * k]), [n, m]);
  return tf.mul(counts, tf.step(count)) as tf.Tensor2D;
}

/**
 * `log((1 / p_n) · Σ w · exp(x) / Σ w)`, the Monte-Carlo estimate of `log Z`, held constant by the
 * gradient (Wu et al. treat `Z` as a constant). The maximum over the weighted entries is subtracted
 * before `exp`; an empty weight gives 0.
 */
const constantLogPartition = tf.customGrad(((scaled: tf.Tensor, weights: tf.Tensor, logInverseNoise: tf.Tensor) => {
  const present = tf.step(weights);
  const shift = tf.max(tf.add(scaled, tf.mul(tf.sub(present, 1), 1e30)));
  // exp(min(x - shift, 0)) is exact on the weighted entries (x <= shift) and finite elsewhere (weight 0).
  const total = tf.sum(tf.mul(weights, tf.exp(tf.minimum(tf.sub(scaled, shift), 0))));
  const count = tf.sum(weights);
  const hasNoise = tf.step(count);
  const estimate = tf.add(tf.add(shift, tf.log(tf.div(tf.maximum(total, 1e-30), tf.maximum(count, 1)))), logInverseNoise);
  return {
    value: tf.mul(estimate, hasNoise),
    gradFunc: () => [tf.zerosLike(scaled), tf.zerosLike(weights), tf.zerosLike(logInverseNoise)],
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (scaled: tf.Tensor2D, weights: tf.Tensor2D, logInverseNoise: tf.Scalar) => tf.Scalar;

/**
 * Noise-contrastive estimation (Gutmann & Hyvärinen 2010, "Noise-contrastive estimation: A new
 * estimation principle for unnormalized statistical models") as used for instance discrimination
 * with a memory bank (Wu et al. 2018, "Unsupervised Feature Learning via Non-Parametric Instance
 * Discrimination"). The model of a key `j` for a query `v` is the unnormalised
 * `P(j | v) = exp(s(v, j) / τ) / Z`; the posterior that a (query, key) pair came from the data
 * rather than from the noise distribution `p_n`, of which `k` samples are drawn per data sample, is
 * `h = P(j | v) / (P(j | v) + k · p_n)` (the `log(k · p_n)` correction). Each data sample — a
 * positive pair (a, p) — contributes `-log h(a, p) - Σ_{noise j of a} log(1 - h(a, j))`, and the
 * loss is their mean (Wu et al. divide by the batch size: one positive per query). Computed in log
 * space, `-log h = softplus(log(k p_n) + log Z - s/τ)` and `-log(1 - h) = softplus(s/τ - log Z -
 * log(k p_n))`, so it stays finite for any temperature and scale.
 *
 * Layout, the memory-bank recipe: `embeddings` are the queries `f(x_i)` with `labels` their instance
 * ids, and `ref` the memory bank — `ref.embeddings` `[m, d]` the stored features `v_j`, `ref.labels`
 * their instance ids. The bank row with the query's label is its positive (the data sample), the
 * rows with other labels its noise candidates: all of them (`noiseSamples: 'all'`) or `k` drawn
 * uniformly with replacement (`noiseSamples: k`, Wu et al.'s sampling, which may also draw the
 * positive; here only other instances are drawn). Without `ref` the batch is its own bank (views
 * are labels: two views of an instance share its id; a row is not its own positive). With `tuples`
 * the mined positive pairs are the data samples and each anchor's mined negative pairs its noise
 * candidates. An anchor without a noise candidate contributes 0 (its pairs still count in the
 * mean); a batch without a positive pair or without any noise gives 0 connected to `embeddings`.
 *
 * `Z` is `partition` when it is a number; with `'estimate'` it is estimated on each call from the
 * noise samples as `(1 / p_n) · mean exp(s / τ)` (Wu et al. estimate it once, at the first
 * iteration, from all `k + 1` draws of each query; {@link NceLoss.logPartition} gives the estimate to
 * freeze). PyTorch-metric-learning has no NCE loss; there is no golden fixture, the tests compare
 * with a float64 loop reference.
 *
 * Time and memory are `O(n · m)` in either noise mode (one `[n, m]` similarity matrix; drawing `k`
 * samples also sorts each row once). For a bank much larger than the batch, pass as `ref` the rows
 * Wu et al. gather — the batch's own entries plus a uniform sample of the bank — with
 * `noiseProbability: 1 / bankSize`.
 *
 * @param options - temperature, noise samples, noise probability, partition, distance, rng; see
 * {@link NceLossOptions}.
 * @returns an {@link NceLoss} named `'nceLoss'`. Its `compute` takes `embeddings` `[n, d]` float32,
 * `labels` `[n]` int32, optional `tuples` and an optional `ref` (`[m, d]` float32, `[m]` int32); it
 * returns a float32 scalar owned by the caller and disposes none of its inputs. Tuple indices must
 * lie in range: their minimum and maximum are read back to check (`INVALID_ARGUMENT` naming the field).
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` for `options` that is not an object, a temperature that is
 * not a finite number > 0, `noiseSamples` that is not `'all'` or a positive integer,
 * `noiseProbability` outside `(0, 1]`, `partition` that is not `'estimate'` or a finite number > 0,
 * a bad `distance` or `rng`; from `compute`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`,
 * `INVALID_ARGUMENT` or `DISPOSED` naming the argument.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { nceLoss } from '@contrastive/losses';
 *
 * // Two queries against a memory bank of four instances; query i is instance i.
 * const queries = tf.tensor2d([[1, 0], [0, 1]]);
 * const bank = { embeddings: tf.tensor2d([[0.9, 0.1], [0.1, 0.9], [-1, 0], [0, -1]]), labels: tf.tensor1d([0, 1, 2, 3], 'int32') };
 * const loss = nceLoss({ temperature: 0.5, partition: 4 });
 * loss.compute({ embeddings: queries, labels: tf.tensor1d([0, 1], 'int32'), ref: bank }).print(); // Tensor 1.0237432
 * ```
 * @category Losses
 */
export function nceLoss(options: NceLossOptions = {}): NceLoss {
  assertOptionsObject(options, NAME);
  const temperature = options.temperature ?? 0.07;
  assertNumber(temperature, 'temperature', NAME, { min: 0, exclusiveMin: true });
  const noiseSamples = options.noiseSamples ?? 'all';
  if (noiseSamples !== 'all') assertNumber(noiseSamples, 'noiseSamples', NAME, { integer: true, min: 1 });
  const noiseProbability = options.noiseProbability;
  if (noiseProbability !== undefined) assertNumber(noiseProbability, 'noiseProbability', NAME, { min: 0, exclusiveMin: true, max: 1 });
  const partition = options.partition ?? 'estimate';
  if (partition !== 'estimate') {
    if (typeof partition === 'string') assertOneOf(partition, ['estimate'] as const, 'partition', NAME);
    assertNumber(partition, 'partition', NAME, { min: 0, exclusiveMin: true });
  }
  const distance = options.distance ?? cosineSimilarity();
  assertDistanceOption(distance, NAME, 'cosineSimilarity()');
  const rng = options.rng ?? new Rng(0);
  if (!(rng instanceof Rng) && typeof (rng as Partial<Rng> | null)?.uniformArray !== 'function') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'rng' passed to '${NAME}' must be an Rng, got ${describeObject(rng)}`);
  }

  /** Inside a tidy: the scaled similarities, data-pair multiplicities, noise-sample counts and `log(1 / p_n)`. */
  function prepare(input: LossInput): { scaled: tf.Tensor2D; positive: tf.Tensor2D; noise: tf.Tensor2D; logInverseNoise: number } {
    const { embeddings, labels, tuples, ref } = input;
    const n = embeddings.shape[0];
    const m = ref === undefined ? n : ref.embeddings.shape[0];
    const matrix = distance.pairwise(embeddings, ref?.embeddings);
    const scaled = tf.div(distance.isSimilarity ? matrix : tf.neg(matrix), temperature) as tf.Tensor2D;
    const weights = tuples === undefined ? labelWeights(labels, ref?.labels) : tupleWeights(tuples, n, m);
    const noise =
      noiseSamples === 'all'
        ? weights.noise
        : drawNoise(weights.noise, tf.tensor2d(rng.uniformArray(n * noiseSamples), [n, noiseSamples]));
    return { scaled, positive: weights.positive, noise, logInverseNoise: -Math.log(noiseProbability ?? 1 / m) };
  }

  function nothingToCompare(input: LossInput): boolean {
    const { embeddings, tuples, ref } = input;
    if (tuples === undefined) return ref === undefined && embeddings.shape[0] < 2;
    const counts = tupleCounts(tuples);
    return counts.positives === 0 || counts.negatives === 0;
  }

  return {
    name: NAME,
    compute(input: LossInput): tf.Scalar {
      const checked = validateLossInput(input, NAME);
      if (nothingToCompare(checked)) return connectedZero(checked.embeddings);
      return tf.tidy(() => {
        const { scaled, positive, noise, logInverseNoise } = prepare(checked);
        const logZ =
          partition === 'estimate' ? constantLogPartition(scaled, noise, tf.scalar(logInverseNoise)) : tf.scalar(Math.log(partition));
        // log(k_a · p_n) per anchor; anchors without noise use 0 and are masked out below.
        const k = tf.sum(noise, 1, true);
        const hasNoise = tf.step(k);
        const logKpn = tf.mul(tf.sub(tf.log(tf.maximum(k, 1)), logInverseNoise), hasNoise);
        // x = log P(j | v) - log(k p_n) = s/τ - log Z - log(k p_n); h = sigmoid(x).
        const x = tf.sub(tf.sub(scaled, logZ), logKpn);
        const dataTerm = tf.sum(tf.mul(positive, tf.softplus(tf.neg(x))), 1, true);
        const noiseTerm = tf.sum(tf.mul(noise, tf.softplus(x)), 1, true);
        const positivesPerAnchor = tf.sum(positive, 1, true);
        const perAnchor = tf.mul(tf.add(dataTerm, tf.mul(positivesPerAnchor, noiseTerm)), hasNoise);
        return tf.div(tf.sum(perAnchor), tf.maximum(tf.sum(positive), 1)) as tf.Scalar;
      });
    },
    logPartition(input: LossInput): tf.Scalar {
      const checked = validateLossInput(input, NAME);
      if (nothingToCompare(checked)) return tf.scalar(0);
      return tf.tidy(() => {
        const { scaled, noise, logInverseNoise } = prepare(checked);
        return constantLogPartition(scaled, noise, tf.scalar(logInverseNoise));
      });
    },
  };
}
