import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, addTransposeNative, assertNumber, cosineSimilarity, infoNceRowGradsNative, infoNceRowsNative, l2Normalize, scaledMatMul } from '@contrastive/core';
import type { Distance, Embeddings, LossInput, Loss } from '@contrastive/core';
import {
  DEFAULT_CHUNK_ELEMENTS,
  assertDistance,
  denseRowLosses,
  dotForm,
  infoNceRowLosses,
  excludedLogSoftmax,
  excludedLogSumExp,
  logSoftmaxRows,
  logSumExpRows,
  nativeRowsOn,
  validateLossInput,
} from './info-nce-engine.js';
import type { EngineChunk, InfoNceEngineSpec } from './info-nce-engine.js';
import { assertOptionsObject } from './internal/options.js';

const NAME = 'infoNceLoss';

/**
 * Options of {@link infoNceLoss}.
 * @category Losses
 */
export interface InfoNceLossOptions {
  /**
   * Temperature τ that divides every similarity; a finite number > 0.
   * @defaultValue 0.07 (MoCo, CLIP)
   */
  readonly temperature?: number;
  /**
   * Also the keys → queries direction, averaged with queries → keys (needs as many keys as queries;
   * with `true` this is CLIP's loss with a fixed temperature).
   * @defaultValue false (Oord et al.: queries against keys)
   */
  readonly symmetric?: boolean;
  /**
   * The critic: `cosineSimilarity()` (MoCo, SimCLR), `dotProductSimilarity()` (CPC's log-bilinear
   * critic without its `W`), or any other distance (negated; built as a whole `[n, m]` matrix).
   * @defaultValue `cosineSimilarity()`
   */
  readonly distance?: Distance;
  /**
   * Whether the other queries' positive keys are negatives of query `i` (CPC, CLIP, MoCo v3: every
   * other key of the batch is a negative). `false` is MoCo v1/v2 with `ref = [positive keys; queue]`:
   * query `i` is contrasted with its own key and the queue (keys `n..m-1`) only, as MoCo's
   * `logits = [q·k₊, q·queue]`. (Without `ref` and with `false`, no negative remains: the loss is 0.)
   * @defaultValue true
   */
  readonly inBatchNegatives?: boolean;
  /**
   * Most elements of one `[c, m]` similarity block (row chunks with a recomputing gradient; memory
   * linear in the batch).
   * @defaultValue 4194304 (2^22)
   */
  readonly chunkElements?: number;
}

/** `lse_i - s_i,target(i)`: the cross-entropy of each row against its target key (every key a negative). */
/**
 * Ids under which `@contrastive/core`'s native NT-Xent rows compute this cross-entropy: row r's id
 * is its target key, key j's id is j, and no key is excluded, so key target(r) is the row's one
 * positive and every key is in its denominator (`log Σ_j exp(s_rj) - s_r,target`).
 */
function targetIds(chunk: EngineChunk, m: number): { rows: tf.Tensor1D; cols: tf.Tensor1D } {
  return { rows: chunk.perAnchor('target') as tf.Tensor1D, cols: tf.range(0, m, 1, 'int32') as tf.Tensor1D };
}

function crossEntropyRow(block: tf.Tensor2D, chunk: EngineChunk): tf.Tensor {
  if (nativeRowsOn()) {
    const ids = targetIds(chunk, block.shape[1]);
    const native = infoNceRowsNative('ntxent', block, ids.rows, ids.cols, -1);
    if (native !== null) return native;
  }
  const lse = logSumExpRows(block);
  const positive = tf.sum(tf.mul(chunk.indexMask('target'), block), 1, true);
  return tf.reshape(tf.sub(lse, positive), [-1]);
}

/** Closed form: `d CE_i / d s_ij = softmax_ij - [j = target(i)]`. */
function crossEntropyGrad(block: tf.Tensor2D, chunk: EngineChunk, dRow: tf.Tensor1D): tf.Tensor {
  if (nativeRowsOn()) {
    const ids = targetIds(chunk, block.shape[1]);
    const native = infoNceRowGradsNative('ntxent', block, ids.rows, ids.cols, -1, dRow);
    if (native !== null) return native;
  }
  const { softmax } = logSoftmaxRows(block);
  return tf.mul(tf.sub(softmax, chunk.indexMask('target')), tf.reshape(dRow, [-1, 1]));
}

