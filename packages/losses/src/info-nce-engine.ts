/**
 * # The memory-bounded InfoNCE engine
 *
 * Every loss of the InfoNCE family (NT-Xent, InfoNCE, SupCon, CLIP, debiased, hard-negative) is a
 * sum of per-anchor terms, and each term depends on one row of the similarity matrix
 * `S = scale · A Kᵀ` between the anchors `A` (`[n, d]`) and the keys `K` (`[m, d]`). Autodiff
 * through the whole matrix keeps several `[n, m]` intermediates alive until the backward pass (and
 * pytorch-metric-learning even builds `[n, n, n]` masks), so memory grows as n². The engine instead
 *
 * 1. splits the anchors into chunks of `c` rows (`c · m <= chunkElements`, 2^22 by default);
 * 2. forward: per chunk, computes the `[c, m]` block `scale · A_c Kᵀ` with one plain matMul,
 *    hands it to the loss's `rowLoss` (which returns `[c]` per-row losses), keeps those and frees
 *    the block;
 * 3. backward (a `tf.customGrad`, i.e. gradient checkpointing): per chunk, recomputes the block,
 *    asks the loss for `G = d(Σ_i dy_i · rowLoss_i) / d block` (`rowGrad`, a closed form; or
 *    autodiff of `rowLoss` when `rowGrad` is omitted) and accumulates
 *    `dA_c = scale · G K`, `dK += scale · Gᵀ A_c` and `d scale += Σ (G K) ⊙ A_c`, all with plain
 *    (non-transposed) matMuls, the fast form on wasm.
 *
 * Peak memory is therefore O(c · m + (n + m) · d), never O(n · m): NT-Xent on 32,768 embeddings of
 * dimension 128 (forward + backward, wasm, default chunks of 128 rows) peaks at about 400 MB of
 * tensors above its inputs, where one dense `[N, N]` float32 matrix alone is 4 GB (`npm run bench`).
 * The result is the `[n]` vector of per-row losses, an ordinary
 * differentiable tensor: reduce it with any reducer (mean, avg-non-zero, a division by a pair count).
 *
 * ## Writing a loss on the engine
 *
 * ```ts
 * const rows = infoNceRowLosses({
 *   name: 'myLoss',
 *   anchors: l2Normalize(embeddings),      // prepare outside: its gradient is autodiff's business
 *   scale: 1 / temperature,                 // a number, or a tf.Scalar that gets a gradient
 *   labels,                                 // optional: enables chunk.positives() / negatives()
 *   rowLoss: (block, chunk) => {            // block: [c, m] scaled similarities of this chunk
 *     const negatives = chunk.negatives();  // [c, m] float 0/1
 *     const lse = maskedLogSumExp(block, negatives);        // [c], max subtracted
 *     ...return a [c] tensor
 *   },
 *   rowGrad: (block, chunk, dRow) => ...,   // optional closed form: [c, m] d(Σ dRow·rowLoss)/d block
 * });
 * return meanReducer().reduce({ losses: rows }, embeddings);
 * ```
 *
 * Rules for `rowLoss` / `rowGrad`:
 * - They must not read tensors from their closure: the backward pass runs after the caller's
 *   `tf.tidy` has disposed them. Pass every tensor they need through `perAnchor` (`[n, ...]`, sliced
 *   to the chunk's `[c, ...]` rows by `chunk.perAnchor(name)`) or `shared` (given whole by
 *   `chunk.shared(name)`); the engine keeps those alive for the backward pass. Labels go through
 *   `labels` / `keyLabels`.
 * - They run once per chunk in forward and again in backward; they must be pure functions of the
 *   block and the chunk (no randomness, no side effects). Intermediates are freed by the engine.
 * - `rowGrad` is optional. Without it the engine differentiates `rowLoss` with `tf.grad` inside
 *   the custom gradient. tfjs 4.22 does not support a `tf.grad` inside a `customGrad` gradient
 *   function (the inner call replaces the engine's active tape and leaves it null, and the outer
 *   backward pass then crashes); the engine saves and restores the active tape around the inner
 *   call (`tf.engine().state.activeTape`), which is verified on cpu and wasm by the engine's tests.
 *   A closed-form `rowGrad` avoids that internal detail and is about twice as fast; the helpers
 *   below (`maskedLogSoftmax`, `maskedLogSumExp`, `excludedLogSoftmax`, `excludedLogSumExp`,
 *   `logSoftmaxRows`, `logSumExpRows`) have simple gradients (`d lse / d block = softmax`) that make
 *   closed forms short; the `excluded*` and `*Rows` forms take fewer `[c, m]` operations (the cost
 *   of a chunk is about one pass over the block per element-wise operation). Test a closed form
 *   against the autodiff fallback (the engine's tests do).
 * - Masks are float32 0/1 (or non-negative weights) `[c, m]`, built from compact label ids with
 *   fast element-wise operations (`step(0.5 - |id_i - id_j|)`). Cost model on wasm (measured,
 *   per element of a `[c, m]` block): add, sub, mul, abs, neg, relu, step, sigmoid about 1-2 ns;
 *   cast, sign, equal, greater, maximum, exp, softplus, log 5-45 ns. A chunk costs about the sum
 *   of its element-wise operations plus two (forward) and three (backward) matMuls.
 * - With a single chunk (`n · m <= chunkElements`) the forward block is kept for the backward pass
 *   instead of being recomputed.
 *
 * Anchors and keys may be the same tensor (omit `keys`): the batch compared with itself; gradients
 * from both roles add up, and `chunk.selfMask()` marks the diagonal. With distinct `keys` (a MoCo
 * queue, a memory bank, the other modality of CLIP) nothing is excluded (PML's `ref_emb`).
 *
 * Only dot-product similarities run in chunks (`scale · A Kᵀ`; cosine = dot of L2-normalized rows,
 * normalized by the caller with core's `l2Normalize`). A loss that accepts any `Distance` can run
 * the same row functions on a precomputed dense matrix with {@link denseRowLosses} (O(n · m)).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  ContrastiveError,
  assertDistance as assertDistanceOf,
  assertEmbeddings,
  assertLabels,
  assertNumber,
  assertReference,
  assertTuples,
} from '@contrastive/core';
import { addTransposeNative, debiasedRowGradsNative, debiasedRowsNative, gramMatrix, infoNceRowGradsNative, infoNceRowsNative } from '@contrastive/core';
import type { DebiasedRowOptions } from '@contrastive/core';
import type { Distance, Labels, LossInput, NativeRowLoss, Tuples } from '@contrastive/core';
import { assertTupleIndices } from './internal/pairs.js';

/** Default bound on the elements of one `[c, m]` similarity block: 2^22 (16 MiB of float32). */
export const DEFAULT_CHUNK_ELEMENTS = 2 ** 22;

