import * as tf from '@tensorflow/tfjs-core';
import {
  ContrastiveError,
  assertEmbeddings,
  assertLabels,
  assertNumber,
  assertOneOf,
  l2Normalize,
  type Embeddings,
  type Labels,
} from '@contrastive/core';
import { jacobiEigen } from './eigen.js';
import { assertFiniteTensor } from './split.js';

/** Elements of one `[chunkRows, n]` block (16 MB of float32), as in `knn.ts`. */
const DEFAULT_CHUNK_ELEMENTS = 2 ** 22;

/**
 * Largest `min(n, d)` accepted by the Jacobi eigen solver of {@link rankMe} and
 * {@link effectiveRank} (1024).
 * @category Health
 */
export const MAX_RANK_DIMENSION = 1024;

function assertOptions(options: unknown, fn: string): void {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object, got ${String(options)}`);
  }
}

function assertMinRows(x: Embeddings, minimum: number, argument: string, fn: string, why: string): void {
  if (x.shape[0] < minimum) {
    throw new ContrastiveError('SHAPE_MISMATCH', `Argument '${argument}' passed to '${fn}' must have at least ${minimum} rows (${why}), got ${x.shape[0]}`);
  }
}

function resolveChunkRows(chunkSize: number | undefined, columns: number, fn: string): number {
  if (chunkSize !== undefined) {
    assertNumber(chunkSize, 'chunkSize', fn, { integer: true, min: 1 });
    return chunkSize;
  }
  return Math.max(1, Math.floor(DEFAULT_CHUNK_ELEMENTS / Math.max(1, columns)));
}

/**
 * Read `x` (optionally L2-normalised on the device) back to the host `chunkRows` rows at a time.
 */
async function forEachRowChunk(
  x: Embeddings,
  chunkRows: number,
  normalize: boolean,
  onChunk: (values: Float32Array, start: number, rows: number) => void,
): Promise<void> {
  const [n, d] = x.shape;
  for (let start = 0; start < n; start += chunkRows) {
    const rows = Math.min(chunkRows, n - start);
    const chunk = tf.tidy(() => {
      const part = tf.slice(x, [start, 0], [rows, d]);
      return normalize ? l2Normalize(part) : part;
    });
    try {
      onChunk((await chunk.data()) as Float32Array, start, rows);
    } finally {
      chunk.dispose();
    }
  }
}

/**
 * Options of {@link alignment}.
 * @category Health
 */
export interface AlignmentOptions {
  /** Exponent `α > 0` of the distance. @defaultValue 2 */
  readonly alpha?: number;
}

/**
 * Alignment of positive pairs — Wang & Isola 2020, "Understanding Contrastive Representation
 * Learning through Alignment and Uniformity on the Hypersphere", `L_align = E ||f(x) − f(y)||^α`
 * over positive pairs, with `f` the L2-normalised embedding (their reference code:
 * `(x - y).norm(p=2, dim=1).pow(alpha).mean()` after `F.normalize`). Lower is better; 0 when both
 * views coincide, at most `2^α`.
 *
 * Row `i` of `x` and row `i` of `y` are the two views of sample `i`. Zero rows stay zero after
 * normalisation (as `F.normalize`). The per-row squared distances are computed on the device
 * (`O(n·d)`, no pairwise matrix) and averaged on the host in float64.
 *
 * @param x - `[n, d]` float32 first views, finite. Borrowed.
 * @param y - `[n, d]` float32 second views, finite. Borrowed.
 * @param options - `alpha`.
 * @returns the alignment, a plain number.
 * @throws `ContrastiveError` (from `@contrastive/core`) `SHAPE_MISMATCH` (shapes differ, empty),
 *   `DTYPE_MISMATCH`, `NON_FINITE`, `INVALID_ARGUMENT` (`alpha <= 0`).
 * @example
 * ```ts
 * const x = tf.tensor2d([[1, 0], [0, 1]]);
 * const y = tf.tensor2d([[0, 1], [0, 2]]);
 * console.log(await alignment(x, y)); // 1  (mean of 2 and 0)
 * ```
 * @category Health
 */
export async function alignment(x: Embeddings, y: Embeddings, options: AlignmentOptions = {}): Promise<number> {
  const fn = 'alignment';
  assertOptions(options, fn);
  assertEmbeddings(x, 'x', fn);
  assertEmbeddings(y, 'y', fn);
  if (x.shape[0] !== y.shape[0] || x.shape[1] !== y.shape[1]) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'y' passed to '${fn}' must have the shape of 'x' [${x.shape.join(', ')}] (row i of x and y are a positive pair), got [${y.shape.join(', ')}]`,
    );
  }
  const alpha = options.alpha ?? 2;
  assertNumber(alpha, 'alpha', fn, { min: 0, exclusiveMin: true });
  await assertFiniteTensor(x, 'x', fn);
  await assertFiniteTensor(y, 'y', fn);
  const squared = tf.tidy(() => tf.sum(tf.square(tf.sub(l2Normalize(x), l2Normalize(y))), 1));
  try {
    const values = await squared.data();
    let total = 0;
    for (let i = 0; i < values.length; i++) total += Math.max(values[i] as number, 0) ** (alpha / 2);
    return total / values.length;
  } finally {
    squared.dispose();
  }
}

