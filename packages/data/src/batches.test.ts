import * as tf from '@tensorflow/tfjs-core';
import { Rng, isContrastiveError, mlpEncoder, train } from '@contrastive/core';
import type { BatchSampler, BatchSource, Loss } from '@contrastive/core';
import { expectNoLeak, useTestBackend } from '@contrastive/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { samplerBatches } from './batches.js';
import type { ImageSplit } from './dataset.js';

beforeAll(async () => {
  await useTestBackend();
});

/** A test sampler: a permutation from the loop's Rng, cut into batches (drop last). */
function permutationSampler(size: number, batchSize: number): BatchSampler {
  const batchesPerEpoch = Math.floor(size / batchSize);
  return {
    name: 'permutation',
    batchesPerEpoch,
    epoch: (rng) => {
      const order = rng.permutation(size);
      return Array.from({ length: batchesPerEpoch }, (_, b) => order.slice(b * batchSize, (b + 1) * batchSize));
    },
  };
}

/** `count` 2x2x1 images; every pixel of image i is i / count; label i mod 3. */
function synthetic(count: number): ImageSplit {
  const images = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) images.fill(i / count, 4 * i, 4 * i + 4);
  return { images, labels: Int32Array.from({ length: count }, (_, i) => i % 3), count, shape: [2, 2, 1] };
}

/** The image index encoded in a batch's pixels. */
async function indicesOf(inputs: tf.Tensor, count: number): Promise<number[]> {
  const values = await inputs.data();
  return Array.from({ length: inputs.shape[0] as number }, (_, i) => Math.round((values[4 * i] as number) * count));
}

describe('samplerBatches (core BatchSource)', () => {
  it("has the sampler's number of steps", () => {
    expect(samplerBatches(synthetic(8000), permutationSampler(8000, 256)).stepsPerEpoch).toBe(31);
    expect(samplerBatches(synthetic(10), permutationSampler(10, 3)).stepsPerEpoch).toBe(3);
  });

  it("serves the sampler's batches for the same Rng state, as new [b, h, w, c] float32 + [b] int32 tensors", async () => {
    const split = synthetic(10);
    const source: BatchSource = samplerBatches(split, permutationSampler(10, 4));
    const rng = new Rng(3);
    const expected = permutationSampler(10, 4).epoch(rng.clone());
    source.beginEpoch?.(0, rng);
    for (let step = 0; step < source.stepsPerEpoch; step++) {
      const batch = await expectNoLeak(() => source.batch(0, step, rng), 3);
      expect(batch.inputs.shape).toEqual([4, 2, 2, 1]);
      expect(batch.inputs.dtype).toBe('float32');
      expect(batch.labels.shape).toEqual([4]);
      expect(batch.labels.dtype).toBe('int32');
      const indices = await indicesOf(batch.inputs, 10);
      expect(indices).toEqual(Array.from(expected[step] as Int32Array));
      expect(Array.from(await batch.labels.data())).toEqual(indices.map((i) => i % 3));
      expect(batch.indices?.dtype).toBe('int32');
      expect(Array.from((await batch.indices?.data()) ?? [])).toEqual(indices); // the dataset positions, for memory banks
      tf.dispose([batch.inputs, batch.labels, batch.indices as tf.Tensor]);
    }
  });

  it('reshuffles every epoch, reproducibly, and draws the permutation lazily without beginEpoch', async () => {
    const split = synthetic(12);
    const run = async (callBegin: boolean): Promise<number[][]> => {
      const source = samplerBatches(split, permutationSampler(12, 5));
      const rng = new Rng(11);
      const seen: number[][] = [];
      for (let epoch = 0; epoch < 2; epoch++) {
        if (callBegin) source.beginEpoch?.(epoch, rng);
        for (let step = 0; step < source.stepsPerEpoch; step++) {
          const batch = await source.batch(epoch, step, rng);
          seen.push(await indicesOf(batch.inputs, 12));
          tf.dispose([batch.inputs, batch.labels, batch.indices as tf.Tensor]);
        }
      }
      return seen;
    };
    const first = await run(true);
    expect(first).toHaveLength(4);
    expect(new Set([...(first[0] as number[]), ...(first[1] as number[])]).size).toBe(10);
    expect(first.slice(2)).not.toEqual(first.slice(0, 2));
    expect(await run(true)).toEqual(first);
    expect(await run(false)).toEqual(first);
  });

  it('rejects a bad sampler, split, step or index', () => {
    const split = synthetic(10);
    expect(() => samplerBatches(split, {} as BatchSampler)).toThrow(/Argument 'sampler' passed to 'samplerBatches' must be a BatchSampler/);
    expect(() => samplerBatches({ ...split, count: 9 }, permutationSampler(9, 2))).toThrow(/Argument 'split' passed to 'samplerBatches' must have 9 labels/);
    const source = samplerBatches(split, permutationSampler(10, 4));
    const before = tf.memory().numTensors;
    expect(() => source.batch(0, 2, new Rng(0))).toThrow(/Argument 'step' passed to 'samplerBatches\(\).batch' must be an integer in \[0, 2\), got 2/);
    const outOfRange = samplerBatches(split, { name: 'bad', batchesPerEpoch: 1, epoch: () => [new Int32Array([3, 10])] });
    expect(() => outOfRange.batch(0, 0, new Rng(0))).toThrow(/must hold integers in \[0, 10\), got 10 at position 1/);
    const short = samplerBatches(split, { name: 'short', batchesPerEpoch: 2, epoch: () => [new Int32Array([1])] });
    expect(() => short.batch(0, 1, new Rng(0))).toThrow(/returned 1 batches for epoch 0, expected 2/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("drives core's train loop without leaking", async () => {
    const split = synthetic(24);
    const encoder = mlpEncoder({ inputDim: 4, hiddenDims: [], outputDim: 3, seed: 0 });
    const loss: Loss = { name: 'meanSquare', compute: ({ embeddings }) => tf.mean(tf.square(embeddings)) };
    const optimizer = tf.train.sgd(0.1);
    try {
      const before = tf.memory().numTensors;
      const result = await train({ encoder, data: samplerBatches(split, permutationSampler(24, 8)), loss, optimizer, epochs: 2, seed: 0 });
      expect(result.history).toHaveLength(2);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      encoder.dispose();
      optimizer.dispose();
    }
  });
});