/** Large negative penalty that removes masked entries from a row maximum / log-sum-exp. */
const MASKED = -1e30;

/**
 * One chunk of anchor rows, as seen by a loss's `rowLoss` / `rowGrad`. Every tensor it returns is
 * new and freed by the engine at the end of the chunk (do not dispose it, do not keep it).
 */
export interface EngineChunk {
  /** Index of the chunk's first anchor row. */
  readonly start: number;
  /** Number of anchor rows `c` in the chunk. */
  readonly size: number;
  /** Number of anchors `n` in the whole call. */
  readonly numAnchors: number;
  /** Number of keys `m` (columns of the block). */
  readonly numKeys: number;
  /** True when the keys are the anchors themselves (no `keys` given). */
  readonly selfCompare: boolean;
  /**
   * `[c, m]` float32: 1 where the anchor's label equals the key's label (self included). Needs
   * `labels`. Cached within the chunk: do not dispose it.
   */
  sameLabel(): tf.Tensor2D;
  /** `[c, m]` float32: 1 at (i, start + i) when `selfCompare`, all zeros otherwise. */
  selfMask(): tf.Tensor2D;
  /** `[c, m]` float32 `sameLabel() - selfMask()`: the label positives (a row is not its own positive). */
  positives(): tf.Tensor2D;
  /** `[c, m]` float32 `1 - sameLabel()`: the label negatives. */
  negatives(): tf.Tensor2D;
  /** `[c, m]` float32: 1 where a key is not the anchor itself (`1 - selfMask()`). */
  notSelf(): tf.Tensor2D;
  /**
   * `[c, m]` float32 one-hot rows of the `perAnchor` int32 `[n]` tensor `name` (one key index per
   * anchor, e.g. "the positive of query i is key i"); an index outside `[0, m)` gives a zero row.
   */
  indexMask(name: string): tf.Tensor2D;
  /**
   * Compact label ids (int32) of the chunk's rows `[size]` and of the keys `[m]`, or `null`
   * without labels. For the native row kernels of `@contrastive/core`.
   */
  ids(): { readonly rows: tf.Tensor1D; readonly cols: tf.Tensor1D } | null;
  /** The chunk's `[c, ...]` rows of the `perAnchor` tensor `name`. */
  perAnchor(name: string): tf.Tensor;
  /** The whole `shared` tensor `name`. */
  shared(name: string): tf.Tensor;
}

/** What a loss hands to {@link infoNceRowLosses}. */
export interface InfoNceEngineSpec {
  /** Name of the calling loss, used in error messages. */
  readonly name: string;
  /** `[n, d]` float32 anchors (queries), already prepared (e.g. L2-normalized); borrowed. */
  readonly anchors: tf.Tensor2D;
  /** `[m, d]` float32 keys; omit (or pass `anchors` itself) to compare the anchors with themselves. */
  readonly keys?: tf.Tensor2D;
  /**
   * Multiplier of the dot products: `block = scale · A_c Kᵀ` (`1 / temperature`). A number is a
   * constant; a float32 scalar tensor (e.g. CLIP's `exp(logitScale)`) receives a gradient.
   */
  readonly scale: number | tf.Scalar;
  /** `[n]` int32 anchor labels; enables `sameLabel`, `positives`, `negatives`. */
  readonly labels?: Labels;
  /** `[m]` int32 key labels. @defaultValue `labels` when comparing the anchors with themselves */
  readonly keyLabels?: Labels;
  /** Tensors with one leading row per anchor (`[n, ...]`), sliced per chunk; kept for the backward pass. */
  readonly perAnchor?: Readonly<Record<string, tf.Tensor>>;
  /** Tensors given whole to every chunk; kept for the backward pass. No gradient flows into them. */
  readonly shared?: Readonly<Record<string, tf.Tensor>>;
  /** Per-row losses of one chunk: `block` `[c, m]` float32 → `[c]` float32. */
  readonly rowLoss: (block: tf.Tensor2D, chunk: EngineChunk) => tf.Tensor;
  /**
   * Closed-form gradient of `Σ_i dRow_i · rowLoss(block)_i` w.r.t. `block` (`[c, m]`), given
   * `dRow` `[c]`. @defaultValue autodiff of `rowLoss` (see the module notes)
   */
  readonly rowGrad?: (block: tf.Tensor2D, chunk: EngineChunk, dRow: tf.Tensor1D) => tf.Tensor;
  /** Most elements of one `[c, m]` block. @defaultValue {@link DEFAULT_CHUNK_ELEMENTS} */
  readonly chunkElements?: number;
}

/**
 * Rows per chunk for `n` anchors against `m` keys: the most rows whose `[rows, m]` block holds at most
 * `chunkElements` elements (at least 1, at most `n`).
 *
 * @param n - number of anchors.
 * @param m - number of keys.
 * @param chunkElements - element bound. @defaultValue {@link DEFAULT_CHUNK_ELEMENTS}
 * @returns the chunk height `c`.
 */
/**
 * A row loss of `@contrastive/core`'s native kernels (one pass per row on the wasm backend), or
 * `null` where they do not run (another backend, no labels): the caller's tensor ops are the
 * reference and the fallback (equal within 1e-5, tests in nt-xent.test.ts / supcon-loss.test.ts).
 * @internal
 */
