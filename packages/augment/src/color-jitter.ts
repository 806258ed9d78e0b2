import * as tf from '@tensorflow/tfjs-core';
import { ContrastiveError, assertNumber, assertOneOf, type Rng } from '@contrastive/core';
import type { Augmentation } from './augmentation.js';
import {
  type Interval,
  assertImages,
  assertInterval,
  assertObject,
  assertProbability,
  assertRng,
  describeValue,
  perImageFlags,
  perImageNumbers,
} from './checks.js';

/**
 * Order of the jitter steps: `'fixed'` applies brightness, contrast, saturation, hue in that order;
 * `'random'` applies them in a fresh random permutation per image (torchvision's `ColorJitter`).
 * @category Augmentation
 */
export type JitterOrder = 'fixed' | 'random';

/**
 * The mean `m` that contrast blends towards: `'all'` = the mean over all pixels and channels
 * (RECIPE.md step 2); `'luma'` = the mean of the luma image `0.2989 r + 0.587 g + 0.114 b`
 * (torchvision's `adjust_contrast`, `mean(rgb_to_grayscale(img))`). The two agree for one channel.
 * @category Augmentation
 */
export type ContrastMean = 'all' | 'luma';

/**
 * Where values are clamped to [0, 1]: `'end'` = once, after the last step (RECIPE.md step 2);
 * `'each'` = after every step (torchvision, whose `_blend` clamps).
 * @category Augmentation
 */
export type JitterClamp = 'end' | 'each';

/**
 * Explicit per-image parameters of {@link applyColorJitter}; every array has `n` entries.
 * `saturation`, `hue` and `order` are optional: a step whose factors are absent is skipped.
 * @category Augmentation
 */
export interface JitterParams {
  /** Jitter image `i` where `jitter[i]` is true; the others are copied unchanged. */
  readonly jitter: ArrayLike<boolean>;
  /** Brightness factors `b`, each in [0, 1e6] (ignored where `jitter` is false). */
  readonly brightness: ArrayLike<number>;
  /** Contrast factors `c`, each in [0, 1e6] (ignored where `jitter` is false). */
  readonly contrast: ArrayLike<number>;
  /** Saturation factors `s`, each in [0, 1e6] (ignored where `jitter` is false). Absent: no saturation step. */
  readonly saturation?: ArrayLike<number>;
  /** Hue shifts `h`, each in [-0.5, 0.5] (ignored where `jitter` is false). Absent: no hue step. */
  readonly hue?: ArrayLike<number>;
  /**
   * Per image, the order of the steps: a permutation of `[0, 1, 2, 3]` (0 brightness, 1 contrast,
   * 2 saturation, 3 hue), torchvision's `fn_idx`. Absent: the fixed order `[0, 1, 2, 3]` for every image.
   */
  readonly order?: ArrayLike<ArrayLike<number>>;
}

/** Options of {@link applyColorJitter} (and of {@link colorJitter}). @category Augmentation */
export interface JitterApplyOptions {
  /**
   * The mean that contrast blends towards (see {@link ContrastMean}); `'luma'` is torchvision's and
   * needs 1, 3 or 4 channels.
   * @defaultValue `'all'` (RECIPE.md)
   */
  readonly contrastMean?: ContrastMean;
  /**
   * Where values are clamped to [0, 1] (see {@link JitterClamp}); `'each'` is torchvision's.
   * @defaultValue `'end'` (RECIPE.md)
   */
  readonly clamp?: JitterClamp;
}

/** Options of {@link colorJitter}. @category Augmentation */
export interface ColorJitterOptions extends JitterApplyOptions {
  /** Probability of jittering each image, in [0, 1]. @defaultValue 0.8 */
  readonly probability?: number;
  /** Range of the brightness factor `b ~ U(brightness)`, ends in [0, 1e6] (torchvision's `brightness=0.4`). @defaultValue `[0.6, 1.4]` */
  readonly brightness?: Interval;
  /** Range of the contrast factor `c ~ U(contrast)`, ends in [0, 1e6] (torchvision's `contrast=0.4`). @defaultValue `[0.6, 1.4]` */
  readonly contrast?: Interval;
  /**
   * Range of the saturation factor `s ~ U(saturation)`, ends in [0, 1e6] (torchvision's `saturation=0.4` is
   * `[0.6, 1.4]`). Needs 1 (no-op), 3 or 4 channels.
   * @defaultValue absent: no saturation step and no draw
   */
  readonly saturation?: Interval;
  /**
   * Range of the hue shift `h ~ U(hue)`, inside [-0.5, 0.5] (torchvision's `hue=0.1` is `[-0.1, 0.1]`).
   * Needs 1 (no-op), 3 or 4 channels.
   * @defaultValue absent: no hue step and no draw
   */
  readonly hue?: Interval;
  /** Order of the steps (see {@link JitterOrder}); `'random'` is torchvision's. @defaultValue `'fixed'` */
  readonly order?: JitterOrder;
}

/**
 * The augmentation returned by {@link colorJitter}.
 * @category Augmentation
 */
