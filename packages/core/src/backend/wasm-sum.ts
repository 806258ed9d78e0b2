import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend, heapF32, kernelInput, type WasmKernelArgs } from './wasm-heap.js';
import { sumLeadingNative } from './wasm-native.js';

/**
 * A fast `Sum` for the wasm backend when the summed axes are a contiguous block that is not
 * innermost, e.g. all axes but the last: the bias gradient of every dense and conv layer. The
 * backend transposes such inputs before summing (measured 110 ms for a `[512, 28, 28, 32]` bias
 * gradient); here the input is read once in place, as `[outer, summed, inner]`, and summed in
 * float64. Other axes, and non-float32 inputs, go to the backend's own kernel.
 *
 * @param args - input `x` (any shape); attrs `axis` (number or list), `keepDims`.
 * @param original - the backend's own kernel.
 * @returns the sum, float32, shaped like `x` without the summed axes (or with size 1 there, when
 *   `keepDims`), owned by the caller.
 * @category Backend
 */
export function sumWasm(args: WasmKernelArgs, original: tf.KernelFunc): tf.TensorInfo {
  const backend = asWasmBackend(args.backend, 'Sum');
  const x = kernelInput(args.inputs, 'x', 'Sum');
  const attrs = args.attrs as unknown as tf.SumAttrs;
  const delegate = (): tf.TensorInfo => {
    const out = original({ inputs: args.inputs, backend, attrs: args.attrs ?? {} });
    if (Array.isArray(out)) throw new Error('Sum: unexpected outputs');
    return out;
  };
  const rank = x.shape.length;
  if (tf.util.sizeFromShape(x.shape) === 0) {
    // The wasm kernel returns uninitialised heap memory for an empty input; the sum of nothing is 0.
    const reduced = new Set(tf.util.parseAxisParam(attrs.axis, x.shape));
    const emptyShape = x.shape.flatMap((size, axis) => (reduced.has(axis) ? (attrs.keepDims === true ? [1] : []) : [size]));
    const empty = backend.makeOutput(emptyShape, x.dtype);
    if (tf.util.sizeFromShape(emptyShape) > 0) backend.typedArrayFromHeap(empty).fill(0);
    return empty;
  }
  if (x.dtype !== 'float32' || rank < 2) return delegate();
  const axes = [...tf.util.parseAxisParam(attrs.axis, x.shape)].sort((a, b) => a - b);
  const first = axes[0];
  const last = axes[axes.length - 1];
  if (first === undefined || last === undefined || last === rank - 1 || last - first + 1 !== axes.length) return delegate();
  const outer = tf.util.sizeFromShape(x.shape.slice(0, first));
  const summed = tf.util.sizeFromShape(x.shape.slice(first, last + 1));
  const inner = tf.util.sizeFromShape(x.shape.slice(last + 1));
  const outShape = attrs.keepDims === true ? x.shape.map((size, axis) => (axis >= first && axis <= last ? 1 : size)) : [...x.shape.slice(0, first), ...x.shape.slice(last + 1)];
  const out = backend.makeOutput(outShape, 'float32');
  if (sumLeadingNative(backend, x, out, outer, summed, inner)) return out;
  const values = heapF32(backend, x);
  const result = heapF32(backend, out);
  const total = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    total.fill(0);
    let offset = o * summed * inner;
    let r = 0;
    // Four rows per pass: a quarter of the loads and stores of the running total.
    for (; r + 4 <= summed; r += 4) {
      const o1 = offset + inner;
      const o2 = o1 + inner;
      const o3 = o2 + inner;
      for (let j = 0; j < inner; j++) {
        total[j] =
          (total[j] as number) +
          (values[offset + j] as number) +
          (values[o1 + j] as number) +
          (values[o2 + j] as number) +
          (values[o3 + j] as number);
      }
      offset += 4 * inner;
    }
    for (; r < summed; r++) {
      for (let j = 0; j < inner; j++) total[j] = (total[j] as number) + (values[offset + j] as number);
      offset += inner;
    }
    result.set(total, o * inner);
  }
  return out;
}
