import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, Rng, assertDistance, assertNumber, assertOneOf, cosineSimilarity } from '@contrastive/core';
import type { Distance, Miner, MinerInput, TripletTuples } from '@contrastive/core';
import { drawFromCumulative, hostMatrix, isNegative, isPositive, tripletTuples, validateMinerInput } from './internal/mining.js';
import type { HostMatrix } from './internal/mining.js';

/**
 * Options of {@link hardNegativeMiner} and {@link hardNegativeProbabilities}.
 * @category Hard negatives
 */
export interface HardNegativeOptions {
  /**
   * Concentration β ≥ 0: the sampling distribution is tilted by `exp(β·s/τ)`. β = 0 draws uniformly;
   * larger β draws the negatives closest to the anchor more often.
   * @defaultValue 1 (the paper's default)
   */
  readonly beta?: number;
  /** Temperature τ > 0 dividing the similarities, as in the loss the negatives feed. @defaultValue 0.5 (the official code's `--t`) */
  readonly temperature?: number;
  /**
   * Which columns may be drawn as a negative of anchor `i`: `'negatives'`, the columns whose label
   * differs from `labels[i]` (supervised: the labels are classes); `'all'`, every column except `i`
   * itself, its known positives included (self-supervised: the labels only mark the views of a
   * sample, so the true negatives are unknown; `tauPlus` down-weights the known positives).
   * @defaultValue `'negatives'`
   */
  readonly candidates?: 'negatives' | 'all';
  /**
   * Class prior τ+ ∈ [0, 1): the probability that a candidate is a positive. With `candidates:
   * 'all'` the draw follows the debiased tilted distribution `q⁻ = (q_β − τ+·q_β⁺) / (1 − τ+)`,
   * clipped at 0 and renormalised, where `q_β` is tilted over the candidates and `q_β⁺` over the
   * anchor's known positives (its other views). Must be 0 with `candidates: 'negatives'`, where no
   * candidate is a known positive and τ+ would have no effect.
   * @defaultValue 0
   */
  readonly tauPlus?: number;
  /** How embeddings are compared; a distance `d` is used as the similarity `−d`. @defaultValue `cosineSimilarity()` (the paper's normalised inner product) */
  readonly distance?: Distance;
}

/**
 * Options of {@link hardNegativeMiner}.
 * @category Hard negatives
 */
export interface HardNegativeMinerOptions extends HardNegativeOptions {
  /** Negatives drawn (with replacement, independently) for every positive pair, a positive integer. @defaultValue 1 */
  readonly negativesPerPositive?: number;
  /** Random stream of the draws, advanced by every `mine`. @defaultValue `new Rng(0)` */
  readonly rng?: Rng;
}

interface Settings {
  readonly beta: number;
  readonly temperature: number;
  readonly candidates: 'negatives' | 'all';
  readonly tauPlus: number;
  readonly distance: Distance;
}

