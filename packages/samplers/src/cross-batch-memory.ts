import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertEmbeddings, assertLabels, assertNumber, assertTuples } from '@contrastive/core';
import type { Loss, LossInput, Miner, Reference, Tuples } from '@contrastive/core';
import { MemoryQueue } from './memory-queue.js';
import { assertFinite } from './internal/mining.js';

const NAME = 'crossBatchMemory';

/**
 * Options of {@link crossBatchMemory}.
 * @category Memory
 */
export interface CrossBatchMemoryOptions {
  /** Number of embeddings the memory holds, a positive integer. @defaultValue 1024 (PML's `memory_size`) */
  readonly size?: number;
  /**
   * Dimension of the embeddings. Without it the memory is created by the first `compute`, from the
   * batch's dimension; give it to restore a checkpoint (`memory.load`) before the first step.
   * @defaultValue the first batch's
   */
  readonly dim?: number;
  /**
   * Mines the batch against the memory (`mine({ embeddings, labels, ref: memory })`); the pairs or
   * triplets that compare a row with its own copy in the memory are then dropped.
   * @defaultValue none: every pair of the batch with the memory, except each row with its own copy
   */
  readonly miner?: Miner;
}

/**
 * The `Loss` returned by {@link crossBatchMemory}: a loss plus the memory it owns.
 * @category Memory
 */
export interface CrossBatchMemoryLoss extends Loss {
  /**
   * The memory (a {@link MemoryQueue} of `size` embeddings with labels), e.g. for `memory.state()` /
   * `memory.load()` in the training loop's hooks.
   * @throws `ContrastiveError` `STATE` before the first `compute` when no `dim` was given, or after
   *   `dispose()`.
   */
  readonly memory: MemoryQueue;
  /** Empty the memory (PML's `reset_queue`). */
  reset(): void;
  /** Free the memory's tensors. Idempotent; `compute` then throws `STATE`. */
  dispose(): void;
}

/** `[k]` int32 tensor of host indices. */
function indexTensor(values: ArrayLike<number>): tf.Tensor1D {
  return tf.tensor1d(Int32Array.from(values), 'int32');
}

/**
 * Every (batch row, memory slot) pair of PML's `get_all_pairs_indices(labels, memory_labels)`,
 * row-major, without the positives that pair a row with its own copy (`slotOf[row]`).
 */
function allPairsWithoutSelf(labels: Int32Array, memoryLabels: Int32Array, slotOf: Int32Array): Tuples {
  const n = labels.length;
  const m = memoryLabels.length;
  const anchorPos: number[] = [];
  const positive: number[] = [];
  const anchorNeg = new Int32Array(n * m);
  const negative = new Int32Array(n * m);
  let q = 0;
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    const self = slotOf[i];
    for (let j = 0; j < m; j++) {
      if (memoryLabels[j] === label) {
        if (j === self) continue;
        anchorPos.push(i);
        positive.push(j);
      } else {
        anchorNeg[q] = i;
        negative[q++] = j;
      }
    }
  }
  return {
    kind: 'pairs',
    anchorPos: indexTensor(anchorPos),
    positive: indexTensor(positive),
    anchorNeg: indexTensor(anchorNeg.subarray(0, q)),
    negative: indexTensor(negative.subarray(0, q)),
  };
}

/**
 * PML's `remove_self_comparisons`: drops the mined positive pairs (or triplets) whose positive is the
 * anchor's own copy in the memory. Negative pairs are kept (a copy has the anchor's label, so it is
 * never a negative). Returns new tuples; `mined` is not disposed.
 */
function withoutSelf(mined: Tuples, slotOf: Int32Array): Tuples {
  const isSelf = (anchor: number, other: number): boolean => anchor >= 0 && anchor < slotOf.length && slotOf[anchor] === other;
  switch (mined.kind) {
    case 'pairs': {
      const anchors = mined.anchorPos.dataSync() as Int32Array;
      const others = mined.positive.dataSync() as Int32Array;
      const keptAnchors: number[] = [];
      const keptOthers: number[] = [];
      anchors.forEach((anchor, k) => {
        const other = others[k] as number;
        if (isSelf(anchor, other)) return;
        keptAnchors.push(anchor);
        keptOthers.push(other);
      });
      return {
        kind: 'pairs',
        anchorPos: indexTensor(keptAnchors),
        positive: indexTensor(keptOthers),
        anchorNeg: tf.clone(mined.anchorNeg),
        negative: tf.clone(mined.negative),
      };
    }
    case 'triplets': {
      const anchors = mined.anchor.dataSync() as Int32Array;
      const positives = mined.positive.dataSync() as Int32Array;
      const negatives = mined.negative.dataSync() as Int32Array;
      const kept: number[] = [];
      anchors.forEach((anchor, t) => {
        if (!isSelf(anchor, positives[t] as number)) kept.push(t);
      });
      return {
        kind: 'triplets',
        anchor: indexTensor(kept.map((t) => anchors[t] as number)),
        positive: indexTensor(kept.map((t) => positives[t] as number)),
        negative: indexTensor(kept.map((t) => negatives[t] as number)),
      };
    }
    default: {
      const unreachable: never = mined;
      return unreachable;
    }
  }
}

