/**
 * Corrupt data files (issue 9): every malformed IDX file — truncated, wrong magic number, a
 * dimension header that disagrees with the byte count, images and labels of different counts,
 * wrong ranks and element types, broken gzip — is a `ContrastiveError` with code `DATA` whose
 * message names the file and the byte offset. The files are written to a temporary directory
 * (removed afterwards) and read through the `@contrastive/data/node` loaders.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isContrastiveError } from '@contrastive/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdxDataset, readIdxFile } from './node/index.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'contrastive-corrupt-data-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** An IDX buffer: magic `0x00 0x00 type ndims`, big-endian uint32 dims, then `payload` bytes. */
function idx(shape: readonly number[], payload: ArrayLike<number>, type = 0x08): Uint8Array {
  const header = 4 + 4 * shape.length;
  const bytes = new Uint8Array(header + payload.length);
  const view = new DataView(bytes.buffer);
  bytes.set([0, 0, type, shape.length]);
  shape.forEach((dim, d) => view.setUint32(4 + 4 * d, dim, false));
  bytes.set(payload, header);
  return bytes;
}

const pixels = (count: number): number[] => Array.from({ length: count }, (_, i) => (i * 37) % 256);

/** The four files of a valid dataset: 6 train and 3 test 2x2 images, labels in [0, 3). */
function validFiles(): Record<string, Uint8Array> {
  return {
    'train-images-idx3-ubyte': idx([6, 2, 2], pixels(24)),
    'train-labels-idx1-ubyte': idx([6], [0, 1, 2, 0, 1, 2]),
    't10k-images-idx3-ubyte': idx([3, 2, 2], pixels(12)),
    't10k-labels-idx1-ubyte': idx([3], [2, 1, 0]),
  };
}

let datasets = 0;

/** A dataset directory of the valid files with some replaced (`undefined` removes a file). */
async function dataset(replace: Record<string, Uint8Array | undefined>): Promise<string> {
  const dir = join(root, `set-${datasets++}`);
  await mkdir(dir);
  for (const [name, bytes] of Object.entries({ ...validFiles(), ...replace })) {
    if (bytes !== undefined) await writeFile(join(dir, name), bytes);
  }
  return dir;
}

/** Write one file and return its path. */
async function file(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(root, name);
  await writeFile(path, bytes);
  return path;
}

/** Await `promise`, expecting a `DATA` error whose message names `path` and a byte offset and matches `pattern`. */
async function expectDataError(promise: Promise<unknown>, paths: readonly string[], pattern: RegExp): Promise<string> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error === undefined) throw new Error('expected a DATA error, but the load succeeded');
  expect(isContrastiveError(error), String(error)).toBe(true);
  expect((error as { code: string }).code).toBe('DATA');
  const message = (error as Error).message;
  for (const path of paths) expect(message).toContain(`'${path}'`);
  expect(message).toMatch(/byte offset \d+/);
  expect(message).toMatch(pattern);
  return message;
}

