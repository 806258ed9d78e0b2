import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, bilinearCropNative, type CropLines, type Rng } from '@contrastive/core';
import type { Augmentation } from './augmentation.js';
import {
  type Interval,
  assertImages,
  assertInterval,
  assertObject,
  assertProbability,
  assertRng,
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
  assertObject(crop, 'crop', fn, '{ sw, sh, cx, cy, flip? }');
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

/**
 * Coordinates beyond this magnitude are clamped: they sample outside the image either way, and
 * clamping keeps `float32(coordinate) * (size - 1)` finite (no `Infinity - Infinity = NaN`).
 */
const COORDINATE_LIMIT = 1e30;

/** Scratch views for stepping a float32 to the next representable value. */
const FLOAT_SCRATCH = new Float32Array(1);
const FLOAT_BITS = new Uint32Array(FLOAT_SCRATCH.buffer);

/**
 * The smallest float32 `t >= 0` with `t (size - 1) >= line` exactly: a box edge at `t` makes a
 * one-line `cropAndResize` read line `line` on every backend (the cpu kernel rounds the position,
 * wasm's memcpy path truncates it; `t (size - 1)` lies in `[line, line (1 + 2^-22)]`, far from
 * both `line + 0.5` and `line + 1`).
 */
function lineCoordinate(line: number, size: number): number {
  if (size === 1) return 0;
  FLOAT_SCRATCH[0] = line / (size - 1);
  while ((FLOAT_SCRATCH[0] as number) * (size - 1) < line) FLOAT_BITS[0] = (FLOAT_BITS[0] as number) + 1;
  return FLOAT_SCRATCH[0] as number;
}

/** The two source lines (-1 outside the image) and the weight of every output line, as core's native crop takes them. */
type AxisSamples = CropLines;

/** The {@link lineCoordinate} of every line (-1 stays -1): the one-row boxes of {@link copyRows}. */
function lineCoordinates(lines: Int32Array, size: number): Float32Array {
  const coordinates = Array.from({ length: size }, (_, line) => lineCoordinate(line, size));
  return Float32Array.from(lines, (line) => (line < 0 ? -1 : (coordinates[line] as number)));
}

/**
 * Sample positions of `tf.image.cropAndResize` along one axis, in float64 from the float32 box
 * edges exactly as tfjs's cpu kernel computes them (`start (size - 1) + k (end - start) (size - 1) /
 * (out - 1)`, or the box centre when `out = 1`; outside `[0, size - 1]` → extrapolation), for every
 * box. The interpolation weight `position - floor(position)` is rounded to float32.
 */
function axisSamples(boxes: Float32Array, first: number, size: number, out: number): AxisSamples {
  const count = boxes.length / 4;
  const low = new Int32Array(count * out);
  const high = new Int32Array(count * out);
  const weight = new Float32Array(count * out);
  for (let b = 0; b < count; b++) {
    const start = boxes[b * 4 + first] as number;
    const end = boxes[b * 4 + first + 2] as number;
    const scale = out > 1 ? ((end - start) * (size - 1)) / (out - 1) : 0;
    for (let k = 0; k < out; k++) {
      const position = out > 1 ? start * (size - 1) + k * scale : 0.5 * (start + end) * (size - 1);
      const j = b * out + k;
      if (position < 0 || position > size - 1) {
        low[j] = -1;
        high[j] = -1;
        continue;
      }
      const below = Math.floor(position);
      low[j] = below;
      high[j] = Math.ceil(position);
      weight[j] = position - below;
    }
  }
  return { low, high, weight };
}

/**
 * Exact copy of one row per entry of `rows` (a {@link lineCoordinate}, or -1 for a row of zeros) of
 * image `sources[i]`: `[rows.length, 1, w, c]`. A nearest-neighbour `cropAndResize` of one-row boxes
 * spanning the full width moves values without arithmetic (wasm copies the row with memcpy).
 */
function copyRows(images: tf.Tensor4D, rows: Float32Array, sources: tf.Tensor1D): tf.Tensor4D {
  const boxes = new Float32Array(rows.length * 4);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as number;
    boxes[i * 4] = row;
    boxes[i * 4 + 2] = row;
    boxes[i * 4 + 3] = 1;
  }
  return tf.image.cropAndResize(images, tf.tensor2d(boxes, [rows.length, 4]), sources, [1, images.shape[2]], 'nearest');
}

/** `low + (high - low) weight`: TensorFlow's interpolation step, three IEEE float32 operations. */
function interpolate(low: tf.Tensor4D, high: tf.Tensor4D, weight: Float32Array): tf.Tensor4D {
  return tf.add(low, tf.mul(tf.sub(high, low), tf.tensor4d(weight, [weight.length, 1, 1, 1])));
}

