import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, type Rng } from '@contrastive/core';
import type { Augmentation } from './augmentation.js';
import { type Interval, assertImages, assertInterval, assertObject, assertProbability, assertRng, perImageFlags, perImageNumbers } from './checks.js';

/** Explicit per-image parameters of {@link applyGaussianBlur}; both arrays have `n` entries. @category Augmentation */
export interface BlurParams {
  /** Blur image `i` where `blur[i]` is true; the others are copied (and clamped to [0, 1]). */
  readonly blur: ArrayLike<boolean>;
  /** Standard deviations of the Gaussian in pixels, each > 0 (ignored where `blur` is false). */
  readonly sigma: ArrayLike<number>;
}

/** Kernel size of {@link applyGaussianBlur}. @category Augmentation */
export interface BlurKernelOptions {
  /**
   * Side of the square kernel in pixels, an odd positive integer with `(kernelSize - 1) / 2 <
   * min(h, w)` (torchvision's reflect padding needs it). The default is SimCLR's rule, 10% of the
   * image side made odd: `2 floor(floor(min(h, w) / 10) / 2) + 1` — 3 for 28x28 and 32x32 images,
   * 23 for 224x224, 1 (no blur) below 20 pixels.
   * @defaultValue SimCLR's rule
   */
  readonly kernelSize?: number;
}

/** Options of {@link gaussianBlur}. @category Augmentation */
export interface GaussianBlurOptions extends BlurKernelOptions {
  /** Range of the per-image `sigma ~ U(sigma)`, ends > 0 (torchvision's and SimCLR's). @defaultValue `[0.1, 2]` */
  readonly sigma?: Interval;
  /**
   * Probability of blurring each image, in [0, 1]. torchvision's `GaussianBlur` always blurs (1);
   * SimCLR uses 0.5 on ImageNet, BYOL 1.0 and 0.1 for its two views.
   * @defaultValue 1
   */
  readonly probability?: number;
}

/**
 * The augmentation returned by {@link gaussianBlur}.
 * @category Augmentation
 */
export interface GaussianBlur extends Augmentation {
  /**
   * Draw the blur parameters of `n` images, exactly as `apply` does.
   * @param n - number of images, a positive integer.
   * @param rng - advanced by `2 n` uniform draws.
   */
  sample(n: number, rng: Rng): BlurParams;
}

/**
 * The normalized 1-D Gaussian kernel of torchvision's `_get_gaussian_kernel1d`:
 * `x = -(k - 1)/2 .. (k - 1)/2`, `p = exp(-x^2 / (2 sigma^2))`, `kernel = p / sum(p)` — computed in
 * float64 and rounded to float32 once (torch computes it in float32: the entries agree within a
 * float32 rounding). torchvision's 2-D kernel is the outer product of two of these.
 *
 * @param kernelSize - an odd positive integer.
 * @param sigma - the standard deviation in pixels, > 0.
 * @returns `kernelSize` weights, symmetric, summing to 1 (up to float32 rounding), owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `kernelSize` is not an odd positive integer
 *   or `sigma` is not a finite number > 0.
 * @example
 * ```ts
 * gaussianKernel1d(3, 1); // Float32Array [0.27406862, 0.45186276, 0.27406862]
 * ```
 * @category Augmentation
 */
export function gaussianKernel1d(kernelSize: number, sigma: number): Float32Array {
  const fn = 'gaussianKernel1d';
  assertKernelSize(kernelSize, 'kernelSize', fn);
  assertNumber(sigma, 'sigma', fn, { min: 0, exclusiveMin: true });
  return kernelWeights(kernelSize, sigma);
}

function kernelWeights(kernelSize: number, sigma: number): Float32Array {
  const radius = (kernelSize - 1) / 2;
  const density = Array.from({ length: kernelSize }, (_, t) => Math.exp(-0.5 * ((t - radius) / sigma) ** 2));
  const total = density.reduce((sum, value) => sum + value, 0);
  return Float32Array.from(density, (value) => value / total);
}

function assertKernelSize(kernelSize: unknown, argument: string, fn: string): asserts kernelSize is number {
  assertNumber(kernelSize, argument, fn, { integer: true, min: 1 });
  if (kernelSize % 2 !== 1) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${fn}' must be an odd integer, got ${kernelSize}`);
  }
}

/** SimCLR's kernel size, 10% of the (shorter) side made odd. */
function defaultKernelSize(height: number, width: number): number {
  return 2 * Math.floor(Math.floor(Math.min(height, width) / 10) / 2) + 1;
}

