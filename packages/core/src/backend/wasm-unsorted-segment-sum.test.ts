import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectWasmMatchesCpu, useWasmWithCpuReference, values } from './wasm-parity.test.helpers.js';

beforeAll(async () => {
  await useWasmWithCpuReference();
});

describe('UnsortedSegmentSum on wasm', () => {
  it.each([
    { xShape: [6], ids: [0, 2, 2, 1, 0, 2], numSegments: 3 },
    { xShape: [5, 3], ids: [4, 0, 4, 1, 1], numSegments: 6 },
    { xShape: [4, 2, 3], ids: [1, 0, 1, 1], numSegments: 2 },
    { xShape: [5, 2], ids: [-1, 0, 3, 1, 7], numSegments: 3 },
  ])('matches cpu for x $xShape, ids $ids', async ({ xShape, ids, numSegments }) => {
    const size = xShape.reduce((a, b) => a * b, 1);
    await expectWasmMatchesCpu(() =>
      tf.unsortedSegmentSum(tf.tensor(values(size, 3), xShape), tf.tensor1d(ids, 'int32'), numSegments),
    );
  });

  it('takes multi-dimensional segment ids and sums int32 in int32 (as TensorFlow; the cpu backend returns float32)', () => {
    const x = tf.tensor3d([[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]], [2, 3, 2], 'int32');
    const ids = tf.tensor2d([[1, 1, 0], [2, 0, 1]], [2, 3], 'int32');
    const before = tf.memory().numTensors;
    const out = tf.engine().runKernel(tf.UnsortedSegmentSum, { x, segmentIds: ids }, { numSegments: 3 }) as tf.Tensor;
    expect(out.dtype).toBe('int32');
    expect(out.shape).toEqual([3, 2]);
    expect(out.arraySync()).toEqual([[5 + 9, 6 + 10], [1 + 3 + 11, 2 + 4 + 12], [7, 8]]);
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, ids]);
  });

  it.each([0, 1])('gives the gradient of tf.gather along axis %i as on cpu', async (axis) => {
    await expectWasmMatchesCpu(() => {
      const table = tf.tensor(values(5 * 4 * 3, 7), [5, 4, 3]);
      const indices = tf.tensor1d([3, 1, 3, 0, 3], 'int32');
      const weights = tf.tensor(values(axis === 0 ? 5 * 4 * 3 : 5 * 5 * 3, 8), axis === 0 ? [5, 4, 3] : [5, 5, 3]);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, indices, axis), weights)))(table);
    });
  });
});
