import * as tf from '@tensorflow/tfjs-core';
import {
  ContrastiveError,
  Rng,
  assertEmbeddings,
  assertNumber,
  assertOneOf,
  isContrastiveError,
  kMeans,
  type Embeddings,
  type KMeansOptions,
  type KMeansResult,
} from '@contrastive/core';
import { finiteFloat64 } from './split.js';

/**
 * A labelling: one label per sample, as plain numbers or a rank-1 tensor (int32 or float32).
 * Labels are compared by value only (any finite numbers; they need not be `0..C-1`).
 * @category Clustering
 */
export type Labelling = ArrayLike<number> | tf.Tensor1D;

/**
 * Agreement of two labellings of the same samples.
 * @category Clustering
 */
export interface ClusteringScores {
  /** Normalized mutual information `I / ((H(Y) + H(C)) / 2)`, in `[0, 1]`. */
  readonly nmi: number;
  /** Adjusted mutual information `(I − E[I]) / ((H(Y) + H(C)) / 2 − E[I])`, at most 1 (0 for chance). */
  readonly ami: number;
  /** Adjusted Rand index, at most 1 (0 for chance, may be negative). */
  readonly ari: number;
}

/** Dense contingency table of two labellings with their row / column sums. */
interface Contingency {
  readonly n: number;
  readonly rows: number;
  readonly cols: number;
  /** `[rows * cols]` counts. */
  readonly table: Float64Array;
  readonly rowSums: Float64Array;
  readonly colSums: Float64Array;
}