export interface ColorJitter extends Augmentation {
  /**
   * Draw the jitter parameters of `n` images, exactly as `apply` does.
   * @param n - number of images, a positive integer.
   * @param rng - advanced per image by 3 uniform draws, one more for each of `saturation` and
   *   `hue` when configured, and a `rng.permutation(4)` (3 integer draws) when `order` is `'random'`.
   * @returns `jitter`, `brightness`, `contrast`, and `saturation`, `hue`, `order` when configured.
   */
  sample(n: number, rng: Rng): JitterParams;
}

/**
 * Bounds of the brightness, contrast and saturation factors (a brightness factor above 255 already
 * saturates every non-zero pixel of a [0, 1] image). The upper bound keeps every intermediate value
 * of the up to four steps (at most `(2e6)^3` in magnitude) finite in float32, so that no
 * `Infinity - Infinity` or `0 * Infinity` turns a finite pixel into NaN.
 */
const MAX_FACTOR = 1e6;

/** Step codes, torchvision's `fn_idx` values. */
const BRIGHTNESS = 0;
const CONTRAST = 1;
const SATURATION = 2;
const HUE = 3;
/** Internal stage code: brightness then contrast fused (RECIPE.md), only with clamp `'end'`. */
const BRIGHTNESS_CONTRAST = 4;
const IDENTITY = 5;

/** torchvision's `rgb_to_grayscale` weights (ITU-R 601-2 luma, as in TensorFlow); they sum to 0.9999. */
const LUMA_WEIGHTS = [0.2989, 0.587, 0.114] as const;

/** Validated per-image parameters; `saturation`, `hue`, `order` are null when absent. */
interface Plan {
  readonly flags: Uint8Array;
  readonly brightness: ArrayLike<number>;
  readonly contrast: ArrayLike<number>;
  readonly saturation: ArrayLike<number> | null;
  readonly hue: ArrayLike<number> | null;
  /** `n * 4` step codes, image-major, or null for the fixed order. */
  readonly order: Uint8Array | null;
}

/**
 * The RECIPE.md path (fixed order, brightness and contrast only, one clamp, the all-channel mean).
 * The mean is the pairwise-tree sum divided by the count, bit-identical on cpu and wasm (`tf.mean`
 * rounds differently on the two: float64 vs float32 accumulation).
 */
function jitterImages(images: tf.Tensor4D, flags: Uint8Array, brightness: ArrayLike<number>, contrast: ArrayLike<number>): tf.Tensor4D {
  const [n, height, width, channels] = images.shape;
  if (!flags.includes(1)) return tf.clone(images);
  // RECIPE.md step 2, `clamp((v b - m) c + m, 0, 1)` with `m = mean(v b) = b mean(v)`, evaluated as
  // `clamp(v (b c) + (1 - c) b mean(v), 0, 1)`: two full-size broadcasts instead of six (broadcasting
  // is slow on the cpu backend); the same value up to float32 rounding (~1e-7). Images without jitter
  // get scale 1 and offset 0, which returns them exactly.
  const scale = Float32Array.from(flags, (flag, i) => (flag === 1 ? (brightness[i] as number) * (contrast[i] as number) : 1));
  const meanWeight = Float32Array.from(flags, (flag, i) => (flag === 1 ? (1 - (contrast[i] as number)) * (brightness[i] as number) : 0));
  return tf.tidy(() => {
    const flat = tf.reshape(images, [n, height * width * channels]) as tf.Tensor2D;
    const mean = tf.div(pairwiseRowSum(flat), height * width * channels);
    const offset = tf.mul(mean, tf.tensor2d(meanWeight, [n, 1]));
    const jittered = tf.clipByValue(tf.add(tf.mul(flat, tf.tensor2d(scale, [n, 1])), offset), 0, 1);
    return tf.reshape(jittered, images.shape);
  });
}

/**
 * Row sums of `[n, L]` by a pairwise tree of two-element sums (zero-padded at odd lengths). Every
 * two-element float32 sum is correctly rounded on every backend, so — unlike `tf.sum` / `tf.mean`
 * over many elements, whose accumulation differs between cpu (float64) and wasm (float32) — the
 * result is bit-identical across backends.
 */
function pairwiseRowSum(values: tf.Tensor2D): tf.Tensor2D {
  const n = values.shape[0];
  let current: tf.Tensor2D = values;
  let length = values.shape[1];
  while (length > 1) {
    if (length % 2 === 1) {
      current = tf.pad(current, [
        [0, 0],
        [0, 1],
      ]);
      length += 1;
    }
    length /= 2;
    current = tf.sum(tf.reshape(current, [n, length, 2]), 2);
  }
  return current;
}

/**
 * Exact row gather `values[indices]` of `[r, P]` as `[m, P]`. `tf.gather` and `tf.slice` are slow
 * on wasm (a JS loop, or a copy of the whole input per call); a nearest-neighbour `cropAndResize`
 * of the full box copies the chosen rows exactly (no arithmetic on the values).
 */