/** MoCo form: query i's denominator holds its own key and the queue (`shared.inBatch` marks keys 0..n-1). */
function excludedKeys(chunk: EngineChunk): { target: tf.Tensor2D; excluded: tf.Tensor2D } {
  const target = chunk.indexMask('target');
  return { target, excluded: tf.sub(chunk.shared('inBatch'), target) as tf.Tensor2D };
}

function queueCrossEntropyRow(block: tf.Tensor2D, chunk: EngineChunk): tf.Tensor {
  const { target, excluded } = excludedKeys(chunk);
  const { lse } = excludedLogSumExp(block, excluded);
  return tf.reshape(tf.sub(lse, tf.sum(tf.mul(target, block), 1, true)), [-1]);
}

function queueCrossEntropyGrad(block: tf.Tensor2D, chunk: EngineChunk, dRow: tf.Tensor1D): tf.Tensor {
  const { target, excluded } = excludedKeys(chunk);
  const { softmax } = excludedLogSoftmax(block, excluded);
  return tf.mul(tf.sub(softmax, target), tf.reshape(dRow, [-1, 1]));
}

/** How {@link diagonalCrossEntropy} compares queries with keys. */
export interface DiagonalCrossEntropyOptions {
  /** Name of the calling loss, for messages. */
  readonly name: string;
  /** `1 / τ`, or a float32 scalar tensor (a learnable logit scale) that receives a gradient. */
  readonly scale: number | tf.Scalar;
  /** The critic. @defaultValue `cosineSimilarity()` */
  readonly distance?: Distance;
  /** Block bound. @defaultValue 2^22 */
  readonly chunkElements?: number;
  /**
   * Whether the positive keys of the other queries (keys `0..n-1` other than `i`) are negatives of
   * query `i`; `false` keeps only the keys `n..m-1` (MoCo's queue) as negatives.
   * @defaultValue true
   */
  readonly inBatchNegatives?: boolean;
}

/**
 * Per-query cross-entropy `-log(exp(s_ii) / Σ_j exp(s_ij))` with `s = scale · sim(q, k)`: query `i`'s
 * positive is key `i` and every other key is a negative. Runs on the memory-bounded InfoNCE engine
 * (closed-form gradient into queries, keys and a tensor scale).
 *
 * @param queries - `[n, d]` float32 (borrowed).
 * @param keys - `[m, d]` float32 with `m >= n` (borrowed); keys `n..m-1` are negatives of every query.
 * @param options - name, scale, critic and chunk bound.
 * @returns `[n]` float32 per-query losses, owned by the caller.
 */
export function diagonalCrossEntropy(queries: Embeddings, keys: Embeddings, options: DiagonalCrossEntropyOptions): tf.Tensor1D {
  const distance = options.distance ?? cosineSimilarity();
  const form = dotForm(distance);
  const inBatch = options.inBatchNegatives ?? true;
  return tf.tidy(() => {
    const n = queries.shape[0];
    const m = keys.shape[0];
    const spec: InfoNceEngineSpec = {
      name: options.name,
      anchors: queries,
      keys,
      scale: options.scale,
      perAnchor: { target: tf.range(0, n, 1, 'int32') },
      ...(inBatch ? {} : { shared: { inBatch: tf.concat([tf.ones([1, n]), tf.zeros([1, m - n])], 1) } }),
      rowLoss: inBatch ? crossEntropyRow : queueCrossEntropyRow,
      rowGrad: inBatch ? crossEntropyGrad : queueCrossEntropyGrad,
      chunkElements: options.chunkElements ?? DEFAULT_CHUNK_ELEMENTS,
    };
    if (form === null) {
      const matrix = distance.pairwise(queries, keys);
      return denseRowLosses(tf.mul(distance.isSimilarity ? matrix : tf.neg(matrix), options.scale) as tf.Tensor2D, spec);
    }
    const prepare = (x: Embeddings): Embeddings => (form === 'cosine' ? l2Normalize(x) : x);
    return infoNceRowLosses({ ...spec, anchors: prepare(queries), keys: prepare(keys) });
  });
}

