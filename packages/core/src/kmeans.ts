import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError } from './errors.js';
import { Rng } from './rng.js';
import { assertEmbeddings, assertNumber, assertOneOf } from './validate.js';

const FN = 'kMeans';

/**
 * Largest squared row norm accepted: the device computes `||c||² − 2 x·c` in float32, which must
 * not overflow (float32 max ≈ 3.4e38).
 */
const MAX_SQUARED_NORM = 1e37;

/**
 * Elements of the `[rows, k]` score block and of the `[rows, d]` chunk of points that the default
 * `chunkRows` allows (4 MB of float32 each).
 */
const DEFAULT_CHUNK_ELEMENTS = 2 ** 20;

/**
 * Options of {@link kMeans}.
 * @category Clustering
 */
export interface KMeansOptions {
  /** Number of clusters, an integer in `[1, n]`. */
  readonly k: number;
  /**
   * `'euclidean'`: Lloyd's k-means on squared Euclidean distances. `'cosine'`: spherical k-means
   * (Dhillon & Modha 2001): points and centroids are L2-normalised, a point goes to the centroid of
   * largest cosine, and a centroid is the normalised sum of its points.
   * @defaultValue 'euclidean'
   */
  readonly metric?: 'euclidean' | 'cosine';
  /**
   * Most Lloyd iterations (each one centroid update followed by a reassignment); 0 returns the
   * initial centroids and their assignments. PCL runs faiss with `niter = 20`.
   * @defaultValue 100
   */
  readonly maxIterations?: number;
  /**
   * Stop when an iteration lowers the inertia by no more than `tolerance` times its previous value
   * (or changes no assignment).
   * @defaultValue 1e-4
   */
  readonly tolerance?: number;
  /**
   * Seeding: `'k-means++'` (Arthur & Vassilvitskii 2007, D² sampling) or `'random'` (`k` distinct
   * points drawn uniformly). Ignored when `initialCentroids` is given.
   * @defaultValue 'k-means++'
   */
  readonly init?: 'k-means++' | 'random';
  /**
   * Source of randomness for the seeding; advanced by the call (not at all when
   * `initialCentroids` is given). @defaultValue `new Rng(0)`
   */
  readonly rng?: Rng;
  /**
   * Rows per assignment chunk: bounds the `[chunkRows, k]` score block on the device.
   * @defaultValue `max(1, floor(2^20 / max(k, d)))` (1,048 rows for k = 1,000 and d <= 1,000)
   */
  readonly chunkRows?: number;
  /**
   * Start from these centroids instead of seeding: `[k, d]` float32, finite (cosine: non-zero
   * rows; they are normalised). Borrowed, not disposed.
   */
  readonly initialCentroids?: tf.Tensor2D;
  /**
   * Called after the seeding and first assignment (`iteration` 0) and after every iteration, with
   * the inertia of the current centroids; for progress reports.
   */
  readonly onIteration?: (progress: { readonly iteration: number; readonly inertia: number }) => void;
}

/**
 * Result of {@link kMeans}. The assignments are the nearest centroids of the returned centroids,
 * and the inertia is measured between the two.
 * @category Clustering
 */
export interface KMeansResult {
  /** `[k, d]` float32 centroids, owned by the caller (cosine: unit rows). */
  readonly centroids: tf.Tensor2D;
  /** `[n]` int32 index of each point's centroid, owned by the caller. */
  readonly assignments: tf.Tensor1D;
  /**
   * Euclidean: sum over the points of the squared distance to their centroid; cosine: sum of
   * `max(0, 1 − cos(point, centroid))`. Accumulated in float64 on the host; never negative.
   */
  readonly inertia: number;
  /** Lloyd iterations run (centroid updates), `<= maxIterations`. */
  readonly iterations: number;
  /**
   * Whether the last iteration met the tolerance or changed no assignment; `false` when
   * `maxIterations` stopped the run first (always with `maxIterations: 0`).
   */
  readonly converged: boolean;
}

/** Squared Euclidean distance between row `i` of `a` and row `j` of `b` (float64 accumulation). */
function squaredDistance(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, d: number): number {
  let sum = 0;
  const offsetA = i * d;
  const offsetB = j * d;
  for (let t = 0; t < d; t++) {
    const diff = (a[offsetA + t] as number) - (b[offsetB + t] as number);
    sum += diff * diff;
  }
  return sum;
}

function dot(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, d: number): number {
  let sum = 0;
  const offsetA = i * d;
  const offsetB = j * d;
  for (let t = 0; t < d; t++) sum += (a[offsetA + t] as number) * (b[offsetB + t] as number);
  return sum;
}

