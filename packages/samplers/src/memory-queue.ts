import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, Rng, assertEmbeddings, assertLabels, assertNumber, assertOneOf, assertTensor } from '@contrastive/core';
import type { Embeddings, Labels, Reference } from '@contrastive/core';
import { assertFinite } from './internal/mining.js';

const INT32_MIN = -2147483648;

/**
 * @internal
 * Runs `compute` so that its result is not connected to any tensor of an active gradient tape: the
 * ops run inside one `tf.customGrad` whose only input is a fresh constant, and tf.js does not record
 * the ops of a custom gradient's forward pass. This is how a memory copies keys "detached" (PyTorch's
 * `x.detach()` under `torch.no_grad()`) even when it is called inside `optimizer.minimize`'s closure:
 * no gradient flows into the memory, and backpropagation never visits the memory-sized ops (a plain
 * `stopGradient` would leave them on the tape and compute zero gradients of the whole memory).
 * Intermediate tensors of `compute` are freed; the result is tracked by the caller's scope.
 */
export function detachedCompute<T extends tf.Tensor>(compute: () => T): T {
  const anchor = tf.scalar(0);
  try {
    const op = tf.customGrad(((_anchor: tf.Tensor) => ({
      value: compute(),
      // Never called: the anchor is not connected to any variable, so no tape path reaches it.
      gradFunc: () => tf.scalar(0),
    })) as unknown as Parameters<typeof tf.customGrad>[0]);
    return op(anchor) as T;
  } finally {
    anchor.dispose();
  }
}

const scatterMutates = new Map<string, boolean>();

/**
 * @internal True when the active backend's `tf.tensorScatterUpdate` writes into its input tensor
 * instead of a new buffer (tfjs-backend-cpu 4.22 does: its output shares the input's array). Probed
 * once per backend on a two-element tensor.
 */
export function scatterMutatesInput(): boolean {
  const name = tf.getBackend();
  let mutates = scatterMutates.get(name);
  if (mutates === undefined) {
    mutates = tf.tidy(() => {
      const target = tf.zeros([2]);
      tf.tensorScatterUpdate(target, tf.tensor2d([0], [1, 1], 'int32'), tf.tensor1d([1]));
      return (target.dataSync()[0] as number) !== 0;
    });
    scatterMutates.set(name, mutates);
  }
  return mutates;
}

/**
 * @internal Rows `[0, rows)` of a memory buffer as a new tensor owned by the caller, without a copy
 * (`reshape` of the whole buffer, or a slice). The buffer is then *exposed*: before the next scatter
 * into it, pass it through {@link writableBuffer}.
 */
export function bufferView<T extends tf.Tensor1D | tf.Tensor2D>(buffer: T, rows: number): T {
  const shape = [rows, ...buffer.shape.slice(1)];
  if (rows === buffer.shape[0]) return tf.reshape<tf.Rank>(buffer, shape) as T;
  return tf.slice(buffer, shape.map(() => 0), shape) as T;
}

/**
 * @internal The tensor a scatter may write to produce a memory buffer's next version: the buffer
 * itself, or — when the backend's scatter writes in place (see {@link scatterMutatesInput}) and the
 * buffer was exposed (views handed out, a caller's tensor loaded) — a private copy, so that a write
 * never changes a tensor the caller holds. Backends whose scatters write new buffers never copy.
 */
export function writableBuffer<T extends tf.Tensor>(buffer: T, exposed: boolean): T {
  if (!exposed || !scatterMutatesInput()) return buffer;
  return tf.tensor<tf.Rank>(buffer.dataSync().slice(), buffer.shape, buffer.dtype) as T;
}

/**
 * @internal `rows * dim` float32 values of random unit rows: standard normal draws from `rng`,
 * each row divided by its float64 norm (uniform on the sphere; MoCo's `normalize(randn(dim, K))`).
 */
export function randomUnitRows(rng: Rng, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * dim);
  const row = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    let squares = 0;
    for (let j = 0; j < dim; j++) {
      const value = rng.normal();
      row[j] = value;
      squares += value * value;
    }
    const norm = Math.sqrt(squares) || 1;
    for (let j = 0; j < dim; j++) out[r * dim + j] = (row[j] as number) / norm;
  }
  return out;
}

