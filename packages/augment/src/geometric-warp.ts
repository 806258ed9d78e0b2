/**
 * Rotation, translation and affine warps of image batches (torchvision's `RandomRotation`,
 * `RandomAffine`), sampled by inverse mapping.
 *
 * Why not `tf.image.transform`: in tfjs 4.22 its cpu kernel returns after the first image of a
 * batch (images 1..n-1 come back as the fill value), and its wasm kernel interpolates in its own
 * float order, so the two backends could not agree bit for bit. Here the host computes, in float64,
 * the source pixel (nearest) or the four source pixels and float32 weights (bilinear) of every
 * output pixel, and the tensors do the rest with `tf.gather`, `tf.mul` and `tf.add`: element-wise
 * float32 operations rounded the same way on every backend, so cpu and wasm agree bit for bit.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertOneOf, type Rng } from '@contrastive/core';
import type { Augmentation } from './augmentation.js';
import { type Interval, assertFloat32, assertImages, assertInterval, assertObject, assertRng, assertSize, describeValue, perImageNumbers, roundHalfEven } from './checks.js';

/**
 * How a warp reads the input between pixel centres: `'nearest'` copies the nearest pixel (ties
 * round half to even, like `grid_sample`), `'bilinear'` blends the four nearest pixels.
 * @category Augmentation
 */
export type WarpInterpolation = 'nearest' | 'bilinear';

const INTERPOLATIONS: readonly WarpInterpolation[] = ['nearest', 'bilinear'];

/** Options of the deterministic warps {@link applyRotation}, {@link applyTranslation}, {@link applyAffine}. @category Augmentation */
export interface ImageWarpOptions {
  /** Sampling between pixel centres (torchvision's `interpolation`). @defaultValue `'nearest'` (torchvision's default) */
  readonly interpolation?: WarpInterpolation;
  /** Value of output pixels whose source lies outside the image (torchvision's `fill`), finite in float32 (`|fill| <= 3.4028234663852886e38`). @defaultValue 0 */
  readonly fill?: number;
}

/** Explicit per-image parameters of {@link applyRotation}. @category Augmentation */
export interface RotationParams {
  /** Rotation angle of image `i` in degrees, counter-clockwise for positive values (torchvision `F.rotate`); `n` finite numbers. */
  readonly angle: ArrayLike<number>;
}

/** Explicit per-image parameters of {@link applyTranslation}. @category Augmentation */
export interface TranslationParams {
  /** Horizontal shift of image `i` in pixels: the content moves right for positive values; `n` finite numbers. */
  readonly dx: ArrayLike<number>;
  /** Vertical shift of image `i` in pixels: the content moves down for positive values; `n` finite numbers. */
  readonly dy: ArrayLike<number>;
}

/**
 * Explicit per-image parameters of {@link applyAffine}, with the meaning of torchvision's
 * `F.affine(img, angle, [dx, dy], scale, [shearX, shearY])`. Every array has `n` entries.
 * @category Augmentation
 */
export interface AffineParams {
  /** Rotation in degrees, **clockwise** for positive values as in torchvision `F.affine` (`F.rotate(θ)` = `F.affine(-θ)`). */
  readonly angle: ArrayLike<number>;
  /** Horizontal translation in pixels, applied after rotation, scale and shear (positive: right). */
  readonly dx: ArrayLike<number>;
  /** Vertical translation in pixels (positive: down). */
  readonly dy: ArrayLike<number>;
  /** Scale factors, each > 0. */
  readonly scale: ArrayLike<number>;
  /** Shear parallel to the x axis in degrees, each in (-90, 90). */
  readonly shearX: ArrayLike<number>;
  /** Shear parallel to the y axis in degrees, each in (-90, 90). */
  readonly shearY: ArrayLike<number>;
}

/** Options of {@link randomRotation}. @category Augmentation */
export interface RandomRotationOptions extends ImageWarpOptions {
  /**
   * Range of the angle in degrees, drawn uniformly: `d >= 0` means `[-d, d]`, a pair `[min, max]`
   * is used as given (torchvision's `degrees`; required there too, so it has no default).
   */
  readonly degrees: number | Interval;
}