/**
 * Options of {@link uniformity}.
 * @category Health
 */
export interface UniformityOptions {
  /** Temperature `t > 0` of the Gaussian potential. @defaultValue 2 */
  readonly t?: number;
  /**
   * Rows per `[chunkSize, n]` similarity block. @defaultValue `max(1, floor(2^22 / n))`
   */
  readonly chunkSize?: number;
}

/**
 * Uniformity — Wang & Isola 2020, `L_uniform = log E_{i<j} exp(−t ||f(x_i) − f(x_j)||²)` over all
 * pairs of distinct rows, with `f` the L2-normalised embedding (their code:
 * `torch.pdist(x).pow(2).mul(-t).exp().mean().log()`). Lower is more uniform; 0 for collapsed
 * embeddings; for points spread uniformly on the circle it tends to `log(e^{−2t} I₀(2t))`.
 *
 * Computed in chunks: a `[chunkSize, n]` block of squared distances at a time on the device (one
 * plain `matMul` against the pre-transposed normalised rows), reduced per row to a max and a sum of
 * `exp(v − max)` over `j > i`, and combined on the host by a float64 log-sum-exp, so the full
 * `[n, n]` matrix never exists and large `t` does not underflow. Time `O(n²·d)`: subsample
 * for large `n`.
 *
 * @param x - `[n, d]` float32, finite, `n >= 2`. Borrowed.
 * @param options - `t`, `chunkSize`.
 * @returns the uniformity, a plain number `<= 0`.
 * @throws `ContrastiveError` (from `@contrastive/core`) `SHAPE_MISMATCH` (`n < 2`), `DTYPE_MISMATCH`,
 *   `NON_FINITE`, `INVALID_ARGUMENT` (`t <= 0`, a bad `chunkSize`).
 * @example
 * ```ts
 * const x = tf.tensor2d([[1, 0], [-1, 0]]);
 * console.log(await uniformity(x)); // -8  (one pair at squared distance 4, t = 2)
 * ```
 * @category Health
 */
