import * as tf from '@tensorflow/tfjs-core';
import {
  asWasmBackend,
  disposeInfos,
  heapF32,
  kernelInput,
  matMulPlain,
  runWasmKernel,
  transposeBlock,
  zerosF32,
  type WasmBackendLike,
  type WasmKernelArgs,
} from './wasm-heap.js';
import { conv3x3Native } from './wasm-native.js';

/** Tuning of {@link conv2DBackpropInputWasm}. @category Backend */
export interface Conv2DBackpropInputWasmOptions {
  /**
   * Elements of the column block per matrix product on the strided path.
   * @defaultValue 2 ** 20
   */
  readonly blockElements?: number;
  /**
   * Force the strided path (matrix product + col2im) even for stride 1; for tests.
   * @defaultValue false
   */
  readonly forceColumns?: boolean;
}

const DEFAULT_BLOCK_ELEMENTS = 2 ** 20;

/**
 * A fast `Conv2DBackpropInput` (the input gradient of `conv2d`, and `conv2dTranspose`) for the wasm
 * backend, whose own kernel is a plain loop about 10x slower than the forward convolution.
 *
 * Stride 1: `dx` is the forward convolution of `dy` with the filter flipped in both spatial axes
 * and its channel axes swapped, padded by `filter - 1 - pad` on each side; a 3x3 "same" one runs
 * on the toolkit's Winograd kernel (see `conv2DWasm`), any other on the backend's XNNPACK `Conv2D`. Larger strides: per block of `dy` pixels, one plain XNNPACK matrix
 * product `dy[pixels, outC] · W^T[outC, fh * fw * inC]` gives the patch contributions, which are
 * scattered back into `dx` (col2im). NCHW goes to `fallback`.
 *
 * @param args - inputs `dy` (`[batch, outH, outW, outC]` float32) and `filter`
 *   (`[fh, fw, inC, outC]` float32); attrs `strides`, `pad`, `dataFormat`, `dimRoundingMode`,
 *   `inputShape` (`[batch, inH, inW, inC]`).
 * @param fallback - the backend's own kernel, for NCHW.
 * @param options - block size and test switches.
 * @returns `dx`, `inputShape` float32, owned by the caller.
 * @category Backend
 */
export function conv2DBackpropInputWasm(
  args: WasmKernelArgs,
  fallback: tf.KernelFunc | undefined,
  options: Conv2DBackpropInputWasmOptions = {},
): tf.TensorInfo {
  const backend = asWasmBackend(args.backend, 'Conv2DBackpropInput');
  const dy = kernelInput(args.inputs, 'dy', 'Conv2DBackpropInput');
  const filter = kernelInput(args.inputs, 'filter', 'Conv2DBackpropInput');
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const usable = attrs.dataFormat !== 'NCHW' && dy.dtype === 'float32' && filter.dtype === 'float32';
  if (!usable) {
    if (fallback === undefined) throw new Error(`Conv2DBackpropInput: no wasm kernel for dataFormat ${attrs.dataFormat}`);
    return single(fallback({ inputs: args.inputs, backend: args.backend as object, attrs: args.attrs ?? {} }));
  }
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const padTop = filterHeight - 1 - info.padInfo.top;
  const padBottom = filterHeight - 1 - info.padInfo.bottom;
  const padLeft = filterWidth - 1 - info.padInfo.left;
  const padRight = filterWidth - 1 - info.padInfo.right;
  const consistent =
    dy.shape.length === 4 &&
    dy.shape[0] === info.batchSize &&
    dy.shape[1] === info.outHeight &&
    dy.shape[2] === info.outWidth &&
    dy.shape[3] === info.outChannels;
  if (!consistent) {
    if (fallback === undefined) {
      throw new Error(`Conv2DBackpropInput: dy of shape [${dy.shape.join(', ')}] does not fit inputShape [${attrs.inputShape.join(', ')}]`);
    }
    return single(fallback({ inputs: args.inputs, backend: args.backend as object, attrs: args.attrs ?? {} }));
  }
  const viaConv =
    options.forceColumns !== true && strideHeight === 1 && strideWidth === 1 && padTop >= 0 && padBottom >= 0 && padLeft >= 0 && padRight >= 0;
  if (viaConv) return viaForwardConv(backend, dy, filter, info, [padTop, padBottom, padLeft, padRight]);
  return viaColumns(backend, dy, filter, info, options.blockElements ?? DEFAULT_BLOCK_ELEMENTS);
}

