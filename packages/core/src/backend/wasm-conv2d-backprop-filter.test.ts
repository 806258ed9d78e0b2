import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';
import { conv2DBackpropFilterWasm } from './wasm-conv2d-backprop-filter.js';
import { expectWasmMatchesCpu, runOnWasm, useWasmWithCpuReference, values } from './wasm-parity.test.helpers.js';

beforeAll(async () => {
  await useWasmWithCpuReference();
});

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

const CASES: { x: [number, number, number, number]; filter: [number, number, number, number]; stride: number | [number, number]; pad: Pad }[] = [
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { x: [2, 9, 7, 3], filter: [3, 3, 3, 5], stride: 1, pad: 'valid' },
  { x: [3, 9, 8, 2], filter: [3, 2, 2, 4], stride: 2, pad: 'same' },
  { x: [2, 11, 9, 3], filter: [3, 3, 3, 2], stride: [2, 3], pad: 'valid' },
  { x: [2, 7, 6, 2], filter: [3, 3, 2, 3], stride: 1, pad: [[0, 0], [2, 1], [0, 1], [0, 0]] },
  { x: [2, 8, 8, 1], filter: [3, 3, 1, 16], stride: 1, pad: 'same' }, // few input channels: patches as right operand
  { x: [2, 7, 7, 1], filter: [5, 5, 1, 8], stride: 2, pad: 'valid' },
  { x: [1, 6, 6, 4], filter: [1, 1, 4, 3], stride: 1, pad: 'same' },
];

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

describe('Conv2DBackpropFilter on wasm', () => {
  it.each(CASES)('filter gradient of conv2d($x, $filter, stride $stride, $pad) matches cpu', async ({ x, filter, stride, pad }) => {
    await expectWasmMatchesCpu(() => {
      const input = tf.tensor4d(values(size(x), 1), x);
      const output = tf.conv2d(input, tf.zeros(filter), stride, pad);
      const weights = tf.tensor(values(size(output.shape), 2), output.shape);
      return tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(input, w as tf.Tensor4D, stride, pad), weights)))(tf.tensor(values(size(filter), 3), filter));
    });
  });

  it.each([
    { blockElements: 1, x: [5, 6, 6, 3] as const, filter: [3, 3, 3, 4] as const },
    { blockElements: 200, x: [5, 6, 6, 1] as const, filter: [3, 3, 1, 16] as const },
  ])('sums blocks of images (blockElements $blockElements) like one pass', async ({ blockElements, x, filter }) => {
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [...filter] } as unknown as tf.NamedAttrMap;
    const dyShape = [x[0], x[1], x[2], filter[3]];
    const run = (blocked: boolean): tf.Tensor =>
      tf.tidy(() => {
        const inputs = { x: tf.tensor(values(size(x), 4), [...x]), dy: tf.tensor(values(size(dyShape), 5), dyShape) };
        return blocked
          ? runOnWasm((args) => conv2DBackpropFilterWasm(args, { blockElements }), inputs, attrs)
          : tf.engine().runKernel(tf.Conv2DBackpropFilter, inputs, attrs) as tf.Tensor;
      });
    await expectWasmMatchesCpu(() => run(tf.getBackend() === 'wasm'));
  });

  it('handles NCHW through a transpose', async () => {
    await expectWasmMatchesCpu(() => {
      const x = tf.tensor(values(2 * 3 * 7 * 6, 6), [2, 3, 7, 6]);
      const dy = tf.tensor(values(2 * 4 * 7 * 6, 7), [2, 4, 7, 6]);
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] } as unknown as tf.NamedAttrMap;
      return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs) as tf.Tensor;
    });
  });
});