/** Options of {@link randomTranslation}. @category Augmentation */
export interface RandomTranslationOptions extends ImageWarpOptions {
  /**
   * Largest shift as fractions `[fx, fy]` of the width and height, each in [0, 1]: `dx ~ U(-fx w, fx w)`,
   * `dy ~ U(-fy h, fy h)` (torchvision `RandomAffine(translate=(fx, fy))`; required there too).
   */
  readonly translate: readonly [fx: number, fy: number];
  /**
   * Keep the drawn shifts fractional (sub-pixel, interpolated) instead of rounding them to whole
   * pixels half to even as torchvision does. @defaultValue false
   */
  readonly subpixel?: boolean;
}

/** Options of {@link randomAffine}: torchvision `RandomAffine`. @category Augmentation */
export interface RandomAffineOptions extends ImageWarpOptions {
  /** Rotation range in degrees (clockwise, as torchvision `RandomAffine`): `d >= 0` means `[-d, d]`. */
  readonly degrees: number | Interval;
  /** Largest shift as fractions `[fx, fy]` of the width and height, each in [0, 1]. @defaultValue `[0, 0]` */
  readonly translate?: readonly [fx: number, fy: number];
  /** Range of the scale factor, both ends > 0. @defaultValue `[1, 1]` */
  readonly scale?: Interval;
  /**
   * Shear range in degrees, ends in (-90, 90): `s >= 0` means x-shear in `[-s, s]`; `[a, b]` an
   * x-shear range; `[a, b, c, d]` x-shear in `[a, b]` and y-shear in `[c, d]`. @defaultValue 0
   */
  readonly shear?: number | Interval | readonly [number, number, number, number];
  /** Keep the drawn translations fractional instead of rounding them half to even. @defaultValue false */
  readonly subpixel?: boolean;
}

/**
 * The augmentation returned by {@link randomRotation}.
 * @category Augmentation
 */
export interface RandomRotation extends Augmentation {
  /**
   * Draw the angles of `n` images, exactly as `apply` does.
   * @param n - number of images, a positive integer.
   * @param rng - advanced by `n` uniform draws.
   */
  sample(n: number, rng: Rng): { angle: number[] };
}

/**
 * The augmentation returned by {@link randomTranslation}.
 * @category Augmentation
 */
export interface RandomTranslation extends Augmentation {
  /**
   * Draw the shifts of `n` images of the given size, exactly as `apply` does.
   * @param n - number of images, a positive integer.
   * @param rng - advanced by `2 n` uniform draws.
   * @param imageSize - `[height, width]` of the images (the shift range scales with it).
   */
  sample(n: number, rng: Rng, imageSize: readonly [height: number, width: number]): { dx: number[]; dy: number[] };
}

/**
 * The augmentation returned by {@link randomAffine}.
 * @category Augmentation
 */
export interface RandomAffine extends Augmentation {
  /**
   * Draw the affine parameters of `n` images of the given size, exactly as `apply` does.
   * @param n - number of images, a positive integer.
   * @param rng - advanced by `6 n` uniform draws.
   * @param imageSize - `[height, width]` of the images (the translation range scales with it).
   */
  sample(n: number, rng: Rng, imageSize: readonly [height: number, width: number]): { [K in keyof AffineParams]: number[] };
}

/** cos and sin of an angle in degrees, exact at multiples of 90° (so quarter turns copy pixels exactly). */
function cosSinDegrees(degrees: number): [number, number] {
  const turns = degrees / 90;
  if (Number.isInteger(turns)) {
    const quarter = ((turns % 4) + 4) % 4;
    return ([[1, 0], [0, 1], [-1, 0], [0, -1]] as const)[quarter] as [number, number];
  }
  const radians = (degrees * Math.PI) / 180;
  return [Math.cos(radians), Math.sin(radians)];
}

/**
 * torchvision's `_get_inverse_affine_matrix(center=[0, 0], angle, [tx, ty], scale, [shearX, shearY])`:
 * the map from an output pixel to its source, both measured from the image centre
 * `((w - 1) / 2, (h - 1) / 2)` in pixels (x right, y down): `[m0, m1, m2, m3, m4, m5]` with
 * `x' = m0 x + m1 y + m2`, `y' = m3 x + m4 y + m5`.
 */
