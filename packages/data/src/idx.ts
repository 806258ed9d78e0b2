import { ContrastiveError, assertNumber } from '@contrastive/core';
import type { ImageSplit } from './dataset.js';

/**
 * The element types of the IDX format, by their type byte: `0x08` uint8, `0x09` int8, `0x0B`
 * int16, `0x0C` int32, `0x0D` float32, `0x0E` float64.
 * @category IDX
 */
export type IdxDataType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/**
 * One member of {@link IdxArray}: an element type `D` with its typed array `A`.
 * @category IDX
 */
export interface IdxArrayOf<D extends IdxDataType, A> {
  /** Element type, from the file's type byte. */
  readonly dtype: D;
  /** Dimensions, from the header (outermost first), e.g. `[60000, 28, 28]`. */
  readonly shape: readonly number[];
  /** The `shape.reduce(*)` elements in row-major order, in native byte order (a copy). */
  readonly data: A;
}

/**
 * A parsed IDX file: its element type, dimensions and data. A union discriminated by `dtype`, so
 * `data` has the matching typed-array type after a `switch (array.dtype)`.
 * @category IDX
 */
export type IdxArray =
  | IdxArrayOf<'uint8', Uint8Array>
  | IdxArrayOf<'int8', Int8Array>
  | IdxArrayOf<'int16', Int16Array>
  | IdxArrayOf<'int32', Int32Array>
  | IdxArrayOf<'float32', Float32Array>
  | IdxArrayOf<'float64', Float64Array>;

/** Options of {@link readIdx}. @category IDX */
export interface ReadIdxOptions {
  /**
   * Name of the file, used in error messages.
   * @defaultValue `'IDX buffer'`
   */
  readonly name?: string;
}

const TYPES: ReadonlyMap<number, { dtype: IdxDataType; bytes: number }> = new Map([
  [0x08, { dtype: 'uint8', bytes: 1 }],
  [0x09, { dtype: 'int8', bytes: 1 }],
  [0x0b, { dtype: 'int16', bytes: 2 }],
  [0x0c, { dtype: 'int32', bytes: 4 }],
  [0x0d, { dtype: 'float32', bytes: 4 }],
  [0x0e, { dtype: 'float64', bytes: 8 }],
]);

function hex(bytes: Uint8Array, from: number, to: number): string {
  return Array.from(bytes.subarray(from, to), (byte) => `0x${byte.toString(16).padStart(2, '0')}`).join(' ');
}

/**
 * Parse an IDX file (the format of MNIST, LeCun et al. 1998, and Fashion-MNIST, Xiao et al. 2017):
 * a 4-byte magic number `0x00 0x00 <type> <ndims>`, `ndims` big-endian uint32 dimensions, then the
 * big-endian elements. Pure (no file access), so it also runs in a browser on fetched bytes.
 *
 * The whole buffer must be one IDX array: a short header or data, or bytes after the data, are
 * errors. Gzip-compressed input (`.gz`) is recognised and rejected with a hint; decompress it first
 * (the `@contrastive/data/node` loaders do).
 *
 * @param bytes - the uncompressed file contents (borrowed, not modified).
 * @param options - `name`, used in error messages.
 * @returns an {@link IdxArray} whose `data` is a new typed array in native byte order, e.g. `uint8`
 * `[60000, 28, 28]` for `train-images-idx3-ubyte`.
 * @throws `ContrastiveError` `DATA` naming the file and the byte offset, for a wrong magic
 * number (non-zero leading bytes, an unknown type byte, zero dimensions), a truncated header or
 * data, or trailing bytes; `INVALID_ARGUMENT` when `bytes` is not a `Uint8Array` or `options` /
 * `name` is malformed.
 * @example
 * ```ts
 * const bytes = new Uint8Array([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9]);
 * const array = readIdx(bytes);
 * console.log(array.dtype, array.shape, Array.from(array.data)); // 'uint8' [3] [7, 8, 9]
 * ```
 * @category IDX
 */
