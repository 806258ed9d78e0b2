import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { ContrastiveError, assertNumber, isContrastiveError } from '@contrastive/core';
import type { ImageDataset, ImageSplit } from '../dataset.js';
import { FASHION_MNIST_CLASS_NAMES } from '../fashion-mnist.js';
import { idxSplit, readIdx } from '../idx.js';
import type { IdxArray } from '../idx.js';
import { roundRobinLimit } from '../round-robin.js';

const gunzipAsync = promisify(gunzip);

/**
 * The default Fashion-MNIST directory: where Debian's `dataset-fashion-mnist` package installs the
 * files (`apt-get install dataset-fashion-mnist`).
 * @category Fashion-MNIST
 */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * File names of the four IDX files of a dataset, relative to its directory. A name is tried as
 * given, then with `.gz` appended; gzip content is recognised by its magic bytes and decompressed.
 * @category IDX
 */
export interface IdxFileNames {
  /** @defaultValue `'train-images-idx3-ubyte'` */
  readonly trainImages?: string;
  /** @defaultValue `'train-labels-idx1-ubyte'` */
  readonly trainLabels?: string;
  /** @defaultValue `'t10k-images-idx3-ubyte'` */
  readonly testImages?: string;
  /** @defaultValue `'t10k-labels-idx1-ubyte'` */
  readonly testLabels?: string;
}

/** Options of {@link loadIdxDataset}. @category IDX */
export interface LoadIdxDatasetOptions {
  /**
   * File names of the four IDX files; unset fields keep the MNIST names.
   * @defaultValue `{ trainImages: 'train-images-idx3-ubyte', trainLabels: 'train-labels-idx1-ubyte', testImages: 't10k-images-idx3-ubyte', testLabels: 't10k-labels-idx1-ubyte' }`
   */
  readonly files?: IdxFileNames;
  /**
   * Class names; label `k` is `classNames[k]`, and a label `>= classNames.length` is an error.
   * @defaultValue `'0'`, `'1'`, ... up to the largest label found
   */
  readonly classNames?: readonly string[];
  /**
   * Keep only the first `trainLimit` train images in class round-robin order (RNG-free, see
   * {@link roundRobinLimit}); the test split is never limited.
   * @defaultValue undefined (no limit)
   */
  readonly trainLimit?: number;
}

/** Options of {@link loadFashionMnist}. @category Fashion-MNIST */
export interface LoadFashionMnistOptions {
  /**
   * Directory holding the four Fashion-MNIST IDX files (plain or `.gz`).
   * @defaultValue {@link FASHION_MNIST_DEFAULT_DIR} (`'/usr/share/datasets/fashion-mnist'`)
   */
  readonly dir?: string;
  /**
   * Keep only the first `trainLimit` train images in class round-robin order (RNG-free); the test
   * split is never limited.
   * @defaultValue undefined (no limit)
   */
  readonly trainLimit?: number;
}