/**
 * `(mean_i CE(q_i → keys) + mean_i CE(k_i → queries)) / 2` with one similarity product: the
 * keys → queries logits are the transpose of the queries → keys ones, so both directions' rows run
 * on `S` and `Sᵀ` (the native NT-Xent row kernels, target = the diagonal), and the backward pass
 * forms `G = G_rows + G_colsᵀ` once, giving `dq = scale · G k` and `dk = scale · Gᵀ q` — three
 * products instead of the six of two separate directions. Dense (`n²` logits): taken only where the
 * native rows run (wasm), keys and queries have the same `n` rows, `n² <= chunkElements` and the
 * critic is a dot form; `null` otherwise (the caller runs the two directions on the engine).
 * @internal
 */
export function symmetricDiagonalCrossEntropy(queries: Embeddings, keys: Embeddings, options: DiagonalCrossEntropyOptions): tf.Scalar | null {
  const distance = options.distance ?? cosineSimilarity();
  const form = dotForm(distance);
  const n = queries.shape[0];
  const chunkElements = options.chunkElements ?? DEFAULT_CHUNK_ELEMENTS;
  if (form === null || keys.shape[0] !== n || n * n > chunkElements || !nativeRowsOn() || tf.getBackend() !== 'wasm' || (options.inBatchNegatives ?? true) === false) return null;
  return tf.tidy(() => {
    const prepare = (x: Embeddings): Embeddings => (form === 'cosine' ? l2Normalize(x) : x);
    // A fixed temperature multiplies inside the products (scaledMatMul: no pass over the [n, n]
    // block, no scale gradient); a learnable one (a tensor) is an input of its own.
    const fixed = typeof options.scale === 'number' ? options.scale : null;
    const logits = (q: tf.Tensor2D, k: tf.Tensor2D, scale: tf.Scalar | null): tf.Tensor2D =>
      scale === null ? scaledMatMul(q, k, fixed as number, true) : (tf.mul(tf.matMul(q, k, false, true), scale) as tf.Tensor2D);
    const symmetric = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const save = args[args.length - 1] as tf.GradSaveFunc;
      const [q, k, scale] = (fixed === null ? args.slice(0, 3) : [...args.slice(0, 2), null]) as [tf.Tensor2D, tf.Tensor2D, tf.Scalar | null];
      const ids = tf.range(0, n, 1, 'int32') as tf.Tensor1D;
      const s = logits(q, k, scale);
      const st = tf.transpose(s) as tf.Tensor2D;
      const rows = infoNceRowsNative('ntxent', s, ids, ids, -1);
      const cols = infoNceRowsNative('ntxent', st, ids, ids, -1);
      if (rows === null || cols === null) throw new Error(`'${options.name}': the native rows stopped running`);
      save([q, k, s, st, ...(scale === null ? [] : [scale])]);
      const value = tf.mul(tf.add(tf.mean(rows), tf.mean(cols)), 0.5) as tf.Scalar;
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sq, sk, ss, sst, sScale] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Scalar | undefined];
          const ids = tf.range(0, n, 1, 'int32') as tf.Tensor1D;
          const dRow = tf.mul(tf.ones([n]), tf.div(dy, 2 * n)) as tf.Tensor1D;
          const gRows = infoNceRowGradsNative('ntxent', ss, ids, ids, -1, dRow);
          const gCols = infoNceRowGradsNative('ntxent', sst, ids, ids, -1, dRow);
          if (gRows === null || gCols === null) throw new Error(`'${options.name}': the native rows stopped running`);
          // d/dS of both directions: the rows' gradient plus the columns' transposed, in one pass.
          const g = (addTransposeNative(gRows, gCols) ?? tf.add(gRows, tf.transpose(gCols))) as tf.Tensor2D;
          if (sScale === undefined) {
            // S = scale · q kᵀ: dq = scale · G k, dk = scale · Gᵀ q (Gᵀ copied once: both plain products).
            return [scaledMatMul(g, sk, fixed as number), scaledMatMul(tf.transpose(g), sq, fixed as number)];
          }
          const gScaled = tf.mul(g, sScale) as tf.Tensor2D;
          // d scale: S = scale · (q kᵀ), so Σ G ∘ (q kᵀ) = Σ G ∘ S / scale.
          const dScale = tf.div(tf.sum(tf.mul(g, ss)), sScale);
          return [tf.matMul(gScaled, sk), tf.matMul(tf.transpose(gScaled), sq), dScale];
        },
      };
    });
    const q = prepare(queries);
    const k = prepare(keys);
    return (fixed === null ? symmetric(q, k, options.scale as tf.Scalar) : symmetric(q, k)) as tf.Scalar;
  });
}

