import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError } from './errors.js';
import { assertNumber, assertTensor } from './validate.js';

/** Throws unless `x` is a live tensor (of any rank), of dtype float32 when `float` is set. */
function assertLiveTensor(x: unknown, fn: string, float: boolean): asserts x is tf.Tensor {
  const candidate = x as tf.Tensor | null;
  if (candidate === null || typeof candidate !== 'object' || !Array.isArray((candidate as { shape?: unknown }).shape)) {
    throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'x' passed to '${fn}' must be a tf.Tensor, got ${candidate === null ? 'null' : typeof candidate}`);
  }
  if (candidate.isDisposed) throw new ContrastiveError('DISPOSED', `Argument 'x' passed to '${fn}' has been disposed`);
  if (float && candidate.dtype !== 'float32') {
    throw new ContrastiveError('DTYPE_MISMATCH', `Argument 'x' passed to '${fn}' must have dtype float32, got ${candidate.dtype}`);
  }
}

/**
 * Row-wise L2 normalization `x / max(||x||, eps)` with an exact, finite gradient everywhere — also
 * for zero rows, where a naive `x / sqrt(sum(x²))` yields NaN (PyTorch's `F.normalize`).
 *
 * NaN or ±Infinity entries are not checked (that would need a read from the device): they make
 * the output of their own row NaN and leave the other rows untouched. An empty `[0, d]` input gives an
 * empty output.
 *
 * @param x - `[n, d]` float32.
 * @param eps - floor of the norm, a finite number > 0. @defaultValue 1e-12
 * @returns `[n, d]` float32 unit rows (zero rows stay zero), owned by the caller.
 * @throws {@link ContrastiveError} `SHAPE_MISMATCH` (not a rank-2 tensor), `DTYPE_MISMATCH` (not
 *   float32), `DISPOSED`, or `INVALID_ARGUMENT` for `eps <= 0`.
 * @category Math
 */
export function l2Normalize(x: tf.Tensor2D, eps = 1e-12): tf.Tensor2D {
  assertTensor(x, 2, 'x', 'l2Normalize', 'float32');
  assertNumber(eps, 'eps', 'l2Normalize', { min: 0, exclusiveMin: true });
  const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const norm = tf.sqrt(tf.sum(tf.square(input), 1, true));
    const clamped = tf.maximum(norm, eps);
    const value = tf.div(input, clamped);
    save([value, clamped, norm]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [y, denominator, rawNorm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        // d(x/n)/dx = (dy - y * <dy, y>) / n where n > eps; dy / eps below it (constant denominator).
        const projected = tf.sub(dy, tf.mul(y, tf.sum(tf.mul(dy, y), 1, true)));
        const above = tf.greater(rawNorm, eps);
        return tf.div(tf.where(tf.broadcastTo(above, dy.shape), projected, dy), denominator);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor2D;
}

/**
 * `sqrt(max(x, 0))` whose gradient is 0 (not Infinity) where the value is 0, so distances between
 * identical vectors stay differentiable (as `torch.cdist` behaves).
 *
 * Negative entries give 0; NaN entries are not checked and stay NaN.
 *
 * @param x - any float32 tensor.
 * @returns same shape, owned by the caller.
 * @throws {@link ContrastiveError} `SHAPE_MISMATCH` (not a tensor), `DTYPE_MISMATCH` (not float32)
 *   or `DISPOSED`.
 * @category Math
 */
export function safeSqrt<T extends tf.Tensor>(x: T): T {
  assertLiveTensor(x, 'safeSqrt', true);
  const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    const value = tf.sqrt(tf.relu(input));
    save([value]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [y] = saved as [tf.Tensor];
        const positive = tf.greater(y, 0);
        const safe = tf.where(positive, y, tf.onesLike(y));
        return tf.where(positive, tf.div(dy, tf.mul(safe, 2)), tf.zerosLike(dy));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as T;
}

/**
 * The identity in the forward pass with a zero gradient: PyTorch's `x.detach()` (tf.js 4.22 has no
 * `stopGradient`). Used for targets that must not be trained through (SimSiam's stop-gradient,
 * memory entries, circle loss's detached weights).
 *
 * @param x - any tensor.
 * @returns a copy of `x`, owned by the caller, through which no gradient flows.
 * @throws {@link ContrastiveError} `SHAPE_MISMATCH` (not a tensor) or `DISPOSED`.
 * @category Math
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  assertLiveTensor(x, 'stopGradient', false);
  const op = tf.customGrad(((input: tf.Tensor) => ({
    value: tf.clone(input),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as T;
}
