/**
 * Geometric augmentations that only move pixels: random crop with padding, vertical flip and
 * quarter-turn rotation (torchvision `RandomCrop`, `RandomVerticalFlip`, `torch.rot90`). Every
 * output value is an exact copy of an input value (or the padding fill), on every backend.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertOneOf, type Rng } from '@contrastive/core';
import type { Augmentation } from './augmentation.js';
import { assertFloat32, assertImages, assertObject, assertProbability, assertRng, assertSize, describeValue, perImageFlags, perImageNumbers } from './checks.js';
import { coinFlip, type FlipParams } from './horizontal-flip.js';

/**
 * How {@link randomCrop} fills the padding (torchvision's `padding_mode`): `'constant'` with `fill`;
 * `'edge'` repeats the border pixel; `'reflect'` mirrors without repeating the border
 * (`[c b | a b c d | c b]`); `'symmetric'` mirrors repeating it (`[b a | a b c d | d c]`).
 * @category Augmentation
 */
export type CropPaddingMode = 'constant' | 'edge' | 'reflect' | 'symmetric';

const PADDING_MODES: readonly CropPaddingMode[] = ['constant', 'edge', 'reflect', 'symmetric'];

/**
 * Padding in pixels, non-negative integers: one number for every border, or
 * `[top, right, bottom, left]` (CSS order — torchvision's 4-sequence is `[left, top, right, bottom]`).
 * @category Augmentation
 */
export type CropPadding = number | readonly [top: number, right: number, bottom: number, left: number];

/** Options of {@link randomCrop} and {@link applyCrop}. @category Augmentation */
export interface RandomCropOptions {
  /** Output `[height, width]`, positive integers, at most the padded image's size. @defaultValue the input's `[h, w]` */
  readonly size?: readonly [height: number, width: number];
  /** Padding added around each image before cropping. @defaultValue 0 */
  readonly padding?: CropPadding;
  /** Value of constant padding, finite in float32 (`|fill| <= 3.4028234663852886e38`). @defaultValue 0 */
  readonly fill?: number;
  /** How the padding is filled. @defaultValue `'constant'` */
  readonly paddingMode?: CropPaddingMode;
}

/** Explicit per-image crop offsets of {@link applyCrop}, in pixels of the padded image. @category Augmentation */
export interface CropOffsets {
  /** First row of the crop of image `i` in the padded image, an integer in `[0, Hp - height]`; `n` entries. */
  readonly top: ArrayLike<number>;
  /** First column of the crop of image `i` in the padded image, an integer in `[0, Wp - width]`; `n` entries. */
  readonly left: ArrayLike<number>;
}

/**
 * The augmentation returned by {@link randomCrop}.
 * @category Augmentation
 */
export interface RandomCrop extends Augmentation {
  /**
   * Draw the crop offsets of `n` images of the given size, exactly as `apply` does.
   * @param n - number of images, a positive integer.
   * @param rng - advanced by `2 n` integer draws.
   * @param imageSize - `[height, width]` of the images before padding.
   * @throws `ContrastiveError` `SHAPE_MISMATCH` naming `imageSize` when the crop is larger than the
   *   padded image (or the padding too large for the mode).
   */
  sample(n: number, rng: Rng, imageSize: readonly [height: number, width: number]): { top: number[]; left: number[] };
}

/** Options of {@link verticalFlip}. @category Augmentation */
export interface VerticalFlipOptions {
  /** Probability of flipping each image upside down, in [0, 1]. @defaultValue 0.5 */
  readonly probability?: number;
}

/**
 * The augmentation returned by {@link verticalFlip}.
 * @category Augmentation
 */
export interface VerticalFlip extends Augmentation {
  /**
   * Draw the flip coins of `n` images, exactly as `apply` does.
   * @param n - number of images, a positive integer.
   * @param rng - advanced by `n` uniform draws.
   */
  sample(n: number, rng: Rng): FlipParams;
}

/** A number of counter-clockwise quarter turns. @category Augmentation */
export type QuarterTurns = 0 | 1 | 2 | 3;

/** Explicit per-image parameters of {@link applyRotate90}. @category Augmentation */
export interface Rotate90Params {
  /** Counter-clockwise quarter turns of image `i`, each 0, 1, 2 or 3; `n` entries. */
  readonly turns: ArrayLike<number>;
}