/**
 * Blur every image with its own kernel (`weights[t][i]` = tap `t` of image `i`), reflect padding,
 * separable (rows, then columns), then clamp to [0, 1].
 *
 * Bit-identical on every backend: a convolution accumulates in a backend-specific order (the cpu
 * backend in float64, XNNPACK in float32), so the taps are not summed by a convolution. Instead
 * each shifted copy of the padded batch comes from a depthwise convolution with a one-hot kernel
 * (`1 v + 0 + ... + 0`, exact everywhere), and the weighted sum runs element-wise in a fixed tap
 * order with `[n, 1, 1, 1]` weights (fast broadcasts on wasm). Images not blurred get the one-hot
 * weights of the identity, which reproduce them exactly. Cost: `k` shifts per pass, each a
 * depthwise convolution of size `k`, so `O(k^2)` per pixel — small for SimCLR's 3x3 kernels of
 * 28-32 px images, heavy for 224 px images (k = 23).
 */
function blurImages(images: tf.Tensor4D, flags: Uint8Array, sigma: ArrayLike<number>, kernelSize: number): tf.Tensor4D {
  const [n, , , channels] = images.shape;
  const radius = (kernelSize - 1) / 2;
  if (radius === 0 || !flags.includes(1)) return tf.clipByValue(images, 0, 1);
  const weights = Array.from({ length: kernelSize }, () => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    const kernel = flags[i] === 1 ? kernelWeights(kernelSize, sigma[i] as number) : null;
    for (let t = 0; t < kernelSize; t++) (weights[t] as Float32Array)[i] = kernel === null ? (t === radius ? 1 : 0) : (kernel[t] as number);
  }
  return tf.tidy(() => {
    const padded = tf.mirrorPad(
      images,
      [
        [0, 0],
        [radius, radius],
        [radius, radius],
        [0, 0],
      ],
      'reflect',
    );
    const tapWeights = weights.map((values) => tf.tensor4d(values, [n, 1, 1, 1]));
    const pass = (input: tf.Tensor4D, vertical: boolean): tf.Tensor4D => {
      let sum: tf.Tensor4D | null = null;
      for (let t = 0; t < kernelSize; t++) {
        const oneHot = new Float32Array(kernelSize * channels);
        oneHot.fill(1, t * channels, (t + 1) * channels);
        const filter = tf.tensor4d(oneHot, vertical ? [kernelSize, 1, channels, 1] : [1, kernelSize, channels, 1]);
        const term = tf.mul(tf.depthwiseConv2d(input, filter, 1, 'valid'), tapWeights[t] as tf.Tensor4D) as tf.Tensor4D;
        sum = sum === null ? term : (tf.add(sum, term) as tf.Tensor4D);
      }
      return sum as tf.Tensor4D;
    };
    return tf.clipByValue(pass(pass(padded, true), false), 0, 1);
  });
}

