import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertEmbeddings, assertNumber, assertOneOf, l2Normalize } from '@contrastive/core';
import type { Embeddings, Rng } from '@contrastive/core';
import { MemoryQueue, assertLive, detachedCompute } from './memory-queue.js';
import { assertFinite } from './internal/mining.js';

/**
 * Options of {@link NearestNeighborSupportSet}.
 * @category Memory
 */
export interface NearestNeighborSupportSetOptions {
  /** Number of embeddings in the support set, a positive integer. @defaultValue 65536 (NNCLR; lightly's `2 ** 16`) */
  readonly size?: number;
  /** Dimension of the embeddings, a positive integer. */
  readonly dim: number;
  /**
   * `'random'`: the support set starts full of random unit vectors, as lightly's memory bank.
   * `'empty'`: it starts without entries, and a lookup before the first update returns the
   * (normalised) queries themselves.
   * @defaultValue 'random'
   */
  readonly initialize?: 'random' | 'empty';
  /** Generator of the random initial entries. @defaultValue `new Rng(0)` */
  readonly rng?: Rng;
}

/**
 * Options of {@link NearestNeighborSupportSet.nearest}.
 * @category Memory
 */
export interface NearestOptions {
  /** Enqueue the (normalised) queries after the lookup, lightly's `update=True`. @defaultValue false */
  readonly update?: boolean;
}

/**
 * The support set of NNCLR (Dwibedi, Aytar, Tompson, Sermanet & Zisserman 2021, "With a Little Help
 * from My Friends: Nearest-Neighbor Contrastive Learning of Visual Representations"; lightly's
 * `NNMemoryBankModule`): a FIFO queue of embeddings in which each query is replaced by its nearest
 * neighbour, which then serves as the positive of the other view — positives beyond one sample's
 * augmentations.
 *
 * {@link NearestNeighborSupportSet.nearest} returns, for each query row, the support entry of
 * largest cosine similarity (the first one on ties, as `torch.argmax`), detached from the gradient
 * as in NNCLR, and with `update: true` then enqueues the queries (lightly's order: lookup, then
 * update). The queue is a {@link MemoryQueue} of L2-normalised embeddings; lightly stores the raw
 * outputs and returns raw entries — the neighbour chosen is the same (cosine similarity ignores
 * norms), and the losses NNCLR uses (NT-Xent) normalise anyway. Like lightly's bank, the support set
 * starts full of random unit vectors; with `initialize: 'empty'`, a lookup before any entry returns
 * the normalised queries (each query is its own nearest neighbour, as if the batch were in the
 * support set). Lightly also drops the part of a batch that runs past the end of its buffer; this
 * queue wraps around.
 *
 * NNCLR's step: `nn0 = support.nearest(z0)`, `nn1 = support.nearest(z1, { update: true })`, loss
 * `½ (ntXent(nn0, p1) + ntXent(nn1, p0))` with `p` the predictor outputs.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { NearestNeighborSupportSet } from '@contrastive/samplers';
 *
 * const support = new NearestNeighborSupportSet({ size: 3, dim: 2, initialize: 'empty' });
 * support.nearest(tf.tensor2d([[3, 4]]), { update: true }).print(); // [[0.6, 0.8]] (itself, normalised)
 * support.nearest(tf.tensor2d([[0, -2]]), { update: true }).dispose();
 * support.nearest(tf.tensor2d([[1, 1], [0, -5]])).print(); // [[0.6, 0.8], [0, -1]]
 * support.dispose();
 * ```
 * @category Memory
 */
export class NearestNeighborSupportSet {
  /** The queue of normalised embeddings (owned; use `queue.state()` / `queue.load()` for checkpoints). */
  readonly queue: MemoryQueue;
  private disposed = false;

