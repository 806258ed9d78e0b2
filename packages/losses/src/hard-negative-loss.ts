import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertOneOf, assertTensor, cosineSimilarity, l2Normalize } from '@contrastive/core';
import type { Distance, LossInput, Loss } from '@contrastive/core';
import {
  DEFAULT_CHUNK_ELEMENTS,
  assertDistance,
  denseRowLosses,
  dotForm,
  infoNceRowLosses,
  maskedLogSoftmax,
  maskedLogSumExp,
  nativeDebiasedRowGrads,
  nativeDebiasedRows,
  nativeRowGrads,
  nativeRows,
  positiveCounts,
  tupleCounts,
  tupleWeights,
  validateLossInput,
} from './info-nce-engine.js';
import type { EngineChunk, InfoNceEngineSpec } from './info-nce-engine.js';
import { assertOptionsObject } from './internal/options.js';

const NAME = 'hardNegativeLoss';
const WEIGHTS_NAME = 'hardNegativeWeights';

/**
 * Options of {@link hardNegativeLoss}.
 * @category Losses
 */
export interface HardNegativeLossOptions {
  /**
   * Temperature τ that divides every similarity; a finite number > 0.
   * @defaultValue 0.5 (the official code, joshr17/HCL)
   */
  readonly temperature?: number;
  /**
   * Concentration β ≥ 0 of the importance weights `exp(β·s/τ)` over the negatives: 0 weighs every
   * negative equally (the debiased loss of Chuang et al. 2020), larger values concentrate the
   * negative term on the hardest (most similar) negatives.
   * @defaultValue 1.0 (the official code)
   */
  readonly beta?: number;
  /**
   * Class prior τ+ in `[0, 1)`: the probability that a "negative" shares the anchor's latent class.
   * The negative term is debiased by removing τ+ times the positive's share; 0 turns debiasing off.
   * @defaultValue 0.1 (the official code)
   */
  readonly tauPlus?: number;
  /**
   * `'hard'`: the importance-weighted, debiased negative term (the paper's loss). `'easy'`: the plain
   * sum of the negatives, i.e. NT-Xent / SimCLR (`beta`, `tauPlus` and `clamp` are then unused).
   * @defaultValue 'hard'
   */
  readonly estimator?: 'hard' | 'easy';
  /**
   * Floor the debiased negative term at its theoretical minimum `N·e^(−1/τ)` (the official code's
   * "constrain (optional)" `torch.clamp`, no gradient where it applies). With `false` the estimate is
   * only floored at 0, so that the loss stays finite: see {@link hardNegativeLoss}.
   * @defaultValue true (the official code)
   */
  readonly clamp?: boolean;
  /**
   * How embeddings are compared. A similarity is used as is; a distance (`isSimilarity: false`) is
   * negated. The floor `N·e^(−1/τ)` assumes similarities in `[-1, 1]`, as cosine similarity gives.
   * @defaultValue `cosineSimilarity()` (the official code L2-normalizes its projections)
   */
  readonly distance?: Distance;
  /**
   * Most elements of one `[c, m]` similarity block: the batch runs in row chunks of `c` anchors with
   * a recomputing (checkpointed) gradient, so memory grows linearly in the batch size. Only the
   * dot-product similarities (`cosineSimilarity()`, `dotProductSimilarity()`) run in chunks; other
   * distances build the whole `[n, m]` matrix.
   * @defaultValue 4194304 (2^22)
   */
  readonly chunkElements?: number;
}

/**
 * Options of {@link hardNegativeWeights}.
 * @category Losses
 */
export interface HardNegativeWeightsOptions {
  /** Concentration β ≥ 0. @defaultValue 1.0 */
  readonly beta?: number;
  /** Temperature τ > 0 that divides the similarities. @defaultValue 0.5 */
  readonly temperature?: number;
}

/**
 * The hyper-parameters of the debiased / hard-negative family, already validated.
 * @internal
 */
