import * as tf from '@tensorflow/tfjs-core';
import {
  asWasmBackend,
  disposeInfos,
  heapF32,
  kernelInput,
  reshapeView,
  runWasmKernel,
  transposeBlock,
  type WasmBackendLike,
  type WasmKernelArgs,
} from './wasm-heap.js';
import { gemmOnHeap, nativeKernels, transposeOnHeap } from './wasm-native.js';

/**
 * Per-matrix work (m * k * n) from which a batched product is split into XNNPACK calls, one per
 * matrix; below it the backend's own loop is cheaper than creating an XNNPACK operator per matrix.
 */
const MIN_WORK_PER_MATRIX = 32 * 32 * 32;

/** Work (m * k * n) of a single product from which the native kernel runs it instead of XNNPACK. */
const NATIVE_MIN_WORK = 1 << 18;

/** Shapes of a (possibly batched, possibly transposed) product `op(a) · op(b)`. */
interface Product {
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly batchA: number;
  readonly batchB: number;
  readonly batch: number;
  readonly outShape: number[];
}

function describe(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): Product | undefined {
  if (a.shape.length < 2 || b.shape.length < 2) return undefined;
  const aRows = a.shape[a.shape.length - 2] as number;
  const aCols = a.shape[a.shape.length - 1] as number;
  const bRows = b.shape[b.shape.length - 2] as number;
  const bCols = b.shape[b.shape.length - 1] as number;
  const m = transposeA ? aCols : aRows;
  const k = transposeA ? aRows : aCols;
  const n = transposeB ? bRows : bCols;
  if (k !== (transposeB ? bCols : bRows)) return undefined;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return undefined;
  }
  const batchA = tf.util.sizeFromShape(outerA);
  const batchB = tf.util.sizeFromShape(outerB);
  const batch = tf.util.sizeFromShape(outer);
  // Only "same batch" or "one matrix broadcast against all": other broadcasts go to the backend.
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return undefined;
  return { m, k, n, batchA, batchB, batch, outShape: [...outer, m, n] };
}

/**
 * Matrix `index` of `source` (viewed as `[batch, rows, cols]`) copied into a new `[rows, cols]`
 * tensor, or `[cols, rows]` when `transpose`.
 */
function copyMatrix(
  backend: WasmBackendLike,
  source: tf.TensorInfo,
  index: number,
  rows: number,
  cols: number,
  transpose: boolean,
): tf.TensorInfo {
  if (transpose) {
    const out = backend.makeOutput([cols, rows], 'float32');
    if (transposeOnHeap(backend, heapF32(backend, source).byteOffset + 4 * index * rows * cols, rows, cols, heapF32(backend, out).byteOffset)) return out;
    backend.disposeData(out.dataId);
  }
  if (transpose && index === 0 && rows * cols === tf.util.sizeFromShape(source.shape) && rows % 128 !== 0) {
    // The backend's Transpose is the faster copy (~0.5 ns per element), except when the rows of
    // its output are a multiple of 128 floats apart: then its writes alias in the cache (measured
    // 3-10x slower), and transposeBlock's tiled copy wins.
    return runWasmKernel('Transpose', backend, { x: reshapeView(source, [rows, cols]) }, { perm: [1, 0] });
  }
  const out = backend.makeOutput(transpose ? [cols, rows] : [rows, cols], 'float32');
  const from = heapF32(backend, source);
  const to = heapF32(backend, out);
  const offset = index * rows * cols;
  if (transpose) transposeBlock(from, offset, rows, cols, to, 0);
  else to.set(from.subarray(offset, offset + rows * cols));
  return out;
}

function single(out: tf.TensorInfo | tf.TensorInfo[], kernelName: string): tf.TensorInfo {
  if (Array.isArray(out)) throw new Error(`${kernelName}: unexpected ${out.length} outputs`);
  return out;
}

/**
 * Run `original` once per matrix of a batched product with untransposed, unbatched operands (the
 * backend's XNNPACK path) and gather the results into `[batch, m, n]`.
 */
