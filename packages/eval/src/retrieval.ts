import * as tf from '@tensorflow/tfjs-core';
import {
  ContrastiveError,
  assertEmbeddings,
  assertLabels,
  assertNumber,
  assertOneOf,
  assertSameDims,
  l2Normalize,
  type Embeddings,
  type Labels,
} from '@contrastive/core';
import { assertFiniteTensor } from './split.js';
import { availableThreads, kernelMemoryBytes, kernelSearch, blockRowsFor, isNode, type RankedChunk } from './exact-search.js';
import { annSearch, hnswIndex, type AnnIndex } from './ann.js';

export type { RankedChunk } from './exact-search.js';

/**
 * How {@link retrievalMetrics} ranks the references of a query.
 *
 * - `'euclidean'`: smallest `||q - r||` on the raw vectors — pytorch-metric-learning's default
 *   `FaissKNN` (`IndexFlatL2`), i.e. `CustomKNN(LpDistance(normalize_embeddings=False))`.
 * - `'cosine'`: largest cosine similarity (both sides L2-normalized) — `CustomKNN(CosineSimilarity())`.
 * - `'dot'`: largest raw dot product `q · r` — `CustomKNN(DotProductSimilarity())`.
 *
 * @category Retrieval
 */
export type RetrievalDistance = 'euclidean' | 'cosine' | 'dot';

/**
 * Names of the retrieval metrics. `precisionAtK`, `recallAtK` and `ndcgAtK` need a numeric `k`.
 * @category Retrieval
 */
export type RetrievalMetricName =
  | 'precisionAtOne'
  | 'precisionAtK'
  | 'recallAtK'
  | 'rPrecision'
  | 'meanAveragePrecisionAtR'
  | 'meanAveragePrecision'
  | 'meanReciprocalRank'
  | 'ndcgAtK';

const METRIC_NAMES: readonly RetrievalMetricName[] = [
  'precisionAtOne',
  'precisionAtK',
  'recallAtK',
  'rPrecision',
  'meanAveragePrecisionAtR',
  'meanAveragePrecision',
  'meanReciprocalRank',
  'ndcgAtK',
];
const PML_METRICS: readonly RetrievalMetricName[] = [
  'precisionAtOne',
  'rPrecision',
  'meanAveragePrecisionAtR',
  'meanAveragePrecision',
  'meanReciprocalRank',
];
const AT_K_METRICS: readonly RetrievalMetricName[] = ['precisionAtK', 'recallAtK', 'ndcgAtK'];

/**
 * Input and options of {@link retrievalMetrics}.
 * @category Retrieval
 */
