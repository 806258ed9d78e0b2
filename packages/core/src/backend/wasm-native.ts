import * as tf from '@tensorflow/tfjs-core';
import { KERNELS_WASM_BASE64, KERNELS_WASM_SHARED_BASE64 } from './kernels-wasm.js';
import { ContrastiveError } from '../errors.js';
import { kernelInput, type WasmBackendLike, type WasmKernelArgs } from './wasm-heap.js';
import { readyPool, runOnPool, startNativePool } from './native-pool.js';

/** The kernels that split their work with the pool's worker. */
const POOL_FUNCTIONS = ['conv2d_backprop_filter'] as const;

/** The exports of native/kernels.c (byte offsets into the tfjs heap; sizes in elements). */
interface NativeExports {
  exp_f32(x: number, out: number, n: number): void;
  log_f32(x: number, out: number, n: number): void;
  softplus_f32(x: number, out: number, n: number): void;
  sign_f32(x: number, out: number, n: number): void;
  minmax(op: number, isInt: number, a: number, aOuter: number, aInner: number, b: number, bOuter: number, bInner: number, out: number, outer: number, inner: number): void;
  compare(op: number, isInt: number, a: number, aOuter: number, aInner: number, b: number, bOuter: number, bInner: number, out: number, outer: number, inner: number): void;
  select32(cond: number, t: number, e: number, out: number, n: number): void;
  max_pool_grad_2x2(x: number, dy: number, dx: number, rows: number, outWidth: number, channels: number): void;
  conv2d_backprop_filter(x: number, dy: number, acc: number, first: number, count: number, inH: number, inW: number, inC: number, outH: number, outW: number, outC: number, fh: number, fw: number, sh: number, sw: number, pt: number, pl: number): void;
  round_f64_to_f32(acc: number, out: number, n: number): void;
  info_nce_rows(kind: number, s: number, rows: number, cols: number, n: number, m: number, selfStart: number, out: number): void;
  add_transpose(g: number, out: number, n: number): void;
  sum_leading(x: number, out: number, outer: number, summed: number, inner: number): void;
  info_nce_row_grads(kind: number, s: number, rows: number, cols: number, n: number, m: number, selfStart: number, dRow: number, g: number): void;
}

/** The Emscripten module object of the tfjs wasm backend, as far as it is read here. */
interface EmscriptenModuleLike {
  readonly wasmMemory?: WebAssembly.Memory;
  readonly asm?: { readonly memory?: WebAssembly.Memory };
}

const instances = new WeakMap<WebAssembly.Memory, NativeExports | null>();
const compiled = new Map<boolean, WebAssembly.Module | Promise<WebAssembly.Module> | null>();