function inverseAffine(angle: number, tx: number, ty: number, scale: number, shearX: number, shearY: number): number[] {
  const [cosShearY] = cosSinDegrees(shearY);
  const [cosShearX, sinShearX] = cosSinDegrees(shearX);
  const tanShearX = sinShearX / cosShearX;
  const [cosRot, sinRot] = cosSinDegrees(angle);
  const [cosRotMinusShearY, sinRotMinusShearY] = shearY === 0 ? [cosRot, sinRot] : cosSinDegrees(angle - shearY);
  const a = cosRotMinusShearY / cosShearY;
  const b = -(a * tanShearX + sinRot);
  const c = sinRotMinusShearY / cosShearY;
  const d = cosRot - c * tanShearX;
  const m0 = d / scale;
  const m1 = -b / scale;
  const m3 = -c / scale;
  const m4 = a / scale;
  return [m0, m1, -(m0 * tx + m1 * ty), m3, m4, -(m3 * tx + m4 * ty)];
}

const IDENTITY = [1, 0, 0, 0, 1, 0];

/**
 * Warp every image by its inverse map (6 numbers per image, from {@link inverseAffine}) with the
 * given interpolation; sources outside the image read `fill`.
 *
 * Bilinear: with `x0 = floor(x')`, `u = x' - x0` (likewise `y0`, `v`), `bx = fround(u)`,
 * `ax = fround(1 - bx)` (and `ay`, `by`), the output is `(p00 ax + p01 bx) ay + (p10 ax + p11 bx) by`
 * in float32. The weights are >= 0 and each pair sums to 1 after float32 rounding, so (rounding
 * being monotone) inputs and `fill` in [0, 1] give outputs in [0, 1] exactly.
 */
function warp(images: tf.Tensor4D, maps: Float64Array, interpolation: WarpInterpolation, fill: number): tf.Tensor4D {
  const [n, height, width, channels] = images.shape;
  let identity = true;
  for (let i = 0; i < maps.length && identity; i++) identity = maps[i] === IDENTITY[i % 6];
  if (identity) return tf.clone(images);
  const pixels = height * width;
  const size = n * pixels;
  const fillRow = size; // index of the fill row appended to the pixel table
  const centreX = (width - 1) / 2;
  const centreY = (height - 1) / 2;
  const at = (b: number, y: number, x: number): number => (y >= 0 && y < height && x >= 0 && x < width ? b * pixels + y * width + x : fillRow);
  const nearest = new Int32Array(size);
  let corners: Int32Array[] | null = null;
  let weights: Float32Array[] | null = null;
  let needsFill = false;
  let integral = true; // every source point on a pixel centre: bilinear = nearest exactly
  if (interpolation === 'bilinear') {
    corners = [new Int32Array(size), new Int32Array(size), new Int32Array(size)];
    weights = [new Float32Array(size), new Float32Array(size), new Float32Array(size), new Float32Array(size)];
  }
  for (let b = 0; b < n; b++) {
    const [m0, m1, m2, m3, m4, m5] = Array.from(maps.subarray(b * 6, b * 6 + 6)) as [number, number, number, number, number, number];
    for (let y = 0; y < height; y++) {
      const row = y - centreY;
      for (let x = 0; x < width; x++) {
        const column = x - centreX;
        const sourceX = m0 * column + m1 * row + m2 + centreX;
        const sourceY = m3 * column + m4 * row + m5 + centreY;
        const k = b * pixels + y * width + x;
        if (corners === null || weights === null) {
          const index = at(b, roundHalfEven(sourceY), roundHalfEven(sourceX));
          nearest[k] = index;
          if (index === fillRow) needsFill = true;
          continue;
        }
        const x0 = Math.floor(sourceX);
        const y0 = Math.floor(sourceY);
        // A source point that overflowed (huge shifts, a scale near 0) lies outside the image: it
        // reads the fill with weights 1 and 0, never the NaN of `Infinity - Infinity`.
        const bx = Number.isFinite(sourceX) ? Math.fround(sourceX - x0) : 0;
        const by = Number.isFinite(sourceY) ? Math.fround(sourceY - y0) : 0;
        if (bx !== 0 || by !== 0) integral = false;
        const topLeft = at(b, y0, x0);
        const topRight = at(b, y0, x0 + 1);
        const bottomLeft = at(b, y0 + 1, x0);
        const bottomRight = at(b, y0 + 1, x0 + 1);
        if (topLeft === fillRow || topRight === fillRow || bottomLeft === fillRow || bottomRight === fillRow) needsFill = true;
        nearest[k] = topLeft;
        (corners[0] as Int32Array)[k] = topRight;
        (corners[1] as Int32Array)[k] = bottomLeft;
        (corners[2] as Int32Array)[k] = bottomRight;
        (weights[0] as Float32Array)[k] = Math.fround(1 - bx);
        (weights[1] as Float32Array)[k] = bx;
        (weights[2] as Float32Array)[k] = Math.fround(1 - by);
        (weights[3] as Float32Array)[k] = by;
      }
    }
  }
  if (corners !== null && integral) {
    // Weights 1 and 0 copy the top-left corner exactly: gather it alone.
    needsFill = nearest.includes(fillRow);
    corners = null;
  }
  return tf.tidy(() => {
    const flat = tf.reshape(images, [size, channels]);
    const table = needsFill ? tf.concat([flat, tf.fill([1, channels], fill)], 0) : flat;
    const gather = (indices: Int32Array): tf.Tensor2D => tf.gather(table, tf.tensor1d(indices, 'int32')) as tf.Tensor2D;
    if (corners === null || weights === null) return tf.reshape(gather(nearest), images.shape);
    const [ax, bx, ay, by] = weights.map((weight) => tf.tensor2d(weight, [size, 1]));
    const top = tf.add(tf.mul(gather(nearest), ax as tf.Tensor2D), tf.mul(gather(corners[0] as Int32Array), bx as tf.Tensor2D));
    const bottom = tf.add(tf.mul(gather(corners[1] as Int32Array), ax as tf.Tensor2D), tf.mul(gather(corners[2] as Int32Array), bx as tf.Tensor2D));
    return tf.reshape(tf.add(tf.mul(top, ay as tf.Tensor2D), tf.mul(bottom, by as tf.Tensor2D)), images.shape);
  });
}