/** Options of {@link rotate90}. @category Augmentation */
export interface Rotate90Options {
  /** Probability of rotating each image (else 0 turns), in [0, 1]. @defaultValue 1 */
  readonly probability?: number;
  /** The turns to choose from, uniformly; a non-empty list of 0, 1, 2, 3 (repeats weight a turn). @defaultValue `[0, 1, 2, 3]` */
  readonly turns?: readonly QuarterTurns[];
}

/**
 * The augmentation returned by {@link rotate90}.
 * @category Augmentation
 */
export interface Rotate90 extends Augmentation {
  /**
   * Draw the turns of `n` images, exactly as `apply` does.
   * @param n - number of images, a positive integer.
   * @param rng - advanced by `n` (uniform, integer) draw pairs.
   */
  sample(n: number, rng: Rng): { turns: QuarterTurns[] };
}

/** Gather pixels by flat index from `[n h w, c]` rows, index `n h w` reading a row of `fill`. */
function gatherPixels(images: tf.Tensor4D, indices: Int32Array, outShape: [number, number, number, number], fill: number | null): tf.Tensor4D {
  const [n, height, width, channels] = images.shape;
  return tf.tidy(() => {
    const flat = tf.reshape(images, [n * height * width, channels]);
    const table = fill === null ? flat : tf.concat([flat, tf.fill([1, channels], fill)], 0);
    return tf.reshape(tf.gather(table, tf.tensor1d(indices, 'int32')), outShape);
  });
}

interface CropGeometry {
  readonly size: readonly [number, number];
  /** `[top, right, bottom, left]`. */
  readonly padding: readonly [number, number, number, number];
  readonly fill: number;
  readonly mode: CropPaddingMode;
}

function cropGeometry(options: RandomCropOptions, fn: string, prefix: string): Omit<CropGeometry, 'size'> & { size: readonly [number, number] | undefined } {
  assertObject(options, 'options', fn);
  if (options.size !== undefined) assertSize(options.size, `${prefix}size`, fn);
  const padding = options.padding ?? 0;
  let sides: [number, number, number, number];
  if (typeof padding === 'number') {
    assertNumber(padding, `${prefix}padding`, fn, { integer: true, min: 0 });
    sides = [padding, padding, padding, padding];
  } else if (Array.isArray(padding) && padding.length === 4) {
    padding.forEach((side: unknown, i) => assertNumber(side, `${prefix}padding[${i}]`, fn, { integer: true, min: 0 }));
    sides = [padding[0], padding[1], padding[2], padding[3]];
  } else {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${prefix}padding' passed to '${fn}' must be a non-negative integer or [top, right, bottom, left], got ${describeValue(padding)}`,
    );
  }
  const fill = options.fill ?? 0;
  assertNumber(fill, `${prefix}fill`, fn);
  assertFloat32(fill, `${prefix}fill`, fn);
  const mode = options.paddingMode ?? 'constant';
  assertOneOf(mode, PADDING_MODES, `${prefix}paddingMode`, fn);
  return { size: options.size, padding: sides, fill, mode };
}

/**
 * The padded size `[Hp, Wp]`, after checking that the crop fits and the padding suits the mode;
 * `argument` names the size's source in messages (`'images'`, or `sample`'s `'imageSize'`).
 */
