import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, Rng, assertEmbeddings, assertNumber, assertOneOf, assertSameDims, assertTensor, kMeans, l2Normalize } from '@contrastive/core';

const CONCENTRATION = 'pclConcentration';
const BANK = 'PrototypeBank';

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map((item) => (typeof item === 'number' ? String(item) : typeof item)).join(', ')}]`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value;
}

// ---------------------------------------------------------------------------------------------
// Concentration φ (PCL main_pcl.py run_kmeans `density`)
// ---------------------------------------------------------------------------------------------

/** Options of {@link pclConcentration}. @category Prototypes */
export interface PclConcentrationOptions {
  /**
   * Smoothing α of `log(Z + α)`, which keeps small clusters from getting a large φ; a finite
   * number >= 0.
   * @defaultValue 10 (PCL's `main_pcl.py`)
   */
  readonly alpha?: number;
  /**
   * Temperature T: the concentrations are scaled so that their mean is T; a finite number > 0.
   * @defaultValue 0.2 (PCL's `--temperature`)
   */
  readonly temperature?: number;
  /**
   * Percentiles `[low, high]` (numpy's linear percentile over the `K` values) that the
   * concentrations are clipped to before the scaling, `0 <= low <= high <= 100`.
   * @defaultValue [10, 90] (PCL's "clamp extreme values for stability")
   */
  readonly percentileClip?: readonly [number, number];
}

/**
 * The intermediate values of {@link pclConcentrationDetails}, computed in float64 on the host from
 * the float32 distances.
 * @category Prototypes
 */
export interface PclConcentrationDetails {
  /** `[K]` float32 final concentrations φ (mean T), owned by the caller — the value of {@link pclConcentration}. */
  readonly concentrations: tf.Tensor1D;
  /** `[K]` cluster sizes `Z_c` (the number of rows assigned to each cluster). */
  readonly clusterSizes: Int32Array;
  /** `[N]` squared euclidean distance `||v_z − c_{s_z}||²` of every row to its centroid (PCL's faiss `D`). */
  readonly squaredDistances: Float32Array;
  /**
   * `[K]` φ before the clipping: `mean_z ||v_z − c||₂ / log(Z_c + α)` for clusters with `Z_c > 1`,
   * the largest of those for clusters with `Z_c <= 1` (PCL's `dmax`).
   */
  readonly rawConcentrations: Float64Array;
  /** `[K]` φ after clipping to the `percentileClip` percentiles of `rawConcentrations`. */
  readonly clippedConcentrations: Float64Array;
}

/** numpy's default (`linear`) percentile of `values`, including its two-sided interpolation. */
function percentile(values: Float64Array, p: number): number {
  const sorted = Float64Array.from(values).sort();
  const position = (p / 100) * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const t = position - below;
  const a = sorted[below] as number;
  const b = sorted[above] as number;
  // numpy's _lerp: a + (b − a)·t, computed from b for t >= 0.5 (exact at both ends).
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

interface CheckedConcentrationOptions {
  readonly alpha: number;
  readonly temperature: number;
  readonly low: number;
  readonly high: number;
}

function checkConcentrationOptions(options: PclConcentrationOptions, fn: string, prefix = ''): CheckedConcentrationOptions {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object, got ${describeValue(options)}`);
  }
  const alpha = options.alpha ?? 10;
  const temperature = options.temperature ?? 0.2;
  const clip = options.percentileClip ?? [10, 90];
  assertNumber(alpha, `${prefix}alpha`, fn, { min: 0 });
  assertNumber(temperature, `${prefix}temperature`, fn, { min: 0, exclusiveMin: true });
  if (!Array.isArray(clip) || clip.length !== 2) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${prefix}percentileClip' passed to '${fn}' must be [low, high] with 0 <= low <= high <= 100, got ${describeValue(clip)}`,
    );
  }
  const [low, high] = clip as [unknown, unknown];
  assertNumber(low, `${prefix}percentileClip[0]`, fn, { min: 0, max: 100 });
  assertNumber(high, `${prefix}percentileClip[1]`, fn, { min: low, max: 100 });
  return { alpha, temperature, low, high };
}

