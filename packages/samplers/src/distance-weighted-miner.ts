import { ContrastiveError, Rng, assertDistance, assertNumber, lpDistance } from '@contrastive/core';
import type { Distance, Miner, MinerInput, TripletTuples } from '@contrastive/core';
import { hostMatrix, isNegative, isPositive, tripletTuples, validateMinerInput, drawFromCumulative } from './internal/mining.js';
import type { HostMatrix } from './internal/mining.js';

const NAME = 'distanceWeightedMiner';

/** The name core's `lpDistance()` (p = 2, power = 1) reports; `normalizes` tells the normalisation. */
const EUCLIDEAN_NAME = 'lpDistance(p=2)';

/**
 * Options of {@link distanceWeightedMiner}.
 * @category Miners
 */
export interface DistanceWeightedMinerOptions {
  /**
   * Distances below `cutoff` are raised to it before weighting (the paper's λ, "to avoid high
   * variance"): all negatives closer than `cutoff` get the weight of one at `cutoff`. A finite
   * number ≥ 0, below `nonzeroLossCutoff`.
   * @defaultValue 0.5 (pytorch-metric-learning's `DistanceWeightedMiner` and the paper)
   */
  readonly cutoff?: number;
  /**
   * Negatives at (clipped) distance ≥ `nonzeroLossCutoff` get weight 0: they would give a zero loss
   * (the paper's margin-based loss with its margin 0.2 and β 1.2). A finite number > `cutoff`.
   * @defaultValue 1.4 (pytorch-metric-learning and the paper)
   */
  readonly nonzeroLossCutoff?: number;
  /**
   * Random stream of the negative draws. It is kept by the miner and advanced by every `mine`: one
   * `rng.uniform()` per returned triplet, in output order. The same seed gives the same tuples.
   * @defaultValue `new Rng(0)`
   */
  readonly rng?: Rng;
  /**
   * Must be core's `lpDistance()` (Euclidean distance of L2-normalised rows, p = 2, power = 1) — the
   * weights `q(d)⁻¹` are the inverse density of distances between points uniform on the unit sphere,
   * so PML asserts the same (`LpDistance(p=2, power=1, normalize_embeddings=True)`). Any other
   * distance is rejected; the option exists so that code passing one distance everywhere works.
   * @defaultValue `lpDistance()`
   */
  readonly distance?: Distance;
}

/**
 * Fills `weights` (length m) with anchor `i`'s unnormalised sampling weights over the columns and
 * returns their sum: `q(d)⁻¹ = d^(2−k) (1 − d²/4)^(−(k−3)/2)` (k the embedding dimension) for the
 * negatives with clipped distance `d = max(d_ij, cutoff) < nonzeroLossCutoff`, 0 elsewhere and where
 * the log-weight is not finite (PML's `inf_or_nan`). Computed in float64 in log space, shifted by the
 * row's largest log-weight so that `exp` neither overflows nor underflows.
 */
function rowWeights(
  matrix: HostMatrix,
  i: number,
  dimension: number,
  cutoff: number,
  nonzeroLossCutoff: number,
  weights: Float64Array,
): number {
  const { m, values } = matrix;
  let shift = -Infinity;
  for (let j = 0; j < m; j++) {
    weights[j] = -Infinity;
    if (!isNegative(matrix, i, j)) continue;
    const d = Math.max(values[i * m + j] as number, cutoff);
    if (!(d < nonzeroLossCutoff)) continue;
    const logWeight = (2 - dimension) * Math.log(d) - ((dimension - 3) / 2) * Math.log(1 - 0.25 * d * d);
    if (!Number.isFinite(logWeight)) continue;
    weights[j] = logWeight;
    shift = Math.max(shift, logWeight);
  }
  let total = 0;
  for (let j = 0; j < m; j++) {
    const logWeight = weights[j] as number;
    const weight = logWeight === -Infinity ? 0 : Math.exp(logWeight - shift);
    weights[j] = weight;
    total += weight;
  }
  return total;
}

