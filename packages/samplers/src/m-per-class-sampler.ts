import { ContrastiveError, assertNumber, assertOneOf } from '@contrastive/core';
import type { BatchSampler, Rng } from '@contrastive/core';
import { assertEpochRng } from './shuffled-batch-sampler.js';

/**
 * What {@link mPerClassSampler} does with the chunks that do not make a whole batch.
 *
 * - `'fill'`: complete the last batch with fewer than `batchSize / m` extra chunks (repeats), so
 *   that no chunk of a class that fits is left out.
 * - `'drop'`: never add an extra chunk; drop the fewer than `batchSize / m` leftover chunks.
 *
 * @category Batch samplers
 */
export type MPerClassRemainder = 'fill' | 'drop';

/** Options of {@link mPerClassSampler}. @category Batch samplers */
export interface MPerClassSamplerOptions {
  /**
   * The class of every dataset sample, one integer per sample (index `i` of the dataset has label
   * `labels[i]`); any integers, not necessarily `0..C-1`. Copied at construction.
   */
  readonly labels: Int32Array | readonly number[];
  /** Samples per class in every batch, a positive integer (PML's `m`). */
  readonly m: number;
  /** Samples per batch, a positive multiple of `m`; every batch holds `batchSize / m` classes. */
  readonly batchSize: number;
  /**
   * Complete the last batch with repeated chunks (`'fill'`) or drop the leftover chunks (`'drop'`).
   * See {@link MPerClassRemainder}.
   * @defaultValue 'fill'
   */
  readonly remainder?: MPerClassRemainder;
}

/**
 * Binary indexed (Fenwick) tree over non-negative integer weights: O(log n) updates and draws of an
 * index with probability proportional to its weight.
 */
class WeightTree {
  private readonly tree: Float64Array;
  private readonly top: number;
  total = 0;

  constructor(weights: Int32Array) {
    const n = weights.length;
    this.tree = new Float64Array(n + 1);
    let top = 1;
    while (top * 2 <= n) top *= 2;
    this.top = top;
    for (let i = 0; i < n; i++) this.add(i, weights[i] as number);
  }

  add(index: number, delta: number): void {
    this.total += delta;
    for (let i = index + 1; i < this.tree.length; i += i & -i) this.tree[i] = (this.tree[i] as number) + delta;
  }

  /** The smallest index whose cumulative weight exceeds `target` (`0 <= target < total`). */
  find(target: number): number {
    let position = 0;
    let rest = target;
    for (let step = this.top; step > 0; step >>= 1) {
      const next = position + step;
      if (next < this.tree.length && (this.tree[next] as number) <= rest) {
        position = next;
        rest -= this.tree[next] as number;
      }
    }
    return position;
  }
}

/**
 * Pack chunk counts into `batches` batches of `perBatch` distinct classes. Requires
 * `sum(counts) = batches * perBatch` and `counts[c] <= batches`, kept as an invariant: before batch `t`
 * (with `R = batches - t` batches to go), every class with `R` chunks left must be taken (there are at
 * most `perBatch` of them since the counts sum to `R * perBatch`); the other places go to distinct
 * classes drawn with probability proportional to their chunks left. Afterwards every class has at
 * most `R - 1` chunks left and the counts sum to `(R - 1) * perBatch`.
 *
 * @returns the classes of every batch, in the order drawn.
 */
