import { isContrastiveError } from '@contrastive/core';
import { useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { idxSplit, readIdx } from './idx.js';
import type { IdxArray } from './idx.js';

beforeAll(async () => {
  await useTestBackend();
});

const TYPE_BYTES = { uint8: [0x08, 1], int8: [0x09, 1], int16: [0x0b, 2], int32: [0x0c, 4], float32: [0x0d, 4], float64: [0x0e, 8] } as const;

/** Build an IDX buffer the way the format specifies: magic, big-endian uint32 dims, big-endian data. */
function idx(dtype: keyof typeof TYPE_BYTES, shape: number[], values: number[]): Uint8Array {
  const [code, size] = TYPE_BYTES[dtype];
  const header = 4 + 4 * shape.length;
  const bytes = new Uint8Array(header + values.length * size);
  const view = new DataView(bytes.buffer);
  bytes.set([0, 0, code, shape.length]);
  shape.forEach((dim, d) => view.setUint32(4 + 4 * d, dim, false));
  values.forEach((value, i) => {
    const at = header + i * size;
    switch (dtype) {
      case 'uint8':
        view.setUint8(at, value);
        break;
      case 'int8':
        view.setInt8(at, value);
        break;
      case 'int16':
        view.setInt16(at, value, false);
        break;
      case 'int32':
        view.setInt32(at, value, false);
        break;
      case 'float32':
        view.setFloat32(at, value, false);
        break;
      case 'float64':
        view.setFloat64(at, value, false);
        break;
    }
  });
  return bytes;
}

function expectDataError(run: () => unknown, pattern: RegExp): void {
  try {
    run();
  } catch (error) {
    expect(isContrastiveError(error)).toBe(true);
    expect((error as { code: string }).code).toBe('DATA');
    expect((error as Error).message).toMatch(pattern);
    return;
  }
  throw new Error(`expected a DATA error matching ${pattern}`);
}

describe('readIdx', () => {
  it('parses a synthetic uint8 images file (idx3)', () => {
    const pixels = Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20);
    const array = readIdx(idx('uint8', [3, 2, 2], pixels));
    expect(array.dtype).toBe('uint8');
    expect(array.shape).toEqual([3, 2, 2]);
    expect(array.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(array.data)).toEqual(pixels);
  });

  it('reads the documented example', () => {
    const array = readIdx(new Uint8Array([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9]));
    expect([array.dtype, array.shape, Array.from(array.data)]).toEqual(['uint8', [3], [7, 8, 9]]);
  });

  it('reads dimensions above 2^16 big-endian', () => {
    const bytes = new Uint8Array(8 + 70_000);
    bytes.set([0, 0, 0x08, 1, 0x00, 0x01, 0x11, 0x70]);
    expect(readIdx(bytes).shape).toEqual([70_000]);
  });

  it.each([
    ['int8', [-128, -1, 0, 127], Int8Array],
    ['int16', [-32768, -2, 258, 32767], Int16Array],
    ['int32', [-2147483648, -70000, 16909060, 2147483647], Int32Array],
    ['float32', [-1.5, 0, 0.25, 3.4e38], Float32Array],
    ['float64', [-1e-300, 0, Math.PI, 1e300], Float64Array],
  ] as const)('decodes big-endian %s', (dtype, values, Type) => {
    const array = readIdx(idx(dtype, [2, 2], [...values]));
    expect(array.dtype).toBe(dtype);
    expect(array.shape).toEqual([2, 2]);
    expect(array.data).toBeInstanceOf(Type);
    expect(Array.from(array.data)).toEqual(Array.from(new Type(values)));
  });

  it('copies: the result does not alias the input buffer, and the input is untouched', () => {
    const bytes = idx('uint8', [2], [5, 6]);
    const snapshot = Array.from(bytes);
    const array = readIdx(bytes);
    (array.data as Uint8Array)[0] = 99;
    expect(Array.from(bytes)).toEqual(snapshot);
  });

  it('works on a Uint8Array view at an offset into a larger buffer', () => {
    const inner = idx('int16', [2], [-7, 300]);
    const outer = new Uint8Array(inner.length + 3);
    outer.set(inner, 3);
    const array = readIdx(outer.subarray(3));
    expect(Array.from(array.data)).toEqual([-7, 300]);
  });

  it('rejects a wrong magic number, naming the file and byte offset 0', () => {
    expectDataError(
      () => readIdx(new Uint8Array([1, 0, 8, 1, 0, 0, 0, 0]), { name: 'a.idx' }),
      /IDX file 'a\.idx' has a wrong magic number at byte offset 0: expected 0x00 0x00 <type .*>, got 0x01 0x00 0x08 0x01/,
    );
    expectDataError(() => readIdx(new Uint8Array([0, 0, 0x07, 1, 0, 0, 0, 0])), /IDX file 'IDX buffer' has a wrong magic number at byte offset 0: .* got 0x00 0x00 0x07 0x01/);
    expectDataError(() => readIdx(new Uint8Array([0, 0, 0x08, 0])), /wrong magic number at byte offset 0: expected .*<ndims >= 1>, got 0x00 0x00 0x08 0x00/);
  });

  it('recognises gzip input and says to decompress it', () => {
    expectDataError(
      () => readIdx(new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0, 0]), { name: 'train.gz' }),
      /IDX file 'train\.gz' has a wrong magic number at byte offset 0: got 0x1f 0x8b 0x08 0x00, which is a gzip header; decompress it first/,
    );
  });

  it('rejects a truncated magic, header or data, naming the offset where it ends', () => {
    expectDataError(() => readIdx(new Uint8Array([0, 0]), { name: 'f' }), /IDX file 'f' is truncated at byte offset 2: the magic number needs 4 bytes, got 2/);
    const full = idx('uint8', [3, 2, 2], new Array(12).fill(1));
    expectDataError(
      () => readIdx(full.subarray(0, 10), { name: 'f' }),
      /IDX file 'f' is truncated at byte offset 10: the header of 3 dimension\(s\) needs 16 bytes, got 10/,
    );
    expectDataError(
      () => readIdx(full.subarray(0, 25), { name: 'f' }),
      /IDX file 'f' is truncated at byte offset 25: expected 28 bytes \(16-byte header \+ 3x2x2 uint8\), got 25/,
    );
    const floats = idx('float32', [3], [1, 2, 3]);
    expectDataError(() => readIdx(floats.subarray(0, 19)), /truncated at byte offset 19: expected 20 bytes \(8-byte header \+ 3 float32\), got 19/);
  });

  it('rejects trailing bytes after the data', () => {
    const bytes = new Uint8Array(12);
    bytes.set(idx('uint8', [2], [1, 2]));
    expectDataError(() => readIdx(bytes, { name: 'f' }), /IDX file 'f' has 2 unexpected trailing byte\(s\) from byte offset 10: expected 10 bytes/);
  });

  it('rejects a non-Uint8Array argument', () => {
    expect(() => readIdx([0, 0, 8, 1] as unknown as Uint8Array)).toThrow(/Argument 'bytes' passed to 'readIdx' must be a Uint8Array, got object/);
  });
});

