import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, type Rng } from '@contrastive/core';
import type { Augmentation } from './augmentation.js';
import { FLOAT32_MAX, FLOAT32_MIN_NORMAL, assertFloat32, assertImages, assertObject, assertProbability, assertRng, describeValue, drawCoins, perImageFlags } from './checks.js';
import { transformFlagged, uint8Level } from './photometric-common.js';

// ---------------------------------------------------------------------------------------------
// Grayscale
// ---------------------------------------------------------------------------------------------

/** Explicit per-image parameters of {@link applyGrayscale}. @category Augmentation */
export interface GrayscaleParams {
  /** Convert image `i` to grayscale where `grayscale[i]` is true; `n` entries. */
  readonly grayscale: ArrayLike<boolean>;
}

/** Options of {@link randomGrayscale}. @category Augmentation */
export interface RandomGrayscaleOptions {
  /**
   * Probability of converting each image, in [0, 1]. SimCLR's, MoCo v2's and BYOL's value;
   * torchvision's `RandomGrayscale` defaults to 0.1.
   * @defaultValue 0.2
   */
  readonly probability?: number;
}

/**
 * The augmentation returned by {@link randomGrayscale}.
 * @category Augmentation
 */
export interface RandomGrayscale extends Augmentation {
  /**
   * Draw the grayscale coins of `n` images, exactly as `apply` does.
   * @param n - number of images, a positive integer.
   * @param rng - advanced by `n` uniform draws.
   */
  sample(n: number, rng: Rng): GrayscaleParams;
}

/** torchvision's luma weights (`_rgb_to_grayscale_image`: 0.2989 R + 0.587 G + 0.114 B). */
const LUMA = [0.2989, 0.587, 0.114] as const;