function settings(options: HardNegativeOptions, fn: string): Settings {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const beta = options.beta ?? 1;
  assertNumber(beta, 'beta', fn, { min: 0 });
  const temperature = options.temperature ?? 0.5;
  assertNumber(temperature, 'temperature', fn, { min: 0, exclusiveMin: true });
  const candidates = options.candidates ?? 'negatives';
  assertOneOf(candidates, ['negatives', 'all'] as const, 'candidates', fn);
  const tauPlus = options.tauPlus ?? 0;
  assertNumber(tauPlus, 'tauPlus', fn, { min: 0, max: 1, exclusiveMax: true });
  if (candidates === 'negatives' && tauPlus !== 0) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'tauPlus' passed to '${fn}' must be 0 with candidates 'negatives' (no candidate is a known positive, so it would have no effect), got ${tauPlus}; use candidates 'all' to debias`,
    );
  }
  const distance = options.distance ?? cosineSimilarity();
  assertDistance(distance, fn, 'cosineSimilarity()');
  return { beta, temperature, candidates, tauPlus, distance };
}

/**
 * Row `i` of the sampling distribution, written into `out` (length m); returns false when the row
 * has no candidate with positive probability.
 */
function rowDistribution(matrix: HostMatrix, i: number, s: Settings, out: Float64Array): boolean {
  const { m, values, isSimilarity } = matrix;
  const scale = s.beta / s.temperature;
  const score = (j: number): number => scale * (isSimilarity ? (values[i * m + j] as number) : -(values[i * m + j] as number));
  const candidate = (j: number): boolean =>
    s.candidates === 'negatives' ? isNegative(matrix, i, j) : !(matrix.self && i === j);
  // q_β over the candidates and q_β⁺ over the positives, each with its own maximum subtracted so
  // that neither underflows when the other's scores dominate.
  let candidateShift = -Infinity;
  let positiveShift = -Infinity;
  for (let j = 0; j < m; j++) {
    if (candidate(j)) candidateShift = Math.max(candidateShift, score(j));
    if (isPositive(matrix, i, j)) positiveShift = Math.max(positiveShift, score(j));
  }
  if (candidateShift === -Infinity) return false;
  let candidateMass = 0;
  let positiveMass = 0;
  for (let j = 0; j < m; j++) {
    if (candidate(j)) candidateMass += Math.exp(score(j) - candidateShift);
    if (s.tauPlus > 0 && isPositive(matrix, i, j)) positiveMass += Math.exp(score(j) - positiveShift);
  }
  let total = 0;
  for (let j = 0; j < m; j++) {
    out[j] = 0;
    if (!candidate(j)) continue;
    let q = Math.exp(score(j) - candidateShift) / candidateMass;
    if (s.tauPlus > 0) {
      const qPlus = isPositive(matrix, i, j) ? Math.exp(score(j) - positiveShift) / positiveMass : 0;
      q = Math.max(0, (q - s.tauPlus * qPlus) / (1 - s.tauPlus));
    }
    out[j] = q;
    total += q;
  }
  if (!(total > 0)) return false;
  for (let j = 0; j < m; j++) out[j] = (out[j] as number) / total;
  return true;
}

/**
 * The hard-negative sampling distribution of Robinson et al. 2021 ("Contrastive Learning with Hard
 * Negative Samples"), for inspection: row `i` is the probability of drawing column `j` as a negative
 * of anchor `i`,
 *
 * `q_β(j) ∝ exp(β·s_ij/τ)` over the candidates `j` (see {@link HardNegativeOptions.candidates}), and
 * with τ+ > 0 the debiased `q⁻(j) ∝ max(0, q_β(j) − τ+·q_β⁺(j))`, `q_β⁺` the same tilt over the
 * anchor's known positives. Each row sums to 1, or is all 0 when the anchor has no candidate.
 *
 * The importance weights the hard-negative loss applies to its negatives are `N_i·q_β(j)` (the
 * `hardNegativeWeights` of `@contrastive/losses`); {@link hardNegativeMiner} draws from the same
 * distribution to hand any triplet or pair loss explicit hard negatives.
 *
 * @param input - `[n, d]` float32 embeddings, `[n]` int32 labels, optional reference `[m, d]`/`[m]`
 *   (borrowed).
 * @param options - β, τ, candidates, τ+ and the distance; see {@link HardNegativeOptions}.
 * @returns `[n, m]` float32 probabilities (`m = n` without `ref`), owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for a bad hyper-parameter or distance; naming
 *   `embeddings`, `labels` or `ref` for bad tensors; `NON_FINITE` naming `embeddings` or
 *   `ref.embeddings` when a distance is NaN or infinite.
 * @example
 * ```ts
 * const embeddings = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [-1, 0]]);
 * const labels = tf.tensor1d([0, 0, 1, 2], 'int32');
 * hardNegativeProbabilities({ embeddings, labels }, { beta: 1, temperature: 0.5 }).print();
 * // row 0: [0, 0, 0.8808, 0.1192] — the negative at 90° is drawn e² times as often as the one at 180°
 * ```
 * @category Hard negatives
 */
export function hardNegativeProbabilities(input: MinerInput, options: HardNegativeOptions = {}): tf.Tensor2D {
  const fn = 'hardNegativeProbabilities';
  const s = settings(options, fn);
  const matrix = hostMatrix(s.distance, validateMinerInput(input, fn));
  const out = new Float32Array(matrix.n * matrix.m);
  const row = new Float64Array(matrix.m);
  for (let i = 0; i < matrix.n; i++) {
    if (rowDistribution(matrix, i, s, row)) out.set(row, i * matrix.m);
  }
  return tf.tensor2d(out, [matrix.n, matrix.m], 'float32');
}

/**
 * A miner that draws hard negatives by importance sampling (Robinson et al. 2021, "Contrastive
 * Learning with Hard Negative Samples"): for every positive pair `(a, p)` of the batch (or of the
 * batch against `ref`), `negativesPerPositive` negatives are drawn with replacement from
 * {@link hardNegativeProbabilities} row `a`, giving triplets `(a, p, n)` for any triplet or pair
 * loss (`tripletMarginLoss`, `contrastiveLoss`, ...). Anchors without a candidate contribute no
 * triplet. The draws come from `rng`, which every call advances: the same seed gives the same
 * tuples. There is no pytorch-metric-learning equivalent; the paper applies the same distribution
 * inside its loss (`hardNegativeLoss` in `@contrastive/losses`).
 *
 * The distance matrix and labels are read to the host (mining is outside the gradient): `O(n·m)`
 * host work per call.
 *
 * @param options - β, τ, candidates, τ+, distance, `negativesPerPositive`, `rng`; see
 *   {@link HardNegativeMinerOptions}.
 * @returns a core `Miner` whose `mine` returns triplet tuples of `[t]` int32 indices, owned by the
 *   caller, in anchor-major order (anchor, then positive, then draw).
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for a bad option; from `mine`, naming the tensor
 *   (`NON_FINITE` naming `embeddings` or `ref.embeddings` when a distance is NaN or infinite).
 * @example
 * ```ts
 * const miner = hardNegativeMiner({ beta: 1, negativesPerPositive: 2, rng: new Rng(7) });
 * const tuples = miner.mine({ embeddings, labels });
 * const loss = tripletMarginLoss({ margin: 0.2 }).compute({ embeddings, labels, tuples });
 * ```
 * @category Hard negatives
 */
export function hardNegativeMiner(options: HardNegativeMinerOptions = {}): Miner {
  const fn = 'hardNegativeMiner';
  const s = settings(options, fn);
  const perPositive = options.negativesPerPositive ?? 1;
  assertNumber(perPositive, 'negativesPerPositive', fn, { integer: true, min: 1 });
  const rng = options.rng ?? new Rng(0);
  if (!(rng instanceof Rng)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'rng' passed to '${fn}' must be an Rng, got ${typeof rng}`);
  }
  return {
    name: fn,
    mine(input: MinerInput): TripletTuples {
      const matrix = hostMatrix(s.distance, validateMinerInput(input, fn));
      const { n, m } = matrix;
      const anchors: number[] = [];
      const positives: number[] = [];
      const negatives: number[] = [];
      const row = new Float64Array(m);
      const cumulative = new Float64Array(m);
      for (let i = 0; i < n; i++) {
        let hasPositive = false;
        for (let j = 0; j < m && !hasPositive; j++) hasPositive = isPositive(matrix, i, j);
        if (!hasPositive || !rowDistribution(matrix, i, s, row)) continue;
        let running = 0;
        for (let j = 0; j < m; j++) {
          running += row[j] as number;
          cumulative[j] = running;
        }
        let last = m - 1;
        while (last > 0 && row[last] === 0) last--;
        for (let p = 0; p < m; p++) {
          if (!isPositive(matrix, i, p)) continue;
          for (let k = 0; k < perPositive; k++) {
            anchors.push(i);
            positives.push(p);
            negatives.push(drawFromCumulative(cumulative, last, rng.uniform()));
          }
        }
      }
      return tripletTuples(anchors, positives, negatives);
    },
  };
}
