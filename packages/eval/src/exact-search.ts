import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, l2Normalize, type Embeddings } from '@contrastive/core';
import { KNN_WASM_BASE64, KNN_WASM_SHARED_BASE64 } from './knn-wasm.js';

/** One chunk of ranked references, as a search engine hands it over. @internal */
export interface RankedChunk {
  /** First query row of the chunk. */
  readonly start: number;
  /** Query rows in the chunk. */
  readonly rows: number;
  /** Entries per row in `indices`. */
  readonly width: number;
  /** `[rows, width]` reference indices, best first, ties by the lower index. */
  readonly indices: Int32Array;
}

/** What the engines rank by (see `RetrievalDistance`). @internal */
export type SearchDistance = 'euclidean' | 'cosine' | 'dot';

/** Options of {@link kernelSearch}. @internal */
export interface KernelSearchOptions {
  /** Neighbours kept per query, `1 <= width <= m` (`m - 1` with `excludeSelf`). */
  readonly width: number;
  readonly distance: SearchDistance;
  /** Query row `i` never retrieves reference row `i` (the query set searched against itself). */
  readonly excludeSelf: boolean;
  /** Threads (Node `worker_threads`); 1 searches on the calling thread. */
  readonly threads: number;
  /** Query rows per block (rounded to the threads' groups of 4); default from a 64 MB heap budget. */
  readonly blockRows?: number;
  /** Name of the public function, for errors. */
  readonly caller: string;
}

const PANEL = 8;
const ROWS = 4;
const PAGE = 65536;
/** A wasm32 memory holds at most 65,536 pages of 64 KiB. */
const MAX_PAGES = 65536;
/** Reference rows copied from the device per step while packing. */
const STAGING_ROWS = 8192;
/** Bytes of packed reference one call sweeps: about a core's L2. */
const RANGE_BYTES = 512 * 1024;
const HEAP_BUDGET_BYTES = 64 * 1024 * 1024;
const MAX_BLOCK_ROWS = 8192;

interface KnnExports {
  pack_panels(rows: number, n: number, d: number, packed: number): void;
  half_norms(packed: number, panels: number, d: number, bias: number): void;
  init_heaps(hs: number, hi: number, thr: number, n: number, k: number): void;
  search(
    q: number, nq: number, d: number, packed: number, bias: number, m: number, p0: number, p1: number,
    hs: number, hi: number, thr: number, k: number, selfStart: number, scratch: number,
  ): void;
  sort_heaps(hs: number, hi: number, n: number, k: number): void;
}

/** One slice of a query block, as the calling thread or a worker searches it. */
interface SliceTask {
  q: number;
  nq: number;
  d: number;
  packed: number;
  bias: number;
  m: number;
  panels: number;
  range: number;
  hs: number;
  hi: number;
  thr: number;
  k: number;
  selfStart: number;
  scratch: number;
}

const modules = new Map<boolean, Promise<WebAssembly.Module>>();

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function compiled(shared: boolean): Promise<WebAssembly.Module> {
  let module = modules.get(shared);
  if (module === undefined) {
    module = WebAssembly.compile(decodeBase64(shared ? KNN_WASM_SHARED_BASE64 : KNN_WASM_BASE64));
    modules.set(shared, module);
  }
  return module;
}

function runSlice(ex: KnnExports, t: SliceTask): void {
  for (let p = 0; p < t.panels; p += t.range) {
    ex.search(t.q, t.nq, t.d, t.packed, t.bias, t.m, p, Math.min(t.panels, p + t.range), t.hs, t.hi, t.thr, t.k, t.selfStart, t.scratch);
  }
  ex.sort_heaps(t.hs, t.hi, t.nq, t.k);
}

/** The worker's whole program (CommonJS, evaluated by `worker_threads`): run slices on the shared memory. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ex = new WebAssembly.Instance(workerData.module, { env: { memory: workerData.memory } }).exports;
parentPort.on('message', (t) => {
  try {
    for (let p = 0; p < t.panels; p += t.range) {
      ex.search(t.q, t.nq, t.d, t.packed, t.bias, t.m, p, Math.min(t.panels, p + t.range), t.hs, t.hi, t.thr, t.k, t.selfStart, t.scratch);
    }
    ex.sort_heaps(t.hs, t.hi, t.nq, t.k);
    parentPort.postMessage(null);
  } catch (error) {
    parentPort.postMessage(String((error && error.message) || error));
  }
});
`;

interface NodeWorker {
  postMessage(value: unknown): void;
  once(event: 'message', listener: (value: unknown) => void): void;
  once(event: 'error', listener: (error: Error) => void): void;
  removeAllListeners(event?: string): void;
  terminate(): Promise<number>;
}

/** True in Node.js (where `worker_threads` exists), false in browsers. */
export function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string';
}

