import * as tf from '@tensorflow/tfjs-core';
import { assertNumber, type Rng } from '@contrastive/core';
import type { Augmentation } from './augmentation.js';
import { assertImages, assertObject, assertProbability, assertRng, drawCoins, perImageFlags } from './checks.js';

/** Explicit per-image parameters of {@link applyHorizontalFlip}. @category Augmentation */
export interface FlipParams {
  /** Mirror image `i` left-right where `flip[i]` is true; `n` entries. */
  readonly flip: ArrayLike<boolean>;
}

/** Options of {@link horizontalFlip}. @category Augmentation */
export interface HorizontalFlipOptions {
  /** Probability of mirroring each image, in [0, 1]. @defaultValue 0.5 */
  readonly probability?: number;
}

/**
 * The augmentation returned by {@link horizontalFlip}.
 * @category Augmentation
 */
export interface HorizontalFlip extends Augmentation {
  /**
   * Draw the flip coins of `n` images, exactly as `apply` does.
   * @param n - number of images, a positive integer.
   * @param rng - advanced by `n` uniform draws.
   */
  sample(n: number, rng: Rng): FlipParams;
}

/**
 * Mirror the chosen images left-right (reverse the width axis); the others are copied unchanged.
 * The deterministic form of {@link horizontalFlip} (SimCLR, Chen et al. 2020).
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param params - `flip`, one boolean per image.
 * @returns a new `[n, h, w, c]` float32 tensor owned by the caller; values are exact copies.
 * @throws `ContrastiveError` for bad images or when `flip` does not hold `n` booleans.
 * @example
 * ```ts
 * const x = tf.tensor4d([1, 2, 3, 4], [2, 1, 2, 1]);
 * applyHorizontalFlip(x, { flip: [true, false] }).print(); // [[[[2], [1]]], [[[3], [4]]]]
 * ```
 * @category Augmentation
 */
export function applyHorizontalFlip(images: tf.Tensor4D, params: FlipParams): tf.Tensor4D {
  assertImages(images, 'applyHorizontalFlip');
  assertObject(params, 'params', 'applyHorizontalFlip', '{ flip }');
  const n = images.shape[0];
  const flags = perImageFlags(params.flip, n, 'params.flip', 'applyHorizontalFlip');
  return mirror(images, flags);
}

function mirror(images: tf.Tensor4D, flags: Uint8Array): tf.Tensor4D {
  const [n, height, width] = images.shape;
  if (!flags.includes(1)) return tf.clone(images);
  // A cropAndResize with the box [0, 1, 1, 0] samples exactly at the mirrored pixel centres
  // (interpolation weights 0), so it copies values exactly; on wasm it is faster than reverse + where.
  const boxes = new Float32Array(n * 4);
  flags.forEach((flag, i) => boxes.set(flag === 1 ? [0, 1, 1, 0] : [0, 0, 1, 1], i * 4));
  return tf.tidy(() =>
    tf.image.cropAndResize(images, tf.tensor2d(boxes, [n, 4]), tf.range(0, n, 1, 'int32') as tf.Tensor1D, [height, width], 'bilinear'),
  );
}

/**
 * Random horizontal flip: each image is mirrored left-right with probability `probability`
 * (SimCLR, Chen et al. 2020). The reference recipe flips inside {@link randomResizedCrop}
 * (`flipProbability`) instead; this stage is for pipelines that flip separately.
 *
 * Draw order: one `rng.uniform` per image `i = 0 .. n-1`; image `i` flips when it is `< probability`.
 *
 * @param options - flip probability.
 * @returns a {@link HorizontalFlip}; its `apply` returns a new `[n, h, w, c]` float32 tensor owned
 *   by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `probability` leaves [0, 1].
 * @example
 * ```ts
 * const flip = horizontalFlip({ probability: 1 });
 * flip.apply(tf.tensor4d([1, 2], [1, 1, 2, 1]), new Rng(0)).print(); // [[[[2], [1]]]]
 * ```
 * @category Augmentation
 */
export function horizontalFlip(options: HorizontalFlipOptions = {}): HorizontalFlip {
  return coinFlip('horizontalFlip', options, mirror);
}

/**
 * @internal A flip augmentation: one coin per image (`rng.uniform() < probability`), then
 * `flipImages` on the chosen ones. Shared by {@link horizontalFlip} and `verticalFlip`.
 */
export function coinFlip(
  fn: string,
  options: { readonly probability?: number },
  flipImages: (images: tf.Tensor4D, flags: Uint8Array) => tf.Tensor4D,
): HorizontalFlip {
  assertObject(options, 'options', fn);
  const probability = options.probability ?? 0.5;
  assertProbability(probability, 'probability', fn);
  const draw = (n: number, rng: Rng): Uint8Array => drawCoins(n, rng, probability);
  return {
    name: fn,
    sample(n: number, rng: Rng): FlipParams {
      assertNumber(n, 'n', `${fn}.sample`, { integer: true, min: 1 });
      assertRng(rng, `${fn}.sample`);
      return { flip: Array.from(draw(n, rng), (flag) => flag === 1) };
    },
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      return flipImages(images, draw(images.shape[0], rng));
    },
  };
}
