import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, type Rng } from '@contrastive/core';
import type { Augmentation } from './augmentation.js';
import { assertFloat32, assertImages, assertObject, assertProbability, assertRng, describeValue, drawCoins, perImageFlags } from './checks.js';

/** Explicit per-image parameters of {@link applyGaussianNoise}. @category Augmentation */
export interface NoiseParams {
  /** Add noise to image `i` where `noise[i]` is true; `n` entries. */
  readonly noise: ArrayLike<boolean>;
  /**
   * Standard-normal draws `eps` (RECIPE.md step 3), one per pixel and channel: `n h w c` finite
   * numbers in NHWC (row-major) order. Entries of images without noise are ignored.
   */
  readonly epsilon: ArrayLike<number>;
}

/** Options of {@link applyGaussianNoise}. @category Augmentation */
export interface NoiseScaleOptions {
  /** Standard deviation of the added noise, >= 0 and finite in float32 (<= 3.4028234663852886e38). @defaultValue 0.05 */
  readonly std?: number;
}

/** Options of {@link gaussianNoise}. @category Augmentation */
export interface GaussianNoiseOptions extends NoiseScaleOptions {
  /** Probability of adding noise to each image, in [0, 1]. @defaultValue 0.5 */
  readonly probability?: number;
}

/**
 * The augmentation returned by {@link gaussianNoise}.
 * @category Augmentation
 */
export interface GaussianNoise extends Augmentation {
  /**
   * Draw the noise of a batch of the given shape, exactly as `apply` does.
   * @param shape - `[n, h, w, c]`, positive integers.
   * @param rng - advanced by `n` uniform draws, then `h w c` normal draws per noisy image.
   * @returns the coins and `epsilon` (`n h w c` values; zeros for images without noise).
   */
  sample(shape: readonly [number, number, number, number], rng: Rng): NoiseParams;
}

/**
 * `clamp(images + noise, 0, 1)`, where `noise` already holds `std eps` for images with noise and 0
 * elsewhere (so those images are only clamped).
 */
function addNoise(images: tf.Tensor4D, noise: Float32Array | null): tf.Tensor4D {
  if (noise === null) return tf.clipByValue(images, 0, 1);
  return tf.tidy(() => tf.clipByValue(tf.add(images, tf.tensor4d(noise, images.shape)), 0, 1) as tf.Tensor4D);
}

/** Scale the draws of images with noise by `std` in float32 (as `std * eps` in a float32 framework); zero the rest. */
function scaledNoise(flags: Uint8Array, epsilon: ArrayLike<number>, perImage: number, std: number, into?: Float32Array): Float32Array | null {
  if (!flags.includes(1) || std === 0) return null;
  const scale = Math.fround(std);
  const noise = into ?? new Float32Array(flags.length * perImage);
  for (let i = 0; i < flags.length; i++) {
    if (flags[i] !== 1) {
      if (into !== undefined) noise.fill(0, i * perImage, (i + 1) * perImage);
      continue;
    }
    for (let j = i * perImage; j < (i + 1) * perImage; j++) noise[j] = Math.fround(epsilon[j] as number) * scale;
  }
  return noise;
}

/** Two float buffers reused by `gaussianNoise().apply` (views of exactly `size` floats). */
const buffers: [Float32Array, Float32Array] = [new Float32Array(0), new Float32Array(0)];
function scratch(which: 0 | 1, size: number): Float32Array {
  if (buffers[which].length < size) buffers[which] = new Float32Array(size);
  return buffers[which].subarray(0, size);
}

/**
 * Add Gaussian noise with explicit draws, exactly as RECIPE.md step 3: where `noise[i]`,
 * `v = v + std eps`; then, for every image, `v = clamp(v, 0, 1)`. The deterministic form of
 * {@link gaussianNoise}.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param params - `noise` (one boolean per image) and `epsilon` (`n h w c` standard-normal draws).
 * @param options - noise scale. @defaultValue std 0.05
 * @returns a new `[n, h, w, c]` float32 tensor in [0, 1] owned by the caller.
 * @throws `ContrastiveError` for bad images, a `noise` array without `n` booleans, an
 *   `epsilon` without `n h w c` numbers finite in float32, or a `std` outside [0, 3.4028234663852886e38].
 * @example
 * ```ts
 * const x = tf.tensor4d([0.5, 0.99], [1, 1, 2, 1]);
 * applyGaussianNoise(x, { noise: [true], epsilon: [2, 1] }, { std: 0.05 }).print(); // [[[[0.6], [1]]]]
 * ```
 * @category Augmentation
 */
