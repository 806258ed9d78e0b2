import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, Rng, assertEmbeddings, assertNumber, assertOneOf, assertTensor, l2Normalize } from '@contrastive/core';
import type { Embeddings, Reference, RngState } from '@contrastive/core';
import { assertLive, assertShape, assertStateArray, bufferView, detachedCompute, randomUnitRows, writableBuffer } from './memory-queue.js';
import { assertFinite } from './internal/mining.js';

/**
 * Options of {@link MemoryBank}.
 * @category Memory
 */
export interface MemoryBankOptions {
  /** Number of entries: the dataset size `n` (one entry per training sample), a positive integer. */
  readonly size: number;
  /** Dimension `d` of the entries, a positive integer. */
  readonly dim: number;
  /**
   * Momentum `m` in `[0, 1]` of {@link MemoryBank.update}: `v ← normalize(m·v + (1 − m)·f)`.
   * `0` replaces an entry by the new feature (normalised); `1` never changes it.
   * @defaultValue 0.5 (Wu et al. 2018)
   */
  readonly momentum?: number;
  /**
   * Generator of the initial entries and of {@link MemoryBank.sampleNegatives}. The bank draws from
   * its own fork of it (`rng.fork()`, which advances `rng` by one draw), whose state is part of
   * {@link MemoryBank.state}, so a resumed run samples the same negatives.
   * @defaultValue `new Rng(0)`
   */
  readonly rng?: Rng;
}

/**
 * Options of {@link MemoryBank.sampleNegatives}.
 * @category Memory
 */
export interface SampleNegativesOptions {
  /** Dataset indices never drawn, e.g. the batch's own (`[k]` int32 tensor or numbers in `[0, size)`). @defaultValue none */
  readonly exclude?: tf.Tensor1D | ArrayLike<number>;
  /**
   * Draw with replacement (the official code's uniform `AliasMethod` draws do); `false` draws
   * distinct entries and needs `count` at most the number of entries not excluded.
   * @defaultValue true
   */
  readonly replace?: boolean;
}

/** Reads `[b]` int32 indices to the host and checks them against `[0, size)` before any gather/scatter. */
function hostIndices(indices: unknown, size: number, argument: string, fn: string): Int32Array {
  assertTensor(indices, 1, argument, fn, 'int32');
  const values = (indices as tf.Tensor1D).dataSync() as Int32Array;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (value < 0 || value >= size) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument '${argument}' passed to '${fn}' must hold dataset indices in [0, ${size}), got ${value} at position ${i}`,
      );
    }
  }
  return Int32Array.from(values);
}

/** Encodes an `RngState` as int32 words: `[k, ...state (k words), hasSpare, spare (2 words of a float64)]`. */
function encodeRng(state: RngState): Int32Array {
  const spare = new Float64Array([state.spareNormal ?? 0]);
  const words = new Int32Array(spare.buffer);
  return Int32Array.from([state.state.length, ...state.state, state.spareNormal === null ? 0 : 1, words[0] as number, words[1] as number]);
}

function decodeRng(words: Int32Array, argument: string, fn: string): Rng {
  const k = words[0] as number;
  if (!(k >= 1 && words.length === k + 4)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${fn}' is not a generator state written by MemoryBank.state()`);
  }
  const spare = new Float64Array(Int32Array.from([words[k + 2] as number, words[k + 3] as number]).buffer)[0] as number;
  return Rng.fromState({ algorithm: 'xoroshiro128plus', state: Array.from(words.subarray(1, k + 1)), spareNormal: words[k + 1] === 1 ? spare : null });
}