/** @internal Throws `STATE` naming `member` when `disposed`. */
export function assertLive(disposed: boolean, owner: string, member: string): void {
  if (disposed) throw new ContrastiveError('STATE', `'${owner}.${member}' was called after dispose()`);
}

/** @internal Throws unless `tensors` is an array of exactly `count` tensors (a saved state). */
export function assertStateArray(tensors: unknown, count: number, fn: string): asserts tensors is readonly tf.Tensor[] {
  if (!Array.isArray(tensors) || tensors.length !== count) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'state' passed to '${fn}' must be an array of ${count} tensors (as returned by state()), got ${Array.isArray(tensors) ? `${tensors.length} entries` : typeof tensors}`,
    );
  }
}

/** @internal Throws `SHAPE_MISMATCH` unless `tensor` has exactly `shape`. */
export function assertShape(tensor: tf.Tensor, shape: readonly number[], argument: string, fn: string): void {
  if (tensor.shape.length !== shape.length || tensor.shape.some((size, i) => size !== shape[i])) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument '${argument}' passed to '${fn}' must have shape [${shape.join(', ')}], got [${tensor.shape.join(', ')}]`,
    );
  }
}

/**
 * Options of {@link MemoryQueue}.
 * @category Memory
 */
export interface MemoryQueueOptions {
  /** Number of keys the queue holds (MoCo's `K`, XBM's memory size), a positive integer. */
  readonly size: number;
  /** Dimension `d` of the keys, a positive integer. */
  readonly dim: number;
  /**
   * `'empty'`: the queue starts without keys (`length` 0; XBM, PML's `CrossBatchMemory`).
   * `'random'`: it starts full of random unit vectors (MoCo's `normalize(randn(dim, K))`), labelled
   * `-1, -2, …, -size` — negative labels that match no batch label `>= 0`, so they serve as
   * negatives of every query until real keys replace them.
   * @defaultValue 'empty'
   */
  readonly initialize?: 'empty' | 'random';
  /** Generator of the random initial keys (only used with `initialize: 'random'`). @defaultValue `new Rng(0)` */
  readonly rng?: Rng;
}

