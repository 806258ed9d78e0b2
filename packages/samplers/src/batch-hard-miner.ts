import { ContrastiveError, assertDistance, assertOneOf, lpDistance, pickRowsNative } from '@contrastive/core';
import type { Distance, Miner, MinerInput, PairTuples, TripletTuples } from '@contrastive/core';
import { asDistance, checkedMatrix, hostCopy, isNegative, isPositive, labelGrid, pairTuples, tripletTuples, validateMinerInput } from './internal/mining.js';
import type { CheckedMinerInput, HostMatrix, LabelGrid } from './internal/mining.js';

/**
 * How {@link batchEasyHardMiner} picks the positive or the negative of each anchor.
 *
 * - `'easy'`: the easiest one — the closest positive, the farthest negative.
 * - `'hard'`: the hardest one — the farthest positive, the closest negative.
 * - `'semihard'`: the hardest one that still ranks correctly against the other side's pick: a
 *   negative farther than the chosen positive, or a positive closer than the chosen negative.
 * - `'all'`: no pick; every positive (or negative) pair is returned.
 *
 * @category Miners
 */
export type BatchEasyHardStrategy = 'easy' | 'semihard' | 'hard' | 'all';

const STRATEGIES: readonly BatchEasyHardStrategy[] = ['easy', 'semihard', 'hard', 'all'];

/**
 * Options of {@link batchHardMiner}.
 * @category Miners
 */
export interface BatchHardMinerOptions {
  /**
   * How embeddings are compared: a distance (`isSimilarity: false`; the hardest positive has the
   * largest distance) or a similarity (the hardest positive has the smallest similarity).
   * @defaultValue `lpDistance()`: Euclidean distance of L2-normalised rows (PML's default `LpDistance`)
   */
  readonly distance?: Distance;
}

/**
 * Options of {@link batchEasyHardMiner}.
 * @category Miners
 */
export interface BatchEasyHardMinerOptions {
  /**
   * How each anchor's positive is picked (see {@link BatchEasyHardStrategy}).
   * @defaultValue 'easy' (pytorch-metric-learning's `BatchEasyHardMiner`, Xuan et al. 2020)
   */
  readonly positiveStrategy?: BatchEasyHardStrategy;
  /**
   * How each anchor's negative is picked (see {@link BatchEasyHardStrategy}). `'semihard'` on both
   * sides, or `'semihard'` with `'all'`, is rejected (as PML does).
   * @defaultValue 'semihard' (pytorch-metric-learning's `BatchEasyHardMiner`)
   */
  readonly negativeStrategy?: BatchEasyHardStrategy;
  /**
   * Only positive pairs whose distance (or similarity) lies in `[low, high]` (inclusive, in the
   * distance's own units) may be picked. Ignored with `positiveStrategy: 'all'`, as in PML.
   * @defaultValue undefined (no restriction)
   */
  readonly allowedPositiveRange?: readonly [number, number];
  /**
   * Only negative pairs whose distance (or similarity) lies in `[low, high]` (inclusive) may be
   * picked. Ignored with `negativeStrategy: 'all'`, as in PML.
   * @defaultValue undefined (no restriction)
   */
  readonly allowedNegativeRange?: readonly [number, number];
  /**
   * How embeddings are compared: a distance (`isSimilarity: false`) or a similarity.
   * @defaultValue `lpDistance()`: Euclidean distance of L2-normalised rows (PML's default `LpDistance`)
   */
  readonly distance?: Distance;
}

/** Which pick of a row: the candidate with the largest or the smallest distance. */
type Extreme = 'largest' | 'smallest';

/** One pick per row of the matrix: the chosen column, its raw value, and whether a candidate existed. */
interface RowPicks {
  readonly index: Int32Array;
  /** Chosen value as a distance (`asDistance`: similarities negated). */
  readonly value: Float64Array;
  readonly found: Uint8Array;
}

