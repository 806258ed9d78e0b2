import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError } from '@contrastive/core';
import type { Labels } from '@contrastive/core';
import { assertSplit, pixelsPerImage } from './dataset.js';
import type { ImageSplit } from './dataset.js';

/**
 * Images and labels of a split or batch as tensors.
 * @category Tensors
 */
export interface ImageTensors {
  /** `[n, h, w, c]` float32 pixels in `[0, 1]`. */
  readonly images: tf.Tensor4D;
  /** `[n]` int32 labels. */
  readonly labels: Labels;
}

/**
 * A whole split as tensors, e.g. the test set of a kNN or linear-probe evaluation. The tensors
 * hold a copy of the split's arrays, so later changes to the split do not reach them (TF.js's CPU
 * backend would otherwise share the array).
 *
 * @param split - the split (borrowed, not modified).
 * @returns `images` `[count, h, w, c]` float32 and `labels` `[count]` int32, new tensors owned by the
 * caller (`tf.dispose([images, labels])` when done).
 * @throws `ContrastiveError` when `split` is not a consistent {@link ImageSplit}.
 * @example
 * ```ts
 * const { test } = await loadMnist();
 * const { images, labels } = toTensors(test);
 * console.log(images.shape, images.dtype, labels.dtype); // [2000, 28, 28, 1] 'float32' 'int32'
 * tf.dispose([images, labels]);
 * ```
 * @category Tensors
 */
export function toTensors(split: ImageSplit): ImageTensors {
  assertSplit(split, 'split', 'toTensors');
  const [height, width, channels] = split.shape;
  const images = tf.tensor4d(split.images.slice(), [split.count, height, width, channels], 'float32');
  const labels = tf.tensor1d(split.labels.slice(), 'int32');
  return { images, labels };
}

/**
 * The images and labels of a split at the given indices, as tensors — one training batch. The
 * pixels are copied straight from the typed arrays (no `tf.gather` over the whole split).
 *
 * @param split - the split (borrowed, not modified).
 * @param indices - `b` image indices into the split, integers in `[0, split.count)`; repeats are
 * allowed, order is kept.
 * @returns `images` `[b, h, w, c]` float32 and `labels` `[b]` int32, new tensors owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for an index that is not an integer in
 * `[0, split.count)`, or when `split` is not a consistent {@link ImageSplit}.
 * @example
 * ```ts
 * const { train } = await loadMnist();
 * const batch = gatherBatch(train, new Int32Array([0, 800, 1600]));
 * console.log(batch.images.shape, Array.from(batch.labels.dataSync())); // [3, 28, 28, 1] [0, 1, 2]
 * tf.dispose([batch.images, batch.labels]);
 * ```
 * @category Tensors
 */
export function gatherBatch(split: ImageSplit, indices: Int32Array | readonly number[]): ImageTensors {
  const fn = 'gatherBatch';
  assertSplit(split, 'split', fn);
  if (!(indices instanceof Int32Array) && !Array.isArray(indices)) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'indices' passed to '${fn}' must be an Int32Array or an array of integers, got ${indices === null ? 'null' : typeof indices}`,
    );
  }
  const pixels = pixelsPerImage(split);
  const batch = indices.length;
  const images = new Float32Array(batch * pixels);
  const labels = new Int32Array(batch);
  for (let i = 0; i < batch; i++) {
    const index = indices[i] as number;
    if (!Number.isInteger(index) || index < 0 || index >= split.count) {
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument 'indices' passed to '${fn}' must hold integers in [0, ${split.count}), got ${String(index)} at position ${i}`,
      );
    }
    images.set(split.images.subarray(index * pixels, (index + 1) * pixels), i * pixels);
    labels[i] = split.labels[index] as number;
  }
  const [height, width, channels] = split.shape;
  return {
    images: tf.tensor4d(images, [batch, height, width, channels], 'float32'),
    labels: tf.tensor1d(labels, 'int32'),
  };
}
