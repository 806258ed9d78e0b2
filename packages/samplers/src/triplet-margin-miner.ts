import { ContrastiveError, assertDistance, assertNumber, assertOneOf, lpDistance } from '@contrastive/core';
import type { Distance, Miner, MinerInput, TripletTuples } from '@contrastive/core';
import { hostMatrix, tripletTuples, validateMinerInput } from './internal/mining.js';
import type { HostMatrix } from './internal/mining.js';

const NAME = 'tripletMarginMiner';

/**
 * Most triplets one call may return, 2^25 (three int32 vectors: 384 MiB on the host, as much again
 * on the device). Beyond it the call throws: mine fewer (another `type`, a smaller batch, or
 * `batchHardMiner`, one triplet per anchor).
 */
const MAX_TRIPLETS = 2 ** 25;

/**
 * Which triplets {@link tripletMarginMiner} keeps, by the triplet margin
 * `μ = d(a, n) − d(a, p)` (for a similarity `μ = s(a, p) − s(a, n)`) against `margin`:
 *
 * - `'all'`: `μ ≤ margin` (every triplet that violates the margin);
 * - `'hard'`: `μ ≤ margin` and `μ ≤ 0` (the negative is at least as close as the positive);
 * - `'semihard'`: `μ ≤ margin` and `μ > 0` (the negative is farther, but within the margin);
 * - `'easy'`: `μ > margin` (the triplets that satisfy the margin).
 *
 * @category Miners
 */
export type TripletMarginMinerType = 'all' | 'hard' | 'semihard' | 'easy';

const TYPES: readonly TripletMarginMinerType[] = ['all', 'hard', 'semihard', 'easy'];

/**
 * Options of {@link tripletMarginMiner}.
 * @category Miners
 */
export interface TripletMarginMinerOptions {
  /**
   * The margin `μ` is compared with, a finite number (in the distance's units).
   * @defaultValue 0.2 (pytorch-metric-learning's `TripletMarginMiner`)
   */
  readonly margin?: number;
  /**
   * Which triplets are kept; see {@link TripletMarginMinerType}.
   * @defaultValue 'all' (pytorch-metric-learning's `type_of_triplets`)
   */
  readonly type?: TripletMarginMinerType;
  /**
   * How embeddings are compared: a distance (`isSimilarity: false`) or a similarity.
   * @defaultValue `lpDistance()`: Euclidean distance of L2-normalised rows (PML's default `LpDistance`)
   */
  readonly distance?: Distance;
}

/** The columns of `matrix` grouped by reference label. */
function columnsByLabel(matrix: HostMatrix): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  matrix.refLabels.forEach((label, j) => {
    const group = groups.get(label);
    if (group === undefined) groups.set(label, [j]);
    else group.push(j);
  });
  return groups;
}

/**
 * PML's `threshold_condition` of a type as the interval `(low, high]` the float32 triplet margin must
 * lie in: all `μ ≤ margin`; hard `μ ≤ min(margin, 0)`; semihard `0 < μ ≤ margin`; easy `μ > margin`.
 * @internal Exported for tests only (not from the package).
 */
export function keptInterval(type: TripletMarginMinerType, margin: number): { low: number; high: number } {
  switch (type) {
    case 'all':
      return { low: -Infinity, high: margin };
    case 'hard':
      return { low: -Infinity, high: Math.min(margin, 0) };
    case 'semihard':
      return { low: 0, high: margin };
    case 'easy':
      return { low: margin, high: Infinity };
    default: {
      const unreachable: never = type;
      return unreachable;
    }
  }
}

/**
 * Every triplet (a, p, n) of `matrix` whose float32 triplet margin lies in `kept` = `(low, high]`, in
 * lexicographic order, enumerated without storing the candidates: a first pass counts the kept
 * triplets, a second fills arrays of that size.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` naming `labels` when more than `limit` are kept.
 * @internal Exported for tests only (not from the package).
 */