function perMatrix(
  backend: WasmBackendLike,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  shape: Product,
  call: (a2: tf.TensorInfo, b2: tf.TensorInfo) => tf.TensorInfo,
): tf.TensorInfo {
  const { m, k, n, batchA, batchB, batch } = shape;
  const aRows = transposeA ? k : m;
  const aCols = transposeA ? m : k;
  const bRows = transposeB ? n : k;
  const bCols = transposeB ? k : n;
  const out = backend.makeOutput([batch, m, n], 'float32');
  let sharedA: tf.TensorInfo | undefined;
  let sharedB: tf.TensorInfo | undefined;
  try {
    if (batchA === 1) sharedA = copyMatrix(backend, a, 0, aRows, aCols, transposeA);
    if (batchB === 1) sharedB = copyMatrix(backend, b, 0, bRows, bCols, transposeB);
    for (let i = 0; i < batch; i++) {
      const ai = sharedA ?? copyMatrix(backend, a, i, aRows, aCols, transposeA);
      let bi: tf.TensorInfo | undefined;
      let product: tf.TensorInfo | undefined;
      try {
        bi = sharedB ?? copyMatrix(backend, b, i, bRows, bCols, transposeB);
        product = call(ai, bi);
        heapF32(backend, out).set(heapF32(backend, reshapeView(product, [m * n])), i * m * n);
      } finally {
        disposeInfos(backend, product, ai === sharedA ? undefined : ai, bi === sharedB ? undefined : bi);
      }
    }
  } catch (error) {
    disposeInfos(backend, out);
    throw error;
  } finally {
    disposeInfos(backend, sharedA, sharedB);
  }
  return { dataId: out.dataId, shape: shape.outShape, dtype: 'float32' };
}

/**
 * A fast `BatchMatMul` for the wasm backend. The backend runs only the untransposed single-matrix
 * product on XNNPACK; every transposed form and every batched product falls to a plain loop
 * (measured 11x slower for `transposeB`, 25x for `transposeA` at 512x784x256). Here the transposed
 * operand is copied transposed first (the backend's `Transpose`, or a tiled copy where that one is
 * slow; about 1 ms for 512x784) and the plain product runs on XNNPACK; `aᵀ·bᵀ` is computed as `(b·a)ᵀ` when that copies less; batched products run one XNNPACK
 * product per matrix when the matrices are large enough to pay for it.
 *
 * @param args - inputs `a` (`[...batch, m, k]`, or `[...batch, k, m]` with `transposeA`) and `b`
 *   (`[...batch, k, n]`, or `[...batch, n, k]` with `transposeB`), float32; attrs `transposeA`,
 *   `transposeB`.
 * @param original - the backend's own kernel, used for the plain form and the cases not handled.
 * @returns `[...batch, m, n]` float32, owned by the caller.
 * @category Backend
 */
export function batchMatMulWasm(args: WasmKernelArgs, original: tf.KernelFunc): tf.TensorInfo {
  const backend = asWasmBackend(args.backend, 'BatchMatMul');
  const a = kernelInput(args.inputs, 'a', 'BatchMatMul');
  const b = kernelInput(args.inputs, 'b', 'BatchMatMul');
  const attrs = args.attrs as unknown as tf.BatchMatMulAttrs;
  const transposeA = attrs.transposeA === true;
  const transposeB = attrs.transposeB === true;
  const shape = describe(a, b, transposeA, transposeB);
  const delegate = (): tf.TensorInfo => single(original({ inputs: args.inputs, backend: backend, attrs: args.attrs ?? {} }), 'BatchMatMul');
  if (shape === undefined || a.dtype !== 'float32' || b.dtype !== 'float32') return delegate();
  const { m, k, n, batch } = shape;
  if (batch === 0 || m * k * n === 0) return delegate();
  const plainAttrs = { transposeA: false, transposeB: false };
  const plain = (a2: tf.TensorInfo, b2: tf.TensorInfo): tf.TensorInfo =>
    single(original({ inputs: { a: a2, b: b2 }, backend, attrs: plainAttrs }), 'BatchMatMul');
  if (batch > 1) {
    if (m * k * n < MIN_WORK_PER_MATRIX) return delegate();
    return perMatrix(backend, a, b, transposeA, transposeB, shape, plain);
  }
  const a2 = reshapeView(a, transposeA ? [k, m] : [m, k]);
  const b2 = reshapeView(b, transposeB ? [n, k] : [k, n]);
  if (m * n * k >= NATIVE_MIN_WORK && nativeKernels(backend) !== null) {
    // The toolkit's kernel: b packed in panels (transposed or not), a in 4-row strips (read in
    // place when transposed: no transposed copy) and 4 x 8 register tiles on two threads; the same
    // sums in the same order as XNNPACK's (bit-equal results), ~20% faster.
    const out = backend.makeOutput([m, n], 'float32');
    gemmOnHeap(backend, a2, b2, m, n, k, transposeB, out, false, 1, transposeA);
    return { dataId: out.dataId, shape: shape.outShape, dtype: 'float32' };
  }
  if (!transposeA && !transposeB) return delegate();
  if (transposeA && transposeB && m * n <= k * (m + n)) {
    // aᵀ·bᵀ = (b·a)ᵀ: one plain product and one transposed copy of the [n, m] result.
    const productT = plain(b2, a2);
    try {
      const out = copyMatrix(backend, productT, 0, n, m, true);
      return { dataId: out.dataId, shape: shape.outShape, dtype: 'float32' };
    } finally {
      disposeInfos(backend, productT);
    }
  }
  const left = transposeA ? copyMatrix(backend, a2, 0, k, m, true) : a2;
  let right: tf.TensorInfo | undefined;
  try {
    right = transposeB ? copyMatrix(backend, b2, 0, n, k, true) : b2;
    const out = plain(left, right);
    return { dataId: out.dataId, shape: shape.outShape, dtype: 'float32' };
  } finally {
    disposeInfos(backend, left === a2 ? undefined : left, right === b2 ? undefined : right);
  }
}