export function nativeRows(kind: NativeRowLoss, block: tf.Tensor2D, chunk: EngineChunk): tf.Tensor1D | null {
  if (!nativeRowsEnabled) return null;
  const ids = chunk.ids();
  return ids === null ? null : infoNceRowsNative(kind, block, ids.rows, ids.cols, chunk.selfCompare ? chunk.start : -1);
}

/** The gradient of {@link nativeRows}' losses w.r.t. the block, or `null`. @internal */
export function nativeRowGrads(kind: NativeRowLoss, block: tf.Tensor2D, chunk: EngineChunk, dRow: tf.Tensor1D): tf.Tensor2D | null {
  if (!nativeRowsEnabled) return null;
  const ids = chunk.ids();
  return ids === null ? null : infoNceRowGradsNative(kind, block, ids.rows, ids.cols, chunk.selfCompare ? chunk.start : -1, dRow);
}

/**
 * The hard-negative / debiased row losses of `@contrastive/core`'s native kernels (label masks, no
 * mined tuples), or `null` where they do not run; the caller's tensor ops are the reference
 * (equal within 1e-5, tests in native-rows.test.ts).
 * @internal
 */
export function nativeDebiasedRows(block: tf.Tensor2D, chunk: EngineChunk, options: DebiasedRowOptions): tf.Tensor1D | null {
  if (!nativeRowsEnabled) return null;
  const ids = chunk.ids();
  return ids === null ? null : debiasedRowsNative(block, ids.rows, ids.cols, chunk.selfCompare ? chunk.start : -1, options);
}

/** The gradient of {@link nativeDebiasedRows}' losses w.r.t. the block, or `null`. @internal */
export function nativeDebiasedRowGrads(block: tf.Tensor2D, chunk: EngineChunk, options: DebiasedRowOptions, dRow: tf.Tensor1D): tf.Tensor2D | null {
  if (!nativeRowsEnabled) return null;
  const ids = chunk.ids();
  return ids === null ? null : debiasedRowGradsNative(block, ids.rows, ids.cols, chunk.selfCompare ? chunk.start : -1, options, dRow);
}

let nativeRowsEnabled = true;

/** Whether the losses use the native row kernels (on the wasm backend). @internal */
export function nativeRowsOn(): boolean {
  return nativeRowsEnabled;
}

/** Turn the native row kernels off (tests compare both paths). Returns the previous setting. @internal */
export function setNativeRows(enabled: boolean): boolean {
  const previous = nativeRowsEnabled;
  nativeRowsEnabled = enabled;
  return previous;
}

export function chunkRowsFor(n: number, m: number, chunkElements = DEFAULT_CHUNK_ELEMENTS): number {
  return Math.max(1, Math.min(n, Math.floor(chunkElements / Math.max(1, m))));
}

/**
 * How a `Distance` maps onto the engine: `'cosine'` (L2-normalize, then dot), `'dot'`, or `null`
 * for any other distance (run it densely with {@link denseRowLosses}). Recognised by core's names
 * `cosineSimilarity` / `dotProductSimilarity` with `isSimilarity: true`.
 *
 * @param distance - the loss's distance.
 * @returns the engine form, or `null`.
 */
export function dotForm(distance: Distance): 'cosine' | 'dot' | null {
  if (!distance.isSimilarity) return null;
  if (distance.name === 'cosineSimilarity' && distance.normalizes) return 'cosine';
  if (distance.name === 'dotProductSimilarity' && !distance.normalizes) return 'dot';
  return null;
}

// ---------------------------------------------------------------------------------------------
// Row helpers: stable masked log-sum-exp and softmax
// ---------------------------------------------------------------------------------------------

/**
 * Row maximum that autodiff treats as a constant (a log-sum-exp does not depend on the shift it
 * subtracts, so dropping its gradient is exact; it also avoids `tf.max`'s broadcast-equal gradient).
 */
const constantRowMax = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.max(x, 1, true),
  gradFunc: () => tf.zerosLike(x),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor2D) => tf.Tensor2D;

/** The pieces of a masked log-sum-exp: shifted exponentials and the per-row shift. */
function maskedExp(block: tf.Tensor2D, weights: tf.Tensor2D): { exps: tf.Tensor2D; shift: tf.Tensor2D; hasAny: tf.Tensor2D } {
  // weights >= 0, so sign() is 1 where kept and 0 where masked.
  const penalized = tf.add(block, tf.mul(tf.sub(1, tf.sign(weights)), MASKED)) as tf.Tensor2D;
  const hasAny = tf.sign(tf.sum(weights, 1, true)) as tf.Tensor2D;
  // Rows without any kept entry shift by 0 instead of ~-1e30 (their sum is 0 anyway).
  const shift = tf.mul(constantRowMax(penalized), hasAny) as tf.Tensor2D;
  const exps = tf.mul(weights, tf.exp(tf.sub(penalized, shift))) as tf.Tensor2D;
  return { exps, shift, hasAny };
}

/**
 * `log Σ_j w_ij exp(b_ij)` per row and the masked softmax `w_ij exp(b_ij) / Σ_k w_ik exp(b_ik)`,
 * from one pass over the block, with the maximum over the kept entries subtracted first, so no
 * exponential overflows (temperature 0.01 on 1e4-scaled embeddings stays finite). Rows without any
 * positive weight give `lse = 0` and an all-zero softmax (check `hasAny` where that matters).
 * The softmax is the gradient of the log-sum-exp: `d lse_i / d b_ij = softmax_ij`.
 *
 * @param block - `[c, m]` float32 logits.
 * @param weights - `[c, m]` float32 non-negative weights (0/1 masks, or counts).
 * @returns `{ lse: [c, 1], softmax: [c, m], hasAny: [c, 1] }` float32 (`hasAny` is 1 for rows with
 * a positive weight, else 0). Inside a chunk they are freed by the engine; elsewhere the caller owns them.
 */