export function applyGaussianNoise(images: tf.Tensor4D, params: NoiseParams, options: NoiseScaleOptions = {}): tf.Tensor4D {
  const fn = 'applyGaussianNoise';
  assertImages(images, fn);
  assertObject(params, 'params', fn, '{ noise, epsilon }');
  assertObject(options, 'options', fn);
  const std = options.std ?? 0.05;
  assertNumber(std, 'std', fn, { min: 0 });
  assertFloat32(std, 'std', fn);
  const [n, height, width, channels] = images.shape;
  const flags = perImageFlags(params.noise, n, 'params.noise', fn);
  const perImage = height * width * channels;
  const size = n * perImage;
  const source = params.epsilon as ArrayLike<unknown> | null | undefined;
  if (source === null || typeof source !== 'object' || typeof source.length !== 'number') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'params.epsilon' passed to '${fn}' must be an array of ${size} numbers (n h w c), got ${describeValue(source)}`,
    );
  }
  if (source.length !== size) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'params.epsilon' passed to '${fn}' must have ${size} entries (n h w c = ${n}*${height}*${width}*${channels}), got ${source.length}`,
    );
  }
  for (let i = 0; i < n; i++) {
    if (flags[i] !== 1) continue;
    for (let j = i * perImage; j < (i + 1) * perImage; j++) {
      const value = source[j];
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'params.epsilon[${j}]' passed to '${fn}' must be a finite number, got ${describeValue(value)}`);
      }
      assertFloat32(value, `params.epsilon[${j}]`, fn);
    }
  }
  return addNoise(images, scaledNoise(flags, source as ArrayLike<number>, perImage, std));
}

/**
 * Random additive Gaussian noise, exactly as RECIPE.md step 3: with probability `probability` per
 * image, `v = v + std eps` with `eps ~ N(0, 1)` per pixel and channel; then every image is clamped
 * to [0, 1]. (SimCLR, Chen et al. 2020, uses Gaussian blur on ImageNet; the recipe uses pixel
 * noise on 28x28 images.)
 *
 * Draw order: `n` `rng.uniform` coins for images `0 .. n-1` (`noise = u < probability`), then, for
 * each image whose coin is true in index order, `h w c` `rng.normal()` draws in NHWC order. Images
 * without noise consume no normal draws.
 *
 * @param options - probability and std; defaults are the reference recipe's.
 * @returns a {@link GaussianNoise}; its `apply` returns a new `[n, h, w, c]` float32 tensor in
 *   [0, 1] owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `probability` leaves [0, 1] or `std` is negative.
 * @example
 * ```ts
 * const noise = gaussianNoise({ probability: 0.5, std: 0.05 });
 * const out = noise.apply(tf.fill([2, 28, 28, 1], 0.5) as tf.Tensor4D, new Rng(0));
 * console.log(out.shape); // [2, 28, 28, 1]
 * ```
 * @category Augmentation
 */
export function gaussianNoise(options: GaussianNoiseOptions = {}): GaussianNoise {
  const fn = 'gaussianNoise';
  assertObject(options, 'options', fn);
  const probability = options.probability ?? 0.5;
  const std = options.std ?? 0.05;
  assertProbability(probability, 'probability', fn);
  assertNumber(std, 'std', fn, { min: 0 });
  assertFloat32(std, 'std', fn);

  /**
   * The coins, then `h w c` standard-normal draws per image with noise (`rng.normalArray`: the
   * same draws as `rng.normal()` one by one, each rounded to float32). `into`: a buffer of at least
   * `n h w c` floats to fill instead of a new array (entries of images without noise are left
   * as they are).
   */
  const draw = (shape: readonly number[], rng: Rng, into?: Float32Array): { flags: Uint8Array; epsilon: Float32Array } => {
    const [n = 0, height = 0, width = 0, channels = 0] = shape;
    const perImage = height * width * channels;
    const flags = drawCoins(n, rng, probability);
    const epsilon = into ?? new Float32Array(n * perImage);
    for (let i = 0; i < n; i++) {
      if (flags[i] === 1) epsilon.set(rng.normalArray(perImage), i * perImage);
    }
    return { flags, epsilon };
  };

  return {
    name: fn,
    sample(shape: readonly [number, number, number, number], rng: Rng): NoiseParams {
      if (!Array.isArray(shape) || shape.length !== 4) {
        throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'shape' passed to '${fn}.sample' must be [n, h, w, c], got ${describeValue(shape)}`);
      }
      shape.forEach((size, axis) => assertNumber(size, `shape[${axis}]`, `${fn}.sample`, { integer: true, min: 1 }));
      assertRng(rng, `${fn}.sample`);
      const { flags, epsilon } = draw(shape, rng);
      return { noise: Array.from(flags, (flag) => flag === 1), epsilon };
    },
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      // The draws and the scaled noise live in buffers reused across calls: a fresh 1.6 MB array
      // (a batch of 512 28x28 images) costs ~6 ms of new pages on a VM, twice per call.
      const [n, height, width, channels] = images.shape;
      const size = n * height * width * channels;
      const { flags, epsilon } = draw(images.shape, rng, scratch(0, size));
      return addNoise(images, scaledNoise(flags, epsilon, height * width * channels, std, scratch(1, size)));
    },
  };
}