function computeConcentration(
  features: tf.Tensor2D,
  assignments: tf.Tensor1D,
  centroids: tf.Tensor2D,
  settings: CheckedConcentrationOptions,
  fn: string,
): PclConcentrationDetails {
  assertEmbeddings(features, 'features', fn);
  const rows = features.shape[0];
  assertTensor(assignments, 1, 'assignments', fn, 'int32');
  if (assignments.shape[0] !== rows) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'assignments' passed to '${fn}' must have ${rows} entries (one per row of 'features'), got ${assignments.shape[0]}`,
    );
  }
  assertEmbeddings(centroids, 'centroids', fn);
  assertSameDims(features, centroids, 'centroids', fn);
  const clusters = centroids.shape[0];
  // The assignments are read before the gather: an index outside [0, K) must never reach it.
  const ids = assignments.dataSync();
  const clusterSizes = new Int32Array(clusters);
  for (let z = 0; z < rows; z++) {
    const id = ids[z] as number;
    if (id < 0 || id >= clusters) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'assignments' passed to '${fn}' must hold cluster indices in [0, ${clusters}) (one per row of 'centroids'), got ${id} at index ${z}`,
      );
    }
    clusterSizes[id] = (clusterSizes[id] as number) + 1;
  }
  // ||v − c||² from the difference itself (PCL's faiss D), not the expanded ||v||² + ||c||² − 2v·c.
  const squared = tf.tidy(() => tf.sum(tf.square(tf.sub(features, tf.gather(centroids, assignments))), 1));
  const squaredDistances = Float32Array.from(squared.dataSync());
  squared.dispose();
  const distanceSums = new Float64Array(clusters);
  for (let z = 0; z < rows; z++) {
    const value = squaredDistances[z] as number;
    if (!Number.isFinite(value)) {
      throw new ContrastiveError(
        'NON_FINITE',
        `Arguments 'features' and 'centroids' passed to '${fn}' must hold finite numbers, got a distance of ${value} for row ${z}`,
      );
    }
    const id = ids[z] as number;
    distanceSums[id] = (distanceSums[id] as number) + Math.sqrt(value);
  }
  const { alpha, temperature, low, high } = settings;
  const raw = new Float64Array(clusters);
  for (let c = 0; c < clusters; c++) {
    const size = clusterSizes[c] as number;
    if (size > 1) raw[c] = (distanceSums[c] as number) / size / Math.log(size + alpha);
  }
  // PCL: a cluster of one point (or none: an empty cluster, where PCL's list of distances is
  // empty) gets the largest φ of the others — the max over the array, in which it is still 0.
  let largest = 0;
  for (const value of raw) largest = Math.max(largest, value);
  for (let c = 0; c < clusters; c++) if ((clusterSizes[c] as number) <= 1) raw[c] = largest;
  // Degenerate cases where PCL divides by zero (documented deviation): a φ of 0 (every member on
  // its centroid) takes the smallest positive φ; when none is positive, all φ are equal (→ T).
  let smallest = Infinity;
  for (const value of raw) if (value > 0) smallest = Math.min(smallest, value);
  for (let c = 0; c < clusters; c++) if (!((raw[c] as number) > 0)) raw[c] = Number.isFinite(smallest) ? smallest : 1;
  const lower = percentile(raw, low);
  const upper = percentile(raw, high);
  const clipped = raw.map((value) => Math.min(Math.max(value, lower), upper));
  let mean = 0;
  for (const value of clipped) mean += value;
  mean /= clusters;
  const final = clipped.map((value) => (temperature * value) / mean);
  return {
    concentrations: tf.tensor1d(Float32Array.from(final), 'float32'),
    clusterSizes,
    squaredDistances,
    rawConcentrations: raw,
    clippedConcentrations: clipped,
  };
}