/**
 * Queries and keys of a two-view / two-modality loss: the halves of `embeddings` (rows `[0, N)` and
 * `[N, 2N)`), or `embeddings` and `ref.embeddings`.
 */
export function splitQueriesAndKeys(input: LossInput, fn: string): { queries: Embeddings; keys: Embeddings } {
  const { embeddings, ref } = input;
  if (ref !== undefined) return { queries: embeddings, keys: ref.embeddings };
  const n = embeddings.shape[0];
  if (n % 2 !== 0) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'embeddings' passed to '${fn}' must have an even number of rows (queries [0, N) then their keys [N, 2N)) when no 'ref' is given, got ${n}`,
    );
  }
  const half = n / 2;
  // tf.gather, not tf.slice: a row slice costs ~40-150 ns per element on wasm 4.22, a gather ~5.
  return {
    queries: tf.gather(embeddings, tf.range(0, half, 1, 'int32')) as Embeddings,
    keys: tf.gather(embeddings, tf.range(half, n, 1, 'int32')) as Embeddings,
  };
}

/** Throws when a pair-free loss receives mined tuples. */
export function rejectTuples(input: LossInput, fn: string): void {
  if (input.tuples !== undefined) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'tuples' passed to '${fn}' is not supported: the positive of query i is key i by position, so mined pairs or triplets do not apply (use ntXentLoss or supConLoss with a miner), got ${input.tuples.kind}`,
    );
  }
}

function assertBoolean(value: unknown, argument: string): asserts value is boolean {
  if (typeof value !== 'boolean') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${NAME}' must be a boolean, got ${typeof value}`);
  }
}

/**
 * InfoNCE (Oord, Li & Vinyals 2018, "Representation Learning with Contrastive Predictive Coding"):
 * each query `q_i` is classified among the keys, its own key `k_i` being the positive,
 * `L = -1/N Σ_i log( exp(s(q_i, k_i) / τ) / Σ_j exp(s(q_i, k_j) / τ) )`
 * — a categorical cross-entropy whose minimisation maximises a lower bound on the mutual
 * information between queries and keys (`I(q; k) >= log N - L`).
 *
 * Which rows are queries and keys:
 * - `compute({ embeddings, labels })`: `embeddings` stacks the queries (rows `[0, N)`) and their
 *   keys (rows `[N, 2N)`): query `i`'s positive is row `N + i`, and its negatives are the other keys
 *   only (no query-query negatives, unlike NT-Xent). This is the golden `infonce_1dir` convention,
 *   and with `viewLabels(N)` the two views of sample i are rows i and N + i.
 * - `compute({ embeddings, labels, ref })` — MoCo (He et al. 2020): the queries are `embeddings`
 *   (`[n, d]`), the keys are `ref.embeddings` (`[m, d]`, `m >= n`): key `i` is query `i`'s positive
 *   and keys `n..m-1` (the queue) are negatives of every query; the other queries' positive keys
 *   are negatives too unless `inBatchNegatives: false` (exactly MoCo v1/v2's
 *   `logits = [q·k₊, q·queue]`). Pass `ref.embeddings = concat([positiveKeys, queue])` (keys from a
 *   momentum encoder carry no gradient of their own; gradients into `ref.embeddings` are computed
 *   when they have one).
 *
 * `labels` (and `ref.labels`) are validated but not used: positives are fixed by position. `tuples`
 * are rejected, since mined pairs cannot override that positional pairing. With `symmetric: true`
 * the keys → queries cross-entropy is averaged in (`m` must equal `n`). Runs on the memory-bounded
 * InfoNCE engine: row chunks with a recomputing closed-form gradient, memory linear in N.
 *
 * A single row without `ref` has nothing to compare and gives 0 connected to `embeddings`; N = 1
 * pair (no negative) gives 0 with zero gradients.
 *
 * @param options - temperature, symmetric, distance, in-batch negatives, chunk bound; see
 * {@link InfoNceLossOptions}.
 * @returns a `Loss` named `'infoNceLoss'`. `compute` takes `embeddings` `[2N, d]` (or `[n, d]`
 * with `ref`) float32 and `labels` `[rows]` int32; it returns a float32 scalar owned by the caller,
 * the mean over queries, and disposes none of its inputs.
 * @throws `ContrastiveError`: `INVALID_ARGUMENT` from the factory for `options` that is not an object, a temperature that is not a
 * finite number > 0, a non-boolean `symmetric` or `inBatchNegatives`, a non-`Distance` or a bad `chunkElements`; from
 * `compute`, `SHAPE_MISMATCH` for an odd number of rows without `ref`, fewer keys than queries, or
 * (symmetric) a different number; `INVALID_ARGUMENT` for `tuples`; and the usual tensor errors
 * (`SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`, `DISPOSED`) naming the argument.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { viewLabels } from '@contrastive/core';
 * import { infoNceLoss } from '@contrastive/losses';
 *
 * // Queries [1, 0] and [0, 1] (rows 0, 1), their keys (rows 2, 3).
 * const embeddings = tf.tensor2d([[1, 0], [0, 1], [0.8, 0.6], [0.6, 0.8]]);
 * infoNceLoss({ temperature: 0.5 }).compute({ embeddings, labels: viewLabels(2) }).print(); // Tensor 0.5130152
 * ```
 * @category Losses
 */