function gatherRows(values: tf.Tensor2D, indices: ArrayLike<number>): tf.Tensor2D {
  const [count, size] = values.shape;
  const m = indices.length;
  const boxes = new Float32Array(m * 4);
  for (let i = 0; i < m; i++) boxes.set([0, 0, 1, 1], i * 4);
  const rows = tf.image.cropAndResize(
    tf.reshape(values, [count, 1, size, 1]),
    tf.tensor2d(boxes, [m, 4]),
    tf.tensor1d(Int32Array.from(indices), 'int32'),
    [1, size],
    'nearest',
  );
  return tf.reshape(rows, [m, size]);
}

/** `[n, h, w, c]` as channel-major `[c, n, h w]` (one transpose; a reshape for one channel). */
function toStacked(images: tf.Tensor4D): tf.Tensor3D {
  const [n, height, width, channels] = images.shape;
  const size = height * width;
  if (channels === 1) return tf.reshape(images, [1, n, size]);
  return tf.reshape(tf.transpose(tf.reshape(images, [n * size, channels])), [channels, n, size]);
}

/** Inverse of `toStacked`. */
function fromStacked(stacked: tf.Tensor3D, shape: [number, number, number, number]): tf.Tensor4D {
  const [channels, n, size] = stacked.shape;
  if (channels === 1) return tf.reshape(stacked, shape);
  return tf.reshape(tf.transpose(tf.reshape(stacked, [channels, n * size])), shape);
}

/** Channel `k` of `[c, n, P]` as `[n, P]`: an exact copy by a one-box nearest `cropAndResize`. */
function plane(stacked: tf.Tensor3D, k: number): tf.Tensor2D {
  const [channels, n, size] = stacked.shape;
  if (channels === 1) return tf.reshape(stacked, [n, size]);
  const copy = tf.image.cropAndResize(
    tf.reshape(stacked, [channels, n, size, 1]),
    tf.tensor2d([0, 0, 1, 1], [1, 4]),
    tf.tensor1d([k], 'int32'),
    [n, size],
    'nearest',
  );
  return tf.reshape(copy, [n, size]);
}

/** A per-image column `[n, 1]`. */
function column(values: Float32Array): tf.Tensor2D {
  return tf.tensor2d(values, [values.length, 1]);
}

/** `0.2989 r + 0.587 g + 0.114 b` as `[n, P]`: torchvision's `rgb_to_grayscale`, in its order of operations. */
function luma(stacked: tf.Tensor3D): tf.Tensor2D {
  const [red, green, blue] = [plane(stacked, 0), plane(stacked, 1), plane(stacked, 2)];
  return tf.add(tf.add(tf.mul(red, LUMA_WEIGHTS[0]), tf.mul(green, LUMA_WEIGHTS[1])), tf.mul(blue, LUMA_WEIGHTS[2]));
}

/**
 * torchvision's `adjust_hue` on the first three channels of `[c, m, P]` with one shift per image,
 * on the input clamped to [0, 1] (HSV is defined there); returns `[3, m, P]`. RGB -> HSV is
 * torchvision's `_rgb2hsv` (Pillow's): the max channel (ties: red, then green) picks
 * `6 h = (g - b) / cr`, `2 + (b - r) / cr` or `4 + (r - g) / cr`, `cr = max - min`. HSV -> RGB is
 * `_hsv2rgb`'s sector table in closed form: channel `o = v - v s w(k)`, `k = (6 h' + n) mod 6`,
 * `n = 5, 3, 1` for r, g, b, `w(k) = clamp(min(k, 4 - k), 0, 1)` — the same values, as `v s = cr`.
 *
 * Elementwise with exact 0/1 masks (`tf.step`; comparisons, `where`, `maximum` and `mod` are slow
 * on wasm), every op correctly rounded on every backend.
 */