/**
 * Bilinear crop-and-resize with the sample positions, extrapolation (0) and interpolation formula of
 * `tf.image.cropAndResize(images, boxes, sources, size, 'bilinear')`, but bit-identical on every
 * backend: the positions and weights are computed on the host (float64 from the float32 box, as
 * tfjs's cpu kernel does; weights rounded to float32), and the tensor work is exact copies
 * (transposes, one-row nearest crops) plus IEEE float32 `sub`/`mul`/`add`, which round the same
 * everywhere. Columns first, then rows, as TensorFlow's kernel:
 * `top = tl + (tr - tl) wx`, `bottom = bl + (br - bl) wx`, `out = top + (bottom - top) wy`.
 * (tfjs's own kernels differ: cpu interpolates in float64 and rounds once, wasm in float32 with
 * float32 positions; this result is within 1.2e-7 of the cpu kernel on values in [0, 1].)
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param boxes - `[y1, x1, y2, x2]` per box, flat (4 numbers per box), finite; `x1 > x2` mirrors.
 * @param sources - the image index of every box, integers in `[0, n)`.
 * @param size - output `[height, width]`.
 * @returns a new `[boxes, size[0], size[1], c]` float32 tensor owned by the caller.
 * @internal
 */
export function cropAndResizeExact(
  images: tf.Tensor4D,
  boxes: ArrayLike<number>,
  sources: ArrayLike<number>,
  size: readonly [number, number],
): tf.Tensor4D {
  const [, height, width, channels] = images.shape;
  const [outHeight, outWidth] = size;
  const count = sources.length;
  const edges = new Float32Array(count * 4);
  for (let i = 0; i < count * 4; i++) edges[i] = Math.min(COORDINATE_LIMIT, Math.max(-COORDINATE_LIMIT, boxes[i] as number));
  const columns = axisSamples(edges, 1, width, outWidth);
  const rows = axisSamples(edges, 0, height, outHeight);
  // On wasm with core's native kernels: the same float32 operations in one pass (bit for bit).
  const native = images.dtype === 'float32' ? bilinearCropNative(images, sources, rows, columns, [outHeight, outWidth]) : null;
  if (native !== null) return native;
  const perColumn = new Int32Array(count * outWidth);
  const perRow = new Int32Array(count * outHeight);
  for (let b = 0; b < count; b++) {
    perColumn.fill(sources[b] as number, b * outWidth, (b + 1) * outWidth);
    perRow.fill(b, b * outHeight, (b + 1) * outHeight);
  }
  return tf.tidy(() => {
    // Columns: the columns of the transposed images are rows, which copyRows picks cheaply.
    const transposed = tf.transpose(images, [0, 2, 1, 3]); // [n, w, h, c]
    const columnSources = tf.tensor1d(perColumn, 'int32');
    const left = copyRows(transposed, lineCoordinates(columns.low, width), columnSources);
    const right = copyRows(transposed, lineCoordinates(columns.high, width), columnSources);
    const mixed = interpolate(left, right, columns.weight); // [count outWidth, 1, h, c]
    const resized = tf.transpose(tf.reshape(mixed, [count, outWidth, height, channels]) as tf.Tensor4D, [0, 2, 1, 3]); // [count, h, outWidth, c]
    const rowSources = tf.tensor1d(perRow, 'int32');
    const top = copyRows(resized, lineCoordinates(rows.low, height), rowSources);
    const bottom = copyRows(resized, lineCoordinates(rows.high, height), rowSources);
    return tf.reshape(interpolate(top, bottom, rows.weight), [count, outHeight, outWidth, channels]);
  });
}

function cropWithBoxes(images: tf.Tensor4D, boxes: readonly (readonly number[])[], size: readonly [number, number]): tf.Tensor4D {
  const n = images.shape[0];
  const flat = new Float64Array(n * 4);
  const sources = new Int32Array(n);
  boxes.forEach((box, i) => {
    flat.set(box, i * 4);
    sources[i] = i;
  });
  return cropAndResizeExact(images, flat, sources, size);
}

function outputSize(images: tf.Tensor4D, options: ResizeOptions, fn: string): readonly [number, number] {
  assertObject(options, 'options', fn);
  if (options.size === undefined) return [images.shape[1], images.shape[2]];
  assertSize(options.size, 'options.size', fn);
  return options.size;
}

/**
 * Crop and resize each image with explicit parameters: the deterministic form of
 * {@link randomResizedCrop} (RECIPE.md step 1; SimCLR's crop, Chen et al. 2020). Bilinear
 * sampling of `tf.image.cropAndResize` with the boxes of {@link cropBoxes}: its sample positions,
 * computed on the host, and TensorFlow's float32 interpolation (`top = tl + (tr - tl) wx`,
 * `bottom = bl + (br - bl) wx`, `top + (bottom - top) wy`) done with exact copies and single IEEE
 * float32 operations, so the output is bit-identical on every backend (tfjs's own
 * `cropAndResize` rounds differently on cpu and wasm; this stays within 1.2e-7 of its cpu kernel).
 * A full mirrored crop is an exact copy.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
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
 * The box form of {@link applyResizedCrop}, with the same bilinear sampling (bit-identical on
 * every backend); as in TensorFlow, samples outside the image are 0. Coordinates beyond ±1e30 are
 * clamped to ±1e30 (they sample outside the image either way).
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
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
 * flip coin — the flip coin is drawn even when `flipProbability` is 0. The draws are made on the
 * host and the crop uses only exact copies and single IEEE float32 operations, so the same seed
 * gives bit-identical output on every backend.
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
  assertObject(options, 'options', fn);
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
    assertRng(rng, `${fn}.sample`);
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
      assertRng(rng, `${fn}.apply`);
      const crop = sample(images.shape[0], rng);
      return cropWithBoxes(images, checkedCrop(crop, images.shape[0], `${fn}.apply`), size ?? [images.shape[1], images.shape[2]]);
    },
  };
}
