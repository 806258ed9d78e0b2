import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError } from '../errors.js';
import { registerWasmKernels } from './wasm-kernels.js';
import { registerFastGradients } from './fast-gradients.js';
import { allowNativeFma, nativeFma, nativeKernelsReady, relaxedSimdSupported } from './wasm-native.js';
import type { WasmBackendLike } from './wasm-heap.js';
import { prepareNodeWasmThreads } from './node-wasm-threads.js';

/**
 * A TensorFlow.js backend the toolkit can run on, fastest first: native TensorFlow with CUDA
 * (`@tensorflow/tfjs-node-gpu`), native TensorFlow (`@tensorflow/tfjs-node`), WebAssembly
 * (`@tensorflow/tfjs-backend-wasm`, with the kernels of {@link registerWasmKernels}), WebGL in a
 * browser (`@tensorflow/tfjs-backend-webgl`) and plain JavaScript (`@tensorflow/tfjs-backend-cpu`).
 * @category Backend
 */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'webgl' | 'cpu';

/** Options of {@link selectBackend}. @category Backend */
export interface SelectBackendOptions {
  /**
   * Backends to try, in order. A single name means "this one, or fail".
   * @defaultValue `['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']` in Node; `['webgl', 'wasm', 'cpu']` in a browser
   */
  readonly preference?: BackendName | readonly BackendName[];
  /** Where to say which backend was chosen; `false` for silence. @defaultValue `console.info` */
  readonly log?: false | ((message: string) => void);
  /**
   * Threads of the wasm backend (its threaded SIMD build): XNNPACK's pool (see
   * `xnnpackThreads`) and, from 2, one worker for the toolkit's native kernels. In a browser this
   * needs a cross-origin-isolated page; in Node.js, where tfjs 4.22 disables threads,
   * `selectBackend` enables them for values >= 2 (see the package README: it starts tfjs's own
   * pthread workers with `worker_threads`). Takes effect only when the wasm backend is first
   * initialised.
   * @defaultValue the platform's choice: 1 in Node.js, `navigator.hardwareConcurrency / 2` (at most 4) in a browser
   */
  readonly wasmThreads?: number;
  /**
   * How many of the `wasmThreads` XNNPACK's pool uses (the threaded build's own convolutions and
   * element-wise ops); the toolkit's native kernels (matMul, Gram matrices, InfoNCE rows, 3x3
   * convolutions and their gradients, the fused conv stages) share their work with one worker of
   * their own whenever `wasmThreads >= 2`. XNNPACK's workers spin for a few milliseconds after each
   * of its operations, taking the core that worker needs, so by default XNNPACK gets one thread
   * fewer (this machine, 2 cores, XNNPACK on 1 vs 2: the SimCLR recipe epoch on Fashion-MNIST 31 vs
   * 38 s, SupCon at N = 1,024 11 vs 14 ms, the MLP step 16 vs 22 ms). Pass `wasmThreads` for
   * models whose heavy operations stay XNNPACK's (e.g. 5x5 or strided convolutions). Needs
   * `wasmThreads`.
   * @defaultValue `wasmThreads - 1` (at least 1)
   */
  readonly xnnpackThreads?: number;
  /**
   * Whether the toolkit's native wasm kernels compute their products (matMul and Gram matrices,
   * the 3x3 convolutions and their filter gradients) with fused multiply-adds: their relaxed-SIMD
   * build (`f32x4.relaxed_madd`), about 1.4x faster on x86 CPUs (measured on this repository's
   * Intel Xeon machine, 2 threads: matMul 512x784x256 29-32 → 44 GFLOP/s, 1024³ 26-30 → 45). A
   * fused multiply-add rounds once where a multiply then an add round twice, so results move in the
   * last bits (within 1e-5 relative of the standard build's; the same on 1 or 2 threads), and
   * they then depend on the CPU (relaxed SIMD fuses where the CPU has FMA instructions).
   *
   * - `'auto'`: where the JavaScript engine runs relaxed SIMD as it stands (Chrome and Edge 114+,
   *   Node.js 22+).
   * - `true`: also in Node.js versions that have it behind `--experimental-wasm-relaxed-simd`
   *   (Node.js 20): `selectBackend` turns that V8 flag on (`v8.setFlagsFromString`) before the
   *   kernels compile. Where the engine cannot run it at all, the standard build runs and
   *   {@link BackendSelection.fma} says so.
   * - `false`: the standard build (products bit-equal to XNNPACK's).
   *
   * Takes effect only when the wasm backend is first initialised.
   * @defaultValue `'auto'`
   */
  readonly fma?: boolean | 'auto';
}

