/**
 * The fused CNN stage `maxPool2x2(relu(conv3x3same(x, W) + b))` on the wasm backend: one kernel for
 * the forward pass (only the pooled output and the pooled windows' positions are written), one for
 * the gradient before the convolution, and a registered gradient that runs the convolution's
 * input and filter gradients (the toolkit's Winograd or direct kernels) on it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend, kernelInput, type WasmKernelArgs } from './wasm-heap.js';
import { convReluPoolNative, nativeKernels, poolBiasGradNative, poolReluGradNative } from './wasm-native.js';

/** The fused stage's kernel: inputs `x`, `filter`, `bias`; output `y` (carrying the pooling positions on the heap). @internal */
export const CONV_RELU_POOL_KERNEL = 'ContrastiveConvReluPool';
/** Its gradient before the convolution: inputs `dy`, `y` (the block's output); attrs `height`, `width`. @internal */
export const POOL_RELU_GRAD_KERNEL = 'ContrastivePoolReluGrad';
/** Its bias gradient: inputs `dy`, `y` (the block's output). @internal */
export const POOL_BIAS_GRAD_KERNEL = 'ContrastivePoolBiasGrad';

/** The forward kernel: throws when the shapes do not fit (callers check {@link convReluPoolFits} first). @internal */
export function convReluPoolWasm(args: WasmKernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend, CONV_RELU_POOL_KERNEL);
  const x = kernelInput(args.inputs, 'x', CONV_RELU_POOL_KERNEL);
  const filter = kernelInput(args.inputs, 'filter', CONV_RELU_POOL_KERNEL);
  const bias = kernelInput(args.inputs, 'bias', CONV_RELU_POOL_KERNEL);
  const out = convReluPoolNative(backend, x, filter, bias);
  if (out === null) {
    throw new Error(`${CONV_RELU_POOL_KERNEL}: x [${x.shape.join(', ')}], filter [${filter.shape.join(', ')}], bias [${bias.shape.join(', ')}] do not fit the native block (or it is not loaded)`);
  }
  return out;
}

/** The gradient kernel. @internal */
export function poolReluGradWasm(args: WasmKernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend, POOL_RELU_GRAD_KERNEL);
  const dy = kernelInput(args.inputs, 'dy', POOL_RELU_GRAD_KERNEL);
  const y = kernelInput(args.inputs, 'y', POOL_RELU_GRAD_KERNEL);
  const { height, width } = args.attrs as unknown as { height: number; width: number };
  const out = poolReluGradNative(backend, dy, y, height, width);
  if (out === null) throw new Error(`${POOL_RELU_GRAD_KERNEL}: the native kernels are not loaded`);
  return out;
}

/** The bias gradient kernel. @internal */
export function poolBiasGradWasm(args: WasmKernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend, POOL_BIAS_GRAD_KERNEL);
  const out = poolBiasGradNative(backend, kernelInput(args.inputs, 'dy', POOL_BIAS_GRAD_KERNEL), kernelInput(args.inputs, 'y', POOL_BIAS_GRAD_KERNEL));
  if (out === null) throw new Error(`${POOL_BIAS_GRAD_KERNEL}: the native kernels are not loaded`);
  return out;
}

let gradientRegistered = false;

/** Register the fused stage's gradient (once per process; any backend's kernels may use it). @internal */
export function registerConvReluPoolGradient(): void {
  if (gradientRegistered || tf.getGradient(CONV_RELU_POOL_KERNEL) !== undefined) {
    gradientRegistered = true;
    return;
  }
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: CONV_RELU_POOL_KERNEL,
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      const [batch, height, width, inC] = x.shape;
      // Shared by the three gradients; freed with the backward pass's other intermediates. (The
      // saved y shares the output's data, which carries the pooling positions.)
      const dPre = tf.engine().runKernel(POOL_RELU_GRAD_KERNEL, { dy: dy as tf.Tensor, y }, { height, width } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
      const conv = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
      return {
        x: () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dPre, filter }, { ...conv, inputShape: [batch, height, width, inC] } as unknown as tf.NamedAttrMap) as tf.Tensor,
        filter: () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: dPre }, { ...conv, filterShape: filter.shape } as unknown as tf.NamedAttrMap) as tf.Tensor,
        bias: () => tf.engine().runKernel(POOL_BIAS_GRAD_KERNEL, { dy: dy as tf.Tensor, y }, {}) as tf.Tensor,
      };
    },
  });
}

/**
 * Whether {@link convReluPool} runs the fused kernel for these shapes on the active backend: wasm
 * with the toolkit's native kernels loaded, a `[3, 3, inC, outC]` filter with `outC` a multiple
 * of 8, a `[outC]` bias, an image of at least 2 x 2.
 * @internal
 */
export function convReluPoolFits(x: tf.Tensor, filter: tf.Tensor, bias: tf.Tensor): boolean {
  if (tf.getBackend() !== 'wasm' || tf.getKernel(CONV_RELU_POOL_KERNEL, 'wasm') === undefined) return false;
  if (nativeKernels(tf.backend() as unknown as Parameters<typeof nativeKernels>[0]) === null) return false;
  const [fh, fw, inC, outC] = filter.shape;
  return (
    x.rank === 4 &&
    x.dtype === 'float32' &&
    filter.dtype === 'float32' &&
    bias.dtype === 'float32' &&
    fh === 3 &&
    fw === 3 &&
    inC === x.shape[3] &&
    outC !== undefined &&
    outC > 0 &&
    outC % 8 === 0 &&
    bias.rank === 1 &&
    bias.shape[0] === outC &&
    (x.shape[1] as number) >= 2 &&
    (x.shape[2] as number) >= 2
  );
}

/**
 * `maxPool(relu(conv2d(x, filter, 1, 'same') + bias), 2, 2, 'valid')` as one fused kernel with its
 * gradient (see the module notes), or `null` where {@link convReluPoolFits} says no (the caller
 * then runs the layers).
 *
 * @param x - `[batch, H, W, inC]` float32.
 * @param filter - `[3, 3, inC, outC]` float32.
 * @param bias - `[outC]` float32.
 * @returns `[batch, floor(H / 2), floor(W / 2), outC]`, or `null`.
 * @internal
 */
export function convReluPool(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D | null {
  if (!convReluPoolFits(x, filter, bias)) return null;
  registerConvReluPoolGradient();
  return tf.engine().runKernel(CONV_RELU_POOL_KERNEL, { x, filter, bias }, {}) as tf.Tensor4D;
}