export interface RetrievalOptions {
  /** `[q, d]` float32 query embeddings (borrowed: never disposed or modified). */
  readonly query: Embeddings;
  /** `[q]` int32 query labels; equal labels = relevant. Any int32 value is a label. */
  readonly queryLabels: Labels;
  /**
   * `[m, d]` float32 reference (gallery) embeddings. When omitted, the queries are searched against
   * themselves and each query's own row is never retrieved (PML `ref_includes_query=True` /
   * `embeddings_come_from_same_source`). A reference that is given is never treated as the query,
   * even when it is the same tensor.
   * @defaultValue the query itself, self excluded
   */
  readonly reference?: Embeddings;
  /** `[m]` int32 reference labels; required with (and only with) `reference`. */
  readonly referenceLabels?: Labels;
  /** How references are ranked; see {@link RetrievalDistance}. @defaultValue 'euclidean' */
  readonly distance?: RetrievalDistance;
  /**
   * Length of each query's ranked list (PML's `k`):
   * - `'all'`: every reference (PML `k=None`; the self row excluded);
   * - `'maxBinCount'`: the largest `R` (same-label references) of any query (PML `"max_bin_count"`):
   *   enough for `precisionAtOne`, `rPrecision` and `meanAveragePrecisionAtR`, and bounded for
   *   large sets;
   * - an integer `>= 1`: the top `k` (also the `K` of `precisionAtK`, `recallAtK`, `ndcgAtK`). A `k`
   *   larger than the reference is allowed: the list holds every reference and `precisionAtK`
   *   still divides by `k`.
   *
   * Only as many neighbours as the requested `metrics` need are searched: with
   * `metrics: ['precisionAtOne', 'meanAveragePrecisionAtR']` the default `'all'` searches just
   * `max R` neighbours per query and gives the same numbers.
   * @defaultValue 'all'
   */
  readonly k?: number | 'all' | 'maxBinCount';
  /**
   * `'micro'`: mean over queries; `'macro'`: mean over classes of the per-class mean (PML
   * `avg_of_avgs=True`).
   * @defaultValue 'micro'
   */
  readonly averaging?: 'micro' | 'macro';
  /**
   * Metrics to compute. @defaultValue all eight with a numeric `k`; else the five of PML's
   * `AccuracyCalculator` (`precisionAtOne`, `rPrecision`, `meanAveragePrecisionAtR`,
   * `meanAveragePrecision`, `meanReciprocalRank`)
   */
  readonly metrics?: readonly RetrievalMetricName[];
  /**
   * Query rows per chunk: only a `[chunkSize, m]` distance block exists at a time, and only its
   * `[chunkSize, k]` top-k indices are read back.
   * @defaultValue `max(1, floor(2^22 / m))` (a 16 MB float32 block)
   */
  readonly chunkSize?: number;
  /**
   * How the exact search runs:
   * - `'kernel'`: on the CPU by the package's WebAssembly SIMD kernel, whatever the tfjs backend:
   *   the reference is copied from the device once into packed panels and every block of queries
   *   streams over it keeping only each query's best `k` in a heap — memory is the reference
   *   (`4·d` bytes a row, up to the 4 GiB of a WebAssembly memory) plus the heaps, with no
   *   `[queries, m]` block at all; results are bit-identical on every backend and thread count.
   * - `'tensor'`: on the tfjs backend, a `[chunkSize, m]` `matMul` + `tf.topk` per chunk (the
   *   faster choice on a GPU backend or tfjs-node).
   * - `'ann'`: approximate, through `annIndex` (or an HNSW index built by {@link hnswIndex} for the
   *   call, Node.js with the optional `hnswlib-node`); ties and near-ties in the graph's order.
   * - `'auto'`: `'ann'` when `annIndex` is given; else `'kernel'` on the `wasm` and `cpu` backends
   *   when the reference fits its memory; else `'ann'` in Node.js for a reference too large for the
   *   kernel; else `'tensor'`.
   * @defaultValue 'auto'
   */
  readonly engine?: 'auto' | 'kernel' | 'tensor' | 'ann';
  /**
   * An approximate index over the reference (over the queries for self-retrieval) for
   * `engine: 'ann'`, e.g. from {@link hnswIndex}; its size, dimension and distance must match.
   * Borrowed: not disposed.
   */
  readonly annIndex?: AnnIndex;
  /**
   * Threads of the `'kernel'` engine: Node.js `worker_threads` sharing one WebAssembly memory (in
   * a browser the kernel runs on the calling thread). @defaultValue all logical processors
   * (`os.availableParallelism()`) when the search is large (`q·m·d >= 2^28`), else 1
   */
  readonly threads?: number;
}

/**
 * Metric values in `[0, 1]`; a field is present exactly when it was requested in `metrics`.
 * @category Retrieval
 */
