import { ContrastiveError, Rng, assertNumber } from '@contrastive/core';
import type { BatchSampler } from '@contrastive/core';

/** Options of {@link shuffledBatchSampler}. @category Batch samplers */
export interface ShuffledBatchSamplerOptions {
  /** Number of samples in the dataset, a positive integer. */
  readonly size: number;
  /** Samples per batch, a positive integer. */
  readonly batchSize: number;
  /**
   * Drop the last, partial batch (SimCLR and RECIPE.md do: `steps = floor(n / batchSize)`). With
   * `false` the last batch is smaller.
   * @defaultValue true
   */
  readonly dropLast?: boolean;
}

/**
 * The plain sampler of SGD training: a fresh permutation of the dataset every epoch, cut into
 * consecutive batches (as PyTorch's `DataLoader(shuffle=True, drop_last=True)`). Every sample is
 * used at most once per epoch; with `dropLast` the `size mod batchSize` samples that fall at the end
 * of this epoch's permutation are skipped for that epoch only.
 *
 * @param options - dataset size, batch size, `dropLast`.
 * @returns a core `BatchSampler`; `samplerBatches` in `@contrastive/data` turns it into a training
 *   `BatchSource`.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `options` is not an object, `size` or
 * `batchSize` is not a positive integer, `dropLast` is not a boolean, or `batchSize` exceeds `size`
 * with `dropLast` (no batch at all); from `epoch`, when `rng` is not an `Rng`.
 * @example
 * ```ts
 * const sampler = shuffledBatchSampler({ size: 10, batchSize: 4 });
 * sampler.epoch(new Rng(0)); // two Int32Array batches of 4 distinct indices in [0, 10)
 * ```
 * @category Batch samplers
 */
export function shuffledBatchSampler(options: ShuffledBatchSamplerOptions): BatchSampler {
  const fn = 'shuffledBatchSampler';
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object { size, batchSize }, got ${String(options)}`);
  }
  const { size, batchSize } = options;
  const dropLast = options.dropLast ?? true;
  assertNumber(size, 'size', fn, { integer: true, min: 1 });
  assertNumber(batchSize, 'batchSize', fn, { integer: true, min: 1 });
  if (typeof dropLast !== 'boolean') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'dropLast' passed to '${fn}' must be a boolean, got ${typeof dropLast}`);
  }
  const { batchesPerEpoch, draw } = permutationBatches(size, batchSize, dropLast, fn);
  return { name: fn, batchesPerEpoch, epoch: draw };
}

/**
 * @internal Throws unless the `rng` passed to a sampler's `epoch` is an `Rng` of `@contrastive/core`
 * (a seed or `undefined` would otherwise fail with a `TypeError` on the first draw).
 * @throws `ContrastiveError` `INVALID_ARGUMENT` naming `rng`.
 */
export function assertEpochRng(rng: unknown, fn: string): asserts rng is Rng {
  if (!(rng instanceof Rng)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'rng' passed to '${fn}.epoch' must be an Rng, got ${rng === null ? 'null' : typeof rng}`);
  }
}

/**
 * @internal The batches of one shuffled pass over `size` samples: a fresh `rng.permutation(size)`
 * cut into consecutive batches of `batchSize` (the last one smaller, or dropped with `dropLast`).
 * Shared by {@link shuffledBatchSampler} and the view-pair sampler's anchors.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` naming `batchSize` when `dropLast` leaves no batch.
 */
export function permutationBatches(
  size: number,
  batchSize: number,
  dropLast: boolean,
  fn: string,
): { readonly batchesPerEpoch: number; draw(rng: Rng): Int32Array[] } {
  if (dropLast && batchSize > size) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'batchSize' passed to '${fn}' must be <= size (${size}) when dropLast is true, got ${batchSize}`,
    );
  }
  const batchesPerEpoch = dropLast ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);
  return {
    batchesPerEpoch,
    draw(rng: Rng): Int32Array[] {
      assertEpochRng(rng, fn);
      const order = rng.permutation(size);
      const batches: Int32Array[] = [];
      for (let b = 0; b < batchesPerEpoch; b++) {
        batches.push(order.slice(b * batchSize, Math.min(size, (b + 1) * batchSize)));
      }
      return batches;
    },
  };
}