/** Logical processors for the default thread count: Node's `os.availableParallelism()`, 1 elsewhere. */
export async function availableThreads(): Promise<number> {
  if (!isNode()) return 1;
  const os = (await import(/* @vite-ignore */ 'node:os')) as { availableParallelism?: () => number; cpus: () => unknown[] };
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/** Flags a worker must not inherit: --input-type, and V8 / process options Node refuses there. */
const WORKER_REFUSED_FLAG = /^--(input-type|max-old-space-size|max-semi-space-size|stack-size|expose[-_]gc|title)\b/;

async function spawnWorkers(count: number, module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<NodeWorker[]> {
  if (count === 0) return [];
  const { Worker } = (await import(/* @vite-ignore */ 'node:worker_threads')) as {
    Worker: new (source: string, options: { eval: true; workerData: unknown; execArgv: string[] }) => NodeWorker;
  };
  const proc = (globalThis as unknown as { process: { execArgv: string[] } }).process;
  // WORKER_SOURCE is CommonJS: an inherited --input-type=module would make it ESM. Node refuses
  // V8 heap flags (--max-old-space-size, ...) in a worker's execArgv: without them, or without any.
  const execArgv = proc.execArgv.filter((arg) => !WORKER_REFUSED_FLAG.test(arg));
  const spawn = (args: string[]): NodeWorker => new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory }, execArgv: args });
  return Array.from({ length: count }, () => {
    try {
      return spawn(execArgv);
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
      return spawn([]);
    }
  });
}

function runOnWorker(worker: NodeWorker, task: SliceTask): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (message: string): void =>
      reject(new ContrastiveError('BACKEND', `The exact-search worker failed: ${message}`));
    worker.once('message', (value) => {
      worker.removeAllListeners('error');
      if (value === null) resolve();
      else fail(String(value));
    });
    worker.once('error', (error) => {
      worker.removeAllListeners('message');
      fail(error.message);
    });
    worker.postMessage(task);
  });
}

function align(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}

/**
 * Bytes of WebAssembly memory {@link kernelSearch} needs for `m` references of dimension `d`
 * (the packed reference dominates: `4·d` bytes per row), or `Infinity` past the 4 GiB of wasm32.
 * @internal
 */
export function kernelMemoryBytes(m: number, d: number, width: number, blockRows: number, threads: number): number {
  const panels = Math.ceil(m / PANEL);
  const total =
    64 + // address 0 stays unused: pointer 0 means "no bias"
    align(panels * PANEL * d * 4) +
    align(panels * PANEL * 4) +
    align(Math.min(m, STAGING_ROWS) * d * 4) +
    align(blockRows * d * 4) +
    2 * align(blockRows * width * 4) +
    align(blockRows * 4) +
    threads * 128;
  return total <= MAX_PAGES * PAGE ? total : Number.POSITIVE_INFINITY;
}

/** Query rows per block: a multiple of `4·threads` whose heaps fit the budget. @internal */
export function blockRowsFor(q: number, width: number, threads: number, requested?: number): number {
  const unit = ROWS * threads;
  const wanted = requested ?? Math.min(MAX_BLOCK_ROWS, Math.floor(HEAP_BUDGET_BYTES / (8 * width)));
  const rows = Math.max(unit, Math.floor(wanted / unit) * unit);
  return Math.min(rows, Math.ceil(q / unit) * unit);
}

/**
 * Exact k-nearest-neighbour search on the CPU by the WebAssembly kernel of `native/knn.c`: the
 * reference is read from the device once (a host copy of `4·m·d` bytes while the search runs) and
 * packed into panels; then each block of
 * query rows streams over it, a 4 x 8 SIMD tile of scores at a time, and keeps only each query's
 * `width` best in a heap — no `[q, m]` score matrix exists. With `threads > 1` (Node.js) the rows
 * of each block are split over `worker_threads` sharing one memory. Results are bit-identical for
 * every thread count and block size: each score is one float32 sum in a fixed order.
 * @internal
 */