export interface DebiasedSettings {
  readonly temperature: number;
  readonly beta: number;
  readonly tauPlus: number;
  readonly estimator: 'hard' | 'easy';
  readonly clamp: boolean;
  readonly distance: Distance;
  readonly chunkElements: number;
  /** Tests only: differentiate the row losses with autodiff instead of the closed form. */
  readonly autodiffRowGrad?: boolean;
}

function assertBoolean(value: unknown, argument: string, fn: string): asserts value is boolean {
  if (typeof value !== 'boolean') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be a boolean, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`,
    );
  }
}

/**
 * Validates the options shared by `debiasedContrastiveLoss` and `hardNegativeLoss`.
 * @internal
 */
export function debiasedSettings(
  options: HardNegativeLossOptions,
  defaults: { readonly beta: number; readonly estimator: 'hard' | 'easy' },
  fn: string,
): DebiasedSettings {
  const temperature = options.temperature ?? 0.5;
  assertNumber(temperature, 'temperature', fn, { min: 0, exclusiveMin: true });
  const beta = options.beta ?? defaults.beta;
  assertNumber(beta, 'beta', fn, { min: 0 });
  const tauPlus = options.tauPlus ?? 0.1;
  assertNumber(tauPlus, 'tauPlus', fn, { min: 0, max: 1, exclusiveMax: true });
  const estimator = options.estimator ?? defaults.estimator;
  assertOneOf(estimator, ['hard', 'easy'] as const, 'estimator', fn);
  const clamp = options.clamp ?? true;
  assertBoolean(clamp, 'clamp', fn);
  const distance = options.distance ?? cosineSimilarity();
  assertDistance(distance, fn);
  const chunkElements = options.chunkElements ?? DEFAULT_CHUNK_ELEMENTS;
  assertNumber(chunkElements, 'chunkElements', fn, { integer: true, min: 1 });
  return { temperature, beta, tauPlus, estimator, clamp, distance, chunkElements };
}

// ---------------------------------------------------------------------------------------------
// the row functions run by the InfoNCE engine (see info-nce-engine.ts)
// ---------------------------------------------------------------------------------------------

/** Smallest `1 − τ+·pos/E_w[neg]` whose log is taken; below it the estimate counts as ≤ 0. */
const TINY = 1e-30;

/** Positive and negative pair weights of a chunk: label masks, or the mined multiplicities. */
function chunkWeights(chunk: EngineChunk, mined: boolean): { positive: tf.Tensor2D; negative: tf.Tensor2D } {
  if (mined) return { positive: chunk.perAnchor('positive') as tf.Tensor2D, negative: chunk.perAnchor('negative') as tf.Tensor2D };
  // A tidy frees the label comparison's temporaries at once.
  return tf.tidy(() => ({ positive: chunk.positives(), negative: chunk.negatives() }));
}

/**
 * The per-pair logits `z` of one chunk (a pair's loss is `softplus(z)`, times `keep` when given) and,
 * for the closed-form gradient, the pieces of `d log Ng_p / d x = active_p·((1 + r_p)·dE − r_p·e_p)`
 * (`e_p` the unit vector of column p; `d z_p / d x` subtracts `e_p` once more).
 *
 * Row a with logits x (similarities / τ), negative multiplicities c (N = Σ c) and a positive p:
 * - easy: `z_p = lse − x_p`, `lse = log Σ c·e^x` (NT-Xent).
 * - hard: `E = log Σ c·e^((β+1)x) − log Σ c·e^(βx)` (the log of the importance-weighted mean of
 *   e^x), `u_p = x_p − E + log τ+`, the debiased estimate `Ng/N = e^E·(1 − e^(u_p))/(1 − τ+)`, so
 *   `log Ng = log N + E + log(1 − e^(u_p)) − log(1 − τ+)` where `u_p < 0` (else the estimate is ≤ 0),
 *   clamped at `log N − 1/τ`, and `z_p = log Ng − x_p`. Every log-sum-exp subtracts its row maximum.
 *
 * `dE` is `d E / d x` (`[c, m]`): the softmax for easy and `(β+1)·σ_(β+1) − β·σ_β` for hard;
 * `active` marks the pairs whose `log Ng` follows E (not clamped, estimate > 0); `r = e^u/(1 − e^u)`.
 */
interface RowTerms {
  readonly z: tf.Tensor;
  readonly keep: tf.Tensor | null;
  readonly hasNegative: tf.Tensor;
  readonly dE: tf.Tensor | null;
  readonly active: tf.Tensor | null;
  readonly r: tf.Tensor | null;
}

function rowTerms(block: tf.Tensor2D, negative: tf.Tensor2D, settings: DebiasedSettings, withGrad: boolean): RowTerms {
  const { temperature, beta, tauPlus, estimator, clamp } = settings;
  // The steps run in nested tidies that keep only what the next step needs: a chunk's peak memory is
  // then a handful of [c, m] blocks rather than every intermediate at once.
  const logSumExp = (logits: tf.Tensor2D): { lse: tf.Tensor; softmax?: tf.Tensor } => {
    if (withGrad) {
      const { lse, softmax } = maskedLogSoftmax(logits, negative);
      return { lse, softmax };
    }
    return { lse: tf.reshape(maskedLogSumExp(logits, negative), [-1, 1]) };
  };
  // Step 1, per row: whether it has negatives, log N (0 without), E and (for the gradient) dE.
  const stats = tf.tidy(() => {
    const count = tf.sum(negative, 1, true);
    const hasNegative = tf.sign(count);
    if (estimator === 'easy') {
      const { lse, softmax } = logSumExp(block);
      return { hasNegative, logCount: tf.zerosLike(count), logWeightedMean: lse, ...(softmax === undefined ? {} : { dE: softmax }) };
    }
    const logCount = tf.log(tf.add(count, tf.sub(1, hasNegative)));
    const high = logSumExp(beta === 0 ? block : (tf.mul(block, beta + 1) as tf.Tensor2D));
    const low = beta === 0 ? { lse: logCount } : logSumExp(tf.mul(block, beta) as tf.Tensor2D);
    let dE: tf.Tensor | undefined;
    if (high.softmax !== undefined) {
      dE = beta === 0 ? high.softmax : tf.sub(tf.mul(high.softmax, beta + 1), tf.mul((low as { softmax: tf.Tensor }).softmax, beta));
    }
    return { hasNegative, logCount, logWeightedMean: tf.sub(high.lse, low.lse), ...(dE === undefined ? {} : { dE }) };
  }) as { hasNegative: tf.Tensor; logCount: tf.Tensor; logWeightedMean: tf.Tensor; dE?: tf.Tensor };
  const { hasNegative, logCount, logWeightedMean } = stats;
  const dE = stats.dE ?? null;
  if (estimator === 'easy') {
    return { z: tf.sub(logWeightedMean, block), keep: null, hasNegative, dE, active: null, r: null };
  }
  const floor = -1 / temperature;
  if (tauPlus === 0) {
    const logNg = clamp ? tf.maximum(logWeightedMean, floor) : logWeightedMean;
    const active = clamp ? tf.step(tf.sub(logWeightedMean, floor)) : null;
    return { z: tf.sub(tf.add(logCount, logNg), block), keep: null, hasNegative, dE, active, r: null };
  }
  // Step 2, per pair. u = log(τ+·pos / E_w[neg]); the debiased estimate is positive iff u < 0. The
  // 0/1 masks are tf.step (zero gradient): comparison ops have no gradient function in tf.js.
  const pairs = tf.tidy(() => {
    const u = tf.add(tf.sub(block, logWeightedMean), Math.log(tauPlus));
    const positiveEstimate = tf.step(tf.neg(u));
    const expU = tf.exp(tf.minimum(u, 0));
    const oneMinus = tf.maximum(tf.sub(1, expU), TINY);
    const logEstimate = tf.sub(tf.add(logWeightedMean, tf.log(oneMinus)), Math.log1p(-tauPlus));
    let logNg: tf.Tensor;
    let active: tf.Tensor;
    if (clamp) {
      // torch.clamp(Ng, min = N·e^(−1/τ)): no gradient where the floor applies.
      const selected = tf.add(tf.mul(logEstimate, positiveEstimate), tf.mul(tf.sub(1, positiveEstimate), floor));
      logNg = tf.maximum(selected, floor);
      active = tf.mul(positiveEstimate, tf.step(tf.sub(logEstimate, floor)));
    } else {
      // Ng floored at 0: a pair whose estimate is <= 0 has loss -log(pos / pos) = 0.
      logNg = logEstimate;
      active = positiveEstimate;
    }
    const z = tf.sub(tf.add(logCount, logNg), block);
    const r = withGrad ? tf.mul(active, tf.div(expU, oneMinus)) : undefined;
    return { z, active, ...(r === undefined ? {} : { r }) };
  }) as { z: tf.Tensor; active: tf.Tensor; r?: tf.Tensor };
  return { z: pairs.z, keep: clamp ? null : pairs.active, hasNegative, dE, active: pairs.active, r: pairs.r ?? null };
}

/** `[c]` per-row loss sums `Σ_p positive_p · softplus(z_p)` (0 for rows without negatives). */
function rowLoss(settings: DebiasedSettings, mined: boolean): (block: tf.Tensor2D, chunk: EngineChunk) => tf.Tensor {
  return (block, chunk) => {
    if (!mined && settings.autodiffRowGrad !== true) {
      // One native pass per row on wasm: 'easy' is NT-Xent's row exactly. (Not under the tests'
      // autodiff of rowLoss: the native rows have no gradient of their own.)
      const native = settings.estimator === 'easy' ? nativeRows('ntxent', block, chunk) : nativeDebiasedRows(block, chunk, settings);
      if (native !== null) return native;
    }
    const { positive, negative } = chunkWeights(chunk, mined);
    const { z, keep, hasNegative } = rowTerms(block, negative, settings, false);
    const perPair = keep === null ? tf.softplus(z) : tf.mul(tf.softplus(z), keep);
    return tf.reshape(tf.mul(tf.sum(tf.mul(positive, perPair), 1, true), hasNegative), [-1]);
  };
}

/**
 * Closed form of `d(Σ_a dRow_a · rowLoss_a) / d block`: with `w_p = positive_p · sigmoid(z_p)`
 * (times `keep`), `G = dRow · (A · dE − B)`, `A = Σ_p w_p · active_p · (1 + r_p)`,
 * `B_p = w_p · (1 + active_p · r_p)` (A = Σ w and B = w for easy; `active` is per row for τ+ = 0).
 */
function rowGrad(settings: DebiasedSettings, mined: boolean): (block: tf.Tensor2D, chunk: EngineChunk, dRow: tf.Tensor1D) => tf.Tensor {
  return (block, chunk, dRow) => {
    if (!mined) {
      const native = settings.estimator === 'easy' ? nativeRowGrads('ntxent', block, chunk, dRow) : nativeDebiasedRowGrads(block, chunk, settings, dRow);
      if (native !== null) return native;
    }
    const { positive, negative } = chunkWeights(chunk, mined);
    const { z, keep, hasNegative, dE, active, r } = rowTerms(block, negative, settings, true);
    return tf.tidy(() => {
      const sigmoid = tf.sigmoid(z);
      const w = tf.mul(positive, keep === null ? sigmoid : tf.mul(sigmoid, keep));
      let a: tf.Tensor;
      let b: tf.Tensor;
      if (r !== null && active !== null) {
        a = tf.sum(tf.mul(w, tf.add(active, tf.mul(active, r))), 1, true);
        b = tf.mul(w, tf.add(1, r));
      } else {
        const total = tf.sum(w, 1, true);
        a = active === null ? total : tf.mul(total, active);
        b = w;
      }
      const coefficient = tf.mul(tf.reshape(dRow, [-1, 1]), hasNegative);
      return tf.mul(tf.sub(tf.mul(a, dE as tf.Tensor), b), coefficient);
    });
  };
}

/**
 * The shared `Loss` of `debiasedContrastiveLoss` and `hardNegativeLoss`: per-row losses from the
 * InfoNCE engine (row chunks, checkpointed gradient) for cosine and dot-product similarities, or from
 * the dense matrix for other distances; the mean over the positive pairs.
 * @internal
 */
export function debiasedLoss(name: string, settings: DebiasedSettings): Loss {
  const { distance, temperature, chunkElements } = settings;
  const form = dotForm(distance);
  return {
    name,
    compute(input: LossInput): tf.Scalar {
      const { embeddings, labels, tuples, ref } = validateLossInput(input, name);
      const n = embeddings.shape[0];
      const m = ref === undefined ? n : ref.embeddings.shape[0];
      const counts = tuples === undefined ? undefined : tupleCounts(tuples);
      const nothingToCompare =
        counts === undefined ? ref === undefined && n < 2 : counts.positives === 0 || counts.negatives === 0;
      if (nothingToCompare) return tf.tidy(() => tf.mul(tf.sum(embeddings), 0) as tf.Scalar);

      return tf.tidy(() => {
        const mined = tuples === undefined ? null : tupleWeights(tuples, n, m);
        const spec: InfoNceEngineSpec = {
          name,
          anchors: embeddings,
          ...(ref === undefined ? {} : { keys: ref.embeddings, keyLabels: ref.labels }),
          scale: 1 / temperature,
          labels,
          ...(mined === null ? {} : { perAnchor: { positive: mined.positive, negative: mined.negative } }),
          rowLoss: rowLoss(settings, mined !== null),
          ...(settings.autodiffRowGrad === true ? {} : { rowGrad: rowGrad(settings, mined !== null) }),
          chunkElements,
        };
        let rows: tf.Tensor1D;
        if (form === null) {
          // Any other distance: the whole matrix, negated for distances (larger = closer, as PML).
          const matrix = distance.pairwise(embeddings, ref?.embeddings);
          rows = denseRowLosses(tf.div(distance.isSimilarity ? matrix : tf.neg(matrix), temperature) as tf.Tensor2D, spec);
        } else {
          const prepare = (x: tf.Tensor2D): tf.Tensor2D => (form === 'cosine' ? l2Normalize(x) : x);
          const anchors = prepare(embeddings);
          rows = infoNceRowLosses({ ...spec, anchors, ...(ref === undefined ? {} : { keys: prepare(ref.embeddings) }) });
        }
        const pairs = counts === undefined ? tf.sum(positiveCounts(labels, ref?.labels)) : tf.scalar(counts.positives);
        return tf.div(tf.sum(rows), tf.maximum(pairs, 1)) as tf.Scalar;
      });
    },
  };
}

/**
 * The hard-negative contrastive loss of Robinson et al. 2021, "Contrastive Learning with Hard
 * Negative Samples" (ICLR), as its official code (joshr17/HCL `image/main.py`, `criterion`). For an
 * anchor a with positive p and N negatives k (similarities s, temperature τ):
 *
 * `L = -log(pos / (pos + Ng))`, `pos = exp(s_ap/τ)`,
 * `Ng = max((Σ_k w_ak·exp(s_ak/τ) − τ+·N·pos) / (1 − τ+), N·e^(−1/τ))`,
 * `w_ak = exp(β·s_ak/τ) / mean_k exp(β·s_ak/τ)` (importance weights, see {@link hardNegativeWeights}),
 *
 * averaged over the positive pairs. The weights are not detached: the gradient flows through them,
 * as in the official code. β = 0 gives the debiased loss of Chuang et al. 2020
 * (`debiasedContrastiveLoss`), β = 0 and τ+ = 0 SimCLR's NT-Xent (with the floor);
 * `estimator: 'easy'` is NT-Xent exactly (`ntXentLoss` with the same temperature).
 *
 * **Labels.** Views are labels: with `viewLabels(B)` (rows `0..B-1` view 1, `B..2B-1` view 2) every
 * row has exactly one positive (the other view) and `N = 2B − 2` negatives, which is the official
 * code exactly. With general labels every ordered same-label pair (a, p), a ≠ p, is a positive pair
 * with its own term, using its own `pos = exp(s_ap/τ)` in the debiasing correction; the N negatives
 * of a are the rows with another label (other positives of a are neither in the sum nor in the
 * weights); the loss is the mean over all positive pairs, so an anchor with more positives weighs
 * more (as pytorch-metric-learning's `NTXentLoss`). This is not the paper's several-positive form
 * (which averages the positives inside one debiasing term per anchor).
 *
 * **Tuples and ref.** `tuples` restrict the pairs: the positive pairs are the mined ones and the
 * negatives of an anchor are its mined negative pairs (with multiplicity; N is their count);
 * triplets (a, p, n) count as the pairs (a, p) and (a, n), as PML's `convert_to_pairs`. With `ref`
 * the batch is compared with `ref.embeddings` / `ref.labels` (a MoCo queue, a memory bank): every
 * same-label reference row is a positive, including a copy of the anchor itself, and every
 * other-label row a negative. Tuple indices must lie in range: their minimum and maximum are read
 * back to check (`INVALID_ARGUMENT` naming the field).
 *
 * **Clamp.** With `clamp: true` (the default) the negative term is floored at `N·e^(−1/τ)` with no
 * gradient where the floor applies (`torch.clamp`). With `clamp: false` the official code would take
 * the log of `pos + Ng` even when the debiased estimate is negative (a negative loss, or NaN once
 * `pos + Ng ≤ 0`); here the estimate is floored at 0 instead, so such a pair contributes 0.
 *
 * A batch without a positive pair or without a negative gives 0 connected to `embeddings` (zero
 * gradients); an anchor without negatives contributes 0 to the mean. Everything is computed in the
 * log domain with the row maximum subtracted, so temperatures down to 0.01 and embeddings scaled by
 * 1e4 stay finite. Not in pytorch-metric-learning; lightly has no equivalent either.
 *
 * @param options - temperature, beta, tauPlus, estimator, clamp, distance and chunkElements; see
 * {@link HardNegativeLossOptions}.
 * @returns a `Loss` named `'hardNegativeLoss'`. Its `compute` takes `embeddings` `[n, d]`
 * float32, `labels` `[n]` int32, optional `tuples` (`[k]` int32 index vectors) and an optional `ref`
 * (`[m, d]` float32 embeddings, `[m]` int32 labels); it returns a float32 scalar owned by the caller
 * and disposes none of its inputs. With cosine or dot-product similarity it runs on the InfoNCE
 * engine: row chunks of at most `chunkElements` similarities and a checkpointed, closed-form
 * gradient, so peak memory is O(chunkElements + (n + m)·d) rather than O(n·m) (mined tuples add
 * two dense `[n, m]` multiplicity matrices; other distances build the whole `[n, m]` matrix). It never
 * reads tensors back, so it works under `optimizer.minimize`.
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `options` is not an object, `temperature` is not
 * > 0, `beta` not ≥ 0, `tauPlus` not in `[0, 1)`, `estimator` not `'hard'` or `'easy'`, `clamp` not
 * a boolean, `distance` not a Distance or `chunkElements` not an integer ≥ 1; from `compute`,
 * `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT` or `DISPOSED` naming the
 * argument (`embeddings`, `labels`, `ref.embeddings`, `ref.labels`, `tuples.*`).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { viewLabels } from '@contrastive/core';
 * import { hardNegativeLoss } from '@contrastive/losses';
 *
 * // Two views of three samples: rows 0..2 are view 1 and rows 3..5 view 2.
 * const embeddings = tf.tensor2d([[1, 0], [0, 1], [-1, 0.2], [0.8, 0.6], [0.6, 0.8], [-0.9, -0.1]]);
 * const labels = viewLabels(3); // [0, 1, 2, 0, 1, 2]
 * const loss = hardNegativeLoss({ temperature: 0.5, beta: 1, tauPlus: 0.1 }).compute({ embeddings, labels });
 * loss.print(); // Tensor 0.9489568
 * ```
 * @category Losses
 */
export function hardNegativeLoss(options: HardNegativeLossOptions = {}): Loss {
  assertOptionsObject(options, NAME);
  return debiasedLoss(NAME, debiasedSettings(options ?? {}, { beta: 1, estimator: 'hard' }, NAME));
}

/**
 * The importance weights of the hard-negative loss (Robinson et al. 2021, "Contrastive Learning with
 * Hard Negative Samples"), for inspection or for a custom loss: over the negatives k of each row a,
 *
 * `w_ak = c_ak·exp(β·s_ak/τ) / ((1/N_a)·Σ_j c_aj·exp(β·s_aj/τ))`, `N_a = Σ_j c_aj`,
 *
 * where `c` is the negative mask (0/1, or multiplicities). Each row's weights average 1 over its
 * negatives (they sum to `N_a`); entries outside the mask, and rows without negatives, are 0.
 * `Σ_k w_ak·exp(s_ak/τ)` is the official code's `reweight_neg`, the importance-sampled estimate of
 * `N·E_q[exp(s⁻/τ)]`; the debiasing class prior τ+ enters after it, in the loss:
 * `Ng = max((Σ_k w_ak·exp(s_ak/τ) − τ+·N_a·exp(s_ap/τ)) / (1 − τ+), N_a·e^(−1/τ))`. β = 0 gives
 * weight 1 on every negative (the debiased loss of Chuang et al. 2020). Computed as a softmax with
 * the row maximum subtracted, so it stays finite for any similarity and temperature.
 *
 * @param similarities - `[n, m]` float32 similarities s (not yet divided by τ), e.g.
 * `cosineSimilarity().pairwise(embeddings)`. Borrowed.
 * @param mask - `[n, m]` float32 negative mask: 1 (or a multiplicity ≥ 0) where column j is a
 * negative of row i, 0 elsewhere. Borrowed.
 * @param options - `beta` (default 1.0) and `temperature` (default 0.5); see
 * {@link HardNegativeWeightsOptions}.
 * @returns `[n, m]` float32 weights, owned by the caller; differentiable with respect to
 * `similarities`.
 * @throws `ContrastiveError`: `INVALID_ARGUMENT` for `beta` not ≥ 0 or `temperature` not > 0;
 * `SHAPE_MISMATCH`, `DTYPE_MISMATCH` or `DISPOSED` naming `similarities` or `mask`.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { hardNegativeWeights } from '@contrastive/losses';
 *
 * const similarities = tf.tensor2d([[1, 0.5, -0.5, 0]]);
 * const mask = tf.tensor2d([[0, 1, 1, 1]]); // column 0 is the positive
 * hardNegativeWeights(similarities, mask, { beta: 1, temperature: 0.5 }).print();
 * // [[0, 1.9957229, 0.2700917, 0.7341854]]  (mean 1 over the three negatives)
 * ```
 * @category Losses
 */
export function hardNegativeWeights(
  similarities: tf.Tensor2D,
  mask: tf.Tensor2D,
  options: HardNegativeWeightsOptions = {},
): tf.Tensor2D {
  const beta = options?.beta ?? 1;
  assertNumber(beta, 'beta', WEIGHTS_NAME, { min: 0 });
  const temperature = options?.temperature ?? 0.5;
  assertNumber(temperature, 'temperature', WEIGHTS_NAME, { min: 0, exclusiveMin: true });
  assertTensor(similarities, 2, 'similarities', WEIGHTS_NAME, 'float32');
  assertTensor(mask, 2, 'mask', WEIGHTS_NAME, 'float32');
  if (mask.shape[0] !== similarities.shape[0] || mask.shape[1] !== similarities.shape[1]) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'mask' passed to '${WEIGHTS_NAME}' must have shape [${similarities.shape.join(', ')}] (as 'similarities'), got [${mask.shape.join(', ')}]`,
    );
  }
  return tf.tidy(() => {
    // count · masked softmax of β·s/τ (the row maximum subtracted); rows without negatives stay 0.
    const { softmax } = maskedLogSoftmax(tf.mul(similarities, beta / temperature) as tf.Tensor2D, mask);
    return tf.mul(softmax, tf.sum(mask, 1, true)) as tf.Tensor2D;
  });
}
