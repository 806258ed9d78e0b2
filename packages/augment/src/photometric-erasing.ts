import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, type Rng } from '@contrastive/core';
import type { Augmentation } from './augmentation.js';
import { type Interval, assertFloat32, assertImages, assertInterval, assertObject, assertProbability, assertRng, assertShape, describeValue, perImageFlags, perImageNumbers, roundHalfEven } from './checks.js';

/** A constant fill: one value for every channel, or one per channel. @category Augmentation */
export type ErasingValue = number | readonly number[];

/**
 * Explicit per-image boxes of {@link applyErasing} (made by {@link randomErasing} and
 * {@link cutout}); every array has `n` entries. Boxes are in whole pixels: rows
 * `top .. top + height - 1`, columns `left .. left + width - 1`.
 *
 * @category Augmentation
 */
export interface ErasingParams {
  /** Erase a box of image `i` where `erase[i]` is true; the other entries are ignored. */
  readonly erase: ArrayLike<boolean>;
  /** First erased row, an integer >= 0. */
  readonly top: ArrayLike<number>;
  /** First erased column, an integer >= 0. */
  readonly left: ArrayLike<number>;
  /** Box height in pixels, an integer >= 0 with `top + height <= h` (0 erases nothing). */
  readonly height: ArrayLike<number>;
  /** Box width in pixels, an integer >= 0 with `left + width <= w`. */
  readonly width: ArrayLike<number>;
  /**
   * Per-image noise fills (`value: 'random'`): entry `i` holds `height[i] width[i] c` finite numbers
   * in (row, column, channel) order, or is `null` to use the constant `value`. Omit for constant fills.
   */
  readonly noise?: ArrayLike<ArrayLike<number> | null>;
}

/** Options of {@link applyErasing}. @category Augmentation */
export interface ErasingValueOptions {
  /** Constant fill of the boxes without noise: a number, or `c` numbers (one per channel), finite in float32. @defaultValue 0 */
  readonly value?: ErasingValue;
}

/** Options of {@link randomErasing}. @category Augmentation */
export interface RandomErasingOptions {
  /** Probability of erasing a box in each image, in [0, 1]. @defaultValue 0.5 */
  readonly probability?: number;
  /** Range of the box area as a fraction of the image area, inside [0, 1]. @defaultValue `[0.02, 0.33]` */
  readonly scale?: Interval;
  /** Range of the box aspect ratio `height / width`, sampled log-uniformly; ends > 0. @defaultValue `[0.3, 3.3]` */
  readonly ratio?: Interval;
  /**
   * The fill: a constant (number, or one per channel, finite in float32), or `'random'` for standard-normal noise per
   * pixel and channel drawn from the `Rng` (torchvision's `value='random'`).
   * @defaultValue 0
   */
  readonly value?: ErasingValue | 'random';
}

/** Options of {@link cutout}. @category Augmentation */
export interface CutoutOptions {
  /** Side of the square in pixels, a positive integer (DeVries & Taylor: 16 on CIFAR-10, 8 on CIFAR-100). @defaultValue 16 */
  readonly size?: number;
  /** Probability of cutting a square out of each image, in [0, 1] (the paper always cuts). @defaultValue 1 */
  readonly probability?: number;
  /** Constant fill: a number, or one per channel, finite in float32. @defaultValue 0 */
  readonly value?: ErasingValue;
}

/**
 * The augmentation returned by {@link randomErasing}.
 * @category Augmentation
 */
export interface RandomErasing extends Augmentation {
  /**
   * Draw the boxes (and noise) of a batch of the given shape, exactly as `apply` does.
   * @param shape - `[n, h, w, c]`, positive integers.
   * @param rng - advanced as the draw order of {@link randomErasing} says.
   */
  sample(shape: readonly [number, number, number, number], rng: Rng): ErasingParams;
}

/**
 * The augmentation returned by {@link cutout}.
 * @category Augmentation
 */
export interface Cutout extends Augmentation {
  /**
   * Draw the squares of a batch of the given shape, exactly as `apply` does.
   * @param shape - `[n, h, w, c]`, positive integers.
   * @param rng - advanced by 3 draws per image.
   */
  sample(shape: readonly [number, number, number, number], rng: Rng): ErasingParams;
}

