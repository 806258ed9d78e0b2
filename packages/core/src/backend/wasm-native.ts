import * as tf from '@tensorflow/tfjs-core';
import { KERNELS_WASM_BASE64, KERNELS_WASM_RELAXED_BASE64, KERNELS_WASM_RELAXED_SHARED_BASE64, KERNELS_WASM_SHARED_BASE64 } from './kernels-wasm.js';
import { ContrastiveError } from '../errors.js';
import { assertNumber, assertOneOf } from '../validate.js';
import { kernelInput, type WasmBackendLike, type WasmKernelArgs } from './wasm-heap.js';
import { readyPool, runChunked, startNativePool } from './native-pool.js';

/** Image groups of the native filter gradient (fixed, so the sums do not depend on the threads). */
const BPF_GROUPS = 8;

/** The kernels that split their work with the pool's worker. */
const POOL_FUNCTIONS = ['wino_conv3x3', 'wino_filter_grad', 'conv3x3_pool_direct', 'pool_relu_grad', 'adam_update', 'bilinear_crop', 'conv2d_bpf_groups', 'info_nce_rows', 'info_nce_row_grads', 'debiased_rows', 'debiased_row_grads', 'gemm_packed', 'gemm_mirror', 'add_transpose', 'transpose32_rows', 'euclid_grad_sym', 'contrastive_self_rows', 'contrastive_self_backward', 'max_pool_grad_2x2'] as const;

/** The exports of native/kernels.c (byte offsets into the tfjs heap; sizes in elements). */
interface NativeExports {
  exp_f32(x: number, out: number, n: number): void;
  log_f32(x: number, out: number, n: number): void;
  softplus_f32(x: number, out: number, n: number): void;
  sign_f32(x: number, out: number, n: number): void;
  minmax(op: number, isInt: number, a: number, aOuter: number, aInner: number, b: number, bOuter: number, bInner: number, out: number, outer: number, inner: number): void;
  compare(op: number, isInt: number, a: number, aOuter: number, aInner: number, b: number, bOuter: number, bInner: number, out: number, outer: number, inner: number): void;
  select32(cond: number, t: number, e: number, out: number, n: number): void;
  max_pool_grad_2x2(x: number, dy: number, dx: number, rows: number, outWidth: number, channels: number, rowStart: number, rowEnd: number): void;
  conv2d_backprop_filter(x: number, dy: number, acc: number, first: number, count: number, inH: number, inW: number, inC: number, outH: number, outW: number, outC: number, fh: number, fw: number, sh: number, sw: number, pt: number, pl: number): void;
  round_f64_to_f32(acc: number, out: number, n: number): void;
  wino_filter(g: number, inC: number, outC: number, u: number): void;
  conv3x3_pool_direct(xPadded: number, g: number, bias: number, y: number, mask: number, h: number, w: number, inC: number, outC: number, rowStart: number, rowEnd: number): void;
  pad_images(x: number, xPadded: number, h: number, w: number, c: number, rowStart: number, rowEnd: number): void;
  bilinear_crop(images: number, h: number, w: number, c: number, sources: number, rowLow: number, rowHigh: number, wy: number, colLow: number, colHigh: number, wx: number, outH: number, outW: number, out: number, boxStart: number, boxEnd: number): void;
  adam_update(value: number, m: number, v: number, g: number, outValue: number, outM: number, outV: number, acc1: number, acc2: number, b1: number, c1: number, b2: number, c2: number, eps: number, negLr: number, start: number, end: number): void;
  pool_relu_grad(dy: number, mask: number, dPre: number, h: number, w: number, outC: number, rowStart: number, rowEnd: number): void;
  pool_bias_grad(dy: number, mask: number, acc: number, count: number, outC: number, out: number): void;
  wino_filter_grad(x: number, dy: number, scratch: number, batch: number, h: number, w: number, inC: number, outC: number, chunks: number, chunkStart: number, chunkEnd: number): void;
  wino_filter_grad_finish(scratch: number, chunks: number, inC: number, outC: number, dW: number): void;
  wino_conv3x3(x: number, u: number, bias: number, relu: number, y: number, mask: number, scratch: number, batch: number, h: number, w: number, inC: number, outC: number, chunks: number, chunkStart: number, chunkEnd: number): void;
  conv2d_bpf_groups(x: number, dy: number, acc: number, size: number, batch: number, chunks: number, inH: number, inW: number, inC: number, outH: number, outW: number, outC: number, fh: number, fw: number, sh: number, sw: number, pt: number, pl: number, chunkStart: number, chunkEnd: number): void;
  info_nce_rows(kind: number, s: number, rows: number, cols: number, n: number, m: number, selfStart: number, out: number, lseOut: number, rowStart: number, rowEnd: number): void;
  add_transpose(a: number, b: number, out: number, n: number, rowStart: number, rowEnd: number): void;
  transpose32(src: number, batch: number, rows: number, cols: number, dst: number): void;
  transpose32_rows(src: number, rows: number, cols: number, dst: number, rowStart: number, rowEnd: number): void;
  gather32(x: number, idx: number, outer: number, axisSize: number, count: number, inner: number, out: number): number;
  gemm_pack(b: number, k: number, n: number, transposed: number, packed: number): void;
  gemm_packed(a: number, transposedA: number, apack: number, packed: number, m: number, n: number, k: number, c: number, rowStart: number, rowEnd: number, upper: number, alpha: number): void;
  gemm_mirror(c: number, n: number, rowStart: number, rowEnd: number): void;
  l2_normalize(x: number, n: number, d: number, eps: number, y: number, norm: number): void;
  l2_normalize_grad(y: number, dy: number, norm: number, n: number, d: number, eps: number, dx: number): void;
  relu_grad(x: number, dy: number, dx: number, n: number): void;
  contrastive_self_rows(g: number, sq: number, labels: number, n: number, posMargin: number, negMargin: number, dist: number, rowSums: number, rowStart: number, rowEnd: number): void;
  contrastive_self_backward(dist: number, labels: number, n: number, posMargin: number, negMargin: number, posScale: number, negScale: number, out: number, rowSums: number, rowStart: number, rowEnd: number): void;
  triplet_margin(u: number, d: number, anchor: number, positive: number, negative: number, t: number, margin: number, swap: number, sums: number, scale: number, du: number): void;
  pair_margin_sums(v: number, labels: number, refLabels: number, n: number, m: number, selfPairs: number, isSim: number, posMargin: number, negMargin: number, out: number): void;
  pair_margin_grad(v: number, labels: number, refLabels: number, n: number, m: number, selfPairs: number, isSim: number, posMargin: number, negMargin: number, posScale: number, negScale: number, out: number): void;
  sum_leading(x: number, out: number, outer: number, summed: number, inner: number): void;
  info_nce_row_grads(kind: number, s: number, rows: number, cols: number, n: number, m: number, selfStart: number, dRow: number, g: number, lseIn: number, rowStart: number, rowEnd: number): void;
  debiased_rows(s: number, rows: number, cols: number, n: number, m: number, selfStart: number, beta: number, logTauPlus: number, log1mTauPlus: number, floor: number, flags: number, out: number, rowStart: number, rowEnd: number): void;
  debiased_row_grads(s: number, rows: number, cols: number, n: number, m: number, selfStart: number, beta: number, logTauPlus: number, log1mTauPlus: number, floor: number, flags: number, dRow: number, g: number, rowStart: number, rowEnd: number): void;
  euclid_finish(g: number, sqL: number, sqR: number, n: number, m: number, selfDiag: number, out: number): void;
  euclid_finish_grad(d: number, dy: number, n: number, m: number, selfDiag: number, out: number): void;
  euclid_grad_sym(d: number, dy: number, n: number, out: number, rowSums: number, rowStart: number, rowEnd: number): void;
  first_non_finite(x: number, count: number): number;
  pick_rows(v: number, labels: number, refLabels: number, n: number, m: number, selfPairs: number, side: number, largest: number, isSim: number, low: number, high: number, thr: number, outIndex: number, outValue: number): void;
}

/** The Emscripten module object of the tfjs wasm backend, as far as it is read here. */
interface EmscriptenModuleLike {
  readonly wasmMemory?: WebAssembly.Memory;
  readonly asm?: { readonly memory?: WebAssembly.Memory };
}

/** The kernels instantiated on one backend memory: their exports, module and variant. */
interface NativeInstance {
  readonly exports: NativeExports;
  readonly module: WebAssembly.Module;
  /** The relaxed-SIMD (fused multiply-add) variant. */
  readonly relaxed: boolean;
}

const instances = new WeakMap<WebAssembly.Memory, NativeInstance | null>();
const compiled = new Map<string, WebAssembly.Module | Promise<WebAssembly.Module> | null>();

const decodeBase64 = (text: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/**
 * A minimal module with one `f32x4.relaxed_madd`: `(func (param v128 v128 v128) (result v128))`.
 * The engine runs relaxed SIMD when it validates.
 */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type section: (v128 v128 v128) -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // local.get 0..2, f32x4.relaxed_madd, end
]);

/**
 * Whether the JavaScript engine runs WebAssembly relaxed SIMD (`f32x4.relaxed_madd` as the
 * standard encodes it): Chrome and Edge from 114, Node.js from 22; Node.js 20 behind
 * `--experimental-wasm-relaxed-simd`.
 * @internal
 */
export function relaxedSimdSupported(): boolean {
  try {
    return WebAssembly.validate(RELAXED_SIMD_PROBE);
  } catch {
    return false;
  }
}

/** Whether kernels instantiated from now on may use the relaxed-SIMD variant (where the engine runs it). */
let relaxedAllowed = true;

/**
 * Allow or forbid the relaxed-SIMD (fused multiply-add) variant of the native kernels for the
 * backend memories they are instantiated on from now on (`selectBackend`'s `fma`). Memories that
 * already have their kernels keep them.
 * @internal
 */
export function allowNativeFma(allowed: boolean): void {
  relaxedAllowed = allowed;
}

/**
 * The compiled kernels module for private or shared memory, standard or relaxed SIMD. Compiled
 * synchronously where the platform allows it (Node.js, workers); a browser's main thread refuses
 * synchronous compilation of modules over 4 KB, so there it compiles in the background and the
 * kernels fall back to the backend's own until it is ready.
 */
