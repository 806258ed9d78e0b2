import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, type Rng } from '@contrastive/core';
import type { Augmentation } from './augmentation.js';
import {
  type Interval,
  assertImages,
  assertInterval,
  assertProbability,
  describeValue,
  perImageFlags,
  perImageNumbers,
} from './checks.js';

/** Explicit per-image parameters of {@link applyColorJitter}; every array has `n` entries. @category Augmentation */
export interface JitterParams {
  /** Jitter image `i` where `jitter[i]` is true; the others are copied unchanged. */
  readonly jitter: ArrayLike<boolean>;
  /** Brightness factors `b`, each >= 0 (ignored where `jitter` is false). */
  readonly brightness: ArrayLike<number>;
  /** Contrast factors `c`, each >= 0 (ignored where `jitter` is false). */
  readonly contrast: ArrayLike<number>;
}

/** Options of {@link colorJitter}. @category Augmentation */
export interface ColorJitterOptions {
  /** Probability of jittering each image, in [0, 1]. @defaultValue 0.8 */
  readonly probability?: number;
  /** Range of the brightness factor `b ~ U(brightness)`, ends >= 0 (torchvision's `brightness=0.4`). @defaultValue `[0.6, 1.4]` */
  readonly brightness?: Interval;
  /** Range of the contrast factor `c ~ U(contrast)`, ends >= 0 (torchvision's `contrast=0.4`). @defaultValue `[0.6, 1.4]` */
  readonly contrast?: Interval;
}

/**
 * The augmentation returned by {@link colorJitter}.
 * @category Augmentation
 */
export interface ColorJitter extends Augmentation {
  /**
   * Draw the jitter parameters of `n` images, exactly as `apply` does.
   * @param n - number of images, a positive integer.
   * @param rng - advanced by `3 n` uniform draws.
   */
  sample(n: number, rng: Rng): JitterParams;
}

function jitterImages(images: tf.Tensor4D, flags: Uint8Array, brightness: ArrayLike<number>, contrast: ArrayLike<number>): tf.Tensor4D {
  const [n, height, width, channels] = images.shape;
  if (!flags.includes(1)) return tf.clone(images);
  // RECIPE.md step 2, `clamp((v b - m) c + m, 0, 1)` with `m = mean(v b) = b mean(v)`, evaluated as
  // `clamp(v (b c) + (1 - c) b mean(v), 0, 1)`: two full-size broadcasts instead of six (broadcasting
  // is slow on the cpu backend); the same value up to float32 rounding (~1e-7). Images without jitter
  // get scale 1 and offset 0, which returns them exactly.
  const scale = Float32Array.from(flags, (flag, i) => (flag === 1 ? (brightness[i] as number) * (contrast[i] as number) : 1));
  const meanWeight = Float32Array.from(flags, (flag, i) => (flag === 1 ? (1 - (contrast[i] as number)) * (brightness[i] as number) : 0));
  return tf.tidy(() => {
    const flat = tf.reshape(images, [n, height * width * channels]);
    const offset = tf.mul(tf.mean(flat, 1, true), tf.tensor2d(meanWeight, [n, 1]));
    const jittered = tf.clipByValue(tf.add(tf.mul(flat, tf.tensor2d(scale, [n, 1])), offset), 0, 1);
    return tf.reshape(jittered, images.shape);
  });
}

/**
 * Brightness then contrast with explicit per-image factors, exactly as RECIPE.md step 2 (the
 * colour distortion of SimCLR, Chen et al. 2020, reduced to what applies to grey images): where
 * `jitter[i]`, `v = v b; m = mean(v)` (per image, after brightness, over all pixels and channels);
 * `v = clamp((v - m) c + m, 0, 1)`. Images where `jitter[i]` is false are scaled by 1 and offset
 * by 0 (exact) and share the batch's clamp, so images in [0, 1] come back unchanged.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 * @param params - `jitter`, `brightness`, `contrast`, one entry per image.
 * @returns a new `[n, h, w, c]` float32 tensor in [0, 1] owned by the caller.
 * @throws `ContrastiveError` for bad images, arrays without `n` entries, or a negative or
 *   non-finite factor.
 * @example
 * ```ts
 * const x = tf.tensor4d([0.2, 0.4], [1, 1, 2, 1]);
 * applyColorJitter(x, { jitter: [true], brightness: [2], contrast: [0.5] }).print();
 * // [[[[0.5], [0.7]]]]  (v = [0.4, 0.8], m = 0.6)
 * ```
 * @category Augmentation
 */
