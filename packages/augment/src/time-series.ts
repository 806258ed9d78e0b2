/**
 * Augmentations of time series (`[n, T, c]` float32: `n` series of `T` steps and `c` channels),
 * after Um et al. 2017 ("Data Augmentation of Wearable Sensor Data for Parkinson's Disease
 * Monitoring using Convolutional Neural Networks") as implemented in uchidalab's
 * `time_series_augmentation` (`utils/augmentation.py`), and TS-TCC (Eldele et al. 2021,
 * "Time-Series Representation Learning via Temporal and Contextual Contrasting", whose weak view is
 * scaling and strong view is segment permutation then jitter).
 *
 * Random parameters are drawn on the host from core's `Rng`; splines and interpolation weights are
 * computed there in float64. Jitter, scaling and magnitude warp then change the batch with one
 * tensor op (add or mul); time warp, window crop and segment permutation read the batch to the host
 * (`dataSync`; a synchronous download on WebGL) and resample (`np.interp` in float64, rounded to
 * float32) or reorder it there — on wasm several times faster than gathers. Results are
 * bit-identical across backends. Values are unbounded: no op clips.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertOneOf, type Rng } from '@contrastive/core';
import { type Interval, assertFloat32, assertFloat32Entries, assertObject, assertRng, assertShape, clampToFloat32, describeValue, numberArray } from './checks.js';
import { type TensorAugmentation, addScaledNoise, assertBatch } from './tabular.js';

/** `[n, T, c]`: series, steps, channels. @category Time series */
export type SeriesShape = readonly [n: number, steps: number, channels: number];

function assertSeries(series: unknown, fn: string): asserts series is tf.Tensor3D {
  assertBatch(series, 3, 'float32', 'series', fn, '[n, T, c]');
}

function assertSeriesShape(shape: unknown, fn: string): asserts shape is SeriesShape {
  assertShape(shape, 3, fn, '[n, T, c]');
}

// ---------------------------------------------------------------------------------------------
// Cubic spline (scipy.interpolate.CubicSpline, bc_type='not-a-knot') and linear interpolation
// ---------------------------------------------------------------------------------------------

/** `np.linspace(0, steps - 1, count)`: `k * step`, with the last point exactly `steps - 1`. */
function knotPositions(steps: number, count: number): Float64Array {
  const positions = new Float64Array(count);
  const step = (steps - 1) / (count - 1);
  for (let k = 0; k < count; k++) positions[k] = k * step;
  positions[count - 1] = steps - 1;
  return positions;
}

/** Solve `A X = B` (A `[size, size]`, B `[size, columns]`, row-major) by Gaussian elimination with partial pivoting. */
function solve(matrix: Float64Array, rhs: Float64Array, size: number, columns: number): Float64Array {
  const a = Float64Array.from(matrix);
  const b = Float64Array.from(rhs);
  for (let col = 0; col < size; col++) {
    let pivot = col;
    for (let row = col + 1; row < size; row++) if (Math.abs(a[row * size + col] as number) > Math.abs(a[pivot * size + col] as number)) pivot = row;
    if (pivot !== col) {
      for (let k = 0; k < size; k++) [a[col * size + k], a[pivot * size + k]] = [a[pivot * size + k] as number, a[col * size + k] as number];
      for (let k = 0; k < columns; k++) [b[col * columns + k], b[pivot * columns + k]] = [b[pivot * columns + k] as number, b[col * columns + k] as number];
    }
    const diagonal = a[col * size + col] as number;
    for (let row = col + 1; row < size; row++) {
      const factor = (a[row * size + col] as number) / diagonal;
      if (factor === 0) continue;
      for (let k = col; k < size; k++) a[row * size + k] = (a[row * size + k] as number) - factor * (a[col * size + k] as number);
      for (let k = 0; k < columns; k++) b[row * columns + k] = (b[row * columns + k] as number) - factor * (b[col * columns + k] as number);
    }
  }
  for (let row = size - 1; row >= 0; row--) {
    for (let k = 0; k < columns; k++) {
      let value = b[row * columns + k] as number;
      for (let j = row + 1; j < size; j++) value -= (a[row * size + j] as number) * (b[j * columns + k] as number);
      b[row * columns + k] = value / (a[row * size + row] as number);
    }
  }
  return b;
}

/**
 * The not-a-knot cubic spline through `(x[k], y[k])` is linear in `y`: returns `basis` `[steps,
 * K]` with `spline(t) = sum_k basis[t K + k] y[k]` at `t = 0 .. steps-1`. Follows scipy's
 * `CubicSpline(x, y)` (default `bc_type='not-a-knot'`): the first derivatives `s` solve scipy's
 * tridiagonal system (a parabola for 3 points, the line for 2), then each interval is the Hermite
 * cubic `((c0 d + c1) d + c2) d + c3`, `d = t - x[i]`.
 */
function splineBasis(x: Float64Array, steps: number): Float64Array {
  const count = x.length;
  const dx = new Float64Array(count - 1);
  for (let i = 0; i < count - 1; i++) dx[i] = (x[i + 1] as number) - (x[i] as number);
  // Right-hand sides for y = e_0 .. e_{K-1}, as columns: rhs[i K + k].
  const slopeOf = (k: number, i: number): number => ((i + 1 === k ? 1 : 0) - (i === k ? 1 : 0)) / (dx[i] as number);
  const slopes = new Float64Array(count * count); // slopes[i K + k]: first derivative at x[i] of the spline through e_k
  if (count === 2) {
    for (let k = 0; k < 2; k++) {
      slopes[k] = slopeOf(k, 0);
      slopes[count + k] = slopeOf(k, 0);
    }
  } else {
    const matrix = new Float64Array(count * count);
    const rhs = new Float64Array(count * count);
    const d0 = dx[0] as number;
    const d1 = dx[1] as number;
    if (count === 3) {
      matrix.set([1, 1, 0, d1, 2 * (d0 + d1), d0, 0, 1, 1]);
      for (let k = 0; k < 3; k++) {
        rhs[k] = 2 * slopeOf(k, 0);
        rhs[3 + k] = 3 * (d0 * slopeOf(k, 1) + d1 * slopeOf(k, 0));
        rhs[6 + k] = 2 * slopeOf(k, 1);
      }
    } else {
      const last = count - 1;
      const dLast = dx[last - 1] as number;
      const dBefore = dx[last - 2] as number;
      const startSpan = (x[2] as number) - (x[0] as number);
      const endSpan = (x[last] as number) - (x[last - 2] as number);
      matrix[0] = d1;
      matrix[1] = startSpan;
      for (let i = 1; i < last; i++) {
        matrix[i * count + i - 1] = dx[i] as number;
        matrix[i * count + i] = 2 * ((dx[i - 1] as number) + (dx[i] as number));
        matrix[i * count + i + 1] = dx[i - 1] as number;
      }
      matrix[last * count + last - 1] = endSpan;
      matrix[last * count + last] = dBefore;
      for (let k = 0; k < count; k++) {
        rhs[k] = ((d0 + 2 * startSpan) * d1 * slopeOf(k, 0) + d0 * d0 * slopeOf(k, 1)) / startSpan;
        for (let i = 1; i < last; i++) rhs[i * count + k] = 3 * ((dx[i] as number) * slopeOf(k, i - 1) + (dx[i - 1] as number) * slopeOf(k, i));
        rhs[last * count + k] = (dLast * dLast * slopeOf(k, last - 2) + (2 * endSpan + dLast) * dBefore * slopeOf(k, last - 1)) / endSpan;
      }
    }
    slopes.set(solve(matrix, rhs, count, count));
  }
  const basis = new Float64Array(steps * count);
  let interval = 0;
  for (let t = 0; t < steps; t++) {
    while (interval < count - 2 && t >= (x[interval + 1] as number)) interval++;
    const h = dx[interval] as number;
    const d = t - (x[interval] as number);
    for (let k = 0; k < count; k++) {
      const slope = slopeOf(k, interval);
      const s0 = slopes[interval * count + k] as number;
      const s1 = slopes[(interval + 1) * count + k] as number;
      const curvature = (s0 + s1 - 2 * slope) / h;
      const c0 = curvature / h;
      const c1 = (slope - s0) / h - curvature;
      const c3 = interval === k ? 1 : 0;
      basis[t * count + k] = ((c0 * d + c1) * d + s0) * d + c3;
    }
  }
  return basis;
}

