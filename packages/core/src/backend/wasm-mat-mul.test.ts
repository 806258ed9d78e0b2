import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';
import { expectWasmMatchesCpu, useWasmWithCpuReference, values } from './wasm-parity.test.helpers.js';

beforeAll(async () => {
  await useWasmWithCpuReference();
});

const FORMS = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;

function operand(batch: readonly number[], rows: number, cols: number, transpose: boolean, seed: number): tf.Tensor {
  const shape = [...batch, ...(transpose ? [cols, rows] : [rows, cols])];
  return tf.tensor(values(shape.reduce((a, b) => a * b, 1), seed), shape);
}

describe('BatchMatMul on wasm', () => {
  describe.each([
    [5, 7, 6],
    [64, 33, 17],
    [1, 8, 1],
    [40, 3, 90],
  ])('m=%i k=%i n=%i', (m, k, n) => {
    it.each(FORMS)('transposeA %s, transposeB %s matches cpu', async (transposeA, transposeB) => {
      await expectWasmMatchesCpu(() => tf.matMul(operand([], m, k, transposeA, 1), operand([], k, n, transposeB, 2), transposeA, transposeB));
    });
  });

  it.each(FORMS)('batched [3, 40, 50] x [3, 50, 45] (one XNNPACK product per matrix), transposeA %s, transposeB %s', async (transposeA, transposeB) => {
    await expectWasmMatchesCpu(() => tf.matMul(operand([3], 40, 50, transposeA, 3), operand([3], 50, 45, transposeB, 4), transposeA, transposeB));
  });

  it.each([
    { a: [2, 3], b: [2, 3] },
    { a: [1], b: [4] },
    { a: [4], b: [1] },
    { a: [], b: [3] },
  ])('batch $a times batch $b (broadcast), transposed b', async ({ a, b }) => {
    await expectWasmMatchesCpu(() => tf.matMul(operand(a, 36, 40, false, 5), operand(b, 40, 30, true, 6), false, true));
  });

  it('small batched products go to the backend kernel', async () => {
    await expectWasmMatchesCpu(() => tf.matMul(operand([5], 4, 3, true, 7), operand([5], 3, 2, false, 8), true, false));
  });

  it.each(FORMS)('gradients of matMul (transposeA %s, transposeB %s) match cpu', async (transposeA, transposeB) => {
    await expectWasmMatchesCpu(() => {
      const a = operand([], 12, 9, transposeA, 9);
      const b = operand([], 9, 7, transposeB, 10);
      const weights = tf.tensor2d(values(12 * 7, 11), [12, 7]);
      return tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, transposeA, transposeB), weights)))([a, b]);
    });
  });
});

describe('_FusedMatMul on wasm', () => {
  it.each(FORMS)('bias + relu, transposeA %s, transposeB %s matches cpu', async (transposeA, transposeB) => {
    await expectWasmMatchesCpu(() =>
      tf.fused.matMul({
        a: operand([], 20, 30, transposeA, 12),
        b: operand([], 30, 25, transposeB, 13),
        transposeA,
        transposeB,
        bias: tf.tensor1d(values(25, 14)),
        activation: 'relu',
      }),
    );
  });

  it.each(FORMS)('batched [2, 40, 50] x [2, 50, 30] with bias, transposeA %s, transposeB %s', async (transposeA, transposeB) => {
    await expectWasmMatchesCpu(() =>
      tf.fused.matMul({
        a: operand([2], 40, 50, transposeA, 15) as tf.Tensor3D,
        b: operand([2], 50, 30, transposeB, 16) as tf.Tensor3D,
        transposeA,
        transposeB,
        bias: tf.tensor1d(values(30, 17)),
      }),
    );
  });

  it('gradients of a fused dense layer match cpu', async () => {
    await expectWasmMatchesCpu(() => {
      const x = tf.tensor2d(values(16 * 10, 18), [16, 10]);
      const w = tf.tensor2d(values(10 * 6, 19), [10, 6]);
      const bias = tf.tensor1d(values(6, 20));
      const weights = tf.tensor2d(values(16 * 6, 21), [16, 6]);
      return tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.mul(tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias: c, activation: 'linear' }), weights)),
      )([x, w, bias]);
    });
  });
});
