/**
 * Helpers shared by the photometric augmentations, the blur and the erasing ops (internal: not
 * exported from the package).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Apply `transform` to the images whose flag is 1 and copy the others exactly.
 *
 * No image flagged: a copy (`tf.clone`). All flagged: `transform(images)`. Otherwise the whole batch
 * is transformed and mixed per image as `images keep + transformed (1 - keep)` with `keep` in
 * {0, 1} of shape `[n, 1, 1, 1]` — exact for finite values (`v 1 + t 0 = v`, `v 0 + t 1 = t`), two
 * fast broadcast multiplies instead of a broadcast `tf.where`, which is slow on wasm.
 *
 * @param images - `[n, h, w, c]` (borrowed).
 * @param flags - one 0/1 per image.
 * @param transform - the batch transform; called inside `tf.tidy`, must not dispose its input.
 * @returns a new tensor owned by the caller.
 * @internal
 */
export function transformFlagged(images: tf.Tensor4D, flags: Uint8Array, transform: (images: tf.Tensor4D) => tf.Tensor4D): tf.Tensor4D {
  const n = images.shape[0];
  if (!flags.includes(1)) return tf.clone(images);
  return tf.tidy(() => {
    const transformed = transform(images);
    if (!flags.includes(0)) return transformed;
    const keep = tf.tensor4d(Float32Array.from(flags, (flag) => 1 - flag), [n, 1, 1, 1]);
    const take = tf.tensor4d(Float32Array.from(flags), [n, 1, 1, 1]);
    return tf.add(tf.mul(images, keep), tf.mul(transformed, take));
  });
}

/**
 * The uint8 level of a float32 pixel as torchvision's `ToPILImage` computes it for float tensors
 * (`pic.mul(255).byte()`): `floor(fround(x 255))` (the product rounded to float32 first, as
 * torch does), clamped to [0, 255]; NaN gives 0. Every `fround(k / 255)` maps back to `k`.
 * @internal
 */
export function uint8Level(value: number): number {
  const level = Math.floor(Math.fround(value * 255));
  if (!(level >= 0)) return 0;
  return level > 255 ? 255 : level;
}