export function maskedLogSoftmax(
  block: tf.Tensor2D,
  weights: tf.Tensor2D,
): { lse: tf.Tensor2D; softmax: tf.Tensor2D; hasAny: tf.Tensor2D } {
  return tf.tidy(() => {
    const { exps, shift, hasAny } = maskedExp(block, weights);
    // Kept rows: sum >= (weight at the max) > 0. Empty rows: sum + 1 = 1 -> log 0, times hasAny = 0.
    const sum = tf.add(tf.sum(exps, 1, true), tf.sub(1, hasAny));
    const lse = tf.mul(tf.add(shift, tf.log(sum)), hasAny) as tf.Tensor2D;
    return { lse, softmax: tf.div(exps, sum) as tf.Tensor2D, hasAny };
  });
}

/**
 * `log Σ_j w_ij exp(b_ij)` per row (see {@link maskedLogSoftmax}); 0 for rows without weight.
 *
 * @param block - `[c, m]` float32 logits.
 * @param weights - `[c, m]` float32 non-negative weights.
 * @returns `[c]` float32.
 */
export function maskedLogSumExp(block: tf.Tensor2D, weights: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const { exps, shift, hasAny } = maskedExp(block, weights);
    const sum = tf.add(tf.sum(exps, 1, true), tf.sub(1, hasAny));
    return tf.reshape(tf.mul(tf.add(shift, tf.log(sum)), hasAny), [-1]) as tf.Tensor1D;
  });
}

function rowParts(block: tf.Tensor2D): { shift: tf.Tensor2D; exps: tf.Tensor; sum: tf.Tensor } {
  const shift = constantRowMax(block);
  const exps = tf.exp(tf.sub(block, shift));
  return { shift, exps, sum: tf.sum(exps, 1, true) };
}

/**
 * Unmasked log-sum-exp per row, `log Σ_j exp(b_ij)` with the row maximum subtracted: for losses
 * whose every key is in the denominator. Its gradient is {@link logSoftmaxRows}' softmax.
 *
 * @param block - `[c, m]` float32 logits (m >= 1).
 * @returns `[c, 1]` float32.
 */
export function logSumExpRows(block: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const { shift, sum } = rowParts(block);
    return tf.add(shift, tf.log(sum)) as tf.Tensor2D;
  });
}

/**
 * Unmasked {@link maskedLogSoftmax}: the row log-sum-exp and softmax with fewer `[c, m]` operations.
 *
 * @param block - `[c, m]` float32 logits (m >= 1).
 * @returns `{ lse: [c, 1], softmax: [c, m] }` float32.
 */
export function logSoftmaxRows(block: tf.Tensor2D): { lse: tf.Tensor2D; softmax: tf.Tensor2D } {
  return tf.tidy(() => {
    const { shift, exps, sum } = rowParts(block);
    return { lse: tf.add(shift, tf.log(sum)) as tf.Tensor2D, softmax: tf.div(exps, sum) as tf.Tensor2D };
  });
}

function excludedParts(block: tf.Tensor2D, excluded: tf.Tensor2D): { lse: tf.Tensor2D; exps: tf.Tensor; sum: tf.Tensor; hasAny: tf.Tensor2D } {
  const m = block.shape[1];
  const penalized = tf.add(block, tf.mul(excluded, MASKED)) as tf.Tensor2D;
  const hasAny = tf.sign(tf.sub(m, tf.sum(excluded, 1, true))) as tf.Tensor2D;
  const shift = tf.mul(constantRowMax(penalized), hasAny);
  // Excluded entries: exp(-1e30 - shift) = 0 exactly (shift is a kept entry's value, or 0).
  const exps = tf.exp(tf.sub(penalized, shift));
  // Kept rows: sum >= 1 (the max). Empty rows: sum = 0 (+1 -> log 0) and lse is zeroed.
  const sum = tf.add(tf.sum(exps, 1, true), tf.sub(1, hasAny));
  const lse = tf.mul(tf.add(shift, tf.log(sum)), hasAny) as tf.Tensor2D;
  return { lse, exps, sum, hasAny };
}

/**
 * {@link maskedLogSumExp} for a 0/1 mask of the entries to leave out (`excluded`, e.g.
 * `chunk.sameLabel()` for "negatives only", `chunk.selfMask()` for "every key but the anchor"):
 * `lse_i = log Σ_{j: excluded_ij = 0} exp(b_ij)`, max subtracted. Cheaper than the weighted form
 * (two `[c, m]` operations for the mask instead of five). Rows with every entry excluded give
 * `lse = 0` and `hasAny = 0`.
 *
 * @param block - `[c, m]` float32 logits.
 * @param excluded - `[c, m]` float32, exactly 0 or 1.
 * @returns `{ lse: [c, 1], hasAny: [c, 1] }` float32.
 */
export function excludedLogSumExp(block: tf.Tensor2D, excluded: tf.Tensor2D): { lse: tf.Tensor2D; hasAny: tf.Tensor2D } {
  return tf.tidy(() => {
    const { lse, hasAny } = excludedParts(block, excluded);
    return { lse, hasAny };
  });
}

/**
 * {@link excludedLogSumExp} and its gradient, the softmax over the kept entries (all zeros for a
 * row with every entry excluded).
 *
 * @param block - `[c, m]` float32 logits.
 * @param excluded - `[c, m]` float32, exactly 0 or 1.
 * @returns `{ lse: [c, 1], softmax: [c, m], hasAny: [c, 1] }` float32.
 */
export function excludedLogSoftmax(
  block: tf.Tensor2D,
  excluded: tf.Tensor2D,
): { lse: tf.Tensor2D; softmax: tf.Tensor2D; hasAny: tf.Tensor2D } {
  return tf.tidy(() => {
    const { lse, exps, sum, hasAny } = excludedParts(block, excluded);
    return { lse, softmax: tf.div(exps, sum) as tf.Tensor2D, hasAny };
  });
}

// ---------------------------------------------------------------------------------------------
// Chunks
// ---------------------------------------------------------------------------------------------

interface Context {
  readonly rowIds: tf.Tensor1D | null;
  readonly colIds: tf.Tensor1D | null;
  readonly perAnchor: Record<string, tf.Tensor>;
  readonly shared: Record<string, tf.Tensor>;
}

