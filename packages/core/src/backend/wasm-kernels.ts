/**
 * Kernels the tfjs wasm backend lacks (training through `tf.gather` or a convolution throws without
 * them) or runs slowly (transposed matMul, the conv input gradient, pooling gradients), registered
 * for the `wasm` backend by {@link registerWasmKernels}.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_KERNEL, adamWasm } from './wasm-adam.js';
import { conv2DBackpropFilterWasm } from './wasm-conv2d-backprop-filter.js';
import { conv2DBackpropInputWasm } from './wasm-conv2d-backprop-input.js';
import { conv2DWasm, fusedConv2DWasm } from './wasm-conv2d.js';
import {
  CONV_RELU_POOL_KERNEL,
  POOL_BIAS_GRAD_KERNEL,
  POOL_RELU_GRAD_KERNEL,
  convReluPoolWasm,
  poolBiasGradWasm,
  poolReluGradWasm,
  registerConvReluPoolGradient,
} from './wasm-conv-block.js';
import { depthwiseConv2dNativeBackpropFilterWasm, depthwiseConv2dNativeBackpropInputWasm } from './wasm-depthwise-backprop.js';
import { isToolkitKernel, markKernel } from './wasm-heap.js';
import { batchMatMulWasm, fusedMatMulWasm } from './wasm-mat-mul.js';
import { avgPoolGradWasm, maxPoolGradWasm } from './wasm-pool-grad.js';
import { sumWasm } from './wasm-sum.js';
import { unsortedSegmentSumWasm } from './wasm-unsorted-segment-sum.js';
import {
  RELU_GRAD_KERNEL,
  binaryNative,
  gatherNative,
  identityShared,
  reluGradWasm,
  selectNative,
  sliceWasm,
  tileWasm,
  transposeNative,
  unaryNative,
  uniqueWasm,
} from './wasm-native.js';
import { registerFastGradients } from './fast-gradients.js';

/** How a kernel enters the registry. */
type KernelSpec =
  /** The wasm backend has no such kernel: register ours when none is registered. */
  | { readonly kind: 'missing'; readonly kernelName: string; readonly kernelFunc: () => tf.KernelFunc }
  /** The wasm backend's kernel is slow or partial: replace it, delegating to it where needed. */
  | { readonly kind: 'override'; readonly kernelName: string; readonly kernelFunc: (original: tf.KernelFunc) => tf.KernelFunc };

const SPECS: readonly KernelSpec[] = [
  { kind: 'missing', kernelName: tf.UnsortedSegmentSum, kernelFunc: () => (args) => unsortedSegmentSumWasm(args) },
  { kind: 'missing', kernelName: tf.Conv2DBackpropFilter, kernelFunc: () => (args) => conv2DBackpropFilterWasm(args) },
  {
    kind: 'missing',
    kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
    kernelFunc: () => (args) => depthwiseConv2dNativeBackpropFilterWasm(args),
  },
  {
    kind: 'missing',
    kernelName: tf.DepthwiseConv2dNativeBackpropInput,
    kernelFunc: () => (args) => depthwiseConv2dNativeBackpropInputWasm(args),
  },
  { kind: 'override', kernelName: tf.Conv2D, kernelFunc: (original) => (args) => conv2DWasm(args, original) },
  { kind: 'override', kernelName: tf.FusedConv2D, kernelFunc: (original) => (args) => fusedConv2DWasm(args, original) },
  { kind: 'override', kernelName: tf.Conv2DBackpropInput, kernelFunc: (original) => (args) => conv2DBackpropInputWasm(args, original) },
  { kind: 'override', kernelName: tf.MaxPoolGrad, kernelFunc: () => (args) => maxPoolGradWasm(args) },
  { kind: 'override', kernelName: tf.AvgPoolGrad, kernelFunc: () => (args) => avgPoolGradWasm(args) },
  { kind: 'override', kernelName: tf.BatchMatMul, kernelFunc: (original) => (args) => batchMatMulWasm(args, original) },
  { kind: 'override', kernelName: tf._FusedMatMul, kernelFunc: (original) => (args) => fusedMatMulWasm(args, original) },
  { kind: 'override', kernelName: tf.Sum, kernelFunc: (original) => (args) => sumWasm(args, original) },
  // native/kernels.c (WebAssembly SIMD on the backend's heap): tfjs-wasm's own run at 5-130 ns
  // per element on the shapes of a loss (bench/README.md, "Element-wise kernels").
  { kind: 'override', kernelName: tf.Exp, kernelFunc: (original) => (args) => unaryNative('exp_f32', args, original) },
  { kind: 'override', kernelName: tf.Log, kernelFunc: (original) => (args) => unaryNative('log_f32', args, original) },
  { kind: 'override', kernelName: tf.Softplus, kernelFunc: (original) => (args) => unaryNative('softplus_f32', args, original) },
  { kind: 'override', kernelName: tf.Sign, kernelFunc: (original) => (args) => unaryNative('sign_f32', args, original) },
  ...(['Maximum', 'Minimum', 'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual'] as const).map(
    (name): KernelSpec => ({ kind: 'override', kernelName: name, kernelFunc: (original) => (args) => binaryNative(name, args, original) }),
  ),
  { kind: 'override', kernelName: tf.Select, kernelFunc: (original) => (args) => selectNative(args, original) },
  { kind: 'override', kernelName: tf.Tile, kernelFunc: () => (args) => tileWasm(args) },
  { kind: 'override', kernelName: tf.Transpose, kernelFunc: (original) => (args) => transposeNative(args, original) },
  { kind: 'override', kernelName: tf.GatherV2, kernelFunc: (original) => (args) => gatherNative(args, original) },
  { kind: 'override', kernelName: tf.Slice, kernelFunc: (original) => (args) => sliceWasm(args, original) },
  { kind: 'override', kernelName: tf.Unique, kernelFunc: (original) => (args) => uniqueWasm(args, original) },
  { kind: 'missing', kernelName: RELU_GRAD_KERNEL, kernelFunc: () => (args) => reluGradWasm(args) },
  // The fused CNN stage conv3x3 -> bias -> ReLU -> 2x2 max-pool (convEncoder's fast path on wasm).
  { kind: 'missing', kernelName: CONV_RELU_POOL_KERNEL, kernelFunc: () => (args) => convReluPoolWasm(args) },
  { kind: 'missing', kernelName: ADAM_KERNEL, kernelFunc: () => (args) => adamWasm(args) },
  { kind: 'missing', kernelName: POOL_RELU_GRAD_KERNEL, kernelFunc: () => (args) => poolReluGradWasm(args) },
  { kind: 'missing', kernelName: POOL_BIAS_GRAD_KERNEL, kernelFunc: () => (args) => poolBiasGradWasm(args) },
  // The engine clones every tensor it saves for the backward pass; tfjs-wasm's Identity copies
  // the data (cpu's shares it). Tensors are immutable, so sharing is safe.
  { kind: 'override', kernelName: tf.Identity, kernelFunc: (original) => (args) => identityShared(args, original) },
];

