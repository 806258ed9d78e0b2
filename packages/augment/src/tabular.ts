/**
 * Augmentations of tabular rows (`[n, f]` float32): SCARF feature corruption, feature masking and
 * Gaussian noise; and {@link TensorAugmentation}, the interface every non-image augmentation
 * (tables, token sequences, time series) implements.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertOneOf, assertTensor, type Rng } from '@contrastive/core';
import { assertFloat32, assertFloat32Entries, assertLength, assertObject, assertProbability, assertRng, assertShape, describeValue, numberArray } from './checks.js';

/**
 * A random, batched augmentation of a tensor that is not an image: tabular rows `[n, f]` float32,
 * token ids `[n, L]` int32, time series `[n, T, c]` float32. The counterpart of the image
 * `Augmentation`: every sample of the batch gets its own parameters, drawn from `rng` in an order
 * the augmentation documents, so the same `rng` state gives the same output on every backend.
 *
 * Implemented by the tabular ({@link scarfCorruption}, {@link featureMasking},
 * {@link tabularNoise}), sequence (`tokenMasking`, `spanDeletion`, `randomTokenCrop`,
 * `localShuffle`) and time-series (`jitter`, `scaling`, `magnitudeWarp`, `timeWarp`, `windowCrop`,
 * `segmentPermutation`) factories.
 *
 * Non-finite values: a float table or series is not checked for NaN or ±Infinity (that would read
 * it back from the backend). A non-finite entry is not an error; it is copied, or propagates to the
 * entries of its own sample that are computed from it, never to another sample. For finite inputs
 * and valid parameters the outputs are finite unless a sum or product exceeds float32's range
 * (`3.4028234663852886e38`).
 *
 * @typeParam T - the tensor type taken and returned (shape and dtype are kept).
 * @example
 * ```ts
 * const train = tf.tensor2d([[0, 0, 0, 0, 0], [1, 1, 1, 1, 1]]);
 * const augmentation: TensorAugmentation<tf.Tensor2D> = scarfCorruption({ marginals: train });
 * console.log(augmentation.apply(tf.fill([4, 5], 7) as tf.Tensor2D, new Rng(0)).shape); // [4, 5]
 * ```
 * @category Tabular
 */
export interface TensorAugmentation<T extends tf.Tensor> {
  /** A readable name, e.g. `'scarfCorruption'`. */
  readonly name: string;
  /**
   * Augment every sample of a batch with its own random parameters.
   *
   * @param x - the batch (borrowed: neither disposed nor modified); its shape and dtype are what
   *   the augmentation documents.
   * @param rng - source of every random draw; advanced by the draws the augmentation documents.
   * @returns a new tensor of the same shape and dtype, owned by the caller.
   * @throws `ContrastiveError` when `x` has the wrong rank, dtype or size or is disposed, or `rng` is
   *   not an `Rng`.
   */
  apply(x: T, rng: Rng): T;
}

// ---------------------------------------------------------------------------------------------
// Checks shared by tabular.ts, sequence.ts and time-series.ts (internal: not exported from the
// package); the generic ones (assertObject, numberArray, ...) are in checks.ts.
// ---------------------------------------------------------------------------------------------

/** Throws unless `tensor` is a live tensor of the given rank and dtype with every dimension >= 1. @internal */
export function assertBatch(tensor: unknown, rank: number, dtype: tf.DataType, argument: string, fn: string, layout: string): void {
  assertTensor(tensor, rank, argument, fn, dtype);
  const shape = (tensor as tf.Tensor).shape;
  if (shape.some((size) => size < 1)) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument '${argument}' passed to '${fn}' must be ${layout} with every dimension >= 1, got [${shape.join(', ')}]`,
    );
  }
}

/**
 * Copies `count` flags (booleans, or the numbers 0 and 1) into a Uint8Array (1 = true).
 * @internal
 */
export function flagArray(values: unknown, count: number, argument: string, fn: string, layout: string): Uint8Array {
  const list = assertLength(values, count, argument, fn, 'flags (booleans or 0/1)', layout);
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const value = list[i];
    if (value === true || value === 1) out[i] = 1;
    else if (value !== false && value !== 0) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument '${argument}[${i}]' passed to '${fn}' must be a boolean or 0/1, got ${describeValue(value)}`,
      );
    }
  }
  return out;
}