/** What {@link selectBackend} chose and why. @category Backend */
export interface BackendSelection {
  /** The backend now active in `tf.getBackend()` terms. */
  readonly name: BackendName;
  /** Each backend tried before it, with the reason it was skipped. */
  readonly skipped: readonly { readonly name: BackendName; readonly reason: string }[];
  /**
   * Whether the toolkit's native kernels run their relaxed-SIMD build (fused multiply-adds; see
   * {@link SelectBackendOptions.fma}); `false` off the wasm backend.
   */
  readonly fma: boolean;
}

const IS_NODE = typeof globalThis === 'object' && (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node !== undefined;

const DEFAULT_ORDER: readonly BackendName[] = IS_NODE
  ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']
  : ['webgl', 'wasm', 'cpu'];

// Module specifiers live in variables so that bundlers do not try to resolve optional backends.
const MODULE: Record<BackendName, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  webgl: '@tensorflow/tfjs-backend-webgl',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/** Node.js 20 runs relaxed SIMD behind a V8 flag: turn it on (before the kernels compile). */
async function enableRelaxedSimd(): Promise<void> {
  if (!IS_NODE || relaxedSimdSupported()) return;
  const v8 = (await import(/* @vite-ignore */ 'node:v8')) as typeof import('node:v8');
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
}

async function tryBackend(name: BackendName, options: SelectBackendOptions): Promise<void> {
  const registryName = name === 'tensorflow-gpu' ? 'tensorflow' : name;
  const initialised = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry[registryName] !== undefined;
  let restore = (): void => undefined;
  // A backend the application imported itself (as a bundled browser page must: a bare specifier
  // cannot be imported at run time there) is used as registered; wasm's module is imported again
  // only to reach its `setThreadsCount` before it initialises.
  const registered = tf.findBackendFactory(registryName) !== null;
  const threads = name === 'wasm' && !initialised && options.wasmThreads !== undefined;
  if (!registered || (name === 'tensorflow-gpu' && tf.getBackend() !== 'tensorflow') || threads) {
    const specifier = MODULE[name];
    const loaded = (await import(/* @vite-ignore */ specifier)) as Record<string, unknown>;
    if (name === 'wasm' && options.wasmThreads !== undefined) {
      const setThreadsCount = loaded['setThreadsCount'] as ((count: number) => void) | undefined;
      const xnnpack = options.xnnpackThreads ?? Math.max(1, options.wasmThreads - 1);
      if (IS_NODE && options.wasmThreads >= 2 && setThreadsCount !== undefined) {
        restore = await prepareNodeWasmThreads(options.wasmThreads, setThreadsCount, xnnpack);
      } else {
        setThreadsCount?.(xnnpack);
      }
    }
  }
  try {
    if (tf.findBackendFactory(registryName) === null) throw new Error(`${MODULE[name]} registered no '${registryName}' backend`);
    if (name === 'wasm') {
      if (options.fma === true) await enableRelaxedSimd();
      allowNativeFma(options.fma !== false);
      registerWasmKernels();
    } else {
      registerFastGradients();
    }
    const ok = await tf.setBackend(registryName);
    if (!ok) throw new Error(`tf.setBackend('${registryName}') returned false`);
    await tf.ready();
    if (name === 'wasm') await nativeKernelsReady(tf.backend() as unknown as WasmBackendLike);
  } finally {
    restore();
  }
}

/**
 * Pick and initialise the fastest available TensorFlow.js backend, and say which one runs.
 * On wasm it first registers the toolkit's wasm kernels ({@link registerWasmKernels}): the
 * gradient of `tf.gather`, the conv weight gradient, and fast transposed matMul, without which
 * training fails or crawls there. Native TensorFlow (`@tensorflow/tfjs-node`) is tried first and is
 * skipped silently where it is not installed (it downloads libtensorflow at install time).
 *
 * @param options - order of preference, logging, wasm threads and fused multiply-adds.
 * @returns the chosen backend and the ones skipped with their reasons.
 * @throws {@link ContrastiveError} `BACKEND` when none of the preferred backends initialises;
 *   `INVALID_ARGUMENT` for an unknown backend name, an empty preference, a `wasmThreads` that is not
 *   a positive integer, an `fma` that is neither a boolean nor `'auto'` or a `log` that is neither
 *   `false` nor a function (before any backend is tried).
 * @example
 * ```ts
 * const { name } = await selectBackend({ preference: ['wasm', 'cpu'], log: false });
 * console.log(name); // 'wasm'
 * ```
 * @category Backend
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendSelection> {
  const fn = 'selectBackend';
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const preference = options.preference ?? DEFAULT_ORDER;
  if (typeof preference !== 'string' && (!Array.isArray(preference) || preference.length === 0)) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'preference' passed to '${fn}' must be a backend name or a non-empty list of them, got ${Array.isArray(preference) ? 'an empty list' : typeof preference}`,
    );
  }
  const order: readonly BackendName[] = typeof preference === 'string' ? [preference] : preference;
  if (options.log !== undefined && options.log !== false && typeof options.log !== 'function') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'log' passed to '${fn}' must be false or a function, got ${typeof options.log}`);
  }
  for (const name of order) {
    if (typeof name !== 'string' || !Object.hasOwn(MODULE, name)) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'preference' passed to 'selectBackend' must list backends among ${Object.keys(MODULE).join(', ')}, got ${JSON.stringify(name)}`,
      );
    }
  }
  if (options.wasmThreads !== undefined && (!Number.isInteger(options.wasmThreads) || options.wasmThreads < 1)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'wasmThreads' passed to 'selectBackend' must be an integer >= 1, got ${String(options.wasmThreads)}`);
  }
  if (options.xnnpackThreads !== undefined) {
    const limit = options.wasmThreads;
    if (limit === undefined || !Number.isInteger(options.xnnpackThreads) || options.xnnpackThreads < 1 || options.xnnpackThreads > limit) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'xnnpackThreads' passed to 'selectBackend' must be an integer in [1, wasmThreads] (wasmThreads ${String(limit)}), got ${String(options.xnnpackThreads)}`,
      );
    }
  }
  if (options.fma !== undefined && typeof options.fma !== 'boolean' && options.fma !== 'auto') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'fma' passed to 'selectBackend' must be true, false or 'auto', got ${JSON.stringify(options.fma)}`);
  }
  const skipped: { name: BackendName; reason: string }[] = [];
  for (const name of order) {
    try {
      await tryBackend(name, options);
      const fma = name === 'wasm' && nativeFma(tf.backend() as unknown as WasmBackendLike);
      const log = options.log ?? ((message: string) => console.info(message));
      if (log !== false) {
        const why = skipped.length === 0 ? '' : ` (skipped: ${skipped.map((entry) => `${entry.name}: ${entry.reason}`).join('; ')})`;
        const kernels = name !== 'wasm' ? '' : fma ? ', fused multiply-add kernels' : options.fma === true ? ', fused multiply-add kernels unavailable (no relaxed SIMD here)' : '';
        log(`[contrastive] TensorFlow.js backend: ${name}${kernels}${why}`);
      }
      return { name, skipped, fma };
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] ?? String(error) : String(error);
      skipped.push({ name, reason });
    }
  }
  throw new ContrastiveError(
    'BACKEND',
    `'selectBackend' could not initialise any of ${order.join(', ')}: ${skipped.map((entry) => `${entry.name}: ${entry.reason}`).join('; ')}`,
  );
}