const decodeBase64 = (text: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/**
 * The compiled kernels module for private or shared memory. Compiled synchronously where the
 * platform allows it (Node.js, workers); a browser's main thread refuses synchronous compilation
 * of modules over 4 KB, so there it compiles in the background and the kernels fall back to the
 * backend's own until it is ready.
 */
function moduleFor(shared: boolean): WebAssembly.Module | null {
  const known = compiled.get(shared);
  if (known instanceof WebAssembly.Module) return known;
  if (known !== undefined) return null; // compiling, or failed
  const bytes = decodeBase64(shared ? KERNELS_WASM_SHARED_BASE64 : KERNELS_WASM_BASE64);
  try {
    const module = new WebAssembly.Module(bytes);
    compiled.set(shared, module);
    return module;
  } catch {
    const pending = WebAssembly.compile(bytes).then(
      (module) => {
        compiled.set(shared, module);
        return module;
      },
      () => {
        compiled.set(shared, null);
        return null as unknown as WebAssembly.Module;
      },
    );
    compiled.set(shared, pending);
    return null;
  }
}

/** The backend's linear memory (the threaded build's `wasmMemory`, else the instance's export). */
function memoryOf(backend: WasmBackendLike): WebAssembly.Memory | undefined {
  const module = (backend as unknown as { wasm?: EmscriptenModuleLike }).wasm;
  const memory = module?.wasmMemory ?? module?.asm?.memory;
  return memory instanceof WebAssembly.Memory ? memory : undefined;
}

/**
 * The toolkit's native kernels instantiated on the backend's own memory, or `null` when they cannot
 * run there (no memory found, the module not compiled yet, instantiation refused): callers then use
 * the backend's kernels.
 */
export function nativeKernels(backend: WasmBackendLike): NativeExports | null {
  const memory = memoryOf(backend);
  if (memory === undefined) return null;
  const known = instances.get(memory);
  if (known !== undefined) return known;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const module = moduleFor(shared);
  if (module === null) return null;
  let exports: NativeExports | null;
  try {
    exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as NativeExports;
  } catch {
    exports = null;
  }
  instances.set(memory, exports);
  // Shared memory (the threaded build): start the second thread; kernels use it once it is ready.
  if (exports !== null && shared) void startNativePool(memory, module, POOL_FUNCTIONS);
  return exports;
}

/**
 * Instantiate the native kernels on the backend's memory and, when that memory is shared, wait
 * until their worker thread is ready. `selectBackend` awaits it so that the first training step
 * already runs on two threads.
 *
 * @returns whether the kernels run on two threads.
 * @internal
 */
export async function nativeKernelsReady(backend: WasmBackendLike): Promise<boolean> {
  const memory = memoryOf(backend);
  if (memory === undefined || nativeKernels(backend) === null) return false;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  if (!shared) return false;
  const module = moduleFor(true);
  if (module === null) return false;
  return (await startNativePool(memory, module, POOL_FUNCTIONS)) !== null;
}

/** Byte offset of a tensor's data on the wasm heap. */
export function heapOffset(backend: WasmBackendLike, info: tf.TensorInfo): number {
  return backend.typedArrayFromHeap(info).byteOffset;
}

// ------------------------------------------------------------------------------------ unary

type UnaryName = 'exp_f32' | 'log_f32' | 'softplus_f32' | 'sign_f32';

/**
 * A float32 element-wise kernel (`Exp`, `Log`, `Softplus`, `Sign`) by the native module; other
 * dtypes, or no native module, go to the backend's kernel.
 */
export function unaryNative(name: UnaryName, args: WasmKernelArgs, original: tf.KernelFunc): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const x = kernelInput(args.inputs, 'x', name);
  const native = nativeKernels(backend);
  if (native === null || x.dtype !== 'float32') return original(args as Parameters<tf.KernelFunc>[0]);
  const out = backend.makeOutput([...x.shape], 'float32');
  const n = tf.util.sizeFromShape(x.shape);
  if (n > 0) native[name](heapOffset(backend, x), heapOffset(backend, out), n);
  return out;
}

// ------------------------------------------------------------------------------------ binary

/** One run of dimensions in which each operand is either present or broadcast, with element strides. */
export interface BroadcastLevel {
  readonly size: number;
  /** Stride of `a` per step of this level (0 where `a` is broadcast). */
  readonly a: number;
  /** Stride of `b` per step of this level (0 where `b` is broadcast). */
  readonly b: number;
}

/**
 * A broadcast of `a` against `b` as levels (outermost first), consecutive dimensions with the same
 * pattern merged, dimensions of size 1 dropped; always at least two levels (padded with size 1).
 * `undefined` when the shapes do not broadcast.
 */
export function broadcastLevels(aShape: readonly number[], bShape: readonly number[]): { outShape: number[]; levels: BroadcastLevel[] } | undefined {
  let outShape: number[];
  try {
    outShape = tf.backend_util.assertAndGetBroadcastShape(aShape as number[], bShape as number[]);
  } catch {
    return undefined;
  }
  const rank = outShape.length;
  const pad = (shape: readonly number[]): number[] => [...new Array<number>(rank - shape.length).fill(1), ...shape];
  const a = pad(aShape);
  const b = pad(bShape);
  const groups: { size: number; inA: boolean; inB: boolean }[] = [];
  for (let d = 0; d < rank; d++) {
    const size = outShape[d] as number;
    if (size === 1) continue;
    const inA = a[d] === size;
    const inB = b[d] === size;
    const last = groups[groups.length - 1];
    if (last !== undefined && last.inA === inA && last.inB === inB) last.size *= size;
    else groups.push({ size, inA, inB });
  }
  while (groups.length < 2) groups.unshift({ size: 1, inA: true, inB: true });
  const levels: BroadcastLevel[] = new Array<BroadcastLevel>(groups.length);
  let runA = 1;
  let runB = 1;
  for (let g = groups.length - 1; g >= 0; g--) {
    const { size, inA, inB } = groups[g] as { size: number; inA: boolean; inB: boolean };
    levels[g] = { size, a: inA ? runA : 0, b: inB ? runB : 0 };
    if (inA) runA *= size;
    if (inB) runB *= size;
  }
  return { outShape, levels };
}

