/**
 * Non-contrastive objectives for two views of a batch: BYOL/SimSiam's negative cosine similarity,
 * Barlow Twins and VICReg. They compare view 1 with view 2 of the same samples and need no
 * negatives, so they serve as baselines and as terms of hybrid objectives.
 *
 * Layout (shared by the three losses): without `ref`, `embeddings` holds `2N` rows, view 1 in rows
 * `0..N-1` and view 2 in rows `N..2N-1` (row `i` and row `N + i` are the two views of sample `i`,
 * the order of `viewLabels(N)` from `@contrastive/core`); with `ref`, `embeddings` is view 1 and
 * `ref.embeddings` view 2, row by row. Views are paired by position: `labels` (and `ref.labels`) are
 * validated but not read.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, l2Normalize, safeSqrt } from '@contrastive/core';
import type { Embeddings, Loss, LossInput } from '@contrastive/core';
import { stopGradient, tuplesToPairs, validateLossInput } from './internal/pairs.js';
import { connectedZero } from './reducers.js';
import { assertOptionsObject } from './internal/options.js';

/** The two views, `[N, d]` each: slices of `embeddings` (owned by the current tidy) or `embeddings` and `ref.embeddings` (borrowed). */
interface Views {
  readonly first: Embeddings;
  readonly second: Embeddings;
}

/** Validates the view layout (see the module comment) and returns the number of samples `N`. */
function validateViews(input: LossInput, name: string): number {
  const { embeddings, ref } = input;
  const rows = embeddings.shape[0];
  if (ref !== undefined) {
    const refRows = ref.embeddings.shape[0];
    if (refRows !== rows) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument 'ref.embeddings' passed to '${name}' must have ${rows} rows (view 2 of each of the ${rows} embeddings), got ${refRows}`,
      );
    }
    return rows;
  }
  if (rows % 2 !== 0) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'embeddings' passed to '${name}' must have an even number of rows (view 1 in rows 0..N-1, view 2 in rows N..2N-1) when no 'ref' is given, got ${rows}`,
    );
  }
  return rows / 2;
}

/** Inside a tidy: the two `[N, d]` views. */
function splitViews(input: LossInput, samples: number): Views {
  const { embeddings, ref } = input;
  if (ref !== undefined) return { first: embeddings, second: ref.embeddings };
  const dims = embeddings.shape[1];
  return {
    first: tf.slice(embeddings, [0, 0], [samples, dims]),
    second: tf.slice(embeddings, [samples, 0], [samples, dims]),
  };
}