/**
 * The concentration φ of every cluster, as estimated by Prototypical Contrastive Learning (Li, Zhou,
 * Xiong & Hoi 2021, "Prototypical Contrastive Learning of Unsupervised Representations", eq. 12;
 * computed as the official code salesforce/PCL `main_pcl.py` `run_kmeans` computes its `density`):
 *
 * 1. `φ_c = mean_{z ∈ c} ||v_z − c||₂ / log(Z_c + α)` for every cluster with `Z_c > 1` members;
 * 2. a cluster with `Z_c <= 1` gets the largest φ of step 1 (PCL's `dmax`). This includes an
 *    **empty** cluster (`Z_c = 0`): PCL's list of distances is then empty, `len(dist) <= 1` holds,
 *    and it gets `dmax` as a singleton does (PCL's faiss k-means rarely leaves one empty: it splits
 *    large clusters, but the final nearest-centroid search can still empty one);
 * 3. clip to `[P_low, P_high]`, numpy's linear percentiles of the `K` values (default 10 and 90);
 * 4. scale: `φ = T · φ / mean(φ)`.
 *
 * A small φ means a tight cluster: its prototype's logits are sharpened in ProtoNCE (`protoNceLoss`
 * of `@contrastive/losses`). Deviation from PCL, in degenerate cases only, where PCL divides by
 * zero: a cluster whose members all lie on the centroid (φ = 0) takes the smallest positive φ, and
 * when no cluster has a positive φ (e.g. every cluster has one member) all φ equal T. The result
 * is therefore always finite and > 0.
 *
 * As PCL, pass the L2-normalised features and the centroids of k-means on them *before* the
 * centroids are normalised (PCL normalises them afterwards); {@link PrototypeBank} does this.
 *
 * @param features - `[N, d]` float32 features `v` (one row per instance). Borrowed.
 * @param assignments - `[N]` int32 cluster of every row, in `[0, K)` (PCL's `im2cluster`). Borrowed;
 *   read back to the host.
 * @param centroids - `[K, d]` float32 cluster centres `c`. Borrowed.
 * @param options - `alpha`, `temperature`, `percentileClip`; see {@link PclConcentrationOptions}.
 * @returns `[K]` float32 concentrations φ, finite and > 0, with mean `temperature`; owned by the
 *   caller.
 * @throws `ContrastiveError` (from `@contrastive/core`): `INVALID_ARGUMENT` for a bad `alpha`
 *   (finite, >= 0), `temperature` (finite, > 0) or `percentileClip`, or an assignment outside
 *   `[0, K)`; `SHAPE_MISMATCH`, `DTYPE_MISMATCH` or `DISPOSED` for a tensor of the wrong rank,
 *   size, dtype or dimension; `NON_FINITE` when a distance is NaN or infinite.
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { pclConcentration } from '@contrastive/samplers';
 *
 * const features = tf.tensor2d([[1, 0], [0.8, 0.6], [0, 1], [0.6, 0.8], [-1, 0]]);
 * const assignments = tf.tensor1d([0, 0, 1, 1, 2], 'int32');
 * const centroids = tf.tensor2d([[0.9, 0.3], [0.3, 0.9], [-1, 0]]);
 * pclConcentration(features, assignments, centroids).print(); // Tensor [0.2, 0.2, 0.2]
 * ```
 * @category Prototypes
 */
export function pclConcentration(
  features: tf.Tensor2D,
  assignments: tf.Tensor1D,
  centroids: tf.Tensor2D,
  options: PclConcentrationOptions = {},
): tf.Tensor1D {
  return computeConcentration(features, assignments, centroids, checkConcentrationOptions(options, CONCENTRATION), CONCENTRATION)
    .concentrations;
}

/**
 * {@link pclConcentration} with its intermediate values, for inspection and tests: the cluster
 * sizes, the squared distances of the rows to their centroids, φ before and after the clipping.
 *
 * @param features - `[N, d]` float32. Borrowed.
 * @param assignments - `[N]` int32 in `[0, K)`. Borrowed.
 * @param centroids - `[K, d]` float32. Borrowed.
 * @param options - see {@link PclConcentrationOptions}.
 * @returns the {@link PclConcentrationDetails}; its `concentrations` tensor is owned by the caller.
 * @throws `ContrastiveError` as {@link pclConcentration}.
 * @example
 * ```ts
 * const details = pclConcentrationDetails(features, assignments, centroids);
 * details.clusterSizes; // Int32Array [2, 2, 1]
 * details.concentrations.dispose();
 * ```
 * @category Prototypes
 */
export function pclConcentrationDetails(
  features: tf.Tensor2D,
  assignments: tf.Tensor1D,
  centroids: tf.Tensor2D,
  options: PclConcentrationOptions = {},
): PclConcentrationDetails {
  const fn = 'pclConcentrationDetails';
  return computeConcentration(features, assignments, centroids, checkConcentrationOptions(options, fn), fn);
}

// ---------------------------------------------------------------------------------------------
// PrototypeBank (PCL's E-step)
// ---------------------------------------------------------------------------------------------