function hueShift(stacked: tf.Tensor3D, shifts: ArrayLike<number>): tf.Tensor3D {
  const [, m, size] = stacked.shape;
  // k = (6 h + 6 shift + n) mod 6 with 6 h >= -1: the per-image constant is reduced modulo 6 into
  // [1, 7) on the host, so a = 6 h + constant lies in [0, 12) and w(a mod 6) =
  // clamp(2 - |a - 2|, 0, 1) + clamp(2 - |a - 8|, 0, 1) (at most one term is non-zero: exact).
  const offsets = new Float32Array(3 * m);
  for (let k = 0; k < 3; k++) {
    for (let i = 0; i < m; i++) {
      const turn = 6 * (shifts[i] as number) + (5 - 2 * k);
      const reduced = turn - 6 * Math.floor(turn / 6);
      offsets[k * m + i] = reduced < 1 ? reduced + 6 : reduced;
    }
  }
  // Planes first, in their own scope so that the masks are freed before the three-channel part.
  const [maxc, chroma, hue6] = tf.tidy(() => {
    const clamped = tf.clipByValue(stacked, 0, 1);
    const [red, green, blue] = [plane(clamped, 0), plane(clamped, 1), plane(clamped, 2)];
    const greenMinusRed = tf.sub(green, red);
    const blueMinusRed = tf.sub(blue, red);
    const blueMinusGreen = tf.sub(blue, green);
    // [g > r], [b > r], [b > g] exactly (the sign of a float difference is exact).
    const greenOverRed = tf.step(greenMinusRed);
    const blueOverRed = tf.step(blueMinusRed);
    const blueOverGreen = tf.step(blueMinusGreen);
    // Which channel is the max, ties to red then green (torchvision's `maxc == r`, `maxc == g`).
    const redMax = tf.mul(tf.sub(1, greenOverRed), tf.sub(1, blueOverRed));
    const notRedMax = tf.sub(1, redMax);
    const greenMax = tf.mul(notRedMax, tf.sub(1, blueOverGreen));
    const blueMax = tf.sub(notRedMax, greenMax);
    // Exactly one mask is 1, so these sums of masked values are exact selections.
    const maxc = tf.add(tf.add(tf.mul(redMax, red), tf.mul(greenMax, green)), tf.mul(blueMax, blue));
    // max - min = (|g - r| + |b - r| + |b - g|) / 2 for three values.
    const chroma = tf.mul(tf.add(tf.add(tf.abs(greenMinusRed), tf.abs(blueMinusRed)), tf.abs(blueMinusGreen)), 0.5);
    // torchvision divides by 1 where max = min (every numerator is then 0); dividing by the smallest
    // normal float instead is the same there, and differs only where 0 < cr < 1.2e-38 (by < cr).
    const divisor = tf.clipByValue(chroma, 1.1754943508222875e-38, 1);
    // (g - b) if red is the max, (b - r) if green, (r - g) if blue.
    const numerator = tf.sub(tf.sub(tf.mul(greenMax, blueMinusRed), tf.mul(redMax, blueMinusGreen)), tf.mul(blueMax, greenMinusRed));
    const sector = tf.add(tf.mul(greenMax, 2), tf.mul(blueMax, 4));
    const hue6 = tf.add(sector, tf.div(numerator, divisor));
    return [maxc, chroma, hue6].map((value) => tf.reshape(value, [1, m, size]) as tf.Tensor3D);
  }) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
  const a = tf.add(hue6, tf.tensor3d(offsets, [3, m, 1]));
  const rising = tf.clipByValue(tf.sub(2, tf.abs(tf.sub(a, 2))), 0, 1);
  const wrapped = tf.clipByValue(tf.sub(2, tf.abs(tf.sub(a, 8))), 0, 1);
  return tf.sub(maxc, tf.mul(chroma, tf.add(rising, wrapped))) as tf.Tensor3D;
}

/**
 * Hue-shift the images at `indices` (ascending) of `[c, n, P]`, copying everything else exactly:
 * the chosen rows are gathered, shifted, and put back by a second exact row gather.
 */
function hueShiftSubset(stacked: tf.Tensor3D, indices: number[], shifts: number[]): tf.Tensor3D {
  const [channels, n, size] = stacked.shape;
  const m = indices.length;
  if (m === n) {
    const shifted = hueShift(stacked, shifts);
    return channels === 3 ? shifted : (tf.concat([shifted, tf.reshape(plane(stacked, 3), [1, n, size])], 0) as tf.Tensor3D);
  }
  const flat: tf.Tensor2D = tf.reshape(stacked, [channels * n, size]);
  const rows = Int32Array.from({ length: 3 * m }, (_, j) => Math.floor(j / m) * n + (indices[j % m] as number));
  const shifted = hueShift(tf.reshape(gatherRows(flat, rows), [3, m, size]), shifts);
  // Row (k, i) of the result: row k n + i of the input, or of the shifted block when k < 3 and i shifts.
  const source = Int32Array.from({ length: channels * n }, (_, row) => row);
  for (let k = 0; k < 3; k++) indices.forEach((image, j) => (source[k * n + image] = channels * n + k * m + j));
  const merged = gatherRows(tf.concat([flat, tf.reshape(shifted, [3 * m, size]) as tf.Tensor2D], 0), source);
  return tf.reshape(merged, [channels, n, size]);
}

/**
 * One stage on `[c, n, P]`: every image applies at most one step (`codes[i]`). The linear steps
 * (brightness, contrast, saturation) of all images run as one blend `x a + m b + gray g` with
 * per-image, per-channel coefficients (identity: a = 1, b = g = 0, exact), then the hue step on the
 * images that have it.
 */