function assertGrayscaleChannels(images: tf.Tensor4D, fn: string): void {
  const channels = images.shape[3];
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'images' passed to '${fn}' must have 1, 3 or 4 channels ([n, h, w, c] grey, RGB or RGBA), got c = ${channels}`,
    );
  }
}

/**
 * Luma of every RGB(A) image, replicated to the 3 colour channels (alpha copied). Every step is
 * exact or one float32 rounding, identical on all backends.
 */
function lumaRgb(images: tf.Tensor4D): tf.Tensor4D {
  const channels = images.shape[3];
  const oneHot = (index: number, size: number): number[] => Array.from({ length: size }, (_, k) => (k === index ? 1 : 0));
  // 1x1 convolutions whose filters hold a single 1 per output copy a channel exactly (1 v + 0 + ...);
  // slicing the last axis is ~10x slower on wasm. The weighted sum is then evaluated element-wise
  // in a fixed order, (0.2989 R + 0.587 G) + 0.114 B, so it rounds the same way on every backend.
  const channel = (index: number): tf.Tensor4D => tf.conv2d(images, tf.tensor4d(oneHot(index, channels), [1, 1, channels, 1]), 1, 'valid');
  const luma = tf.add(tf.add(tf.mul(channel(0), LUMA[0]), tf.mul(channel(1), LUMA[1])), tf.mul(channel(2), LUMA[2])) as tf.Tensor4D;
  // The same kind of convolution copies the luma into the colour channels (faster than tile or
  // concat on wasm); for RGBA a second one copies alpha, and the sum adds exact zeros.
  const grey = tf.conv2d(luma, tf.tensor4d([1, 1, 1, 0].slice(0, channels), [1, 1, 1, channels]), 1, 'valid');
  if (channels === 3) return grey;
  return tf.add(grey, tf.conv2d(images, tf.tensor4d([0, 1, 2, 3].flatMap((k) => oneHot(k === 3 ? 3 : -1, 4)), [1, 1, 4, 4]), 1, 'valid'));
}

function grayscaleImages(images: tf.Tensor4D, flags: Uint8Array): tf.Tensor4D {
  if (images.shape[3] === 1) return tf.clone(images);
  return transformFlagged(images, flags, lumaRgb);
}

/**
 * Convert the chosen RGB images to grayscale, replicated to 3 channels: `L = 0.2989 R + 0.587 G +
 * 0.114 B` (torchvision's `rgb_to_grayscale` on tensors, `num_output_channels = 3`; ITU-R 601-2 luma
 * with torchvision's 0.2989 for red, where PIL uses 0.299). The deterministic form of
 * {@link randomGrayscale}. Equal to torchvision up to float32 rounding (torch may fuse the
 * multiply-adds).
 *
 * Channels: `c = 3` is converted; `c = 1` is already grey and comes back as an exact copy (as in
 * torchvision); `c = 4` is taken as RGBA: the luma of the first three channels replaces them and
 * alpha is copied (as colour jitter's saturation and hue treat RGBA; torchvision rejects it);
 * any other `c` is rejected.
 *
 * @param images - `[n, h, w, c]` float32 with `c` = 1, 3 or 4 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param params - `grayscale`, one boolean per image.
 * @returns a new `[n, h, w, c]` float32 tensor owned by the caller; other images are exact copies.
 *   Images in [0, 1] stay in [0, 1] (the weights sum to 0.9999).
 * @throws `ContrastiveError` `SHAPE_MISMATCH`/`DTYPE_MISMATCH` for bad images or a channel count
 *   other than 1, 3 or 4, `SHAPE_MISMATCH` when `grayscale` does not hold `n` entries,
 *   `INVALID_ARGUMENT` for a non-boolean entry.
 * @example
 * ```ts
 * const x = tf.tensor4d([1, 0.5, 0, 0.2, 0.4, 0.6], [2, 1, 1, 3]);
 * applyGrayscale(x, { grayscale: [true, false] }).print();
 * // [[[[0.5924, 0.5924, 0.5924]]], [[[0.2, 0.4, 0.6]]]]  (0.2989 + 0.587 / 2)
 * ```
 * @category Augmentation
 */
export function applyGrayscale(images: tf.Tensor4D, params: GrayscaleParams): tf.Tensor4D {
  const fn = 'applyGrayscale';
  assertImages(images, fn);
  assertGrayscaleChannels(images, fn);
  assertObject(params, 'params', fn, '{ grayscale }', false);
  const flags = perImageFlags(params.grayscale, images.shape[0], 'params.grayscale', fn);
  return grayscaleImages(images, flags);
}

/**
 * Random grayscale: each RGB image becomes grey (replicated to 3 channels) with probability
 * `probability` — torchvision's `RandomGrayscale`, part of the colour distortion of SimCLR (Chen
 * et al. 2020), MoCo v2 and BYOL; see {@link applyGrayscale} for the formula and the channel rule
 * (`c = 1` is returned unchanged, `c = 4` is RGBA with alpha kept, other `c` are rejected by
 * `apply`).
 *
 * Draw order: one `rng.uniform` per image `i = 0 .. n-1` (also for `c = 1`); image `i` is
 * converted when it is `< probability`.
 *
 * @param options - probability.
 * @returns a {@link RandomGrayscale}; its `apply` returns a new `[n, h, w, c]` float32 tensor owned
 *   by the caller, in [0, 1] for inputs in [0, 1].
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `probability` leaves [0, 1].
 * @example
 * ```ts
 * const grayscale = randomGrayscale({ probability: 1 });
 * grayscale.apply(tf.tensor4d([0, 1, 0], [1, 1, 1, 3]), new Rng(0)).print(); // [[[[0.587, 0.587, 0.587]]]]
 * ```
 * @category Augmentation
 */
export function randomGrayscale(options: RandomGrayscaleOptions = {}): RandomGrayscale {
  const fn = 'randomGrayscale';
  assertObject(options, 'options', fn, '', false);
  const probability = options.probability ?? 0.2;
  assertProbability(probability, 'probability', fn);
  return {
    name: fn,
    sample(n: number, rng: Rng): GrayscaleParams {
      assertNumber(n, 'n', `${fn}.sample`, { integer: true, min: 1 });
      assertRng(rng, `${fn}.sample`);
      return { grayscale: Array.from(drawCoins(n, rng, probability), (flag) => flag === 1) };
    },
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      assertGrayscaleChannels(images, `${fn}.apply`);
      return grayscaleImages(images, drawCoins(images.shape[0], rng, probability));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Solarize
// ---------------------------------------------------------------------------------------------

/** Explicit per-image parameters of {@link applySolarize}. @category Augmentation */
export interface SolarizeParams {
  /** Solarize image `i` where `solarize[i]` is true; `n` entries. */
  readonly solarize: ArrayLike<boolean>;
}

/** Options of {@link applySolarize}. @category Augmentation */
export interface SolarizeThresholdOptions {
  /**
   * Pixels `>= threshold` are inverted, in [0, 1] (torchvision requires it; BYOL uses 0.5 on [0, 1]
   * images, i.e. 128 / 255 on uint8). Compared in float32, as torch compares a float32 tensor.
   * @defaultValue 0.5
   */
  readonly threshold?: number;
}

/** Options of {@link solarize}. @category Augmentation */
export interface SolarizeOptions extends SolarizeThresholdOptions {
  /** Probability of solarizing each image, in [0, 1] (torchvision's `RandomSolarize`). @defaultValue 0.5 */
  readonly probability?: number;
}

/**
 * The augmentation returned by {@link solarize}.
 * @category Augmentation
 */
export interface Solarize extends Augmentation {
  /**
   * Draw the solarize coins of `n` images, exactly as `apply` does.
   * @param n - number of images, a positive integer.
   * @param rng - advanced by `n` uniform draws.
   */
  sample(n: number, rng: Rng): SolarizeParams;
}

function solarizeImages(images: tf.Tensor4D, flags: Uint8Array, threshold: number): tf.Tensor4D {
  const n = images.shape[0];
  if (!flags.includes(1)) return tf.clone(images);
  return tf.tidy(() => {
    // where(x >= t, 1 - x, x), element-wise only and exact: the mask [x >= t] is 1 - step(t - x)
    // (fl(t - x) > 0 exactly when x < t; tf.step is ~10x faster than tf.greaterEqual on wasm),
    // zeroed for the images not solarized, then x (1 - m) + (1 - x) m with m in {0, 1}.
    let inverted = tf.sub(1, tf.step(tf.sub(threshold, images)));
    if (flags.includes(0)) inverted = tf.mul(inverted, tf.tensor4d(Float32Array.from(flags), [n, 1, 1, 1]));
    return tf.add(tf.mul(images, tf.sub(1, inverted)), tf.mul(tf.sub(1, images), inverted)) as tf.Tensor4D;
  });
}

function solarizeThreshold(options: SolarizeThresholdOptions, fn: string): number {
  const threshold = options.threshold ?? 0.5;
  assertNumber(threshold, 'threshold', fn, { min: 0, max: 1 });
  return threshold;
}

/**
 * Solarize the chosen images: every pixel `x >= threshold` becomes `1 - x`, the others are kept —
 * torchvision's `solarize` on float tensors (`torch.where(img >= threshold, 1 - img, img)`), the
 * deterministic form of {@link solarize} (BYOL, Grill et al. 2020). All channels alike, any `c`.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param params - `solarize`, one boolean per image.
 * @param options - threshold. @defaultValue threshold 0.5
 * @returns a new `[n, h, w, c]` float32 tensor owned by the caller; [0, 1] stays [0, 1]; images not
 *   chosen are exact copies.
 * @throws `ContrastiveError` for bad images, a `solarize` array without `n` booleans, or a
 *   threshold outside [0, 1].
 * @example
 * ```ts
 * const x = tf.tensor4d([0.2, 0.5, 0.7, 1], [1, 2, 2, 1]);
 * applySolarize(x, { solarize: [true] }).print(); // [[[[0.2], [0.5]], [[0.3], [0]]]]
 * ```
 * @category Augmentation
 */
export function applySolarize(images: tf.Tensor4D, params: SolarizeParams, options: SolarizeThresholdOptions = {}): tf.Tensor4D {
  const fn = 'applySolarize';
  assertImages(images, fn);
  assertObject(params, 'params', fn, '{ solarize }', false);
  assertObject(options, 'options', fn, '', false);
  const threshold = solarizeThreshold(options, fn);
  const flags = perImageFlags(params.solarize, images.shape[0], 'params.solarize', fn);
  return solarizeImages(images, flags, threshold);
}

/**
 * Random solarization — torchvision's `RandomSolarize(threshold, p)`, used in BYOL's second view
 * (Grill et al. 2020, probability 0.2): with probability `probability` per image, pixels
 * `>= threshold` are inverted (`1 - x`); see {@link applySolarize}.
 *
 * Draw order: one `rng.uniform` per image `i = 0 .. n-1`; image `i` is solarized when it is
 * `< probability`.
 *
 * @param options - threshold and probability.
 * @returns a {@link Solarize}; its `apply` returns a new `[n, h, w, c]` float32 tensor owned by the
 *   caller; [0, 1] stays [0, 1].
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `threshold` or `probability` leaves [0, 1].
 * @example
 * ```ts
 * const solar = solarize({ threshold: 0.5, probability: 1 });
 * solar.apply(tf.tensor4d([0.25, 0.75], [1, 1, 2, 1]), new Rng(0)).print(); // [[[[0.25], [0.25]]]]
 * ```
 * @category Augmentation
 */
export function solarize(options: SolarizeOptions = {}): Solarize {
  const fn = 'solarize';
  assertObject(options, 'options', fn, '', false);
  const threshold = solarizeThreshold(options, fn);
  const probability = options.probability ?? 0.5;
  assertProbability(probability, 'probability', fn);
  return {
    name: fn,
    sample(n: number, rng: Rng): SolarizeParams {
      assertNumber(n, 'n', `${fn}.sample`, { integer: true, min: 1 });
      assertRng(rng, `${fn}.sample`);
      return { solarize: Array.from(drawCoins(n, rng, probability), (flag) => flag === 1) };
    },
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      return solarizeImages(images, drawCoins(images.shape[0], rng, probability), threshold);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Posterize
// ---------------------------------------------------------------------------------------------

/** Explicit per-image parameters of {@link applyPosterize}. @category Augmentation */
export interface PosterizeParams {
  /** Posterize image `i` where `posterize[i]` is true; `n` entries. */
  readonly posterize: ArrayLike<boolean>;
}

/** Options of {@link applyPosterize}. @category Augmentation */
export interface PosterizeBitsOptions {
  /** Bits kept per channel of the uint8 value, an integer in [0, 8] (torchvision's `bits`). @defaultValue 4 */
  readonly bits?: number;
}

/** Options of {@link posterize}. @category Augmentation */
export interface PosterizeOptions extends PosterizeBitsOptions {
  /** Probability of posterizing each image, in [0, 1] (torchvision's `RandomPosterize`). @defaultValue 0.5 */
  readonly probability?: number;
}

/**
 * The augmentation returned by {@link posterize}.
 * @category Augmentation
 */
export interface Posterize extends Augmentation {
  /**
   * Draw the posterize coins of `n` images, exactly as `apply` does.
   * @param n - number of images, a positive integer.
   * @param rng - advanced by `n` uniform draws.
   */
  sample(n: number, rng: Rng): PosterizeParams;
}

function posterizeBits(options: PosterizeBitsOptions, fn: string): number {
  const bits = options.bits ?? 4;
  assertNumber(bits, 'bits', fn, { integer: true, min: 0, max: 8 });
  return bits;
}

function posterizeImages(images: tf.Tensor4D, flags: Uint8Array, bits: number): tf.Tensor4D {
  const step = 2 ** (8 - bits);
  return transformFlagged(images, flags, (x) => {
    // v = floor(clamp(x, 0, 1) 255) (ToPILImage), v & -step = floor(v / step) step (exact: v is an
    // integer, step a power of 2), then / 255 (ToTensor).
    const levels = tf.floor(tf.mul(tf.clipByValue(x, 0, 1), 255));
    return tf.div(tf.mul(tf.floor(tf.div(levels, step)), step), 255) as tf.Tensor4D;
  });
}

/**
 * Posterize the chosen images with uint8 semantics: keep the top `bits` bits of each channel's
 * 8-bit value. torchvision's `posterize` works on uint8 images only (`img & -(2^(8 - bits))`); on a
 * float image this is `ToTensor(posterize(ToPILImage(x)))`:
 * `v = floor(x 255)` (`ToPILImage`'s `mul(255).byte()`, with `x` first clamped to [0, 1]),
 * `v = v & -(2^(8 - bits))`, `out = v / 255`. So `bits = 8` still quantises to the 1/255 grid, and
 * `bits = 4` gives the levels `{0, 16, ..., 240} / 255`. (torchvision v2's float kernel instead
 * returns `floor(x 2^bits) / 2^bits`.) The deterministic form of {@link posterize}; any `c`.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param params - `posterize`, one boolean per image.
 * @param options - bits. @defaultValue bits 4
 * @returns a new `[n, h, w, c]` float32 tensor owned by the caller; chosen images are in [0, 1] on
 *   the grid `k / 255`, the others are exact copies.
 * @throws `ContrastiveError` for bad images, a `posterize` array without `n` booleans, or `bits`
 *   not an integer in [0, 8].
 * @example
 * ```ts
 * const x = tf.tensor4d([0, 0.1, 0.5, 1], [1, 2, 2, 1]);
 * applyPosterize(x, { posterize: [true] }, { bits: 4 }).print();
 * // [[[[0], [0.0627451]], [[0.4392157], [0.9411765]]]]  (levels 0, 25, 127, 255 -> 0, 16, 112, 240; over 255)
 * ```
 * @category Augmentation
 */
export function applyPosterize(images: tf.Tensor4D, params: PosterizeParams, options: PosterizeBitsOptions = {}): tf.Tensor4D {
  const fn = 'applyPosterize';
  assertImages(images, fn);
  assertObject(params, 'params', fn, '{ posterize }', false);
  assertObject(options, 'options', fn, '', false);
  const bits = posterizeBits(options, fn);
  const flags = perImageFlags(params.posterize, images.shape[0], 'params.posterize', fn);
  return posterizeImages(images, flags, bits);
}

/**
 * Random posterization — torchvision's `RandomPosterize(bits, p)` (AutoAugment, Cubuk et al.
 * 2019; used among the strong augmentations of contrastive methods): with probability
 * `probability` per image, each channel keeps the top `bits` bits of its uint8 value; see
 * {@link applyPosterize} for the float mapping.
 *
 * Draw order: one `rng.uniform` per image `i = 0 .. n-1`; image `i` is posterized when it is
 * `< probability`.
 *
 * @param options - bits and probability.
 * @returns a {@link Posterize}; its `apply` returns a new `[n, h, w, c]` float32 tensor owned by
 *   the caller, in [0, 1] for inputs in [0, 1].
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `bits` is not an integer in [0, 8] or
 *   `probability` leaves [0, 1].
 * @example
 * ```ts
 * const poster = posterize({ bits: 1, probability: 1 });
 * poster.apply(tf.tensor4d([0.4, 0.6], [1, 1, 2, 1]), new Rng(0)).print(); // [[[[0], [0.5019608]]]]
 * ```
 * @category Augmentation
 */
export function posterize(options: PosterizeOptions = {}): Posterize {
  const fn = 'posterize';
  assertObject(options, 'options', fn, '', false);
  const bits = posterizeBits(options, fn);
  const probability = options.probability ?? 0.5;
  assertProbability(probability, 'probability', fn);
  return {
    name: fn,
    sample(n: number, rng: Rng): PosterizeParams {
      assertNumber(n, 'n', `${fn}.sample`, { integer: true, min: 1 });
      assertRng(rng, `${fn}.sample`);
      return { posterize: Array.from(drawCoins(n, rng, probability), (flag) => flag === 1) };
    },
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      return posterizeImages(images, drawCoins(images.shape[0], rng, probability), bits);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Equalize
// ---------------------------------------------------------------------------------------------

/** Explicit per-image parameters of {@link applyEqualize}. @category Augmentation */
export interface EqualizeParams {
  /** Equalize image `i` where `equalize[i]` is true; `n` entries. */
  readonly equalize: ArrayLike<boolean>;
}

/** Options of {@link equalize}. @category Augmentation */
export interface EqualizeOptions {
  /** Probability of equalizing each image, in [0, 1] (torchvision's `RandomEqualize`). @defaultValue 0.5 */
  readonly probability?: number;
}

/**
 * The augmentation returned by {@link equalize}.
 * @category Augmentation
 */
export interface Equalize extends Augmentation {
  /**
   * Draw the equalize coins of `n` images, exactly as `apply` does.
   * @param n - number of images, a positive integer.
   * @param rng - advanced by `n` uniform draws.
   */
  sample(n: number, rng: Rng): EqualizeParams;
}

/** The float32 value of each uint8 level, `fround(k / 255)` (ToTensor's division). */
const LEVEL_VALUES = Float32Array.from({ length: 256 }, (_, level) => level / 255);

function equalizeImages(images: tf.Tensor4D, flags: Uint8Array): tf.Tensor4D {
  if (!flags.includes(1)) return tf.clone(images);
  const [n, height, width, channels] = images.shape;
  const pixels = height * width;
  const source = images.dataSync() as Float32Array;
  const out = Float32Array.from(source);
  const histogram = new Int32Array(256);
  const levels = new Uint8Array(pixels);
  const lut = new Float32Array(256);
  for (let i = 0; i < n; i++) {
    if (flags[i] !== 1) continue;
    const base = i * pixels * channels;
    for (let channel = 0; channel < channels; channel++) {
      histogram.fill(0);
      for (let p = 0, offset = base + channel; p < pixels; p++, offset += channels) {
        const level = uint8Level(source[offset] as number);
        levels[p] = level;
        histogram[level] = (histogram[level] as number) + 1;
      }
      // torchvision's _scale_channel (= PIL's ImageOps.equalize): step = (number of pixels not at
      // the highest present level) // 255; step 0 keeps the channel; else
      // lut[k] = clamp((cumsum[k - 1] + step // 2) // step, 0, 255), lut[0] = 0.
      let last = 0;
      for (let level = 255; level >= 0; level--) {
        if ((histogram[level] as number) > 0) {
          last = histogram[level] as number;
          break;
        }
      }
      const step = Math.floor((pixels - last) / 255);
      if (step === 0) {
        for (let level = 0; level < 256; level++) lut[level] = LEVEL_VALUES[level] as number;
      } else {
        const half = Math.floor(step / 2);
        let cumulative = 0;
        for (let level = 0; level < 256; level++) {
          lut[level] = LEVEL_VALUES[Math.min(255, Math.floor((cumulative + half) / step))] as number;
          cumulative += histogram[level] as number;
        }
      }
      for (let p = 0, offset = base + channel; p < pixels; p++, offset += channels) out[offset] = lut[levels[p] as number] as number;
    }
  }
  return tf.tensor4d(out, images.shape);
}

/**
 * Histogram-equalize each channel of the chosen images with uint8 semantics — torchvision's
 * `equalize` (`_equalize_single_image`, equal to PIL's `ImageOps.equalize`), applied as
 * `ToTensor(equalize(ToPILImage(x)))`: per image and channel, the levels `v = floor(x 255)`
 * (`x` clamped to [0, 1]) are counted in 256 bins; `step = floor((h w - count of the highest
 * present level) / 255)`; if `step = 0` (e.g. a constant channel) the channel keeps its levels,
 * else `lut[0] = 0`, `lut[k] = min(255, floor((cumsum[k - 1] + floor(step / 2)) / step))`; the
 * output is `lut[v] / 255`. Chosen images therefore always come back on the 1/255 grid. The
 * deterministic form of {@link equalize}.
 *
 * Channels: each of the `c` channels is equalized on its own (torchvision accepts c = 1 or 3; any
 * `c` is accepted here).
 *
 * Cost: the histograms are computed on the host. When at least one image is chosen the batch is
 * read once (`dataSync`, a GPU sync on WebGL), each chosen image costs `O(h w c + 256 c)`, and the
 * result is uploaded as one tensor: on wasm about 9 ms for `[256, 28, 28, 1]` with every image
 * chosen, mostly the copies out of and back into wasm memory (a device-side version would need
 * `tf.gather`, slower on wasm). Exact and identical on every backend.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param params - `equalize`, one boolean per image.
 * @returns a new `[n, h, w, c]` float32 tensor owned by the caller; chosen images are in [0, 1],
 *   the others are exact copies.
 * @throws `ContrastiveError` for bad images or an `equalize` array without `n` booleans.
 * @example
 * ```ts
 * // 4 pixels at levels 0, 0, 1, 2: step = floor((4 - 1) / 255) = 0, so the levels stay.
 * const x = tf.tensor4d([0, 0, 1 / 255, 2 / 255], [1, 2, 2, 1]);
 * applyEqualize(x, { equalize: [true] }).print(); // [[[[0], [0]], [[0.0039216], [0.0078431]]]]
 * // A 32x32 image with 400 pixels at level 50, 400 at 100 and 224 at 200: step = floor(800 / 255)
 * // = 3, and the levels become 0, floor(401 / 3) = 133 and min(255, floor(801 / 3)) = 255.
 * ```
 * @category Augmentation
 */
export function applyEqualize(images: tf.Tensor4D, params: EqualizeParams): tf.Tensor4D {
  const fn = 'applyEqualize';
  assertImages(images, fn);
  assertObject(params, 'params', fn, '{ equalize }', false);
  const flags = perImageFlags(params.equalize, images.shape[0], 'params.equalize', fn);
  return equalizeImages(images, flags);
}

/**
 * Random histogram equalization — torchvision's `RandomEqualize(p)` (AutoAugment, Cubuk et al.
 * 2019): with probability `probability` per image, every channel is equalized on its uint8 levels;
 * see {@link applyEqualize} for the rule, the float mapping and the (host-side) cost.
 *
 * Draw order: one `rng.uniform` per image `i = 0 .. n-1`; image `i` is equalized when it is
 * `< probability`.
 *
 * @param options - probability.
 * @returns an {@link Equalize}; its `apply` returns a new `[n, h, w, c]` float32 tensor owned by
 *   the caller, in [0, 1] for inputs in [0, 1].
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `probability` leaves [0, 1].
 * @example
 * ```ts
 * const equal = equalize({ probability: 0.5 });
 * const out = equal.apply(tf.randomUniform([4, 28, 28, 1]) as tf.Tensor4D, new Rng(0));
 * console.log(out.shape); // [4, 28, 28, 1]
 * ```
 * @category Augmentation
 */
export function equalize(options: EqualizeOptions = {}): Equalize {
  const fn = 'equalize';
  assertObject(options, 'options', fn, '', false);
  const probability = options.probability ?? 0.5;
  assertProbability(probability, 'probability', fn);
  return {
    name: fn,
    sample(n: number, rng: Rng): EqualizeParams {
      assertNumber(n, 'n', `${fn}.sample`, { integer: true, min: 1 });
      assertRng(rng, `${fn}.sample`);
      return { equalize: Array.from(drawCoins(n, rng, probability), (flag) => flag === 1) };
    },
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      return equalizeImages(images, drawCoins(images.shape[0], rng, probability));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Normalize
// ---------------------------------------------------------------------------------------------

/** Options of {@link normalize} and {@link applyNormalize}. @category Augmentation */
export interface NormalizeOptions {
  /** Per-channel means: `c` numbers finite in float32, or one shared by all channels (required; no default). */
  readonly mean: readonly number[];
  /** Per-channel standard deviations: `c` numbers > 0, or one shared by all channels (required). */
  readonly std: readonly number[];
}

function checkedStatistics(options: NormalizeOptions, fn: string): { mean: Float32Array; std: Float32Array } {
  assertObject(options, 'options', fn, '', false);
  const read = (values: unknown, argument: 'mean' | 'std'): Float32Array => {
    if (!Array.isArray(values) || values.length === 0) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument '${argument}' passed to '${fn}' must be a non-empty array of numbers (one per channel), got ${describeValue(values)}`,
      );
    }
    values.forEach((value: unknown, index) => {
      assertNumber(value, `${argument}[${index}]`, fn, argument === 'std' ? { min: 0, exclusiveMin: true } : {});
      // Also a number of float32: a std below the smallest normal float32 (or a mean beyond its
      // range) would round to 0 (±Infinity) in the tensor and make every output NaN or infinite.
      if (argument === 'std') assertNumber(value, `${argument}[${index}]`, fn, { min: FLOAT32_MIN_NORMAL, max: FLOAT32_MAX });
      else assertFloat32(value, `${argument}[${index}]`, fn);
    });
    return Float32Array.from(values as number[]);
  };
  const mean = read(options.mean, 'mean');
  const std = read(options.std, 'std');
  if (mean.length !== std.length && mean.length !== 1 && std.length !== 1) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Arguments 'mean' and 'std' passed to '${fn}' must have the same length (or length 1), got ${mean.length} and ${std.length}`,
    );
  }
  return { mean, std };
}

function normalizeImages(images: tf.Tensor4D, mean: Float32Array, std: Float32Array, fn: string): tf.Tensor4D {
  const channels = images.shape[3];
  for (const [argument, values] of [
    ['mean', mean],
    ['std', std],
  ] as const) {
    if (values.length !== 1 && values.length !== channels) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument '${argument}' passed to '${fn}' must have ${channels} entries (one per channel of the images) or 1, got ${values.length}`,
      );
    }
  }
  const asTensor = (values: Float32Array): tf.Tensor => (values.length === 1 ? tf.scalar(values[0] as number) : tf.tensor1d(values));
  return tf.tidy(() => tf.div(tf.sub(images, asTensor(mean)), asTensor(std)) as tf.Tensor4D);
}