function warpOptions(options: ImageWarpOptions, fn: string, prefix: string): { interpolation: WarpInterpolation; fill: number } {
  const interpolation = options.interpolation ?? 'nearest';
  const fill = options.fill ?? 0;
  assertOneOf(interpolation, INTERPOLATIONS, `${prefix}interpolation`, fn);
  assertNumber(fill, `${prefix}fill`, fn);
  assertFloat32(fill, `${prefix}fill`, fn);
  return { interpolation, fill };
}

/** A `degrees` option as `[low, high]`: a number `d >= 0` means `[-d, d]` (torchvision's `_setup_angle`). */
function degreesRange(degrees: unknown, argument: string, fn: string): Interval {
  if (typeof degrees === 'number') {
    assertNumber(degrees, argument, fn, { min: 0 });
    return [-degrees, degrees];
  }
  assertInterval(degrees, argument, fn, {});
  return degrees;
}

function translateFractions(translate: unknown, argument: string, fn: string): readonly [number, number] {
  if (!Array.isArray(translate) || translate.length !== 2) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${fn}' must be a pair [fx, fy], got ${describeValue(translate)}`);
  }
  assertNumber(translate[0], `${argument}[0]`, fn, { min: 0, max: 1 });
  assertNumber(translate[1], `${argument}[1]`, fn, { min: 0, max: 1 });
  return [translate[0], translate[1]];
}

function rotationMaps(angle: ArrayLike<number>): Float64Array {
  const maps = new Float64Array(angle.length * 6);
  // torchvision F.rotate: _get_inverse_affine_matrix(centre, -angle, [0, 0], 1, [0, 0]).
  for (let i = 0; i < angle.length; i++) maps.set(inverseAffine(-(angle[i] as number), 0, 0, 1, 0, 0), i * 6);
  return maps;
}

