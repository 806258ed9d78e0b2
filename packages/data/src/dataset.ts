import { ContrastiveError } from '@contrastive/core';

/**
 * One split (train or test) of an image dataset, held as plain typed arrays so that a trainer can
 * slice batches cheaply and a tensor is made only when needed (see {@link toTensors},
 * {@link gatherBatch}).
 *
 * Image `i` occupies `images[i * h * w * c .. (i + 1) * h * w * c)`, row-major in `[h, w, c]`
 * (the TF.js NHWC layout), pixels float32 in `[0, 1]`.
 *
 * @category Datasets
 */
export interface ImageSplit {
  /** `count * h * w * c` float32 pixels in `[0, 1]`, image after image, each row-major `[h, w, c]`. */
  readonly images: Float32Array;
  /** `count` int32 class indices into {@link ImageDataset.classNames}. */
  readonly labels: Int32Array;
  /** Number of images. */
  readonly count: number;
  /** Shape of one image, `[height, width, channels]`, e.g. `[28, 28, 1]`. */
  readonly shape: readonly [number, number, number];
}

/**
 * A labelled image dataset: a train and a test split and the names of its classes.
 *
 * @category Datasets
 */
export interface ImageDataset {
  /** The training split (possibly limited by a `trainLimit` option). */
  readonly train: ImageSplit;
  /** The test split, never limited. */
  readonly test: ImageSplit;
  /** Human-readable class names; label `k` is `classNames[k]`. */
  readonly classNames: readonly string[];
}

/** Number of values of one image of `split`. */
export function pixelsPerImage(split: ImageSplit): number {
  return split.shape[0] * split.shape[1] * split.shape[2];
}

/**
 * Throws unless `split` is a consistent {@link ImageSplit}: typed arrays of the right kind and
 * length for `count` images of `shape`.
 * @internal
 */
export function assertSplit(split: unknown, argument: string, fn: string): asserts split is ImageSplit {
  const candidate = split as Partial<ImageSplit> | null | undefined;
  const prefix = `Argument '${argument}' passed to '${fn}'`;
  if (candidate === null || typeof candidate !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `${prefix} must be an ImageSplit, got ${candidate === null ? 'null' : typeof candidate}`);
  }
  if (!(candidate.images instanceof Float32Array)) {
    throw new ContrastiveError('DTYPE_MISMATCH', `${prefix} must hold 'images' as a Float32Array, got ${describeArray(candidate.images)}`);
  }
  if (!(candidate.labels instanceof Int32Array)) {
    throw new ContrastiveError('DTYPE_MISMATCH', `${prefix} must hold 'labels' as an Int32Array, got ${describeArray(candidate.labels)}`);
  }
  const shape = candidate.shape;
  if (
    !Array.isArray(shape) ||
    shape.length !== 3 ||
    !shape.every((size: unknown) => typeof size === 'number' && Number.isInteger(size) && size >= 1)
  ) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `${prefix} must have 'shape' [height, width, channels] of positive integers, got ${JSON.stringify(shape)}`,
    );
  }
  const count = candidate.count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
    throw new ContrastiveError('INVALID_ARGUMENT', `${prefix} must have a non-negative integer 'count', got ${String(count)}`);
  }
  if (candidate.labels.length !== count) {
    throw new ContrastiveError('LABEL_COUNT', `${prefix} must have ${count} labels (one per image), got ${candidate.labels.length}`);
  }
  const expected = count * shape[0] * shape[1] * shape[2];
  if (candidate.images.length !== expected) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `${prefix} must have ${expected} pixels (${count} images of [${shape.join(', ')}]), got ${candidate.images.length}`,
    );
  }
}

function describeArray(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
}