function packChunks(counts: Int32Array, batches: number, perBatch: number, rng: Rng): Int32Array[] {
  const remaining = Int32Array.from(counts);
  // Classes bucketed by chunks left, to find the critical ones in O(1).
  const buckets: number[][] = Array.from({ length: batches + 1 }, () => []);
  const slot = new Int32Array(remaining.length);
  for (let c = 0; c < remaining.length; c++) {
    const bucket = buckets[remaining[c] as number] as number[];
    slot[c] = bucket.length;
    bucket.push(c);
  }
  const move = (c: number, from: number): void => {
    const source = buckets[from] as number[];
    const last = source.pop() as number;
    if (last !== c) {
      source[slot[c] as number] = last;
      slot[last] = slot[c] as number;
    }
    const target = buckets[from - 1] as number[];
    slot[c] = target.length;
    target.push(c);
  };
  const tree = new WeightTree(remaining);
  const out: Int32Array[] = [];
  for (let t = 0; t < batches; t++) {
    const left = batches - t;
    const picked = [...(buckets[left] as number[])];
    if (picked.length > perBatch) {
      throw new ContrastiveError('STATE', `'mPerClassSampler': internal packing invariant broken (${picked.length} classes need batch ${t})`);
    }
    for (const c of picked) tree.add(c, -(remaining[c] as number));
    while (picked.length < perBatch) {
      const c = tree.find(rng.int(tree.total));
      picked.push(c);
      tree.add(c, -(remaining[c] as number));
    }
    for (const c of picked) {
      const count = remaining[c] as number;
      move(c, count);
      remaining[c] = count - 1;
      tree.add(c, count - 1);
    }
    out.push(Int32Array.from(picked));
  }
  return out;
}

/** Map each of `units` (positions in `0 .. sum(sizes)-1`) to the index of the size it falls in. */
function unitsToOwners(units: Int32Array, sizes: Int32Array): Int32Array {
  const ends = new Float64Array(sizes.length);
  let sum = 0;
  for (let c = 0; c < sizes.length; c++) ends[c] = sum += sizes[c] as number;
  const owners = new Int32Array(units.length);
  for (let u = 0; u < units.length; u++) {
    const unit = units[u] as number;
    let low = 0;
    let high = sizes.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((ends[mid] as number) > unit) high = mid;
      else low = mid + 1;
    }
    owners[u] = low;
  }
  return owners;
}