/** Operation codes of native/kernels.c's `minmax` and `compare`. */
export const NATIVE_OP = { Maximum: 0, Minimum: 1, Greater: 2, GreaterEqual: 3, Less: 4, LessEqual: 5, Equal: 6, NotEqual: 7 } as const;

/**
 * `Maximum`/`Minimum` (same dtype out) or a comparison (bool out) of two float32 or two int32
 * tensors by the native module, any broadcast (the last two levels in one call, outer levels
 * looped here); other dtypes go to the backend's kernel.
 */
export function binaryNative(kernelName: keyof typeof NATIVE_OP, args: WasmKernelArgs, original: tf.KernelFunc): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const a = kernelInput(args.inputs, 'a', kernelName);
  const b = kernelInput(args.inputs, 'b', kernelName);
  const native = nativeKernels(backend);
  if (native === null || a.dtype !== b.dtype || (a.dtype !== 'float32' && a.dtype !== 'int32')) return original(args as Parameters<tf.KernelFunc>[0]);
  const plan = broadcastLevels(a.shape, b.shape);
  if (plan === undefined) return original(args as Parameters<tf.KernelFunc>[0]);
  const op = NATIVE_OP[kernelName];
  const isMinMax = op <= NATIVE_OP.Minimum;
  const out = backend.makeOutput(plan.outShape, isMinMax ? a.dtype : 'bool');
  if (tf.util.sizeFromShape(plan.outShape) === 0) return out;
  const run = isMinMax ? native.minmax : native.compare;
  const isInt = a.dtype === 'int32' ? 1 : 0;
  const width = isMinMax ? 4 : 1; // bytes per output element
  const [outer, inner] = plan.levels.slice(-2) as [BroadcastLevel, BroadcastLevel];
  const blocks = plan.levels.slice(0, -2);
  const aBase = heapOffset(backend, a);
  const bBase = heapOffset(backend, b);
  let outAt = heapOffset(backend, out);
  const blockSize = outer.size * inner.size;
  // Levels beyond the last two: a mixed-radix counter over them, one native call per block.
  const index = new Array<number>(blocks.length).fill(0);
  let aAt = 0;
  let bAt = 0;
  for (;;) {
    run(op, isInt, aBase + 4 * aAt, outer.a, inner.a, bBase + 4 * bAt, outer.b, inner.b, outAt, outer.size, inner.size);
    outAt += width * blockSize;
    let level = blocks.length - 1;
    while (level >= 0) {
      const { size, a: strideA, b: strideB } = blocks[level] as BroadcastLevel;
      index[level] = (index[level] as number) + 1;
      aAt += strideA;
      bAt += strideB;
      if ((index[level] as number) < size) break;
      aAt -= strideA * size;
      bAt -= strideB * size;
      index[level] = 0;
      level--;
    }
    if (level < 0) break;
  }
  return out;
}

/** `Select(condition, t, e)` of float32 or int32 values, all of one shape, by the native module. */
export function selectNative(args: WasmKernelArgs, original: tf.KernelFunc): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const condition = kernelInput(args.inputs, 'condition', 'Select');
  const t = kernelInput(args.inputs, 't', 'Select');
  const e = kernelInput(args.inputs, 'e', 'Select');
  const native = nativeKernels(backend);
  const same = (x: tf.TensorInfo): boolean => tf.util.arraysEqual(x.shape, condition.shape);
  if (
    native === null ||
    condition.dtype !== 'bool' ||
    t.dtype !== e.dtype ||
    (t.dtype !== 'float32' && t.dtype !== 'int32') ||
    !same(t) ||
    !same(e)
  ) {
    return original(args as Parameters<tf.KernelFunc>[0]);
  }
  const out = backend.makeOutput([...t.shape], t.dtype);
  const n = tf.util.sizeFromShape(t.shape);
  if (n > 0) native.select32(heapOffset(backend, condition), heapOffset(backend, t), heapOffset(backend, e), heapOffset(backend, out), n);
  return out;
}

// ------------------------------------------------------------------------------------ Identity