/**
 * An integer uniform on `0 .. k-1` from one `rng.uniform()` draw: `floor(u k)`. Used in per-entry
 * loops instead of `rng.int`, whose argument check costs more than the draw.
 * @internal
 */
export function drawIndex(rng: Rng, k: number): number {
  return Math.floor(rng.uniform() * k);
}

/**
 * A copy of a tensor's values on the host (`dataSync` may return the backend's own storage, which
 * must not be written).
 * @internal
 */
export function hostCopy(tensor: tf.Tensor): Float32Array {
  return (tensor.dataSync() as Float32Array).slice();
}

function assertTable(table: unknown, fn: string): asserts table is tf.Tensor2D {
  assertBatch(table, 2, 'float32', 'table', fn, '[n, f]');
}

// ---------------------------------------------------------------------------------------------
// SCARF
// ---------------------------------------------------------------------------------------------

/**
 * Where the replacement values of {@link scarfCorruption} come from.
 *
 * - `'perFeature'`: every corrupted feature `j` of a row takes `marginals[r, j]` for its own
 *   uniformly drawn row `r` — an independent draw from feature `j`'s empirical marginal, as the
 *   paper describes (Bahri et al. 2022, Section 2).
 * - `'perRow'`: all corrupted features of a row take their values from one uniformly drawn row
 *   `r` of `marginals`, as public PyTorch implementations do (`torch.where(mask, random_sample,
 *   anchor)` with one random sample per anchor). Each replaced value still follows its feature's
 *   marginal, but the replaced values of a row are jointly those of one real row.
 *
 * @category Tabular
 */
export type MarginalDraw = 'perFeature' | 'perRow';

/** Explicit parameters of {@link applyScarfCorruption}; both arrays have `n f` entries in row-major order. @category Tabular */
export interface ScarfParams {
  /** Replace entry `(i, j)` where `corrupted[i f + j]` is true (or 1). */
  readonly corrupted: ArrayLike<boolean | number>;
  /**
   * The row of `marginals` that supplies entry `(i, j)`: an integer in `[0, m)`. Entries that are
   * not corrupted are ignored.
   */
  readonly rows: ArrayLike<number>;
}

/** Options of {@link scarfCorruption}. @category Tabular */
export interface ScarfCorruptionOptions {
  /**
   * Corruption rate `c` in [0, 1]: every row gets exactly `floor(c f)` corrupted features
   * (computed in float64 as `Math.floor(rate * f)`, which equals Python's `int(corruption_rate *
   * m)`, float rounding included: `0.29 * 100` gives 28). @defaultValue 0.6 (the paper's and
   * pytorch-scarf's default)
   */
  readonly rate?: number;
  /**
   * The training table `[m, f]` float32 whose columns are the empirical marginals. Read once by
   * the factory (which keeps a host copy); never disposed by it. Required.
   */
  readonly marginals: tf.Tensor2D;
  /** Independent draws per feature (the paper) or one source row per example. @defaultValue `'perFeature'` */
  readonly marginalDraw?: MarginalDraw;
}

/**
 * The augmentation returned by {@link scarfCorruption}.
 * @category Tabular
 */
export interface ScarfCorruption extends TensorAugmentation<tf.Tensor2D> {
  /**
   * Draw the corruption of `n` rows, exactly as `apply` does.
   * @param n - number of rows, a positive integer.
   * @param rng - advanced as the factory documents.
   */
  sample(n: number, rng: Rng): ScarfParams;
}

/** Output `e` is `values[e]` where `flags[e]`, else `table`'s entry; computed on the host. */
function corruptTable(table: tf.Tensor2D, flags: Uint8Array, values: ArrayLike<number>): tf.Tensor2D {
  if (!flags.includes(1)) return tf.clone(table);
  const out = hostCopy(table);
  for (let e = 0; e < out.length; e++) if (flags[e] === 1) out[e] = values[e] as number;
  return tf.tensor2d(out, table.shape, 'float32');
}

