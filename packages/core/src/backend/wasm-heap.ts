/**
 * Shared plumbing of the toolkit's wasm kernels: the part of the tfjs wasm backend they use (typed
 * structurally, so that core does not depend on `@tensorflow/tfjs-backend-wasm`), views of tensors
 * on the wasm heap, and calls into the backend's own (XNNPACK) kernels.
 *
 * Heap views: `typedArrayFromHeap` returns a view of the wasm memory, and any allocation
 * (`makeOutput`, or a kernel that allocates) may grow that memory and detach every earlier view.
 * The kernels therefore allocate first and take their views afterwards.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * The part of the tfjs wasm backend (`BackendWasm` of `@tensorflow/tfjs-backend-wasm`) that the
 * toolkit's wasm kernels use.
 * @category Backend
 */
export interface WasmBackendLike {
  /** Allocate an uninitialised tensor on the wasm heap; `values`, when given, are copied in. */
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.TypedArray): tf.TensorInfo;
  /** A view of the tensor's data on the wasm heap, sized by `info.shape`. */
  typedArrayFromHeap(info: tf.TensorInfo): tf.TypedArray;
  /** Drop one reference to the data; frees it when none is left. */
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** Arguments every kernel function receives. @category Backend */
export interface WasmKernelArgs {
  /** Named input tensors (borrowed). */
  readonly inputs: tf.NamedTensorInfoMap;
  /** The wasm backend instance (checked structurally by {@link asWasmBackend}). */
  readonly backend: unknown;
  /** The kernel's attributes. */
  readonly attrs?: tf.NamedAttrMap;
}

/**
 * Check that `backend` looks like the tfjs wasm backend and type it as such.
 *
 * @param backend - the `backend` argument of a kernel function.
 * @param kernelName - for the error message.
 * @returns the same object, typed.
 * @throws Error when a method the kernels need is missing.
 * @category Backend
 */
export function asWasmBackend(backend: unknown, kernelName: string): WasmBackendLike {
  const candidate = backend as Partial<WasmBackendLike> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.makeOutput !== 'function' ||
    typeof candidate.typedArrayFromHeap !== 'function' ||
    typeof candidate.disposeData !== 'function'
  ) {
    throw new Error(`Kernel '${kernelName}' of @contrastive/core needs the tfjs wasm backend, got a backend without makeOutput/typedArrayFromHeap`);
  }
  return candidate as WasmBackendLike;
}

/**
 * The named input of a kernel call.
 *
 * @param inputs - the kernel's inputs.
 * @param name - input name, e.g. `'x'`.
 * @param kernelName - for the error message.
 * @returns the tensor info.
 * @throws Error when the input is missing.
 * @category Backend
 */
export function kernelInput(inputs: tf.NamedTensorInfoMap, name: string, kernelName: string): tf.TensorInfo {
  const info = inputs[name];
  if (info === undefined) throw new Error(`Kernel '${kernelName}' expects an input named '${name}'`);
  return info;
}

/**
 * A float32 view of a tensor on the wasm heap. Take it after the last allocation (see the module
 * comment).
 *
 * @param backend - the wasm backend.
 * @param info - a float32 tensor of any shape (its own shape, or a same-sized view of it).
 * @returns a `Float32Array` aliasing the heap.
 * @throws Error when the tensor is not float32.
 * @category Backend
 */
export function heapF32(backend: WasmBackendLike, info: tf.TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(info);
  if (!(view instanceof Float32Array)) throw new Error(`expected a float32 tensor, got ${info.dtype}`);
  return view;
}

/**
 * The same data under another shape of equal size (like the wasm `Reshape` kernel, but without
 * taking a reference: use it only as a kernel input, never return it).
 *
 * @param info - tensor info.
 * @param shape - the new shape; `prod(shape) === prod(info.shape)`.
 * @returns a tensor info sharing `info.dataId`.
 * @category Backend
 */
export function reshapeView(info: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/**
 * Allocate a float32 tensor on the wasm heap filled with zeros.
 *
 * @param backend - the wasm backend.
 * @param shape - output shape.
 * @returns the new tensor info, owned by the caller.
 * @category Backend
 */
export function zerosF32(backend: WasmBackendLike, shape: number[]): tf.TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  backend.typedArrayFromHeap(out).fill(0);
  return out;
}

/**
 * Release intermediates created inside a kernel.
 *
 * @param backend - the wasm backend.
 * @param infos - tensor infos to free (`undefined` entries are skipped).
 * @category Backend
 */
export function disposeInfos(backend: WasmBackendLike, ...infos: (tf.TensorInfo | undefined)[]): void {
  for (const info of infos) if (info !== undefined) backend.disposeData(info.dataId);
}

const ORIGINAL = Symbol.for('@contrastive/core/wasm-kernels/original');
const OURS = Symbol.for('@contrastive/core/wasm-kernels/ours');

/**
 * Mark a kernel function as one of the toolkit's (so that registering again is a no-op, also across
 * duplicate installs of this package) and attach the backend kernel it replaces, if any.
 *
 * @param kernelFunc - the toolkit's kernel function.
 * @param original - the wasm backend's kernel function it overrides.
 * @returns `kernelFunc`, marked.
 * @category Backend
 */
