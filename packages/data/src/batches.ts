import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError } from '@contrastive/core';
import type { Batch, BatchSampler, BatchSource, Rng } from '@contrastive/core';
import { assertSplit } from './dataset.js';
import type { ImageSplit } from './dataset.js';
import { gatherBatch } from './tensors.js';

function assertSampler(sampler: unknown, fn: string): asserts sampler is BatchSampler {
  const candidate = sampler as Partial<BatchSampler> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.epoch !== 'function' ||
    !Number.isInteger(candidate.batchesPerEpoch) ||
    (candidate.batchesPerEpoch as number) < 1
  ) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'sampler' passed to '${fn}' must be a BatchSampler with batchesPerEpoch >= 1 and an epoch(rng) method, got ${sampler === null ? 'null' : typeof sampler}`,
    );
  }
}

/**
 * A core `BatchSource` over an image split, for `train` from `@contrastive/core`: the `sampler`
 * decides which images form each batch (e.g. `shuffledBatchSampler` from `@contrastive/samplers`,
 * which reshuffles every epoch and drops the last partial batch, as the reference recipe and SimCLR
 * do), and each `batch` call copies that batch's images into new tensors ({@link gatherBatch}).
 *
 * The sampler draws an epoch's batches in `beginEpoch` from the loop's `Rng`, so runs are
 * reproducible and a resumed run continues exactly. If `batch` is called for an epoch whose
 * `beginEpoch` was not called, the epoch's batches are drawn then.
 *
 * @param split - the split to draw from (borrowed; it must not change while training).
 * @param sampler - a core `BatchSampler` whose indices lie in `[0, split.count)`.
 * @returns a `BatchSource` with `sampler.batchesPerEpoch` steps; its batches are `inputs`
 *   `[b, h, w, c]` float32 and `labels` `[b]` int32, new tensors owned (and disposed) by the loop.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for an inconsistent `split` or a value that is not
 *   a sampler; from `batch`, for a step outside `[0, stepsPerEpoch)` or an index outside the split.
 * @example
 * ```ts
 * const { train: trainSplit } = await loadMnist();
 * const sampler = { name: 'firstBatches', batchesPerEpoch: 2, epoch: () => [new Int32Array([0, 1]), new Int32Array([2, 3])] };
 * const data = samplerBatches(trainSplit, sampler);
 * const rng = new Rng(0);
 * data.beginEpoch?.(0, rng);
 * const { inputs, labels } = await data.batch(0, 1, rng);
 * console.log(inputs.shape, labels.dtype); // [2, 28, 28, 1] 'int32'
 * tf.dispose([inputs, labels]);
 * ```
 * @category Batches
 */
export function samplerBatches(split: ImageSplit, sampler: BatchSampler): BatchSource {
  const fn = 'samplerBatches';
  assertSplit(split, 'split', fn);
  assertSampler(sampler, fn);
  const stepsPerEpoch = sampler.batchesPerEpoch;
  let currentEpoch: number | undefined;
  let batches: Int32Array[] = [];
  const draw = (epoch: number, rng: Rng): void => {
    batches = sampler.epoch(rng);
    currentEpoch = epoch;
  };
  return {
    stepsPerEpoch,
    beginEpoch(epoch: number, rng: Rng): void {
      draw(epoch, rng);
    },
    batch(epoch: number, step: number, rng: Rng): Batch {
      if (!Number.isInteger(step) || step < 0 || step >= stepsPerEpoch) {
        throw new ContrastiveError(
          'INVALID_ARGUMENT',
          `Argument 'step' passed to '${fn}().batch' must be an integer in [0, ${stepsPerEpoch}), got ${String(step)}`,
        );
      }
      if (currentEpoch !== epoch) draw(epoch, rng);
      const indices = batches[step];
      if (indices === undefined) {
        throw new ContrastiveError(
          'INVALID_ARGUMENT',
          `Argument 'sampler' passed to '${fn}' returned ${batches.length} batches for epoch ${epoch}, expected ${stepsPerEpoch}`,
        );
      }
      const { images, labels } = gatherBatch(split, indices);
      return { inputs: images, labels, indices: tf.tensor1d(Int32Array.from(indices), 'int32') };
    },
  };
}
