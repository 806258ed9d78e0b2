import { ContrastiveError, assertNumber } from '@contrastive/core';
import type { BatchSampler, Rng } from '@contrastive/core';
import { permutationBatches } from './shuffled-batch-sampler.js';

/**
 * Chooses the sample that provides view `view` of an anchor: the anchor itself (two augmentations
 * of one image), the next frame of a video, a neighbouring time step, another sample of the class.
 *
 * @param index - the anchor's dataset index.
 * @param rng - the epoch's generator, for random partners.
 * @param view - which view is being chosen, `1 .. views-1` (view 0 is the anchor).
 * @returns a dataset index, an integer in `[0, size)`.
 * @category Batch samplers
 */
export type PartnerFunction = (index: number, rng: Rng, view: number) => number;

/** Options of {@link viewPairSampler}. @category Batch samplers */
export interface ViewPairSamplerOptions {
  /** Number of samples in the dataset, a positive integer. */
  readonly size: number;
  /** Anchors per batch, a positive integer; a batch holds `views batchSize` indices. */
  readonly batchSize: number;
  /** Views per anchor, an integer >= 1 (the anchor counts as view 0). @defaultValue 2 */
  readonly views?: number;
  /**
   * The partner of an anchor for views `1 .. views-1`.
   * @defaultValue the anchor itself: `(index) => index`
   */
  readonly partner?: PartnerFunction;
  /**
   * Drop the last, partial batch of anchors. With `false` the last batch has fewer anchors.
   * @defaultValue true
   */
  readonly dropLast?: boolean;
}

/**
 * A batch sampler for self-supervised batches of positive pairs: every batch is `b = batchSize`
 * distinct anchors followed by their partners, laid out view-major as
 * `[a_1 .. a_b, p_1 .. p_b, ...]`, so that rows `i`, `i + b`, `i + 2b`, ... of the batch are views of
 * one positive pair (tuple) — the batch layout of SimCLR (Chen et al. 2020, "A Simple Framework for
 * Contrastive Learning of Visual Representations") and of `viewLabels(b, views)` in
 * `@contrastive/core`, with the positive chosen by `partner` instead of being the same image: the
 * same image (default; two augmentations follow), the next frame of a video or a neighbouring time
 * step (time-contrastive learning, CPC-style positives), or another sample of the same class.
 *
 * The anchors are a fresh permutation of the dataset every epoch, cut into consecutive batches as
 * `shuffledBatchSampler` does: every sample is an anchor at most once per epoch, and exactly once
 * unless `dropLast` skips the `size mod batchSize` samples at the end of this epoch's permutation.
 * For every batch, `partner(a_k, rng, v)` is called for `v = 1 .. views-1` (outer) and
 * `k = 1 .. b` (inner), after the epoch's permutation has been drawn; partners may repeat and may be
 * anchors of the batch.
 *
 * **Recipe.** A loader such as `samplerBatches` in `@contrastive/data` fills a batch with the
 * dataset's labels of those indices, which are not the pair labels. Pair it with a view
 * generator that augments every row once and replaces the labels by `viewLabels(b, views)`, with
 * `b = labels.shape[0] / views` (the last batch is smaller when `dropLast` is false):
 * ```ts
 * const augmentation = recipeAugmentation();
 * const views: ViewGenerator = (batch, rng) => ({
 *   inputs: augmentation.apply(batch.inputs as tf.Tensor4D, rng),
 *   labels: viewLabels(batch.labels.shape[0] / 2, 2),
 * });
 * train({ data: samplerBatches(split, viewPairSampler({ size: split.count, batchSize: 256 })), views, ... });
 * ```
 * For supervised positives (`partner` returns a sample of the same class) the dataset labels can be
 * kept instead (SupCon).
 *
 * lightly / PML equivalent: none as a sampler — lightly builds the two views inside the dataset's
 * collate function (`MultiViewCollate`); this sampler makes the positive explicit so that it need not
 * be the same sample.
 *
 * @param options - `size`, `batchSize`, `views`, `partner`, `dropLast`.
 * @returns a core `BatchSampler` whose `epoch(rng)` returns `batchesPerEpoch` `Int32Array`s of
 *   `views b` dataset indices (new arrays owned by the caller), `b = batchSize` except for a last
 *   partial batch when `dropLast` is false.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `size`, `batchSize` or `views` is not a positive
 *   integer, `batchSize > size` with `dropLast`, or `partner` is not a function; from `epoch`, when
 *   `rng` is not an `Rng` or `partner` returns anything but an integer in `[0, size)`.
 * @example
 * ```ts
 * // Frames of a video: the positive of frame i is frame i + 1 (the last frame pairs with i - 1).
 * const sampler = viewPairSampler({ size: 100, batchSize: 4, partner: (i) => (i === 99 ? 98 : i + 1) });
 * sampler.epoch(new Rng(0))[0]; // Int32Array [98, 75, 8, 13, 99, 76, 9, 14]
 * ```
 * @category Batch samplers
 */
export function viewPairSampler(options: ViewPairSamplerOptions): BatchSampler {
  const fn = 'viewPairSampler';
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object { size, batchSize }, got ${String(options)}`);
  }
  const { size, batchSize } = options;
  const views = options.views ?? 2;
  const dropLast = options.dropLast ?? true;
  const partner = options.partner;
  assertNumber(size, 'size', fn, { integer: true, min: 1 });
  assertNumber(batchSize, 'batchSize', fn, { integer: true, min: 1 });
  assertNumber(views, 'views', fn, { integer: true, min: 1 });
  if (typeof dropLast !== 'boolean') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'dropLast' passed to '${fn}' must be a boolean, got ${typeof dropLast}`);
  }
  if (partner !== undefined && typeof partner !== 'function') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'partner' passed to '${fn}' must be a function (index, rng, view) => index, got ${typeof partner}`);
  }
  const anchorBatches = permutationBatches(size, batchSize, dropLast, fn);
  return {
    name: fn,
    batchesPerEpoch: anchorBatches.batchesPerEpoch,
    epoch(rng: Rng): Int32Array[] {
      const batches: Int32Array[] = [];
      for (const anchors of anchorBatches.draw(rng)) {
        const b = anchors.length;
        const batch = new Int32Array(views * b);
        batch.set(anchors, 0);
        for (let view = 1; view < views; view++) {
          for (let k = 0; k < b; k++) {
            const anchor = anchors[k] as number;
            if (partner === undefined) {
              batch[view * b + k] = anchor;
              continue;
            }
            const chosen: unknown = partner(anchor, rng, view);
            if (typeof chosen !== 'number' || !Number.isInteger(chosen) || chosen < 0 || chosen >= size) {
              throw new ContrastiveError(
                'INVALID_ARGUMENT',
                `Argument 'partner' passed to '${fn}' must return an integer in [0, ${size}), got ${String(chosen)} for index ${anchor} (view ${view})`,
              );
            }
            batch[view * b + k] = chosen;
          }
        }
        batches.push(batch);
      }
      return batches;
    },
  };
}