function rejectTuples(input: LossInput, name: string): void {
  if (input.tuples !== undefined) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'tuples' passed to '${name}' must be undefined: its terms are statistics of the whole batch (mined pairs or triplets do not apply), got ${input.tuples.kind}`,
    );
  }
}

// -------------------------------------------------------------------------------------------------
// Negative cosine similarity (BYOL, SimSiam)
// -------------------------------------------------------------------------------------------------

const NEGATIVE_COSINE = 'negativeCosineSimilarityLoss';

/**
 * Negative cosine similarity between predictions and stop-gradient targets, the loss of BYOL (Grill
 * et al. 2020, "Bootstrap Your Own Latent: A New Approach to Self-Supervised Learning") and SimSiam
 * (Chen & He 2021, "Exploring Simple Siamese Representation Learning"); lightly's
 * `NegativeCosineSimilarity`: `-mean_i cos(p_i, z_i)` in `[-1, 1]`. (BYOL's `2 - 2 cos` has the same
 * gradient up to a factor 2.)
 *
 * The predictions are `embeddings` rows `0..N-1` and the targets rows `N..2N-1`, or, with `ref`, all
 * of `embeddings` against `ref.embeddings` row by row — the usual form, as the symmetric loss of
 * SimSiam is `loss.compute({ embeddings: p1, labels, ref: { embeddings: z2, labels } })` plus the
 * same with `p2` and `z1`, halved. The targets are treated as constants, SimSiam's `stopgrad(z)`:
 * no gradient flows into them (tf.js has no stop-gradient op; a `tf.customGrad` with a zero
 * gradient stands in for PyTorch's `detach()`), also when they are rows of `embeddings`.
 *
 * With `tuples` the loss is the mean over the mined positive pairs (a, p) of `-cos(e_a, t_p)`,
 * where `t` is `ref.embeddings` or `embeddings` (triplets give their (anchor, positive) pairs; the
 * negatives are not used: the loss has no negative term). No positive pair gives 0 connected to
 * `embeddings`. Rows are L2-normalised as PyTorch's `F.normalize` does (a zero row stays zero, so its
 * cosine is 0 and its gradient finite), where lightly's `cosine_similarity` clamps the product of the
 * norms at 1e-8; the values agree for non-zero rows.
 *
 * @returns a `Loss` named `'negativeCosineSimilarityLoss'`. Its `compute` takes `embeddings`
 * `[2N, d]` float32 (or `[N, d]` with `ref.embeddings` `[N, d]`), `labels` `[rows]` int32 (not read),
 * optional `tuples`; it returns a float32 scalar owned by the caller and disposes none of its
 * inputs.
 * @throws `ContrastiveError` (from `@contrastive/core`), from `compute`: `SHAPE_MISMATCH` for an odd
 * number of rows without `ref` or a `ref` with another number of rows, and the usual
 * `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT`, `DISPOSED` naming the
 * argument.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { viewLabels } from '@contrastive/core';
 * import { negativeCosineSimilarityLoss } from '@contrastive/losses';
 *
 * // Predictions (rows 0, 1) and targets (rows 2, 3) of two samples.
 * const embeddings = tf.tensor2d([[1, 0], [0, 1], [0.8, 0.6], [0, 2]]);
 * const loss = negativeCosineSimilarityLoss().compute({ embeddings, labels: viewLabels(2) });
 * loss.print(); // Tensor -0.9 (the mean of -0.8 and -1)
 * ```
 * @category Losses
 */
export function negativeCosineSimilarityLoss(): Loss {
  return {
    name: NEGATIVE_COSINE,
    compute(input: LossInput): tf.Scalar {
      const checked = validateLossInput(input, NEGATIVE_COSINE);
      const { embeddings, tuples, ref } = checked;
      if (tuples !== undefined) {
        const { anchorPos: anchors, positive: positives } = tuplesToPairs(tuples);
        if (anchors.shape[0] === 0) return connectedZero(embeddings);
        return tf.tidy(() => {
          const targets = stopGradient(ref === undefined ? embeddings : ref.embeddings);
          const p = l2Normalize(tf.gather(embeddings, anchors) as tf.Tensor2D);
          const z = l2Normalize(tf.gather(targets, positives) as tf.Tensor2D);
          return tf.neg(tf.mean(tf.sum(tf.mul(p, z), 1))) as tf.Scalar;
        });
      }
      const samples = validateViews(checked, NEGATIVE_COSINE);
      return tf.tidy(() => {
        const { first, second } = splitViews(checked, samples);
        const p = l2Normalize(first);
        const z = l2Normalize(stopGradient(second));
        return tf.neg(tf.mean(tf.sum(tf.mul(p, z), 1))) as tf.Scalar;
      });
    },
  };
}

// -------------------------------------------------------------------------------------------------
// Barlow Twins
// -------------------------------------------------------------------------------------------------

const BARLOW = 'barlowTwinsLoss';

/**
 * Options of {@link barlowTwinsLoss}.
 * @category Losses
 */
export interface BarlowTwinsLossOptions {
  /**
   * Weight λ of the redundancy-reduction term (the squared off-diagonal cross-correlations); a
   * finite number >= 0. The paper's code uses 0.0051.
   * @defaultValue 5e-3 (lightly's `BarlowTwinsLoss`, the paper's text)
   */
  readonly lambda?: number;
}

/**
 * Column mean and unbiased standard deviation (`torch.std`) of `[N, d]` rows, `N >= 2`, and the rows
 * standardised with them. A column that is constant over the batch (std 0) stays 0 after centring
 * and is divided by 1 instead of 0, so it contributes a correlation of 0 with a finite gradient
 * (lightly divides by 0 and returns NaN).
 */
function standardise(x: Embeddings): tf.Tensor2D {
  const n = x.shape[0];
  const centred = tf.sub(x, tf.mean(x, 0, true));
  const std = safeSqrt(tf.div(tf.sum(tf.square(centred), 0, true), n - 1));
  // step(std) is 1 where std > 0 and 0 where std == 0, with a zero gradient.
  const denominator = tf.add(std, tf.sub(1, tf.step(std)));
  return tf.div(centred, denominator) as tf.Tensor2D;
}

/**
 * Barlow Twins (Zbontar et al. 2021, "Barlow Twins: Self-Supervised Learning via Redundancy
 * Reduction"), as lightly's `BarlowTwinsLoss`: each view's embeddings are standardised along the
 * batch (mean 0, unbiased standard deviation 1 per dimension), the `[d, d]` cross-correlation
 * `C = z1ᵀ z2 / N` is formed, and the loss is `Σ_i (1 - C_ii)² + λ Σ_{i≠j} C_ij²` (a sum, not a
 * mean). With the unbiased standard deviation and the division by `N`, identical views give
 * `C_ii = (N - 1) / N`, exactly as lightly (the paper's code uses a biased BatchNorm instead).
 *
 * Views: `embeddings` rows `0..N-1` and `N..2N-1`, or `embeddings` and `ref.embeddings` (gradients
 * flow into both: the two branches of Barlow Twins share their weights). A dimension that is
 * constant over the batch is taken as standardised to 0 (lightly returns NaN). Fewer than two
 * samples per view cannot be standardised: the result is 0 connected to `embeddings` (lightly
 * returns NaN). `tuples` are rejected: every term is a statistic of the whole batch.
 *
 * @param options - `lambda`; see {@link BarlowTwinsLossOptions}.
 * @returns a `Loss` named `'barlowTwinsLoss'`. Its `compute` takes `embeddings` `[2N, d]`
 * float32 (or `[N, d]` with `ref.embeddings` `[N, d]`) and `labels` `[rows]` int32 (not read); it
 * returns a float32 scalar owned by the caller and disposes none of its inputs.
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `options` is not an object, `lambda` is not a
 * finite number >= 0; from `compute`, `INVALID_ARGUMENT` when `tuples` are given, `SHAPE_MISMATCH`
 * for an odd number of rows without `ref` or a `ref` with another number of rows, and the usual
 * shape, dtype, label-count and disposed errors naming the argument.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { viewLabels } from '@contrastive/core';
 * import { barlowTwinsLoss } from '@contrastive/losses';
 *
 * // Views 1 (rows 0-2) and 2 (rows 3-5) of three samples.
 * const embeddings = tf.tensor2d([[1, 0], [0, 1], [-1, -1], [1, 0.2], [0, 1], [-1, -1.2]]);
 * const loss = barlowTwinsLoss().compute({ embeddings, labels: viewLabels(3) });
 * loss.print(); // Tensor 0.229131
 * ```
 * @category Losses
 */
export function barlowTwinsLoss(options: BarlowTwinsLossOptions = {}): Loss {
  assertOptionsObject(options, BARLOW);
  const lambda = options.lambda ?? 5e-3;
  assertNumber(lambda, 'lambda', BARLOW, { min: 0 });
  return {
    name: BARLOW,
    compute(input: LossInput): tf.Scalar {
      const checked = validateLossInput(input, BARLOW);
      rejectTuples(checked, BARLOW);
      const samples = validateViews(checked, BARLOW);
      if (samples < 2) return connectedZero(checked.embeddings);
      return tf.tidy(() => {
        const { first, second } = splitViews(checked, samples);
        const a = standardise(first);
        const b = standardise(second);
        const correlation = tf.div(tf.matMul(tf.transpose(a), b), samples);
        const diagonal = tf.div(tf.sum(tf.mul(a, b), 0), samples);
        // Σ_i (1 - C_ii)² + λ Σ_{i≠j} C_ij² = λ Σ C² + Σ_i ((1 - C_ii)² - λ C_ii²).
        const offDiagonal = tf.mul(tf.sum(tf.square(correlation)), lambda);
        const onDiagonal = tf.sum(tf.sub(tf.square(tf.sub(1, diagonal)), tf.mul(tf.square(diagonal), lambda)));
        return tf.add(offDiagonal, onDiagonal) as tf.Scalar;
      });
    },
  };
}

// -------------------------------------------------------------------------------------------------
// VICReg
// -------------------------------------------------------------------------------------------------

const VICREG = 'vicregLoss';

/**
 * Options of {@link vicregLoss}.
 * @category Losses
 */
export interface VicregLossOptions {
  /** Weight λ of the invariance (mean squared error) term; finite, >= 0. @defaultValue 25 */
  readonly lambda?: number;
  /** Weight μ of the variance (hinge on the standard deviation) term; finite, >= 0. @defaultValue 25 */
  readonly mu?: number;
  /** Weight ν of the covariance (squared off-diagonal covariances / d) term; finite, >= 0. @defaultValue 1 */
  readonly nu?: number;
  /** ε added to the variance before its square root; finite, > 0. @defaultValue 1e-4 */
  readonly eps?: number;
  /** Target standard deviation γ of the variance hinge `max(0, γ - std)`; finite, > 0. @defaultValue 1 */
  readonly gamma?: number;
}

/** `[mean hinge, off-diagonal covariance term]` of one `[N, d]` view, `N >= 2`. */
function varianceCovariance(x: Embeddings, eps: number, gamma: number): [tf.Scalar, tf.Scalar] {
  const [n, d] = x.shape;
  const centred = tf.sub(x, tf.mean(x, 0, true));
  const variance = tf.div(tf.sum(tf.square(centred), 0), n - 1);
  const hinge = tf.mean(tf.relu(tf.sub(gamma, tf.sqrt(tf.add(variance, eps))))) as tf.Scalar;
  const covariance = tf.div(tf.matMul(tf.transpose(centred), centred), n - 1);
  // Σ_{i≠j} cov_ij² = Σ cov² - Σ_i var_i².
  const offDiagonal = tf.div(tf.sub(tf.sum(tf.square(covariance)), tf.sum(tf.square(variance))), d) as tf.Scalar;
  return [hinge, offDiagonal];
}

/**
 * VICReg (Bardes, Ponce & LeCun 2022, "VICReg: Variance-Invariance-Covariance Regularization for
 * Self-Supervised Learning"), as lightly's `VICRegLoss`:
 * `λ · mean((z1 - z2)²) + μ · ½ (v(z1) + v(z2)) + ν · (c(z1) + c(z2))`, where
 * `v(z) = mean_j max(0, γ - sqrt(Var(z_·j) + ε))` with the unbiased variance and
 * `c(z) = Σ_{i≠j} Cov(z)_ij² / d` with the unbiased covariance.
 *
 * Views: `embeddings` rows `0..N-1` and `N..2N-1`, or `embeddings` and `ref.embeddings` (gradients
 * flow into both). The variance and covariance need two samples per view: with one the result is 0
 * connected to `embeddings` (lightly raises). `tuples` are rejected: the variance and covariance
 * terms are statistics of the whole batch.
 *
 * @param options - `lambda`, `mu`, `nu`, `eps`, `gamma`; see {@link VicregLossOptions}.
 * @returns a `Loss` named `'vicregLoss'`. Its `compute` takes `embeddings` `[2N, d]` float32
 * (or `[N, d]` with `ref.embeddings` `[N, d]`) and `labels` `[rows]` int32 (not read); it returns a
 * float32 scalar owned by the caller and disposes none of its inputs.
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `options` is not an object, a weight is not a
 * finite number >= 0 or `eps`/`gamma` not a finite number > 0; from `compute`, `INVALID_ARGUMENT`
 * when `tuples` are given, `SHAPE_MISMATCH` for an odd number of rows without `ref` or a `ref` with
 * another number of rows, and the usual shape, dtype, label-count and disposed errors.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { viewLabels } from '@contrastive/core';
 * import { vicregLoss } from '@contrastive/losses';
 *
 * const embeddings = tf.tensor2d([[1, 0], [0, 1], [-1, -1], [1, 0.2], [0, 1], [-1, -1.2]]);
 * const loss = vicregLoss().compute({ embeddings, labels: viewLabels(3) });
 * loss.print(); // Tensor 1.0733334
 * ```
 * @category Losses
 */
export function vicregLoss(options: VicregLossOptions = {}): Loss {
  assertOptionsObject(options, VICREG);
  const lambda = options.lambda ?? 25;
  const mu = options.mu ?? 25;
  const nu = options.nu ?? 1;
  const eps = options.eps ?? 1e-4;
  const gamma = options.gamma ?? 1;
  assertNumber(lambda, 'lambda', VICREG, { min: 0 });
  assertNumber(mu, 'mu', VICREG, { min: 0 });
  assertNumber(nu, 'nu', VICREG, { min: 0 });
  assertNumber(eps, 'eps', VICREG, { min: 0, exclusiveMin: true });
  assertNumber(gamma, 'gamma', VICREG, { min: 0, exclusiveMin: true });
  return {
    name: VICREG,
    compute(input: LossInput): tf.Scalar {
      const checked = validateLossInput(input, VICREG);
      rejectTuples(checked, VICREG);
      const samples = validateViews(checked, VICREG);
      if (samples < 2) return connectedZero(checked.embeddings);
      return tf.tidy(() => {
        const { first, second } = splitViews(checked, samples);
        const invariance = tf.mean(tf.square(tf.sub(first, second)));
        const [hingeA, covarianceA] = varianceCovariance(first, eps, gamma);
        const [hingeB, covarianceB] = varianceCovariance(second, eps, gamma);
        const variance = tf.mul(tf.add(hingeA, hingeB), 0.5);
        const covariance = tf.add(covarianceA, covarianceB);
        return tf.addN([tf.mul(invariance, lambda), tf.mul(variance, mu), tf.mul(covariance, nu)]) as tf.Scalar;
      });
    },
  };
}