export async function uniformity(x: Embeddings, options: UniformityOptions = {}): Promise<number> {
  const fn = 'uniformity';
  assertOptions(options, fn);
  assertEmbeddings(x, 'x', fn);
  assertMinRows(x, 2, 'x', fn, 'uniformity averages over pairs of rows');
  const t = options.t ?? 2;
  assertNumber(t, 't', fn, { min: 0, exclusiveMin: true });
  const [n, d] = x.shape;
  const chunkRows = resolveChunkRows(options.chunkSize, n, fn);
  await assertFiniteTensor(x, 'x', fn);
  const [normalized, transposed, squaredNorms] = tf.tidy(() => {
    const unit = l2Normalize(x);
    return [unit, tf.transpose(unit), tf.reshape(tf.sum(tf.square(unit), 1), [1, n])] as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
  });
  const columns = tf.tidy(() => tf.reshape(tf.range(0, n, 1, 'int32'), [1, n]));
  let best = -Infinity;
  const rowMaxima: number[] = [];
  const rowSums: number[] = [];
  try {
    // Row n − 1 has no j > i.
    for (let start = 0; start < n - 1; start += chunkRows) {
      const rows = Math.min(chunkRows, n - 1 - start);
      const reduced = tf.tidy(() => {
        const part = tf.slice(normalized, [start, 0], [rows, d]);
        const partNorms = tf.sum(tf.square(part), 1, true);
        const squared = tf.relu(tf.sub(tf.add(partNorms, squaredNorms), tf.mul(tf.matMul(part, transposed), 2)));
        const rowIndex = tf.reshape(tf.range(start, start + rows, 1, 'int32'), [rows, 1]);
        const above = tf.greater(columns, rowIndex);
        const logits = tf.where(above, tf.mul(squared, -t), tf.fill([rows, n], -Infinity));
        const maxima = tf.max(logits, 1, true);
        const sums = tf.sum(tf.exp(tf.sub(logits, maxima)), 1);
        return [tf.reshape(maxima, [rows]), sums] as [tf.Tensor1D, tf.Tensor1D];
      });
      try {
        const [maxima, sums] = await Promise.all([reduced[0].data(), reduced[1].data()]);
        for (let r = 0; r < rows; r++) {
          const maximum = maxima[r] as number;
          rowMaxima.push(maximum);
          rowSums.push(sums[r] as number);
          if (maximum > best) best = maximum;
        }
      } finally {
        tf.dispose(reduced);
      }
    }
  } finally {
    tf.dispose([normalized, transposed, squaredNorms, columns]);
  }
  let total = 0;
  for (let i = 0; i < rowMaxima.length; i++) total += (rowSums[i] as number) * Math.exp((rowMaxima[i] as number) - best);
  const pairs = (n * (n - 1)) / 2;
  return best + Math.log(total) - Math.log(pairs);
}

/**
 * Eigenvalues of a symmetric `[m, m]` float64 matrix (row-major, overwritten), in descending order:
 * the shared Jacobi solver of `eigen.ts` without eigenvectors.
 * @internal
 */
export function symmetricEigenvalues(matrix: Float64Array, m: number): Float64Array {
  return jacobiEigen(matrix, m, false).values;
}

/**
 * Options of {@link rankMe} and {@link effectiveRank}.
 * @category Health
 */
export interface RankMeOptions {
  /** `ε` added to every normalised singular value (RankMe's 1e-7; {@link effectiveRank}: 0). @defaultValue 1e-7 */
  readonly epsilon?: number;
  /** L2-normalise the rows first (RankMe uses the raw embeddings). @defaultValue false */
  readonly normalize?: boolean;
  /** Rows read back per chunk while the Gram matrix is accumulated. @defaultValue `max(1, floor(2^22 / d))` */
  readonly chunkSize?: number;
}

/** Singular values of `x` (`min(n, d)` of them, descending) from the Gram matrix, in float64. */
async function singularValues(x: Embeddings, normalize: boolean, chunkRows: number, fn: string): Promise<Float64Array> {
  const [n, d] = x.shape;
  const m = Math.min(n, d);
  if (m > MAX_RANK_DIMENSION) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'x' passed to '${fn}' must have min(n, d) <= ${MAX_RANK_DIMENSION} (the Jacobi eigen solver is O(m^3)), got shape [${n}, ${d}]; project or subsample first`,
    );
  }
  const gram = new Float64Array(m * m);
  if (d <= n) {
    // XᵀX accumulated over row chunks, upper triangle, in float64.
    const row = new Float64Array(d);
    await forEachRowChunk(x, chunkRows, normalize, (values, _start, rows) => {
      for (let r = 0; r < rows; r++) {
        for (let a = 0; a < d; a++) row[a] = values[r * d + a] as number;
        for (let a = 0; a < d; a++) {
          const value = row[a] as number;
          if (value === 0) continue;
          const offset = a * d;
          for (let b = a; b < d; b++) gram[offset + b] = (gram[offset + b] as number) + value * (row[b] as number);
        }
      }
    });
  } else {
    // n < d: X Xᵀ has the same non-zero eigenvalues and is smaller.
    const all = new Float32Array(n * d);
    await forEachRowChunk(x, chunkRows, normalize, (values, start) => all.set(values, start * d));
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        let sum = 0;
        for (let t = 0; t < d; t++) sum += (all[i * d + t] as number) * (all[j * d + t] as number);
        gram[i * n + j] = sum;
      }
    }
  }
  for (let a = 0; a < m; a++) for (let b = a + 1; b < m; b++) gram[b * m + a] = gram[a * m + b] as number;
  const eigenvalues = symmetricEigenvalues(gram, m);
  return eigenvalues.map((value) => Math.sqrt(Math.max(value, 0)));
}

async function rankFromSpectrum(x: Embeddings, options: RankMeOptions, defaultEpsilon: number, fn: string): Promise<number> {
  assertOptions(options, fn);
  assertEmbeddings(x, 'x', fn);
  const epsilon = options.epsilon ?? defaultEpsilon;
  assertNumber(epsilon, 'epsilon', fn, { min: 0 });
  const normalize = options.normalize ?? false;
  assertOneOf(normalize, [true, false] as const, 'normalize', fn);
  const chunkRows = resolveChunkRows(options.chunkSize, x.shape[1], fn);
  await assertFiniteTensor(x, 'x', fn);
  const sigma = await singularValues(x, normalize, chunkRows, fn);
  let sum = 0;
  for (const value of sigma) sum += value;
  if (sum === 0) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'x' passed to '${fn}' must not be all zeros (its singular values sum to 0)`);
  }
  let entropy = 0;
  for (const value of sigma) {
    const p = value / sum + epsilon;
    if (p > 0) entropy -= p * Math.log(p);
  }
  return Math.exp(entropy);
}