function applyStage(stacked: tf.Tensor3D, codes: Uint8Array, plan: Plan, mean: ContrastMean): tf.Tensor3D {
  const [channels, n, size] = stacked.shape;
  const scale = new Float32Array(channels * n).fill(1);
  const grayWeight = new Float32Array(channels * n);
  const meanWeight = new Float32Array(n);
  let linear = false;
  let needMean = false;
  let needGray = false;
  const hueImages: number[] = [];
  const hueShifts: number[] = [];
  const setScale = (i: number, value: number, upTo: number): void => {
    for (let k = 0; k < upTo; k++) scale[k * n + i] = value;
  };
  for (let i = 0; i < n; i++) {
    const b = plan.brightness[i] as number;
    const c = plan.contrast[i] as number;
    switch (codes[i]) {
      case BRIGHTNESS:
        setScale(i, b, channels);
        linear = true;
        break;
      case CONTRAST:
        setScale(i, c, channels);
        meanWeight[i] = 1 - c;
        linear = needMean = true;
        break;
      case BRIGHTNESS_CONTRAST:
        // As RECIPE.md: v (b c) + (1 - c) b mean(v) (the mean is linear: mean(v b) = b mean(v)).
        setScale(i, b * c, channels);
        meanWeight[i] = (1 - c) * b;
        linear = needMean = true;
        break;
      case SATURATION: {
        const s = (plan.saturation as ArrayLike<number>)[i] as number;
        setScale(i, s, 3);
        for (let k = 0; k < 3; k++) grayWeight[k * n + i] = 1 - s;
        linear = needGray = true;
        break;
      }
      case HUE:
        hueImages.push(i);
        hueShifts.push((plan.hue as ArrayLike<number>)[i] as number);
        break;
      default:
        break;
    }
  }
  let out = stacked;
  if (linear) {
    const gray = needGray || (needMean && mean === 'luma') ? luma(stacked) : null;
    // Per image at most one of the mean and gray terms is non-zero, so the order of the additions
    // does not change a bit; with three channels both terms are the same for every channel and are
    // summed as one plane before the full-size addition.
    let offset: tf.Tensor2D | null = null;
    if (needMean) {
      let m: tf.Tensor2D;
      if (mean === 'luma') {
        m = tf.div(pairwiseRowSum(gray as tf.Tensor2D), size);
      } else {
        // Per image: pairwise sums over each channel's pixels, then over the channels.
        const perChannel = tf.reshape(pairwiseRowSum(tf.reshape(stacked, [channels * n, size])), [channels, n]);
        m = tf.div(pairwiseRowSum(tf.transpose(perChannel) as tf.Tensor2D), size * channels);
      }
      offset = tf.mul(m, column(meanWeight)) as tf.Tensor2D;
    }
    const scaled: tf.Tensor3D = tf.mul(stacked, tf.tensor3d(scale, [channels, n, 1]));
    if (needGray && channels === 3) {
      const grayTerm: tf.Tensor2D = tf.mul(gray as tf.Tensor2D, column(grayWeight.subarray(0, n)));
      out = tf.add(scaled, tf.reshape(offset === null ? grayTerm : tf.add(grayTerm, offset), [1, n, size]));
    } else {
      out = offset === null ? scaled : tf.add(scaled, offset);
      if (needGray) out = tf.add(out, tf.mul(tf.reshape(gray as tf.Tensor2D, [1, n, size]), tf.tensor3d(grayWeight, [channels, n, 1])));
    }
  }
  return hueImages.length > 0 ? hueShiftSubset(out, hueImages, hueShifts) : out;
}

function channelError(fn: string, channels: number, what: string): ContrastiveError {
  return new ContrastiveError(
    'SHAPE_MISMATCH',
    `Argument 'images' passed to '${fn}' must have 1, 3 or 4 channels ([n, h, w, c] grey, RGB or RGBA) ${what}, got c = ${channels}`,
  );
}

function runPlan(images: tf.Tensor4D, plan: Plan, mean: ContrastMean, clamp: JitterClamp, fn: string): tf.Tensor4D {
  const channels = images.shape[3];
  const colour = channels === 3 || channels === 4;
  if ((plan.saturation !== null || plan.hue !== null) && !colour && channels !== 1) {
    throw channelError(fn, channels, 'when saturation or hue is given');
  }
  if (mean === 'luma' && !colour && channels !== 1) throw channelError(fn, channels, "with contrastMean 'luma'");
  // One channel: saturation and hue are no-ops (torchvision returns grey images unchanged), and
  // the luma mean is the mean.
  const saturation = colour ? plan.saturation : null;
  const hue = colour ? plan.hue : null;
  const effectiveMean: ContrastMean = colour ? mean : 'all';
  if (saturation === null && hue === null && plan.order === null && clamp === 'end' && effectiveMean === 'all') {
    return jitterImages(images, plan.flags, plan.brightness, plan.contrast);
  }
  if (!plan.flags.includes(1)) return tf.clone(images);
  const active = [true, true, saturation !== null, hue !== null];
  const stages: Uint8Array[] = [];
  if (plan.order === null) {
    // Fixed order; with one clamp at the end brightness and contrast fuse as in RECIPE.md.
    const steps = clamp === 'end' ? [BRIGHTNESS_CONTRAST, SATURATION, HUE] : [BRIGHTNESS, CONTRAST, SATURATION, HUE];
    for (const step of steps) {
      if (step !== BRIGHTNESS_CONTRAST && !active[step]) continue;
      stages.push(Uint8Array.from(plan.flags, (flag) => (flag === 1 ? step : IDENTITY)));
    }
  } else {
    const order = plan.order;
    for (let position = 0; position < 4; position++) {
      stages.push(
        Uint8Array.from(plan.flags, (flag, i) => {
          const step = order[i * 4 + position] as number;
          return flag === 1 && active[step] === true ? step : IDENTITY;
        }),
      );
    }
  }
  const resolved: Plan = { ...plan, saturation, hue };
  // One scope per stage, so that a stage's intermediates are freed before the next (peak memory).
  let stacked = tf.tidy(() => toStacked(images));
  try {
    stages.forEach((codes, index) => {
      const next = tf.tidy(() => {
        const staged = applyStage(stacked, codes, resolved, effectiveMean);
        return clamp === 'each' || index === stages.length - 1 ? tf.clipByValue(staged, 0, 1) : staged;
      });
      if (next !== stacked) {
        // A stage where no image has an active step returns its input.
        stacked.dispose();
        stacked = next;
      }
    });
    return tf.tidy(() => fromStacked(stacked, images.shape));
  } finally {
    stacked.dispose();
  }
}