export function infoNceLoss(options: InfoNceLossOptions = {}): Loss {
  assertOptionsObject(options, NAME);
  const temperature = options.temperature ?? 0.07;
  assertNumber(temperature, 'temperature', NAME, { min: 0, exclusiveMin: true });
  const symmetric = options.symmetric ?? false;
  assertBoolean(symmetric, 'symmetric');
  const inBatchNegatives = options.inBatchNegatives ?? true;
  assertBoolean(inBatchNegatives, 'inBatchNegatives');
  const distance = options.distance ?? cosineSimilarity();
  assertDistance(distance, NAME);
  const chunkElements = options.chunkElements ?? DEFAULT_CHUNK_ELEMENTS;
  assertNumber(chunkElements, 'chunkElements', NAME, { integer: true, min: 1 });

  return {
    name: NAME,
    compute(input: LossInput): tf.Scalar {
      const checked = validateLossInput(input, NAME);
      rejectTuples(checked, NAME);
      const { embeddings, ref } = checked;
      if (ref === undefined && embeddings.shape[0] === 1) return tf.tidy(() => tf.mul(tf.sum(embeddings), 0) as tf.Scalar);
      if (ref !== undefined) {
        const [n, m] = [embeddings.shape[0], ref.embeddings.shape[0]];
        if (m < n || (symmetric && m !== n)) {
          throw new ContrastiveError(
            'SHAPE_MISMATCH',
            `Argument 'ref.embeddings' passed to '${NAME}' must have ${symmetric ? `exactly ${n} rows (one key per query, symmetric)` : `at least ${n} rows (one positive key per query, then negatives)`}, got ${m}`,
          );
        }
      }
      return tf.tidy(() => {
        const { queries, keys } = splitQueriesAndKeys(checked, NAME);
        const settings = { name: NAME, scale: 1 / temperature, distance, chunkElements, inBatchNegatives };
        const both = symmetric ? symmetricDiagonalCrossEntropy(queries, keys, settings) : null;
        if (both !== null) return both;
        const forward = tf.mean(diagonalCrossEntropy(queries, keys, settings));
        if (!symmetric) return forward as tf.Scalar;
        const backward = tf.mean(diagonalCrossEntropy(keys, queries, settings));
        return tf.mul(tf.add(forward, backward), 0.5) as tf.Scalar;
      });
    },
  };
}