/**
 * Normalize every channel: `(x - mean[k]) / std[k]` — torchvision's `Normalize` (a subtraction
 * then a division in float32, with `mean` and `std` rounded to float32, so equal to torchvision
 * bit for bit). Deterministic: no random draws.
 *
 * The value range changes: channel `k` of an image in [0, 1] lands in
 * `[-mean[k] / std[k], (1 - mean[k]) / std[k]]` (e.g. about [-2.12, 2.64] for ImageNet's
 * statistics), so put it last in a pipeline: ops that assume [0, 1] (solarize, posterize,
 * equalize, the clamps of colour jitter, noise and blur) must come before it.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param options - `mean` and `std`, each with `c` entries or 1.
 * @returns a new `[n, h, w, c]` float32 tensor owned by the caller; an entry is ±Infinity where
 *   `|x - mean| / std` exceeds float32's range (only with a tiny `std` or a huge `mean`).
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for a non-array, a `mean` entry not finite in float32
 *   or a `std` entry outside [2^-126, 3.4028234663852886e38] (a normal float32 > 0); `SHAPE_MISMATCH` when `mean` or `std` has neither `c` entries nor 1.
 * @example
 * ```ts
 * const x = tf.tensor4d([0, 0.5, 1, 1, 0.5, 0], [1, 1, 2, 3]);
 * applyNormalize(x, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 0.5] }).print();
 * // [[[[-1, 0, 1], [1, 0, -1]]]]
 * ```
 * @category Augmentation
 */
