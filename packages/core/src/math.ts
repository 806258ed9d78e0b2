import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError } from './errors.js';
import { assertNumber, assertTensor } from './validate.js';
import { addTransposeNative, gramNative, l2NormalizeGradNative, l2NormalizeNative, matMulNative } from './backend/wasm-native.js';

/** Throws unless `x` is a live tensor (of any rank), of dtype float32 when `float` is set. */
function assertLiveTensor(x: unknown, fn: string, float: boolean, name = 'x'): asserts x is tf.Tensor {
  const candidate = x as tf.Tensor | null;
  if (candidate === null || typeof candidate !== 'object' || !Array.isArray((candidate as { shape?: unknown }).shape)) {
    throw new ContrastiveError('SHAPE_MISMATCH', `Argument '${name}' passed to '${fn}' must be a tf.Tensor, got ${candidate === null ? 'null' : typeof candidate}`);
  }
  if (candidate.isDisposed) throw new ContrastiveError('DISPOSED', `Argument '${name}' passed to '${fn}' has been disposed`);
  if (float && candidate.dtype !== 'float32') {
    throw new ContrastiveError('DTYPE_MISMATCH', `Argument '${name}' passed to '${fn}' must have dtype float32, got ${candidate.dtype}`);
  }
}

let nativeL2Enabled = true;

/** Turn the native L2 normalization off (tests compare both paths). Returns the previous setting. @internal */
export function setNativeL2Normalize(enabled: boolean): boolean {
  const previous = nativeL2Enabled;
  nativeL2Enabled = enabled;
  return previous;
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
  const native = nativeL2Enabled ? l2NormalizeNative(x, eps) : null;
  if (native !== null) {
    // wasm: one native pass per row forward and backward (the tensor path below is ~10 element-wise ops).
    const { y, norm } = native;
    const op = tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
      void input;
      save([y, norm]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
          l2NormalizeGradNative(saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D, dy as tf.Tensor2D, eps) as tf.Tensor2D,
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    const out = op(x) as tf.Tensor2D;
    norm.dispose();
    return out;
  }
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

/**
 * `scale · a · b` (or `scale · a · bᵀ` with `transposeB`) — a similarity block at a temperature
 * (CLIP's logits `q · kᵀ / τ`, Radford et al. 2021) and its gradients. On the wasm backend the
 * toolkit's native product multiplies each finished sum by `scale` (no separate pass over the
 * `[m, n]` result; the same float operations as `tf.mul(tf.matMul(a, b, false, transposeB), scale)`,
 * so bit-identical to it); elsewhere that expression. Gradient: `dA = scale · dy · op(b)ᵀ`,
 * `dB = scale · aᵀ · dy` (or its transpose with `transposeB`).
 *
 * @param a - `[m, k]` float32 (borrowed).
 * @param b - `[k, n]`, or `[n, k]` with `transposeB`, float32 (borrowed).
 * @param scale - a finite factor, e.g. `1 / temperature`.
 * @param transposeB - whether `b` is `[n, k]` and enters transposed. @defaultValue false
 * @returns `[m, n]` float32, owned by the caller.
 * @throws {@link ContrastiveError} naming `a` or `b`: `SHAPE_MISMATCH` when not 2-D or when the
 *   inner sizes differ, `DTYPE_MISMATCH` when not float32, `DISPOSED` when disposed;
 *   `INVALID_ARGUMENT` naming `scale` when it is not a finite number.
 * @example
 * ```ts
 * scaledMatMul(tf.tensor2d([[1, 0]]), tf.tensor2d([[1, 0], [0, 1]]), 10, true).print(); // [[10, 0]]
 * ```
 * @category Math
 */
export function scaledMatMul(a: tf.Tensor2D, b: tf.Tensor2D, scale: number, transposeB = false): tf.Tensor2D {
  assertLiveTensor(a, 'scaledMatMul', true, 'a');
  assertLiveTensor(b, 'scaledMatMul', true, 'b');
  assertNumber(scale, 'scale', 'scaledMatMul');
  for (const [name, t] of [['a', a], ['b', b]] as const) {
    if (t.rank !== 2) throw new ContrastiveError('SHAPE_MISMATCH', `Argument '${name}' passed to 'scaledMatMul' must be a 2-D tensor, got shape [${t.shape.join(', ')}]`);
  }
  const inner = transposeB ? b.shape[1] : b.shape[0];
  if (inner !== a.shape[1]) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'b' passed to 'scaledMatMul' must have ${a.shape[1]} ${transposeB ? 'columns' : 'rows'} (a's columns), got shape [${b.shape.join(', ')}]`,
    );
  }
  const op = tf.customGrad(((x: tf.Tensor2D, y: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([x, y]);
    return {
      value: matMulNative(x, y, transposeB, scale) ?? (tf.mul(tf.matMul(x, y, false, transposeB), scale) as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [left, right] = saved as [tf.Tensor2D, tf.Tensor2D];
        const dx = tf.mul(tf.matMul(dy, right, false, !transposeB), scale);
        const dRight = transposeB ? tf.matMul(dy, left, true, false) : tf.matMul(left, dy, true, false);
        return [dx, tf.mul(dRight, scale)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(a, b) as tf.Tensor2D;
}

/**
 * The Gram matrix `scale · x · xᵀ` of the rows of `x` — the similarity block of a batch against itself
 * (SimCLR's and SupCon's logits before the temperature, Chen et al. 2020, Khosla et al. 2020; the
 * inner products of a Euclidean distance matrix). On the wasm backend the toolkit's native kernel
 * computes only the tiles on and above the diagonal (half the products) and mirrors them, on two
 * threads when the threaded build runs; elsewhere `tf.matMul(x, x, false, true)`. The same sums in
 * the same order either way (the result is bit-identical to the matMul on wasm), and exactly
 * symmetric; `scale` multiplies each finished sum once (as a separate product would). Gradient:
 * `scale · (dy + dyᵀ) · x`.
 *
 * @param x - `[n, d]` float32 (borrowed).
 * @param scale - a finite factor, e.g. `1 / temperature`. @defaultValue 1
 * @returns `[n, n]` float32, owned by the caller.
 * @throws {@link ContrastiveError} naming `x`: `SHAPE_MISMATCH` when it is not a 2-D tensor,
 *   `DTYPE_MISMATCH` when not float32, `DISPOSED` when disposed; `INVALID_ARGUMENT` naming `scale`
 *   when it is not a finite number.
 * @example
 * ```ts
 * gramMatrix(tf.tensor2d([[1, 2], [3, 4]])).print(); // [[5, 11], [11, 25]]
 * ```
 * @category Math
 */
export function gramMatrix(x: tf.Tensor2D, scale = 1): tf.Tensor2D {
  assertLiveTensor(x, 'gramMatrix', true);
  assertNumber(scale, 'scale', 'gramMatrix');
  if (x.rank !== 2) {
    throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'x' passed to 'gramMatrix' must be a 2-D tensor [n, d], got shape [${x.shape.join(', ')}]`);
  }
  const op = tf.customGrad(((input: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([input]);
    return {
      value: gramNative(input, scale) ?? (scale === 1 ? tf.matMul(input, input, false, true) : tf.mul(tf.matMul(input, input, false, true), scale)) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const rows = saved[0] as tf.Tensor2D;
        const symmetric = addTransposeNative(dy) ?? tf.add(dy, tf.transpose(dy));
        const product = tf.matMul(symmetric as tf.Tensor2D, rows);
        return scale === 1 ? product : tf.mul(product, scale);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x) as tf.Tensor2D;
}