/**
 * A batch sampler of `batchSize / m` classes with `m` samples each per batch — the sampler of
 * supervised metric learning (triplet, multi-similarity, SupCon), PML's `MPerClassSampler` — that,
 * unlike PML's, uses every sample of the dataset in every epoch wherever the class sizes allow.
 *
 * PML draws the classes of every batch at random and `m` random samples of each class, so an epoch
 * skips some samples and repeats others. Here an epoch is a pass over the dataset, by this rule:
 *
 * 1. **Chunks.** Let `k = batchSize / m` (classes per batch) and `n_c` the number of samples of class
 *    `c`. Every epoch each class gets a fresh random permutation `p_c` of its samples, read
 *    *cyclically*: its `j`-th chunk is `p_c[(j m + t) mod n_c]` for `t = 0 .. m-1`. The class has
 *    `q_c = ceil(n_c / m)` chunks; together they hold every sample of the class at least once. The
 *    fill-ins are exactly the wrap-around: when `n_c >= m` and `m` does not divide `n_c`, the last
 *    chunk is completed with `p_c[0 .. q_c m - n_c - 1]` — `q_c m - n_c` samples already used in the
 *    first chunk, drawn without replacement — so no chunk repeats an index. A class with
 *    `n_c < m` samples has one chunk that cycles through its permutation: every sample appears
 *    `floor(m / n_c)` or `ceil(m / n_c)` times, and this is the only case in which a batch holds the
 *    same index twice.
 * 2. **Number of batches** (fixed at construction, as `batchesPerEpoch` must be). A batch holds
 *    chunks of `k` distinct classes, so a class can give at most one chunk per batch. With `B`
 *    batches, class `c` can place `min(q_c, B)` chunks, and `h(B) = k B - sum_c min(q_c, B)` is the
 *    number of places those chunks leave empty. `B` is the largest integer with `h(B) <= 0`
 *    (`'drop'`) or `h(B) < k` (`'fill'`); `h` is convex with `h(1) = k - C <= 0`, so that `B` exists.
 *    Without a dominant class this is `floor(Q / k)` (`'drop'`) or `ceil(Q / k)` (`'fill'`), with
 *    `Q = sum_c q_c`.
 * 3. **Remainder.** With `'fill'`, the `h(B)` (fewer than `k`) empty places are filled with extra
 *    chunks — each the class's next chunk in the cyclic reading, so more repeats — from classes
 *    drawn at random in proportion to their spare capacity `B - min(q_c, B)`. With `'drop'`, the
 *    `-h(B)` (fewer than `k`) surplus chunks are dropped, chosen uniformly among all placeable chunks;
 *    a class that loses chunks loses its last ones, i.e. the end of this epoch's permutation.
 * 4. **Dominant classes.** A class with more chunks than batches (`q_c > B`) places only `B` of
 *    them, its first `B` chunks: `B m` distinct samples at the start of its fresh permutation. Its other
 *    samples are skipped this epoch — different ones every epoch.
 * 5. **Packing.** The chunks are packed into `B` batches of `k` distinct classes by a randomised
 *    greedy that always succeeds: before each batch, every class with as many chunks left as batches
 *    left must be (and is) taken; the other places go to distinct classes drawn with probability
 *    proportional to their chunks left. A batch is then `k` blocks of `m` consecutive indices, one
 *    block per class, in random order; the batches come out in random order.
 *
 * **Coverage.** Hence, with `'fill'` every sample is used at least once per epoch exactly when no
 * class dominates (`q_c <= B` for every class); with `'drop'` exactly when moreover `Q` is a
 * multiple of `k` (then `B = Q / k`). When every `n_c` is a multiple of `m` and `Q = k B`, every
 * sample is used exactly once. Every epoch is `B batchSize` indices, so the repeats are
 * `B batchSize - n` in number when every sample is used. Randomness comes only from the `rng` passed to
 * `epoch` (one permutation per class in ascending label order, the remainder draws, the packing and
 * the two shuffles): the same state gives the same epoch.
 *
 * PML equivalent: `samplers.MPerClassSampler(labels, m, batch_size)` — same batch structure, but
 * PML has no epoch coverage; its `length_before_new_iter` is replaced by the pass over the dataset.
 *
 * @param options - dataset `labels`, `m`, `batchSize`, `remainder`.
 * @returns a core `BatchSampler` whose `epoch(rng)` returns `batchesPerEpoch` `Int32Array`s of
 *   `batchSize` dataset indices (new arrays owned by the caller); `samplerBatches` in
 *   `@contrastive/data` turns it into a training `BatchSource`.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `m` or `batchSize` is not a positive integer,
 *   `batchSize` is not a multiple of `m`, `labels` is empty or holds a non-integer, `labels` holds
 *   fewer than `batchSize / m` distinct classes, or `remainder` is not `'fill'` or `'drop'`; from
 *   `epoch`, when `rng` is not an `Rng`.
 * @example
 * ```ts
 * // 3 classes of 4, 4 and 2 samples; batches of 2 classes x 2 samples.
 * const sampler = mPerClassSampler({ labels: [0, 0, 0, 0, 1, 1, 1, 1, 2, 2], m: 2, batchSize: 4 });
 * console.log(sampler.batchesPerEpoch); // 3 (5 chunks of 2 -> 3 batches, one extra chunk)
 * sampler.epoch(new Rng(0)); // [[7, 5, 8, 9], [7, 5, 1, 0], [2, 3, 6, 4]] (Int32Arrays)
 * // class 1 gave 3 chunks: the extra one repeats 7 and 5
 * ```
 * @category Batch samplers
 */