function translationMaps(dx: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const maps = new Float64Array(dx.length * 6);
  for (let i = 0; i < dx.length; i++) maps.set([1, 0, -(dx[i] as number), 0, 1, -(dy[i] as number)], i * 6);
  return maps;
}

/**
 * Rotate each image about its centre by its own angle: torchvision `F.rotate(img, angle,
 * interpolation, expand=False, center=None, fill)` on float tensors. The deterministic form of
 * {@link randomRotation}.
 *
 * Conventions (torchvision's): positive angles turn the content counter-clockwise as displayed
 * (row 0 at the top); the centre is the middle of the image, `((w - 1) / 2, (h - 1) / 2)` in pixel
 * indices; output pixel `(x, y)` reads the input at
 * `x' = cos θ (x - cx) - sin θ (y - cy) + cx`, `y' = sin θ (x - cx) + cos θ (y - cy) + cy`;
 * sources outside the image read `fill`. Multiples of 90° use exact cos/sin, so a quarter turn of a
 * square image copies pixels exactly (as `torch.rot90`). Nearest ties round half to even (as
 * `grid_sample`); any channel count.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param params - `angle`, one angle in degrees per image.
 * @param options - interpolation and fill. @defaultValue nearest, fill 0
 * @returns a new `[n, h, w, c]` float32 tensor owned by the caller. Nearest: copies of input
 *   values or `fill`; bilinear: convex combinations of them, so [0, 1] inputs and fill stay in [0, 1].
 * @throws `ContrastiveError` for bad images, an `angle` without `n` finite numbers, or bad options.
 * @example
 * ```ts
 * const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
 * applyRotation(x, { angle: [90] }).print(); // [[[[2], [4]], [[1], [3]]]]
 * ```
 * @category Augmentation
 */
export function applyRotation(images: tf.Tensor4D, params: RotationParams, options: ImageWarpOptions = {}): tf.Tensor4D {
  const fn = 'applyRotation';
  assertImages(images, fn);
  assertObject(options, 'options', fn);
  const { interpolation, fill } = warpOptions(options, fn, 'options.');
  assertObject(params, 'params', fn, '{ angle }');
  const angle = perImageNumbers(params.angle, images.shape[0], 'params.angle', fn);
  return warp(images, rotationMaps(angle), interpolation, fill);
}

/**
 * Random rotation: torchvision `RandomRotation(degrees, interpolation, expand=False, center=None,
 * fill)`. Each image gets its own angle `θ ~ U(degrees)`, then {@link applyRotation} (counter-clockwise
 * for positive θ, about the image centre).
 *
 * Draw order: one `rng.uniform(low, high)` per image `i = 0 .. n-1`.
 *
 * @param options - `degrees` (required), interpolation (`'nearest'`) and fill (0).
 * @returns a {@link RandomRotation}; its `apply` returns a new `[n, h, w, c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for a negative or non-finite `degrees`, a range with
 *   low > high, an unknown interpolation or a fill that is not finite in float32.
 * @example
 * ```ts
 * const rotation = randomRotation({ degrees: 15, interpolation: 'bilinear' });
 * const out = rotation.apply(tf.ones([8, 28, 28, 1]) as tf.Tensor4D, new Rng(0));
 * console.log(out.shape); // [8, 28, 28, 1]
 * ```
 * @category Augmentation
 */
export function randomRotation(options: RandomRotationOptions): RandomRotation {
  const fn = 'randomRotation';
  assertObject(options, 'options', fn);
  const [low, high] = degreesRange(options.degrees, 'degrees', fn);
  const { interpolation, fill } = warpOptions(options, fn, '');
  const draw = (n: number, rng: Rng): number[] => Array.from({ length: n }, () => rng.uniform(low, high));
  return {
    name: fn,
    sample(n: number, rng: Rng): { angle: number[] } {
      assertNumber(n, 'n', `${fn}.sample`, { integer: true, min: 1 });
      assertRng(rng, `${fn}.sample`);
      return { angle: draw(n, rng) };
    },
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      return warp(images, rotationMaps(draw(images.shape[0], rng)), interpolation, fill);
    },
  };
}