function paddedSize(geometry: CropGeometry, height: number, width: number, fn: string, argument = 'images'): [number, number] {
  const [top, right, bottom, left] = geometry.padding;
  const padded: [number, number] = [height + top + bottom, width + left + right];
  const [cropHeight, cropWidth] = geometry.size;
  if (cropHeight > padded[0] || cropWidth > padded[1]) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument '${argument}' passed to '${fn}' must be at least the crop size [${cropHeight}, ${cropWidth}] after padding, got [${padded[0]}, ${padded[1]}] (images [${height}, ${width}] padded by [${geometry.padding.join(', ')}])`,
    );
  }
  // torchvision (torch.nn.functional.pad) requires reflect padding < the side, symmetric <= the side.
  if (geometry.mode === 'reflect' || geometry.mode === 'symmetric') {
    const strict = geometry.mode === 'reflect';
    const tooLarge = (pad: number, side: number): boolean => (strict ? pad >= side : pad > side);
    if (tooLarge(top, height) || tooLarge(bottom, height) || tooLarge(left, width) || tooLarge(right, width)) {
      throw new ContrastiveError(
        'SHAPE_MISMATCH',
        `Argument '${argument}' passed to '${fn}' is too small for ${geometry.mode} padding [${geometry.padding.join(', ')}]: each side must be ${strict ? '<' : '<='} the image side, got images [${height}, ${width}]`,
      );
    }
  }
  return padded;
}

/** Source index of padded coordinate `p` along a side of `length` pixels padded by `before`; -1 = fill. */
function sourceIndex(p: number, before: number, length: number, mode: CropPaddingMode): number {
  const i = p - before;
  if (i >= 0 && i < length) return i;
  switch (mode) {
    case 'constant':
      return -1;
    case 'edge':
      return i < 0 ? 0 : length - 1;
    case 'reflect':
      return i < 0 ? -i : 2 * (length - 1) - i;
    case 'symmetric':
      return i < 0 ? -i - 1 : 2 * length - 1 - i;
    default: {
      const never: never = mode;
      return never;
    }
  }
}

function cropImages(images: tf.Tensor4D, top: ArrayLike<number>, left: ArrayLike<number>, geometry: CropGeometry): tf.Tensor4D {
  const [n, height, width, channels] = images.shape;
  const [cropHeight, cropWidth] = geometry.size;
  const [padTop, , , padLeft] = geometry.padding;
  const fillRow = n * height * width;
  const indices = new Int32Array(n * cropHeight * cropWidth);
  const rows = new Int32Array(cropHeight);
  const columns = new Int32Array(cropWidth);
  let identity = cropHeight === height && cropWidth === width;
  let needsFill = false;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < cropHeight; y++) rows[y] = sourceIndex((top[b] as number) + y, padTop, height, geometry.mode);
    for (let x = 0; x < cropWidth; x++) columns[x] = sourceIndex((left[b] as number) + x, padLeft, width, geometry.mode);
    identity &&= top[b] === padTop && left[b] === padLeft;
    for (let y = 0; y < cropHeight; y++) {
      const row = rows[y] as number;
      for (let x = 0; x < cropWidth; x++) {
        const column = columns[x] as number;
        const k = (b * cropHeight + y) * cropWidth + x;
        if (row < 0 || column < 0) {
          indices[k] = fillRow;
          needsFill = true;
        } else {
          indices[k] = (b * height + row) * width + column;
        }
      }
    }
  }
  if (identity) return tf.clone(images);
  return gatherPixels(images, indices, [n, cropHeight, cropWidth, channels], needsFill ? geometry.fill : null);
}

/**
 * Pad, then crop each image at its own offset: torchvision `F.crop(F.pad(img, padding, fill,
 * padding_mode), top, left, height, width)`. The deterministic form of {@link randomCrop}.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed), any channel count.
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param offsets - `top`, `left`: integer offsets of each crop in the padded image
 *   (`[Hp, Wp] = [h + padTop + padBottom, w + padLeft + padRight]`).
 * @param options - `size` (the input size), `padding` (0), `fill` (0), `paddingMode` (`'constant'`).
 * @returns a new `[n, size[0], size[1], c]` float32 tensor owned by the caller; every value is an
 *   exact copy of an input value or `fill`, so [0, 1] inputs and fill stay in [0, 1].
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for bad options or an offset that is not an integer
 *   in `[0, Hp - size[0]]` / `[0, Wp - size[1]]`; `SHAPE_MISMATCH` when `offsets` do not hold `n`
 *   entries, the crop exceeds the padded image, or reflect (symmetric) padding is not smaller than
 *   (not at most) the image side.
 * @example
 * ```ts
 * const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
 * applyCrop(x, { top: [0], left: [1] }, { size: [2, 2], padding: 1, paddingMode: 'reflect' }).print();
 * // [[[[3], [4]], [[1], [2]]]]  (padded rows: [4 3 4 3], [2 1 2 1], [4 3 4 3], [2 1 2 1])
 * ```
 * @category Augmentation
 */
export function applyCrop(images: tf.Tensor4D, offsets: CropOffsets, options: RandomCropOptions = {}): tf.Tensor4D {
  const fn = 'applyCrop';
  assertImages(images, fn);
  const [n, height, width] = images.shape;
  const partial = cropGeometry(options, fn, 'options.');
  const geometry: CropGeometry = { ...partial, size: partial.size ?? [height, width] };
  const [paddedHeight, paddedWidth] = paddedSize(geometry, height, width, fn);
  assertObject(offsets, 'offsets', fn, '{ top, left }');
  const top = perImageNumbers(offsets.top, n, 'offsets.top', fn, { min: 0, max: paddedHeight - geometry.size[0] });
  const left = perImageNumbers(offsets.left, n, 'offsets.left', fn, { min: 0, max: paddedWidth - geometry.size[1] });
  top.forEach((value, i) => assertNumber(value, `offsets.top[${i}]`, fn, { integer: true }));
  left.forEach((value, i) => assertNumber(value, `offsets.left[${i}]`, fn, { integer: true }));
  return cropImages(images, top, left, geometry);
}

/**
 * Random crop with padding: torchvision `RandomCrop(size, padding, pad_if_needed=False, fill,
 * padding_mode)` (the CIFAR-style "pad 4 and crop" augmentation). Each image is padded, then cropped
 * at `top ~ U{0 .. Hp - size[0]}`, `left ~ U{0 .. Wp - size[1]}`; see {@link applyCrop}.
 *
 * Draw order: for image `i = 0 .. n-1`, two `rng.int` draws: `top` (`rng.int(Hp - size[0] + 1)`),
 * then `left` (`rng.int(Wp - size[1] + 1)`).
 *
 * @param options - `size` (the input size), `padding` (0), `fill` (0), `paddingMode` (`'constant'`).
 * @returns a {@link RandomCrop}; its `apply` returns a new `[n, size[0], size[1], c]` float32 tensor
 *   owned by the caller (values copied exactly, or `fill`).
 * @throws `ContrastiveError` `INVALID_ARGUMENT` for a bad size, padding, mode or fill (not finite in
 *   float32); `apply` and
 *   `sample` throw `SHAPE_MISMATCH` when the crop exceeds the padded image or the padding is too
 *   large for the mode.
 * @example
 * ```ts
 * const crop = randomCrop({ padding: 4 }); // pad 4, crop back to the input size
 * const out = crop.apply(tf.ones([8, 32, 32, 3]) as tf.Tensor4D, new Rng(0));
 * console.log(out.shape); // [8, 32, 32, 3]
 * ```
 * @category Augmentation
 */
export function randomCrop(options: RandomCropOptions = {}): RandomCrop {
  const fn = 'randomCrop';
  const partial = cropGeometry(options, fn, '');
  const geometryFor = (height: number, width: number, caller: string, argument: string): { geometry: CropGeometry; padded: [number, number] } => {
    const geometry: CropGeometry = { ...partial, size: partial.size ?? [height, width] };
    return { geometry, padded: paddedSize(geometry, height, width, caller, argument) };
  };
  const draw = (n: number, rng: Rng, geometry: CropGeometry, padded: [number, number]): { top: number[]; left: number[] } => {
    const top: number[] = [];
    const left: number[] = [];
    for (let i = 0; i < n; i++) {
      top.push(rng.int(padded[0] - geometry.size[0] + 1));
      left.push(rng.int(padded[1] - geometry.size[1] + 1));
    }
    return { top, left };
  };
  return {
    name: fn,
    sample(n: number, rng: Rng, imageSize: readonly [number, number]): { top: number[]; left: number[] } {
      assertNumber(n, 'n', `${fn}.sample`, { integer: true, min: 1 });
      assertRng(rng, `${fn}.sample`);
      assertSize(imageSize, 'imageSize', `${fn}.sample`);
      const { geometry, padded } = geometryFor(imageSize[0], imageSize[1], `${fn}.sample`, 'imageSize');
      return draw(n, rng, geometry, padded);
    },
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      const { geometry, padded } = geometryFor(images.shape[1], images.shape[2], `${fn}.apply`, 'images');
      const { top, left } = draw(images.shape[0], rng, geometry, padded);
      return cropImages(images, top, left, geometry);
    },
  };
}

function flipVertically(images: tf.Tensor4D, flags: Uint8Array): tf.Tensor4D {
  const [n, height, width] = images.shape;
  if (!flags.includes(1)) return tf.clone(images);
  // As in horizontalFlip: the box [1, 0, 0, 1] samples exactly the mirrored pixel centres
  // (interpolation weights 0), so cropAndResize copies values exactly.
  const boxes = new Float32Array(n * 4);
  flags.forEach((flag, i) => boxes.set(flag === 1 ? [1, 0, 0, 1] : [0, 0, 1, 1], i * 4));
  return tf.tidy(() =>
    tf.image.cropAndResize(images, tf.tensor2d(boxes, [n, 4]), tf.range(0, n, 1, 'int32') as tf.Tensor1D, [height, width], 'bilinear'),
  );
}

/**
 * Flip the chosen images upside down (reverse the height axis); the others are copied unchanged.
 * torchvision `F.vflip`. The deterministic form of {@link verticalFlip}.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed), any channel count.
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param params - `flip`, one boolean per image.
 * @returns a new `[n, h, w, c]` float32 tensor owned by the caller; values are exact copies.
 * @throws `ContrastiveError` for bad images or when `flip` does not hold `n` booleans.
 * @example
 * ```ts
 * const x = tf.tensor4d([1, 2, 3, 4], [2, 2, 1, 1]);
 * applyVerticalFlip(x, { flip: [true, false] }).print(); // [[[[2]], [[1]]], [[[3]], [[4]]]]
 * ```
 * @category Augmentation
 */
export function applyVerticalFlip(images: tf.Tensor4D, params: FlipParams): tf.Tensor4D {
  const fn = 'applyVerticalFlip';
  assertImages(images, fn);
  assertObject(params, 'params', fn, '{ flip }');
  return flipVertically(images, perImageFlags(params.flip, images.shape[0], 'params.flip', fn));
}

/**
 * Random vertical flip: each image is flipped upside down with probability `probability`
 * (torchvision `RandomVerticalFlip(p=0.5)`).
 *
 * Draw order: one `rng.uniform` per image `i = 0 .. n-1`; image `i` flips when it is `< probability`.
 *
 * @param options - flip probability (0.5).
 * @returns a {@link VerticalFlip}; its `apply` returns a new `[n, h, w, c]` float32 tensor owned by
 *   the caller (exact copies).
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `probability` leaves [0, 1].
 * @example
 * ```ts
 * const flip = verticalFlip({ probability: 1 });
 * flip.apply(tf.tensor4d([1, 2], [1, 2, 1, 1]), new Rng(0)).print(); // [[[[2]], [[1]]]]
 * ```
 * @category Augmentation
 */
export function verticalFlip(options: VerticalFlipOptions = {}): VerticalFlip {
  return coinFlip('verticalFlip', options, flipVertically);
}

/** Rotate by quarter turns (counter-clockwise, as `torch.rot90(img, k, dims=[-2, -1])`); shapes checked by the callers. */
function rotateQuarters(images: tf.Tensor4D, turns: ArrayLike<number>): tf.Tensor4D {
  const [n, height, width, channels] = images.shape;
  let any = false;
  let odd = false;
  for (let b = 0; b < n; b++) {
    if (turns[b] !== 0) any = true;
    if ((turns[b] as number) % 2 === 1) odd = true;
  }
  if (!any) return tf.clone(images);
  const [outHeight, outWidth] = odd ? [width, height] : [height, width];
  const indices = new Int32Array(n * height * width);
  for (let b = 0; b < n; b++) {
    const k = turns[b] as number;
    for (let y = 0; y < outHeight; y++) {
      for (let x = 0; x < outWidth; x++) {
        // Source (row, column) of output (y, x) after k counter-clockwise quarter turns.
        const [row, column] = k === 0 ? [y, x] : k === 1 ? [x, width - 1 - y] : k === 2 ? [height - 1 - y, width - 1 - x] : [height - 1 - x, y];
        indices[(b * outHeight + y) * outWidth + x] = (b * height + row) * width + column;
      }
    }
  }
  return gatherPixels(images, indices, [n, outHeight, outWidth, channels], null);
}

function assertTurnShape(images: tf.Tensor4D, parities: Set<number>, fn: string, what: string): void {
  const [, height, width] = images.shape;
  if (height !== width && parities.size > 1) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument 'images' passed to '${fn}' must be square when ${what} mixes odd and even quarter turns (the output shapes would differ), got [${images.shape.join(', ')}]`,
    );
  }
}

