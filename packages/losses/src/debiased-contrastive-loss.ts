import type { Distance, Loss } from '@contrastive/core';
import { debiasedLoss, debiasedSettings } from './hard-negative-loss.js';
import { assertOptionsObject } from './internal/options.js';

const NAME = 'debiasedContrastiveLoss';

/**
 * Options of {@link debiasedContrastiveLoss}.
 * @category Losses
 */
export interface DebiasedContrastiveLossOptions {
  /**
   * Temperature τ that divides every similarity; a finite number > 0.
   * @defaultValue 0.5 (the official code, chingyaoc/DCL)
   */
  readonly temperature?: number;
  /**
   * Class prior τ+ in `[0, 1)`: the probability that a "negative" shares the anchor's latent class.
   * 0 turns debiasing off (NT-Xent with the floor below).
   * @defaultValue 0.1 (the official code)
   */
  readonly tauPlus?: number;
  /**
   * Floor the debiased negative term at its theoretical minimum `N·e^(−1/τ)` (the official code's
   * "constrain (optional)" `torch.clamp`, no gradient where it applies). With `false` the estimate is
   * only floored at 0, so that the loss stays finite: see {@link debiasedContrastiveLoss}.
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
 * The debiased contrastive loss of Chuang et al. 2020, "Debiased Contrastive Learning" (NeurIPS), as
 * its official code (chingyaoc/DCL `main.py`). For an anchor a with positive p and N negatives k
 * (similarities s, temperature τ, class prior τ+):
 *
 * `L = -log(pos / (pos + Ng))`, `pos = exp(s_ap/τ)`,
 * `Ng = max((Σ_k exp(s_ak/τ) − τ+·N·pos) / (1 − τ+), N·e^(−1/τ))`,
 *
 * averaged over the positive pairs: the sum over the negatives overcounts samples of the anchor's
 * own latent class, and τ+ removes their expected share. τ+ = 0 gives SimCLR's NT-Xent (with the
 * floor). It is `hardNegativeLoss` with β = 0.
 *
 * **Labels.** Views are labels: with `viewLabels(B)` (rows `0..B-1` view 1, `B..2B-1` view 2) every
 * row has exactly one positive (the other view) and `N = 2B − 2` negatives, which is the official
 * code exactly. With general labels every ordered same-label pair (a, p), a ≠ p, is a positive pair
 * with its own term, using its own `pos` in the correction; the N negatives of a are the rows with
 * another label (other positives of a are not in the sum); the loss is the mean over all positive
 * pairs, so an anchor with more positives weighs more (as pytorch-metric-learning's `NTXentLoss`).
 * This is not the paper's several-positive form (which averages the positives inside one debiasing
 * term per anchor).
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
 * @param options - temperature, tauPlus, clamp, distance and chunkElements; see
 * {@link DebiasedContrastiveLossOptions}.
 * @returns a `Loss` named `'debiasedContrastiveLoss'`. Its `compute` takes `embeddings` `[n, d]`
 * float32, `labels` `[n]` int32, optional `tuples` (`[k]` int32 index vectors) and an optional `ref`
 * (`[m, d]` float32 embeddings, `[m]` int32 labels); it returns a float32 scalar owned by the caller
 * and disposes none of its inputs. With cosine or dot-product similarity it runs on the InfoNCE
 * engine: row chunks of at most `chunkElements` similarities and a checkpointed, closed-form
 * gradient, so peak memory is O(chunkElements + (n + m)·d) rather than O(n·m) (mined tuples add
 * two dense `[n, m]` multiplicity matrices; other distances build the whole `[n, m]` matrix). It never
 * reads tensors back, so it works under `optimizer.minimize`.
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` when `options` is not an object, `temperature` is not
 * > 0, `tauPlus` not in `[0, 1)`, `clamp` not a boolean, `distance` not a Distance or
 * `chunkElements` not an integer ≥ 1; from `compute`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`,
 * `LABEL_COUNT`, `INVALID_ARGUMENT` or `DISPOSED` naming the argument (`embeddings`, `labels`,
 * `ref.embeddings`, `ref.labels`, `tuples.*`).
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { viewLabels } from '@contrastive/core';
 * import { debiasedContrastiveLoss } from '@contrastive/losses';
 *
 * // Two views of three samples: rows 0..2 are view 1 and rows 3..5 view 2.
 * const embeddings = tf.tensor2d([[1, 0], [0, 1], [-1, 0.2], [0.8, 0.6], [0.6, 0.8], [-0.9, -0.1]]);
 * const labels = viewLabels(3); // [0, 1, 2, 0, 1, 2]
 * const loss = debiasedContrastiveLoss({ temperature: 0.5, tauPlus: 0.1 }).compute({ embeddings, labels });
 * loss.print(); // Tensor 0.5825863
 * ```
 * @category Losses
 */
export function debiasedContrastiveLoss(options: DebiasedContrastiveLossOptions = {}): Loss {
  assertOptionsObject(options, NAME);
  const { temperature, tauPlus, clamp, distance, chunkElements } = options ?? {};
  // Only this loss's own options are forwarded: β is 0 and the estimator 'hard' by definition.
  const own = { temperature, tauPlus, clamp, distance, chunkElements };
  const settings = debiasedSettings(
    Object.fromEntries(Object.entries(own).filter(([, value]) => value !== undefined)),
    { beta: 0, estimator: 'hard' },
    NAME,
  );
  return debiasedLoss(NAME, settings);
}