/**
 * Shift each image by its own `(dx, dy)` pixels: torchvision `F.affine(img, angle=0, translate=[dx, dy],
 * scale=1, shear=0, interpolation, fill)`. Output pixel `(x, y)` reads the input at `(x - dx, y - dy)`;
 * uncovered pixels get `fill`. Whole-pixel shifts copy values exactly (whatever the interpolation);
 * fractional shifts are interpolated. The deterministic form of {@link randomTranslation}.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param params - `dx`, `dy`: one shift in pixels per image (positive: right, down).
 * @param options - interpolation and fill. @defaultValue nearest, fill 0
 * @returns a new `[n, h, w, c]` float32 tensor owned by the caller; values are input values or
 *   `fill` (or convex combinations of them when bilinear), so [0, 1] inputs and fill stay in [0, 1].
 * @throws `ContrastiveError` for bad images, arrays without `n` finite numbers, or bad options.
 * @example
 * ```ts
 * const x = tf.tensor4d([1, 2, 3], [1, 1, 3, 1]);
 * applyTranslation(x, { dx: [1], dy: [0] }, { fill: 0.5 }).print(); // [[[[0.5], [1], [2]]]]
 * ```
 * @category Augmentation
 */
export function applyTranslation(images: tf.Tensor4D, params: TranslationParams, options: ImageWarpOptions = {}): tf.Tensor4D {
  const fn = 'applyTranslation';
  assertImages(images, fn);
  assertObject(options, 'options', fn);
  const { interpolation, fill } = warpOptions(options, fn, 'options.');
  assertObject(params, 'params', fn, '{ dx, dy }');
  const n = images.shape[0];
  const dx = perImageNumbers(params.dx, n, 'params.dx', fn);
  const dy = perImageNumbers(params.dy, n, 'params.dy', fn);
  return warp(images, translationMaps(dx, dy), interpolation, fill);
}

/**
 * Random translation: torchvision `RandomAffine(degrees=0, translate=(fx, fy), interpolation, fill)`.
 * Per image `dx ~ U(-fx w, fx w)` and `dy ~ U(-fy h, fy h)`, rounded half to even to whole pixels as
 * torchvision does (`int(round(...))`) unless `subpixel`; then {@link applyTranslation}.
 *
 * Draw order: for image `i = 0 .. n-1`, two `rng.uniform` draws: `dx`, then `dy`.
 *
 * @param options - `translate` (required), `subpixel` (false), interpolation (`'nearest'`, used only
 *   by sub-pixel shifts) and fill (0).
 * @returns a {@link RandomTranslation}; its `apply` returns a new `[n, h, w, c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when a `translate` fraction leaves [0, 1], `subpixel`
 *   is not a boolean, the interpolation is unknown or the fill is not finite in float32.
 * @example
 * ```ts
 * const shift = randomTranslation({ translate: [0.1, 0.1] });
 * const out = shift.apply(tf.ones([8, 28, 28, 1]) as tf.Tensor4D, new Rng(0));
 * console.log(out.shape); // [8, 28, 28, 1]  (shifts of at most 2.8 -> 3 pixels)
 * ```
 * @category Augmentation
 */
export function randomTranslation(options: RandomTranslationOptions): RandomTranslation {
  const fn = 'randomTranslation';
  assertObject(options, 'options', fn);
  const [fx, fy] = translateFractions(options.translate, 'translate', fn);
  const subpixel = options.subpixel ?? false;
  assertOneOf(subpixel, [false, true], 'subpixel', fn);
  const { interpolation, fill } = warpOptions(options, fn, '');
  const round = subpixel ? (value: number): number => value : roundHalfEven;
  const draw = (n: number, rng: Rng, height: number, width: number): { dx: number[]; dy: number[] } => {
    const dx: number[] = [];
    const dy: number[] = [];
    for (let i = 0; i < n; i++) {
      dx.push(round(rng.uniform(-fx * width, fx * width)));
      dy.push(round(rng.uniform(-fy * height, fy * height)));
    }
    return { dx, dy };
  };
  return {
    name: fn,
    sample(n: number, rng: Rng, imageSize: readonly [number, number]): { dx: number[]; dy: number[] } {
      assertNumber(n, 'n', `${fn}.sample`, { integer: true, min: 1 });
      assertRng(rng, `${fn}.sample`);
      assertSize(imageSize, 'imageSize', `${fn}.sample`);
      return draw(n, rng, imageSize[0], imageSize[1]);
    },
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      const { dx, dy } = draw(images.shape[0], rng, images.shape[1], images.shape[2]);
      return warp(images, translationMaps(dx, dy), interpolation, fill);
    },
  };
}