function disposeTuples(tuples: Tuples | undefined): void {
  if (tuples === undefined) return;
  switch (tuples.kind) {
    case 'pairs':
      tf.dispose([tuples.anchorPos, tuples.positive, tuples.anchorNeg, tuples.negative]);
      return;
    case 'triplets':
      tf.dispose([tuples.anchor, tuples.positive, tuples.negative]);
      return;
    default: {
      const unreachable: never = tuples;
      return unreachable;
    }
  }
}

/**
 * Cross-batch memory (Wang, Zhang, Huang & Scott 2020, "Cross-Batch Memory for Embedding Learning";
 * pytorch-metric-learning's `CrossBatchMemory`): wraps a pair or triplet loss so that each batch is
 * compared with the embeddings of the last `size` samples seen, not only with itself — many more
 * (hard) negatives at the cost of a memory of detached, slightly stale embeddings.
 *
 * `compute({ embeddings, labels })` (1) enqueues the batch, detached, into its {@link MemoryQueue};
 * (2) takes the memory as `ref` (storage order, as PML's `E_mem`); (3) builds the tuples: with a
 * `miner`, `miner.mine({ embeddings, labels, ref })`, else every pair of a batch row and a memory
 * entry (`get_all_pairs_indices(labels, L_mem)`); (4) drops the self-comparisons — a row paired
 * with its own copy, just enqueued — as PML's `remove_self_comparisons`; (5) returns
 * `loss.compute({ embeddings, labels, tuples, ref })`. Gradients flow into `embeddings` through the
 * anchors only; the memory is constant. Without a miner the pair lists hold `n · length` pairs (read
 * on the host from the labels): use a miner for large memories.
 *
 * Differences from PML: `input.tuples` and `input.ref` are rejected (PML appends a given
 * `indices_tuple` to the mined one; mine inside instead with `miner`), PML's `enqueue_idx` (enqueue
 * only part of the batch) is not offered, and a batch larger than `size` keeps its newest `size`
 * rows in the memory (PML asserts `len(embeddings) <= memory_size`).
 *
 * @param loss - the wrapped loss; it receives `{ embeddings, labels, tuples, ref }` and must support
 *   `tuples` and `ref` (e.g. `contrastiveLoss`, `tripletMarginLoss`, `multiSimilarityLoss` of
 *   `@contrastive/losses`).
 * @param options - memory size, dimension and miner; see {@link CrossBatchMemoryOptions}.
 * @returns a {@link CrossBatchMemoryLoss}: its `compute` takes `embeddings` `[n, d]` float32 and
 *   `labels` `[n]` int32 (borrowed) and returns a float32 scalar owned by the caller, leaving no
 *   tensor behind besides the memory; it owns its memory (free it with `dispose()`).
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for a `loss` or `miner` that is not one, or a bad
 *   `size` / `dim`; from `compute`, `SHAPE_MISMATCH` / `DTYPE_MISMATCH` / `LABEL_COUNT` naming
 *   `embeddings` or `labels` (also for a dimension other than the memory's), `NON_FINITE` for NaN
 *   or Infinity in `embeddings` (one scalar read, before they enter the memory), `INVALID_ARGUMENT`
 *   for `tuples` or `ref` in the input, `STATE` after `dispose()`.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { contrastiveLoss } from '@contrastive/losses';
 * import { crossBatchMemory } from '@contrastive/samplers';
 *
 * const loss = crossBatchMemory(contrastiveLoss(), { size: 4 });
 * const labels = tf.tensor1d([0, 1], 'int32');
 * loss.compute({ embeddings: tf.tensor2d([[1, 0], [0, 1]]), labels }).print();
 * // Tensor 0: the copies of this batch are its only memory entries and the self-pairs are dropped;
 * // the negative pairs are √2 > 1 apart
 * loss.compute({ embeddings: tf.tensor2d([[0.8, 0.6], [0, 1]]), labels }).print();
 * // Tensor 0.7380283 = √0.4 + (1 - √0.8): the positive pairs with the previous batch's copies
 * // (row 0 with [1, 0] at √0.4, row 1 with [0, 1] at 0) averaged over the non-zero one, plus the
 * // three negative pairs at √0.8 < 1 (row 0 with both [0, 1], row 1 with [0.8, 0.6]) averaged
 * console.log(loss.memory.length); // 4
 * loss.dispose();
 * ```
 * @category Memory
 */