/** `Identity` that shares the input's data (reference counted), as the cpu backend's does. */
export function identityShared(args: WasmKernelArgs, original: tf.KernelFunc): tf.TensorInfo | tf.TensorInfo[] {
  const x = kernelInput(args.inputs, 'x', 'Identity');
  const backend = args.backend as WasmBackendLike & { incRef?(dataId: tf.DataId): void };
  if (x.dtype === 'string' || typeof backend.incRef !== 'function') return original(args as Parameters<tf.KernelFunc>[0]);
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

// ------------------------------------------------------------------------------------ Tile

/**
 * `Tile` of any dtype by block copies on the heap: each row of the input is written once and then
 * doubled in place (`copyWithin`), each finished block repeated along its dimension. The backend's
 * kernel computes every output element's source index (~100 ns per element).
 */
export function tileWasm(args: WasmKernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const x = kernelInput(args.inputs, 'x', 'Tile');
  const reps = (args.attrs as unknown as tf.TileAttrs).reps;
  if (reps.length !== x.shape.length) throw new Error(`Tile: reps [${reps.join(', ')}] must have one entry per dimension of x [${x.shape.join(', ')}]`);
  const outShape = x.shape.map((size, d) => size * (reps[d] as number));
  const out = backend.makeOutput(outShape, x.dtype);
  const size = tf.util.sizeFromShape(outShape);
  if (size === 0) return out;
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  if (rank === 0) {
    dst[0] = src[0] as number;
    return out;
  }
  const srcStrides = tf.util.computeStrides(x.shape);
  const dstStrides = tf.util.computeStrides(outShape);
  const fill = (d: number, from: number, to: number): void => {
    const rowLength = x.shape[d] as number;
    const times = reps[d] as number;
    if (d === rank - 1) {
      dst.set(src.subarray(from, from + rowLength), to);
    } else {
      const srcStride = srcStrides[d] as number;
      const dstStride = dstStrides[d] as number;
      for (let i = 0; i < rowLength; i++) fill(d + 1, from + i * srcStride, to + i * dstStride);
    }
    // The block just written (one copy along dimension d) is doubled until it is `times` copies.
    const block = d === rank - 1 ? rowLength : rowLength * (dstStrides[d] as number);
    let done = 1;
    while (done < times) {
      const copies = Math.min(done, times - done);
      dst.copyWithin(to + done * block, to, to + copies * block);
      done += copies;
    }
  };
  fill(0, 0, 0);
  return out;
}

// ------------------------------------------------------------------------------------ pooling

/**
 * dx of a 2x2/2 max pool whose windows tile the input, by the native module: `false` when it is
 * not available (the caller then runs its own loop).
 */
export function maxPoolGrad2x2Native(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  dx: tf.TensorInfo,
  rows: number,
  outWidth: number,
  channels: number,
): boolean {
  const native = nativeKernels(backend);
  if (native === null) return false;
  if (rows * outWidth * channels > 0) {
    native.max_pool_grad_2x2(heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, dx), rows, outWidth, channels);
  }
  return true;
}

// ------------------------------------------------------------------------ Conv2DBackpropFilter

/**
 * The filter gradient of an NHWC convolution (dilation 1) by the native module: register tiles of
 * input x output channels accumulate each image in float32, the images are summed in float64 (two
 * halves of the batch, on two threads when the pool runs) and rounded once. `null` when the native
 * module is not available.
 *
 * @param info - the convolution's geometry (`tf.backend_util.computeConv2DInfo`).
 * @returns `dW` `[fh, fw, inC, outC]`, owned by the caller, or `null`.
 */
