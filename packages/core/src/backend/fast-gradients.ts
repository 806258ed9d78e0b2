import * as tf from '@tensorflow/tfjs-core';
import { RELU_GRAD_KERNEL } from './wasm-native.js';

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
  {
    // Relu: dy · step(x). On wasm one native kernel (the toolkit's, registered with the others)
    // forms the same products tfjs's gradient forms with Step, Cast and Multiply.
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const x = (saved as tf.Tensor[])[0] as tf.Tensor;
      return {
        x: () =>
          tf.getBackend() === 'wasm' && x.dtype === 'float32' && tf.getKernel(RELU_GRAD_KERNEL, 'wasm') !== undefined
            ? (tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: dy as tf.Tensor, x }) as tf.Tensor)
            : tf.mul(dy as tf.Tensor, tf.cast(tf.step(x), 'float32')),
      };
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
