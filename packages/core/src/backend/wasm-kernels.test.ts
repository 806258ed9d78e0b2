import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeak } from '../testing/index.js';
import { isToolkitKernel, originalKernel } from './wasm-heap.js';
import { registerWasmKernels, WASM_KERNEL_NAMES } from './wasm-kernels.js';
import { expectWasmMatchesCpu, useWasmWithCpuReference, values } from './wasm-parity.test.helpers.js';

beforeAll(async () => {
  await useWasmWithCpuReference();
});

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

describe('registerWasmKernels', () => {
  it('registers every kernel on wasm, and only there', () => {
    for (const name of WASM_KERNEL_NAMES) {
      const config = tf.getKernel(name, 'wasm');
      expect(config, name).toBeDefined();
      expect(isToolkitKernel(config.kernelFunc), name).toBe(true);
      const cpu = tf.getKernel(name, 'cpu');
      if (cpu !== undefined) expect(isToolkitKernel(cpu.kernelFunc), name).toBe(false);
    }
  });

  it('is idempotent', () => {
    const before = WASM_KERNEL_NAMES.map((name) => tf.getKernel(name, 'wasm').kernelFunc);
    registerWasmKernels();
    registerWasmKernels();
    expect(WASM_KERNEL_NAMES.map((name) => tf.getKernel(name, 'wasm').kernelFunc)).toEqual(before);
    expect(isToolkitKernel(originalKernel(tf.BatchMatMul) as tf.KernelFunc)).toBe(false);
  });

  it('installs an override deferred until the wasm kernel exists, when the backend is next set up', async () => {
    const ours = tf.getKernel(tf.Sum, 'wasm');
    const original = originalKernel(tf.Sum) as tf.KernelFunc;
    tf.unregisterKernel(tf.Sum, 'wasm');
    registerWasmKernels(); // the wasm Sum is "not registered yet": nothing to override
    expect(tf.getKernel(tf.Sum, 'wasm')).toBeUndefined();
    const late: tf.KernelConfig = { kernelName: tf.Sum, backendName: 'wasm', kernelFunc: original };
    if (ours.setupFunc !== undefined) late.setupFunc = ours.setupFunc;
    tf.registerKernel(late); // the wasm backend registers its kernel late
    expect(isToolkitKernel(tf.getKernel(tf.Sum, 'wasm').kernelFunc)).toBe(false);
    await tf.setBackend('cpu');
    await tf.setBackend('wasm'); // setting up wasm runs the toolkit kernels' setup, which installs it
    expect(isToolkitKernel(tf.getKernel(tf.Sum, 'wasm').kernelFunc)).toBe(true);
    expect(originalKernel(tf.Sum)).toBe(original);
  });
});

describe('training through the wasm kernels', () => {
  it('the gradient of tf.gather equals cpu', async () => {
    await expectWasmMatchesCpu(() => {
      const table = tf.tensor2d(values(10 * 6, 1), [10, 6]);
      const indices = tf.tensor1d([9, 0, 3, 3, 7, 0, 3], 'int32');
      const weights = tf.tensor2d(values(7 * 6, 2), [7, 6]);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, indices), weights)))(table);
    });
  });

  it.each([
    { stride: 1, pad: 'same' as const },
    { stride: 2, pad: 'valid' as const },
  ])('the gradients of tf.conv2d (filter and input, stride $stride, $pad) equal cpu', async ({ stride, pad }) => {
    await expectWasmMatchesCpu(() => {
      const x = tf.tensor4d(values(3 * 9 * 9 * 4, 3), [3, 9, 9, 4]);
      const w = tf.tensor4d(values(3 * 3 * 4 * 6, 4), [3, 3, 4, 6]);
      const y = tf.conv2d(x, w, stride, pad);
      const weights = tf.tensor(values(size(y.shape), 5), y.shape);
      return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad)), weights)))([x, w]);
    });
  });

  it('a small CNN with an NT-Xent loss trains on wasm: the loss falls and no tensor leaks', async () => {
    expect(tf.getBackend()).toBe('wasm');
    const n = 8;
    const images = tf.tensor4d(values(n * 12 * 12, 6), [n, 12, 12, 1]);
    const views = tf.tidy(() => tf.concat([images, tf.add(images, tf.mul(tf.tensor4d(values(n * 144, 7), [n, 12, 12, 1]), 0.1))]) as tf.Tensor4D);
    const init = (shape: number[], seed: number): tf.Variable => tf.variable(tf.mul(tf.tensor(values(size(shape), seed), shape), 1 / Math.sqrt(size(shape.slice(0, -1)))));
    const params = [init([3, 3, 1, 8], 8), init([3, 3, 8, 8], 9), init([72, 16], 10), init([16, 8], 11)];
    const [w1, w2, w3, w4] = params as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
    const loss = (): tf.Scalar => {
      const h1 = tf.maxPool(tf.relu(tf.conv2d(views, w1 as tf.Tensor4D, 1, 'same')), 2, 2, 'valid');
      const h = tf.maxPool(tf.relu(tf.conv2d(h1, w2 as tf.Tensor4D, 1, 'same')), 2, 2, 'valid');
      const z = tf.matMul(tf.relu(tf.matMul(tf.reshape(h, [2 * n, 72]), w3)), w4);
      const unit = tf.div(z, tf.norm(z, 'euclidean', 1, true));
      const logits = tf.sub(tf.div(tf.matMul(unit, unit, false, true), 0.5), tf.mul(tf.eye(2 * n), 1e9));
      const other = tf.concat([tf.range(n, 2 * n, 1, 'int32'), tf.range(0, n, 1, 'int32')]);
      return tf.losses.softmaxCrossEntropy(tf.oneHot(other, 2 * n), logits);
    };
    const optimizer = tf.train.adam(0.02);
    const step = (): number => {
      const value = optimizer.minimize(loss, true) as tf.Scalar;
      const result = value.dataSync()[0] as number;
      value.dispose();
      return result;
    };
    const first = step(); // creates Adam's slots
    const losses = await expectNoLeak(() => Array.from({ length: 25 }, step));
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(Math.min(...losses.slice(-5))).toBeLessThan(first * 0.8);
    optimizer.dispose();
    tf.dispose([images, views, ...params]);
  });
});
