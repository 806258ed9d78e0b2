import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, type Rng } from '@contrastive/core';
import type { Augmentation } from './augmentation.js';
import {
  type Interval,
  assertImages,
  assertInterval,
  assertProbability,
  assertSize,
  describeValue,
  perImageFlags,
  perImageNumbers,
} from './checks.js';

/** Slack allowed when checking that an explicit crop stays inside the image (float rounding of `1 - sw`). */
const INSIDE_TOLERANCE = 1e-6;

/**
 * Explicit per-image crop parameters of the reference recipe (RECIPE.md step 1), in the
 * normalized coordinates of `affine_grid(align_corners=True)`: -1 and +1 are the centres of the
 * first and last pixel. Entry `i` of every array belongs to image `i`.
 *
 * @category Augmentation
 */
export interface CropParams {
  /** Crop width as a fraction of the image width, each in (0, 1]. */
  readonly sw: ArrayLike<number>;
  /** Crop height as a fraction of the image height, each in (0, 1]. */
  readonly sh: ArrayLike<number>;
  /** Horizontal crop centre, each in `[-(1 - sw), 1 - sw]` so that the crop stays inside the image. */
  readonly cx: ArrayLike<number>;
  /** Vertical crop centre, each in `[-(1 - sh), 1 - sh]`. */
  readonly cy: ArrayLike<number>;
  /** Mirror the crop left-right (`s = -1` in the recipe's affine matrix). @defaultValue all `false` */
  readonly flip?: ArrayLike<boolean>;
}

/** Output size of a resizing augmentation. @category Augmentation */
export interface ResizeOptions {
  /** Output `[height, width]` in pixels, positive integers. @defaultValue the input's `[h, w]` */
  readonly size?: readonly [height: number, width: number];
}

/** Options of {@link randomResizedCrop}. @category Augmentation */
export interface RandomResizedCropOptions extends ResizeOptions {
  /**
   * Range of the crop area as a fraction of the image area, inside (0, 1]. The default is the
   * reference recipe's; torchvision's `RandomResizedCrop` and the SimCLR paper (on ImageNet) use
   * `[0.08, 1]`.
   * @defaultValue `[0.6, 1]`
   */
  readonly scale?: Interval;
  /**
   * Range of the aspect ratio `sw / sh` of the normalized crop (equal to the pixel aspect ratio for
   * square images), sampled log-uniformly; both ends > 0.
   * @defaultValue `[3/4, 4/3]`
   */
  readonly ratio?: Interval;
  /** Probability of mirroring each crop left-right, in [0, 1]. @defaultValue 0 */
  readonly flipProbability?: number;
}

/**
 * The augmentation returned by {@link randomResizedCrop}: an {@link Augmentation} whose
 * parameters can also be drawn alone.
 * @category Augmentation
 */
export interface RandomResizedCrop extends Augmentation {
  /**
   * Draw the crop parameters of `n` images, exactly as `apply` does (same draws, same order).
   * @param n - number of images, a positive integer.
   * @param rng - advanced by `5 n` uniform draws.
   * @returns plain arrays of length `n` (`flip` included).
   */
  sample(n: number, rng: Rng): Required<CropParams>;
}

