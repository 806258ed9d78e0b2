import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';
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
