import { ContrastiveError, assertNumber } from '@contrastive/core';
import { type Augmentation, compose } from './augmentation.js';
import { assertObject, describeValue } from './checks.js';
import { colorJitter } from './color-jitter.js';
import { gaussianNoise } from './gaussian-noise.js';
import { randomResizedCrop } from './random-resized-crop.js';

/** Options of {@link recipeAugmentation}. @category Augmentation */
export interface RecipeAugmentationOptions {
  /**
   * Mirror crops left-right with probability 0.5: `true` for Fashion-MNIST, `false` for digits
   * (a mirrored digit is another symbol).
   * @defaultValue false
   */
  readonly flip?: boolean;
  /**
   * View strength `s` in `[0, 1]` (for an InfoMin-style sweep, Tian et al. 2020): crop area
   * `U(1 − 0.8 s, 1)`, brightness and contrast factors `U(1 − 0.8 s, 1 + 0.8 s)`, noise std `0.1 s`.
   * `0.5` gives RECIPE.md's values exactly (area `[0.6, 1]`, factors `[0.6, 1.4]`, std 0.05);
   * `0` leaves the images unchanged (the same draws are still made, so the generator advances alike).
   * @defaultValue 0.5
   */
  readonly strength?: number;
}

/**
 * The augmentation of the reference recipe (RECIPE.md), a SimCLR-style view pipeline (Chen et al.
 * 2020) for 28x28 grey images; with it the PyTorch reference reaches the figures of
 * `reference-results.json`. Three stages, in this order:
 *
 * 1. {@link randomResizedCrop} `{ scale: [0.6, 1], ratio: [3/4, 4/3], flipProbability: flip ? 0.5 : 0 }`
 *    (output size = input size);
 * 2. {@link colorJitter} `{ probability: 0.8, brightness: [0.6, 1.4], contrast: [0.6, 1.4] }`;
 * 3. {@link gaussianNoise} `{ probability: 0.5, std: 0.05 }` (then a clamp to [0, 1]).
 *
 * Draw order (stage by stage over the batch, see {@link compose}): for images `0..n-1`, five
 * uniforms each (area, log-ratio, `cx`, `cy`, flip coin — drawn even when `flip` is false); then
 * for images `0..n-1`, three uniforms each (jitter coin, brightness, contrast); then `n` noise
 * coins; then `h w c` normals for each noisy image in index order.
 *
 * @param options - whether to flip; the view strength (0.5 = the recipe).
 * @returns an {@link Augmentation} named `'recipeAugmentation'`; its `apply` returns a new
 *   `[n, h, w, c]` float32 tensor in [0, 1] owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `flip` is not a boolean or `strength` is not
 *   a number in `[0, 1]`.
 * @example
 * ```ts
 * const views = viewGenerator({ augmentation: recipeAugmentation({ flip: true }) });
 * const batch = views.generate(tf.zeros([256, 28, 28, 1]) as tf.Tensor4D, new Rng(0));
 * console.log(batch.shape); // [512, 28, 28, 1]
 * ```
 * @category Augmentation
 */
export function recipeAugmentation(options: RecipeAugmentationOptions = {}): Augmentation {
  assertObject(options, 'options', 'recipeAugmentation');
  const flip = options.flip ?? false;
  if (typeof flip !== 'boolean') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'flip' passed to 'recipeAugmentation' must be a boolean, got ${describeValue(flip)}`,
    );
  }
  const strength = options.strength ?? 0.5;
  assertNumber(strength, 'strength', 'recipeAugmentation', { min: 0, max: 1 });
  // At 0.5 these are RECIPE.md's literals (1 - 0.8 * 0.5 === 0.6 and 1 + 0.4 === 1.4 in float64).
  const spread = 0.8 * strength;
  // Aspect ratios within [(3/4)^(2s), (4/3)^(2s)]: RECIPE.md's [3/4, 4/3] at 0.5, square at 0.
  const ratio: [number, number] = strength === 0.5 ? [3 / 4, 4 / 3] : [(3 / 4) ** (2 * strength), (4 / 3) ** (2 * strength)];
  const pipeline = compose([
    randomResizedCrop({ scale: [1 - spread, 1], ratio, flipProbability: flip ? 0.5 : 0 }),
    colorJitter({ probability: 0.8, brightness: [1 - spread, 1 + spread], contrast: [1 - spread, 1 + spread] }),
    gaussianNoise({ probability: 0.5, std: 0.1 * strength }),
  ]);
  return { name: 'recipeAugmentation', apply: (images, rng) => pipeline.apply(images, rng) };
}