/**
 * Host copy of `values` (`[rows, d]`) checked for finite, float32-safe rows; with `normalize`, the
 * rows are L2-normalised (in float64, then rounded) and zero rows are rejected.
 */
function prepareRows(values: Float32Array, rows: number, d: number, normalize: boolean, argument: string): Float32Array {
  const out = normalize ? new Float32Array(rows * d) : values;
  for (let i = 0; i < rows; i++) {
    const squared = dot(values, i, values, i, d);
    if (!Number.isFinite(squared)) {
      throw new ContrastiveError('NON_FINITE', `Argument '${argument}' passed to '${FN}' must be finite, got NaN or Infinity in row ${i}`);
    }
    if (normalize) {
      if (squared === 0) {
        throw new ContrastiveError(
          'INVALID_ARGUMENT',
          `Argument '${argument}' passed to '${FN}' must have non-zero rows with metric 'cosine' (a zero row has no direction), got a zero row at ${i}`,
        );
      }
      const inverse = 1 / Math.sqrt(squared);
      for (let t = 0; t < d; t++) out[i * d + t] = (values[i * d + t] as number) * inverse;
    } else if (squared > MAX_SQUARED_NORM) {
      throw new ContrastiveError(
        'NON_FINITE',
        `Argument '${argument}' passed to '${FN}' must have squared row norms <= ${MAX_SQUARED_NORM} (float32 distances would overflow), got ${squared} in row ${i}`,
      );
    }
  }
  return out;
}

/**
 * Scores of every row against `m` centres on the device, `[chunkRows, m]` at a time:
 * `||c||² − 2 x·c` (or `−2 x·c` with `dropNorms`), reduced per row by `argMin` (nearest centre,
 * ties to the lower index) or `min`. The centres are transposed on the host so that the device runs
 * the plain (fast) `matMul`; chunks are uploaded from the host copy because slicing a large device
 * tensor is slow on wasm.
 */
function scoreRows(
  x: Float32Array,
  n: number,
  d: number,
  centres: Float32Array,
  m: number,
  dropNorms: boolean,
  chunkRows: number,
  reduce: 'argMin' | 'min',
): Int32Array | Float32Array {
  const weights = new Float32Array(d * m);
  const bias = new Float32Array(m);
  for (let c = 0; c < m; c++) {
    for (let t = 0; t < d; t++) weights[t * m + c] = -2 * (centres[c * d + t] as number);
    bias[c] = dropNorms ? 0 : dot(centres, c, centres, c, d);
  }
  const out = reduce === 'argMin' ? new Int32Array(n) : new Float32Array(n);
  const weightsTensor = tf.tensor2d(weights, [d, m]);
  const biasTensor = tf.tensor2d(bias, [1, m]);
  try {
    for (let start = 0; start < n; start += chunkRows) {
      const rows = Math.min(chunkRows, n - start);
      const reduced = tf.tidy(() => {
        const chunk = tf.tensor2d(x.subarray(start * d, (start + rows) * d), [rows, d]);
        const scores = tf.add(tf.matMul(chunk, weightsTensor), biasTensor);
        return reduce === 'argMin' ? tf.argMin(scores, 1) : tf.min(scores, 1);
      });
      try {
        out.set(reduced.dataSync() as Int32Array | Float32Array, start);
      } finally {
        reduced.dispose();
      }
    }
  } finally {
    tf.dispose([weightsTensor, biasTensor]);
  }
  return out;
}

/** Nearest centroid of every row (cosine: largest cosine), on the device. */
function assign(x: Float32Array, n: number, d: number, centroids: Float32Array, k: number, cosine: boolean, chunkRows: number): Int32Array {
  return scoreRows(x, n, d, centroids, k, cosine, chunkRows, 'argMin') as Int32Array;
}

/** Centres accepted by the seeding before their D² are brought up to date on the device. */
const SEEDING_BATCH = 128;
/** Consecutive rejected proposals after which the seeding brings D² up to date early. */
const SEEDING_PATIENCE = 16;

/**
 * k-means++ seeding (Arthur & Vassilvitskii 2007): the first centre is `rng.int(n)`, each next one
 * is drawn with probability proportional to D², the squared distance to the nearest centre chosen
 * so far.
 *
 * The D² of all points are brought up to date on the device in batches (one `[n, d] x [d, b]`
 * product per up to `SEEDING_BATCH` new centres, float32, so the whole seeding costs about one
 * assignment step), and the draws in between are exact rejection sampling: a point proposed with
 * probability proportional to its stale D² `U` (`rng.uniform() · sum(U)` located in the running
 * sums, in index order, by binary search) is accepted with probability `D²/U`, its D² being
 * finished on the host against the centres chosen since the update (a second `rng.uniform()` is
 * drawn only when one of them is closer). When every D² is 0 (fewer distinct points than centres)
 * the next centre is a uniformly drawn point not chosen yet.
 */