/**
 * One E-step's clusterings at `M` granularities. Structurally identical to `ProtoNcePrototypes` of
 * `@contrastive/losses`, so `protoNceLoss({ ...bank.prototypes() })` and
 * `loss.withPrototypes(bank.prototypes())` accept it.
 * @category Prototypes
 */
export interface PrototypeSet {
  /** Per granularity `m`, `[K_m, d]` float32 L2-normalised prototypes `c^m_j` (PCL's `centroids`). */
  readonly prototypes: readonly tf.Tensor2D[];
  /** Per granularity, `[K_m]` float32 concentrations `φ^m_j`, finite and > 0 (PCL's `density`). */
  readonly concentrations: readonly tf.Tensor1D[];
  /** Per granularity, `[N]` int32 cluster in `[0, K_m)` of every instance (dataset row; PCL's `im2cluster`). */
  readonly assignments: readonly tf.Tensor1D[];
}

/** Options of {@link PrototypeBank}. @category Prototypes */
export interface PrototypeBankOptions {
  /**
   * The number of clusters `K_m` of each granularity, positive integers (PCL's `--num-cluster`,
   * `[25000, 50000, 100000]` on ImageNet; scale them to the dataset). Every update needs at least
   * `max(numClusters)` rows.
   */
  readonly numClusters: readonly number[];
  /** Mean T of the concentrations (see {@link pclConcentration}); a finite number > 0. @defaultValue 0.2 */
  readonly temperature?: number;
  /** Smoothing α of the concentration (see {@link pclConcentration}); a finite number >= 0. @defaultValue 10 */
  readonly alpha?: number;
  /** Percentile clip of the concentrations (see {@link pclConcentration}). @defaultValue [10, 90] */
  readonly percentileClip?: readonly [number, number];
  /**
   * The k-means metric, passed to `kMeans` of `@contrastive/core`. PCL clusters with faiss's L2
   * index on the L2-normalised features: `'euclidean'`.
   * @defaultValue 'euclidean'
   */
  readonly metric?: 'euclidean' | 'cosine';
  /** Lloyd iterations of each k-means run, an integer >= 1. @defaultValue 20 (PCL's faiss `niter`) */
  readonly maxIterations?: number;
  /**
   * k-means runs per granularity (different k-means++ seeds from `rng`); the one with the lowest
   * inertia is kept, which guards against a k-means++ draw that seeds two centres in one cluster. An
   * integer >= 1.
   * @defaultValue 5 (PCL's faiss `nredo`)
   */
  readonly restarts?: number;
  /** Random stream of the k-means initialisations. @defaultValue `new Rng(0)` */
  readonly rng?: Rng;
}

interface Clustering {
  readonly prototypes: tf.Tensor2D;
  readonly concentrations: tf.Tensor1D;
  readonly assignments: tf.Tensor1D;
}

/**
 * The E-step of Prototypical Contrastive Learning (Li, Zhou, Xiong & Hoi 2021, "Prototypical
 * Contrastive Learning of Unsupervised Representations"; salesforce/PCL `main_pcl.py`
 * `run_kmeans`): once per epoch, the momentum features of the whole dataset are clustered at
 * several granularities, and each clustering gives prototypes, their concentrations φ and the
 * cluster of every instance — the inputs of ProtoNCE (`protoNceLoss` of `@contrastive/losses`).
 *
 * {@link PrototypeBank.update} follows PCL's order: L2-normalise the features; per granularity run
 * k-means (`kMeans` of `@contrastive/core`, k-means++ initialisation, `maxIterations` Lloyd steps);
 * compute the concentrations ({@link pclConcentration}) on the normalised features and the
 * un-normalised centroids; then L2-normalise the centroids, which become the prototypes. The
 * tensors are kept (they survive an enclosing `tf.tidy`) until the next update or `dispose()`.
 *
 * The assignments are those of `kMeans`, the nearest centroid of every row among the returned
 * centroids (PCL searches its trained faiss index once more for the same). Differences from PCL:
 * k-means is `kMeans` of `@contrastive/core`, k-means++ seeded from `rng` (PCL: faiss with
 * `seed = granularity index`, with the same `nredo = 5` restarts as `restarts`, and a subsample of at most
 * 1,000 points per centroid for the training, where here every row is used; faiss splits a large
 * cluster to fill an empty one, `kMeans` moves the farthest point into it). With
 * `metric: 'cosine'` (spherical k-means, not PCL's) the centroids are already unit vectors when
 * the concentrations are computed.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Rng } from '@contrastive/core';
 * import { protoNceLoss } from '@contrastive/losses';
 * import { PrototypeBank } from '@contrastive/samplers';
 *
 * // The momentum features of a dataset of 200 instances (row = dataset index), 8 dimensions.
 * const features = tf.tensor2d(new Rng(1).normalArray(200 * 8), [200, 8]);
 * const bank = new PrototypeBank({ numClusters: [10, 20], rng: new Rng(0) });
 * bank.update(features);                       // once per epoch (PCL's E-step)
 * const set = bank.prototypes();
 * console.log(set.prototypes[1].shape);        // [20, 8]
 * console.log(set.assignments[0].shape);       // [200]
 * const loss = protoNceLoss({ ...set });       // or loss.withPrototypes(set) after the next update
 * bank.dispose();
 * ```
 * @category Prototypes
 */
