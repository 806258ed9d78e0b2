import * as tf from '@tensorflow/tfjs-core';
import { isContrastiveError } from '@contrastive/core';
import { expectNoLeak, expectTensorClose, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageSplit } from './dataset.js';
import { loadMnist } from './mnist.js';
import { gatherBatch, toTensors } from './tensors.js';

beforeAll(async () => {
  await useTestBackend();
});

/** Four 2x2x1 images; pixel p of image i is (10 i + p) / 100. */
function tiny(): ImageSplit {
  const images = new Float32Array(4 * 4);
  for (let i = 0; i < 4; i++) for (let p = 0; p < 4; p++) images[4 * i + p] = (10 * i + p) / 100;
  return { images, labels: Int32Array.from([3, 1, 4, 1]), count: 4, shape: [2, 2, 1] };
}

describe('toTensors', () => {
  it('makes [n, h, w, c] float32 images and [n] int32 labels holding the split', async () => {
    const split = tiny();
    const { images, labels } = await expectNoLeak(() => toTensors(split), 2);
    expect(images.shape).toEqual([4, 2, 2, 1]);
    expect(images.dtype).toBe('float32');
    expect(labels.shape).toEqual([4]);
    expect(labels.dtype).toBe('int32');
    expectTensorClose(images, split.images);
    expect(Array.from(labels.dataSync())).toEqual([3, 1, 4, 1]);
    tf.dispose([images, labels]);
  });

  it('copies: changing the split later does not change the tensors', () => {
    const split = tiny();
    const { images, labels } = toTensors(split);
    split.images[0] = 0.99;
    split.labels[0] = 0;
    expect(images.dataSync()[0]).toBe(0);
    expect(labels.dataSync()[0]).toBe(3);
    tf.dispose([images, labels]);
  });

  it('turns the MNIST test split into [2000, 28, 28, 1] in [0, 1] without leaking', async () => {
    const { test } = await loadMnist();
    const before = tf.memory().numTensors;
    const { images, labels } = toTensors(test);
    expect(images.shape).toEqual([2000, 28, 28, 1]);
    expect(labels.shape).toEqual([2000]);
    const [min, max] = tf.tidy(() => [tf.min(images).dataSync()[0], tf.max(images).dataSync()[0]]);
    expect(min).toBe(0);
    expect(max).toBe(1);
    tf.dispose([images, labels]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects an inconsistent split', () => {
    const split = tiny();
    expect(() => toTensors({ ...split, images: split.images.subarray(0, 15) })).toThrow(
      /Argument 'split' passed to 'toTensors' must have 16 pixels \(4 images of \[2, 2, 1\]\), got 15/,
    );
    expect(() => toTensors({ ...split, labels: new Float32Array(4) as unknown as Int32Array })).toThrow(
      /Argument 'split' passed to 'toTensors' must hold 'labels' as an Int32Array, got Float32Array/,
    );
    expect(() => toTensors({ ...split, shape: [2, 2] as unknown as [number, number, number] })).toThrow(
      /must have 'shape' \[height, width, channels\] of positive integers, got \[2,2\]/,
    );
  });
});

describe('gatherBatch', () => {
  it.each([
    [[2, 0], [4, 3]],
    [[1, 1, 3], [1, 1, 1]],
    [[], []],
  ])('gathers images and labels at %j, in order', async (indices, expectedLabels) => {
    const split = tiny();
    for (const given of [indices, Int32Array.from(indices)]) {
      const batch = await expectNoLeak(() => gatherBatch(split, given), 2);
      expect(batch.images.shape).toEqual([indices.length, 2, 2, 1]);
      expect(batch.images.dtype).toBe('float32');
      expect(batch.labels.dtype).toBe('int32');
      expect(Array.from(batch.labels.dataSync())).toEqual(expectedLabels);
      expectTensorClose(
        batch.images,
        indices.flatMap((i) => Array.from(split.images.subarray(4 * i, 4 * i + 4))),
      );
      tf.dispose([batch.images, batch.labels]);
    }
  });

  it('matches tf.gather over the whole split on MNIST', async () => {
    const { train } = await loadMnist();
    const indices = Int32Array.from([0, 800, 1600, 7999, 4321]);
    const batch = gatherBatch(train, indices);
    expect(batch.images.shape).toEqual([5, 28, 28, 1]);
    expect(Array.from(batch.labels.dataSync())).toEqual([0, 1, 2, 9, 5]);
    const whole = toTensors(train);
    const expected = tf.tidy(() => tf.gather(whole.images, tf.tensor1d(indices, 'int32')));
    expectTensorClose(batch.images, expected, { atol: 0, rtol: 0 });
    tf.dispose([batch.images, batch.labels, whole.images, whole.labels, expected]);
  });

  it('rejects indices out of range or fractional, naming the position', () => {
    const split = tiny();
    const before = tf.memory().numTensors;
    for (const [indices, message] of [
      [[0, 4], /Argument 'indices' passed to 'gatherBatch' must hold integers in \[0, 4\), got 4 at position 1/],
      [[-1], /must hold integers in \[0, 4\), got -1 at position 0/],
      [[0.5], /got 0\.5 at position 0/],
    ] as const) {
      try {
        gatherBatch(split, indices);
        throw new Error('expected a throw');
      } catch (error) {
        expect(isContrastiveError(error)).toBe(true);
        expect((error as Error).message).toMatch(message);
      }
    }
    expect(() => gatherBatch(split, 3 as unknown as number[])).toThrow(/must be an Int32Array or an array of integers, got number/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