function single(out: tf.TensorInfo | tf.TensorInfo[]): tf.TensorInfo {
  if (Array.isArray(out)) throw new Error(`Conv2DBackpropInput: expected one output, got ${out.length}`);
  return out;
}

function viaForwardConv(
  backend: WasmBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  [top, bottom, left, right]: [number, number, number, number],
): tf.TensorInfo {
  const { filterHeight, filterWidth, inChannels, outChannels } = info;
  const flipped = backend.makeOutput([filterHeight, filterWidth, outChannels, inChannels], 'float32');
  try {
    const source = heapF32(backend, filter);
    const target = heapF32(backend, flipped);
    const plane = inChannels * outChannels;
    for (let kh = 0; kh < filterHeight; kh++) {
      for (let kw = 0; kw < filterWidth; kw++) {
        const from = ((filterHeight - 1 - kh) * filterWidth + (filterWidth - 1 - kw)) * plane;
        // source block [inC, outC] -> target block [outC, inC]
        transposeBlock(source, from, inChannels, outChannels, target, (kh * filterWidth + kw) * plane);
      }
    }
    const pad: [[number, number], [number, number], [number, number], [number, number]] = [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ];
    // A 3x3 "same" convolution (the common case) by the native Winograd kernel, else XNNPACK's.
    const forward = tf.backend_util.computeConv2DInfo(
      dy.shape as [number, number, number, number],
      [filterHeight, filterWidth, outChannels, inChannels],
      [1, 1],
      [1, 1],
      pad,
      undefined,
      false,
      'channelsLast',
    );
    const out =
      conv3x3Native(backend, dy, flipped, null, false, forward) ??
      runWasmKernel('Conv2D', backend, { x: dy, filter: flipped }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] });
    return { dataId: out.dataId, shape: [...info.inShape], dtype: 'float32' };
  } finally {
    disposeInfos(backend, flipped);
  }
}

function viaColumns(
  backend: WasmBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  blockElements: number,
): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const patch = filterHeight * filterWidth * inChannels;
  const pixels = batchSize * outHeight * outWidth;
  const dx = zerosF32(backend, [...info.inShape]);
  if (pixels === 0 || patch === 0 || outChannels === 0) return dx;
  // W^T [outC, fh * fw * inC]: the right operand of every block, so XNNPACK packs it once.
  const block = Math.min(pixels, Math.max(16, Math.floor(blockElements / patch)));
  let filterT: tf.TensorInfo | undefined;
  try {
    filterT = backend.makeOutput([outChannels, patch], 'float32');
    transposeBlock(heapF32(backend, filter), 0, patch, outChannels, heapF32(backend, filterT), 0);
    for (let start = 0; start < pixels; start += block) {
      const count = Math.min(block, pixels - start);
      const dyBlock = backend.makeOutput([count, outChannels], 'float32');
      let columns: tf.TensorInfo | undefined;
      try {
        heapF32(backend, dyBlock).set(heapF32(backend, dy).subarray(start * outChannels, (start + count) * outChannels));
        columns = matMulPlain(backend, dyBlock, filterT);
        const cols = heapF32(backend, columns);
        const out = heapF32(backend, dx);
        // col2im: add each pixel's patch contributions into dx.
        const perImage = outHeight * outWidth;
        let b = Math.floor(start / perImage);
        let oy = Math.floor((start - b * perImage) / outWidth);
        let ox = start - b * perImage - oy * outWidth;
        let from = 0;
        for (let j = 0; j < count; j++) {
          for (let kh = 0; kh < filterHeight; kh++) {
            const iy = oy * strideHeight + kh - padTop;
            if (iy < 0 || iy >= inHeight) {
              from += filterWidth * inChannels;
              continue;
            }
            for (let kw = 0; kw < filterWidth; kw++) {
              const ix = ox * strideWidth + kw - padLeft;
              if (ix >= 0 && ix < inWidth) {
                const to = ((b * inHeight + iy) * inWidth + ix) * inChannels;
                for (let c = 0; c < inChannels; c++) out[to + c] = (out[to + c] as number) + (cols[from + c] as number);
              }
              from += inChannels;
            }
          }
          if (++ox === outWidth) {
            ox = 0;
            if (++oy === outHeight) {
              oy = 0;
              b++;
            }
          }
        }
      } finally {
        disposeInfos(backend, dyBlock, columns);
      }
    }
  } catch (error) {
    disposeInfos(backend, dx);
    throw error;
  } finally {
    disposeInfos(backend, filterT);
  }
  return dx;
}