export function marginTriplets(
  matrix: HostMatrix,
  type: TripletMarginMinerType,
  kept: { readonly low: number; readonly high: number },
  limit = MAX_TRIPLETS,
): { anchor: Int32Array; positive: Int32Array; negative: Int32Array } {
  const { n, m, values, labels, self, isSimilarity } = matrix;
  const { low, high } = kept;
  const groups = columnsByLabel(matrix);
  const negativesOf = new Map<number, Int32Array>();
  const negativesFor = (label: number): Int32Array => {
    let negatives = negativesOf.get(label);
    if (negatives === undefined) {
      const list: number[] = [];
      matrix.refLabels.forEach((other, j) => {
        if (other !== label) list.push(j);
      });
      negatives = Int32Array.from(list);
      negativesOf.set(label, negatives);
    }
    return negatives;
  };
  /** Calls `emit` for every kept triplet, in order. */
  const scan = (emit: (a: number, p: number, j: number) => void): void => {
    for (let a = 0; a < n; a++) {
      const label = labels[a] as number;
      const positives = groups.get(label);
      if (positives === undefined) continue;
      const negatives = negativesFor(label);
      if (negatives.length === 0) continue;
      const row = a * m;
      for (const p of positives) {
        if (self && p === a) continue;
        const ap = values[row + p] as number;
        for (let k = 0; k < negatives.length; k++) {
          const j = negatives[k] as number;
          const an = values[row + j] as number;
          // The float32 difference of two float32 values, as torch computes it.
          const mu = Math.fround(isSimilarity ? ap - an : an - ap);
          if (mu > low && mu <= high) emit(a, p, j);
        }
      }
    }
  };
  let total = 0;
  scan(() => {
    total++;
  });
  if (total > limit) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'labels' passed to '${NAME}' yields ${total} triplets of type '${type}', more than the ${limit} one call returns; use a smaller batch, another type, or batchHardMiner (one triplet per anchor)`,
    );
  }
  const anchor = new Int32Array(total);
  const positive = new Int32Array(total);
  const negative = new Int32Array(total);
  let t = 0;
  scan((a, p, j) => {
    anchor[t] = a;
    positive[t] = p;
    negative[t++] = j;
  });
  return { anchor, positive, negative };
}

/**
 * The triplet-margin miner of pytorch-metric-learning (`TripletMarginMiner`), with the semi-hard
 * negatives of Schroff, Kalenichenko & Philbin 2015 ("FaceNet: A Unified Embedding for Face
 * Recognition and Clustering") as one of its types: over every triplet (a, p, n) of the batch
 * (`y_a = y_p`, `p ≠ a` without a reference, `y_n ≠ y_a`) it computes the triplet margin
 * `μ = d(a, n) − d(a, p)` (for a similarity `μ = s(a, p) − s(a, n)`) and keeps, by `type`: `'all'`
 * `μ ≤ margin`; `'hard'` `μ ≤ margin` and `μ ≤ 0`; `'semihard'` `μ ≤ margin` and `μ > 0`; `'easy'`
 * `μ > margin`. The output is in lexicographic (a, p, n) order, as PML's `torch.where` over its
 * `[n, m, m]` triplet mask. `μ` is formed in float32 and compared with the float32 `margin`, as PyTorch
 * does on float32 embeddings.
 *
 * With `ref` the positives and negatives are reference rows, a same-label reference row being a
 * positive even when it copies the anchor (PML's `ref_emb`). The `[n, m]` distance matrix and the
 * labels are read to the host and the candidate triplets are enumerated there without being stored
 * (`O(Σ_a P_a·N_a)` time for `P_a` positives and `N_a` negatives of anchor `a`, memory only for the
 * kept ones).
 *
 * @param options - margin, type and distance; see {@link TripletMarginMinerOptions}.
 * @returns a core `Miner` named `'tripletMarginMiner'`. Its `mine({ embeddings, labels, ref? })`
 *   takes `[n, d]` float32 embeddings, `[n]` int32 labels and an optional reference (`[m, d]`
 *   float32, `[m]` int32), all borrowed, and returns triplet tuples: `anchor`, `positive`,
 *   `negative`, `[t]` int32 each, owned by the caller; no gradient flows through them. No kept
 *   triplet (a single class, all labels distinct, a batch of one...) gives `[0]` tensors.
 * @throws `ContrastiveError` (from `@contrastive/core`) `INVALID_ARGUMENT` when `options` is not an
 *   object, `margin` is not a finite number, `type` is not one of the four, or `distance` is not a
 *   Distance; from `mine`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT` or
 *   `DISPOSED` naming the argument (`embeddings`, `labels`, `ref`, `ref.embeddings`, `ref.labels`);
 *   `NON_FINITE` naming `embeddings` or `ref.embeddings` when a distance is NaN or infinite,
 *   and `INVALID_ARGUMENT` naming `labels` when more than 2^25 triplets would be kept.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { lpDistance } from '@contrastive/core';
 * import { tripletMarginMiner } from '@contrastive/samplers';
 *
 * // points on a line: 0, 1 (class 0) and 1.1, 5 (class 1)
 * const embeddings = tf.tensor2d([[0], [1], [1.1], [5]]);
 * const labels = tf.tensor1d([0, 0, 1, 1], 'int32');
 * const miner = tripletMarginMiner({ margin: 0.5, type: 'semihard', distance: lpDistance({ normalize: false }) });
 * const tuples = miner.mine({ embeddings, labels });
 * // anchor [0, 3], positive [1, 2], negative [2, 1]
 * // (μ = 1.1 − 1 = 0.1 and μ = 4 − 3.9 = 0.1, both in (0, 0.5]; the other triplets are hard or easy)
 * ```
 * @category Miners
 */
export function tripletMarginMiner(options: TripletMarginMinerOptions = {}): Miner {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'options' passed to '${NAME}' must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
  const margin = options.margin ?? 0.2;
  assertNumber(margin, 'margin', NAME);
  const type = options.type ?? 'all';
  assertOneOf(type, TYPES, 'type', NAME);
  const distance = options.distance ?? lpDistance();
  assertDistance(distance, NAME);
  const kept = keptInterval(type, Math.fround(margin));

  return {
    name: NAME,
    mine(input: MinerInput): TripletTuples {
      const matrix = hostMatrix(distance, validateMinerInput(input, NAME));
      const { anchor, positive, negative } = marginTriplets(matrix, type, kept);
      return tripletTuples(anchor, positive, negative);
    },
  };
}
