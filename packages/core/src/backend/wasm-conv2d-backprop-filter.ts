import * as tf from '@tensorflow/tfjs-core';
import {
  asWasmBackend,
  disposeInfos,
  heapF32,
  kernelInput,
  matMulPlain,
  runWasmKernel,
  transposeBlock,
  type WasmBackendLike,
  type WasmKernelArgs,
} from './wasm-heap.js';
import { conv2DBackpropFilterNative } from './wasm-native.js';

/** Tuning of {@link conv2DBackpropFilterWasm}. @category Backend */
export interface Conv2DBackpropFilterWasmOptions {
  /**
   * Elements of the im2col block per matrix product (rounded to whole images, at least one).
   * Blocks that stay in cache measured fastest.
   * @defaultValue 2 ** 20
   */
  readonly blockElements?: number;
  /**
   * Use the WebAssembly SIMD kernel of `native/kernels.c` (direct accumulation, float64 image
   * sums) when it is available; `false` runs the im2col + XNNPACK path below.
   * @defaultValue true
   */
  readonly native?: boolean;
  /**
   * On the native path, take a 3x3 "same" convolution (stride 1, input channels a multiple of 4,
   * output channels of 8, enough work) by Winograd's F(2x2, 3x3) (Lavin & Gray 2016: 2.25x fewer
   * products, within float32 rounding of the direct sums); `false` keeps the direct kernel.
   * @defaultValue true
   */
  readonly winograd?: boolean;
}

const DEFAULT_BLOCK_ELEMENTS = 2 ** 20;

/**
 * `Conv2DBackpropFilter` (the weight gradient of `conv2d`) for the wasm backend, which lacks it.
 *
 * The images are processed in blocks: for each block the input patches are written transposed,
 * as `colsT[fh * fw * inC, pixels]` (im2col), and one plain XNNPACK matrix product
 * `colsT · dy[pixels, outC]` gives that block's share of `dW[fh * fw * inC, outC]`; the shares are
 * summed in float64. To write `colsT` row by row, the block of `x` is first transposed to
 * channel-major planes, so that every row is a run of shifted copies of one plane. When the patches
 * are smaller than `dy` (few input channels, as in the first layer of an image model) the product
 * is taken the other way round, `dyᵀ[outC, pixels] · cols[pixels, patch]`, because XNNPACK copies
 * its right operand at every call (measured ~8 ns per element, more than the product). Dilation is 1
 * (the op has none); any stride and `'same'`, `'valid'`, numeric or explicit padding; NHWC, and
 * NCHW through a transpose.
 *
 * @param args - inputs `x` (`[batch, inH, inW, inC]` float32) and `dy`
 *   (`[batch, outH, outW, outC]` float32); attrs `strides`, `pad`, `dataFormat`,
 *   `dimRoundingMode`, `filterShape` (`[fh, fw, inC, outC]`).
 * @param options - block size.
 * @returns `dW`, `filterShape` float32, owned by the caller.
 * @category Backend
 */