export function conv2DBackpropFilterNative(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | null {
  const native = nativeKernels(backend);
  if (native === null) return null;
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const size = filterHeight * filterWidth * inChannels * outChannels;
  const out = backend.makeOutput([filterHeight, filterWidth, inChannels, outChannels], 'float32');
  if (size === 0) return out;
  // The images in two fixed halves, each summed into its own float64 accumulators (a scratch
  // buffer of the heap, 2 float32 cells per double): the halves run on two threads when the pool
  // is ready, one after the other otherwise — the same sums either way.
  const scratch = backend.makeOutput([4 * size], 'float32');
  try {
    const cells = backend.typedArrayFromHeap(scratch);
    const acc = new Float64Array(cells.buffer, cells.byteOffset, 2 * size);
    acc.fill(0);
    const half = Math.ceil(batchSize / 2);
    const args = (part: number): number[] => [
      heapOffset(backend, x),
      heapOffset(backend, dy),
      cells.byteOffset + part * 8 * size,
      part === 0 ? 0 : half,
      part === 0 ? half : batchSize - half,
      inHeight,
      inWidth,
      inChannels,
      outHeight,
      outWidth,
      outChannels,
      filterHeight,
      filterWidth,
      info.strideHeight,
      info.strideWidth,
      info.padInfo.top,
      info.padInfo.left,
    ];
    const run = (part: number): void => {
      const values = args(part);
      if ((values[4] as number) > 0 && outHeight * outWidth > 0) (native.conv2d_backprop_filter as (...v: number[]) => void)(...values);
    };
    const memory = memoryOf(backend);
    const pool = memory === undefined ? null : readyPool(memory);
    if (pool !== null && batchSize > 1) {
      runOnPool(pool, 'conv2d_backprop_filter', args(1), () => run(0));
    } else {
      run(0);
      run(1);
    }
    for (let i = 0; i < size; i++) acc[i] = (acc[i] as number) + (acc[size + i] as number);
    native.round_f64_to_f32(cells.byteOffset, heapOffset(backend, out), size);
  } finally {
    backend.disposeData(scratch.dataId);
  }
  return out;
}

// ---------------------------------------------------------------------------- InfoNCE rows

/** Which row loss {@link infoNceRowsNative} computes. @category Backend */
export type NativeRowLoss = 'supcon' | 'ntxent';

/** The wasm backend with its native kernels, when that is the active backend. */
function activeNative(): { backend: WasmBackendLike; native: NativeExports } | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as WasmBackendLike;
  const native = nativeKernels(backend);
  return native === null ? null : { backend, native };
}

function bad(code: 'INVALID_ARGUMENT' | 'SHAPE_MISMATCH' | 'DTYPE_MISMATCH', argument: string, fn: string, must: string, got: string): never {
  throw new ContrastiveError(code, `Argument '${argument}' passed to '${fn}' must be ${must}, got ${got}`);
}

function describeTensor(t: unknown): string {
  return t instanceof tf.Tensor ? `${t.dtype} [${t.shape.join(', ')}]` : t === null ? 'null' : typeof t;
}

function checkFloatMatrix(t: unknown, argument: string, fn: string): asserts t is tf.Tensor2D {
  if (!(t instanceof tf.Tensor) || t.isDisposed) bad('INVALID_ARGUMENT', argument, fn, 'a live tf.Tensor', describeTensor(t));
  if (t.rank !== 2) bad('SHAPE_MISMATCH', argument, fn, 'a 2-D tensor', describeTensor(t));
  if (t.dtype !== 'float32') bad('DTYPE_MISMATCH', argument, fn, 'float32', describeTensor(t));
}

function checkVector(t: unknown, dtype: 'int32' | 'float32', size: number, argument: string, fn: string): asserts t is tf.Tensor1D {
  if (!(t instanceof tf.Tensor) || t.isDisposed) bad('INVALID_ARGUMENT', argument, fn, 'a live tf.Tensor', describeTensor(t));
  if (t.rank !== 1 || t.shape[0] !== size) bad('SHAPE_MISMATCH', argument, fn, `a 1-D tensor of ${size} entries`, describeTensor(t));
  if (t.dtype !== dtype) bad('DTYPE_MISMATCH', argument, fn, dtype, describeTensor(t));
}

function checkRowArgs(fn: string, kind: unknown, block: unknown, rowIds: unknown, colIds: unknown, selfStart: unknown): void {
  if (kind !== 'supcon' && kind !== 'ntxent') bad('INVALID_ARGUMENT', 'kind', fn, "'supcon' or 'ntxent'", JSON.stringify(kind) ?? String(kind));
  checkFloatMatrix(block, 'block', fn);
  const [n, m] = block.shape;
  checkVector(rowIds, 'int32', n, 'rowIds', fn);
  checkVector(colIds, 'int32', m, 'colIds', fn);
  if (typeof selfStart !== 'number' || !Number.isInteger(selfStart) || selfStart < -1 || (selfStart >= 0 && selfStart + n > m)) {
    bad('INVALID_ARGUMENT', 'selfStart', fn, `-1 or an integer in [0, ${m - n}] (row i's own column is selfStart + i)`, String(selfStart));
  }
}

