import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectWasmMatchesCpu, useWasmWithCpuReference, values } from './wasm-parity.test.helpers.js';

beforeAll(async () => {
  await useWasmWithCpuReference();
});

describe('Sum on wasm', () => {
  it.each([
    { shape: [6, 5, 4, 3], axis: [0, 1, 2], keepDims: false }, // the bias gradient
    { shape: [6, 5, 4, 3], axis: [0, 1, 2], keepDims: true },
    { shape: [7, 9], axis: 0, keepDims: false },
    { shape: [6, 5, 4, 3], axis: [1, 2], keepDims: false }, // a middle block
    { shape: [6, 5, 4, 3], axis: [2, 1], keepDims: true },
    { shape: [6, 5, 4, 3], axis: -1, keepDims: false }, // innermost: the backend's kernel
    { shape: [6, 5, 4, 3], axis: [0, 2], keepDims: false }, // not contiguous: the backend's kernel
    { shape: [6, 5, 4, 3], axis: null, keepDims: false }, // everything
  ])('sum over $axis of $shape (keepDims $keepDims) matches cpu', async ({ shape, axis, keepDims }) => {
    await expectWasmMatchesCpu(() => tf.sum(tf.tensor(values(shape.reduce((a, b) => a * b, 1), 1), shape), axis ?? undefined, keepDims));
  });

  // The native kernel (blocks of 32 columns x 64 rows in float32, float64 across blocks): within
  // 1e-5 of a float64 host sum, for column tails, several column and row blocks, outer > 1.
  it.each([
    { shape: [3000, 32], axis: [0] },
    { shape: [2, 700, 37], axis: [1] },
    { shape: [130, 5, 64], axis: [0, 1] },
    { shape: [999, 3], axis: [0] },
    { shape: [512, 28, 28, 32], axis: [0, 1, 2] },
  ])('sum over $axis of $shape is within 1e-5 of a float64 host sum', ({ shape, axis }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = values(size, 5);
    const first = axis[0] as number;
    const last = axis[axis.length - 1] as number;
    const outer = shape.slice(0, first).reduce((a, b) => a * b, 1);
    const summed = shape.slice(first, last + 1).reduce((a, b) => a * b, 1);
    const inner = shape.slice(last + 1).reduce((a, b) => a * b, 1);
    const expected = new Float64Array(outer * inner);
    for (let o = 0; o < outer; o++) for (let r = 0; r < summed; r++) for (let c = 0; c < inner; c++) expected[o * inner + c] = (expected[o * inner + c] as number) + (data[(o * summed + r) * inner + c] as number);
    const x = tf.tensor(data, shape);
    const got = tf.sum(x, axis);
    const actual = got.dataSync();
    tf.dispose([x, got]);
    let worst = 0;
    expected.forEach((value, i) => {
      worst = Math.max(worst, Math.abs((actual[i] as number) - value) / Math.max(1, Math.abs(value)));
    });
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  it('int32 sums go to the backend kernel', async () => {
    await expectWasmMatchesCpu(() => tf.sum(tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32'), 0));
  });

  it('long reductions stay accurate (float64 accumulation)', async () => {
    await expectWasmMatchesCpu(() => tf.sum(tf.tensor(values(20000 * 3, 2), [20000, 3]), 0));
  });

  it.each([
    { shape: [0], axis: null, keepDims: false, dtype: 'float32' },
    { shape: [0, 3], axis: 0, keepDims: false, dtype: 'float32' },
    { shape: [0, 3], axis: 0, keepDims: true, dtype: 'int32' },
    { shape: [4, 0], axis: 1, keepDims: false, dtype: 'float32' },
  ] as const)('the sum of an empty $dtype tensor $shape over $axis is 0 (the backend kernel returns heap garbage)', async ({ shape, axis, keepDims, dtype }) => {
    await expectWasmMatchesCpu(() => tf.sum(tf.zeros([...shape], dtype), axis ?? undefined, keepDims));
  });
});