function checkedValue(value: unknown, fn: string): Float32Array {
  if (typeof value === 'number') {
    assertNumber(value, 'value', fn);
    assertFloat32(value, 'value', fn);
    return Float32Array.of(value);
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'value' passed to '${fn}' must be a number or a non-empty array of numbers (one per channel), got ${describeValue(value)}`,
    );
  }
  value.forEach((entry: unknown, index) => {
    assertNumber(entry, `value[${index}]`, fn);
    assertFloat32(entry, `value[${index}]`, fn);
  });
  return Float32Array.from(value as number[]);
}

function assertValueChannels(value: Float32Array, channels: number, fn: string): void {
  if (value.length !== 1 && value.length !== channels) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'value' passed to '${fn}' must have ${channels === 1 ? '1 entry (the images have 1 channel)' : `1 or ${channels} entries (one per channel of the images)`}, got ${value.length}`,
    );
  }
}

/** Boxes in whole pixels, one per image; `erase` 0 where nothing is erased. */
interface Boxes {
  readonly erase: Uint8Array;
  readonly top: Int32Array;
  readonly left: Int32Array;
  readonly height: Int32Array;
  readonly width: Int32Array;
  readonly noise: (Float32Array | null)[];
}

/** Boxes for `n` images, none erased. */
function emptyBoxes(n: number): Boxes {
  return {
    erase: new Uint8Array(n),
    top: new Int32Array(n),
    left: new Int32Array(n),
    height: new Int32Array(n),
    width: new Int32Array(n),
    noise: Array.from({ length: n }, () => null),
  };
}

/** An erasing augmentation named `fn` whose boxes come from `draw`, filled with `value` (or their noise). */
function erasingAugmentation(
  fn: string,
  value: Float32Array,
  withNoise: boolean,
  draw: (shape: readonly number[], rng: Rng) => Boxes,
): RandomErasing & Cutout {
  return {
    name: fn,
    sample(shape: readonly [number, number, number, number], rng: Rng): ErasingParams {
      assertShape(shape, 4, `${fn}.sample`, '[n, h, w, c]');
      assertRng(rng, `${fn}.sample`);
      return toParams(draw(shape, rng), withNoise);
    },
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      assertValueChannels(value, images.shape[3], `${fn}.apply`);
      return eraseBoxes(images, draw(images.shape, rng), value);
    },
  };
}

function toParams(boxes: Boxes, withNoise: boolean): ErasingParams {
  const params: ErasingParams = {
    erase: Array.from(boxes.erase, (flag) => flag === 1),
    top: Array.from(boxes.top),
    left: Array.from(boxes.left),
    height: Array.from(boxes.height),
    width: Array.from(boxes.width),
  };
  return withNoise ? { ...params, noise: boxes.noise } : params;
}

/**
 * `images keep + fill`, exact and element-wise (identical on every backend). The box mask is the
 * outer product of per-image row and column indicators (`[n, h, 1, 1]` times `[n, 1, w, 1]`, tiny
 * host arrays), replicated to the channels by a 1x1 convolution with a single non-zero product per
 * output (exact); the constant fill is the mask times the value by the same kind of convolution.
 * Noise fills, the only full-size host array, are built only when some box has noise.
 */
function eraseBoxes(images: tf.Tensor4D, boxes: Boxes, value: Float32Array): tf.Tensor4D {
  const [n, height, width, channels] = images.shape;
  const rows = new Float32Array(n * height);
  const columns = new Float32Array(n * width);
  const constant = new Float32Array(n);
  let erased = false;
  let noisy = false;
  for (let i = 0; i < n; i++) {
    const top = boxes.top[i] as number;
    const left = boxes.left[i] as number;
    const boxHeight = boxes.height[i] as number;
    const boxWidth = boxes.width[i] as number;
    if (boxes.erase[i] !== 1 || boxHeight === 0 || boxWidth === 0) continue;
    erased = true;
    rows.fill(1, i * height + top, i * height + top + boxHeight);
    columns.fill(1, i * width + left, i * width + left + boxWidth);
    if (boxes.noise[i] === null) constant[i] = 1;
    else noisy = true;
  }
  if (!erased) return tf.clone(images);
  let noise: Float32Array | null = null;
  if (noisy) {
    noise = new Float32Array(n * height * width * channels);
    for (let i = 0; i < n; i++) {
      const values = boxes.noise[i];
      if (boxes.erase[i] !== 1 || values === null || values === undefined) continue;
      const top = boxes.top[i] as number;
      const left = boxes.left[i] as number;
      const rowLength = (boxes.width[i] as number) * channels;
      for (let y = 0; y < (boxes.height[i] as number); y++) {
        noise.set(values.subarray(y * rowLength, (y + 1) * rowLength), ((i * height + top + y) * width + left) * channels);
      }
    }
  }
  const noiseValues = noise;
  const hasConstantFill = constant.includes(1) && value.some((entry) => entry !== 0);
  return tf.tidy(() => {
    const mask = tf.mul(tf.tensor4d(rows, [n, height, 1, 1]), tf.tensor4d(columns, [n, 1, width, 1])) as tf.Tensor4D;
    const maskPerChannel = channels === 1 ? mask : tf.conv2d(mask, tf.ones([1, 1, 1, channels]) as tf.Tensor4D, 1, 'valid');
    let out = tf.mul(images, tf.sub(1, maskPerChannel)) as tf.Tensor4D;
    if (hasConstantFill) {
      const constantMask = noisy ? tf.mul(mask, tf.tensor4d(constant, [n, 1, 1, 1])) : mask;
      const filter = tf.tensor4d(Float32Array.from({ length: channels }, (_, k) => value[value.length === 1 ? 0 : k] as number), [1, 1, 1, channels]);
      out = tf.add(out, tf.conv2d(constantMask as tf.Tensor4D, filter, 1, 'valid'));
    }
    if (noiseValues !== null) out = tf.add(out, tf.tensor4d(noiseValues, images.shape));
    return out;
  });
}