function missing(spec: InfoNceEngineSpec, what: string): never {
  throw new ContrastiveError('INVALID_ARGUMENT', `'${spec.name}' (InfoNCE engine): ${what}`);
}

/**
 * Rows `[start, start + size)` of `tensor` (along axis 0). `tf.gather` rather than `tf.slice`: on
 * wasm 4.22 a row slice costs ~40-150 ns per copied element, a gather ~5.
 */
function chunkRowsOf<T extends tf.Tensor>(tensor: T, start: number, size: number): T {
  if (start === 0 && size === tensor.shape[0]) return tensor;
  return tf.gather(tensor, tf.range(start, start + size, 1, 'int32')) as T;
}

/**
 * `[c, depth]` float32 one-hot rows of float indices `[c, 1]`: `step(0.5 - |i - j|)`, built from
 * fast element-wise operations (on wasm `tf.equal` and `tf.cast` cost 6-20 ns per element, a
 * subtraction, `abs` or `step` under 1 ns; `tf.oneHot` also refuses a depth of 1 and, for float32,
 * fills int32 bit patterns on wasm 4.22). An index outside `[0, depth)` gives a zero row.
 */
function oneHotFloat(indices: tf.Tensor, depth: number): tf.Tensor2D {
  const columns = tf.reshape(tf.range(0, depth, 1, 'float32'), [1, depth]);
  const rows = tf.reshape(tf.cast(indices, 'float32'), [-1, 1]);
  return tf.step(tf.sub(0.5, tf.abs(tf.sub(rows, columns)))) as tf.Tensor2D;
}

function makeChunk(spec: InfoNceEngineSpec, context: Context, start: number, size: number, n: number, m: number, selfCompare: boolean): EngineChunk {
  const rows = (tensor: tf.Tensor): tf.Tensor => chunkRowsOf(tensor, start, size);
  // Masks are cached for the chunk (a row function often asks for several derived from them);
  // a cached mask freed by the caller's own tf.tidy is rebuilt.
  let sameCache: tf.Tensor2D | null = null;
  let selfCache: tf.Tensor2D | null = null;
  const sameLabel = (): tf.Tensor2D => {
    if (context.rowIds === null || context.colIds === null) return missing(spec, 'sameLabel() needs `labels` (and `keyLabels` with distinct keys)');
    if (sameCache !== null && !sameCache.isDisposed) return sameCache;
    const rowIds = tf.reshape(rows(context.rowIds), [size, 1]);
    const colIds = tf.reshape(context.colIds, [1, m]);
    // Compact ids are small integers, exact in float32: step(0.5 - |id_i - id_j|) is 1 where they
    // are equal — four fast element-wise operations (tf.equal + tf.cast are ~25x slower on wasm).
    sameCache = tf.step(tf.sub(0.5, tf.abs(tf.sub(rowIds, colIds)))) as tf.Tensor2D;
    return sameCache;
  };
  const selfMask = (): tf.Tensor2D => {
    if (!selfCompare) return tf.zeros([size, m]);
    if (selfCache !== null && !selfCache.isDisposed) return selfCache;
    selfCache = oneHotFloat(tf.range(start, start + size, 1, 'float32'), m);
    return selfCache;
  };
  const perAnchor = (name: string): tf.Tensor => {
    const tensor = context.perAnchor[name];
    if (tensor === undefined) return missing(spec, `no perAnchor tensor named '${name}'`);
    return rows(tensor);
  };
  return {
    start,
    size,
    numAnchors: n,
    numKeys: m,
    selfCompare,
    sameLabel,
    selfMask,
    positives: () => (selfCompare ? (tf.sub(sameLabel(), selfMask()) as tf.Tensor2D) : sameLabel()),
    negatives: () => tf.sub(1, sameLabel()) as tf.Tensor2D,
    notSelf: () => (selfCompare ? (tf.sub(1, selfMask()) as tf.Tensor2D) : tf.ones([size, m])),
    indexMask: (name: string) => {
      const indices = perAnchor(name);
      return oneHotFloat(indices, m);
    },
    ids: () => {
      if (context.rowIds === null || context.colIds === null) return null;
      return { rows: tf.cast(rows(context.rowIds), 'int32') as tf.Tensor1D, cols: tf.cast(context.colIds, 'int32') as tf.Tensor1D };
    },
    perAnchor,
    shared: (name: string) => {
      const tensor = context.shared[name];
      if (tensor === undefined) return missing(spec, `no shared tensor named '${name}'`);
      return tensor;
    },
  };
}

/** The engine's tape, which a `tf.grad` inside a gradient function would otherwise clobber. */
interface EngineWithTape {
  readonly state: { activeTape: unknown };
}

/** `G = d(Σ dRow · rowLoss(block)) / d block`, by the loss's closed form or by autodiff. */
function blockGradient(spec: InfoNceEngineSpec, block: tf.Tensor2D, chunk: EngineChunk, dRow: tf.Tensor1D): tf.Tensor2D {
  if (spec.rowGrad !== undefined) return spec.rowGrad(block, chunk, dRow) as tf.Tensor2D;
  const state = (tf.engine() as unknown as EngineWithTape).state;
  const outerTape = state.activeTape;
  try {
    return tf.grad((b: tf.Tensor) => tf.sum(tf.mul(tf.reshape(spec.rowLoss(b as tf.Tensor2D, chunk), [-1]), dRow)))(block) as tf.Tensor2D;
  } finally {
    state.activeTape = outerTape;
  }
}

function checkRowOutput(spec: InfoNceEngineSpec, value: tf.Tensor, size: number): tf.Tensor1D {
  if (value.size !== size) {
    missing(spec, `rowLoss must return ${size} values (one per anchor of the chunk), got shape [${value.shape.join(', ')}]`);
  }
  return (value.rank === 1 ? value : tf.reshape(value, [size])) as tf.Tensor1D;
}