function checkedCrop(crop: CropParams, count: number, fn: string): number[][] {
  if (crop === null || typeof crop !== 'object') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'crop' passed to '${fn}' must be an object { sw, sh, cx, cy, flip? }, got ${describeValue(crop)}`,
    );
  }
  const sw = perImageNumbers(crop.sw, count, 'crop.sw', fn, { min: 0, exclusiveMin: true, max: 1 });
  const sh = perImageNumbers(crop.sh, count, 'crop.sh', fn, { min: 0, exclusiveMin: true, max: 1 });
  const cx = perImageNumbers(crop.cx, count, 'crop.cx', fn);
  const cy = perImageNumbers(crop.cy, count, 'crop.cy', fn);
  const flip = crop.flip === undefined ? new Uint8Array(count) : perImageFlags(crop.flip, count, 'crop.flip', fn);
  const boxes: number[][] = [];
  for (let i = 0; i < count; i++) {
    const width = sw[i] as number;
    const height = sh[i] as number;
    const x = cx[i] as number;
    const y = cy[i] as number;
    for (const [name, centre, extent] of [
      ['cx', x, width],
      ['cy', y, height],
    ] as const) {
      if (Math.abs(centre) > 1 - extent + INSIDE_TOLERANCE) {
        throw new ContrastiveError(
          'INVALID_ARGUMENT',
          `Argument 'crop.${name}[${i}]' passed to '${fn}' must lie in [-(1 - ${name === 'cx' ? 'sw' : 'sh'}), 1 - ${name === 'cx' ? 'sw' : 'sh'}] = [${-(1 - extent)}, ${1 - extent}] so that the crop stays inside the image, got ${centre}`,
        );
      }
    }
    const s = flip[i] === 1 ? -1 : 1;
    // RECIPE.md step 1; clamping only removes float rounding (the checks above keep the box inside).
    boxes.push(
      [(y - height + 1) / 2, (x - s * width + 1) / 2, (y + height + 1) / 2, (x + s * width + 1) / 2].map((value) =>
        Math.min(1, Math.max(0, value)),
      ),
    );
  }
  return boxes;
}

/**
 * The `tf.image.cropAndResize` boxes of explicit crop parameters (RECIPE.md step 1):
 * `[y1, x1, y2, x2] = [(cy - sh + 1)/2, (cx - s sw + 1)/2, (cy + sh + 1)/2, (cx + s sw + 1)/2]`,
 * `s = -1` where `flip` (so `x1 > x2`, a mirrored crop). With bilinear sampling this box equals
 * PyTorch's `grid_sample(x, affine_grid([[s sw, 0, cx], [0, sh, cy]], align_corners=True),
 * align_corners=True)`, the crop of SimCLR's random resized crop (Chen et al. 2020).
 *
 * @param crop - per-image `sw`, `sh`, `cx`, `cy` (and optional `flip`) arrays of equal length `n`.
 * @returns `n` boxes `[y1, x1, y2, x2]` in [0, 1] (plain float64 numbers).
 * @throws `ContrastiveError` `SHAPE_MISMATCH` when the arrays differ in length,
 *   `INVALID_ARGUMENT` when `sw`/`sh` leave (0, 1] or a crop leaves the image.
 * @example
 * ```ts
 * cropBoxes({ sw: [1, 0.5], sh: [1, 0.5], cx: [0, 0.5], cy: [0, 0], flip: [true, false] });
 * // [[0, 1, 1, 0], [0.25, 0.5, 0.75, 1]]
 * ```
 * @category Augmentation
 */
export function cropBoxes(crop: CropParams): number[][] {
  const length = (crop as { sw?: { length?: unknown } } | null)?.sw?.length;
  return checkedCrop(crop, typeof length === 'number' ? length : -1, 'cropBoxes');
}

function cropWithBoxes(images: tf.Tensor4D, boxes: readonly (readonly number[])[], size: readonly [number, number]): tf.Tensor4D {
  const n = images.shape[0];
  const flat = new Float32Array(n * 4);
  boxes.forEach((box, i) => flat.set(box, i * 4));
  return tf.tidy(() =>
    tf.image.cropAndResize(images, tf.tensor2d(flat, [n, 4]), tf.range(0, n, 1, 'int32') as tf.Tensor1D, [size[0], size[1]], 'bilinear'),
  );
}

function outputSize(images: tf.Tensor4D, options: ResizeOptions, fn: string): readonly [number, number] {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object, got ${describeValue(options)}`);
  }
  if (options.size === undefined) return [images.shape[1], images.shape[2]];
  assertSize(options.size, 'options.size', fn);
  return options.size;
}

/**
 * Crop and resize each image with explicit parameters: the deterministic form of
 * {@link randomResizedCrop} (RECIPE.md step 1; SimCLR's crop, Chen et al. 2020). Bilinear
 * sampling through `tf.image.cropAndResize` with the boxes of {@link cropBoxes}.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 * @param crop - per-image `sw`, `sh`, `cx`, `cy`, `flip?`, each of length `n`.
 * @param options - output size. @defaultValue the input size
 * @returns a new `[n, size[0], size[1], c]` float32 tensor owned by the caller; values stay inside
 *   the input's range (bilinear interpolation of pixels inside the image).
 * @throws `ContrastiveError` `SHAPE_MISMATCH`/`DTYPE_MISMATCH` for bad images, `SHAPE_MISMATCH`
 *   when an array does not have `n` entries, `INVALID_ARGUMENT` for out-of-range parameters.
 * @example
 * ```ts
 * const x = tf.tensor4d([0, 1, 2, 3], [1, 1, 4, 1]);
 * applyResizedCrop(x, { sw: [1], sh: [1], cx: [0], cy: [0], flip: [true] }).print();
 * // [[[[3], [2], [1], [0]]]]
 * ```
 * @category Augmentation
 */
export function applyResizedCrop(images: tf.Tensor4D, crop: CropParams, options: ResizeOptions = {}): tf.Tensor4D {
  assertImages(images, 'applyResizedCrop');
  const size = outputSize(images, options, 'applyResizedCrop');
  return cropWithBoxes(images, checkedCrop(crop, images.shape[0], 'applyResizedCrop'), size);
}

/**
 * Crop and resize each image with an explicit `tf.image.cropAndResize` box `[y1, x1, y2, x2]`
 * (normalized so that 0 and 1 are the centres of the first and last pixel; `x1 > x2` mirrors).
 * The box form of {@link applyResizedCrop}; as in TensorFlow, samples outside the image are 0.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 * @param boxes - `n` boxes of 4 finite numbers, one per image.
 * @param options - output size. @defaultValue the input size
 * @returns a new `[n, size[0], size[1], c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` `SHAPE_MISMATCH` when `boxes` does not hold `n` rows of 4,
 *   `INVALID_ARGUMENT` for a non-finite coordinate or a bad size.
 * @example
 * ```ts
 * const x = tf.tensor4d([0, 1, 2, 3], [1, 1, 4, 1]);
 * applyCropBoxes(x, [[0, 0, 1, 0.5]], { size: [1, 3] }).print(); // [[[[0], [0.75], [1.5]]]]
 * ```
 * @category Augmentation
 */
