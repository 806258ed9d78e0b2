import { ContrastiveError, assertDistance, assertNumber, lpDistance } from '@contrastive/core';
import type { Distance, Miner, MinerInput, PairTuples } from '@contrastive/core';
import { hostMatrix, isNegative, isPositive, pairTuples, validateMinerInput } from './internal/mining.js';

const NAME = 'pairMarginMiner';

/**
 * Options of {@link pairMarginMiner}.
 * @category Miners
 */
export interface PairMarginMinerOptions {
  /**
   * A positive pair is kept while it is not yet close enough: distance `d_ap > posMargin`, or with a
   * similarity `s_ap < posMargin`. A finite number.
   * @defaultValue 0.2 (pytorch-metric-learning's `PairMarginMiner`)
   */
  readonly posMargin?: number;
  /**
   * A negative pair is kept while it is still too close: distance `d_an < negMargin`, or with a
   * similarity `s_an > negMargin`. A finite number.
   * @defaultValue 0.8 (pytorch-metric-learning's `PairMarginMiner`)
   */
  readonly negMargin?: number;
  /**
   * How embeddings are compared: a distance (`isSimilarity: false`) or a similarity, for which the
   * comparisons flip as PML's `distance.is_inverted` does (with a similarity choose margins such as
   * `posMargin: 0.8, negMargin: 0.2`).
   * @defaultValue `lpDistance()`: Euclidean distance of L2-normalised rows (PML's default `LpDistance`)
   */
  readonly distance?: Distance;
}

/**
 * The pair-margin miner of pytorch-metric-learning (`PairMarginMiner`): from every positive pair
 * (same label, `j ≠ i` without a reference) and every negative pair (different label) it keeps the
 * ones that violate a margin — positive pairs farther apart than `posMargin` (`d_ap > posMargin`) and
 * negative pairs closer than `negMargin` (`d_an < negMargin`); with a similarity the comparisons flip
 * (`s_ap < posMargin`, `s_an > negMargin`). These are the pairs on which the margin contrastive loss
 * of Hadsell, Chopra & LeCun 2006 ("Dimensionality Reduction by Learning an Invariant Mapping") is
 * non-zero when its margins equal the miner's, the usual pairing with `contrastiveLoss`.
 *
 * With `ref` the batch rows are the anchors and the reference rows the partners, and a same-label
 * reference row is a positive even when it is a copy of the anchor (PML's `ref_emb`). The
 * distance matrix and the labels are read to the host (mining is outside the gradient; the number
 * of pairs is data-dependent): `O(n·m)` host work per call.
 *
 * @param options - margins and distance; see {@link PairMarginMinerOptions}.
 * @returns a core `Miner` named `'pairMarginMiner'`. Its `mine({ embeddings, labels, ref? })` takes
 *   `[n, d]` float32 embeddings, `[n]` int32 labels and an optional reference (`[m, d]` float32,
 *   `[m]` int32), all borrowed, and returns pair tuples: `anchorPos`/`positive` `[p]` int32 and
 *   `anchorNeg`/`negative` `[q]` int32, owned by the caller, in row-major order (anchor, then
 *   partner column) as PML's `torch.where`. No gradient flows through them. A batch without a kept
 *   pair (a batch of one, a single class with no violating positive...) gives `[0]` tensors.
 * @throws `ContrastiveError` (from `@contrastive/core`) `INVALID_ARGUMENT` when `options` is not an
 *   object, a margin is not a finite number or `distance` is not a Distance; from `mine`,
 *   `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT` or `DISPOSED` naming the
 *   argument (`embeddings`, `labels`, `ref`, `ref.embeddings`, `ref.labels`);
 *   `NON_FINITE` naming `embeddings` or `ref.embeddings` when a distance is NaN or infinite.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { pairMarginMiner } from '@contrastive/samplers';
 *
 * // unit vectors at 0°, 60°, 90° and 180°: d(0°, 60°) = 1, d(0°, 90°) = √2, d(60°, 90°) ≈ 0.518
 * const embeddings = tf.tensor2d([[1, 0], [0.5, Math.sqrt(3) / 2], [0, 1], [-1, 0]]);
 * const labels = tf.tensor1d([0, 0, 1, 1], 'int32');
 * const tuples = pairMarginMiner().mine({ embeddings, labels });
 * // anchorPos [0, 1, 2, 3], positive [1, 0, 3, 2]  (every positive pair is farther than 0.2)
 * // anchorNeg [1, 2],       negative [2, 1]        (only 60° vs 90° is closer than 0.8)
 * ```
 * @category Miners
 */
export function pairMarginMiner(options: PairMarginMinerOptions = {}): Miner {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'options' passed to '${NAME}' must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
  const posMargin = options.posMargin ?? 0.2;
  const negMargin = options.negMargin ?? 0.8;
  assertNumber(posMargin, 'posMargin', NAME);
  assertNumber(negMargin, 'negMargin', NAME);
  const distance = options.distance ?? lpDistance();
  assertDistance(distance, NAME);

  return {
    name: NAME,
    mine(input: MinerInput): PairTuples {
      const matrix = hostMatrix(distance, validateMinerInput(input, NAME));
      const { n, m, values, isSimilarity } = matrix;
      const anchorPos: number[] = [];
      const positive: number[] = [];
      const anchorNeg: number[] = [];
      const negative: number[] = [];
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < m; j++) {
          const value = values[i * m + j] as number;
          if (isPositive(matrix, i, j) && (isSimilarity ? value < posMargin : value > posMargin)) {
            anchorPos.push(i);
            positive.push(j);
          } else if (isNegative(matrix, i, j) && (isSimilarity ? value > negMargin : value < negMargin)) {
            anchorNeg.push(i);
            negative.push(j);
          }
        }
      }
      return pairTuples(anchorPos, positive, anchorNeg, negative);
    },
  };
}