export async function kernelSearch(
  query: Embeddings,
  reference: Embeddings,
  options: KernelSearchOptions,
  onChunk: (chunk: RankedChunk) => void,
): Promise<void> {
  const [q, d] = query.shape;
  const m = reference.shape[0];
  const { width: k, distance, excludeSelf, caller } = options;
  const available = m - (excludeSelf ? 1 : 0);
  if (!Number.isInteger(k) || k < 1 || k > available) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'width' passed to '${caller}' must be an integer in [1, ${available}], got ${k}`);
  }
  const shared = options.threads > 1 && isNode() && typeof SharedArrayBuffer !== 'undefined';
  const threads = shared ? options.threads : 1;
  const blockRows = blockRowsFor(q, k, threads, options.blockRows);
  const total = kernelMemoryBytes(m, d, k, blockRows, threads);
  if (!Number.isFinite(total)) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'reference' passed to '${caller}' is too large for the exact CPU search: ${m} x ${d} floats plus ` +
        `${k} neighbours per query need more than the 4 GiB a WebAssembly memory holds; use engine 'tensor' or an approximate index`,
    );
  }
  // The modules declare 2 initial pages (128 KiB) of their own.
  const pages = Math.max(2, Math.ceil(total / PAGE));
  const memory = shared
    ? new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true })
    : new WebAssembly.Memory({ initial: pages, maximum: pages });
  const module = await compiled(shared);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const ex = instance.exports as unknown as KnnExports;
  const buffer = memory.buffer;

  const panels = Math.ceil(m / PANEL);
  let top = 64;
  const take = (bytes: number): number => {
    const at = top;
    top += align(bytes);
    return at;
  };
  const packed = take(panels * PANEL * d * 4);
  const bias = distance === 'euclidean' ? take(panels * PANEL * 4) : 0;
  const stagingRows = Math.min(m, STAGING_ROWS);
  const staging = take(stagingRows * d * 4);
  const queries = take(blockRows * d * 4);
  const hs = take(blockRows * k * 4);
  const hi = take(blockRows * k * 4);
  const thr = take(blockRows * 4);
  const scratch = take(threads * 128);

  // One read of each set (cosine: normalized on the device first). Row slices of a large tensor
  // cost ~0.4 s each on the wasm backend, so the host copy is cut instead.
  const hostRows = async (source: Embeddings): Promise<Float32Array> => {
    const prepared = distance === 'cosine' ? tf.tidy(() => l2Normalize(source)) : source;
    try {
      return (await prepared.data()) as Float32Array;
    } finally {
      if (prepared !== source) prepared.dispose();
    }
  };
  const referenceRows = await hostRows(reference);
  const queryRows = query === reference ? referenceRows : await hostRows(query);

  // Pack the reference, STAGING_ROWS (a multiple of 8) rows at a time.
  for (let start = 0; start < m; start += STAGING_ROWS) {
    const rows = Math.min(STAGING_ROWS, m - start);
    new Float32Array(buffer, staging, rows * d).set(referenceRows.subarray(start * d, (start + rows) * d));
    ex.pack_panels(staging, rows, d, packed + (start / PANEL) * PANEL * d * 4);
  }
  if (bias !== 0) ex.half_norms(packed, panels, d, bias);

  const range = Math.max(1, Math.floor(RANGE_BYTES / (PANEL * d * 4)));
  const workers = shared ? await spawnWorkers(threads - 1, module, memory) : [];
  try {
    for (let start = 0; start < q; start += blockRows) {
      const rows = Math.min(blockRows, q - start);
      const padded = Math.ceil(rows / ROWS) * ROWS;
      const block = new Float32Array(buffer, queries, padded * d);
      block.set(queryRows.subarray(start * d, (start + rows) * d));
      block.fill(0, rows * d);
      ex.init_heaps(hs, hi, thr, padded, k);
      const groups = padded / ROWS;
      const tasks: SliceTask[] = [];
      for (let t = 0; t < threads; t++) {
        const g0 = Math.floor((t * groups) / threads);
        const g1 = Math.floor(((t + 1) * groups) / threads);
        if (g1 === g0) continue;
        const row0 = g0 * ROWS;
        tasks.push({
          q: queries + row0 * d * 4,
          nq: (g1 - g0) * ROWS,
          d,
          packed,
          bias,
          m,
          panels,
          range,
          hs: hs + row0 * k * 4,
          hi: hi + row0 * k * 4,
          thr: thr + row0 * 4,
          k,
          selfStart: excludeSelf ? start + row0 : -1,
          scratch: scratch + t * 128,
        });
      }
      const pending = tasks.slice(1).map((task, i) => runOnWorker(workers[i] as NodeWorker, task));
      const settled = Promise.allSettled(pending);
      runSlice(ex, tasks[0] as SliceTask);
      for (const outcome of await settled) if (outcome.status === 'rejected') throw outcome.reason;
      onChunk({ start, rows, width: k, indices: new Int32Array(buffer, hi, rows * k).slice() });
    }
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
