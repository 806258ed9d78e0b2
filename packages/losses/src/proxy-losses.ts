import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, Rng, assertNumber, cosineSimilarity, lpDistance } from '@contrastive/core';
import type { Distance, Embeddings, Labels, LossInput, Loss } from '@contrastive/core';
import {
  assertDistanceOption,
  assertReducerOption,
  constantMax,
  minerWeights,
  ncaTerms,
  oneHotRows,
  validateLossInput,
} from './internal/pairs.js';
import { meanReducer } from './reducers.js';
import type { Reducer } from './reducers.js';

/**
 * A loss with trainable state: the class proxies of {@link proxyNcaLoss} and
 * {@link proxyAnchorLoss}. Hand `trainableVariables` to the optimizer together with the encoder's
 * variables (`optimizer.minimize(f, false, [...encoderVariables, ...loss.trainableVariables])`; the
 * default variable list of `minimize`, every trainable variable, includes them too), and call
 * `dispose()` when done.
 * @category Losses
 */
export interface ProxyLoss extends Loss {
  /** `[proxies]`: one `[numClasses, embeddingDim]` float32 trainable variable, owned by the loss. */
  readonly trainableVariables: tf.Variable[];
  /** Frees the proxies; `compute` then throws. Calling it again does nothing. */
  dispose(): void;
}

/**
 * Options shared by the proxy losses.
 * @category Losses
 */
export interface ProxyLossOptions {
  /** Number of classes: one proxy each; labels must lie in `[0, numClasses)`. A positive integer. */
  readonly numClasses: number;
  /** Dimension `d` of the embeddings (and of each proxy). A positive integer. */
  readonly embeddingDim: number;
  /**
   * Seed of the proxies' initialisation (core's `Rng`). Pass either `seed` or `rng`.
   * @defaultValue 0
   */
  readonly seed?: number;
  /** Generator to draw the initial proxies from (advanced by `numClasses · embeddingDim` normals). */
  readonly rng?: Rng;
}

/**
 * Options of {@link proxyNcaLoss}.
 * @category Losses
 */
export interface ProxyNcaLossOptions extends ProxyLossOptions {
  /**
   * Multiplies the negated distances before the softmax; a finite number > 0.
   * @defaultValue 1 (pytorch-metric-learning's `ProxyNCALoss`)
   */
  readonly softmaxScale?: number;
  /**
   * How embeddings are compared with the proxies; a distance is negated, a similarity used as is.
   * @defaultValue `lpDistance({ power: 2 })`: squared Euclidean distance of L2-normalized rows and
   * proxies (pytorch-metric-learning's default)
   */
  readonly distance?: Distance;
  /**
   * Reduces the `[n]` per-embedding losses (`anchors` are the rows).
   * @defaultValue `meanReducer()` (pytorch-metric-learning's default)
   */
  readonly reducer?: Reducer;
}

/**
 * Options of {@link proxyAnchorLoss}.
 * @category Losses
 */
export interface ProxyAnchorLossOptions extends ProxyLossOptions {
  /**
   * Margin δ: positives are pulled above similarity δ, negatives pushed below -δ. A finite number.
   * @defaultValue 0.1 (the paper's and pytorch-metric-learning's)
   */
  readonly margin?: number;
  /**
   * Scale α of the soft-plus log-sum-exps; a finite number > 0.
   * @defaultValue 32 (the paper's and pytorch-metric-learning's)
   */
  readonly alpha?: number;
  /**
   * How embeddings are compared with the proxies. With a distance (`isSimilarity: false`) the
   * margins are applied the other way round, as PML's `distance.margin` does.
   * @defaultValue `cosineSimilarity()` (pytorch-metric-learning's default)
   */
  readonly distance?: Distance;
}

interface Proxies {
  readonly variable: tf.Variable;
  readonly numClasses: number;
  readonly embeddingDim: number;
}

interface ProxySettings {
  readonly numClasses: number;
  readonly embeddingDim: number;
  readonly generator: Rng;
}