/**
 * RankMe — Garrido, Balestriero, Najman & LeCun 2023, "RankMe: Assessing the Downstream Performance
 * of Pretrained Self-Supervised Representations by Their Rank": `exp(−Σ_k p_k log p_k)` with
 * `p_k = σ_k / Σ_j σ_j + ε` over the `min(n, d)` singular values of the embedding matrix. A smooth
 * rank in `[1, min(n, d)]` (up to `ε`): about 1 for collapsed embeddings, `d` for orthonormal
 * directions of equal energy.
 *
 * The singular values are the square roots of the eigenvalues of the Gram matrix `XᵀX`
 * (`[d, d]`, or `X Xᵀ` when `n < d`), accumulated on the host in float64 over row chunks and
 * diagonalised by a cyclic Jacobi solver in float64. Limits: `min(n, d) <= 1024`
 * ({@link MAX_RANK_DIMENSION}); measured on wasm: 0.3 s for `5,000 x 128`, 6.6 s for `600 x 512`
 * (the Jacobi sweeps dominate, `O(m³)` each);
 * accumulating the Gram costs `O(n·d²)` on the host. Squaring in the Gram matrix resolves
 * singular values down to about `1e-8` of the largest.
 *
 * @param x - `[n, d]` float32, finite, not all zero. Borrowed.
 * @param options - `epsilon`, `normalize`, `chunkSize`.
 * @returns the RankMe score, a plain number.
 * @throws `ContrastiveError` (from `@contrastive/core`) `INVALID_ARGUMENT` (`min(n, d) > 1024`, all
 *   zeros, `epsilon < 0`), `NON_FINITE`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`.
 * @example
 * ```ts
 * const x = tf.tensor2d([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
 * console.log(await rankMe(x)); // 3.0000000887... (3 up to epsilon)
 * ```
 * @category Health
 */
export async function rankMe(x: Embeddings, options: RankMeOptions = {}): Promise<number> {
  return rankFromSpectrum(x, options, 1e-7, 'rankMe');
}

/**
 * Effective rank — Roy & Vetterli 2007, "The effective rank: a measure of effective
 * dimensionality": {@link rankMe} with `ε = 0`, i.e. `exp` of the Shannon entropy of the singular
 * values normalised to sum 1. Same solver and limits as {@link rankMe}.
 *
 * @param x - `[n, d]` float32, finite, not all zero. Borrowed.
 * @param options - `normalize`, `chunkSize` (and `epsilon`, default 0).
 * @returns the effective rank in `[1, min(n, d)]`, a plain number.
 * @throws the errors of {@link rankMe}.
 * @example
 * ```ts
 * const x = tf.tensor2d([[2, 0], [0, 2], [0, 0]]);
 * console.log(await effectiveRank(x)); // 2
 * ```
 * @category Health
 */
export async function effectiveRank(x: Embeddings, options: RankMeOptions = {}): Promise<number> {
  return rankFromSpectrum(x, options, 0, 'effectiveRank');
}