/**
 * Erase explicit boxes: inside box `i` of every image with `erase[i]`, each pixel and channel is
 * replaced by the fill — `noise[i]` when given, else the constant `value` — exactly as
 * torchvision's `F.erase(img, i, j, h, w, v)`. The deterministic form of {@link randomErasing}
 * and {@link cutout}. Any channel count.
 *
 * Value range: pixels outside the boxes are exact copies; inside, the fill's values (a fill of 0,
 * or in [0, 1], keeps [0, 1]; noise does not — torchvision does not clip it either).
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param params - `erase`, `top`, `left`, `height`, `width` (and optional `noise`), one entry per image.
 * @param options - the constant fill. @defaultValue value 0
 * @returns a new `[n, h, w, c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` for bad images, arrays without `n` entries, a box of an erased image
 *   that is not in whole pixels or leaves the image, a noise entry without `height width c` numbers
 *   finite in float32, or a `value` with neither 1 nor `c` entries finite in float32.
 * @example
 * ```ts
 * const x = tf.ones([1, 3, 3, 1]) as tf.Tensor4D;
 * applyErasing(x, { erase: [true], top: [1], left: [0], height: [2], width: [2] }).print();
 * // [[[[1], [1], [1]], [[0], [0], [1]], [[0], [0], [1]]]]
 * ```
 * @category Augmentation
 */
