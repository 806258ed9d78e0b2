/**
 * A second thread for the native kernels (native/kernels.c) when the wasm backend's memory is
 * shared (its threaded build: `selectBackend({ wasmThreads: 2 })`): one worker instantiates the
 * kernels module on the same memory and waits on an `Atomics` word (spinning on it for a moment
 * first: see WORKER_SPIN_MS). A kernel call cuts its work
 * into fixed chunks (row ranges, or groups of images); the calling thread and the worker each take
 * the next unclaimed chunk until none is left, synchronously (tfjs kernels are synchronous), and the
 * call returns when the worker's last chunk is done. Node.js's main thread may `Atomics.wait`; a
 * browser's main thread may not, so there it spins on `Atomics.load` (chunks take milliseconds).
 *
 * The chunks do not depend on whether the worker runs or how fast: without it the calling thread
 * takes them all, so results are bit-identical with one thread or two.
 */

// Control block (Int32Array over a SharedArrayBuffer): [SEQ] is bumped per task, [FN] the
// function's index, [ARGC] the number of its arguments, the chunk fields below, [FAILED] and
// [DONE] the worker's answer. The arguments themselves go in a Float64Array of their own (a float
// argument such as a scale 1 / 0.07 must reach the worker unchanged, not cut to an int32).
const SEQ = 0;
const FN = 1;
const ARGC = 2;
const MAX_ARGS = 40;
const FAILED = 62;
const DONE = 63;
/** Chunked calls: the number of chunks, the next unclaimed chunk, where the row range goes in the arguments, the chunk bounds. */
const CHUNKS = 44;
const NEXT = 45;
const START_AT = 46;
const END_AT = 47;
const BOUNDS = 64;
const MAX_CHUNKS = 48;
const CONTROL_INTS = BOUNDS + MAX_CHUNKS + 1;

/** Flags a worker must not inherit: --input-type (its source is CommonJS) and V8 / process options Node refuses there. */
/** @internal */
export const WORKER_REFUSED_FLAG = /^--(input-type|max-old-space-size|max-semi-space-size|stack-size|expose[-_]gc|title)\b/;

/**
 * Milliseconds the worker spins on the control word after a task before it sleeps in
 * `Atomics.wait`, and the calling thread on the worker's answer. Measured on a 2-vCPU VM (Intel
 * Xeon, KVM), bench MLP step, 5 alternating pairs of processes, median of 40 steps each: without
 * spinning 24.6 / 22.6 / 22.5 / 23.9 / 24.7 ms, with 18.8 / 16.6 / 17.9 / 23.2 / 24.2 ms; the CNN
 * step 148.9 / 182.9 / 191.1 → 148.9 / 156.1 / 183.5 ms.
 */
const WORKER_SPIN_MS = 2;
const CALLER_SPIN_MS = 1;

/** Seconds a kernel call waits for the worker before it gives the pool up. */
const WORKER_TIMEOUT_SECONDS = 120;

const WORKER_SOURCE = `
const node = typeof self === 'undefined';
const port = node ? require('node:worker_threads').parentPort : self;
function start({ module, memory, control, argBuffer, names }) {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const fns = names.map((name) => exports[name]);
  const ctrl = new Int32Array(control);
  const argValues = new Float64Array(argBuffer);
  let seen = Atomics.load(ctrl, ${SEQ});
  port.postMessage('ready');
  for (;;) {
    // Spin a little before sleeping: a step's kernel calls come milliseconds apart, and waking a
    // sleeping thread (a halted virtual CPU) takes long enough to cost the call its parallelism.
    const spinUntil = performance.now() + ${WORKER_SPIN_MS};
    while (Atomics.load(ctrl, ${SEQ}) === seen && performance.now() < spinUntil);
    Atomics.wait(ctrl, ${SEQ}, seen);
    seen = Atomics.load(ctrl, ${SEQ});
    if (seen < 0) return;
    const args = [];
    for (let i = 0; i < ctrl[${ARGC}]; i++) args.push(argValues[i]);
    try {
      const fn = fns[ctrl[${FN}]];
      const chunks = ctrl[${CHUNKS}];
      for (let c = Atomics.add(ctrl, ${NEXT}, 1); c < chunks; c = Atomics.add(ctrl, ${NEXT}, 1)) {
        args[ctrl[${START_AT}]] = ctrl[${BOUNDS} + c];
        args[ctrl[${END_AT}]] = ctrl[${BOUNDS} + c + 1];
        fn(...args);
      }
      ctrl[${FAILED}] = 0;
    } catch {
      ctrl[${FAILED}] = 1;
    }
    Atomics.store(ctrl, ${DONE}, seen);
    Atomics.notify(ctrl, ${DONE});
  }
}
if (node) port.once('message', start);
else self.onmessage = (event) => start(event.data);
`;

interface Pool {
  readonly control: Int32Array;
  /** The arguments of the task in progress (any JS number, as the calling thread passes them). */
  readonly args: Float64Array;
  readonly names: readonly string[];
  /** Whether this thread may block in `Atomics.wait` (false on a browser's main thread). */
  readonly canWait: boolean;
  dead: boolean;
}

const pools = new WeakMap<WebAssembly.Memory, Pool | Promise<Pool | null> | null>();

interface WorkerLike {
  postMessage(message: unknown): void;
  unref?(): void;
}