/** Copies one permutation of [0, 1, 2, 3] per image into `n * 4` codes, checking each. */
function perImageOrders(values: unknown, count: number, argument: string, fn: string): Uint8Array {
  const length = (values as { length?: unknown } | null | undefined)?.length;
  if (values === null || typeof values !== 'object' || typeof length !== 'number') {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument '${argument}' passed to '${fn}' must be an array of ${count} permutations of [0, 1, 2, 3], got ${describeValue(values)}`,
    );
  }
  if (length !== count) {
    throw new ContrastiveError(
      'SHAPE_MISMATCH',
      `Argument '${argument}' passed to '${fn}' must have ${count} entries (one per image), got ${length}`,
    );
  }
  const list = values as ArrayLike<unknown>;
  const out = new Uint8Array(count * 4);
  for (let i = 0; i < count; i++) {
    const entry = list[i] as ArrayLike<unknown> | null | undefined;
    const seen = new Set<unknown>();
    const valid =
      entry !== null &&
      typeof entry === 'object' &&
      entry.length === 4 &&
      Array.from(entry).every((step) => {
        const fresh = typeof step === 'number' && Number.isInteger(step) && step >= 0 && step <= 3 && !seen.has(step);
        seen.add(step);
        return fresh;
      });
    if (!valid) {
      const received = entry !== null && typeof entry === 'object' ? `[${Array.from(entry as ArrayLike<unknown>, describeValue).join(', ')}]` : describeValue(entry);
      throw new ContrastiveError(
        'INVALID_ARGUMENT',
        `Argument '${argument}[${i}]' passed to '${fn}' must be a permutation of [0, 1, 2, 3] (0 brightness, 1 contrast, 2 saturation, 3 hue), got ${received}`,
      );
    }
    for (let k = 0; k < 4; k++) out[i * 4 + k] = (entry as ArrayLike<number>)[k] as number;
  }
  return out;
}

function resolveApplyOptions(options: unknown, fn: string): { mean: ContrastMean; clamp: JitterClamp } {
  assertObject(options, 'options', fn);
  const { contrastMean = 'all', clamp = 'end' } = options as JitterApplyOptions;
  assertOneOf(contrastMean, ['all', 'luma'] as const, 'contrastMean', fn);
  assertOneOf(clamp, ['end', 'each'] as const, 'clamp', fn);
  return { mean: contrastMean, clamp };
}

/**
 * Colour jitter with explicit per-image factors: the deterministic form of {@link colorJitter}
 * (SimCLR's colour distortion, Chen et al. 2020; torchvision's `ColorJitter` with given factors and
 * `fn_idx`). Where `jitter[i]`, the steps run in the order `order[i]` (default brightness, contrast,
 * saturation, hue); a step whose factors are absent is skipped:
 *
 * - brightness `v = v b`; contrast `v = v c + (1 - c) m` with `m` the image mean
 *   ({@link ContrastMean}, computed after the previous steps);
 * - saturation `v = v s + (1 - s) gray`, `gray = 0.2989 r + 0.587 g + 0.114 b` (torchvision's
 *   `adjust_saturation`);
 * - hue: torchvision's `adjust_hue` — RGB -> HSV (torchvision's `_rgb2hsv`), `h = (h + shift) mod 1`,
 *   HSV -> RGB (`_hsv2rgb`, in an equivalent closed form; within float32 rounding, ~1e-6), on the
 *   step's input clamped to [0, 1].
 *
 * With the default options (`contrastMean: 'all'`, `clamp: 'end'`), no `order` and no saturation
 * or hue, this is exactly RECIPE.md step 2 (`v = v b; m = mean(v)` over all pixels and channels;
 * `v = clamp((v - m) c + m, 0, 1)`), unchanged from earlier releases bit for bit. With
 * `{ contrastMean: 'luma', clamp: 'each' }` every step is torchvision's (`_blend` clamps each).
 * With `clamp: 'end'` nothing is clamped between steps (only the hue step clamps its own input), and
 * in the fixed order brightness and contrast run fused as in RECIPE.md.
 *
 * Channels: brightness and contrast act on every channel (any `c`). Saturation and hue need
 * `c = 1` (no-ops, as torchvision's on a grey image), `c = 3` (RGB) or `c = 4` (RGBA: the first
 * three channels; alpha is left to brightness and contrast only). `'luma'` needs `c` in {1, 3, 4}.
 * Images where `jitter[i]` is false are scaled by 1 and offset by 0 (exact) and share the batch's
 * clamp, so images in [0, 1] come back unchanged.
 *
 * Backends: every path uses only correctly rounded elementwise ops and a pairwise-tree mean, so the
 * output is bit-identical on cpu and wasm.
 *
 * @param images - `[n, h, w, c]` float32 (borrowed).
 *   Not checked for NaN or ±Infinity (see {@link Augmentation}).
 * @param params - `jitter`, `brightness`, `contrast`, and optionally `saturation`, `hue`, `order`,
 *   one entry per image.
 * @param options - `contrastMean` (default `'all'`) and `clamp` (default `'end'`).
 * @returns a new `[n, h, w, c]` float32 tensor in [0, 1] owned by the caller.
 * @throws `ContrastiveError` for bad images, arrays without `n` entries, a factor outside [0, 1e6],
 *   a hue shift outside [-0.5, 0.5], an `order` entry that is not a permutation of [0, 1, 2, 3],
 *   unknown options, or saturation / hue / `'luma'` on images with 2 or more than 4
 *   channels (`SHAPE_MISMATCH` naming `images`).
 * @example
 * ```ts
 * const x = tf.tensor4d([0.2, 0.4], [1, 1, 2, 1]);
 * applyColorJitter(x, { jitter: [true], brightness: [2], contrast: [0.5] }).print();
 * // [[[[0.5], [0.7]]]]  (v = [0.4, 0.8], m = 0.6)
 * const red = tf.tensor4d([1, 0, 0], [1, 1, 1, 3]);
 * applyColorJitter(red, { jitter: [true], brightness: [1], contrast: [1], hue: [1 / 3] }).print();
 * // [[[[0, 1, 0]]]]  (pure red shifted by a third of the hue circle is pure green)
 * ```
 * @category Augmentation
 */
export function applyColorJitter(images: tf.Tensor4D, params: JitterParams, options: JitterApplyOptions = {}): tf.Tensor4D {
  const fn = 'applyColorJitter';
  assertImages(images, fn);
  assertObject(params, 'params', fn, '{ jitter, brightness, contrast, saturation?, hue?, order? }');
  const { mean, clamp } = resolveApplyOptions(options, fn);
  const n = images.shape[0];
  const flags = perImageFlags(params.jitter, n, 'params.jitter', fn);
  const brightness = perImageNumbers(params.brightness, n, 'params.brightness', fn, { min: 0 });
  const contrast = perImageNumbers(params.contrast, n, 'params.contrast', fn, { min: 0 });
  const saturation = params.saturation === undefined ? null : perImageNumbers(params.saturation, n, 'params.saturation', fn, { min: 0 });
  for (const [argument, factors] of [
    ['params.brightness', brightness],
    ['params.contrast', contrast],
    ['params.saturation', saturation],
  ] as const) {
    factors?.forEach((factor, i) => assertNumber(factor, `${argument}[${i}]`, fn, { max: MAX_FACTOR }));
  }
  const hue = params.hue === undefined ? null : perImageNumbers(params.hue, n, 'params.hue', fn, { min: -0.5, max: 0.5 });
  const order = params.order === undefined ? null : perImageOrders(params.order, n, 'params.order', fn);
  return runPlan(images, { flags, brightness, contrast, saturation, hue, order }, mean, clamp, fn);
}

/**
 * Random colour jitter, as in SimCLR's colour distortion (Chen et al. 2020) and torchvision's
 * `ColorJitter` (applied with probability `probability`, i.e. `RandomApply([ColorJitter], p)`):
 * per image, with probability `probability`, `b ~ U(brightness)`, `c ~ U(contrast)`, and when
 * configured `s ~ U(saturation)`, `h ~ U(hue)` and a random step order; then
 * {@link applyColorJitter}.
 *
 * The defaults are RECIPE.md step 2 (brightness then contrast, fixed order, one clamp, the mean
 * over all pixels and channels), bit-identical to earlier releases. torchvision's
 * `ColorJitter(0.4, 0.4, 0.4, 0.1)` is `colorJitter({ probability: 1, brightness: [0.6, 1.4],
 * contrast: [0.6, 1.4], saturation: [0.6, 1.4], hue: [-0.1, 0.1], order: 'random',
 * contrastMean: 'luma', clamp: 'each' })`; remaining differences: the draws come from `rng` in the
 * order below (torchvision draws the permutation first, from torch's generator), and the hue
 * round trip is torchvision's in closed form (equal within float32 rounding).
 *
 * Draw order: for image `i = 0 .. n-1`: `rng.uniform` for the coin (`jitter = u < probability`),
 * `b`, `c`; then `s` (only when `saturation` is given), `h` (only when `hue` is given); then
 * `rng.permutation(4)` (only when `order` is `'random'`). Everything is drawn even where the coin
 * is false, so the stream advances by the same amount for every image; without the new options
 * the draws are exactly the three uniforms of earlier releases.
 *
 * @param options - probability, factor ranges, order, contrast mean and clamp; defaults are the
 *   reference recipe's.
 * @returns a {@link ColorJitter}; its `apply` returns a new `[n, h, w, c]` float32 tensor in
 *   [0, 1] owned by the caller (throws `SHAPE_MISMATCH` naming `images` when saturation, hue or
 *   `'luma'` meet 2 or more than 4 channels).
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `probability` leaves [0, 1], a factor range
 *   leaves [0, 1e6] (hue: [-0.5, 0.5]) or has low > high, or `order`, `contrastMean` or `clamp` is
 *   not one of its values.
 * @example
 * ```ts
 * const jitter = colorJitter({ probability: 0.8, brightness: [0.6, 1.4], contrast: [0.6, 1.4] });
 * const out = jitter.apply(tf.fill([2, 28, 28, 1], 0.5) as tf.Tensor4D, new Rng(0));
 * console.log(out.shape); // [2, 28, 28, 1]
 * const simclr = colorJitter({ saturation: [0.2, 1.8], hue: [-0.2, 0.2], order: 'random', contrastMean: 'luma', clamp: 'each' });
 * console.log(simclr.sample(1, new Rng(0)).order?.[0]?.length); // 4
 * ```
 * @category Augmentation
 */
export function colorJitter(options: ColorJitterOptions = {}): ColorJitter {
  const fn = 'colorJitter';
  assertObject(options, 'options', fn);
  const probability = options.probability ?? 0.8;
  const brightnessRange = options.brightness ?? [0.6, 1.4];
  const contrastRange = options.contrast ?? [0.6, 1.4];
  const saturationRange = options.saturation ?? null;
  const hueRange = options.hue ?? null;
  const orderMode = options.order ?? 'fixed';
  assertProbability(probability, 'probability', fn);
  assertInterval(brightnessRange, 'brightness', fn, { min: 0 });
  assertInterval(contrastRange, 'contrast', fn, { min: 0 });
  if (saturationRange !== null) assertInterval(saturationRange, 'saturation', fn, { min: 0 });
  assertInterval(brightnessRange, 'brightness', fn, { max: MAX_FACTOR });
  assertInterval(contrastRange, 'contrast', fn, { max: MAX_FACTOR });
  if (saturationRange !== null) assertInterval(saturationRange, 'saturation', fn, { max: MAX_FACTOR });
  if (hueRange !== null) assertInterval(hueRange, 'hue', fn, { min: -0.5, max: 0.5 });
  assertOneOf(orderMode, ['fixed', 'random'] as const, 'order', fn);
  const { mean, clamp } = resolveApplyOptions(options, fn);
  const [brightnessLow, brightnessHigh] = brightnessRange;
  const [contrastLow, contrastHigh] = contrastRange;

  const draw = (n: number, rng: Rng): Plan => {
    const flags = new Uint8Array(n);
    const brightness = new Float64Array(n);
    const contrast = new Float64Array(n);
    const saturation = saturationRange === null ? null : new Float64Array(n);
    const hue = hueRange === null ? null : new Float64Array(n);
    const order = orderMode === 'random' ? new Uint8Array(n * 4) : null;
    for (let i = 0; i < n; i++) {
      flags[i] = rng.uniform() < probability ? 1 : 0;
      brightness[i] = rng.uniform(brightnessLow, brightnessHigh);
      contrast[i] = rng.uniform(contrastLow, contrastHigh);
      if (saturation !== null && saturationRange !== null) saturation[i] = rng.uniform(saturationRange[0], saturationRange[1]);
      if (hue !== null && hueRange !== null) hue[i] = rng.uniform(hueRange[0], hueRange[1]);
      if (order !== null) order.set(rng.permutation(4), i * 4);
    }
    return { flags, brightness, contrast, saturation, hue, order };
  };

  return {
    name: fn,
    sample(n: number, rng: Rng): JitterParams {
      assertNumber(n, 'n', `${fn}.sample`, { integer: true, min: 1 });
      assertRng(rng, `${fn}.sample`);
      const plan = draw(n, rng);
      const order = plan.order;
      return {
        jitter: Array.from(plan.flags, (flag) => flag === 1),
        brightness: Array.from(plan.brightness),
        contrast: Array.from(plan.contrast),
        ...(plan.saturation === null ? {} : { saturation: Array.from(plan.saturation) }),
        ...(plan.hue === null ? {} : { hue: Array.from(plan.hue) }),
        ...(order === null ? {} : { order: Array.from({ length: n }, (_, i) => Array.from(order.subarray(i * 4, i * 4 + 4))) }),
      };
    },
    apply(images: tf.Tensor4D, rng: Rng): tf.Tensor4D {
      assertImages(images, `${fn}.apply`);
      assertRng(rng, `${fn}.apply`);
      const channels = images.shape[3];
      const supported = channels === 1 || channels === 3 || channels === 4;
      // Shape errors before any draw, so a failed call leaves `rng` untouched.
      if ((saturationRange !== null || hueRange !== null) && !supported) throw channelError(`${fn}.apply`, channels, 'when saturation or hue is given');
      if (mean === 'luma' && !supported) throw channelError(`${fn}.apply`, channels, "with contrastMean 'luma'");
      return runPlan(images, draw(images.shape[0], rng), mean, clamp, `${fn}.apply`);
    },
  };
}