/** The kernel names {@link registerWasmKernels} registers or overrides on `wasm`. @category Backend */
export const WASM_KERNEL_NAMES: readonly string[] = SPECS.map((spec) => spec.kernelName);

function install(spec: KernelSpec): void {
  const current = tf.getKernel(spec.kernelName, 'wasm');
  if (current !== undefined && isToolkitKernel(current.kernelFunc)) return;
  switch (spec.kind) {
    case 'missing': {
      if (current !== undefined) return; // a newer wasm backend brings its own
      tf.registerKernel({
        kernelName: spec.kernelName,
        backendName: 'wasm',
        kernelFunc: markKernel(spec.kernelFunc()),
        // Runs whenever the wasm backend is set up: installs the overrides deferred because the
        // wasm backend's kernels were not registered yet when registerWasmKernels was called.
        setupFunc: () => registerWasmKernels(),
      });
      return;
    }
    case 'override': {
      if (current === undefined) return; // deferred until the wasm backend registers its kernels
      const original = current.kernelFunc;
      tf.unregisterKernel(spec.kernelName, 'wasm');
      const config: tf.KernelConfig = {
        kernelName: spec.kernelName,
        backendName: 'wasm',
        kernelFunc: markKernel(spec.kernelFunc(original), original),
      };
      if (current.setupFunc !== undefined) config.setupFunc = current.setupFunc;
      if (current.disposeFunc !== undefined) config.disposeFunc = current.disposeFunc;
      tf.registerKernel(config);
      return;
    }
    default: {
      const unreachable: never = spec;
      throw new Error(`unknown kernel spec ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * Register the toolkit's kernels for the tfjs `wasm` backend (`@tensorflow/tfjs-backend-wasm`),
 * which make training work and run fast there:
 *
 * - missing on wasm, so training threw: `UnsortedSegmentSum` (the gradient of `tf.gather`),
 *   `Conv2DBackpropFilter` (the conv weight gradient, im2col + XNNPACK matMul),
 *   `DepthwiseConv2dNativeBackpropFilter` and `DepthwiseConv2dNativeBackpropInput`;
 * - slow on wasm, so replaced (delegating to the original where theirs is the fast path):
 *   `BatchMatMul` and `_FusedMatMul` (transposed and batched forms), `Conv2D` and `FusedConv2D`
 *   (3x3 "same" convolutions by Winograd's F(2x2, 3x3), Lavin & Gray 2016), `Conv2DBackpropInput`
 *   (as a forward convolution), `MaxPoolGrad`, `AvgPoolGrad`, and `Sum` over leading axes
 *   (the bias gradient);
 * - 5-130 ns per element on wasm, so replaced by WebAssembly SIMD code (`native/kernels.c`, run on
 *   the backend's own heap, private or shared memory): `Exp`, `Log`, `Softplus` (Cephes
 *   polynomials, within 1e-5 of tfjs-cpu, ~2e-7 relative), `Sign`, `Maximum`, `Minimum` and the six
 *   comparisons (any broadcast, float32 and int32; bit-equal to tfjs-cpu, which differs from
 *   tfjs-wasm's own on NaN and on values below 1.2e-7), `Select`, `Tile` (block copies), and
 *   `Identity` (shares the data instead of copying it, as tfjs-cpu's does);
 * - and, for every backend, the gradients of `Sum` and `Mean` without a host array of ones
 *   (`registerFastGradients`).
 *
 * Idempotent, and callable before or after `@tensorflow/tfjs-backend-wasm` is imported or the
 * backend initialised: an override whose wasm kernel is not registered yet is installed when the
 * wasm backend is next set up. {@link selectBackend} calls it; call it yourself when you
 * `tf.setBackend('wasm')` directly. Other backends are untouched.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import '@tensorflow/tfjs-backend-wasm';
 * import { registerWasmKernels } from '@contrastive/core';
 *
 * registerWasmKernels();
 * await tf.setBackend('wasm');
 * const grad = tf.grad((table: tf.Tensor) => tf.sum(tf.gather(table, [1, 1, 3])))(tf.ones([4, 2]));
 * console.log(grad.arraySync()); // [[0, 0], [2, 2], [0, 0], [1, 1]]
 * ```
 * @category Backend
 */
export function registerWasmKernels(): void {
  for (const spec of SPECS) install(spec);
  registerFastGradients();
  registerConvReluPoolGradient();
}
