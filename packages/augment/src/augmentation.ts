import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, type Rng } from '@contrastive/core';
import { assertImages, assertRng, describeValue } from './checks.js';

/**
 * A random, batched image augmentation: the stochastic data-augmentation module `t ~ T` of
 * SimCLR (Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
 * Representations"). Every image of the batch gets its own parameters, drawn from `rng` in a
 * documented, fixed order, so the same `rng` state gives the same output on every backend.
 *
 * Non-finite pixels: images are in [0, 1] by contract, and their values are not checked (that would
 * read the batch back from the backend). A NaN or ±Infinity pixel is not an error; it may make the
 * output of its own image non-finite (how depends on the augmentation and on the backend: wasm's
 * clamp turns NaN into 0 where cpu's keeps it), never the output of another image of the batch. For
 * inputs in [0, 1] and valid parameters (fill values in [0, 1]) every augmentation of this package
 * returns finite values, except {@link applyNormalize} where `(x - mean) / std` overflows float32.
 *
 * Implemented by {@link randomResizedCrop}, {@link horizontalFlip}, {@link colorJitter},
 * {@link gaussianNoise}, {@link compose} and {@link recipeAugmentation}; two views of a batch come
 * from {@link viewGenerator}.
 *
 * @example
 * ```ts
 * const augmentation: Augmentation = compose([randomResizedCrop(), colorJitter()]);
 * const out = augmentation.apply(tf.zeros([4, 28, 28, 1]) as tf.Tensor4D, new Rng(0));
 * console.log(out.shape); // [4, 28, 28, 1]
 * ```
 * @category Augmentation
 */
export interface Augmentation {
  /** A readable name, e.g. `'randomResizedCrop'` or `'compose(randomResizedCrop, colorJitter)'`. */
  readonly name: string;
  /**
   * Augment every image of a batch with its own random parameters.
   *
   * @param images - `[n, h, w, c]` float32 in [0, 1] (borrowed: neither disposed nor modified);
   *   NaN and ±Infinity are not checked (see above).
   * @param rng - source of every random draw; advanced by the draws the augmentation documents.
   * @returns a new `[n, h', w', c]` float32 tensor owned by the caller (`h' = h, w' = w` unless
   *   the augmentation resizes).
   * @throws `ContrastiveError` when `images` is not a live `[n, h, w, c]` float32 tensor with every
   *   dimension >= 1 (`SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `DISPOSED`), or `rng` is not an `Rng`
   *   (`INVALID_ARGUMENT`).
   */
  apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D;
}

/**
 * Chain augmentations: `compose([a, b, c]).apply(x, rng)` is `c.apply(b.apply(a.apply(x, rng), rng), rng)`
 * — stage by stage over the whole batch, as in SimCLR's augmentation module (Chen et al. 2020).
 *
 * Draw order: stage `a` makes all its draws for images `0..n-1`, then stage `b` for images
 * `0..n-1`, and so on; within a stage the order is the one that stage documents.
 *
 * @param augmentations - the stages, applied first to last. An empty list copies the input.
 * @returns an {@link Augmentation} named `compose(<stage names>)`. Intermediate tensors are freed;
 *   the result is a new tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when an entry is not an augmentation.
 * @example
 * ```ts
 * const augmentation = compose([randomResizedCrop({ scale: [0.6, 1] }), gaussianNoise({ std: 0.05 })]);
 * console.log(augmentation.name); // 'compose(randomResizedCrop, gaussianNoise)'
 * ```
 * @category Augmentation
 */
export function compose(augmentations: readonly Augmentation[]): Augmentation {
  if (!Array.isArray(augmentations)) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'augmentations' passed to 'compose' must be an array of augmentations, got ${describeValue(augmentations)}`,
    );
  }
  augmentations.forEach((stage: unknown, index) => {
    const candidate = stage as Partial<Augmentation> | null;
    if (candidate === null || typeof candidate !== 'object' || typeof candidate.apply !== 'function') {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'augmentations[${index}]' passed to 'compose' must be an Augmentation (with an apply method), got ${describeValue(stage)}`,
      );
    }
  });
  const stages = [...augmentations];
  return {
    name: `compose(${stages.map((stage) => stage.name).join(', ')})`,
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, 'compose.apply');
      assertRng(rng, 'compose.apply');
      if (stages.length === 0) return tf.clone(images);
      let current = images;
      try {
        for (const stage of stages) {
          const next = stage.apply(current, rng);
          if (current !== images) current.dispose();
          current = next;
        }
        return current;
      } catch (error) {
        if (current !== images) current.dispose();
        throw error;
      }
    },
  };
}