describe('idxSplit', () => {
  it('pairs [n, h, w] uint8 images with labels, scaling pixels by 1/255', () => {
    const images = readIdx(idx('uint8', [2, 1, 3], [0, 51, 255, 102, 204, 1]));
    const labels = readIdx(idx('uint8', [2], [7, 3]));
    const split = idxSplit(images, labels);
    expect(split.count).toBe(2);
    expect(split.shape).toEqual([1, 3, 1]);
    expect(split.images).toBeInstanceOf(Float32Array);
    expect(split.labels).toBeInstanceOf(Int32Array);
    expect(Array.from(split.images)).toEqual(Array.from(new Float32Array([0, 0.2, 1, 0.4, 0.8, 1 / 255])));
    expect(Array.from(split.labels)).toEqual([7, 3]);
  });

  it('reads [n, h, w, c] float images and int32 labels as they are', () => {
    const images = readIdx(idx('float32', [1, 1, 1, 3], [0.5, 0.25, 1]));
    const labels = readIdx(idx('int32', [1], [12]));
    const split = idxSplit(images, labels);
    expect(split.shape).toEqual([1, 1, 3]);
    expect(Array.from(split.images)).toEqual([0.5, 0.25, 1]);
    expect(Array.from(split.labels)).toEqual([12]);
  });

  it('runs the documented example', () => {
    const images = readIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255]));
    const labels = readIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 1, 4]));
    const split = idxSplit(images, labels);
    expect([split.count, split.shape, Array.from(split.images), Array.from(split.labels)]).toEqual([1, [1, 2, 1], [0, 1], [4]]);
  });

  it('rejects a label/image count mismatch, naming both files', () => {
    const images = readIdx(idx('uint8', [3, 1, 1], [1, 2, 3]));
    const labels = readIdx(idx('uint8', [2], [0, 1]));
    expectDataError(
      () => idxSplit(images, labels, { imagesName: 'x-images', labelsName: 'x-labels' }),
      /IDX files 'x-images' and 'x-labels' must hold as many labels as images: 3 images, 2 labels \(the counts at byte offset 4/,
    );
  });

  it('rejects wrong ranks, element types and out-of-range labels', () => {
    const images = readIdx(idx('uint8', [2, 1, 1], [1, 2]));
    const labels = readIdx(idx('uint8', [2], [0, 10]));
    expectDataError(() => idxSplit(labels, labels, { imagesName: 'img' }), /IDX file 'img' must hold images of shape \[n, h, w\] or \[n, h, w, c\], got \[2\]/);
    expectDataError(() => idxSplit(images, images, { labelsName: 'lab' }), /IDX file 'lab' must hold labels of shape \[n\], got \[2, 1, 1\]/);
    expectDataError(() => idxSplit(readIdx(idx('int16', [2, 1, 1], [1, 2])), labels), /must hold uint8, float32 or float64 pixels, got int16/);
    expectDataError(() => idxSplit(images, readIdx(idx('float32', [2], [0, 1]))), /must hold integer labels, got float32/);
    expectDataError(
      () => idxSplit(images, labels, { labelsName: 'lab', numClasses: 10 }),
      /IDX file 'lab' must hold labels in \[0, 10\), got 10 for item 1 at byte offset 9/,
    );
    expectDataError(() => idxSplit(images, readIdx(idx('int8', [2], [0, -1]))), /must hold labels in \[0, inf\), got -1 for item 1 at byte offset 9/);
  });

  it('keeps typed unions exhaustive', () => {
    const array: IdxArray = readIdx(idx('int16', [1], [3]));
    switch (array.dtype) {
      case 'int16':
        expect(array.data).toBeInstanceOf(Int16Array);
        break;
      default:
        throw new Error(`unexpected ${array.dtype}`);
    }
  });
});
