import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import { isContrastiveError } from '@contrastive/core';
import { useTestBackend } from '@contrastive/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_CLASS_NAMES } from '../fashion-mnist.js';
import { FASHION_MNIST_DEFAULT_DIR, loadFashionMnist, loadIdxDataset, readIdxFile } from './idx.js';

const FASHION_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
const fashionMissing = !FASHION_FILES.every(
  (name) => existsSync(join(FASHION_MNIST_DEFAULT_DIR, name)) || existsSync(join(FASHION_MNIST_DEFAULT_DIR, `${name}.gz`)),
);
if (fashionMissing) {
  console.warn(
    `Fashion-MNIST tests skipped: the IDX files are not in ${FASHION_MNIST_DEFAULT_DIR} (apt-get install dataset-fashion-mnist)`,
  );
}

let dir: string;

beforeAll(async () => {
  await useTestBackend();
  dir = await mkdtemp(join(tmpdir(), 'contrastive-data-idx-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A uint8 IDX buffer: magic 0x00 0x00 0x08 ndims, big-endian dims, bytes. */
function idx(shape: number[], values: number[]): Uint8Array {
  const header = 4 + 4 * shape.length;
  const bytes = new Uint8Array(header + values.length);
  const view = new DataView(bytes.buffer);
  bytes.set([0, 0, 0x08, shape.length]);
  shape.forEach((dim, d) => view.setUint32(4 + 4 * d, dim, false));
  bytes.set(values, header);
  return bytes;
}

/** Write a small dataset: train 5 images 2x2 (labels 1 0 1 2 0), test 2 images; `gzip` compresses. */
async function writeDataset(name: string, options: { gzip?: boolean; testLabels?: number[] } = {}): Promise<string> {
  const target = join(dir, name);
  await rm(target, { recursive: true, force: true });
  await mkdir(target);
  const files: [string, Uint8Array][] = [
    ['train-images-idx3-ubyte', idx([5, 2, 2], Array.from({ length: 20 }, (_, i) => i * 10))],
    ['train-labels-idx1-ubyte', idx([5], [1, 0, 1, 2, 0])],
    ['t10k-images-idx3-ubyte', idx([2, 2, 2], [255, 0, 0, 255, 51, 51, 51, 51])],
    ['t10k-labels-idx1-ubyte', idx([options.testLabels?.length ?? 2], options.testLabels ?? [2, 1])],
  ];
  for (const [file, bytes] of files) {
    if (options.gzip === true) await writeFile(join(target, `${file}.gz`), gzipSync(bytes));
    else await writeFile(join(target, file), bytes);
  }
  return target;
}

async function expectDataError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isContrastiveError(error)).toBe(true);
  expect((error as { code: string }).code).toBe('DATA');
  expect((error as Error).message).toMatch(pattern);
}

describe('loadIdxDataset', () => {
  it.each([false, true])('loads four IDX files (gzip %s) into float32 splits', async (gzip) => {
    const target = await writeDataset(`plain-${gzip}`, { gzip });
    const dataset = await loadIdxDataset(target);
    expect(dataset.train.count).toBe(5);
    expect(dataset.test.count).toBe(2);
    expect(dataset.train.shape).toEqual([2, 2, 1]);
    expect(Array.from(dataset.train.labels)).toEqual([1, 0, 1, 2, 0]);
    expect(Array.from(dataset.test.labels)).toEqual([2, 1]);
    expect(Array.from(dataset.train.images)).toEqual(Array.from(new Float32Array(20).map((_, i) => (i * 10) / 255)));
    expect(Array.from(dataset.test.images)).toEqual(Array.from(new Float32Array([1, 0, 0, 1, 0.2, 0.2, 0.2, 0.2])));
    expect(dataset.classNames).toEqual(['0', '1', '2']);
  });

  it('applies trainLimit round-robin to train only, and takes class names', async () => {
    const target = await writeDataset('limited');
    const dataset = await loadIdxDataset(target, { trainLimit: 4, classNames: ['a', 'b', 'c'] });
    // Train labels 1 0 1 2 0: rank 0 -> indices 1 (0), 0 (1), 3 (2); rank 1 -> 4 (0).
    expect(Array.from(dataset.train.labels)).toEqual([0, 1, 2, 0]);
    expect(dataset.train.images[0]).toBeCloseTo(40 / 255, 6);
    expect(dataset.test.count).toBe(2);
    expect(dataset.classNames).toEqual(['a', 'b', 'c']);
  });

  it('names the file when it is missing', async () => {
    const target = await writeDataset('missing');
    await rm(join(target, 't10k-labels-idx1-ubyte'));
    await expectDataError(loadIdxDataset(target), /IDX file '.*missing\/t10k-labels-idx1-ubyte' was not found \(tried '.*' and '.*\.gz'\)/);
  });

  it('names the file and byte offset of a truncated file', async () => {
    const target = await writeDataset('truncated');
    await writeFile(join(target, 'train-images-idx3-ubyte'), idx([5, 2, 2], new Array(20).fill(0)).subarray(0, 30));
    await expectDataError(
      loadIdxDataset(target),
      /IDX file '.*truncated\/train-images-idx3-ubyte' is truncated at byte offset 30: expected 36 bytes \(16-byte header \+ 5x2x2 uint8\), got 30/,
    );
  });

  it('names the file of a wrong magic number, also inside gzip', async () => {
    const target = await writeDataset('magic', { gzip: true });
    await writeFile(join(target, 'train-labels-idx1-ubyte.gz'), gzipSync(new Uint8Array([0, 0, 0x08, 0, 1, 2])));
    await expectDataError(
      loadIdxDataset(target),
      /IDX file '.*magic\/train-labels-idx1-ubyte\.gz' has a wrong magic number at byte offset 0: .* got 0x00 0x00 0x08 0x00/,
    );
  });

  it('rejects corrupt gzip data', async () => {
    const target = await writeDataset('corrupt', { gzip: true });
    await writeFile(join(target, 't10k-images-idx3-ubyte.gz'), new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    await expectDataError(loadIdxDataset(target), /IDX file '.*corrupt\/t10k-images-idx3-ubyte\.gz' is not valid gzip data/);
  });

  it('rejects a label/image count mismatch and out-of-range labels, naming the files', async () => {
    const mismatch = await writeDataset('mismatch', { testLabels: [0, 1, 2] });
    await expectDataError(
      loadIdxDataset(mismatch),
      /IDX files '.*mismatch\/t10k-images-idx3-ubyte' and '.*mismatch\/t10k-labels-idx1-ubyte' must hold as many labels as images: 2 images, 3 labels/,
    );
    const range = await writeDataset('range');
    await expectDataError(
      loadIdxDataset(range, { classNames: ['a', 'b'] }),
      /IDX file '.*range\/train-labels-idx1-ubyte' must hold labels in \[0, 2\), got 2 for item 3 at byte offset 11/,
    );
  });

  it('rejects bad options', async () => {
    await expect(loadIdxDataset('')).rejects.toThrow(/Argument 'dir' passed to 'loadIdxDataset' must be a non-empty string/);
    await expect(loadIdxDataset(dir, { trainLimit: 0 })).rejects.toThrow(/Argument 'trainLimit' passed to 'loadIdxDataset' must be an integer >= 1, got 0/);
    await expect(loadFashionMnist({ trainLimit: -5 })).rejects.toThrow(/Argument 'trainLimit' passed to 'loadFashionMnist' must be an integer >= 1, got -5/);
  });
});

describe('Fashion-MNIST', () => {
  it.skipIf(fashionMissing)('loads 60000/10000 28x28x1 images, 6000 per class in train', async () => {
    const before = tf.memory().numTensors;
    const start = performance.now();
    const fashion = await loadFashionMnist();
    console.info(`loadFashionMnist: ${(performance.now() - start).toFixed(0)} ms`);
    expect(tf.memory().numTensors).toBe(before);
    const { train, test } = fashion;
    expect(train.count).toBe(60_000);
    expect(test.count).toBe(10_000);
    expect(train.shape).toEqual([28, 28, 1]);
    expect(train.images.length).toBe(60_000 * 784);
    expect(test.images.length).toBe(10_000 * 784);
    const perClass = (labels: Int32Array): number[] => {
      const counts = new Array<number>(10).fill(0);
      for (const label of labels) counts[label] = (counts[label] as number) + 1;
      return counts;
    };
    expect(perClass(train.labels)).toEqual(new Array(10).fill(6000));
    expect(perClass(test.labels)).toEqual(new Array(10).fill(1000));
    expect(fashion.classNames).toEqual(FASHION_MNIST_CLASS_NAMES);
    // The first labels of the files (t10k starts with an ankle boot).
    expect(Array.from(train.labels.subarray(0, 8))).toEqual([9, 0, 0, 3, 0, 2, 7, 2]);
    expect(Array.from(test.labels.subarray(0, 5))).toEqual([9, 2, 1, 1, 6]);
    expect(fashion.classNames[test.labels[0] as number]).toBe('Ankle boot');
    let min = Infinity;
    let max = -Infinity;
    for (const value of train.images) {
      if (value < min) min = value;
      if (value > max) max = value;
    }
    expect([min, max]).toEqual([0, 1]);
    // Every pixel is k / 255 for an integer k.
    for (let i = 0; i < 784 * 10; i++) {
      const level = (train.images[i] as number) * 255;
      expect(Math.abs(level - Math.round(level))).toBeLessThan(1e-4);
    }
  });

  it.skipIf(fashionMissing)('trainLimit 1000 gives 100 per class in round-robin order', async () => {
    const fashion = await loadFashionMnist({ trainLimit: 1000 });
    expect(fashion.train.count).toBe(1000);
    expect(fashion.test.count).toBe(10_000);
    for (let i = 0; i < 1000; i++) expect(fashion.train.labels[i]).toBe(i % 10);
  });

  it.skipIf(fashionMissing)('readIdxFile reads a .gz file by its plain name', async () => {
    const labels = await readIdxFile(join(FASHION_MNIST_DEFAULT_DIR, 't10k-labels-idx1-ubyte'));
    expect(labels.dtype).toBe('uint8');
    expect(labels.shape).toEqual([10_000]);
  });
});