/**
 * Row losses of the InfoNCE family in one native pass per row (the wasm backend only; `null`
 * elsewhere, where the caller computes them with tensor ops). `block` holds scaled logits
 * `[n, m]`; `rowIds`/`colIds` label ids; column `selfStart + i` is row i's own (`-1`: none).
 *
 * - `'supcon'` (Khosla et al. 2020): `[P_i > 0] (lse_i - mean_{j in P_i} s_ij)`, lse over every
 *   column but self, `P_i` the same-id columns but self.
 * - `'ntxent'` (Chen et al. 2020): `[N_i > 0] Σ_{j in P_i} softplus(lse_i - s_ij)`, lse over the
 *   other-id columns `N_i`.
 *
 * @returns `[n]` float32, or `null` when the native kernels do not run here.
 * @throws {@link ContrastiveError} naming the argument: `block` not a float32 matrix, ids not int32
 *   of `n` / `m` entries, `selfStart` out of range, an unknown `kind`.
 * @category Backend
 */
export function infoNceRowsNative(kind: NativeRowLoss, block: tf.Tensor2D, rowIds: tf.Tensor1D, colIds: tf.Tensor1D, selfStart: number): tf.Tensor1D | null {
  checkRowArgs('infoNceRowsNative', kind, block, rowIds, colIds, selfStart);
  const active = activeNative();
  if (active === null) return null;
  const [n, m] = block.shape;
  const { backend, native } = active;
  const out = backend.makeOutput([n], 'float32');
  if (n > 0 && m > 0) {
    native.info_nce_rows(kind === 'supcon' ? 0 : 1, heapOffset(backend, block), heapOffset(backend, rowIds), heapOffset(backend, colIds), n, m, selfStart, heapOffset(backend, out));
  } else if (n > 0) {
    backend.typedArrayFromHeap(out).fill(0);
  }
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor1D;
}

/**
 * `dRow_i · d rowLoss_i / d s_ij` of {@link infoNceRowsNative}'s losses, `[n, m]`, or `null`
 * off the wasm backend.
 *
 * @throws {@link ContrastiveError} as {@link infoNceRowsNative}, and for `dRow` not float32 `[n]`.
 * @category Backend
 */
export function infoNceRowGradsNative(
  kind: NativeRowLoss,
  block: tf.Tensor2D,
  rowIds: tf.Tensor1D,
  colIds: tf.Tensor1D,
  selfStart: number,
  dRow: tf.Tensor1D,
): tf.Tensor2D | null {
  checkRowArgs('infoNceRowGradsNative', kind, block, rowIds, colIds, selfStart);
  const [n, m] = block.shape;
  checkVector(dRow, 'float32', n, 'dRow', 'infoNceRowGradsNative');
  const active = activeNative();
  if (active === null) return null;
  const { backend, native } = active;
  const out = backend.makeOutput([n, m], 'float32');
  if (n * m > 0) {
    native.info_nce_row_grads(
      kind === 'supcon' ? 0 : 1,
      heapOffset(backend, block),
      heapOffset(backend, rowIds),
      heapOffset(backend, colIds),
      n,
      m,
      selfStart,
      heapOffset(backend, dRow),
      heapOffset(backend, out),
    );
  }
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor2D;
}

/**
 * `g + gᵀ` of a square float32 matrix in one tiled pass on the wasm backend (the gradient of a
 * function of `A·Aᵀ` with respect to `A` is `(G + Gᵀ)·A`), or `null` elsewhere.
 *
 * @param g - `[n, n]` float32.
 * @returns `[n, n]`, owned by the caller, or `null` when the native kernels do not run here.
 * @throws {@link ContrastiveError} naming `g` when it is not a square float32 matrix.
 * @category Backend
 */
export function addTransposeNative(g: tf.Tensor2D): tf.Tensor2D | null {
  checkFloatMatrix(g, 'g', 'addTransposeNative');
  const [n, m] = g.shape;
  if (n !== m) bad('SHAPE_MISMATCH', 'g', 'addTransposeNative', 'a square matrix', describeTensor(g));
  const active = activeNative();
  if (active === null) return null;
  const { backend, native } = active;
  const out = backend.makeOutput([n, n], 'float32');
  if (n > 0) native.add_transpose(heapOffset(backend, g), heapOffset(backend, out), n);
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor2D;
}

/**
 * Sum of `x` viewed as `[outer, summed, inner]` over its middle axis into `out` (`[outer, inner]`
 * elements) by the native module (float64 accumulation); `false` when it is not available.
 * @internal
 */
export function sumLeadingNative(backend: WasmBackendLike, x: tf.TensorInfo, out: tf.TensorInfo, outer: number, summed: number, inner: number): boolean {
  const native = nativeKernels(backend);
  if (native === null) return false;
  native.sum_leading(heapOffset(backend, x), heapOffset(backend, out), outer, summed, inner);
  return true;
}
