import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';
import { expectWasmMatchesCpu, useWasmWithCpuReference, values } from './wasm-parity.test.helpers.js';

beforeAll(async () => {
  await useWasmWithCpuReference();
});

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

describe('DepthwiseConv2dNative gradients on wasm', () => {
  it.each([
    { x: [2, 7, 7, 3], filter: [3, 3, 3, 1], stride: 1, pad: 'same' },
    { x: [2, 8, 6, 2], filter: [3, 3, 2, 2], stride: 2, pad: 'same' },
    { x: [1, 9, 8, 3], filter: [2, 3, 3, 2], stride: 1, pad: 'valid' },
    { x: [2, 9, 9, 2], filter: [3, 3, 2, 3], stride: 2, pad: 'valid' },
  ] as const)('input and filter gradients of depthwiseConv2d($x, $filter, $stride, $pad) match cpu', async ({ x, filter, stride, pad }) => {
    await expectWasmMatchesCpu(() => {
      const input = tf.tensor4d(values(size(x), 1), [...x]);
      const w = tf.tensor4d(values(size(filter), 2), [...filter]);
      const output = tf.depthwiseConv2d(input, w, stride, pad);
      const weights = tf.tensor(values(size(output.shape), 3), output.shape);
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad), weights)))([input, w]);
    });
  });
});
