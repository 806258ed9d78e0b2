import * as tf from '@tensorflow/tfjs-core';

import { WORKER_REFUSED_FLAG } from './native-pool.js';

/**
 * Let `@tensorflow/tfjs-backend-wasm`'s threaded SIMD build run in Node.js, where 4.22 turns it
 * off (tensorflow/tfjs#3830). Three things stop it, each worked around for the backend's start-up
 * only, and undone afterwards:
 *
 * 1. The flag `WASM_HAS_MULTITHREAD_SUPPORT` is hard-wired to false in Node: set it to true.
 * 2. Emscripten starts its pthread workers from a `blob:` URL and hands them the module factory as
 *    a `Blob`; Node's `worker_threads.Worker` runs neither. A subclass installed on the
 *    `worker_threads` module starts the same worker source (shipped in the package's `wasm-out`
 *    folder) with `eval: true`, and swaps the `Blob` for the path of the factory file beside it.
 * 3. The wasm code caps the thread pool at `navigator.hardwareConcurrency / 2` (it assumes two
 *    hyper-threads per core), which Emscripten reads from `os.cpus()` in Node: report `2 · threads`
 *    processors while the module instantiates.
 *
 * @param threads - threads wanted (>= 2): the threaded build is loaded and its pthread pool sized for them.
 * @param setThreadsCount - the wasm package's `setThreadsCount`.
 * @param xnnpackThreads - how many of them XNNPACK's pool uses. @defaultValue `threads`
 * @returns a function that restores `os.cpus` and `worker_threads.Worker`; call it once the backend is ready.
 * @internal
 */
export async function prepareNodeWasmThreads(threads: number, setThreadsCount: (count: number) => void, xnnpackThreads = threads): Promise<() => void> {
  const { createRequire } = (await import(/* @vite-ignore */ 'node:module')) as typeof import('node:module');
  const require = createRequire(import.meta.url);
  const path = require('node:path') as typeof import('node:path');
  const wasmOut = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const workerSource = (require(path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string })
    .wasmWorkerContents // the same escaping tfjs applies before it makes a Blob of it
    .replace(/\n/g, '\\n');
  const factoryFile = path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');

  const workerThreads = require('node:worker_threads') as { Worker: typeof import('node:worker_threads').Worker };
  const os = require('node:os') as { cpus: () => import('node:os').CpuInfo[] };
  const OriginalWorker = workerThreads.Worker;
  const originalCpus = os.cpus;

  class TfjsWasmWorker extends OriginalWorker {
    private readonly pool: boolean;
    constructor(url: string | URL, options?: import('node:worker_threads').WorkerOptions) {
      if (typeof url === 'string' && url.startsWith('blob:')) {
        // The worker source is a CommonJS script: never let an inherited --input-type=module make it ESM.
        super(workerSource, { ...options, eval: true, execArgv: process.execArgv.filter((arg) => !WORKER_REFUSED_FLAG.test(arg)) });
        this.pool = true;
        // The pool lives as long as the backend and its threads wait for work forever: they
        // must not keep the process alive at exit (Emscripten re-refs running threads).
        this.unref();
      } else {
        super(url, options);
        this.pool = false;
      }
    }
    override ref(): void {
      // Emscripten refs a worker while its pthread runs; pool threads never stop running.
      if (!this.pool) super.ref();
    }
    override postMessage(value: unknown, transferList?: readonly import('node:worker_threads').Transferable[]): void {
      const message = value as { cmd?: string; urlOrBlob?: unknown } | null;
      const patched = message !== null && typeof message === 'object' && message.cmd === 'load' && typeof message.urlOrBlob !== 'string'
        ? { ...message, urlOrBlob: factoryFile }
        : value;
      super.postMessage(patched, transferList);
    }
  }
  workerThreads.Worker = TfjsWasmWorker;
  os.cpus = () => {
    const list = originalCpus();
    return Array.from({ length: Math.max(list.length, 2 * threads) }, (_, i) => list[i % list.length] as import('node:os').CpuInfo);
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(xnnpackThreads);
  return () => {
    workerThreads.Worker = OriginalWorker;
    os.cpus = originalCpus;
  };
}