/**
 * Rotate each image counter-clockwise by its own number of quarter turns: `torch.rot90(img, k,
 * dims=[-2, -1])`, equal to torchvision `F.rotate(img, 90 k)` on square images. Values are exact
 * copies. The deterministic form of {@link rotate90}.
 *
 * Output shape: `[n, h, w, c]` when every turn is even or the images are square; `[n, w, h, c]` when
 * the images are not square and every turn is odd; a non-square batch mixing odd and even turns is
 * rejected (its images would differ in shape).
 *
 * @param images - `[n, h, w, c]` float32 (borrowed), any channel count.
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param params - `turns`, one of 0, 1, 2, 3 per image.
 * @returns a new float32 tensor owned by the caller (shape above); values are exact copies.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when a turn is not 0, 1, 2 or 3;
 *   `SHAPE_MISMATCH` when `turns` does not hold `n` entries or a non-square batch mixes parities.
 * @example
 * ```ts
 * const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
 * applyRotate90(x, { turns: [1] }).print(); // [[[[2], [4]], [[1], [3]]]]
 * ```
 * @category Augmentation
 */
export function applyRotate90(images: tf.Tensor4D, params: Rotate90Params): tf.Tensor4D {
  const fn = 'applyRotate90';
  assertImages(images, fn);
  assertObject(params, 'params', fn, '{ turns }');
  const turns = perImageNumbers(params.turns, images.shape[0], 'params.turns', fn, { min: 0, max: 3 });
  turns.forEach((turn, i) => assertNumber(turn, `params.turns[${i}]`, fn, { integer: true }));
  assertTurnShape(images, new Set(Array.from(turns, (turn) => turn % 2)), fn, "'params.turns'");
  return rotateQuarters(images, turns);
}