export function crossBatchMemory(loss: Loss, options: CrossBatchMemoryOptions = {}): CrossBatchMemoryLoss {
  if (loss === null || typeof loss !== 'object' || typeof loss.compute !== 'function') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'loss' passed to '${NAME}' must be a Loss, got ${loss === null ? 'null' : typeof loss}`);
  }
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${NAME}' must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const size = options.size ?? 1024;
  assertNumber(size, 'size', NAME, { integer: true, min: 1 });
  if (options.dim !== undefined) assertNumber(options.dim, 'dim', NAME, { integer: true, min: 1 });
  const { miner } = options;
  if (miner !== undefined && (miner === null || typeof miner !== 'object' || typeof miner.mine !== 'function')) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'miner' passed to '${NAME}' must be a Miner, got ${miner === null ? 'null' : typeof miner}`);
  }
  let memory: MemoryQueue | undefined = options.dim === undefined ? undefined : new MemoryQueue({ size, dim: options.dim });
  let disposed = false;
  const live = (member: string): void => {
    if (disposed) throw new ContrastiveError('STATE', `'${NAME}.${member}' was called after dispose()`);
  };

  return {
    name: `${NAME}(${loss.name})`,
    get memory(): MemoryQueue {
      live('memory');
      if (memory === undefined) {
        throw new ContrastiveError('STATE', `'${NAME}.memory' does not exist before the first compute: pass 'dim' to create it up front`);
      }
      return memory;
    },
    reset(): void {
      live('reset');
      memory?.clear();
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      memory?.dispose();
    },
    compute(input: LossInput): tf.Scalar {
      const fn = `${NAME}.compute`;
      live('compute');
      if (input === null || typeof input !== 'object') {
        throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'input' passed to '${fn}' must be { embeddings, labels }, got ${input === null ? 'null' : typeof input}`);
      }
      const { embeddings, labels } = input;
      assertEmbeddings(embeddings, 'embeddings', fn);
      assertLabels(labels, embeddings.shape[0], 'labels', fn);
      if (input.tuples !== undefined) {
        assertTuples(input.tuples, fn);
        throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'tuples' passed to '${fn}' is not supported: the memory builds its own tuples (pass a 'miner' to ${NAME})`);
      }
      if (input.ref !== undefined) {
        throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'ref' passed to '${fn}' is not supported: the memory is the reference`);
      }
      const [n, d] = embeddings.shape;
      if (memory !== undefined && d !== memory.dim) {
        throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'embeddings' passed to '${fn}' must have ${memory.dim} columns (the memory's dim), got ${d}`);
      }
      assertFinite(embeddings, 'embeddings', fn);
      if (memory === undefined) memory = new MemoryQueue({ size, dim: d });
      // Slot of each row's copy: row i goes to (pointer + i) mod size; rows before the newest `size`
      // of an oversized batch are overwritten within the batch and have no copy (-1).
      const start = memory.pointer;
      const skipped = Math.max(0, n - size);
      const slotOf = new Int32Array(n);
      for (let i = 0; i < n; i++) slotOf[i] = i < skipped ? -1 : (start + i) % size;
      memory.enqueue(embeddings, labels);
      let ref: Reference | undefined;
      let mined: Tuples | undefined;
      let tuples: Tuples | undefined;
      try {
        ref = memory.reference();
        if (miner === undefined) {
          tuples = allPairsWithoutSelf(labels.dataSync() as Int32Array, ref.labels.dataSync() as Int32Array, slotOf);
        } else {
          mined = miner.mine({ embeddings, labels, ref });
          assertTuples(mined, `${fn} (miner '${miner.name}')`);
          tuples = withoutSelf(mined, slotOf);
        }
        return loss.compute({ embeddings, labels, tuples, ref });
      } finally {
        disposeTuples(mined);
        disposeTuples(tuples);
        if (ref !== undefined) tf.dispose([ref.embeddings, ref.labels]);
      }
    },
  };
}