function moduleFor(shared: boolean, relaxed: boolean): WebAssembly.Module | null {
  const key = `${shared ? 'shared' : 'private'}/${relaxed ? 'relaxed' : 'standard'}`;
  const known = compiled.get(key);
  if (known instanceof WebAssembly.Module) return known;
  if (known !== undefined) return null; // compiling, or failed
  const text = relaxed ? (shared ? KERNELS_WASM_RELAXED_SHARED_BASE64 : KERNELS_WASM_RELAXED_BASE64) : shared ? KERNELS_WASM_SHARED_BASE64 : KERNELS_WASM_BASE64;
  const bytes = decodeBase64(text);
  try {
    const module = new WebAssembly.Module(bytes);
    compiled.set(key, module);
    return module;
  } catch {
    const pending = WebAssembly.compile(bytes).then(
      (module) => {
        compiled.set(key, module);
        return module;
      },
      () => {
        compiled.set(key, null);
        return null as unknown as WebAssembly.Module;
      },
    );
    compiled.set(key, pending);
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
  return nativeInstance(backend)?.exports ?? null;
}

function nativeInstance(backend: WasmBackendLike): NativeInstance | null {
  const memory = memoryOf(backend);
  if (memory === undefined) return null;
  const known = instances.get(memory);
  if (known !== undefined) return known;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const relaxed = relaxedAllowed && relaxedSimdSupported();
  const module = moduleFor(shared, relaxed);
  if (module === null) return null;
  let instance: NativeInstance | null;
  try {
    const exports = { ...new WebAssembly.Instance(module, { env: { memory } }).exports } as unknown as NativeExports;
    instance = { exports, module, relaxed };
  } catch {
    instance = null;
  }
  instances.set(memory, instance);
  // Shared memory (the threaded build): start the second thread; kernels use it once it is ready.
  if (instance !== null && shared) void startNativePool(memory, module, POOL_FUNCTIONS);
  return instance;
}

/**
 * Whether the native kernels on this backend are the relaxed-SIMD variant (products as fused
 * multiply-adds); `false` also when they do not run there.
 * @internal
 */
export function nativeFma(backend: WasmBackendLike): boolean {
  return nativeInstance(backend)?.relaxed ?? false;
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
  const instance = nativeInstance(backend);
  if (memory === undefined || instance === null) return false;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  if (!shared) return false;
  return (await startNativePool(memory, instance.module, POOL_FUNCTIONS)) !== null;
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

// ------------------------------------------------------------------------------- Transpose

/**
 * A permutation reduced to what it moves: size-1 axes dropped, runs of input axes that stay
 * adjacent and in order merged. `[1, 0]` and `[0, 2, 1]` are (batched) matrix transposes.
 * @internal
 */
export function collapsePermutation(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const groups: number[][] = [];
  for (const axis of perm) {
    if (shape[axis] === 1) continue;
    const last = groups[groups.length - 1];
    if (last !== undefined && (last[last.length - 1] as number) + 1 === axis) last.push(axis);
    else groups.push([axis]);
  }
  const order = groups.map((_, i) => i).sort((i, j) => (groups[i]?.[0] as number) - (groups[j]?.[0] as number));
  const position = new Array<number>(groups.length);
  order.forEach((group, at) => {
    position[group] = at;
  });
  return {
    shape: order.map((group) => (groups[group] as number[]).reduce((size, axis) => size * (shape[axis] as number), 1)),
    perm: groups.map((_, k) => position[k] as number),
  };
}

/**
 * `Transpose` of 4-byte values whose permutation is a (batched) matrix transpose, by the native
 * module in 8 x 8 blocks of 4 x 4 register transposes; anything else goes to the backend's kernel.
 * The backend's kernel runs at ~0.5 ns per element but 5-10x slower when its output rows are a
 * multiple of 128 floats apart (1024 x 1024: 9.4 ms; this one: under 1 ms).
 */
export function transposeNative(args: WasmKernelArgs, original: tf.KernelFunc): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const x = kernelInput(args.inputs, 'x', 'Transpose');
  const perm = (args.attrs as unknown as tf.TransposeAttrs).perm;
  const native = x.dtype === 'float32' || x.dtype === 'int32' ? nativeKernels(backend) : null;
  if (native === null || perm.length !== x.shape.length) return original(args as Parameters<tf.KernelFunc>[0]);
  const reduced = collapsePermutation(x.shape, perm);
  const matrix = reduced.perm.length === 2 && reduced.perm[0] === 1;
  const batched = reduced.perm.length === 3 && reduced.perm[0] === 0 && reduced.perm[1] === 2;
  if (!matrix && !batched) return original(args as Parameters<tf.KernelFunc>[0]);
  const [batch, rows, cols] = (matrix ? [1, ...reduced.shape] : reduced.shape) as [number, number, number];
  const out = backend.makeOutput(perm.map((axis) => x.shape[axis] as number), x.dtype);
  if (batch === 1) transposeRows(backend, native, heapOffset(backend, x), rows, cols, heapOffset(backend, out));
  else native.transpose32(heapOffset(backend, x), batch, rows, cols, heapOffset(backend, out));
  return out;
}

/**
 * Transpose `rows × cols` 4-byte values at byte offset `src` of the heap into `dst` by the native
 * module; `false` when it is not available.
 * @internal
 */
export function transposeOnHeap(backend: WasmBackendLike, src: number, rows: number, cols: number, dst: number): boolean {
  const native = nativeKernels(backend);
  if (native === null) return false;
  transposeRows(backend, native, src, rows, cols, dst);
  return true;
}

/** One `[rows, cols]` matrix of 4-byte values at byte offset `src` transposed into `dst`, its output rows shared with the kernel pool. */
function transposeRows(backend: WasmBackendLike, native: NativeExports, src: number, rows: number, cols: number, dst: number): void {
  if (rows * cols > 0) onRowChunks(backend, native, 'transpose32_rows', cols, rows, [src, rows, cols, dst, 0, cols], 16);
}

// ------------------------------------------------------------------------------------- Slice

/**
 * `Slice` of a numeric tensor by block copies within the heap. The backend's kernel first reads the
 * whole input into a fresh JavaScript array (`readSync`): for a batch of 512 images that is 1.6 MB
 * of new pages, ~6 ms on this VM, per slice. Strings go to the backend's kernel.
 */
export function sliceWasm(args: WasmKernelArgs, original: tf.KernelFunc): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const x = kernelInput(args.inputs, 'x', 'Slice');
  if (x.dtype === 'string') return original(args as Parameters<tf.KernelFunc>[0]);
  const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
  const [start, extent] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size) as [number[], number[]];
  const out = backend.makeOutput(extent, x.dtype);
  const count = tf.util.sizeFromShape(extent);
  if (count === 0) return out;
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const strides = tf.util.computeStrides(x.shape);
  const rank = x.shape.length;
  if (rank === 0) {
    dst[0] = src[0] as number;
    return out;
  }
  if (tf.slice_util.isSliceContinous(x.shape, start, extent)) {
    const offset = tf.slice_util.computeFlatOffset(start, strides);
    dst.set(src.subarray(offset, offset + count));
    return out;
  }
  // Copy runs along the last axis: recurse over the leading axes.
  const row = extent[rank - 1] as number;
  let at = 0;
  const copy = (axis: number, offset: number): void => {
    if (axis === rank - 1) {
      const from = offset + (start[axis] as number);
      dst.set(src.subarray(from, from + row), at);
      at += row;
      return;
    }
    const stride = strides[axis] as number;
    for (let i = 0; i < (extent[axis] as number); i++) copy(axis + 1, offset + ((start[axis] as number) + i) * stride);
  };
  copy(0, 0);
  return out;
}

// ---------------------------------------------------------------------------------- GatherV2

/**
 * `GatherV2` (batchDims 0) of 4-byte values with int32 indices by the native module: one block
 * copy per index. The backend's kernel spends ~60 ns per element (1024 rows of 128 floats: 7.6 ms).
 * Any other case, and indices out of range, go to the backend's kernel (and its error).
 */
export function gatherNative(args: WasmKernelArgs, original: tf.KernelFunc): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const x = kernelInput(args.inputs, 'x', 'GatherV2');
  const indices = kernelInput(args.inputs, 'indices', 'GatherV2');
  const { axis, batchDims } = args.attrs as unknown as tf.GatherV2Attrs;
  const native = (x.dtype === 'float32' || x.dtype === 'int32') && indices.dtype === 'int32' && (batchDims ?? 0) === 0 ? nativeKernels(backend) : null;
  if (native === null) return original(args as Parameters<tf.KernelFunc>[0]);
  const rank = x.shape.length;
  const at = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(at) || at < 0 || at >= rank) return original(args as Parameters<tf.KernelFunc>[0]);
  const outer = tf.util.sizeFromShape(x.shape.slice(0, at));
  const inner = tf.util.sizeFromShape(x.shape.slice(at + 1));
  const axisSize = x.shape[at] as number;
  const count = tf.util.sizeFromShape(indices.shape);
  const out = backend.makeOutput([...x.shape.slice(0, at), ...indices.shape, ...x.shape.slice(at + 1)], x.dtype);
  if (outer * count * inner === 0) return out;
  const bad = native.gather32(heapOffset(backend, x), heapOffset(backend, indices), outer, axisSize, count, inner, heapOffset(backend, out));
  if (bad < 0) return out;
  backend.disposeData(out.dataId);
  return original(args as Parameters<tf.KernelFunc>[0]);
}

// ------------------------------------------------------------------------------------ Unique

/**
 * `Unique` of a 1-D int32 or float32 tensor by one `Map` pass over its heap values (values in order
 * of first occurrence, `indices` int32; `Map`'s SameValueZero groups -0 with 0 and NaN with NaN,
 * as the backend's string keys do). The backend's kernel builds a string key per element (1,024
 * labels: ~3 ms). Other ranks and dtypes go to the backend's kernel.
 */
export function uniqueWasm(args: WasmKernelArgs, original: tf.KernelFunc): tf.TensorInfo | tf.TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const x = kernelInput(args.inputs, 'x', 'Unique');
  if (x.shape.length !== 1 || (x.dtype !== 'int32' && x.dtype !== 'float32')) return original(args as Parameters<tf.KernelFunc>[0]);
  const n = x.shape[0] as number;
  const ids = new Map<number, number>();
  const first: number[] = [];
  const indices = backend.makeOutput([n], 'int32');
  const src = backend.typedArrayFromHeap(x);
  const at = backend.typedArrayFromHeap(indices) as Int32Array;
  for (let i = 0; i < n; i++) {
    const value = src[i] as number;
    let id = ids.get(value);
    if (id === undefined) {
      id = first.length;
      ids.set(value, id);
      first.push(value);
    }
    at[i] = id;
  }
  const values = backend.makeOutput([first.length], x.dtype);
  backend.typedArrayFromHeap(values).set(first);
  return [values, indices];
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
    // Output rows are independent: shared with the pool's worker in chunks.
    onRowChunks(backend, native, 'max_pool_grad_2x2', rows, 4 * outWidth * channels, [heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, dx), rows, outWidth, channels, 0, rows], 1);
  }
  return true;
}

// ------------------------------------------------------------------------ Conv2DBackpropFilter

/**
 * The filter gradient of an NHWC convolution (dilation 1) by the native module: register tiles of
 * input x output channels accumulate each image in float32, the images are summed in float64 (in
 * up to 8 fixed groups of the batch, shared with the pool's worker when it runs, then added in
 * order) and rounded once. `null` when the native
 * module is not available. A 3x3 "same" convolution that {@link conv3x3NativeFits} takes goes to
 * the Winograd filter gradient instead (unless `winograd` is false): 2.25x fewer products, within
 * float32 rounding of the direct sums.
 *
 * @param info - the convolution's geometry (`tf.backend_util.computeConv2DInfo`).
 * @param winograd - allow the Winograd kernel (false: always the direct one; for tests).
 * @returns `dW` `[fh, fw, inC, outC]`, owned by the caller, or `null`.
 */
export function conv2DBackpropFilterNative(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  winograd = true,
): tf.TensorInfo | null {
  const native = nativeKernels(backend);
  if (native === null) return null;
  if (winograd && conv3x3NativeFits(info)) return conv3x3FilterGradNative(backend, native, x, dy, info);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const size = filterHeight * filterWidth * inChannels * outChannels;
  const out = backend.makeOutput([filterHeight, filterWidth, inChannels, outChannels], 'float32');
  if (size === 0) return out;
  // The images in fixed groups, each summed into its own float64 accumulators (a scratch buffer of
  // the heap, 2 float32 cells per double), the groups then added in order: the pool's worker and
  // this thread take groups on demand (a late worker takes fewer), the sums are the same either way.
  const groups = Math.min(BPF_GROUPS, batchSize);
  const scratch = backend.makeOutput([2 * groups * size], 'float32');
  try {
    const cells = backend.typedArrayFromHeap(scratch);
    const acc = new Float64Array(cells.buffer, cells.byteOffset, groups * size);
    acc.fill(0);
    const args = [
      heapOffset(backend, x), heapOffset(backend, dy), cells.byteOffset, size, batchSize, groups, inHeight, inWidth, inChannels, outHeight, outWidth,
      outChannels, filterHeight, filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, 0, groups,
    ];
    const call = native.conv2d_bpf_groups as (...v: number[]) => void;
    const memory = memoryOf(backend);
    const pool = memory === undefined ? null : readyPool(memory);
    if (pool !== null && groups > 1) runChunked(pool, 'conv2d_bpf_groups', args, 18, 19, Array.from({ length: groups + 1 }, (_, c) => c), call);
    else call(...args);
    for (let g = 1; g < groups; g++) for (let i = 0; i < size; i++) acc[i] = (acc[i] as number) + (acc[g * size + i] as number);
    native.round_f64_to_f32(cells.byteOffset, heapOffset(backend, out), size);
  } finally {
    backend.disposeData(scratch.dataId);
  }
  return out;
}