/** Compact label ids (`tf.unique`, exact for any int32) as float32, for rows and keys. */
function labelIds(labels: Labels | undefined, keyLabels: Labels | undefined, selfCompare: boolean): { rowIds: tf.Tensor1D | null; colIds: tf.Tensor1D | null } {
  if (labels === undefined) return { rowIds: null, colIds: null };
  if (selfCompare && (keyLabels === undefined || keyLabels === labels)) {
    const ids = tf.cast(tf.unique(labels).indices, 'float32') as tf.Tensor1D;
    return { rowIds: ids, colIds: ids };
  }
  if (keyLabels === undefined) return { rowIds: null, colIds: null };
  const n = labels.shape[0];
  const ids = tf.cast(tf.unique(tf.concat([labels, keyLabels])).indices, 'float32') as tf.Tensor1D;
  return { rowIds: tf.slice(ids, [0], [n]), colIds: tf.slice(ids, [n], [keyLabels.shape[0]]) };
}

/**
 * The tensors the row functions may read (label ids, `perAnchor`, `shared`) as one list, which the
 * custom gradient saves for the backward pass, and the way back from such a list to a `Context`.
 */
function prepareContext(
  spec: InfoNceEngineSpec,
  selfCompare: boolean,
): { contextTensors: tf.Tensor[]; contextFrom: (tensors: readonly tf.Tensor[]) => Context } {
  const ids = labelIds(spec.labels, spec.keyLabels, selfCompare);
  const perAnchorEntries = Object.entries(spec.perAnchor ?? {});
  const sharedEntries = Object.entries(spec.shared ?? {});
  const contextTensors: tf.Tensor[] = [
    ...(ids.rowIds === null || ids.colIds === null ? [] : [ids.rowIds, ids.colIds]),
    ...perAnchorEntries.map(([, tensor]) => tensor),
    ...sharedEntries.map(([, tensor]) => tensor),
  ];
  const contextFrom = (tensors: readonly tf.Tensor[]): Context => {
    let at = 0;
    const rowIds = ids.rowIds === null ? null : (tensors[at++] as tf.Tensor1D);
    const colIds = ids.rowIds === null ? null : (tensors[at++] as tf.Tensor1D);
    const perAnchor: Record<string, tf.Tensor> = {};
    for (const [name] of perAnchorEntries) perAnchor[name] = tensors[at++] as tf.Tensor;
    const shared: Record<string, tf.Tensor> = {};
    for (const [name] of sharedEntries) shared[name] = tensors[at++] as tf.Tensor;
    return { rowIds, colIds, perAnchor, shared };
  };
  return { contextTensors, contextFrom };
}

/**
 * Per-anchor losses of an InfoNCE-family loss, computed in row chunks with a checkpointed custom
 * gradient, so that peak memory is O(c · m) for the similarity blocks instead of O(n · m) (see the
 * module notes at the top of this file for the contract of `rowLoss` / `rowGrad`).
 *
 * @param spec - anchors, keys, scale, labels, extra tensors and the row functions.
 * @returns `[n]` float32 per-anchor losses, owned by the caller, differentiable w.r.t. `anchors`,
 * `keys` and a tensor `scale` (gradients from the anchor and key roles add up when `keys` is
 * omitted). Inputs are borrowed.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for a bad `chunkElements`, a missing `perAnchor` /
 * `shared` tensor or labels a row function asks for, or a `rowLoss` of the wrong size;
 * `SHAPE_MISMATCH` when anchors and keys differ in dimension.
 */