/**
 * Options of {@link embeddingStd}.
 * @category Health
 */
export interface EmbeddingStdOptions {
  /** Rows read back per chunk. @defaultValue `max(1, floor(2^22 / d))` */
  readonly chunkSize?: number;
}

/**
 * Collapse indicator of SimSiam — Chen & He 2021, "Exploring Simple Siamese Representation
 * Learning", section 4.1: the standard deviation over samples of each channel of the L2-normalised
 * embeddings `z / ||z||`, averaged over channels. About `1/√d` for embeddings spread over the
 * sphere, 0 when they collapse to one point.
 *
 * The std is the unbiased one (`n − 1`, `torch.std`'s default); per-channel means and variances
 * are accumulated on the host in float64 (Welford) over row chunks normalised on the device. Zero
 * rows stay zero after normalisation.
 *
 * @param x - `[n, d]` float32, finite, `n >= 2`. Borrowed.
 * @param options - `chunkSize`.
 * @returns the mean per-channel std, a plain number in `[0, 1]`.
 * @throws `ContrastiveError` (from `@contrastive/core`) `SHAPE_MISMATCH` (`n < 2`), `DTYPE_MISMATCH`,
 *   `NON_FINITE`, `INVALID_ARGUMENT` (a bad `chunkSize`).
 * @example
 * ```ts
 * const x = tf.tensor2d([[3, 0], [3, 0], [5, 0]]);
 * console.log(await embeddingStd(x)); // 0  (collapsed: every row normalises to [1, 0])
 * ```
 * @category Health
 */
export async function embeddingStd(x: Embeddings, options: EmbeddingStdOptions = {}): Promise<number> {
  const fn = 'embeddingStd';
  assertOptions(options, fn);
  assertEmbeddings(x, 'x', fn);
  assertMinRows(x, 2, 'x', fn, 'a standard deviation needs two samples');
  const [n, d] = x.shape;
  const chunkRows = resolveChunkRows(options.chunkSize, d, fn);
  await assertFiniteTensor(x, 'x', fn);
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  let count = 0;
  await forEachRowChunk(x, chunkRows, true, (values, _start, rows) => {
    for (let r = 0; r < rows; r++) {
      count++;
      for (let t = 0; t < d; t++) {
        const value = values[r * d + t] as number;
        const delta = value - (mean[t] as number);
        mean[t] = (mean[t] as number) + delta / count;
        m2[t] = (m2[t] as number) + delta * (value - (mean[t] as number));
      }
    }
  });
  let total = 0;
  for (let t = 0; t < d; t++) total += Math.sqrt(Math.max(m2[t] as number, 0) / (n - 1));
  return total / d;
}

/**
 * Options of {@link pairDistanceStats}.
 * @category Health
 */
export interface PairDistanceStatsOptions {
  /** L2-normalise the rows first, so distances lie in `[0, 2]`. @defaultValue true */
  readonly normalize?: boolean;
  /** Quantile levels in `[0, 1]`. @defaultValue [0.05, 0.25, 0.5, 0.75, 0.95] */
  readonly quantiles?: readonly number[];
  /** Rows per `[chunkSize, n]` distance block. @defaultValue `max(1, floor(2^22 / n))` */
  readonly chunkSize?: number;
  /**
   * Most pairs (`n(n−1)/2`) for which the quantiles are exact (every distance is kept on the host,
   * 8 bytes each); above it they come from a 65,536-bin histogram over `[0, 2·max ||x_i||]`, exact to
   * within one bin width. @defaultValue 2^22
   */
  readonly exactQuantilePairs?: number;
}

/**
 * Summary of a set of pair distances.
 * @category Health
 */
export interface DistanceSummary {
  /** Number of pairs. */
  readonly count: number;
  /** Mean distance. */
  readonly mean: number;
  /** Population standard deviation (`ddof = 0`, numpy's default). */
  readonly std: number;
  /** Smallest distance. */
  readonly min: number;
  /** Largest distance. */
  readonly max: number;
  /** Distances at the requested levels (numpy's default linear interpolation), in their order. */
  readonly quantiles: readonly number[];
}

/**
 * Result of {@link pairDistanceStats}.
 * @category Health
 */