export function conv2DBackpropFilterWasm(args: WasmKernelArgs, options: Conv2DBackpropFilterWasmOptions = {}): tf.TensorInfo {
  const backend = asWasmBackend(args.backend, 'Conv2DBackpropFilter');
  const x = kernelInput(args.inputs, 'x', 'Conv2DBackpropFilter');
  const dy = kernelInput(args.inputs, 'dy', 'Conv2DBackpropFilter');
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (attrs.dataFormat === 'NCHW') {
    const perm = { perm: [0, 2, 3, 1] };
    const xNhwc = runWasmKernel('Transpose', backend, { x }, perm);
    const dyNhwc = runWasmKernel('Transpose', backend, { x: dy }, perm);
    try {
      return conv2DBackpropFilterWasm(
        { inputs: { x: xNhwc, dy: dyNhwc }, backend, attrs: { ...args.attrs, dataFormat: 'NHWC' } },
        options,
      );
    } finally {
      disposeInfos(backend, xNhwc, dyNhwc);
    }
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  if (dy.shape.length !== 4 || dy.shape[0] !== batchSize || dy.shape[1] !== outHeight || dy.shape[2] !== outWidth || dy.shape[3] !== outChannels) {
    throw new Error(
      `Conv2DBackpropFilter: dy of shape [${dy.shape.join(', ')}] does not fit x [${x.shape.join(', ')}] and filterShape [${attrs.filterShape.join(', ')}]: expected [${batchSize}, ${outHeight}, ${outWidth}, ${outChannels}]`,
    );
  }
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error(`Conv2DBackpropFilter: x and dy must be float32, got ${x.dtype} and ${dy.dtype}`);
  if (options.native !== false) {
    const native = conv2DBackpropFilterNative(backend, x, dy, info, options.winograd !== false);
    if (native !== null) return native;
  }
  const patch = filterHeight * filterWidth * inChannels;
  const perImage = outHeight * outWidth;
  const sum = new Float64Array(patch * outChannels);
  if (batchSize * perImage > 0 && patch > 0 && outChannels > 0) {
    const rowLength = Math.max(patch, outChannels);
    const images = Math.max(1, Math.min(batchSize, Math.floor((options.blockElements ?? DEFAULT_BLOCK_ELEMENTS) / (rowLength * perImage))));
    const geometry: Geometry = {
      inHeight,
      inWidth,
      inChannels,
      outHeight,
      outWidth,
      filterHeight,
      filterWidth,
      strideHeight: info.strideHeight,
      strideWidth: info.strideWidth,
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
    };
    // XNNPACK packs (copies) the right operand of every product at ~8 ns per element and the JS
    // transposes cost ~3 ns per element: dy right costs ~8 * outC + 1 * patch per pixel, the
    // patches right ~8 * patch + 1 * patch + 3 * outC.
    const dyRight = 5 * outChannels < 8 * patch;
    const scratch = new Float32Array(dyRight ? images * inHeight * inWidth * inChannels : 0);
    for (let first = 0; first < batchSize; first += images) {
      const count = Math.min(images, batchSize - first);
      if (dyRight) accumulateBlock(backend, x, dy, geometry, first, count, outChannels, sum, scratch);
      else accumulateBlockPatchesRight(backend, x, dy, geometry, first, count, outChannels, sum);
    }
  }
  const out = backend.makeOutput([...attrs.filterShape], 'float32');
  heapF32(backend, out).set(sum);
  return out;
}

/** Convolution geometry in NHWC, dilation 1. */
interface Geometry {
  readonly inHeight: number;
  readonly inWidth: number;
  readonly inChannels: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly filterHeight: number;
  readonly filterWidth: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
  readonly padTop: number;
  readonly padLeft: number;
}

/** Add the filter gradient of images `first .. first + count - 1` to `sum` (`[patch, outC]`). */
function accumulateBlock(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: Geometry,
  first: number,
  count: number,
  outChannels: number,
  sum: Float64Array,
  planes: Float32Array,
): void {
  const pixels = count * g.outHeight * g.outWidth;
  const patch = g.filterHeight * g.filterWidth * g.inChannels;
  const colsT = backend.makeOutput([patch, pixels], 'float32');
  // A fresh tensor per block: XNNPACK caches its packed copy of the right operand under its id.
  const dyBlock = backend.makeOutput([pixels, outChannels], 'float32');
  let product: tf.TensorInfo | undefined;
  try {
    const dyStart = first * g.outHeight * g.outWidth * outChannels;
    heapF32(backend, dyBlock).set(heapF32(backend, dy).subarray(dyStart, dyStart + pixels * outChannels));
    const imageSize = g.inHeight * g.inWidth * g.inChannels;
    transposeBlock(heapF32(backend, x), first * imageSize, count * g.inHeight * g.inWidth, g.inChannels, planes, 0);
    im2colTransposed(planes, heapF32(backend, colsT), g, count);
    product = matMulPlain(backend, colsT, dyBlock);
    const values = heapF32(backend, product);
    for (let i = 0; i < values.length; i++) sum[i] = (sum[i] as number) + (values[i] as number);
  } finally {
    disposeInfos(backend, colsT, dyBlock, product);
  }
}

/**
 * {@link accumulateBlock} with the patches as the right operand: `dyT[outC, pixels] ·
 * cols[pixels, patch]` gives `dWᵀ`, added to `sum` transposed. For few input channels (the first
 * layer of an image model), where the patches are smaller than `dy`.
 */
function accumulateBlockPatchesRight(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: Geometry,
  first: number,
  count: number,
  outChannels: number,
  sum: Float64Array,
): void {
  const pixels = count * g.outHeight * g.outWidth;
  const patch = g.filterHeight * g.filterWidth * g.inChannels;
  const dyT = backend.makeOutput([outChannels, pixels], 'float32');
  const cols = backend.makeOutput([pixels, patch], 'float32');
  let product: tf.TensorInfo | undefined;
  try {
    transposeBlock(heapF32(backend, dy), first * g.outHeight * g.outWidth * outChannels, pixels, outChannels, heapF32(backend, dyT), 0);
    im2col(heapF32(backend, x), heapF32(backend, cols), g, first, count);
    product = matMulPlain(backend, dyT, cols);
    const values = heapF32(backend, product);
    for (let c = 0; c < outChannels; c++) {
      for (let k = 0; k < patch; k++) sum[k * outChannels + c] = (sum[k * outChannels + c] as number) + (values[c * patch + k] as number);
    }
  } finally {
    disposeInfos(backend, dyT, cols, product);
  }
}

/**
 * `cols[(b * outH + oy) * outW + ox, (kh * fw + kw) * inC + c] =
 * x[first + b, oy * sh + kh - padTop, ox * sw + kw - padLeft, c]` (0 outside the image).
 */
function im2col(xs: Float32Array, cols: Float32Array, g: Geometry, first: number, count: number): void {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padTop, padLeft } = g;
  let to = 0;
  for (let b = first; b < first + count; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      for (let ox = 0; ox < outWidth; ox++) {
        for (let kh = 0; kh < filterHeight; kh++) {
          const iy = oy * strideHeight + kh - padTop;
          for (let kw = 0; kw < filterWidth; kw++) {
            const ix = ox * strideWidth + kw - padLeft;
            if (iy >= 0 && iy < inHeight && ix >= 0 && ix < inWidth) {
              const from = ((b * inHeight + iy) * inWidth + ix) * inChannels;
              for (let c = 0; c < inChannels; c++) cols[to++] = xs[from + c] as number;
            } else {
              for (let c = 0; c < inChannels; c++) cols[to++] = 0;
            }
          }
        }
      }
    }
  }
}