describe('corrupt IDX files give DATA errors naming the file and the byte offset', () => {
  it('a valid dataset loads (the baseline the corruptions start from)', async () => {
    const loaded = await loadIdxDataset(await dataset({}));
    expect([loaded.train.count, loaded.test.count, loaded.train.shape]).toEqual([6, 3, [2, 2, 1]]);
  });

  it('an empty file', async () => {
    const path = await file('empty-idx', new Uint8Array(0));
    await expectDataError(readIdxFile(path), [path], /is truncated at byte offset 0: the magic number needs 4 bytes, got 0/);
  });

  it('a file truncated inside the magic number', async () => {
    const path = await file('cut-magic', idx([6], [0, 1, 2, 0, 1, 2]).subarray(0, 3));
    await expectDataError(readIdxFile(path), [path], /is truncated at byte offset 3: the magic number needs 4 bytes/);
  });

  it('a file truncated inside the dimension header', async () => {
    const path = await file('cut-header', idx([6, 2, 2], pixels(24)).subarray(0, 11));
    await expectDataError(readIdxFile(path), [path], /is truncated at byte offset 11: the header of 3 dimension\(s\) needs 16 bytes, got 11/);
  });

  it('a file truncated inside the data (an interrupted download), through loadIdxDataset', async () => {
    const dir = await dataset({ 'train-images-idx3-ubyte': idx([6, 2, 2], pixels(24)).subarray(0, 33) });
    await expectDataError(
      loadIdxDataset(dir),
      [join(dir, 'train-images-idx3-ubyte')],
      /is truncated at byte offset 33: expected 40 bytes \(16-byte header \+ 6x2x2 uint8\), got 33/,
    );
  });

  it.each([
    ['a non-zero first byte', [0x01, 0x00, 0x08, 0x01], /got 0x01 0x00 0x08 0x01/],
    ['a non-zero second byte', [0x00, 0x07, 0x08, 0x01], /got 0x00 0x07 0x08 0x01/],
    ['an unknown type byte', [0x00, 0x00, 0x0a, 0x01], /got 0x00 0x00 0x0a 0x01/],
    ['zero dimensions', [0x00, 0x00, 0x08, 0x00], /<ndims >= 1>, got 0x00 0x00 0x08 0x00/],
    ['text instead of IDX', [...'P5\n2'].map((c) => c.charCodeAt(0)), /got 0x50 0x35 0x0a 0x32/],
  ])('a wrong magic number: %s', async (what, magic, pattern) => {
    const bytes = idx([6], [0, 1, 2, 0, 1, 2]);
    bytes.set(magic);
    const path = await file(`magic-${what.replace(/\W+/g, '-')}`, bytes);
    await expectDataError(readIdxFile(path), [path], new RegExp(`has a wrong magic number at byte offset 0: .*${pattern.source}`));
  });

  it('a dimension header claiming more items than the bytes hold', async () => {
    // Header says 7 labels, 6 label bytes follow.
    const dir = await dataset({ 'train-labels-idx1-ubyte': idx([7], [0, 1, 2, 0, 1, 2]) });
    await expectDataError(
      loadIdxDataset(dir),
      [join(dir, 'train-labels-idx1-ubyte')],
      /is truncated at byte offset 14: expected 15 bytes \(8-byte header \+ 7 uint8\), got 14/,
    );
  });

  it('a dimension header claiming fewer items than the bytes hold', async () => {
    // Header says 2x2 images of 5, 6 images' bytes follow.
    const dir = await dataset({ 'train-images-idx3-ubyte': idx([5, 2, 2], pixels(24)) });
    await expectDataError(
      loadIdxDataset(dir),
      [join(dir, 'train-images-idx3-ubyte')],
      /has 4 unexpected trailing byte\(s\) from byte offset 36: expected 36 bytes \(16-byte header \+ 5x2x2 uint8\), got 40/,
    );
  });

  it('a height that disagrees with the byte count (same total, wrong split)', async () => {
    // 6 x 4 x 1 images hold the same 24 bytes as 6 x 2 x 2, but the test images are 2 x 2.
    const dir = await dataset({ 'train-images-idx3-ubyte': idx([6, 4, 1], pixels(24)) });
    await expectDataError(
      loadIdxDataset(dir),
      [join(dir, 'train-images-idx3-ubyte'), join(dir, 't10k-images-idx3-ubyte')],
      /must hold images of one shape, got \[4, 1, 1\] and \[2, 2, 1\] \(dimensions at byte offset 8\)/,
    );
  });

  it('image and label files of different counts', async () => {
    const dir = await dataset({ 't10k-labels-idx1-ubyte': idx([4], [2, 1, 0, 1]) });
    await expectDataError(
      loadIdxDataset(dir),
      [join(dir, 't10k-images-idx3-ubyte'), join(dir, 't10k-labels-idx1-ubyte')],
      /must hold as many labels as images: 3 images, 4 labels \(the counts at byte offset 4 of each file differ\)/,
    );
  });

  it('an images file of the wrong rank', async () => {
    const dir = await dataset({ 'train-images-idx3-ubyte': idx([6, 4], pixels(24)) });
    await expectDataError(
      loadIdxDataset(dir),
      [join(dir, 'train-images-idx3-ubyte')],
      /must hold images of shape \[n, h, w\] or \[n, h, w, c\], got \[6, 4\] \(2 dimension\(s\) at byte offset 3\)/,
    );
  });

  it('a labels file of the wrong rank', async () => {
    const dir = await dataset({ 'train-labels-idx1-ubyte': idx([6, 1], [0, 1, 2, 0, 1, 2]) });
    await expectDataError(loadIdxDataset(dir), [join(dir, 'train-labels-idx1-ubyte')], /must hold labels of shape \[n\], got \[6, 1\] \(2 dimension\(s\) at byte offset 3\)/);
  });

  it('images with a zero height', async () => {
    const dir = await dataset({ 'train-images-idx3-ubyte': idx([6, 0, 2], []) });
    await expectDataError(loadIdxDataset(dir), [join(dir, 'train-images-idx3-ubyte')], /must hold images of positive height, width and channels, got \[6, 0, 2\] \(dimensions from byte offset 8\)/);
  });

  it('float labels', async () => {
    const labels = new Uint8Array(4 * 6);
    const view = new DataView(labels.buffer);
    [0, 1, 2, 0, 1, 2].forEach((label, i) => view.setFloat32(4 * i, label, false));
    const dir = await dataset({ 'train-labels-idx1-ubyte': idx([6], labels, 0x0d) });
    await expectDataError(loadIdxDataset(dir), [join(dir, 'train-labels-idx1-ubyte')], /must hold integer labels, got float32 \(type byte at byte offset 2\)/);
  });

  it('int16 pixels', async () => {
    const dir = await dataset({ 't10k-images-idx3-ubyte': idx([3, 2, 2], pixels(24), 0x0b) });
    await expectDataError(loadIdxDataset(dir), [join(dir, 't10k-images-idx3-ubyte')], /must hold uint8, float32 or float64 pixels, got int16 \(type byte at byte offset 2\)/);
  });

  it('a label outside the class names', async () => {
    const dir = await dataset({ 't10k-labels-idx1-ubyte': idx([3], [2, 9, 0]) });
    await expectDataError(loadIdxDataset(dir, { classNames: ['a', 'b', 'c'] }), [join(dir, 't10k-labels-idx1-ubyte')], /must hold labels in \[0, 3\), got 9 for item 1 at byte offset 9/);
  });

  it('a truncated gzip file', async () => {
    const compressed = gzipSync(idx([6, 2, 2], pixels(24)));
    const dir = await dataset({ 'train-images-idx3-ubyte': undefined, 'train-images-idx3-ubyte.gz': compressed.subarray(0, compressed.length - 10) });
    await expectDataError(
      loadIdxDataset(dir),
      [join(dir, 'train-images-idx3-ubyte.gz')],
      new RegExp(`is not valid gzip data: it is truncated at byte offset ${compressed.length - 10} \\(the compressed stream ends early\\)`),
    );
  });

  it('gzip data damaged in the middle', async () => {
    const compressed = Uint8Array.from(gzipSync(idx([6, 2, 2], pixels(24))));
    for (let i = 12; i < compressed.length - 8; i++) compressed[i] = (compressed[i] as number) ^ 0x5a;
    const path = await file('damaged.gz', compressed);
    await expectDataError(readIdxFile(path), [path], new RegExp(`is not valid gzip data: it is corrupt between byte offset 0 and ${compressed.length}`));
  });

  it('a truncated IDX file inside valid gzip names the decompressed offset', async () => {
    const path = await file('cut-inside.gz', gzipSync(idx([6, 2, 2], pixels(24)).subarray(0, 30)));
    await expectDataError(readIdxFile(path), [path], /is truncated at byte offset 30: .* \(byte offsets of the decompressed data\)$/);
  });
});