export interface PairDistanceStats {
  /** Pairs `i < j` with equal labels; `null` when there is none. */
  readonly positive: DistanceSummary | null;
  /** Pairs `i < j` with different labels; `null` when there is none. */
  readonly negative: DistanceSummary | null;
  /** The quantile levels used. */
  readonly levels: readonly number[];
  /** Whether the quantiles are exact (else histogram-based). */
  readonly exactQuantiles: boolean;
}

const HISTOGRAM_BINS = 65536;

/**
 * Largest row norm `pairDistanceStats` accepts with `normalize: false`: a squared distance,
 * up to `(2 max ||x_i||)²`, must stay below float32's largest value (about 3.4e38).
 * @internal
 */
const MAX_PAIR_DISTANCE_NORM = Math.sqrt(3.4e38) / 2;

class DistanceAccumulator {
  count = 0;
  mean = 0;
  m2 = 0;
  min = Infinity;
  max = -Infinity;
  readonly values: number[] | undefined;
  readonly histogram: Float64Array | undefined;

  constructor(
    exact: boolean,
    private readonly range: number,
  ) {
    this.values = exact ? [] : undefined;
    this.histogram = exact ? undefined : new Float64Array(HISTOGRAM_BINS);
  }

  add(value: number): void {
    this.count++;
    const delta = value - this.mean;
    this.mean += delta / this.count;
    this.m2 += delta * (value - this.mean);
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (this.values !== undefined) this.values.push(value);
    else {
      const histogram = this.histogram as Float64Array;
      const bin = Math.min(HISTOGRAM_BINS - 1, Math.floor((value / this.range) * HISTOGRAM_BINS));
      histogram[bin] = (histogram[bin] as number) + 1;
    }
  }

  /** The value of order statistic `k` (0-based). */
  private orderStatistic(k: number, sorted: Float64Array | undefined): number {
    if (sorted !== undefined) return sorted[k] as number;
    const histogram = this.histogram as Float64Array;
    const width = this.range / HISTOGRAM_BINS;
    let before = 0;
    for (let bin = 0; bin < HISTOGRAM_BINS; bin++) {
      const inBin = histogram[bin] as number;
      if (before + inBin > k) {
        const estimate = (bin + (k - before + 0.5) / inBin) * width;
        return Math.min(this.max, Math.max(this.min, estimate));
      }
      before += inBin;
    }
    return this.max;
  }

  summary(levels: readonly number[]): DistanceSummary | null {
    if (this.count === 0) return null;
    const sorted = this.values === undefined ? undefined : Float64Array.from(this.values).sort();
    const quantiles = levels.map((level) => {
      const position = (this.count - 1) * level;
      const low = Math.floor(position);
      const high = Math.min(low + 1, this.count - 1);
      const a = this.orderStatistic(low, sorted);
      const b = high === low ? a : this.orderStatistic(high, sorted);
      return a + (b - a) * (position - low);
    });
    return { count: this.count, mean: this.mean, std: Math.sqrt(Math.max(this.m2, 0) / this.count), min: this.min, max: this.max, quantiles };
  }
}

/**
 * Statistics of the Euclidean distances of positive (same label) and negative (different label)
 * pairs `i < j` — the distance histograms metric-learning papers plot (e.g. Wu et al. 2017,
 * "Sampling Matters in Deep Embedding Learning", figure 2) and TF Similarity's distance
 * diagnostics: count, mean, std, min, max and quantiles of each group. A well-separated embedding
 * has positive distances well below negative ones; collapse shows as both near 0.
 *
 * Distances are computed on the device in float32 a `[chunkSize, n]` block at a time
 * (`sqrt(max(0, ||a||² + ||b||² − 2a·b))`), read back and accumulated on the host in float64
 * (Welford). Time `O(n²·d)`; memory: one block, plus every distance when the quantiles are exact
 * (up to `exactQuantilePairs` pairs), else a fixed histogram.
 *
 * @param x - `[n, d]` float32, finite, `n >= 2`. Borrowed.
 * @param labels - `[n]` int32. Borrowed.
 * @param options - `normalize`, `quantiles`, `chunkSize`, `exactQuantilePairs`.
 * @returns the two summaries (plain JS values), `null` for a group with no pair.
 * @throws `ContrastiveError` (from `@contrastive/core`) `SHAPE_MISMATCH` (`n < 2`), `LABEL_COUNT`,
 *   `DTYPE_MISMATCH`, `NON_FINITE` (NaN / Infinity in `x`, or with `normalize: false` a row norm
 *   above about 9.2e18, where float32 squared distances overflow),
 *   `INVALID_ARGUMENT` (a quantile level outside `[0, 1]`, a bad `chunkSize` or
 *   `exactQuantilePairs`).
 * @example
 * ```ts
 * const x = tf.tensor2d([[1, 0], [1, 0], [0, 1]]);
 * const stats = await pairDistanceStats(x, tf.tensor1d([0, 0, 1], 'int32'), { quantiles: [0.5] });
 * console.log(stats.positive?.mean, stats.negative?.mean); // 0 1.414...
 * ```
 * @category Health
 */