/**
 * The memory bank of non-parametric instance discrimination (Wu, Xiong, Yu & Lin 2018, "Unsupervised
 * Feature Learning via Non-Parametric Instance Discrimination"): one entry `v_i` per training sample
 * `i`, kept as a running average of that sample's features and used in place of freshly computed
 * features of the other samples — as negatives drawn from the bank (their NCE approximation) or the
 * whole bank (the full non-parametric softmax).
 *
 * The entries start as random unit vectors (normal draws, L2-normalised). After a step,
 * {@link MemoryBank.update} sets `v_i ← normalize(m·v_i + (1 − m)·f_i)` for the batch's samples
 * (momentum `m` = 0.5 in the paper), detached from the gradient; pass the L2-normalised features as
 * the paper does. The official code (`lemniscate.pytorch`) starts from uniform values in
 * `[-1/√(d/3), 1/√(d/3)]` that are not normalised; the first update of an entry normalises it
 * anyway.
 *
 * Everything is labelled by dataset index: {@link MemoryBank.reference} labels entry `i` with `i` and
 * {@link MemoryBank.sampleNegatives} labels each drawn entry with its index, so a batch labelled by
 * dataset index (`labels = indices`) finds its own entries as positives and every other entry as a
 * negative. A duplicated index in one update (two views of a sample) moves its entry towards the
 * *mean* of its features, once (the official code's `index_copy_` leaves the result of duplicates
 * unspecified). Indices are checked on the host before any gather or scatter.
 *
 * The NCE form of Wu et al. with the training loop of `@contrastive/core`, `labels` being the
 * batch's dataset indices (`[b]` int32):
 *
 * ```ts
 * const bank = new MemoryBank({ size: 50000, dim: 128, rng: new Rng(0) });
 * const hooks: TrainHooks = {
 *   lossInput: ({ labels, embeddings }) => {
 *     const negatives = bank.sampleNegatives(4096, { exclude: labels });
 *     const positives = bank.get(labels);
 *     const ref = { embeddings: tf.concat([positives, negatives.embeddings]), labels: tf.concat([labels, negatives.labels]) };
 *     return { embeddings, labels, ref };
 *   },
 *   afterStep: ({ inputs, labels }) => tf.tidy(() => bank.update(labels, encodeNormalised(inputs))),
 *   saveState: () => ({ bank: bank.state() }),
 *   loadState: (state) => bank.load(state['bank'] ?? []),
 * };
 * ```
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { MemoryBank } from '@contrastive/samplers';
 *
 * const bank = new MemoryBank({ size: 3, dim: 2, momentum: 0.5 });
 * bank.update(tf.tensor1d([1], 'int32'), tf.tensor2d([[0, 1]]));
 * bank.update(tf.tensor1d([1], 'int32'), tf.tensor2d([[1, 0]]));
 * // v1 = normalize(0.5·v1 + 0.5·[1, 0]) after the first update made v1 = normalize(0.5·v1⁰ + 0.5·[0, 1]).
 * const { labels } = bank.reference();
 * labels.print(); // [0, 1, 2]
 * const negatives = bank.sampleNegatives(4, { exclude: [1] });
 * negatives.labels.print(); // four draws from {0, 2}
 * tf.dispose([labels, negatives.embeddings, negatives.labels]);
 * bank.dispose();
 * ```
 * @category Memory
 */
export class MemoryBank {
  /** Number of entries (the dataset size). */
  readonly size: number;
  /** Dimension of the entries. */
  readonly dim: number;
  /** Momentum of {@link MemoryBank.update}. */
  readonly momentum: number;
  private bank: tf.Tensor2D;
  private rng: Rng;
  /** Views of the buffer may be alive (see `writableBuffer`). */
  private exposed = false;
  private disposed = false;

