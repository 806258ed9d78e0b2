import { ContrastiveError, assertDistance, assertNumber, cosineSimilarity } from '@contrastive/core';
import type { Distance, Miner, MinerInput, PairTuples } from '@contrastive/core';
import { hostMatrix, isNegative, isPositive, pairTuples, validateMinerInput } from './internal/mining.js';

const NAME = 'multiSimilarityMiner';

/**
 * Options of {@link multiSimilarityMiner}.
 * @category Miners
 */
export interface MultiSimilarityMinerOptions {
  /**
   * The mining margin ε, a finite number: a negative is kept when `s_an + ε` exceeds the anchor's
   * smallest positive similarity, a positive when `s_ap − ε` is below its largest negative
   * similarity (for a distance: `d_an − ε` below the largest positive distance, `d_ap + ε` above the
   * smallest negative distance).
   * @defaultValue 0.1 (pytorch-metric-learning's `MultiSimilarityMiner` and the paper)
   */
  readonly epsilon?: number;
  /**
   * How embeddings are compared: a similarity (the paper's) or a distance, for which the rule is
   * mirrored as PML's `distance.is_inverted` does.
   * @defaultValue `cosineSimilarity()` (PML's default for this miner)
   */
  readonly distance?: Distance;
}

/**
 * The ε-mining step of the multi-similarity loss (Wang, Han, Huang, Dong & Scott 2019,
 * "Multi-Similarity Loss with General Pair Weighting for Deep Metric Learning"), as
 * pytorch-metric-learning's `MultiSimilarityMiner`. For every anchor `a` (batch row) with at least
 * one positive and one negative:
 *
 * - a negative `n` is kept when `s_an + ε > min_p s_ap` (it is closer than the hardest positive,
 *   up to ε);
 * - a positive `p` is kept when `s_ap − ε < max_n s_an` (it is farther than the hardest negative,
 *   up to ε).
 *
 * With a distance (`isSimilarity: false`) the rule is mirrored: `d_an − ε < max_p d_ap` and
 * `d_ap + ε > min_n d_an`. Positives are same-label columns other than the anchor itself (the
 * self-pair is neither a positive nor a negative); with `ref` every same-label reference row is a
 * positive and there is no self-pair. An anchor without a positive keeps no negative and one
 * without a negative keeps no positive (PML fills the missing side with ±`finfo.max`); a batch with
 * no positive pair or no negative pair at all (a single class, all labels distinct, a batch of one)
 * returns empty tuples, as PML does.
 *
 * Order: as PML's `torch.where` over the row-sorted matrix — anchor-major, and within an anchor the
 * kept partners in ascending order of the matrix value (ascending similarity, or ascending
 * distance); ties in the value (which `torch.sort` leaves in an unspecified order) by column.
 * The matrix and labels are read to the host (mining runs outside the gradient): `O(n·m log m)`
 * host work per call.
 *
 * @param options - `epsilon` and `distance`; see {@link MultiSimilarityMinerOptions}.
 * @returns a core `Miner` named `'multiSimilarityMiner'`. Its `mine({ embeddings, labels, ref? })`
 *   takes `[n, d]` float32 embeddings, `[n]` int32 labels and an optional reference (`[m, d]`
 *   float32, `[m]` int32), all borrowed, and returns pair tuples: `anchorPos`/`positive` `[p]` int32
 *   and `anchorNeg`/`negative` `[q]` int32, owned by the caller; no gradient flows through them.
 *   Feed them to `multiSimilarityLoss` (its pair weighting is the paper's second step).
 * @throws `ContrastiveError` (from `@contrastive/core`) `INVALID_ARGUMENT` when `options` is not an
 *   object, `epsilon` is not a finite number or `distance` is not a Distance; from `mine`,
 *   `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT` or `DISPOSED` naming the
 *   argument (`embeddings`, `labels`, `ref`, `ref.embeddings`, `ref.labels`);
 *   `NON_FINITE` naming `embeddings` or `ref.embeddings` when a distance is NaN or infinite.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { multiSimilarityMiner } from '@contrastive/samplers';
 *
 * // unit vectors at 0°, 60°, 90° and 180°: cos 60° = 0.5, cos 30° ≈ 0.866, cos 90° = 0
 * const embeddings = tf.tensor2d([[1, 0], [0.5, Math.sqrt(3) / 2], [0, 1], [-1, 0]]);
 * const labels = tf.tensor1d([0, 0, 1, 1], 'int32');
 * const tuples = multiSimilarityMiner().mine({ embeddings, labels });
 * // anchorPos [1, 2],    positive [0, 3]     (s_ap − 0.1 below the anchor's most similar negative)
 * // anchorNeg [1, 2, 2], negative [2, 0, 1]  (s_an + 0.1 above its least similar positive;
 * //                                           anchor 2's by ascending similarity, 0 then 0.866)
 * ```
 * @category Miners
 */
export function multiSimilarityMiner(options: MultiSimilarityMinerOptions = {}): Miner {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'options' passed to '${NAME}' must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
  const epsilon = options.epsilon ?? 0.1;
  assertNumber(epsilon, 'epsilon', NAME);
  const distance = options.distance ?? cosineSimilarity();
  assertDistance(distance, NAME, 'cosineSimilarity()');

  return {
    name: NAME,
    mine(input: MinerInput): PairTuples {
      const matrix = hostMatrix(distance, validateMinerInput(input, NAME));
      const { n, m, values, isSimilarity } = matrix;
      const anchorPos: number[] = [];
      const positive: number[] = [];
      const anchorNeg: number[] = [];
      const negative: number[] = [];
      const positives: number[] = [];
      const negatives: number[] = [];
      for (let i = 0; i < n; i++) {
        const row = i * m;
        positives.length = 0;
        negatives.length = 0;
        let minPositive = Infinity;
        let maxPositive = -Infinity;
        let minNegative = Infinity;
        let maxNegative = -Infinity;
        for (let j = 0; j < m; j++) {
          const value = values[row + j] as number;
          if (isPositive(matrix, i, j)) {
            positives.push(j);
            minPositive = Math.min(minPositive, value);
            maxPositive = Math.max(maxPositive, value);
          } else if (isNegative(matrix, i, j)) {
            negatives.push(j);
            minNegative = Math.min(minNegative, value);
            maxNegative = Math.max(maxNegative, value);
          }
        }
        // An anchor without one side keeps nothing (a batch without positive or negative pairs
        // therefore gives empty tuples, PML's early return).
        if (positives.length === 0 || negatives.length === 0) continue;
        const keepPositive = (value: number): boolean =>
          isSimilarity ? value - epsilon < maxNegative : value + epsilon > minNegative;
        const keepNegative = (value: number): boolean =>
          isSimilarity ? value + epsilon > minPositive : value - epsilon < maxPositive;
        // Ascending value, ties by column: the order of torch.where over PML's row-sorted matrix.
        const ascending = (a: number, b: number): number =>
          (values[row + a] as number) - (values[row + b] as number) || a - b;
        for (const j of positives.filter((column) => keepPositive(values[row + column] as number)).sort(ascending)) {
          anchorPos.push(i);
          positive.push(j);
        }
        for (const j of negatives.filter((column) => keepNegative(values[row + column] as number)).sort(ascending)) {
          anchorNeg.push(i);
          negative.push(j);
        }
      }
      return pairTuples(anchorPos, positive, anchorNeg, negative);
    },
  };
}