export function applyColorJitter(images: tf.Tensor4D, params: JitterParams): tf.Tensor4D {
  const fn = 'applyColorJitter';
  assertImages(images, fn);
  if (params === null || typeof params !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'params' passed to '${fn}' must be an object { jitter, brightness, contrast }, got ${describeValue(params)}`,
    );
  }
  const n = images.shape[0];
  const flags = perImageFlags(params.jitter, n, 'params.jitter', fn);
  const brightness = perImageNumbers(params.brightness, n, 'params.brightness', fn, { min: 0 });
  const contrast = perImageNumbers(params.contrast, n, 'params.contrast', fn, { min: 0 });
  return jitterImages(images, flags, brightness, contrast);
}

/**
 * Random colour jitter (brightness then contrast), as in SimCLR's colour distortion (Chen et al.
 * 2020) and exactly as RECIPE.md step 2: with probability `probability` per image,
 * `b ~ U(brightness)`, `c ~ U(contrast)`, then {@link applyColorJitter}.
 *
 * Differences from torchvision's `ColorJitter`: a fixed order (brightness, then contrast) instead
 * of a random one; one clamp at the end instead of one per operation; the contrast mean is over all
 * pixels and channels (torchvision: the mean of the grey-scale image, the same for one channel);
 * no saturation or hue.
 *
 * Draw order: for image `i = 0 .. n-1`, three `rng.uniform` draws — the coin (`jitter = u < probability`),
 * `b`, `c` — `b` and `c` are drawn even where the coin is false.
 *
 * @param options - probability and factor ranges; defaults are the reference recipe's.
 * @returns a {@link ColorJitter}; its `apply` returns a new `[n, h, w, c]` float32 tensor owned by
 *   the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `probability` leaves [0, 1] or a range
 *   has a negative end or low > high.
 * @example
 * ```ts
 * const jitter = colorJitter({ probability: 0.8, brightness: [0.6, 1.4], contrast: [0.6, 1.4] });
 * const out = jitter.apply(tf.fill([2, 28, 28, 1], 0.5) as tf.Tensor4D, new Rng(0));
 * console.log(out.shape); // [2, 28, 28, 1]
 * ```
 * @category Augmentation
 */
export function colorJitter(options: ColorJitterOptions = {}): ColorJitter {
  const fn = 'colorJitter';
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object, got ${describeValue(options)}`);
  }
  const probability = options.probability ?? 0.8;
  const brightnessRange = options.brightness ?? [0.6, 1.4];
  const contrastRange = options.contrast ?? [0.6, 1.4];
  assertProbability(probability, 'probability', fn);
  assertInterval(brightnessRange, 'brightness', fn, { min: 0 });
  assertInterval(contrastRange, 'contrast', fn, { min: 0 });
  const [brightnessLow, brightnessHigh] = brightnessRange;
  const [contrastLow, contrastHigh] = contrastRange;

  const draw = (n: number, rng: Rng): { flags: Uint8Array; brightness: Float64Array; contrast: Float64Array } => {
    const flags = new Uint8Array(n);
    const brightness = new Float64Array(n);
    const contrast = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      flags[i] = rng.uniform() < probability ? 1 : 0;
      brightness[i] = rng.uniform(brightnessLow, brightnessHigh);
      contrast[i] = rng.uniform(contrastLow, contrastHigh);
    }
    return { flags, brightness, contrast };
  };

  return {
    name: fn,
    sample(n: number, rng: Rng): JitterParams {
      assertNumber(n, 'n', `${fn}.sample`, { integer: true, min: 1 });
      const { flags, brightness, contrast } = draw(n, rng);
      return { jitter: Array.from(flags, (flag) => flag === 1), brightness: Array.from(brightness), contrast: Array.from(contrast) };
    },
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      const { flags, brightness, contrast } = draw(images.shape[0], rng);
      return jitterImages(images, flags, brightness, contrast);
    },
  };
}