  /**
   * @param options - size, dimension, momentum and generator; see {@link MemoryBankOptions}.
   * @throws `ContrastiveError` `INVALID_ARGUMENT` when `size` or `dim` is not a positive integer,
   *   `momentum` is outside `[0, 1]`, or `rng` is not an `Rng`.
   */
  constructor(options: MemoryBankOptions) {
    const fn = 'MemoryBank';
    if (options === null || typeof options !== 'object') {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be { size, dim }, got ${options === null ? 'null' : typeof options}`);
    }
    const { size, dim } = options;
    assertNumber(size, 'size', fn, { integer: true, min: 1 });
    assertNumber(dim, 'dim', fn, { integer: true, min: 1 });
    const momentum = options.momentum ?? 0.5;
    assertNumber(momentum, 'momentum', fn, { min: 0, max: 1 });
    if (options.rng !== undefined && !(options.rng instanceof Rng)) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'rng' passed to '${fn}' must be an Rng, got ${typeof options.rng}`);
    }
    this.size = size;
    this.dim = dim;
    this.momentum = momentum;
    this.rng = (options.rng ?? new Rng(0)).fork();
    this.bank = tf.keep(tf.tensor2d(randomUnitRows(this.rng, size, dim), [size, dim]));
  }

  /**
   * Momentum update of the batch's entries, detached from the gradient:
   * `v_i ← normalize(m·v_i + (1 − m)·f_i)`. An index listed several times uses the mean of its
   * features: `v_i ← normalize(m·v_i + (1 − m)·mean_k f_ik)`.
   *
   * @param indices - `[b]` int32 dataset indices in `[0, size)` (borrowed; read on the host).
   * @param embeddings - `[b, dim]` float32 features `f` (borrowed), L2-normalised as in the paper.
   * @throws `ContrastiveError` `INVALID_ARGUMENT` for an index outside `[0, size)` (checked before
   *   any write), `DTYPE_MISMATCH` for non-int32 indices or non-float32 embeddings,
   *   `SHAPE_MISMATCH` for a wrong rank or dimension or a row count other than `b`, `NON_FINITE`
   *   for NaN or Infinity in `embeddings` (one scalar read, before any write), `STATE` after
   *   `dispose()`.
   */
  update(indices: tf.Tensor1D, embeddings: Embeddings): void {
    const fn = 'MemoryBank.update';
    assertLive(this.disposed, 'MemoryBank', 'update');
    assertTensor(indices, 1, 'indices', fn, 'int32');
    assertEmbeddings(embeddings, 'embeddings', fn, 0);
    this.assertDim(embeddings, 'embeddings', fn);
    const b = indices.shape[0];
    if (embeddings.shape[0] !== b) {
      throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'embeddings' passed to '${fn}' must have ${b} rows (one per index), got ${embeddings.shape[0]}`);
    }
    const values = hostIndices(indices, this.size, 'indices', fn);
    if (b === 0) return;
    assertFinite(embeddings, 'embeddings', fn);
    // Unique indices in order of first appearance, and for duplicates an averaging matrix.
    const position = new Map<number, number>();
    const unique: number[] = [];
    const slotOf = new Int32Array(b);
    values.forEach((index, row) => {
      let slot = position.get(index);
      if (slot === undefined) {
        slot = unique.length;
        position.set(index, slot);
        unique.push(index);
      }
      slotOf[row] = slot;
    });
    const u = unique.length;
    let averaging: Float32Array | undefined;
    if (u < b) {
      const counts = new Float64Array(u);
      slotOf.forEach((slot) => {
        counts[slot] = (counts[slot] as number) + 1;
      });
      averaging = new Float32Array(u * b);
      slotOf.forEach((slot, row) => {
        (averaging as Float32Array)[slot * b + row] = 1 / (counts[slot] as number);
      });
    }
    const momentum = this.momentum;
    const exposed = this.exposed;
    const next = tf.keep(
      detachedCompute(() => {
        const rows = tf.tensor1d(Int32Array.from(unique), 'int32');
        const features = averaging === undefined ? embeddings : tf.matMul(tf.tensor2d(averaging, [u, b]), embeddings);
        const blended = tf.add(tf.mul(tf.gather(this.bank, rows), momentum), tf.mul(features, 1 - momentum)) as tf.Tensor2D;
        return tf.tensorScatterUpdate(writableBuffer(this.bank, exposed), tf.expandDims(rows, 1), l2Normalize(blended)) as tf.Tensor2D;
      }),
    );
    this.bank.dispose();
    this.bank = next;
    this.exposed = false;
  }

  /**
   * The entries of some samples.
   *
   * @param indices - `[b]` int32 dataset indices in `[0, size)` (borrowed; read on the host).
   * @returns `[b, dim]` float32 copies, owned by the caller, carrying no gradient.
   * @throws `ContrastiveError` `INVALID_ARGUMENT` for an index outside `[0, size)`,
   *   `DTYPE_MISMATCH` / `SHAPE_MISMATCH` for a non-int32 or non-vector `indices`, `STATE` after
   *   `dispose()`.
   */
  get(indices: tf.Tensor1D): tf.Tensor2D {
    const fn = 'MemoryBank.get';
    assertLive(this.disposed, 'MemoryBank', 'get');
    const values = hostIndices(indices, this.size, 'indices', fn);
    return detachedCompute(() => tf.gather(this.bank, tf.tensor1d(values, 'int32')) as tf.Tensor2D);
  }

  /**
   * `count` entries drawn uniformly at random with the bank's generator, labelled by their dataset
   * indices: negatives for the NCE approximation of Wu et al. (the official code draws `K` = 4096
   * indices uniformly, with replacement).
   *
   * @param count - number of entries, a non-negative integer.
   * @param options - excluded indices and replacement; see {@link SampleNegativesOptions}.
   * @returns a `Reference` `{ embeddings: [count, dim] float32, labels: [count] int32 }` (labels =
   *   dataset indices), new tensors owned by the caller.
   * @throws `ContrastiveError` `INVALID_ARGUMENT` for a bad `count`, `options` that is not an
   *   object, an excluded index outside `[0, size)`, every entry excluded, or `count` above the
   *   entries left without replacement; `STATE` after `dispose()`.
   */
  sampleNegatives(count: number, options: SampleNegativesOptions = {}): Reference {
    const fn = 'MemoryBank.sampleNegatives';
    assertLive(this.disposed, 'MemoryBank', 'sampleNegatives');
    assertNumber(count, 'count', fn, { integer: true, min: 0 });
    if (options === null || typeof options !== 'object') {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be { exclude?, replace? }, got ${options === null ? 'null' : typeof options}`);
    }
    const replace = options.replace ?? true;
    assertOneOf(replace, [true, false], 'replace', fn);
    let allowed: Int32Array | undefined;
    if (options.exclude !== undefined) {
      const excluded = new Uint8Array(this.size);
      const list = options.exclude;
      let values: ArrayLike<number>;
      if (list instanceof tf.Tensor) values = hostIndices(list, this.size, 'exclude', fn);
      else {
        if (list === null || typeof list !== 'object' || typeof (list as ArrayLike<number>).length !== 'number') {
          throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'exclude' passed to '${fn}' must be an int32 tensor or an array of indices, got ${list === null ? 'null' : typeof list}`);
        }
        values = list;
      }
      for (let i = 0; i < values.length; i++) {
        const index = values[i] as number;
        if (!Number.isInteger(index) || index < 0 || index >= this.size) {
          throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'exclude' passed to '${fn}' must hold dataset indices in [0, ${this.size}), got ${index} at position ${i}`);
        }
        excluded[index] = 1;
      }
      let left = 0;
      for (let i = 0; i < this.size; i++) if (excluded[i] === 0) left++;
      allowed = new Int32Array(left);
      let k = 0;
      for (let i = 0; i < this.size; i++) if (excluded[i] === 0) allowed[k++] = i;
    }
    const population = allowed?.length ?? this.size;
    if (count > 0 && population === 0) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'exclude' passed to '${fn}' excludes all ${this.size} entries, nothing left to draw ${count} from`);
    }
    if (!replace && count > population) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'count' passed to '${fn}' must be <= ${population} (the entries not excluded) without replacement, got ${count}`);
    }
    const drawn = count === 0 ? new Int32Array(0) : this.rng.choice(population, count, { replace });
    const indices = allowed === undefined ? drawn : drawn.map((k) => (allowed as Int32Array)[k] as number);
    const labels = tf.tensor1d(indices, 'int32');
    const embeddings = count === 0 ? tf.zeros([0, this.dim]) as tf.Tensor2D : detachedCompute(() => tf.gather(this.bank, labels) as tf.Tensor2D);
    return { embeddings, labels };
  }

  /**
   * Every entry, labelled by its dataset index (the full non-parametric softmax of Wu et al.).
   * @returns `{ embeddings: [size, dim] float32, labels: [size] int32 = 0 .. size-1 }`, new tensors
   *   owned by the caller (the embeddings share the bank's buffer, which updates never write in
   *   place, so later updates do not change them).
   * @throws `ContrastiveError` `STATE` after `dispose()`.
   */
  reference(): Reference {
    assertLive(this.disposed, 'MemoryBank', 'reference');
    this.exposed = true;
    return { embeddings: bufferView(this.bank, this.size), labels: tf.range(0, this.size, 1, 'int32') as tf.Tensor1D };
  }

  /**
   * The bank's state for a checkpoint (the training loop's `hooks.saveState`).
   * @returns `[entries [size, dim] float32, generator [k] int32]`, new tensors owned by the caller.
   * @throws `ContrastiveError` `STATE` after `dispose()`.
   */
  state(): tf.Tensor[] {
    assertLive(this.disposed, 'MemoryBank', 'state');
    this.exposed = true;
    return [bufferView(this.bank, this.size), tf.tensor1d(encodeRng(this.rng.state()), 'int32')];
  }

  /**
   * Restore a state returned by {@link MemoryBank.state} (the training loop's `hooks.loadState`):
   * the entries and the generator of `sampleNegatives`. The bank must have the same `size` and `dim`.
   * @param state - `[entries, generator]`, borrowed (copied).
   * @throws `ContrastiveError` `INVALID_ARGUMENT`, `SHAPE_MISMATCH` or `DTYPE_MISMATCH` naming
   *   `state[i]`; `STATE` after `dispose()`.
   */
  load(state: readonly tf.Tensor[]): void {
    const fn = 'MemoryBank.load';
    assertLive(this.disposed, 'MemoryBank', 'load');
    assertStateArray(state, 2, fn);
    const [entries, generator] = state as [tf.Tensor, tf.Tensor];
    assertTensor(entries, 2, 'state[0]', fn, 'float32');
    assertShape(entries, [this.size, this.dim], 'state[0]', fn);
    assertTensor(generator, 1, 'state[1]', fn, 'int32');
    const rng = decodeRng(generator.dataSync() as Int32Array, 'state[1]', fn);
    const next = tf.keep(tf.clone(entries as tf.Tensor2D));
    this.bank.dispose();
    this.bank = next;
    this.exposed = true;
    this.rng = rng;
  }

  /** Free the bank's tensors. Idempotent; any other method then throws `STATE`. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.bank.dispose();
  }

  private assertDim(embeddings: Embeddings, argument: string, fn: string): void {
    if (embeddings.shape[1] !== this.dim) {
      throw new ContrastiveError('SHAPE_MISMATCH', `Argument '${argument}' passed to '${fn}' must have ${this.dim} columns (the bank's dim), got ${embeddings.shape[1]}`);
    }
  }
}