// ------------------------------------------------------------------- 3x3 convolution (Winograd)

/** Tiles per block of the Winograd kernel, and the padding between its matrices (`WINO_TILES`, `WINO_PAD` of native/kernels.c). */
const WINO_TILES = 32;
const WINO_PAD = 16;
/** Fixed tile ranges of a Winograd convolution, taken on demand by the two threads (the last range
 * taken leaves the other thread waiting for at most its length). */
const WINO_CHUNKS = 32;
/** Fixed tile ranges of the Winograd filter gradient: each sums into accumulators of its own, added in float64 at the end. */
const WINO_GRAD_CHUNKS = 16;
/** Multiply-adds of the direct convolution below which XNNPACK's own kernel is used. */
const WINO_MIN_MACS = 1 << 22;

/**
 * Whether {@link conv3x3Native} takes a convolution of this geometry: NHWC 3x3, stride 1,
 * dilation 1, one pixel of padding on each side (output size = input size), input channels a
 * multiple of 4, output channels a multiple of 8, and at least 4 M multiply-adds of work.
 * @internal
 */
export function conv3x3NativeFits(info: tf.backend_util.Conv2DInfo): boolean {
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, padInfo } = info;
  return (
    info.dataFormat === 'channelsLast' &&
    filterHeight === 3 &&
    filterWidth === 3 &&
    strideHeight === 1 &&
    strideWidth === 1 &&
    dilationHeight === 1 &&
    dilationWidth === 1 &&
    padInfo.top === 1 &&
    padInfo.left === 1 &&
    info.outHeight === info.inHeight &&
    info.outWidth === info.inWidth &&
    info.inChannels % 4 === 0 &&
    info.outChannels % 8 === 0 &&
    info.inChannels > 0 &&
    info.batchSize * info.outHeight * info.outWidth * info.inChannels * info.outChannels * 9 >= WINO_MIN_MACS
  );
}

/**
 * A 3x3 "same" convolution (stride 1, NHWC) by Winograd's minimal filtering F(2x2, 3x3) (Lavin &
 * Gray 2016, "Fast Algorithms for Convolutional Neural Networks"): 16 multiplications per 2x2
 * output tile and channel pair instead of 36, as 16 matrix products over the channels in the
 * native module's register tiles, optionally adding a bias and applying ReLU. The tiles are cut
 * into fixed ranges that this thread and the pool's worker take on demand; every output depends on
 * its own tile only, so the result is the same on one or two threads. Within float32 rounding of
 * the direct convolution (the transforms add a few roundings; measured below 1e-5 relative to the
 * largest output on the reference CNN's shapes), not bit-equal to it.
 *
 * @param x - `[batch, H, W, inC]` float32 input, on the wasm heap.
 * @param filter - `[3, 3, inC, outC]` float32 (HWIO).
 * @param bias - `[outC]` float32 added to every output, or `null`.
 * @param relu - apply `max(0, ·)` after the bias.
 * @param info - the geometry (`tf.backend_util.computeConv2DInfo`); see {@link conv3x3NativeFits}.
 * @returns `[batch, H, W, outC]` float32 owned by the caller, or `null` when the native module is
 *   not available or the geometry does not fit.
 * @internal
 */
export function conv3x3Native(
  backend: WasmBackendLike,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  bias: tf.TensorInfo | null,
  relu: boolean,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | null {
  if (!conv3x3NativeFits(info)) return null;
  const native = nativeKernels(backend);
  if (native === null) return null;
  const { batchSize, inHeight, inWidth, outChannels } = info;
  const out = backend.makeOutput([batchSize, inHeight, inWidth, outChannels], 'float32');
  try {
    winograd(backend, native, x, filter, bias === null ? 0 : heapOffset(backend, bias), relu, heapOffset(backend, out), 0, info);
  } catch (error) {
    backend.disposeData(out.dataId);
    throw error;
  }
  return out;
}

/** Tile ranges of a Winograd call (at most `limit`, each at least one block of tiles). */
function winogradChunks(info: tf.backend_util.Conv2DInfo, limit = WINO_CHUNKS): number {
  const tiles = info.batchSize * Math.ceil(info.inHeight / 2) * Math.ceil(info.inWidth / 2);
  return Math.max(1, Math.min(limit, Math.ceil(tiles / WINO_TILES)));
}

/**
 * `wino_conv3x3` with its filter transform and per-range scratch (freed after), over fixed tile
 * ranges shared with the pool's worker when it runs. `biasAt`, `maskAt`: heap offsets or 0.
 */
function winograd(
  backend: WasmBackendLike,
  native: NativeExports,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  biasAt: number,
  relu: boolean,
  outAt: number,
  maskAt: number,
  info: tf.backend_util.Conv2DInfo,
): void {
  const { inChannels, outChannels } = info;
  const chunks = winogradChunks(info);
  const u = backend.makeOutput([16 * inChannels * outChannels], 'float32');
  const scratch = backend.makeOutput([chunks * 16 * (WINO_TILES * (inChannels + outChannels) + 2 * WINO_PAD)], 'float32');
  try {
    native.wino_filter(heapOffset(backend, filter), inChannels, outChannels, heapOffset(backend, u));
    const args = [
      heapOffset(backend, x), heapOffset(backend, u), biasAt, relu ? 1 : 0, outAt, maskAt,
      heapOffset(backend, scratch), info.batchSize, info.inHeight, info.inWidth, inChannels, outChannels, chunks, 0, chunks,
    ];
    const call = native.wino_conv3x3 as (...v: number[]) => void;
    const memory = memoryOf(backend);
    const pool = memory === undefined || chunks < 2 ? null : readyPool(memory);
    if (pool !== null) runChunked(pool, 'wino_conv3x3', args, 13, 14, Array.from({ length: chunks + 1 }, (_, c) => c), call);
    else call(...args);
  } finally {
    backend.disposeData(u.dataId);
    backend.disposeData(scratch.dataId);
  }
}

/** The outputs of {@link convReluPoolNative} (their data carries the window positions after the values). */
const poolBlocks = new WeakSet<object>();

/**
 * The fused block `maxPool2x2(relu(conv3x3same(x, filter) + bias))` (stride 1, valid pooling) in one
 * pass: the convolution by Winograd's F(2x2, 3x3) where {@link conv3x3NativeFits} takes it (each
 * output tile is one pooling window), else by direct sums (any input channel count, e.g. an image
 * CNN's first layer); only the pooled output and each output's window position are written, not
 * the full-resolution activations of the layer-by-layer path (four tensors of them).
 *
 * The window positions (int32: 0..3 row-major, or -1 where the output is 0 and passes no gradient)
 * live in the same heap block as the output, after its values, so they go wherever the output's
 * data goes (the engine's saved copy for the backward pass shares it) and are freed with it; a
 * second output would make the engine build a host array of zeros for its gradient at every step.
 *
 * @param x - `[batch, H, W, inC]` float32, `H, W >= 2`.
 * @param filter - `[3, 3, inC, outC]` float32, `outC` a multiple of 8.
 * @param bias - `[outC]` float32.
 * @returns `y` `[batch, H / 2, W / 2, outC]` float32 owned by the caller, or `null` when the native
 *   module is not available or the shapes do not fit.
 * @internal
 */
export function convReluPoolNative(backend: WasmBackendLike, x: tf.TensorInfo, filter: tf.TensorInfo, bias: tf.TensorInfo): tf.TensorInfo | null {
  if (x.shape.length !== 4 || filter.shape.length !== 4 || x.dtype !== 'float32' || filter.dtype !== 'float32' || bias.dtype !== 'float32') return null;
  const [batch, height, width, inC] = x.shape as [number, number, number, number];
  const [fh, fw, filterIn, outC] = filter.shape as [number, number, number, number];
  if (fh !== 3 || fw !== 3 || filterIn !== inC || outC % 8 !== 0 || outC === 0 || inC === 0 || height < 2 || width < 2 || bias.shape.length !== 1 || bias.shape[0] !== outC) return null;
  const native = nativeKernels(backend);
  const heap = (backend as unknown as { wasm?: { _malloc?: (bytes: number) => number } }).wasm;
  if (native === null || typeof heap?._malloc !== 'function') return null;
  const pooledShape = [batch, Math.floor(height / 2), Math.floor(width / 2), outC];
  const size = pooledShape.reduce((a, b) => a * b, 1);
  // One block: the values, then the window positions (freed together by disposeData).
  const y = backend.makeOutput(pooledShape, 'float32', heap._malloc(Math.max(8, 8 * size)));
  poolBlocks.add(y.dataId);
  if (size === 0) return y;
  const yAt = heapOffset(backend, y);
  const maskAt = yAt + 4 * size;
  const info = tf.backend_util.computeConv2DInfo([batch, height, width, inC], [3, 3, inC, outC], 1, 1, 'same');
  try {
    if (conv3x3NativeFits(info)) {
      winograd(backend, native, x, filter, heapOffset(backend, bias), true, yAt, maskAt, info);
    } else {
      // The direct sums read a zero-padded copy of the input (no bounds checks in their loop).
      const padded = backend.makeOutput([batch, height + 2, width + 2, inC], 'float32');
      try {
        const paddedAt = heapOffset(backend, padded);
        const paddedRows = batch * (height + 2);
        native.pad_images(heapOffset(backend, x), paddedAt, height, width, inC, 0, paddedRows); // a copy: not worth waking the worker
        const rows = batch * (pooledShape[1] as number);
        const args = [paddedAt, heapOffset(backend, filter), heapOffset(backend, bias), yAt, maskAt, height, width, inC, outC, 0, rows];
        onRowChunks(backend, native, 'conv3x3_pool_direct', rows, (pooledShape[2] as number) * outC * inC * 36, args, 1);
      } finally {
        backend.disposeData(padded.dataId);
      }
    }
  } catch (error) {
    backend.disposeData(y.dataId);
    throw error;
  }
  return y;
}

/** Heap offset of the window positions carried by a {@link convReluPoolNative} output (after its values). */
function poolMaskAt(backend: WasmBackendLike, y: tf.TensorInfo): number {
  if (!poolBlocks.has(y.dataId)) throw new Error('the fused conv block\'s gradient needs its own output (a copy of it has lost the pooling positions)');
  return heapOffset(backend, y) + 4 * y.shape.reduce((a, b) => a * b, 1);
}

/**
 * The gradient of {@link convReluPoolNative}'s block before its convolution: `dPre` `[batch, H, W,
 * outC]` holds `dy` at each window's recorded position and 0 elsewhere (so the bias gradient is its
 * sum, and the filter and input gradients are the convolution's on it).
 *
 * @param dy - `[batch, H / 2, W / 2, outC]` float32, the pooled output's gradient.
 * @param y - the block's output (or a tensor sharing its data), which carries the window positions.
 * @param height - `H`.
 * @param width - `W`.
 * @returns `dPre`, owned by the caller, or `null` when the native module is not available.
 * @throws Error when `y` is not an output of {@link convReluPoolNative} (a copy of it has lost the positions).
 * @internal
 */
export function poolReluGradNative(backend: WasmBackendLike, dy: tf.TensorInfo, y: tf.TensorInfo, height: number, width: number): tf.TensorInfo | null {
  const maskAt = poolMaskAt(backend, y);
  const native = nativeKernels(backend);
  if (native === null) return null;
  const [batch, , , outC] = dy.shape as [number, number, number, number];
  const out = backend.makeOutput([batch, height, width, outC], 'float32');
  const rows = batch * height;
  if (rows > 0 && outC > 0) {
    onRowChunks(backend, native, 'pool_relu_grad', rows, width * outC, [heapOffset(backend, dy), maskAt, heapOffset(backend, out), height, width, outC, 0, rows], 1);
  }
  return out;
}

/**
 * The filter gradient of a 3x3 "same" convolution by Winograd's F(2x2, 3x3) (Lavin & Gray 2016):
 * with `M = V ⊙ U` per tile and `y = Aᵀ M A`, `dU_ξ = Σ_tiles V_ξᵀ · (A dY Aᵀ)_ξ` and
 * `dW = Gᵀ dU G`. The tiles are cut into the fixed ranges of {@link conv3x3Native}, each summed in
 * float32 into its own accumulators (taken on demand by this thread and the pool's worker); the
 * ranges are added in order in float64 and transformed back once, so the result does not depend
 * on the threads.
 */
function conv3x3FilterGradNative(
  backend: WasmBackendLike,
  native: NativeExports,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outChannels } = info;
  const chunks = winogradChunks(info, WINO_GRAD_CHUNKS);
  const perChunk = 16 * (WINO_TILES * (inChannels + outChannels) + 2 * WINO_PAD) + 16 * inChannels * outChannels;
  const out = backend.makeOutput([3, 3, inChannels, outChannels], 'float32');
  const scratch = backend.makeOutput([chunks * perChunk], 'float32');
  try {
    const args = [heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, scratch), batchSize, inHeight, inWidth, inChannels, outChannels, chunks, 0, chunks];
    const call = native.wino_filter_grad as (...v: number[]) => void;
    const memory = memoryOf(backend);
    const pool = memory === undefined || chunks < 2 ? null : readyPool(memory);
    if (pool !== null) runChunked(pool, 'wino_filter_grad', args, 9, 10, Array.from({ length: chunks + 1 }, (_, c) => c), call);
    else call(...args);
    native.wino_filter_grad_finish(heapOffset(backend, scratch), chunks, inChannels, outChannels, heapOffset(backend, out));
  } catch (error) {
    backend.disposeData(out.dataId);
    throw error;
  } finally {
    backend.disposeData(scratch.dataId);
  }
  return out;
}