/**
 * numpy's `binary_search_with_guess` (`numpy/_core/src/multiarray/compiled_base.c`), the search of
 * `np.interp`: the index `j` with `xp[j] <= key < xp[j + 1]` for increasing `xp` (-1 below,
 * `len` above), starting from the previous answer. Ported exactly, so that for a non-increasing
 * `xp` (which `np.interp` does not check) it returns what numpy returns.
 */
function searchWithGuess(key: number, xp: Float64Array, len: number, start: number): number {
  const cache = 8; // LIKELY_IN_CACHE_SIZE
  let imin = 0;
  let imax = len;
  if (key > (xp[len - 1] as number)) return len;
  if (key < (xp[0] as number)) return -1;
  if (len <= 4) {
    let i = 1;
    while (i < len && key >= (xp[i] as number)) i++;
    return i - 1;
  }
  let guess = Math.max(1, Math.min(start, len - 3));
  if (key < (xp[guess] as number)) {
    if (key < (xp[guess - 1] as number)) {
      imax = guess - 1;
      if (guess > cache && key >= (xp[guess - cache] as number)) imin = guess - cache;
    } else return guess - 1;
  } else if (key < (xp[guess + 1] as number)) return guess;
  else if (key < (xp[guess + 2] as number)) return guess + 1;
  else {
    imin = guess + 2;
    if (guess < len - cache - 1 && key < (xp[guess + cache] as number)) imax = guess + cache;
  }
  while (imin < imax) {
    const mid = imin + ((imax - imin) >> 1);
    if (key >= (xp[mid] as number)) imin = mid + 1;
    else imax = mid;
  }
  return imin - 1;
}

/**
 * `np.interp(x, xp, fp)` in float64 for keys `x` in the order given, as numpy evaluates it
 * (`arr_interp`): the search above with the previous index as guess, `fp[0]` below, `fp[len - 1]`
 * at or above the end, `fp[j]` on an exact hit, else `slope (x - xp[j]) + fp[j]` with the "other
 * direction" retry when that is NaN. Where numpy would return an infinity (only possible on a
 * non-increasing `xp`: a zero-width step), `fp[j]` is returned instead. Writes `out[outIndex(k)]`.
 */
function numpyInterp(keys: ArrayLike<number>, xp: Float64Array, fp: Float64Array, out: Float32Array, outIndex: (k: number) => number): void {
  const len = xp.length;
  let j = 0;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k] as number;
    j = searchWithGuess(key, xp, len, j);
    let value: number;
    if (j === -1) value = fp[0] as number;
    else if (j >= len - 1) value = fp[len - 1] as number;
    else if (xp[j] === key) value = fp[j] as number;
    else {
      const slope = ((fp[j + 1] as number) - (fp[j] as number)) / ((xp[j + 1] as number) - (xp[j] as number));
      value = slope * (key - (xp[j] as number)) + (fp[j] as number);
      if (Number.isNaN(value)) {
        value = slope * (key - (xp[j + 1] as number)) + (fp[j + 1] as number);
        if (Number.isNaN(value) && fp[j] === fp[j + 1]) value = fp[j] as number;
      }
      if (!Number.isFinite(value)) value = fp[j] as number;
    }
    out[outIndex(k)] = value;
  }
}

// ---------------------------------------------------------------------------------------------
// Jitter
// ---------------------------------------------------------------------------------------------

/** Explicit parameters of {@link applyJitter}. @category Time series */
export interface JitterNoiseParams {
  /** Standard-normal draws `eps`, `n T c` finite numbers in row-major (`[n, T, c]`) order. */
  readonly epsilon: ArrayLike<number>;
}

/** Options of {@link jitter} and {@link applyJitter}. @category Time series */
export interface JitterOptions {
  /** Standard deviation `sigma` of the added noise, in [0, 3.4028234663852886e38]. @defaultValue 0.03 (Um et al. 2017; uchidalab `sigma=0.03`) */
  readonly std?: number;
}

/**
 * The augmentation returned by {@link jitter}.
 * @category Time series
 */
export interface Jitter extends TensorAugmentation<tf.Tensor3D> {
  /**
   * Draw the noise of a batch of the given shape, exactly as `apply` does.
   * @param shape - `[n, T, c]`, positive integers.
   * @param rng - advanced by `n T c` normal draws.
   * @returns `epsilon` as a `Float32Array` of `n T c` draws.
   */
  sample(shape: SeriesShape, rng: Rng): JitterNoiseParams;
}

/**
 * Add Gaussian noise with explicit draws: `series + std eps`. The deterministic form of
 * {@link jitter}.
 *
 * @param series - `[n, T, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link TensorAugmentation}).
 * @param params - `epsilon`, `n T c` standard-normal draws.
 * @param options - `std`. @defaultValue std 0.03
 * @returns a new `[n, T, c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` for a bad series, an `epsilon` without `n T c` numbers finite in float32,
 *   or a `std` outside [0, 3.4028234663852886e38].
 * @example
 * ```ts
 * applyJitter(tf.tensor3d([1, 2], [1, 2, 1]), { epsilon: [1, -1] }, { std: 0.5 }).print(); // [[[1.5], [1.5]]]
 * ```
 * @category Time series
 */