/**
 * A FIFO queue of `size` keys with labels: the dictionary of MoCo (He et al. 2020, "Momentum Contrast
 * for Unsupervised Visual Representation Learning") and the labelled cross-batch memory of XBM (Wang
 * et al. 2020, "Cross-Batch Memory for Embedding Learning"; PML's `CrossBatchMemory` memory). Each
 * {@link MemoryQueue.enqueue} writes the batch's keys into the next slots of a ring buffer,
 * overwriting the oldest ones; {@link MemoryQueue.reference} hands them to a loss or miner as its
 * `ref`.
 *
 * **Detached.** Enqueued keys are copies through which no gradient flows, also when `enqueue` runs
 * inside `optimizer.minimize`'s closure (the copy is made outside the gradient tape).
 *
 * **Order.** `reference()` returns the keys in storage (slot) order, as PML's `CrossBatchMemory`
 * passes its memory: before the queue is full, slots `0 .. length-1` hold the keys oldest first;
 * once it is full, slot `pointer` holds the oldest key and slot `pointer - 1` (mod `size`) the
 * newest. Row `j` of the reference is slot `j`. (Storage order makes `reference()` free: the full
 * queue is shared, not copied.)
 *
 * **Labels.** Keys enqueued without labels get unique negative labels `-1, -2, -3, …` in order of
 * arrival (continuing after the `-1 .. -size` of a random start; wrapping back to `-1` after `2^31`
 * such keys, long after any earlier one has left the queue), so they never equal a label `>= 0`
 * (view labels, class labels) nor each other: MoCo's queued keys are negatives of every query.
 *
 * **Cost.** Keys are written with one `tf.tensorScatterUpdate` into a new buffer (measured here:
 * 256 keys into a 65,536 x 128 queue in about 3 ms on wasm), not by concatenating slices (slices and
 * concatenations of a large tensor go through JavaScript on wasm: hundreds of milliseconds). A full
 * queue's `reference()` is a view of the buffer (no copy); before the queue is full it is a slice of
 * the filled rows. On tfjs-backend-cpu, whose `tensorScatterUpdate` writes into its input, the queue
 * writes in place and copies the buffer once before the next write only when a reference or state
 * of it may still be alive.
 *
 * **Checkpoints.** {@link MemoryQueue.state} returns `[embeddings, labels, meta]` for the training
 * loop's `hooks.saveState`; {@link MemoryQueue.load} restores it in `hooks.loadState`. MoCo with the
 * training loop of `@contrastive/core` (a `MomentumEncoder` `keyEncoder` makes the keys of a second
 * view; `infoNceLoss` takes `ref = [positive keys; queue]`):
 *
 * ```ts
 * const queue = new MemoryQueue({ size: 4096, dim: 128, initialize: 'random', rng: new Rng(0) });
 * let keys: tf.Tensor2D | undefined;
 * const hooks: TrainHooks = {
 *   lossInput: ({ inputs, labels, embeddings }) => {
 *     keys = tf.keep(keyEncoder.apply(secondView(inputs)));
 *     const queued = queue.reference(); // freed with the step's other tensors
 *     const ref = { embeddings: tf.concat([keys, queued.embeddings]), labels: tf.concat([labels, queued.labels]) };
 *     return { embeddings, labels, ref };
 *   },
 *   afterStep: () => {
 *     keyEncoder.update();
 *     queue.enqueue(keys!); // unlabelled: negatives of every later query
 *     keys!.dispose();
 *   },
 *   saveState: () => ({ queue: queue.state() }),
 *   loadState: (state) => queue.load(state['queue'] ?? []),
 * };
 * ```
 *
 * Differences: lightly's `MemoryBankModule` drops the part of a batch that runs past the end of its
 * buffer and restarts at slot 0; this queue wraps around (MoCo's and PML's behaviour). A batch larger
 * than `size` keeps its newest `size` keys (PML asserts instead).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { MemoryQueue } from '@contrastive/samplers';
 *
 * const queue = new MemoryQueue({ size: 4, dim: 2 });
 * queue.enqueue(tf.tensor2d([[1, 0], [0, 1], [0.6, 0.8]]), tf.tensor1d([7, 8, 9], 'int32'));
 * queue.enqueue(tf.tensor2d([[-1, 0], [0, -1]]), tf.tensor1d([3, 4], 'int32'));
 * const { embeddings, labels } = queue.reference();
 * labels.print();             // [4, 8, 9, 3]: slot 0 was overwritten by the fifth key
 * console.log(queue.pointer); // 1: the oldest key (label 8) sits in slot 1
 * queue.enqueue(tf.tensor2d([[0, 0.5]]));
 * console.log(queue.pointer); // 2: the unlabelled key went to slot 1 with label -1
 * tf.dispose([embeddings, labels]);
 * queue.dispose();
 * ```
 * @category Memory
 */
export class MemoryQueue {
  /** Capacity: the number of keys a full queue holds. */
  readonly size: number;
  /** Dimension of the keys. */
  readonly dim: number;
  private embeddings: tf.Tensor2D;
  private labels: tf.Tensor1D;
  private head = 0;
  private filled = 0;
  private nextLabel = -1;
  /** Views of the buffers may be alive (see `writableBuffer`). */
  private exposed = false;
  private disposed = false;