function affineMaps(params: { [K in keyof AffineParams]: ArrayLike<number> }): Float64Array {
  const n = params.angle.length;
  const maps = new Float64Array(n * 6);
  for (let i = 0; i < n; i++) {
    const map = inverseAffine(
      params.angle[i] as number,
      params.dx[i] as number,
      params.dy[i] as number,
      params.scale[i] as number,
      params.shearX[i] as number,
      params.shearY[i] as number,
    );
    maps.set(map, i * 6);
  }
  return maps;
}

/**
 * Rotate, scale, shear and translate each image with its own parameters, keeping the centre
 * invariant: torchvision `F.affine(img, angle, [dx, dy], scale, [shearX, shearY], interpolation,
 * fill)` on float tensors (same inverse matrix, centre `((w - 1) / 2, (h - 1) / 2)`). As in
 * torchvision, `angle` turns **clockwise** for positive values (`applyAffine` with `-θ` equals
 * {@link applyRotation} with `θ`). The deterministic form of {@link randomAffine}.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param params - `angle`, `dx`, `dy`, `scale`, `shearX`, `shearY`, one entry per image.
 * @param options - interpolation and fill. @defaultValue nearest, fill 0
 * @returns a new `[n, h, w, c]` float32 tensor owned by the caller; values are input values or
 *   `fill` (convex combinations when bilinear), so [0, 1] inputs and fill stay in [0, 1].
 * @throws `ContrastiveError` for bad images, arrays without `n` finite numbers, a scale <= 0, a
 *   shear outside (-90, 90), or bad options.
 * @example
 * ```ts
 * const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
 * applyAffine(x, { angle: [-90], dx: [0], dy: [0], scale: [1], shearX: [0], shearY: [0] }).print();
 * // [[[[2], [4]], [[1], [3]]]]  (= applyRotation by +90)
 * ```
 * @category Augmentation
 */
export function applyAffine(images: tf.Tensor4D, params: AffineParams, options: ImageWarpOptions = {}): tf.Tensor4D {
  const fn = 'applyAffine';
  assertImages(images, fn);
  assertObject(options, 'options', fn);
  const { interpolation, fill } = warpOptions(options, fn, 'options.');
  assertObject(params, 'params', fn, '{ angle, dx, dy, scale, shearX, shearY }');
  const n = images.shape[0];
  const shearRange = { min: -90, max: 90, exclusiveMin: true, exclusiveMax: true };
  const checked = {
    angle: perImageNumbers(params.angle, n, 'params.angle', fn),
    dx: perImageNumbers(params.dx, n, 'params.dx', fn),
    dy: perImageNumbers(params.dy, n, 'params.dy', fn),
    scale: perImageNumbers(params.scale, n, 'params.scale', fn, { min: 0, exclusiveMin: true }),
    shearX: perImageNumbers(params.shearX, n, 'params.shearX', fn, shearRange),
    shearY: perImageNumbers(params.shearY, n, 'params.shearY', fn, shearRange),
  };
  return warp(images, affineMaps(checked), interpolation, fill);
}