export function applyJitter(series: tf.Tensor3D, params: JitterNoiseParams, options: JitterOptions = {}): tf.Tensor3D {
  const fn = 'applyJitter';
  assertSeries(series, fn);
  assertObject(params, 'params', fn, '{ epsilon }');
  assertObject(options, 'options', fn);
  const std = options.std ?? 0.03;
  assertNumber(std, 'std', fn, { min: 0 });
  assertFloat32(std, 'std', fn);
  const [n, steps, channels] = series.shape;
  const epsilon = numberArray(params.epsilon, series.size, 'params.epsilon', fn, `n T c = ${n}*${steps}*${channels}`);
  assertFloat32Entries(epsilon, 'params.epsilon', fn);
  return addScaledNoise(series, epsilon, std);
}

/**
 * Jitter: additive Gaussian noise `x + eps`, `eps ~ N(0, std^2)` on every step and channel (Um et
 * al. 2017; uchidalab `jitter(x, sigma=0.03)`; TS-TCC's strong view uses it with a
 * dataset-specific `jitter_ratio`).
 *
 * Draw order: `n T c` `rng.normal()` draws in row-major order (made even when `std = 0`, which
 * copies the series).
 *
 * @param options - `std`.
 * @returns a {@link Jitter}; its `apply` returns a new `[n, T, c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `std` leaves [0, 3.4028234663852886e38].
 * @example
 * ```ts
 * const view = jitter({ std: 0.03 }).apply(tf.zeros([2, 100, 3]) as tf.Tensor3D, new Rng(0));
 * console.log(view.shape); // [2, 100, 3]
 * ```
 * @category Time series
 */