/**
 * Random quarter-turn rotation (the rotations of RotNet, Gidaris et al. 2018, and of many
 * contrastive pipelines for rotation-invariant data): with probability `probability` image `i` is
 * turned counter-clockwise by `turns[j]` quarter turns, `j` uniform; otherwise it is copied.
 * See {@link applyRotate90} for the output shape of non-square images.
 *
 * Draw order: for image `i = 0 .. n-1`, one `rng.uniform` (the coin, `< probability` rotates), then
 * one `rng.int(turns.length)` (drawn even when the coin says no).
 *
 * @param options - probability (1) and the turns to choose from (`[0, 1, 2, 3]`).
 * @returns a {@link Rotate90}; its `apply` returns a new float32 tensor owned by the caller (exact copies).
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `probability` leaves [0, 1] or `turns` is
 *   empty or holds something else than 0, 1, 2, 3; `apply` throws `SHAPE_MISMATCH` for non-square
 *   images when the possible outcomes mix odd and even turns.
 * @example
 * ```ts
 * const rotation = rotate90({ turns: [1, 3] }); // a quarter turn either way
 * const out = rotation.apply(tf.ones([8, 28, 28, 1]) as tf.Tensor4D, new Rng(0));
 * console.log(out.shape); // [8, 28, 28, 1]
 * ```
 * @category Augmentation
 */