/** Validates the options shared by the proxy losses (nothing is drawn or allocated yet). */
function proxySettings(options: ProxyLossOptions, fn: string): ProxySettings {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'options' passed to '${fn}' must be { numClasses, embeddingDim, ... }, got ${options === null ? 'null' : typeof options}`,
    );
  }
  const { numClasses, embeddingDim, seed, rng } = options;
  assertNumber(numClasses, 'numClasses', fn, { integer: true, min: 1 });
  assertNumber(embeddingDim, 'embeddingDim', fn, { integer: true, min: 1 });
  if (seed !== undefined && rng !== undefined) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Arguments 'seed' and 'rng' passed to '${fn}' are exclusive: pass one of them, got both`);
  }
  if (seed !== undefined) assertNumber(seed, 'seed', fn, { integer: true });
  // Duck-typed rather than `instanceof`, so an Rng from a second copy of @contrastive/core works.
  if (rng !== undefined && typeof (rng as Partial<Rng> | null)?.normalArray !== 'function') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'rng' passed to '${fn}' must be an Rng (from @contrastive/core), got ${rng === null ? 'null' : typeof rng}`,
    );
  }
  return { numClasses, embeddingDim, generator: rng ?? new Rng(seed ?? 0) };
}

/** Draws the `[numClasses, embeddingDim]` proxies: normals with standard deviation `std`. */
function makeProxies(settings: ProxySettings, std: number): Proxies {
  const { numClasses, embeddingDim, generator } = settings;
  const initial = tf.tensor2d(generator.normalArray(numClasses * embeddingDim, 0, std), [numClasses, embeddingDim], 'float32');
  const variable = tf.variable(initial, true);
  initial.dispose();
  return { variable, numClasses, embeddingDim };
}

/**
 * Validates the input of a proxy loss, and that the labels are class indices in `[0, numClasses)`.
 * That last check reads two int32 scalars (the labels' min and max) back from the device: a label
 * out of range would otherwise silently match no proxy (`tf.oneHot` gives a zero row).
 */
function validateProxyInput(input: unknown, fn: string, proxies: Proxies, disposed: boolean): LossInput {
  if (disposed) throw new ContrastiveError('STATE', `'${fn}.compute' was called after dispose()`);
  const checked = validateLossInput(input, fn, { unsupported: 'the batch is compared with the class proxies' });
  const { embeddings, labels } = checked;
  if (embeddings.shape[1] !== proxies.embeddingDim) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'embeddings' passed to '${fn}' must have ${proxies.embeddingDim} columns (embeddingDim), got ${embeddings.shape[1]}`,
    );
  }
  const bounds = tf.tidy(() => tf.stack([tf.min(labels), tf.max(labels)]));
  const [low, high] = Array.from(bounds.dataSync()) as [number, number];
  bounds.dispose();
  if (low < 0 || high >= proxies.numClasses) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'labels' passed to '${fn}' must hold class indices in [0, ${proxies.numClasses}) (numClasses), got values in [${low}, ${high}]`,
    );
  }
  return checked;
}

/** `[n, numClasses]` bool: the proxy of each row's class. */
function ownProxy(labels: Labels, numClasses: number): tf.Tensor2D {
  return tf.cast(oneHotRows(labels, numClasses), 'bool') as tf.Tensor2D;
}

/**
 * Proxy-NCA (Movshovitz-Attias, Toshev, Leung, Ioffe and Singh 2017, "No Fuss Distance Metric
 * Learning using Proxies"), as pytorch-metric-learning's `ProxyNCALoss`: NCA where each embedding
 * chooses among `numClasses` trainable proxies instead of the other embeddings,
 * `-log(exp(-s · d(x, p_y)) / Σ_c exp(-s · d(x, p_c)))` with `s` = `softmaxScale` and `d` the
 * squared Euclidean distance of normalized vectors (PML sums over every proxy, the own one
 * included; the paper's denominator leaves it out). Reduced over the batch (mean by default).
 *
 * The proxies are a `[numClasses, embeddingDim]` float32 `tf.Variable` initialised, as PML's default
 * `torch.nn.init.normal_`, with standard normal draws from core's seeded `Rng` (same seed, same
 * proxies). `tuples` weigh the embeddings as PML's `convert_to_weights` with a reference: each row's
 * loss is multiplied by how often it appears as an anchor, divided by the largest count; tuples with
 * only empty index lists are ignored. A reference set is rejected, as PML does. PML's optional
 * weight regularizer on the proxies is not included.
 *
 * Labels are checked to lie in `[0, numClasses)`: that reads the labels' minimum and maximum (two
 * int32 scalars) back from the device, once per `compute`; the embeddings are never read back.
 *
 * @param options - `numClasses`, `embeddingDim` (required), seed or rng, scale, distance and
 * reducer; see {@link ProxyNcaLossOptions}.
 * @returns a {@link ProxyLoss} named `'proxyNcaLoss'` that owns its proxies (`trainableVariables`,
 * freed by `dispose()`). Its `compute` takes `embeddings` `[n, embeddingDim]` float32, `labels`
 * `[n]` int32 in `[0, numClasses)` and optional `tuples`; it returns a float32 scalar owned by the
 * caller, connected to the embeddings and the proxies, and disposes none of its inputs.
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` for a bad `numClasses`,
 * `embeddingDim`, `seed`, `rng` (or both), `softmaxScale`, `distance` or `reducer`; from `compute`,
 * `INVALID_ARGUMENT` for a label out of range or a `ref`, `STATE` after `dispose()`, and
 * `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT` or `DISPOSED` naming the argument.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { proxyNcaLoss } from '@contrastive/losses';
 *
 * const loss = proxyNcaLoss({ numClasses: 3, embeddingDim: 2, seed: 1 });
 * const embeddings = tf.tensor2d([[1, 0], [0, 1], [-1, 0]]);
 * const labels = tf.tensor1d([0, 1, 2], 'int32');
 * loss.compute({ embeddings, labels }).print(); // Tensor 2.3758831
 * loss.dispose();
 * ```
 * @category Losses
 */
export function proxyNcaLoss(options: ProxyNcaLossOptions): ProxyLoss {
  const fn = 'proxyNcaLoss';
  const settings = proxySettings(options, fn);
  const softmaxScale = options.softmaxScale ?? 1;
  assertNumber(softmaxScale, 'softmaxScale', fn, { min: 0, exclusiveMin: true });
  const distance = options.distance ?? lpDistance({ power: 2 });
  assertDistanceOption(distance, fn);
  const reducer = options.reducer ?? meanReducer();
  assertReducerOption(reducer, fn);
  // PML's default init of the proxies: torch.nn.init.normal_ (mean 0, standard deviation 1).
  const proxies = makeProxies(settings, 1);
  let disposed = false;

  return {
    name: fn,
    trainableVariables: [proxies.variable],
    dispose(): void {
      if (disposed) return;
      disposed = true;
      proxies.variable.dispose();
    },
    compute(input: LossInput): tf.Scalar {
      const { embeddings, labels, tuples } = validateProxyInput(input, fn, proxies, disposed);
      const n = embeddings.shape[0];
      return tf.tidy(() => {
        const matrix = distance.pairwise(embeddings, proxies.variable as tf.Tensor as Embeddings);
        const logits = tf.mul(distance.isSimilarity ? matrix : tf.neg(matrix), softmaxScale) as tf.Tensor2D;
        // Every row has its proxy (labels are in range), so no anchor is dropped.
        const { losses } = ncaTerms(logits, ownProxy(labels, proxies.numClasses), null);
        const weights = minerWeights(tuples, n, true);
        const weighted = weights === null ? losses : (tf.mul(losses, weights) as tf.Tensor1D);
        return reducer.reduce({ losses: weighted, anchors: tf.range(0, n, 1, 'int32') as tf.Tensor1D, numAnchors: n }, embeddings);
      });
    },
  };
}

/**
 * `log(1 + Σ_i keep_i exp(x_i))` down each column of `x`, with the column maximum (and 0, for the
 * "1 +") subtracted, so it is finite for any scale; a column with nothing kept gives 0.
 */
function logOnePlusSumExp(x: tf.Tensor2D, keep: tf.Tensor2D): tf.Tensor1D {
  const masked = tf.where(keep, x, tf.fill(x.shape, Number.NEGATIVE_INFINITY));
  const shift = tf.maximum(constantMax(masked as tf.Tensor2D, 0), 0);
  const sum = tf.add(tf.exp(tf.neg(shift)), tf.sum(tf.exp(tf.sub(masked, shift)), 0, true));
  return tf.reshape(tf.add(shift, tf.log(sum)), [-1]) as tf.Tensor1D;
}

/**
 * Proxy-Anchor loss (Kim, Kim, Cho and Kwak 2020, "Proxy Anchor Loss for Deep Metric Learning"), as
 * pytorch-metric-learning's `ProxyAnchorLoss`: each class proxy `p` is an anchor that pulls the batch
 * embeddings of its class `X⁺_p` and pushes the others `X⁻_p`,
 * `1/|P⁺| Σ_{p ∈ P⁺} log(1 + Σ_{x ∈ X⁺_p} exp(-α(s(x, p) - δ)))
 *  + 1/|P| Σ_{p ∈ P} log(1 + Σ_{x ∈ X⁻_p} exp(α(s(x, p) + δ)))`,
 * with `s` the cosine similarity, `P` all `numClasses` proxies and `P⁺` those of the classes present
 * in the batch (PML's `DivisorReducer`; there is no `reducer` option).
 *
 * The proxies are a `[numClasses, embeddingDim]` float32 `tf.Variable` initialised as PML's
 * `torch.nn.init.kaiming_normal_(mode='fan_out')`: normal draws from core's seeded `Rng` with
 * standard deviation `sqrt(2 / numClasses)`. `tuples` weigh the embeddings exactly as PML does:
 * each row gets `w` = how often it appears in the tuples (every index) divided by the largest count,
 * and `w - 1` is added inside the exponentials (a row that never appears is scaled by `e^-1`, not
 * removed); tuples with only empty index lists are ignored. A reference set is rejected, as PML does.
 * PML's optional weight regularizer on the proxies is not included.
 *
 * Labels are checked to lie in `[0, numClasses)`: that reads the labels' minimum and maximum (two
 * int32 scalars) back from the device, once per `compute`; the embeddings are never read back.
 *
 * @param options - `numClasses`, `embeddingDim` (required), seed or rng, margin, alpha and distance;
 * see {@link ProxyAnchorLossOptions}.
 * @returns a {@link ProxyLoss} named `'proxyAnchorLoss'` that owns its proxies (`trainableVariables`,
 * freed by `dispose()`). Its `compute` takes `embeddings` `[n, embeddingDim]` float32, `labels`
 * `[n]` int32 in `[0, numClasses)` and optional `tuples`; it returns a float32 scalar owned by the
 * caller, connected to the embeddings and the proxies, and disposes none of its inputs.
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` for a bad `numClasses`,
 * `embeddingDim`, `seed`, `rng` (or both), `margin`, `alpha` or `distance`; from `compute`,
 * `INVALID_ARGUMENT` for a label out of range or a `ref`, `STATE` after `dispose()`, and
 * `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT` or `DISPOSED` naming the argument.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { proxyAnchorLoss } from '@contrastive/losses';
 *
 * const loss = proxyAnchorLoss({ numClasses: 3, embeddingDim: 2, seed: 1 });
 * const embeddings = tf.tensor2d([[1, 0], [0, 1], [-1, 0]]);
 * const labels = tf.tensor1d([0, 1, 2], 'int32');
 * loss.compute({ embeddings, labels }).print(); // Tensor 40.3354416
 * loss.dispose();
 * ```
 * @category Losses
 */
export function proxyAnchorLoss(options: ProxyAnchorLossOptions): ProxyLoss {
  const fn = 'proxyAnchorLoss';
  const settings = proxySettings(options, fn);
  const margin = options.margin ?? 0.1;
  assertNumber(margin, 'margin', fn);
  const alpha = options.alpha ?? 32;
  assertNumber(alpha, 'alpha', fn, { min: 0, exclusiveMin: true });
  const distance = options.distance ?? cosineSimilarity();
  assertDistanceOption(distance, fn);
  // kaiming_normal_(mode='fan_out') of a [numClasses, embeddingDim] tensor: fan_out = numClasses,
  // gain sqrt(2) (leaky_relu with a = 0), so the standard deviation is sqrt(2 / numClasses).
  const proxies = makeProxies(settings, Math.sqrt(2 / settings.numClasses));
  let disposed = false;

  return {
    name: fn,
    trainableVariables: [proxies.variable],
    dispose(): void {
      if (disposed) return;
      disposed = true;
      proxies.variable.dispose();
    },
    compute(input: LossInput): tf.Scalar {
      const { embeddings, labels, tuples } = validateProxyInput(input, fn, proxies, disposed);
      const n = embeddings.shape[0];
      const numClasses = proxies.numClasses;
      return tf.tidy(() => {
        const matrix = distance.pairwise(embeddings, proxies.variable as tf.Tensor as Embeddings);
        // PML's distance.margin: for a similarity, δ - s (positives) and s + δ (negatives).
        const positiveExponent = distance.isSimilarity ? tf.sub(margin, matrix) : tf.sub(matrix, margin);
        const negativeExponent = distance.isSimilarity ? tf.add(matrix, margin) : tf.sub(-margin, matrix);
        let positiveLogits = tf.mul(positiveExponent, alpha) as tf.Tensor2D;
        let negativeLogits = tf.mul(negativeExponent, alpha) as tf.Tensor2D;
        const weights = minerWeights(tuples, n, false);
        if (weights !== null) {
          const offset = tf.expandDims(tf.sub(weights, 1), 1);
          positiveLogits = tf.add(positiveLogits, offset);
          negativeLogits = tf.add(negativeLogits, offset);
        }
        const own = ownProxy(labels, numClasses);
        const positiveTerm = logOnePlusSumExp(positiveLogits, own);
        const negativeTerm = logOnePlusSumExp(negativeLogits, tf.logicalNot(own) as tf.Tensor2D);
        const present = tf.sum(tf.minimum(tf.sum(tf.cast(own, 'float32'), 0), 1));
        const loss = tf.add(tf.div(tf.sum(positiveTerm), tf.maximum(present, 1)), tf.div(tf.sum(negativeTerm), numClasses));
        return loss as tf.Scalar;
      });
    },
  };
}
