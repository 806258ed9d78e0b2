import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';
import { conv2DBackpropInputWasm } from './wasm-conv2d-backprop-input.js';
import { originalKernel } from './wasm-heap.js';
import { expectWasmMatchesCpu, runOnWasm, useWasmWithCpuReference, values } from './wasm-parity.test.helpers.js';

beforeAll(async () => {
  await useWasmWithCpuReference();
});

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

const CASES: { x: [number, number, number, number]; filter: [number, number, number, number]; stride: number | [number, number]; pad: Pad }[] = [
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { x: [2, 9, 7, 3], filter: [3, 3, 3, 5], stride: 1, pad: 'valid' },
  { x: [2, 7, 6, 2], filter: [3, 3, 2, 3], stride: 1, pad: [[0, 0], [2, 1], [0, 1], [0, 0]] },
  { x: [1, 5, 5, 2], filter: [3, 3, 2, 3], stride: 1, pad: [[0, 0], [3, 3], [1, 3], [0, 0]] }, // pad > filter - 1
  { x: [3, 9, 8, 2], filter: [3, 2, 2, 4], stride: 2, pad: 'same' },
  { x: [2, 11, 9, 3], filter: [3, 3, 3, 2], stride: [2, 3], pad: 'valid' },
  { x: [2, 8, 8, 1], filter: [5, 5, 1, 6], stride: 1, pad: 'same' },
];

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

describe('Conv2DBackpropInput on wasm', () => {
  it.each(CASES)('input gradient of conv2d($x, $filter, stride $stride, $pad) matches cpu', async ({ x, filter, stride, pad }) => {
    await expectWasmMatchesCpu(() => {
      const w = tf.tensor4d(values(size(filter), 1), filter);
      const output = tf.conv2d(tf.zeros<tf.Rank.R4>(x), w, stride, pad);
      const weights = tf.tensor(values(size(output.shape), 2), output.shape);
      return tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(input as tf.Tensor4D, w, stride, pad), weights)))(tf.tensor(values(size(x), 3), x));
    });
  });

  it('conv2dTranspose matches cpu', async () => {
    await expectWasmMatchesCpu(() =>
      tf.conv2dTranspose(tf.tensor4d(values(2 * 4 * 4 * 5, 4), [2, 4, 4, 5]), tf.tensor4d(values(3 * 3 * 3 * 5, 5), [3, 3, 3, 5]), [2, 8, 8, 3], 2, 'same'),
    );
  });

  it.each([1, 40])('the strided path (columns, block %i elements) also serves stride 1', async (blockElements) => {
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [3, 6, 5, 2] } as unknown as tf.NamedAttrMap;
    await expectWasmMatchesCpu(() => {
      const inputs = { dy: tf.tensor(values(3 * 6 * 5 * 4, 6), [3, 6, 5, 4]), filter: tf.tensor(values(3 * 3 * 2 * 4, 7), [3, 3, 2, 4]) };
      return tf.getBackend() === 'wasm'
        ? runOnWasm((args) => conv2DBackpropInputWasm(args, originalKernel(tf.Conv2DBackpropInput), { forceColumns: true, blockElements }), inputs, attrs)
        : (tf.engine().runKernel(tf.Conv2DBackpropInput, inputs, attrs) as tf.Tensor);
    });
  });

  it('hands NCHW to the backend kernel', async () => {
    await expectWasmMatchesCpu(() => {
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NCHW', inputShape: [2, 3, 5, 4] } as unknown as tf.NamedAttrMap;
      const inputs = { dy: tf.tensor(values(2 * 4 * 5 * 4, 8), [2, 4, 5, 4]), filter: tf.tensor(values(3 * 3 * 3 * 4, 9), [3, 3, 3, 4]) };
      return tf.engine().runKernel(tf.Conv2DBackpropInput, inputs, attrs) as tf.Tensor;
    });
  });
});