  /**
   * @param options - size, dimension, initial content and generator; see {@link MemoryQueueOptions}.
   * @throws `ContrastiveError` `INVALID_ARGUMENT` when `size` or `dim` is not a positive integer,
   *   `initialize` is not `'empty'` or `'random'`, or `rng` is not an `Rng`.
   */
  constructor(options: MemoryQueueOptions) {
    const fn = 'MemoryQueue';
    if (options === null || typeof options !== 'object') {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be { size, dim }, got ${options === null ? 'null' : typeof options}`);
    }
    const { size, dim } = options;
    assertNumber(size, 'size', fn, { integer: true, min: 1 });
    assertNumber(dim, 'dim', fn, { integer: true, min: 1 });
    const initialize = options.initialize ?? 'empty';
    assertOneOf(initialize, ['empty', 'random'] as const, 'initialize', fn);
    if (options.rng !== undefined && !(options.rng instanceof Rng)) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'rng' passed to '${fn}' must be an Rng, got ${typeof options.rng}`);
    }
    this.size = size;
    this.dim = dim;
    switch (initialize) {
      case 'empty':
        this.embeddings = tf.keep(tf.zeros([size, dim]));
        this.labels = tf.keep(tf.zeros([size], 'int32'));
        break;
      case 'random': {
        const rng = options.rng ?? new Rng(0);
        this.embeddings = tf.keep(tf.tensor2d(randomUnitRows(rng, size, dim), [size, dim]));
        this.labels = tf.keep(tf.tensor1d(this.takeLabels(size), 'int32'));
        this.filled = size;
        break;
      }
      default: {
        const unreachable: never = initialize;
        throw new ContrastiveError('INVALID_ARGUMENT', `Unknown initialize ${String(unreachable)}`);
      }
    }
  }

  /** Number of keys held: grows with each enqueue up to {@link MemoryQueue.size}. */
  get length(): number {
    return this.filled;
  }

  /**
   * The slot the next key is written to. Once the queue is full it is also the slot of the oldest
   * key; before, it equals {@link MemoryQueue.length}.
   */
  get pointer(): number {
    return this.head;
  }

  /**
   * Append keys (and their labels), overwriting the oldest keys once the queue is full: key `i` of
   * the batch goes to slot `(pointer + i) mod size`. A batch larger than `size` keeps its newest
   * `size` keys. The keys are copied, detached from any gradient.
   *
   * @param keys - `[b, dim]` float32 (borrowed); `b` may be 0 (nothing happens).
   * @param labels - `[b]` int32 labels (borrowed). @defaultValue unique negative labels `-1, -2, …`
   *   continuing from the previous unlabelled keys (see the class notes)
   * @throws `ContrastiveError` `SHAPE_MISMATCH` when `keys` is not `[b, dim]`, `DTYPE_MISMATCH` for
   *   non-float32 keys or non-int32 labels, `LABEL_COUNT` when `labels` has not `b` entries,
   *   `DISPOSED` for a disposed tensor, `NON_FINITE` when `keys` hold NaN or Infinity (checked with
   *   one scalar read, before any write: a non-finite key would poison every loss that uses the
   *   queue until it is overwritten), `STATE` after `dispose()`.
   */
  enqueue(keys: Embeddings, labels?: Labels): void {
    const fn = 'MemoryQueue.enqueue';
    assertLive(this.disposed, 'MemoryQueue', 'enqueue');
    assertEmbeddings(keys, 'keys', fn, 0);
    if (keys.shape[1] !== this.dim) {
      throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'keys' passed to '${fn}' must have ${this.dim} columns (the queue's dim), got ${keys.shape[1]}`);
    }
    const b = keys.shape[0];
    if (labels !== undefined) assertLabels(labels, b, 'labels', fn);
    if (b === 0) return;
    assertFinite(keys, 'keys', fn);
    const kept = Math.min(b, this.size);
    const skipped = b - kept;
    const slots = new Int32Array(kept);
    const first = (this.head + skipped) % this.size;
    for (let i = 0; i < kept; i++) slots[i] = (first + i) % this.size;
    const keptLabels = labels === undefined ? this.takeLabels(kept) : undefined;
    const exposed = this.exposed;

    const nextEmbeddings = tf.keep(
      detachedCompute(() => {
        const rows = skipped === 0 ? keys : tf.slice(keys, [skipped, 0], [kept, this.dim]);
        return tf.tensorScatterUpdate(writableBuffer(this.embeddings, exposed), tf.tensor2d(slots, [kept, 1], 'int32'), rows) as tf.Tensor2D;
      }),
    );
    const nextLabels = tf.keep(
      tf.tidy(() => {
        let values: tf.Tensor1D;
        if (keptLabels !== undefined) values = tf.tensor1d(keptLabels, 'int32');
        else values = skipped === 0 ? (labels as Labels) : tf.slice(labels as Labels, [skipped], [kept]);
        return tf.tensorScatterUpdate(writableBuffer(this.labels, exposed), tf.tensor2d(slots, [kept, 1], 'int32'), values) as tf.Tensor1D;
      }),
    );
    this.embeddings.dispose();
    this.labels.dispose();
    this.embeddings = nextEmbeddings;
    this.labels = nextLabels;
    this.exposed = false;
    this.head = (this.head + b) % this.size;
    this.filled = Math.min(this.size, this.filled + b);
  }

  /**
   * The keys held, as a `Reference` (core type) for a loss's or miner's `ref`, in storage (slot)
   * order (see the class notes).
   *
   * @returns `{ embeddings: [length, dim] float32, labels: [length] int32 }`, new tensors owned by
   *   the caller (disposing them leaves the queue intact; later enqueues do not change them). Empty
   *   (`[0, dim]`, `[0]`) before the first enqueue of an `'empty'` queue; losses reject an empty
   *   reference.
   * @throws `ContrastiveError` `STATE` after `dispose()`.
   */
  reference(): Reference {
    assertLive(this.disposed, 'MemoryQueue', 'reference');
    // A view, not a copy: the next enqueue writes a new buffer (or, on a backend whose scatter writes
    // in place, first copies the exposed one).
    this.exposed = true;
    return { embeddings: bufferView(this.embeddings, this.filled), labels: bufferView(this.labels, this.filled) };
  }

  /**
   * Remove every key: `length` and `pointer` become 0 and unlabelled keys are numbered from `-1`
   * again (a `'random'` queue becomes empty, it is not re-randomised).
   * @throws `ContrastiveError` `STATE` after `dispose()`.
   */
  clear(): void {
    assertLive(this.disposed, 'MemoryQueue', 'clear');
    this.head = 0;
    this.filled = 0;
    this.nextLabel = -1;
  }

  /**
   * The queue's state for a checkpoint (the training loop's `hooks.saveState`).
   *
   * @returns `[embeddings [size, dim] float32, labels [size] int32, meta [3] int32]` with
   *   `meta = [pointer, length, next unlabelled label]`; new tensors owned by the caller (the loop
   *   disposes them).
   * @throws `ContrastiveError` `STATE` after `dispose()`.
   */
  state(): tf.Tensor[] {
    assertLive(this.disposed, 'MemoryQueue', 'state');
    this.exposed = true;
    return [bufferView(this.embeddings, this.size), bufferView(this.labels, this.size), tf.tensor1d([this.head, this.filled, this.nextLabel], 'int32')];
  }

  /**
   * Restore a state returned by {@link MemoryQueue.state} (the training loop's `hooks.loadState`).
   * The queue must have the same `size` and `dim`.
   *
   * @param state - `[embeddings, labels, meta]`, borrowed (copied).
   * @throws `ContrastiveError` `INVALID_ARGUMENT` for a wrong number of tensors or inconsistent
   *   `meta`, `SHAPE_MISMATCH` / `DTYPE_MISMATCH` naming `state[i]`, `STATE` after `dispose()`.
   */
  load(state: readonly tf.Tensor[]): void {
    const fn = 'MemoryQueue.load';
    assertLive(this.disposed, 'MemoryQueue', 'load');
    assertStateArray(state, 3, fn);
    const [embeddings, labels, meta] = state as [tf.Tensor, tf.Tensor, tf.Tensor];
    assertTensor(embeddings, 2, 'state[0]', fn, 'float32');
    assertShape(embeddings, [this.size, this.dim], 'state[0]', fn);
    assertTensor(labels, 1, 'state[1]', fn, 'int32');
    assertShape(labels, [this.size], 'state[1]', fn);
    assertTensor(meta, 1, 'state[2]', fn, 'int32');
    assertShape(meta, [3], 'state[2]', fn);
    const [head, filled, nextLabel] = Array.from(meta.dataSync()) as [number, number, number];
    const consistent =
      head >= 0 && head < this.size && filled >= 0 && filled <= this.size && (filled === this.size || head === filled) && nextLabel < 0;
    if (!consistent) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'state[2]' passed to '${fn}' must be [pointer, length, next label] of a queue of size ${this.size}, got [${head}, ${filled}, ${nextLabel}]`,
      );
    }
    const nextEmbeddings = tf.keep(tf.clone(embeddings as tf.Tensor2D));
    const nextLabels = tf.keep(tf.clone(labels as tf.Tensor1D));
    this.embeddings.dispose();
    this.labels.dispose();
    this.embeddings = nextEmbeddings;
    this.labels = nextLabels;
    this.exposed = true;
    this.head = head;
    this.filled = filled;
    this.nextLabel = nextLabel;
  }

  /** Free the queue's tensors. Idempotent; any other method then throws `STATE`. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.embeddings.dispose();
    this.labels.dispose();
  }

  /** The next `count` unique negative labels. */
  private takeLabels(count: number): Int32Array {
    const out = new Int32Array(count);
    let next = this.nextLabel;
    for (let i = 0; i < count; i++) {
      out[i] = next;
      next = next === INT32_MIN ? -1 : next - 1;
    }
    this.nextLabel = next;
    return out;
  }
}