export interface RetrievalMetricValues {
  /** Fraction of queries whose nearest reference shares their label (PML `precision_at_1`). */
  readonly precisionAtOne?: number;
  /** Mean fraction of the top `k` that share the query's label (needs a numeric `k`). */
  readonly precisionAtK?: number;
  /** Fraction of queries with at least one same-label reference in the top `k` (Recall@K of deep metric learning). */
  readonly recallAtK?: number;
  /** Mean fraction of the top `R` that share the label, `R` = same-label references (capped by `k`); PML `r_precision`. */
  readonly rPrecision?: number;
  /** Mean average precision over the top `R` (Musgrave et al. 2020; PML `mean_average_precision_at_r`). */
  readonly meanAveragePrecisionAtR?: number;
  /** Mean average precision over the top `k` (PML `mean_average_precision`). */
  readonly meanAveragePrecision?: number;
  /** Mean of `1 / rank` of the first same-label reference, 0 without one in the top `k` (PML `mean_reciprocal_rank`). */
  readonly meanReciprocalRank?: number;
  /** Normalised discounted cumulative gain of the top `k` with binary relevance. */
  readonly ndcgAtK?: number;
}

/**
 * Metrics of the queries of one label.
 * @category Retrieval
 */
export interface RetrievalClassMetrics {
  /** The query label. */
  readonly label: number;
  /** Evaluated queries with this label. */
  readonly queries: number;
  /** Mean of each requested metric over these queries. */
  readonly metrics: RetrievalMetricValues;
}

/**
 * Result of {@link retrievalMetrics}: the requested metrics (micro or macro averaged) and their
 * per-class breakdown, as plain JS numbers.
 * @category Retrieval
 */
export interface RetrievalResult extends RetrievalMetricValues {
  /** PML's `k`: length of each query's ranked list (capped by the reference size). */
  readonly k: number;
  /** Queries that entered the averages. */
  readonly evaluatedQueries: number;
  /**
   * Queries dropped because no reference (other than themselves) shares their label — PML's
   * "lone query" rule; they enter no metric.
   */
  readonly droppedQueries: number;
  /** Per query label (ascending), over the evaluated queries. */
  readonly perClass: readonly RetrievalClassMetrics[];
}

const DEFAULT_CHUNK_ELEMENTS = 2 ** 22;
const FN = 'retrievalMetrics';

/**
 * The `width` best references of every query, one chunk of query rows at a time: the reference is
 * (normalized and) transposed once, each chunk is one plain `matMul` and `tf.topk`, and only the
 * `[rows, width]` indices come back to the host. Euclidean ranks by `q·r - ||r||²/2` (one matMul
 * of `[q | 1]` against `[rᵀ; -||r||²/2]`), which orders each row as `-||q - r||²` (the `||q||²`
 * term is constant per row) without the cancellation of `||q||² + ||r||² - 2q·r`.
 * @internal
 */
export async function searchRanked(
  query: Embeddings,
  reference: Embeddings,
  options: { width: number; distance: RetrievalDistance; chunkSize: number },
  onChunk: (chunk: RankedChunk) => void,
): Promise<void> {
  const [q, d] = query.shape;
  const m = reference.shape[0];
  const { width, distance, chunkSize } = options;
  const euclidean = distance === 'euclidean';
  // Euclidean: one extra row -||r||²/2 under the transposed reference and a column of ones beside
  // each query chunk, so the single matMul yields q·r - ||r||²/2 with no elementwise pass.
  const referenceT = tf.tidy(() => {
    const prepared = distance === 'cosine' ? l2Normalize(reference) : reference;
    const transposed = tf.transpose(prepared);
    if (!euclidean) return transposed as tf.Tensor2D;
    const halfNorms = tf.mul(tf.reshape(tf.sum(tf.square(prepared), 1), [1, m]), -0.5);
    return tf.concat([transposed, halfNorms], 0) as tf.Tensor2D;
  });
  try {
    for (let start = 0; start < q; start += chunkSize) {
      const rows = Math.min(chunkSize, q - start);
      const indices = tf.tidy(() => {
        const part = tf.slice(query, [start, 0], [rows, d]);
        const queries =
          distance === 'cosine' ? l2Normalize(part) : euclidean ? tf.concat([part, tf.ones([rows, 1])], 1) : part;
        return tf.topk(tf.matMul(queries, referenceT), width, true).indices;
      });
      try {
        const data = (await indices.data()) as Int32Array;
        onChunk({ start, rows, width, indices: data });
      } finally {
        indices.dispose();
      }
    }
  } finally {
    referenceT.dispose();
  }
}

