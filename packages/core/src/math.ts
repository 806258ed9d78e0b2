import * as tf from '@tensorflow/tfjs-core';

/**
 * Row-wise L2 normalization `x / max(||x||, eps)` with an exact, finite gradient everywhere — also
 * for zero rows, where a naive `x / sqrt(sum(x²))` yields NaN (PyTorch's `F.normalize`).
 *
 * @param x - `[n, d]` float32.
 * @param eps - floor of the norm. @defaultValue 1e-12
 * @returns `[n, d]` float32 unit rows (zero rows stay zero), owned by the caller.
 * @category Math
 */
export function l2Normalize(x: tf.Tensor2D, eps = 1e-12): tf.Tensor2D {
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
 * @param x - any float32 tensor.
 * @returns same shape, owned by the caller.
 * @category Math
 */
export function safeSqrt<T extends tf.Tensor>(x: T): T {
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
 * @category Math
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const op = tf.customGrad(((input: tf.Tensor) => ({
    value: tf.clone(input),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as T;
}