/**
 * Distance-weighted sampling (Wu, Manmatha, Smola & Krähenbühl 2017, "Sampling Matters in Deep
 * Embedding Learning"), as pytorch-metric-learning's `DistanceWeightedMiner`: negatives are drawn
 * with probability proportional to the inverse of the density of pairwise distances between points
 * uniform on the unit sphere of dimension k,
 * `q(d)⁻¹ = d^(2−k) · (1 − d²/4)^(−(k−3)/2)`, so that every distance range is sampled about as
 * often, instead of the many negatives near √2 that uniform sampling gives. Distances are clipped
 * below at `cutoff` (the paper's λ) and negatives at clipped distance ≥ `nonzeroLossCutoff` get
 * weight 0; weights with a non-finite logarithm (distance 2, or 0 with `cutoff: 0`) are 0, as PML's
 * `inf_or_nan`.
 *
 * For every positive pair `(a, p)` (same label, `p ≠ a` without a reference; every same-label
 * reference row with `ref`) one negative `n` is drawn from anchor `a`'s normalised weights, giving
 * the triplet `(a, p, n)` — the paper's sampling (its reference code enumerates the positive
 * pairs). Order: anchor-major, positives by ascending column. An anchor whose weights are all 0
 * (every negative at distance ≥ `nonzeroLossCutoff`, or no negative at all) yields no triplet, as
 * PML 2.x drops those rows (PML 1.x and the paper's code fell back to uniform sampling).
 *
 * Differences from PML 2.8, none of which changes the distribution of a draw: PML draws
 * `n_p` positives per anchor at random (with replacement, `n_p` counting the anchor itself)
 * where this enumerates every positive pair once; the weights are computed on the host in float64
 * with the row's largest log-weight subtracted (PML subtracts the matrix-wide maximum in float32,
 * where a row can underflow to 0 and be dropped); the draws come from the seeded `rng` (one
 * `rng.uniform()` per triplet, inverse-CDF), not from `torch.multinomial`.
 *
 * The distance matrix and labels are read to the host (mining is outside the gradient): `O(n·m)`
 * host work per call.
 *
 * @param options - `cutoff`, `nonzeroLossCutoff`, `rng`, `distance`; see
 *   {@link DistanceWeightedMinerOptions}.
 * @returns a core `Miner` named `'distanceWeightedMiner'`. Its `mine({ embeddings, labels, ref? })`
 *   takes `[n, k]` float32 embeddings, `[n]` int32 labels and an optional reference (`[m, k]`
 *   float32, `[m]` int32), all borrowed, and returns triplet tuples `anchor`/`positive`/`negative`,
 *   `[t]` int32 each, owned by the caller; no gradient flows through them. A batch without a
 *   positive pair or an eligible negative gives `[0]` tensors. Every call advances `rng` by `t`
 *   draws.
 * @throws `ContrastiveError` (from `@contrastive/core`) `INVALID_ARGUMENT` when `options` is not an
 *   object, `cutoff` is not a finite number ≥ 0, `nonzeroLossCutoff` not a finite number above
 *   `cutoff`, `rng` not an `Rng`, or `distance` not `lpDistance()`; from `mine`, `SHAPE_MISMATCH`,
 *   `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT` or `DISPOSED` naming the argument
 *   (`embeddings`, `labels`, `ref`, `ref.embeddings`, `ref.labels`);
 *   `NON_FINITE` naming `embeddings` or `ref.embeddings` when a distance is NaN or infinite.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Rng } from '@contrastive/core';
 * import { distanceWeightedMiner } from '@contrastive/samplers';
 *
 * // unit vectors at 0°, 10°, 60° and 180° (distances 0.174, 1 and 2 from the first)
 * const rad = Math.PI / 180;
 * const embeddings = tf.tensor2d([0, 10, 60, 180].map((a) => [Math.cos(a * rad), Math.sin(a * rad)]));
 * const labels = tf.tensor1d([0, 0, 1, 2], 'int32');
 * const tuples = distanceWeightedMiner({ rng: new Rng(1) }).mine({ embeddings, labels });
 * // anchor [0, 1], positive [1, 0], negative [2, 2]: the 180° point is 2 (≥ 1.4) away, never drawn
 * ```
 * @category Miners
 */
export function distanceWeightedMiner(options: DistanceWeightedMinerOptions = {}): Miner {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'options' passed to '${NAME}' must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
  const cutoff = options.cutoff ?? 0.5;
  const nonzeroLossCutoff = options.nonzeroLossCutoff ?? 1.4;
  assertNumber(cutoff, 'cutoff', NAME, { min: 0 });
  assertNumber(nonzeroLossCutoff, 'nonzeroLossCutoff', NAME, { min: cutoff, exclusiveMin: true });
  const rng = options.rng ?? new Rng(0);
  if (!(rng instanceof Rng)) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'rng' passed to '${NAME}' must be an Rng (from @contrastive/core), got ${rng === null ? 'null' : typeof rng}`,
    );
  }
  const distance = options.distance ?? lpDistance();
  assertDistance(distance, NAME);
  if (distance.isSimilarity || distance.normalizes !== true || distance.name !== EUCLIDEAN_NAME) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'distance' passed to '${NAME}' must be lpDistance() (Euclidean distance of L2-normalised rows: p = 2, power = 1, normalize: true; the weights assume points on the unit sphere), got ${distance.name}${distance.normalizes === true ? '' : ' (normalize: false)'}`,
    );
  }

  return {
    name: NAME,
    mine(input: MinerInput): TripletTuples {
      const checked = validateMinerInput(input, NAME);
      const dimension = checked.embeddings.shape[1];
      const matrix = hostMatrix(distance, checked);
      const { n, m } = matrix;
      const anchor: number[] = [];
      const positive: number[] = [];
      const negative: number[] = [];
      const cumulative = new Float64Array(m);
      for (let i = 0; i < n; i++) {
        let hasPositive = false;
        for (let j = 0; j < m && !hasPositive; j++) hasPositive = isPositive(matrix, i, j);
        if (!hasPositive) continue;
        if (!(rowWeights(matrix, i, dimension, cutoff, nonzeroLossCutoff, cumulative) > 0)) continue;
        let running = 0;
        let last = 0;
        for (let j = 0; j < m; j++) {
          const weight = cumulative[j] as number;
          if (weight > 0) last = j;
          running += weight;
          cumulative[j] = running;
        }
        for (let p = 0; p < m; p++) {
          if (!isPositive(matrix, i, p)) continue;
          anchor.push(i);
          positive.push(p);
          negative.push(drawFromCumulative(cumulative, last, rng.uniform()));
        }
      }
      return tripletTuples(anchor, positive, negative);
    },
  };
}