function assertMarginals(marginals: unknown, features: number | undefined, fn: string): asserts marginals is tf.Tensor2D {
  assertBatch(marginals, 2, 'float32', 'marginals', fn, '[m, f]');
  const columns = (marginals as tf.Tensor2D).shape[1];
  if (features !== undefined && columns !== features) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'marginals' passed to '${fn}' must have ${features} columns (one per feature of 'table'), got [${(marginals as tf.Tensor2D).shape.join(', ')}]`,
    );
  }
}

/**
 * Replace the chosen entries of a table by entries of `marginals`: output `(i, j)` is
 * `marginals[rows[i f + j], j]` where `corrupted[i f + j]`, else `table[i, j]`. The deterministic
 * form of {@link scarfCorruption} (SCARF, Bahri et al. 2022).
 *
 * @param table - `[n, f]` float32 rows (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link TensorAugmentation}).
 * @param marginals - `[m, f]` float32 table to draw values from (borrowed).
 * @param params - `corrupted` flags and source `rows`, `n f` entries each.
 * @returns a new `[n, f]` float32 tensor owned by the caller; every value is an exact copy of an
 *   entry of `table` or of `marginals` (so the value range of the union is kept).
 * @throws `ContrastiveError` for a bad `table` or `marginals`, mismatched column counts, arrays
 *   without `n f` entries, or a source row outside `[0, m)`.
 * @example
 * ```ts
 * const table = tf.tensor2d([[1, 2, 3]]);
 * const marginals = tf.tensor2d([[10, 20, 30], [40, 50, 60]]);
 * applyScarfCorruption(table, marginals, { corrupted: [0, 1, 1], rows: [0, 1, 0] }).print();
 * // [[1, 50, 30]]
 * ```
 * @category Tabular
 */
export function applyScarfCorruption(table: tf.Tensor2D, marginals: tf.Tensor2D, params: ScarfParams): tf.Tensor2D {
  const fn = 'applyScarfCorruption';
  assertTable(table, fn);
  const [n, features] = table.shape;
  assertMarginals(marginals, features, fn);
  assertObject(params, 'params', fn, '{ corrupted, rows }');
  const layout = `n f = ${n}*${features}`;
  const flags = flagArray(params.corrupted, n * features, 'params.corrupted', fn, layout);
  const rowsList = assertLength(params.rows, n * features, 'params.rows', fn, 'integers', layout);
  const m = marginals.shape[0];
  const index = new Int32Array(n * features);
  for (let e = 0; e < flags.length; e++) {
    if (flags[e] !== 1) continue;
    assertNumber(rowsList[e], `params.rows[${e}]`, fn, { integer: true, min: 0, max: m - 1 });
    index[e] = (rowsList[e] as number) * features + (e % features);
  }
  if (!flags.includes(1)) return tf.clone(table);
  // Only the n f needed values of `marginals` are read (one gather), not the whole table.
  const picked = tf.tidy(() => tf.gather(tf.reshape(marginals, [-1]), tf.tensor1d(index, 'int32')));
  try {
    return corruptTable(table, flags, picked.dataSync() as Float32Array);
  } finally {
    picked.dispose();
  }
}

/**
 * SCARF random feature corruption (Bahri et al. 2022, "SCARF: Self-Supervised Contrastive
 * Learning using Random Feature Corruption"): for each row, a uniformly random subset of exactly
 * `q = floor(rate f)` features is replaced by draws from those features' empirical marginals — the
 * value of that feature in a uniformly drawn row of `marginals` (the training table). The count is
 * exact, not a Bernoulli mask, as in the public PyTorch implementations (`corruption_len =
 * int(corruption_rate * m)` features per row, chosen by `torch.randperm`); the paper describes
 * sampling "some fraction of the features uniformly at random". `rate = 0` copies the table;
 * `rate = 1` replaces every feature.
 *
 * Draw order: for row `i = 0 .. n-1`: the corrupted features by a partial Fisher–Yates shuffle of
 * `0 .. f-1` (for `k = 0 .. q-1`, one `rng.uniform` `u`, swapping slot `k` with slot
 * `k + floor(u (f - k))`; slots `0 .. q-1` are the chosen features), then with `'perFeature'` one
 * source row `floor(rng.uniform() m)` per chosen feature in slot order, with `'perRow'` one
 * `floor(rng.uniform() m)` for the row.
 *
 * `marginals` is read once, when the augmentation is made: the augmentation keeps a host copy
 * (`m f` float32 values) and never uses the tensor again, so it may be disposed afterwards. `apply`
 * reads the batch to the host (`dataSync`; a synchronous download on WebGL), replaces the chosen
 * entries there and uploads the result — on wasm much faster than a gather and a select.
 *
 * Value range: every output value is a value of the input row or of `marginals`.
 *
 * @param options - `marginals` (required), `rate`, `marginalDraw`.
 * @returns a {@link ScarfCorruption}; its `apply(table, rng)` takes `[n, f]` float32 (with `f` the
 *   column count of `marginals`) and returns a new `[n, f]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `rate` leaves [0, 1] or `marginalDraw` is
 *   unknown; `SHAPE_MISMATCH`/`DTYPE_MISMATCH`/`DISPOSED` when `marginals` is not a live `[m, f]`
 *   float32 tensor; at `apply`, `SHAPE_MISMATCH` when the table does not have `f` columns.
 * @example
 * ```ts
 * const train = tf.tensor2d([[0, 0, 0, 0, 0], [1, 1, 1, 1, 1]]);
 * const corruption = scarfCorruption({ rate: 0.6, marginals: train });
 * const view = corruption.apply(tf.fill([2, 5], 7) as tf.Tensor2D, new Rng(0));
 * view.print(); // [[7, 0, 1, 7, 1], [1, 7, 7, 0, 1]]  (3 = floor(0.6 * 5) entries per row from train)
 * ```
 * @category Tabular
 */
export function scarfCorruption(options: ScarfCorruptionOptions): ScarfCorruption {
  const fn = 'scarfCorruption';
  assertObject(options, 'options', fn, '{ marginals, rate?, marginalDraw? }');
  const rate = options.rate ?? 0.6;
  const marginalDraw = options.marginalDraw ?? 'perFeature';
  assertProbability(rate, 'rate', fn);
  assertOneOf(marginalDraw, ['perFeature', 'perRow'] as const, 'marginalDraw', fn);
  const marginals = options.marginals;
  assertMarginals(marginals, undefined, fn);
  const [m, features] = marginals.shape;
  const source = hostCopy(marginals); // read once: the tensor is not used again
  const q = Math.floor(rate * features);

  const draw = (n: number, rng: Rng): { flags: Uint8Array; rows: Int32Array } => {
    const flags = new Uint8Array(n * features);
    const rows = new Int32Array(n * features);
    const slots = new Int32Array(features);
    for (let i = 0; i < n; i++) {
      // Partial Fisher–Yates: slots[0 .. q-1] become a uniform random q-subset, in draw order.
      for (let j = 0; j < features; j++) slots[j] = j;
      for (let k = 0; k < q; k++) {
        const j = k + drawIndex(rng, features - k);
        const swap = slots[k] as number;
        slots[k] = slots[j] as number;
        slots[j] = swap;
      }
      const shared = marginalDraw === 'perRow' ? drawIndex(rng, m) : 0;
      for (let k = 0; k < q; k++) {
        const e = i * features + (slots[k] as number);
        flags[e] = 1;
        rows[e] = marginalDraw === 'perRow' ? shared : drawIndex(rng, m);
      }
    }
    return { flags, rows };
  };

  return {
    name: fn,
    sample(n: number, rng: Rng): ScarfParams {
      assertNumber(n, 'n', `${fn}.sample`, { integer: true, min: 1 });
      assertRng(rng, `${fn}.sample`);
      const { flags, rows } = draw(n, rng);
      return { corrupted: flags, rows };
    },
    apply(table: tf.Tensor2D, rng: Rng): tf.Tensor2D {
      const where = `${fn}.apply`;
      assertTable(table, where);
      assertRng(rng, where);
      if (table.shape[1] !== features) {
        throw new ContrastiveError(
          'SHAPE_MISMATCH',
          `Argument 'table' passed to '${where}' must have ${features} columns (those of 'marginals'), got [${table.shape.join(', ')}]`,
        );
      }
      const { flags, rows } = draw(table.shape[0], rng);
      const values = new Float32Array(flags.length);
      for (let e = 0; e < flags.length; e++) if (flags[e] === 1) values[e] = source[(rows[e] as number) * features + (e % features)] as number;
      return corruptTable(table, flags, values);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Feature masking
// ---------------------------------------------------------------------------------------------

/** Explicit parameters of {@link applyFeatureMasking}. @category Tabular */
export interface FeatureMaskParams {
  /** Mask entry `(i, j)` where `mask[i f + j]` is true (or 1); `n f` entries, row-major. */
  readonly mask: ArrayLike<boolean | number>;
}

/** Options of {@link applyFeatureMasking}. @category Tabular */
export interface FeatureMaskValueOptions {
  /** The value written into masked entries, finite in float32 (`|value| <= 3.4028234663852886e38`). @defaultValue 0 */
  readonly value?: number;
}

/** Options of {@link featureMasking}. @category Tabular */
export interface FeatureMaskingOptions extends FeatureMaskValueOptions {
  /** Probability `p_m` that each entry is masked, in [0, 1]. @defaultValue 0.3 (VIME's `p_m`) */
  readonly rate?: number;
}

/** A masked table and its mask, from {@link FeatureMasking.applyWithMask}. @category Tabular */
export interface MaskedTable {
  /** `[n, f]` float32, the masked table (owned by the caller). */
  readonly output: tf.Tensor2D;
  /** `[n, f]` float32, 1 where an entry was masked and 0 elsewhere (owned by the caller). */
  readonly mask: tf.Tensor2D;
}

/**
 * The augmentation returned by {@link featureMasking}.
 * @category Tabular
 */
export interface FeatureMasking extends TensorAugmentation<tf.Tensor2D> {
  /**
   * Draw the mask of a table of the given shape, exactly as `apply` does.
   * @param shape - `[n, f]`, positive integers.
   * @param rng - advanced by `n f` uniform draws.
   * @returns the mask as a `Uint8Array` of `n f` entries (1 = masked).
   */
  sample(shape: readonly [number, number], rng: Rng): FeatureMaskParams;
  /**
   * `apply`, also returning the mask (the target of VIME's mask-estimation head).
   * @param table - `[n, f]` float32 (borrowed).
   * @param rng - advanced as `apply`.
   * @returns two new `[n, f]` float32 tensors owned by the caller.
   */
  applyWithMask(table: tf.Tensor2D, rng: Rng): MaskedTable;
}

/** `value` where `mask`, else the table's entry; computed on the host (a select is slow on wasm). */
function maskTable(table: tf.Tensor2D, mask: Uint8Array, value: number): tf.Tensor2D {
  const [n, features] = table.shape;
  if (!mask.includes(0)) return tf.fill([n, features], value, 'float32') as tf.Tensor2D;
  if (!mask.includes(1)) return tf.clone(table);
  const out = hostCopy(table);
  const written = Math.fround(value);
  for (let e = 0; e < out.length; e++) if (mask[e] === 1) out[e] = written;
  return tf.tensor2d(out, table.shape, 'float32');
}

/**
 * Set the chosen entries of a table to a constant. The deterministic form of
 * {@link featureMasking}.
 *
 * @param table - `[n, f]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link TensorAugmentation}).
 * @param params - `mask`, `n f` flags in row-major order.
 * @param options - the value written. @defaultValue value 0
 * @returns a new `[n, f]` float32 tensor owned by the caller: `value` where masked, exact copies
 *   elsewhere.
 * @throws `ContrastiveError` for a bad table, a mask without `n f` flags, or a value not finite in float32.
 * @example
 * ```ts
 * applyFeatureMasking(tf.tensor2d([[1, 2, 3]]), { mask: [1, 0, 1] }, { value: -1 }).print(); // [[-1, 2, -1]]
 * ```
 * @category Tabular
 */
export function applyFeatureMasking(table: tf.Tensor2D, params: FeatureMaskParams, options: FeatureMaskValueOptions = {}): tf.Tensor2D {
  const fn = 'applyFeatureMasking';
  assertTable(table, fn);
  assertObject(params, 'params', fn, '{ mask }');
  assertObject(options, 'options', fn);
  const value = options.value ?? 0;
  assertNumber(value, 'value', fn);
  assertFloat32(value, 'value', fn);
  const [n, features] = table.shape;
  const mask = flagArray(params.mask, n * features, 'params.mask', fn, `n f = ${n}*${features}`);
  return maskTable(table, mask, value);
}

/**
 * Random feature masking: every entry is masked independently with probability `rate` (a
 * Bernoulli mask, VIME's mask generator `m ~ Bern(p_m)`; Yoon et al. 2020, "VIME: Extending the
 * Success of Self- and Semi-supervised Learning to Tabular Domain") and set to `value` (masking
 * noise as in denoising autoencoders). VIME itself fills masked entries with values of other rows
 * (the empirical marginal): that is {@link scarfCorruption}. `applyWithMask` also returns the mask
 * for VIME's mask-estimation pretext task.
 *
 * Draw order: `n f` `rng.uniform` draws in row-major order; entry `e` is masked when its draw is
 * `< rate`. `rate = 0` copies the table, `rate = 1` masks every entry. `apply` reads the batch to
 * the host (`dataSync`) and writes the masked entries there.
 *
 * Value range: the input's values and `value`.
 *
 * @param options - `rate`, `value`.
 * @returns a {@link FeatureMasking}; its `apply` returns a new `[n, f]` float32 tensor owned by
 *   the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `rate` leaves [0, 1] or `value` is not finite in float32.
 * @example
 * ```ts
 * const masking = featureMasking({ rate: 0.3 });
 * const { output, mask } = masking.applyWithMask(tf.ones([2, 4]) as tf.Tensor2D, new Rng(0));
 * mask.print();   // [[1, 0, 1, 1], [0, 0, 0, 0]]
 * output.print(); // [[0, 1, 0, 0], [1, 1, 1, 1]]
 * ```
 * @category Tabular
 */
export function featureMasking(options: FeatureMaskingOptions = {}): FeatureMasking {
  const fn = 'featureMasking';
  assertObject(options, 'options', fn);
  const rate = options.rate ?? 0.3;
  const value = options.value ?? 0;
  assertProbability(rate, 'rate', fn);
  assertNumber(value, 'value', fn);
  assertFloat32(value, 'value', fn);
  const draw = (count: number, rng: Rng): Uint8Array => {
    const mask = new Uint8Array(count);
    for (let e = 0; e < count; e++) mask[e] = rng.uniform() < rate ? 1 : 0;
    return mask;
  };
  return {
    name: fn,
    sample(shape: readonly [number, number], rng: Rng) {
      assertShape(shape, 2, `${fn}.sample`, '[n, f]');
      assertRng(rng, `${fn}.sample`);
      return { mask: draw(shape[0] * shape[1], rng) };
    },
    apply(table: tf.Tensor2D, rng: Rng): tf.Tensor2D {
      assertTable(table, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      return maskTable(table, draw(table.size, rng), value);
    },
    applyWithMask(table: tf.Tensor2D, rng: Rng): MaskedTable {
      assertTable(table, `${fn}.applyWithMask`);
      assertRng(rng, `${fn}.applyWithMask`);
      const mask = draw(table.size, rng);
      const output = maskTable(table, mask, value);
      return { output, mask: tf.tensor2d(Float32Array.from(mask), table.shape, 'float32') };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Gaussian noise
// ---------------------------------------------------------------------------------------------

/** Explicit parameters of {@link applyTabularNoise}. @category Tabular */
export interface TabularNoiseParams {
  /** Standard-normal draws `eps`, `n f` finite numbers in row-major order. */
  readonly epsilon: ArrayLike<number>;
}

/** Options of {@link tabularNoise} and {@link applyTabularNoise}. @category Tabular */
export interface TabularNoiseOptions {
  /**
   * Standard deviation of the added noise, in [0, 3.4028234663852886e38] (in the units of the
   * features: standardize them first). @defaultValue 0.1 (ours: no paper fixes one)
   */
  readonly std?: number;
}

/**
 * The augmentation returned by {@link tabularNoise}.
 * @category Tabular
 */
export interface TabularNoise extends TensorAugmentation<tf.Tensor2D> {
  /**
   * Draw the noise of a table of the given shape, exactly as `apply` does.
   * @param shape - `[n, f]`, positive integers.
   * @param rng - advanced by `n f` normal draws.
   * @returns `epsilon` as a `Float32Array` of `n f` standard-normal draws.
   */
  sample(shape: readonly [number, number], rng: Rng): TabularNoiseParams;
}

/**
 * `x + fround(std) * fround(eps)` with the product rounded to float32, as a float32 framework
 * computes it; a copy when `std = 0`.
 * @internal
 */
export function addScaledNoise<T extends tf.Tensor>(x: T, epsilon: ArrayLike<number>, std: number): T {
  if (std === 0) return tf.clone(x);
  const scale = Math.fround(std);
  const noise = new Float32Array(x.size);
  for (let e = 0; e < noise.length; e++) noise[e] = Math.fround(epsilon[e] as number) * scale;
  return tf.tidy(() => tf.add(x, tf.tensor(noise, x.shape, 'float32')) as T);
}

/**
 * Add Gaussian noise with explicit draws: `table + std eps`. The deterministic form of
 * {@link tabularNoise}.
 *
 * @param table - `[n, f]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link TensorAugmentation}).
 * @param params - `epsilon`, `n f` standard-normal draws in row-major order.
 * @param options - the noise scale. @defaultValue std 0.1
 * @returns a new `[n, f]` float32 tensor owned by the caller (not clipped: values may leave the
 *   input's range).
 * @throws `ContrastiveError` for a bad table, an `epsilon` without `n f` numbers finite in float32,
 *   or a `std` outside [0, 3.4028234663852886e38].
 * @example
 * ```ts
 * applyTabularNoise(tf.tensor2d([[1, 2]]), { epsilon: [1, -2] }, { std: 0.5 }).print(); // [[1.5, 1]]
 * ```
 * @category Tabular
 */
export function applyTabularNoise(table: tf.Tensor2D, params: TabularNoiseParams, options: TabularNoiseOptions = {}): tf.Tensor2D {
  const fn = 'applyTabularNoise';
  assertTable(table, fn);
  assertObject(params, 'params', fn, '{ epsilon }');
  assertObject(options, 'options', fn);
  const std = options.std ?? 0.1;
  assertNumber(std, 'std', fn, { min: 0 });
  assertFloat32(std, 'std', fn);
  const [n, features] = table.shape;
  const epsilon = numberArray(params.epsilon, n * features, 'params.epsilon', fn, `n f = ${n}*${features}`);
  assertFloat32Entries(epsilon, 'params.epsilon', fn);
  return addScaledNoise(table, epsilon, std);
}

/**
 * Additive Gaussian noise on every entry of a table: `table + std eps`, `eps ~ N(0, 1)` — the
 * tabular counterpart of jitter (Um et al. 2017) and of image pixel noise. Not clipped.
 *
 * Draw order: `n f` `rng.normal()` draws in row-major order (made even when `std = 0`, which
 * copies the table).
 *
 * @param options - `std`.
 * @returns a {@link TabularNoise}; its `apply` returns a new `[n, f]` float32 tensor owned by the
 *   caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `std` leaves [0, 3.4028234663852886e38].
 * @example
 * ```ts
 * const noise = tabularNoise({ std: 0.1 });
 * const view = noise.apply(tf.zeros([2, 3]) as tf.Tensor2D, new Rng(0));
 * console.log(view.shape); // [2, 3]  (values ~ N(0, 0.01))
 * ```
 * @category Tabular
 */
export function tabularNoise(options: TabularNoiseOptions = {}): TabularNoise {
  const fn = 'tabularNoise';
  assertObject(options, 'options', fn);
  const std = options.std ?? 0.1;
  assertNumber(std, 'std', fn, { min: 0 });
  assertFloat32(std, 'std', fn);
  return {
    name: fn,
    sample(shape: readonly [number, number], rng: Rng) {
      assertShape(shape, 2, `${fn}.sample`, '[n, f]');
      assertRng(rng, `${fn}.sample`);
      return { epsilon: rng.normalArray(shape[0] * shape[1]) };
    },
    apply(table: tf.Tensor2D, rng: Rng): tf.Tensor2D {
      assertTable(table, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      return addScaledNoise(table, rng.normalArray(table.size), std);
    },
  };
}

