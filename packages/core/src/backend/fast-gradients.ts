import * as tf from '@tensorflow/tfjs-core';

/**
 * `Sum`'s and `Mean`'s gradients without a host array: tfjs 4.22 broadcasts `dy` by multiplying it
 * with `tf.ones(x.shape)`, which fills a JavaScript array of x's size on every backward pass (at
 * 1024 x 1024, 4 MB: ~90 ms on a VM where fresh pages fault at ~20 ns per byte, then a copy to the
 * backend). These multiply by `tf.onesLike(x)` instead — a backend fill — so the result is the same
 * product, bit for bit.
 */
const GRADIENTS: tf.GradConfig[] = [
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const x = (saved as tf.Tensor[])[0] as tf.Tensor;
      const expanded = expandedDy(dy as tf.Tensor, x, (attrs as unknown as tf.SumAttrs).axis);
      return { x: () => tf.mul(expanded, ones(x)) };
    },
  },
  {
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const x = (saved as tf.Tensor[])[0] as tf.Tensor;
      const axes = tf.util.parseAxisParam((attrs as unknown as tf.MeanAttrs).axis, x.shape);
      const reduceSize = tf.util.sizeFromShape(tf.backend_util.computeOutAndReduceShapes(x.shape, axes)[1]);
      const expanded = expandedDy(dy as tf.Tensor, x, axes);
      return { x: () => tf.div(tf.mul(expanded, ones(x)), reduceSize) };
    },
  },
];

function expandedDy(dy: tf.Tensor, x: tf.Tensor, axis: number | number[]): tf.Tensor {
  const shape = x.shape.slice();
  for (const a of tf.util.parseAxisParam(axis, x.shape)) shape[a] = 1;
  return tf.reshape(dy, shape);
}

function ones(x: tf.Tensor): tf.Tensor {
  return x.dtype === 'float32' ? tf.onesLike(x) : tf.onesLike(tf.cast(x, 'float32'));
}

/**
 * Registers the gradients above over tfjs's (all backends; `selectBackend` and
 * {@link registerWasmKernels} call it). Idempotent.
 */
export function registerFastGradients(): void {
  for (const config of GRADIENTS) tf.registerGradient(config);
}