export function applyCropBoxes(
  images: tf.Tensor4D,
  boxes: ArrayLike<ArrayLike<number>>,
  options: ResizeOptions = {},
): tf.Tensor4D {
  assertImages(images, 'applyCropBoxes');
  const size = outputSize(images, options, 'applyCropBoxes');
  const n = images.shape[0];
  const length = (boxes as { length?: unknown } | null)?.length;
  if (boxes === null || typeof boxes !== 'object' || typeof length !== 'number') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'boxes' passed to 'applyCropBoxes' must be an array of ${n} boxes [y1, x1, y2, x2], got ${describeValue(boxes)}`,
    );
  }
  if (length !== n) {
    throw new ContrastiveError('SHAPE_MISMATCH', `Argument 'boxes' passed to 'applyCropBoxes' must have ${n} rows (one per image), got ${length}`);
  }
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = boxes[i];
    if (row === null || typeof row !== 'object' || row.length !== 4) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument 'boxes[${i}]' passed to 'applyCropBoxes' must be [y1, x1, y2, x2], got ${describeValue(row)}`,
      );
    }
    rows.push(Array.from(perImageNumbers(row, 4, `boxes[${i}]`, 'applyCropBoxes')));
  }
  return cropWithBoxes(images, rows, size);
}

/**
 * Random resized crop with optional horizontal flip, as in SimCLR (Chen et al. 2020) and exactly
 * as RECIPE.md step 1. Per image, all draws independent:
 * `area ~ U(scale)`, `ratio = exp(U(log ratio[0], log ratio[1]))`,
 * `sw = min(1, sqrt(area ratio))`, `sh = min(1, sqrt(area / ratio))`,
 * `cx = U(-1, 1) (1 - sw)`, `cy = U(-1, 1) (1 - sh)`, `flip = U(0, 1) < flipProbability`;
 * then {@link applyResizedCrop}. A side longer than the image is clamped to the full side (not
 * resampled as torchvision does), so the crop never leaves the image.
 *
 * Draw order: for image `i = 0 .. n-1`, five `rng.uniform` draws — area, log-ratio, `cx`, `cy`,
 * flip coin — the flip coin is drawn even when `flipProbability` is 0.
 *
 * @param options - scale, ratio, flip probability and output size; defaults are the reference recipe's.
 * @returns a {@link RandomResizedCrop}; its `apply` returns a new
 *   `[n, size[0], size[1], c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `scale` leaves (0, 1], a `ratio` end is
 *   not > 0, an interval has low > high, `flipProbability` leaves [0, 1] or `size` is not two
 *   positive integers.
 * @example
 * ```ts
 * const crop = randomResizedCrop({ scale: [0.6, 1], flipProbability: 0.5 });
 * const out = crop.apply(tf.ones([8, 28, 28, 1]) as tf.Tensor4D, new Rng(0));
 * console.log(out.shape); // [8, 28, 28, 1]
 * ```
 * @category Augmentation
 */
export function randomResizedCrop(options: RandomResizedCropOptions = {}): RandomResizedCrop {
  const fn = 'randomResizedCrop';
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object, got ${describeValue(options)}`);
  }
  const scale = options.scale ?? [0.6, 1];
  const ratio = options.ratio ?? [3 / 4, 4 / 3];
  const flipProbability = options.flipProbability ?? 0;
  assertInterval(scale, 'scale', fn, { min: 0, exclusiveMin: true, max: 1 });
  assertInterval(ratio, 'ratio', fn, { min: 0, exclusiveMin: true });
  assertProbability(flipProbability, 'flipProbability', fn);
  if (options.size !== undefined) assertSize(options.size, 'size', fn);
  const [scaleLow, scaleHigh] = scale;
  const logRatioLow = Math.log(ratio[0]);
  const logRatioHigh = Math.log(ratio[1]);
  const size = options.size;

  const sample = (n: number, rng: Rng): Required<CropParams> => {
    assertNumber(n, 'n', `${fn}.sample`, { integer: true, min: 1 });
    const sw: number[] = [];
    const sh: number[] = [];
    const cx: number[] = [];
    const cy: number[] = [];
    const flip: boolean[] = [];
    for (let i = 0; i < n; i++) {
      const area = rng.uniform(scaleLow, scaleHigh);
      const aspect = Math.exp(rng.uniform(logRatioLow, logRatioHigh));
      const width = Math.min(1, Math.sqrt(area * aspect));
      const height = Math.min(1, Math.sqrt(area / aspect));
      sw.push(width);
      sh.push(height);
      cx.push(rng.uniform(-1, 1) * (1 - width));
      cy.push(rng.uniform(-1, 1) * (1 - height));
      flip.push(rng.uniform() < flipProbability);
    }
    return { sw, sh, cx, cy, flip };
  };

  return {
    name: fn,
    sample,
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      const crop = sample(images.shape[0], rng);
      return cropWithBoxes(images, checkedCrop(crop, images.shape[0], `${fn}.apply`), size ?? [images.shape[1], images.shape[2]]);
    },
  };
}