function resolveMetrics(metrics: unknown, k: number | string): RetrievalMetricName[] {
  const numericK = typeof k === 'number';
  if (metrics === undefined) return [...(numericK ? METRIC_NAMES : PML_METRICS)];
  if (!Array.isArray(metrics) || metrics.length === 0) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'metrics' passed to '${FN}' must be a non-empty array of metric names`);
  }
  for (const name of metrics) assertOneOf(name, METRIC_NAMES, 'metrics', FN);
  const chosen = metrics as RetrievalMetricName[];
  if (!numericK) {
    const needK = chosen.find((name) => AT_K_METRICS.includes(name));
    if (needK !== undefined) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'k' passed to '${FN}' must be an integer >= 1 when '${needK}' is requested, got ${JSON.stringify(k)}`,
      );
    }
  }
  return METRIC_NAMES.filter((name) => chosen.includes(name));
}

/**
 * Retrieval metrics of metric learning, computed exactly with bounded memory — the retrieval part of
 * pytorch-metric-learning's `AccuracyCalculator` (Musgrave et al. 2020, "A Metric Learning Reality
 * Check") plus the usual top-K metrics:
 *
 * - `precisionAtOne`: the nearest reference shares the query's label (PML `precision_at_1`).
 * - `precisionAtK`: fraction of the top `k` that share the label (divided by `k`).
 * - `recallAtK`: 1 when any of the top `k` shares the label, else 0 — the "Recall@K" of deep
 *   metric learning papers (Song et al. 2016), not the IR recall.
 * - `rPrecision`: with `R` = same-label references of the query (capped by `k`, as PML does), the
 *   fraction of the top `R` that share the label (PML `r_precision`).
 * - `meanAveragePrecisionAtR`: `(1/R) Σ_{i<=R} P@i·rel_i` (PML `mean_average_precision_at_r`).
 * - `meanAveragePrecision`: over the top `k`, `Σ_i P@i·rel_i / (hits in the top k)` and 0 without a
 *   hit (PML `mean_average_precision`; equal to the usual AP when `k = 'all'`).
 * - `meanReciprocalRank`: `1 / rank` of the first same-label reference in the top `k`, else 0 (PML
 *   `mean_reciprocal_rank`).
 * - `ndcgAtK`: binary-relevance `DCG@k / IDCG@k` with `DCG = Σ rel_i / log2(i + 1)` and the ideal
 *   list holding `min(R, k)` hits.
 *
 * As in PML, a query with no same-label reference (other than itself, when the query is the
 * reference — e.g. the only member of its class) is dropped from every metric and counted in
 * `droppedQueries`; with none left every metric is 0. Ties in distance are ordered by the lower
 * reference index (PML with faiss orders ties arbitrarily). The search is exact and memory-bounded:
 * by default (`engine: 'auto'` on the wasm and cpu backends) a WebAssembly SIMD kernel streams each
 * block of queries over the packed reference keeping only the best `k` per query, on all cores in
 * Node.js; with `engine: 'tensor'` each `[chunkSize, m]` block is a `matMul` reduced by `tf.topk`
 * on the device. Only as many neighbours as the requested metrics need are searched — for P@1 and
 * MAP@R that is the largest class. Ranks, precisions and averages are computed on the host in
 * float64. Inputs are borrowed and no tensor is left behind.
 *
 * @param options - `query` `[q, d]` float32, `queryLabels` `[q]` int32, optional `reference`
 *   `[m, d]` float32 and `referenceLabels` `[m]` int32, and `distance`, `k`, `averaging`, `metrics`,
 *   `chunkSize`, `engine`, `threads`; see {@link RetrievalOptions}.
 * @returns a promise of a {@link RetrievalResult}: the requested metrics in `[0, 1]`, `k`,
 *   `evaluatedQueries`, `droppedQueries` and `perClass` (plain JS values).
 * @throws `ContrastiveError` (from `@contrastive/core`) `SHAPE_MISMATCH` (rank, no rows, dimensions
 *   differ), `DTYPE_MISMATCH` (embeddings not float32, labels not int32), `LABEL_COUNT` (labels
 *   and rows differ), `NON_FINITE` (NaN / Infinity in the embeddings), `INVALID_ARGUMENT` (a bad
 *   `k`, `distance`, `averaging`, `metrics`, `chunkSize`, `engine` or `threads`; `reference`
 *   without `referenceLabels` or the reverse; an at-K metric with a non-numeric `k`; a reference
 *   too large for the `'kernel'` engine's 4 GiB), `BACKEND` (a kernel thread failed).
 * @example
 * ```ts
 * // 4 points on a line, two classes.
 * const result = await retrievalMetrics({
 *   query: tf.tensor2d([[0], [1], [3], [4]]),
 *   queryLabels: tf.tensor1d([0, 0, 1, 1], 'int32'),
 * });
 * console.log(result.precisionAtOne, result.meanAveragePrecisionAtR); // 1 1
 * ```
 * @category Retrieval
 */