/**
 * For each row `i`, among the positive (or negative) columns `j` — restricted to raw values in
 * `range` and, with `thresholds`, to values on the correct side of `thresholds[i]` (as distances:
 * below it when taking the largest, above it when taking the smallest, strictly, as PML's
 * `mat >= t` / `mat <= t` exclusions) — the column of the largest or smallest distance; ties go to
 * the first column (as `torch.max` / `torch.min` along a row).
 */
function pickPerRow(
  matrix: HostMatrix,
  side: 'positive' | 'negative',
  extreme: Extreme,
  range: readonly [number, number] | undefined,
  thresholds: Float64Array | undefined,
): RowPicks {
  const { n, m, values } = matrix;
  const index = new Int32Array(n);
  const value = new Float64Array(n);
  const found = new Uint8Array(n);
  const largest = extreme === 'largest';
  const low = range?.[0] ?? -Infinity;
  const high = range?.[1] ?? Infinity;
  for (let i = 0; i < n; i++) {
    const threshold = thresholds === undefined ? undefined : (thresholds[i] as number);
    let best = 0;
    let bestIndex = -1;
    for (let j = 0; j < m; j++) {
      if (side === 'positive' ? !isPositive(matrix, i, j) : !isNegative(matrix, i, j)) continue;
      const raw = values[i * m + j] as number;
      if (!(raw >= low && raw <= high)) continue;
      const distance = asDistance(matrix, i * m + j);
      if (threshold !== undefined && !(largest ? distance < threshold : distance > threshold)) continue;
      // The first candidate (NaN never is one), then strictly better ones: ties keep the first column.
      if (bestIndex < 0 ? !Number.isNaN(distance) : largest ? distance > best : distance < best) {
        best = distance;
        bestIndex = j;
      }
    }
    if (bestIndex >= 0) {
      index[i] = bestIndex;
      value[i] = best;
      found[i] = 1;
    }
  }
  return { index, value, found };
}

/** The matrix the picks scan, with who is a positive of whom. */
interface PickSource extends LabelGrid {
  pick(side: 'positive' | 'negative', extreme: Extreme, range: readonly [number, number] | undefined, thresholds: Float64Array | undefined): RowPicks;
}

/**
 * Run `mine` on the miner's matrix: on the wasm backend it stays on the heap and each pick is one
 * native pass there (`pickRowsNative`: the same candidates, order and ties as `pickPerRow`; only
 * `[n]` picks come back); elsewhere the matrix is read to the host and scanned by `pickPerRow`.
 */
function withPickSource<T>(distance: Distance, input: CheckedMinerInput, mine: (source: PickSource) => T): T {
  const { matrix, checked } = checkedMatrix(distance, input, true);
  try {
    if (!checked) return mine(hostSource(hostCopy(matrix, distance, input)));
    const grid = labelGrid(matrix, input.labels, input.ref);
    const colLabels = input.ref?.labels ?? input.labels;
    let host: PickSource | undefined;
    return mine({
      ...grid,
      pick(side, extreme, range, thresholds) {
        if (host === undefined) {
          const picks = pickRowsNative(matrix, input.labels, colLabels, {
            side,
            extreme,
            selfPairs: grid.self,
            isSimilarity: distance.isSimilarity,
            ...(range === undefined ? {} : { range }),
            ...(thresholds === undefined ? {} : { thresholds }),
          });
          if (picks !== null) {
            const found = Uint8Array.from(picks.index, (j) => (j >= 0 ? 1 : 0));
            return { index: picks.index.map((j) => Math.max(j, 0)), value: Float64Array.from(picks.value), found };
          }
          host = hostSource(hostCopy(matrix, distance, input));
        }
        return host.pick(side, extreme, range, thresholds);
      },
    });
  } finally {
    matrix.dispose();
  }
}