/**
 * A fast `_FusedMatMul` (matMul + bias + activation, used by dense layers) for the wasm backend:
 * transposed operands are copied transposed and the product runs on the backend's XNNPACK path,
 * and batched products run one XNNPACK call per matrix, as in {@link batchMatMulWasm}. A batched
 * product with PReLU weights goes to the backend's own kernel.
 *
 * @param args - inputs `a` (`[batch, m, k]` or `[batch, k, m]`), `b` (`[batch, k, n]` or
 *   `[batch, n, k]`), optional `bias` (`[n]`) and `preluActivationWeights`, float32; attrs
 *   `transposeA`, `transposeB`, `activation`, `leakyreluAlpha`.
 * @param original - the backend's own kernel.
 * @returns `[batch, m, n]` float32, owned by the caller.
 * @category Backend
 */
export function fusedMatMulWasm(args: WasmKernelArgs, original: tf.KernelFunc): tf.TensorInfo {
  const backend = asWasmBackend(args.backend, '_FusedMatMul');
  const a = kernelInput(args.inputs, 'a', '_FusedMatMul');
  const b = kernelInput(args.inputs, 'b', '_FusedMatMul');
  const attrs = args.attrs as unknown as tf._FusedMatMulAttrs;
  const transposeA = attrs.transposeA === true;
  const transposeB = attrs.transposeB === true;
  const shape = describe(a, b, transposeA, transposeB);
  const delegate = (): tf.TensorInfo => single(original({ inputs: args.inputs, backend, attrs: args.attrs ?? {} }), '_FusedMatMul');
  if (shape === undefined || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length !== 3 || b.shape.length !== 3) {
    return delegate();
  }
  const { m, k, n, batch } = shape;
  if (batch === 0 || m * k * n === 0) return delegate();
  const plainAttrs: tf.NamedAttrMap = { ...args.attrs, transposeA: false, transposeB: false };
  const plain = (a2: tf.TensorInfo, b2: tf.TensorInfo): tf.TensorInfo =>
    single(
      original({
        inputs: { ...args.inputs, a: reshapeView(a2, [1, m, k]), b: reshapeView(b2, [1, k, n]) },
        backend,
        attrs: plainAttrs,
      }),
      '_FusedMatMul',
    );
  if (batch > 1) {
    if (m * k * n < MIN_WORK_PER_MATRIX || args.inputs['preluActivationWeights'] !== undefined) return delegate();
    return perMatrix(backend, a, b, transposeA, transposeB, shape, plain);
  }
  if (!transposeA && !transposeB) return delegate();
  const left = transposeA ? copyMatrix(backend, a, 0, k, m, true) : reshapeView(a, [m, k]);
  let right: tf.TensorInfo | undefined;
  try {
    right = transposeB ? copyMatrix(backend, b, 0, n, k, true) : reshapeView(b, [k, n]);
    const out = plain(left, right);
    return { dataId: out.dataId, shape: shape.outShape, dtype: 'float32' };
  } finally {
    disposeInfos(backend, transposeA ? left : undefined, transposeB ? right : undefined);
  }
}