/**
 * `colsT[((kh * fw + kw) * inC + c) * pixels + (b * outH + oy) * outW + ox] =
 * planes[c, b, oy * sh + kh - padTop, ox * sw + kw - padLeft]` (0 outside the image), for the
 * `count` images of the block; `planes` is the block of `x` in channel-major layout
 * `[inC, count, inH, inW]`.
 */
function im2colTransposed(planes: Float32Array, colsT: Float32Array, g: Geometry, count: number): void {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padTop, padLeft } = g;
  const planeSize = count * inHeight * inWidth;
  if (strideHeight === 1 && strideWidth === 1 && outHeight === inHeight && outWidth === inWidth) {
    im2colTransposedSame(planes, colsT, g, count);
    return;
  }
  let to = 0;
  for (let kh = 0; kh < filterHeight; kh++) {
    for (let kw = 0; kw < filterWidth; kw++) {
      // Output columns whose input column ox * sw + kw - padLeft lies inside the image.
      const firstX = Math.min(outWidth, Math.max(0, Math.ceil((padLeft - kw) / strideWidth)));
      const endX = Math.max(firstX, Math.min(outWidth, Math.floor((inWidth - 1 + padLeft - kw) / strideWidth) + 1));
      const shiftX = kw - padLeft;
      for (let c = 0; c < inChannels; c++) {
        const plane = c * planeSize;
        for (let b = 0; b < count; b++) {
          const image = plane + b * inHeight * inWidth;
          for (let oy = 0; oy < outHeight; oy++) {
            const iy = oy * strideHeight + kh - padTop;
            if (iy < 0 || iy >= inHeight) {
              for (let ox = 0; ox < outWidth; ox++) colsT[to++] = 0;
              continue;
            }
            const row = image + iy * inWidth + shiftX;
            for (let ox = 0; ox < firstX; ox++) colsT[to++] = 0;
            if (strideWidth === 1) {
              for (let ox = firstX; ox < endX; ox++) colsT[to++] = planes[row + ox] as number;
            } else {
              for (let ox = firstX; ox < endX; ox++) colsT[to++] = planes[row + ox * strideWidth] as number;
            }
            for (let ox = endX; ox < outWidth; ox++) colsT[to++] = 0;
          }
        }
      }
    }
  }
}

/**
 * {@link im2colTransposed} for stride 1 with the output as large as the input ('same' padding):
 * then every row of `colsT` is its channel plane shifted by `(kh - padTop) * inW + kw - padLeft`,
 * one block copy, after which the cells whose source falls outside its image (top/bottom rows,
 * left/right columns, which the flat shift wraps into the neighbouring row or image) are zeroed.
 */
function im2colTransposedSame(planes: Float32Array, colsT: Float32Array, g: Geometry, count: number): void {
  const { inHeight, inWidth, inChannels, filterHeight, filterWidth, padTop, padLeft } = g;
  const imageSize = inHeight * inWidth;
  const pixels = count * imageSize;
  let row = 0;
  for (let kh = 0; kh < filterHeight; kh++) {
    const dy = kh - padTop;
    // Output rows whose source row oy + dy lies outside the image.
    const topRows = Math.min(inHeight, Math.max(0, -dy));
    const bottomFrom = Math.max(topRows, Math.min(inHeight, inHeight - dy));
    for (let kw = 0; kw < filterWidth; kw++) {
      const dx = kw - padLeft;
      const leftCols = Math.min(inWidth, Math.max(0, -dx));
      const rightFrom = Math.max(leftCols, Math.min(inWidth, inWidth - dx));
      const shift = dy * inWidth + dx;
      const lo = Math.min(pixels, Math.max(0, -shift));
      const hi = Math.max(lo, Math.min(pixels, pixels - shift));
      for (let c = 0; c < inChannels; c++) {
        const to = row * pixels;
        const from = c * pixels + shift;
        colsT.fill(0, to, to + lo);
        colsT.set(planes.subarray(from + lo, from + hi), to + lo);
        colsT.fill(0, to + hi, to + pixels);
        for (let b = 0; b < count; b++) {
          const image = to + b * imageSize;
          if (topRows > 0) colsT.fill(0, image, image + topRows * inWidth);
          if (bottomFrom < inHeight) colsT.fill(0, image + bottomFrom * inWidth, image + imageSize);
          if (leftCols > 0 || rightFrom < inWidth) {
            for (let oy = topRows; oy < bottomFrom; oy++) {
              const line = image + oy * inWidth;
              for (let ox = 0; ox < leftCols; ox++) colsT[line + ox] = 0;
              for (let ox = rightFrom; ox < inWidth; ox++) colsT[line + ox] = 0;
            }
          }
        }
        row++;
      }
    }
  }
}