/**
 * The bias gradient of {@link convReluPoolNative}'s block: per output channel, the sum of `dy` over
 * the pooled outputs whose window passed a gradient (= the sum of `dPre`, read from the pooled
 * tensors, 4x smaller); float64 sums in position order, rounded once.
 *
 * @param dy - `[batch, H / 2, W / 2, outC]` float32.
 * @param y - the block's output (or a tensor sharing its data), which carries the window positions.
 * @returns `[outC]` float32 owned by the caller, or `null` when the native module is not available.
 * @throws Error when `y` is not an output of {@link convReluPoolNative}.
 * @internal
 */
export function poolBiasGradNative(backend: WasmBackendLike, dy: tf.TensorInfo, y: tf.TensorInfo): tf.TensorInfo | null {
  const maskAt = poolMaskAt(backend, y);
  const native = nativeKernels(backend);
  if (native === null) return null;
  const outC = dy.shape[3] as number;
  const count = (dy.shape[0] as number) * (dy.shape[1] as number) * (dy.shape[2] as number);
  const out = backend.makeOutput([outC], 'float32');
  const acc = backend.makeOutput([2 * outC], 'float32');
  try {
    native.pool_bias_grad(heapOffset(backend, dy), maskAt, heapOffset(backend, acc), count, outC, heapOffset(backend, out));
  } finally {
    backend.disposeData(acc.dataId);
  }
  return out;
}

// ------------------------------------------------------------------------- bilinear crop-resize

/**
 * The sample lines of one axis of {@link bilinearCropNative}, `boxes · out` entries each (box-major):
 * the lower and upper source line of every output line (`-1`: outside the image, a line of zeros)
 * and its interpolation weight.
 * @category Backend
 */
export interface CropLines {
  readonly low: Int32Array;
  readonly high: Int32Array;
  readonly weight: Float32Array;
}

function checkLines(lines: unknown, count: number, size: number, argument: string, fn: string): asserts lines is CropLines {
  if (lines === null || typeof lines !== 'object') bad('INVALID_ARGUMENT', argument, fn, 'an object { low, high, weight }', String(lines));
  const { low, high, weight } = lines as Partial<CropLines>;
  for (const [name, array, type] of [['low', low, Int32Array], ['high', high, Int32Array], ['weight', weight, Float32Array]] as const) {
    if (!(array instanceof type) || array.length !== count) {
      bad('INVALID_ARGUMENT', `${argument}.${name}`, fn, `an ${type.name} of ${count} entries`, array instanceof Object ? `${array.constructor.name} of ${(array as { length?: number }).length}` : String(array));
    }
  }
  for (const [name, array] of [['low', low], ['high', high]] as const) {
    const lines = array as Int32Array;
    let lowest = -1;
    let highest = -1;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as number;
      if (line < lowest) lowest = line;
      if (line > highest) highest = line;
    }
    if (lowest < -1 || highest >= size) bad('INVALID_ARGUMENT', `${argument}.${name}`, fn, `lines in [-1, ${size - 1}]`, String(lowest < -1 ? lowest : highest));
  }
}

/**
 * Bilinear crop-and-resize of images from host-computed sample lines in one native pass on the wasm
 * backend's heap (native/kernels.c `bilinear_crop`): for box `b`, output `(oy, ox)`, with the column
 * lines `cl`, `ch`, weight `wx` and the row lines `rl`, `rh`, weight `wy`, in float32
 * `mixed(r) = L + (R − L) wx`, `out = top + (bottom − top) wy` with `top = mixed(rl)`,
 * `bottom = mixed(rh)` (lines of `-1` read zeros) — TensorFlow's interpolation order (columns first),
 * the same values bit for bit as the copy-and-interpolate tensor ops of augment's
 * `cropAndResizeExact`, which calls it (SimCLR's random resized crop, Chen et al. 2020).
 *
 * @param images - `[n, H, W, C]` float32 (borrowed).
 * @param sources - the image of every box, `boxes` integers in `[0, n)`.
 * @param rows - the row lines, `boxes · outHeight` entries, lines in `[-1, H - 1]`.
 * @param columns - the column lines, `boxes · outWidth` entries, lines in `[-1, W - 1]`.
 * @param size - `[outHeight, outWidth]`, positive integers.
 * @returns `[boxes, outHeight, outWidth, C]` float32, owned by the caller, or `null` off the wasm
 *   backend with the native kernels (the caller then runs the tensor ops).
 * @throws {@link ContrastiveError} naming the argument: `images` not a float32 4-D tensor, `size` not
 *   two positive integers, `sources` out of range, line arrays of the wrong type, length or range.
 * @category Backend
 */
export function bilinearCropNative(images: tf.Tensor4D, sources: ArrayLike<number>, rows: CropLines, columns: CropLines, size: readonly [number, number]): tf.Tensor4D | null {
  const fn = 'bilinearCropNative';
  if (!(images instanceof tf.Tensor) || images.isDisposed) bad('INVALID_ARGUMENT', 'images', fn, 'a live tf.Tensor', describeTensor(images));
  if (images.rank !== 4) bad('SHAPE_MISMATCH', 'images', fn, 'a 4-D tensor [n, H, W, C]', describeTensor(images));
  if (images.dtype !== 'float32') bad('DTYPE_MISMATCH', 'images', fn, 'float32', describeTensor(images));
  if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v > 0)) bad('INVALID_ARGUMENT', 'size', fn, '[outHeight, outWidth], positive integers', String(size));
  const [n, height, width, channels] = images.shape;
  const [outHeight, outWidth] = size;
  if (sources === null || typeof sources !== 'object' || typeof sources.length !== 'number') bad('INVALID_ARGUMENT', 'sources', fn, 'an array of image indices', String(sources));
  const boxes = sources.length;
  for (let b = 0; b < boxes; b++) {
    const source = sources[b] as number;
    if (!Number.isInteger(source) || source < 0 || source >= n) bad('INVALID_ARGUMENT', 'sources', fn, `integers in [0, ${n})`, String(source));
  }
  checkLines(rows, boxes * outHeight, height, 'rows', fn);
  checkLines(columns, boxes * outWidth, width, 'columns', fn);
  const active = activeNative();
  if (active === null) return null;
  const { backend, native } = active;
  const out = backend.makeOutput([boxes, outHeight, outWidth, channels], 'float32');
  const scratch: tf.TensorInfo[] = [];
  const onHeap = (values: Int32Array | Float32Array): number => {
    const info = backend.makeOutput([Math.max(1, values.length)], values instanceof Int32Array ? 'int32' : 'float32');
    scratch.push(info);
    backend.typedArrayFromHeap(info).set(values);
    return heapOffset(backend, info);
  };
  try {
    if (boxes * channels > 0) {
      const args = [
        heapOffset(backend, images), height, width, channels, onHeap(Int32Array.from(sources)), onHeap(rows.low), onHeap(rows.high), onHeap(rows.weight),
        onHeap(columns.low), onHeap(columns.high), onHeap(columns.weight), outHeight, outWidth, heapOffset(backend, out), 0, boxes,
      ];
      onRowChunks(backend, native, 'bilinear_crop', boxes, outHeight * outWidth * channels, args, 1);
    }
  } catch (error) {
    backend.disposeData(out.dataId);
    throw error;
  } finally {
    for (const info of scratch) backend.disposeData(info.dataId);
  }
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor4D;
}

// ------------------------------------------------------------------------------------ Adam

/** The float32 scalars of one Adam step (see {@link adamUpdateNative}). @internal */
export interface AdamScalars {
  /** β₁, β₂ and `1 - β₁`, `1 - β₂` (each rounded to float32 by the call). */
  readonly beta1: number;
  readonly oneMinusBeta1: number;
  readonly beta2: number;
  readonly oneMinusBeta2: number;
  readonly epsilon: number;
  /** `-learningRate`. */
  readonly negLearningRate: number;
}

/**
 * One Adam step (Kingma & Ba 2015) of one variable by the native module, in tfjs-core's order of
 * float32 operations (native/kernels.c `adam_update`, the bias corrections `1 - βᵗ` from the
 * accumulators on the heap): the new value, first and second moments as new buffers, the elements
 * shared with the pool's worker in ranges when it runs. `null` when the native module is not
 * available.
 *
 * @param value - the variable's values, float32, any shape.
 * @param m - first moments, same size.
 * @param v - second moments, same size.
 * @param gradient - the gradient, same size.
 * @param accBeta1 - the optimizer's float32 scalar `β₁ᵗ`.
 * @param accBeta2 - the optimizer's float32 scalar `β₂ᵗ`.
 * @returns `[value', m', v']`, owned by the caller, or `null`.
 * @internal
 */
export function adamUpdateNative(
  backend: WasmBackendLike,
  value: tf.TensorInfo,
  m: tf.TensorInfo,
  v: tf.TensorInfo,
  gradient: tf.TensorInfo,
  accBeta1: tf.TensorInfo,
  accBeta2: tf.TensorInfo,
  scalars: AdamScalars,
): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] | null {
  const native = nativeKernels(backend);
  if (native === null) return null;
  const size = value.shape.reduce((a, b) => a * b, 1);
  const outs = [backend.makeOutput([...value.shape], 'float32'), backend.makeOutput([...value.shape], 'float32'), backend.makeOutput([...value.shape], 'float32')] as const;
  if (size > 0) {
    const { beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, negLearningRate } = scalars;
    const args = [
      heapOffset(backend, value), heapOffset(backend, m), heapOffset(backend, v), heapOffset(backend, gradient),
      heapOffset(backend, outs[0]), heapOffset(backend, outs[1]), heapOffset(backend, outs[2]), heapOffset(backend, accBeta1), heapOffset(backend, accBeta2),
      beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, negLearningRate, 0, size,
    ];
    onRowChunks(backend, native, 'adam_update', size, 1, args);
  }
  return [outs[0], outs[1], outs[2]];
}