function kMeansPlusPlus(x: Float32Array, n: number, d: number, k: number, rng: Rng, chunkRows: number): Int32Array {
  const chosen = new Int32Array(k);
  const taken = new Uint8Array(n);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) norms[i] = dot(x, i, x, i, d);
  const upper = new Float64Array(n).fill(Infinity);
  const running = new Float64Array(n);
  let current = 0; // the centres chosen[0 .. current) are included in `upper`
  const refresh = (count: number): void => {
    const batch = count - current;
    const centres = new Float32Array(batch * d);
    for (let j = 0; j < batch; j++) {
      const row = chosen[current + j] as number;
      centres.set(x.subarray(row * d, (row + 1) * d), j * d);
    }
    const rows = Math.max(chunkRows, Math.floor(DEFAULT_CHUNK_ELEMENTS / Math.max(batch, d)));
    const nearest = scoreRows(x, n, d, centres, batch, false, rows, 'min');
    let total = 0;
    for (let i = 0; i < n; i++) {
      const value = taken[i] === 1 ? 0 : Math.max(0, (norms[i] as number) + (nearest[i] as number));
      if (value < (upper[i] as number)) upper[i] = value;
      total += upper[i] as number;
      running[i] = total;
    }
    current = count;
  };
  const first = rng.int(n);
  chosen[0] = first;
  taken[first] = 1;
  for (let c = 1; c < k; c++) {
    if (current === 0 || c - current >= SEEDING_BATCH) refresh(c);
    let pick = -1;
    let rejected = 0;
    while (pick < 0) {
      const total = running[n - 1] as number;
      if (!(total > 0)) {
        let skip = rng.int(n - c);
        for (let i = 0; i < n && pick < 0; i++) {
          if (taken[i] === 1) continue;
          if (skip === 0) pick = i;
          skip--;
        }
        break;
      }
      const threshold = rng.uniform() * total;
      // The first index whose running sum exceeds the threshold (it has U > 0).
      let low = 0;
      let high = n - 1;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if ((running[middle] as number) > threshold) high = middle;
        else low = middle + 1;
      }
      const stale = upper[low] as number;
      let exact = stale;
      for (let j = current; j < c; j++) exact = Math.min(exact, squaredDistance(x, low, x, chosen[j] as number, d));
      if (exact === stale || rng.uniform() * stale < exact) {
        pick = low;
      } else if (++rejected >= SEEDING_PATIENCE) {
        refresh(c);
        rejected = 0;
      }
    }
    chosen[c] = pick;
    taken[pick] = 1;
  }
  return chosen;
}

/** Per-point cost (squared distance, or `1 − cos`) to the assigned centroid, in float64. */
function costs(x: Float32Array, n: number, d: number, centroids: Float32Array, assignments: Int32Array, cosine: boolean): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = assignments[i] as number;
    // Unit rows rounded to float32 can have a dot product a hair above 1: the cost is never negative.
    out[i] = cosine ? Math.max(0, 1 - dot(x, i, centroids, c, d)) : squaredDistance(x, i, centroids, c, d);
  }
  return out;
}

function sum(values: Float64Array): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i] as number;
  return total;
}

/**
 * Lloyd's update: each centroid becomes the mean of its points (cosine: their normalised sum,
 * kept unchanged when the sum is zero). An empty cluster is re-seeded with the point farthest from
 * its centroid (largest cost; ties to the lower index) among clusters with at least two points,
 * which leaves its cluster (as scikit-learn does); several empty clusters take the farthest points
 * in turn, in cluster order.
 */