export function infoNceRowLosses(spec: InfoNceEngineSpec): tf.Tensor1D {
  const { anchors } = spec;
  const selfCompare = spec.keys === undefined || spec.keys === anchors;
  const keys = selfCompare ? anchors : (spec.keys as tf.Tensor2D);
  const [n, d] = anchors.shape;
  const m = keys.shape[0];
  if (keys.shape[1] !== d) {
    throw new ContrastiveError('SHAPE_MISMATCH', `'${spec.name}' (InfoNCE engine): keys must have ${d} columns (as the anchors), got ${keys.shape[1]}`);
  }
  const chunkElements = spec.chunkElements ?? DEFAULT_CHUNK_ELEMENTS;
  assertNumber(chunkElements, 'chunkElements', spec.name, { integer: true, min: 1 });
  const chunkRows = chunkRowsFor(n, m, chunkElements);
  const scaleIsTensor = typeof spec.scale !== 'number';

  return tf.tidy(() => {
    const { contextTensors, contextFrom } = prepareContext(spec, selfCompare);

    const inputs: tf.Tensor[] = [anchors];
    if (!selfCompare) inputs.push(keys);
    if (scaleIsTensor) inputs.push(spec.scale as tf.Scalar);

    // With a single chunk the forward block is kept for the backward pass (it is at most
    // `chunkElements` elements), which saves recomputing its matMul.
    const single = chunkRows >= n;
    const forward = (a: tf.Tensor2D, k: tf.Tensor2D, scale: number | tf.Scalar, context: Context): { value: tf.Tensor1D; block: tf.Tensor2D | null } => {
      // Scale the keys once ([d, m]) instead of every block; transpose once for the plain matMul.
      if (single && selfCompare && typeof scale === 'number' && nativeRowsEnabled) {
        // The batch against itself: the symmetric Gram matrix (half the products on wasm), scaled.
        const block = gramMatrix(a, scale);
        const chunk = makeChunk(spec, context, 0, n, n, m, selfCompare);
        return { value: tf.tidy(() => checkRowOutput(spec, spec.rowLoss(block, chunk), n)), block };
      }
      const keysT = tf.mul(tf.transpose(k), scale) as tf.Tensor2D;
      if (single) {
        const block = tf.matMul(a, keysT) as tf.Tensor2D;
        const chunk = makeChunk(spec, context, 0, n, n, m, selfCompare);
        return { value: tf.tidy(() => checkRowOutput(spec, spec.rowLoss(block, chunk), n)), block };
      }
      const parts: tf.Tensor1D[] = [];
      for (let start = 0; start < n; start += chunkRows) {
        const size = Math.min(chunkRows, n - start);
        parts.push(
          tf.tidy(() => {
            const block = tf.matMul(chunkRowsOf(a, start, size), keysT) as tf.Tensor2D;
            const chunk = makeChunk(spec, context, start, size, n, m, selfCompare);
            return checkRowOutput(spec, spec.rowLoss(block, chunk), size);
          }),
        );
      }
      const value = tf.concat(parts) as tf.Tensor1D;
      tf.dispose(parts);
      return { value, block: null };
    };

    const backward = (
      dy: tf.Tensor1D,
      a: tf.Tensor2D,
      k: tf.Tensor2D,
      scale: number | tf.Scalar,
      context: Context,
      savedBlock: tf.Tensor2D | null,
    ): tf.Tensor[] => {
      if (selfCompare && savedBlock !== null && !scaleIsTensor && nativeRowsEnabled) {
        // One chunk of A·Aᵀ: d/dA = (G + Gᵀ)·A·scale — one product whose right operand is A,
        // instead of G·A and Aᵀ·G (XNNPACK packs the right operand, [n, n] in the second).
        const g = tf.tidy(() => blockGradient(spec, savedBlock, makeChunk(spec, context, 0, n, n, m, true), dy));
        const symmetric = addTransposeNative(g);
        g.dispose();
        const fused = symmetric === null ? null : tf.tidy(() => tf.mul(tf.matMul(symmetric, a), scale) as tf.Tensor2D);
        symmetric?.dispose();
        if (fused !== null) return [fused];
      }
      const keysT = savedBlock === null ? (tf.mul(tf.transpose(k), scale) as tf.Tensor2D) : null;
      const anchorGrads: tf.Tensor2D[] = [];
      let keyGradT: tf.Tensor2D | null = null; // Σ_chunks A_cᵀ G, [d, m]
      let scaleGrad: tf.Scalar | null = null; // Σ_chunks Σ (G K) ⊙ A_c
      for (let start = 0; start < n; start += chunkRows) {
        const size = Math.min(chunkRows, n - start);
        const [anchorGrad, nextKeyGradT, nextScaleGrad] = tf.tidy(() => {
          const part = chunkRowsOf(a, start, size);
          const block = savedBlock ?? (tf.matMul(part, keysT as tf.Tensor2D) as tf.Tensor2D);
          const chunk = makeChunk(spec, context, start, size, n, m, selfCompare);
          const dRow = chunkRowsOf(dy, start, size);
          const g = blockGradient(spec, block, chunk, dRow);
          const gk = tf.matMul(g, k); // [c, d]: plain matMul
          const partT = tf.transpose(part); // [d, c]: cheap, so the next matMul is plain too
          const keyTerm = tf.matMul(partT, g); // [d, m]
          const out: tf.Tensor[] = [tf.mul(gk, scale), keyGradT === null ? keyTerm : tf.add(keyGradT, keyTerm)];
          if (scaleIsTensor) {
            const term = tf.sum(tf.mul(gk, part));
            out.push(scaleGrad === null ? term : tf.add(scaleGrad, term));
          }
          return out;
        });
        anchorGrads.push(anchorGrad as tf.Tensor2D);
        if (keyGradT !== null) keyGradT.dispose();
        keyGradT = nextKeyGradT as tf.Tensor2D;
        if (scaleIsTensor) {
          if (scaleGrad !== null) scaleGrad.dispose();
          scaleGrad = nextScaleGrad as tf.Scalar;
        }
      }
      return tf.tidy(() => {
        const anchorGrad = anchorGrads.length === 1 ? (anchorGrads[0] as tf.Tensor2D) : tf.concat(anchorGrads);
        const keyGrad = tf.mul(tf.transpose(keyGradT as tf.Tensor2D), scale);
        const grads: tf.Tensor[] = selfCompare ? [tf.add(anchorGrad, keyGrad)] : [anchorGrad, keyGrad];
        if (scaleIsTensor) grads.push(scaleGrad as tf.Scalar);
        return grads;
      });
    };

    const op = tf.customGrad(((...args: unknown[]) => {
      const save = args[args.length - 1] as tf.GradSaveFunc;
      const tensors = args.slice(0, -1) as tf.Tensor[];
      const a = tensors[0] as tf.Tensor2D;
      const k = selfCompare ? a : (tensors[1] as tf.Tensor2D);
      const scale = scaleIsTensor ? (tensors[tensors.length - 1] as tf.Scalar) : (spec.scale as number);
      const { value, block } = forward(a, k, scale, contextFrom(contextTensors));
      save([...tensors, ...contextTensors, ...(block === null ? [] : [block])]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const savedInputs = saved.slice(0, tensors.length);
          const sa = savedInputs[0] as tf.Tensor2D;
          const sk = selfCompare ? sa : (savedInputs[1] as tf.Tensor2D);
          const sScale = scaleIsTensor ? (savedInputs[savedInputs.length - 1] as tf.Scalar) : (spec.scale as number);
          const savedBlock = single ? (saved[saved.length - 1] as tf.Tensor2D) : null;
          return backward(dy as tf.Tensor1D, sa, sk, sScale, contextFrom(saved.slice(tensors.length)), savedBlock);
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return op(...inputs) as tf.Tensor1D;
  });
}

/**
 * The same row functions on a precomputed `[n, m]` matrix (any `Distance`, already scaled): one
 * chunk holding every row, with the closed-form `rowGrad` (or autodiff) as the matrix's gradient.
 * Memory is O(n · m); use it only where the engine's dot-product form does not apply.
 *
 * @param matrix - `[n, m]` float32 scaled similarities (borrowed; gradients flow into it).
 * @param spec - as for {@link infoNceRowLosses}; `anchors` / `keys` only give `n`, `m` and
 * `selfCompare` (the keys are the anchors when `keys` is omitted); `scale` and `chunkElements`
 * are ignored.
 * @returns `[n]` float32 per-anchor losses, owned by the caller.
 */
export function denseRowLosses(matrix: tf.Tensor2D, spec: InfoNceEngineSpec): tf.Tensor1D {
  const selfCompare = spec.keys === undefined || spec.keys === spec.anchors;
  const [n, m] = matrix.shape;
  return tf.tidy(() => {
    const { contextTensors, contextFrom } = prepareContext(spec, selfCompare);
    const op = tf.customGrad(((block: tf.Tensor, save: tf.GradSaveFunc) => {
      save([block, ...contextTensors]);
      const chunk = makeChunk(spec, contextFrom(contextTensors), 0, n, n, m, selfCompare);
      const value = tf.tidy(() => checkRowOutput(spec, spec.rowLoss(block as tf.Tensor2D, chunk), n));
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const savedChunk = makeChunk(spec, contextFrom(saved.slice(1)), 0, n, n, m, selfCompare);
          return tf.tidy(() => blockGradient(spec, saved[0] as tf.Tensor2D, savedChunk, dy as tf.Tensor1D));
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return op(matrix) as tf.Tensor1D;
  });
}

// ---------------------------------------------------------------------------------------------
// Input validation and tuple weights shared by the InfoNCE-family losses
// ---------------------------------------------------------------------------------------------

/**
 * Throws unless `distance` implements core's `Distance`; the message names `cosineSimilarity()`,
 * the InfoNCE family's default.
 *
 * @param distance - the received value.
 * @param fn - the loss's name, used in the message.
 * @throws `ContrastiveError` `INVALID_ARGUMENT`.
 */
export function assertDistance(distance: unknown, fn: string): asserts distance is Distance {
  assertDistanceOf(distance, fn, 'cosineSimilarity()');
}

/**
 * Validates a `LossInput`: `embeddings` `[n, d]` float32 (n >= 1), `labels` `[n]` int32, and, when
 * present, `ref` (`[m, d]` float32 and `[m]` int32) and `tuples` (int32 index vectors of matching
 * lengths, whose indices lie in range: their minimum and maximum are read back from the device).
 *
 * @param input - the received `compute` argument.
 * @param fn - the loss's name, used in messages.
 * @returns the input, typed.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` (also for a tuple index out of range),
 * `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT` or `DISPOSED` naming the argument.
 */
export function validateLossInput(input: unknown, fn: string): LossInput {
  if (input === null || typeof input !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'input' passed to '${fn}.compute' must be { embeddings, labels, tuples?, ref? }, got ${input === null ? 'null' : typeof input}`);
  }
  const { embeddings, labels, tuples, ref } = input as Partial<LossInput>;
  assertEmbeddings(embeddings, 'embeddings', fn);
  assertLabels(labels, embeddings.shape[0], 'labels', fn);
  if (ref !== undefined) assertReference(ref, embeddings, fn);
  if (tuples !== undefined) {
    assertTuples(tuples, fn);
    assertTupleIndices(tuples, embeddings.shape[0], ref?.embeddings.shape[0], fn);
  }
  return input as LossInput;
}

/** `[n, m]` count of each (row, col) index pair; duplicates add up. */
function pairCounts(rows: tf.Tensor1D, cols: tf.Tensor1D, n: number, m: number): tf.Tensor2D {
  const k = rows.shape[0];
  if (k === 0) return tf.zeros([n, m]);
  return tf.scatterND(tf.stack([rows, cols], 1), tf.ones([k]), [n, m]) as tf.Tensor2D;
}

/**
 * Mined tuples as `[n, m]` float32 pair multiplicities (a repeated pair counts twice); a triplet
 * (a, p, n) gives the pairs (a, p) and (a, n), as PML's `convert_to_pairs`. These matrices are dense
 * (O(n · m)); pass them to the engine as `perAnchor` tensors.
 *
 * @param tuples - validated tuples; rows index the batch, columns the reference (or the batch).
 * @param n - rows of the batch.
 * @param m - rows of the reference (or the batch).
 * @returns `{ positive, negative }`, owned by the caller.
 */
export function tupleWeights(tuples: Tuples, n: number, m: number): { positive: tf.Tensor2D; negative: tf.Tensor2D } {
  switch (tuples.kind) {
    case 'pairs':
      return { positive: pairCounts(tuples.anchorPos, tuples.positive, n, m), negative: pairCounts(tuples.anchorNeg, tuples.negative, n, m) };
    case 'triplets':
      return { positive: pairCounts(tuples.anchor, tuples.positive, n, m), negative: pairCounts(tuples.anchor, tuples.negative, n, m) };
    default: {
      const unreachable: never = tuples;
      return unreachable;
    }
  }
}

/**
 * Number of positive and negative pairs in mined tuples (static shapes, no device read).
 *
 * @param tuples - validated tuples.
 * @returns the two counts.
 */
export function tupleCounts(tuples: Tuples): { positives: number; negatives: number } {
  switch (tuples.kind) {
    case 'pairs':
      return { positives: tuples.anchorPos.shape[0], negatives: tuples.anchorNeg.shape[0] };
    case 'triplets':
      return { positives: tuples.anchor.shape[0], negatives: tuples.anchor.shape[0] };
    default: {
      const unreachable: never = tuples;
      return unreachable;
    }
  }
}

/**
 * Per-anchor number of label positives: keys (the batch, or `refLabels`) sharing the anchor's label,
 * minus the anchor itself without a reference. O(n + m): compact ids and a segment sum, no `[n, m]`.
 *
 * @param labels - `[n]` int32 anchor labels.
 * @param refLabels - `[m]` int32 key labels, or `undefined` to compare the batch with itself.
 * @returns `[n]` float32 counts, owned by the caller.
 */
export function positiveCounts(labels: Labels, refLabels: Labels | undefined): tf.Tensor1D {
  return tf.tidy(() => {
    const n = labels.shape[0];
    const { values, indices } = tf.unique(refLabels === undefined ? labels : tf.concat([labels, refLabels]));
    const numIds = values.shape[0];
    const rowIds = refLabels === undefined ? indices : tf.slice(indices, [0], [n]);
    const colIds = refLabels === undefined ? indices : tf.slice(indices, [n], [refLabels.shape[0]]);
    const perId = tf.unsortedSegmentSum(tf.ones([colIds.shape[0]]), colIds as tf.Tensor1D, numIds);
    const counts = tf.gather(perId, rowIds);
    return (refLabels === undefined ? tf.sub(counts, 1) : counts) as tf.Tensor1D;
  });
}
