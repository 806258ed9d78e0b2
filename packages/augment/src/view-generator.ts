import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, type Rng } from '@contrastive/core';
import type { Augmentation } from './augmentation.js';
import { assertImages, assertObject, assertRng, describeValue } from './checks.js';

/** Options of {@link viewGenerator}. @category Augmentation */
export interface ViewGeneratorOptions {
  /** The augmentation applied independently to every view of every image. */
  readonly augmentation: Augmentation;
  /** Number of views per image, an integer >= 1. @defaultValue 2 */
  readonly views?: number;
}

/**
 * Makes the augmented views of a batch; returned by {@link viewGenerator}.
 * @category Augmentation
 */
export interface ViewGenerator {
  /** Number of views per image. */
  readonly views: number;
  /**
   * Augment `views` independent copies of every image, as one view-major batch.
   *
   * @param images - `[n, h, w, c]` float32 in [0, 1] (borrowed).
   * @param rng - advanced by the augmentation's draws for a batch of `views n` images.
   * @returns a new `[views n, h', w', c]` float32 tensor owned by the caller: rows `0..n-1` are
   *   view 1 of images `0..n-1`, rows `n..2n-1` view 2, and so on. Their labels are
   *   `viewLabels(n, views)` from `@contrastive/core` (or the images' labels tiled `views` times
   *   for supervised losses).
   * @throws `ContrastiveError` when `images` is not a `[n, h, w, c]` float32 tensor or `rng` is not
   *   an `Rng`.
   */
  generate(images: tf.Tensor4D, rng: Rng): tf.Tensor4D;
}

/**
 * Views for contrastive learning: every image is augmented `views` times with independent
 * parameters, and all views come back as one tensor so that they go through the encoder as one
 * batch — SimCLR's `x̃_i = t(x), x̃_j = t'(x)` with `t, t' ~ T` (Chen et al. 2020), laid out as
 * RECIPE.md's training batch (rows `0..n-1` view 1, rows `n..2n-1` view 2, same image order).
 *
 * The batch is repeated to `views n` rows first and augmented in one call, so the draw order is the
 * augmentation's over rows `0 .. views n - 1`: for each stage, view 1 of images `0..n-1`, then view 2
 * of images `0..n-1`, and so on. Every row gets its own parameters.
 *
 * @param options - the augmentation and the number of views.
 * @returns a {@link ViewGenerator}.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `augmentation` is not an augmentation
 *   or `views` is not a positive integer.
 * @example
 * ```ts
 * const twoViews = viewGenerator({ augmentation: recipeAugmentation(), views: 2 });
 * const images = tf.zeros([3, 28, 28, 1]) as tf.Tensor4D;
 * const batch = twoViews.generate(images, new Rng(0));
 * console.log(batch.shape); // [6, 28, 28, 1]
 * viewLabels(3, 2).print(); // [0, 1, 2, 0, 1, 2]
 * ```
 * @category Augmentation
 */
export function viewGenerator(options: ViewGeneratorOptions): ViewGenerator {
  const fn = 'viewGenerator';
  assertObject(options, 'options', fn, '{ augmentation, views? }');
  const augmentation = options.augmentation as Partial<Augmentation> | null | undefined;
  if (augmentation === null || typeof augmentation !== 'object' || typeof augmentation.apply !== 'function') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'augmentation' passed to '${fn}' must be an Augmentation (with an apply method), got ${describeValue(augmentation)}`,
    );
  }
  const views = options.views ?? 2;
  assertNumber(views, 'views', fn, { integer: true, min: 1 });
  const stage = options.augmentation;
  return {
    views,
    generate(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.generate`);
      assertRng(rng, `${fn}.generate`);
      if (views === 1) return stage.apply(images, rng);
      // concat, not tile: tile is slow on wasm.
      const repeated = tf.concat(new Array<tf.Tensor4D>(views).fill(images), 0);
      try {
        return stage.apply(repeated, rng);
      } finally {
        repeated.dispose();
      }
    },
  };
}