// ---------------------------------------------------------------------------- InfoNCE rows

/** Which row loss {@link infoNceRowsNative} computes. @category Backend */
export type NativeRowLoss = 'supcon' | 'ntxent';

/**
 * Each native forward block's row log-sum-exps, keyed by the block's data (tensors are immutable,
 * and an entry goes with its block): the gradient pass over the same block reuses them instead of
 * two more passes per row (its max and its sum of exponentials).
 */
const rowLse = new WeakMap<object, { kind: NativeRowLoss; rows: Int32Array; cols: Int32Array; selfStart: number; lse: Float32Array }>();

function sameInts(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Rows × columns below which a row kernel runs on one thread (the hand-off costs more). */
const POOL_MIN_ELEMENTS = 1 << 16;

/**
 * Row ranges for a chunked pool call (`work(row)`: the work of rows [0, row)), bounds multiples of
 * `multiple`: `chunks` ranges whose work shrinks linearly from about 2 / chunks of the total to
 * 1 / chunks² (as native/kernels.c's guided_start). The two threads take them in order, so the last
 * ones, which decide how long one thread waits for the other, are short.
 */
function rowBounds(n: number, chunks: number, work: (row: number) => number = (row) => row, multiple = 4): number[] {
  const total = work(n);
  const bounds = [0];
  const all = chunks * chunks;
  for (let c = 1; c < chunks; c++) {
    // The first row at which the cumulative work reaches 1 - (1 - c / chunks)² of the total.
    const reach = all - (chunks - c) * (chunks - c);
    let lo = bounds[bounds.length - 1] as number;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (work(mid) * all < total * reach) lo = mid + 1;
      else hi = mid;
    }
    const at = Math.min(n, Math.max(bounds[bounds.length - 1] as number, multiple * Math.round(lo / multiple)));
    if (at > (bounds[bounds.length - 1] as number) && at < n) bounds.push(at);
  }
  bounds.push(n);
  return bounds;
}

/** Ranges a pooled row kernel is cut into: enough for the two threads to even out. */
const POOL_CHUNKS = 32;

/**
 * Run a per-row kernel whose last two arguments are its row range `[start, end)` over all `n`
 * rows, in chunks shared with the pool's worker when it runs (`runChunked`): each row is computed
 * alone, so the result does not depend on the thread count.
 */
function onRowChunks(
  backend: WasmBackendLike,
  native: NativeExports,
  fn: 'info_nce_rows' | 'info_nce_row_grads' | 'debiased_rows' | 'debiased_row_grads' | 'add_transpose' | 'transpose32_rows' | 'gemm_mirror' | 'euclid_grad_sym' | 'contrastive_self_rows' | 'contrastive_self_backward' | 'max_pool_grad_2x2' | 'conv3x3_pool_direct' | 'pool_relu_grad' | 'adam_update' | 'bilinear_crop',
  n: number,
  m: number,
  args: number[],
  multiple = 4,
): void {
  const memory = memoryOf(backend);
  const pool = memory === undefined || n * m < POOL_MIN_ELEMENTS || n < 16 ? null : readyPool(memory);
  const call = native[fn] as (...values: number[]) => void;
  if (pool === null) {
    call(...args);
    return;
  }
  runChunked(pool, fn, args, args.length - 2, args.length - 1, rowBounds(n, POOL_CHUNKS, undefined, multiple), call);
}

/** Whether the native kernels run on the active backend. @internal */
export function nativeActive(): boolean {
  return activeNative() !== null;
}

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
  checkRowBlock(fn, block, rowIds, colIds, selfStart);
}

/** A row kernel's logits `[n, m]`, its row and column ids and its self offset. */
function checkRowBlock(fn: string, block: unknown, rowIds: unknown, colIds: unknown, selfStart: unknown): void {
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
    const lse = backend.makeOutput([n], 'float32');
    try {
      const s = heapOffset(backend, block);
      const rows = heapOffset(backend, rowIds);
      const cols = heapOffset(backend, colIds);
      const o = heapOffset(backend, out);
      const l = heapOffset(backend, lse);
      onRowChunks(backend, native, 'info_nce_rows', n, m, [kind === 'supcon' ? 0 : 1, s, rows, cols, n, m, selfStart, o, l, 0, n]);
      rowLse.set(block.dataId, {
        kind,
        rows: Int32Array.from(backend.typedArrayFromHeap(rowIds) as Int32Array),
        cols: Int32Array.from(backend.typedArrayFromHeap(colIds) as Int32Array),
        selfStart,
        lse: Float32Array.from(backend.typedArrayFromHeap(lse) as Float32Array),
      });
    } finally {
      backend.disposeData(lse.dataId);
    }
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
    // The rows' log-sum-exp from the forward pass over this very block, when it ran natively.
    const known = rowLse.get(block.dataId);
    const reuse =
      known !== undefined && known.kind === kind && known.selfStart === selfStart &&
      sameInts(known.rows, backend.typedArrayFromHeap(rowIds) as Int32Array) && sameInts(known.cols, backend.typedArrayFromHeap(colIds) as Int32Array);
    const lse = reuse ? backend.makeOutput([n], 'float32') : null;
    try {
      if (lse !== null) (backend.typedArrayFromHeap(lse) as Float32Array).set(known?.lse as Float32Array);
      const s = heapOffset(backend, block);
      const rows = heapOffset(backend, rowIds);
      const cols = heapOffset(backend, colIds);
      const d = heapOffset(backend, dRow);
      const g = heapOffset(backend, out);
      const l = lse === null ? 0 : heapOffset(backend, lse);
      onRowChunks(backend, native, 'info_nce_row_grads', n, m, [kind === 'supcon' ? 0 : 1, s, rows, cols, n, m, selfStart, d, g, l, 0, n]);
    } finally {
      if (lse !== null) backend.disposeData(lse.dataId);
    }
  }
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor2D;
}

/**
 * The settings of {@link debiasedRowsNative}: those of `hardNegativeLoss` (Robinson et al. 2021)
 * and `debiasedContrastiveLoss` (Chuang et al. 2020) in `@contrastive/losses`.
 * @category Backend
 */
export interface DebiasedRowOptions {
  /** Concentration β ≥ 0 of the importance weights `exp(β·x)` (0: the debiased loss). */
  readonly beta: number;
  /** Class prior τ+ in `[0, 1)` (0: no debiasing). */
  readonly tauPlus: number;
  /** Floor the negative term at `N·e^(−1/τ)` (`torch.clamp`, no gradient there). */
  readonly clamp: boolean;
  /** The temperature τ > 0 the logits were divided by (only the floor `−1/τ` uses it). */
  readonly temperature: number;
}

function checkDebiasedOptions(options: unknown, fn: string): DebiasedRowOptions {
  if (options === null || typeof options !== 'object') bad('INVALID_ARGUMENT', 'options', fn, 'an object', String(options));
  const { beta, tauPlus, clamp, temperature } = options as Record<string, unknown>;
  assertNumber(beta, 'options.beta', fn, { min: 0 });
  assertNumber(tauPlus, 'options.tauPlus', fn, { min: 0, max: 1, exclusiveMax: true });
  assertOneOf(clamp, [true, false], 'options.clamp', fn);
  assertNumber(temperature, 'options.temperature', fn, { min: 0, exclusiveMin: true });
  return { beta, tauPlus, clamp, temperature };
}

/** The kernels' scalar arguments: β, log τ+, log(1 − τ+), the floor −1/τ, the flags. */
function debiasedScalars(o: DebiasedRowOptions): number[] {
  return [o.beta, o.tauPlus > 0 ? Math.log(o.tauPlus) : 0, Math.log1p(-o.tauPlus), -1 / o.temperature, (o.clamp ? 1 : 0) | (o.tauPlus > 0 ? 2 : 0)];
}

/**
 * Row losses of the hard-negative (Robinson et al. 2021, "Contrastive Learning with Hard Negative
 * Samples") and debiased (Chuang et al. 2020, "Debiased Contrastive Learning") objectives in one
 * native pass per row (the wasm backend only; `null` elsewhere, where `@contrastive/losses`
 * computes them with tensor ops, the reference these equal within 1e-5). `block` holds the logits
 * `x = similarity / τ`, `[n, m]`; the negatives of row i are its columns of another id (N of them),
 * its positives the same-id columns but its own (`selfStart + i`; `-1`: none). With
 * `E = log Σ_neg e^((β+1)x) − log Σ_neg e^(βx)` (β = 0: `log Σ_neg e^x − log N`), each positive p
 * has `u = x_p − E + log τ+`, `log Ng = E + log(1 − e^u) − log(1 − τ+)` (the debiased estimate,
 * floored at `−1/τ` with `clamp`, or counted 0 when ≤ 0 without), `z_p = log N + log Ng − x_p`,
 * and `loss_i = [N > 0] Σ_p softplus(z_p)`. A NaN logit gives a NaN row.
 *
 * @param block - `[n, m]` float32 logits (borrowed).
 * @param rowIds - `[n]` int32 label ids of the rows.
 * @param colIds - `[m]` int32 label ids of the columns.
 * @param selfStart - row i's own column is `selfStart + i`; `-1` when the columns are other rows.
 * @param options - β, τ+, clamp and τ ({@link DebiasedRowOptions}).
 * @returns `[n]` float32 owned by the caller, or `null` when the native kernels do not run here.
 * @throws {@link ContrastiveError} naming the argument: `block` not a float32 matrix, ids not int32
 *   of `n` / `m` entries, `selfStart` out of range, an option out of range.
 * @category Backend
 */
export function debiasedRowsNative(block: tf.Tensor2D, rowIds: tf.Tensor1D, colIds: tf.Tensor1D, selfStart: number, options: DebiasedRowOptions): tf.Tensor1D | null {
  const fn = 'debiasedRowsNative';
  checkRowBlock(fn, block, rowIds, colIds, selfStart);
  const settings = checkDebiasedOptions(options, fn);
  const active = activeNative();
  if (active === null) return null;
  const [n, m] = block.shape;
  const { backend, native } = active;
  const out = backend.makeOutput([n], 'float32');
  if (n > 0 && m > 0) {
    onRowChunks(backend, native, 'debiased_rows', n, m, [
      heapOffset(backend, block), heapOffset(backend, rowIds), heapOffset(backend, colIds), n, m, selfStart, ...debiasedScalars(settings), heapOffset(backend, out), 0, n,
    ]);
  } else if (n > 0) {
    backend.typedArrayFromHeap(out).fill(0);
  }
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor1D;
}

/**
 * `dRow_i · d loss_i / d x_ij` of {@link debiasedRowsNative}'s losses, `[n, m]` (the closed form:
 * the softmax derivative of E on the negatives, `−dRow_i·w_p·(1 + r_p)` on the positives, with
 * `w_p = sigmoid(z_p)` and `r_p = e^u/(1 − e^u)` where the estimate is used), or `null` off the
 * wasm backend.
 *
 * @throws {@link ContrastiveError} as {@link debiasedRowsNative}, and for `dRow` not float32 `[n]`.
 * @category Backend
 */
export function debiasedRowGradsNative(
  block: tf.Tensor2D,
  rowIds: tf.Tensor1D,
  colIds: tf.Tensor1D,
  selfStart: number,
  options: DebiasedRowOptions,
  dRow: tf.Tensor1D,
): tf.Tensor2D | null {
  const fn = 'debiasedRowGradsNative';
  checkRowBlock(fn, block, rowIds, colIds, selfStart);
  const settings = checkDebiasedOptions(options, fn);
  const [n, m] = block.shape;
  checkVector(dRow, 'float32', n, 'dRow', fn);
  const active = activeNative();
  if (active === null) return null;
  const { backend, native } = active;
  const out = backend.makeOutput([n, m], 'float32');
  if (n * m > 0) {
    onRowChunks(backend, native, 'debiased_row_grads', n, m, [
      heapOffset(backend, block), heapOffset(backend, rowIds), heapOffset(backend, colIds), n, m, selfStart, ...debiasedScalars(settings),
      heapOffset(backend, dRow), heapOffset(backend, out), 0, n,
    ]);
  }
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor2D;
}