export class PrototypeBank {
  /** The number of clusters of each granularity. */
  readonly numClusters: readonly number[];
  private readonly settings: CheckedConcentrationOptions;
  private readonly metric: 'euclidean' | 'cosine';
  private readonly maxIterations: number;
  private readonly restarts: number;
  private readonly rng: Rng;
  private clusterings: Clustering[] | undefined;
  private dimension: number | undefined;
  private disposed = false;

  /**
   * @param options - `numClusters` (required), `temperature`, `alpha`, `percentileClip`, `metric`,
   *   `maxIterations`, `restarts`, `rng`; see {@link PrototypeBankOptions}.
   * @throws `ContrastiveError` `INVALID_ARGUMENT` naming the option: `numClusters` not a non-empty
   *   array of positive integers, a bad `temperature`, `alpha`, `percentileClip`, `metric`,
   *   `maxIterations` or `restarts`, or an `rng` that is not an `Rng`.
   */
  constructor(options: PrototypeBankOptions) {
    if (options === null || typeof options !== 'object') {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'options' passed to '${BANK}' must be { numClusters, ... }, got ${describeValue(options)}`,
      );
    }
    const { numClusters } = options;
    if (!Array.isArray(numClusters) || numClusters.length === 0) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'numClusters' passed to '${BANK}' must be a non-empty array of positive integers (one per granularity), got ${describeValue(numClusters)}`,
      );
    }
    numClusters.forEach((k, m) => assertNumber(k, `numClusters[${m}]`, BANK, { integer: true, min: 1 }));
    this.numClusters = Object.freeze([...numClusters]);
    this.settings = checkConcentrationOptions(options, BANK);
    const metric = options.metric ?? 'euclidean';
    assertOneOf(metric, ['euclidean', 'cosine'] as const, 'metric', BANK);
    this.metric = metric;
    const maxIterations = options.maxIterations ?? 20;
    assertNumber(maxIterations, 'maxIterations', BANK, { integer: true, min: 1 });
    this.maxIterations = maxIterations;
    const restarts = options.restarts ?? 5;
    assertNumber(restarts, 'restarts', BANK, { integer: true, min: 1 });
    this.restarts = restarts;
    const rng = options.rng ?? new Rng(0);
    if (!(rng instanceof Rng)) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'rng' passed to '${BANK}' must be an Rng, got ${describeValue(rng)}`);
    }
    this.rng = rng;
  }

  /** True after the first {@link PrototypeBank.update} (until `dispose()`). */
  get ready(): boolean {
    return this.clusterings !== undefined;
  }

  /**
   * Run the E-step on the features of the whole dataset and replace the previous prototypes
   * (disposing them: tensors borrowed from an earlier {@link PrototypeBank.prototypes} call become
   * invalid).
   *
   * @param features - `[N, d]` float32 momentum features, row `i` = dataset index `i`; finite,
   *   `N >= max(numClusters)`, `d` the same at every update. Borrowed (normalised internally).
   * @throws `ContrastiveError`: `STATE` after `dispose()`; `SHAPE_MISMATCH`, `DTYPE_MISMATCH` or
   *   `DISPOSED` for `features` that is not a live rank-2 float32 tensor, has fewer rows than the
   *   largest `numClusters` or another dimension than the first update's; `NON_FINITE` for NaN or
   *   infinite features. On error the previous prototypes are kept.
   */
  update(features: tf.Tensor2D): void {
    const fn = `${BANK}.update`;
    this.assertAlive(fn);
    assertEmbeddings(features, 'features', fn);
    const [rows, dims] = features.shape;
    if (this.dimension !== undefined && dims !== this.dimension) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument 'features' passed to '${fn}' must have ${this.dimension} columns (the dimension of the first update), got ${dims}`,
      );
    }
    const largest = Math.max(...this.numClusters);
    if (rows < largest) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument 'features' passed to '${fn}' must have at least ${largest} rows (the largest of numClusters, [${this.numClusters.join(', ')}]), got ${rows}`,
      );
    }
    // One scalar read: x · 0 is 0 for finite x and NaN for NaN and ±Infinity.
    const probe = tf.tidy(() => tf.sum(tf.mul(features, 0)));
    const finite = probe.dataSync()[0] === 0;
    probe.dispose();
    if (!finite) {
      throw new ContrastiveError('NON_FINITE', `Argument 'features' passed to '${fn}' must hold finite numbers, got NaN or Infinity`);
    }
    const next: Clustering[] = [];
    const normalised = tf.tidy(() => l2Normalize(features));
    try {
      for (const k of this.numClusters) next.push(this.cluster(normalised, k, fn));
    } catch (error) {
      tf.dispose(next.flatMap((clustering) => [clustering.prototypes, clustering.concentrations, clustering.assignments]));
      throw error;
    } finally {
      normalised.dispose();
    }
    this.release();
    for (const clustering of next) {
      tf.keep(clustering.prototypes);
      tf.keep(clustering.concentrations);
      tf.keep(clustering.assignments);
    }
    this.clusterings = next;
    this.dimension = dims;
  }

  /**
   * The prototypes, concentrations and assignments of the last {@link PrototypeBank.update}, one
   * entry per granularity in the order of `numClusters`.
   *
   * @returns a {@link PrototypeSet} of tensors borrowed from the bank: `[K_m, d]` float32 unit-norm
   *   prototypes, `[K_m]` float32 concentrations, `[N]` int32 assignments. Valid until the next
   *   update or `dispose()`; do not dispose them.
   * @throws `ContrastiveError` `STATE` before the first update or after `dispose()`.
   */
  prototypes(): PrototypeSet {
    const fn = `${BANK}.prototypes`;
    this.assertAlive(fn);
    const clusterings = this.clusterings;
    if (clusterings === undefined) {
      throw new ContrastiveError('STATE', `'${fn}' was called before the first 'update(features)': there are no prototypes yet`);
    }
    return {
      prototypes: clusterings.map((clustering) => clustering.prototypes),
      concentrations: clusterings.map((clustering) => clustering.concentrations),
      assignments: clusterings.map((clustering) => clustering.assignments),
    };
  }

  /** Dispose the kept tensors; the bank cannot be used afterwards. Idempotent. */
  dispose(): void {
    this.release();
    this.disposed = true;
  }

  private release(): void {
    if (this.clusterings === undefined) return;
    tf.dispose(this.clusterings.flatMap((clustering) => [clustering.prototypes, clustering.concentrations, clustering.assignments]));
    this.clusterings = undefined;
  }

  private assertAlive(fn: string): void {
    if (this.disposed) throw new ContrastiveError('STATE', `'${fn}' was called after 'dispose()'`);
  }

  /** One granularity: k-means (best of `restarts`), φ on the raw centroids, then normalised centroids. */
  private cluster(normalised: tf.Tensor2D, k: number, fn: string): Clustering {
    let best: ReturnType<typeof kMeans> | undefined;
    for (let run = 0; run < this.restarts; run++) {
      const result = kMeans(normalised, { k, metric: this.metric, maxIterations: this.maxIterations, rng: this.rng });
      if (best === undefined || result.inertia < best.inertia) {
        if (best !== undefined) tf.dispose([best.centroids, best.assignments]);
        best = result;
      } else {
        tf.dispose([result.centroids, result.assignments]);
      }
    }
    const { centroids, assignments } = best as ReturnType<typeof kMeans>;
    try {
      const { concentrations } = computeConcentration(normalised, assignments, centroids, this.settings, fn);
      const prototypes = tf.tidy(() => l2Normalize(centroids));
      return { prototypes, concentrations, assignments };
    } catch (error) {
      assignments.dispose();
      throw error;
    } finally {
      centroids.dispose();
    }
  }
}