export function rotate90(options: Rotate90Options = {}): Rotate90 {
  const fn = 'rotate90';
  assertObject(options, 'options', fn);
  const probability = options.probability ?? 1;
  assertProbability(probability, 'probability', fn);
  const choices = options.turns ?? [0, 1, 2, 3];
  if (!Array.isArray(choices) || choices.length === 0) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'turns' passed to '${fn}' must be a non-empty array of 0, 1, 2, 3, got ${describeValue(choices)}`);
  }
  choices.forEach((turn: unknown, i) => assertOneOf(turn, [0, 1, 2, 3], `turns[${i}]`, fn));
  const turnList = [...choices];
  const parities = new Set(turnList.map((turn) => turn % 2));
  if (probability < 1) parities.add(0);
  const draw = (n: number, rng: Rng): QuarterTurns[] =>
    Array.from({ length: n }, () => {
      const rotate = rng.uniform() < probability;
      const turn = turnList[rng.int(turnList.length)] as QuarterTurns;
      return rotate ? turn : 0;
    });
  return {
    name: fn,
    sample(n: number, rng: Rng): { turns: QuarterTurns[] } {
      assertNumber(n, 'n', `${fn}.sample`, { integer: true, min: 1 });
      assertRng(rng, `${fn}.sample`);
      return { turns: draw(n, rng) };
    },
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      assertTurnShape(images, parities, `${fn}.apply`, "the 'turns' option (with 'probability' < 1, also 0 turns)");
      return rotateQuarters(images, draw(images.shape[0], rng));
    },
  };
}