export function applyNormalize(images: tf.Tensor4D, options: NormalizeOptions): tf.Tensor4D {
  const fn = 'applyNormalize';
  assertImages(images, fn);
  const { mean, std } = checkedStatistics(options, fn);
  return normalizeImages(images, mean, std, fn);
}

/**
 * Per-channel normalization as an {@link Augmentation} stage (for `compose`): torchvision's
 * `Normalize(mean, std)`; see {@link applyNormalize} for the formula and the new value range.
 * `apply` makes no random draws (its `rng` is left untouched).
 *
 * @param options - `mean` and `std` (required; checked against the channel count at `apply`).
 * @returns an {@link Augmentation} named `'normalize'`; its `apply` returns a new `[n, h, w, c]`
 *   float32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for a non-array, a `mean` entry not finite in float32
 *   or a `std` entry outside [2^-126, 3.4028234663852886e38] (a normal float32 > 0), `SHAPE_MISMATCH` when `mean` and `std` differ in length (neither being 1).
 * @example
 * ```ts
 * const norm = normalize({ mean: [0.1307], std: [0.3081] }); // MNIST statistics
 * norm.apply(tf.tensor4d([0.1307, 1], [1, 1, 2, 1]), new Rng(0)).print(); // [[[[0], [2.8215]]]]
 * ```
 * @category Augmentation
 */
export function normalize(options: NormalizeOptions): Augmentation {
  const fn = 'normalize';
  const { mean, std } = checkedStatistics(options, fn);
  return {
    name: fn,
    apply(images: tf.Tensor4D): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      return normalizeImages(images, mean, std, `${fn}.apply`);
    },
  };
}