function assertOptions(options: unknown, argument: string, fn: string): void {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument '${argument}' passed to '${fn}' must be an object, got ${options === null ? 'null' : typeof options}`);
  }
}

function isMissing(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}

/**
 * Read and parse one IDX file (MNIST, LeCun et al. 1998; Fashion-MNIST, Xiao et al. 2017). When
 * `path` does not exist, `path + '.gz'` is tried; content that starts with the gzip magic bytes is
 * decompressed (`node:zlib`), whatever the file is called.
 *
 * @param path - path of the file, with or without its `.gz` suffix.
 * @returns the parsed {@link IdxArray}, e.g. uint8 `[60000, 28, 28]`.
 * @throws `ContrastiveError` `DATA` when neither `path` nor `path.gz` exists, the gzip data is
 * truncated or corrupt, or the IDX content is malformed (wrong magic, truncated, trailing bytes),
 * naming the file and the byte offset (of the decompressed content for an IDX error inside gzip);
 * `INVALID_ARGUMENT` when `path` is not a non-empty string.
 * @example
 * ```ts
 * const labels = await readIdxFile('/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte');
 * console.log(labels.dtype, labels.shape); // 'uint8' [10000]
 * ```
 * @category IDX
 */
export async function readIdxFile(path: string): Promise<IdxArray> {
  if (typeof path !== 'string' || path === '') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'path' passed to 'readIdxFile' must be a non-empty string, got ${JSON.stringify(path)}`);
  }
  const candidates = path.endsWith('.gz') ? [path] : [path, `${path}.gz`];
  let raw: Uint8Array | undefined;
  let found = '';
  for (const candidate of candidates) {
    try {
      raw = await readFile(candidate);
      found = candidate;
      break;
    } catch (error) {
      if (!isMissing(error)) {
        throw new ContrastiveError('DATA', `IDX file '${candidate}' could not be read: ${String(error)}`, { cause: error });
      }
    }
  }
  if (raw === undefined) {
    throw new ContrastiveError('DATA', `IDX file '${path}' was not found (tried ${candidates.map((name) => `'${name}'`).join(' and ')})`);
  }
  let bytes: Uint8Array = raw;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = await gunzipAsync(raw);
    } catch (error) {
      // zlib reports a stream that stops early (an interrupted download) as Z_BUF_ERROR: it ends at
      // the file's last byte. Other damage is found while decoding, at an offset zlib does not give.
      const where =
        (error as { code?: unknown }).code === 'Z_BUF_ERROR'
          ? `it is truncated at byte offset ${raw.length} (the compressed stream ends early)`
          : `it is corrupt between byte offset 0 and ${raw.length}`;
      throw new ContrastiveError('DATA', `IDX file '${found}' is not valid gzip data: ${where}: ${(error as Error).message}`, { cause: error });
    }
  }
  if (bytes === raw) return readIdx(bytes, { name: found });
  try {
    return readIdx(bytes, { name: found });
  } catch (error) {
    if (!isContrastiveError(error)) throw error;
    throw new ContrastiveError(error.code, `${error.message} (byte offsets of the decompressed data)`, { cause: error });
  }
}

/**
 * Load an image dataset stored as four IDX files in one directory, the layout of MNIST (LeCun et
 * al. 1998) and Fashion-MNIST (Xiao et al. 2017): `train-images-idx3-ubyte`,
 * `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each plain or
 * `.gz`. `uint8` pixels become `p / 255` in `[0, 1]`; both splits keep the files' order.
 *
 * @param dir - the directory.
 * @param options - `files`, `classNames`, `trainLimit`.
 * @returns a promise of an {@link ImageDataset}: `train` `[n_train, h, w, c]` and `test`
 * `[n_test, h, w, c]` float32 pixel arrays with int32 labels, owned by the caller.
 * @throws `ContrastiveError` `DATA` naming the file and the byte offset when a file is
 * missing or malformed (wrong magic, truncated, trailing bytes), when the image and label counts
 * differ, when a label is out of range, or when the train and test images differ in shape;
 * `INVALID_ARGUMENT` for a bad option (an empty `dir`, a `trainLimit` that is not a positive
 * integer, `classNames` that are not a non-empty array of strings, an empty file name).
 * @example
 * ```ts
 * const mnist = await loadIdxDataset('/data/mnist');          // the original 60,000/10,000 MNIST
 * console.log(mnist.train.count, mnist.train.shape);          // 60000 [28, 28, 1]
 * ```
 * @category IDX
 */