/** Picks by `pickPerRow` on a host copy of the matrix. */
function hostSource(matrix: HostMatrix): PickSource {
  return { ...matrix, pick: (side, extreme, range, thresholds) => pickPerRow(matrix, side, extreme, range, thresholds) };
}

/** The positive pick of a strategy: hard and semihard take the farthest, easy the closest. */
function positiveExtreme(strategy: Exclude<BatchEasyHardStrategy, 'all'>): Extreme {
  return strategy === 'easy' ? 'smallest' : 'largest';
}

/** The negative pick of a strategy: hard and semihard take the closest, easy the farthest. */
function negativeExtreme(strategy: Exclude<BatchEasyHardStrategy, 'all'>): Extreme {
  return strategy === 'easy' ? 'largest' : 'smallest';
}

/** Every positive (or negative) pair of `matrix`, row-major, as PML's `get_all_pairs_indices`. */
function allPairs(matrix: LabelGrid, side: 'positive' | 'negative'): { anchor: number[]; other: number[] } {
  const anchor: number[] = [];
  const other: number[] = [];
  for (let i = 0; i < matrix.n; i++) {
    for (let j = 0; j < matrix.m; j++) {
      if (side === 'positive' ? isPositive(matrix, i, j) : isNegative(matrix, i, j)) {
        anchor.push(i);
        other.push(j);
      }
    }
  }
  return { anchor, other };
}

/** The rows accepted by `keep`, with their picks. */
function keptRows(picks: RowPicks, keep: (i: number) => boolean): { anchor: number[]; other: number[] } {
  const anchor: number[] = [];
  const other: number[] = [];
  for (let i = 0; i < picks.index.length; i++) {
    if (keep(i)) {
      anchor.push(i);
      other.push(picks.index[i] as number);
    }
  }
  return { anchor, other };
}

interface EasyHardConfig {
  readonly positiveStrategy: BatchEasyHardStrategy;
  readonly negativeStrategy: BatchEasyHardStrategy;
  readonly positiveRange: readonly [number, number] | undefined;
  readonly negativeRange: readonly [number, number] | undefined;
}

/** PML's `BatchEasyHardMiner.mine` on a host matrix, as host index lists (a1, p, a2, n). */
function mineEasyHard(
  matrix: PickSource,
  config: EasyHardConfig,
): { anchorPos: number[]; positive: number[]; anchorNeg: number[]; negative: number[] } {
  const { positiveStrategy, negativeStrategy, positiveRange, negativeRange } = config;
  let positives: RowPicks | undefined;
  let negatives: RowPicks | undefined;
  if (positiveStrategy === 'semihard' && negativeStrategy !== 'all') {
    // The negative first; then the farthest positive still closer than it.
    negatives = matrix.pick('negative', negativeExtreme(negativeStrategy), negativeRange, undefined);
    positives = matrix.pick('positive', 'largest', positiveRange, negatives.value);
  } else if (negativeStrategy === 'semihard' && positiveStrategy !== 'all') {
    // The positive first; then the closest negative still farther than it.
    positives = matrix.pick('positive', positiveExtreme(positiveStrategy), positiveRange, undefined);
    negatives = matrix.pick('negative', 'smallest', negativeRange, positives.value);
  } else {
    if (positiveStrategy !== 'all' && positiveStrategy !== 'semihard') {
      positives = matrix.pick('positive', positiveExtreme(positiveStrategy), positiveRange, undefined);
    }
    if (negativeStrategy !== 'all' && negativeStrategy !== 'semihard') {
      negatives = matrix.pick('negative', negativeExtreme(negativeStrategy), negativeRange, undefined);
    }
  }
  if (positives !== undefined && negatives !== undefined) {
    const positiveFound = positives.found;
    const negativeFound = negatives.found;
    const kept = keptRows(positives, (i) => positiveFound[i] === 1 && negativeFound[i] === 1);
    const negativeIndex = negatives.index;
    const negativesOfKept = kept.anchor.map((i) => negativeIndex[i] as number);
    return { anchorPos: kept.anchor, positive: kept.other, anchorNeg: kept.anchor, negative: negativesOfKept };
  }
  const positivePairs = positives === undefined ? allPairs(matrix, 'positive') : keptRows(positives, (i) => positives.found[i] === 1);
  const negativePairs = negatives === undefined ? allPairs(matrix, 'negative') : keptRows(negatives, (i) => negatives.found[i] === 1);
  return { anchorPos: positivePairs.anchor, positive: positivePairs.other, anchorNeg: negativePairs.anchor, negative: negativePairs.other };
}

