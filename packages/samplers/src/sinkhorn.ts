import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertTensor } from '@contrastive/core';

const NAME = 'sinkhornKnopp';

/** Options of {@link sinkhornKnopp}. @category Prototypes */
export interface SinkhornKnoppOptions {
  /**
   * Entropic regularisation ε: the scores are divided by it before `exp` (smaller = harder
   * assignments); a finite number > 0.
   * @defaultValue 0.05 (SwAV's `--epsilon`, lightly's `sinkhorn_epsilon`)
   */
  readonly epsilon?: number;
  /**
   * Number of Sinkhorn–Knopp iterations (each normalises the prototypes, then the samples); an
   * integer >= 0. With 0 the result is `B · softmax` over all `B·K` entries.
   * @defaultValue 3 (SwAV's `--sinkhorn_iterations`, lightly's `sinkhorn_iterations`)
   */
  readonly iterations?: number;
}

/** `[B, K]` log-domain Sinkhorn–Knopp; every step is the log of lightly's division. */
function logSinkhorn(scores: tf.Tensor2D, epsilon: number, iterations: number): tf.Tensor2D {
  const [samples, prototypes] = scores.shape;
  const logK = Math.log(prototypes);
  const logB = Math.log(samples);
  // Q = exp(scores / ε), normalised to a total of 1 (log-sum-exp: the maximum is subtracted).
  let logQ = tf.div(scores, epsilon) as tf.Tensor2D;
  logQ = tf.sub(logQ, tf.logSumExp(logQ)) as tf.Tensor2D;
  for (let iteration = 0; iteration < iterations; iteration++) {
    // Each prototype (a column here, a row of lightly's transposed Q) to a total of 1/K ...
    logQ = tf.sub(logQ, tf.add(tf.logSumExp(logQ, 0, true), logK)) as tf.Tensor2D;
    // ... then each sample (a row here, a column of lightly's Q) to a total of 1/B.
    logQ = tf.sub(logQ, tf.add(tf.logSumExp(logQ, 1, true), logB)) as tf.Tensor2D;
  }
  // ×B: each sample's assignment sums to 1.
  return tf.exp(tf.add(logQ, logB)) as tf.Tensor2D;
}

/**
 * Balanced soft assignment of `B` samples to `K` prototypes by the Sinkhorn–Knopp algorithm, the
 * "codes" of SwAV (Caron, Misra, Mairal, Goyal, Bojanowski & Joulin 2020, "Unsupervised Learning of
 * Visual Features by Contrasting Cluster Assignments", Algorithm 1 `sinkhorn`; lightly's `sinkhorn`
 * in `lightly/loss/swav_loss.py`, without the distributed all-reduce).
 *
 * `Q = exp(scores / ε)ᵀ` is normalised to sum 1, then `iterations` times each prototype's total is
 * set to `1/K` and each sample's total to `1/B`; finally `Q` is multiplied by `B`, so that every
 * row of the result (one sample) sums to 1 and, as the iterations converge, every column (one
 * prototype) sums to `B/K` (the equipartition constraint).
 *
 * Numerics: the computation runs in the log domain (`log Q` normalised with log-sum-exp, the maximum
 * subtracted), which is the same algorithm exactly (each division becomes a subtraction) but stays
 * finite where lightly's `exp(scores / ε)` overflows or underflows in float32 (ε = 0.01 with scores
 * of ±1, or scores scaled by 1e4); entries whose true value is below float32's range are 0.
 *
 * The result is detached (SwAV and lightly compute it under `torch.no_grad()`): the computation
 * runs outside the gradient tape, and the gradient of anything computed from the returned codes
 * with respect to `scores` is zero.
 *
 * @param scores - `[B, K]` float32 similarities of the `B` samples (rows) to the `K` prototypes
 *   (columns), e.g. `z · cᵀ` of L2-normalised features and prototypes; finite. Borrowed.
 * @param options - `epsilon`, `iterations`; see {@link SinkhornKnoppOptions}.
 * @returns `[B, K]` float32 codes `Q`, rows summing to 1, owned by the caller; no gradient flows
 *   through them.
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` for `options` that is
 *   not an object, an `epsilon` that is not a finite number > 0 or `iterations` not an integer >= 0; `SHAPE_MISMATCH`, `DTYPE_MISMATCH`
 *   or `DISPOSED` for `scores` that is not a live rank-2 float32 tensor with at least one row and
 *   one column; `NON_FINITE` when `scores` holds NaN or ±Infinity.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { sinkhornKnopp } from '@contrastive/samplers';
 *
 * // Four samples, two prototypes: all four prefer prototype 0, the codes split them 2 : 2.
 * const scores = tf.tensor2d([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4]]);
 * const codes = sinkhornKnopp(scores, { iterations: 100 });
 * codes.print();             // [[0.9975, 0.0025], [0.8808, 0.1192], [0.1192, 0.8808], [0.0025, 0.9975]]
 * tf.sum(codes, 0).print();  // [2, 2] (each prototype gets B/K = 2 samples' worth)
 * ```
 * @category Prototypes
 */
export function sinkhornKnopp(scores: tf.Tensor2D, options: SinkhornKnoppOptions = {}): tf.Tensor2D {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${NAME}' must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const epsilon = options.epsilon ?? 0.05;
  const iterations = options.iterations ?? 3;
  assertNumber(epsilon, 'epsilon', NAME, { min: 0, exclusiveMin: true });
  assertNumber(iterations, 'iterations', NAME, { integer: true, min: 0 });
  assertTensor(scores, 2, 'scores', NAME, 'float32');
  const [samples, prototypes] = scores.shape;
  if (samples < 1 || prototypes < 1) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'scores' passed to '${NAME}' must have at least 1 row (sample) and 1 column (prototype), got shape [${samples}, ${prototypes}]`,
    );
  }
  // One scalar read: x · 0 is 0 for every finite x and NaN for NaN and ±Infinity.
  const probe = tf.tidy(() => tf.sum(tf.mul(scores, 0)));
  const finite = probe.dataSync()[0] === 0;
  probe.dispose();
  if (!finite) {
    throw new ContrastiveError('NON_FINITE', `Argument 'scores' passed to '${NAME}' must hold finite numbers, got NaN or Infinity`);
  }
  // A custom-gradient op: its forward pass is not recorded on the tape (SwAV's no_grad) and its
  // gradient is zero, so the codes act as constant targets.
  const detached = tf.customGrad(((input: tf.Tensor) => ({
    value: logSinkhorn(input as tf.Tensor2D, epsilon, iterations),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return detached(scores) as tf.Tensor2D;
}