/**
 * `g + hᵀ` of square float32 matrices (`h` defaults to `g`: `g + gᵀ`) in one tiled pass on the wasm
 * backend, or `null` elsewhere. The gradient of a function of `A·Aᵀ` with respect to `A` is
 * `(G + Gᵀ)·A`; a symmetric cross-entropy over `S` and `Sᵀ` (CLIP, Radford et al. 2021) adds its
 * column direction's gradient transposed.
 *
 * @param g - `[n, n]` float32.
 * @param h - `[n, n]` float32, transposed before the sum. @defaultValue `g`
 * @returns `[n, n]`, owned by the caller, or `null` when the native kernels do not run here.
 * @throws {@link ContrastiveError} naming `g` or `h` when it is not a square float32 matrix, or
 *   (`SHAPE_MISMATCH`) `h` when its size differs from `g`'s.
 * @category Backend
 */
export function addTransposeNative(g: tf.Tensor2D, h: tf.Tensor2D = g): tf.Tensor2D | null {
  checkFloatMatrix(g, 'g', 'addTransposeNative');
  const [n, m] = g.shape;
  if (n !== m) bad('SHAPE_MISMATCH', 'g', 'addTransposeNative', 'a square matrix', describeTensor(g));
  if (h !== g) {
    checkFloatMatrix(h, 'h', 'addTransposeNative');
    if (h.shape[0] !== n || h.shape[1] !== n) bad('SHAPE_MISMATCH', 'h', 'addTransposeNative', `[${n}, ${n}] (as g)`, describeTensor(h));
  }
  const active = activeNative();
  if (active === null) return null;
  const { backend, native } = active;
  const out = backend.makeOutput([n, n], 'float32');
  if (n > 0) onRowChunks(backend, native, 'add_transpose', n, n, [heapOffset(backend, g), heapOffset(backend, h), heapOffset(backend, out), n, 0, n], 16);
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

// ---------------------------------------------------------------------- euclidean distances

/**
 * `sqrt(relu((sqL_i + sqR_j) - 2 g_ij))` of a Gram block `g` `[n, m]` in one native pass (the
 * Euclidean distance matrix; with `selfDiag` the diagonal times 0), or `null` off the wasm backend.
 * The float operations are those of the tensor ops it replaces, in the same order.
 * @internal
 */
export function euclidFinishNative(g: tf.Tensor2D, sqL: tf.Tensor1D, sqR: tf.Tensor1D, selfDiag: boolean): tf.Tensor2D | null {
  const active = activeNative();
  if (active === null) return null;
  const { backend, native } = active;
  const [n, m] = g.shape;
  const out = backend.makeOutput([n, m], 'float32');
  if (n * m > 0) native.euclid_finish(heapOffset(backend, g), heapOffset(backend, sqL), heapOffset(backend, sqR), n, m, selfDiag ? 1 : 0, heapOffset(backend, out));
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor2D;
}

/**
 * The gradient of {@link euclidFinishNative}'s output `d` with respect to the value under its
 * root: `d > 0 ? dy / (2 d) : 0` (`safeSqrt`'s gradient; with `selfDiag` the diagonal's `dy` times
 * 0), `[n, m]`, or `null` off the wasm backend.
 * @internal
 */
export function euclidFinishGradNative(d: tf.Tensor2D, dy: tf.Tensor2D, selfDiag: boolean): tf.Tensor2D | null {
  const active = activeNative();
  if (active === null) return null;
  const { backend, native } = active;
  const [n, m] = d.shape;
  const out = backend.makeOutput([n, m], 'float32');
  if (n * m > 0) native.euclid_finish_grad(heapOffset(backend, d), heapOffset(backend, dy), n, m, selfDiag ? 1 : 0, heapOffset(backend, out));
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor2D;
}

/**
 * For the Euclidean matrix `d` of a set with itself: `dS + dSᵀ` (`[n, n]`) of
 * {@link euclidFinishGradNative}'s `dS` and its row sums (`[n]`) in one blocked pass, rows shared
 * with the second thread; `null` off the wasm backend.
 * @internal
 */
export function euclidGradSymNative(d: tf.Tensor2D, dy: tf.Tensor2D): { sym: tf.Tensor2D; rowSums: tf.Tensor1D } | null {
  const active = activeNative();
  if (active === null) return null;
  const { backend, native } = active;
  const n = d.shape[0];
  const sym = backend.makeOutput([n, n], 'float32');
  const rowSums = backend.makeOutput([n], 'float32');
  if (n > 0) {
    onRowChunks(backend, native, 'euclid_grad_sym', n, n, [heapOffset(backend, d), heapOffset(backend, dy), n, heapOffset(backend, sym), heapOffset(backend, rowSums), 0, n]);
  }
  const engine = tf.engine();
  return { sym: engine.makeTensorFromTensorInfo(sym) as tf.Tensor2D, rowSums: engine.makeTensorFromTensorInfo(rowSums) as tf.Tensor1D };
}

// ------------------------------------------------------------------------------- row mining

/**
 * The flat index of the first NaN or infinity of a float32 tensor, `-1` when every value is
 * finite, or `null` off the wasm backend (the caller then reads the values). One SIMD pass on the
 * backend's heap: nothing is copied to JavaScript.
 *
 * @param x - float32 tensor of any shape (borrowed).
 * @throws {@link ContrastiveError} naming `x` when it is not a live float32 tensor.
 * @category Backend
 */
export function firstNonFiniteNative(x: tf.Tensor): number | null {
  const fn = 'firstNonFiniteNative';
  if (!(x instanceof tf.Tensor) || x.isDisposed) bad('INVALID_ARGUMENT', 'x', fn, 'a live tf.Tensor', describeTensor(x));
  if (x.dtype !== 'float32') bad('DTYPE_MISMATCH', 'x', fn, 'float32', describeTensor(x));
  const active = activeNative();
  if (active === null) return null;
  if (x.size === 0) return -1;
  return active.native.first_non_finite(heapOffset(active.backend, x), x.size);
}

/** What {@link pickRowsNative} picks in each row. @category Backend */
export interface RowPickOptions {
  /** `'positive'`: columns of the row's label (not the row's own when `selfPairs`); `'negative'`: the other labels. */
  readonly side: 'positive' | 'negative';
  /** Take the candidate of the largest or the smallest distance. */
  readonly extreme: 'largest' | 'smallest';
  /** The matrix compares a set with itself: column `i` is row `i`'s own and never its positive. */
  readonly selfPairs: boolean;
  /** The matrix holds similarities: distances are the negated values. */
  readonly isSimilarity: boolean;
  /** Only raw values in `[low, high]` (inclusive) are candidates. @defaultValue no bound */
  readonly range?: readonly [number, number];
  /**
   * Per row, a distance the pick must be strictly below (`'largest'`) or above (`'smallest'`):
   * the semi-hard condition. `[n]` values (float32 when they come from another pick).
   */
  readonly thresholds?: ArrayLike<number>;
}

/** The result of {@link pickRowsNative}: per row, the picked column (`-1`: no candidate) and its distance. @category Backend */
export interface RowPicksNative {
  readonly index: Int32Array;
  readonly value: Float32Array;
}

/**
 * One pick per row of an `[n, m]` distance or similarity matrix on the wasm backend's heap — the
 * batch-hard / easy / semi-hard selections of Hermans et al. 2017 and Xuan et al. 2020 as
 * pytorch-metric-learning's `BatchHardMiner` / `BatchEasyHardMiner` — without reading the matrix to
 * JavaScript: only the `[n]` picks are copied. Ties keep the first column; NaN is never picked.
 *
 * @param matrix - `[n, m]` float32 (borrowed).
 * @param labels - `[n]` int32 labels of the rows (borrowed).
 * @param refLabels - `[m]` int32 labels of the columns (borrowed).
 * @param options - side, extreme, self pairs, similarity, range and thresholds.
 * @returns the picks, or `null` off the wasm backend (the caller then scans a host copy).
 * @throws {@link ContrastiveError} naming the argument: `matrix` not a float32 matrix, labels not
 *   int32 of `n` / `m` entries, a bad `side` / `extreme`, `range` not `[low, high]`, `thresholds`
 *   not of `n` entries.
 * @category Backend
 */
export function pickRowsNative(matrix: tf.Tensor2D, labels: tf.Tensor1D, refLabels: tf.Tensor1D, options: RowPickOptions): RowPicksNative | null {
  const fn = 'pickRowsNative';
  checkFloatMatrix(matrix, 'matrix', fn);
  const [n, m] = matrix.shape;
  checkVector(labels, 'int32', n, 'labels', fn);
  checkVector(refLabels, 'int32', m, 'refLabels', fn);
  if (options === null || typeof options !== 'object') bad('INVALID_ARGUMENT', 'options', fn, 'an object', String(options));
  const { side, extreme, selfPairs, isSimilarity, range, thresholds } = options;
  if (side !== 'positive' && side !== 'negative') bad('INVALID_ARGUMENT', 'options.side', fn, "'positive' or 'negative'", String(side));
  if (extreme !== 'largest' && extreme !== 'smallest') bad('INVALID_ARGUMENT', 'options.extreme', fn, "'largest' or 'smallest'", String(extreme));
  if (typeof selfPairs !== 'boolean') bad('INVALID_ARGUMENT', 'options.selfPairs', fn, 'a boolean', String(selfPairs));
  if (typeof isSimilarity !== 'boolean') bad('INVALID_ARGUMENT', 'options.isSimilarity', fn, 'a boolean', String(isSimilarity));
  if (selfPairs && n > m) bad('SHAPE_MISMATCH', 'matrix', fn, 'at least as many columns as rows with selfPairs', describeTensor(matrix));
  if (range !== undefined && !(Array.isArray(range) && range.length === 2 && !Number.isNaN(range[0]) && !Number.isNaN(range[1]) && (range[0] as number) <= (range[1] as number))) {
    bad('INVALID_ARGUMENT', 'options.range', fn, '[low, high] with low <= high', String(range));
  }
  if (thresholds !== undefined && (thresholds === null || typeof thresholds.length !== 'number' || thresholds.length !== n)) {
    bad('INVALID_ARGUMENT', 'options.thresholds', fn, `${n} values`, String(thresholds?.length));
  }
  const active = activeNative();
  if (active === null) return null;
  const { backend, native } = active;
  const index = backend.makeOutput([n], 'int32');
  const value = backend.makeOutput([n], 'float32');
  const thr = thresholds === undefined ? null : backend.makeOutput([n], 'float32');
  try {
    if (thr !== null) (backend.typedArrayFromHeap(thr) as Float32Array).set(thresholds as ArrayLike<number>);
    if (n > 0) {
      native.pick_rows(
        heapOffset(backend, matrix), heapOffset(backend, labels), heapOffset(backend, refLabels), n, m, selfPairs ? 1 : 0,
        side === 'positive' ? 0 : 1, extreme === 'largest' ? 1 : 0, isSimilarity ? 1 : 0,
        range?.[0] ?? -Infinity, range?.[1] ?? Infinity, thr === null ? 0 : heapOffset(backend, thr),
        heapOffset(backend, index), heapOffset(backend, value),
      );
    }
    return { index: Int32Array.from(backend.typedArrayFromHeap(index) as Int32Array), value: Float32Array.from(backend.typedArrayFromHeap(value) as Float32Array) };
  } finally {
    backend.disposeData(index.dataId);
    backend.disposeData(value.dataId);
    if (thr !== null) backend.disposeData(thr.dataId);
  }
}

// ------------------------------------------------------------------------- pair margin loss

/** The pairs and margins of {@link pairMarginSumsNative}. @category Backend */
export interface PairMarginOptions {
  /** The matrix compares a set with itself: `(i, i)` is no pair. */
  readonly selfPairs: boolean;
  /** The matrix holds similarities: the margins flip sides. */
  readonly isSimilarity: boolean;
  /** A positive pair costs `relu(d - posMargin)` (similarity: `relu(posMargin - s)`). */
  readonly posMargin: number;
  /** A negative pair costs `relu(negMargin - d)` (similarity: `relu(s - negMargin)`). */
  readonly negMargin: number;
}

/** Sums of {@link pairMarginSumsNative}. @category Backend */
export interface PairMarginSums {
  readonly positiveSum: number;
  /** Positive pairs with a non-zero loss. */
  readonly positiveCount: number;
  readonly negativeSum: number;
  /** Negative pairs with a non-zero loss. */
  readonly negativeCount: number;
}

function checkPairMargin(fn: string, matrix: unknown, labels: unknown, refLabels: unknown, options: unknown): PairMarginOptions {
  checkFloatMatrix(matrix, 'matrix', fn);
  const [n, m] = matrix.shape;
  checkVector(labels, 'int32', n, 'labels', fn);
  checkVector(refLabels, 'int32', m, 'refLabels', fn);
  if (options === null || typeof options !== 'object') bad('INVALID_ARGUMENT', 'options', fn, 'an object', String(options));
  const o = options as PairMarginOptions;
  if (typeof o.selfPairs !== 'boolean') bad('INVALID_ARGUMENT', 'options.selfPairs', fn, 'a boolean', String(o.selfPairs));
  if (typeof o.isSimilarity !== 'boolean') bad('INVALID_ARGUMENT', 'options.isSimilarity', fn, 'a boolean', String(o.isSimilarity));
  for (const key of ['posMargin', 'negMargin'] as const) {
    if (typeof o[key] !== 'number' || !Number.isFinite(o[key])) bad('INVALID_ARGUMENT', `options.${key}`, fn, 'a finite number', String(o[key]));
  }
  return o;
}

/**
 * The margin contrastive loss of Hadsell, Chopra & LeCun 2006 over every pair of an `[n, m]`
 * distance (or similarity) matrix in one native pass on the wasm heap, as pytorch-metric-learning's
 * `ContrastiveLoss` without mining: positive pairs (same label, `(i, i)` excluded with `selfPairs`)
 * cost `relu(d - posMargin)`, negative pairs `relu(negMargin - d)`; each difference is rounded to
 * float32 as the tensor ops round it, the sums are float64. With `AvgNonZeroReducer` the loss is
 * `positiveSum / positiveCount + negativeSum / negativeCount` (a term with count 0 is 0).
 *
 * @param matrix - `[n, m]` float32 (borrowed).
 * @param labels - `[n]` int32 (borrowed).
 * @param refLabels - `[m]` int32 (borrowed).
 * @param options - self pairs, similarity, margins.
 * @returns the sums (all NaN when the matrix holds a NaN), or `null` off the wasm backend.
 * @throws {@link ContrastiveError} naming the argument: `matrix` not a float32 matrix, labels not
 *   int32 of `n` / `m` entries, a margin not finite, a flag not boolean.
 * @category Backend
 */
export function pairMarginSumsNative(matrix: tf.Tensor2D, labels: tf.Tensor1D, refLabels: tf.Tensor1D, options: PairMarginOptions): PairMarginSums | null {
  const o = checkPairMargin('pairMarginSumsNative', matrix, labels, refLabels, options);
  const active = activeNative();
  if (active === null) return null;
  const { backend, native } = active;
  const [n, m] = matrix.shape;
  const out = backend.makeOutput([8], 'float32');
  try {
    const sums = new Float64Array(4);
    if (n * m > 0) {
      native.pair_margin_sums(heapOffset(backend, matrix), heapOffset(backend, labels), heapOffset(backend, refLabels), n, m, o.selfPairs ? 1 : 0,
        o.isSimilarity ? 1 : 0, o.posMargin, o.negMargin, heapOffset(backend, out));
      const view = backend.typedArrayFromHeap(out);
      sums.set(new Float64Array(view.buffer, view.byteOffset, 4));
    }
    return { positiveSum: sums[0] as number, positiveCount: sums[1] as number, negativeSum: sums[2] as number, negativeCount: sums[3] as number };
  } finally {
    backend.disposeData(out.dataId);
  }
}

/**
 * `d(posScale · positiveSum + negScale · negativeSum) / d matrix` of {@link pairMarginSumsNative}:
 * `±posScale` on the positive pairs with a non-zero loss, `±negScale` on such negative pairs (`+`
 * for a distance's positives and a similarity's negatives), 0 elsewhere; `[n, m]`, or `null` off
 * the wasm backend.
 * @throws {@link ContrastiveError} as {@link pairMarginSumsNative}, and for scales that are not finite.
 * @category Backend
 */
export function pairMarginGradNative(
  matrix: tf.Tensor2D,
  labels: tf.Tensor1D,
  refLabels: tf.Tensor1D,
  options: PairMarginOptions,
  posScale: number,
  negScale: number,
): tf.Tensor2D | null {
  const fn = 'pairMarginGradNative';
  const o = checkPairMargin(fn, matrix, labels, refLabels, options);
  if (typeof posScale !== 'number' || !Number.isFinite(posScale)) bad('INVALID_ARGUMENT', 'posScale', fn, 'a finite number', String(posScale));
  if (typeof negScale !== 'number' || !Number.isFinite(negScale)) bad('INVALID_ARGUMENT', 'negScale', fn, 'a finite number', String(negScale));
  const active = activeNative();
  if (active === null) return null;
  const { backend, native } = active;
  const [n, m] = matrix.shape;
  const out = backend.makeOutput([n, m], 'float32');
  if (n * m > 0) {
    native.pair_margin_grad(heapOffset(backend, matrix), heapOffset(backend, labels), heapOffset(backend, refLabels), n, m, o.selfPairs ? 1 : 0,
      o.isSimilarity ? 1 : 0, o.posMargin, o.negMargin, posScale, negScale, heapOffset(backend, out));
  }
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor2D;
}

// ---------------------------------------------------------------------------------- matmul

/**
 * `out = a · b` (`transposedB`: `a · bᵀ`) for float32 `a` `[m, k]` (`transposedA`: stored `[k, m]`),
 * `b` `[k, n]` (or `[n, k]`) on the heap by the native 4 x 8 register-tiled kernel over packed
 * panels of `b` and packed 4-row strips of `a`, its rows split in two with the pool's worker when
 * it runs (each element is summed in the same order either way, so the result does not depend on
 * the thread count, nor on `transposedA`). `gram`: `b` is `a` and the product `a · aᵀ` is
 * symmetric — only the tiles on and above the diagonal are computed, then mirrored. `alpha`
 * multiplies each finished sum once (as a separate product would). `false` when the native
 * kernels do not run.
 * @internal
 */
export function gemmOnHeap(
  backend: WasmBackendLike,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  m: number,
  n: number,
  k: number,
  transposedB: boolean,
  out: tf.TensorInfo,
  gram = false,
  alpha = 1,
  transposedA = false,
): boolean {
  const native = nativeKernels(backend);
  if (native === null) return false;
  const packed = backend.makeOutput([Math.ceil(n / 8) * 8 * k], 'float32');
  // Each 4-row strip of a is packed into its own place (row i at i·k floats): chunks never share one.
  const apack = backend.makeOutput([Math.ceil(m / 4) * 4 * k], 'float32');
  try {
    native.gemm_pack(heapOffset(backend, b), k, n, transposedB ? 1 : 0, heapOffset(backend, packed));
    const args = [heapOffset(backend, a), transposedA ? 1 : 0, heapOffset(backend, apack), heapOffset(backend, packed), m, n, k, heapOffset(backend, out), 0, m, gram ? 1 : 0, alpha];
    const memory = memoryOf(backend);
    const pool = memory === undefined || m * n * k < 1 << 18 || m < 8 ? null : readyPool(memory);
    const call = native.gemm_packed as (...values: number[]) => void;
    if (pool === null) {
      call(...args);
    } else {
      // Ranges of equal work (for a Gram matrix the upper triangle thins out row by row).
      const work = gram ? (row: number): number => row * n - (row * row) / 2 : (row: number): number => row;
      runChunked(pool, 'gemm_packed', args, 8, 9, rowBounds(m, POOL_CHUNKS, work), call);
    }
    if (gram) onRowChunks(backend, native, 'gemm_mirror', n, n, [heapOffset(backend, out), n, 0, n], 16);
    return true;
  } finally {
    backend.disposeData(packed.dataId);
    backend.disposeData(apack.dataId);
  }
}

/**
 * The Gram matrix `alpha · x · xᵀ` (`[n, n]`) of a float32 `[n, k]` tensor by {@link gemmOnHeap}'s
 * symmetric path (half the products), or `null` off the wasm backend.
 * @internal
 */
export function gramNative(x: tf.Tensor2D, alpha = 1): tf.Tensor2D | null {
  const active = activeNative();
  if (active === null) return null;
  const { backend } = active;
  const [n, k] = x.shape;
  const out = backend.makeOutput([n, n], 'float32');
  if (n * n > 0) gemmOnHeap(backend, x, x, n, n, k, true, out, true, alpha);
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor2D;
}

/**
 * `alpha · a · b` (`transposedB`: `alpha · a · bᵀ`) of float32 matrices by {@link gemmOnHeap}
 * (alpha multiplies each finished sum, as a separate product would), or `null` off wasm.
 * @internal
 */
export function matMulNative(a: tf.Tensor2D, b: tf.Tensor2D, transposedB: boolean, alpha = 1): tf.Tensor2D | null {
  const active = activeNative();
  if (active === null) return null;
  const { backend } = active;
  const [m, k] = a.shape;
  const n = transposedB ? b.shape[0] : b.shape[1];
  const out = backend.makeOutput([m, n], 'float32');
  if (m * n > 0) gemmOnHeap(backend, a, b, m, n, k, transposedB, out, false, alpha);
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor2D;
}

// --------------------------------------------------------------------------- L2 normalization

/**
 * Row-wise `x / max(||x||, eps)` and the norms `[n, 1]` in one native pass per row, or `null` off
 * the wasm backend. @internal
 */
export function l2NormalizeNative(x: tf.Tensor2D, eps: number): { y: tf.Tensor2D; norm: tf.Tensor2D } | null {
  const active = activeNative();
  if (active === null) return null;
  const { backend, native } = active;
  const [n, d] = x.shape;
  const y = backend.makeOutput([n, d], 'float32');
  const norm = backend.makeOutput([n, 1], 'float32');
  if (n * d > 0) native.l2_normalize(heapOffset(backend, x), n, d, eps, heapOffset(backend, y), heapOffset(backend, norm));
  else if (n > 0) backend.typedArrayFromHeap(norm).fill(0);
  const engine = tf.engine();
  return { y: engine.makeTensorFromTensorInfo(y) as tf.Tensor2D, norm: engine.makeTensorFromTensorInfo(norm) as tf.Tensor2D };
}

/** The gradient of {@link l2NormalizeNative} from its output `y`, the norms and `dy`, or `null` off wasm. @internal */
export function l2NormalizeGradNative(y: tf.Tensor2D, norm: tf.Tensor2D, dy: tf.Tensor2D, eps: number): tf.Tensor2D | null {
  const active = activeNative();
  if (active === null) return null;
  const { backend, native } = active;
  const [n, d] = y.shape;
  const dx = backend.makeOutput([n, d], 'float32');
  if (n * d > 0) native.l2_normalize_grad(heapOffset(backend, y), heapOffset(backend, dy), heapOffset(backend, norm), n, d, eps, heapOffset(backend, dx));
  return tf.engine().makeTensorFromTensorInfo(dx) as tf.Tensor2D;
}

// ------------------------------------------------------------------------------ Relu gradient

/** The kernel {@link reluGradWasm} is registered under (wasm only). @internal */
export const RELU_GRAD_KERNEL = 'ContrastiveReluGrad';

/**
 * `dy · step(x)` (Relu's gradient; step 1 above 0, 0 at or below, NaN for NaN) in one native pass:
 * the same products as tfjs's Step, Cast and Multiply, bit for bit, without their two
 * intermediates. Inputs `dy`, `x` of one shape, float32.
 */
export function reluGradWasm(args: WasmKernelArgs): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const dy = kernelInput(args.inputs, 'dy', RELU_GRAD_KERNEL);
  const x = kernelInput(args.inputs, 'x', RELU_GRAD_KERNEL);
  const native = nativeKernels(backend);
  const size = tf.util.sizeFromShape(x.shape);
  const out = backend.makeOutput(x.shape, 'float32');
  if (size === 0) return out;
  if (native !== null) {
    native.relu_grad(heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, out), size);
    return out;
  }
  const xs = backend.typedArrayFromHeap(x);
  const dys = backend.typedArrayFromHeap(dy);
  const dst = backend.typedArrayFromHeap(out);
  for (let i = 0; i < size; i++) {
    const v = xs[i] as number;
    dst[i] = (dys[i] as number) * (Number.isNaN(v) ? v : v > 0 ? 1 : 0);
  }
  return out;
}

