import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend, type WasmKernelArgs } from './wasm-heap.js';
import { conv3x3Native } from './wasm-native.js';

/** The geometry of a forward convolution, or `undefined` for inputs the native kernel never takes. */
function forwardInfo(x: tf.TensorInfo, filter: tf.TensorInfo, attrs: tf.Conv2DAttrs): tf.backend_util.Conv2DInfo | undefined {
  if (attrs.dataFormat === 'NCHW' || x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return undefined;
  if (x.shape[3] !== filter.shape[2]) return undefined; // the backend's kernel reports the mismatch
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

function single(out: tf.TensorInfo | tf.TensorInfo[], kernelName: string): tf.TensorInfo | tf.TensorInfo[] {
  if (Array.isArray(out) && out.length !== 1) throw new Error(`${kernelName}: expected one output, got ${out.length}`);
  return out;
}

/**
 * `Conv2D` for the wasm backend: the 3x3 "same" convolutions of a CNN (stride 1, NHWC, input
 * channels a multiple of 4, output channels a multiple of 8, enough work) by Winograd's F(2x2, 3x3)
 * in the toolkit's native module, shared with its second thread (the reference CNN's second
 * convolution, 512 images: 54 ms with XNNPACK on two threads, bench/README.md); every other
 * geometry, and the first convolution of an image CNN (one input channel), on the backend's
 * XNNPACK kernel.
 *
 * @param args - inputs `x` (`[batch, H, W, inC]`) and `filter` (`[fh, fw, inC, outC]`); attrs
 *   `strides`, `pad`, `dataFormat`, `dilations`, `dimRoundingMode`.
 * @param original - the backend's own kernel.
 * @returns the output, owned by the caller.
 * @category Backend
 */
export function conv2DWasm(args: WasmKernelArgs, original: tf.KernelFunc): tf.TensorInfo | tf.TensorInfo[] {
  const { x, filter } = args.inputs;
  const attrs = args.attrs as unknown as tf.Conv2DAttrs;
  const info = x !== undefined && filter !== undefined ? forwardInfo(x, filter, attrs) : undefined;
  if (x !== undefined && filter !== undefined && info !== undefined) {
    const out = conv3x3Native(asWasmBackend(args.backend, 'Conv2D'), x, filter, null, false, info);
    if (out !== null) return out;
  }
  return single(original({ inputs: args.inputs, backend: args.backend as object, attrs: args.attrs ?? {} }), 'Conv2D');
}

/**
 * `FusedConv2D` (convolution + bias + activation, which tfjs runs outside gradient recording, e.g.
 * when a trained encoder embeds a dataset) for the wasm backend: as {@link conv2DWasm}, with the
 * bias and a `linear` or `relu` activation applied in the native kernel's output transform; other
 * activations, PReLU weights and other geometries on the backend's own kernel.
 *
 * @param args - inputs `x`, `filter`, optional `bias` (`[outC]`), `preluActivationWeights`; attrs
 *   as `Conv2D` plus `activation` and `leakyreluAlpha`.
 * @param original - the backend's own kernel.
 * @returns the output, owned by the caller.
 * @category Backend
 */
export function fusedConv2DWasm(args: WasmKernelArgs, original: tf.KernelFunc): tf.TensorInfo | tf.TensorInfo[] {
  const { x, filter, bias, preluActivationWeights } = args.inputs;
  const attrs = args.attrs as unknown as tf.FusedConv2DAttrs;
  const activation = attrs.activation ?? 'linear';
  const plain = preluActivationWeights === undefined && (activation === 'linear' || activation === 'relu');
  const info = plain && x !== undefined && filter !== undefined ? forwardInfo(x, filter, attrs) : undefined;
  const biasFits =
    bias === undefined ||
    (bias.dtype === 'float32' && bias.shape.reduce((a, b) => a * b, 1) === info?.outChannels && bias.shape.every((d, i) => i === bias.shape.length - 1 || d === 1));
  if (x !== undefined && filter !== undefined && info !== undefined && biasFits) {
    const out = conv3x3Native(asWasmBackend(args.backend, 'FusedConv2D'), x, filter, bias ?? null, activation === 'relu', info);
    if (out !== null) return out;
  }
  return single(original({ inputs: args.inputs, backend: args.backend as object, attrs: args.attrs ?? {} }), 'FusedConv2D');
}