export function readIdx(bytes: Uint8Array, options: ReadIdxOptions = {}): IdxArray {
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to 'readIdx' must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const name = options.name ?? 'IDX buffer';
  if (typeof name !== 'string') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'name' passed to 'readIdx' must be a string, got ${typeof name}`);
  }
  if (!(bytes instanceof Uint8Array)) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `Argument 'bytes' passed to 'readIdx' must be a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`,
    );
  }
  if (bytes.length < 4) {
    throw new ContrastiveError(
      'DATA',
      `IDX file '${name}' is truncated at byte offset ${bytes.length}: the magic number needs 4 bytes, got ${bytes.length}`,
    );
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    throw new ContrastiveError(
      'DATA',
      `IDX file '${name}' has a wrong magic number at byte offset 0: got ${hex(bytes, 0, 4)}, which is a gzip header; decompress it first`,
    );
  }
  const type = TYPES.get(bytes[2] as number);
  const ndims = bytes[3] as number;
  if (bytes[0] !== 0 || bytes[1] !== 0 || type === undefined || ndims === 0) {
    throw new ContrastiveError(
      'DATA',
      `IDX file '${name}' has a wrong magic number at byte offset 0: expected 0x00 0x00 <type 0x08|0x09|0x0b|0x0c|0x0d|0x0e> <ndims >= 1>, got ${hex(bytes, 0, 4)}`,
    );
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new ContrastiveError(
      'DATA',
      `IDX file '${name}' is truncated at byte offset ${bytes.length}: the header of ${ndims} dimension(s) needs ${headerBytes} bytes, got ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < ndims; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const size = shape.reduce((product, dim) => product * dim, 1);
  const expected = headerBytes + size * type.bytes;
  const describe = `${headerBytes}-byte header + ${shape.join('x')} ${type.dtype}`;
  if (bytes.length < expected) {
    throw new ContrastiveError(
      'DATA',
      `IDX file '${name}' is truncated at byte offset ${bytes.length}: expected ${expected} bytes (${describe}), got ${bytes.length}`,
    );
  }
  if (bytes.length > expected) {
    throw new ContrastiveError(
      'DATA',
      `IDX file '${name}' has ${bytes.length - expected} unexpected trailing byte(s) from byte offset ${expected}: expected ${expected} bytes (${describe}), got ${bytes.length}`,
    );
  }
  const at = (index: number): number => headerBytes + index * type.bytes;
  switch (type.dtype) {
    case 'uint8':
      return { dtype: 'uint8', shape, data: bytes.slice(headerBytes, expected) };
    case 'int8':
      return { dtype: 'int8', shape, data: new Int8Array(bytes.slice(headerBytes, expected).buffer) };
    case 'int16': {
      const data = new Int16Array(size);
      for (let i = 0; i < size; i++) data[i] = view.getInt16(at(i), false);
      return { dtype: 'int16', shape, data };
    }
    case 'int32': {
      const data = new Int32Array(size);
      for (let i = 0; i < size; i++) data[i] = view.getInt32(at(i), false);
      return { dtype: 'int32', shape, data };
    }
    case 'float32': {
      const data = new Float32Array(size);
      for (let i = 0; i < size; i++) data[i] = view.getFloat32(at(i), false);
      return { dtype: 'float32', shape, data };
    }
    case 'float64': {
      const data = new Float64Array(size);
      for (let i = 0; i < size; i++) data[i] = view.getFloat64(at(i), false);
      return { dtype: 'float64', shape, data };
    }
    default: {
      const unreachable: never = type.dtype;
      throw new ContrastiveError('DATA', `IDX file '${name}' has an unsupported type ${String(unreachable)}`);
    }
  }
}