// ------------------------------------------------------------------------- triplet margin loss

/** The margin and swap of {@link tripletMarginNative}. @category Backend */
export interface TripletMarginOptions {
  /** Added to `d(a, p) - d(a, n)` before the hinge. */
  readonly margin: number;
  /** Use `min(d(a, n), d(p, n))` as the negative distance (Balntas et al. 2016's distance swap). */
  readonly swap: boolean;
}

function checkTriplets(fn: string, u: unknown, anchor: unknown, positive: unknown, negative: unknown, options: unknown): TripletMarginOptions {
  checkFloatMatrix(u, 'u', fn);
  const n = u.shape[0];
  const t = anchor instanceof tf.Tensor ? anchor.shape[0] ?? 0 : 0;
  for (const [name, list] of [['anchor', anchor], ['positive', positive], ['negative', negative]] as const) {
    checkVector(list, 'int32', t, name, fn);
    const active = activeNative();
    const view = active === null ? list.dataSync() : active.backend.typedArrayFromHeap(list);
    for (let i = 0; i < view.length; i++) {
      const at = view[i] as number;
      if (at < 0 || at >= n) bad('INVALID_ARGUMENT', name, fn, `row indices in [0, ${n})`, `${at} at position ${i}`);
    }
  }
  if (options === null || typeof options !== 'object') bad('INVALID_ARGUMENT', 'options', fn, 'an object', String(options));
  const o = options as TripletMarginOptions;
  if (typeof o.margin !== 'number' || !Number.isFinite(o.margin)) bad('INVALID_ARGUMENT', 'options.margin', fn, 'a finite number', String(o.margin));
  if (typeof o.swap !== 'boolean') bad('INVALID_ARGUMENT', 'options.swap', fn, 'a boolean', String(o.swap));
  return o;
}

