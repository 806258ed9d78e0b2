import { assertNumber } from '@contrastive/core';
import { assertSplit, pixelsPerImage } from './dataset.js';
import type { ImageSplit } from './dataset.js';

/**
 * The RNG-free class round-robin order of a split: examples sorted by (rank of the example within
 * its class in the split's order, label). For classes `0..9` that is the first 0, the first 1, ...,
 * the first 9, the second 0, ... A class that runs out simply drops out of the rotation.
 *
 * @param labels - the split's labels, in the split's order.
 * @returns `Int32Array` of every index of `labels`, in round-robin order.
 * @internal
 */
export function roundRobinOrder(labels: Int32Array): Int32Array {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as number;
    let members = byClass.get(label);
    if (members === undefined) {
      members = [];
      byClass.set(label, members);
    }
    members.push(i);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b).map((label) => byClass.get(label) as number[]);
  const longest = classes.reduce((max, members) => Math.max(max, members.length), 0);
  const order = new Int32Array(labels.length);
  let next = 0;
  for (let rank = 0; rank < longest; rank++) {
    for (const members of classes) {
      if (rank < members.length) order[next++] = members[rank] as number;
    }
  }
  return order;
}

/**
 * Keep the first `limit` examples of a split in class round-robin order — the RNG-free
 * `--train-limit N` of the reference recipe (RECIPE.md, section Data): order the split by (rank of
 * the example within its class in the split's order, label) and keep the first `limit`. The classes
 * stay as balanced as the data allows, and the same `limit` always gives the same subset.
 *
 * The result is in round-robin order (not in the input's order), also when `limit >= split.count`,
 * in which case every example is kept.
 *
 * @param split - the split to limit (borrowed, not modified).
 * @param limit - number of examples to keep, a positive integer.
 * @returns a new {@link ImageSplit} of `min(limit, split.count)` images with copied pixels.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `limit` is not a positive integer, or
 * when `split` is not a consistent {@link ImageSplit}.
 * @example
 * ```ts
 * const { train } = await loadMnist();
 * const small = roundRobinLimit(train, 25);
 * small.count;                    // 25
 * Array.from(small.labels);       // [0, 1, ..., 9, 0, 1, ..., 9, 0, 1, 2, 3, 4]
 * ```
 * @category Datasets
 */
export function roundRobinLimit(split: ImageSplit, limit: number): ImageSplit {
  const fn = 'roundRobinLimit';
  assertSplit(split, 'split', fn);
  assertNumber(limit, 'limit', fn, { integer: true, min: 1 });
  const order = roundRobinOrder(split.labels).subarray(0, Math.min(limit, split.count));
  const pixels = pixelsPerImage(split);
  const images = new Float32Array(order.length * pixels);
  const labels = new Int32Array(order.length);
  order.forEach((source, target) => {
    images.set(split.images.subarray(source * pixels, (source + 1) * pixels), target * pixels);
    labels[target] = split.labels[source] as number;
  });
  return { images, labels, count: order.length, shape: split.shape };
}