export function applyErasing(images: tf.Tensor4D, params: ErasingParams, options: ErasingValueOptions = {}): tf.Tensor4D {
  const fn = 'applyErasing';
  assertImages(images, fn);
  assertObject(params, 'params', fn, '{ erase, top, left, height, width, noise? }', false);
  assertObject(options, 'options', fn, '', false);
  const [n, imageHeight, imageWidth, channels] = images.shape;
  const value = checkedValue(options.value ?? 0, fn);
  assertValueChannels(value, channels, fn);
  const erase = perImageFlags(params.erase, n, 'params.erase', fn);
  const top = perImageNumbers(params.top, n, 'params.top', fn);
  const left = perImageNumbers(params.left, n, 'params.left', fn);
  const height = perImageNumbers(params.height, n, 'params.height', fn);
  const width = perImageNumbers(params.width, n, 'params.width', fn);
  const noiseList = params.noise as ArrayLike<unknown> | null | undefined;
  if (noiseList !== undefined && (noiseList === null || typeof noiseList !== 'object' || noiseList.length !== n)) {
    throw new ContrastiveError(
      noiseList !== null && typeof noiseList === 'object' && typeof noiseList.length === 'number' ? 'SHAPE_MISMATCH' : 'INVALID_ARGUMENT',
      `Argument 'params.noise' passed to '${fn}' must be an array of ${n} entries (one per image, null for a constant fill), got ${describeValue(noiseList)}`,
    );
  }
  const boxes: Boxes = {
    erase,
    top: Int32Array.from(top),
    left: Int32Array.from(left),
    height: Int32Array.from(height),
    width: Int32Array.from(width),
    noise: Array.from({ length: n }, () => null),
  };
  for (let i = 0; i < n; i++) {
    if (erase[i] !== 1) continue;
    const check = (argument: string, entry: number, max: number): void =>
      assertNumber(entry, `params.${argument}[${i}]`, fn, { integer: true, min: 0, max });
    check('top', top[i] as number, imageHeight);
    check('left', left[i] as number, imageWidth);
    check('height', height[i] as number, imageHeight - (top[i] as number));
    check('width', width[i] as number, imageWidth - (left[i] as number));
    const noise = noiseList?.[i] ?? null;
    if (noise === null) continue;
    const expected = (height[i] as number) * (width[i] as number) * channels;
    const length = (noise as { length?: unknown }).length;
    if (typeof noise !== 'object' || typeof length !== 'number') {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'params.noise[${i}]' passed to '${fn}' must be an array of ${expected} numbers (height width c) or null, got ${describeValue(noise)}`,
      );
    }
    if (length !== expected) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument 'params.noise[${i}]' passed to '${fn}' must have ${expected} entries (height width c = ${height[i]}*${width[i]}*${channels}), got ${length}`,
      );
    }
    const values = new Float32Array(expected);
    for (let k = 0; k < expected; k++) {
      const entry = (noise as ArrayLike<unknown>)[k];
      if (typeof entry !== 'number' || !Number.isFinite(entry)) {
        throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'params.noise[${i}][${k}]' passed to '${fn}' must be a finite number, got ${describeValue(entry)}`);
      }
      assertFloat32(entry, `params.noise[${i}][${k}]`, fn);
      values[k] = entry;
    }
    boxes.noise[i] = values;
  }
  return eraseBoxes(images, boxes, value);
}

/**
 * Random erasing — torchvision's `RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3),
 * value=0)` (Zhong et al. 2020, "Random Erasing Data Augmentation"): with probability
 * `probability` per image, up to 10 attempts draw a box with area `s h w`, `s ~ U(scale)`, and
 * aspect `r = exp(U(log ratio))`; its height is `round(sqrt(s h w r))` and width
 * `round(sqrt(s h w / r))` (Python's round half to even, as torchvision); the first box with
 * height < h and width < w is placed uniformly and filled (see {@link applyErasing}). When no
 * attempt fits, the image is left unchanged (as torchvision).
 *
 * Draw order: for image `i = 0 .. n-1`: one `rng.uniform` coin (`erase = u < probability`); if it
 * is true, per attempt two `rng.uniform` draws (scale, log-ratio) until a box fits; then, for
 * `value: 'random'`, `height width c` `rng.normal()` draws in (row, column, channel) order; then
 * `top = rng.int(h - height + 1)` and `left = rng.int(w - width + 1)` (torchvision's order: noise,
 * then position). Images whose coin is false make no further draws.
 *
 * Value range: a fill of 0 (or any value in [0, 1]) keeps [0, 1]; `'random'` noise leaves it.
 *
 * @param options - probability, scale, ratio and fill.
 * @returns a {@link RandomErasing}; its `apply` returns a new `[n, h, w, c]` float32 tensor owned by
 *   the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `probability` leaves [0, 1], `scale` leaves
 *   [0, 1], a `ratio` end is not > 0, an interval has low > high, or `value` is neither a finite
 *   number, an array of them nor `'random'`; `apply` throws `SHAPE_MISMATCH` when a per-channel
 *   `value` has neither 1 nor `c` entries.
 * @example
 * ```ts
 * const erasing = randomErasing({ probability: 1, value: 'random' });
 * const out = erasing.apply(tf.ones([4, 28, 28, 1]) as tf.Tensor4D, new Rng(0));
 * console.log(out.shape); // [4, 28, 28, 1]
 * ```
 * @category Augmentation
 */
export function randomErasing(options: RandomErasingOptions = {}): RandomErasing {
  const fn = 'randomErasing';
  assertObject(options, 'options', fn, '', false);
  const probability = options.probability ?? 0.5;
  const scale = options.scale ?? [0.02, 0.33];
  const ratio = options.ratio ?? [0.3, 3.3];
  assertProbability(probability, 'probability', fn);
  assertInterval(scale, 'scale', fn, { min: 0, max: 1 });
  assertInterval(ratio, 'ratio', fn, { min: 0, exclusiveMin: true });
  const random = options.value === 'random';
  const value = random ? Float32Array.of(0) : checkedValue(options.value ?? 0, fn);
  const [scaleLow, scaleHigh] = scale;
  const logRatioLow = Math.log(ratio[0]);
  const logRatioHigh = Math.log(ratio[1]);

  const draw = (shape: readonly number[], rng: Rng): Boxes => {
    const [n = 0, imageHeight = 0, imageWidth = 0, channels = 0] = shape;
    const area = imageHeight * imageWidth;
    const boxes = emptyBoxes(n);
    for (let i = 0; i < n; i++) {
      if (!(rng.uniform() < probability)) continue;
      for (let attempt = 0; attempt < 10; attempt++) {
        const eraseArea = area * rng.uniform(scaleLow, scaleHigh);
        const aspect = Math.exp(rng.uniform(logRatioLow, logRatioHigh));
        const height = roundHalfEven(Math.sqrt(eraseArea * aspect));
        const width = roundHalfEven(Math.sqrt(eraseArea / aspect));
        if (!(height < imageHeight && width < imageWidth)) continue;
        if (random) boxes.noise[i] = Float32Array.from({ length: height * width * channels }, () => rng.normal());
        boxes.erase[i] = 1;
        boxes.height[i] = height;
        boxes.width[i] = width;
        boxes.top[i] = rng.int(imageHeight - height + 1);
        boxes.left[i] = rng.int(imageWidth - width + 1);
        break;
      }
    }
    return boxes;
  };

  return erasingAugmentation(fn, value, random, draw);
}

/**
 * Cutout (DeVries & Taylor 2017, "Improved Regularization of Convolutional Neural Networks with
 * Cutout"): with probability `probability` per image, a `size x size` square whose centre
 * `(cy, cx)` is uniform over the pixels is filled with `value` (0), clipped at the border — rows
 * `max(0, cy - floor(size/2)) .. min(h, cy - floor(size/2) + size) - 1`, the same for columns.
 * For even sizes (the paper's 16 and 8) this is the reference code's box; for odd sizes the
 * reference code's `cy ± size // 2` covers `size - 1` pixels, here `size` (centred on `cy`).
 *
 * Draw order: for image `i = 0 .. n-1`: one `rng.uniform` coin (`u < probability`), then
 * `cy = rng.int(h)`, then `cx = rng.int(w)` — drawn even where the coin is false.
 *
 * Value range: a fill in [0, 1] keeps [0, 1]; pixels outside the square are exact copies.
 *
 * @param options - size, probability and fill.
 * @returns a {@link Cutout}; its `apply` returns a new `[n, h, w, c]` float32 tensor owned by the
 *   caller; `sample` returns {@link ErasingParams} for {@link applyErasing}.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `size` is not a positive integer,
 *   `probability` leaves [0, 1] or `value` is not finite in float32; `apply` throws `SHAPE_MISMATCH` when a
 *   per-channel `value` has neither 1 nor `c` entries.
 * @example
 * ```ts
 * const cut = cutout({ size: 2 });
 * const params = cut.sample([1, 3, 3, 1], new Rng(0));
 * // { erase: [true], top: [0], left: [0], height: [2], width: [2] }  (cy = 1, cx = 1)
 * applyErasing(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, params).print();
 * // [[[[0], [0], [1]], [[0], [0], [1]], [[1], [1], [1]]]]
 * ```
 * @category Augmentation
 */
export function cutout(options: CutoutOptions = {}): Cutout {
  const fn = 'cutout';
  assertObject(options, 'options', fn, '', false);
  const size = options.size ?? 16;
  const probability = options.probability ?? 1;
  assertNumber(size, 'size', fn, { integer: true, min: 1 });
  assertProbability(probability, 'probability', fn);
  const value = checkedValue(options.value ?? 0, fn);
  const half = Math.floor(size / 2);

  const draw = (shape: readonly number[], rng: Rng): Boxes => {
    const [n = 0, imageHeight = 0, imageWidth = 0] = shape;
    const boxes = emptyBoxes(n);
    for (let i = 0; i < n; i++) {
      const coin = rng.uniform() < probability;
      const cy = rng.int(imageHeight);
      const cx = rng.int(imageWidth);
      if (!coin) continue;
      const top = Math.max(0, cy - half);
      const left = Math.max(0, cx - half);
      boxes.erase[i] = 1;
      boxes.top[i] = top;
      boxes.left[i] = left;
      boxes.height[i] = Math.min(imageHeight, cy - half + size) - top;
      boxes.width[i] = Math.min(imageWidth, cx - half + size) - left;
    }
    return boxes;
  };

  return erasingAugmentation(fn, value, false, draw);
}