export function mPerClassSampler(options: MPerClassSamplerOptions): BatchSampler {
  const fn = 'mPerClassSampler';
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object { labels, m, batchSize }, got ${String(options)}`);
  }
  const { m, batchSize } = options;
  const remainder = options.remainder ?? 'fill';
  assertNumber(m, 'm', fn, { integer: true, min: 1 });
  assertNumber(batchSize, 'batchSize', fn, { integer: true, min: 1 });
  assertOneOf(remainder, ['fill', 'drop'] as const, 'remainder', fn);
  if (batchSize % m !== 0) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'batchSize' passed to '${fn}' must be a multiple of m (${m}), got ${batchSize}`);
  }
  const labels = options.labels as unknown;
  if (!(labels instanceof Int32Array) && !Array.isArray(labels)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'labels' passed to '${fn}' must be an Int32Array or an array of integers, got ${typeof labels}`);
  }
  const values = labels as ArrayLike<unknown>;
  if (values.length === 0) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'labels' passed to '${fn}' must hold one label per sample, got 0 labels`);
  }
  const byLabel = new Map<number, number[]>();
  for (let i = 0; i < values.length; i++) {
    const label = values[i];
    if (typeof label !== 'number' || !Number.isInteger(label)) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'labels' passed to '${fn}' must hold integers, got ${String(label)} at index ${i}`);
    }
    let members = byLabel.get(label);
    if (members === undefined) byLabel.set(label, (members = []));
    members.push(i);
  }
  const classes = [...byLabel.keys()].sort((a, b) => a - b).map((label) => Int32Array.from(byLabel.get(label) as number[]));
  const perBatch = batchSize / m;
  if (classes.length < perBatch) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'labels' passed to '${fn}' must hold at least batchSize / m = ${perBatch} distinct classes, got ${classes.length}`,
    );
  }

  const chunks = Int32Array.from(classes, (members) => Math.ceil(members.length / m));
  const totalChunks = chunks.reduce((sum, q) => sum + q, 0);
  const empty = (batches: number): number => {
    let placed = 0;
    for (const q of chunks) placed += Math.min(q, batches);
    return perBatch * batches - placed;
  };
  // The largest B with empty(B) <= allowance; empty is convex with empty(1) <= 0, and
  // empty(B) >= perBatch B - totalChunks bounds B by ceil(totalChunks / perBatch).
  const allowance = remainder === 'fill' ? perBatch - 1 : 0;
  let low = 1;
  let high = Math.ceil(totalChunks / perBatch);
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (empty(mid) <= allowance) low = mid;
    else high = mid - 1;
  }
  const batchesPerEpoch = low;
  const placeable = Int32Array.from(chunks, (q) => Math.min(q, batchesPerEpoch));
  const totalPlaceable = placeable.reduce((sum, q) => sum + q, 0);
  const gap = perBatch * batchesPerEpoch - totalPlaceable; // > 0: extra chunks, < 0: chunks to drop
  const spare = Int32Array.from(placeable, (q) => batchesPerEpoch - q);
  const totalSpare = classes.length * batchesPerEpoch - totalPlaceable;

  return {
    name: fn,
    batchesPerEpoch,
    epoch(rng: Rng): Int32Array[] {
      assertEpochRng(rng, fn);
      const orders = classes.map((members) => {
        const permutation = rng.permutation(members.length);
        return Int32Array.from(permutation, (j) => members[j] as number);
      });
      const counts = Int32Array.from(placeable);
      if (gap > 0) {
        for (const c of unitsToOwners(rng.choice(totalSpare, gap), spare)) counts[c] = (counts[c] as number) + 1;
      } else if (gap < 0) {
        for (const c of unitsToOwners(rng.choice(totalPlaceable, -gap), placeable)) counts[c] = (counts[c] as number) - 1;
      }
      const packed = packChunks(counts, batchesPerEpoch, perBatch, rng);
      const nextChunk = new Int32Array(classes.length);
      const batches = packed.map((batchClasses) => {
        const batch = new Int32Array(batchSize);
        const blockOrder = rng.permutation(perBatch);
        for (let block = 0; block < perBatch; block++) {
          const c = batchClasses[blockOrder[block] as number] as number;
          const order = orders[c] as Int32Array;
          const start = (nextChunk[c] as number) * m;
          nextChunk[c] = (nextChunk[c] as number) + 1;
          for (let t = 0; t < m; t++) batch[block * m + t] = order[(start + t) % order.length] as number;
        }
        return batch;
      });
      const batchOrder = rng.permutation(batchesPerEpoch);
      return Array.from(batchOrder, (b) => batches[b] as Int32Array);
    },
  };
}