function update(
  x: Float32Array,
  n: number,
  d: number,
  previous: Float32Array,
  k: number,
  assignments: Int32Array,
  pointCosts: Float64Array,
  cosine: boolean,
): Float32Array {
  const sums = new Float64Array(k * d);
  const counts = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    const c = assignments[i] as number;
    counts[c] = (counts[c] as number) + 1;
    const from = i * d;
    const to = c * d;
    for (let t = 0; t < d; t++) sums[to + t] = (sums[to + t] as number) + (x[from + t] as number);
  }
  const empty: number[] = [];
  for (let c = 0; c < k; c++) if (counts[c] === 0) empty.push(c);
  if (empty.length > 0) {
    const order = Int32Array.from({ length: n }, (_, i) => i).sort(
      (a, b) => (pointCosts[b] as number) - (pointCosts[a] as number) || a - b,
    );
    let next = 0;
    for (let r = 0; r < n && next < empty.length; r++) {
      const i = order[r] as number;
      const from = assignments[i] as number;
      if ((counts[from] as number) < 2) continue;
      const to = empty[next++] as number;
      counts[from] = (counts[from] as number) - 1;
      counts[to] = 1;
      for (let t = 0; t < d; t++) {
        const value = x[i * d + t] as number;
        sums[from * d + t] = (sums[from * d + t] as number) - value;
        sums[to * d + t] = value;
      }
    }
  }
  const centroids = new Float32Array(k * d);
  for (let c = 0; c < k; c++) {
    const count = counts[c] as number;
    let scale: number;
    if (cosine) {
      let squared = 0;
      for (let t = 0; t < d; t++) squared += (sums[c * d + t] as number) ** 2;
      scale = squared > 0 ? 1 / Math.sqrt(squared) : 0;
    } else {
      scale = count > 0 ? 1 / count : 0;
    }
    if (scale === 0) {
      // Cosine clusters whose points sum to zero (or, unreachable, an empty cluster) keep their centroid.
      centroids.set(previous.subarray(c * d, (c + 1) * d), c * d);
      continue;
    }
    for (let t = 0; t < d; t++) centroids[c * d + t] = (sums[c * d + t] as number) * scale;
  }
  return centroids;
}