export function markKernel(kernelFunc: tf.KernelFunc, original?: tf.KernelFunc): tf.KernelFunc {
  Object.defineProperty(kernelFunc, OURS, { value: true });
  if (original !== undefined) Object.defineProperty(kernelFunc, ORIGINAL, { value: original });
  return kernelFunc;
}

/**
 * Whether a kernel function is one of the toolkit's ({@link markKernel}).
 *
 * @param kernelFunc - a registered kernel function.
 * @returns `true` for the toolkit's kernels.
 * @category Backend
 */
export function isToolkitKernel(kernelFunc: tf.KernelFunc): boolean {
  return (kernelFunc as unknown as Record<symbol, unknown>)[OURS] === true;
}

/**
 * The wasm backend's own kernel function for `kernelName`: the one a toolkit override replaced, or
 * the registered one when there is no override.
 *
 * @param kernelName - e.g. `'Conv2D'`.
 * @returns the kernel function, or `undefined` when the wasm backend has none.
 * @category Backend
 */
export function originalKernel(kernelName: string): tf.KernelFunc | undefined {
  const registered = tf.getKernel(kernelName, 'wasm')?.kernelFunc;
  if (registered === undefined) return undefined;
  const original = (registered as unknown as Record<symbol, unknown>)[ORIGINAL];
  return typeof original === 'function' ? (original as tf.KernelFunc) : registered;
}

/**
 * Run one of the wasm backend's own kernels and return its single output.
 *
 * @param kernelName - e.g. `'Conv2D'`.
 * @param backend - the wasm backend.
 * @param inputs - named inputs (borrowed).
 * @param attrs - the kernel's attributes.
 * @returns the output tensor info, owned by the caller.
 * @throws Error when the wasm backend has no such kernel.
 * @category Backend
 */
export function runWasmKernel(
  kernelName: string,
  backend: WasmBackendLike,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo {
  const kernelFunc = originalKernel(kernelName);
  if (kernelFunc === undefined) throw new Error(`the wasm backend has no '${kernelName}' kernel`);
  const out = kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`wasm kernel '${kernelName}' returned ${out.length} outputs, expected one`);
  return out;
}

/**
 * Plain (untransposed, unbatched) matrix product `a · b` with the wasm backend's XNNPACK path.
 *
 * @param backend - the wasm backend.
 * @param a - `[m, k]` float32.
 * @param b - `[k, n]` float32. XNNPACK caches its packed copy under `b`'s id, so `b` must be a
 *   tensor whose data no longer changes.
 * @returns `[m, n]` float32, owned by the caller.
 * @category Backend
 */
export function matMulPlain(backend: WasmBackendLike, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  return runWasmKernel('BatchMatMul', backend, { a, b }, { transposeA: false, transposeB: false });
}

/**
 * Copy a 2-D float32 block transposed: `dst[dstOffset + j * rows + i] = src[srcOffset + i * cols + j]`.
 *
 * The writes go to `cols` rows `rows` elements apart. When that stride is a multiple of 1 KB the
 * rows compete for the same cache sets (measured 3x slower), so the copy then goes through a small
 * tile: read 64 source rows, transpose them in the tile, and write whole 64-element runs.
 *
 * @param src - source array.
 * @param srcOffset - where the `[rows, cols]` block starts in `src`.
 * @param rows - rows of the source block.
 * @param cols - columns of the source block.
 * @param dst - destination array, `[cols, rows]` from `dstOffset`.
 * @param dstOffset - where the destination block starts.
 * @category Backend
 */
export function transposeBlock(
  src: Float32Array,
  srcOffset: number,
  rows: number,
  cols: number,
  dst: Float32Array,
  dstOffset: number,
): void {
  if (rows % 256 === 0) transposeTiled(src, srcOffset, rows, cols, dst, dstOffset);
  else transposeDirect(src, srcOffset, rows, cols, dst, dstOffset);
}

function transposeDirect(src: Float32Array, srcOffset: number, rows: number, cols: number, dst: Float32Array, dstOffset: number): void {
  const block = 32;
  for (let i0 = 0; i0 < rows; i0 += block) {
    const i1 = Math.min(i0 + block, rows);
    for (let j0 = 0; j0 < cols; j0 += block) {
      const j1 = Math.min(j0 + block, cols);
      for (let i = i0; i < i1; i++) {
        const from = srcOffset + i * cols;
        let to = dstOffset + j0 * rows + i;
        for (let j = j0; j < j1; j++) {
          dst[to] = src[from + j] as number;
          to += rows;
        }
      }
    }
  }
}

const TILE = 64;
const tile = new Float32Array(TILE * TILE);

function transposeTiled(src: Float32Array, srcOffset: number, rows: number, cols: number, dst: Float32Array, dstOffset: number): void {
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const height = Math.min(TILE, rows - i0);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const width = Math.min(TILE, cols - j0);
      for (let i = 0; i < height; i++) {
        const from = srcOffset + (i0 + i) * cols + j0;
        let at = i;
        for (let j = 0; j < width; j++) {
          tile[at] = src[from + j] as number;
          at += height;
        }
      }
      for (let j = 0; j < width; j++) {
        const to = dstOffset + (j0 + j) * rows + i0;
        const at = j * height;
        for (let i = 0; i < height; i++) dst[to + i] = tile[at + i] as number;
      }
    }
  }
}
