import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend, heapF32, kernelInput, zerosF32, type WasmKernelArgs } from './wasm-heap.js';

/**
 * `DepthwiseConv2dNativeBackpropFilter` (the filter gradient of `depthwiseConv2d`) for the wasm
 * backend, which lacks it: a direct loop over the output pixels, summed in float64.
 *
 * @param args - inputs `x` (`[batch, inH, inW, inC]`) and `dy` (`[batch, outH, outW, inC * mul]`),
 *   float32; attrs `strides`, `dilations`, `pad`, `dimRoundingMode`, `filterShape`
 *   (`[fh, fw, inC, mul]`).
 * @returns `dW`, `filterShape` float32, owned by the caller.
 * @category Backend
 */
export function depthwiseConv2dNativeBackpropFilterWasm(args: WasmKernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend, 'DepthwiseConv2dNativeBackpropFilter');
  const x = kernelInput(args.inputs, 'x', 'DepthwiseConv2dNativeBackpropFilter');
  const dy = kernelInput(args.inputs, 'dy', 'DepthwiseConv2dNativeBackpropFilter');
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const multiplier = outChannels / inChannels;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const sum = new Float64Array(filterHeight * filterWidth * outChannels);
  const xs = heapF32(backend, x);
  const grads = heapF32(backend, dy);
  let dyOffset = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        for (let kh = 0; kh < filterHeight; kh++) {
          const iy = oy * strideHeight + kh * dilationHeight - padTop;
          if (iy < 0 || iy >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const ix = ox * strideWidth + kw * dilationWidth - padLeft;
            if (ix < 0 || ix >= inWidth) continue;
            const xOffset = ((b * inHeight + iy) * inWidth + ix) * inChannels;
            const wOffset = (kh * filterWidth + kw) * outChannels;
            for (let c = 0; c < inChannels; c++) {
              const value = xs[xOffset + c] as number;
              for (let q = c * multiplier, end = q + multiplier; q < end; q++) {
                sum[wOffset + q] = (sum[wOffset + q] as number) + value * (grads[dyOffset + q] as number);
              }
            }
          }
        }
        dyOffset += outChannels;
      }
    }
  }
  const out = backend.makeOutput([...attrs.filterShape], 'float32');
  heapF32(backend, out).set(sum);
  return out;
}

/**
 * `DepthwiseConv2dNativeBackpropInput` (the input gradient of `depthwiseConv2d`) for the wasm
 * backend, which lacks it: a direct scatter of every output pixel's gradient through the filter.
 *
 * @param args - inputs `dy` (`[batch, outH, outW, inC * mul]`) and `filter` (`[fh, fw, inC, mul]`),
 *   float32; attrs `strides`, `dilations`, `pad`, `dimRoundingMode`, `inputShape`
 *   (`[batch, inH, inW, inC]`).
 * @returns `dx`, `inputShape` float32, owned by the caller.
 * @category Backend
 */
export function depthwiseConv2dNativeBackpropInputWasm(args: WasmKernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend, 'DepthwiseConv2dNativeBackpropInput');
  const dy = kernelInput(args.inputs, 'dy', 'DepthwiseConv2dNativeBackpropInput');
  const filter = kernelInput(args.inputs, 'filter', 'DepthwiseConv2dNativeBackpropInput');
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const multiplier = outChannels / inChannels;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const dx = zerosF32(backend, [...info.inShape]);
  const out = heapF32(backend, dx);
  const grads = heapF32(backend, dy);
  const weights = heapF32(backend, filter);
  let dyOffset = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        for (let kh = 0; kh < filterHeight; kh++) {
          const iy = oy * strideHeight + kh * dilationHeight - padTop;
          if (iy < 0 || iy >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const ix = ox * strideWidth + kw * dilationWidth - padLeft;
            if (ix < 0 || ix >= inWidth) continue;
            const xOffset = ((b * inHeight + iy) * inWidth + ix) * inChannels;
            const wOffset = (kh * filterWidth + kw) * outChannels;
            for (let c = 0; c < inChannels; c++) {
              let total = 0;
              for (let q = c * multiplier, end = q + multiplier; q < end; q++) {
                total += (grads[dyOffset + q] as number) * (weights[wOffset + q] as number);
              }
              out[xOffset + c] = (out[xOffset + c] as number) + total;
            }
          }
        }
        dyOffset += outChannels;
      }
    }
  }
  return dx;
}