function sameAssignments(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * k-means clustering (Lloyd 1982) with k-means++ seeding (Arthur & Vassilvitskii 2007, "k-means++:
 * The Advantages of Careful Seeding"), for the prototypes of PCL (Li et al. 2021, "Prototypical
 * Contrastive Learning of Unsupervised Representations", which runs faiss k-means) and SwAV-style
 * clustering. With `metric: 'cosine'` it is spherical k-means (Dhillon & Modha 2001).
 *
 * The assignment step runs on the TensorFlow.js backend, `[chunkRows, k]` scores at a time, as
 * `argmin_c (||c||² − 2 x·c)` with a plain `matMul` against the host-transposed centroids; the
 * centroid update, the k-means++ seeding and the inertia run on the host in float64 over one host
 * copy of the points (so the result does not depend on the backend beyond the assignment of exact
 * ties). Each iteration updates the centroids, then reassigns; the run stops after `maxIterations`,
 * when no assignment changes, or when the inertia falls by no more than `tolerance` times its
 * previous value. The returned assignments are always the nearest centroids of the returned
 * centroids (ties to the lower index).
 *
 * Empty clusters are re-seeded deterministically with the point farthest from its centroid (as
 * scikit-learn; faiss splits the largest cluster instead). When the points have fewer than `k`
 * distinct values some clusters stay empty, their centroids duplicating others. Differences from
 * faiss (PCL): no `nredo` restarts and no subsampling to `max_points_per_centroid`; k-means++
 * rather than random seeding by default.
 *
 * k-means++ draws its first centre with `rng.int(n)` and each next one with probability
 * proportional to D² (1 − cos up to a factor 2 for `'cosine'`); the D² are computed on the device
 * in float32 in batches of centres, and the draws in between are exact rejection sampling. The
 * same `rng` state gives the same result on a given backend. The call is synchronous: each
 * assignment chunk is read back with `dataSync`.
 *
 * Memory: one host copy of the points (`n·d` float32; cosine: a normalised copy), a few `[n]`
 * arrays, and on the device one `[chunkRows, d]` chunk with its `[chunkRows, k]` scores at a time.
 *
 * @param points - `[n, d]` float32, finite (cosine: non-zero rows). Borrowed, not disposed. Read
 *   to the host once (`n·d` float32).
 * @param options - `k` and the optional settings of {@link KMeansOptions}.
 * @returns centroids `[k, d]` float32 and assignments `[n]` int32 (both owned by the caller),
 *   inertia, iterations and whether the run converged.
 * @throws {@link ContrastiveError} `INVALID_ARGUMENT` naming the option when `k` is not an integer
 *   in `[1, n]`, a setting is out of range, or (cosine) a row is zero; `NON_FINITE` when `points`
 *   or `initialCentroids` hold NaN or Infinity (or Euclidean squared norms above 1e37);
 *   `SHAPE_MISMATCH` / `DTYPE_MISMATCH` / `DISPOSED` for a malformed tensor.
 * @example
 * ```ts
 * const points = tf.tensor2d([[0, 0], [0, 1], [10, 10], [10, 11]]);
 * const { centroids, assignments, inertia, iterations, converged } = kMeans(points, { k: 2, rng: new Rng(1) });
 * centroids.print();   // [[0, 0.5], [10, 10.5]]
 * assignments.print(); // [0, 0, 1, 1]
 * console.log(inertia, iterations, converged); // 1 1 true
 * ```
 * @category Clustering
 */
export function kMeans(points: tf.Tensor2D, options: KMeansOptions): KMeansResult {
  assertEmbeddings(points, 'points', FN);
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${FN}' must be an object with 'k', got ${options === null ? 'null' : typeof options}`);
  }
  const [n, d] = points.shape;
  const { k } = options;
  assertNumber(k, 'k', FN, { integer: true, min: 1, max: n });
  const metric = options.metric ?? 'euclidean';
  assertOneOf(metric, ['euclidean', 'cosine'] as const, 'metric', FN);
  const maxIterations = options.maxIterations ?? 100;
  assertNumber(maxIterations, 'maxIterations', FN, { integer: true, min: 0 });
  const tolerance = options.tolerance ?? 1e-4;
  assertNumber(tolerance, 'tolerance', FN, { min: 0 });
  const init = options.init ?? 'k-means++';
  assertOneOf(init, ['k-means++', 'random'] as const, 'init', FN);
  const rng = options.rng ?? new Rng(0);
  if (!(rng instanceof Rng)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'rng' passed to '${FN}' must be an Rng, got ${rng === null ? 'null' : typeof rng}`);
  }
  const chunkRows = options.chunkRows ?? Math.max(1, Math.floor(DEFAULT_CHUNK_ELEMENTS / Math.max(k, d)));
  assertNumber(chunkRows, 'chunkRows', FN, { integer: true, min: 1 });
  const { initialCentroids } = options;
  if (initialCentroids !== undefined) {
    assertEmbeddings(initialCentroids, 'initialCentroids', FN);
    const [rows, columns] = initialCentroids.shape;
    if (rows !== k || columns !== d) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument 'initialCentroids' passed to '${FN}' must have shape [${k}, ${d}] (k by the points' dimension), got [${rows}, ${columns}]`,
      );
    }
  }
  const { onIteration } = options;
  if (onIteration !== undefined && typeof onIteration !== 'function') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'onIteration' passed to '${FN}' must be a function, got ${typeof onIteration}`);
  }
  const cosine = metric === 'cosine';

  const x = prepareRows(points.dataSync() as Float32Array, n, d, cosine, 'points');
  let centroids: Float32Array;
  if (initialCentroids !== undefined) {
    centroids = Float32Array.from(prepareRows(initialCentroids.dataSync() as Float32Array, k, d, cosine, 'initialCentroids'));
  } else {
    let seeds: Int32Array;
    switch (init) {
      case 'k-means++':
        seeds = kMeansPlusPlus(x, n, d, k, rng, chunkRows);
        break;
      case 'random':
        seeds = rng.choice(n, k);
        break;
      default: {
        const unreachable: never = init;
        throw new Error(`unreachable init ${String(unreachable)}`);
      }
    }
    centroids = new Float32Array(k * d);
    for (let c = 0; c < k; c++) centroids.set(x.subarray((seeds[c] as number) * d, ((seeds[c] as number) + 1) * d), c * d);
  }

  let assignments = assign(x, n, d, centroids, k, cosine, chunkRows);
  let pointCosts = costs(x, n, d, centroids, assignments, cosine);
  let inertia = sum(pointCosts);
  onIteration?.({ iteration: 0, inertia });
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    const nextCentroids = update(x, n, d, centroids, k, assignments, pointCosts, cosine);
    const nextAssignments = assign(x, n, d, nextCentroids, k, cosine, chunkRows);
    const nextCosts = costs(x, n, d, nextCentroids, nextAssignments, cosine);
    const nextInertia = sum(nextCosts);
    iterations++;
    const unchanged = sameAssignments(assignments, nextAssignments);
    const decrease = inertia - nextInertia;
    centroids = nextCentroids;
    assignments = nextAssignments;
    pointCosts = nextCosts;
    const previousInertia = inertia;
    inertia = nextInertia;
    onIteration?.({ iteration: iterations, inertia });
    if (unchanged || decrease <= tolerance * previousInertia) {
      converged = true;
      break;
    }
  }
  return {
    centroids: tf.tensor2d(centroids, [k, d], 'float32'),
    assignments: tf.tensor1d(assignments, 'int32'),
    inertia,
    iterations,
    converged,
  };
}
