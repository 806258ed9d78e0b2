import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError } from './errors.js';
import { assertNumber } from './validate.js';
import type { Labels } from './types.js';

/** Most labels one int32 tensor can index. */
const MAX_LABELS = 2 ** 31 - 1;

/**
 * Labels for a multi-view batch: "views are labels". Rows are view-major — rows `0..n-1` are view 1,
 * rows `n..2n-1` view 2, and so on — and every view of sample `i` gets label `i`, so a label-based loss
 * (NT-Xent, SupCon) treats the views of one sample as its positives (SimCLR, Chen et al. 2020).
 *
 * @param n - number of samples, a positive integer.
 * @param views - number of views per sample, an integer >= 1. @defaultValue 2
 * @returns `[n * views]` int32 labels, owned by the caller.
 * @throws {@link ContrastiveError} `INVALID_ARGUMENT` for a non-positive or fractional count, or more
 *   than 2^31 - 1 labels in total.
 * @example
 * ```ts
 * viewLabels(3, 2).print(); // [0, 1, 2, 0, 1, 2]
 * ```
 * @category Labels
 */
export function viewLabels(n: number, views = 2): Labels {
  assertNumber(n, 'n', 'viewLabels', { integer: true, min: 1 });
  assertNumber(views, 'views', 'viewLabels', { integer: true, min: 1 });
  if (n * views > MAX_LABELS) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Arguments 'n' and 'views' passed to 'viewLabels' must give at most ${MAX_LABELS} labels (n * views), got ${n} * ${views}`,
    );
  }
  const values = new Int32Array(n * views);
  for (let v = 0; v < views; v++) for (let i = 0; i < n; i++) values[v * n + i] = i;
  return tf.tensor1d(values, 'int32');
}