function shearRanges(shear: unknown, fn: string): [Interval, Interval] {
  const bounds = { min: -90, max: 90, exclusiveMin: true, exclusiveMax: true };
  if (shear === undefined) return [[0, 0], [0, 0]];
  if (typeof shear === 'number') {
    assertNumber(shear, 'shear', fn, { min: 0, max: 90, exclusiveMax: true });
    return [[-shear, shear], [0, 0]];
  }
  if (Array.isArray(shear) && shear.length === 4) {
    assertInterval(shear.slice(0, 2), 'shear[0..1]', fn, bounds);
    assertInterval(shear.slice(2, 4), 'shear[2..3]', fn, bounds);
    return [[shear[0], shear[1]], [shear[2], shear[3]]];
  }
  if (!Array.isArray(shear) || shear.length !== 2) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'shear' passed to '${fn}' must be a number, [min, max] or [xMin, xMax, yMin, yMax], got ${describeValue(shear)}`,
    );
  }
  assertInterval(shear, 'shear', fn, bounds);
  return [[shear[0], shear[1]], [0, 0]];
}

/**
 * Random affine transformation keeping the centre invariant: torchvision `RandomAffine(degrees,
 * translate, scale, shear, interpolation, fill)`. Per image: `angle ~ U(degrees)`,
 * `dx ~ U(-fx w, fx w)`, `dy ~ U(-fy h, fy h)` (rounded half to even unless `subpixel`),
 * `scale ~ U(scale)`, `shearX ~ U(shear x range)`, `shearY ~ U(shear y range)`; then
 * {@link applyAffine} (angles clockwise, as torchvision `RandomAffine`).
 *
 * Draw order: for image `i = 0 .. n-1`, six `rng.uniform` draws: angle, dx, dy, scale, shearX,
 * shearY, each drawn even when its range is a single value.
 *
 * @param options - `degrees` (required), `translate` (`[0, 0]`), `scale` (`[1, 1]`), `shear` (0),
 *   `subpixel` (false), interpolation (`'nearest'`) and fill (0).
 * @returns a {@link RandomAffine}; its `apply` returns a new `[n, h, w, c]` float32 tensor owned by the caller.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for a bad range (negative `degrees`, translate
 *   fractions outside [0, 1], a scale end <= 0, a shear end outside (-90, 90), low > high), an
 *   unknown interpolation or a fill that is not finite in float32.
 * @example
 * ```ts
 * const affine = randomAffine({ degrees: 10, translate: [0.1, 0.1], scale: [0.9, 1.1], shear: 5 });
 * const out = affine.apply(tf.ones([8, 28, 28, 1]) as tf.Tensor4D, new Rng(0));
 * console.log(out.shape); // [8, 28, 28, 1]
 * ```
 * @category Augmentation
 */
export function randomAffine(options: RandomAffineOptions): RandomAffine {
  const fn = 'randomAffine';
  assertObject(options, 'options', fn);
  const [angleLow, angleHigh] = degreesRange(options.degrees, 'degrees', fn);
  const [fx, fy] = translateFractions(options.translate ?? [0, 0], 'translate', fn);
  const scale = options.scale ?? [1, 1];
  assertInterval(scale, 'scale', fn, { min: 0, exclusiveMin: true });
  const [shearXRange, shearYRange] = shearRanges(options.shear, fn);
  const subpixel = options.subpixel ?? false;
  assertOneOf(subpixel, [false, true], 'subpixel', fn);
  const { interpolation, fill } = warpOptions(options, fn, '');
  const round = subpixel ? (value: number): number => value : roundHalfEven;
  const draw = (n: number, rng: Rng, height: number, width: number): { [K in keyof AffineParams]: number[] } => {
    const params = { angle: [] as number[], dx: [] as number[], dy: [] as number[], scale: [] as number[], shearX: [] as number[], shearY: [] as number[] };
    for (let i = 0; i < n; i++) {
      params.angle.push(rng.uniform(angleLow, angleHigh));
      params.dx.push(round(rng.uniform(-fx * width, fx * width)));
      params.dy.push(round(rng.uniform(-fy * height, fy * height)));
      params.scale.push(rng.uniform(scale[0], scale[1]));
      params.shearX.push(rng.uniform(shearXRange[0], shearXRange[1]));
      params.shearY.push(rng.uniform(shearYRange[0], shearYRange[1]));
    }
    return params;
  };
  return {
    name: fn,
    sample(n: number, rng: Rng, imageSize: readonly [number, number]): { [K in keyof AffineParams]: number[] } {
      assertNumber(n, 'n', `${fn}.sample`, { integer: true, min: 1 });
      assertRng(rng, `${fn}.sample`);
      assertSize(imageSize, 'imageSize', `${fn}.sample`);
      return draw(n, rng, imageSize[0], imageSize[1]);
    },
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      return warp(images, affineMaps(draw(images.shape[0], rng, images.shape[1], images.shape[2])), interpolation, fill);
    },
  };
}