export function jitter(options: JitterOptions = {}): Jitter {
  const fn = 'jitter';
  assertObject(options, 'options', fn);
  const std = options.std ?? 0.03;
  assertNumber(std, 'std', fn, { min: 0 });
  assertFloat32(std, 'std', fn);
  return {
    name: fn,
    sample(shape: SeriesShape, rng: Rng) {
      assertSeriesShape(shape, `${fn}.sample`);
      assertRng(rng, `${fn}.sample`);
      return { epsilon: rng.normalArray(shape[0] * shape[1] * shape[2]) };
    },
    apply(series: tf.Tensor3D, rng: Rng): tf.Tensor3D {
      assertSeries(series, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      return addScaledNoise(series, rng.normalArray(series.size), std);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Scaling
// ---------------------------------------------------------------------------------------------

/** Explicit parameters of {@link applyScaling}. @category Time series */
export interface ScalingParams {
  /** One finite factor per series and channel, `n c` entries (`[n, c]` row-major). */
  readonly factor: ArrayLike<number>;
}

/** Options of {@link scaling}. @category Time series */
export interface ScalingOptions {
  /** Standard deviation of the factor `~ N(1, std^2)`, in [0, 3.4028234663852886e38] (drawn factors are clamped to float32's range). @defaultValue 0.1 (Um et al. 2017; uchidalab `sigma=0.1`) */
  readonly std?: number;
}

/**
 * The augmentation returned by {@link scaling}.
 * @category Time series
 */
export interface Scaling extends TensorAugmentation<tf.Tensor3D> {
  /**
   * Draw the factors of a batch of the given shape, exactly as `apply` does.
   * @param shape - `[n, T, c]`, positive integers.
   * @param rng - advanced by `n c` normal draws.
   * @returns `factor` as a `Float64Array` of `n c` entries.
   */
  sample(shape: SeriesShape, rng: Rng): ScalingParams;
}

function scaleSeries(series: tf.Tensor3D, factor: ArrayLike<number>): tf.Tensor3D {
  const [n, , channels] = series.shape;
  // Drawn factors beyond float32's range (only with a huge std) are clamped into it, so that a 0 times
  // a factor stays 0 (never `0 * Infinity = NaN`); explicit factors are checked to lie inside it.
  return tf.tidy(() => tf.mul(series, tf.tensor3d(Float32Array.from(factor, clampToFloat32), [n, 1, channels])));
}

/**
 * Multiply every series and channel by its factor: output `(i, t, ch)` is `series[i, t, ch]
 * factor[i c + ch]` (the factor rounded to float32). The deterministic form of {@link scaling}.
 *
 * @param series - `[n, T, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link TensorAugmentation}).
 * @param params - `factor`, `n c` finite numbers.
 * @returns a new `[n, T, c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` for a bad series or a `factor` without `n c` numbers finite in float32.
 * @example
 * ```ts
 * applyScaling(tf.tensor3d([1, 2, 3, 4], [1, 2, 2]), { factor: [2, 0.5] }).print(); // [[[2, 1], [6, 2]]]
 * ```
 * @category Time series
 */
export function applyScaling(series: tf.Tensor3D, params: ScalingParams): tf.Tensor3D {
  const fn = 'applyScaling';
  assertSeries(series, fn);
  assertObject(params, 'params', fn, '{ factor }');
  const [n, , channels] = series.shape;
  const factor = numberArray(params.factor, n * channels, 'params.factor', fn, `n c = ${n}*${channels}`);
  assertFloat32Entries(factor, 'params.factor', fn);
  return scaleSeries(series, factor);
}

/**
 * Scaling: every series and channel is multiplied by one factor `~ N(1, std^2)` (Um et al. 2017;
 * uchidalab `scaling(x, sigma=0.1)`, factor of shape `(n, c)`). TS-TCC's weak view is this op with
 * its dataset-specific factor distribution (`N(2, 1.1^2)` in its code: pass explicit factors to
 * {@link applyScaling} for that).
 *
 * Draw order: `n c` `rng.normal(1, std)` draws, series-major (`[n, c]` row-major).
 *
 * @param options - `std`.
 * @returns a {@link Scaling}; its `apply` returns a new `[n, T, c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `std` leaves [0, 3.4028234663852886e38].
 * @example
 * ```ts
 * scaling({ std: 0.1 }).apply(tf.ones([2, 3, 2]) as tf.Tensor3D, new Rng(0)).print();
 * // [[[1.1531, 0.9095], [1.1531, 0.9095], [1.1531, 0.9095]],
 * //  [[1.1703, 1.0150], [1.1703, 1.0150], [1.1703, 1.0150]]]  (one factor per series and channel)
 * ```
 * @category Time series
 */
export function scaling(options: ScalingOptions = {}): Scaling {
  const fn = 'scaling';
  assertObject(options, 'options', fn);
  const std = options.std ?? 0.1;
  assertNumber(std, 'std', fn, { min: 0 });
  assertFloat32(std, 'std', fn);
  const draw = (count: number, rng: Rng): Float64Array => {
    const factor = new Float64Array(count);
    for (let e = 0; e < count; e++) factor[e] = rng.normal(1, std);
    return factor;
  };
  return {
    name: fn,
    sample(shape: SeriesShape, rng: Rng) {
      assertSeriesShape(shape, `${fn}.sample`);
      assertRng(rng, `${fn}.sample`);
      return { factor: draw(shape[0] * shape[2], rng) };
    },
    apply(series: tf.Tensor3D, rng: Rng): tf.Tensor3D {
      assertSeries(series, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      return scaleSeries(series, draw(series.shape[0] * series.shape[2], rng));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Magnitude warp and time warp
// ---------------------------------------------------------------------------------------------

/** Explicit parameters of {@link applyMagnitudeWarp} and {@link applyTimeWarp}. @category Time series */
export interface WarpParams {
  /**
   * The random knot values `r ~ N(1, std^2)` (uchidalab's `random_warps`): `n (knots + 2) c`
   * finite numbers in `[n, knots + 2, c]` row-major order. Knot `k` sits at time
   * `np.linspace(0, T - 1, knots + 2)[k]`.
   */
  readonly warps: ArrayLike<number>;
}

/** Options of {@link applyMagnitudeWarp} and {@link applyTimeWarp}. @category Time series */
export interface WarpKnotOptions {
  /** Number of interior knots, an integer >= 0 (`knots + 2` knots in all, at both ends and evenly between). @defaultValue 4 */
  readonly knots?: number;
}

/** Options of {@link magnitudeWarp} and {@link timeWarp}. @category Time series */
export interface WarpOptions extends WarpKnotOptions {
  /** Standard deviation of the knot values `~ N(1, std^2)`, in [0, 3.4028234663852886e38]. @defaultValue 0.2 (Um et al. 2017; uchidalab `sigma=0.2`) */
  readonly std?: number;
}

/**
 * The augmentation returned by {@link magnitudeWarp} and {@link timeWarp}.
 * @category Time series
 */
export interface Warp extends TensorAugmentation<tf.Tensor3D> {
  /**
   * Draw the knot values of a batch of the given shape, exactly as `apply` does.
   * @param shape - `[n, T, c]`, positive integers.
   * @param rng - advanced by `n (knots + 2) c` normal draws.
   * @returns `warps` as a `Float64Array` of `n (knots + 2) c` entries.
   */
  sample(shape: SeriesShape, rng: Rng): WarpParams;
}

function warpOptions(options: unknown, fn: string): number {
  assertObject(options, 'options', fn);
  const knots = (options as WarpKnotOptions).knots ?? 4;
  assertNumber(knots, 'knots', fn, { integer: true, min: 0 });
  return knots;
}

function warpArray(params: unknown, shape: SeriesShape, knots: number, fn: string): Float64Array {
  assertObject(params, 'params', fn, '{ warps }');
  const [n, , channels] = shape;
  const count = knots + 2;
  const warps = numberArray((params as WarpParams).warps, n * count * channels, 'params.warps', fn, `n (knots + 2) c = ${n}*${count}*${channels}`);
  assertFloat32Entries(warps, 'params.warps', fn);
  return warps;
}

function drawWarps(shape: SeriesShape, knots: number, std: number, rng: Rng): Float64Array {
  const warps = new Float64Array(shape[0] * (knots + 2) * shape[2]);
  for (let e = 0; e < warps.length; e++) warps[e] = rng.normal(1, std);
  return warps;
}

/** Warps `series` with `warpSeries` after checking the arguments of the apply form `fn`. */
function applyWarp(fn: string, series: tf.Tensor3D, params: WarpParams, options: WarpKnotOptions, warpSeries: WarpSeries): tf.Tensor3D {
  assertSeries(series, fn);
  const knots = warpOptions(options, fn);
  return warpSeries(series, warpArray(params, series.shape, knots, fn), knots);
}

/** The {@link Warp} named `fn` that draws its knot values and applies them with `warpSeries`. */
function warpAugmentation(fn: string, options: WarpOptions, warpSeries: WarpSeries): Warp {
  const knots = warpOptions(options, fn);
  const std = options.std ?? 0.2;
  assertNumber(std, 'std', fn, { min: 0 });
  assertFloat32(std, 'std', fn);
  return {
    name: fn,
    sample(shape: SeriesShape, rng: Rng) {
      assertSeriesShape(shape, `${fn}.sample`);
      assertRng(rng, `${fn}.sample`);
      return { warps: drawWarps(shape, knots, std, rng) };
    },
    apply(series: tf.Tensor3D, rng: Rng): tf.Tensor3D {
      assertSeries(series, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      return warpSeries(series, drawWarps(series.shape, knots, std, rng), knots);
    },
  };
}

/** A warp of every series and channel by its knot values (`magnitudeWarpSeries`, `timeWarpSeries`). */
type WarpSeries = (series: tf.Tensor3D, warps: Float64Array, knots: number) => tf.Tensor3D;

/** The smooth curve of every series and channel: `curve[(i T + t) c + ch]` = spline through (knot positions, `valueAt(i, k, ch)`) at `t`. */
function splineCurves(shape: SeriesShape, knots: number, valueAt: (i: number, k: number, ch: number, position: number) => number): Float64Array {
  const [n, steps, channels] = shape;
  const count = knots + 2;
  const curves = new Float64Array(n * steps * channels);
  if (steps === 1) {
    // Every knot sits at t = 0 (np.linspace(0, 0, K)); the spline's value there is the first knot's.
    for (let i = 0; i < n; i++) for (let ch = 0; ch < channels; ch++) curves[i * channels + ch] = valueAt(i, 0, ch, 0);
    return curves;
  }
  const positions = knotPositions(steps, count);
  const basis = splineBasis(positions, steps);
  const values = new Float64Array(count);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < channels; ch++) {
      for (let k = 0; k < count; k++) values[k] = valueAt(i, k, ch, positions[k] as number);
      for (let t = 0; t < steps; t++) {
        let sum = 0;
        for (let k = 0; k < count; k++) sum += (basis[t * count + k] as number) * (values[k] as number);
        curves[(i * steps + t) * channels + ch] = sum;
      }
    }
  }
  return curves;
}

function magnitudeWarpSeries(series: tf.Tensor3D, warps: Float64Array, knots: number): tf.Tensor3D {
  const shape = series.shape;
  const count = knots + 2;
  const channels = shape[2];
  const curves = splineCurves(shape, knots, (i, k, ch) => warps[(i * count + k) * channels + ch] as number);
  // The spline may overshoot the knots: clamped into float32's range as in scaleSeries.
  return tf.tidy(() => tf.mul(series, tf.tensor3d(Float32Array.from(curves, clampToFloat32), shape)));
}

/**
 * Multiply every series and channel by the not-a-knot cubic spline through its knot values
 * (`scipy.interpolate.CubicSpline`, as uchidalab's `magnitude_warp`): output `(i, t, ch)` is
 * `series[i, t, ch] spline_{i, ch}(t)`, the curve computed in float64 and rounded to float32. The
 * deterministic form of {@link magnitudeWarp}. All knot values 1 give the identity.
 *
 * @param series - `[n, T, c]` float32 (borrowed). With `T = 1` the curve is the first knot value.
 *   Not checked for NaN or ±Infinity (see {@link TensorAugmentation}).
 * @param params - `warps`, `n (knots + 2) c` knot values.
 * @param options - `knots`. @defaultValue knots 4
 * @returns a new `[n, T, c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` for a bad series, `knots` not an integer >= 0, or `warps` without
 *   `n (knots + 2) c` numbers finite in float32.
 * @example
 * ```ts
 * // 2 knots (knots: 0) at t = 0 and t = 2 with values 1 and 3: the curve is 1, 2, 3
 * applyMagnitudeWarp(tf.ones([1, 3, 1]) as tf.Tensor3D, { warps: [1, 3] }, { knots: 0 }).print(); // [[[1], [2], [3]]]
 * ```
 * @category Time series
 */
export function applyMagnitudeWarp(series: tf.Tensor3D, params: WarpParams, options: WarpKnotOptions = {}): tf.Tensor3D {
  return applyWarp('applyMagnitudeWarp', series, params, options, magnitudeWarpSeries);
}

/**
 * Magnitude warping (Um et al. 2017; uchidalab `magnitude_warp(x, sigma=0.2, knot=4)`): each
 * series and channel is multiplied by a smooth random curve, the not-a-knot cubic spline through
 * `knots + 2` evenly spaced knots (both ends included) with values `~ N(1, std^2)`.
 *
 * Draw order: `n (knots + 2) c` `rng.normal(1, std)` draws in `[n, knots + 2, c]` row-major order
 * (uchidalab's `random_warps` layout).
 *
 * @param options - `std`, `knots`.
 * @returns a {@link Warp}; its `apply` returns a new `[n, T, c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `std` leaves [0, 3.4028234663852886e38] or `knots` is
 *   not an integer >= 0.
 * @example
 * ```ts
 * magnitudeWarp({ std: 0.2, knots: 4 }).apply(tf.ones([1, 6, 1]) as tf.Tensor3D, new Rng(0)).print();
 * // [[[1.3061], [0.8190], [1.3407], [1.0299], [1.1572], [0.9430]]]  (T = 6: the knot values themselves)
 * ```
 * @category Time series
 */
export function magnitudeWarp(options: WarpOptions = {}): Warp {
  return warpAugmentation('magnitudeWarp', options, magnitudeWarpSeries);
}

/**
 * uchidalab's `time_warp` for every series and channel, with the knot values `warps`: the warped
 * time `tw(t)` = spline through `(p_k, p_k r_k)` at `t`, `xp = clip(tw (T - 1) / tw(T - 1), 0,
 * T - 1)`, output `t` = `np.interp(t, xp, series)`, in float64 on the host, rounded to float32.
 */
function timeWarpSeries(series: tf.Tensor3D, warps: Float64Array, knots: number): tf.Tensor3D {
  const shape = series.shape;
  const [n, steps, channels] = shape;
  if (steps === 1) return tf.clone(series);
  const count = knots + 2;
  const curves = splineCurves(shape, knots, (i, k, ch, position) => position * (warps[(i * count + k) * channels + ch] as number));
  const data = series.dataSync() as Float32Array;
  const out = new Float32Array(data.length);
  const top = steps - 1;
  const times = Float64Array.from({ length: steps }, (_, t) => t);
  const xp = new Float64Array(steps);
  const fp = new Float64Array(steps);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < channels; ch++) {
      const at = (t: number): number => (i * steps + t) * channels + ch;
      for (let t = 0; t < steps; t++) fp[t] = data[at(t)] as number;
      const end = curves[at(top)] as number;
      if (end === 0) {
        // The reference divides by zero here; copy the series instead.
        for (let t = 0; t < steps; t++) out[at(t)] = fp[t] as number;
        continue;
      }
      const scale = top / end;
      for (let t = 0; t < steps; t++) xp[t] = Math.min(Math.max(scale * (curves[at(t)] as number), 0), top);
      numpyInterp(times, xp, fp, out, at);
    }
  }
  return tf.tensor3d(out, [n, steps, channels], 'float32');
}

/**
 * Resample every series and channel along a smooth time distortion given by its knot values,
 * exactly as uchidalab's `time_warp`: with knots at `p_k = np.linspace(0, T - 1, knots + 2)`, the
 * warped time `tw(t)` is the not-a-knot cubic spline through `(p_k, p_k r_k)` at `t = 0 .. T-1`,
 * rescaled by `(T - 1) / tw(T - 1)` and clipped to `[0, T - 1]`; the output is `np.interp(t, tw,
 * series)` (linear interpolation), computed in float64 on the host and rounded to float32 — as the
 * reference does for float32 input (its output array is `np.zeros_like(x)`). The deterministic form
 * of {@link timeWarp}. All knot values 1 give the identity (up to float64 rounding of the spline).
 *
 * Non-monotone warps are common (the noise multiplies absolute knot positions: about 40 % of
 * series and channels at `std = 0.2`), and `np.interp` does not check that its sample times
 * increase; the port reproduces numpy's search (`binary_search_with_guess`) exactly, so those
 * cases also give the reference's values (which may extrapolate past neighbouring values).
 * Deviations, only where the reference breaks: `tw(T - 1) = 0` (a division by zero) copies the
 * series; a zero-width step found by numpy's search, where numpy returns an infinity, gives the
 * step's value; `T = 1` (where scipy raises) copies.
 *
 * @param series - `[n, T, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link TensorAugmentation}).
 * @param params - `warps`, `n (knots + 2) c` knot values.
 * @param options - `knots`. @defaultValue knots 4
 * @returns a new `[n, T, c]` float32 tensor owned by the caller (finite for finite input).
 * @throws `ContrastiveError` for a bad series, `knots` not an integer >= 0, or `warps` without
 *   `n (knots + 2) c` numbers finite in float32.
 * @example
 * ```ts
 * // knots: 0 -> knots at t = 0 and 4; r = [1, 1] is the identity
 * applyTimeWarp(tf.tensor3d([0, 1, 2, 3, 4], [1, 5, 1]), { warps: [1, 1] }, { knots: 0 }).print(); // [[[0], [1], [2], [3], [4]]]
 * ```
 * @category Time series
 */
export function applyTimeWarp(series: tf.Tensor3D, params: WarpParams, options: WarpKnotOptions = {}): tf.Tensor3D {
  return applyWarp('applyTimeWarp', series, params, options, timeWarpSeries);
}

/**
 * Time warping (Um et al. 2017; uchidalab `time_warp(x, sigma=0.2, knot=4)`): the time axis of
 * each series and channel is smoothly distorted — a random cubic-spline warp through `knots + 2`
 * evenly spaced knots, knot `k` moved to `p_k r_k` with `r_k ~ N(1, std^2)` — and the series is
 * resampled with linear interpolation (see {@link applyTimeWarp}, including the documented
 * handling of degenerate draws). As in the reference, every channel gets its own warp.
 *
 * Draw order: `n (knots + 2) c` `rng.normal(1, std)` draws in `[n, knots + 2, c]` row-major order.
 *
 * @param options - `std`, `knots`.
 * @returns a {@link Warp}; its `apply` returns a new `[n, T, c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `std` leaves [0, 3.4028234663852886e38] or `knots` is
 *   not an integer >= 0.
 * @example
 * ```ts
 * const ramp = tf.tensor3d([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 10, 1]);
 * timeWarp({ std: 0.2, knots: 4 }).apply(ramp, new Rng(0)).print();
 * // [[[0], [1.4589], [1.9965], [2.4515], [2.9061], [3.6601], [5.3348], [6.1768], [6.7270], [9]]]
 * ```
 * @category Time series
 */
export function timeWarp(options: WarpOptions = {}): Warp {
  return warpAugmentation('timeWarp', options, timeWarpSeries);
}

// ---------------------------------------------------------------------------------------------
// Window crop
// ---------------------------------------------------------------------------------------------

/** Explicit parameters of {@link applyWindowCrop}. @category Time series */
export interface WindowCropParams {
  /** First step of each series' window, an integer in `[0, T - length]`; `n` entries. */
  readonly start: ArrayLike<number>;
}

/** Options of {@link applyWindowCrop}. @category Time series */
export interface WindowLengthOptions {
  /** Window length, an integer in `[1, T]`. Required. */
  readonly length: number;
}

/** Options of {@link windowCrop}: give `length` or `ratio`, not both. @category Time series */
export interface WindowCropOptions {
  /** Window length in steps, an integer >= 1 (at most `T` at `apply`). @defaultValue none (use `ratio`) */
  readonly length?: number;
  /** Window length as a fraction of `T`, in (0, 1]: `length = ceil(ratio T)`. @defaultValue 0.9 (uchidalab `reduce_ratio=0.9`) */
  readonly ratio?: number;
}

/**
 * The augmentation returned by {@link windowCrop}.
 * @category Time series
 */
export interface WindowCrop extends TensorAugmentation<tf.Tensor3D> {
  /**
   * Draw the window starts of a batch of the given shape, exactly as `apply` does.
   * @param shape - `[n, T, c]`, positive integers.
   * @param rng - advanced by `n` integer draws.
   * @returns `start` as an `Int32Array` of `n` entries.
   */
  sample(shape: SeriesShape, rng: Rng): WindowCropParams;
}

function cropWindows(series: tf.Tensor3D, start: ArrayLike<number>, length: number): tf.Tensor3D {
  const [n, steps, channels] = series.shape;
  const data = series.dataSync() as Float32Array;
  const out = new Float32Array(data.length);
  // np.interp(np.linspace(0, length - 1, T), np.arange(length), window), per series and channel.
  // np.linspace: t * step with step = (length - 1) / (T - 1), the last key exactly length - 1.
  const step = steps === 1 ? 0 : (length - 1) / (steps - 1);
  const keys = Float64Array.from({ length: steps }, (_, t) => t * step);
  keys[steps - 1] = steps === 1 ? 0 : length - 1;
  const xp = Float64Array.from({ length }, (_, k) => k);
  const fp = new Float64Array(length);
  for (let i = 0; i < n; i++) {
    const first = start[i] as number;
    for (let ch = 0; ch < channels; ch++) {
      for (let k = 0; k < length; k++) fp[k] = data[(i * steps + first + k) * channels + ch] as number;
      numpyInterp(keys, xp, fp, out, (t) => (i * steps + t) * channels + ch);
    }
  }
  return tf.tensor3d(out, [n, steps, channels], 'float32');
}

/**
 * Crop a window of `length` steps from each series and stretch it back to `T` steps by linear
 * interpolation (align-corners: output step `t` samples the window at `t (length - 1) / (T - 1)`,
 * `np.interp` in float64 on the host, rounded to float32). The deterministic form of
 * {@link windowCrop}. `length = T` (so `start = 0`) is the identity.
 *
 * @param series - `[n, T, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link TensorAugmentation}).
 * @param params - `start`, `n` integers in `[0, T - length]`.
 * @param options - `length` (required).
 * @returns a new `[n, T, c]` float32 tensor owned by the caller; values between neighbouring input values.
 * @throws `ContrastiveError` for a bad series, a `length` outside `[1, T]`, or a `start` outside `[0, T - length]`.
 * @example
 * ```ts
 * applyWindowCrop(tf.tensor3d([0, 1, 2, 3, 4], [1, 5, 1]), { start: [1] }, { length: 3 }).print();
 * // [[[1], [1.5], [2], [2.5], [3]]]
 * ```
 * @category Time series
 */
export function applyWindowCrop(series: tf.Tensor3D, params: WindowCropParams, options: WindowLengthOptions): tf.Tensor3D {
  const fn = 'applyWindowCrop';
  assertSeries(series, fn);
  assertObject(params, 'params', fn, '{ start }');
  assertObject(options, 'options', fn, '{ length }');
  const [n, steps] = series.shape;
  assertNumber(options.length, 'length', fn, { integer: true, min: 1, max: steps });
  const start = numberArray(params.start, n, 'params.start', fn, 'one per series', { integer: true, min: 0, max: steps - options.length });
  return cropWindows(series, start, options.length);
}

/**
 * Window cropping ("window slicing", Le Guennec et al. 2016; uchidalab `window_slice(x,
 * reduce_ratio=0.9)`): each series keeps a random window of `length = ceil(ratio T)` steps (or the
 * given `length`), stretched back to `T` steps by linear interpolation so the batch keeps its
 * shape.
 *
 * Deviations from uchidalab, both fixing off-by-ones: the start is uniform over all `T - length + 1`
 * windows (the reference's `randint(0, T - length)` never picks the last), and the window is
 * resampled at `linspace(0, length - 1, T)` (the reference's `linspace(0, length, T)` runs past
 * the window's last step, repeating it at the end).
 *
 * Draw order: one `rng.int(T - length + 1)` per series.
 *
 * @param options - `length` or `ratio`.
 * @returns a {@link WindowCrop}; its `apply` returns a new `[n, T, c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when both `length` and `ratio` are given, `length` is
 *   not an integer >= 1 or `ratio` leaves (0, 1]; at `apply`, `SHAPE_MISMATCH` when `length > T`.
 * @example
 * ```ts
 * const view = windowCrop({ ratio: 0.9 }).apply(tf.zeros([2, 100, 3]) as tf.Tensor3D, new Rng(0));
 * console.log(view.shape); // [2, 100, 3]
 * ```
 * @category Time series
 */
export function windowCrop(options: WindowCropOptions = {}): WindowCrop {
  const fn = 'windowCrop';
  assertObject(options, 'options', fn);
  if (options.length !== undefined && options.ratio !== undefined) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Arguments 'length' and 'ratio' passed to '${fn}' are exclusive: give one, got length ${describeValue(options.length)} and ratio ${describeValue(options.ratio)}`,
    );
  }
  if (options.length !== undefined) assertNumber(options.length, 'length', fn, { integer: true, min: 1 });
  const ratio = options.ratio ?? 0.9;
  assertNumber(ratio, 'ratio', fn, { min: 0, exclusiveMin: true, max: 1 });
  const fixed = options.length;
  const windowLength = (steps: number, where: string): number => {
    const length = fixed ?? Math.max(1, Math.ceil(ratio * steps));
    if (length > steps) {
      throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'length' passed to '${fn}' is ${length}, longer than the series passed to '${where}' (T = ${steps})`);
    }
    return length;
  };
  const draw = (n: number, steps: number, length: number, rng: Rng): Int32Array => {
    const start = new Int32Array(n);
    for (let i = 0; i < n; i++) start[i] = rng.int(steps - length + 1);
    return start;
  };
  return {
    name: fn,
    sample(shape: SeriesShape, rng: Rng) {
      assertSeriesShape(shape, `${fn}.sample`);
      assertRng(rng, `${fn}.sample`);
      return { start: draw(shape[0], shape[1], windowLength(shape[1], `${fn}.sample`), rng) };
    },
    apply(series: tf.Tensor3D, rng: Rng): tf.Tensor3D {
      assertSeries(series, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      const [n, steps] = series.shape;
      const length = windowLength(steps, `${fn}.apply`);
      return cropWindows(series, draw(n, steps, length, rng), length);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Segment permutation
// ---------------------------------------------------------------------------------------------

/**
 * How {@link segmentPermutation} cuts a series: `'equal'` into near-equal segments
 * (`np.array_split`: the first `T mod k` segments one step longer), `'random'` at `k - 1` distinct
 * uniformly random cut points.
 * @category Time series
 */
export type SegmentMode = 'equal' | 'random';

/** Explicit parameters of {@link applySegmentPermutation}; one entry per series. @category Time series */
export interface SegmentPermutationParams {
  /** Cut points of each series: strictly increasing integers in `[1, T - 1]` (`k - 1` of them for `k` segments). */
  readonly boundaries: ArrayLike<ArrayLike<number>>;
  /** Segment order of each series: a permutation of `0 .. k-1`; output segment `j` is input segment `order[i][j]`. */
  readonly order: ArrayLike<ArrayLike<number>>;
}

/** Options of {@link segmentPermutation}. @category Time series */
export interface SegmentPermutationOptions {
  /**
   * Number of segments `k`: a fixed integer >= 1, or an integer interval `[low, high]` to draw `k`
   * uniformly from `low .. high` per series. A series shorter than `k` is cut into `T` single steps.
   * @defaultValue `[1, 4]` — the references' `max_segments=5`, drawn as `np.random.randint(1, 5)`,
   *   which excludes 5 (Um et al. 2017 describe 1 to 5)
   */
  readonly segments?: number | Interval;
  /** How to cut. @defaultValue `'equal'` (uchidalab's default; TS-TCC uses `'random'`) */
  readonly mode?: SegmentMode;
}

/**
 * The augmentation returned by {@link segmentPermutation}.
 * @category Time series
 */
export interface SegmentPermutation extends TensorAugmentation<tf.Tensor3D> {
  /**
   * Draw the cuts and orders of a batch of the given shape, exactly as `apply` does.
   * @param shape - `[n, T, c]`, positive integers.
   * @param rng - advanced as the factory documents.
   */
  sample(shape: SeriesShape, rng: Rng): SegmentPermutationParams;
}

/** Concatenate the segments of every series in the given order, copying values on the host. */
function permuteSegments(series: tf.Tensor3D, boundaries: ArrayLike<ArrayLike<number>>, order: ArrayLike<ArrayLike<number>>): tf.Tensor3D {
  const [n, steps, channels] = series.shape;
  const moved = Array.from({ length: n }, (_, i) => {
    const permutation = order[i] as ArrayLike<number>;
    for (let j = 0; j < permutation.length; j++) if (permutation[j] !== j) return true;
    return false;
  });
  if (!moved.includes(true)) return tf.clone(series);
  const data = series.dataSync() as Float32Array;
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; i++) {
    const starts = [0, ...Array.from(boundaries[i] as ArrayLike<number>), steps];
    const permutation = order[i] as ArrayLike<number>;
    let next = i * steps * channels;
    for (let j = 0; j < permutation.length; j++) {
      const segment = permutation[j] as number;
      const from = (i * steps + (starts[segment] as number)) * channels;
      const to = (i * steps + (starts[segment + 1] as number)) * channels;
      out.set(data.subarray(from, to), next);
      next += to - from;
    }
  }
  return tf.tensor3d(out, [n, steps, channels], 'float32');
}

/**
 * Cut each series at given points and concatenate the segments in a given order (`np.concatenate`
 * of the permuted `np.split`). The deterministic form of {@link segmentPermutation}. Values are
 * exact copies.
 *
 * @param series - `[n, T, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link TensorAugmentation}).
 * @param params - `boundaries` and `order`, one array per series.
 * @returns a new `[n, T, c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` for a bad series, arrays without `n` entries, cut points that are not
 *   strictly increasing integers in `[1, T - 1]`, or an order that is not a permutation of the segments.
 * @example
 * ```ts
 * const series = tf.tensor3d([0, 1, 2, 3, 4], [1, 5, 1]);
 * applySegmentPermutation(series, { boundaries: [[2, 3]], order: [[2, 0, 1]] }).print();
 * // [[[3], [4], [0], [1], [2]]]  (segments [0, 1], [2], [3, 4] reordered as 2, 0, 1)
 * ```
 * @category Time series
 */
export function applySegmentPermutation(series: tf.Tensor3D, params: SegmentPermutationParams): tf.Tensor3D {
  const fn = 'applySegmentPermutation';
  assertSeries(series, fn);
  assertObject(params, 'params', fn, '{ boundaries, order }');
  const [n, steps] = series.shape;
  const perSeries = (values: unknown, argument: string): ArrayLike<unknown> => {
    const length = (values as { length?: unknown } | null | undefined)?.length;
    if (values === null || typeof values !== 'object' || typeof length !== 'number') {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${fn}' must be an array of ${n} arrays (one per series), got ${describeValue(values)}`);
    }
    if (length !== n) {
      throw new ContrastiveError('SHAPE_MISMATCH', `Argument '${argument}' passed to '${fn}' must have ${n} entries (one per series), got ${length}`);
    }
    return values as ArrayLike<unknown>;
  };
  const boundaryRows = perSeries(params.boundaries, 'params.boundaries');
  const orderRows = perSeries(params.order, 'params.order');
  const boundaries: Float64Array[] = [];
  const order: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const cuts = boundaryRows[i] as { length?: unknown } | null;
    const cutCount = cuts !== null && typeof cuts === 'object' && typeof cuts.length === 'number' ? cuts.length : -1;
    if (cutCount < 0) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'params.boundaries[${i}]' passed to '${fn}' must be an array of cut points, got ${describeValue(cuts)}`);
    }
    const row = numberArray(cuts, cutCount, `params.boundaries[${i}]`, fn, 'cut points', { integer: true, min: 1, max: steps - 1 });
    row.forEach((cut, k) => {
      if (k > 0 && cut <= (row[k - 1] as number)) {
        throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'params.boundaries[${i}]' passed to '${fn}' must be strictly increasing, got [${Array.from(row).join(', ')}]`);
      }
    });
    const segments = cutCount + 1;
    const permutation = numberArray(orderRows[i], segments, `params.order[${i}]`, fn, `one per segment: ${segments}`, { integer: true, min: 0, max: segments - 1 });
    if (new Set(permutation).size !== segments) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'params.order[${i}]' passed to '${fn}' must be a permutation of 0..${segments - 1}, got [${Array.from(permutation).join(', ')}]`);
    }
    boundaries.push(row);
    order.push(permutation);
  }
  return permuteSegments(series, boundaries, order);
}

/**
 * Segment permutation (Um et al. 2017 "permutation"; uchidalab and TS-TCC `permutation(x,
 * max_segments=5, seg_mode)`): each series is cut into `k` segments, which are concatenated in a
 * uniformly random order (possibly the original one; `k = 1` is the identity). Values are exact
 * copies.
 *
 * Deviation from the references in `'random'` mode: cut points are drawn from `1 .. T-1` so every
 * segment is non-empty (the references draw from `0 .. T-3`, which can make an empty first segment
 * and never cuts before the last two steps).
 *
 * Draw order: first, when `segments` is an interval `[low, high]` with `low < high`, one
 * `low + rng.int(high - low + 1)` per series `i = 0 .. n-1` (a fixed `segments`, or `low = high`,
 * draws nothing); then, for each series with `k = min(k, T) > 1`, in `'random'` mode
 * `rng.choice(T - 1, k - 1)` (the cut points minus 1, then sorted), and `rng.permutation(k)`.
 *
 * @param options - `segments`, `mode`.
 * @returns a {@link SegmentPermutation}; its `apply` returns a new `[n, T, c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `segments` is not an integer >= 1 or an
 *   integer interval `[low, high]` with `1 <= low <= high`, or `mode` is unknown.
 * @example
 * ```ts
 * const permute = segmentPermutation({ segments: 5, mode: 'random' });
 * permute.apply(tf.tensor3d([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 10, 1]), new Rng(0)).print();
 * // [[[0], [8], [9], [1], [2], [3], [4], [5], [6], [7]]]  (5 segments in a random order)
 * ```
 * @category Time series
 */
export function segmentPermutation(options: SegmentPermutationOptions = {}): SegmentPermutation {
  const fn = 'segmentPermutation';
  assertObject(options, 'options', fn);
  const segments = options.segments ?? [1, 4];
  const mode = options.mode ?? 'equal';
  assertOneOf(mode, ['equal', 'random'] as const, 'mode', fn);
  let low: number;
  let high: number;
  if (typeof segments === 'number') {
    assertNumber(segments, 'segments', fn, { integer: true, min: 1 });
    low = segments;
    high = segments;
  } else {
    if (!Array.isArray(segments) || segments.length !== 2) {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'segments' passed to '${fn}' must be an integer or a pair [low, high], got ${describeValue(segments)}`);
    }
    assertNumber(segments[0], 'segments[0]', fn, { integer: true, min: 1 });
    assertNumber(segments[1], 'segments[1]', fn, { integer: true, min: segments[0] });
    [low, high] = segments;
  }

  const draw = (n: number, steps: number, rng: Rng): { boundaries: Int32Array[]; order: Int32Array[] } => {
    const counts = new Int32Array(n).fill(low);
    if (high > low) for (let i = 0; i < n; i++) counts[i] = low + rng.int(high - low + 1);
    const boundaries: Int32Array[] = [];
    const order: Int32Array[] = [];
    for (let i = 0; i < n; i++) {
      const k = Math.min(counts[i] as number, steps);
      if (k <= 1) {
        boundaries.push(new Int32Array(0));
        order.push(new Int32Array([0]));
        continue;
      }
      let cuts: Int32Array;
      if (mode === 'random') {
        cuts = rng.choice(steps - 1, k - 1).map((point) => point + 1).sort();
      } else {
        cuts = new Int32Array(k - 1);
        const base = Math.floor(steps / k);
        const longer = steps % k;
        let position = 0;
        for (let j = 0; j < k - 1; j++) {
          position += base + (j < longer ? 1 : 0);
          cuts[j] = position;
        }
      }
      boundaries.push(cuts);
      order.push(rng.permutation(k));
    }
    return { boundaries, order };
  };

  return {
    name: fn,
    sample(shape: SeriesShape, rng: Rng) {
      assertSeriesShape(shape, `${fn}.sample`);
      assertRng(rng, `${fn}.sample`);
      return draw(shape[0], shape[1], rng);
    },
    apply(series: tf.Tensor3D, rng: Rng): tf.Tensor3D {
      assertSeries(series, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      const { boundaries, order } = draw(series.shape[0], series.shape[1], rng);
      return permuteSegments(series, boundaries, order);
    },
  };
}
