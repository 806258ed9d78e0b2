import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectWasmMatchesCpu, useWasmWithCpuReference, values } from './wasm-parity.test.helpers.js';

beforeAll(async () => {
  await useWasmWithCpuReference();
});

type Pool = { x: [number, number, number, number]; filter: number | [number, number]; stride: number | [number, number]; pad: 'same' | 'valid' };

const CASES: Pool[] = [
  { x: [2, 8, 6, 3], filter: 2, stride: 2, pad: 'valid' }, // 2x2 tiles (unrolled path)
  { x: [2, 9, 9, 2], filter: 3, stride: 3, pad: 'valid' }, // other tiles
  { x: [2, 7, 7, 3], filter: 3, stride: 2, pad: 'same' }, // overlapping, padded
  { x: [1, 7, 5, 2], filter: 2, stride: 2, pad: 'same' }, // odd sizes
  { x: [2, 6, 7, 2], filter: [2, 3], stride: [1, 2], pad: 'valid' },
];

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

describe('MaxPoolGrad on wasm', () => {
  it.each(CASES)('gradient of maxPool($x, $filter, $stride, $pad) with ties matches cpu', async ({ x, filter, stride, pad }) => {
    await expectWasmMatchesCpu(() => {
      // Values on a coarse grid, so that many windows hold their maximum twice.
      const input = tf.tensor4d(values(size(x), 11, 2), x);
      const output = tf.maxPool(input, filter, stride, pad);
      const weights = tf.tensor(values(size(output.shape), 12), output.shape);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, filter, stride, pad), weights)))(input);
    });
  });

  it('sends nothing from a window of -Infinity, and skips NaN, as cpu', async () => {
    await expectWasmMatchesCpu(() => {
      const ninf = Number.NEGATIVE_INFINITY;
      const input = tf.tensor4d([ninf, ninf, 1, Number.NaN, ninf, ninf, Number.NaN, 2, 3, Number.NaN, 0, 0, 5, 4, 0, 0], [1, 4, 4, 1]);
      const dy = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
      const attrs = { filterSize: 2, strides: 2, pad: 'valid' } as unknown as tf.NamedAttrMap;
      return tf.engine().runKernel(tf.MaxPoolGrad, { dy, input, output: dy }, attrs) as tf.Tensor;
    });
  });

  it('is registered over the backend kernel', () => {
    expect(tf.getKernel(tf.MaxPoolGrad, 'wasm')?.kernelFunc.toString()).toContain('maxPoolGradWasm');
  });
});

describe('AvgPoolGrad on wasm', () => {
  it.each(CASES)('gradient of avgPool($x, $filter, $stride, $pad) matches cpu', async ({ x, filter, stride, pad }) => {
    await expectWasmMatchesCpu(() => {
      const input = tf.tensor4d(values(size(x), 13), x);
      const output = tf.avgPool(input, filter, stride, pad);
      const weights = tf.tensor(values(size(output.shape), 14), output.shape);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(t as tf.Tensor4D, filter, stride, pad), weights)))(input);
    });
  });
});