const ARRAY_TYPES: Readonly<Record<IdxDataType, new (length: number) => ArrayLike<number>>> = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** Throws unless `array` is an {@link IdxArray} whose data fill its shape (as {@link readIdx} returns). */
function assertIdxArray(array: unknown, argument: string, fn: string): asserts array is IdxArray {
  const prefix = `Argument '${argument}' passed to '${fn}'`;
  const candidate = array as Partial<IdxArray> | null;
  if (candidate === null || typeof candidate !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `${prefix} must be an IdxArray { dtype, shape, data } (from readIdx), got ${candidate === null ? 'null' : typeof candidate}`);
  }
  const { dtype, shape, data } = candidate;
  const Type = typeof dtype === 'string' ? ARRAY_TYPES[dtype as IdxDataType] : undefined;
  if (Type === undefined || !(data instanceof Type)) {
    throw new ContrastiveError(
      'INVALID_ARGUMENT',
      `${prefix} must be an IdxArray { dtype, shape, data } (from readIdx) whose data is the typed array of its dtype, got dtype ${String(dtype)}`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((dim: unknown) => typeof dim === 'number' && Number.isInteger(dim) && dim >= 0)) {
    throw new ContrastiveError('INVALID_ARGUMENT', `${prefix} must have a 'shape' of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const size = shape.reduce((product: number, dim: number) => product * dim, 1);
  if (data.length !== size) {
    throw new ContrastiveError('SHAPE_MISMATCH', `${prefix} must hold ${size} elements (shape [${shape.join(', ')}]), got ${data.length}`);
  }
}

/** Options of {@link idxSplit}. @category IDX */
export interface IdxSplitOptions {
  /**
   * Name of the images file, used in error messages.
   * @defaultValue `'images'`
   */
  readonly imagesName?: string;
  /**
   * Name of the labels file, used in error messages.
   * @defaultValue `'labels'`
   */
  readonly labelsName?: string;
  /**
   * Number of classes; a label outside `[0, numClasses)` is an error. Unset: any non-negative label.
   * @defaultValue undefined
   */
  readonly numClasses?: number;
}

/**
 * Pair a parsed IDX images array with its IDX labels array into an {@link ImageSplit}, as for the
 * `*-images-idx3-ubyte` / `*-labels-idx1-ubyte` files of MNIST (LeCun et al. 1998) and
 * Fashion-MNIST (Xiao et al. 2017). `uint8` pixels become `p / 255` in `[0, 1]`; `float32`/`float64`
 * pixels are kept as they are. Pure, so it also runs in a browser.
 *
 * @param images - `[n, h, w]` (one channel) or `[n, h, w, c]` IDX array of `uint8`, `float32` or
 * `float64` pixels.
 * @param labels - `[n]` IDX array of integer labels (`uint8`, `int8`, `int16` or `int32`).
 * @param options - file names for messages, `numClasses`.
 * @returns a new {@link ImageSplit}: `count = n`, `shape = [h, w, c]`, float32 pixels, int32 labels.
 * @throws `ContrastiveError` `DATA` naming the files and the byte offset of the header field
 * when the ranks or element types are wrong, an image dimension is 0, the image and label counts
 * differ, or a label is negative or `>= numClasses`; `INVALID_ARGUMENT` when `images` or `labels`
 * is not an {@link IdxArray}, or for a bad option (`numClasses` not a positive integer);
 * `SHAPE_MISMATCH` when an array's data do not fill its shape.
 * @example
 * ```ts
 * const images = readIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255]));
 * const labels = readIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 1, 4]));
 * const split = idxSplit(images, labels);
 * console.log(split.count, split.shape, Array.from(split.images), Array.from(split.labels));
 * // 1 [1, 2, 1] [0, 1] [4]
 * ```
 * @category IDX
 */
export function idxSplit(images: IdxArray, labels: IdxArray, options: IdxSplitOptions = {}): ImageSplit {
  const fn = 'idxSplit';
  assertIdxArray(images, 'images', fn);
  assertIdxArray(labels, 'labels', fn);
  if (options === null || typeof options !== 'object') {
    throw new ContrastiveError('INVALID_ARGUMENT', `Argument 'options' passed to '${fn}' must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const imagesName = options.imagesName ?? 'images';
  const labelsName = options.labelsName ?? 'labels';
  const { numClasses } = options;
  if (numClasses !== undefined) assertNumber(numClasses, 'numClasses', fn, { integer: true, min: 1 });
  if (images.shape.length !== 3 && images.shape.length !== 4) {
    throw new ContrastiveError(
      'DATA',
      `IDX file '${imagesName}' must hold images of shape [n, h, w] or [n, h, w, c], got [${images.shape.join(', ')}] (${images.shape.length} dimension(s) at byte offset 3)`,
    );
  }
  if (images.shape.slice(1).some((dim) => dim === 0)) {
    throw new ContrastiveError(
      'DATA',
      `IDX file '${imagesName}' must hold images of positive height, width and channels, got [${images.shape.join(', ')}] (dimensions from byte offset 8)`,
    );
  }
  if (labels.shape.length !== 1) {
    throw new ContrastiveError(
      'DATA',
      `IDX file '${labelsName}' must hold labels of shape [n], got [${labels.shape.join(', ')}] (${labels.shape.length} dimension(s) at byte offset 3)`,
    );
  }
  const [count, height, width, channels = 1] = images.shape as [number, number, number, number?];
  const labelCount = labels.shape[0] as number;
  if (labelCount !== count) {
    throw new ContrastiveError(
      'DATA',
      `IDX files '${imagesName}' and '${labelsName}' must hold as many labels as images: ${count} images, ${labelCount} labels (the counts at byte offset 4 of each file differ)`,
    );
  }

  let pixels: Float32Array;
  switch (images.dtype) {
    case 'uint8': {
      pixels = new Float32Array(images.data.length);
      for (let i = 0; i < pixels.length; i++) pixels[i] = (images.data[i] as number) / 255;
      break;
    }
    case 'float32':
    case 'float64':
      pixels = Float32Array.from(images.data);
      break;
    case 'int8':
    case 'int16':
    case 'int32':
      throw new ContrastiveError(
        'DATA',
        `IDX file '${imagesName}' must hold uint8, float32 or float64 pixels, got ${images.dtype} (type byte at byte offset 2)`,
      );
    default: {
      const unreachable: never = images;
      throw new ContrastiveError('DATA', `IDX file '${imagesName}' has an unsupported type ${String(unreachable)}`);
    }
  }

  let classes: Int32Array;
  switch (labels.dtype) {
    case 'uint8':
    case 'int8':
    case 'int16':
    case 'int32':
      classes = Int32Array.from(labels.data);
      break;
    case 'float32':
    case 'float64':
      throw new ContrastiveError('DATA', `IDX file '${labelsName}' must hold integer labels, got ${labels.dtype} (type byte at byte offset 2)`);
    default: {
      const unreachable: never = labels;
      throw new ContrastiveError('DATA', `IDX file '${labelsName}' has an unsupported type ${String(unreachable)}`);
    }
  }
  const upper = numClasses ?? Number.POSITIVE_INFINITY;
  const labelBytes = classes.length === 0 ? 1 : labels.data.byteLength / classes.length;
  for (let i = 0; i < classes.length; i++) {
    const label = classes[i] as number;
    if (label < 0 || label >= upper) {
      throw new ContrastiveError(
        'DATA',
        `IDX file '${labelsName}' must hold labels in [0, ${numClasses ?? 'inf'}), got ${label} for item ${i} at byte offset ${8 + i * labelBytes}`,
      );
    }
  }
  return { images: pixels, labels: classes, count, shape: [height, width, channels] };
}