function readLabelling(labels: unknown, argument: string, fn: string): Float64Array {
  if (labels instanceof tf.Tensor) {
    if (labels.isDisposed) {
      throw new ContrastiveError('DISPOSED', `Argument '${argument}' passed to '${fn}' has been disposed`);
    }
    if (labels.rank !== 1) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument '${argument}' passed to '${fn}' must be rank 1, got rank ${labels.rank} (shape [${labels.shape.join(', ')}])`,
      );
    }
    if (labels.dtype !== 'int32' && labels.dtype !== 'float32') {
      throw new ContrastiveError('DTYPE_MISMATCH', `Argument '${argument}' passed to '${fn}' must have dtype int32 or float32, got ${labels.dtype}`);
    }
    labels = labels.dataSync();
  }
  return finiteFloat64(labels, argument, fn, 'INVALID_ARGUMENT');
}

/** Map arbitrary label values to `0..K-1` (in order of sorted value, as `np.unique`). */
function denseIds(values: Float64Array): { ids: Int32Array; count: number } {
  const distinct = Float64Array.from(new Set(values)).sort();
  const index = new Map<number, number>();
  distinct.forEach((value, i) => index.set(value, i));
  const ids = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) ids[i] = index.get(values[i] as number) as number;
  return { ids, count: distinct.length };
}

function contingency(labelsTrue: Float64Array, labelsPred: Float64Array): Contingency {
  const a = denseIds(labelsTrue);
  const b = denseIds(labelsPred);
  const n = labelsTrue.length;
  const table = new Float64Array(a.count * b.count);
  const rowSums = new Float64Array(a.count);
  const colSums = new Float64Array(b.count);
  for (let i = 0; i < n; i++) {
    const r = a.ids[i] as number;
    const c = b.ids[i] as number;
    table[r * b.count + c] = (table[r * b.count + c] as number) + 1;
    rowSums[r] = (rowSums[r] as number) + 1;
    colSums[c] = (colSums[c] as number) + 1;
  }
  return { n, rows: a.count, cols: b.count, table, rowSums, colSums };
}

/** Entropy (natural log) of a labelling from its class counts (sklearn `entropy`). */
function entropy(counts: Float64Array, n: number): number {
  if (counts.length <= 1) return 0;
  const logN = Math.log(n);
  let h = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i] as number;
    if (count > 0) h -= (count / n) * (Math.log(count) - logN);
  }
  return h;
}

/** Mutual information (natural log), as sklearn's `mutual_info_score` from a contingency table. */
function mutualInformation(table: Contingency): number {
  const { n, rows, cols } = table;
  if (rows === 1 || cols === 1) return 0;
  const logN = Math.log(n);
  let mi = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const count = table.table[r * cols + c] as number;
      if (count === 0) continue;
      const p = count / n;
      const term = p * (Math.log(count) - logN) + p * (-Math.log((table.rowSums[r] as number) * (table.colSums[c] as number)) + 2 * logN);
      if (Math.abs(term) >= Number.EPSILON) mi += term;
    }
  }
  return Math.max(mi, 0);
}

const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/**
 * `ln Γ(x)` for `x > 0` in float64: the Stirling series for `x >= 15` (error below 1e-16
 * relative), shifted up by the recurrence `Γ(x) = Γ(x + 1) / x` below.
 * @internal
 */
export function logGamma(x: number): number {
  let shift = 0;
  let y = x;
  while (y < 15) {
    shift += Math.log(y);
    y += 1;
  }
  const inverse = 1 / y;
  const inverse2 = inverse * inverse;
  const series =
    inverse * (1 / 12 - inverse2 * (1 / 360 - inverse2 * (1 / 1260 - inverse2 * (1 / 1680 - inverse2 * (1 / 1188)))));
  return (y - 0.5) * Math.log(y) - y + HALF_LOG_TWO_PI + series - shift;
}

/**
 * Expected mutual information of two labellings with the given class sizes under the
 * hypergeometric (permutation) model — Vinh, Epps & Bailey 2010, eq. 24a; sklearn's
 * `expected_mutual_information`. Every term is formed in the log domain with `logGamma` in
 * float64. Cost: `O(Σ_ij min(a_i, b_j))`.
 * @internal
 */
export function expectedMutualInformation(rowSums: Float64Array, colSums: Float64Array, n: number): number {
  if (rowSums.length <= 1 || colSums.length <= 1) return 0;
  const logN = Math.log(n);
  // ln k! for k = 0..n, each from logGamma (no accumulated rounding).
  const logFactorial = new Float64Array(n + 1);
  for (let k = 0; k <= n; k++) logFactorial[k] = logGamma(k + 1);
  const lgN1 = logFactorial[n] as number;
  let emi = 0;
  for (let i = 0; i < rowSums.length; i++) {
    const a = rowSums[i] as number;
    const lgA = (logFactorial[a] as number) + (logFactorial[n - a] as number);
    for (let j = 0; j < colSums.length; j++) {
      const b = colSums[j] as number;
      const start = Math.max(1, a + b - n);
      const end = Math.min(a, b);
      const fixed = lgA + (logFactorial[b] as number) + (logFactorial[n - b] as number) - lgN1;
      const logAB = Math.log(a) + Math.log(b);
      for (let nij = start; nij <= end; nij++) {
        const term2 = logN + Math.log(nij) - logAB;
        const logTerm3 =
          fixed -
          (logFactorial[nij] as number) -
          (logFactorial[a - nij] as number) -
          (logFactorial[b - nij] as number) -
          (logFactorial[n - a - b + nij] as number);
        emi += (nij / n) * term2 * Math.exp(logTerm3);
      }
    }
  }
  return emi;
}

/** Adjusted Rand index from the pair confusion matrix, with exact integer products (BigInt). */
function adjustedRand(table: Contingency): number {
  const { n, rows, cols } = table;
  let sumSquares = 0;
  for (let i = 0; i < table.table.length; i++) sumSquares += (table.table[i] as number) ** 2;
  let rowDot = 0; // Σ_rc n_rc * colSums[c]
  let colDot = 0; // Σ_rc n_rc * rowSums[r]
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const count = table.table[r * cols + c] as number;
      rowDot += count * (table.colSums[c] as number);
      colDot += count * (table.rowSums[r] as number);
    }
  }
  // sklearn's pair_confusion_matrix (ordered pairs): all exact integers below 2^53 for n < 9e7.
  const tp = BigInt(sumSquares - n);
  const fp = BigInt(rowDot - sumSquares);
  const fn = BigInt(colDot - sumSquares);
  const tn = BigInt(n) * BigInt(n) - fp - fn - BigInt(sumSquares);
  if (fn === 0n && fp === 0n) return 1;
  const numerator = 2n * (tp * tn - fn * fp);
  const denominator = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
  return Number(numerator) / Number(denominator);
}

/** Whether the two labellings are the same partition: square table, one non-zero cell per row. */
function samePartition(table: Contingency): boolean {
  if (table.rows !== table.cols) return false;
  for (let r = 0; r < table.rows; r++) {
    let nonZero = 0;
    for (let c = 0; c < table.cols; c++) if ((table.table[r * table.cols + c] as number) > 0) nonZero++;
    if (nonZero !== 1) return false;
  }
  return true;
}

function scoresFromLabels(labelsTrue: Float64Array, labelsPred: Float64Array, fn: string): ClusteringScores {
  if (labelsTrue.length !== labelsPred.length) {
    throw new ContrastiveError(
      'LABEL_COUNT',
      `Argument 'labelsPred' passed to '${fn}' must have ${labelsTrue.length} entries (one per entry of 'labelsTrue'), got ${labelsPred.length}`,
    );
  }
  const table = contingency(labelsTrue, labelsPred);
  const ari = adjustedRand(table);
  // sklearn: both labellings a single cluster (or both empty) is a perfect match.
  if (table.rows === table.cols && table.rows <= 1) return { nmi: 1, ami: 1, ari };
  // Identical partitions up to renaming (sklearn's test_perfect_matches expects 1; its eps guard on
  // `normalizer − E[I]` leaves this to rounding when every cluster is a singleton, so decide it here).
  if (samePartition(table)) return { nmi: 1, ami: 1, ari };
  const n = table.n;
  const mi = mutualInformation(table);
  const hTrue = entropy(table.rowSums, n);
  const hPred = entropy(table.colSums, n);
  const normalizer = (hTrue + hPred) / 2;
  // sklearn: mi ≈ 0 (np.isclose) cannot be a perfect match here, so NMI is 0.
  const nmi = Math.abs(mi) <= 1e-8 ? 0 : mi / normalizer;
  const emi = expectedMutualInformation(table.rowSums, table.colSums, n);
  let denominator = normalizer - emi;
  denominator = denominator < 0 ? Math.min(denominator, -Number.EPSILON) : Math.max(denominator, Number.EPSILON);
  const ami = (mi - emi) / denominator;
  return { nmi, ami, ari };
}

/**
 * core's `kMeans`, with its errors about the points (NaN / Infinity, a zero row under `'cosine'`, an
 * overflowing norm) re-addressed to the caller's `embeddings` argument.
 */
function kMeansOf(embeddings: Embeddings, options: KMeansOptions, fn: string): KMeansResult {
  try {
    return kMeans(embeddings, options);
  } catch (error) {
    const prefix = "Argument 'points' passed to 'kMeans'";
    if (isContrastiveError(error) && error.message.startsWith(prefix)) {
      throw new ContrastiveError(error.code, `Argument 'embeddings' passed to '${fn}'${error.message.slice(prefix.length)}`, { cause: error });
    }
    throw error;
  }
}

/**
 * NMI, AMI and ARI between a reference labelling and a clustering — scikit-learn's
 * `normalized_mutual_info_score`, `adjusted_mutual_info_score` (both with
 * `average_method='arithmetic'`, natural log) and `adjusted_rand_score` (Hubert & Arabie 1985);
 * AMI subtracts the expected mutual information under the hypergeometric model (Vinh, Epps &
 * Bailey 2010), computed term by term in float64 with log-gamma. PML's `AccuracyCalculator` reports
 * the same NMI / AMI on k-means clusters.
 *
 * scikit-learn's special cases are kept: both labellings a single cluster (or both empty) gives
 * NMI = AMI = 1; identical partitions (up to renaming) give NMI = AMI = ARI = 1 exactly, also when
 * every cluster is a singleton (where sklearn's `max(normalizer − E[I], eps)` guard leaves AMI to
 * rounding; its own tests expect 1); a labelling with
 * one cluster against one with several has MI = 0, hence NMI = 0 and AMI = 0. Labels are compared
 * by value, so renaming clusters changes nothing. All arithmetic runs on the host in float64; the
 * cost of AMI is `O(Σ_ij min(a_i, b_j))` for class sizes `a` and cluster sizes `b` (at most
 * `n · #clusters`).
 *
 * @param labelsTrue - `[n]` reference labels (plain numbers or an int32 / float32 tensor; borrowed).
 * @param labelsPred - `[n]` cluster labels, same form.
 * @returns `{ nmi, ami, ari }` as plain numbers.
 * @throws `ContrastiveError` (from `@contrastive/core`) `LABEL_COUNT` when the lengths differ,
 *   `INVALID_ARGUMENT` for a non-finite or non-numeric label, `SHAPE_MISMATCH` / `DTYPE_MISMATCH`
 *   / `DISPOSED` for a bad tensor.
 * @example
 * ```ts
 * const scores = clusteringScores([0, 0, 1, 1], [1, 1, 0, 0]);
 * console.log(scores); // { nmi: 1, ami: 1, ari: 1 }
 * ```
 * @category Clustering
 */
export function clusteringScores(labelsTrue: Labelling, labelsPred: Labelling): ClusteringScores {
  const fn = 'clusteringScores';
  return scoresFromLabels(readLabelling(labelsTrue, 'labelsTrue', fn), readLabelling(labelsPred, 'labelsPred', fn), fn);
}

/**
 * Options of {@link clusterEmbeddings}.
 * @category Clustering
 */
export interface ClusterEmbeddingsOptions {
  /** Number of clusters, an integer in `[1, n]`. @defaultValue the number of distinct labels */
  readonly k?: number;
  /**
   * `'euclidean'`: k-means on the raw vectors (PML's `AccuracyCalculator`, the golden
   * `nmi_ami_kmeans` case); `'cosine'`: spherical k-means on L2-normalized vectors.
   * @defaultValue 'euclidean'
   */
  readonly metric?: 'euclidean' | 'cosine';
  /** Seeded randomness of the k-means++ seeding; advanced by the call. @defaultValue `new Rng(0)` */
  readonly rng?: Rng;
  /**
   * Number of k-means runs from different seedings; the one with the lowest inertia is kept
   * (scikit-learn's `n_init`). @defaultValue 10
   */
  readonly restarts?: number;
  /** Most Lloyd iterations per run (scikit-learn's `max_iter`). @defaultValue 300 */
  readonly maxIterations?: number;
}

/**
 * Result of {@link clusterEmbeddings}.
 * @category Clustering
 */
export interface ClusterEmbeddingsResult extends ClusteringScores {
  /** `[n]` cluster index of every embedding (the best run). */
  readonly assignments: Int32Array;
  /** Inertia of the best run (sum of squared distances, or of `1 − cos`, to the centroids). */
  readonly inertia: number;
  /** Number of clusters used. */
  readonly k: number;
}

/**
 * Cluster embeddings with k-means (core's `kMeans`, k-means++ seeding, best of `restarts` runs)
 * and score the clusters against the labels with {@link clusteringScores} — the NMI / AMI of
 * PML's `AccuracyCalculator` (which runs faiss k-means with `k` = number of classes) and the usual
 * clustering evaluation of metric learning (Song et al. 2016). k-means itself is implementation
 * dependent, so scores may differ slightly from sklearn / faiss on hard data.
 *
 * @param embeddings - `[n, d]` float32, finite (cosine: non-zero rows). Borrowed.
 * @param labels - `[n]` reference labels (plain numbers or an int32 / float32 tensor; borrowed).
 * @param options - see {@link ClusterEmbeddingsOptions}.
 * @returns NMI, AMI, ARI, the `[n]` assignments, the inertia and `k` (plain JS values; no tensor is
 *   returned or left behind).
 * @throws `ContrastiveError` (from `@contrastive/core`) `LABEL_COUNT` when `labels` has not `n`
 *   entries, `INVALID_ARGUMENT` for a bad option (`k` outside `[1, n]`, `restarts < 1`, an
 *   unknown `metric`), a bad label or (cosine) a zero row, `NON_FINITE` for NaN / Infinity in the
 *   embeddings, `SHAPE_MISMATCH` / `DTYPE_MISMATCH` / `DISPOSED` for a bad tensor — each naming
 *   `embeddings`, `labels` or the option.
 * @example
 * ```ts
 * const embeddings = tf.tensor2d([[0, 0], [0, 1], [10, 10], [10, 11]]);
 * const { nmi, ami, ari, assignments } = clusterEmbeddings(embeddings, [0, 0, 1, 1]);
 * console.log(nmi, ami, ari, assignments); // 1 1 1 Int32Array [0, 0, 1, 1] (cluster ids may be swapped)
 * ```
 * @category Clustering
 */
export function clusterEmbeddings(
  embeddings: Embeddings,
  labels: Labelling,
  options: ClusterEmbeddingsOptions = {},
): ClusterEmbeddingsResult {
  const fn = 'clusterEmbeddings';
  assertEmbeddings(embeddings, 'embeddings', fn);
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object, got ${String(options)}`);
  }
  const n = embeddings.shape[0];
  const labelValues = readLabelling(labels, 'labels', fn);
  if (labelValues.length !== n) {
    throw new ContrastiveError('LABEL_COUNT', `Argument 'labels' passed to '${fn}' must have ${n} entries (one per embedding), got ${labelValues.length}`);
  }
  const k = options.k ?? new Set(labelValues).size;
  assertNumber(k, 'k', fn, { integer: true, min: 1, max: n });
  const metric = options.metric ?? 'euclidean';
  assertOneOf(metric, ['euclidean', 'cosine'] as const, 'metric', fn);
  const restarts = options.restarts ?? 10;
  assertNumber(restarts, 'restarts', fn, { integer: true, min: 1 });
  const maxIterations = options.maxIterations ?? 300;
  assertNumber(maxIterations, 'maxIterations', fn, { integer: true, min: 0 });
  const rng = options.rng ?? new Rng(0);
  if (!(rng instanceof Rng)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'rng' passed to '${fn}' must be an Rng, got ${rng === null ? 'null' : typeof rng}`);
  }
  let best: { assignments: Int32Array; inertia: number } | undefined;
  for (let run = 0; run < restarts; run++) {
    const result = kMeansOf(embeddings, { k, metric, rng, maxIterations }, fn);
    try {
      if (best === undefined || result.inertia < best.inertia) {
        best = { assignments: Int32Array.from(result.assignments.dataSync() as Int32Array), inertia: result.inertia };
      }
    } finally {
      tf.dispose([result.centroids, result.assignments]);
    }
  }
  const chosen = best as { assignments: Int32Array; inertia: number };
  const assignments = chosen.assignments;
  const scores = scoresFromLabels(labelValues, Float64Array.from(assignments), fn);
  return { ...scores, assignments, inertia: chosen.inertia, k };
}