/**
 * The triplet margin loss of Schroff et al. 2015 (FaceNet) as pytorch-metric-learning's
 * `TripletMarginLoss` on mined triplets, in one native pass on the wasm heap: for each triplet
 * `relu((d(a, p) - d_neg) + margin)` with Euclidean row distances of `u` (`d_neg = d(a, n)`, or
 * `min(d(a, n), d(p, n))` with `swap`). With `AvgNonZeroReducer` the loss is `sum / count`.
 *
 * @param u - `[n, d]` float32 rows (already normalised for PML's default `LpDistance`), borrowed.
 * @param anchor - `[t]` int32 row indices; `positive`, `negative` likewise.
 * @param options - margin and swap.
 * @returns the sum of the triplet losses and how many are non-zero, or `null` off the wasm backend.
 * @throws {@link ContrastiveError} naming the argument: `u` not a float32 matrix, an index vector not
 *   int32 of the anchors' length or holding a row outside `[0, n)`, a margin not finite, `swap` not
 *   a boolean.
 * @category Backend
 */
export function tripletMarginNative(
  u: tf.Tensor2D,
  anchor: tf.Tensor1D,
  positive: tf.Tensor1D,
  negative: tf.Tensor1D,
  options: TripletMarginOptions,
): { sum: number; count: number } | null {
  const o = checkTriplets('tripletMarginNative', u, anchor, positive, negative, options);
  const active = activeNative();
  if (active === null) return null;
  const { backend, native } = active;
  const out = backend.makeOutput([4], 'float32');
  try {
    native.triplet_margin(heapOffset(backend, u), u.shape[1], heapOffset(backend, anchor), heapOffset(backend, positive), heapOffset(backend, negative),
      anchor.shape[0], o.margin, o.swap ? 1 : 0, heapOffset(backend, out), 0, 0);
    const view = backend.typedArrayFromHeap(out);
    const sums = new Float64Array(view.buffer, view.byteOffset, 2);
    return { sum: sums[0] as number, count: sums[1] as number };
  } finally {
    backend.disposeData(out.dataId);
  }
}

/**
 * `d(scale · Σ_t loss_t) / d u` of {@link tripletMarginNative} (`[n, d]`; rows without an active
 * triplet 0; a distance of 0 contributes 0, as `safeSqrt`'s gradient), or `null` off wasm.
 * @throws {@link ContrastiveError} as {@link tripletMarginNative}, and for a `scale` that is not finite.
 * @category Backend
 */
export function tripletMarginGradNative(
  u: tf.Tensor2D,
  anchor: tf.Tensor1D,
  positive: tf.Tensor1D,
  negative: tf.Tensor1D,
  options: TripletMarginOptions,
  scale: number,
): tf.Tensor2D | null {
  const fn = 'tripletMarginGradNative';
  const o = checkTriplets(fn, u, anchor, positive, negative, options);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) bad('INVALID_ARGUMENT', 'scale', fn, 'a finite number', String(scale));
  const active = activeNative();
  if (active === null) return null;
  const { backend, native } = active;
  const du = backend.makeOutput(u.shape, 'float32');
  backend.typedArrayFromHeap(du).fill(0);
  native.triplet_margin(heapOffset(backend, u), u.shape[1], heapOffset(backend, anchor), heapOffset(backend, positive), heapOffset(backend, negative),
    anchor.shape[0], o.margin, o.swap ? 1 : 0, 0, scale, heapOffset(backend, du));
  return tf.engine().makeTensorFromTensorInfo(du) as tf.Tensor2D;
}

// ------------------------------------------------ contrastive loss on the Euclidean self-distances

/** The margins of {@link contrastiveSelfLossNative}. @category Backend */
export interface ContrastiveSelfOptions {
  /** A positive pair costs `relu(d - posMargin)`. */
  readonly posMargin: number;
  /** A negative pair costs `relu(negMargin - d)`. */
  readonly negMargin: number;
}

/**
 * The margin contrastive loss of Hadsell, Chopra & LeCun 2006 over every pair of a batch with
 * itself under the Euclidean distance of its rows, as pytorch-metric-learning's `ContrastiveLoss`
 * with `LpDistance` (give it L2-normalised rows for PML's default) and `AvgNonZeroReducer`:
 * `Σ relu(d - posMargin) / #non-zero + Σ relu(negMargin - d) / #non-zero` over the ordered pairs
 * `(i, j)`, `i ≠ j`, same label / different label. On the wasm backend in three native passes —
 * the symmetric Gram matrix, the distances and sums together, and one backward pass for the
 * symmetric gradient of the pre-root values and its row sums (the distance matrix being exactly
 * symmetric, `dS + dSᵀ = 2 dS`) — plus one product; with an explicit gradient
 * `2 (x ⊙ rowSums - S·x)`. Equal to `contrastiveLoss` over `lpDistance({ normalize: false })`
 * within float32 rounding.
 *
 * @param x - `[n, d]` float32 rows (borrowed).
 * @param labels - `[n]` int32 (borrowed).
 * @param options - the two margins.
 * @returns a float32 scalar connected to `x`, or `null` off the wasm backend or when a distance
 *   is NaN (the caller's tensor path then propagates it).
 * @throws {@link ContrastiveError} naming the argument: `x` not a float32 matrix, `labels` not int32
 *   of `n` entries, a margin not finite.
 * @category Backend
 */
export function contrastiveSelfLossNative(x: tf.Tensor2D, labels: tf.Tensor1D, options: ContrastiveSelfOptions): tf.Scalar | null {
  const fn = 'contrastiveSelfLossNative';
  checkFloatMatrix(x, 'x', fn);
  const n = x.shape[0];
  checkVector(labels, 'int32', n, 'labels', fn);
  if (options === null || typeof options !== 'object') bad('INVALID_ARGUMENT', 'options', fn, 'an object', String(options));
  const { posMargin, negMargin } = options;
  for (const [key, value] of [['posMargin', posMargin], ['negMargin', negMargin]] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value)) bad('INVALID_ARGUMENT', `options.${key}`, fn, 'a finite number', String(value));
  }
  const active = activeNative();
  if (active === null || n === 0) return null;
  const { backend, native } = active;
  const sums = new Float64Array(4);
  const dist = tf.tidy(() => {
    const gram = gramNative(x) as tf.Tensor2D;
    const sq = tf.sum(tf.square(x), 1);
    const out = backend.makeOutput([n, n], 'float32');
    // Four float64 sums per row, added up here in row order (what one pass over the rows adds).
    const cells = backend.makeOutput([8 * n], 'float32');
    try {
      onRowChunks(backend, native, 'contrastive_self_rows', n, n, [
        heapOffset(backend, gram), heapOffset(backend, sq), heapOffset(backend, labels), n, posMargin, negMargin,
        heapOffset(backend, out), heapOffset(backend, cells), 0, n,
      ]);
      const view = backend.typedArrayFromHeap(cells);
      const rows = new Float64Array(view.buffer, view.byteOffset, 4 * n);
      for (let i = 0; i < 4 * n; i += 4) {
        sums[0] = (sums[0] as number) + (rows[i] as number);
        sums[1] = (sums[1] as number) + (rows[i + 1] as number);
        sums[2] = (sums[2] as number) + (rows[i + 2] as number);
        sums[3] = (sums[3] as number) + (rows[i + 3] as number);
      }
    } finally {
      backend.disposeData(cells.dataId);
    }
    return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor2D;
  });
  const [positiveSum, positiveCount, negativeSum, negativeCount] = sums as unknown as [number, number, number, number];
  if (Number.isNaN(positiveSum) || Number.isNaN(negativeSum)) {
    dist.dispose();
    return null;
  }
  const value = (positiveCount > 0 ? positiveSum / positiveCount : 0) + (negativeCount > 0 ? negativeSum / negativeCount : 0);
  const op = tf.customGrad(((input: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([input, dist, labels]);
    return {
      value: tf.scalar(value),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [rows, d, ids] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const scale = dy.dataSync()[0] as number;
        const sym = backend.makeOutput([n, n], 'float32');
        const rowSums = backend.makeOutput([n], 'float32');
        onRowChunks(backend, native, 'contrastive_self_backward', n, n, [
          heapOffset(backend, d), heapOffset(backend, ids), n, posMargin, negMargin,
          positiveCount > 0 ? scale / positiveCount : 0, negativeCount > 0 ? scale / negativeCount : 0,
          heapOffset(backend, sym), heapOffset(backend, rowSums), 0, n,
        ]);
        const engine = tf.engine();
        const s = engine.makeTensorFromTensorInfo(sym) as tf.Tensor2D;
        const r = engine.makeTensorFromTensorInfo(rowSums) as tf.Tensor1D;
        return tf.mul(tf.sub(tf.mul(rows, tf.reshape(r, [-1, 1])), tf.matMul(s, rows)), 2);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const out = op(x) as tf.Scalar;
  dist.dispose();
  return out;
}