function assertOptionsObject(options: unknown, fn: string): void {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'options' passed to '${fn}' must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
}

function assertRange(range: unknown, argument: string, fn: string): asserts range is readonly [number, number] | undefined {
  if (range === undefined) return;
  const valid =
    Array.isArray(range) &&
    range.length === 2 &&
    range.every((bound) => typeof bound === 'number' && !Number.isNaN(bound)) &&
    (range[0] as number) <= (range[1] as number);
  if (!valid) {
    const received = Array.isArray(range) ? `[${range.map(String).join(', ')}]` : range === null ? 'null' : typeof range;
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be undefined or [low, high] with numbers low <= high, got ${received}`,
    );
  }
}

const HARD_NAME = 'batchHardMiner';
const EASY_HARD_NAME = 'batchEasyHardMiner';

/**
 * The batch-hard miner of Hermans, Beyer & Leibe 2017 ("In Defense of the Triplet Loss for Person
 * Re-Identification"), as pytorch-metric-learning's `BatchHardMiner`: for each anchor with at least
 * one positive and one negative, the triplet of its hardest positive (largest distance, or smallest
 * similarity; `j ≠ i` without a reference) and its hardest negative (smallest distance, or largest
 * similarity). Anchors without a positive or without a negative are skipped.
 *
 * With `ref` the batch rows are the anchors and the positives and negatives are reference rows; a
 * same-label reference row is a positive even when it is a copy of the anchor (PML's `ref_emb`).
 * Ties go to the first column, as `torch.max` / `torch.min`. Mining reads the `[n, m]` distance
 * matrix and the labels to the host and scans it there: on wasm this measured faster than masked
 * `argMax` / `argMin` on the device (n = m = 1024: the device version spent longer building the
 * masks than the host needs to read and scan the matrix). `O(n·m)` host work per call.
 *
 * Deviation from PML: PML multiplies the matrix by a 0/1 mask before its row maximum, so a row whose
 * candidates all have a value ≤ 0 (negative similarities, or zero distances) can return an excluded
 * column; here the extreme is always taken over the candidates only.
 *
 * @param options - the distance; see {@link BatchHardMinerOptions}.
 * @returns a core `Miner` named `'batchHardMiner'`. Its `mine({ embeddings, labels, ref? })` takes
 *   `[n, d]` float32 embeddings, `[n]` int32 labels and an optional reference (`[m, d]` float32,
 *   `[m]` int32), all borrowed, and returns triplet tuples: `anchor`, `positive`, `negative`, `[t]`
 *   int32 each (`t ≤ n`, anchors ascending), owned by the caller; no gradient flows through them. A
 *   batch with no usable anchor (one class, all labels distinct, a batch of one) gives `[0]` tensors.
 * @throws `ContrastiveError` (from `@contrastive/core`) `INVALID_ARGUMENT` when `options` is not an
 *   object or `distance` is not a Distance; from `mine`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`,
 *   `LABEL_COUNT`, `INVALID_ARGUMENT` or `DISPOSED` naming the argument (`embeddings`, `labels`,
 *   `ref`, `ref.embeddings`, `ref.labels`);
 *   `NON_FINITE` naming `embeddings` or `ref.embeddings` when a distance is NaN or infinite.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { lpDistance } from '@contrastive/core';
 * import { batchHardMiner } from '@contrastive/samplers';
 *
 * // points on a line: 0, 1, 3 (class 0) and 4, 6 (class 1)
 * const embeddings = tf.tensor2d([[0], [1], [3], [4], [6]]);
 * const labels = tf.tensor1d([0, 0, 0, 1, 1], 'int32');
 * const tuples = batchHardMiner({ distance: lpDistance({ normalize: false }) }).mine({ embeddings, labels });
 * // anchor   [0, 1, 2, 3, 4]
 * // positive [2, 2, 0, 4, 3]   (farthest same-label point)
 * // negative [3, 3, 3, 2, 2]   (closest other-label point)
 * ```
 * @category Miners
 */
export function batchHardMiner(options: BatchHardMinerOptions = {}): Miner {
  assertOptionsObject(options, HARD_NAME);
  const distance = options.distance ?? lpDistance();
  assertDistance(distance, HARD_NAME);
  const config: EasyHardConfig = {
    positiveStrategy: 'hard',
    negativeStrategy: 'hard',
    positiveRange: undefined,
    negativeRange: undefined,
  };
  return {
    name: HARD_NAME,
    mine(input: MinerInput): TripletTuples {
      const { anchorPos, positive, negative } = withPickSource(distance, validateMinerInput(input, HARD_NAME), (source) => mineEasyHard(source, config));
      return tripletTuples(anchorPos, positive, negative);
    },
  };
}

/**
 * The easy-positive miner of Xuan, Stylianou, Liu & Pless 2020 ("Improved Embeddings with Easy
 * Positive Triplet Mining"), generalised as pytorch-metric-learning's `BatchEasyHardMiner`: for each
 * anchor, one positive and one negative picked by a strategy each (`'easy'`, `'semihard'`, `'hard'`)
 * or every pair of that side (`'all'`). The defaults — the easiest (closest) positive and a
 * semi-hard negative — are the paper's EPSHN. `'semihard'` for the negative takes the closest
 * negative strictly farther than the picked positive (`d_an > d_ap`, or `s_an < s_ap`); for the
 * positive, the farthest positive strictly closer than the picked negative. `allowedPositiveRange` /
 * `allowedNegativeRange` restrict the candidates to values in `[low, high]` first. An anchor is kept
 * when both sides found a candidate. Ties go to the first column.
 *
 * The result is pair tuples, as PML returns `(a1, p, a2, n)`: with no `'all'` strategy, `anchorPos`
 * and `anchorNeg` are the same kept anchors (ascending), so each pair of entries forms one triplet —
 * `tripletMarginLoss` (from `@contrastive/losses`) combines them into exactly those triplets, and a
 * pair loss uses them as pairs; with `'all'` on a side, that side lists every positive (or negative)
 * pair row-major (anchor, then column), the other side one pick per anchor that found one.
 *
 * With `ref` the positives and negatives are reference rows, a same-label reference row being a
 * positive even when it copies the anchor (PML's `ref_emb`). The distance matrix and the labels are
 * read to the host: `O(n·m)` host work per call.
 *
 * Deviation from PML: PML multiplies by a 0/1 mask before a row maximum, so a row whose candidates
 * all have a value ≤ 0 (e.g. negative similarities) can return an excluded column, and its value then
 * becomes the semi-hard threshold; here the extreme is always taken over the candidates only.
 *
 * @param options - strategies, allowed ranges and distance; see {@link BatchEasyHardMinerOptions}.
 * @returns a core `Miner` named `'batchEasyHardMiner'`. Its `mine({ embeddings, labels, ref? })`
 *   takes `[n, d]` float32 embeddings, `[n]` int32 labels and an optional reference (`[m, d]`
 *   float32, `[m]` int32), all borrowed, and returns pair tuples (`anchorPos`/`positive` `[p]` int32,
 *   `anchorNeg`/`negative` `[q]` int32), owned by the caller; no gradient flows through them. Nothing
 *   to pick gives `[0]` tensors.
 * @throws `ContrastiveError` (from `@contrastive/core`) `INVALID_ARGUMENT` when `options` is not an
 *   object, a strategy is not one of the four, both strategies are `'semihard'`, `'semihard'` meets
 *   `'all'`, a range is not `[low, high]` with `low <= high`, or `distance` is not a Distance; from
 *   `mine`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `LABEL_COUNT`, `INVALID_ARGUMENT` or `DISPOSED`
 *   naming the argument (`embeddings`, `labels`, `ref`, `ref.embeddings`, `ref.labels`);
 *   `NON_FINITE` naming `embeddings` or `ref.embeddings` when a distance is NaN or infinite.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { lpDistance } from '@contrastive/core';
 * import { batchEasyHardMiner } from '@contrastive/samplers';
 *
 * // points on a line: 0, 1, 3 (class 0) and 4, 6 (class 1)
 * const embeddings = tf.tensor2d([[0], [1], [3], [4], [6]]);
 * const labels = tf.tensor1d([0, 0, 0, 1, 1], 'int32');
 * const miner = batchEasyHardMiner({ distance: lpDistance({ normalize: false }) });
 * const tuples = miner.mine({ embeddings, labels });
 * // anchorPos [0, 1, 2, 3, 4], positive [1, 0, 1, 4, 3]   (closest same-label point)
 * // anchorNeg [0, 1, 2, 3, 4], negative [3, 3, 4, 1, 2]   (closest other-label point farther than it)
 * ```
 * @category Miners
 */
export function batchEasyHardMiner(options: BatchEasyHardMinerOptions = {}): Miner {
  assertOptionsObject(options, EASY_HARD_NAME);
  const positiveStrategy = options.positiveStrategy ?? 'easy';
  const negativeStrategy = options.negativeStrategy ?? 'semihard';
  assertOneOf(positiveStrategy, STRATEGIES, 'positiveStrategy', EASY_HARD_NAME);
  assertOneOf(negativeStrategy, STRATEGIES, 'negativeStrategy', EASY_HARD_NAME);
  if (positiveStrategy === 'semihard' && negativeStrategy === 'semihard') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Arguments 'positiveStrategy' and 'negativeStrategy' passed to '${EASY_HARD_NAME}' cannot both be 'semihard'`,
    );
  }
  if ((positiveStrategy === 'semihard' && negativeStrategy === 'all') || (positiveStrategy === 'all' && negativeStrategy === 'semihard')) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Arguments 'positiveStrategy' and 'negativeStrategy' passed to '${EASY_HARD_NAME}' cannot combine 'semihard' with 'all', got '${positiveStrategy}' and '${negativeStrategy}'`,
    );
  }
  assertRange(options.allowedPositiveRange, 'allowedPositiveRange', EASY_HARD_NAME);
  assertRange(options.allowedNegativeRange, 'allowedNegativeRange', EASY_HARD_NAME);
  const distance = options.distance ?? lpDistance();
  assertDistance(distance, EASY_HARD_NAME);
  // Copies: a later change to the caller's arrays does not change the miner.
  const copy = (range: readonly [number, number] | undefined): readonly [number, number] | undefined =>
    range === undefined ? undefined : [range[0], range[1]];
  const config: EasyHardConfig = {
    positiveStrategy,
    negativeStrategy,
    positiveRange: copy(options.allowedPositiveRange),
    negativeRange: copy(options.allowedNegativeRange),
  };
  return {
    name: EASY_HARD_NAME,
    mine(input: MinerInput): PairTuples {
      const { anchorPos, positive, anchorNeg, negative } = withPickSource(distance, validateMinerInput(input, EASY_HARD_NAME), (source) =>
        mineEasyHard(source, config),
      );
      return pairTuples(anchorPos, positive, anchorNeg, negative);
    },
  };
}