async function spawnWorker(): Promise<{ worker: WorkerLike; ready: (onReady: () => void, onError: (error: unknown) => void) => void }> {
  const isNode = typeof globalThis === 'object' && (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node !== undefined;
  if (isNode) {
    // A variable specifier keeps bundlers from resolving a Node.js built-in for the browser.
    const specifier = 'node:worker_threads';
    const { Worker } = (await import(/* @vite-ignore */ specifier)) as typeof import('node:worker_threads');
    const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: process.execArgv.filter((arg) => !WORKER_REFUSED_FLAG.test(arg)) });
    worker.unref(); // it waits for work forever: never keep the process alive for it
    return {
      worker,
      ready: (onReady, onError) => {
        worker.once('message', onReady);
        worker.once('error', onError);
      },
    };
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new Worker(url);
  return {
    worker,
    ready: (onReady, onError) => {
      worker.onmessage = () => onReady();
      worker.onerror = (event) => onError(event);
    },
  };
}

function threadMayWait(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Start the worker for the kernels module on `memory` (shared), once per memory. Resolves when it
 * is ready (or to `null` when it cannot start: no shared memory, no workers).
 *
 * @internal
 */
export function startNativePool(memory: WebAssembly.Memory, module: WebAssembly.Module, names: readonly string[]): Promise<Pool | null> {
  const known = pools.get(memory);
  if (known !== undefined) return Promise.resolve(known);
  if (typeof SharedArrayBuffer === 'undefined' || !(memory.buffer instanceof SharedArrayBuffer)) {
    pools.set(memory, null);
    return Promise.resolve(null);
  }
  const starting = (async (): Promise<Pool | null> => {
    try {
      const control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_INTS));
      const args = new Float64Array(new SharedArrayBuffer(8 * MAX_ARGS));
      const { worker, ready } = await spawnWorker();
      await new Promise<void>((resolve, reject) => {
        ready(resolve, reject);
        worker.postMessage({ module, memory, control: control.buffer, argBuffer: args.buffer, names });
      });
      const pool: Pool = { control, args, names, canWait: threadMayWait(), dead: false };
      pools.set(memory, pool);
      return pool;
    } catch {
      pools.set(memory, null);
      return null;
    }
  })();
  pools.set(memory, starting);
  return starting;
}

/** The ready pool of `memory`, or `null` (none, still starting, or given up). @internal */
export function readyPool(memory: WebAssembly.Memory): Pool | null {
  const pool = pools.get(memory);
  return pool !== undefined && pool !== null && !(pool instanceof Promise) && !pool.dead ? pool : null;
}

/**
 * Run `fn(...args)` over the row ranges `[bounds[c], bounds[c + 1])` (written into `args` at
 * `startAt` / `endAt`), shared between the calling thread (`call`) and the pool's worker: each
 * takes the next unclaimed range until none is left, so a worker that wakes late or runs slower
 * takes fewer. Every range is computed by the same code whichever thread takes it: for kernels
 * whose rows are independent the result does not depend on the thread count or the timing.
 *
 * @internal
 */
export function runChunked(
  pool: Pool,
  fn: string,
  args: readonly number[],
  startAt: number,
  endAt: number,
  bounds: readonly number[],
  call: (...values: number[]) => void,
): void {
  const index = pool.names.indexOf(fn);
  const chunks = bounds.length - 1;
  if (index < 0 || args.length > MAX_ARGS || chunks < 1 || chunks > MAX_CHUNKS) throw new Error(`native pool: cannot run ${fn} over ${chunks} chunks`);
  const c = pool.control;
  c[FN] = index;
  c[CHUNKS] = chunks;
  c[START_AT] = startAt;
  c[END_AT] = endAt;
  Atomics.store(c, NEXT, 0);
  bounds.forEach((value, i) => {
    c[BOUNDS + i] = value;
  });
  c[ARGC] = args.length;
  pool.args.set(args);
  const own = [...args];
  handOff(pool, fn, () => {
    for (let k = Atomics.add(c, NEXT, 1); k < chunks; k = Atomics.add(c, NEXT, 1)) {
      own[startAt] = bounds[k] as number;
      own[endAt] = bounds[k + 1] as number;
      call(...own);
    }
  });
}

/** Wake the worker for the job in the control block, run `local`, wait for the worker. */
function handOff(pool: Pool, fn: string, local: () => void): void {
  const c = pool.control;
  const seq = (Atomics.add(c, SEQ, 1) + 1) | 0;
  Atomics.notify(c, SEQ);
  try {
    local();
  } finally {
    const deadline = performance.now() + 1000 * WORKER_TIMEOUT_SECONDS;
    // The worker's last chunk usually ends within a millisecond of ours: spin that long before
    // sleeping, for the same reason as the worker does.
    const spinUntil = performance.now() + CALLER_SPIN_MS;
    for (;;) {
      const done = Atomics.load(c, DONE);
      if (done === seq) break;
      if (performance.now() < spinUntil) continue;
      if (performance.now() > deadline) {
        pool.dead = true;
        throw new Error(`native pool: the worker did not finish ${fn} within ${WORKER_TIMEOUT_SECONDS} s; running single-threaded from now on`);
      }
      if (pool.canWait) Atomics.wait(c, DONE, done, 100);
    }
  }
  if (c[FAILED] !== 0) throw new Error(`native pool: ${fn} trapped on the worker`);
}