export async function loadIdxDataset(dir: string, options: LoadIdxDatasetOptions = {}): Promise<ImageDataset> {
  const fn = 'loadIdxDataset';
  if (typeof dir !== 'string' || dir === '') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'dir' passed to '${fn}' must be a non-empty string, got ${JSON.stringify(dir)}`);
  }
  assertOptions(options, 'options', fn);
  const { trainLimit, classNames } = options;
  if (trainLimit !== undefined) assertNumber(trainLimit, 'trainLimit', fn, { integer: true, min: 1 });
  if (classNames !== undefined && (!Array.isArray(classNames) || classNames.length === 0 || classNames.some((name) => typeof name !== 'string'))) {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'classNames' passed to '${fn}' must be a non-empty array of strings`);
  }
  if (options.files !== undefined) assertOptions(options.files, 'files', fn);
  const files = {
    trainImages: options.files?.trainImages ?? 'train-images-idx3-ubyte',
    trainLabels: options.files?.trainLabels ?? 'train-labels-idx1-ubyte',
    testImages: options.files?.testImages ?? 't10k-images-idx3-ubyte',
    testLabels: options.files?.testLabels ?? 't10k-labels-idx1-ubyte',
  };
  for (const [field, name] of Object.entries(files)) {
    if (typeof name !== 'string' || name === '') {
      throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'files.${field}' passed to '${fn}' must be a non-empty file name, got ${JSON.stringify(name)}`);
    }
  }
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    [files.trainImages, files.trainLabels, files.testImages, files.testLabels].map((name) => readIdxFile(join(dir, name))),
  );
  const numClasses = classNames?.length;
  const splitOf = (images: IdxArray, labels: IdxArray, imagesName: string, labelsName: string): ImageSplit =>
    idxSplit(images, labels, {
      imagesName: join(dir, imagesName),
      labelsName: join(dir, labelsName),
      ...(numClasses === undefined ? {} : { numClasses }),
    });
  const train = splitOf(trainImages as IdxArray, trainLabels as IdxArray, files.trainImages, files.trainLabels);
  const test = splitOf(testImages as IdxArray, testLabels as IdxArray, files.testImages, files.testLabels);
  if (train.shape.join(',') !== test.shape.join(',')) {
    throw new ContrastiveError(
      'DATA',
      `IDX files '${join(dir, files.trainImages)}' and '${join(dir, files.testImages)}' must hold images of one shape, got [${train.shape.join(', ')}] and [${test.shape.join(', ')}] (dimensions at byte offset 8)`,
    );
  }
  let names = classNames;
  if (names === undefined) {
    let largest = -1;
    for (const labels of [train.labels, test.labels]) for (const label of labels) if (label > largest) largest = label;
    names = Array.from({ length: largest + 1 }, (_, k) => String(k));
  }
  return {
    train: trainLimit === undefined ? train : roundRobinLimit(train, trainLimit),
    test,
    classNames: names,
  };
}

/**
 * Load Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, "Fashion-MNIST: a Novel Image Dataset for
 * Benchmarking Machine Learning Algorithms"): 60,000 train images (6,000 per class) and 10,000 test
 * images of Zalando articles, 28x28 grey levels, 10 classes ({@link FASHION_MNIST_CLASS_NAMES}).
 * Reads the four IDX files (plain or `.gz`) from `dir`, by default where Debian's
 * `dataset-fashion-mnist` package puts them. Pixels are `p / 255` in `[0, 1]`; both splits keep
 * the files' order.
 *
 * @param options - `dir`, `trainLimit`.
 * @returns a promise of an {@link ImageDataset}: `train` `[60000 (or trainLimit), 28, 28, 1]` and
 * `test` `[10000, 28, 28, 1]` float32 pixel arrays with int32 labels in `[0, 10)`, owned by the
 * caller.
 * @throws `ContrastiveError` `DATA` when a file is missing or malformed (naming the file and
 * the byte offset), a label is outside `[0, 10)`, or the images are not 28x28x1;
 * `INVALID_ARGUMENT` for `options` that is not an object, a bad `trainLimit` or an empty `dir`.
 * @example
 * ```ts
 * const fashion = await loadFashionMnist();
 * console.log(fashion.train.count, fashion.test.count); // 60000 10000
 * console.log(fashion.classNames[fashion.test.labels[0]!]); // 'Ankle boot'
 * ```
 * @category Fashion-MNIST
 */
export async function loadFashionMnist(options: LoadFashionMnistOptions = {}): Promise<ImageDataset> {
  assertOptions(options, 'options', 'loadFashionMnist');
  const dir = options.dir ?? FASHION_MNIST_DEFAULT_DIR;
  if (options.trainLimit !== undefined) assertNumber(options.trainLimit, 'trainLimit', 'loadFashionMnist', { integer: true, min: 1 });
  const dataset = await loadIdxDataset(dir, {
    classNames: FASHION_MNIST_CLASS_NAMES,
    ...(options.trainLimit === undefined ? {} : { trainLimit: options.trainLimit }),
  });
  if (dataset.train.shape.join(',') !== '28,28,1') {
    throw new ContrastiveError(
      'DATA',
      `Fashion-MNIST files in '${dir}' must hold 28x28 images, got [${dataset.train.shape.join(', ')}] (dimensions at byte offset 8)`,
    );
  }
  return dataset;
}