/** The kernel size for these images (the option, or SimCLR's rule), checked against reflect padding. */
function kernelSizeFor(images: tf.Tensor4D, kernelSize: number | undefined, fn: string): number {
  const [, height, width] = images.shape;
  const size = kernelSize ?? defaultKernelSize(height, width);
  if ((size - 1) / 2 >= Math.min(height, width)) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'kernelSize' passed to '${fn}' must be at most 2 min(h, w) - 1 = ${2 * Math.min(height, width) - 1} (reflect padding) for images of ${height}x${width}, got ${size}`,
    );
  }
  return size;
}

function blurKernelSize(options: BlurKernelOptions, fn: string): number | undefined {
  if (options.kernelSize !== undefined) assertKernelSize(options.kernelSize, 'kernelSize', fn);
  return options.kernelSize;
}

/**
 * Gaussian blur with explicit per-image sigmas — torchvision's `gaussian_blur(img, [k, k],
 * [sigma, sigma])` on float tensors: a `k x k` kernel, the outer product of
 * {@link gaussianKernel1d} with itself, applied per channel with reflect padding
 * (`d c b | a b c d | c b a`); here as two separable passes (rows, then columns), equal to
 * torchvision's single 2-D convolution up to float32 rounding (~1e-7). The deterministic form of
 * {@link gaussianBlur} (SimCLR, Chen et al. 2020). Any channel count; every channel alike.
 *
 * Every image, blurred or not, is then clamped to [0, 1]: a blur is a convex combination, so this
 * only removes float rounding above 1 (torchvision does not clamp); images not blurred are exact
 * copies when in [0, 1]. Bit-identical on cpu and wasm.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param params - `blur` and `sigma`, one entry per image.
 * @param options - kernel size. @defaultValue SimCLR's rule (3 for 28-39 px images)
 * @returns a new `[n, h, w, c]` float32 tensor in [0, 1] owned by the caller.
 * @throws `ContrastiveError` for bad images, arrays without `n` entries, a `sigma` entry that is
 *   not > 0, or a `kernelSize` that is not odd or needs more reflect padding than the image has
 *   (`(kernelSize - 1) / 2 >= min(h, w)`).
 * @example
 * ```ts
 * const x = tf.tensor4d([0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 5, 5, 1]);
 * const out = applyGaussianBlur(x, { blur: [true], sigma: [1] }, { kernelSize: 3 });
 * // the 3x3 block around the centre is the outer product of [0.2741, 0.4519, 0.2741]:
 * // [[0.0751, 0.1238, 0.0751], [0.1238, 0.2042, 0.1238], [0.0751, 0.1238, 0.0751]]; 0 elsewhere
 * ```
 * @category Augmentation
 */
export function applyGaussianBlur(images: tf.Tensor4D, params: BlurParams, options: BlurKernelOptions = {}): tf.Tensor4D {
  const fn = 'applyGaussianBlur';
  assertImages(images, fn);
  assertObject(params, 'params', fn, '{ blur, sigma }', false);
  assertObject(options, 'options', fn, '', false);
  const kernelSize = kernelSizeFor(images, blurKernelSize(options, fn), fn);
  const n = images.shape[0];
  const flags = perImageFlags(params.blur, n, 'params.blur', fn);
  const sigma = perImageNumbers(params.sigma, n, 'params.sigma', fn, { min: 0, exclusiveMin: true });
  return blurImages(images, flags, sigma, kernelSize);
}

/**
 * Random Gaussian blur — torchvision's `GaussianBlur(kernel_size, sigma=(0.1, 2.0))`, the blur of
 * SimCLR's augmentation (Chen et al. 2020; kernel 10% of the image side, `sigma ~ U(0.1, 2.0)`):
 * with probability `probability` per image, `sigma ~ U(sigma[0], sigma[1])` and the image is
 * blurred with a `kernelSize x kernelSize` Gaussian; see {@link applyGaussianBlur}.
 *
 * Draw order: for image `i = 0 .. n-1`, two `rng.uniform` draws — the coin (`blur = u <
 * probability`), then `sigma` — `sigma` is drawn even where the coin is false.
 *
 * Speed (wasm, after warm-up, on a shared 2-core machine): about 7-10 ms for `[256, 28, 28, 1]`
 * and 13-20 ms for `[256, 32, 32, 3]` with the default 3x3 kernel, whatever the probability; the
 * cost grows with `kernelSize^2` (see {@link applyGaussianBlur}).
 *
 * @param options - kernel size, sigma range and probability.
 * @returns a {@link GaussianBlur}; its `apply` returns a new `[n, h, w, c]` float32 tensor in [0, 1]
 *   owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `kernelSize` is not an odd positive
 *   integer, a `sigma` end is not > 0 or low > high, or `probability` leaves [0, 1]; `apply`
 *   throws when the kernel needs more reflect padding than the images have.
 * @example
 * ```ts
 * const blur = gaussianBlur({ sigma: [0.1, 2], probability: 0.5 });
 * const out = blur.apply(tf.randomUniform([8, 28, 28, 1]) as tf.Tensor4D, new Rng(0));
 * console.log(out.shape); // [8, 28, 28, 1] (3x3 kernel)
 * ```
 * @category Augmentation
 */
export function gaussianBlur(options: GaussianBlurOptions = {}): GaussianBlur {
  const fn = 'gaussianBlur';
  assertObject(options, 'options', fn, '', false);
  const kernelSize = blurKernelSize(options, fn);
  const sigmaRange = options.sigma ?? [0.1, 2];
  assertInterval(sigmaRange, 'sigma', fn, { min: 0, exclusiveMin: true });
  const probability = options.probability ?? 1;
  assertProbability(probability, 'probability', fn);
  const [sigmaLow, sigmaHigh] = sigmaRange;

  const draw = (n: number, rng: Rng): { flags: Uint8Array; sigma: Float64Array } => {
    const flags = new Uint8Array(n);
    const sigma = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      flags[i] = rng.uniform() < probability ? 1 : 0;
      sigma[i] = rng.uniform(sigmaLow, sigmaHigh);
    }
    return { flags, sigma };
  };

  return {
    name: fn,
    sample(n: number, rng: Rng): BlurParams {
      assertNumber(n, 'n', `${fn}.sample`, { integer: true, min: 1 });
      assertRng(rng, `${fn}.sample`);
      const { flags, sigma } = draw(n, rng);
      return { blur: Array.from(flags, (flag) => flag === 1), sigma: Array.from(sigma) };
    },
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      const size = kernelSizeFor(images, kernelSize, `${fn}.apply`);
      const { flags, sigma } = draw(images.shape[0], rng);
      return blurImages(images, flags, sigma, size);
    },
  };
}