export async function retrievalMetrics(options: RetrievalOptions): Promise<RetrievalResult> {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${FN}' must be an object, got ${String(options)}`);
  }
  const distance = options.distance ?? 'euclidean';
  const averaging = options.averaging ?? 'micro';
  const kOption = options.k ?? 'all';
  assertOneOf(distance, ['euclidean', 'cosine', 'dot'] as const, 'distance', FN);
  assertOneOf(averaging, ['micro', 'macro'] as const, 'averaging', FN);
  const numericK = typeof kOption === 'number';
  if (numericK) assertNumber(kOption, 'k', FN, { integer: true, min: 1 });
  else assertOneOf(kOption, ['all', 'maxBinCount'] as const, 'k', FN);
  if (options.chunkSize !== undefined) assertNumber(options.chunkSize, 'chunkSize', FN, { integer: true, min: 1 });
  const engineOption = options.engine ?? 'auto';
  assertOneOf(engineOption, ['auto', 'kernel', 'tensor', 'ann'] as const, 'engine', FN);
  if (options.threads !== undefined) assertNumber(options.threads, 'threads', FN, { integer: true, min: 1 });
  const metrics = resolveMetrics(options.metrics, kOption);

  assertEmbeddings(options.query, 'query', FN);
  const q = options.query.shape[0];
  assertLabels(options.queryLabels, q, 'queryLabels', FN);
  const self = options.reference === undefined;
  if (self && options.referenceLabels !== undefined) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'referenceLabels' passed to '${FN}' must come with 'reference', got no reference`);
  }
  let reference = options.query;
  if (!self) {
    assertEmbeddings(options.reference, 'reference', FN);
    assertSameDims(options.query, options.reference, 'reference', FN);
    if (options.referenceLabels === undefined) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'referenceLabels' passed to '${FN}' is required with 'reference', got undefined`);
    }
    assertLabels(options.referenceLabels, options.reference.shape[0], 'referenceLabels', FN);
    reference = options.reference;
  }
  const m = reference.shape[0];
  await assertFiniteTensor(options.query, 'query', FN);
  if (!self) await assertFiniteTensor(reference, 'reference', FN);

  const queryLabels = (await options.queryLabels.data()) as Int32Array;
  const referenceLabels = self ? queryLabels : ((await (options.referenceLabels as Labels).data()) as Int32Array);

  // R of each query label: same-label references, minus the query itself when it is in the reference.
  const selfCount = self ? 1 : 0;
  const counts = new Map<number, number>();
  for (let j = 0; j < m; j++) {
    const label = referenceLabels[j] as number;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  let maxBin = 0;
  for (let i = 0; i < q; i++) maxBin = Math.max(maxBin, (counts.get(queryLabels[i] as number) ?? 0) - selfCount);

  const available = m - selfCount;
  const listK = numericK ? kOption : kOption === 'all' ? available : maxBin;
  const retrieved = Math.min(listK, available);
  const atK = numericK ? kOption : 0;
  let needed = 0;
  for (const name of metrics) {
    switch (name) {
      case 'precisionAtOne':
        needed = Math.max(needed, 1);
        break;
      case 'precisionAtK':
      case 'recallAtK':
      case 'ndcgAtK':
        needed = Math.max(needed, Math.min(atK, available));
        break;
      case 'rPrecision':
      case 'meanAveragePrecisionAtR':
        needed = Math.max(needed, Math.min(maxBin, retrieved));
        break;
      case 'meanAveragePrecision':
      case 'meanReciprocalRank':
        needed = Math.max(needed, retrieved);
        break;
      default: {
        const unreachable: never = name;
        throw new ContrastiveError('INVALID_ARGUMENT', `Unknown metric ${String(unreachable)}`);
      }
    }
  }
  needed = Math.min(needed, available);

  const wanted = new Set(metrics);
  const count = METRIC_NAMES.length;
  const totals = new Float64Array(count);
  const classes = new Map<number, { queries: number; sums: Float64Array }>();
  let evaluated = 0;
  const perQuery = new Float64Array(count);

  const scoreRow = (label: number, row: Int32Array, offset: number, width: number, ownIndex: number): void => {
    const relevantTotal = (counts.get(label) ?? 0) - selfCount;
    if (relevantTotal <= 0) return; // PML's lone query: dropped.
    const rCut = Math.min(relevantTotal, retrieved);
    const kCut = Math.min(atK, retrieved);
    let position = 0; // 1-based rank of the current retrieved reference after this step
    let hits = 0;
    let hitsAtK = 0;
    let hitsAtR = 0;
    let precisionSum = 0; // Σ P@i·rel_i over the whole list
    let precisionSumAtR = 0;
    let dcg = 0;
    let firstHit = 0;
    for (let j = 0; j < width && position < needed; j++) {
      const index = row[offset + j] as number;
      if (index < 0) break; // an approximate index found fewer neighbours
      if (index === ownIndex) continue;
      position++;
      if (referenceLabels[index] !== label) continue;
      hits++;
      const precision = hits / position;
      precisionSum += precision;
      if (position <= rCut) {
        hitsAtR++;
        precisionSumAtR += precision;
      }
      if (position <= kCut) {
        hitsAtK++;
        dcg += 1 / Math.log2(position + 1);
      }
      if (firstHit === 0) firstHit = position;
    }
    const firstIsHit = firstHit === 1 ? 1 : 0;
    perQuery[0] = firstIsHit;
    perQuery[1] = atK > 0 ? hitsAtK / atK : 0;
    perQuery[2] = hitsAtK > 0 ? 1 : 0;
    perQuery[3] = rCut > 0 ? hitsAtR / rCut : 0;
    perQuery[4] = rCut > 0 ? precisionSumAtR / rCut : 0;
    perQuery[5] = hits > 0 ? precisionSum / hits : 0; // hits = hits in the ranked list (PML divides by them)
    perQuery[6] = firstHit > 0 && firstHit <= retrieved ? 1 / firstHit : 0;
    let idcg = 0;
    const ideal = Math.min(relevantTotal, atK);
    for (let i = 1; i <= ideal; i++) idcg += 1 / Math.log2(i + 1);
    perQuery[7] = idcg > 0 ? dcg / idcg : 0;
    evaluated++;
    let entry = classes.get(label);
    if (entry === undefined) {
      entry = { queries: 0, sums: new Float64Array(count) };
      classes.set(label, entry);
    }
    entry.queries++;
    for (let c = 0; c < count; c++) {
      totals[c] = (totals[c] as number) + (perQuery[c] as number);
      entry.sums[c] = (entry.sums[c] as number) + (perQuery[c] as number);
    }
  };
  const emptyRow = new Int32Array(0);
  if (needed === 0) {
    // Nothing to search (every query is lone, or the reference holds only the query itself).
    for (let i = 0; i < q; i++) scoreRow(queryLabels[i] as number, emptyRow, 0, 0, -1);
  } else {
    const onChunk = (chunk: RankedChunk): void => {
      for (let row = 0; row < chunk.rows; row++) {
        const i = chunk.start + row;
        scoreRow(queryLabels[i] as number, chunk.indices, row * chunk.width, chunk.width, self ? i : -1);
      }
    };
    const d = options.query.shape[1];
    const threads = options.threads ?? (q * m * d >= 2 ** 28 ? await availableThreads() : 1);
    // The kernel excludes the query's own row itself, so it needs no extra slot for it.
    const kernelWidth = needed;
    const fits = Number.isFinite(kernelMemoryBytes(m, d, kernelWidth, blockRowsFor(q, kernelWidth, threads), threads));
    const cpuBackend = tf.getBackend() === 'wasm' || tf.getBackend() === 'cpu';
    const auto = options.annIndex !== undefined ? 'ann' : cpuBackend && fits ? 'kernel' : !fits && isNode() ? 'ann' : 'tensor';
    const engine = engineOption === 'auto' ? auto : engineOption;
    if (engine === 'ann') {
      const given = options.annIndex;
      if (given !== undefined && (given.size !== m || given.dimension !== d || given.distance !== distance)) {
        throw new ContrastiveError(
          'INVALID_ARGUMENT',
          `Argument 'annIndex' passed to '${FN}' must index the ${m} x ${d} reference by '${distance}', got ${given.size} x ${given.dimension} by '${given.distance}'`,
        );
      }
      const index = given ?? (await hnswIndex(reference, { distance }));
      try {
        await annSearch(options.query, index, { width: Math.min(needed, m - selfCount), excludeSelf: self, chunkRows: 1024 }, onChunk);
      } finally {
        if (given === undefined) index.dispose();
      }
    } else if (engine === 'kernel') {
      await kernelSearch(options.query, reference, { width: kernelWidth, distance, excludeSelf: self, threads, caller: FN }, onChunk);
    } else {
      const width = Math.min(needed + selfCount, m);
      const chunkSize = Math.min(q, options.chunkSize ?? Math.max(1, Math.floor(DEFAULT_CHUNK_ELEMENTS / m)));
      await searchRanked(options.query, reference, { width, distance, chunkSize }, onChunk);
    }
  }

  const pick = (values: Float64Array, divisor: number): RetrievalMetricValues => {
    const out: { [Name in RetrievalMetricName]?: number } = {};
    METRIC_NAMES.forEach((name, c) => {
      if (wanted.has(name)) out[name] = divisor > 0 ? (values[c] as number) / divisor : 0;
    });
    return out;
  };
  const labels = [...classes.keys()].sort((a, b) => a - b);
  const perClass: RetrievalClassMetrics[] = labels.map((label) => {
    const entry = classes.get(label) as { queries: number; sums: Float64Array };
    return { label, queries: entry.queries, metrics: pick(entry.sums, entry.queries) };
  });
  let averaged: RetrievalMetricValues;
  if (averaging === 'micro') {
    averaged = pick(totals, evaluated);
  } else {
    const means = new Float64Array(count);
    for (const label of labels) {
      const entry = classes.get(label) as { queries: number; sums: Float64Array };
      for (let c = 0; c < count; c++) means[c] = (means[c] as number) + (entry.sums[c] as number) / entry.queries;
    }
    averaged = pick(means, labels.length);
  }
  return { ...averaged, k: retrieved, evaluatedQueries: evaluated, droppedQueries: q - evaluated, perClass };
}
