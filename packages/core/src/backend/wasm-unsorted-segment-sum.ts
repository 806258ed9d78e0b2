import * as tf from '@tensorflow/tfjs-core';
import { asWasmBackend, kernelInput, type WasmKernelArgs } from './wasm-heap.js';

/**
 * `UnsortedSegmentSum` for the wasm backend, which lacks it (it is the gradient of `tf.gather`):
 * `out[s, ...] = sum of x[i, ...] over the positions i whose segment id is s`. Ids outside
 * `[0, numSegments)` are skipped, as on the cpu backend.
 *
 * @param args - inputs `x` (`[...segmentShape, ...inner]`, float32 or int32) and `segmentIds`
 *   (`segmentShape`, int32); attr `numSegments`.
 * @returns `[numSegments, ...inner]` with the dtype of `x`, owned by the caller.
 * @category Backend
 */
export function unsortedSegmentSumWasm(args: WasmKernelArgs): tf.TensorInfo {
  const backend = asWasmBackend(args.backend, 'UnsortedSegmentSum');
  const x = kernelInput(args.inputs, 'x', 'UnsortedSegmentSum');
  const segmentIds = kernelInput(args.inputs, 'segmentIds', 'UnsortedSegmentSum');
  const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const innerShape = x.shape.slice(segmentIds.shape.length);
  const inner = tf.util.sizeFromShape(innerShape);
  const count = tf.util.sizeFromShape(segmentIds.shape);
  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  const values = backend.typedArrayFromHeap(out);
  values.fill(0);
  const source = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  for (let i = 0; i < count; i++) {
    const segment = ids[i] as number;
    if (!(segment >= 0 && segment < numSegments)) continue;
    const from = i * inner;
    const to = segment * inner;
    for (let j = 0; j < inner; j++) values[to + j] = (values[to + j] as number) + (source[from + j] as number);
  }
  return out;
}