  /**
   * @param options - size, dimension, initial content and generator; see
   *   {@link NearestNeighborSupportSetOptions}.
   * @throws `ContrastiveError` `INVALID_ARGUMENT` for a `size` or `dim` that is not a positive
   *   integer, an unknown `initialize`, or an `rng` that is not an `Rng`.
   */
  constructor(options: NearestNeighborSupportSetOptions) {
    const fn = 'NearestNeighborSupportSet';
    if (options === null || typeof options !== 'object') {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be { dim }, got ${options === null ? 'null' : typeof options}`);
    }
    const size = options.size ?? 65536;
    assertNumber(size, 'size', fn, { integer: true, min: 1 });
    assertNumber(options.dim, 'dim', fn, { integer: true, min: 1 });
    const initialize = options.initialize ?? 'random';
    assertOneOf(initialize, ['random', 'empty'] as const, 'initialize', fn);
    this.queue = new MemoryQueue(options.rng === undefined ? { size, dim: options.dim, initialize } : { size, dim: options.dim, initialize, rng: options.rng });
  }

  /** Capacity of the support set. */
  get size(): number {
    return this.queue.size;
  }

  /** Dimension of the embeddings. */
  get dim(): number {
    return this.queue.dim;
  }

  /**
   * Nearest support entries by cosine similarity (lightly's `NNMemoryBankModule.forward`).
   *
   * @param embeddings - `[n, dim]` float32 queries (borrowed).
   * @param options - `update`: enqueue the queries after the lookup; see {@link NearestOptions}.
   * @returns `[n, dim]` float32 unit rows, the nearest entry of each query (its own normalised copy
   *   while the support set is empty), owned by the caller; no gradient flows through them.
   * @throws `ContrastiveError` `SHAPE_MISMATCH` / `DTYPE_MISMATCH` / `DISPOSED` naming `embeddings`
   *   (also for a dimension other than `dim`), `NON_FINITE` for NaN or Infinity in `embeddings`
   *   (one scalar read: a NaN query has no nearest entry), `INVALID_ARGUMENT` for `options` that is
   *   not an object or a non-boolean `update`, `STATE` after `dispose()`.
   */
  nearest(embeddings: Embeddings, options: NearestOptions = {}): tf.Tensor2D {
    const fn = 'NearestNeighborSupportSet.nearest';
    assertLive(this.disposed, 'NearestNeighborSupportSet', 'nearest');
    assertEmbeddings(embeddings, 'embeddings', fn);
    if (embeddings.shape[1] !== this.dim) {
      throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'embeddings' passed to '${fn}' must have ${this.dim} columns (the support set's dim), got ${embeddings.shape[1]}`);
    }
    if (options === null || typeof options !== 'object') {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be { update? }, got ${options === null ? 'null' : typeof options}`);
    }
    const update = options.update ?? false;
    assertOneOf(update, [true, false], 'update', fn);
    assertFinite(embeddings, 'embeddings', fn);
    const queries = detachedCompute(() => l2Normalize(embeddings));
    try {
      let result: tf.Tensor2D;
      if (this.queue.length === 0) {
        result = tf.clone(queries);
      } else {
        const support = this.queue.reference();
        try {
          result = detachedCompute(() => {
            // Plain matMul with the support transposed once: the fast form on every backend.
            const similarities = tf.matMul(queries, tf.transpose(support.embeddings));
            return tf.gather(support.embeddings, tf.argMax(similarities, 1)) as tf.Tensor2D;
          });
        } finally {
          tf.dispose([support.embeddings, support.labels]);
        }
      }
      if (update) this.queue.enqueue(queries);
      return result;
    } finally {
      queries.dispose();
    }
  }

  /**
   * The support set's state for a checkpoint (the training loop's `hooks.saveState`): the queue's,
   * see {@link MemoryQueue.state}.
   * @returns `[embeddings, labels, meta]`, new tensors owned by the caller.
   * @throws `ContrastiveError` `STATE` after `dispose()`.
   */
  state(): tf.Tensor[] {
    assertLive(this.disposed, 'NearestNeighborSupportSet', 'state');
    return this.queue.state();
  }

  /**
   * Restore a state returned by {@link NearestNeighborSupportSet.state} (see {@link MemoryQueue.load}).
   * @param state - borrowed (copied).
   * @throws `ContrastiveError` as {@link MemoryQueue.load}; `STATE` after `dispose()`.
   */
  load(state: readonly tf.Tensor[]): void {
    assertLive(this.disposed, 'NearestNeighborSupportSet', 'load');
    this.queue.load(state);
  }

  /** Remove every entry (see {@link MemoryQueue.clear}). @throws `ContrastiveError` `STATE` after `dispose()`. */
  clear(): void {
    assertLive(this.disposed, 'NearestNeighborSupportSet', 'clear');
    this.queue.clear();
  }

  /** Free the support set's tensors. Idempotent; any other method then throws `STATE`. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.queue.dispose();
  }
}