export async function pairDistanceStats(x: Embeddings, labels: Labels, options: PairDistanceStatsOptions = {}): Promise<PairDistanceStats> {
  const fn = 'pairDistanceStats';
  assertOptions(options, fn);
  assertEmbeddings(x, 'x', fn);
  assertMinRows(x, 2, 'x', fn, 'statistics over pairs of rows');
  const [n, d] = x.shape;
  assertLabels(labels, n, 'labels', fn);
  const normalize = options.normalize ?? true;
  assertOneOf(normalize, [true, false] as const, 'normalize', fn);
  const levels = options.quantiles ?? [0.05, 0.25, 0.5, 0.75, 0.95];
  if (!Array.isArray(levels)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'quantiles' passed to '${fn}' must be an array of levels in [0, 1], got ${typeof levels}`);
  }
  levels.forEach((level, index) => assertNumber(level, `quantiles[${index}]`, fn, { min: 0, max: 1 }));
  const chunkRows = resolveChunkRows(options.chunkSize, n, fn);
  const exactLimit = options.exactQuantilePairs ?? 2 ** 22;
  assertNumber(exactLimit, 'exactQuantilePairs', fn, { integer: true, min: 0 });
  await assertFiniteTensor(x, 'x', fn);
  const labelValues = (await labels.data()) as Int32Array;
  const exact = (n * (n - 1)) / 2 <= exactLimit;

  const [points, transposed, squaredNorms, maxNorm] = tf.tidy(() => {
    const rows = normalize ? l2Normalize(x) : x;
    const norms = tf.sum(tf.square(rows), 1);
    return [tf.clone(rows), tf.transpose(rows), tf.reshape(norms, [1, n]), tf.sqrt(tf.max(norms))] as [
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Scalar,
    ];
  });
  try {
    const largest = (await maxNorm.data())[0] as number;
    if (!(largest <= MAX_PAIR_DISTANCE_NORM)) {
      throw new ContrastiveError(
        'NON_FINITE',
        `Argument 'x' passed to '${fn}' must have row norms <= ${MAX_PAIR_DISTANCE_NORM.toExponential(3)} with normalize: false (float32 squared distances would overflow), got ${largest}`,
      );
    }
    // Triangle inequality: every distance is at most 2 max ||x_i|| (slack for float32 rounding).
    const range = Math.max(2 * largest * (1 + 1e-6), Number.MIN_VALUE);
    const positive = new DistanceAccumulator(exact, range);
    const negative = new DistanceAccumulator(exact, range);
    for (let start = 0; start < n - 1; start += chunkRows) {
      const rows = Math.min(chunkRows, n - 1 - start);
      const block = tf.tidy(() => {
        const part = tf.slice(points, [start, 0], [rows, d]);
        const partNorms = tf.sum(tf.square(part), 1, true);
        return tf.sqrt(tf.relu(tf.sub(tf.add(partNorms, squaredNorms), tf.mul(tf.matMul(part, transposed), 2))));
      });
      try {
        const distances = await block.data();
        for (let r = 0; r < rows; r++) {
          const i = start + r;
          const label = labelValues[i] as number;
          for (let j = i + 1; j < n; j++) {
            const distance = distances[r * n + j] as number;
            if (labelValues[j] === label) positive.add(distance);
            else negative.add(distance);
          }
        }
      } finally {
        block.dispose();
      }
    }
    return { positive: positive.summary(levels), negative: negative.summary(levels), levels: [...levels], exactQuantiles: exact };
  } finally {
    tf.dispose([points, transposed, squaredNorms, maxNorm]);
  }
}
